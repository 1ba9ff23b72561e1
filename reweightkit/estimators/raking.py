"""The dense and subsample baselines: raking all records, and a random subsample raked."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

import numpy as np

from .._validation import Interval
from ..exceptions import RakeWarning
from ..problem.system import margin_cells, unreachable_targets
from ..solvers.calibration import EXACT_TOL, rake
from .base import BaseCalibrator, SamplerCalibrator

__all__ = ["RakeCalibrator", "SubsampleRakeCalibrator"]


class RakeCalibrator(BaseCalibrator):
    """Dense reference: all records raked to the train targets (no sparsity).

    Generalised raking from the scaled design weights (see :func:`reweightkit.rake`).

    Parameters
    ----------
    tol : float, default 1e-12
        Largest relative residual at which Newton's method stops.
    max_iter : int, default 100
        Newton steps.

    Attributes
    ----------
    weights_ : ndarray, shape (n_records,)
        The raked weights (all > 0).
    converged_ : bool
        Whether every target was met (relative residual <= 1e-8).
    max_residual_ : float
        Largest relative residual.
    n_active_ : int
        Active records (weight > 1e-9, see :func:`reweightkit.n_active`).
    target_names_ : list of str
        Target names, in the system's order.
    """

    _parameter_constraints = {
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None)],
    }

    def __init__(self, tol=1e-12, *, max_iter=100):
        self.tol = tol
        self.max_iter = max_iter

    def _warn_on_miss(self) -> bool:
        return False  # RakeWarning reports a miss

    def _fit_problem(self, problem, previous_weights):
        _check_reachable(problem, problem.w0)
        self.weights_, self.converged_, self.max_residual_ = rake(problem.At_rec, problem.b_t, problem.w0,
                                                                  tol=self.tol, max_iter=self.max_iter)
        if not self.converged_:
            warnings.warn(f"raking did not reach the targets (largest relative residual {self.max_residual_:.3g})",
                          RakeWarning, stacklevel=3)


def _check_reachable(problem, w):
    blocked = unreachable_targets(problem.system, w)
    if blocked:
        raise ValueError(f"raking multiplies the design weights, so it cannot reach targets {blocked[:10]}: none of "
                         "their records has a positive design weight")


def _proportional_allocation(sizes, k):
    """Largest-remainder allocation of ``k`` over cells, at least one per cell, at most the cell size."""
    sizes = np.asarray(sizes)
    quota = k * sizes / sizes.sum()
    alloc = np.clip(np.floor(quota).astype(int), 1, sizes)
    while alloc.sum() < k:
        room = alloc < sizes
        j = np.flatnonzero(room)[np.argmax((quota - alloc)[room])]
        alloc[j] += 1
    while alloc.sum() > k:
        room = alloc > 1
        j = np.flatnonzero(room)[np.argmin((quota - alloc)[room])]
        alloc[j] -= 1
    return alloc


class SubsampleRakeCalibrator(SamplerCalibrator):
    """Keep ``n_records`` records at random within cells, then rake them to the targets.

    The cells are the cross-classification of the train categorical margins
    (:func:`reweightkit.problem.system.margin_cells`); each keeps a share of
    ``n_records`` proportional to its size (largest remainders, at least one
    record per cell), drawn without replacement by
    ``numpy.random.default_rng(seed)``.  The kept records are then raked (see
    :func:`reweightkit.rake`) from their design weights to every train target,
    categorical and continuous; the others get weight 0.

    This is the procedure behind the published comparison's "SparseCalibrator"
    numbers (there with ``k = n exp(-lambda)`` and no seed), and a classic
    baseline: a random subsample calibrated by raking.

    Parameters
    ----------
    n_records : int
        Records to keep (at least one per cell, at most n).
    seed : int or None, default None
        Seed of the draw.
    refit : bool or {"relaxed", "linear", "raking", "logit"}, default "raking"
        How the kept records are calibrated (``False``: their design weights
        scaled to the targets' level, unchanged).
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / w0`` of the kept records.
    on_infeasible : {"raise", "least_squares"}, default "least_squares"
        When the kept records cannot meet the targets within the bounds: the
        bounded least-squares fit (``converged_=False``, a ``RakeWarning``), or an error.

    Attributes
    ----------
    weights_ : ndarray, shape (n_records_total,)
        Raked weights of the kept records, zero elsewhere.
    kept_ : pandas.Index
        Labels (the DataFrame's index) of the kept records.
    kept_positions_ : ndarray of int
        Positions of the kept records.
    converged_ : bool
        Whether raking met every target.
    n_active_ : int
        Active records (weight > 1e-9, see :func:`reweightkit.n_active`).
    target_names_ : list of str
        Target names, in the system's order.
    """

    def _warn_on_miss(self) -> bool:
        return False  # RakeWarning reports a miss

    def _fit_problem(self, problem, previous_weights):
        _check_reachable(problem, problem.w0)
        k, n = int(self.n_records), problem.n_records
        if k > n:
            raise ValueError(f"n_records must be between 1 and the number of records ({n}), got {k}")
        cell = margin_cells(problem.system)
        cells, sizes = np.unique(cell, return_counts=True)
        if k < cells.size:
            raise ValueError(f"n_records={k} is fewer than the {cells.size} cells of the categorical margins: "
                             "raking needs one record per cell")
        alloc = _proportional_allocation(sizes, k)
        rng = np.random.default_rng(self.seed)
        kept = np.sort(np.concatenate([rng.choice(np.flatnonzero(cell == c), a, replace=False)
                                       for c, a in zip(cells, alloc)]))
        start = np.zeros(n)
        start[kept] = problem.w0[kept]
        self.weights_, _ = self._refit(problem, start)
        res = float(np.max(np.abs(problem.At_rec.T @ self.weights_ - problem.b_t)))
        conv = res <= EXACT_TOL
        if not conv and self.refit is not False:
            warnings.warn(f"calibrating {k} kept records did not reach the targets (largest relative residual "
                          f"{res:.3g}): too few records for {problem.b_t.size} targets", RakeWarning, stacklevel=3)
        self.kept_positions_, self.kept_, self.converged_ = kept, problem.labels[kept], conv
