"""The classical ways to keep k records: a stratified random subsample, balanced sampling (the cube method) and
calibrate-then-reduce, each then calibrated (the samplers share :class:`~reweightkit.estimators.base.SamplerCalibrator`)."""

from __future__ import annotations

import copy
import warnings
from numbers import Integral

import numpy as np
import pandas as pd

from .._validation import Interval, Options
from ..exceptions import RakeWarning
from ..problem.frame import as_problem
from ..problem.system import margin_cells
from ..solvers.budget import check_budget
from ..solvers.calibration import DISTANCES
from ..solvers.cube import FLIGHTS, cube_sample, inclusion_probabilities, systematic_sample
from ..solvers.refit import calibrate_support
from .base import SamplerCalibrator
from .raking import check_reachable

__all__ = ["SubsampleCalibrator", "BalancedSampleCalibrator", "CalibrateThenReduceCalibrator", "balancing_targets",
           "BALANCE_AT_MOST"]


def _check_budget(k, problem):
    return check_budget(k, int(np.sum(problem.d > 0)), "records with positive design weight")


def _finish_sample(est, problem, ht):
    # every sampler's g is taken against its sample's Horvitz-Thompson weights
    """Calibrate a drawn sample from its Horvitz-Thompson weights ``ht`` (the base of its g and bounds)."""
    est.base_weights_ = ht
    est.weights_, r = est._refit(problem, ht, base=ht)
    est.converged_ = True if r is None else bool(r.converged)
    if r is not None and not r.exact:
        how = ("the bounded least-squares fit" if r.calibration is not None and r.calibration.method == "least_squares"
               else "the closest fit found")
        warnings.warn(f"calibrating the {int(np.count_nonzero(ht))} kept records did not meet every target (largest "
                      f"relative residual {float(np.max(np.abs(problem.At_rec.T @ est.weights_ - problem.b_t))):.3g}); "
                      f"returning {how}, exact_=False", RakeWarning, stacklevel=4)



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


class SubsampleCalibrator(SamplerCalibrator):
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
        How the kept records are calibrated, from their Horvitz-Thompson weights
        ``d / pi`` (``pi``: the cell's sampling fraction; ``False``: those weights, unchanged).
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / (d / pi)``, relative to the sample's Horvitz-Thompson weights
        (``base_weights_``), as R's ``survey::calibrate`` bounds a sample's design weights.
    on_infeasible : {"raise", "least_squares"}, default "raise"
        When the kept records cannot meet the targets within the bounds: an error naming
        the targets (and the bounds when they are the cause), or, asked for, the bounded
        least-squares fit (``exact_=False``, with a ``RakeWarning`` giving the numbers).

    Attributes
    ----------
    weights_ : ndarray, shape (n_records_total,)
        Raked weights of the kept records, zero elsewhere.
    kept_ : pandas.Index
        Labels (the DataFrame's index) of the kept records.
    kept_positions_ : ndarray of int
        Positions of the kept records.
    pi_ : ndarray, shape (n,)
        Inclusion probabilities of the kept records (zero elsewhere).
    ht_weights_ : ndarray, shape (n,)
        Their Horvitz-Thompson weights ``d / pi`` (``base_weights_``).
    converged_ : bool
        Whether the calibration met its own criterion (``exact_``: every target met).
    n_active_ : int
        Active records (weight > 1e-9, see :func:`reweightkit.n_active`).
    target_names_ : list of str
        Target names, in the system's order.
    """

    def _warn_on_miss(self) -> bool:
        return False  # RakeWarning reports a miss

    def _fit_problem(self, problem, previous_weights):
        check_reachable(problem, problem.d)
        k = check_budget(self.n_records, problem.n_records)
        cell = margin_cells(problem.system)
        cells, sizes = np.unique(cell, return_counts=True)
        if k < cells.size:
            raise ValueError(f"n_records={k} is fewer than the {cells.size} cells of the categorical margins: "
                             "raking needs one record per cell")
        alloc = _proportional_allocation(sizes, k)
        rng = np.random.default_rng(self.seed)
        kept = np.sort(np.concatenate([rng.choice(np.flatnonzero(cell == c), a, replace=False)
                                       for c, a in zip(cells, alloc)]))
        # Horvitz-Thompson weights: a record of cell c was kept with probability alloc_c / size_c
        expand = dict(zip(cells.tolist(), (sizes / alloc).tolist()))
        self.pi_ = np.zeros(problem.n_records)
        self.pi_[kept] = [1.0 / expand[c] for c in cell[kept].tolist()]
        self.ht_weights_ = np.zeros(problem.n_records)
        self.ht_weights_[kept] = problem.d[kept] / self.pi_[kept]
        _finish_sample(self, problem, self.ht_weights_)
        self.kept_positions_, self.kept_ = kept, problem.labels[kept]


BALANCE_AT_MOST = 50
"""The cube method balances on at most this many variables by default (``balance="auto"``)."""


def balancing_targets(system, k, at_most=BALANCE_AT_MOST):
    """The targets a balanced sample of ``k`` records balances on: all, or whole families, coarsest first.

    The cube method keeps every balancing total exactly through its flight and leaves at
    most ``q`` units to the landing, so ``q`` must stay well below ``k``, and its cost
    grows as ``n q^2``.  With more targets than ``q_max = min(at_most, k // 5)``, whole
    families are taken in order of their number of targets (national totals first, then
    the coarsest geography) while they fit: the aggregate targets are those every record
    contributes to and a sample most needs to get right; the fine cells (a district's age
    x sex counts) are left to the calibration that follows, which meets them from a sample
    already right on the aggregates.

    Parameters
    ----------
    system : CalibrationSystem
        The train targets.
    k : int
        The sample size.
    at_most : int, default BALANCE_AT_MOST
        Most balancing variables.

    Returns
    -------
    ndarray of int
        Target rows to balance on (possibly empty: then only the sample size is balanced).
    """
    q_max = max(0, min(int(at_most), k // 5))
    m = system.n_targets
    if m <= q_max:
        return np.arange(m)
    fams = np.array(system.families if system.families is not None else system.names, dtype=object)
    labels, first, counts = np.unique(fams.astype(str), return_index=True, return_counts=True)
    chosen, total = [], 0
    for j in np.lexsort((first, counts)):  # fewest targets first; ties in order of appearance
        if total + counts[j] > q_max:
            break
        chosen.append(labels[j])
        total += counts[j]
    return np.flatnonzero(np.isin(fams.astype(str), chosen))


class BalancedSampleCalibrator(SamplerCalibrator):
    """Keep ``n_records`` records by balanced sampling (the cube method), then calibrate them.

    Inclusion probabilities proportional to the design weights (capped at 1,
    iteratively) and summing to ``n_records``; the balancing variables are the
    probabilities themselves (so the sample size is exactly ``n_records``) and train
    targets' columns weighted by the design weights (so the sample's Horvitz-Thompson
    estimate of each balanced target equals its design-weighted total, up to the landing
    phase's rounding).  With many targets, only whole families of the coarsest targets are
    balanced (:func:`balancing_targets`: at most ``min(balance, n_records // 5)`` of them);
    the calibration then meets every target.  See :func:`reweightkit.cube_sample`.

    Parameters
    ----------
    n_records : int
        Records to keep.
    seed : int or None, default None
        Seed of the sampling.
    refit : bool or {"relaxed", "linear", "raking", "logit"}, default "raking"
        How the sample is calibrated, starting from its Horvitz-Thompson weights
        ``d / pi`` (``False``: those weights, unchanged).
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / (d / pi)``, relative to the sample's Horvitz-Thompson
        weights (``base_weights_``).
    on_infeasible : {"raise", "least_squares"}, default "raise"
        When the sample cannot meet the targets within the bounds: an error naming the
        targets, or (asked for) the bounded least-squares fit.
    balance : int, default 50
        Most balancing variables besides the sample size (:data:`BALANCE_AT_MOST`).
    flight : {"sequential", "blocks"}, default "sequential"
        The cube flight's order of moves (:func:`reweightkit.solvers.flight_phase`): one
        group at a time (reweightkit 0.2's samples; compiled), or disjoint blocks moved at once.

    Attributes
    ----------
    weights_ : ndarray, shape (n,)
        The calibrated weights of the sample, zero elsewhere.
    sample_ : ndarray of bool, shape (n,)
        The balanced sample.
    pi_ : ndarray, shape (n,)
        The inclusion probabilities.
    ht_weights_ : ndarray, shape (n,)
        The sample's Horvitz-Thompson weights ``d / pi`` (zero elsewhere; ``base_weights_``).
    balanced_targets_ : list of str
        The targets balanced on.
    balancing_error_ : float
        Largest relative error of the sample's Horvitz-Thompson estimate of a balanced
        target against its design-weighted total (0 for none).
    """

    _parameter_constraints = {**SamplerCalibrator._parameter_constraints, "balance": [Interval(Integral, 0, None)],
                              "flight": [Options(set(FLIGHTS))]}

    def __init__(self, n_records, *, seed=None, refit="raking", bounds=None, on_infeasible="raise",
                 balance=BALANCE_AT_MOST, flight="sequential"):
        super().__init__(n_records, seed=seed, refit=refit, bounds=bounds, on_infeasible=on_infeasible)
        self.balance = balance
        self.flight = flight

    def _fit_problem(self, problem, previous_weights):
        k = _check_budget(self.n_records, problem)
        pi = inclusion_probabilities(problem.d, k)
        rows = balancing_targets(problem.system, k, self.balance)
        cols = problem.At_rec[:, rows].multiply(problem.d[:, None]).toarray() if rows.size else np.zeros((pi.size, 0))
        self.sample_ = cube_sample(np.column_stack([pi, cols]), pi, self.seed, flight=self.flight)
        self.pi_ = pi
        self.ht_weights_ = np.where(self.sample_, problem.d / np.where(pi > 0, pi, 1.0), 0.0)
        self.balanced_targets_ = [problem.system.names[i] for i in rows]
        if rows.size:
            total = cols.sum(axis=0)
            ht = (self.ht_weights_ / np.where(problem.d > 0, problem.d, 1.0)) @ cols
            self.balancing_error_ = float(np.max(np.abs(ht - total) / np.where(total != 0, np.abs(total), 1.0)))
        else:
            self.balancing_error_ = 0.0
        _finish_sample(self, problem, self.ht_weights_)


class CalibrateThenReduceCalibrator(SamplerCalibrator):
    """Calibrate every record, then keep ``n_records`` of them with probability proportional to the weight.

    Dense calibration first (``calibration`` distance, all records), then a
    probability-proportional-to-size sample of exactly ``n_records`` records
    (systematic sampling, ``pi`` proportional to the calibrated weights, capped at 1
    iteratively), weighted by Horvitz-Thompson (``w / pi``), then optionally
    recalibrated.  The classical "calibrate, then reduce" of microsimulation
    (compare :func:`reweightkit.integerize` for an integer-weight file).

    Parameters
    ----------
    n_records : int
        Records to keep.
    seed : int or None, default None
        Seed of the sampling.
    calibration : {"linear", "raking", "logit"}, default "raking"
        Distance of the dense calibration (``"logit"`` needs ``bounds``).
    refit : bool or {"relaxed", "linear", "raking", "logit"}, default "raking"
        How the kept records are recalibrated, starting from their Horvitz-Thompson
        weights ``w / pi`` (``False``: those weights).
    bounds : tuple (lo, hi), optional
        Bounds of the dense calibration (on ``g = w / d``, the design weights; needs
        ``calibration="logit"`` or ``"linear"``) and of the refit (on ``g = w / (w_dense / pi)``,
        the sample's Horvitz-Thompson weights, ``base_weights_``).
    on_infeasible : {"raise", "least_squares"}, default "raise"
        When the dense step or the kept records cannot meet the targets within the bounds.

    Attributes
    ----------
    weights_ : ndarray, shape (n,)
        The weights of the kept records, zero elsewhere.
    dense_weights_ : ndarray, shape (n,)
        The dense calibration.
    sample_ : ndarray of bool, shape (n,)
        The kept records.
    """

    _parameter_constraints = {**SamplerCalibrator._parameter_constraints, "calibration": [Options(DISTANCES)]}

    def __init__(self, n_records, *, seed=None, calibration="raking", refit="raking", bounds=None,
                 on_infeasible="raise"):
        super().__init__(n_records, seed=seed, refit=refit, bounds=bounds, on_infeasible=on_infeasible)
        self.calibration = calibration

    def _fit_problem(self, problem, previous_weights):
        k = _check_budget(self.n_records, problem)
        if self.bounds is not None and self.calibration == "raking":
            raise ValueError(f"bounds={tuple(self.bounds)} with calibration='raking': the dense step cannot honour them; "
                             "pass calibration='logit' (raking kept within the bounds) or 'linear' (truncated)")
        self.dense_weights_ = calibrate_support(problem, None, self.calibration, self.bounds, self.on_infeasible).weights
        self._reduce(problem, k)

    def _reduce(self, problem, k):
        """Keep ``k`` records of the dense calibration ``dense_weights_`` by systematic PPS, then calibrate them."""
        pi = inclusion_probabilities(self.dense_weights_, k)
        self.sample_ = systematic_sample(pi, self.seed)
        ht = np.where(self.sample_, self.dense_weights_ / np.where(pi > 0, pi, 1.0), 0.0)
        _finish_sample(self, problem, ht)

    def reduced(self, data, marginal_targets=None, continuous_targets=None, weight_col="weight", *, n_records, seed):
        """The same dense calibration reduced to another budget or seed, without calibrating every record again.

        The dense step depends on neither ``n_records`` nor ``seed``: a sweep over budgets and
        seeds calibrates once and reduces many times.  The result is the fit
        ``CalibrateThenReduceCalibrator(n_records, seed=seed, ...)`` (the other parameters this
        estimator's) gives, weight for weight.

        Parameters
        ----------
        data : DataFrame or CalibrationProblem
            The data (or prepared problem) this estimator was fitted on.
        marginal_targets, continuous_targets : dict, optional
            Targets (DataFrame input).
        weight_col : str or None, default "weight"
            Design weights (DataFrame input).
        n_records : int
            Records to keep.
        seed : int or None
            Seed of the sampling.

        Returns
        -------
        CalibrateThenReduceCalibrator
            A fitted copy with ``n_records`` and ``seed`` set.
        """
        if not hasattr(self, "dense_weights_"):
            raise AttributeError("CalibrateThenReduceCalibrator is not fitted: call fit first")
        problem = as_problem(data, marginal_targets, continuous_targets, weight_col)
        if problem.n_records != self.dense_weights_.size:
            raise ValueError(f"data has {problem.n_records} records but the fit has {self.dense_weights_.size}")
        est = copy.deepcopy(self)
        est._reset()
        est.set_params(n_records=n_records, seed=seed)
        est._validate_params()
        est.dense_weights_ = self.dense_weights_.copy()
        est._reduce(problem, _check_budget(est.n_records, problem))
        est.weight_col_ = weight_col if isinstance(data, pd.DataFrame) else "(a prepared problem)"
        est._finish(problem)
        return est
