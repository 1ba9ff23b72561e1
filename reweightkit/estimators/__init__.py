"""The estimator layer: calibrators with one shared contract (:class:`BaseCalibrator`)."""

from .base import REFIT_OPTIONS, BaseCalibrator
from .calibration import Calibrator, calibrate
from .hardconcrete import HardConcreteCalibrator
from .raking import RakeCalibrator, SubsampleRakeCalibrator
from .sampling import BalancedSampleCalibrator, CalibrateThenReduceCalibrator
from .sparse import SparseCalibrator

__all__ = ["BalancedSampleCalibrator", "BaseCalibrator", "CalibrateThenReduceCalibrator", "Calibrator",
           "HardConcreteCalibrator", "REFIT_OPTIONS", "RakeCalibrator", "SparseCalibrator",
           "SubsampleRakeCalibrator", "calibrate"]
