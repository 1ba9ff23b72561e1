"""reweightkit: sparse survey calibration, L1 versus L0, measured honestly.

The package is layered; each layer imports only the ones above it in this list:

- :mod:`reweightkit.problem`: targets -> constraint system, the prepared problem,
  the NN-LASSO's maths and certificate, the Hard Concrete gate's law, scoring;
- :mod:`reweightkit.solvers`: FISTA, the interior point, the path, the optimal
  set, raking, the Hard Concrete engines;
- :mod:`reweightkit.estimators`: the calibrators (one shared contract);
- :mod:`reweightkit.experiment`: example data, sweeps over one method registry,
  comparisons, summaries and plots;
- :mod:`reweightkit.widgets` and :mod:`reweightkit.cli`: the notebooks' sliders
  and the command line.

Everything a user or a notebook needs is re-exported here (``rk.__all__``).
"""

from . import widgets
from ._threads import available_cpus, cpu_quota, default_threads, set_threads, thread_limits
from ._version import __version__ as __version__
from .estimators import (
    BalancedSampleCalibrator,
    CalibrateThenReduceCalibrator,
    Calibrator,
    HardConcreteCalibrator,
    RakeCalibrator,
    SparseCalibrator,
    SubsampleRakeCalibrator,
    calibrate,
)
from .exceptions import ConvergenceWarning, LambdaMaxWarning, PartialMarginWarning, RakeWarning, TargetMissWarning
from .experiment import (
    BUDGET_METHODS,
    COLUMNS,
    DEFAULT_METHODS,
    METHODS,
    NATION_FAMILIES,
    PARAM_COLUMNS,
    PUBLISHED_L0_LAMBDAS,
    PUBLISHED_L1_LAMBDAS,
    REGIONS_CPS,
    CalibrationTask,
    NationBenchmark,
    cps1988_benchmark,
    cps1988_population,
    dense_reference,
    family_holdout_tasks,
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
    runtime_table,
    save_weights,
    summarize,
    superpopulation,
    sweep_budget_hard_concrete,
    sweep_budget_l1,
    sweep_budget_sampler,
    sweep_hard_concrete,
    sweep_l1,
    sweep_subsample,
    synthetic_problem,
)
from .problem import BETA as GATE_BETA
from .problem import GAMMA as GATE_GAMMA
from .problem import ZETA as GATE_ZETA
from .problem import (
    CalibrationProblem,
    CalibrationSystem,
    L1Solution,
    Scorer,
    alpha_grid,
    build_system,
    duality_gap,
    evaluate,
    expected_l0,
    gate_cdf,
    gate_density,
    gate_prob_one,
    gate_prob_zero,
    kish_ess,
    kkt_residual,
    lambda_max,
    max_relative_error,
    mean_relative_error,
    n_active,
    objective,
    prepare,
    prepare_matrix,
    prepare_system,
    sample_gates,
    target_errors,
    weight_summary,
)
from .solvers import (
    CalibrationResult,
    active_set,
    cube_sample,
    fista,
    inclusion_probabilities,
    integerize,
    ipm,
    nn_lasso_path,
    optimal_set_ranges,
    rake,
    relaxed_refit,
    systematic_sample,
    train_hard_concrete,
    train_with_l0_python,
    vertex_solution,
)

__all__ = [
    # problem
    "CalibrationSystem", "CalibrationProblem", "build_system", "prepare", "prepare_matrix", "prepare_system", "Scorer",
    "target_errors",
    "mean_relative_error", "max_relative_error", "n_active", "kish_ess", "weight_summary", "evaluate",
    "L1Solution", "alpha_grid", "lambda_max", "objective", "duality_gap", "kkt_residual",
    "GATE_BETA", "GATE_GAMMA", "GATE_ZETA", "expected_l0", "gate_cdf", "gate_density", "gate_prob_one",
    "gate_prob_zero", "sample_gates",
    # solvers
    "fista", "ipm", "active_set", "nn_lasso_path", "relaxed_refit", "vertex_solution", "optimal_set_ranges", "rake",
    "train_hard_concrete", "train_with_l0_python",
    # estimators and warnings
    "SparseCalibrator", "HardConcreteCalibrator", "RakeCalibrator", "SubsampleRakeCalibrator", "Calibrator",
    "calibrate", "CalibrationResult",
    "ConvergenceWarning", "LambdaMaxWarning", "RakeWarning", "TargetMissWarning", "PartialMarginWarning",
    # experiment
    "published_example", "superpopulation", "synthetic_problem", "CalibrationTask", "METHODS", "COLUMNS",
    "PARAM_COLUMNS", "PUBLISHED_L1_LAMBDAS", "PUBLISHED_L0_LAMBDAS", "sweep_l1", "sweep_hard_concrete",
    "BUDGET_METHODS", "DEFAULT_METHODS", "sweep_budget_hard_concrete", "sweep_budget_l1",
    "sweep_budget_sampler", "save_weights", "load_weights", "read_targets", "plot_fit",
    "BalancedSampleCalibrator", "cps1988_benchmark", "cps1988_population", "REGIONS_CPS",
    "CalibrateThenReduceCalibrator", "cube_sample",
    "inclusion_probabilities", "integerize", "systematic_sample",
    "sweep_subsample", "dense_reference", "run_comparison", "run_replicates", "run_family_holdout",
    "family_holdout_tasks", "nation", "NationBenchmark", "NATION_FAMILIES", "summarize", "pareto_front",
    "runtime_table", "plot_frontier", "plot_train_test", "plot_runtime",
    # threads
    "available_cpus", "cpu_quota", "default_threads", "set_threads", "thread_limits",
    # notebooks' sliders
    "widgets",
]
