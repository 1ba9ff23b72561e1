"""Flight-phase time of the cube method at n = 10^4, 10^5, 10^6 with q = 6 and 50 balancing variables (issue #15).

    python benchmarks/bench_cube.py [--max-n 1000000]

Prints the time of :func:`reweightkit.solvers.cube.flight_phase` and of the whole
:func:`reweightkit.cube_sample` (flight + landing), and the growth factor from each n to the
next (linear growth would print 10x), measured in this run.
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1_000_000)
    args = parser.parse_args()
    for q in (6, 50):
        prev = None
        for n in (10_000, 100_000, 1_000_000):
            if n > args.max_n:
                continue
            X, pi = problem(n, q)
            t0 = time.perf_counter()
            f = flight_phase(X, pi, seed=1)
            t_flight = time.perf_counter() - t0
            t0 = time.perf_counter()
            s = rk.solvers.cube_sample(X, pi, seed=1)
            t_all = time.perf_counter() - t0
            err = np.max(np.abs((X / pi[:, None]).T @ f / X.sum(axis=0) - 1))
            growth = f" (x{t_flight / prev:.1f} for 10x n)" if prev else ""
            print(f"q = {q:>2}, n = {n:>9,}: flight {t_flight:7.2f} s{growth}, flight + landing {t_all:7.2f} s; "
                  f"sample size {int(s.sum())} of {pi.sum():.0f}; flight's largest relative balancing change {err:.1e}",
                  flush=True)
            prev = t_flight


if __name__ == "__main__":
    main()
