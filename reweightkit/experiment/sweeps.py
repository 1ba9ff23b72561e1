"""Sweeps of every method over its grid, scored on train and held-out targets.

Every sweep takes a :class:`CalibrationTask`: the train problem prepared once and
the held-out system built once, shared by all methods of a comparison.  Each
returns one row per fit, with the columns of :data:`COLUMNS`: the method's name
(see :mod:`reweightkit.experiment.methods`), its grid position, seed, and the
value of its own grid parameter in a column named after it (``alpha`` and
``lambda`` for L1, ``lambda_l0`` for Hard Concrete, ``n_records`` for the
subsample), then the scores of :class:`reweightkit.Scorer`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field
from numbers import Integral, Real

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .._validation import Interval, check_seed, validate_params
from ..estimators.raking import RakeCalibrator, SubsampleRakeCalibrator
from ..estimators.sampling import BalancedSampleCalibrator, CalibrateThenReduceCalibrator
from ..exceptions import RakeWarning
from ..problem.nnlasso import lambda_max
from ..problem.scoring import ACTIVE_TOL, Scorer
from ..problem.system import CalibrationProblem, CalibrationSystem, build_system, prepare, prepare_matrix, prepare_system
from ..solvers.budget import hard_concrete_for_budgets, l1_for_budget
from ..solvers.calibration import calibrate_support
from ..solvers.hardconcrete import settled, train_hard_concrete
from ..solvers.optimal_set import held_out_ranges, vertex_solution
from ..solvers.path import nn_lasso_path, relaxed_refit

__all__ = [
    "PUBLISHED_L1_LAMBDAS",
    "PUBLISHED_L0_LAMBDAS",
    "PARAM_COLUMNS",
    "COLUMNS",
    "CalibrationTask",
    "family_holdout_tasks",
    "l1_path_fits",
    "sweep_l1",
    "hard_concrete_grid",
    "sweep_hard_concrete",
    "sweep_subsample",
    "dense_reference",
    "sweep_budget_hard_concrete",
    "sweep_budget_l1",
    "sweep_budget_sampler",
]

PUBLISHED_L1_LAMBDAS = [0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
"""The published comparison's L1 grid (absolute lambdas; most are above lambda_max)."""
PUBLISHED_L0_LAMBDAS = [1e-7, 5e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2]
"""The published comparison's Hard Concrete grid of lambda_l0."""
PARAM_COLUMNS = ["alpha", "lambda", "lambda_l0", "n_records"]
"""The grid-parameter columns: each holds one parameter, NaN for methods without it."""
COLUMNS = ["method", "grid", "seed", *PARAM_COLUMNS, "n_active", "train_error", "test_error", "train_max_error",
           "test_max_error", "train_median_error", "test_median_error", "train_capped_error", "test_capped_error",
           "train_within_5pct", "test_within_5pct", "train_uncovered_small", "test_uncovered_small", "total_weight",
           "kish_ess", "design_effect", "max_weight", "g_min", "g_max", "exact", "seconds", "converged"]
"""The columns of every sweep's result, in order."""


@dataclass(frozen=True)
class CalibrationTask:
    """What a comparison fits and scores: the train problem prepared once, the held-out targets built once.

    Parameters
    ----------
    problem : CalibrationProblem
        The train targets, prepared (:func:`reweightkit.prepare`).
    test : CalibrationSystem or None
        The held-out targets on the same records (:func:`reweightkit.build_system`).

    Attributes
    ----------
    scorer : Scorer
        Scores any weight vector on both.
    """

    problem: CalibrationProblem
    test: CalibrationSystem | None = None
    scorer: Scorer = field(init=False, repr=False)

    def __post_init__(self):
        if not isinstance(self.problem, CalibrationProblem):
            raise TypeError(f"problem must be a CalibrationProblem (see rk.prepare), got {type(self.problem).__name__}")
        object.__setattr__(self, "scorer", Scorer(self.problem.system, self.test, self.problem.w0))

    @classmethod
    def from_targets(cls, df, train_marginal=None, train_continuous=None, test_marginal=None, test_continuous=None,
                     weight_col="weight"):
        """Prepare the train problem and build the held-out system, once each.

        Parameters
        ----------
        df : DataFrame
            Microdata (never modified).
        train_marginal, train_continuous : dict, optional
            The targets every method fits.
        test_marginal, test_continuous : dict, optional
            Held-out targets (scores are NaN without them).
        weight_col : str or None, default "weight"
            Design weights.

        Returns
        -------
        CalibrationTask
        """
        test = build_system(df, test_marginal, test_continuous) if (test_marginal or test_continuous) else None
        return cls(prepare(df, train_marginal, train_continuous, weight_col), test)

    @classmethod
    def from_problem(cls, problem, holdout=None):
        """Hold out whole target families of a prepared problem: fit the others, score on them.

        Targets nest within families (district counts sum to state counts), so a random
        split of target rows leaks; holding out whole families does not.  The train
        problem is re-prepared from the remaining rows only (its start point included),
        so no held-out target reaches a fit.

        Parameters
        ----------
        problem : CalibrationProblem
            Every target (:func:`reweightkit.prepare` or :func:`reweightkit.prepare_matrix`).
        holdout : family label or list of them, optional
            The families held out (``problem.system.families``); none when omitted.

        Returns
        -------
        CalibrationTask
        """
        if not isinstance(problem, CalibrationProblem):
            raise TypeError(f"problem must be a CalibrationProblem (see rk.prepare_matrix), got {type(problem).__name__}")
        holdout = [holdout] if isinstance(holdout, str) else ([] if holdout is None else list(holdout))
        if not holdout:
            return cls(problem, None)
        mask = problem.system.family_rows(holdout)
        if mask.all():
            raise ValueError("holdout names every target family: nothing would be left to fit")
        train = prepare_system(problem.system.subset(~mask), problem.d, problem.index)
        return cls(train, problem.system.subset(mask))

    @classmethod
    def from_matrix(cls, A, b, design_weights=None, *, names=None, families=None, holdout=None, index=None):
        """A task from a targets x records matrix: fit every family but ``holdout``, score on ``holdout``.

        Parameters
        ----------
        A : scipy.sparse matrix, shape (m, n)
            Targets x records (never densified).
        b : array-like, shape (m,)
            Targets.
        design_weights : array-like, shape (n,), optional
            Ones when omitted.
        names, families : list, optional
            Target names and family labels (see :func:`reweightkit.prepare_matrix`).
        holdout : family label or list of them, optional
            Families held out for scoring.
        index : pandas.Index, optional
            Record labels.

        Returns
        -------
        CalibrationTask
        """
        full = prepare_matrix(A, b, design_weights, names=names, families=families, index=index)
        return cls.from_problem(full, holdout)


def family_holdout_tasks(problem, families=None):
    """One task per family, each holding that family out (leave-one-family-out).

    Parameters
    ----------
    problem : CalibrationProblem
        Every target, prepared.
    families : list, optional
        The families to hold out one at a time (default: every family, in order of appearance).

    Yields
    ------
    family : object
        The held-out family.
    task : CalibrationTask
        Train on the other families, score on this one.
    """
    if not isinstance(problem, CalibrationProblem):
        raise TypeError(f"problem must be a CalibrationProblem (see rk.prepare_matrix), got {type(problem).__name__}")
    fams = problem.system.families if problem.system.families is not None else problem.system.names
    for fam in (list(dict.fromkeys(fams)) if families is None else list(families)):
        yield fam, CalibrationTask.from_problem(problem, [fam])


def _check_task(task):
    if not isinstance(task, CalibrationTask):
        raise TypeError(f"task must be a CalibrationTask (see rk.CalibrationTask.from_targets), got "
                        f"{type(task).__name__}")
    return task


def check_grid(name, grid):
    """The grid as a float array: non-empty, finite and ``>= 0``, else a ``ValueError`` naming it."""
    grid = np.atleast_1d(np.asarray(grid, dtype=float))
    if grid.size == 0:
        raise ValueError(f"{name} grid is empty")
    if not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError(f"{name} grid must be finite and >= 0, got {grid.tolist()}")
    return grid


def check_seeds(seeds):
    """The seeds as a list of ints: non-empty, each in ``[0, 2**63 - 1]``."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    return [check_seed(s, "seeds", allow_none=False) for s in seeds]


def _row(task, w, method, grid, seed=np.nan, seconds=np.nan, converged=True, **params):
    """One result row in :data:`COLUMNS` order (absent grid parameters are NaN)."""
    row = {"method": method, "grid": int(grid), "seed": seed, **{p: np.nan for p in PARAM_COLUMNS}, **params}
    row.update(task.scorer.score(w))
    row.update(seconds=seconds, converged=bool(converged))
    return row


def l1_path_fits(problem, *, alphas=None, lambdas=None, tol=1e-8, verbose=False):
    """The certified, warm-started L1 path over a grid, strong to weak: the one L1 path driver of the kit.

    Parameters
    ----------
    problem : CalibrationProblem
        The train problem.
    alphas : array-like, optional
        Fractions of lambda_max.  Give exactly one of ``alphas`` and ``lambdas``.
    lambdas : array-like, optional
        Absolute penalties.
    tol : float, default 1e-8
        Relative duality gap of every fit.
    verbose : bool, default False
        A progress bar over the grid.

    Returns
    -------
    lam_max : float
        :func:`reweightkit.lambda_max` of the problem.
    positions : ndarray of int
        Grid position of each solution.
    solutions : list of L1Solution
        In path order (largest lambda first).
    """
    if (alphas is None) == (lambdas is None):
        raise ValueError("give exactly one of alphas and lambdas")
    lam_max = lambda_max(problem.At_rec, problem.b_t)
    grid = lam_max * check_grid("alpha", alphas) if lambdas is None else check_grid("lambda", lambdas)
    order = np.argsort(-grid, kind="stable")
    path = nn_lasso_path(problem.At_rec, problem.b_t, lambdas=grid[order], w0=problem.w0, tol=tol, verbose=verbose)
    return lam_max, order, path["solutions"]


def sweep_l1(task, *, alphas=None, lambdas=None, refit=False, method=None, tol=1e-8, optimal_set=False,
             verbose=False):
    """SparseCalibrator along one warm-started certified path, over ``alphas`` or absolute ``lambdas``.

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
        unique, so the solver's own point is one of many (see
        :mod:`reweightkit.solvers.optimal_set`).  Needs held-out targets; ignored with ``refit``.
    verbose : bool, default False
        Progress bar over the grid.

    Returns
    -------
    DataFrame
        One row per grid point (:data:`COLUMNS`, ``alpha`` and ``lambda`` filled).
    """
    task = _check_task(task)
    prob = task.problem
    lam_max, positions, solutions = l1_path_fits(prob, alphas=alphas, lambdas=lambdas, tol=tol, verbose=verbose)
    name = method or ("l1-relaxed" if refit else "l1")
    rows = []
    for pos, sol in tqdm(list(zip(positions, solutions)), desc=name, disable=not verbose):
        w, secs, conv = sol.w, sol.seconds, sol.converged
        if refit and np.any(w > 0):
            t0 = time.perf_counter()
            w, r = relaxed_refit(prob.At_rec, prob.b_t, w, tol=tol)
            secs, conv = secs + time.perf_counter() - t0, conv and r.converged
        row = _row(task, w, name, pos, seconds=secs, converged=conv, **{"lambda": sol.lam},
                   alpha=sol.lam / lam_max if lam_max > 0 else np.nan)
        if optimal_set and task.test is not None and np.any(w > 0) and not refit:
            _, ranges = held_out_ranges(prob.At_rec, task.test, w)
            vs = task.scorer.score(vertex_solution(prob.At_rec, w))
            row.update(test_error_min=ranges["min_error"], test_error_max=ranges["max_error"],
                       vertex_n_active=vs["n_active"], vertex_test_error=vs["test_error"])
        rows.append(row)
    return pd.DataFrame(rows)


def hard_concrete_grid(problem, lambdas, seeds, **train_kw):
    """Train every (lambda_l0, seed) pair as one batched computation, lambda-major.

    Parameters
    ----------
    problem : CalibrationProblem
        The train problem.
    lambdas : array-like
        The lambda_l0 grid.
    seeds : iterable of int
        Seeds; every lambda is trained once per seed.
    **train_kw
        Passed to :func:`reweightkit.train_hard_concrete` (epochs, lr, verbose, ...).

    Returns
    -------
    lam_k, grid_k, seed_k : ndarray, ndarray, list
        Penalty, grid position and seed of each replica.
    out : dict
        :func:`reweightkit.train_hard_concrete`'s output.
    """
    lambdas, seeds = check_grid("lambda_l0", lambdas), check_seeds(seeds)
    lam_k = np.repeat(lambdas, len(seeds))
    grid_k = np.repeat(np.arange(len(lambdas)), len(seeds))
    seed_k = seeds * len(lambdas)
    out = train_hard_concrete(problem.At_rec, problem.b_t, problem.w0, lam_k, seed_k, **train_kw)
    return lam_k, grid_k, seed_k, out


def sweep_hard_concrete(task, *, lambdas=PUBLISHED_L0_LAMBDAS, seeds=range(5), epochs=2000, lr=0.1, verbose=False):
    """HardConcreteCalibrator for every (lambda_l0, seed), trained as one batched computation.

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
        is :func:`reweightkit.solvers.hardconcrete.settled`).
    """
    task = _check_task(task)
    validate_params({"epochs": [Interval(Integral, 1, None)], "lr": [Interval(Real, 0, None, closed="neither")]},
                    {"epochs": epochs, "lr": lr})
    lam_k, grid_k, seed_k, out = hard_concrete_grid(task.problem, lambdas, seeds, epochs=epochs, lr=lr,
                                                    verbose=verbose, desc="hardconcrete sweep")
    per_fit = out["seconds"] / len(lam_k)
    ok, _ = settled(out["history"], epochs)
    return pd.DataFrame([_row(task, w, "hardconcrete", g, seed=s, seconds=per_fit, converged=c, lambda_l0=lam)
                         for w, lam, g, s, c in zip(out["weights"], lam_k, grid_k, seed_k, ok)])


def sweep_subsample(task, *, sizes, seeds=range(5), verbose=False):
    """SubsampleRakeCalibrator for every (n_records, seed).

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
    task = _check_task(task)
    sizes = [int(k) for k in check_grid("sizes", sizes)]
    seeds = check_seeds(seeds)
    rows = []
    for g, k, s in tqdm([(g, k, s) for g, k in enumerate(sizes) for s in seeds], desc="subsample sweep",
                        disable=not verbose):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RakeWarning)  # recorded in `converged`
            cal = SubsampleRakeCalibrator(k, seed=s).fit(task.problem)
        rows.append(_row(task, cal.weights_, "subsample", g, seed=s, seconds=time.perf_counter() - t0,
                         converged=cal.converged_, n_records=k))
    return pd.DataFrame(rows)


def dense_reference(task):
    """All records raked to the train targets: the no-sparsity reference.

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.

    Returns
    -------
    DataFrame
        One row (:data:`COLUMNS`, method ``"dense"``).
    """
    task = _check_task(task)
    t0 = time.perf_counter()
    cal = RakeCalibrator().fit(task.problem)
    return pd.DataFrame([_row(task, cal.weights_, "dense", 0, seconds=time.perf_counter() - t0,
                              converged=cal.converged_)])


def _budgets(budgets, n):
    ks = [int(k) for k in check_grid("budgets", budgets)]
    bad = [k for k in ks if not 1 <= k <= n]
    if bad:
        raise ValueError(f"budgets must be between 1 and the number of records ({n}), got {bad}")
    return ks


def _refit_rows(task, w, name, g, k, seed, seconds, converged, refit, **params):
    """The row of the calibration of ``w``'s support (bounded least squares when it cannot be exact)."""
    t0 = time.perf_counter()
    r = calibrate_support(task.problem, w > ACTIVE_TOL, refit, None, "least_squares")
    return _row(task, r.weights, name, g, seed=seed, seconds=seconds + time.perf_counter() - t0,
                converged=converged, n_records=k, **params)


def sweep_budget_hard_concrete(task, *, budgets, seeds=range(5), epochs=2000, lr=0.1, refit="raking", verbose=False):
    """Hard Concrete at matched record budgets: raw gates and the same selection refit, per (budget, seed).

    For each seed, :func:`reweightkit.solvers.budget.hard_concrete_for_budgets` finds
    every budget's ``lambda_l0`` in rounds of one batched computation; the kept
    records are then calibrated with ``refit`` (bounded least squares where exact
    calibration is impossible, ``exact`` False).  Budgets no penalty reaches are
    left out with a warning naming the nearest reachable counts.

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
    verbose : bool, default False
        Progress bar over seeds.

    Returns
    -------
    DataFrame
        Rows of ``"hardconcrete-k"`` (raw gate weights) and ``"hardconcrete-k-refit"``
        with ``n_records`` (the budget) and ``lambda_l0`` filled.
    """
    task = _check_task(task)
    validate_params({"epochs": [Interval(Integral, 1, None)], "lr": [Interval(Real, 0, None, closed="neither")]},
                    {"epochs": epochs, "lr": lr})
    ks, seeds = _budgets(budgets, task.problem.n_records), check_seeds(seeds)
    p = task.problem
    rows, missed = [], []
    for s in tqdm(seeds, desc="hardconcrete budgets", disable=not verbose):
        t0 = time.perf_counter()
        found = hard_concrete_for_budgets(p.At_rec, p.b_t, p.w0, ks, s, epochs=epochs, lr=lr)
        secs = (time.perf_counter() - t0) / len(ks)
        for g, k in enumerate(ks):
            if isinstance(found[k], ValueError):
                missed.append(f"seed {s}: {found[k]}")
                continue
            lam, w, hist = found[k]
            ok = bool(settled(hist, epochs)[0][0])
            rows.append(_row(task, w, "hardconcrete-k", g, seed=s, seconds=secs, converged=ok, n_records=k,
                             lambda_l0=lam))
            rows.append(_refit_rows(task, w, "hardconcrete-k-refit", g, k, s, secs, ok, refit, lambda_l0=lam))
    if missed:
        warnings.warn("Hard Concrete reached no count near these budgets (left out): " + "; ".join(missed),
                      UserWarning, stacklevel=2)
    return pd.DataFrame(rows)


def sweep_budget_l1(task, *, budgets, refit="raking", tol=1e-8):
    """L1 at matched record budgets: the penalty keeping about ``k`` records, then the support refit.

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.
    budgets : array-like of int
        Records to keep.
    refit : {"raking", "linear", "logit"}, default "raking"
        The refit's distance.
    tol : float, default 1e-8
        Relative duality gap of every L1 fit.

    Returns
    -------
    DataFrame
        Rows of ``"l1-k-refit"`` with ``n_records``, ``alpha`` and ``lambda`` filled.
        Budgets L1 cannot reach (its count jumps) are left out with a warning naming
        the nearest reachable counts.
    """
    task = _check_task(task)
    p = task.problem
    ks = _budgets(budgets, p.n_records)
    lam_max = lambda_max(p.At_rec, p.b_t)
    rows, missed = [], []
    for g, k in enumerate(ks):
        t0 = time.perf_counter()
        try:
            sol = l1_for_budget(p.At_rec, p.b_t, p.w0, k, tol)
        except ValueError as e:
            missed.append(str(e))
            continue
        rows.append(_refit_rows(task, sol.w, "l1-k-refit", g, k, np.nan, time.perf_counter() - t0, sol.converged,
                                refit, alpha=sol.lam / lam_max, **{"lambda": sol.lam}))
    if missed:
        warnings.warn("L1 reached no count near these budgets (left out): " + "; ".join(missed), UserWarning,
                      stacklevel=2)
    return pd.DataFrame(rows, columns=None if rows else COLUMNS)


_SAMPLERS = {"cube-k": BalancedSampleCalibrator, "calibrate-reduce-k": CalibrateThenReduceCalibrator}


def sweep_budget_sampler(task, *, method, budgets, seeds=range(5), refit="raking", verbose=False):
    """A classical sampler at matched record budgets: balanced sampling or calibrate-then-reduce, per (budget, seed).

    Parameters
    ----------
    task : CalibrationTask
        Train problem and held-out targets.
    method : {"cube-k", "calibrate-reduce-k"}
        :class:`reweightkit.BalancedSampleCalibrator` or
        :class:`reweightkit.CalibrateThenReduceCalibrator`.
    budgets : array-like of int
        Records to keep.
    seeds : iterable of int, default range(5)
        Seeds.
    refit : {"raking", "linear", "logit", "relaxed"} or False, default "raking"
        How the kept records are calibrated (bounded least squares where exact
        calibration is impossible, ``exact`` False).
    verbose : bool, default False
        Progress bar.

    Returns
    -------
    DataFrame
        One row per (budget, seed) with ``n_records`` filled.
    """
    task = _check_task(task)
    if method not in _SAMPLERS:
        raise ValueError(f"method must be one of {sorted(_SAMPLERS)}, got {method!r}")
    ks, seeds = _budgets(budgets, task.problem.n_records), check_seeds(seeds)
    rows = []
    for g, k, s in tqdm([(g, k, s) for g, k in enumerate(ks) for s in seeds], desc=method, disable=not verbose):
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RakeWarning)
            cal = _SAMPLERS[method](k, seed=s, refit=refit).fit(task.problem)
        rows.append(_row(task, cal.weights_, method, g, seed=s, seconds=time.perf_counter() - t0,
                         converged=cal.exact_, n_records=k))
    return pd.DataFrame(rows)
