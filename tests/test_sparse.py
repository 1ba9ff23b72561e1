import warnings

import numpy as np
import pytest
import scipy.optimize

import reweightkit as rk
from reweightkit.problem import duality_gap, kkt_residual, objective

from .conftest import random_problem


def lbfgs_objective(At, bt, lam):
    """Independent reference: L-BFGS-B with bounds on the same objective."""
    n = At.shape[0]

    def f(w):
        r = At.T @ w - bt
        return 0.5 * r @ r + lam * w.sum(), At @ r + lam

    res = scipy.optimize.minimize(f, np.full(n, 1.0 / n), jac=True, method="L-BFGS-B",
                                  bounds=[(0, None)] * n, options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 20000})
    return res.fun


@pytest.mark.parametrize("alpha", [0.5, 0.2, 0.05, 0.001])
@pytest.mark.parametrize("with_total", [True, False])
def test_kkt_and_certificate_on_published(published, alpha, with_total):
    df, tm, tc, _ = published
    cal = rk.SparseCalibrator(alpha=alpha, tol=1e-10).fit(df, tm, tc if with_total else None)
    p = rk.prepare(df, tm, tc if with_total else None)
    assert cal.converged_ and cal.dual_gap_ <= 1e-10
    assert kkt_residual(p.At_rec, p.b_t, cal.weights_, cal.lambda_) <= 1e-6
    # an independent certificate, from the residual at the returned weights themselves
    gap, rel = duality_gap(p.At_rec, p.b_t, cal.weights_, cal.lambda_)
    assert rel <= 1e-8
    assert cal.objective_ == pytest.approx(objective(p.At_rec, p.b_t, cal.weights_, cal.lambda_), rel=1e-12)
    assert cal.weights_.dtype == np.float64 and cal.weights_.shape == (len(df),) and cal.weights_.min() >= 0


@pytest.mark.parametrize("alpha", [0.002, 0.01, 0.05])
def test_closed_form_optimum_on_published(published, alpha):
    """With a complete age margin the optimum is z_g = 1 - lam b_g and P* = lam sum b - lam^2 sum b^2 / 2."""
    df, tm, tc, _ = published
    cal = rk.SparseCalibrator(alpha=alpha, tol=1e-12).fit(df, tm, tc)
    bg = np.array(list(tm["age_group"].values()), dtype=float)
    lam = cal.lambda_
    p_star = lam * bg.sum() - 0.5 * lam**2 * (bg**2).sum()
    assert cal.objective_ == pytest.approx(p_star, rel=1e-9)
    est = rk.target_errors(df, cal.weights_, tm)
    np.testing.assert_allclose(est["estimate"] / est["value"], 1 - lam * bg, rtol=1e-6)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("alpha", [0.3, 0.05])
def test_objective_matches_independent_solver(seed, alpha):
    df, m, c = random_problem(seed, n=600, levels=(4, 25), n_cont=1)
    cal = rk.SparseCalibrator(alpha=alpha, tol=1e-12).fit(df, m, c)
    p = rk.prepare(df, m, c)
    ref = lbfgs_objective(p.At_rec, p.b_t, cal.lambda_)
    assert cal.objective_ <= ref * (1 + 1e-9)  # never worse than the reference
    assert cal.objective_ == pytest.approx(ref, rel=1e-6)


@pytest.mark.parametrize("alpha", [0.5, 0.3])
def test_kkt_on_random_problem_with_thousands_of_targets(alpha):
    df, m, c = random_problem(7, n=6000, levels=(10, 200, 2000), n_cont=3)
    cal = rk.SparseCalibrator(alpha=alpha, tol=1e-9).fit(df, m, c)
    p = rk.prepare(df, m, c)
    assert p.At_rec.shape[1] > 2000
    assert cal.converged_
    assert kkt_residual(p.At_rec, p.b_t, cal.weights_, cal.lambda_) <= 1e-6


def test_lambda_max_gives_exact_zeros_with_warning(published):
    df, tm, tc, _ = published
    with pytest.warns(rk.LambdaMaxWarning, match=r"lambda_max=0\.00216.*alpha"):
        cal = rk.SparseCalibrator(sparsity_weight=0.005).fit(df, tm, tc)
    assert np.all(cal.weights_ == 0) and cal.converged_ and cal.n_iter_ == 0
    with pytest.warns(rk.LambdaMaxWarning):
        cal = rk.SparseCalibrator(alpha=1.0).fit(df, tm, tc)
    assert np.all(cal.weights_ == 0)
    # just below lambda_max the solution is no longer zero
    cal = rk.SparseCalibrator(alpha=0.99).fit(df, tm, tc)
    assert cal.weights_.sum() > 0
    p = rk.prepare(df, tm, tc)
    assert cal.lambda_max_ == pytest.approx(max(0.0, (p.At_rec @ p.b_t).max()), rel=1e-15)


def test_fits_are_bitwise_identical(published):
    df, tm, tc, _ = published
    a = rk.SparseCalibrator(alpha=0.1).fit(df, tm, tc).weights_
    b = rk.SparseCalibrator(alpha=0.1).fit(df, tm, tc).weights_
    assert a.tobytes() == b.tobytes()


def test_permuting_records_permutes_weights(published):
    df, tm, tc, _ = published
    perm = np.random.default_rng(0).permutation(len(df))
    a = rk.SparseCalibrator(alpha=0.1, tol=1e-12).fit(df, tm, tc)
    b = rk.SparseCalibrator(alpha=0.1, tol=1e-12).fit(df.iloc[perm].reset_index(drop=True), tm, tc)
    np.testing.assert_allclose(b.weights_, a.weights_[perm], rtol=1e-6, atol=1e-9)


def test_scaling_a_continuous_column_and_its_target_changes_nothing(published):
    df, tm, tc, _ = published
    df2 = df.assign(income=df["weight"] * 0.9)
    df3 = df.assign(income=df["weight"] * 0.9 * 1000.0)
    a = rk.SparseCalibrator(alpha=0.05, tol=1e-12).fit(df2, tm, {"income": 1.5e7})
    b = rk.SparseCalibrator(alpha=0.05, tol=1e-12).fit(df3, tm, {"income": 1.5e7 * 1000.0})
    np.testing.assert_allclose(b.weights_, a.weights_, rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("solver", ["fista", "active-set", "ipm"])
def test_warm_refit_takes_at_most_one_iteration(published, solver):
    df, tm, tc, _ = published
    cal = rk.SparseCalibrator(alpha=0.1, warm_start=True, solver=solver).fit(df, tm, tc)
    first = cal.weights_.copy()
    cal.fit(df, tm, tc)
    if solver == "ipm":  # the hint is pushed back into the interior: fewer iterations, not none
        assert cal.converged_
    else:
        assert cal.n_iter_ <= 1 and cal.converged_
        np.testing.assert_allclose(cal.weights_, first, rtol=1e-9, atol=1e-12)


def test_warm_start_from_another_solvers_point_starts_the_active_set_cold(published):
    """FISTA's dense point is no basic solution: the active set must not take it as its working set."""
    df, tm, tc, _ = published
    cal = rk.SparseCalibrator(alpha=0.1, warm_start=True, solver="fista").fit(df, tm, tc)
    assert cal.n_active_ > 4000
    cal.set_params(solver="active-set").fit(df, tm, tc)
    cold = rk.SparseCalibrator(alpha=0.1, solver="active-set").fit(df, tm, tc)
    assert cal.converged_ and np.array_equal(cal.weights_, cold.weights_) and cal.n_active_ <= 7


def test_path_warm_started_and_certified(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    path = rk.solvers.nn_lasso_path(p.At_rec, p.b_t, n_lambdas=8, eps=1e-3, w0=p.w0)
    lams = [s.lam for s in path["solutions"]]
    np.testing.assert_allclose(lams, path["lambda_max"] * np.geomspace(1, 1e-3, 8))
    assert all(s.converged and s.rel_gap <= 1e-8 for s in path["solutions"])
    assert np.all(path["solutions"][0].w == 0)
    objs = [s.objective for s in path["solutions"]]
    assert all(np.diff(objs) < 0)  # weaker penalty, lower optimum


def test_nnls_at_zero_penalty_fits_consistent_targets(published):
    df, tm, tc, _ = published
    cal = rk.SparseCalibrator(sparsity_weight=0.0).fit(df, tm, tc)
    assert cal.converged_
    assert rk.problem.max_relative_error(df, cal.weights_, tm, tc) < 1e-6


def test_refit_removes_shrinkage(published):
    df, tm, tc, _ = published
    plain = rk.SparseCalibrator(alpha=0.3).fit(df, tm, tc)
    relaxed = rk.SparseCalibrator(alpha=0.3, refit=True).fit(df, tm, tc)
    assert relaxed.converged_
    assert set(np.flatnonzero(relaxed.weights_)) <= set(np.flatnonzero(plain.weights_))
    mre = rk.problem.mean_relative_error
    assert mre(df, relaxed.weights_, tm, tc) < mre(df, plain.weights_, tm, tc)
    assert relaxed.weights_.sum() > plain.weights_.sum()


def test_max_iter_warns_with_gap_and_tol(published):
    df, tm, tc, _ = published
    with pytest.warns(rk.ConvergenceWarning, match=r"gap .* > tol=1e-12"):
        cal = rk.SparseCalibrator(alpha=0.1, tol=1e-12, max_iter=3, solver="fista").fit(df, tm, tc)
    assert not cal.converged_ and cal.n_iter_ == 3


@pytest.mark.parametrize(
    "kw, exc, pattern",
    [
        ({}, ValueError, "exactly one"),
        ({"sparsity_weight": 0.1, "alpha": 0.1}, ValueError, "exactly one"),
        ({"alpha": 0.0}, ValueError, r"alpha must be None or a finite real number in \(0, 1\]"),
        ({"alpha": 1.5}, ValueError, r"alpha must be None or a finite real number in \(0, 1\]"),
        ({"alpha": float("nan")}, ValueError, "alpha"),
        ({"sparsity_weight": -1.0}, ValueError, "sparsity_weight"),
        ({"sparsity_weight": "big"}, TypeError, "sparsity_weight"),
    ],
)
def test_bad_penalties(published, kw, exc, pattern):
    df, tm, tc, _ = published
    with pytest.raises(exc, match=pattern):
        rk.SparseCalibrator(**kw).fit(df, tm, tc)


def test_relaxed_refit_on_a_vertex_support_that_cannot_fit_exactly(published):
    """At alpha = 0.1 the vertex support cannot meet every target with w >= 0: the refit is an
    NNLS with a residual, solved exactly (active set) and flagged converged by its KKT residual."""
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    vert = rk.SparseCalibrator(alpha=0.1, solution="vertex").fit(df, tm, tc)
    w, sol = rk.solvers.relaxed_refit(p.At_rec, p.b_t, vert.weights_)
    assert sol.converged and sol.kkt <= 1e-9
    assert set(np.flatnonzero(w)) <= set(np.flatnonzero(vert.weights_))
    r_plain = p.b_t - p.At_rec.T @ vert.weights_
    r_refit = p.b_t - p.At_rec.T @ w
    assert r_refit @ r_refit < r_plain @ r_plain
    assert sol.objective == pytest.approx(0.5 * r_refit @ r_refit, rel=1e-9)


@pytest.mark.parametrize("alpha", [0.3, 0.01, 0.001])
def test_default_solver_is_auto_and_returns_a_certified_basic_point(published, alpha):
    """The default is "auto": at the published size the dense active set, whose point has the objective of
    FISTA's and the interior point's (the same problem, certified) with at most rank + 1 records."""
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    assert rk.SparseCalibrator().get_params()["solver"] == "auto"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.TargetMissWarning)
        default = rk.SparseCalibrator(alpha=alpha, tol=1e-10).fit(p)
        explicit = rk.SparseCalibrator(alpha=alpha, tol=1e-10, solver="active-set").fit(p)
        others = [rk.SparseCalibrator(alpha=alpha, tol=1e-10, solver=s).fit(p) for s in ("fista", "ipm")]
    assert np.array_equal(default.weights_, explicit.weights_)
    rank = np.linalg.matrix_rank(np.vstack([p.At_rec.T.toarray(), np.ones(p.n_records)]))
    assert default.converged_ and default.dual_gap_ <= 1e-10 and default.n_active_ <= rank
    lam = default.lambda_
    for other in others:
        assert other.converged_
        assert objective(p.At_rec, p.b_t, default.weights_, lam) == pytest.approx(other.objective_, rel=1e-8)
    # what the certificate promises, recomputed from the returned weights
    assert duality_gap(p.At_rec, p.b_t, default.weights_, lam)[1] <= 1e-10


def test_auto_with_a_cap_runs_fista(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    capped = rk.SparseCalibrator(alpha=0.01, bounds=(0, 3.0)).fit(p)
    fista = rk.SparseCalibrator(alpha=0.01, bounds=(0, 3.0), solver="fista").fit(p)
    assert np.array_equal(capped.weights_, fista.weights_) and capped.converged_
    assert np.all(capped.weights_ <= 3.0 * p.d * (1 + 1e-12))
