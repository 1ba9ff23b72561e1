"""The estimator contract every calibrator shares.

scikit-learn's, without depending on scikit-learn: ``__init__`` only stores its
keyword parameters; ``get_params``/``set_params`` are introspected from
``__init__``'s signature, so ``sklearn.base.clone`` and grid searches work; the
parameters are checked in one declarative style (``_parameter_constraints``,
see :mod:`reweightkit._validation`) when ``fit`` starts; ``fit`` prepares the
problem once (or takes an already prepared one) and hands it to the subclass's
``_fit_problem``.
"""

from __future__ import annotations

import inspect
import warnings
from numbers import Integral

import numpy as np
import pandas as pd

from .._validation import MAX_SEED, Bounds, Interval, Options, validate_params
from ..exceptions import TargetMissWarning
from ..problem.frame import as_problem
from ..problem.scoring import EXACT_TOL, concentration, relative_errors, support
from ..solvers.calibration import DISTANCES
from ..solvers.refit import refit_support

REFIT_OPTIONS = ("relaxed", *DISTANCES)
"""What ``refit=`` takes besides a bool: ``"relaxed"`` (the same relative loss without the penalty, on the
support; ``True`` means this) or a calibration distance (exact calibration of the support)."""
REFIT_CONSTRAINTS = {
    "refit": ["boolean", Options(REFIT_OPTIONS)],
    "bounds": [None, Bounds()],
    "on_infeasible": [Options({"raise", "least_squares"})],
}

FAR_OFF = 0.5
"""A train target missed by more than this fraction of its value is reported (:class:`TargetMissWarning`)."""

__all__ = ["BaseCalibrator", "SamplerCalibrator"]


class BaseCalibrator:
    """Base class of the calibrators: parameters, validation, ``repr`` and the shared ``fit``.

    Subclasses define ``__init__`` (keyword parameters, stored unchanged),
    ``_parameter_constraints`` and ``_fit_problem(problem, previous_weights)``,
    which sets ``weights_`` and any other fitted attribute.
    """

    _parameter_constraints: dict = {}
    _miss_advice = ""  # one sentence on what to change when targets are far off
    _g_base = "the design weights"  # what g = w / base_weights_ is taken against, in words (printed, stored)
    _bounds_rtol = 1e-9  # relative tolerance of the bounds check: float64 solvers

    def _warn_on_miss(self) -> bool:
        """Whether a far-off target needs the generic warning (False where the fit warned already)."""
        return True

    @classmethod
    def _get_param_names(cls) -> list[str]:
        sig = inspect.signature(cls.__init__)
        return sorted(p.name for p in sig.parameters.values()
                      if p.name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD))

    def get_params(self, deep=True) -> dict:
        """The estimator's parameters, as passed to ``__init__``.

        Parameters
        ----------
        deep : bool, default True
            Accepted for scikit-learn compatibility (no parameter is an estimator).

        Returns
        -------
        dict
            Parameter name to value.
        """
        return {name: getattr(self, name) for name in self._get_param_names()}

    def set_params(self, **params):
        """Set parameters by name; returns ``self``.

        Parameters
        ----------
        **params
            New values; every name must be a parameter of ``__init__``.

        Returns
        -------
        self
            The estimator.
        """
        valid = self._get_param_names()
        for name, value in params.items():
            if name not in valid:
                raise ValueError(f"{name!r} is not a parameter of {type(self).__name__}; parameters: {valid}")
            setattr(self, name, value)
        return self

    def __repr__(self) -> str:
        defaults = {p.name: p.default for p in inspect.signature(type(self).__init__).parameters.values()}
        shown = []
        for name, value in self.get_params().items():
            default = defaults.get(name, inspect.Parameter.empty)
            try:
                same = bool(value is default or (type(value) is type(default) and value == default))
            except (TypeError, ValueError):  # arrays and the like compare element-wise
                same = False
            if not same:
                shown.append(f"{name}={value!r}")
        return f"{type(self).__name__}({', '.join(shown)})"

    def _validate_params(self) -> None:
        validate_params(self._parameter_constraints, self.get_params())

    def _reset(self) -> None:
        for name in [k for k in vars(self) if k.endswith("_") and not k.startswith("_")]:
            delattr(self, name)

    def fit(self, data, marginal_targets=None, continuous_targets=None, weight_col="weight"):
        """Fit weights to the targets; returns ``self``.

        Parameters
        ----------
        data : DataFrame or CalibrationProblem
            Microdata, n rows (never modified), or a problem already prepared by
            :func:`reweightkit.prepare` (then give no targets).
        marginal_targets : dict {column: {category: count}}, optional
            Count targets.
        continuous_targets : dict {column: total}, optional
            Total targets.
        weight_col : str or None, default "weight"
            Column of design weights; ``None`` asks for uniform design weights (a name
            that is not a column is an error).

        Returns
        -------
        self
            The fitted estimator: ``weights_`` (ndarray, shape (n,), float64, >= 0),
            ``n_active_``, ``target_names_``, ``train_errors_`` (signed relative error of
            each train target) and ``max_train_error_``; ``base_weights_`` (the weights
            ``g = w / base_weights_`` is taken against), ``kish_ess_``, ``design_effect_``,
            ``max_weight_``, ``g_min_``, ``g_max_``, ``exact_`` (every train target within
            ``EXACT_TOL = 1e-8``), ``bounds_held_`` and ``converged_`` (the method's own
            stopping criterion), plus the method's own attributes.

        Raises
        ------
        ValueError
            On bad parameters or data; and when ``bounds`` are given and the returned weights
            do not keep ``g = w / base_weights_`` inside them on the kept records (checked on
            what is returned, never assumed).

        Warns
        -----
        TargetMissWarning
            When a train target is missed by more than half its value, with the numbers.
        PartialMarginWarning
            When a margin has targets for some of its categories only.
        """
        previous = getattr(self, "weights_", None)
        self._reset()  # a failed fit leaves no stale result behind
        self._validate_params()
        problem = as_problem(data, marginal_targets, continuous_targets, weight_col)
        self._fit_problem(problem, previous)
        self.weight_col_ = weight_col if isinstance(data, pd.DataFrame) else "(a prepared problem)"
        self._finish(problem)
        return self

    def _finish(self, problem, warn=True):
        """Everything every fitted estimator reports, computed from the returned weights; warns on far-off targets
        (``warn=False``: a fit of a path or grid, whose misses the caller reads from ``train_errors_``)."""
        self.target_names_ = list(problem.system.names)
        self.index_ = problem.labels
        if not hasattr(self, "base_weights_"):  # a sampler sets its Horvitz-Thompson weights
            self.base_weights_ = problem.d
        self.target_values_ = np.asarray(problem.system.b, dtype=float)
        self.train_errors_ = relative_errors(problem.system, self.weights_)
        self.max_train_error_ = float(np.max(np.abs(self.train_errors_)))
        self._concentration()
        if warn and self.max_train_error_ > FAR_OFF and self._warn_on_miss():
            worst = np.argsort(-np.abs(self.train_errors_))[:5]
            far = int(np.sum(np.abs(self.train_errors_) > FAR_OFF))
            listed = ", ".join(f"{self.target_names_[i]} {self.train_errors_[i]:+.1%}" for i in worst
                               if abs(self.train_errors_[i]) > FAR_OFF)
            warnings.warn(f"{type(self).__name__} leaves {far} of {len(self.target_names_)} train targets off by more "
                          f"than {FAR_OFF:.0%} ({listed}; {self.n_active_} active records). {self._miss_advice}",
                          TargetMissWarning, stacklevel=3)

    def _fit_problem(self, problem, previous_weights):  # pragma: no cover - every subclass defines it
        raise NotImplementedError

    def weights_series(self, name="weight"):
        """The fitted weights as a Series on the data's index.

        Parameters
        ----------
        name : str, default "weight"
            The Series' name.

        Returns
        -------
        pandas.Series
        """
        if not hasattr(self, "weights_"):
            raise AttributeError(f"{type(self).__name__} is not fitted: call fit first")
        return pd.Series(self.weights_, index=self.index_, name=name)

    def with_weights(self, df, column="calibrated_weight"):
        """A copy of ``df`` with the fitted weights in ``column`` (aligned on the index).

        Parameters
        ----------
        df : DataFrame
            The data the estimator was fitted on (same index); never modified.
        column : str, default "calibrated_weight"
            The new column.

        Returns
        -------
        DataFrame
        """
        s = self.weights_series(column)
        if not (len(df) == len(s) and df.index.equals(s.index)):
            raise ValueError("df must have the index of the data the estimator was fitted on")
        return df.assign(**{column: s.to_numpy()})

    def target_table(self):
        """Per-target errors of the fitted weights on the train targets.

        Returns
        -------
        DataFrame
            ``target``, ``value``, ``estimate``, ``relative_error``.
        """
        if not hasattr(self, "weights_"):
            raise AttributeError(f"{type(self).__name__} is not fitted: call fit first")
        est = self.target_values_ * (1 + self.train_errors_)
        return pd.DataFrame({"target": self.target_names_, "value": self.target_values_, "estimate": est,
                             "relative_error": self.train_errors_})

    def _concentration(self) -> None:
        """How concentrated the weights are (:func:`reweightkit.problem.scoring.concentration`, against
        ``base_weights_``), whether exact calibration held and whether the bounds held."""
        c = concentration(self.weights_, self.base_weights_)
        self.n_active_ = c["n_active"]
        self.kish_ess_, self.design_effect_, self.max_weight_ = c["kish_ess"], c["design_effect"], c["max_weight"]
        self.g_min_, self.g_max_ = c["g_min"], c["g_max"]
        self.exact_ = bool(self.max_train_error_ <= EXACT_TOL)
        bounds = getattr(self, "bounds", None)
        rtol = self._bounds_rtol
        self.bounds_held_ = None if bounds is None or np.isnan(self.g_min_) else bool(
            self.g_min_ >= bounds[0] * (1 - rtol) and self.g_max_ <= bounds[1] * (1 + rtol))
        if self.bounds_held_ is False:  # a promise is checked on what is returned, or the fit fails
            g_min, g_max = self.g_min_, self.g_max_
            self._reset()
            raise ValueError(f"{type(self).__name__} returned weights outside bounds={tuple(bounds)}: g = w / base "
                             f"ranges over [{g_min:.6g}, {g_max:.6g}] on the kept records (base: "
                             f"{self._g_base}); widen the bounds or choose a method that honours them")

    def _refit(self, problem, w, base=None):
        """Select, then calibrate: refit the support of ``w`` as ``refit`` says (see :data:`REFIT_OPTIONS`),
        through :func:`reweightkit.solvers.refit.refit_support`, the kit's one refit.

        ``base``: the weights a distance refit and the bounds are relative to (default
        ``problem.d``, the design weights; a sampler passes its Horvitz-Thompson weights).  Returns the refit
        weights and the :class:`~reweightkit.solvers.refit.RefitResult` (None without a refit
        or without a support).
        """
        if self.refit is False or not support(w).any():
            return w, None
        r = refit_support(problem, w, self.refit, getattr(self, "bounds", None), self.on_infeasible, base=base,
                          **{k: getattr(self, k) for k in ("tol", "max_iter") if k in self._get_param_names()})
        return r.weights, r


class SamplerCalibrator(BaseCalibrator):
    """Base of the estimators that draw exactly ``n_records`` records and then calibrate them.

    One parameter set for every sampler: ``n_records``, ``seed``, ``refit`` (default
    ``"raking"``), ``bounds`` (on ``g = w / (d / pi)``: the sample's Horvitz-Thompson weights,
    ``base_weights_``) and ``on_infeasible`` (default ``"raise"``: a sample that cannot meet the
    targets is an error naming them; ``"least_squares"`` asks for the bounded least-squares fit,
    ``exact_`` False).

    Parameters
    ----------
    n_records : int
        Records to keep.
    seed : int or None, default None
        Seed of the draw.
    refit : bool or {"relaxed", "linear", "raking", "logit"}, default "raking"
        How the kept records are calibrated.
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / (d / pi)`` of the calibration.
    on_infeasible : {"raise", "least_squares"}, default "raise"
        When the kept records cannot meet the targets within the bounds.
    """

    _g_base = "the sample's Horvitz-Thompson weights d / pi"

    _parameter_constraints = {
        "n_records": [Interval(Integral, 1, None)],
        "seed": [None, Interval(Integral, 0, MAX_SEED)],
        **REFIT_CONSTRAINTS,
    }

    def __init__(self, n_records, *, seed=None, refit="raking", bounds=None, on_infeasible="raise"):
        self.n_records = n_records
        self.seed = seed
        self.refit = refit
        self.bounds = bounds
        self.on_infeasible = on_infeasible
