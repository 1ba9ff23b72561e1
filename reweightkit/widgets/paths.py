"""What the sliders index: fits precomputed once along a penalty grid (through the estimators), and the
moved-target refit.  No figure and no ipywidgets here."""

from __future__ import annotations

import copy
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from .._validation import check_grid
from ..estimators.hardconcrete import HardConcreteCalibrator
from ..estimators.sparse import SparseCalibrator
from ..exceptions import ConvergenceWarning
from ..experiment.sweeps import PUBLISHED_L0_LAMBDAS
from ..experiment.task import CalibrationTask
from ..problem.frame import prepare
from ..problem.nnlasso import alpha_grid
from ..problem.scoring import target_table

__all__ = ["PenaltyPath", "l1_path", "hard_concrete_path", "moved_target_fit"]


@dataclass
class PenaltyPath:
    """Fits precomputed along a penalty grid, for a slider to index.

    Parameters
    ----------
    method : str
        Method name (``"l1"`` or ``"hardconcrete"``).
    param : str
        The grid parameter, and the ``table`` column holding it (``"alpha"`` or ``"lambda_l0"``).
    table : DataFrame
        One row per fit (``param``, ``seed``, ``n_active``, ``train_error``,
        ``test_error``, ``total_weight``, ... as :class:`reweightkit.Scorer` scores them).
    weights : ndarray, shape (n_fits, n)
        ``weights[i]`` is row ``i``'s weight vector.
    design : ndarray, shape (n,)
        Design weights.
    history : DataFrame or None
        Training curves (Hard Concrete).
    """

    method: str
    param: str
    table: pd.DataFrame
    weights: np.ndarray
    design: np.ndarray
    history: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def penalties(self) -> list[float]:
        """The grid values, in slider order."""
        return list(dict.fromkeys(self.table[self.param].tolist()))

    def rows(self, index: int) -> pd.DataFrame:
        """The fits (one per seed) at grid point ``index``.

        Parameters
        ----------
        index : int
            Grid position.

        Returns
        -------
        DataFrame
            Rows of ``table``.
        """
        if not 0 <= index < len(self.penalties):
            raise IndexError(f"grid index {index} out of range: the path has {len(self.penalties)} points")
        return self.table[self.table[self.param] == self.penalties[index]]


def _task(data, train_marginal, train_continuous, test_marginal, test_continuous, weight_col):
    if isinstance(data, CalibrationTask):
        return data
    return CalibrationTask.from_targets(data, train_marginal, train_continuous, test_marginal, test_continuous,
                                        weight_col)


def l1_path(data, train_marginal=None, train_continuous=None, test_marginal=None, test_continuous=None, *,
            alphas=None, tol=1e-8, solver="auto", weight_col="weight") -> PenaltyPath:
    """A certified, warm-started L1 path over ``alphas`` (:meth:`reweightkit.SparseCalibrator.path`), for a slider.

    Parameters
    ----------
    data : DataFrame or CalibrationTask
        Microdata (with the targets below) or a prepared task.
    train_marginal, train_continuous : dict, optional
        Train targets.
    test_marginal, test_continuous : dict, optional
        Held-out targets.
    alphas : array-like, optional
        Fractions of lambda_max (default :func:`reweightkit.problem.alpha_grid`).
    tol : float, default 1e-8
        Relative duality gap of every fit.
    solver : {"auto", "fista", "ipm", "active-set"}, default "auto"
        Whose optimal point is shown (:class:`~reweightkit.SparseCalibrator`'s ``solver``; ``"auto"``'s
        active set returns a basic solution, ``"fista"`` its point from the design weights).
    weight_col : str or None, default "weight"
        Design weights.

    Returns
    -------
    PenaltyPath
        ``param`` is ``"alpha"``; rows in path order (strong to weak); the table also has
        ``lambda``, ``rel_gap`` and ``n_iter``.
    """
    alphas = check_grid("alpha", alpha_grid() if alphas is None else alphas)
    task = _task(data, train_marginal, train_continuous, test_marginal, test_continuous, weight_col)
    fits = SparseCalibrator(tol=tol, solver=solver).path(task.problem, alphas=alphas)
    fits = [fits[i] for i in np.argsort([-f.lambda_ for f in fits], kind="stable")]  # path order
    rows = [task.scorer.score(f.weights_, alpha=float(f.alpha), seed=0, **{"lambda": f.lambda_}, rel_gap=f.dual_gap_,
                              n_iter=f.n_iter_, converged=f.converged_) for f in fits]
    return PenaltyPath("l1", "alpha", pd.DataFrame(rows), np.array([f.weights_ for f in fits]), task.problem.d)


def hard_concrete_path(data, train_marginal=None, train_continuous=None, test_marginal=None, test_continuous=None,
                       *, lambdas=PUBLISHED_L0_LAMBDAS, seeds=(0,), epochs=2000, lr=0.1, history_every=50,
                       weight_col="weight") -> PenaltyPath:
    """Hard Concrete fits for every (lambda_l0, seed), trained as one batched computation
    (:meth:`reweightkit.HardConcreteCalibrator.fit_grid`), for a slider.

    Parameters
    ----------
    data : DataFrame or CalibrationTask
        Microdata (with the targets below) or a prepared task.
    train_marginal, train_continuous : dict, optional
        Train targets.
    test_marginal, test_continuous : dict, optional
        Held-out targets.
    lambdas : array-like, default PUBLISHED_L0_LAMBDAS
        The lambda_l0 grid.
    seeds : iterable of int, default (0,)
        Seeds per lambda.
    epochs : int, default 2000
        Adam steps.
    lr : float, default 0.1
        Adam learning rate.
    history_every : int, default 50
        Epochs between history rows.
    weight_col : str or None, default "weight"
        Design weights.

    Returns
    -------
    PenaltyPath
        ``param`` is ``"lambda_l0"``; ``history`` holds the training curves
        (``replica`` = row of ``table``).
    """
    task = _task(data, train_marginal, train_continuous, test_marginal, test_continuous, weight_col)
    est = HardConcreteCalibrator(epochs=epochs, lr=lr, history_every=history_every)
    fits = _quiet(est.fit_grid, task.problem, lambdas=lambdas, seeds=seeds)
    rows = [task.scorer.score(f.weights_, lambda_l0=float(f.lambda_l0_), seed=f.seed) for f in fits]
    history = pd.concat([f.history_.assign(replica=r) for r, f in enumerate(fits)], ignore_index=True)
    history = history[["replica", *[c for c in history.columns if c != "replica"]]]
    return PenaltyPath("hardconcrete", "lambda_l0", pd.DataFrame(rows), np.array([f.weights_ for f in fits]),
                       task.problem.d, history=history)


def _quiet(fit, *args, **kwargs):
    """A fit whose convergence is shown on the figure, not printed as a warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        return fit(*args, **kwargs)


def _move_target(marginal, continuous, target, factor):
    marginal = copy.deepcopy(marginal) if marginal else {}
    continuous = dict(continuous) if continuous else {}
    names = [f"{c}={k}" for c, cats in marginal.items() for k in cats] + [str(c) for c in continuous]
    if not (np.isfinite(factor) and factor > 0):
        raise ValueError(f"factor must be finite and > 0, got {factor}")
    for col, cats in marginal.items():
        for cat in cats:
            if f"{col}={cat}" == target:
                cats[cat] = cats[cat] * factor
                return marginal, continuous
    for col in continuous:
        if str(col) == target:
            continuous[col] = continuous[col] * factor
            return marginal, continuous
    raise ValueError(f"unknown target {target!r}; targets are {names}")


def moved_target_fit(df, marginal, continuous, target, factor, *, alpha=0.01, solver="auto", weight_col="weight"):
    """Calibrate (L1, ``alpha``) with target ``target`` (e.g. ``"age_group=65+"``) multiplied by ``factor``.

    Parameters
    ----------
    df : DataFrame
        Microdata.
    marginal, continuous : dict or None
        The targets (never modified).
    target : str
        Name of the moved target (``"column=category"`` or ``"column"``).
    factor : float
        Multiplier (> 0).
    alpha : float, default 0.01
        L1 penalty as a fraction of lambda_max.
    solver : {"auto", "fista", "ipm", "active-set"}, default "auto"
        Whose optimal point is shown (:class:`~reweightkit.SparseCalibrator`'s ``solver``; ``"auto"``'s
        active set returns a basic solution, ``"fista"`` its point from the design weights).
    weight_col : str or None, default "weight"
        Design weights (``None``: uniform).

    Returns
    -------
    dict
        ``weights``, ``table`` (per-target errors against the moved targets),
        ``n_active``, ``design`` (the design weights: ones for ``weight_col=None``),
        ``marginal`` and ``continuous`` (the moved targets), ``calibrator``.
    """
    m2, c2 = _move_target(marginal, continuous, target, factor)
    problem = prepare(df, m2, c2, weight_col)
    cal = SparseCalibrator(alpha=alpha, solver=solver).fit(problem)
    table = target_table(problem.system, cal.weights_)
    return {"weights": cal.weights_, "table": table, "n_active": cal.n_active_, "design": problem.d,
            "marginal": m2, "continuous": c2, "calibrator": cal}


