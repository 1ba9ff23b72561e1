"""The solver layer: FISTA, the interior point, the active set, the warm-started path, the optimal set,
calibration on a support (raking, linear, logit, bounds), Hard Concrete.

Each solver takes the prepared arrays of :mod:`reweightkit.problem` (``At_rec``,
``b_t``, a start point) and imports nothing above that layer.
"""

from .active_set import active_set
from .calibration import CalibrationResult, calibrate_weights, rake, shortfall_lp
from .cube import cube_sample, flight_phase, inclusion_probabilities, integerize, landing_phase, systematic_sample
from .fista import fista
from .hardconcrete import require_torch, train_hard_concrete, train_with_l0_python
from .ipm import Gram, ipm
from .optimal_set import held_out_ranges, optimal_set_ranges, vertex_solution
from .path import choose_solver, nn_lasso_path
from .qr_active_set import QRSupport, qr_active_set
from .refit import RefitResult, bounded_least_squares, calibrate_support, refit_support, relaxed_refit

__all__ = ["CalibrationResult", "RefitResult", "Gram", "QRSupport", "active_set", "bounded_least_squares", "calibrate_support",
           "calibrate_weights", "choose_solver", "cube_sample", "fista", "flight_phase", "held_out_ranges",
           "inclusion_probabilities", "integerize", "ipm", "landing_phase", "nn_lasso_path", "optimal_set_ranges",
           "qr_active_set", "rake", "refit_support", "relaxed_refit", "require_torch", "shortfall_lp", "systematic_sample",
           "train_hard_concrete", "train_with_l0_python", "vertex_solution"]
