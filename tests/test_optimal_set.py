import numpy as np
import pandas as pd
import pytest

import reweightkit as rk
from reweightkit.problem import objective

from .conftest import random_problem


def test_hand_example():
    """Three records in one cell with target 3; held out: men = 1 (record 0), women = 2 (records 1, 2).

    With lambda = 0 the optimal set is {w >= 0 : w0 + w1 + w2 = 3}.  Men's estimate w0 ranges over
    [0, 3], women's 3 - w0 over [0, 3]; mean |rel. error| = (|w0 - 1| + |1 - w0| / 2) / 2 is 0 at
    w0 = 1 and largest, 1.5, at w0 = 3.
    """
    df = pd.DataFrame({"g": ["a", "a", "a"], "sex": ["m", "f", "f"]})
    tab, s = rk.solvers.optimal_set_ranges(df, np.array([1.0, 1.0, 1.0]), {"g": {"a": 3}}, None, {"sex": {"m": 1, "f": 2}})
    np.testing.assert_allclose(tab["min_estimate"], [0, 0], atol=1e-9)
    np.testing.assert_allclose(tab["max_estimate"], [3, 3], atol=1e-9)
    np.testing.assert_allclose(tab["estimate"], [1, 2])
    assert s["min_error"] == pytest.approx(0.0, abs=1e-9)
    assert s["max_error"] == pytest.approx(1.5, rel=1e-9)
    assert s["error_at_w"] == pytest.approx(0.0, abs=1e-12)


def _check_vertex(df, m, c, alpha):
    p = rk.prepare(df, m, c)
    plain = rk.SparseCalibrator(alpha=alpha, tol=1e-12, solver="fista").fit(df, m, c)  # FISTA's (dense) point
    vert = rk.SparseCalibrator(alpha=alpha, tol=1e-12, solution="vertex", solver="fista").fit(df, m, c)
    rank = np.linalg.matrix_rank(np.vstack([p.At_rec.T.toarray(), np.ones(len(df))]))
    assert vert.n_active_ <= rank
    np.testing.assert_allclose(p.At_rec.T @ vert.weights_, p.At_rec.T @ plain.weights_, rtol=1e-9, atol=1e-12)
    lam = plain.lambda_
    assert objective(p.At_rec, p.b_t, vert.weights_, lam) == pytest.approx(plain.objective_, rel=1e-9)
    assert vert.weights_.min() >= 0
    again = rk.SparseCalibrator(alpha=alpha, tol=1e-12, solution="vertex", solver="fista").fit(df, m, c)
    assert np.array_equal(again.weights_, vert.weights_)
    return plain, vert


@pytest.mark.parametrize("alpha", [0.001, 0.1])
def test_vertex_on_published_problem(published, alpha):
    df, tm, tc, hm = published
    plain, vert = _check_vertex(df, tm, tc, alpha)
    assert plain.n_active_ > 1000 and vert.n_active_ <= 7
    # same objective, very different held-out error: the optimal set is wide
    if alpha == 0.001:
        assert rk.problem.mean_relative_error(df, plain.weights_, hm) == pytest.approx(0.128, abs=0.005)
        _, s = rk.solvers.optimal_set_ranges(df, plain.weights_, tm, tc, hm)
        assert s["min_error"] <= s["error_at_w"] <= s["max_error"]
        assert s["max_error"] - s["min_error"] > 0.3  # which vertex an LP returns is arbitrary; the range is not
        assert s["min_error"] <= rk.problem.mean_relative_error(df, vert.weights_, hm) <= s["max_error"] + 1e-9


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_vertex_on_random_sparse_problems(seed):
    df, m, c = random_problem(seed, n=800, levels=(4, 15), n_cont=1)
    _check_vertex(df, m, c, 0.05)


def test_bad_solution_name(published):
    df, tm, tc, _ = published
    with pytest.raises(ValueError, match="solution"):
        rk.SparseCalibrator(alpha=0.1, solution="sparsest").fit(df, tm, tc)


def test_optimal_set_with_dependent_margins_and_large_population():
    """Two complete margins (age, region) both sum to the total: dependent equality rows, and a
    population of 200,000 (a raw row of ones made HiGHS report the feasible set infeasible)."""
    df, tm, tc, hm = rk.superpopulation(seed=0)
    cal = rk.SparseCalibrator(alpha=0.5).fit(df, tm, tc)
    table, s = rk.solvers.optimal_set_ranges(df, cal.weights_, tm, tc, hm)
    assert len(table) == 9 and np.isnan(s["max_error"])  # 9 held-out targets > max_sign_targets
    assert (table.min_estimate <= table.estimate * (1 + 1e-7) + 1e-6).all()
    assert (table.estimate <= table.max_estimate * (1 + 1e-7) + 1e-6).all()
    assert s["min_error"] <= s["error_at_w"] + 1e-9
    p = rk.prepare(df, tm, tc)
    v = rk.solvers.vertex_solution(p.At_rec, cal.weights_)
    np.testing.assert_allclose(p.At_rec.T @ v, p.At_rec.T @ cal.weights_, rtol=1e-9, atol=1e-12)
