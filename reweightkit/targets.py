"""Targets -> constraint system ``A w ~= b``.

``marginal_targets = {column: {category: count}}`` gives one row per
(column, category): ``A[i, j] = 1`` when record ``j`` is in that category.
``continuous_targets = {column: total}`` gives one row per column:
``A[i, j] = df[column][j]``.  ``A`` is a ``scipy.sparse`` CSR matrix of shape
``(m targets, n records)``; nothing n-wide is ever densified.

The relative loss divides every row by ``|b_i|``:
``A_tilde = diag(1/|b|) A`` and ``b_tilde = sign(b)`` (all ones, since targets
must be positive; see :func:`build_system`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

import numpy as np
import pandas as pd
import scipy.sparse as sp

__all__ = ["CalibrationSystem", "build_system", "design_weights"]


@dataclass(frozen=True)
class CalibrationSystem:
    """A calibration problem in matrix form.

    Attributes
    ----------
    A : scipy.sparse.csr_matrix, shape (m, n)
        Raw constraint matrix (counts and totals).
    b : ndarray, shape (m,)
        Targets.
    names : list of str, length m
        ``"column=category"`` for count targets, ``"column"`` for totals.
    kinds : list of str, length m
        ``"marginal"`` or ``"continuous"``.
    """

    A: sp.csr_matrix
    b: np.ndarray
    names: list
    kinds: list

    @property
    def n_targets(self) -> int:
        return self.A.shape[0]

    @property
    def n_records(self) -> int:
        return self.A.shape[1]

    def scaled(self) -> tuple[sp.csr_matrix, np.ndarray]:
        """Return ``(A_tilde, b_tilde) = (diag(1/|b|) A, sign(b))``."""
        scale = 1.0 / np.abs(self.b)
        A_t = sp.diags(scale).dot(self.A).tocsr()
        return A_t, np.sign(self.b)

    def estimates(self, w) -> np.ndarray:
        """Weighted totals ``A w`` for a weight vector of length n."""
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


def _column(df: pd.DataFrame, col, role: str) -> pd.Series:
    if col not in df.columns:
        raise ValueError(
            f"{role} target column {col!r} is not in the data; available columns: {list(df.columns)}"
        )
    return df[col]


def design_weights(df: pd.DataFrame, weight_col: str | None = "weight") -> np.ndarray:
    """Design weights from ``weight_col`` as float64 (ones if the column is absent).

    Raises on NaN, infinite, negative or non-numeric design weights, or when all
    are zero.
    """
    _check_frame(df)
    if weight_col is None or weight_col not in df.columns:
        return np.ones(len(df))
    s = df[weight_col]
    if not (pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s)):
        raise TypeError(f"design weight column {weight_col!r} must be numeric, got dtype {s.dtype}")
    d = s.to_numpy(dtype=float, na_value=np.nan)
    if not np.all(np.isfinite(d)):
        bad = int((~np.isfinite(d)).sum())
        raise ValueError(f"design weight column {weight_col!r} has {bad} NaN or infinite value(s)")
    if np.any(d < 0):
        raise ValueError(f"design weight column {weight_col!r} has {int((d < 0).sum())} negative value(s)")
    if not np.any(d > 0):
        raise ValueError(f"design weight column {weight_col!r} is zero for every record")
    return d


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
    b, names, kinds = [], [], []

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
        for cat, value in cats.items():
            name = f"{col}={cat}"
            v = _check_target_value(name, value)
            k = lookup.get(cat)
            if k is None:
                raise ValueError(
                    f"category {cat!r} of column {col!r} has a target but no records; "
                    f"categories present: {sorted(map(str, uniques))[:20]}"
                )
            idx = np.flatnonzero(codes == k)
            rows.append(np.full(idx.size, len(b)))
            cols.append(idx)
            vals.append(np.ones(idx.size))
            b.append(v)
            names.append(name)
            kinds.append("marginal")

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
        rows.append(np.full(idx.size, len(b)))
        cols.append(idx)
        vals.append(x[idx])
        b.append(v)
        names.append(str(col))
        kinds.append("continuous")

    m = len(b)
    A = sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(m, n), dtype=float
    )
    A.sum_duplicates()
    return CalibrationSystem(A=A, b=np.asarray(b, dtype=float), names=names, kinds=kinds)


@dataclass(frozen=True)
class ScaledProblem:
    """Everything a solver needs: the system, its relative scaling and a start point.

    ``At_rec`` is ``A_tilde.T`` as CSR (n x m, record-major), ``b_t`` is
    ``sign(b)``, ``d`` the design weights and ``w0`` the design weights
    scaled by one constant so that ``A_tilde w0 ~= b_tilde`` on average
    (least squares in the constant; deterministic).
    """

    system: CalibrationSystem
    At_rec: sp.csr_matrix
    b_t: np.ndarray
    d: np.ndarray
    w0: np.ndarray


def prepare(df, marginal_targets=None, continuous_targets=None, weight_col="weight") -> ScaledProblem:
    """Validate inputs and build the scaled, record-major problem (see :class:`ScaledProblem`)."""
    system = build_system(df, marginal_targets, continuous_targets)
    d = design_weights(df, weight_col)
    A_t, b_t = system.scaled()
    At_rec = A_t.T.tocsr()
    z = At_rec.T @ d
    zz = float(z @ z)
    c = float(z @ b_t) / zz if zz > 0 else 0.0
    if not (np.isfinite(c) and c > 0):
        raise ValueError(
            "the design weights give zero or negative weighted totals for every target: "
            "cannot scale them to a starting point"
        )
    return ScaledProblem(system=system, At_rec=At_rec, b_t=b_t, d=d, w0=d * c)
