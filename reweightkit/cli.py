"""The main job: ``python -m reweightkit frontier`` (or the ``reweightkit`` console script)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = ["main", "runtime_table", "run_frontier"]


def runtime_table(results: pd.DataFrame) -> pd.DataFrame:
    """Fits, total seconds and seconds per fit by method."""
    g = results.groupby("method", sort=False)["seconds"]
    out = pd.DataFrame({"fits": g.size(), "seconds_total": g.sum(), "seconds_per_fit": g.mean()}).reset_index()
    return out


def run_frontier(out="results", benchmark="published", replicates=3, quick=False, seeds=5, epochs=2000,
                 methods=None, verbose=True):
    """Run the comparison end to end and write frontier.png/.csv, summary.csv, runtime.csv into ``out``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .data import published_example, superpopulation
    from .plotting import plot_frontier, plot_runtime
    from .sweeps import PUBLISHED_L0_LAMBDAS, run_comparison, summarize

    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}")
    kw = dict(seeds=range(seeds), epochs=epochs, verbose=verbose)
    if methods is not None:
        kw["methods"] = methods
    if quick:
        kw.update(alphas=np.geomspace(0.9, 1e-3, 5), l0_lambdas=PUBLISHED_L0_LAMBDAS[::3], seeds=range(min(seeds, 2)),
                  epochs=min(epochs, 200))
    if benchmark == "published":
        df, tm, tc, hm = published_example()
        results = run_comparison(df, tm, tc, hm, **kw)
    elif benchmark == "superpopulation":
        if replicates < 1:
            raise ValueError(f"--replicates must be >= 1, got {replicates}")
        parts = []
        for r in range(1 if quick else replicates):
            df, tm, tc, hm = superpopulation(seed=r)
            res = run_comparison(df, tm, tc, hm, **kw)
            res["replicate"] = r
            # replicate samples act as seeds for the deterministic methods' error bars
            res["seed"] = res["seed"].fillna(-1) * 1000 + r
            parts.append(res)
        results = pd.concat(parts, ignore_index=True)
    else:
        raise ValueError(f"unknown benchmark {benchmark!r}; choose 'published' or 'superpopulation'")
    summary = summarize(results)
    runtime = runtime_table(results)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "frontier.csv", index=False)
    summary.to_csv(out / "summary.csv", index=False)
    runtime.to_csv(out / "runtime.csv", index=False)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [2, 1]})
    plot_frontier(summary, ax=ax1, title=f"Frontier ({benchmark} benchmark)")
    plot_runtime(runtime, ax=ax2)
    fig.tight_layout()
    fig.savefig(out / "frontier.png", dpi=120)
    plt.close(fig)
    return results, summary, runtime


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="reweightkit", description="Sparse calibration: L1 vs L0, measured.")
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("frontier", help="run every method's sweep and write the frontier")
    f.add_argument("--out", default="results", help="output folder (default ./results)")
    f.add_argument("--benchmark", choices=["published", "superpopulation"], default="published")
    f.add_argument("--replicates", type=int, default=3, help="superpopulation samples (default 3)")
    f.add_argument("--seeds", type=int, default=5, help="seeds per penalty for seeded methods (default 5)")
    f.add_argument("--epochs", type=int, default=2000, help="Hard Concrete epochs (default 2000)")
    f.add_argument("--methods", default=None,
                   help="comma-separated subset of l1,l1-relaxed,l1-published,hardconcrete,subsample,dense")
    f.add_argument("--quick", action="store_true", help="a small version (for CI)")
    f.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    methods = None if args.methods is None else [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        _, summary, runtime = run_frontier(out=args.out, benchmark=args.benchmark, replicates=args.replicates,
                                           quick=args.quick, seeds=args.seeds, epochs=args.epochs, methods=methods,
                                           verbose=not args.no_progress)
    except ValueError as e:
        parser.error(str(e))
    with pd.option_context("display.width", 160, "display.max_rows", 200, "display.float_format", "{:.4g}".format):
        print(summary[["method", "penalty", "n_fits", "n_active", "train_error", "test_error", "test_error_se",
                       "seconds", "converged"]].to_string(index=False))
        print()
        print(runtime.to_string(index=False))
    print(f"\nwrote frontier.png, frontier.csv, summary.csv, runtime.csv to {Path(args.out).resolve()}")
    print(f"wall time: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
