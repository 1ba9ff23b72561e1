"""Issue #15: balanced sampling by the cube method, integer weights, and the classical k-record selectors."""

import warnings

import numpy as np
import pytest

import reweightkit as rk
from reweightkit.solvers.cube import flight_phase, landing_phase


def population(n=200, q=5, k=40, seed=0, equal=False):
    rng = np.random.default_rng(seed)
    size = np.ones(n) if equal else rng.uniform(1, 4, n)
    pi = rk.solvers.inclusion_probabilities(size, k)
    X = np.column_stack([pi, rng.lognormal(0, 0.7, (n, q - 1))])  # pi itself first: a fixed sample size
    return X, pi


FLIGHTS = ["blocks", "sequential"]


@pytest.mark.parametrize("flight", FLIGHTS)
@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("q", [2, 6, 15])
def test_flight_keeps_every_balancing_total_and_leaves_at_most_q_noninteger(seed, q, flight):
    X, pi = population(q=q, seed=seed)
    f = flight_phase(X, pi, seed=seed, flight=flight)
    totals = X.sum(axis=0)
    np.testing.assert_allclose((X / pi[:, None]).T @ f, totals, rtol=1e-9)
    assert np.sum((f > 0) & (f < 1)) <= q and np.all((f >= 0) & (f <= 1))


@pytest.mark.parametrize("flight", FLIGHTS)
def test_inclusion_frequencies_match_pi_over_2000_draws(flight):
    X, pi = population(n=30, q=3, k=8, seed=1)
    draws = np.array([rk.solvers.cube_sample(X, pi, seed=s, flight=flight) for s in range(2000)])
    freq = draws.mean(axis=0)
    se = np.sqrt(pi * (1 - pi) / 2000)
    assert np.all(np.abs(freq - pi) <= 4 * se + 1e-12), np.max(np.abs(freq - pi) / (se + 1e-12))
    assert np.all(draws.sum(axis=1) == 8)  # sum(pi) = 8 and pi is a balancing variable: exactly 8 every time


@pytest.mark.parametrize("flight", FLIGHTS)
def test_balancing_error_is_within_the_landing_bound_and_below_simple_random_sampling(flight):
    X, pi = population(n=300, q=4, k=30, seed=2, equal=True)
    A = X / pi[:, None]
    totals = X.sum(axis=0)
    cube_err, srs_err = [], []
    rng = np.random.default_rng(0)
    for s in range(200):
        f = flight_phase(X, pi, seed=s, flight=flight)
        rest = (f > 0) & (f < 1)
        sample = landing_phase(X, f, pi, seed=s, flight=flight)
        err = np.abs(A[sample].sum(axis=0) - totals)
        # only the units still open after the flight can move a total, each by at most |x_k / pi_k|
        assert np.all(err <= np.abs(A[rest]).sum(axis=0) + 1e-9 * np.abs(totals))
        cube_err.append(np.mean(err[1:] / totals[1:]))
        srs = rng.choice(300, 30, replace=False)
        srs_err.append(np.mean(np.abs(A[srs].sum(axis=0) - totals)[1:] / totals[1:]))
    assert np.mean(cube_err) < 0.5 * np.mean(srs_err)


@pytest.mark.parametrize("flight", FLIGHTS)
def test_cube_sample_is_reproducible(flight):
    X, pi = population(seed=3)
    draw = rk.solvers.cube_sample(X, pi, seed=7, flight=flight)
    assert np.array_equal(draw, rk.solvers.cube_sample(X, pi, seed=7, flight=flight))
    assert not np.array_equal(draw, rk.solvers.cube_sample(X, pi, seed=8, flight=flight))


def test_the_sequential_flight_draws_reweightkit_0_2_samples():
    """flight="sequential" is the 0.2 flight: its sample for this seed, recorded from that release's code."""
    X, pi = population(seed=3)
    recorded = [2, 15, 17, 20, 25, 29, 36, 37, 42, 45, 46, 57, 59, 62, 67, 68, 72, 84, 88, 101, 102, 110, 119, 120,
                125, 130, 131, 132, 138, 139, 147, 151, 163, 165, 172, 179, 182, 195, 196, 197]
    assert np.flatnonzero(rk.solvers.cube_sample(X, pi, seed=7, flight="sequential")).tolist() == recorded
    assert np.flatnonzero(rk.solvers.cube_sample(X, pi, seed=7)).tolist() == recorded  # the default
    assert np.flatnonzero(rk.solvers.cube_sample(X, pi, seed=7, flight="blocks")).tolist() != recorded  # its own draw
    with pytest.raises(ValueError, match="flight must be 'blocks' or 'sequential'"):
        rk.solvers.cube_sample(X, pi, seed=7, flight="fast")


@pytest.mark.parametrize("flight", FLIGHTS)
def test_the_flights_survive_singular_blocks(flight):
    """Duplicated units make some balancing matrices singular: the SVD's direction keeps every total."""
    rng = np.random.default_rng(5)
    base = rng.lognormal(0, 0.5, (40, 3))
    X = np.repeat(base, 5, axis=0)  # every unit five times, side by side: whole blocks of one unit
    pi = np.full(200, 0.25)
    X = np.column_stack([pi, X])
    f = flight_phase(X, pi, seed=1, flight=flight)
    np.testing.assert_allclose((X / pi[:, None]).T @ f, X.sum(axis=0), rtol=1e-9)
    assert np.sum((f > 0) & (f < 1)) <= X.shape[1]


def _python_flight(X, pi, rng):
    """0.2's sequential flight, one numpy solve per move (the reference kept in reweightkit.solvers.cube)."""
    from reweightkit.solvers import cube
    return cube._sequential_flight_python(*cube._flight_start(X, pi), rng)


@pytest.mark.parametrize("q", [0, 1, 3, 12])
@pytest.mark.parametrize("kind", ["continuous", "duplicated units, a repeated column", "category dummies"])
def test_the_compiled_flight_moves_as_the_python_flight(q, kind):
    """The compiled sequential flight (numba, O(q^2) per move) settles the same units as 0.2's Python flight, and
    leaves the generator where one draw per move leaves it, on 20 seeds, also where balancing matrices are singular."""
    for seed in range(20):
        rng = np.random.default_rng(100 * q + seed)
        n = 300
        pi = rk.solvers.inclusion_probabilities(rng.uniform(1, 4, n), 45)
        if kind == "continuous":
            X = np.column_stack([pi, rng.lognormal(0, 0.7, (n, q))])[:, :q]
        elif kind == "category dummies":  # many identical rows: a kit's train targets on categorical data
            X = np.column_stack([pi] + [(rng.integers(0, 3, n) == 0).astype(float) for _ in range(q)])[:, :q]
        else:
            X = np.column_stack([pi, rng.lognormal(0, 0.7, (n, q))])[:, :q]
            if q < 3:
                continue
            X[1::7] = X[0]
            X[:, 2] = X[:, 1]
        a_rng, b_rng = np.random.default_rng(seed), np.random.default_rng(seed)
        compiled = flight_phase(X, pi, rng=a_rng, flight="sequential")
        python = _python_flight(X, pi, b_rng)
        assert np.array_equal(compiled == 1, python == 1) and np.array_equal(compiled == 0, python == 0)
        np.testing.assert_allclose(compiled, python, atol=1e-9)  # the open units agree to rounding
        assert a_rng.random() == b_rng.random()  # the same number of draws: the landing draws the same


@pytest.mark.parametrize("call, pattern", [
    (lambda X, pi: rk.solvers.cube_sample(X, pi + 1), r"pi must be finite inclusion probabilities in \[0, 1\]"),
    (lambda X, pi: rk.solvers.cube_sample(X, np.r_[np.nan, pi[1:]]), "pi must be finite"),
    (lambda X, pi: rk.solvers.cube_sample(np.r_[X[:1] * np.nan, X[1:]], pi), "X has 5 NaN"),
    (lambda X, pi: rk.solvers.cube_sample(X[:-1], pi), "X must have one row per unit"),
    (lambda X, pi: rk.solvers.cube_sample(np.ones((5, 5)), np.full(5, 0.5)), "fewer balancing variables"),
    (lambda X, pi: rk.solvers.inclusion_probabilities(np.ones(10), 11), "k must be between 1"),
])
def test_bad_cube_input(call, pattern):
    X, pi = population()
    with pytest.raises(ValueError, match=pattern):
        call(X, pi)


@pytest.mark.parametrize("method", ["trs", "pps"])
def test_integerize_keeps_the_total_and_is_seeded(method):
    w = np.random.default_rng(0).lognormal(1, 1, 500)
    a, b = rk.solvers.integerize(w, method, seed=3), rk.solvers.integerize(w, method, seed=3)
    assert a.dtype == np.int64 and np.array_equal(a, b) and a.sum() == round(w.sum()) and np.all(a >= 0)
    if method == "trs":
        assert np.all((a == np.floor(w)) | (a == np.floor(w) + 1))
    with pytest.raises(ValueError, match="non-negative"):
        rk.solvers.integerize(-w, method)


def test_integerize_is_unbiased_over_seeds():
    w = np.array([0.3, 1.5, 2.25, 0.95, 4.0])
    mean = np.mean([rk.solvers.integerize(w, "trs", seed=s) for s in range(4000)], axis=0)
    np.testing.assert_allclose(mean, w, atol=0.05)


@pytest.mark.parametrize("make", [lambda k: rk.BalancedSampleCalibrator(k, seed=1),
                                  lambda k: rk.CalibrateThenReduceCalibrator(k, seed=1)],
                         ids=["cube", "calibrate-reduce"])
def test_classical_selectors_keep_exactly_k_records_and_calibrate_them(make):
    df, tm, tc, hm = rk.superpopulation(seed=0)
    for k in (40, 400):
        a, b = make(k).fit(df, tm, tc), make(k).fit(df, tm, tc)
        assert a.n_active_ == k and a.exact_ and np.array_equal(a.weights_, b.weights_)
    with pytest.raises(ValueError, match="n_records must be between 1 and the number of records with positive design weight"):
        make(10**6).fit(df, tm, tc)


def test_balanced_sample_balances_the_train_targets_before_any_refit():
    """The cube sample's Horvitz-Thompson totals reproduce the design-weighted totals of every train target (up
    to the landing), far closer than a stratified random subsample's, which balances only its cells."""
    df, tm, tc, _ = rk.superpopulation(seed=0)
    p = rk.prepare(df, tm, tc)
    full = p.system.A @ p.d
    errors = {}
    for name, make in [("cube", lambda s: rk.BalancedSampleCalibrator(300, seed=s, refit=False)),
                       ("subsample", lambda s: rk.SubsampleCalibrator(300, seed=s, refit=False))]:
        errors[name] = np.mean([np.max(np.abs(p.system.A @ make(s).fit(p).ht_weights_ / full - 1)) for s in range(10)])
    assert errors["cube"] < 0.5 * errors["subsample"], errors


def test_matched_budgets_include_the_classical_selectors():
    df, tm, tc, hm = rk.superpopulation(seed=0, n_sample=1500)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rk.run_comparison(df, tm, tc, hm, budgets=[60], seeds=[0, 1], epochs=100,
                                methods=["cube", "calibrate-reduce", "subsample", "dense"])
    for m in ("cube", "calibrate-reduce", "subsample"):
        rows = res[res["method"] == m]
        assert len(rows) == 2 and (rows["n_active"] == 60).all() and rows["exact"].all()


def test_the_balanced_sampler_passes_its_flight_on():
    df, tm, tc, _ = rk.superpopulation(seed=1, n_sample=600)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ReweightkitWarning)
        blocks = rk.BalancedSampleCalibrator(120, seed=2, flight="blocks", on_infeasible="least_squares").fit(df, tm, tc)
        seq = rk.BalancedSampleCalibrator(120, seed=2, on_infeasible="least_squares").fit(df, tm, tc)
    assert seq.flight == "sequential"  # the default: 0.2's draw
    assert blocks.sample_.sum() == seq.sample_.sum() == 120 and not np.array_equal(blocks.sample_, seq.sample_)
    assert blocks.balancing_error_ < 0.05 and seq.balancing_error_ < 0.05
    with pytest.raises(ValueError, match="flight must be one of 'blocks', 'sequential'"):
        rk.BalancedSampleCalibrator(120, flight="fast").fit(df, tm, tc)


def test_without_numba_the_flight_runs_in_python_with_the_same_sample(monkeypatch):
    """Where numba cannot be imported the sequential flight says so once and draws the same sample in Python."""
    from reweightkit.solvers import cube
    X, pi = population(seed=3)
    compiled = rk.solvers.cube_sample(X, pi, seed=7)
    monkeypatch.setattr(cube, "compiled_flight", lambda: None)
    monkeypatch.setattr(cube, "_WARNED", [])
    with pytest.warns(rk.ReweightkitWarning, match="numba cannot be imported"):
        python = rk.solvers.cube_sample(X, pi, seed=7)
    assert np.array_equal(compiled, python)
