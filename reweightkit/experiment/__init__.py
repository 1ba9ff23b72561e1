"""The experiment layer: benchmarks (example data, real microdata, the national benchmark), tasks with held-out
targets, sweeps over one method registry (fitting only through the estimators), comparisons, summaries, plots and
weight files."""

from .comparison import BUDGET_METHODS, DEFAULT_METHODS, run_comparison, run_family_holdout, run_replicates
from .data import published_example, superpopulation, synthetic_problem
from .io import load_weights, read_targets, save_weights
from .methods import METHOD_ALIASES, METHODS, Method, canonical_method, method_label
from .nation import NATION_FAMILIES, NATION_FAMILY_TREE, NationBenchmark, nation
from .parallel import ComparisonError, local_cluster
from .plotting import plot_fit, plot_frontier, plot_runtime, plot_train_test
from .realdata import REGIONS_CPS, cps1988_benchmark, cps1988_population
from .summary import pareto_front, runtime_table, summarize
from .sweeps import (
    COLUMNS,
    PARAM_COLUMNS,
    PUBLISHED_L0_LAMBDAS,
    PUBLISHED_L1_LAMBDAS,
    dense_reference,
    result_row,
    sweep_budget_hard_concrete,
    sweep_budget_l1,
    sweep_budget_sampler,
    sweep_hard_concrete,
    sweep_l1,
    sweep_subsample,
)
from .task import CalibrationTask, family_holdout_tasks, group_label

__all__ = ["BUDGET_METHODS", "COLUMNS", "CalibrationTask", "DEFAULT_METHODS", "METHODS", "METHOD_ALIASES", "Method",
           "PARAM_COLUMNS", "PUBLISHED_L0_LAMBDAS", "PUBLISHED_L1_LAMBDAS", "REGIONS_CPS", "canonical_method",
           "cps1988_benchmark", "cps1988_population", "dense_reference", "family_holdout_tasks", "group_label", "load_weights",
           "method_label", "pareto_front", "plot_fit", "plot_frontier", "plot_runtime", "plot_train_test",
           "published_example", "read_targets", "result_row", "run_comparison", "run_replicates", "run_family_holdout",
           "runtime_table", "save_weights", "summarize", "superpopulation", "sweep_budget_hard_concrete",
           "sweep_budget_l1", "sweep_budget_sampler", "sweep_hard_concrete", "sweep_l1", "sweep_subsample",
           "synthetic_problem", "nation", "NationBenchmark", "NATION_FAMILIES", "NATION_FAMILY_TREE", "ComparisonError",
           "local_cluster"]
