"""The estimator layer: calibrators with one shared contract (:class:`BaseCalibrator`)."""

from .base import REFIT_OPTIONS, BaseCalibrator
from .calibration import Calibrator, calibrate
from .hardconcrete import HardConcreteCalibrator
from .raking import RakeCalibrator, SubsampleRakeCalibrator
from .sparse import SparseCalibrator

__all__ = ["REFIT_OPTIONS", "BaseCalibrator", "Calibrator", "HardConcreteCalibrator", "RakeCalibrator",
           "SparseCalibrator", "SubsampleRakeCalibrator", "calibrate"]
