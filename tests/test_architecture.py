"""The package's shape: layered imports, the estimator contract, one build per system, documented API."""

import ast
import copy
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import reweightkit as rk
from reweightkit.problem import frame as system_module

ROOT = Path(__file__).resolve().parents[1]
PKG = ROOT / "reweightkit"
# each layer may import only layers with a smaller rank (and itself)
LAYERS = {"exceptions": 0, "_validation": 0, "_version": 0, "threads": 0,
          "problem": 1, "solvers": 2, "estimators": 3, "experiment": 4,
          "widgets": 5, "cli": 5, "__main__": 6, "__init__": 7}


def _module_name(path):
    rel = path.relative_to(PKG).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(["reweightkit", *parts])


def _intra_imports(path):
    """(module-level targets, function-level targets) of ``path``'s imports inside the package."""
    tree = ast.parse(path.read_text())
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    top, nested = set(), set()

    def resolve(node):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            out = []
            for alias in node.names:  # "from . import widgets" imports a module
                sub = f"{mod}.{alias.name}"
                out.append(sub if (PKG.parent / (sub.replace(".", "/") + ".py")).exists()
                           or (PKG.parent / sub.replace(".", "/")).is_dir() else mod)
            return out
        return [a.name for a in node.names]

    def visit(node, in_function):
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, (ast.Import, ast.ImportFrom)):
                for mod in resolve(child):
                    if mod == "reweightkit" or mod.startswith("reweightkit."):
                        (nested if in_function else top).add(mod)
            visit(child, inner)

    visit(tree, False)
    return top, nested


def _modules():
    return sorted(PKG.rglob("*.py"))


def _layer(mod):
    parts = mod.split(".")
    return LAYERS["__init__"] if len(parts) == 1 else LAYERS[parts[1]]


def test_no_function_level_imports_inside_the_package():
    offenders = {_module_name(p): sorted(_intra_imports(p)[1]) for p in _modules() if _intra_imports(p)[1]}
    assert not offenders, f"function-level imports dodge the layering: {offenders}"


def test_import_graph_is_acyclic_and_never_imports_upward():
    graph = {_module_name(p): {m for m in _intra_imports(p)[0] if m != _module_name(p)} for p in _modules()}
    upward = [(a, b) for a, deps in graph.items() for b in deps
              if not a.endswith("__init__") and _layer(b) > _layer(a) and b != "reweightkit"]
    assert not upward, f"imports from a higher layer: {upward}"
    # a depth-first search for cycles among modules (a package's __init__ counts as the package)
    state, stack = {}, []

    def dfs(node):
        state[node] = 1
        stack.append(node)
        for dep in graph.get(node, ()):
            if state.get(dep) == 1:
                raise AssertionError(f"import cycle: {' -> '.join(stack[stack.index(dep):] + [dep])}")
            if dep in graph and not state.get(dep):
                dfs(dep)
        stack.pop()
        state[node] = 2

    for node in graph:
        if not state.get(node):
            dfs(node)
    assert len(graph) > 20


ESTIMATORS = [
    rk.SparseCalibrator(alpha=0.1, refit=True, solver="ipm"),
    rk.HardConcreteCalibrator(lambda_l0=1e-4, epochs=30, seed=3),
    rk.RakeCalibrator(tol=1e-10),
    rk.SubsampleCalibrator(200, seed=4),
]


@pytest.mark.parametrize("est", ESTIMATORS, ids=lambda e: type(e).__name__)
def test_sklearn_clone_get_params_set_params_and_repr(est):
    sklearn_base = pytest.importorskip("sklearn.base")
    twin = sklearn_base.clone(est)
    assert type(twin) is type(est) and twin is not est
    assert twin.get_params() == est.get_params()
    assert repr(twin) == repr(est) and repr(est).startswith(type(est).__name__ + "(")
    # only the non-default parameters are shown
    assert "seed" in repr(est) or "tol" in repr(est) or "alpha" in repr(est)
    name = sorted(est.get_params())[0]
    assert twin.set_params(**{name: est.get_params()[name]}) is twin
    with pytest.raises(ValueError, match="'nope' is not a parameter"):
        twin.set_params(nope=1)


def test_clone_of_a_fitted_estimator_is_unfitted(published):
    sklearn_base = pytest.importorskip("sklearn.base")
    df, tm, tc, _ = published
    fitted = rk.SparseCalibrator(alpha=0.1).fit(df, tm, tc)
    twin = sklearn_base.clone(fitted)
    assert not hasattr(twin, "weights_") and twin.get_params() == fitted.get_params()


@pytest.mark.filterwarnings("ignore::reweightkit.exceptions.ConvergenceWarning")  # 30 Hard Concrete epochs
def test_estimators_accept_a_prepared_problem(published):
    df, tm, tc, _ = published
    problem = rk.prepare(df, tm, tc)
    for est in ESTIMATORS:
        a = copy.deepcopy(est).fit(df, tm, tc).weights_
        b = copy.deepcopy(est).fit(problem).weights_
        assert a.tobytes() == b.tobytes(), type(est).__name__
    with pytest.raises(ValueError, match="already prepared"):
        rk.SparseCalibrator(alpha=0.1).fit(problem, tm)


def test_a_failed_fit_clears_the_previous_result(published):
    df, tm, tc, _ = published
    cal = rk.SparseCalibrator(alpha=0.1).fit(df, tm, tc)
    cal.set_params(alpha=2.0)
    with pytest.raises(ValueError, match="alpha"):
        cal.fit(df, tm, tc)
    assert not hasattr(cal, "weights_")


@pytest.mark.parametrize("kw, exc", [({"refit": "no"}, ValueError), ({"refit": 1}, TypeError),
                                     ({"tol": float("inf")}, ValueError), ({"tol": np.float32(1e-6)}, None),
                                     ({"solution": "best"}, ValueError)])
def test_declarative_validation(published, kw, exc):
    df, tm, tc, _ = published
    est = rk.SparseCalibrator(alpha=0.1, **kw)
    if exc is None:
        assert est.fit(df, tm, tc).converged_
    else:
        with pytest.raises(exc, match=next(iter(kw))):
            est.fit(df, tm, tc)


def test_one_comparison_builds_each_system_at_most_twice(published, monkeypatch):
    """A default run_comparison prepares the train system once and the held-out system once."""
    df, tm, tc, hm = published
    built, prepared = {}, [0]
    real_build, real_prepare = system_module.build_system, system_module.prepare

    def counting_build(*args, **kwargs):
        s = real_build(*args, **kwargs)
        built[tuple(s.names)] = built.get(tuple(s.names), 0) + 1
        return s

    def counting_prepare(*args, **kwargs):
        prepared[0] += 1
        return real_prepare(*args, **kwargs)

    # every module that imported the names holds its own binding: patch them all
    import importlib
    import sys

    for path in _modules():
        if path.name == "__main__.py":
            continue
        mod = sys.modules.get(_module_name(path)) or importlib.import_module(_module_name(path))
        if getattr(mod, "build_system", None) is real_build:
            monkeypatch.setattr(mod, "build_system", counting_build)
        if getattr(mod, "prepare", None) is real_prepare:
            monkeypatch.setattr(mod, "prepare", counting_prepare)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rk.run_comparison(df, tm, tc, hm, seeds=range(2), epochs=20)
    assert set(res["method"]) == set(rk.experiment.DEFAULT_METHODS)
    assert len(built) == 2 and max(built.values()) <= 2, built
    assert prepared[0] == 1


def test_summarize_names_each_methods_grid_column(published):
    df, tm, tc, hm = published
    res = rk.run_comparison(df, tm, tc, hm, methods=["l1", "subsample", "dense"], alphas=[0.5, 0.05], sizes=[300],
                            seeds=[0, 1])
    assert list(res.columns[: len(rk.experiment.COLUMNS)]) == rk.experiment.COLUMNS
    s = rk.summarize(res)
    params = dict(zip(s["method"], s["param"]))
    assert params["l1"] == "alpha" and params["subsample"] == "n_records" and pd.isna(params["dense"])
    l1 = res[res["method"] == "l1"]
    assert l1["lambda_l0"].isna().all() and l1["n_records"].isna().all() and l1["alpha"].notna().all()
    sub = res[res["method"] == "subsample"]
    assert (sub["n_records"] == 300).all() and sub["alpha"].isna().all()


def test_run_comparison_accepts_a_prepared_task(published):
    df, tm, tc, hm = published
    task = rk.CalibrationTask.from_targets(df, tm, tc, hm)
    kw = dict(methods=["l1", "dense"], alphas=[0.3, 0.03])
    a = rk.run_comparison(task, **kw).drop(columns="seconds")
    b = rk.run_comparison(df, tm, tc, hm, **kw).drop(columns="seconds")
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="prepared CalibrationTask"):
        rk.run_comparison(task, tm, **kw)


def test_one_alpha_grid_and_one_active_definition():
    np.testing.assert_array_equal(rk.problem.alpha_grid(), np.geomspace(0.9, 1e-3, 15))
    w = np.array([0.0, 1e-13, 2e-9, 5.0])
    system = rk.problem.build_system(pd.DataFrame({"g": ["a"] * 4}), {"g": {"a": 1.0}})
    assert rk.problem.n_active(w) == 2 == rk.problem.Scorer(system).score(w)["n_active"]
    assert rk.weight_summary(w)["n_active"] == 2


OLD_PUBLIC = ["synthetic_problem", "expected_l0", "gate_cdf", "gate_density", "gate_prob_one", "gate_prob_zero",
              "sample_gates", "widgets", "optimal_set_ranges", "vertex_solution", "RakeCalibrator", "RakeWarning",
              "SubsampleCalibrator", "dense_reference", "pareto_front", "plot_frontier", "plot_runtime",
              "plot_train_test", "rake", "run_comparison", "summarize", "superpopulation", "sweep_hard_concrete",
              "sweep_l1", "sweep_subsample", "CalibrationSystem", "ConvergenceWarning", "HardConcreteCalibrator",
              "LambdaMaxWarning", "SparseCalibrator", "build_system", "evaluate", "kish_ess", "max_relative_error",
              "mean_relative_error", "n_active", "nn_lasso_path", "prepare", "published_example", "target_errors",
              "weight_summary"]


def test_public_names_stay_importable():
    """Every name that was public stays reachable from rk: on the face, or (for one release) with a
    DeprecationWarning naming its subpackage."""
    missing = [n for n in OLD_PUBLIC if n not in rk.__all__ and n not in rk.MOVED]
    assert not missing
    assert all(hasattr(rk, n) for n in rk.__all__)
    for n in OLD_PUBLIC:
        if n in rk.MOVED:
            with pytest.warns(DeprecationWarning, match=f"rk.{n} moved"):
                getattr(rk, n)


NUMPYDOC_CHECKS = {"GL08", "PR01", "PR02", "PR07", "RT01", "SS01"}
"""No docstring; undocumented or unknown parameters; a parameter without description; no Returns
section; no summary line."""


SUBPACKAGES = ("problem", "solvers", "estimators", "experiment", "threads")


def _public_objects():
    """Import paths of every public function, class and public method reachable from ``rk.__all__`` and from the
    documented subpackages' ``__all__``."""
    import inspect

    names, seen = [], set()
    places = [("", n) for n in rk.__all__] + [(f"{p}.", n) for p in SUBPACKAGES for n in getattr(rk, p).__all__]
    for prefix, name in places:
        obj = getattr(rk, name) if not prefix else getattr(getattr(rk, prefix[:-1]), name)
        if not (inspect.isfunction(obj) or inspect.isclass(obj)) or id(obj) in seen:
            continue
        seen.add(id(obj))
        name = prefix + name
        if inspect.isclass(obj) and not issubclass(obj, Warning):
            methods = {m for m, v in vars(obj).items() if not m.startswith("_")
                       and (inspect.isfunction(v) or isinstance(v, (classmethod, staticmethod)))}
            methods |= {m for m in ("fit", "get_params", "set_params") if hasattr(obj, m)}
            names += [f"reweightkit.{name}.{m}" for m in sorted(methods)]
    names += [f"reweightkit.widgets.{n}" for n in rk.widgets.__all__]
    return names


@pytest.mark.parametrize("qualname", _public_objects())
def test_numpydoc_validation(qualname):
    validate = pytest.importorskip("numpydoc.validate")
    errors = [(code, msg) for code, msg in validate.validate(qualname)["errors"] if code in NUMPYDOC_CHECKS]
    assert not errors, f"{qualname}: {errors}"


def test_notebooks_use_only_the_public_api():
    """Notebooks use the face (``rk.X``) and the documented subpackages' public names (``rk.problem.X``), nothing
    deeper and nothing deprecated."""
    for src in sorted((ROOT / "notebooks").glob("[0-9]*.py")):
        text = src.read_text()
        assert not re.findall(r"^from reweightkit import", text, re.M), f"{src.name}: import names from rk's face as rk.X"
        for sub, names in re.findall(r"^from reweightkit\.(\w+) import ([^\n]+)", text, re.M):
            assert sub in (*SUBPACKAGES, "widgets"), f"{src.name} imports below the package: reweightkit.{sub}"
            for name in (n.strip().split(" as ")[0] for n in names.split(",")):
                assert name in getattr(rk, sub).__all__, f"{src.name} imports reweightkit.{sub}.{name}, not public"
        for sub, name in re.findall(r"\brk\.([a-z_]+)\.(\w+)", text):
            assert sub in (*SUBPACKAGES, "widgets") and name in getattr(rk, sub).__all__, \
                f"{src.name} reaches into internals: rk.{sub}.{name}"
        for name in re.findall(r"\brk\.(\w+)", text):
            assert name in rk.__all__, f"{src.name} uses rk.{name}, which is not public"


def test_importing_the_kit_does_not_import_matplotlib_or_torch():
    """`import reweightkit` (and the `calibrate` command's modules) leave matplotlib, torch, numba and the widgets to
    first use: matplotlib's figure machinery was most of the kit's 2 s import."""
    import subprocess
    import sys

    code = ("import sys, reweightkit as rk, reweightkit.cli\n"
            "print(sorted(m for m in ('matplotlib', 'torch', 'numba', 'reweightkit.widgets', 'ipywidgets') "
            "if m in sys.modules))\n"
            "rk.widgets\n"
            "print('reweightkit.widgets' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split("\n")
    assert out[0] == "[]" and out[1] == "True"
