"""Which records a selector keeps: keep rates and weight shares by design weight and by subgroup.

A selector that keeps ``k`` of ``n`` records can tilt the sample: Hard Concrete's gates
all cost the same, so they favour records of large design weight (each covers more of the
population), and a subgroup the survey over-sampled (small design weights) loses records;
if no train target mentions it, no refit can restore it.  :func:`selection_profile`
measures that tilt from the returned weights alone; :func:`selection_tilt` summarises it in
two numbers a comparison row carries.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .scoring import ACTIVE_TOL

__all__ = ["selection_profile", "selection_tilt"]


def _checked(w, d):
    w = np.asarray(w, dtype=float)
    d = np.asarray(d, dtype=float)
    if w.ndim != 1 or d.shape != w.shape:
        raise ValueError(f"weights and design_weights must be one-dimensional of the same length, got {w.shape} and "
                         f"{d.shape}")
    if not (np.all(np.isfinite(w)) and np.all(np.isfinite(d))) or np.any(d < 0):
        raise ValueError("weights must be finite and design_weights finite and >= 0")
    return w, d


def _quantile_bins(d, bins):
    """Bin of each record by its design weight's rank (``bins`` groups of equal size, ties by position)."""
    order = np.argsort(d, kind="stable")
    out = np.empty(d.size, dtype=int)
    out[order] = np.arange(d.size) * bins // max(d.size, 1)
    return out


def selection_profile(weights, design_weights, groups=None, bins=5) -> pd.DataFrame:
    """Keep rate and weight share of each design-weight quantile (or each subgroup) against its design share.

    Parameters
    ----------
    weights : array-like, shape (n,)
        Returned weights (a record is kept when its weight is above 1e-9).
    design_weights : array-like, shape (n,)
        The survey's design weights.
    groups : array-like, shape (n,), optional
        A subgroup label per record (e.g. SNAP households); default: the ``bins`` quantiles
        of the design weight, smallest first.
    bins : int, default 5
        Quantiles of the design weight when ``groups`` is omitted.

    Returns
    -------
    DataFrame
        One row per group: ``records``, ``kept``, ``keep_rate`` (kept / records),
        ``design_share`` (its share of the design weights), ``weight_share`` (its share of
        the returned weights) and ``weight_ratio`` (``weight_share / design_share``: 1 means
        the selection and refit left the group's share of the population as the design had it).
    """
    w, d = _checked(weights, design_weights)
    if groups is None:
        if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
            raise ValueError(f"bins must be an integer >= 1, got {bins!r}")
        labels = pd.Series(_quantile_bins(d, int(bins)), name="design_weight_quantile")
    else:
        labels = pd.Series(np.asarray(groups), name="group")
        if labels.size != w.size:
            raise ValueError(f"groups must have one label per record ({w.size}), got {labels.size}")
    frame = pd.DataFrame({"g": labels.to_numpy(), "kept": w > ACTIVE_TOL, "w": w, "d": d})
    out = frame.groupby("g", sort=True).agg(records=("kept", "size"), kept=("kept", "sum"), w=("w", "sum"),
                                            d=("d", "sum"))
    out.index.name = labels.name
    out["keep_rate"] = out["kept"] / out["records"]
    out["design_share"] = out["d"] / d.sum()
    out["weight_share"] = out["w"] / w.sum() if w.sum() > 0 else np.nan
    out["weight_ratio"] = out["weight_share"] / out["design_share"]
    return out.drop(columns=["w", "d"])


def selection_tilt(weights, design_weights, bins=5) -> dict:
    """Two numbers for a result row: how a selection leans on design weight.

    Parameters
    ----------
    weights : array-like, shape (n,)
        Returned weights.
    design_weights : array-like, shape (n,)
        Design weights.
    bins : int, default 5
        Design-weight quantiles.

    Returns
    -------
    dict
        ``keep_tilt``: keep rate of the largest-design-weight quantile over that of the
        smallest (1: no lean; a PPS sample with ``pi`` proportional to ``d`` leans by design, and
        its Horvitz-Thompson weights undo it); ``low_weight_ratio``: the smallest quantile's
        share of the returned weights over its design share (1: the over-sampled records,
        small design weights, keep their share of the population; below 1: they lost it).
    """
    prof = selection_profile(weights, design_weights, bins=bins)
    lo, hi = prof.iloc[0], prof.iloc[-1]
    return {"keep_tilt": float(hi["keep_rate"] / lo["keep_rate"]) if lo["keep_rate"] > 0 else float("inf"),
            "low_weight_ratio": float(lo["weight_ratio"])}
