"""Declarative parameter checks, one style for every estimator and sweep.

A constraint list says what a parameter may be; :func:`validate_params` checks
every parameter against its list and raises a ``TypeError`` when the value has
none of the allowed types, or a ``ValueError`` when it has an allowed type but
lies outside every allowed range or set.  Both messages name the parameter,
say what is allowed and quote the value::

    constraints = {"alpha": [None, Interval(Real, 0, 1, closed="right")],
                   "solver": [Options({"fista", "ipm"})],
                   "refit": ["boolean"]}
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Integral, Real

import numpy as np

__all__ = ["Interval", "Options", "Bounds", "validate_params", "check_seed", "check_seeds", "check_grid", "MAX_SEED"]

MAX_SEED = 2**63 - 1
"""Largest seed accepted (numpy and torch generators take 64-bit seeds)."""


def _is_real(v) -> bool:
    return isinstance(v, (Real, np.floating, np.integer)) and not isinstance(v, (bool, np.bool_))


def _is_integral(v) -> bool:
    return isinstance(v, (Integral, np.integer)) and not isinstance(v, (bool, np.bool_))


@dataclass(frozen=True)
class Interval:
    """A finite real (``kind=Real``) or integer (``kind=Integral``) number in a range.

    ``lo``/``hi`` of ``None`` leave that side open-ended; ``closed`` is one of
    ``"both"``, ``"left"``, ``"right"``, ``"neither"``.  NaN and infinities are
    never inside.
    """

    kind: type
    lo: float | None
    hi: float | None
    closed: str = "both"

    def type_ok(self, v) -> bool:
        return _is_integral(v) if self.kind is Integral else _is_real(v)

    def __contains__(self, v) -> bool:
        if not self.type_ok(v) or not math.isfinite(float(v)):
            return False
        left = self.closed in ("both", "left")
        right = self.closed in ("both", "right")
        if self.lo is not None and (v < self.lo or (v == self.lo and not left)):
            return False
        if self.hi is not None and (v > self.hi or (v == self.hi and not right)):
            return False
        return True

    def describe(self) -> str:
        what = "an integer" if self.kind is Integral else "a finite real number"
        lo, hi = (None if v is None else (str(int(v)) if self.kind is Integral else f"{v:g}") for v in (self.lo, self.hi))
        if lo is not None and hi is not None:
            lb = "[" if self.closed in ("both", "left") else "("
            rb = "]" if self.closed in ("both", "right") else ")"
            return f"{what} in {lb}{lo}, {hi}{rb}"
        if lo is not None:
            return f"{what} {'>=' if self.closed in ('both', 'left') else '>'} {lo}"
        if hi is not None:
            return f"{what} {'<=' if self.closed in ('both', 'right') else '<'} {hi}"
        return what


@dataclass(frozen=True)
class Options:
    """One of a fixed set of strings."""

    values: frozenset

    def __init__(self, values):
        object.__setattr__(self, "values", frozenset(values))

    def type_ok(self, v) -> bool:
        return isinstance(v, str)

    def __contains__(self, v) -> bool:
        return isinstance(v, str) and v in self.values

    def describe(self) -> str:
        return "one of " + ", ".join(repr(v) for v in sorted(self.values))


class Bounds:
    """A pair ``(lo, hi)`` of finite reals with ``0 <= lo < hi`` (bounds on ``g = w / d``)."""

    def type_ok(self, v) -> bool:
        return isinstance(v, (tuple, list)) and len(v) == 2 and all(_is_real(x) for x in v)

    def __contains__(self, v) -> bool:
        if not self.type_ok(v):
            return False
        lo, hi = (float(x) for x in v)
        return math.isfinite(lo) and math.isfinite(hi) and 0 <= lo < hi

    def describe(self) -> str:
        return "a tuple (lo, hi) of finite numbers with 0 <= lo < hi"


class Prices:
    """A 1-D array-like of finite reals ``>= 0``, not all zero (per-record prices; the length is checked at fit)."""

    def type_ok(self, v) -> bool:
        return isinstance(v, (np.ndarray, list, tuple)) and not isinstance(v, str)

    def __contains__(self, v) -> bool:
        if not self.type_ok(v):
            return False
        try:
            a = np.asarray(v, dtype=float)
        except (TypeError, ValueError):
            return False
        return a.ndim == 1 and a.size > 0 and bool(np.all(np.isfinite(a))) and bool(np.all(a >= 0)) and a.max() > 0

    def describe(self) -> str:
        return "a 1-D array of finite prices >= 0, not all zero"


def _describe(c) -> str:
    if c is None:
        return "None"
    if c == "boolean":
        return "a bool (True or False)"
    return c.describe()


def _satisfies(c, v) -> tuple[bool, bool]:
    """(type allowed, value allowed) of ``v`` under constraint ``c``."""
    if c is None:
        return v is None, v is None
    if c == "boolean":
        ok = isinstance(v, (bool, np.bool_))
        return ok, ok
    return c.type_ok(v), v in c


def validate_params(constraints: dict, params: dict) -> None:
    """Check each ``params[name]`` against ``constraints[name]`` (a list of alternatives).

    Raises
    ------
    TypeError
        The value's type fits none of the alternatives (``"x"`` for a number,
        ``1.5`` for an integer, ``"no"`` for a bool).
    ValueError
        Its type fits but its value does not (``-1`` for ``> 0``, ``"gpu"`` for
        one of ``{"cpu", "cuda"}``, NaN, infinity).
    """
    for name, allowed in constraints.items():
        v = params[name]
        results = [_satisfies(c, v) for c in allowed]
        if any(val for _, val in results):
            continue
        expected = " or ".join(_describe(c) for c in allowed)
        exc = ValueError if any(typ for typ, _ in results) else TypeError
        raise exc(f"{name} must be {expected}, got {v!r}")


def check_seed(seed, name="seed", allow_none=True) -> int | None:
    """A seed as a Python int in ``[0, MAX_SEED]`` (or None when allowed)."""
    allowed = [None] if allow_none else []
    validate_params({name: allowed + [Interval(Integral, 0, MAX_SEED)]}, {name: seed})
    return None if seed is None else int(seed)


def check_grid(name, grid):
    """The grid as a float array: non-empty, finite and ``>= 0``, else a ``ValueError`` naming it."""
    grid = np.atleast_1d(np.asarray(grid, dtype=float))
    if grid.size == 0:
        raise ValueError(f"{name} grid is empty")
    if not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError(f"{name} grid must be finite and >= 0, got {grid.tolist()}")
    return grid


def check_seeds(seeds):
    """The seeds as a list of ints: non-empty, each in ``[0, 2**63 - 1]``."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    return [check_seed(s, "seeds", allow_none=False) for s in seeds]
