"""The method registry: every method of a comparison named once.

A method's ``name`` is what ``run_comparison(methods=...)``, the CLI's ``--methods``
and ``reweightkit calibrate --method`` take and what the results' ``method`` column
holds; ``estimator`` is the class that fits it; ``label`` is for legends only;
``param`` names the result column that holds its grid value.  Old names still work
for one release, with a ``DeprecationWarning`` (:data:`METHOD_ALIASES`).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable

from ..estimators import (
    BalancedSampleCalibrator,
    CalibrateThenReduceCalibrator,
    HardConcreteCalibrator,
    RakeCalibrator,
    SparseCalibrator,
    SubsampleCalibrator,
)
from .sweeps import (
    dense_reference,
    sweep_budget_hard_concrete,
    sweep_budget_l1,
    sweep_budget_sampler,
    sweep_hard_concrete,
    sweep_l1,
    sweep_subsample,
)

__all__ = ["Method", "METHODS", "METHOD_ALIASES", "canonical_method", "method_label"]


@dataclass(frozen=True)
class Method:
    """One method of the comparison.

    Attributes
    ----------
    name : str
        Identifier (arguments, the ``method`` column).
    label : str
        Legend label.
    param : str or None
        The result column holding the method's grid value (None: no grid).
    style : tuple of (str, str)
        Matplotlib format string and colour.
    run : callable
        ``run(task, options) -> DataFrame``: the method's sweep, with ``options``
        the comparison's grids and settings.
    estimator : type
        The estimator class that fits it (the comparison fits only through it).
    budgeted : bool
        Whether it runs at the comparison's record budgets (``budgets=``) rather than
        over a penalty grid.
    shared : str or None
        Methods with the same ``shared`` name come from one computation (a Hard Concrete
        budget search gives the raw and the refit rows): a comparison runs them together, once.
    """

    name: str
    label: str
    param: str | None
    style: tuple
    run: Callable
    estimator: type
    budgeted: bool = False
    shared: str | None = None


def _hc_budgets(task, o, name, gate_cost="uniform"):
    """Both Hard Concrete budget methods of one gate price come from one search per seed: run it once per
    comparison.  The pair is the registry's methods that share ``name``'s computation, raw rows first."""
    cache = o.setdefault("_cache", {})
    key = METHODS[name].shared
    if key not in cache:
        pair = tuple(n for n, m in METHODS.items() if m.shared == key)
        cache[key] = sweep_budget_hard_concrete(task, budgets=o["budgets"], seeds=o["seeds"], epochs=o["epochs"],
                                                refit=o["refit"], bounds=o["bounds"], verbose=o["verbose"],
                                                gate_cost=gate_cost, names=pair)
    rows = cache[key]
    return rows[rows["method"] == name] if len(rows) else rows


def _subsample(task, o):
    """Over the comparison's sizes; at matched budgets, with the comparison's refit and bounds and the budget check."""
    if o["budgets"] is None:
        return sweep_subsample(task, sizes=o["sizes"], seeds=o["seeds"], verbose=o["verbose"])
    return sweep_budget_sampler(task, method="subsample", budgets=o["sizes"], seeds=o["seeds"], refit=o["refit"],
                                bounds=o["bounds"], verbose=o["verbose"])


METHODS = {m.name: m for m in [
    Method("l1", "L1", "alpha", ("s-", "#2ca02c"),
           lambda task, o: sweep_l1(task, alphas=o["alphas"], optimal_set=True, verbose=o["verbose"]),
           SparseCalibrator),
    Method("l1-relaxed", "L1 relaxed", "alpha", ("D-", "#17becf"),
           lambda task, o: sweep_l1(task, alphas=o["alphas"], refit=True, verbose=o["verbose"]), SparseCalibrator),
    Method("l1-published", "L1 (published lambda grid)", "lambda", ("x:", "#7f7f7f"),
           lambda task, o: sweep_l1(task, lambdas=o["l1_lambdas"], method="l1-published", verbose=o["verbose"]),
           SparseCalibrator),
    Method("hardconcrete", "HardConcrete", "lambda_l0", ("o-", "#1f77b4"),
           lambda task, o: sweep_hard_concrete(task, lambdas=o["l0_lambdas"], seeds=o["seeds"], epochs=o["epochs"],
                                               verbose=o["verbose"]), HardConcreteCalibrator),
    Method("subsample", "Subsample+rake", "n_records", ("^-", "#d62728"), lambda task, o: _subsample(task, o),
           SubsampleCalibrator),
    Method("dense", "Rake (all records)", None, ("*", "#000000"), lambda task, o: dense_reference(task),
           RakeCalibrator),
    Method("hardconcrete-k", "HardConcrete at k records (raw gates)", "n_records", ("o--", "#aec7e8"),
           lambda task, o: _hc_budgets(task, o, "hardconcrete-k"), HardConcreteCalibrator, budgeted=True,
           shared="hc-budgets-uniform"),
    Method("hardconcrete-k-refit", "HardConcrete at k records + refit", "n_records", ("o-", "#08306b"),
           lambda task, o: _hc_budgets(task, o, "hardconcrete-k-refit"), HardConcreteCalibrator, budgeted=True,
           shared="hc-budgets-uniform"),
    Method("hardconcrete-design-k", "HardConcrete, design-priced gates, at k (raw gates)", "n_records",
           ("v--", "#fdae6b"), lambda task, o: _hc_budgets(task, o, "hardconcrete-design-k", "design"),
           HardConcreteCalibrator, budgeted=True, shared="hc-budgets-design"),
    Method("hardconcrete-design-k-refit", "HardConcrete, design-priced gates, at k + refit", "n_records",
           ("v-", "#e6550d"), lambda task, o: _hc_budgets(task, o, "hardconcrete-design-k-refit", "design"),
           HardConcreteCalibrator, budgeted=True, shared="hc-budgets-design"),
    Method("l1-k-refit", "L1 at k records + refit", "n_records", ("s-", "#006d2c"),
           lambda task, o: sweep_budget_l1(task, budgets=o["budgets"], refit=o["refit"], bounds=o["bounds"]),
           SparseCalibrator,
           budgeted=True),
    Method("cube", "Balanced sample (cube) + refit", "n_records", ("P-", "#9467bd"),
           lambda task, o: sweep_budget_sampler(task, method="cube", budgets=o["budgets"], seeds=o["seeds"],
                                                refit=o["refit"], bounds=o["bounds"], verbose=o["verbose"]),
           BalancedSampleCalibrator, budgeted=True),
    Method("calibrate-reduce", "Calibrate, then PPS reduce + refit", "n_records", ("X-", "#8c564b"),
           lambda task, o: sweep_budget_sampler(task, method="calibrate-reduce", budgets=o["budgets"],
                                                seeds=o["seeds"], refit=o["refit"], bounds=o["bounds"],
                                                verbose=o["verbose"]),
           CalibrateThenReduceCalibrator, budgeted=True),
]}
"""Every method a comparison can run, by name, in the order they run."""

METHOD_ALIASES = {"cube-k": "cube", "calibrate-reduce-k": "calibrate-reduce", "rake": "dense"}
"""Old method names, accepted for one release with a ``DeprecationWarning``."""


def canonical_method(name: str) -> str:
    """The method's current name: ``name`` itself, or the new name of an old one (with a ``DeprecationWarning``).

    Parameters
    ----------
    name : str
        A method name.

    Returns
    -------
    str
    """
    if name in METHOD_ALIASES:
        new = METHOD_ALIASES[name]
        warnings.warn(f"method {name!r} is now {new!r} (the old name goes in the next release)", DeprecationWarning,
                      stacklevel=3)
        return new
    return name


def method_label(name: str) -> str:
    """The legend label of a method name (the name itself for a method not in :data:`METHODS`).

    Parameters
    ----------
    name : str
        A method name.

    Returns
    -------
    str
    """
    m = METHODS.get(METHOD_ALIASES.get(name, name))
    return m.label if m is not None else str(name)
