"""The dense revised simplex against HiGHS, and its refusal to return an uncertified answer."""

import numpy as np
import pytest
from scipy.optimize import linprog

from reweightkit.solvers.simplex import Simplex


def random_lp(seed, k=6, n=400, redundant=False):
    rng = np.random.default_rng(seed)
    E = rng.random((k, n)) * (rng.random((k, n)) < 0.3)
    E[:, :k] += np.eye(k)  # every row has support
    if redundant:
        E = np.vstack([E, E[0] + E[1]])  # a dependent row
    x0 = rng.random(n)
    return E, E @ x0, rng


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("redundant", [False, True])
def test_matches_highs_on_random_feasible_lps(seed, redundant):
    E, r, rng = random_lp(seed, redundant=redundant)
    s = Simplex(E, r)
    assert s.feasible
    for _ in range(4):
        c = rng.normal(size=E.shape[1]) + 2.0  # bounded below on the polytope-like set
        ref = linprog(c, A_eq=E, b_eq=r, bounds=(0, None), method="highs")
        got = s.solve(c)
        if ref.status != 0:
            continue
        assert got is not None
        x, val = got
        assert val == pytest.approx(ref.fun, rel=1e-7, abs=1e-9)
        assert x.min() >= 0 and np.abs(E @ x - r).max() <= 1e-7 * (1 + np.abs(r).max())
        assert (x > 1e-12).sum() <= np.linalg.matrix_rank(E)  # a vertex


def test_degenerate_set_with_ties():
    """Many identical columns and a zero objective on most of them: degenerate pivots must not cycle."""
    E = np.tile(np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 1.0, 2.0]]), (1, 50))  # row 3 = row 1 + row 2
    r = np.array([1.0, 1.0, 2.0])
    s = Simplex(E, r)
    c = np.tile([1.0, 2.0, 0.5], 50)
    x, val = s.solve(c)
    ref = linprog(c, A_eq=E, b_eq=r, bounds=(0, None), method="highs")
    assert val == pytest.approx(ref.fun, rel=1e-9) and val == pytest.approx(0.5)


def test_infeasible_set_gives_none():
    E = np.array([[1.0, 1.0], [1.0, 1.0]])
    s = Simplex(E, np.array([1.0, 2.0]))
    assert not s.feasible and s.solve(np.ones(2)) is None


@pytest.mark.parametrize("alpha", [0.2, 0.02, 0.002])
def test_held_out_ranges_by_simplex_equal_highs(published, alpha):
    import reweightkit as rk
    from reweightkit.solvers.optimal_set import held_out_ranges

    df, tm, tc, hm = published
    p = rk.prepare(df, tm, tc)
    test = rk.problem.build_system(df, hm)
    lam = alpha * rk.problem.lambda_max(p.At_rec, p.b_t)
    w = rk.solvers.nn_lasso_path(p.At_rec, p.b_t, lambdas=[lam], solver="ipm", tol=1e-10)["solutions"][0].w
    fast_table, fast = held_out_ranges(p.At_rec, test, w)
    ref_table, ref = held_out_ranges(p.At_rec, test, w, simplex=False)
    for col in ("min_estimate", "max_estimate"):
        np.testing.assert_allclose(fast_table[col], ref_table[col], rtol=1e-6, atol=1e-6)
    assert fast["max_error"] == pytest.approx(ref["max_error"], rel=1e-6, abs=1e-9)
    assert fast["min_error"] == pytest.approx(ref["min_error"], rel=1e-6, abs=1e-9)
