"""Every method on one frontier: one comparison, and replicate comparisons over fresh samples."""

from __future__ import annotations

import inspect

import numpy as np
import pandas as pd

from .._validation import check_grid, check_seeds
from ..problem.nnlasso import alpha_grid
from ..problem.system import margin_cells
from .methods import METHODS, canonical_method
from .parallel import Plan, check_executor, execute
from .sweeps import COLUMNS, PUBLISHED_L0_LAMBDAS, PUBLISHED_L1_LAMBDAS
from .task import CalibrationTask, family_holdout_tasks

__all__ = ["DEFAULT_METHODS", "BUDGET_METHODS", "run_comparison", "run_replicates", "run_family_holdout"]

DEFAULT_METHODS = tuple(name for name, m in METHODS.items() if not m.budgeted)
"""Every method swept over its own grid."""
BUDGET_METHODS = ("hardconcrete-k", "hardconcrete-k-refit", "l1-k-refit", "cube", "calibrate-reduce", "subsample",
                  "dense")
"""The methods compared at matched record budgets (``budgets=``)."""


def _subsample_sizes(n):
    """The published sizes ``n exp(-lambda)`` over the published L1 grid, distinct, largest first."""
    return sorted({max(1, int(round(n * np.exp(-lam)))) for lam in PUBLISHED_L1_LAMBDAS}, reverse=True)


def run_comparison(data, train_marginal=None, train_continuous=None, test_marginal=None, test_continuous=None, *,
                   alphas=None, l1_lambdas=PUBLISHED_L1_LAMBDAS, l0_lambdas=PUBLISHED_L0_LAMBDAS, sizes=None,
                   seeds=range(5), epochs=2000, methods=None, budgets=None, refit="raking", bounds=None,
                   weight_col="weight", verbose=False, executor=None):
    """Every method's sweep on one task, scored on train and held-out targets.

    The train problem is prepared once and the held-out system built once; every
    method receives them (a :class:`CalibrationTask`).

    Parameters
    ----------
    data : DataFrame or CalibrationTask
        Microdata (with the target dicts below) or an already prepared task.
    train_marginal, train_continuous : dict, optional
        Train targets (DataFrame input).
    test_marginal, test_continuous : dict, optional
        Held-out targets (DataFrame input).
    alphas : array-like, optional
        L1 grid as fractions of lambda_max (default :func:`reweightkit.alpha_grid`).
    l1_lambdas : array-like, default PUBLISHED_L1_LAMBDAS
        Absolute L1 grid of ``"l1-published"``.
    l0_lambdas : array-like, default PUBLISHED_L0_LAMBDAS
        Hard Concrete grid.
    sizes : array-like of int, optional
        Subsample budgets (default: the published ``n exp(-lambda)``); budgets below
        the number of cells of the train margins are skipped.
    seeds : iterable of int, default range(5)
        Seeds per grid point of the seeded methods.
    epochs : int, default 2000
        Hard Concrete epochs.
    methods : sequence of str, optional
        Names from :data:`reweightkit.METHODS`; default :data:`DEFAULT_METHODS`, or
        :data:`BUDGET_METHODS` when ``budgets`` is given.
    budgets : array-like of int, optional
        Matched record budgets: the budgeted methods keep each ``k`` records (Hard
        Concrete and L1 by bisection on their penalty), and the subsample uses these
        sizes instead of ``sizes``.
    refit : {"raking", "linear", "logit"}, default "raking"
        The distance of the budgeted methods' refit (``"logit"`` needs ``bounds``).
    bounds : tuple (lo, hi), optional
        Bounds on ``g`` of the budgeted methods' refit: relative to the design weights for Hard
        Concrete and L1, to the sample's Horvitz-Thompson weights for the samplers (and, for
        calibrate-then-reduce, of its dense step, then run with ``refit``'s distance).  The dense
        reference and the penalty-grid methods ignore them.  With ``lo > 0`` every selected record
        keeps a weight, so the budgets are kept exactly (``budget_met``).
    weight_col : str or None, default "weight"
        Design weights (DataFrame input).
    verbose : bool, default False
        Progress bars (with ``executor``: one bar over finished units).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run the methods' sweeps in parallel, one unit per method (the raw and refit rows of one Hard Concrete
        budget search share one); the task travels once per worker, each unit runs on one thread, and the rows are those of the
        serial run with one thread, in the same order (:mod:`reweightkit.experiment.parallel`).

    Returns
    -------
    DataFrame
        One row per fit, :data:`reweightkit.COLUMNS` first.

    Raises
    ------
    ComparisonError
        With ``executor``, when a unit fails: every failed unit named, the others' rows in ``.partial``.
    """
    plan = _plan(data, train_marginal, train_continuous, test_marginal, test_continuous, alphas=alphas,
                 l1_lambdas=l1_lambdas, l0_lambdas=l0_lambdas, sizes=sizes, seeds=seeds, epochs=epochs, methods=methods,
                 budgets=budgets, refit=refit, bounds=bounds, weight_col=weight_col, verbose=verbose)
    return _ordered(execute([plan], executor, progress=verbose)[0])


def _ordered(out):
    return out[COLUMNS + [c for c in out.columns if c not in COLUMNS]]


def _plan(data, train_marginal, train_continuous, test_marginal, test_continuous, *, alphas, l1_lambdas, l0_lambdas,
          sizes, seeds, epochs, methods, budgets, refit, bounds, weight_col, verbose, labels=None):
    """Validate one comparison and return its :class:`~reweightkit.experiment.parallel.Plan` (nothing is fitted)."""
    methods = list((BUDGET_METHODS if budgets is not None else DEFAULT_METHODS) if methods is None else
                   [canonical_method(m) for m in methods])
    if not methods:
        raise ValueError(f"methods is empty: choose one or more of {list(METHODS)}")
    unknown = sorted(set(methods) - set(METHODS))
    if unknown:
        raise ValueError(f"unknown method(s) {unknown}; choose from {list(METHODS)}")
    if isinstance(data, CalibrationTask):
        if any(t is not None for t in (train_marginal, train_continuous, test_marginal, test_continuous)):
            raise ValueError("data is a prepared CalibrationTask: give no target dicts")
        task = data
    else:
        if not (test_marginal or test_continuous):
            raise ValueError("run_comparison scores every fit on held-out targets: give test_marginal and/or "
                             "test_continuous (targets the fits do not see)")
        task = CalibrationTask.from_targets(data, train_marginal, train_continuous, test_marginal, test_continuous,
                                            weight_col)
    if task.test is None:
        raise ValueError("the task has no held-out targets: build it with test_marginal and/or test_continuous")
    n = task.problem.n_records
    budgeted = [m for m in methods if METHODS[m].budgeted]
    if budgeted and budgets is None:
        raise ValueError(f"methods {budgeted} run at record budgets: give budgets=[k1, k2, ...]")
    if budgets is not None:
        sizes = budgets
    if refit == "logit" and bounds is None and budgeted:
        raise ValueError("refit='logit' keeps g within bounds: give bounds=(lo, hi) with lo < 1 < hi, e.g. (0.2, 5)")
    if bounds is not None:
        if isinstance(bounds, (str, bytes)) or len(tuple(bounds)) != 2:
            raise ValueError(f"bounds must be a pair (lo, hi), got {bounds!r}")
        bounds = tuple(float(x) for x in bounds)
    # validate every grid before any fitting starts
    options = {
        "alphas": check_grid("alpha", alpha_grid() if alphas is None else alphas),
        "l1_lambdas": check_grid("lambda", l1_lambdas),
        "l0_lambdas": check_grid("lambda_l0", l0_lambdas),
        "sizes": check_grid("sizes", _subsample_sizes(n) if sizes is None else sizes),
        "seeds": check_seeds(seeds),
        "epochs": epochs,
        "verbose": verbose,
        "budgets": None if budgets is None else [int(k) for k in check_grid("budgets", budgets)],
        "refit": refit,
        "bounds": bounds,
    }
    n_cells = int(np.unique(margin_cells(task.problem.system)).size)
    options["sizes"] = [int(k) for k in options["sizes"] if n_cells <= k <= n]
    return Plan(task, options, methods, dict(labels or {}))


def _plans(tasks, comparison_kw):
    """A plan per ``(labels, data args)``, every one validated before anything is fitted."""
    kw = dict(comparison_kw)
    # run_comparison's own keyword defaults (one source of truth), less the executor the caller handles
    defaults = {name: p.default for name, p in inspect.signature(run_comparison).parameters.items()
                if p.kind is inspect.Parameter.KEYWORD_ONLY and name != "executor"}
    unknown = sorted(set(kw) - set(defaults))
    if unknown:
        raise TypeError(f"unknown run_comparison argument(s) {unknown}; allowed: {sorted(defaults)}")
    opts = {**defaults, **kw}
    plans = []
    for labels, args in tasks:
        args = tuple(args) + (None,) * (5 - len(args))
        plans.append(_plan(*args, labels=labels, **opts))
    return plans, opts["verbose"]


def run_replicates(sample, replicates, *, executor=None, **comparison_kw):
    """:func:`run_comparison` on ``replicates`` independent samples, concatenated.

    Parameters
    ----------
    sample : callable
        ``sample(seed=r)`` returns ``(df, train_marginal, train_continuous, test_marginal)``
        or the same with ``test_continuous`` appended (e.g. :func:`reweightkit.superpopulation`),
        or ``(task,)`` with a prepared :class:`reweightkit.CalibrationTask`.
    replicates : int
        Number of samples (seeds ``0 .. replicates - 1``).
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run every (sample, method) unit in parallel; the same rows as the serial run with one thread, in the
        same order (see :func:`run_comparison`).  The samples are drawn here, in order, before any fit.
    **comparison_kw
        Passed to :func:`run_comparison`.

    Returns
    -------
    DataFrame
        Every fit of every replicate, with a ``replicate`` column; :func:`reweightkit.summarize`
        pools replicates by grid position.
    """
    if isinstance(replicates, bool) or not isinstance(replicates, (int, np.integer)) or replicates < 1:
        raise ValueError(f"replicates must be an integer >= 1, got {replicates!r}")
    check_executor(executor)
    plans, verbose = _plans([({"replicate": r}, sample(seed=r)) for r in range(int(replicates))], comparison_kw)
    return pd.concat([_ordered(out) for out in execute(plans, executor, progress=verbose)], ignore_index=True)


def run_family_holdout(problem, families=None, *, nesting="closure", tree=None, executor=None, **comparison_kw):
    """:func:`run_comparison` once per held-out family or group (leave-one-group-out), concatenated.

    A family that training families reveal (its targets are sums of theirs: state SNAP
    households of district SNAP households) is held out with them, so no score leaks
    (:func:`reweightkit.problem.family_nesting`).

    Parameters
    ----------
    problem : CalibrationProblem
        Every target, prepared (:func:`reweightkit.prepare_matrix` with ``families=``,
        or :func:`reweightkit.prepare`, whose families are the data columns).
    families : list, optional
        What to hold out, one comparison each: a family, or a list of families held out
        together (default: every family).
    nesting : {"closure", "raise", "warn", "ignore"}, default "closure"
        What to do when training families reveal a held-out one (see
        :func:`reweightkit.experiment.family_holdout_tasks`).
    tree : FamilyNesting or dict, optional
        ``family -> families revealing it`` (e.g. :attr:`reweightkit.NationBenchmark.family_tree`);
        tested once on the matrix when omitted.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Run every (held-out group, method) unit in parallel; the same rows as the serial run with one thread,
        in the same order (see :func:`run_comparison`).
    **comparison_kw
        Passed to :func:`run_comparison` (methods, grids, seeds, epochs, budgets, ...).

    Returns
    -------
    DataFrame
        Every fit, with a ``holdout`` column naming the families its test scores are on
        (joined by ``+``).
    """
    check_executor(executor)
    tasks = [({"holdout": fam}, (task,)) for fam, task in family_holdout_tasks(problem, families, nesting=nesting,
                                                                                tree=tree)]
    if not tasks:
        raise ValueError("families is empty: name at least one family to hold out")
    plans, verbose = _plans(tasks, comparison_kw)
    return pd.concat([_ordered(out) for out in execute(plans, executor, progress=verbose)], ignore_index=True)
