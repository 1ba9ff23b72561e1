"""The DataFrame front: microdata and target dicts -> the constraint system and the prepared problem.

``marginal_targets = {column: {category: count}}`` gives one row per
(column, category): ``A[i, j] = 1`` when record ``j`` is in that category.
``continuous_targets = {column: total}`` gives one row per column:
``A[i, j] = df[column][j]``.  :func:`build_system` builds the
:class:`~reweightkit.problem.system.CalibrationSystem`, :func:`prepare` scales it into the
:class:`~reweightkit.problem.system.CalibrationProblem` every solver and estimator takes
(the matrix core, :mod:`reweightkit.problem.system`, also takes a matrix directly:
:func:`~reweightkit.problem.system.prepare_matrix`).  Every input is checked here, loudly.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import scipy.sparse as sp

from ..exceptions import PartialMarginWarning
from .system import (
    CalibrationProblem,
    CalibrationSystem,
    _check_target_value,
    _checked_design_weights,
    _scaled_problem,
)

__all__ = ["build_system", "design_weights", "prepare", "as_problem"]


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
        Column of design weights; ``None`` asks for uniform design weights (a name that is not a column is
        an error).

    Returns
    -------
    CalibrationProblem
        The system, ``A_tilde'`` record-major, ``b_tilde``, design weights and start point.
    """
    system = build_system(df, marginal_targets, continuous_targets)
    d = design_weights(df, weight_col)
    _warn_partial_margins(df, system)
    return _scaled_problem(system, d, df.index)



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
