"""Raking all records: the dense reference of every comparison.

:class:`RakeCalibrator` runs the same Newton iteration as
``Calibrator(distance="raking")`` and differs from it only when raking fails: it
warns (:class:`~reweightkit.RakeWarning`, with the largest residual) and returns the
last iterate with ``converged_ = exact_ = False``, where :class:`~reweightkit.Calibrator`
raises or (``on_infeasible="least_squares"``) returns the bounded least-squares fit.
A comparison wants a row even where exact raking is impossible; a user certifying a
weight file wants :class:`~reweightkit.Calibrator`.
"""

from __future__ import annotations

import warnings
from numbers import Integral, Real

from .._validation import Interval
from ..exceptions import RakeWarning
from ..problem.system import unreachable_targets
from ..solvers.calibration import rake
from .base import BaseCalibrator

__all__ = ["RakeCalibrator", "check_reachable"]


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
        check_reachable(problem, problem.w0)
        self.weights_, self.converged_, self.max_residual_ = rake(problem.At_rec, problem.b_t, problem.w0,
                                                                  tol=self.tol, max_iter=self.max_iter)
        if not self.converged_:
            warnings.warn(f"raking did not reach the targets (largest relative residual {self.max_residual_:.3g})",
                          RakeWarning, stacklevel=3)


def check_reachable(problem, w):
    """Refuse targets none of whose records has a positive weight in ``w`` (raking only rescales ``w``)."""
    blocked = unreachable_targets(problem.system, w)
    if blocked:
        raise ValueError(f"raking (like any multiplicative calibration: logit) multiplies the design weights, so it "
                         f"cannot reach targets {blocked[:10]}: none of their records has a positive design weight")
