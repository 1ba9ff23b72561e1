"""Plot helpers: each takes ``ax=None``, returns the axes and never calls ``plt.show()``."""

from __future__ import annotations

import numpy as np

from .methods import METHODS, method_label
from .summary import pareto_front

# relative errors below this are the solvers' round-off (exact calibration stops at ~1e-10), drawn as zero
PRECISION = 1e-8

__all__ = ["plot_frontier", "plot_train_test", "plot_runtime", "plot_fit"]


def _style(method):
    m = METHODS.get(method)
    return m.style if m is not None else ("o-", None)


def _minor_percent(v, _):
    """Label the 2x and 5x minor ticks of a log axis in percent, leave the others blank."""
    if v <= 0:
        return ""
    lead = v / 10 ** np.floor(np.log10(v))
    return f"{100 * v:.3g}%" if np.isclose(lead, 2) or np.isclose(lead, 5) else ""


def _formatter(fn):
    """matplotlib's FuncFormatter, imported when a plot is drawn (not with the kit)."""
    from matplotlib.ticker import FuncFormatter

    return FuncFormatter(fn)


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        _, ax = plt.subplots(figsize=(8, 5))
    return ax


def plot_frontier(summary, ax=None, y="test_error", title="Records used vs held-out error", ymax=None, yscale="log"):
    """Frontier: x = mean active records (log), y = mean error, error bars = standard error across seeds.

    Dense raking, when present, is a horizontal reference line; the Pareto front (no fit
    with fewer records and lower error) is drawn as a grey step line; fits that keep no
    record are not plotted at a made-up x but counted in a note under the axes.  By default
    the y-axis is logarithmic and shows every point, so the high-error arms (a Hard Concrete
    sweep, an L1 vertex) stay on the chart next to the best ones: every legend entry has a
    visible mark.  With ``ymax`` set, points above it are counted in the note and a method
    with no point below it is labelled "(above the y range)" in the legend.

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
    ymax : float or None, default None
        Upper y limit; ``None`` shows every point.
    yscale : {"log", "linear"}, default "log"
        The y-axis scale.  On a log axis an error of exactly zero cannot be drawn: such
        points are counted in the note.

    Returns
    -------
    matplotlib Axes
    """
    if summary is None or len(summary) == 0 or not {"method", "n_active", y} <= set(summary.columns):
        raise ValueError(f"summary must be a non-empty DataFrame with 'method', 'n_active' and {y!r} columns "
                         "(the output of rk.summarize)")
    if yscale not in ("log", "linear"):
        raise ValueError(f"yscale must be 'log' or 'linear', got {yscale!r}")
    if ymax is not None and not (np.isfinite(ymax) and ymax > 0):
        raise ValueError(f"ymax must be a positive number or None, got {ymax!r}")
    ax = _ax(ax)
    kept = summary[summary["n_active"] >= 1]
    zero = summary[summary["n_active"] < 1]
    dense = kept[kept["method"] == "dense"]

    def above(values):
        v = np.asarray(values, dtype=float)
        return v > ymax if ymax is not None else np.zeros(v.shape, bool)

    def undrawable(values):
        """Not finite, or not positive on a log axis."""
        v = np.asarray(values, dtype=float)
        return ~np.isfinite(v) | ((v <= 0) if yscale == "log" else False)

    def off(values):
        """Which values cannot be seen."""
        return above(values) | undrawable(values)

    def suffix(values):
        """What a legend label says when none of its values can be seen ("" when some can)."""
        if not off(values).all():
            return ""
        return " (above the y range)" if above(values).any() else " (no positive error to draw)"

    for method, g in kept[kept["method"] != "dense"].groupby("method", sort=False):
        g = g.sort_values("n_active")
        fmt, color = _style(method)
        label = method_label(method)
        label += suffix(g[y])
        ax.errorbar(g["n_active"], g[y], yerr=g.get(f"{y}_se"), fmt=fmt, color=color, capsize=3, markersize=5,
                    lw=1.3, label=label)
        if y == "test_error" and "test_error_min" in g and g["test_error_min"].notna().any():
            # L1's optimum is a set: the held-out error ranges over it; mark the vertex solution too
            h = g[g["test_error_min"].notna()]
            ax.vlines(h["n_active"], h["test_error_min"], h["test_error_max"], color=color, alpha=0.35, lw=4,
                      label=f"{method_label(method)}: range over the optimal set")
            ax.plot(h["vertex_n_active"], h["vertex_test_error"], "v", color=color, mfc="none",
                    label=f"{method_label(method)}: vertex solution{suffix(h['vertex_test_error'])}")
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
    values = [kept[y].to_numpy(dtype=float)]
    if y == "test_error" and "vertex_test_error" in kept:
        values.append(kept["vertex_test_error"].dropna().to_numpy(dtype=float))
    if y == "test_error" and "test_error_min" in kept:
        values.append(kept["test_error_min"].dropna().to_numpy(dtype=float))
    values = np.concatenate(values)
    shown = values[~off(values)]
    if yscale == "log":
        ax.set_yscale("log")
        if shown.size:
            top = shown.max() * 1.5 if ymax is None else ymax
            ax.set_ylim(shown.min() / 1.5, top)
        ax.yaxis.set_major_formatter(_formatter(lambda v, _: f"{100 * v:.3g}%"))
        ax.yaxis.set_minor_formatter(_formatter(_minor_percent))
    else:
        ax.set_ylim(0, ymax)
        ax.yaxis.set_major_formatter(_formatter(lambda v, _: f"{v:.0%}"))
    notes = []
    if len(zero):
        notes.append(f"not shown: {len(zero)} fit(s) keeping no record ("
                     + ", ".join(sorted({method_label(m) for m in zero['method']})) + ")")
    n_above, n_undrawable = int(above(kept[y]).sum()), int((undrawable(kept[y]) & ~above(kept[y])).sum())
    if n_above:
        notes.append(f"{n_above} point(s) above {ymax:.0%} not drawn")
    if n_undrawable:
        notes.append(f"{n_undrawable} point(s) at zero error not drawn on the log axis")
    if notes:
        ax.text(0.0, -0.16, "; ".join(notes), transform=ax.transAxes, fontsize=7, va="top", color="#555555")
    ax.grid(True, which="major", alpha=0.25)
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
    ax.xaxis.set_major_formatter(_formatter(lambda v, _: f"{v:.0%}"))
    ax.yaxis.set_major_formatter(_formatter(lambda v, _: f"{v:.0%}"))
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

    Relative errors below ``PRECISION`` (1e-8, the round-off of an exact calibration) are drawn
    as zero, so a fit that meets every target shows empty bars and says so instead of magnifying
    1e-15 residuals to full-width bars.

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
        import matplotlib.pyplot as plt

        _, axes = plt.subplots(1, 3, figsize=(14, 4), gridspec_kw={"width_ratios": [1.3, 1, 1]})
    ax1, ax2, ax3 = axes
    t = estimator.target_table()
    err = t["relative_error"].to_numpy(dtype=float)
    # errors below the solver's precision are round-off, not misses: drawn as zero, not blown up to full width
    err = np.where(np.abs(err) < PRECISION, 0.0, err)
    order = np.argsort(-np.abs(err), kind="stable")[:25]
    shown = t.iloc[order[::-1]]
    ax1.barh(shown["target"].astype(str), err[order[::-1]], color="#1f77b4")
    ax1.axvline(0, color="k", lw=0.8)
    if not np.any(err):
        ax1.set_xlim(-0.01, 0.01)
        ax1.text(0.5, 0.5, f"every train target met\n(|error| < {PRECISION:.0e}, the solver's precision)",
                 transform=ax1.transAxes, ha="center", va="center", fontsize=9,
                 bbox={"facecolor": "white", "alpha": 0.85, "edgecolor": "none"})
    ax1.xaxis.set_major_formatter(_formatter(lambda v, _: f"{v:+.1%}"))
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
