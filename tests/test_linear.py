"""Parity of mrnaprobe.linear with the scikit-learn estimators mRNABench uses."""

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression, RidgeCV

from mrnaprobe import linear
from mrnaprobe.data import build_dataset
from mrnaprobe.embed import naive_baseline
from mrnaprobe.linear import ALPHAS, Embeddings, fit_logistic, fit_ridge


def problem(n, d, seed, dtype=np.float64, constant_column=False, collinear=False):
    """Correlated features (low-rank plus noise), a noisy linear target and 3 labels."""
    rng = np.random.default_rng(seed)
    latent = rng.standard_normal((n, 5))
    X = latent @ rng.standard_normal((5, d)) + 0.3 * rng.standard_normal((n, d)) + 2.0
    if constant_column:
        X[:, 0] = 3.0
    if collinear:  # an exact linear dependency: a singular Gram matrix
        X[:, -1] = X[:, 1] - 2 * X[:, 2]
    y = latent @ rng.standard_normal(5) + rng.standard_normal(n)
    Y = (latent @ rng.standard_normal((5, 3)) + rng.standard_normal((n, 3)) > 0.5).astype(int)
    return X.astype(dtype), y, Y


def optimum(X, Y, Xtest, C=1.0, max_iter=5000):
    """sklearn's LogisticRegression solved to tol 1e-10, one per label: probabilities on Xtest."""
    return np.column_stack(
        [
            LogisticRegression(C=C, max_iter=max_iter, tol=1e-10)
            .fit(X.astype(np.float64), Y[:, j])
            .predict_proba(Xtest)[:, 1]
            for j in range(Y.shape[1])
        ]
    )


CASES = {
    "d<n": dict(n=120, d=30),
    "d>n": dict(n=40, d=90),
    "float32": dict(n=120, d=30, dtype=np.float32),
    "float32 d>n": dict(n=40, d=90, dtype=np.float32),
    "constant column": dict(n=120, d=30, constant_column=True),
    "constant column d>n": dict(n=40, d=90, constant_column=True),
    "collinear": dict(n=120, d=30, collinear=True),
}


@pytest.mark.parametrize("case", CASES)
def test_ridge_matches_ridgecv(case):
    chosen = set()
    for seed in range(4):
        X, y, _ = problem(seed=seed, **CASES[case])
        X = X * 10.0 ** (seed - 2)  # feature scale relative to alpha moves the choice
        ours = fit_ridge(X, y)
        ref = RidgeCV(alphas=ALPHAS).fit(X, y)
        assert ours.alpha_ == ref.alpha_
        Xtest = problem(seed=seed + 100, **CASES[case])[0]
        scale = np.abs(ref.predict(Xtest)).max()
        np.testing.assert_allclose(ours.predict(Xtest), ref.predict(Xtest), atol=1e-6 * scale)
        chosen.add(ours.alpha_)
    assert len(chosen) > 1, "cases should exercise more than one alpha"


@pytest.mark.parametrize("alphas", [(100.0, 0.5), (1e4, 1e-2, 3.0), (30.0,)])
def test_ridge_custom_alphas(alphas):
    X, y, _ = problem(n=80, d=10, seed=3)
    ref = RidgeCV(alphas=list(alphas)).fit(X, y)
    ours = fit_ridge(X, y, alphas=alphas)
    assert ours.alpha_ == ref.alpha_
    np.testing.assert_allclose(ours.predict(X), ref.predict(X), rtol=1e-8, atol=1e-8)


@pytest.mark.parametrize("case", CASES)
def test_logistic_matches_logisticregression(case):
    """Against sklearn solved to tol 1e-10: probabilities within 1e-4 when we solve tightly
    too, within 1e-2 at the default tolerance (sklearn's default lbfgs, as mRNABench runs
    it, stops up to 1e-1 from the optimum on these problems)."""
    X, _, Y = problem(seed=7, **CASES[case])
    Xtest = problem(seed=8, **CASES[case])[0]
    for C in (1.0, 0.05):
        ref = optimum(X, Y, Xtest, C=C)
        tight = fit_logistic(X, Y, C=C, tol=1e-6)(Xtest)
        assert tight.shape == (len(Xtest), Y.shape[1])
        np.testing.assert_allclose(tight, ref, atol=1e-4)
        np.testing.assert_allclose(fit_logistic(X, Y, C=C)(Xtest), ref, atol=1e-2)


def test_logistic_stops_near_the_optimum_on_wide_features():
    """Many more features than rows (as k-mer counts): near-separable labels flatten the
    loss; the step test and the wide fits' tighter tolerances keep the default stop within
    2e-3 of the optimum (the gradient test alone stopped 7e-2 away here)."""
    X, _, Y = problem(n=100, d=3000, seed=7)
    Xtest = problem(n=100, d=3000, seed=8)[0]
    ref = optimum(X, Y, Xtest, max_iter=20000)
    np.testing.assert_allclose(fit_logistic(X, Y)(Xtest), ref, atol=2e-3)


@pytest.fixture(scope="module")
def kmer_windows(mirror, default_config):
    """The k-mer baseline of 600 real RBP windows (about 18,600 columns) and their label."""
    entry = {**default_config["datasets"]["rbp-elavl1"], "subsample": {"rows": 600, "seed": 0}}
    dataset = build_dataset("rbp-elavl1", entry, mirror / entry["source"]["path"])
    return naive_baseline(dataset["sequence"].tolist()), dataset[["bound"]].to_numpy(int)


def test_wide_logistic_reaches_the_optimum_on_columns_and_on_the_dual(kmer_windows):
    """Wide real k-mer features, fitted on the centred columns (no eigendecomposition) and on
    the dual spectrum, both with the tightened tolerances: within 2e-3 of sklearn's optimum
    (untightened, the columns stopped 1.6e-2 away and the dual 1e-2)."""
    X, Y = kmer_windows
    train, test = np.arange(len(X)) % 4 != 0, np.arange(len(X)) % 4 == 0
    ref = optimum(X[train], Y[train], X[test], max_iter=20000)
    emb = Embeddings(X)
    columns = emb.columns(np.flatnonzero(train))
    assert columns.Bt.shape == (X.shape[1], train.sum()) and columns.Bt.dtype == np.float32
    np.testing.assert_allclose(fit_logistic(columns, Y[train])(X[test]), ref, atol=2e-3)
    dual = emb.spectrum(train)
    assert dual.V is None
    np.testing.assert_allclose(fit_logistic(dual, Y[train])(X[test]), ref, atol=2e-3)


def test_logistic_on_a_wide_matrix_takes_the_columns_where_they_pay(kmer_windows, monkeypatch):
    """fit_logistic(X) skips the kernel and its eigendecomposition where columns_pay."""
    X, Y = kmer_windows
    assert not linear.columns_pay(*X.shape)  # 600 rows: the spectrum is cheaper
    monkeypatch.setattr(linear, "COLUMNS_RATIO", 1)
    assert linear.columns_pay(*X.shape)

    def refuse(*args):
        raise AssertionError("no spectrum expected")

    monkeypatch.setattr(Embeddings, "spectrum", refuse)
    monkeypatch.setattr(Embeddings, "_kernel_of_columns", refuse)
    ref = optimum(X, Y, X, max_iter=20000)
    np.testing.assert_allclose(fit_logistic(X, Y)(X), ref, atol=5e-3)


def test_logistic_single_label_and_int8():
    X, _, Y = problem(n=150, d=12, seed=2)
    Y = Y[:, :1].astype(np.int8)
    ref = optimum(X, Y, X)[:, 0]
    np.testing.assert_allclose(fit_logistic(X, Y, tol=1e-6)(X)[:, 0], ref, atol=1e-4)


def test_logistic_rejects_single_class_label():
    X, _, Y = problem(n=50, d=5, seed=1)
    Y[:, 1] = 0
    with pytest.raises(ValueError, match="both classes"):
        fit_logistic(X, Y)


@pytest.mark.parametrize("case", ["d<n", "d>n", "float32"])
def test_subset_spectra_from_the_shared_gram_matrix_fit_as_the_rows_alone(case):
    """A train subset's spectrum (Gram downdate, or kernel sub-block when d > rows) gives
    the same fits as the subset's own matrix."""
    spec = {**CASES[case], "n": 3 * CASES[case]["n"]}
    X, y, Y = problem(seed=5, **spec)
    emb = Embeddings(X)
    for rows in (np.arange(0, len(X), 3), np.flatnonzero(np.arange(len(X)) % 5 != 0)):
        subset = emb.spectrum(rows)
        alone = fit_ridge(X[rows], y[rows])
        shared = fit_ridge(subset, y[rows])
        assert shared.alpha_ == alone.alpha_
        np.testing.assert_allclose(shared.predict(X), alone.predict(X), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(
            fit_logistic(subset, Y[rows])(X), fit_logistic(X[rows], Y[rows])(X), atol=1e-4
        )


@pytest.mark.parametrize("case", ["d<n", "d>n", "float32"])
def test_logistic_started_on_bfloat16_products_ends_at_the_same_optimum(case):
    """The rough start (bfloat16 products with B) hands over to float32 before any stop:
    solved tightly, within 1e-4 of sklearn's optimum, as the float32-only fit; at the
    default tolerance within 1e-2, as that fit."""
    X, _, Y = problem(seed=7, **CASES[case])
    Xtest = problem(seed=8, **CASES[case])[0]
    ref = optimum(X, Y, Xtest)
    np.testing.assert_allclose(fit_logistic(X, Y, tol=1e-6, rough=True)(Xtest), ref, atol=1e-4)
    np.testing.assert_allclose(fit_logistic(X, Y, rough=True)(Xtest), ref, atol=1e-2)


def test_logistic_leaves_bfloat16_products_it_cannot_converge_on(monkeypatch):
    """With a rough target no bfloat16 product can meet, labels still turn exact (their
    line search fails, or after ROUGH_ITERS iterations) and reach the optimum."""
    monkeypatch.setattr(linear, "ROUGH_TOL", 1e-12)
    X, _, Y = problem(n=300, d=20, seed=3)
    ref = optimum(X, Y, X)
    np.testing.assert_allclose(fit_logistic(X, Y, tol=1e-6, rough=True)(X), ref, atol=1e-4)


def test_bfloat16_products_only_for_large_problems_on_native_cpus(monkeypatch):
    monkeypatch.setattr(linear, "native_bfloat16", lambda: True)
    assert linear.rough_products_pay(linear.ROUGH_MIN_SIZE, 2)
    assert not linear.rough_products_pay(linear.ROUGH_MIN_SIZE - 1, 2)
    assert not linear.rough_products_pay(10 * linear.ROUGH_MIN_SIZE, 1)
    monkeypatch.setattr(linear, "native_bfloat16", lambda: False)
    assert not linear.rough_products_pay(10 * linear.ROUGH_MIN_SIZE, 2)
