"""Linear probe solvers with scikit-learn parity (RidgeCV, LogisticRegression).

Ridge: one eigendecomposition of the centred train matrix X_c = B T' with B'B = diag(s2)
(primal: eigh of X_c'X_c when d <= n, T = V; dual: eigh of X_c X_c', B = U diag(s))
gives the fit and the leave-one-out residuals of every alpha with diagonal solves, as
RidgeCV's efficient LOO does. Logistic: L-BFGS on all labels at once, each label with
its own history and line search, in coordinates whitened by the (float32) Gram matrix.
"""

from dataclasses import dataclass

import numpy as np
from scipy import linalg, special

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
TOL = 1e-5  # L-BFGS stop: 2-norm of a label's gradient in whitened coordinates


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
        B = (np.asarray(X, dtype=np.float32) - mean.astype(np.float32)) @ Q.astype(np.float32)
        return _Spectrum(mean, Xc, s2, B, Q)
    return _Spectrum(mean, Xc, s2, Q * np.sqrt(s2), None)


@dataclass
class RidgeModel:
    """Fitted ridge regression."""

    alpha_: float
    coef_: np.ndarray
    intercept_: float

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(X, dtype=np.float64) @ self.coef_ + self.intercept_


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


def fit_logistic(X: np.ndarray, Y: np.ndarray, C: float = 1.0):
    """One L2 logistic regression per column of the 0/1 matrix Y (n, L), all solved at once.

    Minimises sklearn LogisticRegression(C)'s objective (mean log-loss + |w|^2 / (2 C n),
    unpenalised intercept) more tightly than its lbfgs. Returns a callable mapping
    X (m, d) to positive-class probabilities (m, L).
    """
    Y = np.asarray(Y, dtype=np.float32)
    n, d = X.shape
    rate = Y.mean(axis=0)
    if np.any((rate == 0) | (rate == 1)):
        raise ValueError("each label of Y needs both classes")
    curvature = float(np.mean(rate * (1 - rate)))  # typical loss Hessian weight
    if d <= n:  # whiten by the Cholesky factor of the approximate Hessian
        mean = np.mean(X, axis=0, dtype=np.float64)
        F = np.asarray(X, dtype=np.float32) - mean.astype(np.float32)
        H = F.T @ F * (curvature / n)
        H[np.diag_indices(d)] += 1.0 / (C * n)
        R = linalg.cholesky(H, check_finite=False)  # H = R'R

        def unwhiten(t, trans="N"):
            return linalg.solve_triangular(R, t, trans=trans, check_finite=False)

        coef_of = np.asarray
    else:  # on the dual spectrum the Hessian is diagonal
        spec = _spectrum(X)
        mean, F = spec.mean, spec.B.astype(np.float32)
        root = np.sqrt((curvature * spec.s2 + 1.0 / C) / n).astype(np.float32)[:, None]

        def unwhiten(t, trans="N"):
            return t / root

        coef_of = spec.coef

    sign = 2 * Y - 1
    root0 = np.float32(np.sqrt(curvature))

    def loss_grad(t):
        w = unwhiten(t[1:])
        log_p = special.log_expit(sign * (F @ w + t[0] / root0))  # log-likelihood per entry
        residual = sign * np.expm1(log_p)  # probability minus label
        grad = np.vstack([residual.sum(axis=0) / root0, unwhiten(F.T @ residual + w / C, "T")])
        loss = np.sum(w * w, axis=0) / (2 * C) - np.sum(log_p, axis=0, dtype=np.float64)
        return loss / n, grad / n

    t = np.zeros((1 + F.shape[1], Y.shape[1]), dtype=np.float32)
    t[0] = special.logit(rate) * root0
    t = _lbfgs(loss_grad, t, TOL)
    coef = coef_of(unwhiten(t[1:]).astype(np.float64))
    intercept = t[0] / root0 - mean @ coef

    def predict(Xe):
        return special.expit(np.asarray(Xe, dtype=np.float64) @ coef + intercept)

    return predict


def _lbfgs(fun, x, tol, memory=10, max_iter=500):
    """L-BFGS on independent problems, one per column of x; fun(x) -> (f (k,), grad (p, k)).

    A column stops once its gradient's 2-norm is below tol or its backtracking line
    search fails (Armijo, or Hager-Zhang's approximate Armijo where rounding hides f's
    decrease).
    """
    f, g = fun(x)
    history = []
    active = np.ones(x.shape[1], dtype=bool)
    for _ in range(max_iter):
        active &= np.linalg.norm(g, axis=0) > tol
        if not active.any():
            break
        d = -_two_loop(g, history) * active
        slope = np.sum(g * d, axis=0)
        step = np.ones(x.shape[1], dtype=x.dtype)
        while True:
            x_new = x + step * d
            f_new, g_new = fun(x_new)
            fail = (f_new > f + 1e-4 * step * slope) & (
                (f_new > f + 1e-6 * np.abs(f)) | (np.sum(g_new * d, axis=0) > -0.8 * slope)
            )
            if not np.any(fail & (step > 1e-3)):
                break
            step[fail] /= 2
        active &= ~fail
        x_new, f_new, g_new = (
            np.where(fail, a, b) for a, b in ((x, x_new), (f, f_new), (g, g_new))
        )
        s, y = x_new - x, g_new - g
        sy = np.sum(s * y, axis=0)
        history = [*history, (s, y, np.divide(1, sy, out=np.zeros_like(sy), where=sy > 0))]
        history = history[-memory:]
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
