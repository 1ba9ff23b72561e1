"""reweightkit: sparse survey calibration, L1 versus L0, measured honestly.

The face of the package (``rk.__all__``) holds what a user or a notebook reaches for
first: the estimators, :func:`calibrate`, the benchmarks, the comparison entry points,
summaries, plots, weight files and the warnings.  Everything else lives in four
documented subpackages, layered so that each imports only the ones above it:

- :mod:`reweightkit.problem`: targets -> constraint system (:func:`prepare`,
  :func:`prepare_matrix`, ``build_system``), the NN-LASSO's maths and certificate,
  the Hard Concrete gate's law, the one scorer;
- :mod:`reweightkit.solvers`: FISTA, the interior point, the active set, the
  warm-started path, the optimal set, calibration and the one refit, the cube
  method, the Hard Concrete engines;
- :mod:`reweightkit.estimators`: the calibrators (one shared contract; each owns its
  fit and exposes its grid: ``SparseCalibrator.path``, ``HardConcreteCalibrator.fit_grid``);
- :mod:`reweightkit.experiment`: benchmarks, tasks with held-out targets, sweeps over
  one method registry (fitting only through the estimators), comparisons, summaries,
  plots and weight files;
- :mod:`reweightkit.widgets` and :mod:`reweightkit.cli`: the notebooks' sliders and
  the command line; :mod:`reweightkit.threads`: how many threads training uses.

Names that left the face in 0.3 (``rk.n_active``, ``rk.build_system``, ``rk.sweep_l1``,
...) still work for one release, with a ``DeprecationWarning`` naming their new home.
"""

import importlib as _importlib
import warnings as _warnings

from . import estimators, experiment, problem, solvers, threads
from ._version import __version__ as __version__
from .estimators import (
    BalancedSampleCalibrator,
    CalibrateThenReduceCalibrator,
    Calibrator,
    HardConcreteCalibrator,
    RakeCalibrator,
    SparseCalibrator,
    SubsampleCalibrator,
    calibrate,
)
from .exceptions import (
    BudgetWarning,
    ConvergenceWarning,
    LambdaMaxWarning,
    LeakWarning,
    PartialMarginWarning,
    RakeWarning,
    ReweightkitWarning,
    TargetMissWarning,
)
from .experiment import (
    METHODS,
    CalibrationTask,
    cps1988_benchmark,
    cps1988_population,
    load_weights,
    nation,
    pareto_front,
    plot_fit,
    plot_frontier,
    plot_runtime,
    plot_train_test,
    published_example,
    read_targets,
    run_comparison,
    run_family_holdout,
    run_replicates,
    save_weights,
    summarize,
    superpopulation,
)
from .problem import prepare, prepare_matrix, target_errors, weight_summary
from .threads import default_threads, set_threads

__all__ = [
    # estimators
    "SparseCalibrator", "HardConcreteCalibrator", "Calibrator", "RakeCalibrator", "SubsampleCalibrator",
    "BalancedSampleCalibrator", "CalibrateThenReduceCalibrator", "calibrate",
    # problems and scores
    "prepare", "prepare_matrix", "target_errors", "weight_summary",
    # benchmarks
    "published_example", "superpopulation", "nation", "cps1988_benchmark", "cps1988_population",
    # comparisons
    "CalibrationTask", "METHODS", "run_comparison", "run_replicates", "run_family_holdout", "summarize", "pareto_front",
    # plots and weight files
    "plot_frontier", "plot_fit", "plot_train_test", "plot_runtime", "save_weights", "load_weights", "read_targets",
    # warnings (all derive from ReweightkitWarning)
    "ReweightkitWarning", "BudgetWarning", "ConvergenceWarning", "LambdaMaxWarning", "LeakWarning",
    "PartialMarginWarning", "RakeWarning", "TargetMissWarning",
    # threads
    "set_threads", "default_threads",
    # the documented subpackages
    "problem", "solvers", "estimators", "experiment", "widgets", "threads",
]

MOVED = {
    "CalibrationSystem": ("problem", "CalibrationSystem"),
    "CalibrationProblem": ("problem", "CalibrationProblem"),
    "build_system": ("problem", "build_system"),
    "prepare_system": ("problem", "prepare_system"),
    "Scorer": ("problem", "Scorer"),
    "mean_relative_error": ("problem", "mean_relative_error"),
    "max_relative_error": ("problem", "max_relative_error"),
    "n_active": ("problem", "n_active"),
    "kish_ess": ("problem", "kish_ess"),
    "evaluate": ("problem", "evaluate"),
    "L1Solution": ("problem", "L1Solution"),
    "alpha_grid": ("problem", "alpha_grid"),
    "lambda_max": ("problem", "lambda_max"),
    "objective": ("problem", "objective"),
    "duality_gap": ("problem", "duality_gap"),
    "kkt_residual": ("problem", "kkt_residual"),
    "GATE_BETA": ("problem", "BETA"),
    "GATE_GAMMA": ("problem", "GAMMA"),
    "GATE_ZETA": ("problem", "ZETA"),
    "expected_l0": ("problem", "expected_l0"),
    "gate_cdf": ("problem", "gate_cdf"),
    "gate_density": ("problem", "gate_density"),
    "gate_prob_one": ("problem", "gate_prob_one"),
    "gate_prob_zero": ("problem", "gate_prob_zero"),
    "sample_gates": ("problem", "sample_gates"),
    "fista": ("solvers", "fista"),
    "ipm": ("solvers", "ipm"),
    "active_set": ("solvers", "active_set"),
    "nn_lasso_path": ("solvers", "nn_lasso_path"),
    "relaxed_refit": ("solvers", "relaxed_refit"),
    "vertex_solution": ("solvers", "vertex_solution"),
    "optimal_set_ranges": ("solvers", "optimal_set_ranges"),
    "rake": ("solvers", "rake"),
    "train_hard_concrete": ("solvers", "train_hard_concrete"),
    "train_with_l0_python": ("solvers", "train_with_l0_python"),
    "SubsampleRakeCalibrator": ("estimators", "SubsampleCalibrator"),
    "CalibrationResult": ("solvers", "CalibrationResult"),
    "synthetic_problem": ("experiment", "synthetic_problem"),
    "COLUMNS": ("experiment", "COLUMNS"),
    "PARAM_COLUMNS": ("experiment", "PARAM_COLUMNS"),
    "PUBLISHED_L1_LAMBDAS": ("experiment", "PUBLISHED_L1_LAMBDAS"),
    "PUBLISHED_L0_LAMBDAS": ("experiment", "PUBLISHED_L0_LAMBDAS"),
    "sweep_l1": ("experiment", "sweep_l1"),
    "sweep_hard_concrete": ("experiment", "sweep_hard_concrete"),
    "BUDGET_METHODS": ("experiment", "BUDGET_METHODS"),
    "DEFAULT_METHODS": ("experiment", "DEFAULT_METHODS"),
    "sweep_budget_hard_concrete": ("experiment", "sweep_budget_hard_concrete"),
    "sweep_budget_l1": ("experiment", "sweep_budget_l1"),
    "sweep_budget_sampler": ("experiment", "sweep_budget_sampler"),
    "REGIONS_CPS": ("experiment", "REGIONS_CPS"),
    "cube_sample": ("solvers", "cube_sample"),
    "inclusion_probabilities": ("solvers", "inclusion_probabilities"),
    "integerize": ("solvers", "integerize"),
    "systematic_sample": ("solvers", "systematic_sample"),
    "sweep_subsample": ("experiment", "sweep_subsample"),
    "dense_reference": ("experiment", "dense_reference"),
    "family_holdout_tasks": ("experiment", "family_holdout_tasks"),
    "NationBenchmark": ("experiment", "NationBenchmark"),
    "NATION_FAMILIES": ("experiment", "NATION_FAMILIES"),
    "runtime_table": ("experiment", "runtime_table"),
    "available_cpus": ("threads", "available_cpus"),
    "cpu_quota": ("threads", "cpu_quota"),
    "thread_limits": ("threads", "thread_limits"),
}
"""Names that left the face: ``name -> (subpackage, name there)``; importable from ``rk`` for one more release."""


def __getattr__(name):
    if name == "widgets":  # the sliders pull in matplotlib's figure machinery: imported on first use
        module = _importlib.import_module("reweightkit.widgets")
        globals()["widgets"] = module
        return module
    if name in MOVED:
        module, attr = MOVED[name]
        _warnings.warn(f"rk.{name} moved to reweightkit.{module}.{attr} (rk.{name} goes in the next release)",
                       DeprecationWarning,
                       stacklevel=2)
        return getattr(_importlib.import_module(f"reweightkit.{module}"), attr)
    raise AttributeError(f"module 'reweightkit' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(MOVED) | {"widgets"})
