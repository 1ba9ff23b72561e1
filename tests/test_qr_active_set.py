"""The active set on updated QR factors (national size): factors kept exact, the certificate, the same optimum as the
interior point and the dense active set, dependent columns, and record budgets through the estimator."""

import re
import warnings

import numpy as np
import pytest
import scipy.sparse as sp

import reweightkit as rk
import reweightkit.solvers.budget as budget_module
import reweightkit.solvers.path as path_module
from reweightkit.problem import duality_gap, kkt_residual, lambda_max
from reweightkit.solvers import _qr_kernel
from reweightkit.solvers.budget import budget_tolerance, l1_for_budget
from reweightkit.solvers.ipm import ipm
from reweightkit.solvers.path import nn_lasso_path
from reweightkit.solvers.qr_active_set import QRSupport, qr_active_set


def _problem(seed, n=3000):
    return rk.prepare(*rk.experiment.synthetic_problem(n, (12, 8, 5), n_cont=3, noise=0.05, seed=seed)[:3])


def _check_factors(s, At):
    """A~_P = Q' R, Q orthonormal, the kept vectors Q b~ and R^{-T} 1, R upper triangular."""
    p = s.size
    A_P = At[s.P].toarray().T
    Q, R = s.Q[:p], s.R[:p, :p]
    np.testing.assert_allclose(Q.T @ R, A_P, atol=1e-10)
    np.testing.assert_allclose(Q @ Q.T, np.eye(p), atol=1e-10)
    assert np.all(np.tril(R, -1) == 0)
    np.testing.assert_allclose(s.vecs[0, :p], Q @ s.b, atol=1e-10)
    np.testing.assert_allclose(R.T @ s.vecs[1, :p], np.ones(p), atol=1e-8)


def test_inserts_and_deletes_keep_the_factors_exact():
    p = _problem(0, n=400)
    s = QRSupport(p.At_rec, p.b_t)
    rng = np.random.default_rng(0)
    added = []
    for j in rng.permutation(p.n_records)[:60]:
        if s.insert(j) is None:
            added.append(j)
    assert s.size == len(added) > 10
    _check_factors(s, p.At_rec)
    for where in ("first", "last", "middle", "middle"):
        i = {"first": 0, "last": s.size - 1, "middle": s.size // 2}[where]
        s.delete(i)
        del added[i]
        assert s.P == added
        _check_factors(s, p.At_rec)
    with pytest.raises(IndexError):
        s.delete(s.size)
    _check_factors(s, p.At_rec)  # a refused delete changes nothing


def test_a_dependent_column_is_reported_with_its_coefficients():
    A = np.array([[1.0, 0.0, 0.8, 2.0], [0.0, 1.0, 0.8, 0.0], [0.0, 0.0, 0.0, 0.0]])
    s = QRSupport(sp.csr_matrix(A.T), np.ones(3))
    assert s.insert(0) is None and s.insert(1) is None
    np.testing.assert_allclose(s.insert(2), [0.8, 0.8])  # a_2 = 0.8 a_0 + 0.8 a_1
    np.testing.assert_allclose(s.insert(3), [2.0, 0.0])
    assert s.P == [0, 1]


def test_compiled_kernels_match_numpy():
    if _qr_kernel.compiled() is None:
        pytest.skip("numba cannot be imported")
    back, delete = _qr_kernel.compiled()
    rng = np.random.default_rng(1)
    p, m, cap = 30, 50, 40
    R = np.zeros((cap, cap), order="F")
    R[:p, :p] = np.triu(rng.normal(size=(p, p))) + 5 * np.eye(p)
    rhs = rng.normal(size=cap)
    np.testing.assert_allclose(back(R, rhs, p), _qr_kernel.back_solve_numpy(R, rhs, p), rtol=1e-12)
    Q, vecs = rng.normal(size=(cap, m)), rng.normal(size=(2, cap))
    for i in (0, 7, p - 1):
        a = (R.copy(order="F"), Q.copy(), vecs.copy())
        b = (R.copy(order="F"), Q.copy(), vecs.copy())
        delete(*a, i, p)
        _qr_kernel.delete_column_numpy(*b, i, p)
        for x, y in zip(a, b):
            np.testing.assert_allclose(x, y, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1])
def test_certified_and_equal_to_the_interior_point(seed):
    p = _problem(seed)
    lm = lambda_max(p.At_rec, p.b_t)
    rank = np.linalg.matrix_rank(p.At_rec.toarray())
    support = None
    for alpha in (0.5, 0.1, 0.01, 0.001):
        lam = alpha * lm
        sol, support = qr_active_set(p.At_rec, p.b_t, lam, support=support)  # warm along the path
        cold, _ = qr_active_set(p.At_rec, p.b_t, lam)
        ref = ipm(p.At_rec, p.b_t, lam, tol=1e-10)
        assert sol.converged and duality_gap(p.At_rec, p.b_t, sol.w, lam)[1] <= 1e-8
        assert abs(sol.objective - ref.objective) <= 1e-8 * ref.objective
        assert abs(cold.objective - ref.objective) <= 1e-8 * ref.objective
        assert kkt_residual(p.At_rec, p.b_t, sol.w, lam) <= 1e-7
        assert sol.w.min() >= 0 and (sol.w > 0).sum() <= rank  # a basic solution
        _check_factors(support, p.At_rec)


def test_dependent_records_move_weight_along_the_null_direction():
    """Column 3 = 0.8 (column 1 + column 2) and column 4 duplicates column 1: the optimum uses column 3 only."""
    A = np.array([[1.0, 0.0, 0.8, 1.0], [0.0, 1.0, 0.8, 0.0]])
    At = sp.csr_matrix(A.T)
    lam = 0.05
    sol, s = qr_active_set(At, np.ones(2), lam)
    assert sol.converged
    np.testing.assert_allclose(sol.w, [0.0, 0.0, (1.6 - lam) / 1.28, 0.0], atol=1e-12)
    assert s.P == [2]


def test_the_path_runs_the_qr_engine_above_the_dense_cap(published, monkeypatch):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    lams = lambda_max(p.At_rec, p.b_t) * np.geomspace(0.9, 1e-3, 12)
    dense = nn_lasso_path(p.At_rec, p.b_t, lambdas=lams, solver="active-set")["solutions"]
    monkeypatch.setattr(path_module, "DENSE_CAP", 10)  # every problem is "too large" for a dense copy
    calls = []
    real = path_module.qr_active_set
    monkeypatch.setattr(path_module, "qr_active_set", lambda *a, **k: calls.append(1) or real(*a, **k))
    qr = nn_lasso_path(p.At_rec, p.b_t, lambdas=lams, solver="active-set")["solutions"]
    assert len(calls) == lams.size
    for a, b in zip(qr, dense):
        assert a.converged and a.rel_gap <= 1e-8 and a.kkt <= 1e-6
        assert abs(a.objective - b.objective) <= 1e-9 * b.objective


def test_a_budget_with_the_active_set_meets_k_and_refuses_what_it_cannot():
    p = _problem(2, n=4000)
    m = p.At_rec.shape[1]
    for k in (8, 20):
        sol = l1_for_budget(p.At_rec, p.b_t, p.w0, k, solver="active-set")
        assert abs((sol.w > 0).sum() - k) <= budget_tolerance(k)
        assert sol.converged and duality_gap(p.At_rec, p.b_t, sol.w, sol.lam)[1] <= 1e-8
        assert sol.kkt <= 1e-6
    with pytest.raises(ValueError, match=r"basic solutions, which keep at most rank\(A~\) <= \d+ records"):
        l1_for_budget(p.At_rec, p.b_t, p.w0, m + 50, solver="active-set")
    with pytest.raises(ValueError, match="analytic centre"):
        l1_for_budget(p.At_rec, p.b_t, p.w0, 10, solver="ipm")
    with pytest.raises(ValueError, match="solver='fista' only"):
        l1_for_budget(p.At_rec, p.b_t, p.w0, 10, solver="active-set", upper=np.ones(p.n_records))


def test_a_budget_above_the_rank_of_the_targets_says_so():
    """Fewer independent targets than the budget (as with `state_age_income` held out at 10 % of rk.nation(0.02)): the
    active set's basic solutions cannot reach k although k <= m; the error says the rank, not a jumping count."""
    p = _problem(5, n=1500)
    A = p.At_rec.tocsc()
    m = A.shape[1]
    rank = np.linalg.matrix_rank(A.toarray())
    At = sp.hstack([A, A[:, : m - 4]]).tocsr()  # every target but four twice: m' = 2m - 4 targets, the same rank
    b = np.concatenate([p.b_t, p.b_t[: m - 4]])
    k = rank + 8
    assert k <= At.shape[1] and np.linalg.matrix_rank(At.toarray()) == rank
    with pytest.raises(ValueError, match=rf"basic solutions kept at most (\d+) records .* rank\(A~\) records, and "
                                         rf"with these {At.shape[1]} train targets that rank may be below {k}") as err:
        l1_for_budget(At, b, p.w0, k, solver="active-set")
    most = int(re.search(r"kept at most (\d+) records", str(err.value)).group(1))
    assert most <= rank and "jump" not in str(err.value)


def test_the_estimator_searches_a_budget_with_the_solver_it_was_given(monkeypatch):
    p = _problem(3, n=2000)
    seen = []  # the solver the budget search runs ("auto" resolved inside l1_for_budget)
    real = budget_module.L1Engine
    monkeypatch.setattr(budget_module, "L1Engine", lambda At, b, solver, **k: seen.append(solver) or real(At, b, solver, **k))
    for solver, expected in [("fista", "fista"), ("active-set", "active-set"), ("auto", "active-set")]:
        est = rk.SparseCalibrator(n_records=12, solver=solver).fit(p)
        assert seen[-1] == expected and abs(est.n_selected_ - 12) <= budget_tolerance(12)
    rk.SparseCalibrator(n_records=12, solver="auto", bounds=(0, 50)).fit(p)
    assert seen[-1] == "fista"  # only FISTA has the box
    m = p.At_rec.shape[1]
    with warnings.catch_warnings():  # FISTA, stopped early, warns; whether it meets the budget is not the point
        warnings.simplefilter("ignore", rk.ReweightkitWarning)
        try:
            rk.SparseCalibrator(n_records=m + 40, solver="auto", max_iter=50).fit(p)
        except ValueError:
            pass
    assert seen[-1] == "fista"  # no basic solution keeps more than m records: auto asks FISTA
    with pytest.raises(ValueError, match="analytic centre"):
        rk.SparseCalibrator(n_records=12, solver="ipm").fit(p)


def test_without_numba_the_numpy_kernels_give_the_same_weights(monkeypatch):
    p = _problem(4, n=1500)
    lam = 0.01 * lambda_max(p.At_rec, p.b_t)
    compiled, _ = qr_active_set(p.At_rec, p.b_t, lam)
    monkeypatch.setattr(_qr_kernel, "_COMPILED", [None])
    plain, _ = qr_active_set(p.At_rec, p.b_t, lam)
    assert plain.converged and plain.n_iter == compiled.n_iter
    np.testing.assert_allclose(plain.w, compiled.w, rtol=1e-9, atol=1e-12)
