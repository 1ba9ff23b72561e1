"""Dense calibration with a distance and bounds (Deville & Sarndal), as a function and as an estimator."""

from __future__ import annotations

import warnings
from numbers import Integral, Real

from .._validation import Bounds, Interval, Options, validate_params
from ..exceptions import ConvergenceWarning, TargetMissWarning
from ..problem.frame import as_problem
from ..solvers.calibration import DISTANCES
from ..solvers.refit import calibrate_support
from .base import BaseCalibrator
from .raking import check_reachable

__all__ = ["Calibrator", "calibrate"]

_CONSTRAINTS = {
    "distance": [Options(DISTANCES)],
    "bounds": [None, Bounds()],
    "on_infeasible": [Options({"raise", "least_squares"})],
    "tol": [Interval(Real, 0, None, closed="neither")],
    "max_iter": [Interval(Integral, 1, None)],
}


def calibrate(data, marginal_targets=None, continuous_targets=None, *, support=None, distance="raking", bounds=None,
              on_infeasible="raise", weight_col="weight", tol=1e-12, max_iter=100):
    """Calibrate the records of a support (all by default) exactly to the targets.

    Parameters
    ----------
    data : DataFrame or CalibrationProblem
        Microdata (with the targets below) or a prepared problem.
    marginal_targets, continuous_targets : dict, optional
        Targets (DataFrame input).
    support : array-like of int or bool, optional
        Positions (or a mask) of the records that may carry weight.
    distance : {"linear", "raking", "logit"}, default "raking"
        Deville & Sarndal's distance (see :mod:`reweightkit.solvers.calibration`);
        ``"linear"`` with bounds is truncated, ``"logit"`` needs bounds.
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / d``, ``d`` the design weights (as R's ``survey::calibrate``:
        no hidden rescaling).
    on_infeasible : {"raise", "least_squares"}, default "raise"
        When the targets cannot be met on the support within the bounds (decided by
        one LP): a ``ValueError`` naming them, or the bounded least-squares fit.
    weight_col : str or None, default "weight"
        Design weights (DataFrame input).
    tol : float, default 1e-12
        Newton's tolerance on the relative residuals.
    max_iter : int, default 100
        Newton steps.

    Returns
    -------
    CalibrationResult
        ``weights``, ``exact``, ``residuals``, ``base``, ``unattainable``, ...
    """
    validate_params(_CONSTRAINTS, {"distance": distance, "bounds": bounds, "on_infeasible": on_infeasible,
                                   "tol": tol, "max_iter": max_iter})
    problem = as_problem(data, marginal_targets, continuous_targets, weight_col)
    return calibrate_support(problem, support, distance, bounds, on_infeasible, tol, max_iter)


class Calibrator(BaseCalibrator):
    """Dense calibration of every record: linear, raking or logit distance, with bounds on ``g``.

    The generalised raking of Deville & Sarndal (1992) as R's ``survey::calibrate``
    offers it (``calfun = "linear" | "raking" | "logit"``, ``bounds``): Newton's
    method on the multipliers; when the targets cannot be met within the bounds,
    one LP names the unattainable targets and the fit raises, or returns the
    bounded least-squares solution (``on_infeasible="least_squares"``, ``exact_=False``).

    Parameters
    ----------
    distance : {"linear", "raking", "logit"}, default "raking"
        The distance (``"linear"`` with bounds is truncated; ``"logit"`` needs bounds).
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / d``, ``d`` the design weights (``base_weights_``), as R's
        ``survey::calibrate`` defines them: no hidden rescaling.  When the design weights
        do not add up to the targets' level (nonresponse), the bounds must allow the
        average ``g`` that closes the gap.
    on_infeasible : {"raise", "least_squares"}, default "raise"
        See :func:`calibrate`.
    tol : float, default 1e-12
        Newton's tolerance on the relative residuals.
    max_iter : int, default 100
        Newton steps.

    Attributes
    ----------
    weights_ : ndarray, shape (n,)
        Calibrated weights.
    exact_ : bool
        Every target met (relative residual <= 1e-8).
    residuals_ : ndarray, shape (m,)
        Relative residuals.
    unattainable_ : list of str
        Targets the LP found unattainable (with ``on_infeasible="least_squares"``).
    n_iter_ : int
        Newton steps.
    converged_ : bool
        Whether the solver met its own criterion (Newton's tolerance, or the bounded
        least squares' certificate).
    """

    _parameter_constraints = _CONSTRAINTS

    def __init__(self, distance="raking", *, bounds=None, on_infeasible="raise", tol=1e-12, max_iter=100):
        self.distance = distance
        self.bounds = bounds
        self.on_infeasible = on_infeasible
        self.tol = tol
        self.max_iter = max_iter

    def _warn_on_miss(self) -> bool:
        return False  # _fit_problem reports every inexact fit itself

    def _fit_problem(self, problem, previous_weights):
        if self.distance != "linear":
            check_reachable(problem, problem.d)  # a multiplicative distance only rescales the design weights
        r = calibrate_support(problem, None, self.distance, self.bounds, self.on_infeasible, self.tol, self.max_iter)
        self.weights_, self.exact_, self.residuals_ = r.weights, r.exact, r.residuals
        self.unattainable_, self.n_iter_, self.converged_ = r.unattainable, r.n_iter, r.converged
        if r.method == "least_squares":
            warnings.warn(f"the targets cannot be met within bounds={self.bounds}; returning the bounded least-squares "
                          f"fit (largest relative residual {r.max_residual:.3g}; unattainable together: "
                          f"{r.unattainable[:10]})", TargetMissWarning, stacklevel=3)
        elif not r.exact:
            warnings.warn(f"the targets are attainable but Newton's method stopped after {r.n_iter} steps at relative "
                          f"residual {r.max_residual:.3g}; raise max_iter", ConvergenceWarning, stacklevel=3)
