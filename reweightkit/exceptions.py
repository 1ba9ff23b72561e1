"""The warnings the kit raises (a leaf module: every layer may import it).

Every warning of the kit derives from :class:`ReweightkitWarning`, so one filter
silences or escalates them all::

    warnings.simplefilter("error", rk.ReweightkitWarning)
"""

__all__ = ["ReweightkitWarning", "BudgetWarning", "ConvergenceWarning", "LambdaMaxWarning", "LeakWarning",
           "PartialMarginWarning", "RakeWarning",
           "TargetMissWarning"]


class ReweightkitWarning(UserWarning):
    """The base of every warning the kit raises (filter on it to catch them all)."""


class ConvergenceWarning(ReweightkitWarning):
    """A solver stopped before its own criterion was met (a certificate, a settled gate count), with the numbers."""


class LambdaMaxWarning(ReweightkitWarning):
    """The penalty is at or above ``lambda_max``: every weight is zero."""


class RakeWarning(ReweightkitWarning):
    """Raking stopped before the targets were met (often: more targets than usable records)."""


class TargetMissWarning(ReweightkitWarning):
    """A fit leaves some train target far off (by more than half of its value), with the numbers."""


class PartialMarginWarning(ReweightkitWarning):
    """A categorical margin has targets for some of its categories only: the others are unconstrained."""


class BudgetWarning(ReweightkitWarning):
    """A record budget no penalty reached was left out of a sweep (the message names the nearest reachable counts)."""


class LeakWarning(ReweightkitWarning):
    """A held-out target family is revealed by training families (its targets are sums of theirs): its scores leak."""
