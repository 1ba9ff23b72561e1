"""The matrix core: the constraint system ``A w ~= b`` and the prepared problem.

``A`` is a ``scipy.sparse`` CSR matrix of shape ``(m targets, n records)``; nothing
n-wide is ever densified.  It comes from microdata and target dicts (the DataFrame
front, :mod:`reweightkit.problem.frame`) or directly as a matrix (:func:`prepare_matrix`).

The relative loss divides every row by ``|b_i|``:
``A_tilde = diag(1/|b|) A`` and ``b_tilde = sign(b)`` (all ones, since targets
must be positive; see :func:`build_system`).  :func:`prepare` builds the system
once, scales it and stores it record-major (``At_rec = A_tilde'``, n x m) with
the design weights and the start point: the :class:`CalibrationProblem` every
solver, estimator and sweep takes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["CalibrationSystem", "CalibrationProblem", "ScaledProblem", "scaled_start", "margin_cells",
           "unreachable_targets", "prepare_matrix", "prepare_system"]


@dataclass(frozen=True)
class CalibrationSystem:
    """A calibration problem in matrix form.

    Parameters
    ----------
    A : scipy.sparse.csr_matrix, shape (m, n)
        Raw constraint matrix (counts and totals).
    b : ndarray, shape (m,)
        Targets.
    names : list of str, length m
        ``"column=category"`` for count targets, ``"column"`` for totals.
    kinds : list of str, length m
        ``"marginal"`` or ``"continuous"``.
    families : list, length m
        The data column each target is about (a margin's rows share it).
    categories : list, length m
        The category of each count target (``None`` for totals).
    """

    A: sp.csr_matrix
    b: np.ndarray
    names: list
    kinds: list
    families: list = None
    categories: list = None

    @property
    def n_targets(self) -> int:
        """Number of targets ``m`` (rows of ``A``)."""
        return self.A.shape[0]

    @property
    def n_records(self) -> int:
        """Number of records ``n`` (columns of ``A``)."""
        return self.A.shape[1]

    def relative(self) -> sp.csr_matrix:
        """The relative system ``A_tilde = diag(1/|b|) A``.

        Returns
        -------
        csr_matrix, shape (m, n)
            Row ``i`` of ``A_tilde w`` is ``estimate_i / |b_i|``.
        """
        return sp.diags(1.0 / np.abs(self.b)).dot(self.A).tocsr()

    def scaled(self) -> tuple[sp.csr_matrix, np.ndarray]:
        """The relative loss's system.

        Returns
        -------
        A_tilde : csr_matrix, shape (m, n)
            ``diag(1/|b|) A`` (see :meth:`relative`).
        b_tilde : ndarray, shape (m,)
            ``sign(b)``.
        """
        return self.relative(), np.sign(self.b)

    def subset(self, rows) -> CalibrationSystem:
        """The system of some of the targets (same records).

        Parameters
        ----------
        rows : array-like of int or bool, length m when bool
            Which targets to keep, in order.

        Returns
        -------
        CalibrationSystem
        """
        idx = np.arange(self.n_targets)[np.asarray(rows)] if np.asarray(rows).dtype == bool else \
            np.asarray(rows, dtype=int)

        def pick(values):
            return None if values is None else [values[i] for i in idx]

        return CalibrationSystem(A=self.A[idx].tocsr(), b=self.b[idx].copy(), names=pick(self.names),
                                 kinds=pick(self.kinds), families=pick(self.families),
                                 categories=pick(self.categories))

    def family_rows(self, families) -> np.ndarray:
        """Mask of the targets in ``families``, each of which must exist.

        Parameters
        ----------
        families : iterable
            Family labels (:attr:`families`).

        Returns
        -------
        ndarray of bool, shape (m,)

        Raises
        ------
        ValueError
            Naming a family the system does not have.
        """
        fams = self.families if self.families is not None else list(self.names)
        wanted = list(families) if not isinstance(families, str) else [families]
        have = set(fams)
        missing = [f for f in wanted if f not in have]
        if missing:
            shown = sorted(map(str, have))
            raise ValueError(f"no target family {missing[0]!r}; the families are {shown[:20]}"
                             + (f" and {len(shown) - 20} more" if len(shown) > 20 else ""))
        wanted = set(wanted)
        return np.array([f in wanted for f in fams], dtype=bool)

    def estimates(self, w) -> np.ndarray:
        """Weighted totals ``A w`` of a weight vector.

        Parameters
        ----------
        w : array-like, shape (n,)
            Weights.

        Returns
        -------
        ndarray, shape (m,)
        """
        return np.asarray(self.A @ np.asarray(w, dtype=float)).ravel()


def _check_target_value(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (Real, np.number)):
        raise TypeError(f"target {name!r} must be a real number, got {type(value).__name__} {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise ValueError(f"target {name!r} must be finite, got {v!r}")
    if v <= 0:
        raise ValueError(
            f"target {name!r} must be positive, got {v!r}: the relative loss divides by |target|, so a "
            "zero target has no relative error and a negative total has no count meaning; drop the "
            "target or shift the variable"
        )
    return v


def _checked_design_weights(d, what) -> np.ndarray:
    """``d`` if its values are finite, >= 0 and not all zero; else a ValueError naming ``what``."""
    if not np.all(np.isfinite(d)):
        raise ValueError(f"{what} has {int((~np.isfinite(d)).sum())} NaN or infinite value(s)")
    if np.any(d < 0):
        raise ValueError(f"{what} has {int((d < 0).sum())} negative value(s)")
    if not np.any(d > 0):
        raise ValueError(f"{what} is zero for every record")
    return d


def scaled_start(At_rec, b_t, d=None) -> np.ndarray:
    """The start point ``c d``: design weights times one constant, the median of the targets' own ratios.

    Each target ``i`` whose design-weighted estimate ``z_i = (A~ d)_i`` is positive
    asks for the factor ``b~_i / z_i``; ``c`` is their median, so no single target
    (a tiny one, or one whose column is mostly negative) can drag every other
    target away from its value, as a least-squares constant would.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    d : ndarray, shape (n,), optional
        Design weights; ones when omitted.

    Returns
    -------
    ndarray, shape (n,)
        ``c d`` with ``c = median_i {b~_i / z_i : z_i > 0, b~_i > 0}``.

    Raises
    ------
    ValueError
        If no target has a positive design-weighted estimate.
    """
    d = np.ones(At_rec.shape[0]) if d is None else np.asarray(d, dtype=float)
    z = np.asarray(At_rec.T @ d, dtype=float)
    b_t = np.asarray(b_t, dtype=float)
    ok = (z > 0) & (b_t > 0)
    if not np.any(ok):
        raise ValueError(
            "the design weights give a zero or negative weighted estimate for every target, so there is no "
            "scale to start from: check the design weight column and the targets' columns"
        )
    return d * float(np.median(b_t[ok] / z[ok]))


@dataclass(frozen=True)
class CalibrationProblem:
    """A calibration problem prepared once for every solver: the system, its relative scaling and a start point.

    Built by :func:`prepare`; every estimator's ``fit`` and every sweep accepts
    one in place of a DataFrame and target dicts, so a comparison builds each
    system once.

    Parameters
    ----------
    system : CalibrationSystem
        The raw system ``A w ~= b`` with target names.
    At_rec : csr_matrix, shape (n, m)
        ``A_tilde'`` (record-major: one row per record).
    b_t : ndarray, shape (m,)
        ``b_tilde = sign(b)``.
    d : ndarray, shape (n,)
        Design weights.
    w0 : ndarray, shape (n,)
        The start point :func:`scaled_start` (design weights times one constant).
    index : pandas.Index, optional
        The records' labels (the DataFrame's index); positions when omitted.
    """

    system: CalibrationSystem
    At_rec: sp.csr_matrix
    b_t: np.ndarray
    d: np.ndarray
    w0: np.ndarray
    index: pd.Index | None = None

    @property
    def labels(self) -> pd.Index:
        """The records' labels: ``index``, or ``RangeIndex(n)`` when it is omitted."""
        return self.index if self.index is not None else pd.RangeIndex(self.n_records)

    @property
    def n_records(self) -> int:
        """Number of records ``n``."""
        return self.At_rec.shape[0]

    @property
    def n_targets(self) -> int:
        """Number of targets ``m``."""
        return self.At_rec.shape[1]


ScaledProblem = CalibrationProblem
"""The former name of :class:`CalibrationProblem`."""


def prepare_system(system: CalibrationSystem, design_weights, index=None) -> CalibrationProblem:
    """The prepared problem of a built system (e.g. some of another system's targets, :meth:`CalibrationSystem.subset`).

    Parameters
    ----------
    system : CalibrationSystem
        The targets.
    design_weights : array-like, shape (n,)
        Finite, >= 0, not all zero.
    index : pandas.Index, optional
        The records' labels.

    Returns
    -------
    CalibrationProblem
    """
    if not isinstance(system, CalibrationSystem):
        raise TypeError(f"system must be a CalibrationSystem, got {type(system).__name__}")
    d = np.asarray(design_weights, dtype=float)
    if d.shape != (system.n_records,):
        raise ValueError(f"design_weights must have one weight per record: shape ({system.n_records},), got {d.shape}")
    _checked_design_weights(d, "design_weights")
    return _scaled_problem(system, d, None if index is None else pd.Index(index))


def _scaled_problem(system, d, index) -> CalibrationProblem:
    """Scale a built system and store it record-major with its design weights and start point."""
    A_rel, b_t = system.scaled()
    At_rec = A_rel.T.tocsr()
    return CalibrationProblem(system=system, At_rec=At_rec, b_t=b_t, d=d, w0=scaled_start(At_rec, b_t, d),
                              index=index)


def unreachable_targets(system: CalibrationSystem, w) -> list[str]:
    """Names of the (positive) targets that no record with positive ``w`` contributes to positively.

    A method that can only rescale ``w`` (raking from the design weights, Hard
    Concrete's multiplicative weights) can never reach them.

    Parameters
    ----------
    system : CalibrationSystem
        The targets.
    w : ndarray, shape (n,)
        Weights (e.g. design weights).

    Returns
    -------
    list of str
    """
    A = system.A
    positive = A.multiply(A > 0).tocsr()
    reach = positive @ (np.asarray(w) > 0).astype(float)
    return [name for name, r in zip(system.names, reach) if r <= 0]


def _sorted(values):
    try:
        return sorted(values)
    except TypeError:  # mixed types: order by their text
        return sorted(values, key=str)


def margin_cells(system: CalibrationSystem) -> np.ndarray:
    """The cross-classification cell of every record by the system's categorical margins.

    Categories are ranked in sorted order within each margin (records in no
    targeted category of a margin share the rank -1), and cells are numbered in
    lexicographic order of the ranks: the order of ``DataFrame.groupby(columns,
    sort=True)`` when the margins are complete.

    Parameters
    ----------
    system : CalibrationSystem
        A system built by :func:`build_system`.

    Returns
    -------
    ndarray of int, shape (n,)
        Cell number of each record (all zeros when there is no margin).
    """
    n = system.n_records
    fams = system.families or [None] * system.n_targets
    margins = list(dict.fromkeys(f for f, k in zip(fams, system.kinds) if k == "marginal"))
    if not margins:
        return np.zeros(n, dtype=np.int64)
    ranks = np.full((n, len(margins)), -1, dtype=np.int64)
    for col, fam in enumerate(margins):
        rows = [i for i, (f, k) in enumerate(zip(fams, system.kinds)) if f == fam and k == "marginal"]
        order = {c: r for r, c in enumerate(_sorted([system.categories[i] for i in rows]))}
        rank_of_row = np.array([order[system.categories[i]] for i in rows], dtype=np.int64)
        sub = system.A[rows].tocoo()
        ranks[sub.col, col] = rank_of_row[sub.row]
    return np.unique(ranks, axis=0, return_inverse=True)[1].ravel()


def prepare_matrix(A, b, design_weights=None, *, names=None, families=None, index=None) -> CalibrationProblem:
    """The prepared problem from a targets x records matrix, as l0-python users already have it.

    Parameters
    ----------
    A : scipy.sparse matrix or array-like, shape (m, n)
        Row ``i`` holds each record's contribution to target ``i`` (never densified when sparse).
    b : array-like, shape (m,)
        Targets, finite and > 0.
    design_weights : array-like, shape (n,), optional
        Finite, >= 0, not all zero; ones when omitted.
    names : list of str, optional
        Target names (default ``"target_0"``, ...).
    families : list, optional
        The family of each target (default: each target its own).
    index : pandas.Index, optional
        The records' labels.

    Returns
    -------
    CalibrationProblem
        Accepted by every estimator's ``fit`` and by :class:`reweightkit.CalibrationTask`.
        A matrix carries no categorical margins: :class:`reweightkit.SubsampleRakeCalibrator`
        then draws from one stratum.
    """
    A = sp.csr_matrix(A, dtype=float)
    m, n = A.shape
    b = np.asarray(b, dtype=float)
    if b.shape != (m,):
        raise ValueError(f"b must have one target per row of A: shape ({m},), got {b.shape}")
    names = [f"target_{i}" for i in range(m)] if names is None else [str(x) for x in names]
    families = list(names) if families is None else list(families)
    if len(names) != m or len(families) != m:
        raise ValueError(f"names and families must have one entry per target ({m})")
    seen = {}
    for i, name in enumerate(names):
        if name in seen:
            raise ValueError(f"names must be unique: target {i} and target {seen[name]} are both named {name!r}")
        seen[name] = i
    for name, v in zip(names, b):
        _check_target_value(name, v)
    if not np.all(np.isfinite(A.data)):
        raise ValueError(f"A has {int((~np.isfinite(A.data)).sum())} NaN or infinite entries")
    d = np.ones(n) if design_weights is None else np.asarray(design_weights, dtype=float)
    if d.shape != (n,):
        raise ValueError(f"design_weights must have one weight per column of A: shape ({n},), got {d.shape}")
    _checked_design_weights(d, "design_weights")
    if index is not None and len(index) != n:
        raise ValueError(f"index must have one label per record ({n}), got {len(index)}")
    system = CalibrationSystem(A=A, b=b, names=names, kinds=["matrix"] * m, families=families,
                               categories=[None] * m)
    return _scaled_problem(system, d, None if index is None else pd.Index(index))
