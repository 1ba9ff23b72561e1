"""reweightkit: sparse survey calibration, L1 versus L0, measured honestly."""

from .baselines import RakeCalibrator, RakeWarning, SubsampleRakeCalibrator, rake
from .data import published_example, superpopulation, synthetic_problem
from .evaluation import (
    evaluate,
    kish_ess,
    max_relative_error,
    mean_relative_error,
    n_active,
    target_errors,
    weight_summary,
)
from .hardconcrete import expected_l0, gate_cdf, gate_density, gate_prob_one, gate_prob_zero, sample_gates
from .l0_calibrator import HardConcreteCalibrator
from .l1 import ConvergenceWarning, nn_lasso_path
from .sparse_calibrator import LambdaMaxWarning, SparseCalibrator
from .optimal_set import optimal_set_ranges, vertex_solution
from .plotting import plot_frontier, plot_runtime, plot_train_test
from .sweeps import (
    dense_reference,
    pareto_front,
    run_comparison,
    summarize,
    sweep_hard_concrete,
    sweep_l1,
    sweep_subsample,
)
from .targets import CalibrationSystem, build_system, prepare
from . import widgets

__all__ = [
    "synthetic_problem",
    "expected_l0",
    "gate_cdf",
    "gate_density",
    "gate_prob_one",
    "gate_prob_zero",
    "sample_gates",
    "widgets",
    "optimal_set_ranges",
    "vertex_solution",
    "RakeCalibrator",
    "RakeWarning",
    "SubsampleRakeCalibrator",
    "dense_reference",
    "pareto_front",
    "plot_frontier",
    "plot_runtime",
    "plot_train_test",
    "rake",
    "run_comparison",
    "summarize",
    "superpopulation",
    "sweep_hard_concrete",
    "sweep_l1",
    "sweep_subsample",
    "CalibrationSystem",
    "ConvergenceWarning",
    "HardConcreteCalibrator",
    "LambdaMaxWarning",
    "SparseCalibrator",
    "build_system",
    "evaluate",
    "kish_ess",
    "max_relative_error",
    "mean_relative_error",
    "n_active",
    "nn_lasso_path",
    "prepare",
    "published_example",
    "target_errors",
    "weight_summary",
]
__version__ = "0.1.0"
