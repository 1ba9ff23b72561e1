"""What the notebooks' sliders do, as plain functions, plus thin ipywidgets glue.

Every slider callback is a ``render_*`` function returning ``(html, figure)``:
an HTML summary (the numbers) and a :class:`matplotlib.figure.Figure` (the
picture).  They need neither a browser nor ipywidgets, so pytest calls them
directly.  The ``*_explorer`` functions wire them to sliders; they import
ipywidgets lazily (it is in the ``notebooks`` extra).

Slow computations never run in a callback: L1 and Hard Concrete sliders index
a :class:`PenaltyPath` computed once; the moved-target slider refits one L1
problem (milliseconds) with ``continuous_update=False``.

The summaries mark the active-record count as ``<span class="rk-active">N</span>``
so that a browser test can read it.
"""

from __future__ import annotations

import copy
import io
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from .estimators.sparse import SparseCalibrator
from .experiment.methods import METHODS, method_label
from .experiment.sweeps import PUBLISHED_L0_LAMBDAS, CalibrationTask, check_grid, hard_concrete_grid, l1_path_fits
from .problem.gates import BETA, GAMMA, ZETA, expected_l0, gate_density, gate_prob_one, gate_prob_zero
from .problem.nnlasso import alpha_grid
from .problem.scoring import ACTIVE_TOL, target_table
from .problem.system import prepare

__all__ = [
    "PenaltyPath",
    "l1_path",
    "hard_concrete_path",
    "render_path_state",
    "moved_target_fit",
    "render_moved_target",
    "render_gate",
    "path_explorer",
    "moved_target_explorer",
    "gate_explorer",
    "render_budget",
    "budget_explorer",
    "render_family_holdout",
    "family_explorer",
]

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


@dataclass
class PenaltyPath:
    """Fits precomputed along a penalty grid, for a slider to index.

    Parameters
    ----------
    method : str
        Method name (``"l1"`` or ``"hardconcrete"``).
    param : str
        The grid parameter, and the ``table`` column holding it (``"alpha"`` or ``"lambda_l0"``).
    table : DataFrame
        One row per fit (``param``, ``seed``, ``n_active``, ``train_error``,
        ``test_error``, ``total_weight``, ... as :class:`reweightkit.Scorer` scores them).
    weights : ndarray, shape (n_fits, n)
        ``weights[i]`` is row ``i``'s weight vector.
    design : ndarray, shape (n,)
        Design weights.
    history : DataFrame or None
        Training curves (Hard Concrete).
    """

    method: str
    param: str
    table: pd.DataFrame
    weights: np.ndarray
    design: np.ndarray
    history: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def penalties(self) -> list[float]:
        """The grid values, in slider order."""
        return list(dict.fromkeys(self.table[self.param].tolist()))

    def rows(self, index: int) -> pd.DataFrame:
        """The fits (one per seed) at grid point ``index``.

        Parameters
        ----------
        index : int
            Grid position.

        Returns
        -------
        DataFrame
            Rows of ``table``.
        """
        if not 0 <= index < len(self.penalties):
            raise IndexError(f"grid index {index} out of range: the path has {len(self.penalties)} points")
        return self.table[self.table[self.param] == self.penalties[index]]


def _task(data, train_marginal, train_continuous, test_marginal, test_continuous, weight_col):
    if isinstance(data, CalibrationTask):
        return data
    return CalibrationTask.from_targets(data, train_marginal, train_continuous, test_marginal, test_continuous,
                                        weight_col)


def l1_path(data, train_marginal=None, train_continuous=None, test_marginal=None, test_continuous=None, *,
            alphas=None, tol=1e-8, weight_col="weight") -> PenaltyPath:
    """A certified, warm-started L1 path over ``alphas``, for a slider.

    Parameters
    ----------
    data : DataFrame or CalibrationTask
        Microdata (with the targets below) or a prepared task.
    train_marginal, train_continuous : dict, optional
        Train targets.
    test_marginal, test_continuous : dict, optional
        Held-out targets.
    alphas : array-like, optional
        Fractions of lambda_max (default :func:`reweightkit.alpha_grid`).
    tol : float, default 1e-8
        Relative duality gap of every fit.
    weight_col : str or None, default "weight"
        Design weights.

    Returns
    -------
    PenaltyPath
        ``param`` is ``"alpha"``; the table also has ``lambda``, ``rel_gap`` and ``n_iter``.
    """
    alphas = check_grid("alpha", alpha_grid() if alphas is None else alphas)
    task = _task(data, train_marginal, train_continuous, test_marginal, test_continuous, weight_col)
    _, positions, solutions = l1_path_fits(task.problem, alphas=alphas, tol=tol)
    rows = [task.scorer.score(s.w, alpha=float(alphas[i]), seed=0, **{"lambda": s.lam}, rel_gap=s.rel_gap,
                              n_iter=s.n_iter, converged=s.converged)
            for i, s in zip(positions, solutions)]
    return PenaltyPath("l1", "alpha", pd.DataFrame(rows), np.array([s.w for s in solutions]), task.problem.d)


def hard_concrete_path(data, train_marginal=None, train_continuous=None, test_marginal=None, test_continuous=None,
                       *, lambdas=PUBLISHED_L0_LAMBDAS, seeds=(0,), epochs=2000, lr=0.1, history_every=50,
                       weight_col="weight") -> PenaltyPath:
    """Hard Concrete fits for every (lambda_l0, seed), trained as one batched computation, for a slider.

    Parameters
    ----------
    data : DataFrame or CalibrationTask
        Microdata (with the targets below) or a prepared task.
    train_marginal, train_continuous : dict, optional
        Train targets.
    test_marginal, test_continuous : dict, optional
        Held-out targets.
    lambdas : array-like, default PUBLISHED_L0_LAMBDAS
        The lambda_l0 grid.
    seeds : iterable of int, default (0,)
        Seeds per lambda.
    epochs : int, default 2000
        Adam steps.
    lr : float, default 0.1
        Adam learning rate.
    history_every : int, default 50
        Epochs between history rows.
    weight_col : str or None, default "weight"
        Design weights.

    Returns
    -------
    PenaltyPath
        ``param`` is ``"lambda_l0"``; ``history`` holds the training curves
        (``replica`` = row of ``table``).
    """
    task = _task(data, train_marginal, train_continuous, test_marginal, test_continuous, weight_col)
    lam_k, _, seed_k, out = hard_concrete_grid(task.problem, lambdas, seeds, epochs=epochs, lr=lr,
                                               history_every=history_every)
    rows = [task.scorer.score(w, lambda_l0=float(lam), seed=s) for w, lam, s in zip(out["weights"], lam_k, seed_k)]
    return PenaltyPath("hardconcrete", "lambda_l0", pd.DataFrame(rows), np.asarray(out["weights"]),
                       task.problem.d, history=out["history"])


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


def _move_target(marginal, continuous, target, factor):
    marginal = copy.deepcopy(marginal) if marginal else {}
    continuous = dict(continuous) if continuous else {}
    names = [f"{c}={k}" for c, cats in marginal.items() for k in cats] + [str(c) for c in continuous]
    if not (np.isfinite(factor) and factor > 0):
        raise ValueError(f"factor must be finite and > 0, got {factor}")
    for col, cats in marginal.items():
        for cat in cats:
            if f"{col}={cat}" == target:
                cats[cat] = cats[cat] * factor
                return marginal, continuous
    for col in continuous:
        if str(col) == target:
            continuous[col] = continuous[col] * factor
            return marginal, continuous
    raise ValueError(f"unknown target {target!r}; targets are {names}")


def moved_target_fit(df, marginal, continuous, target, factor, *, alpha=0.01, weight_col="weight"):
    """Calibrate (L1, ``alpha``) with target ``target`` (e.g. ``"age_group=65+"``) multiplied by ``factor``.

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
    weight_col : str, default "weight"
        Design weights.

    Returns
    -------
    dict
        ``weights``, ``table`` (per-target errors against the moved targets),
        ``n_active``, ``marginal`` and ``continuous`` (the moved targets), ``calibrator``.
    """
    m2, c2 = _move_target(marginal, continuous, target, factor)
    problem = prepare(df, m2, c2, weight_col)
    cal = SparseCalibrator(alpha=alpha).fit(problem)
    table = target_table(problem.system, cal.weights_)
    return {"weights": cal.weights_, "table": table, "n_active": cal.n_active_,
            "marginal": m2, "continuous": c2, "calibrator": cal}


def render_moved_target(df, marginal, continuous, target, factor, *, alpha=0.01, weight_col="weight"):
    """Summary and figure after moving one target: per-target relative errors and the weights.

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
    weight_col : str, default "weight"
        Design weights.

    Returns
    -------
    html : str
        The summary.
    fig : matplotlib.figure.Figure
        The picture.
    """
    fit = moved_target_fit(df, marginal, continuous, target, factor, alpha=alpha, weight_col=weight_col)
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
    d = np.asarray(df[weight_col], dtype=float)
    act = w > ACTIVE_TOL
    ax2.scatter(d[act], w[act], s=4, alpha=0.5)
    ax2.set_xlabel("design weight")
    ax2.set_ylabel("calibrated weight")
    ax2.set_title(f"calibrated vs design weights ({fit['n_active']} active)")
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


def family_explorer(summary: pd.DataFrame):
    """A slider over the held-out families and a menu of metrics; shows :func:`render_family_holdout`.

    Parameters
    ----------
    summary : DataFrame
        As for :func:`render_family_holdout`.

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as widgets

    families = list(dict.fromkeys(summary["holdout"]))
    slider = widgets.SelectionSlider(options=families, value=families[0], description="held out",
                                     continuous_update=True, layout=widgets.Layout(width="620px"))
    menu = widgets.Dropdown(options=list(HOLDOUT_METRICS), value="test_capped_error", description="metric")
    return _explorer(lambda family, metric: render_family_holdout(summary, family, metric),
                     {"family": slider, "metric": menu})


def budget_explorer(summary: pd.DataFrame):
    """A slider over the record budgets of a matched-budget summary; shows :func:`render_budget`.

    Parameters
    ----------
    summary : DataFrame
        :func:`reweightkit.summarize` of a matched-budget comparison.

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as widgets

    budgets = sorted(int(k) for k in summary["n_records"].dropna().unique())
    slider = widgets.SelectionSlider(options=budgets, value=budgets[0], description="records k",
                                     continuous_update=True, layout=widgets.Layout(width="520px"))
    return _explorer(lambda k: render_budget(summary, k), {"k": slider})


# --- ipywidgets glue -----------------------------------------------------------------------------------------


def _explorer(render, sliders: dict):
    """VBox of ``sliders``, an HTML summary and an Output showing ``render(**values)``'s figure."""
    import ipywidgets as widgets
    from IPython.display import display

    html = widgets.HTML()
    out = widgets.Output()

    def update(_=None):
        text, fig = render(**{k: s.value for k, s in sliders.items()})
        html.value = text
        with out:
            out.clear_output(wait=True)
            display(fig)

    for s in sliders.values():
        s.observe(update, names="value")
    update()
    box = widgets.VBox([*sliders.values(), html, out])
    box.add_class("rk-explorer")
    return box


def path_explorer(path: PenaltyPath, index: int = 0):
    """A slider over the precomputed grid of ``path``; shows :func:`render_path_state`.

    Parameters
    ----------
    path : PenaltyPath
        The precomputed fits.
    index : int, default 0
        Initial grid position.

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as widgets

    options = [(f"{p:.3g}", i) for i, p in enumerate(path.penalties)]
    slider = widgets.SelectionSlider(options=options, value=index, description=path.param,
                                     continuous_update=True, layout=widgets.Layout(width="520px"))
    return _explorer(lambda index: render_path_state(path, index), {"index": slider})


def moved_target_explorer(df, marginal, continuous, target, *, factors=(0.5, 1.5), alpha=0.01, weight_col="weight"):
    """A slider multiplying one target by a factor; refits L1 on release (``continuous_update=False``).

    Parameters
    ----------
    df : DataFrame
        Microdata.
    marginal, continuous : dict or None
        The targets (never modified).
    target : str
        Name of the moved target (``"column=category"`` or ``"column"``).
    factors : tuple of float, default (0.5, 1.5)
        Slider range.
    alpha : float, default 0.01
        L1 penalty as a fraction of lambda_max.
    weight_col : str, default "weight"
        Design weights.

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as widgets

    slider = widgets.FloatSlider(value=1.0, min=factors[0], max=factors[1], step=0.05, description="factor",
                                 continuous_update=False, readout_format=".2f")
    return _explorer(lambda factor: render_moved_target(df, marginal, continuous, target, factor, alpha=alpha,
                                                        weight_col=weight_col), {"factor": slider})


def gate_explorer():
    """Sliders for log alpha, beta, gamma and zeta of the Hard Concrete gate (fast: closed forms).

    Returns
    -------
    ipywidgets.VBox
    """
    import ipywidgets as widgets

    sliders = {
        "log_alpha": widgets.FloatSlider(value=0.0, min=-6, max=6, step=0.1, description="log α"),
        "beta": widgets.FloatSlider(value=BETA, min=0.1, max=2.0, step=0.01, description="β"),
        "gamma": widgets.FloatSlider(value=GAMMA, min=-0.5, max=-0.01, step=0.01, description="γ"),
        "zeta": widgets.FloatSlider(value=ZETA, min=1.01, max=1.5, step=0.01, description="ζ"),
    }
    return _explorer(render_gate, sliders)
