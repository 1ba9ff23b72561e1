"""reweightkit: sparse survey calibration, L1 versus L0, measured honestly."""

from .data import published_example
from .evaluation import (
    evaluate,
    kish_ess,
    max_relative_error,
    mean_relative_error,
    n_active,
    target_errors,
    weight_summary,
)
from .l0_calibrator import HardConcreteCalibrator
from .l1 import ConvergenceWarning, nn_lasso_path
from .sparse_calibrator import LambdaMaxWarning, SparseCalibrator
from .targets import CalibrationSystem, build_system, prepare

__all__ = [
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
