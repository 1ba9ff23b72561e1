"""The main job: ``python -m reweightkit frontier`` (or the ``reweightkit`` console script)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from .experiment.comparison import BUDGET_METHODS, run_comparison, run_replicates
from .experiment.data import published_example, superpopulation
from .experiment.methods import METHODS
from .experiment.plotting import plot_frontier, plot_runtime
from .experiment.summary import runtime_table, summarize
from .experiment.sweeps import PARAM_COLUMNS, PUBLISHED_L0_LAMBDAS
from .problem.nnlasso import alpha_grid

__all__ = ["main", "run_frontier", "RESULT_FILES"]

RESULT_FILES = ("frontier.csv", "summary.csv", "runtime.csv", "frontier.png")
"""What ``reweightkit frontier`` writes into ``--out``: a whole set, never a mix of two runs."""


def _staging_dir(out: Path) -> Path:
    """Check ``out`` before any computation and return an empty folder beside it to write into.

    ``out`` must be absent or a folder holding only :data:`RESULT_FILES` (a previous
    run); its parent must be writable (proved by creating the staging folder there).
    """
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {str(out)!r} is an existing file, not a folder: choose a folder")
    if out.is_dir():
        foreign = sorted(p.name for p in out.iterdir() if p.name not in RESULT_FILES)
        if foreign:
            raise ValueError(f"--out {str(out)!r} holds files this command did not write ({foreign[:5]}); "
                             "choose a new or empty folder, so that replacing the results cannot delete them")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    except OSError as e:
        raise ValueError(f"--out {str(out)!r} cannot be written: {e.strerror or e}") from e


def _publish(staging: Path, out: Path) -> None:
    """Replace ``out`` by the complete ``staging`` folder with renames, so a result set is whole or absent."""
    old = None
    if out.exists():
        old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
        os.replace(out, old / out.name)
    os.replace(staging, out)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)


def run_frontier(out="results", benchmark="published", replicates=3, quick=False, seeds=5, epochs=2000,
                 methods=None, verbose=True, budgets=None):
    """Run the comparison end to end and write frontier.png/.csv, summary.csv, runtime.csv into ``out``.

    Parameters
    ----------
    out : str or Path, default "results"
        Output folder (created if missing).
    benchmark : {"published", "superpopulation"}, default "published"
        The data.
    replicates : int, default 3
        Superpopulation samples.
    quick : bool, default False
        Small grids, at most 2 seeds, at most 200 epochs and one replicate (for CI).
    seeds : int, default 5
        Seeds per grid point of the seeded methods.
    epochs : int, default 2000
        Hard Concrete epochs.
    methods : list of str, optional
        Names from :data:`reweightkit.METHODS` (default all).
    verbose : bool, default True
        Progress bars.
    budgets : list of int, optional
        Compare the methods at these matched record budgets (:data:`reweightkit.BUDGET_METHODS`).

    Returns
    -------
    results, summary, runtime : DataFrame
        Every fit, :func:`reweightkit.summarize` of them, and :func:`reweightkit.runtime_table`.
    """
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}")
    if benchmark not in ("published", "superpopulation"):
        raise ValueError(f"unknown benchmark {benchmark!r}; choose 'published' or 'superpopulation'")
    if replicates < 1:
        raise ValueError(f"--replicates must be >= 1, got {replicates}")
    out = Path(out)
    staging = _staging_dir(out)  # before the computation: a bad --out fails in a second, not after minutes
    try:
        results, summary, runtime = _compute(benchmark, replicates, quick, seeds, epochs, methods, verbose, budgets)
        results.to_csv(staging / "frontier.csv", index=False)
        summary.to_csv(staging / "summary.csv", index=False)
        runtime.to_csv(staging / "runtime.csv", index=False)
        fig = Figure(figsize=(13, 5), layout="tight")
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2, 1]})
        plot_frontier(summary, ax=ax1, title=f"Frontier ({benchmark} benchmark)")
        plot_runtime(runtime, ax=ax2)
        fig.savefig(staging / "frontier.png", dpi=120)
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when published
    return results, summary, runtime


def _compute(benchmark, replicates, quick, seeds, epochs, methods, verbose, budgets=None):
    kw = dict(seeds=range(seeds), epochs=epochs, verbose=verbose, budgets=budgets)
    if methods is not None:
        kw["methods"] = methods
    if quick:
        kw.update(alphas=alpha_grid(5), l0_lambdas=PUBLISHED_L0_LAMBDAS[::3], seeds=range(min(seeds, 2)),
                  epochs=min(epochs, 200))
    if benchmark == "published":
        results = run_comparison(*published_example(), **kw)
    else:
        results = run_replicates(superpopulation, 1 if quick else replicates, **kw)
    return results, summarize(results), runtime_table(results)


def main(argv=None) -> int:
    """The console script: ``reweightkit frontier [options]``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status (0; argument errors exit with status 2).
    """
    parser = argparse.ArgumentParser(prog="reweightkit", description="Sparse calibration: L1 vs L0, measured.")
    sub = parser.add_subparsers(dest="command", required=True)
    f = sub.add_parser("frontier", help="run every method's sweep and write the frontier")
    f.add_argument("--out", default="results", help="output folder (default ./results)")
    f.add_argument("--benchmark", choices=["published", "superpopulation"], default="published")
    f.add_argument("--replicates", type=int, default=3, help="superpopulation samples (default 3)")
    f.add_argument("--seeds", type=int, default=5, help="seeds per penalty for seeded methods (default 5)")
    f.add_argument("--epochs", type=int, default=2000, help="Hard Concrete epochs (default 2000)")
    f.add_argument("--methods", default=None,
                   help=f"comma-separated subset of {','.join(METHODS)}")
    f.add_argument("--budgets", default=None,
                   help="comma-separated record budgets, e.g. 30,100,300,1000: compare the methods at matched budgets "
                        f"({','.join(BUDGET_METHODS)})")
    f.add_argument("--quick", action="store_true", help="a small version (for CI)")
    f.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    t0 = time.perf_counter()
    methods = None if args.methods is None else [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        budgets = None if args.budgets is None else [int(k) for k in args.budgets.split(",") if k.strip()]
    except ValueError:
        parser.error(f"--budgets must be comma-separated integers, got {args.budgets!r}")
    try:
        _, summary, runtime = run_frontier(out=args.out, benchmark=args.benchmark, replicates=args.replicates,
                                           quick=args.quick, seeds=args.seeds, epochs=args.epochs, methods=methods,
                                           verbose=not args.no_progress, budgets=budgets)
    except ValueError as e:
        parser.error(str(e))
    with pd.option_context("display.width", 160, "display.max_rows", 200, "display.float_format", "{:.4g}".format):
        params = [c for c in PARAM_COLUMNS if summary[c].notna().any()]
        print(summary[["method", *params, "n_fits", "n_active", "train_error", "test_error", "test_error_se",
                       "seconds", "converged"]].to_string(index=False, na_rep=""))
        print()
        print(runtime.to_string(index=False))
    print(f"\nwrote frontier.png, frontier.csv, summary.csv, runtime.csv to {Path(args.out).resolve()}")
    print(f"wall time: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
