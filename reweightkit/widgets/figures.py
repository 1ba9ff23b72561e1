"""The sliders' pictures: every ``render_*`` returns ``(html, figure)`` -- an HTML summary (the numbers) and a
:class:`matplotlib.figure.Figure` -- and needs neither a browser nor ipywidgets, so pytest calls them directly.

The summaries mark the active-record count as ``<span class="rk-active">N</span>`` so that a browser
test can read it.
"""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from ..experiment.methods import METHODS, method_label
from ..problem.gates import BETA, GAMMA, ZETA, expected_l0, gate_density, gate_prob_one, gate_prob_zero
from ..problem.scoring import ACTIVE_TOL
from .paths import PenaltyPath, moved_target_fit

__all__ = ["render_path_state", "render_moved_target", "render_gate", "render_budget", "render_family_holdout"]

_PCT = FuncFormatter(lambda v, _: f"{v:.0%}")


class _PngFigure(Figure):
    """A matplotlib Figure that displays itself as a PNG in Jupyter, whatever the backend's state.

    The ``render_*`` functions build figures without pyplot (no global state), and
    IPython shows a bare ``Figure`` as ``<Figure size ...>`` text until pyplot's
    inline backend has been set up; ``_repr_png_`` makes the static copies in the
    notebooks real images.
    """

    def _repr_png_(self):
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100)
        return buf.getvalue()


def _fmt_penalty(param, v):
    return f"{param} = {v:.3g}"


def render_path_state(path: PenaltyPath, index: int):
    """Summary and figure of grid point ``index``: the weights of its first seed, and where it sits on the path.

    Left: histogram of the non-zero weights relative to the design weights
    (log scale).  Right: active records against train and held-out error along
    the whole path (mean over seeds), the current point ringed.

    Parameters
    ----------
    path : PenaltyPath
        The precomputed fits.
    index : int
        Grid position.

    Returns
    -------
    html : str
        The summary.
    fig : matplotlib.figure.Figure
        The picture.
    """
    rows = path.rows(index)
    first = rows.index[0]
    w = path.weights[first]
    r = rows.iloc[0]
    seeds = len(rows)
    spread = (f" (seeds: {int(rows.n_active.min())}&ndash;{int(rows.n_active.max())} active, held-out "
              f"{rows.test_error.min():.1%}&ndash;{rows.test_error.max():.1%})" if seeds > 1 else "")
    html = (f"<b>{method_label(path.method)}, {_fmt_penalty(path.param, path.penalties[index])}</b>: "
            f"active records <span class=\"rk-active\">{int(r.n_active)}</span> of {w.size}; "
            f"train error {r.train_error:.2%}; held-out error {r.test_error:.2%}; "
            f"total weight {r.total_weight:,.0f}{spread}")
    fig = _PngFigure(figsize=(10, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    act = w > ACTIVE_TOL
    if act.any():
        ratio = w[act] / path.design[act]
        bins = np.geomspace(max(ratio.min(), 1e-6) * 0.99, ratio.max() * 1.01 + 1e-12, 40)
        ax1.hist(ratio, bins=bins, color=METHODS[path.method].style[1])
        ax1.set_xscale("log")
    else:
        ax1.text(0.5, 0.5, "all weights are zero", ha="center", va="center", transform=ax1.transAxes)
    ax1.set_xlabel("weight / design weight (active records)")
    ax1.set_ylabel("records")
    ax1.set_title(f"{int(r.n_active)} active records")
    g = path.table.groupby(path.param, sort=False)[["n_active", "train_error", "test_error"]].mean()
    x = np.maximum(g["n_active"], 0.8)
    ax2.plot(x, g["train_error"], "o-", ms=3, label="train")
    ax2.plot(x, g["test_error"], "s-", ms=3, label="held-out")
    cur = g.loc[path.penalties[index]]
    ax2.plot([max(cur.n_active, 0.8)] * 2, [cur.train_error, cur.test_error], "o", ms=11, mfc="none", mec="k")
    ax2.set_xscale("log")
    ax2.yaxis.set_major_formatter(_PCT)
    ax2.set_xlabel("active records (log)")
    ax2.set_ylabel("mean |relative error|")
    ax2.legend(fontsize=8)
    ax2.grid(True, alpha=0.25)
    ax2.set_title(_fmt_penalty(path.param, path.penalties[index]))
    return html, fig


def render_moved_target(df, marginal, continuous, target, factor, *, alpha=0.01, solver="auto", weight_col="weight"):
    """Summary and figure after moving one target: per-target relative errors and the records each category keeps.

    Parameters
    ----------
    df : DataFrame
        Microdata.
    marginal, continuous : dict or None
        The targets (never modified).
    target : str
        Name of the moved target (``"column=category"`` or ``"column"``).
    factor : float
        Multiplier (> 0).
    alpha : float, default 0.01
        L1 penalty as a fraction of lambda_max.
    solver : {"auto", "fista", "ipm", "active-set"}, default "auto"
        Whose optimal point is shown (:class:`~reweightkit.SparseCalibrator`'s ``solver``; ``"auto"``'s
        active set returns a basic solution, ``"fista"`` its point from the design weights).
    weight_col : str or None, default "weight"
        Design weights (``None``: uniform).

    Returns
    -------
    html : str
        The summary.
    fig : matplotlib.figure.Figure
        The picture.
    """
    fit = moved_target_fit(df, marginal, continuous, target, factor, alpha=alpha, solver=solver, weight_col=weight_col)
    t = fit["table"]
    html = (f"<b>{target} &times; {factor:.2f}</b>: active records <span class=\"rk-active\">{fit['n_active']}</span>"
            f" of {len(df)}; mean |relative error| {t.relative_error.abs().mean():.2%}; "
            f"largest {t.relative_error.abs().max():.2%} ({t.target[t.relative_error.abs().idxmax()]})")
    fig = _PngFigure(figsize=(10, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    colors = ["#d62728" if name == target else "#7f7f7f" for name in t.target]
    ax1.barh(t.target, t.relative_error, color=colors)
    ax1.axvline(0, color="k", lw=0.8)
    ax1.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+.1%}"))
    ax1.set_xlabel("relative error of the calibrated total")
    ax1.set_title("per-target errors (moved target in red)")
    w = fit["weights"]
    act = w > ACTIVE_TOL
    # what sparsity does: how many of each category's records keep a weight
    cats = [(f"{col}={cat}", (df[col] == cat).to_numpy()) for col, cs in fit["marginal"].items() for cat in cs]
    names = [name for name, _ in cats]
    total = np.array([member.sum() for _, member in cats])
    kept = np.array([(member & act).sum() for _, member in cats])
    ax2.barh(names, total, color="#dddddd", label="records in the file")
    ax2.barh(names, kept, color="#1f77b4", label="records kept (weight > 0)")
    ax2.set_xlabel("records")
    ax2.legend(fontsize=7, loc="lower right", framealpha=0.9)
    ax2.set_title(f"records kept per category ({fit['n_active']} of {len(df)})")
    return html, fig


def render_gate(log_alpha=0.0, beta=BETA, gamma=GAMMA, zeta=ZETA):
    """Density of the Hard Concrete gate on (0, 1) and its two atoms, with P(z = 0) and the expected-L0 penalty.

    Parameters
    ----------
    log_alpha : float, default 0.0
        Gate location.
    beta, gamma, zeta : float
        Temperature and stretch interval (l0-python's defaults).

    Returns
    -------
    html : str
        The summary.
    fig : matplotlib.figure.Figure
        The picture.
    """
    x = np.linspace(1e-4, 1 - 1e-4, 400)
    p0, p1 = float(gate_prob_zero(log_alpha, beta, gamma, zeta)), float(gate_prob_one(log_alpha, beta, gamma, zeta))
    pen = float(expected_l0(log_alpha, beta, gamma, zeta))
    html = (f"log &alpha; = {log_alpha:.2f}, &beta; = {beta:.2f}, &gamma; = {gamma:.2f}, &zeta; = {zeta:.2f}: "
            f"P(z = 0) = <span class=\"rk-p0\">{p0:.3f}</span>, P(z = 1) = {p1:.3f}, "
            f"expected-L0 penalty P(z &ne; 0) = {pen:.3f}")
    fig = _PngFigure(figsize=(7, 3.4), layout="constrained")
    ax = fig.subplots()
    ax.plot(x, gate_density(x, log_alpha, beta, gamma, zeta), label="density on (0, 1)")
    ax.bar([0, 1], [p0, p1], width=0.03, color="#d62728", alpha=0.7, label="P(z = 0), P(z = 1) (atoms)")
    ax.set_xlabel("gate z")
    ax.set_ylabel("density / probability")
    ax.set_ylim(0, max(3.0, p0 * 1.1, p1 * 1.1))
    ax.legend(fontsize=8)
    ax.set_title("Hard Concrete gate")
    return html, fig


def render_budget(summary: pd.DataFrame, k: int):
    """Summary and figure of the methods compared at record budget ``k``: held-out error and Kish ESS.

    Parameters
    ----------
    summary : DataFrame
        :func:`reweightkit.summarize` of a matched-budget comparison (``n_records`` filled).
    k : int
        The budget to show (one of ``summary.n_records``).

    Returns
    -------
    html : str
        The summary (the best method marked ``rk-best``).
    fig : matplotlib.figure.Figure
        Bars of held-out error (with 2 standard errors) and ESS per method, dense raking as a line.
    """
    rows = summary[np.isclose(summary["n_records"].astype(float), k)].sort_values("test_error")
    if rows.empty:
        raise ValueError(f"no fit at n_records={k}; budgets: {sorted(summary['n_records'].dropna().unique())}")
    dense = summary[summary["method"] == "dense"]
    best = rows.iloc[0]
    html = (f"<b>{k} records</b>: best held-out error <span class=\"rk-best\">{method_label(best.method)}</span> "
            f"{best.test_error:.2%} &plusmn; {best.test_error_se:.2%}; "
            + "; ".join(f"{method_label(r.method)} {r.test_error:.2%}" for r in rows.iloc[1:].itertuples()))
    fig = _PngFigure(figsize=(10, 3.6), layout="constrained")
    ax1, ax2 = fig.subplots(1, 2)
    labels = [method_label(m) for m in rows["method"]]
    colors = [METHODS[m].style[1] if m in METHODS else "#888888" for m in rows["method"]]
    ax1.barh(labels, rows["test_error"], xerr=2 * rows["test_error_se"], color=colors)
    if len(dense):
        ax1.axvline(float(dense["test_error"].iloc[0]), color="k", ls=":", lw=1, label="dense raking")
        ax1.legend(fontsize=8)
    ax1.xaxis.set_major_formatter(_PCT)
    ax1.set_xlabel("held-out error (mean |relative error|, 2 s.e.)")
    ax1.invert_yaxis()
    ax2.barh(labels, rows["kish_ess"], color=colors)
    ax2.set_xlabel("Kish effective sample size")
    ax2.invert_yaxis()
    ax2.set_yticklabels([])
    fig.suptitle(f"matched budget: {k} records")
    return html, fig


HOLDOUT_METRICS = {"test_error": "mean |relative error|", "test_median_error": "median |relative error|",
                   "test_capped_error": "mean of min(|relative error|, 1)", "test_max_error": "largest |relative error|",
                   "test_uncovered_small": "share of the smallest 10 % of targets with no kept record"}
"""The held-out metrics :func:`render_family_holdout` can show, with their descriptions."""


def render_family_holdout(summary: pd.DataFrame, family, metric="test_capped_error"):
    """Each method's held-out ``metric`` on one held-out family, against the records it keeps.

    Parameters
    ----------
    summary : DataFrame
        :func:`reweightkit.summarize` of :func:`reweightkit.run_family_holdout`'s results, grouped by
        ``holdout`` too (one row per holdout, method and grid point).
    family : str
        The held-out family to show (one of ``summary.holdout``).
    metric : str, default "test_capped_error"
        A key of :data:`HOLDOUT_METRICS`.

    Returns
    -------
    html : str
        The best fit on that family.
    fig : matplotlib.figure.Figure
        ``metric`` against active records (log) per method.
    """
    if metric not in HOLDOUT_METRICS:
        raise ValueError(f"metric must be one of {list(HOLDOUT_METRICS)}, got {metric!r}")
    rows = summary[summary["holdout"] == family]
    if rows.empty:
        raise ValueError(f"no held-out family {family!r}; families: {sorted(summary['holdout'].unique())}")
    best = rows.sort_values(metric).iloc[0]
    html = (f"held out <b>{family}</b>: {HOLDOUT_METRICS[metric]}; best <span class=\"rk-best\">"
            f"{method_label(best.method)}</span> {best[metric]:.2%} with {best.n_active:,.0f} records")
    fig = _PngFigure(figsize=(7.5, 3.6), layout="constrained")
    ax = fig.subplots()
    for method, g in rows.groupby("method", sort=False):
        style, color = METHODS[method].style if method in METHODS else ("o-", "#888888")
        g = g.sort_values("n_active")
        ax.plot(g["n_active"], g[metric], style, color=color, label=method_label(method))
    ax.set_xscale("log")
    ax.yaxis.set_major_formatter(_PCT)
    ax.set_xlabel("active records")
    ax.set_ylabel(HOLDOUT_METRICS[metric])
    ax.set_title(f"held-out family: {family}")
    ax.legend(fontsize=8)
    return html, fig


