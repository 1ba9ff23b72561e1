"""The active-set NN-LASSO solver: certified, same optimum as the interior point, sparse basic solutions."""

import numpy as np
import pytest
import scipy.sparse as sp

import reweightkit as rk
from reweightkit.problem import duality_gap, kkt_residual, lambda_max
from reweightkit.solvers import nn_lasso_path
from reweightkit.solvers.active_set import DENSE_CAP, active_set
from reweightkit.solvers.ipm import ipm


def test_published_path_is_certified_and_matches_the_interior_point(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    lams = lambda_max(p.At_rec, p.b_t) * np.geomspace(1, 1e-3, 20)
    ours = nn_lasso_path(p.At_rec, p.b_t, lambdas=lams, solver="active-set")["solutions"]
    ref = nn_lasso_path(p.At_rec, p.b_t, lambdas=lams, solver="ipm")["solutions"]
    rank = np.linalg.matrix_rank(p.At_rec.toarray())
    for a, b in zip(ours, ref):
        assert a.converged and duality_gap(p.At_rec, p.b_t, a.w, a.lam)[1] <= 1e-8
        assert abs(a.objective - b.objective) <= 1e-9 * b.objective
        assert a.w.min() >= 0 and (a.w > 0).sum() <= rank + 1  # a basic solution
    # the fitted targets are unique even though the weights are not
    np.testing.assert_allclose(p.At_rec.T @ ours[-1].w, p.At_rec.T @ ref[-1].w, atol=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_sparse_problems_match_the_interior_point(seed):
    p = rk.prepare(*rk.experiment.synthetic_problem(3000, (12, 8, 5), n_cont=3, noise=0.05, seed=seed)[:3])
    lm = lambda_max(p.At_rec, p.b_t)
    for alpha in (0.5, 0.1, 0.01, 0.001):
        a = active_set(p.At_rec, p.b_t, alpha * lm)
        b = ipm(p.At_rec, p.b_t, alpha * lm, tol=1e-10)
        assert a.converged and a.rel_gap <= 1e-8
        assert abs(a.objective - b.objective) <= 1e-8 * b.objective
        assert kkt_residual(p.At_rec, p.b_t, a.w, alpha * lm) <= 1e-7


def test_rank_deficient_working_set_takes_the_descent_ray():
    """Column 3 = 0.8 (column 1 + column 2) fits both targets at 1.6 the value per unit of weight: from the
    working set {1, 2, 3} the quadratic is flat along a null direction with 1'd != 0, which the method follows."""
    A = np.array([[1.0, 0.0, 0.8], [0.0, 1.0, 0.8]])
    At = sp.csr_matrix(A.T)
    b = np.ones(2)
    lam = 0.05
    sol = active_set(At, b, lam, w0=np.array([1.0, 1.0, 0.0]))
    assert sol.converged
    # the optimum uses column 3 only: w3 = (1.6 - lam) / (2 * 0.64)
    np.testing.assert_allclose(sol.w, [0.0, 0.0, (1.6 - lam) / 1.28], atol=1e-12)


def test_warm_start_from_any_support_reaches_the_same_optimum(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    lam = 0.05 * lambda_max(p.At_rec, p.b_t)
    rng = np.random.default_rng(0)
    cold = active_set(p.At_rec, p.b_t, lam)
    for _ in range(3):
        start = np.where(rng.random(p.n_records) < 0.01, rng.random(p.n_records), 0.0)
        warm = active_set(p.At_rec, p.b_t, lam, w0=start)
        assert warm.converged and abs(warm.objective - cold.objective) <= 1e-10 * cold.objective


def test_through_the_estimator_and_its_limits(published):
    df, tm, tc, _ = published
    a = rk.SparseCalibrator(alpha=0.01, solver="active-set").fit(df, tm, tc)
    f = rk.SparseCalibrator(alpha=0.01, solver="fista").fit(df, tm, tc)
    assert a.converged_ and a.dual_gap_ <= 1e-8
    assert abs(a.objective_ - f.objective_) <= 1e-7 * f.objective_
    assert a.n_active_ <= 7 < f.n_active_  # the basic solution against FISTA's dense point
    with pytest.raises(ValueError, match="solver='active-set' has no box"):
        rk.SparseCalibrator(alpha=0.01, solver="active-set", bounds=(0.0, 5.0)).fit(df, tm, tc)
    p = rk.prepare(df, tm, tc)
    with pytest.raises(ValueError, match="solver must be"):
        nn_lasso_path(p.At_rec, p.b_t, solver="lars")


def test_too_large_for_a_dense_copy_says_so():
    n = DENSE_CAP // 2 + 1
    At = sp.csr_matrix((np.ones(n), (np.arange(n), np.zeros(n, dtype=int))), shape=(n, 2))
    with pytest.raises(ValueError, match="DENSE_CAP.*solver='fista'"):
        active_set(At, np.ones(2), 0.1)
