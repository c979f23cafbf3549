"""Linear probe solvers: ridge with leave-one-out alpha choice, L2 logistic regression."""

import numpy as np
from sklearn.linear_model import LogisticRegression, RidgeCV

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)


def fit_ridge(X: np.ndarray, y: np.ndarray, alphas=ALPHAS):
    """Ridge regression, alpha chosen by efficient leave-one-out on (X, y).

    Returns an object with `.alpha_` and `.predict(X)`.
    """
    return RidgeCV(alphas=alphas).fit(X, y)


def fit_logistic(X: np.ndarray, Y: np.ndarray, C: float = 1.0):
    """One L2 logistic regression (lbfgs) per column of the 0/1 matrix Y (n, L).

    Returns a callable mapping X (m, d) to positive-class probabilities (m, L).
    """
    models = [LogisticRegression(C=C, max_iter=5000).fit(X, Y[:, j]) for j in range(Y.shape[1])]
    return lambda Xe: np.column_stack([m.predict_proba(Xe)[:, 1] for m in models])
