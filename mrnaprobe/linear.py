"""Linear probe solvers with scikit-learn parity (RidgeCV, LogisticRegression).

Ridge: one float64 eigendecomposition of the centred train matrix, X_c = B T' with
B'B = diag(s2) (primal: eigh of X_c'X_c when d <= n, T = V; dual: eigh of X_c X_c',
B = U diag(s)), gives the fit and the leave-one-out residuals of every alpha by
diagonal solves, as RidgeCV's efficient LOO does. The primal B, which only enters the
leverages, is float32.
Logistic: float32 L-BFGS for all labels at once (each label with its own history and
line search) in coordinates whitened by the approximate loss Hessian: its Cholesky
factor when d <= n, the dual spectrum otherwise.
Predictions are computed in the input's precision (float32 stays float32), as sklearn's.
"""

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
TOL = 1e-5  # logistic stop: 2-norm of a label's gradient in whitened coordinates


@dataclass
class _Spectrum:
    """X_c = X - mean = B T' with B'B = diag(s2); V is T (primal) or None (dual)."""

    mean: np.ndarray
    Xc: np.ndarray
    s2: np.ndarray
    B: np.ndarray
    V: np.ndarray | None

    def coef(self, u: np.ndarray) -> np.ndarray:
        """Feature-space coefficients (d, k) of coefficients u (r, k) on B."""
        if self.V is not None:
            return self.V @ u
        return self.Xc.T @ (self.B @ (u / self.s2[:, None]))


def _spectrum(X: np.ndarray) -> _Spectrum:
    """Centre X in float64 and eigendecompose its smaller Gram matrix (null space dropped)."""
    n, d = X.shape
    mean = np.mean(X, axis=0, dtype=np.float64)
    Xc = np.asarray(X, dtype=np.float64) - mean
    primal = d <= n
    s2, Q = np.linalg.eigh(Xc.T @ Xc if primal else Xc @ Xc.T)
    keep = s2 > s2[-1] * max(n, d) * np.finfo(np.float64).eps
    s2, Q = s2[keep], Q[:, keep]
    if primal:  # float32 for the one O(n d^2) product besides the Gram matrix
        return _Spectrum(mean, Xc, s2, Xc.astype(np.float32) @ Q.astype(np.float32), Q)
    return _Spectrum(mean, Xc, s2, Q * np.sqrt(s2), None)


def _affine(X: np.ndarray, coef: np.ndarray, intercept) -> np.ndarray:
    """X @ coef + intercept, the product in X's precision (float32 stays float32, as sklearn)."""
    X = np.asarray(X)
    dtype = np.result_type(X.dtype, np.float32)
    return X.astype(dtype, copy=False) @ coef.astype(dtype) + intercept


@dataclass
class RidgeModel:
    """Fitted ridge regression."""

    alpha_: float
    coef_: np.ndarray
    intercept_: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        return _affine(X, self.coef_, self.intercept_)


def fit_ridge(X: np.ndarray, y: np.ndarray, alphas=ALPHAS) -> RidgeModel:
    """Ridge regression with intercept, alpha chosen by efficient leave-one-out on (X, y).

    Same choice as sklearn RidgeCV(alphas): lowest mean squared LOO error, first alpha
    on ties. Returns an object with `.alpha_` and `.predict(X)`.
    """
    spec = _spectrum(X)
    y = np.asarray(y, dtype=np.float64)
    yc = y - y.mean()
    alphas = np.asarray(alphas, dtype=np.float64)
    shrink = 1.0 / (spec.s2[:, None] + alphas)  # (r, k)
    Bty = spec.B.T @ yc if spec.V is None else spec.V.T @ (spec.Xc.T @ yc)
    coefs = spec.coef(Bty[:, None] * shrink)  # (d, k)
    residuals = yc[:, None] - spec.Xc @ coefs
    leverage = 1.0 / len(y) + np.square(spec.B) @ shrink.astype(spec.B.dtype)
    best = int(np.argmin(np.mean((residuals / (1.0 - leverage)) ** 2, axis=0)))
    coef = coefs[:, best]
    return RidgeModel(float(alphas[best]), coef, float(y.mean() - spec.mean @ coef))


def _whitened(X: np.ndarray, weight: float, C: float):
    """Centred float32 features F and the map t -> w that makes the logistic Hessian
    (weight F'F + I/C) / n close to the identity in t.

    Returns (mean, F, unwhiten(t, trans), coef(w) -> feature-space coefficients).
    """
    n, d = X.shape
    if d > n:  # on the dual spectrum the Hessian is diagonal
        spec = _spectrum(X)
        root = np.sqrt((weight * spec.s2 + 1.0 / C) / n).astype(np.float32)[:, None]
        return spec.mean, spec.B.astype(np.float32), lambda t, trans="N": t / root, spec.coef
    mean = np.mean(X, axis=0, dtype=np.float64)
    F = (X - mean).astype(np.float32)
    H = F.T @ F * (weight / n)
    H[np.diag_indices(d)] += 1.0 / (C * n)
    R = linalg.cholesky(H, check_finite=False)  # H = R'R, w = R^-1 t

    def unwhiten(t, trans="N"):
        return linalg.solve_triangular(R, t, trans=trans, check_finite=False)

    return mean, F, unwhiten, np.asarray


def fit_logistic(X: np.ndarray, Y: np.ndarray, C: float = 1.0):
    """One L2 logistic regression per column of the 0/1 matrix Y (n, L), all solved at once.

    Minimises sklearn LogisticRegression(C)'s objective (mean log-loss + |w|^2 / (2 C n),
    unpenalised intercept) more tightly than its lbfgs. Returns a callable mapping
    X (m, d) to positive-class probabilities (m, L).
    """
    Y = np.asarray(Y, dtype=np.float32)
    rate = Y.mean(axis=0)
    if np.any((rate == 0) | (rate == 1)):
        raise ValueError("each label of Y needs both classes")
    weight = float(np.mean(rate * (1 - rate)))  # typical loss Hessian weight per row
    mean, F, unwhiten, coef_of = _whitened(X, weight, C)
    n = len(Y)
    sign, root0 = (2 * Y - 1).T, np.float32(np.sqrt(weight))  # labels x rows

    def loss_grad(t, labels):  # t: whitened intercept (row 0) and coefficients per label
        w = unwhiten(t[1:])
        margin = sign[labels] * (w.T @ F.T + t[0, :, None] / root0)
        log_p = np.minimum(margin, 0) - np.log1p(np.exp(-np.abs(margin)))  # log-likelihoods
        residual = sign[labels] * np.expm1(log_p)  # probability minus label
        grad = np.vstack([residual.sum(axis=1) / root0, unwhiten((residual @ F).T + w / C, "T")])
        loss = np.sum(w * w, axis=0) / (2 * C) - np.sum(log_p, axis=1, dtype=np.float64)
        return loss / n, grad / n

    t = np.zeros((1 + F.shape[1], Y.shape[1]), dtype=np.float32)
    t[0] = special.logit(rate) * root0
    t = _lbfgs(loss_grad, t, TOL)
    coef = coef_of(unwhiten(t[1:]).astype(np.float64))
    intercept = t[0] / root0 - mean @ coef

    def predict(X_eval: np.ndarray) -> np.ndarray:
        return special.expit(_affine(X_eval, coef, intercept))

    return predict


def _lbfgs(fun, x, tol, memory=10, max_iter=500):
    """L-BFGS on independent problems, one per column of x.

    fun(x_cols, cols) -> (f, grad) of the problems in the boolean mask cols, evaluated
    only while they run. A column stops once its gradient's 2-norm is below tol or its
    backtracking line search fails (Armijo, or Hager-Zhang's approximate Armijo where
    rounding hides the decrease of f).
    """
    active = np.ones(x.shape[1], dtype=bool)
    f, g = fun(x, active)
    history = []
    for _ in range(max_iter):
        active &= np.linalg.norm(g, axis=0) > tol
        if not active.any():
            break
        d = -_two_loop(g, history) * active
        slope = np.sum(g * d, axis=0)
        step = np.ones_like(slope)
        x_new, f_new, g_new = x.copy(), f.copy(), g.copy()
        todo = active
        while todo.any():
            x_new[:, todo] = x[:, todo] + step[todo] * d[:, todo]
            f_new[todo], g_new[:, todo] = fun(x_new[:, todo], todo)
            fail = (f_new > f + 1e-4 * step * slope) & (
                (f_new > f + 1e-6 * np.abs(f)) | (np.sum(g_new * d, axis=0) > -0.8 * slope)
            )
            todo = fail & (step > 1e-3)
            step[todo] /= 2
        active &= ~fail
        x_new, f_new, g_new = (
            np.where(fail, a, b) for a, b in ((x, x_new), (f, f_new), (g, g_new))
        )
        s, y = x_new - x, g_new - g
        sy = np.sum(s * y, axis=0)
        rho = np.divide(1, sy, out=np.zeros_like(sy), where=sy > 0)
        history = [*history[1 - memory :], (s, y, rho)]
        x, f, g = x_new, f_new, g_new
    return x


def _two_loop(g, history):
    """L-BFGS inverse-Hessian approximation times g, column by column."""
    q = g.copy()
    coeffs = []
    for s, y, rho in reversed(history):
        coeffs.append(rho * np.sum(s * q, axis=0))
        q -= coeffs[-1] * y
    if history:
        s, y, rho = history[-1]
        yy = np.sum(y * y, axis=0)
        q *= np.divide(1, rho * yy, out=np.ones_like(yy), where=rho * yy > 0)
    for (s, y, rho), a in zip(history, reversed(coeffs), strict=True):
        q += s * (a - rho * np.sum(y * q, axis=0))
    return q
