"""From fits to conclusions: means and standard errors per grid point, the Pareto front, run times."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .methods import METHODS
from .sweeps import PARAM_COLUMNS

__all__ = ["summarize", "pareto_front", "runtime_table"]

_SCORES = ["n_active", "train_error", "test_error", "train_max_error", "test_max_error", "train_median_error",
           "test_median_error", "train_capped_error", "test_capped_error", "train_within_5pct", "test_within_5pct",
           "train_uncovered_small", "test_uncovered_small", "kish_ess", "design_effect", "max_weight", "g_min", "g_max",
           "seconds"]
_OPTIMAL_SET = ["test_error_min", "test_error_max", "vertex_n_active", "vertex_test_error"]


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error across seeds (and replicates) for each (method, grid point).

    Fits are grouped by ``grid`` (the position in the method's grid): across
    replicate samples an L1 grid point is the same ``alpha`` but a different
    absolute lambda, and a subsample size may differ with ``n``.  The grid
    parameters (``alpha``, ``lambda``, ``lambda_l0``, ``n_records``) are then the
    means over the group.  Results of :func:`reweightkit.run_family_holdout` (a
    ``holdout`` column) are summarised per held-out family as well: errors on
    different families are never pooled.

    Parameters
    ----------
    results : DataFrame
        Rows of a sweep or :func:`reweightkit.run_comparison`.

    Returns
    -------
    DataFrame
        One row per (method, grid), or (holdout, method, grid): ``param`` (the name of the method's grid
        column), the grid parameters, the mean of every score, its standard error
        (``*_se``, 0 for a single fit), ``n_fits`` and ``converged`` (all fits); with
        matched-budget rows also the means of ``n_selected``, ``keep_tilt``, ``low_weight_ratio``
        and ``budget_met`` (all fits; True for rows without a budget).
    """
    if not isinstance(results, pd.DataFrame) or results.empty or not {"method", "grid"} <= set(results.columns):
        raise ValueError("results must be a non-empty DataFrame of fits with 'method' and 'grid' columns "
                         "(the output of a sweep or rk.run_comparison)")
    keys = ["holdout", "method", "grid"] if "holdout" in results.columns else ["method", "grid"]
    g = results.groupby(keys, sort=False)
    scores = [c for c in _SCORES if c in results]
    params = [c for c in PARAM_COLUMNS if c in results]
    se = g[scores].sem(ddof=1).fillna(0.0).add_suffix("_se")
    out = pd.concat([g[params].mean(), g[scores].mean(), se], axis=1)
    extra = [c for c in _OPTIMAL_SET if c in results]
    if extra:
        out = pd.concat([out, g[extra].mean()], axis=1)
    budget = [c for c in ("n_selected", "keep_tilt", "low_weight_ratio") if c in results]
    if budget:  # matched-budget rows: the selection's count and lean, and whether every fit kept its budget
        out = pd.concat([out, g[budget].mean()], axis=1)
        out["budget_met"] = g["budget_met"].agg(lambda v: bool(v.fillna(True).astype(bool).all()))
    out["n_fits"] = g.size()
    out["converged"] = g["converged"].all()
    if "exact" in results:
        out["exact"] = g["exact"].all()
    out = out.reset_index()
    out.insert(len(keys), "param", [METHODS[m].param if m in METHODS else None for m in out["method"]])
    return out


def pareto_front(summary: pd.DataFrame, x="n_active", y="test_error") -> pd.DataFrame:
    """Rows not dominated by any other.

    A row is dominated when another has fewer-or-equal ``x`` and lower-or-equal
    ``y``, one of them strictly.

    Parameters
    ----------
    summary : DataFrame
        Usually :func:`summarize`'s output.
    x : str, default "n_active"
        Column to minimise first (records kept).
    y : str, default "test_error"
        Column to minimise second (held-out error).

    Returns
    -------
    DataFrame
        The non-dominated rows, by increasing ``x``.
    """
    s = summary.sort_values([x, y], kind="stable").reset_index(drop=True)
    keep, best = [], np.inf
    for i, v in enumerate(s[y].to_numpy()):
        if v < best:
            keep.append(i)
            best = v
    return s.iloc[keep].reset_index(drop=True)


def runtime_table(results: pd.DataFrame) -> pd.DataFrame:
    """Fits, total seconds and seconds per fit by method.

    Parameters
    ----------
    results : DataFrame
        Rows of a sweep or :func:`reweightkit.run_comparison`.

    Returns
    -------
    DataFrame
        ``method``, ``fits``, ``seconds_total``, ``seconds_per_fit``.
    """
    g = results.groupby("method", sort=False)["seconds"]
    return pd.DataFrame({"fits": g.size(), "seconds_total": g.sum(), "seconds_per_fit": g.mean()}).reset_index()
