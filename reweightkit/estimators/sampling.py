"""The classical ways to keep k records: balanced sampling (cube method) and calibrate-then-reduce."""

from __future__ import annotations

import numpy as np

from .._validation import Options
from ..solvers.calibration import DISTANCES, calibrate_support
from ..solvers.cube import cube_sample, inclusion_probabilities, systematic_sample
from .base import SamplerCalibrator

__all__ = ["BalancedSampleCalibrator", "CalibrateThenReduceCalibrator"]


def _check_budget(k, problem):
    if k > int(np.sum(problem.w0 > 0)):
        raise ValueError(f"n_records must be at most the number of records with positive design weight "
                         f"({int(np.sum(problem.w0 > 0))}), got {k}")


class BalancedSampleCalibrator(SamplerCalibrator):
    """Keep ``n_records`` records by balanced sampling (the cube method), then calibrate them.

    Inclusion probabilities proportional to the design weights (capped at 1,
    iteratively) and summing to ``n_records``; the balancing variables are the train
    targets' columns weighted by the design weights (so every Horvitz-Thompson
    estimate of a train target from the sample equals the design-weighted total up
    to the landing phase's rounding) and the probabilities themselves (so the sample
    size is exactly ``n_records``).  See :func:`reweightkit.cube_sample`.

    Parameters
    ----------
    n_records : int
        Records to keep.
    seed : int or None, default None
        Seed of the sampling.
    refit : bool or {"relaxed", "linear", "raking", "logit"}, default "raking"
        How the sample is calibrated, starting from its Horvitz-Thompson weights
        ``w0 / pi`` (``False``: those weights, unchanged).
    bounds : tuple (lo, hi), optional
        Bounds of the refit, relative to the Horvitz-Thompson weights (``"relaxed"``:
        relative to ``w0``).
    on_infeasible : {"raise", "least_squares"}, default "least_squares"
        When the sample cannot meet the targets within the bounds.

    Attributes
    ----------
    weights_ : ndarray, shape (n,)
        The calibrated weights of the sample, zero elsewhere.
    sample_ : ndarray of bool, shape (n,)
        The balanced sample.
    pi_ : ndarray, shape (n,)
        The inclusion probabilities.
    ht_weights_ : ndarray, shape (n,)
        The sample's Horvitz-Thompson weights ``w0 / pi`` (zero elsewhere).
    """

    def _fit_problem(self, problem, previous_weights):
        k = int(self.n_records)
        _check_budget(k, problem)
        pi = inclusion_probabilities(problem.w0, k)
        X = np.column_stack([pi, (problem.At_rec.multiply(problem.w0[:, None])).toarray()])
        self.sample_ = cube_sample(X, pi, self.seed)
        self.pi_ = pi
        self.ht_weights_ = np.where(self.sample_, problem.w0 / np.where(pi > 0, pi, 1.0), 0.0)
        self.weights_, _ = self._refit(problem, self.ht_weights_, base=self.ht_weights_)


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
        Bounds of the dense calibration (on ``w / w0``) and of the refit (relative to
        the Horvitz-Thompson weights).
    on_infeasible : {"raise", "least_squares"}, default "least_squares"
        When the kept records cannot meet the targets within the bounds.

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
                 on_infeasible="least_squares"):
        super().__init__(n_records, seed=seed, refit=refit, bounds=bounds, on_infeasible=on_infeasible)
        self.calibration = calibration

    def _fit_problem(self, problem, previous_weights):
        k = int(self.n_records)
        _check_budget(k, problem)
        bounds = self.bounds if self.calibration != "raking" else None
        self.dense_weights_ = calibrate_support(problem, None, self.calibration, bounds, "raise").weights
        pi = inclusion_probabilities(self.dense_weights_, k)
        self.sample_ = systematic_sample(pi, self.seed)
        ht = np.where(self.sample_, self.dense_weights_ / np.where(pi > 0, pi, 1.0), 0.0)
        self.weights_, _ = self._refit(problem, ht, base=ht)
