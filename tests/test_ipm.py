"""The interior-point L1 solver: same optimum as FISTA, certified, deterministic, robust to dependent targets."""

import numpy as np
import pytest

import reweightkit as rk
from reweightkit.problem import duality_gap, kkt_residual, lambda_max, objective
from reweightkit.solvers import fista, ipm, nn_lasso_path

from .conftest import random_problem


@pytest.mark.parametrize("alpha", [0.9, 0.3, 0.05, 0.01, 0.001])
def test_ipm_matches_fista_on_the_published_problem(published, alpha):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    lam = alpha * lambda_max(p.At_rec, p.b_t)
    ref = fista(p.At_rec, p.b_t, lam, p.w0, tol=1e-12, max_iter=50000)
    sol = ipm(p.At_rec, p.b_t, lam, p.w0, tol=1e-9)
    assert sol.converged and sol.rel_gap <= 1e-9
    assert sol.objective == pytest.approx(ref.objective, rel=1e-8)
    # the certificate is recomputable from the weights alone
    assert duality_gap(p.At_rec, p.b_t, sol.w, lam)[1] == pytest.approx(sol.rel_gap, rel=1e-3, abs=1e-11)
    # KKT is a diagnostic: zeroing the vanishing weights leaves gradients off by about sqrt(gap)
    assert sol.w.min() >= 0 and kkt_residual(p.At_rec, p.b_t, sol.w, lam) < 1e-4


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_ipm_matches_fista_on_random_sparse_problems(seed):
    df, m, c = random_problem(seed, n=2000, levels=(5, 40, 200))
    p = rk.prepare(df, m, c)
    lm = lambda_max(p.At_rec, p.b_t)
    ipm_path = nn_lasso_path(p.At_rec, p.b_t, lambdas=lm * np.array([0.5, 0.1, 0.01]), w0=p.w0, solver="ipm")
    for s in ipm_path["solutions"]:
        ref = fista(p.At_rec, p.b_t, s.lam, p.w0, tol=1e-11, max_iter=100000)
        assert s.converged and s.rel_gap <= 1e-8
        assert s.objective == pytest.approx(ref.objective, rel=1e-8)
        assert objective(p.At_rec, p.b_t, s.w, s.lam) == pytest.approx(s.objective, rel=1e-12)


def test_ipm_is_deterministic(published):
    df, tm, tc, _ = published
    a = rk.SparseCalibrator(alpha=0.05, solver="ipm").fit(df, tm, tc)
    b = rk.SparseCalibrator(alpha=0.05, solver="ipm").fit(df, tm, tc)
    assert np.array_equal(a.weights_, b.weights_) and a.converged_ and a.dual_gap_ <= 1e-8


def test_dependent_targets_need_no_special_treatment():
    """A duplicated margin makes A~ rank-deficient; I + A~ D A~' stays positive definite."""
    df, m, c = random_problem(3, n=1500, levels=(6, 30))
    df = df.assign(c0_copy=df["c0"])
    m2 = {**m, "c0_copy": dict(m["c0"])}
    p = rk.prepare(df, m2, c)
    A = p.At_rec.T.toarray()
    assert np.linalg.matrix_rank(A) < A.shape[0]
    lam = 0.05 * lambda_max(p.At_rec, p.b_t)
    sol = ipm(p.At_rec, p.b_t, lam, p.w0)
    ref = fista(p.At_rec, p.b_t, lam, p.w0, tol=1e-11, max_iter=100000)
    assert sol.converged and sol.objective == pytest.approx(ref.objective, rel=1e-8)


def test_ipm_answer_is_the_analytic_centre_and_vertex_is_sparsest(published):
    df, tm, tc, _ = published
    centre = rk.SparseCalibrator(alpha=0.01, solver="ipm").fit(df, tm, tc)
    vertex = rk.SparseCalibrator(alpha=0.01, solver="ipm", solution="vertex").fit(df, tm, tc)
    p = rk.prepare(df, tm, tc)
    # every record an optimal solution uses is positive at the centre: the vertex's support is inside
    assert set(np.flatnonzero(vertex.weights_)) <= set(np.flatnonzero(centre.weights_))
    assert vertex.n_active_ <= p.At_rec.shape[1] + 1 < centre.n_active_
    assert objective(p.At_rec, p.b_t, vertex.weights_, vertex.lambda_) == pytest.approx(centre.objective_, rel=1e-9)


def test_ipm_at_and_above_lambda_max_and_bad_solver(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    lm = lambda_max(p.At_rec, p.b_t)
    path = nn_lasso_path(p.At_rec, p.b_t, lambdas=[2 * lm, lm], w0=p.w0, solver="ipm")
    assert all(not s.w.any() for s in path["solutions"])
    near = ipm(p.At_rec, p.b_t, 0.999 * lm, p.w0)
    assert near.converged and near.w.sum() > 0
    with pytest.raises(ValueError, match="solver must be one of 'active-set', 'auto', 'fista', 'ipm'"):
        rk.SparseCalibrator(alpha=0.1, solver="newton").fit(df, tm, tc)
    with pytest.raises(ValueError, match="solver must be"):
        nn_lasso_path(p.At_rec, p.b_t, solver="cd")


def test_ipm_warns_when_it_cannot_certify(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    with pytest.warns(rk.ConvergenceWarning, match="interior-point method stopped after 1 iterations"):
        sol = ipm(p.At_rec, p.b_t, 0.01 * lambda_max(p.At_rec, p.b_t), p.w0, max_iter=1)
    assert not sol.converged and sol.n_iter == 1


def test_ipm_is_refused_above_its_size_and_auto_picks_by_shape():
    """At the field's 30,000 targets the m x m matrix is out of reach: say so.  "auto": FISTA with upper
    bounds, the dense active set where its copy fits, the interior point up to AUTO_IPM_UP_TO targets above
    it, FISTA beyond."""
    import scipy.sparse as sp

    from reweightkit.solvers.active_set import DENSE_CAP
    from reweightkit.solvers.path import AUTO_IPM_UP_TO, IPM_MAX_TARGETS, choose_solver

    m = IPM_MAX_TARGETS + 1
    At = sp.csr_matrix((np.ones(m), (np.arange(m), np.arange(m))), shape=(m, m))
    with pytest.raises(ValueError, match=r"m x m matrix.*GB.*solver='fista'"):
        choose_solver(At, "ipm")
    assert choose_solver(At, "auto") == "fista"  # m n = 25M > DENSE_CAP, m > AUTO_IPM_UP_TO
    assert choose_solver(At[:, :10], "auto") == "active-set"  # m n = 50,010
    assert choose_solver(At[:, :10], "auto", upper=np.ones(m)) == "fista"
    tall = sp.csr_matrix((DENSE_CAP // 10 + 1, 10))
    assert choose_solver(tall, "auto") == "ipm"
    assert choose_solver(sp.csr_matrix((DENSE_CAP // AUTO_IPM_UP_TO, AUTO_IPM_UP_TO + 1)), "auto") == "fista"
    path = nn_lasso_path(At, np.ones(m), lambdas=[0.5], solver="auto")  # runs FISTA: the optimum is w = 1/2
    np.testing.assert_allclose(path["solutions"][0].w, 0.5, atol=1e-6)
