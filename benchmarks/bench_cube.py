"""Flight-phase time of the cube method: the compiled sequential flight against 0.2's Python one and the block flight,
same run (issues #15, #28).

    python benchmarks/bench_cube.py [--max-n 1000000] [--max-n-python 100000]

For q = 6, 20 and 50 balancing variables and n = 10^4, 10^5, 10^6 units, prints the time per unit of
:func:`reweightkit.solvers.cube.flight_phase` with ``flight="sequential"`` (the default: compiled with numba, one
O(q^2) update per move), of the same flight in Python (reweightkit 0.2's code, one solve per move: the reference the
compiled flight is tested against), and of ``flight="blocks"`` (disjoint blocks moved at once, batched numpy); the
ratios against the compiled flight; whether the compiled and the Python flight settled the same units; the growth
from each n to the next (linear growth would print 10x); the whole :func:`reweightkit.cube_sample` (flight +
landing); and the largest relative change of a balancing total.  The compiled flight is compiled (or loaded from
numba's cache) before the first timing.  Issue #28's goal: at most 3 us per unit at q = 20.  Run it alone: the
ratios are only meaningful when nothing else loads the cores.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import reweightkit as rk
from reweightkit.solvers import cube
from reweightkit.solvers.cube import flight_phase


def problem(n, q, seed=0):
    rng = np.random.default_rng(seed)
    pi = rk.solvers.inclusion_probabilities(rng.uniform(1, 4, n), max(q + 1, n // 100))
    return np.column_stack([pi, rng.lognormal(0, 0.7, (n, q - 1))]), pi


def python_flight(X, pi, seed):
    """0.2's sequential flight in Python (``reweightkit.solvers.cube._sequential_flight_python``)."""
    return cube._sequential_flight_python(*cube._flight_start(X, pi), np.random.default_rng(seed))


def timed(f, *args, **kw):
    t0 = time.perf_counter()
    out = f(*args, **kw)
    return out, time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-n", type=int, default=1_000_000)
    parser.add_argument("--max-n-python", type=int, default=100_000,
                        help="largest n for the Python flight (76 s at n = 10^6, q = 50)")
    args = parser.parse_args()
    X, pi = problem(1000, 5)
    _, t_compile = timed(flight_phase, X, pi, seed=0)
    print(f"compiled flight ready in {t_compile:.2f} s (compiling, or loading numba's cache)")
    for q in (6, 20, 50):
        prev = None
        for n in (10_000, 100_000, 1_000_000):
            if n > args.max_n:
                continue
            X, pi = problem(n, q)
            f, t_seq = timed(flight_phase, X, pi, seed=1)
            err = np.max(np.abs((X / pi[:, None]).T @ f / X.sum(axis=0) - 1))
            line = f"q = {q:>2}, n = {n:>9,}: compiled {1e6 * t_seq / n:6.2f} us/unit ({t_seq:6.2f} s"
            line += f", x{t_seq / prev:.1f} for 10x n)" if prev else ")"
            if n <= args.max_n_python:
                g, t_py = timed(python_flight, X, pi, 1)
                same = np.array_equal(f == 1, g == 1) and np.array_equal(f == 0, g == 0)
                line += f"; Python {1e6 * t_py / n:6.2f} us/unit ({t_py / t_seq:5.1f}x, same units settled: {same})"
            _, t_blocks = timed(flight_phase, X, pi, seed=1, flight="blocks")
            line += f"; blocks {1e6 * t_blocks / n:6.2f} us/unit ({t_blocks / t_seq:4.1f}x)"
            s, t_all = timed(rk.solvers.cube_sample, X, pi, seed=1)
            line += (f"; flight + landing {t_all:6.2f} s, sample {int(s.sum())} of {pi.sum():.0f}; largest relative "
                     f"balancing change {err:.1e}")
            print(line, flush=True)
            prev = t_seq


if __name__ == "__main__":
    main()
