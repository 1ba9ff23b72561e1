"""Scoring any weight vector against any set of targets (train or held out): the kit's one scorer.

Everything that reports an error, an active count or an effective sample size
goes through this module: :class:`Scorer` (systems built once, used by every
sweep and widget) and the DataFrame-facing helpers (:func:`target_errors`,
:func:`mean_relative_error`, ...), which build a system and score on it.

An **active** record is one with weight ``> ACTIVE_TOL = 1e-9``: weights are in
population units, so anything smaller is a billionth of a person, and first-order
solvers leave such crumbs (FISTA's iterates carry weights near 1e-13 that an exact
solver would set to zero).  Every count of active records in the kit uses this one
definition (:func:`n_active`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .frame import build_system
from .system import CalibrationSystem

__all__ = [
    "ACTIVE_TOL",
    "SMALL_SHARE",
    "Scorer",
    "relative_errors",
    "target_table",
    "target_errors",
    "mean_relative_error",
    "max_relative_error",
    "n_active",
    "support",
    "kish_ess",
    "concentration",
    "EXACT_TOL",
    "SCORE_COLUMNS",
    "weight_summary",
    "evaluate",
]

ACTIVE_TOL = 1e-9
"""A record is active when its weight is ``> ACTIVE_TOL``."""
SMALL_SHARE = 0.1
"""The rare-subpopulation metric looks at this share of the targets, the smallest by value."""
EXACT_TOL = 1e-8
"""Largest relative error of a train target in a fit called *exact* (every estimator's ``exact_`` and every
result row's ``exact`` use it)."""

ERROR_METRICS = ("error", "max_error", "median_error", "capped_error", "within_5pct", "uncovered_small")
"""The per-system error metrics: each appears as ``train_<metric>`` and ``test_<metric>``."""
CONCENTRATION_COLUMNS = ("n_active", "total_weight", "kish_ess", "design_effect", "max_weight", "g_min", "g_max")
"""What :func:`concentration` returns, in order."""
SCORE_COLUMNS = ["n_active", *(f"{s}_{m}" for m in ERROR_METRICS for s in ("train", "test")),
                 *CONCENTRATION_COLUMNS[1:], "exact"]
"""The columns :meth:`Scorer.score` returns, in order: the one list every result table derives from."""


def _small_cells(system, share):
    """Which records contribute to each of the ``share`` smallest targets: a 0/1 CSR, (k, n)."""
    m = system.n_targets
    k = max(1, int(np.ceil(share * m)))
    rows = np.argsort(np.abs(system.b), kind="stable")[:k]
    pattern = system.A[rows].tocsr(copy=True)
    pattern.data = (pattern.data != 0).astype(float)
    return pattern


def _weights(n, w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.ndim != 1 or w.shape[0] != n:
        raise ValueError(f"weights must have shape ({n},) to match the data, got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights contain NaN or infinite values")
    return w


def _in_frame_order(df, weights):
    """``weights`` in the frame's row order: a Series is aligned on ``df.index``, or refused."""
    if isinstance(weights, pd.Series):
        if weights.index.equals(df.index):
            return weights.to_numpy(dtype=float)
        if weights.index.is_unique and df.index.is_unique and len(weights) == len(df) \
                and weights.index.isin(df.index).all():
            return weights.reindex(df.index).to_numpy(dtype=float)
        raise ValueError("weights is a Series whose index is not the data's index: pass it on the DataFrame's index "
                         "(it is then aligned by label) or as an array in the DataFrame's row order")
    return weights


def _finite(weights, name="weights") -> np.ndarray:
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError(f"{name} has {int((~np.isfinite(w)).sum())} NaN or infinite value(s)")
    return w


def _nonnegative(weights, name="weights") -> np.ndarray:
    w = _finite(weights, name)
    if np.any(w < 0):
        raise ValueError(f"{name} has {int((w < 0).sum())} negative value(s); this summary needs weights >= 0")
    return w


def relative_errors(system: CalibrationSystem, w) -> np.ndarray:
    """Signed relative errors ``(A w - b) / |b|`` of every target.

    Parameters
    ----------
    system : CalibrationSystem
        The targets.
    w : array-like, shape (n,)
        Weights.

    Returns
    -------
    ndarray, shape (m,)
    """
    w = _weights(system.n_records, w)
    return (system.estimates(w) - system.b) / np.abs(system.b)


def target_table(system: CalibrationSystem, w) -> pd.DataFrame:
    """Per-target table of a weight vector on a built system.

    Parameters
    ----------
    system : CalibrationSystem
        The targets.
    w : array-like, shape (n,)
        Weights.

    Returns
    -------
    DataFrame
        Columns ``target`` (name), ``kind``, ``value`` (the target), ``estimate``
        (weighted total), ``error`` (estimate - value) and ``relative_error``
        (``(estimate - value) / |value|``, signed).
    """
    w = _weights(system.n_records, w)
    est = system.estimates(w)
    return pd.DataFrame({"target": system.names, "kind": system.kinds, "value": system.b, "estimate": est,
                         "error": est - system.b, "relative_error": (est - system.b) / np.abs(system.b)})


def n_active(weights, tol: float = ACTIVE_TOL) -> int:
    """Number of active records.

    Parameters
    ----------
    weights : array-like, shape (n,)
        Weights.
    tol : float, default ACTIVE_TOL (1e-9)
        A record is active when its weight is ``> tol``.

    Returns
    -------
    int
    """
    return int(np.count_nonzero(_finite(weights) > tol))


def kish_ess(weights) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2``.

    Parameters
    ----------
    weights : array-like, shape (n,)
        Weights.

    Returns
    -------
    float
        The ESS (0 for all-zero weights).  Defined for any finite weights (linear
        calibration can give negative ones).
    """
    w = _finite(weights)
    s2 = float(np.dot(w, w))
    return 0.0 if s2 == 0 else float(w.sum() ** 2 / s2)


def support(weights, tol: float = ACTIVE_TOL) -> np.ndarray:
    """The active records as a boolean mask: weight ``> tol`` (the kit's one support rule).

    Parameters
    ----------
    weights : array-like, shape (n,)
        Weights.
    tol : float, default ACTIVE_TOL (1e-9)
        A record is active when its weight is ``> tol``.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    return _finite(weights) > tol


def concentration(weights, base=None) -> dict:
    """How concentrated a weight vector is: the kit's one calculator of these numbers.

    Parameters
    ----------
    weights : array-like, shape (n,)
        Weights (finite).
    base : array-like, shape (n,), optional
        The weights ``g = w / base`` is measured against; ``g`` is taken over the
        active records with ``base > 0`` (NaN without a base or without such records).

    Returns
    -------
    dict
        ``n_active``, ``total_weight``, ``kish_ess``, ``design_effect`` (Kish:
        ``n_active / kish_ess``, NaN for all-zero weights), ``max_weight`` (0 for an empty
        vector), ``g_min``, ``g_max``.
    """
    w = _finite(weights)
    active = w > ACTIVE_TOL
    ess = kish_ess(w)
    n_act = int(np.count_nonzero(active))
    if base is not None:
        base = np.asarray(base, dtype=float)
        if base.shape != w.shape:
            raise ValueError(f"base must have the weights' shape {w.shape}, got {base.shape}")
        active &= base > 0
        g = w[active] / base[active]
    else:
        g = np.array([])
    return {"n_active": n_act, "total_weight": float(w.sum()), "kish_ess": ess,
            "design_effect": n_act / ess if ess > 0 else float("nan"),
            "max_weight": float(w.max()) if w.size else 0.0,
            "g_min": float(g.min()) if g.size else float("nan"), "g_max": float(g.max()) if g.size else float("nan")}


class Scorer:
    """Scores weight vectors on train and held-out targets whose systems are built once.

    Parameters
    ----------
    train : CalibrationSystem
        The targets the fit saw.
    test : CalibrationSystem, optional
        Held-out targets (errors are NaN without them).
    base : ndarray, shape (n,), optional
        The weights ``g = w / base`` is measured against (a problem's start point
        ``w0``); ``g_min``/``g_max`` are NaN without it.
    small_share : float, default SMALL_SHARE (0.1)
        The rare-subpopulation check looks at this share of each system's targets, the
        smallest by value (at least one target).

    """

    def __init__(self, train: CalibrationSystem, test: CalibrationSystem | None = None, base=None,
                 small_share=SMALL_SHARE):
        for name, s in (("train", train), ("test", test)):
            if s is not None and not isinstance(s, CalibrationSystem):
                raise TypeError(f"{name} must be a CalibrationSystem (see rk.build_system), got {type(s).__name__}")
        if test is not None and test.n_records != train.n_records:
            raise ValueError(f"train has {train.n_records} records but test has {test.n_records}")
        if not (isinstance(small_share, (int, float)) and 0 < small_share <= 1):
            raise ValueError(f"small_share must be in (0, 1], got {small_share!r}")
        self.train, self.test = train, test
        self.base = None if base is None else np.asarray(base, dtype=float)
        self.small_share = float(small_share)
        self._small = {name: _small_cells(s, small_share) for name, s in (("train", train), ("test", test))
                       if s is not None}

    def score(self, w, **fields) -> dict:
        """One row of scores for ``w``, with ``fields`` added.

        Parameters
        ----------
        w : array-like, shape (n,)
            Weights.
        **fields
            Extra entries of the row (method, grid position, seed, ...).

        Returns
        -------
        dict
            ``n_active``, ``train_error`` / ``test_error`` (mean absolute relative
            error), ``train_max_error`` / ``test_max_error``, ``train_median_error`` /
            ``test_median_error``, ``train_capped_error`` / ``test_capped_error`` (mean of
            ``min(|e|, 1)``: errors capped at 100 %, as the field caps them), ``train_within_5pct`` /
            ``test_within_5pct`` (share of targets within 5 %), ``train_uncovered_small`` /
            ``test_uncovered_small`` (share of the ``small_share`` smallest targets that no
            active record contributes to: rare subpopulations dropped to zero),
            ``total_weight``, ``kish_ess``, ``design_effect`` (``n_active / kish_ess``),
            ``max_weight``, ``g_min``/``g_max`` (over active records, against ``base``) and
            ``exact`` (every train target met to 1e-8).
        """
        w = _weights(self.train.n_records, w)
        tr = np.abs(relative_errors(self.train, w))
        te = np.abs(relative_errors(self.test, w)) if self.test is not None else np.array([np.nan])
        conc = concentration(w, self.base)
        keep = (w > ACTIVE_TOL).astype(float)
        row = {"n_active": conc["n_active"]}
        for name, e in (("train", tr), ("test", te)):
            small = self._small.get(name)  # None: no such system, every tail metric NaN
            tail = (np.minimum(e, 1.0).mean(), (e <= 0.05).mean(), ((small @ keep) == 0).mean()) \
                if small is not None else (np.nan,) * 3
            row.update({f"{name}_error": float(e.mean()), f"{name}_max_error": float(e.max()),
                        f"{name}_median_error": float(np.median(e))})
            for key, v in zip(("capped_error", "within_5pct", "uncovered_small"), tail):
                row[f"{name}_{key}"] = float(v)
        row.update({k: conc[k] for k in CONCENTRATION_COLUMNS[1:]})
        row["exact"] = bool(tr.max() <= EXACT_TOL)
        row = {k: row[k] for k in SCORE_COLUMNS}
        row.update(fields)
        return row


def target_errors(df, weights, marginal_targets=None, continuous_targets=None) -> pd.DataFrame:
    """Per-target table for a weight vector (see :func:`target_table`).

    Parameters
    ----------
    df : DataFrame, n rows
        Microdata.
    weights : array-like or Series, shape (n,)
        Weights in the frame's row order, or a Series on the frame's index (aligned by label).
    marginal_targets : dict {column: {category: count}}, optional
        Count targets.
    continuous_targets : dict {column: total}, optional
        Total targets.

    Returns
    -------
    DataFrame
        ``target``, ``kind``, ``value``, ``estimate``, ``error``, ``relative_error``.
    """
    return target_table(build_system(df, marginal_targets, continuous_targets), _in_frame_order(df, weights))


def _abs_errors(df, weights, marginal_targets, continuous_targets) -> np.ndarray:
    return np.abs(relative_errors(build_system(df, marginal_targets, continuous_targets), _in_frame_order(df, weights)))


def mean_relative_error(df, weights, marginal_targets=None, continuous_targets=None) -> float:
    """Mean absolute relative error over the targets (the published metric).

    Parameters
    ----------
    df : DataFrame, n rows
        Microdata.
    weights : array-like or Series, shape (n,)
        Weights in the frame's row order, or a Series on the frame's index (aligned by label).
    marginal_targets : dict {column: {category: count}}, optional
        Count targets.
    continuous_targets : dict {column: total}, optional
        Total targets.

    Returns
    -------
    float
    """
    return float(np.mean(_abs_errors(df, weights, marginal_targets, continuous_targets)))


def max_relative_error(df, weights, marginal_targets=None, continuous_targets=None) -> float:
    """Largest absolute relative error over the targets.

    Parameters
    ----------
    df : DataFrame, n rows
        Microdata.
    weights : array-like or Series, shape (n,)
        Weights in the frame's row order, or a Series on the frame's index (aligned by label).
    marginal_targets : dict {column: {category: count}}, optional
        Count targets.
    continuous_targets : dict {column: total}, optional
        Total targets.

    Returns
    -------
    float
    """
    return float(np.max(_abs_errors(df, weights, marginal_targets, continuous_targets)))


def weight_summary(weights, tol: float = ACTIVE_TOL) -> dict:
    """Summary of a weight vector.

    Parameters
    ----------
    weights : array-like, shape (n,)
        Weights.
    tol : float, default ACTIVE_TOL (1e-9)
        A record is active when its weight is ``> tol``.

    Returns
    -------
    dict
        ``n_active``, ``total``, ``min``/``median``/``max`` over active records,
        ``kish_ess``, ``design_effect`` (Kish: ``n_active / kish_ess``), and
        ``top1pct_share``, the share of the total held by the
        largest 1 % of records (at least one record).
    """
    w = _nonnegative(weights)
    active = w[w > tol]
    total = float(w.sum())
    k = max(1, int(np.ceil(0.01 * w.size)))
    top = np.partition(w, w.size - k)[w.size - k :].sum() if w.size else 0.0
    ess = kish_ess(w)
    return {
        "n_active": int(active.size),
        "total": total,
        "min": float(active.min()) if active.size else 0.0,
        "median": float(np.median(active)) if active.size else 0.0,
        "max": float(active.max()) if active.size else 0.0,
        "kish_ess": ess,
        "design_effect": int(active.size) / ess if ess > 0 else float("nan"),
        "top1pct_share": float(top / total) if total > 0 else float("nan"),
    }


def evaluate(df, weights, train_marginal=None, train_continuous=None, test_marginal=None, test_continuous=None,
             tol: float = ACTIVE_TOL) -> dict:
    """One row of scores: train/test mean, max and median relative error plus the weight summary.

    Parameters
    ----------
    df : DataFrame, n rows
        Microdata.
    weights : array-like or Series, shape (n,)
        Weights in the frame's row order, or a Series on the frame's index (aligned by label).
    train_marginal, train_continuous : dict, optional
        Train targets.
    test_marginal, test_continuous : dict, optional
        Held-out targets (errors are NaN without them).
    tol : float, default ACTIVE_TOL (1e-9)
        Active-record threshold of the weight summary.

    Returns
    -------
    dict
        :meth:`Scorer.score`'s entries and :func:`weight_summary`'s.
    """
    weights = _in_frame_order(df, weights)
    test = build_system(df, test_marginal, test_continuous) if (test_marginal or test_continuous) else None
    out = Scorer(build_system(df, train_marginal, train_continuous), test).score(weights)
    out.update(weight_summary(weights, tol=tol))
    return out
