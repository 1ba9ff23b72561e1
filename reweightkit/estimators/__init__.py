"""The estimator layer: calibrators with one shared contract (:class:`BaseCalibrator`)."""

from .base import BaseCalibrator
from .hardconcrete import HardConcreteCalibrator
from .raking import RakeCalibrator, SubsampleRakeCalibrator
from .sparse import SparseCalibrator

__all__ = ["BaseCalibrator", "HardConcreteCalibrator", "RakeCalibrator", "SparseCalibrator",
           "SubsampleRakeCalibrator"]
