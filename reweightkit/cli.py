"""The command line: ``reweightkit calibrate`` (your own data) and ``reweightkit frontier`` (the main job)."""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import multiprocessing as mp
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

from ._version import __version__
from .estimators import (
    BalancedSampleCalibrator,
    CalibrateThenReduceCalibrator,
    Calibrator,
    HardConcreteCalibrator,
    SparseCalibrator,
    SubsampleCalibrator,
)
from .experiment.comparison import BUDGET_METHODS, run_comparison, run_replicates
from .experiment.data import published_example, superpopulation
from .experiment.io import check_output_path, read_targets, save_weights
from .experiment.methods import METHODS
from .experiment.nation import NATION_FAMILIES, nation
from .experiment.plotting import plot_frontier, plot_runtime
from .experiment.realdata import cps1988_benchmark, cps1988_population
from .experiment.summary import runtime_table, summarize
from .experiment.sweeps import PARAM_COLUMNS, PUBLISHED_L0_LAMBDAS
from .experiment.task import CalibrationTask, group_label
from .problem.nnlasso import alpha_grid

__all__ = ["main", "run_frontier", "RESULT_FILES"]

RESULT_FILES = ("frontier.csv", "summary.csv", "runtime.csv", "frontier.png", "README.md")
"""What ``reweightkit frontier`` writes into ``--out``: a whole set, never a mix of two runs."""

BENCHMARKS = {
    "superpopulation": "samples from a synthetic population whose held-out targets (sex, employment, household "
                       "size) the train targets predict: it can rank methods, with error bars over replicate "
                       "samples and seeds",
    "cps1988": "informative samples of real people (the 1988 Current Population Survey extract of AER, 28,155 "
               "men, as a population; needs reweightkit[data]): held-out wage bills by region, part-time and "
               "experience counts, scored against the true totals over replicate samples",
    "nation": "a synthetic country's household survey (rk.nation: states, districts, age x sex, heavy-tailed "
              "income, programs, informative sampling and nonresponse) with targets in 16 families; whole families "
              "are held out (--holdout); --scale 1 is about 300,000 records x 28,000 targets",
    "published": "the published 5,000-record example: its held-out sex counts are the sample's counts times "
                 "independent noise, so it reproduces the published run but cannot rank methods (notebook 4)",
}

RESULTS_README = """# reweightkit frontier: what these files hold

Benchmark: {benchmark}. {meaning}
Command: {command}

- `frontier.csv`: one row per fit. `method` (a name of `rk.METHODS`), `grid` (position in the
  method's grid), `seed` (NaN for deterministic methods), then the method's grid parameter in the
  column named after it, NaN for the other methods: `alpha` (L1 penalty / lambda_max), `lambda`
  (absolute L1 penalty), `lambda_l0` (Hard Concrete penalty), `n_records` (record budget).
  Scores: `n_active` (records with weight > 1e-9), `train_error` / `test_error` (mean absolute
  relative error on the train / held-out targets), `*_max_error`, `*_median_error`,
  `*_capped_error` (mean of min(|relative error|, 1), the field's capped loss), `*_within_5pct`
  (share of targets within 5 %), `*_uncovered_small` (share of the 10 % smallest targets that no
  kept record contributes to: rare subpopulations dropped to zero),
  `total_weight`, `kish_ess`, `design_effect` (n_active / kish_ess), `max_weight`, `g_min` /
  `g_max` (w / w0 over active records, w0 the design weights scaled to the targets), `exact`
  (every train target met to 1e-8), `seconds` (wall time of the fit; Hard Concrete fits train
  together in one batch, so each row carries the batch time divided by the number of fits), and
  `converged` (L1: the duality-gap certificate met its tolerance; Hard Concrete: the expected
  number of open gates changed by at most 10 % over the last 20 % of the epochs; raking and
  refits: every target met); `replicate` for superpopulation samples.
- `summary.csv`: per (method, grid): `param` (the name of the method's grid column), the grid
  parameters, the mean of every score, its standard error over seeds and replicates (`*_se`),
  `n_fits`, and `converged` / `exact` (all fits).
- `runtime.csv`: fits, total seconds and seconds per fit by method.
- `frontier.png`: held-out error against active records with standard-error bars; dense raking as
  a dotted line; the Pareto front in grey; fits keeping no record are counted in a note, not
  plotted.
"""


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
        staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes it 0700: the results folder gets ordinary permissions
        return staging
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


NATION_HOLDOUT = ("state_medicaid_persons", "state_tax", "state_snap", "district_snap")
"""The families ``--benchmark nation`` holds out by default: program and tax totals, as the field does."""
NATION_METHODS = ("hardconcrete", "l1-relaxed", "subsample", "dense")
"""The methods ``--benchmark nation`` runs by default (the optimal-set LPs of ``"l1"`` and the published
absolute L1 grid do not scale or do not apply there)."""


def run_frontier(out="results", benchmark="superpopulation", replicates=3, quick=False, seeds=5, epochs=2000,
                 methods=None, verbose=True, budgets=None, scale=0.05, holdout=NATION_HOLDOUT, refit="raking",
                 bounds=None, executor=None):
    """Run the comparison end to end and write frontier.png/.csv, summary.csv, runtime.csv into ``out``.

    Parameters
    ----------
    out : str or Path, default "results"
        Output folder (created if missing).
    benchmark : {"superpopulation", "cps1988", "published"}, default "superpopulation"
        The data (see :data:`BENCHMARKS`: only the superpopulation can rank methods).
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
    scale : float, default 0.05
        Size of the nation benchmark (:func:`reweightkit.nation`; ``--quick`` caps it at 0.01).
    holdout : sequence of str, default NATION_HOLDOUT
        The families the nation benchmark holds out.
    refit : {"raking", "linear", "logit"}, default "raking"
        The budgeted methods' refit (:func:`reweightkit.run_comparison`).
    bounds : tuple (lo, hi), optional
        Bounds of that refit.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run the (sample, method) units in parallel (:func:`reweightkit.run_comparison`); the same rows.

    Returns
    -------
    results, summary, runtime : DataFrame
        Every fit, :func:`reweightkit.summarize` of them, and :func:`reweightkit.runtime_table`.
    """
    if seeds < 1:
        raise ValueError(f"--seeds must be >= 1, got {seeds}")
    if epochs < 1:
        raise ValueError(f"--epochs must be >= 1, got {epochs}")
    if benchmark not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {benchmark!r}; choose one of {list(BENCHMARKS)}")
    if replicates < 1:
        raise ValueError(f"--replicates must be >= 1, got {replicates}")
    if not (isinstance(scale, (int, float)) and scale > 0):
        raise ValueError(f"--scale must be > 0, got {scale!r}")
    if benchmark == "nation" and not holdout:
        raise ValueError("--holdout names no family: the nation benchmark scores on held-out families")
    out = Path(out)
    staging = _staging_dir(out)  # before the computation: a bad --out fails in a second, not after minutes
    try:
        results, summary, runtime = _compute(benchmark, replicates, quick, seeds, epochs, methods, verbose, budgets,
                                             scale, holdout, refit, bounds, executor)
        results.to_csv(staging / "frontier.csv", index=False)
        summary.to_csv(staging / "summary.csv", index=False)
        runtime.to_csv(staging / "runtime.csv", index=False)
        from matplotlib.figure import Figure  # only the frontier draws: `calibrate` never imports matplotlib

        fig = Figure(figsize=(15, 5.5), layout="constrained")
        ax1, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [2.2, 1]})
        plot_frontier(summary, ax=ax1, title=f"Frontier ({benchmark} benchmark)")
        plot_runtime(runtime, ax=ax2)
        fig.savefig(staging / "frontier.png", dpi=120)
        (staging / "README.md").write_text(RESULTS_README.format(
            benchmark=benchmark, meaning=BENCHMARKS[benchmark].capitalize() + ".", command=" ".join(sys.argv)))
        _publish(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already when published
    return results, summary, runtime


def _compute(benchmark, replicates, quick, seeds, epochs, methods, verbose, budgets=None, scale=0.05,
             holdout=NATION_HOLDOUT, refit="raking", bounds=None, executor=None):
    kw = dict(seeds=range(seeds), epochs=epochs, verbose=verbose, budgets=budgets, executor=executor)
    if budgets is not None:
        kw.update(refit=refit, bounds=bounds)
    if methods is not None:
        kw["methods"] = methods
    elif benchmark == "nation" and budgets is None:
        kw["methods"] = list(NATION_METHODS)
    if quick:
        kw.update(alphas=alpha_grid(5), l0_lambdas=PUBLISHED_L0_LAMBDAS[::3], seeds=range(min(seeds, 2)),
                  epochs=min(epochs, 200))
    if benchmark == "published":
        results = run_comparison(*published_example(), **kw)
    elif benchmark == "nation":
        unknown = sorted(set(holdout) - set(NATION_FAMILIES))
        if unknown:
            raise ValueError(f"--holdout: unknown famil{'y' if len(unknown) == 1 else 'ies'} {unknown}; "
                             f"choose from {list(NATION_FAMILIES)}")

        def sample(seed):
            nb = nation(min(scale, 0.01) if quick else scale, seed=seed)
            if verbose:
                print(f"nation replicate {seed}: {nb.A.shape[1]:,} records x {nb.A.shape[0]:,} targets, holding out "
                      f"{', '.join(holdout)}", flush=True)
            return (CalibrationTask.from_problem(nb.problem(), list(holdout)),)

        results = run_replicates(sample, 1 if quick else replicates, **kw)
        results.insert(results.columns.get_loc("replicate"), "holdout", group_label(holdout))
    elif benchmark == "cps1988":
        population = cps1988_population()
        results = run_replicates(lambda seed: cps1988_benchmark(seed, population=population),
                                 1 if quick else replicates, **kw)
    else:
        results = run_replicates(superpopulation, 1 if quick else replicates, **kw)
    return results, summarize(results), runtime_table(results)


CALIBRATE_METHODS = {
    "dense": "every record calibrated (rk.Calibrator): --distance raking (default), linear (truncated with "
             "--bounds) or logit (within --bounds, required)",
    "l1": "L1 (SparseCalibrator): --alpha or --n-records",
    "hardconcrete": "Hard Concrete gates (HardConcreteCalibrator): --lambda-l0 or --n-records",
    "subsample": "random subsample of --n-records records, calibrated (SubsampleCalibrator)",
    "cube": "balanced sample (cube method) of --n-records records, calibrated (BalancedSampleCalibrator)",
    "calibrate-reduce": "dense raking, then --n-records records by PPS, calibrated (CalibrateThenReduceCalibrator)",
}
"""The calibrate subcommand's methods: the names of rk.METHODS (``dense`` with its ``--distance``)."""
CALIBRATE_ALIASES = {"rake": ("dense", "raking"), "linear": ("dense", "linear"), "logit": ("dense", "logit")}
"""Old ``--method`` values, accepted for one release with a notice: ``--method dense --distance ...``."""


def _estimator(args):
    """The estimator the calibrate subcommand's arguments describe (ValueError for a missing setting)."""
    m, k, refit, bounds, seed = args.method, args.n_records, args.refit, args.bounds, args.seed
    refit = False if refit == "none" else refit
    if m in CALIBRATE_ALIASES:
        m, distance = CALIBRATE_ALIASES[m]
        print(f"note: --method {args.method} is now --method dense --distance {distance} (the old name goes in the "
              "next release)", file=sys.stderr)
        args.distance = distance
    fallback = args.on_infeasible
    if args.gate_cost is not None and m != "hardconcrete":
        raise ValueError(f"--gate-cost prices Hard Concrete's gates: it needs --method hardconcrete, not {m}")
    if args.solver is not None and m != "l1":
        raise ValueError(f"--solver picks the L1 solver: it needs --method l1, not {m}")
    if m == "dense":
        return Calibrator(args.distance, bounds=bounds, on_infeasible=fallback)
    if m == "l1":
        return SparseCalibrator(alpha=args.alpha, n_records=k, refit=refit or False, bounds=bounds,
                                on_infeasible=fallback, solver=args.solver or "auto", verbose=not args.no_progress)
    if m == "hardconcrete":
        return HardConcreteCalibrator(lambda_l0=args.lambda_l0, n_records=k, seed=seed, refit=refit or False,
                                      bounds=bounds, epochs=args.epochs, on_infeasible=fallback,
                                      gate_cost=args.gate_cost or "uniform", verbose=not args.no_progress)
    if k is None:
        raise ValueError(f"--method {m} needs --n-records")
    cls = {"subsample": SubsampleCalibrator, "cube": BalancedSampleCalibrator,
           "calibrate-reduce": CalibrateThenReduceCalibrator}[m]
    return cls(k, seed=seed, refit=refit if refit is not None else "raking", bounds=bounds, on_infeasible=fallback)


def _sha256(path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _calibrate(args, parser) -> int:
    t0 = time.perf_counter()
    try:  # everything about the output is checked before the fit: a bad --out fails in a second
        out = check_output_path(args.out)
    except (ValueError, ImportError) as e:
        parser.error(f"--out: {e}")
    try:
        df = pd.read_csv(args.data, dtype=None if args.id_col is None else {args.id_col: str})
    except (OSError, ValueError) as e:
        parser.error(f"cannot read DATA {args.data!r}: {e}")
    if args.id_col is not None:
        if args.id_col not in df.columns:
            parser.error(f"--id-col {args.id_col!r} is not a column of {args.data!r}")
        if df[args.id_col].duplicated().any():
            parser.error(f"--id-col {args.id_col!r} has duplicate values: ids must identify the records")
        df = df.set_index(args.id_col)
    try:
        marginal, continuous = read_targets(args.targets, df)
        est = _estimator(args).fit(df, marginal or None, continuous or None,
                                   weight_col=None if args.weight_col == "none" else args.weight_col)
    except (ValueError, TypeError, OSError, ImportError) as e:
        parser.error(str(e))
    extra = {"data": str(args.data), "data_sha256": _sha256(args.data), "targets": str(args.targets),
             "targets_sha256": _sha256(args.targets), "command": " ".join(["reweightkit", *sys.argv[1:]])}
    sidecar = save_weights(est, out, extra=extra)
    with pd.option_context("display.width", 160, "display.max_rows", 500, "display.float_format", "{:.6g}".format):
        print(est.target_table().to_string(index=False))
    print(f"\n{est!r}: {est.n_active_:,} of {len(df):,} records active; Kish ESS {est.kish_ess_:,.1f}; design effect "
          f"{est.design_effect_:.3g}; max weight {est.max_weight_:,.4g}; g = w / base in [{est.g_min_:.4g}, "
          f"{est.g_max_:.4g}] (base: {est._g_base}); largest train-target error {est.max_train_error_:.3g}; exact "
          f"calibration {'yes' if est.exact_ else 'no'}" + ("" if est.bounds_held_ is None else
                                                          f"; bounds held {'yes' if est.bounds_held_ else 'no'}"))
    print(f"wrote {out} and {sidecar.name} in {time.perf_counter() - t0:.1f} s")
    return 0


def _bounds(text):
    try:
        lo, hi = (float(x) for x in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--bounds must be LO,HI (two numbers), got {text!r}") from None
    return lo, hi


def main(argv=None) -> int:
    """The console script: ``reweightkit frontier [options]`` and ``reweightkit calibrate DATA ...``.

    Parameters
    ----------
    argv : list of str, optional
        Arguments (default ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit status (0; argument errors exit with status 2, with the subcommand's usage).
    """
    parser = argparse.ArgumentParser(prog="reweightkit", description="Sparse survey calibration, measured.")
    parser.add_argument("--version", action="version", version=f"reweightkit {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    c = sub.add_parser("calibrate", help="calibrate your own data (a CSV) to a targets file",
                       description="Calibrate DATA.csv to the targets of a JSON or YAML file and write the weights "
                                   "with a .json provenance file beside them.  Methods: " +
                                   "; ".join(f"{k}: {v}" for k, v in CALIBRATE_METHODS.items()))
    c.add_argument("data", help="the records, a CSV file with a header")
    c.add_argument("--targets", required=True, help="JSON or YAML: {marginal: {column: {category: count}}, "
                                                    "continuous: {column: total}}")
    c.add_argument("--method", choices=[*CALIBRATE_METHODS, *CALIBRATE_ALIASES], default="dense",
                   help="default dense")
    c.add_argument("--distance", choices=["raking", "linear", "logit"], default="raking",
                   help="the calibration distance of --method dense (default raking)")
    c.add_argument("--n-records", type=int, default=None, help="record budget (sparse methods)")
    c.add_argument("--alpha", type=float, default=None, help="L1 penalty as a fraction of lambda_max")
    c.add_argument("--solver", choices=["auto", "fista", "ipm", "active-set"], default=None,
                   help="the L1 solver, whose point of the optimal set is returned (SparseCalibrator's solver; "
                        "default auto)")
    c.add_argument("--lambda-l0", type=float, default=None, help="Hard Concrete penalty")
    c.add_argument("--epochs", type=int, default=2000, help="Hard Concrete epochs (default 2000)")
    c.add_argument("--gate-cost", choices=["uniform", "design"], default=None,
                   help="price of Hard Concrete's gates: one each (default) or each record's design weight over the "
                        "mean (HardConcreteCalibrator's gate_cost)")
    c.add_argument("--refit", choices=["none", "relaxed", "linear", "raking", "logit"], default=None,
                   help="calibrate the selected records (default: raking for the samplers, none for l1/hardconcrete)")
    c.add_argument("--bounds", type=_bounds, default=None,
                   help="LO,HI bounds on g = w / d: d the design weights (dense, l1, hardconcrete) or the sample's "
                        "Horvitz-Thompson weights (subsample, cube, calibrate-reduce)")
    c.add_argument("--seed", type=int, default=0, help="seed of every random draw (default 0)")
    c.add_argument("--weight-col", default="weight", help="design weight column, or 'none' for uniform")
    c.add_argument("--id-col", default=None, help="a column of record ids (read as text, kept in the weights file)")
    c.add_argument("--on-infeasible", choices=["raise", "least_squares"], default="raise",
                   help="when the targets cannot be met (within --bounds): fail and write nothing (default), or "
                        "write the bounded least-squares fit, marked inexact")
    c.add_argument("--no-progress", action="store_true", help="hide progress bars")
    c.add_argument("--out", required=True, help="the weights file: .csv or .parquet")
    f = sub.add_parser("frontier", help="run every method's sweep on a benchmark and write the frontier")
    f.add_argument("--out", default="results", help="output folder (default ./results)")
    f.add_argument("--benchmark", choices=list(BENCHMARKS), default="superpopulation",
                   help="superpopulation (default: can rank methods), cps1988 (real people, needs "
                        "reweightkit[data]), nation (national scale, family holdout) or published (the reproduction)")
    f.add_argument("--replicates", type=int, default=3, help="superpopulation samples (default 3)")
    f.add_argument("--seeds", type=int, default=5, help="seeds per penalty for seeded methods (default 5)")
    f.add_argument("--epochs", type=int, default=2000, help="Hard Concrete epochs (default 2000)")
    f.add_argument("--methods", default=None,
                   help=f"comma-separated subset of {','.join(METHODS)}")
    f.add_argument("--budgets", default=None,
                   help="comma-separated record budgets, e.g. 30,100,300,1000: compare the methods at matched budgets "
                        f"({','.join(BUDGET_METHODS)})")
    f.add_argument("--scale", type=float, default=0.05,
                   help="nation benchmark size (default 0.05: about 15,000 records; 1: about 300,000 x 28,000)")
    f.add_argument("--holdout", default=",".join(NATION_HOLDOUT),
                   help=f"nation benchmark: comma-separated families held out (default {','.join(NATION_HOLDOUT)})")
    f.add_argument("--refit", choices=["raking", "linear", "logit"], default="raking",
                   help="with --budgets: the distance the kept records are calibrated with (logit needs --bounds)")
    f.add_argument("--bounds", type=_bounds, default=None,
                   help="with --budgets: bounds LO,HI on g of that calibration, e.g. 0.2,5 (every kept record "
                        "keeps a weight >= LO times its base)")
    f.add_argument("--workers", type=int, default=1,
                   help="run the comparison's (sample, method) units on N worker processes (default 1: here, in order)")
    f.add_argument("--scheduler", default=None,
                   help="run them on a Dask cluster at this scheduler address (pip install 'reweightkit[parallel]')")
    f.add_argument("--quick", action="store_true", help="a small version (for CI)")
    f.add_argument("--no-progress", action="store_true", help="hide progress bars")
    args = parser.parse_args(argv)
    if args.command == "calibrate":
        return _calibrate(args, c)
    return _frontier(args, f)


def _frontier(args, parser) -> int:
    t0 = time.perf_counter()
    print(f"benchmark: {args.benchmark}: {BENCHMARKS[args.benchmark]}", flush=True)
    methods = None if args.methods is None else [m.strip() for m in args.methods.split(",") if m.strip()]
    try:
        budgets = None if args.budgets is None else [int(k) for k in args.budgets.split(",") if k.strip()]
    except ValueError:
        parser.error(f"--budgets must be comma-separated integers, got {args.budgets!r}")
    if args.workers < 1:
        parser.error(f"--workers must be >= 1, got {args.workers}")
    if args.workers > 1 and args.scheduler:
        parser.error("give --workers (processes here) or --scheduler (a Dask cluster), not both")
    with contextlib.ExitStack() as stack:
        executor = None
        if args.workers > 1:
            # spawned workers: forking a process whose torch thread pool has run can hang the child
            executor = stack.enter_context(ProcessPoolExecutor(args.workers, mp_context=mp.get_context("spawn")))
        elif args.scheduler:
            try:
                from distributed import Client
            except ImportError:
                parser.error("--scheduler needs Dask: pip install 'reweightkit[parallel]'")
            executor = stack.enter_context(Client(args.scheduler))
        try:
            _, summary, runtime = run_frontier(out=args.out, benchmark=args.benchmark, replicates=args.replicates,
                                               quick=args.quick, seeds=args.seeds, epochs=args.epochs, methods=methods,
                                               verbose=not args.no_progress, budgets=budgets, scale=args.scale,
                                               holdout=[h.strip() for h in args.holdout.split(",") if h.strip()],
                                               refit=args.refit, bounds=args.bounds, executor=executor)
        except ValueError as e:
            parser.error(str(e))
    with pd.option_context("display.width", 160, "display.max_rows", 200, "display.float_format", "{:.4g}".format):
        params = [c for c in PARAM_COLUMNS if summary[c].notna().any()]
        print(summary[["method", *params, "n_fits", "n_active", "train_error", "test_error", "test_error_se",
                       "seconds", "converged"]].to_string(index=False, na_rep=""))
        print()
        print(runtime.to_string(index=False))
    print(f"\nwrote {', '.join(RESULT_FILES)} to {Path(args.out).resolve()} (README.md says what each column holds)")
    print(f"wall time: {time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
