"""How long a user waits for `reweightkit calibrate --n-records k` on a 30,000-record survey (issue #24).

Each command runs in a fresh process, as a user runs it (process start and import included), on a
synthetic survey of 30,000 records with nonresponse (4 regions x 5 age groups x 2 sexes, income),
for the budget methods: L1 (bisection along the certified path), Hard Concrete (batched bisection)
and the three samplers.  Prints wall seconds and the records kept.

    python benchmarks/bench_cli_budget.py [--n 30000] [--k 500]
"""

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def survey(n, seed=0):
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({"region": rng.choice(["north", "south", "east", "west"], n),
                       "age_group": rng.choice(["0-17", "18-34", "35-54", "55-64", "65+"], n),
                       "sex": rng.choice(["f", "m"], n), "income": rng.lognormal(10, 0.7, n),
                       "weight": rng.choice([20.0, 60.0, 120.0], n, p=[0.5, 0.3, 0.2])})
    w = df["weight"] / 0.72  # the design weights cover 72 % of the population
    targets = {"marginal": {c: {str(k): float(v) for k, v in w.groupby(df[c]).sum().items()}
                            for c in ("region", "age_group", "sex")},
               "continuous": {"income": float((w * df["income"]).sum())}}
    return df, targets


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=30_000)
    ap.add_argument("--k", type=int, default=500)
    args = ap.parse_args()
    df, targets = survey(args.n)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        df.to_csv(tmp / "people.csv", index=False)
        (tmp / "t.json").write_text(json.dumps(targets))
        print(f"{args.n:,} records, budget {args.k}")
        for method, extra in [("l1", ["--refit", "raking"]), ("hardconcrete", ["--refit", "raking"]),
                              ("subsample", []), ("cube", []), ("calibrate-reduce", [])]:
            out = tmp / f"w_{method}.csv"
            cmd = [sys.executable, "-m", "reweightkit", "calibrate", str(tmp / "people.csv"), "--targets",
                   str(tmp / "t.json"), "--method", method, "--n-records", str(args.k), "--seed", "1",
                   "--no-progress", "--on-infeasible", "least_squares", "--out", str(out), *extra]
            t0 = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, text=True)
            secs = time.perf_counter() - t0
            kept = int((pd.read_csv(out)["weight"] > 1e-9).sum()) if r.returncode == 0 else None
            print(f"{method:>17}: {secs:6.1f} s, exit {r.returncode}, kept {kept}"
                  + ("" if r.returncode == 0 else f"  ({r.stderr.strip().splitlines()[-1][:160]})"), flush=True)


if __name__ == "__main__":
    main()
