"""Scoring any weight vector against any set of targets (train or held out)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .targets import build_system

__all__ = [
    "target_errors",
    "mean_relative_error",
    "max_relative_error",
    "n_active",
    "kish_ess",
    "weight_summary",
    "evaluate",
]


def _weights(df, w) -> np.ndarray:
    w = np.asarray(w, dtype=float)
    if w.ndim != 1 or w.shape[0] != len(df):
        raise ValueError(f"weights must have shape ({len(df)},) to match the data, got {w.shape}")
    if not np.all(np.isfinite(w)):
        raise ValueError("weights contain NaN or infinite values")
    return w


def target_errors(df, weights, marginal_targets=None, continuous_targets=None) -> pd.DataFrame:
    """Per-target table for a weight vector.

    Returns
    -------
    DataFrame with columns ``target`` (name), ``kind``, ``value`` (the
    target), ``estimate`` (weighted total), ``error`` (estimate - value) and
    ``relative_error`` (``(estimate - value) / |value|``, signed).
    """
    w = _weights(df, weights)
    system = build_system(df, marginal_targets, continuous_targets)
    est = system.estimates(w)
    return pd.DataFrame(
        {
            "target": system.names,
            "kind": system.kinds,
            "value": system.b,
            "estimate": est,
            "error": est - system.b,
            "relative_error": (est - system.b) / np.abs(system.b),
        }
    )


def mean_relative_error(df, weights, marginal_targets=None, continuous_targets=None) -> float:
    """Mean absolute relative error over the targets (the published metric)."""
    t = target_errors(df, weights, marginal_targets, continuous_targets)
    return float(np.mean(np.abs(t["relative_error"])))


def max_relative_error(df, weights, marginal_targets=None, continuous_targets=None) -> float:
    """Largest absolute relative error over the targets."""
    t = target_errors(df, weights, marginal_targets, continuous_targets)
    return float(np.max(np.abs(t["relative_error"])))


def n_active(weights, tol: float = 1e-9) -> int:
    """Number of records with weight ``> tol``."""
    return int(np.count_nonzero(np.asarray(weights, dtype=float) > tol))


def kish_ess(weights) -> float:
    """Kish effective sample size ``(sum w)^2 / sum w^2`` (0 for all-zero weights)."""
    w = np.asarray(weights, dtype=float)
    s2 = float(np.dot(w, w))
    return 0.0 if s2 == 0 else float(w.sum() ** 2 / s2)


def weight_summary(weights, tol: float = 1e-9) -> dict:
    """Summary of a weight vector.

    Keys: ``n_active``, ``total``, ``min``/``median``/``max`` over active
    records, ``kish_ess``, and ``top1pct_share``, the share of the total held
    by the largest 1 % of records (at least one record).
    """
    w = np.asarray(weights, dtype=float)
    active = w[w > tol]
    total = float(w.sum())
    k = max(1, int(np.ceil(0.01 * w.size)))
    top = np.partition(w, w.size - k)[w.size - k :].sum() if w.size else 0.0
    return {
        "n_active": int(active.size),
        "total": total,
        "min": float(active.min()) if active.size else 0.0,
        "median": float(np.median(active)) if active.size else 0.0,
        "max": float(active.max()) if active.size else 0.0,
        "kish_ess": kish_ess(w),
        "top1pct_share": float(top / total) if total > 0 else float("nan"),
    }


def evaluate(df, weights, train_marginal=None, train_continuous=None, test_marginal=None,
             test_continuous=None, tol: float = 1e-9) -> dict:
    """One row of scores: train/test mean and max relative error plus the weight summary."""
    out = {
        "train_error": mean_relative_error(df, weights, train_marginal, train_continuous),
        "train_max_error": max_relative_error(df, weights, train_marginal, train_continuous),
    }
    if test_marginal or test_continuous:
        out["test_error"] = mean_relative_error(df, weights, test_marginal, test_continuous)
        out["test_max_error"] = max_relative_error(df, weights, test_marginal, test_continuous)
    else:
        out["test_error"] = out["test_max_error"] = float("nan")
    out.update(weight_summary(weights, tol=tol))
    return out
