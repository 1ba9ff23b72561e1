"""The national comparison (issue #25): every matched-budget method on rk.nation, program families held out.

Runs ``rk.run_comparison`` once per method (group) and survey sample (so each method's time is its own and every finished
piece is written at once), appending to ``<out>/frontier.csv``; then ``rk.summarize`` into ``<out>/summary.csv``.

    python scripts/nation_comparison.py --scale 0.1 --samples 3 --out results/nation

``benchmarks/results/README.md`` lists the runs whose rows are stored there (the book's national table reads them).
"""

import argparse
import time
import warnings
from pathlib import Path

import pandas as pd

import reweightkit as rk

HELD = ["state_medicaid_persons", "state_tax", "state_snap", "district_snap"]


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=float, default=0.1)
    p.add_argument("--samples", type=int, default=3)
    p.add_argument("--first", type=int, default=0, help="seed of the first survey sample")
    p.add_argument("--shares", default="0.01,0.03,0.10,0.25", help="budgets as shares of the records")
    p.add_argument("--methods", default="hardconcrete-k+hardconcrete-k-refit,l1-k-refit,cube,calibrate-reduce,"
                                        "subsample,dense",
                   help="comma-separated; methods joined by + run in one comparison (the two Hard Concrete rows "
                        "come from one search)")
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--refit", default="raking")
    p.add_argument("--bounds", default=None, help="LO,HI")
    p.add_argument("--out", default="results/nation")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    bounds = None if a.bounds is None else tuple(float(x) for x in a.bounds.split(","))
    shares = [float(x) for x in a.shares.split(",")]
    parts = []
    for sample in range(a.first, a.first + a.samples):
        t0 = time.perf_counter()
        nb = rk.nation(a.scale, seed=sample)
        task = rk.CalibrationTask.from_problem(nb.problem(), HELD)  # refuses a leaking holdout
        n = task.problem.n_records
        budgets = [int(round(s * n)) for s in shares]
        print(f"sample {sample}: {n:,} records x {nb.shape[0]:,} targets, budgets {budgets} "
              f"({time.perf_counter() - t0:.1f} s to build and hold out)", flush=True)
        for m in a.methods.split(","):
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rk.ReweightkitWarning)
                res = rk.run_comparison(task, methods=m.split("+"), budgets=budgets, seeds=[0], epochs=a.epochs,
                                        refit=a.refit, bounds=bounds)
            res["replicate"], res["holdout"], res["scale"] = sample, "+".join(HELD), a.scale
            res["n_total"] = n
            res["share"] = res["n_records"].map(dict(zip(budgets, shares)))  # the budget's share (NaN: dense)
            res["method_seconds"] = time.perf_counter() - t
            parts.append(res)
            pd.concat(parts, ignore_index=True).to_csv(out / "frontier.csv", index=False)
            print(f"  {m}: {time.perf_counter() - t:.1f} s", flush=True)
    results = pd.concat(parts, ignore_index=True)
    rk.summarize(results).to_csv(out / "summary.csv", index=False)


if __name__ == "__main__":
    main()
