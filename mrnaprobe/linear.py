"""Linear probe solvers with scikit-learn parity (RidgeCV, LogisticRegression).

Both solvers work on the spectrum of a train subset: X_c = X[rows] - mean = B T' with
B'B = diag(s2) (B is kept transposed), from one float64 eigendecomposition of the smaller
Gram matrix (primal X_c'X_c when d <= n, T = eigenvectors; dual X_c X_c' otherwise,
B = U diag(s)). `Embeddings` centres X once and keeps its full Gram matrix, so the
spectrum of any train subset costs a Gram downdate (or a kernel sub-block) and one
eigendecomposition; every target and label fitted on the same rows shares it.
Ridge: the fit and the leave-one-out residuals of every alpha by diagonal solves, as
RidgeCV's efficient LOO does. Logistic: float32 L-BFGS for all labels at once (each
label with its own history and line search) on B, scaled per label by the approximate
loss Hessian (label rate x spectrum), which makes that Hessian close to the identity;
large fits start on bfloat16 products with B where the CPU has them (see ROUGH_TOL).
Where that eigendecomposition would cost more than the logistic fit itself (wide k-mer
features on thousands of train rows), the logistic runs on the centred columns instead
(`Columns`, see COLUMNS_RATIO), with tolerances made tighter to make up for the missing
whitening. Predictions are computed in the input's precision (float32 stays float32), as
sklearn's.
"""

import functools
import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from importlib.util import find_spec
from pathlib import Path

import numpy as np
from scipy import special
from threadpoolctl import ThreadpoolController

ALPHAS = (1e-3, 1e-2, 1e-1, 1.0, 10.0)
# Logistic stop: a label runs until the 2-norms of its gradient (below TOL) and of its
# L-BFGS step (below STEP_TOL), both in whitened coordinates, are small. On the mRNABench
# anchor problem this leaves probabilities within 1.1e-2 of the optimum, where sklearn's
# default lbfgs (as mRNABench runs it) stops 0.9-2.4e-2 away, and per-seed AUROC/AUPRC within
# 1.4e-4 of mRNABench's. The step test matters on wide, near-separable problems, whose flat
# loss hides the distance from the gradient: on loc-dm3loc's 21,825 k-mer columns the
# gradient test alone left probabilities 0.2 from the optimum, both together 1.4e-2. So
# wide fits (more features than train rows: a dual spectrum, or Columns) run with both
# tolerances times WIDE_TIGHTEN: 1.4e-4 there, for 15-25 ms more per fit.
TOL = 1e-3
STEP_TOL = 1e-2
WIDE_TIGHTEN = 0.01
# Mixed precision: on CPUs that multiply bfloat16 natively, the logistic's first iterations
# use bfloat16 products with B (about 4x the float32 GEMM rate on an AMD EPYC with
# AVX512-BF16), until every label's gradient norm is below ROUGH_TOL, several times the noise
# of those products; from there on, float32, so every stopping decision reads exact values. On
# the anchor problem this took 10 of a label's ~14 evaluations at the bfloat16 rate, and the
# solution stayed as near the optimum as with float32 throughout.
ROUGH_TOL = 1e-2
ROUGH_ITERS = 50  # at most, should the products' noise keep a gradient above ROUGH_TOL
ROUGH_MIN_SIZE = 1 << 22  # values of B
# Logistic fits skip the eigendecomposition (about m^3 for m = min(train rows, d)) and run on
# the centred columns (about n x d per evaluation) where m^3 > COLUMNS_RATIO x n x d: the
# measured crossover on k-mer features (benchmarks/probe_wide.py). Columns are only scaled
# by their norms, not whitened, and take WIDE_TIGHTEN's tolerances too. On rbp-elavl1's
# k-mer baseline (7,000 train rows x 21,801 columns) that left probabilities 1.4e-3 from the
# optimum in 6.5 s; the spectrum took 47.8 s (plus its kernel).
COLUMNS_RATIO = 200


@dataclass
class Spectrum:
    """X[rows] - mean = B T' with B'B = diag(s2); Bt = B' (r, n) float32 in the primal,
    float64 in the dual; V is T (primal) or None (dual)."""

    source: "Embeddings"
    rows: np.ndarray
    mean: np.ndarray
    s2: np.ndarray
    Bt: np.ndarray
    V: np.ndarray | None

    def project(self, y: np.ndarray) -> np.ndarray:
        """B'y in float64 for a centred y (r, k)."""
        if self.V is None:
            return self.Bt @ y
        return self.V.T @ self.source.rows_T_dot(self.rows, y)

    def coef(self, u: np.ndarray) -> np.ndarray:
        """Feature-space coefficients (d, k) of coefficients u (r, k) on B."""
        if self.V is not None:
            return self.V @ u
        return self.source.rows_T_dot(self.rows, self.Bt.T @ (u / self.s2[:, None]))


@dataclass
class Columns:
    """X[rows] - mean itself as the logistic's basis: B = X_c (Bt its (d, n) float32
    transpose), s2 its columns' squared norms; coefficients are feature coefficients."""

    mean: np.ndarray
    s2: np.ndarray
    Bt: np.ndarray

    def coef(self, u: np.ndarray) -> np.ndarray:
        return u


def columns_pay(rows: int, d: int) -> bool:
    """Whether a logistic fit on `rows` x d is cheaper on the columns than on a spectrum."""
    return min(rows, d) ** 3 > COLUMNS_RATIO * rows * d


class Embeddings:
    """An embedding matrix, centred once into a float32 copy; spectra of its train subsets,
    which share its Gram matrix (d <= rows) or kernel (d > rows). The one of the two that
    the full matrix would use is computed here, on all BLAS threads, unless `kernel` is
    False (no spectrum is expected: the kernel is then computed on first use). Float64
    work reads the matrix in blocks of about BLOCK values, so no float64 copy is kept."""

    BLOCK = 1 << 21  # values per float64 block (16 MB)

    def __init__(self, X: np.ndarray, kernel: bool = True):
        self.X = np.asarray(X)
        n, d = self.X.shape
        self.mean = np.mean(self.X, axis=0, dtype=np.float64)
        self.total = np.zeros(d)  # column sums of X - mean (zero up to rounding)
        self._gram, self._kernel, self._lock = None, None, threading.Lock()
        self.X32 = None  # the primal's float32 copy; with d > n every subset is dual
        if d > n:
            if kernel:
                self._kernel = self._kernel_of_columns()
            return
        self.X32, self._gram = np.empty((n, d), dtype=np.float32), np.zeros((d, d))
        for rows in self._row_blocks(np.arange(n)):
            block = self.centred(rows)
            self.X32[rows] = block
            self.total += block.sum(axis=0)
            self._gram += block.T @ block

    def centred(self, rows, columns=slice(None)) -> np.ndarray:
        """X[rows, columns] - mean in float64."""
        block = self.X[rows, columns].astype(np.float64)
        block -= self.mean[columns]
        return block

    def _row_blocks(self, rows: np.ndarray) -> list[np.ndarray]:
        """Consecutive pieces of `rows`, about BLOCK values of X each."""
        step = max(1, self.BLOCK // self.X.shape[1])
        return [rows[start : start + step] for start in range(0, len(rows), step)]

    def _kernel_of_columns(self) -> np.ndarray:
        """(X - mean)(X - mean)' in float64, accumulated over column blocks."""
        kernel = np.zeros((len(self.X), len(self.X)))
        step = max(1, self.BLOCK // len(self.X))
        for start in range(0, self.X.shape[1], step):
            block = self.centred(slice(None), slice(start, start + step))
            kernel += block @ block.T
        return kernel

    def rows_T_dot(self, rows: np.ndarray, v: np.ndarray) -> np.ndarray:
        """(X[rows] - mean).T @ v in float64, over row blocks."""
        pieces = self._row_blocks(np.arange(len(rows)))
        return sum(self.centred(rows[piece]).T @ v[piece] for piece in pieces)

    def logistic_basis(self, rows: np.ndarray) -> "Columns | Spectrum":
        """The rows' (indices) Columns where columns_pay, else their spectrum."""
        if columns_pay(len(rows), self.X.shape[1]):
            return self.columns(rows)
        return self.spectrum(rows)

    def columns(self, rows: np.ndarray) -> Columns:
        """The rows (indices) centred on their own mean, in float32."""
        centred = self.X[rows].astype(np.float32, copy=False)
        mean = np.mean(centred, axis=0, dtype=np.float64)
        centred -= mean.astype(np.float32)
        s2 = np.einsum("ij,ij->j", centred, centred, dtype=np.float64)
        return Columns(mean, s2, centred.T)

    def spectrum(self, rows: np.ndarray) -> Spectrum:
        """Spectrum of the rows (indices or boolean mask) centred on their own mean."""
        rows = np.flatnonzero(rows) if np.asarray(rows).dtype == bool else np.asarray(rows)
        if self.X.shape[1] <= len(rows):
            shift, s2, V, Bt = self._primal(rows)
        else:
            shift = self.rows_T_dot(rows, np.full(len(rows), 1.0 / len(rows)))
            s2, V, Bt = self._dual(rows)
        return Spectrum(self, rows, self.mean + shift, s2, Bt, V)

    def _primal(self, rows):
        """The rows' mean (minus the full mean) and spectrum, from the d x d Gram matrix."""
        held = np.setdiff1d(np.arange(len(self.X)), rows, assume_unique=True)
        if len(held) < len(rows):  # downdate the full Gram matrix by the held-out rows
            H = self.centred(held)
            G = self._gram - H.T @ H  # d <= rows <= all rows: computed in __init__
            shift = (self.total - H.sum(axis=0)) / len(rows)
        else:
            R = self.centred(rows)
            G = R.T @ R
            shift = R.mean(axis=0)
        G -= len(rows) * np.outer(shift, shift)
        s2, Q = _eigh(G, max(G.shape[0], len(rows)))
        Bt = Q.T.astype(np.float32) @ self.X32[rows].T
        Bt -= (shift @ Q).astype(np.float32)[:, None]
        return shift, s2, Q, Bt

    def _dual(self, rows):
        K = self._full_kernel()[np.ix_(rows, rows)]
        centre = K.mean(axis=0)
        K += centre.mean() - centre[:, None] - centre[None, :]
        s2, U = _eigh(K, self.X.shape[1])
        return s2, None, np.sqrt(s2)[:, None] * U.T

    def _full_kernel(self) -> np.ndarray:
        """The full kernel, computed once (threads share it)."""
        with self._lock:
            if self._kernel is None:
                self._kernel = self._kernel_of_columns()
            return self._kernel


def _eigh(G: np.ndarray, size: int):
    """Eigenpairs of a symmetric PSD matrix, numerically null ones dropped (numpy's eigh
    releases the GIL, so seeds in threads run it in parallel; scipy's does not)."""
    s2, Q = np.linalg.eigh(G)
    keep = s2 > s2[-1] * size * np.finfo(np.float64).eps
    return s2[keep], Q[:, keep]


def _train_spectrum(X) -> Spectrum:
    """X itself when it is a Spectrum, else the spectrum of all rows of X."""
    return X if isinstance(X, Spectrum) else Embeddings(X).spectrum(np.arange(len(X)))


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


def fit_ridge(X, y: np.ndarray, alphas=ALPHAS) -> RidgeModel:
    """Ridge regression with intercept, alpha chosen by efficient leave-one-out.

    X is the train matrix or its Spectrum; y the train targets. Same choice as sklearn
    RidgeCV(alphas): lowest mean squared LOO error, first alpha on ties.
    """
    spec = _train_spectrum(X)
    y = np.asarray(y, dtype=np.float64)
    yc = y - y.mean()
    alphas = np.asarray(alphas, dtype=np.float64)
    shrink = 1.0 / (spec.s2[:, None] + alphas)  # (r, k)
    u = spec.project(yc)[:, None] * shrink
    Bt = spec.Bt
    residuals = yc[:, None] - Bt.T @ u.astype(Bt.dtype)
    leverage = 1.0 / len(y) + (shrink.T.astype(Bt.dtype) @ np.square(Bt)).T
    best = int(np.argmin(np.mean((residuals / (1.0 - leverage)) ** 2, axis=0)))
    coef = spec.coef(u[:, best : best + 1])[:, 0]
    return RidgeModel(float(alphas[best]), coef, float(y.mean() - spec.mean @ coef))


def fit_logistic(X, Y: np.ndarray, C: float = 1.0, tol: float = TOL, rough=None):
    """One L2 logistic regression per column of the 0/1 matrix Y (n, L), all solved at once.

    X is the train matrix, its Spectrum or its Columns. Minimises sklearn
    LogisticRegression(C)'s objective (mean log-loss + |w|^2 / (2 C n), unpenalised
    intercept) at least as tightly as its default lbfgs (`tol`: see TOL; on a dual
    spectrum or Columns, both tolerances times WIDE_TIGHTEN). `rough`: start on bfloat16
    products (see ROUGH_TOL); None decides by rough_products_pay(). Returns a callable
    mapping X (m, d) to positive-class probabilities (m, L).
    """
    spec = X
    if not isinstance(X, Spectrum | Columns):
        spec = Embeddings(X, kernel=False).logistic_basis(np.arange(len(X)))
    Y = np.asarray(Y, dtype=np.float32)
    rate = Y.mean(axis=0)
    if np.any((rate == 0) | (rate == 1)):
        raise ValueError("each label of Y needs both classes")
    n, Bt = len(Y), spec.Bt.astype(np.float32, copy=False)
    if rough is None:
        rough = rough_products_pay(Bt.size, Y.shape[1])
    products = _Products(Bt, rough, Y.shape[1])
    weight = rate * (1 - rate)  # each label's loss Hessian weight per row at the start
    root = np.sqrt((np.outer(spec.s2, weight) + 1.0 / C) / n).astype(np.float32)  # (r, L)
    root0 = np.sqrt(weight).astype(np.float32)
    sign = np.ascontiguousarray((2 * Y - 1).T)  # labels x rows

    def loss_grad(t, labels):  # t: whitened intercept (row 0) and coefficients per label
        u = t[1:] / root[:, labels]
        scores = products.times_B(u.T, labels)
        margin = sign[labels] * (scores + (t[0] / root0[labels])[:, None])
        log_p = np.minimum(margin, 0) - np.log1p(np.exp(-np.abs(margin)))  # log-likelihoods
        residual = sign[labels] * np.expm1(log_p)  # probability minus label
        coefficients = (products.times_Bt(residual, labels).T + u / C) / root[:, labels]
        grad = np.vstack([residual.sum(axis=1) / root0[labels], coefficients])
        loss = np.sum(u * u, axis=0) / (2 * C) - np.sum(log_p, axis=1, dtype=np.float64)
        return loss / n, grad / n

    t = np.zeros((1 + Bt.shape[0], Y.shape[1]), dtype=np.float32)
    t[0] = special.logit(rate) * root0
    tighten = 1.0 if isinstance(spec, Spectrum) and spec.V is not None else WIDE_TIGHTEN
    with products.threads():
        t = _lbfgs(loss_grad, t, tol * tighten, products.rough, STEP_TOL * tighten)
    coef = spec.coef((t[1:] / root).astype(np.float64))
    intercept = t[0] / root0 - spec.mean @ coef

    def predict(X_eval: np.ndarray) -> np.ndarray:
        return special.expit(_affine(X_eval, coef, intercept))

    return predict


@functools.cache
def native_bfloat16() -> bool:
    """Whether torch is installed and this CPU multiplies bfloat16 natively (x86 AVX512-BF16
    or AMX-BF16, read from /proc/cpuinfo; False where that file is missing)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return bool(re.search(r"\b(avx512_bf16|amx_bf16)\b", flags)) and bool(find_spec("torch"))


def rough_products_pay(size: int, labels: int) -> bool:
    """Whether bfloat16 products are worth it for a B of `size` values: a native bfloat16
    CPU, at least ROUGH_MIN_SIZE values (below that torch's import costs more) and 2 labels
    or more (one label's products are memory-bound matrix-vector products, which torch's
    bfloat16 made slower: 5.9-6.6 s against 5.2 s on rbp-elavl1's full k-mer columns)."""
    return size >= ROUGH_MIN_SIZE and labels > 1 and native_bfloat16()


class _Products:
    """The logistic's products with B, in float32, or in bfloat16 (torch) for the labels
    still marked in `rough` (a per-label mask that _lbfgs clears)."""

    def __init__(self, Bt: np.ndarray, rough: bool, labels: int):
        self.Bt, self.rough = Bt, np.full(labels, rough)
        if rough:
            import torch

            self.torch, self.Bt16 = torch, torch.from_numpy(Bt).to(torch.bfloat16)

    def times_B(self, A: np.ndarray, labels) -> np.ndarray:
        """A (k, r) @ B' (k, n) for the labels (mask) of A's rows."""
        return self._product(A, labels, transpose=False)

    def times_Bt(self, A: np.ndarray, labels) -> np.ndarray:
        """A (k, n) @ B (k, r) for the labels (mask) of A's rows."""
        return self._product(A, labels, transpose=True)

    def _product(self, A, labels, transpose: bool) -> np.ndarray:
        exact = self.Bt.T if transpose else self.Bt
        on_rough = self.rough[labels]
        if not on_rough.any():
            return A @ exact
        rough = self.Bt16.T if transpose else self.Bt16
        if on_rough.all():
            return self._rough(A, rough)
        out = np.empty((len(A), exact.shape[1]), dtype=np.float32)
        out[on_rough] = self._rough(A[on_rough], rough)
        out[~on_rough] = A[~on_rough] @ exact
        return out

    def _rough(self, A: np.ndarray, rough) -> np.ndarray:
        A16 = self.torch.from_numpy(np.ascontiguousarray(A)).to(self.torch.bfloat16)
        return (A16 @ rough).float().numpy()

    @contextmanager
    def threads(self):
        """torch on as many threads as the BLAS here (threadpoolctl's limit), restored after."""
        if not self.rough.any():
            yield
            return
        before = self.torch.get_num_threads()
        blas = [lib.num_threads for lib in _threadpools().select(user_api="blas").lib_controllers]
        self.torch.set_num_threads(min(blas, default=before))
        try:
            yield
        finally:
            self.torch.set_num_threads(before)


@functools.cache
def _threadpools() -> ThreadpoolController:
    """The process's thread pools (looked up once: about 10 ms)."""
    return ThreadpoolController()


def _lbfgs(fun, x, tol, rough, step_tol=STEP_TOL, memory=10, max_iter=500):
    """L-BFGS on independent problems, one per column of x.

    fun(x_cols, cols) -> (f, grad) of the problems in the boolean mask cols, evaluated
    only while they run. A column stops once the 2-norms of its gradient and of its step are
    below tol and step_tol, or once its backtracking line search fails (Armijo, or
    Hager-Zhang's approximate Armijo where rounding hides the decrease of f). Columns marked
    in the mask `rough`, which fun reads and this clears in place, are evaluated roughly by
    fun (bfloat16 products) until all their gradient norms are below ROUGH_TOL (or they
    would stop) or ROUGH_ITERS iterations have passed, or, for one column, until its line
    search fails: then the mark is cleared and they are evaluated again exactly, so every
    stop is decided on exact values.
    """
    active = np.ones(x.shape[1], dtype=bool)
    f, g = fun(x, active)
    history = []
    for iteration in range(max_iter):
        d = -_two_loop(g, history)
        g_norm = np.linalg.norm(g, axis=0)
        running = (g_norm > tol) | (np.linalg.norm(d, axis=0) > step_tol)
        refine = active & rough
        low = ~running | (g_norm < ROUGH_TOL)
        if refine.any() and (iteration >= ROUGH_ITERS or np.all(low[refine])):
            rough &= ~refine  # exact values from here on (all at once: one product)
            f[refine], g[:, refine] = fun(x[:, refine], refine)
            continue
        active &= running
        if not active.any():
            break
        d *= active
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
        refine = fail & rough
        rough &= ~refine
        active &= ~(fail & ~refine)
        x_new, f_new, g_new = (
            np.where(fail, a, b) for a, b in ((x, x_new), (f, f_new), (g, g_new))
        )
        if refine.any():
            f_new[refine], g_new[:, refine] = fun(x[:, refine], refine)
        s, y = x_new - x, g_new - g  # s = 0 (no curvature pair) where the search failed
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
