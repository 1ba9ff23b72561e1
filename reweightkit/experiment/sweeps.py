"""Sweeps of every method over its grid, scored on train and held-out targets.

Every sweep takes a :class:`~reweightkit.CalibrationTask` (the train problem prepared
once, the held-out system built once) and fits **only through the estimators**: the L1
arms through :meth:`SparseCalibrator.path`, Hard Concrete through
:meth:`HardConcreteCalibrator.fit_grid` (and :meth:`~HardConcreteCalibrator.refitted`
for the refit of the same selection), the samplers and the dense reference through
their ``fit``.  A row is therefore what the estimator itself reports: its weights
scored by the task's :class:`~reweightkit.problem.Scorer`, its ``converged_`` in
``converged`` (``exact`` is the scorer's, the same definition as the estimator's
``exact_``).  Each returns one row per fit, with the columns of :data:`COLUMNS`: the
method's name (see :mod:`reweightkit.experiment.methods`), its grid position, seed,
and the value of its own grid parameter in a column named after it (``alpha`` and
``lambda`` for L1, ``lambda_l0`` for Hard Concrete, ``n_records`` for the samplers),
then the scores.
"""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._validation import Interval, check_grid, check_seeds, validate_params
from ..estimators.hardconcrete import HardConcreteCalibrator
from ..estimators.raking import RakeCalibrator
from ..estimators.sampling import BalancedSampleCalibrator, CalibrateThenReduceCalibrator, SubsampleCalibrator
from ..estimators.sparse import SparseCalibrator
from ..exceptions import BudgetWarning, ConvergenceWarning, RakeWarning
from ..problem.scoring import SCORE_COLUMNS, n_active
from ..problem.selection import selection_tilt
from ..solvers.budget import budget_tolerance, check_budget
from .task import check_task

__all__ = [
    "PUBLISHED_L1_LAMBDAS",
    "PUBLISHED_L0_LAMBDAS",
    "PARAM_COLUMNS",
    "COLUMNS",
    "sweep_l1",
    "sweep_hard_concrete",
    "sweep_subsample",
    "dense_reference",
    "sweep_budget_hard_concrete",
    "sweep_budget_l1",
    "sweep_budget_sampler",
    "result_row",
    "budget_columns",
    "BUDGET_COLUMNS",
]

PUBLISHED_L1_LAMBDAS = [0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
"""The published comparison's L1 grid (absolute lambdas; most are above lambda_max)."""
PUBLISHED_L0_LAMBDAS = [1e-7, 5e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2]
"""The published comparison's Hard Concrete grid of lambda_l0."""
PARAM_COLUMNS = ["alpha", "lambda", "lambda_l0", "n_records"]
"""The grid-parameter columns: each holds one parameter, NaN for methods without it."""
COLUMNS = ["method", "grid", "seed", *PARAM_COLUMNS, *SCORE_COLUMNS, "seconds", "converged"]
"""The columns of every sweep's result, in order (the scores are
:data:`reweightkit.problem.scoring.SCORE_COLUMNS`)."""


def result_row(task, est, method, grid, seed=np.nan, seconds=np.nan, **params):
    """One result row in :data:`COLUMNS` order for a fitted estimator (absent grid parameters are NaN).

    Parameters
    ----------
    task : CalibrationTask
        Scores the estimator's ``weights_`` on its train and held-out targets.
    est : BaseCalibrator
        A fitted estimator: its ``weights_`` and ``converged_`` make the row.
    method : str
        The ``method`` column.
    grid : int
        Grid position.
    seed : int, optional
        The seed (NaN for unseeded methods).
    seconds : float, optional
        Fit time.
    **params
        Grid-parameter columns (:data:`PARAM_COLUMNS`).

    Returns
    -------
    dict
    """
    row = {"method": method, "grid": int(grid), "seed": seed, **{p: np.nan for p in PARAM_COLUMNS}, **params}
    row.update(task.scorer.score(est.weights_))
    row.update(seconds=seconds, converged=bool(est.converged_))
    return row


BUDGET_COLUMNS = ["n_selected", "budget_met", "budget_note", "keep_tilt", "low_weight_ratio"]
"""The columns a matched-budget row adds: records the selection kept, whether the returned weights keep the
budget (within :func:`reweightkit.solvers.budget.budget_tolerance`), why not when they do not, and the selection's
lean on design weight (:func:`reweightkit.problem.selection_tilt`)."""


def budget_columns(row, k, selected, est, task):
    """Add :data:`BUDGET_COLUMNS` to a matched-budget row: is ``n_active`` within tolerance of the budget ``k``?

    Parameters
    ----------
    row : dict
        A :func:`result_row` (its ``n_active`` is the returned weights' count).
    k : int
        The budget.
    selected : int
        Records the selection kept, before any refit.
    est : BaseCalibrator
        The fitted estimator (for the refit's bounds in the note).
    task : CalibrationTask
        Its design weights measure the selection's tilt.

    Returns
    -------
    dict
        ``row``, updated.
    """
    got, band = int(row["n_active"]), budget_tolerance(k)
    met = abs(got - k) <= band
    note = ""
    if not met:
        if abs(selected - k) > band:
            note = f"the selection kept {selected} records, not {k} (+-{band:g})"
        else:
            bounds = getattr(est, "bounds", None)
            within = f" within bounds {tuple(bounds)}" if bounds else ""
            note = (f"the refit zeroed {selected - got} of the {selected} selected records: its least-squares fallback "
                    f"(the kept records cannot meet every train target{within}) sets weights to the lower bound 0; "
                    "pass bounds=(lo, hi) with lo > 0 to keep every selected record")
    row.update(n_selected=int(selected), budget_met=bool(met), budget_note=note)
    row.update(selection_tilt(est.weights_, task.problem.d))
    return row


def sweep_l1(task, *, alphas=None, lambdas=None, refit=False, method=None, tol=1e-8, optimal_set=False,
             solver="fista", verbose=False):
    """SparseCalibrator along one warm-started certified path (:meth:`SparseCalibrator.path`).

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.
    alphas : array-like, optional
        Fractions of lambda_max.  Give exactly one of ``alphas`` and ``lambdas``.
    lambdas : array-like, optional
        Absolute penalties.
    refit : bool, default False
        Re-solve each support without the penalty ("relaxed L1").
    method : str, optional
        The ``method`` written in the rows (default ``"l1"``, or ``"l1-relaxed"`` with ``refit``).
    tol : float, default 1e-8
        Relative duality gap of every fit.
    optimal_set : bool, default False
        Add, for each lambda, the range of held-out error over the whole optimal
        set (``test_error_min``, ``test_error_max``) and the vertex solution's point
        (``vertex_n_active``, ``vertex_test_error``): the L1 optimum is often not
        unique, so the solver's own point is one of many
        (:meth:`SparseCalibrator.held_out_range`).  Needs held-out targets; ignored with ``refit``.
    solver : {"fista", "auto", "active-set", "ipm"}, default "fista"
        Whose optimal point each row counts (:class:`~reweightkit.SparseCalibrator`'s ``solver``).
        The comparison's L1 arm is FISTA's point from the design weights (the kit's published rows,
        the notebooks' frontier), not the estimator's default ``"auto"``, whose active set returns
        a basic solution (at most ``m + 1`` records at every penalty); ``optimal_set`` draws the
        range between them.
    verbose : bool, default False
        Progress bar over the path.

    Returns
    -------
    DataFrame
        One row per grid point (:data:`COLUMNS`, ``alpha`` and ``lambda`` filled).
    """
    task = check_task(task)
    name = method or ("l1-relaxed" if refit else "l1")
    fits = SparseCalibrator(refit=bool(refit), tol=tol, solver=solver).path(task.problem, alphas=alphas,
                                                                            lambdas=lambdas, verbose=verbose)
    rows = []
    for pos, est in enumerate(fits):
        lam_max = est.lambda_max_
        row = result_row(task, est, name, pos, seconds=est.seconds_, **{"lambda": est.lambda_},
                         alpha=est.lambda_ / lam_max if lam_max > 0 else np.nan)
        if optimal_set and task.test is not None and est.n_active_ and not refit:
            ranges, vertex = est.held_out_range(task.problem, task.test)
            vs = task.scorer.score(vertex)
            row.update(test_error_min=ranges["min_error"], test_error_max=ranges["max_error"],
                       vertex_n_active=vs["n_active"], vertex_test_error=vs["test_error"])
        rows.append(row)
    # the path is solved strong to weak: rows in that order, as the solver visited them
    order = np.argsort([-f.lambda_ for f in fits], kind="stable")
    return pd.DataFrame([rows[i] for i in order])


def _check_training(epochs, lr):
    validate_params({"epochs": [Interval(Integral, 1, None)], "lr": [Interval(Real, 0, None, closed="neither")]},
                    {"epochs": epochs, "lr": lr})


def sweep_hard_concrete(task, *, lambdas=PUBLISHED_L0_LAMBDAS, seeds=range(5), epochs=2000, lr=0.1, verbose=False):
    """HardConcreteCalibrator for every (lambda_l0, seed), trained as one batched computation
    (:meth:`HardConcreteCalibrator.fit_grid`).

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.
    lambdas : array-like, default PUBLISHED_L0_LAMBDAS
        The lambda_l0 grid.
    seeds : iterable of int, default range(5)
        Seeds per lambda.
    epochs : int, default 2000
        Adam steps.
    lr : float, default 0.1
        Adam learning rate.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    DataFrame
        One row per (lambda_l0, seed) (:data:`COLUMNS`, ``lambda_l0`` filled;
        ``seconds`` is the batch time divided by the number of fits; ``converged``
        is the estimator's ``converged_``: the gates settled within ``settle_tol``).
    """
    task = check_task(task)
    _check_training(epochs, lr)
    lambdas = check_grid("lambda_l0", lambdas)
    fits = _quiet(HardConcreteCalibrator(epochs=epochs, lr=lr, verbose=verbose).fit_grid, task.problem,
                  lambdas=lambdas, seeds=seeds)
    per_lambda = len(fits) // len(lambdas)
    return pd.DataFrame([result_row(task, est, "hardconcrete", i // per_lambda, seed=est.seed, seconds=est.seconds_,
                                    lambda_l0=est.lambda_l0_) for i, est in enumerate(fits)])


def _quiet(fit, *args, **kwargs):
    """Run a fit with the kit's convergence and raking warnings recorded in the rows, not printed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RakeWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def sweep_subsample(task, *, sizes, seeds=range(5), verbose=False):
    """SubsampleCalibrator for every (n_records, seed).

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.
    sizes : array-like of int
        Record budgets.
    seeds : iterable of int, default range(5)
        Seeds per budget.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    DataFrame
        One row per (n_records, seed) (:data:`COLUMNS`, ``n_records`` filled).
    """
    task = check_task(task)
    sizes = [int(k) for k in check_grid("sizes", sizes)]
    seeds = check_seeds(seeds)
    rows = []
    for g, k, s in tqdm([(g, k, s) for g, k in enumerate(sizes) for s in seeds], desc="subsample sweep",
                        disable=not verbose):
        t0 = time.perf_counter()
        cal = _quiet(SubsampleCalibrator(k, seed=s, on_infeasible="least_squares").fit, task.problem)
        rows.append(result_row(task, cal, "subsample", g, seed=s, seconds=time.perf_counter() - t0, n_records=k))
    return pd.DataFrame(rows)


def dense_reference(task):
    """All records raked to the train targets: the no-sparsity reference (:class:`RakeCalibrator`).

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.

    Returns
    -------
    DataFrame
        One row (:data:`COLUMNS`, method ``"dense"``).
    """
    task = check_task(task)
    t0 = time.perf_counter()
    cal = RakeCalibrator().fit(task.problem)
    return pd.DataFrame([result_row(task, cal, "dense", 0, seconds=time.perf_counter() - t0)])


def _budgets(budgets, n):
    return [check_budget(int(k), n) for k in check_grid("budgets", budgets)]


def sweep_budget_hard_concrete(task, *, budgets, seeds=range(5), epochs=2000, lr=0.1, refit="raking", bounds=None,
                               verbose=False, gate_cost="uniform", names=("hardconcrete-k", "hardconcrete-k-refit")):
    """Hard Concrete at matched record budgets: raw gates and the same selection refit, per (budget, seed).

    :meth:`HardConcreteCalibrator.fit_grid` finds every budget's ``lambda_l0`` per seed in
    rounds of one batched computation; :meth:`HardConcreteCalibrator.refitted` then
    calibrates the kept records with ``refit`` (bounded least squares where exact
    calibration is impossible, ``exact`` False).  Budgets no penalty reaches are
    left out with a :class:`~reweightkit.BudgetWarning` naming the nearest reachable counts.

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.
    budgets : array-like of int
        Records to keep.
    seeds : iterable of int, default range(5)
        Seeds.
    epochs : int, default 2000
        Adam steps.
    lr : float, default 0.1
        Adam learning rate.
    refit : {"raking", "linear", "logit"}, default "raking"
        The refit's distance.
    bounds : tuple (lo, hi), optional
        Bounds of the refit on ``g = w / d`` (the design weights).
    verbose : bool, default False
        Progress bar over seeds.
    gate_cost : {"uniform", "design"} or array-like, default "uniform"
        The gates' prices (:class:`~reweightkit.HardConcreteCalibrator`'s ``gate_cost``).
    names : tuple of two str, default ("hardconcrete-k", "hardconcrete-k-refit")
        The ``method`` of the raw rows and of the refit rows.

    Returns
    -------
    DataFrame
        Rows of ``names[0]`` (raw gate weights) and ``names[1]`` (refit)
        with ``n_records`` (the budget) and ``lambda_l0`` filled, and :data:`BUDGET_COLUMNS`.
    """
    task = check_task(task)
    _check_training(epochs, lr)
    ks, seeds = _budgets(budgets, task.problem.n_records), check_seeds(seeds)
    rows = []
    raw_name, refit_name = names
    selector = HardConcreteCalibrator(epochs=epochs, lr=lr, on_infeasible="least_squares", gate_cost=gate_cost)
    for s in tqdm(seeds, desc="hardconcrete budgets", disable=not verbose):
        for raw in _quiet(selector.fit_grid, task.problem, budgets=ks, seeds=[s]):
            g, k = ks.index(raw.n_records), raw.n_records
            t0 = time.perf_counter()
            fit = _quiet(raw.refitted, task.problem, refit=refit, bounds=bounds)
            refit_secs = time.perf_counter() - t0
            rows.append(budget_columns(result_row(task, raw, raw_name, g, seed=s, seconds=raw.seconds_,
                                                  n_records=k, lambda_l0=raw.lambda_l0_), k, raw.n_active_, raw, task))
            rows.append(budget_columns(result_row(task, fit, refit_name, g, seed=s,
                                                  seconds=raw.seconds_ + refit_secs, n_records=k,
                                                  lambda_l0=raw.lambda_l0_), k, raw.n_active_, fit, task))
    return pd.DataFrame(rows, columns=None if rows else COLUMNS)


def sweep_budget_l1(task, *, budgets, refit="raking", bounds=None, tol=1e-8, solver="auto"):
    """L1 at matched record budgets: ``SparseCalibrator(n_records=k, refit=refit)`` for each budget.

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.
    budgets : array-like of int
        Records to keep.
    refit : {"raking", "linear", "logit"}, default "raking"
        The refit's distance.
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / d`` (the design weights) of the L1 fit and its refit.
    tol : float, default 1e-8
        Relative duality gap of every L1 fit.
    solver : {"auto", "active-set", "fista"}, default "auto"
        Whose optimal point is counted (:class:`~reweightkit.SparseCalibrator`'s ``solver``): ``"auto"``
        is the active set's basic solution (certified at every penalty, at most ``rank(A~)`` records)
        for budgets up to the number of targets, FISTA's point above them and with ``bounds``.

    Returns
    -------
    DataFrame
        Rows of ``"l1-k-refit"`` with ``n_records``, ``alpha`` and ``lambda`` filled.
        Budgets L1 cannot reach (its count can jump) are left out with a
        :class:`~reweightkit.BudgetWarning` naming the nearest reachable counts.
    """
    task = check_task(task)
    ks = _budgets(budgets, task.problem.n_records)
    rows, missed = [], []
    for g, k in enumerate(ks):
        t0 = time.perf_counter()
        try:
            est = _quiet(SparseCalibrator(n_records=k, refit=refit, bounds=bounds, on_infeasible="least_squares",
                                          tol=tol, solver=solver).fit, task.problem)
        except ValueError as e:
            missed.append(str(e))
            continue
        rows.append(budget_columns(result_row(task, est, "l1-k-refit", g, seconds=time.perf_counter() - t0,
                                              n_records=k, alpha=est.lambda_ / est.lambda_max_,
                                              **{"lambda": est.lambda_}), k, est.n_selected_, est, task))
    if missed:
        warnings.warn("L1 reached no count near these budgets (left out): " + "; ".join(missed), BudgetWarning,
                      stacklevel=2)
    return pd.DataFrame(rows, columns=None if rows else COLUMNS)


SAMPLERS = {"subsample": SubsampleCalibrator, "cube": BalancedSampleCalibrator,
            "calibrate-reduce": CalibrateThenReduceCalibrator}
"""The k-record samplers by method name."""


def sweep_budget_sampler(task, *, method, budgets, seeds=range(5), refit="raking", bounds=None, verbose=False):
    """A classical sampler at matched record budgets: balanced sampling or calibrate-then-reduce, per (budget, seed).

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.
    method : {"cube", "calibrate-reduce", "subsample"}
        :class:`~reweightkit.BalancedSampleCalibrator`,
        :class:`~reweightkit.CalibrateThenReduceCalibrator` or
        :class:`~reweightkit.SubsampleCalibrator`.
    budgets : array-like of int
        Records to keep.
    seeds : iterable of int, default range(5)
        Seeds.
    refit : {"raking", "linear", "logit", "relaxed"} or False, default "raking"
        How the kept records are calibrated (bounded least squares where exact
        calibration is impossible, ``exact`` False: a comparison asks for that fallback).
    bounds : tuple (lo, hi), optional
        Bounds of the refit on ``g = w / (d / pi)`` (the sample's Horvitz-Thompson weights); for
        calibrate-then-reduce also of its dense step (on ``g = w / d``), whose distance is then ``refit``.
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    DataFrame
        One row per (budget, seed) with ``n_records`` filled, and :data:`BUDGET_COLUMNS`.
        Calibrate-then-reduce calibrates every record once
        (:meth:`~reweightkit.CalibrateThenReduceCalibrator.reduced`): its first row's
        ``seconds`` include that step, the others' only their reduction and refit.
    """
    task = check_task(task)
    if method not in SAMPLERS:
        raise ValueError(f"method must be one of {sorted(SAMPLERS)}, got {method!r}")
    ks, seeds = _budgets(budgets, task.problem.n_records), check_seeds(seeds)
    rows, first = [], None
    for g, k, s in tqdm([(g, k, s) for g, k in enumerate(ks) for s in seeds], desc=method, disable=not verbose):
        t0 = time.perf_counter()
        if first is not None:  # calibrate-then-reduce: one dense calibration for every budget and seed
            cal = _quiet(first.reduced, task.problem, n_records=k, seed=s)
        else:
            kw = {"calibration": refit} if method == "calibrate-reduce" and bounds is not None else {}
            cal = _quiet(SAMPLERS[method](k, seed=s, refit=refit, bounds=bounds, on_infeasible="least_squares",
                                          **kw).fit, task.problem)
            first = cal if method == "calibrate-reduce" else None
        rows.append(budget_columns(result_row(task, cal, method, g, seed=s, seconds=time.perf_counter() - t0,
                                              n_records=k), k, n_active(cal.base_weights_), cal, task))
    return pd.DataFrame(rows)
