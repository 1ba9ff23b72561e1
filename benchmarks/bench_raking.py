"""Raking with thousands of category levels: the sparse Newton system against the dense one, in one run.

    python benchmarks/bench_raking.py [--dense-up-to-levels 2000]

Two margins on n = 20,000 records: a high-cardinality column ``g`` (L levels) and a 5-level
column ``h``.  The sparse path (``solvers.calibration``, m > DENSE_UP_TO) is timed at every L; the
dense least-squares path it replaced (forced by raising DENSE_UP_TO) only up to
``--dense-up-to-levels``, since at 10,000 levels it ran for more than 7 minutes (issue #13).
Goal: 10,000 levels in seconds.  Prints times and the dense / sparse ratio measured here.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

import reweightkit as rk
import reweightkit.solvers.calibration as raking


def problem(levels, n=20_000, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"g": rng.integers(0, levels, n), "h": rng.integers(0, 5, n), "weight": rng.lognormal(3, 0.4, n)})
    # consistent, reachable targets that the design weights miss: totals of w* = d exp(effect_g + effect_h)
    effect = rng.normal(0, 0.3, levels)[df["g"]] + rng.normal(0, 0.3, 5)[df["h"]]
    w_star = df["weight"] * np.exp(effect)
    targets = {c: {int(k): float(v) for k, v in w_star.groupby(df[c]).sum().items()} for c in ("g", "h")}
    return df, targets


def timed_rake(df, targets, dense):
    saved = raking.DENSE_UP_TO
    raking.DENSE_UP_TO = 10**9 if dense else saved
    try:
        t0 = time.perf_counter()
        cal = rk.RakeCalibrator().fit(df, targets)
        return time.perf_counter() - t0, cal
    finally:
        raking.DENSE_UP_TO = saved


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dense-up-to-levels", type=int, default=2000)
    args = parser.parse_args()
    for levels in (500, 2000, 10_000):
        df, targets = problem(levels)
        m = sum(len(v) for v in targets.values())
        t_sparse, cal = timed_rake(df, targets, dense=False)
        line = (f"L = {levels:>6,} ({m:,} targets): sparse {t_sparse:6.2f} s, converged {cal.converged_}, "
                f"max residual {cal.max_residual_:.1e}")
        if levels <= args.dense_up_to_levels:
            t_dense, dcal = timed_rake(df, targets, dense=True)
            same = np.allclose(dcal.weights_, cal.weights_, rtol=1e-8)
            line += f"; dense {t_dense:6.2f} s (ratio dense / sparse {t_dense / t_sparse:.0f}x, same weights {same})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
