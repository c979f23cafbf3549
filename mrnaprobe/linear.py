"""Linear probe solvers with scikit-learn parity, built on one spectral decomposition.

The centred train matrix is written X_c = B T' with B'B = diag(s2): the primal
eigendecomposition of X_c'X_c when d <= n (T = V, B = X_c V), the dual one of
X_c X_c' otherwise (B = U diag(s)). Ridge then needs only diagonal solves for every
alpha and its leave-one-out diagonal (as RidgeCV's efficient LOO); logistic regression
runs L-BFGS on all labels at once in coordinates whitened by the same spectrum.
"""

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
TOL = 1e-6


@dataclass
class _Spectrum:
    """X_c = X - mean = B T' with B'B = diag(s2); V is T in the primal case, else None."""

    mean: np.ndarray
    Xc: np.ndarray
    s2: np.ndarray
    B: np.ndarray
    V: np.ndarray | None

    def coef(self, u: np.ndarray) -> np.ndarray:
        """Feature-space coefficients (d, k) of coefficients u (r, k) on B."""
        if self.V is not None:
            return self.V @ u.astype(self.V.dtype)
        return self.Xc.T @ (self.B @ (u / self.s2[:, None]))


def _spectrum(X: np.ndarray, dtype=np.float64) -> _Spectrum:
    """Centre X and eigendecompose its smaller Gram matrix (the dual one in float64)."""
    n, d = X.shape
    dtype = dtype if d <= n else np.float64
    mean = np.mean(X, axis=0, dtype=np.float64)
    Xc = np.asarray(X, dtype=dtype) - mean.astype(dtype)
    if d <= n:
        s2, V = linalg.eigh(Xc.T @ Xc, overwrite_a=True, check_finite=False)
        B = Xc.astype(np.float32) @ V.astype(np.float32)
        return _Spectrum(mean, Xc, np.maximum(s2, 0.0), B, V)
    s2, U = linalg.eigh(Xc @ Xc.T, overwrite_a=True, check_finite=False)
    keep = s2 > s2[-1] * n * np.finfo(np.float64).eps
    return _Spectrum(mean, Xc, s2[keep], U[:, keep] * np.sqrt(s2[keep]), None)


@dataclass
class RidgeModel:
    """Fitted ridge regression."""

    alpha_: float
    coef_: np.ndarray
    intercept_: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_


def fit_ridge(X: np.ndarray, y: np.ndarray, alphas=ALPHAS) -> RidgeModel:
    """Ridge regression, alpha chosen by efficient leave-one-out on (X, y).

    Same choice as sklearn RidgeCV(alphas): with intercept, lowest mean squared LOO
    error, first alpha on ties. Returns an object with `.alpha_` and `.predict(X)`.
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


def _lbfgs(fun, x, tol, memory=10, max_iter=1000):
    """L-BFGS for independent convex problems, one per column of x.

    fun(x) -> (values (k,), gradients (p, k)); a column stops once its gradient's
    2-norm is below tol or its line search stalls. Backtracking (Armijo) per column.
    """
    f, g = fun(x)
    history = []
    active = np.ones(x.shape[1], dtype=bool)
    for it in range(max_iter):
        active &= np.linalg.norm(g, axis=0) > tol
        if not active.any():
            break
        d = -_two_loop(g, history) * active
        slope = np.sum(g * d, axis=0)
        step = np.ones(x.shape[1])
        while True:
            x_new = x + step * d
            f_new, g_new = fun(x_new)
            retry = (f_new > f + 1e-4 * step * slope) & (step > 1e-6)
            if not retry.any():
                break
            step[retry] /= 2
        s, y = x_new - x, g_new - g
        sy = np.sum(s * y, axis=0)
        rho = np.divide(1.0, sy, out=np.zeros_like(sy), where=sy > 0)
        history = [*history, (s, y, rho)][-memory:]
        x, f, g = x_new, f_new, g_new
    _lbfgs.nit = it
    return x


def _two_loop(g, history):
    """L-BFGS inverse-Hessian times g, column by column."""
    q = g.copy()
    coeffs = []
    for s, y, rho in reversed(history):
        a = rho * np.sum(s * q, axis=0)
        q -= a * y
        coeffs.append(a)
    if history:
        s, y, rho = history[-1]
        yy = np.sum(y * y, axis=0)
        q *= np.divide(1.0, rho * yy, out=np.ones_like(yy), where=rho * yy > 0)
    for (s, y, rho), a in zip(history, reversed(coeffs), strict=True):
        q += s * (a - rho * np.sum(y * q, axis=0))
    return q


def fit_logistic(X: np.ndarray, Y: np.ndarray, C: float = 1.0):
    """One L2 logistic regression per column of the 0/1 matrix Y (n, L), all solved at once.

    Minimises sklearn LogisticRegression(C)'s objective (mean log-loss + |w|^2 / (2 C n),
    unpenalised intercept) to tighter tolerance than its lbfgs. Returns a callable
    mapping X (m, d) to positive-class probabilities (m, L).
    """
    spec = _spectrum(X, np.float32)
    Y = np.asarray(Y, dtype=np.float32)
    n = len(Y)
    B = spec.B.astype(np.float32, copy=False)
    rate = Y.mean(axis=0)
    if np.any((rate == 0) | (rate == 1)):
        raise ValueError("each label of Y needs both classes")
    curvature = rate * (1.0 - rate)
    # u = scale * t makes the Hessian in t close to the identity
    scale = np.vstack(
        [1.0 / np.sqrt(curvature), 1.0 / np.sqrt((np.outer(spec.s2, curvature) + 1.0 / C) / n)]
    ).astype(np.float32)

    def loss_grad(t):
        u = t * scale
        Z = B @ u[1:] + u[0]
        loss = np.sum(np.maximum(Z, 0) + np.log1p(np.exp(-np.abs(Z))) - Y * Z, axis=0, dtype=np.float64)
        R = special.expit(Z) - Y
        grad = np.vstack([R.sum(axis=0), B.T @ R + u[1:] / C])
        return (loss + np.sum(u[1:] ** 2, axis=0) / (2 * C)) / n, grad * scale / n

    t0 = np.zeros(scale.shape, dtype=np.float32)
    t0[0] = special.logit(rate) / scale[0]
    u = _lbfgs(loss_grad, t0, TOL) * scale
    coef = spec.coef(u[1:]).astype(np.float64)
    intercept = u[0] - spec.mean @ coef

    def predict(Xe):
        return special.expit(np.asarray(Xe, dtype=np.float64) @ coef + intercept)

    predict.coef, predict.intercept = coef, intercept
    return predict
