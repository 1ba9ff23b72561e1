"""Plot helpers: each takes ``ax=None``, returns the axes and never calls ``plt.show()``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from .methods import METHODS, method_label
from .summary import pareto_front

__all__ = ["plot_frontier", "plot_train_test", "plot_runtime", "plot_fit"]


def _style(method):
    m = METHODS.get(method)
    return m.style if m is not None else ("o-", None)


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    return ax


def plot_frontier(summary, ax=None, y="test_error", title="Records used vs held-out error", ymax="auto"):
    """Frontier: x = mean active records (log), y = mean error, error bars = standard error across seeds.

    Dense raking, when present, is a horizontal reference line; the Pareto front (no fit
    with fewer records and lower error) is drawn as a grey step line; fits that keep no
    record are not plotted at a made-up x but counted in a note under the axes, and so
    are points above the y range.

    Parameters
    ----------
    summary : DataFrame
        :func:`reweightkit.summarize`'s output.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).
    y : str, default "test_error"
        The error column.
    title : str
        Axes title.
    ymax : float, "auto" or None, default "auto"
        Upper y limit: ``"auto"`` shows the competitive region (three times the best
        error among fits keeping at least one record, at least 10 points and at most
        the largest error); ``None`` shows everything.

    Returns
    -------
    matplotlib Axes
    """
    if summary is None or len(summary) == 0 or not {"method", "n_active", y} <= set(summary.columns):
        raise ValueError(f"summary must be a non-empty DataFrame with 'method', 'n_active' and {y!r} columns "
                         "(the output of rk.summarize)")
    ax = _ax(ax)
    kept = summary[summary["n_active"] >= 1]
    zero = summary[summary["n_active"] < 1]
    dense = kept[kept["method"] == "dense"]
    if ymax == "auto":
        top = float(kept[y].max()) if len(kept) else 1.0
        ymax = min(max(3 * float(kept[y].min()), 0.10), top * 1.05) if len(kept) else None
    for method, g in kept[kept["method"] != "dense"].groupby("method", sort=False):
        g = g.sort_values("n_active")
        fmt, color = _style(method)
        label = method_label(method)
        ax.errorbar(g["n_active"], g[y], yerr=g.get(f"{y}_se"), fmt=fmt, color=color, capsize=3, markersize=5,
                    lw=1.3, label=label)
        if y == "test_error" and "test_error_min" in g and g["test_error_min"].notna().any():
            # L1's optimum is a set: the held-out error ranges over it; mark the vertex solution too
            h = g[g["test_error_min"].notna()]
            ax.vlines(h["n_active"], h["test_error_min"], h["test_error_max"], color=color, alpha=0.35, lw=4,
                      label=f"{label}: range over the optimal set")
            ax.plot(h["vertex_n_active"], h["vertex_test_error"], "v", color=color, mfc="none",
                    label=f"{label}: vertex solution")
    for row in dense.itertuples():
        ax.axhline(getattr(row, y), color="k", ls=":", lw=1.2,
                   label=f"{method_label('dense')} ({row.n_active:,.0f} records)")
    front = pareto_front(kept, y=y) if len(kept) else kept
    if len(front) > 1:
        ax.step(front["n_active"], front[y], where="post", color="#555555", lw=3, alpha=0.25, zorder=0,
                label="Pareto front")
    ax.set_xscale("log")
    ax.set_xlabel("Active records (weight > 1e-9)")
    ax.set_ylabel("Held-out error (mean |relative error|)" if y == "test_error" else y)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylim(0, ymax)
    notes = []
    if len(zero):
        notes.append(f"not shown: {len(zero)} fit(s) keeping no record ("
                     + ", ".join(sorted({method_label(m) for m in zero['method']})) + ")")
    if ymax is not None and (kept[y] > ymax).any():
        notes.append(f"{int((kept[y] > ymax).sum())} point(s) above {ymax:.0%} (plot_frontier(..., ymax=None) "
                     "shows all)")
    if notes:
        ax.text(0.0, -0.16, "; ".join(notes), transform=ax.transAxes, fontsize=7, va="top", color="#555555")
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    ax.set_title(title)
    return ax


def plot_train_test(summary, ax=None):
    """Train error against held-out error, one series per method.

    Parameters
    ----------
    summary : DataFrame
        :func:`reweightkit.summarize`'s output.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    for method, g in summary.groupby("method", sort=False):
        fmt, color = _style(method)
        ax.plot(g["train_error"], g["test_error"], fmt[0], color=color, label=method_label(method), alpha=0.8)
    ax.set_xlabel("Train error (mean |relative error|)")
    ax.set_ylabel("Held-out error")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=8)
    return ax


def plot_runtime(runtime, ax=None):
    """Horizontal bars of seconds per fit by method.

    Parameters
    ----------
    runtime : DataFrame
        :func:`reweightkit.runtime_table`'s output.
    ax : matplotlib Axes, optional
        Where to draw (a new figure when omitted).

    Returns
    -------
    matplotlib Axes
    """
    ax = _ax(ax)
    r = runtime.sort_values("seconds_per_fit")
    ax.barh([method_label(m) for m in r["method"]], r["seconds_per_fit"],
            color=[_style(m)[1] or "#888888" for m in r["method"]])
    ax.set_xscale("log")
    ax.set_xlabel("Seconds per fit (log)")
    ax.grid(True, axis="x", alpha=0.25)
    return ax


def plot_fit(estimator, axes=None):
    """One fit at a glance: per-target relative errors, the distribution of g = w / w0, and concentration.

    Parameters
    ----------
    estimator : BaseCalibrator
        A fitted estimator.
    axes : sequence of 3 matplotlib Axes, optional
        Where to draw (a new 1 x 3 figure when omitted).

    Returns
    -------
    ndarray of matplotlib Axes
    """
    if not hasattr(estimator, "weights_"):
        raise ValueError("estimator must be fitted (call fit first)")
    if axes is None:
        _, axes = plt.subplots(1, 3, figsize=(14, 4), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    ax1, ax2, ax3 = axes
    t = estimator.target_table()
    order = np.argsort(-np.abs(t["relative_error"].to_numpy()))[:25]
    shown = t.iloc[order[::-1]]
    ax1.barh(shown["target"].astype(str), shown["relative_error"], color="#1f77b4")
    ax1.axvline(0, color="k", lw=0.8)
    ax1.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+.1%}"))
    ax1.set_xlabel("relative error of the calibrated total")
    ax1.set_title(f"train targets (largest {len(shown)} of {len(t)})")
    w, base = estimator.weights_, estimator.base_weights_
    active = (w > 1e-9) & (base > 0)
    if active.any():
        g = w[active] / base[active]
        ax2.hist(g, bins=np.geomspace(g.min() * 0.99, g.max() * 1.01 + 1e-12, 40), color="#2ca02c")
        ax2.set_xscale("log")
    ax2.set_xlabel("g = w / w0 (active records)")
    ax2.set_ylabel("records")
    ax2.set_title(f"{int(active.sum())} active records")
    ws = np.sort(w[w > 0])[::-1]
    share = np.cumsum(ws) / ws.sum() if ws.size else np.array([0.0])
    ax3.plot(np.arange(1, ws.size + 1) / max(ws.size, 1), share, color="#d62728")
    ax3.plot([0, 1], [0, 1], color="k", lw=0.6, ls=":")
    ax3.set_xlabel("share of active records (largest weights first)")
    ax3.set_ylabel("share of total weight")
    ax3.set_title(f"Kish ESS {estimator.kish_ess_:,.0f}, design effect {estimator.design_effect_:.2f}")
    for ax in axes:
        ax.grid(True, alpha=0.25)
    return np.asarray(axes)
