"""Sliders that still move in a static page: every frame rendered once, switched by a few lines of inline JavaScript.

A live ipywidgets slider needs a kernel; the book and any exported HTML have none.  :func:`static_slider`
calls a ``render_*`` function (the one the live slider uses) at every value, stores each frame's PNG and
summary in the output, and shows an HTML range input that swaps them: it needs no kernel, no widget state
and no network.
"""

from __future__ import annotations

import base64
import hashlib
import html as _html
import io

import matplotlib.pyplot as plt

__all__ = ["StaticSlider", "static_slider"]

MAX_FRAMES = 40


class StaticSlider:
    """Precomputed frames of a slider; shown by Jupyter and by a static page through ``_repr_html_``.

    Made by :func:`static_slider`; the parameters are kept as attributes of the same names.

    Parameters
    ----------
    label : str
        The slider's name.
    values : list
        The value of each frame.
    captions : list of str
        Each frame's HTML summary.
    pngs : list of bytes
        Each frame's picture (PNG).
    index : int
        The frame shown first.
    fmt : callable
        Formats a value for display.
    """

    def __init__(self, label, values, captions, pngs, index, fmt):
        self.label, self.values, self.captions, self.pngs, self.index, self._fmt = label, values, captions, pngs, index, fmt

    def __len__(self):
        return len(self.values)

    def _repr_html_(self):
        digest = hashlib.sha1(b"".join(self.pngs) + self.label.encode()).hexdigest()[:12]
        uid = f"rk-static-{digest}"
        frames = [{"src": "data:image/png;base64," + base64.b64encode(p).decode("ascii"), "caption": c,
                   "value": self._fmt(v)} for p, c, v in zip(self.pngs, self.captions, self.values)]
        first = frames[self.index]
        # the frames live in hidden <img>/<div> elements (no JSON to escape); the script only switches them
        imgs = "".join(f'<img class="rk-frame" data-k="{k}" src="{f["src"]}" alt="{_html.escape(self.label)} = '
                       f'{_html.escape(f["value"])}" style="max-width:100%;{"" if k == self.index else "display:none"}">'
                       for k, f in enumerate(frames))
        caps = "".join(f'<div class="rk-caption" data-k="{k}" style="{"" if k == self.index else "display:none"}">'
                       f'{f["caption"]}</div>' for k, f in enumerate(frames))
        labels = "|".join(_html.escape(f["value"]) for f in frames)
        return (
            f'<div class="rk-static-slider" id="{uid}" data-labels="{labels}">'
            f'<label>{_html.escape(self.label)} <input type="range" min="0" max="{len(frames) - 1}" step="1" '
            f'value="{self.index}" style="width:420px;vertical-align:middle"> '
            f'<span class="rk-value">{_html.escape(first["value"])}</span></label>'
            f'<div style="font-size:0.9em;color:#555">precomputed frames: this slider moves without a kernel</div>'
            f"{caps}{imgs}"
            "<script>(function(){"
            f'var root=document.getElementById("{uid}");if(!root)return;'
            'var input=root.querySelector("input"),labels=root.getAttribute("data-labels").split("|");'
            'input.addEventListener("input",function(){var k=input.value;'
            'root.querySelectorAll(".rk-frame,.rk-caption").forEach(function(e){'
            'e.style.display=(e.getAttribute("data-k")===k)?"":"none";});'
            'root.querySelector(".rk-value").textContent=labels[k];});'
            "})();</script></div>"
        )


def static_slider(render, values, *, label, index=0, fmt=None, dpi=72):
    """Render ``render(value)`` at every value into a slider that works in a static page.

    Parameters
    ----------
    render : callable
        ``render(value) -> (html, figure)``, e.g. ``lambda k: rk.widgets.render_path_state(path, k)``.
    values : sequence
        The slider's values, at most ``MAX_FRAMES`` (40): every frame is stored in the output.
    label : str
        The slider's name.
    index : int, default 0
        The frame shown first.
    fmt : callable, optional
        Formats a value for display (default ``str``, or ``{:.3g}`` for floats).
    dpi : int, default 72
        Resolution of the stored frames.

    Returns
    -------
    StaticSlider
        Displayed as HTML by Jupyter, by nbconvert and by the book.
    """
    values = list(values)
    if not callable(render):
        raise TypeError(f"render must be callable, got {type(render).__name__}")
    if not 1 <= len(values) <= MAX_FRAMES:
        raise ValueError(f"values must hold 1 to {MAX_FRAMES} frames, got {len(values)}")
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(values):
        raise ValueError(f"index must be an integer in [0, {len(values) - 1}], got {index!r}")
    if fmt is None:
        def fmt(v):
            return f"{v:.3g}" if isinstance(v, float) else str(v)
    captions, pngs = [], []
    for v in values:
        caption, fig = render(v)
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
        plt.close(fig)
        captions.append(caption)
        pngs.append(buf.getvalue())
    return StaticSlider(label, values, captions, pngs, index, fmt)
