"""Sphinx configuration of the reweightkit book: ``bash book/build.sh`` builds it offline into ``book/_build/html``.

The chapters are the notebooks of ``notebooks/`` with their stored outputs (nbval executes them in CI; the
book does not execute anything: ``nb_execution_mode = "off"``).  ``build.sh`` copies them to
``book/notebooks/`` so that each page's path is the notebook's path in the repository, which is what the
Binder launch button opens.  MathJax 3 is served from ``_static/mathjax`` (fetched from npm by
``fetch_mathjax.py``): no page loads anything from the network.
"""

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import reweightkit  # noqa: E402

project = "reweightkit"
author = "the reweightkit developers"
copyright = "2026, the reweightkit developers"
release = reweightkit.__version__
version = release

extensions = [
    "myst_nb",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
]

root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "build.sh", "**/.ipynb_checkpoints"]
templates_path = ["_templates"]

# --- notebooks: rendered from their stored outputs, never executed here
nb_execution_mode = "off"
nb_merge_streams = True
nb_output_stderr = "remove"
myst_enable_extensions = ["colon_fence", "dollarmath", "amsmath", "deflist"]
myst_heading_anchors = 3
# no widget state is stored in the notebooks: myst-nb's CDN widget scripts are not needed (and would need the network)
nb_ipywidgets_js = {}

# --- maths: MathJax 3 from _static (npm's "mathjax" package), on every page
mathjax_path = "mathjax/tex-chtml.js"
mathjax3_config = {"tex": {"inlineMath": [["\\(", "\\)"]], "displayMath": [["\\[", "\\]"]]}}

# --- API reference from the numpydoc docstrings
autosummary_generate = True
autosummary_imported_members = False
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"
napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
napoleon_preprocess_types = False
napoleon_use_param = False

# --- HTML: sphinx-book-theme, its own fonts and icons only
html_theme = "sphinx_book_theme"
html_title = f"reweightkit {release}: sparse survey calibration"
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": "https://github.com/reweightkit/reweightkit",
    "repository_branch": "HEAD",
    "path_to_docs": "",
    "use_repository_button": True,
    "launch_buttons": {
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "home_page_in_toc": True,
    "show_toc_level": 2,
}
# no Google fonts, no analytics, no external icons (the theme bundles Font Awesome)
html_theme_options["analytics"] = {}

# The numpydoc "Attributes" types such as ``ndarray (n_records,)`` are parsed as cross-references, and
# ``n_records`` names two documented properties: ambiguous, harmless, and not ours to rename.  Every other
# warning (a broken link, a missing image, a docstring that does not parse) still fails the build.
suppress_warnings = ["ref.python"]
nitpicky = False
os.environ.setdefault("MPLBACKEND", "Agg")


def setup(app):
    # MathJax on every page, not only on pages with formulas: the sidebar shows chapter titles with maths
    app.set_html_assets_policy("always")
