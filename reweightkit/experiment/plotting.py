"""Plot helpers: each takes ``ax=None``, returns the axes and never calls ``plt.show()``."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import FuncFormatter

from .methods import METHODS, method_label

__all__ = ["plot_frontier", "plot_train_test", "plot_runtime"]


def _style(method):
    m = METHODS.get(method)
    return m.style if m is not None else ("o-", None)


def _ax(ax):
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 5))
    return ax


def plot_frontier(summary, ax=None, y="test_error", title="Records used vs held-out error"):
    """Frontier: x = mean active records (log), y = mean error, error bars = standard error across seeds.

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

    Returns
    -------
    matplotlib Axes
    """
    if summary is None or len(summary) == 0 or not {"method", "n_active", y} <= set(summary.columns):
        raise ValueError(f"summary must be a non-empty DataFrame with 'method', 'n_active' and {y!r} columns "
                         "(the output of rk.summarize)")
    ax = _ax(ax)
    for method, g in summary.groupby("method", sort=False):
        g = g.sort_values("n_active")
        fmt, color = _style(method)
        label = method_label(method)
        x = np.maximum(g["n_active"], 0.8)  # all-zero fits sit at the left edge
        ax.errorbar(x, g[y], yerr=g.get(f"{y}_se"), fmt=fmt, color=color, capsize=3, markersize=5, lw=1.3,
                    label=label)
        if y == "test_error" and "test_error_min" in g and g["test_error_min"].notna().any():
            # L1's optimum is a set: the held-out error ranges over it; mark the vertex solution too
            h = g[g["test_error_min"].notna()]
            ax.vlines(np.maximum(h["n_active"], 0.8), h["test_error_min"], h["test_error_max"], color=color,
                      alpha=0.35, lw=4, label=f"{label}: range over the optimal set")
            ax.plot(h["vertex_n_active"], h["vertex_test_error"], "v", color=color, mfc="none",
                    label=f"{label}: vertex solution")
    ax.set_xscale("log")
    ax.set_xlabel("Active records (weight > 1e-9)")
    ax.set_ylabel("Held-out error (mean |relative error|)" if y == "test_error" else y)
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:.0%}"))
    ax.set_ylim(0, None)
    ax.grid(True, alpha=0.25)
    ax.legend(fontsize=8)
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
