"""The estimator layer: calibrators with one shared contract (:class:`BaseCalibrator`).

Each estimator owns its fit and exposes its grid: :meth:`SparseCalibrator.path` (a
warm-started certified L1 path), :meth:`HardConcreteCalibrator.fit_grid` (batched
penalties, seeds or budgets) and :meth:`HardConcreteCalibrator.refitted`; the
comparison layer fits only through them.
"""

import warnings as _warnings

from .base import REFIT_OPTIONS, BaseCalibrator, SamplerCalibrator
from .calibration import Calibrator, calibrate
from .hardconcrete import HardConcreteCalibrator
from .raking import RakeCalibrator
from .sampling import BalancedSampleCalibrator, CalibrateThenReduceCalibrator, SubsampleCalibrator
from .sparse import SparseCalibrator

__all__ = ["BalancedSampleCalibrator", "BaseCalibrator", "CalibrateThenReduceCalibrator", "Calibrator",
           "HardConcreteCalibrator", "REFIT_OPTIONS", "RakeCalibrator", "SamplerCalibrator", "SparseCalibrator",
           "SubsampleCalibrator", "calibrate"]


def __getattr__(name):
    if name == "SubsampleRakeCalibrator":
        _warnings.warn("SubsampleRakeCalibrator is now SubsampleCalibrator (the old name goes in the next release)",
                       DeprecationWarning, stacklevel=2)
        return SubsampleCalibrator
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
