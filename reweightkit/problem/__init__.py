"""The problem layer: targets -> constraint system, the NN-LASSO's maths, the gate's law, scoring.

Nothing here imports a solver, an estimator or an experiment.
"""

from .frame import as_problem, build_system, design_weights, prepare
from .gates import BETA, GAMMA, ZETA, expected_l0, gate_cdf, gate_density, gate_prob_one, gate_prob_zero, sample_gates
from .nesting import FamilyNesting, family_nesting, nesting_closure
from .nnlasso import (
                      GAP_FLOOR,
                      L1Solution,
                      alpha_grid,
                      dual_value,
                      duality_gap,
                      kkt_residual,
                      lambda_max,
                      lipschitz_constant,
                      objective,
)
from .scoring import (
                      ACTIVE_TOL,
                      Scorer,
                      evaluate,
                      kish_ess,
                      max_relative_error,
                      mean_relative_error,
                      n_active,
                      relative_errors,
                      target_errors,
                      target_table,
                      weight_summary,
)
from .selection import selection_profile, selection_tilt
from .system import (
                      CalibrationProblem,
                      CalibrationSystem,
                      ScaledProblem,
                      margin_cells,
                      prepare_matrix,
                      prepare_system,
                      scaled_start,
)

__all__ = [
    "ACTIVE_TOL", "BETA", "CalibrationProblem", "CalibrationSystem", "GAMMA", "GAP_FLOOR", "L1Solution",
    "FamilyNesting", "ScaledProblem", "Scorer", "ZETA", "alpha_grid", "as_problem", "build_system",
    "design_weights", "dual_value", "duality_gap", "evaluate", "expected_l0", "family_nesting", "gate_cdf",
    "gate_density", "gate_prob_one", "gate_prob_zero", "kish_ess", "kkt_residual", "lambda_max",
    "lipschitz_constant", "margin_cells", "max_relative_error", "mean_relative_error", "n_active",
    "nesting_closure", "objective", "prepare", "prepare_matrix", "prepare_system", "relative_errors",
    "sample_gates", "scaled_start", "selection_profile", "selection_tilt", "target_errors", "target_table",
    "weight_summary"
]
