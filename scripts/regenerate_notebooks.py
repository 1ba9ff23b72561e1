"""Regenerate the stored outputs of every notebook in ``notebooks/`` from its py:percent source.

Run it in the environment CI uses (``.ci/run`` builds it; ``pip install -e ".[test]"`` anywhere):

    python scripts/regenerate_notebooks.py            # all notebooks
    python scripts/regenerate_notebooks.py 02_l1_fista # one, by stem

Each ``notebooks/NAME.py`` is read with jupytext, executed top to bottom by nbclient in
``notebooks/`` with the ``python3`` kernel of this interpreter, stripped of the widget state
(``metadata.widgets`` holds random model ids that would churn every run), its stream outputs
coalesced, and written to ``notebooks/NAME.ipynb`` keeping the cell ids of unchanged cells; the
``.py`` is rewritten from the same notebook so the pair is in sync.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import jupytext
import nbformat
from jupytext.config import load_jupytext_config
from nbclient import NotebookClient
from nbconvert.preprocessors import CoalesceStreamsPreprocessor

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
TIMEOUT = 600  # seconds per cell


def _keep_cell_ids(nb, stored_path: Path) -> None:
    """Reuse the stored notebook's cell ids for cells whose source is unchanged (no id churn)."""
    if not stored_path.exists():
        return
    free = {}
    for cell in jupytext.read(stored_path).cells:
        free.setdefault((cell.cell_type, cell.source), []).append(cell.get("id"))
    used = set()
    for cell in nb.cells:
        ids = free.get((cell.cell_type, cell.source))
        if ids and ids[0] and ids[0] not in used:
            cell["id"] = ids.pop(0)
            used.add(cell["id"])


def regenerate(src: Path) -> float:
    nb = jupytext.read(src)
    _keep_cell_ids(nb, src.with_suffix(".ipynb"))
    nb.metadata["kernelspec"] = {"display_name": "Python 3", "language": "python", "name": "python3"}
    t0 = time.perf_counter()
    NotebookClient(nb, timeout=TIMEOUT, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    seconds = time.perf_counter() - t0
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("language_info", None)  # holds the patch version of Python: churn
    nb, _ = CoalesceStreamsPreprocessor().preprocess(nb, {})  # one stream output per cell and stream
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
    nbformat.validate(nb)
    config = load_jupytext_config(str(NOTEBOOKS))  # notebooks/jupytext.toml: pairing and metadata filter
    jupytext.write(nb, src.with_suffix(".ipynb"), fmt="ipynb", config=config)
    jupytext.write(nb, src, fmt="py:percent", config=config)
    return seconds


def main(argv: list[str]) -> int:
    stems = argv or sorted(p.stem for p in NOTEBOOKS.glob("[0-9]*.py"))
    total = 0.0
    for stem in stems:
        src = NOTEBOOKS / f"{stem}.py"
        if not src.exists():
            print(f"no notebook source {src}", file=sys.stderr)
            return 2
        secs = regenerate(src)
        total += secs
        print(f"{stem}: executed in {secs:.1f} s")
    print(f"total: {total:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
