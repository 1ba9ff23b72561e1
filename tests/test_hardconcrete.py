import warnings

import numpy as np
import pandas as pd
import pytest

torch = pytest.importorskip("torch")  # the [l0] extra; CI installs it, so this never skips there

import reweightkit as rk  # noqa: E402 (after the importorskip)
from reweightkit.solvers import train_hard_concrete, train_with_l0_python  # noqa: E402

FAST = dict(epochs=150)
# short trainings are the point of most tests here: Hard Concrete's "not settled" warning is tested on its own
pytestmark = pytest.mark.filterwarnings("ignore:Hard Concrete had not settled:reweightkit.exceptions.ConvergenceWarning")


def test_same_seed_same_weights_and_global_rng_untouched(published):
    df, tm, tc, _ = published
    state = torch.get_rng_state()
    a = rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=3, **FAST).fit(df, tm, tc)
    b = rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=3, **FAST).fit(df, tm, tc)
    c = rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=4, **FAST).fit(df, tm, tc)
    assert torch.equal(state, torch.get_rng_state())
    assert a.weights_.tobytes() == b.weights_.tobytes()
    assert not np.array_equal(a.weights_, c.weights_)
    assert a.weights_.dtype == np.float64 and np.all(np.isfinite(a.weights_)) and a.weights_.min() >= 0
    assert a.n_active_ == int((a.weights_ > 0).sum()) and a.n_active_ < len(df)  # exact zeros exist


def test_seed_none_follows_torch_manual_seed(published):
    df, tm, tc, _ = published
    torch.manual_seed(42)
    a = rk.HardConcreteCalibrator(lambda_l0=1e-4, **FAST).fit(df, tm, tc)
    torch.manual_seed(42)
    b = rk.HardConcreteCalibrator(lambda_l0=1e-4, **FAST).fit(df, tm, tc)
    assert np.array_equal(a.weights_, b.weights_)


@pytest.mark.parametrize("seed", [0, 7])
def test_autograd_engine_reproduces_l0_python(published, seed):
    """Same draws: the K = 1 reference run equals l0-python's own fit (bitwise on CPU here; 1e-6 asserted)."""
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    ref = train_with_l0_python(p.At_rec, p.b_t, p.w0, 1e-4, seed, epochs=200)
    ours = train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-4], [seed], epochs=200, engine="autograd")
    np.testing.assert_allclose(ours["weights"], ref["weights"], rtol=1e-6, atol=1e-7)
    cols = ["epoch", "loss", "data_loss", "expected_active", "max_rel_error", "n_active"]
    pd.testing.assert_frame_equal(ours["history"][cols], ref["history"][cols], rtol=1e-5)
    via_cal = rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=seed, epochs=200, engine="l0").fit(df, tm, tc)
    np.testing.assert_allclose(via_cal.weights_, ref["weights"][0])
    auto = rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=seed, epochs=200, engine="autograd").fit(df, tm, tc)
    np.testing.assert_allclose(auto.weights_, ref["weights"][0], rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("engine", ["fast", "autograd"])
def test_replicas_do_not_interact(published, engine):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    alone = train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-4], [3], epochs=30, engine=engine)["weights"][0]
    batch = train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-5, 1e-4, 1e-3], [1, 3, 2], epochs=30,
                                engine=engine)["weights"]
    np.testing.assert_allclose(batch[1], alone, rtol=1e-4, atol=1e-5)


def test_blocks_give_the_same_weights_on_any_thread_count(published):
    """Where A~ is kept dense, the fast engine trains fixed blocks of replicas (torch on one thread each, the threads
    on the blocks): bitwise the same weights on 1, 2 and 3 threads, with two blocks and with one; the history
    numbers the replicas of the whole run, epoch by epoch; the caller's torch thread count is left as it was."""
    from reweightkit.solvers.hc_fast import BLOCK_ELEMENTS, n_blocks

    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    n, K = p.n_records, 40
    assert n_blocks(K, n) == 2 and n_blocks(3, n) == 1 and n_blocks(1, 10 ** 7) == 1
    assert n_blocks(8, BLOCK_ELEMENTS) == 8  # never more blocks than replicas
    lams, seeds = np.geomspace(1e-6, 1e-3, K), list(range(K))
    before = torch.get_num_threads()
    runs = {t: train_hard_concrete(p.At_rec, p.b_t, p.w0, lams, seeds, epochs=40, history_every=20, n_threads=t)
            for t in (1, 2, 3)}
    assert torch.get_num_threads() == before
    for t in (2, 3):
        assert runs[t]["n_threads"] == t
        assert runs[t]["weights"].tobytes() == runs[1]["weights"].tobytes()
        pd.testing.assert_frame_equal(runs[t]["history"], runs[1]["history"])
    h = runs[2]["history"]
    assert h["epoch"].tolist() == [20] * K + [40] * K and h["replica"].tolist() == list(range(K)) * 2
    small = [train_hard_concrete(p.At_rec, p.b_t, p.w0, lams[:3], seeds[:3], epochs=40, n_threads=t)["weights"]
             for t in (1, 2)]
    assert small[0].tobytes() == small[1].tobytes()
    alone = train_hard_concrete(p.At_rec, p.b_t, p.w0, lams[[30]], [30], epochs=40)["weights"][0]
    np.testing.assert_allclose(runs[1]["weights"][30], alone, rtol=1e-4, atol=1e-5)  # a block is a batch


def test_a_failing_block_stops_the_others(published, monkeypatch):
    """A replica that diverges in one block raises its error, naming its index in the whole run, and the other
    block (100,000 epochs to go) stops at its next epoch instead of training on: each block's outcome is
    recorded by a spy on the engine's loop."""
    from reweightkit.solvers import hc_fast

    outcomes, real = {}, hc_fast._train_block

    def spy(*args, offset=0, **kwargs):
        try:
            out = real(*args, offset=offset, **kwargs)
        except Exception as e:
            outcomes[offset] = f"{type(e).__name__}: {e}"
            raise
        outcomes[offset] = "finished"
        return out

    monkeypatch.setattr(hc_fast, "_train_block", spy)
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    lams = np.full(40, 1e-4)
    lams[30] = np.nan  # the second block's (replicas 20-39)
    with pytest.raises(FloatingPointError, match=r"replica 30\b"):
        train_hard_concrete(p.At_rec, p.b_t, p.w0, lams, list(range(40)), epochs=100_000, history_every=1,
                            n_threads=2)
    assert outcomes[20].startswith("FloatingPointError")
    assert outcomes[0].startswith("RuntimeError: Hard Concrete training stopped")  # not "finished"


@pytest.mark.parametrize("kw", [{}, {"lambda_l2": 1e-3}, {"lambda_l2": 1e-3, "l2_center": "w0"},
                                {"gate_cost": "prices"}])
def test_fast_engine_gradient_equals_autograd(published, monkeypatch, kw):
    """The hand-written gradient equals autograd's on the same draws (torch's global generator, seeds=None)."""
    from reweightkit.solvers import hc_fast as hc

    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    prices = np.linspace(0.2, 3.0, p.n_records)  # every gate its own price
    kw = {k: {"w0": p.w0, "prices": prices}.get(v, v) if isinstance(v, str) else v for k, v in kw.items()}
    grads = {}
    fast_step, adam = hc._Adam.step, torch.optim.Adam

    def record_fast(self):
        grads.setdefault("fast", self.P.grad.clone())
        return fast_step(self)

    class RecordAutograd(adam):
        def step(self, closure=None):
            grads.setdefault("autograd", [q.grad.clone() for q in self.param_groups[0]["params"]])
            return super().step(closure)

    monkeypatch.setattr(hc._Adam, "step", record_fast)
    monkeypatch.setattr(torch.optim, "Adam", RecordAutograd)
    for engine in ("fast", "autograd"):
        torch.manual_seed(0)
        train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-4, 1e-2], None, epochs=2, engine=engine, **kw)
    for mine, ref in zip(grads["fast"], grads["autograd"]):  # (K, n) vs autograd's (n, K)
        assert float(ref.abs().max()) > 0
        np.testing.assert_allclose(mine.numpy(), ref.T.numpy(), rtol=1e-4, atol=1e-6 * float(ref.abs().max()))


@pytest.mark.parametrize("engine", ["fast", "autograd"])
def test_gate_cost_is_a_price_per_gate(published, engine):
    """Prices of one are l0-python's model exactly; the penalty is lambda c_j (lambda/2 with 2c is the same fit);
    other prices change the fit."""
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    n = p.n_records

    def fit(lam, cost):
        return train_hard_concrete(p.At_rec, p.b_t, p.w0, [lam], [1], epochs=60, engine=engine,
                                   gate_cost=cost)["weights"][0]

    plain = fit(1e-3, None)
    assert plain.tobytes() == fit(1e-3, np.ones(n)).tobytes()
    c = np.linspace(0.5, 2.0, n)
    priced = fit(1e-3, c)
    assert priced.tobytes() == fit(5e-4, 2 * c).tobytes()
    assert not np.array_equal(priced, plain)


def test_design_priced_gates_lean_less_on_large_design_weights():
    """On the national benchmark (over-sampled SNAP households: small design weights) one price per gate keeps the
    large-design-weight records (keep_tilt > 1.3); pricing each gate by its design weight turns the lean around
    (below 1: it keeps more of the small-weight records).  Training data only: no held-out target is looked at."""
    nb = rk.nation(0.02, seed=0)
    p = nb.problem()
    tilt = {}
    for cost in ("uniform", "design"):
        est = rk.HardConcreteCalibrator(n_records=int(0.05 * p.n_records), epochs=400, seed=0, gate_cost=cost,
                                        n_threads=1).fit(p)
        assert abs(est.n_active_ - 0.05 * p.n_records) <= max(0.02 * 0.05 * p.n_records, 5)
        tilt[cost] = rk.problem.selection_tilt(est.weights_, p.d)["keep_tilt"]
    assert tilt["uniform"] > 1.3 and tilt["design"] < 1.0, tilt
    prices = rk.HardConcreteCalibrator(gate_cost="design").gate_costs(p)
    np.testing.assert_allclose(prices, p.d / p.d.mean())
    assert rk.HardConcreteCalibrator().gate_costs(p) is None


def test_fast_engine_honours_clamped_log_alpha(published):
    """Gates pushed past the |log_alpha| <= 20 clamp stop receiving gradient (as in autograd), and training stays finite."""
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    out = train_hard_concrete(p.At_rec, p.b_t, p.w0, [1.0], [0], epochs=400, lr=0.5)
    assert np.all(np.isfinite(out["weights"])) and (out["weights"][0] > 0).sum() < 0.2 * p.n_records


def test_tiny_lambda_nearly_meets_train_targets(published):
    """At lambda_l0 = 1e-8 every record stays and the train targets are met to about 1 %.

    Measured (3 seeds, 2,000 epochs, lr 0.1): mean relative train error 0.6-1.4 %, max 1.0-2.9 %.
    The floor is Adam's step noise on sampled gates (l0-python's mathematics), not under-training.
    """
    df, tm, tc, _ = published
    for seed in (0, 1, 2):
        cal = rk.HardConcreteCalibrator(lambda_l0=1e-8, seed=seed, epochs=2000).fit(df, tm, tc)
        assert rk.problem.mean_relative_error(df, cal.weights_, tm, tc) < 0.02
        assert rk.problem.max_relative_error(df, cal.weights_, tm, tc) < 0.05
    h = cal.history_
    assert list(h.columns) == ["epoch", "loss", "data_loss", "expected_active", "max_rel_error", "n_active"]
    assert h["epoch"].iloc[-1] == 2000 and h["expected_active"].iloc[-1] < h["expected_active"].iloc[0]


def test_larger_lambda_fewer_active_records(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    lams = np.repeat([1e-6, 1e-3], 3)
    w = train_hard_concrete(p.At_rec, p.b_t, p.w0, lams, [0, 1, 2] * 2, epochs=600)["weights"]
    act = (w > 0).sum(axis=1)
    assert act[3:].mean() < act[:3].mean()


@pytest.mark.parametrize(
    "kw, exc, pattern",
    [
        ({"lambda_l0": -1.0}, ValueError, "lambda_l0"),
        ({"epochs": 0}, ValueError, "epochs"),
        ({"epochs": 1.5}, TypeError, "epochs"),
        ({"lr": 0.0}, ValueError, "lr"),
        ({"init_keep_prob": 1.0}, ValueError, "init_keep_prob"),
        ({"seed": "a"}, TypeError, "seed"),
        ({"engine": "gpu"}, ValueError, "engine"),
        ({"gate_cost": "weights"}, ValueError, "gate_cost must be one of 'design', 'uniform' or a 1-D array"),
        ({"gate_cost": [1.0, -1.0]}, ValueError, "gate_cost"),
        ({"gate_cost": [0.0, 0.0]}, ValueError, "gate_cost"),
        ({"gate_cost": 2.0}, TypeError, "gate_cost"),
        ({"gate_cost": [1.0, 2.0]}, ValueError, "gate_cost has 2 prices but the data has"),
        ({"gate_cost": "design", "engine": "l0"}, ValueError, "gate_cost='design' needs engine='fast'"),
    ],
)
def test_bad_parameters(published, kw, exc, pattern):
    df, tm, tc, _ = published
    with pytest.raises(exc, match=pattern):
        rk.HardConcreteCalibrator(**kw).fit(df, tm, tc)


def test_bad_targets_as_for_sparse_calibrator(published):
    df, tm, tc, _ = published
    with pytest.raises(ValueError, match="'nope'"):
        rk.HardConcreteCalibrator(epochs=5).fit(df, {"nope": {"a": 1}}, tc)
    with pytest.raises(ValueError, match="'weight'.*positive"):
        rk.HardConcreteCalibrator(epochs=5).fit(df, tm, {"weight": -5.0})


def test_divergence_is_loud(published):
    df, tm, tc, _ = published
    with pytest.raises(FloatingPointError, match=r"lambda_l0=1e-05.*epoch"):
        rk.HardConcreteCalibrator(lr=1e30, seed=0, epochs=100).fit(df, tm, tc)


def test_fast_sweep_agrees_with_sequential_l0_python_statistically(published):
    """The fast engine (default) against l0-python itself, 5 seeds per lambda: mean n_active and mean
    held-out error agree within 2 standard errors."""
    df, tm, tc, hm = published
    p = rk.prepare(df, tm, tc)
    lams, seeds = np.repeat([1e-5, 1e-3], 5), list(range(100, 105)) * 2
    batched = train_hard_concrete(p.At_rec, p.b_t, p.w0, lams, seeds, epochs=500)["weights"]
    seq = np.vstack([train_with_l0_python(p.At_rec, p.b_t, p.w0, lam, s, epochs=500)["weights"][0]
                     for lam, s in zip(lams, seeds)])
    for block in (slice(0, 5), slice(5, 10)):
        for stat in (lambda w: (w > 0).sum(), lambda w: rk.problem.mean_relative_error(df, w, hm)):
            a = np.array([stat(w) for w in batched[block]], dtype=float)
            b = np.array([stat(w) for w in seq[block]], dtype=float)
            se = np.sqrt(a.var(ddof=1) / 5 + b.var(ddof=1) / 5)
            assert abs(a.mean() - b.mean()) <= 2 * se + 1e-12


def test_each_fit_records_its_thread_count_and_reproduces_with_it(tmp_path, monkeypatch):
    """The weights can depend on the thread count: a fit resolves it once (every round of a budget search trains on
    it), records it as n_threads_ and in its weight file, and the same count gives the same weights."""
    import reweightkit.solvers.budget as budget_mod

    df, tm, tc, _ = rk.superpopulation(seed=0)
    p = rk.prepare(df, tm, tc)
    counts = iter([1, 2, 1, 2, 1, 2, 1, 2, 1, 2])
    monkeypatch.setattr("reweightkit.solvers.hardconcrete.default_threads", lambda work=None, blocks=None: next(counts))
    seen = []
    real = budget_mod.train_hard_concrete

    def spy(*args, **kwargs):
        seen.append(kwargs["n_threads"])
        return real(*args, **kwargs)

    monkeypatch.setattr(budget_mod, "train_hard_concrete", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ReweightkitWarning)
        searched = rk.HardConcreteCalibrator(n_records=300, seed=0, epochs=200).fit(p)
    assert len(seen) >= 2 and set(seen) == {searched.n_threads_} == {1}  # resolved once, not per round
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ReweightkitWarning)
        first = rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=0, epochs=200).fit(p)
        again = rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=0, epochs=200, n_threads=first.n_threads_).fit(p)
        grid = rk.HardConcreteCalibrator(epochs=200, n_threads=2).fit_grid(p, lambdas=[1e-4], seeds=[0, 1])
    assert first.n_threads_ == 2 and again.n_threads_ == 2 and [f.n_threads_ for f in grid] == [2, 2]
    np.testing.assert_array_equal(again.weights_, first.weights_)
    assert first.refitted(p, refit="raking").n_threads_ == 2
    rk.save_weights(first, tmp_path / "w.csv")
    _, meta = rk.load_weights(tmp_path / "w.csv")
    assert meta["chosen"]["n_threads"] == 2


def test_an_interrupt_stops_the_blocks():
    """Ctrl-C (SIGINT) during a run in blocks on two threads raises KeyboardInterrupt, and every block stops at its
    next epoch instead of training on (100,000 epochs): each block's outcome is recorded by a spy in the child."""
    import signal
    import subprocess
    import sys

    child = (
        "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        "import numpy as np, reweightkit as rk\n"
        "from reweightkit.solvers import hc_fast\n"
        "outcomes, real = {}, hc_fast._train_block\n"
        "def spy(*args, offset=0, **kwargs):\n"
        "    print('started', flush=True)\n"
        "    try:\n"
        "        out = real(*args, offset=offset, **kwargs)\n"
        "    except Exception as e:\n"
        "        outcomes[offset] = type(e).__name__\n"
        "        raise\n"
        "    outcomes[offset] = 'finished'\n"
        "    return out\n"
        "hc_fast._train_block = spy\n"
        "df, tm, tc, _ = rk.published_example(); p = rk.prepare(df, tm, tc)\n"
        "try:\n"
        "    rk.solvers.train_hard_concrete(p.At_rec, p.b_t, p.w0, np.full(40, 1e-4), list(range(40)), epochs=100_000,\n"
        "                                   n_threads=2)\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted', sorted(outcomes.items()), flush=True)\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", child], stdout=subprocess.PIPE, text=True)
    try:
        assert [proc.stdout.readline().strip() for _ in range(2)] == ["started", "started"]  # both blocks began
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate()
    finally:
        proc.kill()
    assert out.strip() == "interrupted [(0, 'RuntimeError'), (20, 'RuntimeError')]" and proc.returncode == 0
