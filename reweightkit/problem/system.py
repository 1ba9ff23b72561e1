"""Targets -> constraint system ``A w ~= b``.

``marginal_targets = {column: {category: count}}`` gives one row per
(column, category): ``A[i, j] = 1`` when record ``j`` is in that category.
``continuous_targets = {column: total}`` gives one row per column:
``A[i, j] = df[column][j]``.  ``A`` is a ``scipy.sparse`` CSR matrix of shape
``(m targets, n records)``; nothing n-wide is ever densified.

The relative loss divides every row by ``|b_i|``:
``A_tilde = diag(1/|b|) A`` and ``b_tilde = sign(b)`` (all ones, since targets
must be positive; see :func:`build_system`).  :func:`prepare` builds the system
once, scales it and stores it record-major (``At_rec = A_tilde'``, n x m) with
the design weights and the start point: the :class:`CalibrationProblem` every
solver, estimator and sweep takes.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..exceptions import PartialMarginWarning

__all__ = ["CalibrationSystem", "CalibrationProblem", "ScaledProblem", "build_system", "design_weights", "prepare",
           "as_problem", "scaled_start", "margin_cells", "unreachable_targets", "prepare_matrix",
           "prepare_system"]


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


def _check_frame(df) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame, got {type(df).__name__}")
    if len(df) == 0:
        raise ValueError("data is empty: the DataFrame has no records (rows)")
    dup = df.columns[df.columns.duplicated()]
    if len(dup):
        raise ValueError(f"the data has duplicate column names {sorted(map(str, set(dup)))}: rename them so that "
                         "each target names one column")


def _column(df: pd.DataFrame, col, role: str) -> pd.Series:
    if col not in df.columns:
        raise ValueError(
            f"{role} target column {col!r} is not in the data; available columns: {list(df.columns)}"
        )
    return df[col]


def design_weights(df: pd.DataFrame, weight_col: str | None = "weight") -> np.ndarray:
    """Design weights from ``weight_col`` as float64.

    Parameters
    ----------
    df : DataFrame
        Microdata.
    weight_col : str or None, default "weight"
        The design weight column; ``None`` asks for uniform design weights (ones).
        A name that is not a column is an error, never replaced by ones.

    Returns
    -------
    ndarray, shape (n,)

    Raises
    ------
    ValueError
        On a missing column, NaN, infinite or negative design weights, or when all are zero.
    TypeError
        On a non-numeric column.
    """
    _check_frame(df)
    if weight_col is None:
        return np.ones(len(df))
    if weight_col not in df.columns:
        raise ValueError(f"weight_col {weight_col!r} is not a column of the data (columns: {list(df.columns)[:20]}); "
                         "name the design weight column, or pass weight_col=None for uniform design weights")
    s = df[weight_col]
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        raise TypeError(f"design weight column {weight_col!r} must be numeric, got dtype {s.dtype}")
    return _checked_design_weights(s.to_numpy(dtype=float, na_value=np.nan), f"design weight column {weight_col!r}")


def _checked_design_weights(d, what) -> np.ndarray:
    """``d`` if its values are finite, >= 0 and not all zero; else a ValueError naming ``what``."""
    if not np.all(np.isfinite(d)):
        raise ValueError(f"{what} has {int((~np.isfinite(d)).sum())} NaN or infinite value(s)")
    if np.any(d < 0):
        raise ValueError(f"{what} has {int((d < 0).sum())} negative value(s)")
    if not np.any(d > 0):
        raise ValueError(f"{what} is zero for every record")
    return d


def _missing_category(col, cat, uniques) -> str:
    present = sorted(map(str, uniques))[:20]
    msg = f"category {cat!r} of column {col!r} has a target but no records; categories present: {present}"
    same_text = [u for u in uniques if str(u) == str(cat)]
    if same_text:
        u = same_text[0]
        msg += (f". The key's type differs: the target key is {type(cat).__name__} {cat!r} but the column holds "
                f"{type(u).__name__} {u!r}; use {u!r} as the key")
    return msg


def build_system(df: pd.DataFrame, marginal_targets=None, continuous_targets=None) -> CalibrationSystem:
    """Build the constraint system ``A w ~= b`` from a DataFrame and target dicts.

    Parameters
    ----------
    df : DataFrame, n rows
        Microdata, one record per row.  Never modified.
    marginal_targets : dict {column: {category: count}}, optional
        Count targets.  Categories are matched by equality with the column's
        values.  A category with a target but no records is an error;
        records in categories without a target belong to no row of that
        margin.
    continuous_targets : dict {column: total}, optional
        Weighted-total targets of numeric (or boolean) columns.

    Returns
    -------
    CalibrationSystem
        ``A`` (CSR, m x n), ``b`` (m,), target ``names`` and ``kinds``.

    Notes
    -----
    Every target must be finite and strictly positive: the loss is relative
    (divides by ``|b_i|``), so a zero target has no relative error, and a
    negative target would flip ``sign(b)``.  Columns used by a target must be
    free of NaN/inf values.
    """
    _check_frame(df)
    marginal_targets = {} if marginal_targets is None else marginal_targets
    continuous_targets = {} if continuous_targets is None else continuous_targets
    if not isinstance(marginal_targets, dict):
        raise TypeError(f"marginal_targets must be a dict {{column: {{category: count}}}}, got {type(marginal_targets).__name__}")
    if not isinstance(continuous_targets, dict):
        raise TypeError(f"continuous_targets must be a dict {{column: total}}, got {type(continuous_targets).__name__}")
    if not marginal_targets and not continuous_targets:
        raise ValueError("no targets: marginal_targets and continuous_targets are both empty")

    n = len(df)
    rows, cols, vals = [], [], []
    b, names, kinds, fams, cats_out = [], [], [], [], []

    for col, cats in marginal_targets.items():
        s = _column(df, col, "marginal")
        if not isinstance(cats, dict):
            raise TypeError(f"marginal targets for column {col!r} must be a dict {{category: count}}, got {type(cats).__name__}")
        if not cats:
            raise ValueError(f"marginal targets for column {col!r} are empty: give at least one category")
        if s.isna().any():
            raise ValueError(f"marginal target column {col!r} has {int(s.isna().sum())} missing (NaN) value(s)")
        codes, uniques = pd.factorize(s, sort=False)
        lookup = {u: k for k, u in enumerate(uniques)}
        by_code = np.argsort(codes, kind="stable")  # records grouped by category, in record order
        starts = np.r_[0, np.cumsum(np.bincount(codes, minlength=len(uniques)))]
        for cat, value in cats.items():
            name = f"{col}={cat}"
            v = _check_target_value(name, value)
            k = lookup.get(cat)
            if k is None:
                raise ValueError(_missing_category(col, cat, uniques))
            idx = by_code[starts[k]:starts[k + 1]]
            rows.append(np.full(idx.size, len(b)))
            cols.append(idx)
            vals.append(np.ones(idx.size))
            b.append(v)
            names.append(name)
            kinds.append("marginal")
            fams.append(col)
            cats_out.append(cat)

    for col, value in continuous_targets.items():
        s = _column(df, col, "continuous")
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            raise TypeError(f"continuous target column {col!r} must be numeric, got dtype {s.dtype}")
        x = s.to_numpy(dtype=float, na_value=np.nan)
        if not np.all(np.isfinite(x)):
            raise ValueError(f"continuous target column {col!r} has {int((~np.isfinite(x)).sum())} NaN or infinite value(s)")
        v = _check_target_value(str(col), value)
        idx = np.flatnonzero(x)
        if idx.size == 0:
            raise ValueError(f"continuous target column {col!r} is zero for every record, so its total {v} cannot be reached")
        if not np.any(x > 0):
            raise ValueError(f"target {str(col)!r} asks for a positive total ({v:g}) of column {col!r}, whose values are "
                             "all <= 0: no non-negative weights reach it")
        rows.append(np.full(idx.size, len(b)))
        cols.append(idx)
        vals.append(x[idx])
        b.append(v)
        names.append(str(col))
        kinds.append("continuous")
        fams.append(col)
        cats_out.append(None)

    m = len(b)
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, n), dtype=float
    )
    A.sum_duplicates()
    return CalibrationSystem(A=A, b=np.asarray(b, dtype=float), names=names, kinds=kinds, families=fams,
                             categories=cats_out)


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


def prepare(df, marginal_targets=None, continuous_targets=None, weight_col="weight") -> CalibrationProblem:
    """Validate inputs and build the scaled, record-major problem once.

    Parameters
    ----------
    df : DataFrame, n rows
        Microdata; never modified.
    marginal_targets : dict {column: {category: count}}, optional
        Count targets (see :func:`build_system`).
    continuous_targets : dict {column: total}, optional
        Total targets.
    weight_col : str or None, default "weight"
        Column of design weights (ones when absent or None).

    Returns
    -------
    CalibrationProblem
        The system, ``A_tilde'`` record-major, ``b_tilde``, design weights and start point.
    """
    system = build_system(df, marginal_targets, continuous_targets)
    d = design_weights(df, weight_col)
    _warn_partial_margins(df, system)
    return _scaled_problem(system, d, df.index)


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


def _warn_partial_margins(df, system) -> None:
    """Warn when a margin's targets leave some of its records in no targeted category."""
    fams = system.families or []
    for fam in dict.fromkeys(f for f, k in zip(fams, system.kinds) if k == "marginal"):
        rows = [i for i, (f, k) in enumerate(zip(fams, system.kinds)) if f == fam and k == "marginal"]
        covered = np.diff(system.A[rows].tocsc().indptr) > 0
        if covered.all():
            continue
        targeted = {str(system.categories[i]) for i in rows}
        free = sorted({str(v) for v in df[fam].unique()} - targeted)
        warnings.warn(
            f"the targets of column {fam!r} cover {len(rows)} of its categories; {int((~covered).sum())} records in "
            f"{free[:10]} have no target in that margin.  What happens to them depends on the method: L1 and Hard "
            "Concrete give them no weight unless another target needs them (they cost penalty and fit nothing), "
            "raking keeps their design weights adjusted by the other margins only, subsample + rake keeps the "
            "sampled share of them.  Give a target for every category to constrain them.",
            PartialMarginWarning, stacklevel=3)


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


def as_problem(data, marginal_targets=None, continuous_targets=None, weight_col="weight") -> CalibrationProblem:
    """``data`` itself if it is a :class:`CalibrationProblem`, else :func:`prepare` of the DataFrame and targets.

    Parameters
    ----------
    data : DataFrame or CalibrationProblem
        Microdata (with the targets below) or an already prepared problem.
    marginal_targets, continuous_targets : dict, optional
        Targets; must be omitted when ``data`` is already prepared.
    weight_col : str or None, default "weight"
        Design weight column (DataFrame input only).

    Returns
    -------
    CalibrationProblem
    """
    if isinstance(data, CalibrationProblem):
        if marginal_targets is not None or continuous_targets is not None:
            raise ValueError("data is an already prepared CalibrationProblem: its targets are fixed, so "
                             "marginal_targets and continuous_targets must be None")
        return data
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data must be a pandas DataFrame (with target dicts) or a CalibrationProblem from "
                        f"rk.prepare, got {type(data).__name__}")
    return prepare(data, marginal_targets, continuous_targets, weight_col)


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
