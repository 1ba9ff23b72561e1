"""Write the API reference pages (``book/api/*.md``) from the kit's public names, for ``build.sh``.

One page per layer: the face (``import reweightkit as rk``), then ``rk.problem``, ``rk.solvers``,
``rk.experiment``, ``rk.widgets``, ``rk.threads`` and the warnings.  Each page lists the module's
``__all__`` (functions and classes; constants are named in the module text) in an autosummary
table whose entries Sphinx renders from the numpydoc docstrings.  Nothing is hand-listed: a public
name added to ``__all__`` appears here at the next build.
"""

import inspect
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import reweightkit as rk  # noqa: E402
from reweightkit import exceptions  # noqa: E402

PAGES = [
    ("reweightkit", rk, "The face: `import reweightkit as rk`", "the estimators, the benchmarks, the comparison and "
     "its plots, weight files"),
    ("reweightkit.problem", rk.problem, "`rk.problem`: the system, its scaling, scores and certificates",
     "targets as rows of a sparse matrix, the relative loss, the NN-LASSO's dual and duality gap, the Hard "
     "Concrete gate's distribution, scoring, target-family nesting, selection diagnostics"),
    ("reweightkit.solvers", rk.solvers, "`rk.solvers`: the algorithms",
     "FISTA, the interior-point and active-set L1 solvers, the L1 path and the optimal set, Hard Concrete training, "
     "dense calibration, refits, the cube method, integerisation"),
    ("reweightkit.experiment", rk.experiment, "`rk.experiment`: benchmarks, sweeps and the comparison",
     "the method registry, the benchmarks, penalty and budget sweeps, summaries, plots, weight files"),
    ("reweightkit.widgets", rk.widgets, "`rk.widgets`: the notebooks' sliders",
     "precomputed paths, `render_*` functions (plain functions returning an HTML summary and a figure), the "
     "ipywidgets explorers and the static sliders of this book"),
    ("reweightkit.threads", rk.threads, "`rk.threads`: thread counts", "CPUs this process may use, thread limits"),
    ("reweightkit.exceptions", exceptions, "Warnings", "every warning the kit raises derives from `ReweightkitWarning`"),
]


def documented(module, name):
    obj = getattr(module, name, None)
    return inspect.isclass(obj) or inspect.isfunction(obj) or (callable(obj) and not inspect.ismodule(obj))


FACE = set(rk.__all__)


def page(modname, module, title, blurb):
    names = [n for n in getattr(module, "__all__", []) if documented(module, n)]
    shared = []
    if module is not rk:  # a name of the face is documented once, on the face's page
        shared = [n for n in names if n in FACE and getattr(rk, n) is getattr(module, n)]
        names = [n for n in names if n not in shared]
    constants = [n for n in getattr(module, "__all__", []) if not documented(module, n) and not
                 inspect.ismodule(getattr(module, n, None))]
    lines = [f"# {title}", "", f"{blurb[0].upper()}{blurb[1:]}.", ""]
    if constants:
        lines += ["Constants: " + ", ".join(f"`{c}`" for c in constants) + ".", ""]
    if shared:
        lines += ["Also here, documented with the face ([](reweightkit.md)): " + ", ".join(f"`{c}`" for c in shared)
                  + ".", ""]
    lines += ["```{eval-rst}", f".. currentmodule:: {modname}", "", ".. autosummary::", "   :toctree: generated",
              "   :nosignatures:", ""]
    lines += [f"   {n}" for n in names]
    lines += ["```", ""]
    return "\n".join(lines), len(names)


def main():
    out = HERE / "api"
    out.mkdir(exist_ok=True)
    toc, total = [], 0
    for modname, module, title, blurb in PAGES:
        text, n = page(modname, module, title, blurb)
        slug = modname.replace(".", "_")
        (out / f"{slug}.md").write_text(text)
        toc.append(f"api/{slug}")
        total += n
    index = ["# API reference", "",
             "Generated from the docstrings (numpydoc) of every public name, one page per layer of the kit; each "
             "layer imports only the layers above it. In a notebook, `rk.SparseCalibrator?` shows the same text.", "",
             "```{toctree}", ":maxdepth: 1", "", *toc, "```", ""]
    (HERE / "api.md").write_text("\n".join(index))
    print(f"API reference: {total} entries on {len(PAGES)} pages")


if __name__ == "__main__":
    main()
