"""Hard Concrete benchmark: the fast and autograd engines against l0-python, one run.

    python benchmarks/bench_hardconcrete.py [--epochs 2000] [--sequential-sample 0]

One 2,000-epoch fit at n = 5,000: fast engine vs l0-python (issue #18's goal: >= 3x).  Full
published sweep: 11 lambdas x 5 seeds x 2,000 epochs at n = 5,000, fast engine (goal < 8 s),
autograd engine and 55 sequential l0-python fits.  ``--sequential-sample k`` times only k of the
55 sequential fits and extrapolates (printed as such).  The fast engine's blocks (torch on one thread
per block, the threads on the blocks) against one batch on torch's own threads (the engine before the blocks), the
same sweep on one and on two threads, with a check that the blocks' weights are the same on both
counts.  Also time per epoch of one fit for both engines at n = 5,000 and n = 200,000 (x ~60 targets).
"""

import argparse
import time

import numpy as np
import pandas as pd

import reweightkit as rk
from reweightkit.experiment import PUBLISHED_L0_LAMBDAS
from reweightkit.solvers import train_hard_concrete, train_with_l0_python
from reweightkit.solvers.hc_common import TrainConfig
from reweightkit.solvers.hc_fast import _train_block, n_blocks


def problem(n, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"a": rng.integers(0, 50, n), "b": rng.integers(0, 8, n), "x": rng.lognormal(0, 1, n),
                       "weight": rng.lognormal(3, 0.4, n)})
    w = df["weight"].to_numpy()
    marg = {c: {int(k): float(v * rng.uniform(0.9, 1.1)) for k, v in pd.Series(w).groupby(df[c]).sum().items()}
            for c in ["a", "b"]}
    return rk.prepare(df, marg, {"x": float((w * df["x"]).sum())})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=2000)
    ap.add_argument("--sequential-sample", type=int, default=0, help="time only this many sequential fits (0 = all 55)")
    args = ap.parse_args()
    E = args.epochs
    df, tm, tc, _ = rk.published_example()
    p = rk.prepare(df, tm, tc)
    # first calls pay for imports and torch's start-up: not counted against either engine
    train_with_l0_python(p.At_rec, p.b_t, p.w0, 1e-5, 0, epochs=2)
    train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-5], [0], epochs=2)

    # issue #18: one 2,000-epoch fit at n = 5,000, fast engine vs l0-python (goal >= 3x)
    times = {}
    for name, run in [("l0-python", lambda: train_with_l0_python(p.At_rec, p.b_t, p.w0, 1e-4, 0, epochs=E)),
                      ("autograd", lambda: train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-4], [0], epochs=E,
                                                               engine="autograd")),
                      ("fast", lambda: train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-4], [0], epochs=E))]:
        t0 = time.perf_counter()
        run()
        times[name] = time.perf_counter() - t0
    print(f"one fit, n=5,000, {E} epochs: l0-python {times['l0-python']:.2f} s, autograd engine {times['autograd']:.2f} s, "
          f"fast engine {times['fast']:.2f} s; l0-python / fast = {times['l0-python'] / times['fast']:.1f}x (goal >= 3x)")

    lams = np.repeat(PUBLISHED_L0_LAMBDAS, 5)
    seeds = list(range(5)) * len(PUBLISHED_L0_LAMBDAS)
    threads = rk.default_threads(lams.size * p.n_records)
    t0 = time.perf_counter()
    train_hard_concrete(p.At_rec, p.b_t, p.w0, lams, seeds, epochs=E)
    t_fast = time.perf_counter() - t0
    t0 = time.perf_counter()
    train_hard_concrete(p.At_rec, p.b_t, p.w0, lams, seeds, epochs=E, engine="autograd")
    t_auto = time.perf_counter() - t0
    k = args.sequential_sample or len(lams)
    pick = np.linspace(0, len(lams) - 1, k).round().astype(int)
    t0 = time.perf_counter()
    for i in pick:
        train_with_l0_python(p.At_rec, p.b_t, p.w0, lams[i], seeds[i], epochs=E)
    t_seq = (time.perf_counter() - t0) * len(lams) / k
    note = "" if k == len(lams) else f" (extrapolated from {k} fits)"
    print(f"published sweep, 55 fits x {E} epochs: fast engine {t_fast:.1f} s (goal < 8 s), autograd engine "
          f"{t_auto:.1f} s, sequential l0-python {t_seq:.1f} s{note}; l0-python / fast = {t_seq / t_fast:.1f}x, "
          f"autograd / fast = {t_auto / t_fast:.2f}x; threads: {threads}")
    blocks_vs_batch(p, lams, seeds, E)
    for n, epochs in [(5000, 200), (200_000, 20)]:
        q = p if n == 5000 else problem(n)
        t0 = time.perf_counter()
        train_with_l0_python(q.At_rec, q.b_t, q.w0, 1e-5, 0, epochs=epochs)
        t_l0 = (time.perf_counter() - t0) / epochs
        t0 = time.perf_counter()
        train_hard_concrete(q.At_rec, q.b_t, q.w0, [1e-5], [0], epochs=epochs)
        t_b = (time.perf_counter() - t0) / epochs
        print(f"single fit, n={n:,} x {q.b_t.size} targets: l0-python {t_l0 * 1e3:.2f} ms/epoch, fast (K=1) "
              f"{t_b * 1e3:.2f} ms/epoch; ratio {t_l0 / t_b:.2f}")


def blocks_vs_batch(p, lams, seeds, epochs):
    """The published sweep in the engine's blocks against one batch on torch's threads (the engine before
    the blocks, run through its private loop), on one and two threads; the blocks' weights compared bitwise."""
    import torch

    out = {}
    for threads in (1, 2):
        t0 = time.perf_counter()
        out[threads] = train_hard_concrete(p.At_rec, p.b_t, p.w0, lams, seeds, epochs=epochs, n_threads=threads)
        t_blocks = time.perf_counter() - t0
        before = torch.get_num_threads()
        t0 = time.perf_counter()
        one = _train_block(torch, p.At_rec, p.b_t, p.w0, lams, seeds, TrainConfig(epochs=epochs), torch_threads=threads)
        t_batch = time.perf_counter() - t0
        torch.set_num_threads(before)
        print(f"published sweep on {threads} thread(s): {n_blocks(lams.size, p.n_records)} blocks {t_blocks:.2f} s, "
              f"one batch on torch's threads {t_batch:.2f} s; batch / blocks = {t_batch / t_blocks:.2f}x; "
              f"the batch's weights equal the blocks': {np.array_equal(one['weights'], out[threads]['weights'])}")
    same = np.array_equal(out[1]["weights"], out[2]["weights"])
    print(f"blocks: the same weights on 1 and 2 threads: {same}")


if __name__ == "__main__":
    main()
