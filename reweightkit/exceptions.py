"""The warnings the kit raises (a leaf module: every layer may import it)."""

__all__ = ["ConvergenceWarning", "LambdaMaxWarning", "PartialMarginWarning", "RakeWarning", "TargetMissWarning"]


class ConvergenceWarning(UserWarning):
    """A solver stopped at ``max_iter`` before its certificate met ``tol``."""


class LambdaMaxWarning(UserWarning):
    """The penalty is at or above ``lambda_max``: every weight is zero."""


class RakeWarning(UserWarning):
    """Raking stopped before the targets were met (often: more targets than usable records)."""


class TargetMissWarning(UserWarning):
    """A fit leaves some train target far off (by more than half of its value), with the numbers."""


class PartialMarginWarning(UserWarning):
    """A categorical margin has targets for some of its categories only: the others are unconstrained."""
