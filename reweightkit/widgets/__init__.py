"""What the notebooks' sliders do: precomputed fits (:mod:`.paths`), plain ``render_*`` functions that draw them
(:mod:`.figures`), and here the thin ipywidgets glue.

Every slider callback is a ``render_*`` function returning ``(html, figure)``; the
``*_explorer`` functions wire them to sliders and import ipywidgets lazily (it is in
the ``notebooks`` extra).  Slow computations never run in a callback: L1 and Hard
Concrete sliders index a :class:`PenaltyPath` computed once; the moved-target slider
refits one L1 problem (milliseconds) with ``continuous_update=False``.
"""

from __future__ import annotations

import importlib

import pandas as pd

from ..problem.gates import BETA, GAMMA, ZETA
from .figures import HOLDOUT_METRICS, render_budget, render_family_holdout, render_gate, render_moved_target, render_path_state
from .paths import PenaltyPath, hard_concrete_path, l1_path, moved_target_fit
from .static import StaticSlider, static_slider

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
    "StaticSlider",
    "static_slider",
]


def _ipywidgets():
    """ipywidgets, imported when a slider is built (it is in the ``notebooks`` extra)."""
    return importlib.import_module("ipywidgets")


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
    widgets = _ipywidgets()

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
    widgets = _ipywidgets()

    budgets = sorted(int(k) for k in summary["n_records"].dropna().unique())
    slider = widgets.SelectionSlider(options=budgets, value=budgets[0], description="records k",
                                     continuous_update=True, layout=widgets.Layout(width="520px"))
    return _explorer(lambda k: render_budget(summary, k), {"k": slider})


# --- ipywidgets glue -----------------------------------------------------------------------------------------


def _explorer(render, sliders: dict):
    """VBox of ``sliders``, an HTML summary and an Output showing ``render(**values)``'s figure."""
    widgets = _ipywidgets()
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
    widgets = _ipywidgets()

    options = [(f"{p:.3g}", i) for i, p in enumerate(path.penalties)]
    slider = widgets.SelectionSlider(options=options, value=index, description=path.param,
                                     continuous_update=True, layout=widgets.Layout(width="520px"))
    return _explorer(lambda index: render_path_state(path, index), {"index": slider})


def moved_target_explorer(df, marginal, continuous, target, *, factors=(0.5, 1.5), alpha=0.01, solver="auto",
                          weight_col="weight"):
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
    solver : {"auto", "fista", "ipm", "active-set"}, default "auto"
        Whose optimal point is shown (:class:`~reweightkit.SparseCalibrator`'s ``solver``; ``"auto"``'s
        active set returns a basic solution, ``"fista"`` its point from the design weights).
    weight_col : str, default "weight"
        Design weights.

    Returns
    -------
    ipywidgets.VBox
    """
    widgets = _ipywidgets()

    slider = widgets.FloatSlider(value=1.0, min=factors[0], max=factors[1], step=0.05, description="factor",
                                 continuous_update=False, readout_format=".2f")
    return _explorer(lambda factor: render_moved_target(df, marginal, continuous, target, factor, alpha=alpha,
                                                        solver=solver, weight_col=weight_col), {"factor": slider})


def gate_explorer():
    """Sliders for log alpha, beta, gamma and zeta of the Hard Concrete gate (fast: closed forms).

    Returns
    -------
    ipywidgets.VBox
    """
    widgets = _ipywidgets()

    sliders = {
        "log_alpha": widgets.FloatSlider(value=0.0, min=-6, max=6, step=0.1, description="log α"),
        "beta": widgets.FloatSlider(value=BETA, min=0.1, max=2.0, step=0.01, description="β"),
        "gamma": widgets.FloatSlider(value=GAMMA, min=-0.5, max=-0.01, step=0.01, description="γ"),
        "zeta": widgets.FloatSlider(value=ZETA, min=1.01, max=1.5, step=0.01, description="ζ"),
    }
    return _explorer(render_gate, sliders)
