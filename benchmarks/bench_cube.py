"""Flight-phase time of the cube method: the block flight against the sequential one, same run (issues #15, #28).

    python benchmarks/bench_cube.py [--max-n 1000000] [--max-n-sequential 100000]

For q = 6, 20 and 50 balancing variables and n = 10^4, 10^5, 10^6 units, prints the time of
:func:`reweightkit.solvers.cube.flight_phase` per unit with ``flight="blocks"`` (the default) and with
``flight="sequential"`` (reweightkit 0.2's), their ratio, the growth from each n to the next (linear growth
would print 10x), the whole :func:`reweightkit.cube_sample` (flight + landing), and the largest relative change
of a balancing total.  Run it alone: the ratio is only meaningful when nothing else loads the cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import reweightkit as rk
from reweightkit.solvers.cube import flight_phase


def problem(n, q, seed=0):
    rng = np.random.default_rng(seed)
    pi = rk.solvers.inclusion_probabilities(rng.uniform(1, 4, n), max(q + 1, n // 100))
    return np.column_stack([pi, rng.lognormal(0, 0.7, (n, q - 1))]), pi


def timed(f, *args, **kw):
    t0 = time.perf_counter()
    out = f(*args, **kw)
    return out, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1_000_000)
    parser.add_argument("--max-n-sequential", type=int, default=100_000,
                        help="largest n for the sequential flight (76 s at n = 10^6, q = 50)")
    args = parser.parse_args()
    for q in (6, 20, 50):
        prev = None
        for n in (10_000, 100_000, 1_000_000):
            if n > args.max_n:
                continue
            X, pi = problem(n, q)
            f, t_blocks = timed(flight_phase, X, pi, seed=1)
            err = np.max(np.abs((X / pi[:, None]).T @ f / X.sum(axis=0) - 1))
            line = f"q = {q:>2}, n = {n:>9,}: blocks {1e6 * t_blocks / n:6.2f} us/unit ({t_blocks:6.2f} s"
            line += f", x{t_blocks / prev:.1f} for 10x n)" if prev else ")"
            if n <= args.max_n_sequential:
                _, t_seq = timed(flight_phase, X, pi, seed=1, flight="sequential")
                line += f"; sequential {1e6 * t_seq / n:6.2f} us/unit: blocks {t_seq / t_blocks:4.1f}x faster"
            s, t_all = timed(rk.solvers.cube_sample, X, pi, seed=1)
            line += (f"; flight + landing {t_all:6.2f} s, sample {int(s.sum())} of {pi.sum():.0f}; largest relative "
                     f"balancing change {err:.1e}")
            print(line, flush=True)
            prev = t_blocks


if __name__ == "__main__":
    main()
