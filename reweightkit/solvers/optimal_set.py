r"""The L1 optimal set, made visible: vertex (sparsest basic) solutions and held-out ranges.

The NN-LASSO objective depends on ``w`` only through the fitted targets
``z = A~ w`` and the total ``s = 1'w``.  Given one optimal ``w*``, every point of

.. math::

    \mathcal W^* = \{ w \ge 0 : \tilde A w = \tilde A w^*,\; \mathbf 1^\top w = \mathbf 1^\top w^* \}

is optimal too, and the vertices of this polytope have at most
``rank([A~; 1'])  <= m + 1`` non-zeros.  How many records "L1 uses" is therefore
a property of the solver, not of the problem.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import scipy.linalg
import scipy.sparse as sp
from scipy.optimize import linprog

from ..problem.frame import build_system
from .simplex import Simplex

__all__ = ["vertex_solution", "held_out_ranges", "optimal_set_ranges"]

_HIGHS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
_RETRIES = ({}, {"presolve": False})
SMALL_LP_ROWS = 100
"""Range LPs with at most this many equality rows run without presolve, and by the dense simplex."""
DENSE_LP_CAP = 5_000_000
"""The dense simplex is used while rows x records is at most this (a 40 MB copy)."""


def _linprog(c, first=None, **kw):
    """HiGHS at tight tolerances; the set is feasible by construction (it contains ``w``), so a
    reported infeasibility is numerical: retry at HiGHS's default tolerances, then without presolve."""
    r = linprog(c, options={**_HIGHS, **(first or {})}, **kw)
    if r.status != 0 and first:  # the fast options failed (HiGHS without presolve can end "unknown"): as usual
        r = linprog(c, options=_HIGHS, **kw)
    for opts in _RETRIES:
        if r.status != 2:
            break
        r = linprog(c, options=opts, **kw)
    return r


def _equalities(At_rec, w):
    """Rows ``[A~; 1'/s]`` (sparse, (m+1) x n) and right-hand side ``[A~ w; 1]``, ``s = 1'w``.

    The total's row is divided by ``s`` so that every row is relative (right-hand
    sides near 1): with a raw row of ones, populations of 10^5 and more made HiGHS
    declare the (feasible) set infeasible at tight tolerances.
    """
    n = At_rec.shape[0]
    s = float(w.sum())
    scale = 1.0 / s if s > 0 else 1.0
    E = sp.vstack([At_rec.T.tocsr(), sp.csr_matrix(np.full((1, n), scale))]).tocsr()
    rhs = np.r_[At_rec.T @ w, s * scale]
    keep = _independent_rows(E)
    return E[keep], rhs[keep]


def _independent_rows(E, rtol=1e-10):
    """Indices of a maximal set of linearly independent rows of ``E`` (pivoted QR of the Gram matrix).

    Dependent rows are common (two complete margins both sum to the total) and their
    right-hand sides agree only to rounding, which HiGHS can report as infeasible.
    """
    G = (E @ E.T).toarray()
    _, R, piv = scipy.linalg.qr(G, pivoting=True)
    d = np.abs(np.diag(R))
    rank = int(np.sum(d > rtol * d[0])) if d.size and d[0] > 0 else 0
    return np.sort(piv[:rank])


def vertex_solution(At_rec, w, upper=None):
    """A vertex of the optimal set through ``w``: same fitted values and total, at most m + 1 non-zeros.

    One LP (HiGHS dual simplex, zero objective) returns a basic feasible point of
    ``{v >= 0 : A~ v = A~ w, 1'v = 1'w}``; its values are then polished by least squares
    on its support so the fitted values match to rounding.  Deterministic.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    w : ndarray, shape (n,)
        An (accurate) L1 solution.
    upper : ndarray, shape (n,), optional
        Upper bounds on ``w`` when the L1 problem had them (the set is then cut by the box).

    Returns
    -------
    ndarray, shape (n,)
        The vertex's weights.
    """
    E, rhs = _equalities(At_rec, w)
    n = E.shape[1]
    # a zero objective makes this a phase-1 problem: presolve costs more than it saves (measured 3x)
    box = (0, None) if upper is None else np.c_[np.zeros(n), upper]
    res = _linprog(np.zeros(n), first={"presolve": False}, A_eq=E, b_eq=rhs, bounds=box, method="highs-ds")
    if res.status != 0:
        raise RuntimeError(f"vertex LP failed: {res.message}")
    v = np.where(res.x > 0, res.x, 0.0)
    S = np.flatnonzero(v)
    if S.size:
        polished, *_ = np.linalg.lstsq(E[:, S].toarray(), rhs, rcond=None)
        if np.all(polished >= 0) and (upper is None or np.all(polished <= upper[S])):
            v = np.zeros(n)
            v[S] = polished
    return v


def held_out_ranges(At_rec, test, w, max_sign_targets=4, simplex=True):
    """What the L1 optimal set through ``w`` allows for the held-out targets of ``test``.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` of the train targets, record-major (as the fit used).
    test : CalibrationSystem
        The held-out targets.
    w : ndarray, shape (n,)
        An (accurate) L1 solution fitted to the train targets.
    max_sign_targets : int, default 4
        The largest held-out error over the set needs one LP per sign pattern:
        done only up to this many held-out targets (else NaN).
    simplex : bool, default True
        Solve the range LPs of sets with at most ``SMALL_LP_ROWS`` rows by the kit's dense
        revised simplex (:mod:`reweightkit.solvers.simplex`: one phase 1 for all of them,
        every answer certified primal and dual feasible, HiGHS when it is not); False: HiGHS
        for all.

    Returns
    -------
    table : DataFrame
        One row per held-out target: ``target``, ``value``, ``estimate`` (at ``w``),
        ``min_estimate``, ``max_estimate`` over the optimal set (two LPs per target),
        and the matching relative errors.
    summary : dict
        ``error_at_w``, ``min_error`` (smallest mean absolute relative held-out error
        over the set: one LP with ``t_h >= |e_h|``) and ``max_error`` (largest: one LP
        per sign pattern, or NaN).
    """
    w = np.asarray(w, dtype=float)
    H = test.relative()  # rows a_h / |b_h|: relative estimates
    E, rhs = _equalities(At_rec, w)
    n, h = E.shape[1], H.shape[0]
    lo, hi = np.empty(h), np.empty(h)
    # with few rows, HiGHS's presolve costs more than the solve (measured 2.6x on the published example)
    first = {"presolve": False} if E.shape[0] <= SMALL_LP_ROWS else None
    dense = None
    if simplex and E.shape[0] <= SMALL_LP_ROWS and E.shape[0] * n <= DENSE_LP_CAP:
        dense = Simplex(E.toarray(), rhs)

    def minimise(c):
        """``(status, value)`` of min c'w over the set: the simplex's certified answer, else HiGHS's."""
        got = dense.solve(c) if dense is not None else None
        if got is not None:
            return 0, got[1], ""
        r = _linprog(c, first, A_eq=E, b_eq=rhs, bounds=(0, None), method="highs")
        return r.status, r.fun, r.message

    for i in range(h):
        c = H[i].toarray().ravel()
        for sign, out in ((1.0, lo), (-1.0, hi)):
            status, fun, message = minimise(sign * c)
            if status != 0:
                raise RuntimeError(f"range LP for held-out target {test.names[i]!r} failed: {message}")
            out[i] = sign * fun
    rel_w = H @ w
    table = pd.DataFrame({"target": test.names, "value": test.b, "estimate": rel_w * test.b,
                          "min_estimate": lo * test.b, "max_estimate": hi * test.b,
                          "relative_error": rel_w - 1, "min_relative_error": lo - 1, "max_relative_error": hi - 1})
    # min mean |e_h| with e_h = H_h w - 1: variables [w, t], t_h >= +-(H_h w - 1)
    A_ub = sp.vstack([sp.hstack([H, -sp.eye(h)]), sp.hstack([-H, -sp.eye(h)])]).tocsr()
    b_ub = np.r_[np.ones(h), -np.ones(h)]
    A_eq = sp.hstack([E, sp.csr_matrix((E.shape[0], h))]).tocsr()
    r = _linprog(np.r_[np.zeros(n), np.full(h, 1.0 / h)], first, A_ub=A_ub, b_ub=b_ub, A_eq=A_eq, b_eq=rhs,
                 bounds=(0, None), method="highs")
    if r.status != 0:
        raise RuntimeError(f"minimum held-out error LP failed: {r.message}")
    max_err = np.nan
    if h <= max_sign_targets:  # max of a convex function: best over sign patterns sigma of sum sigma_h e_h
        max_err = -np.inf
        for sigma in itertools.product((1.0, -1.0), repeat=h):
            sg = np.array(sigma)
            c = -(sg @ H.toarray()) / h
            status, fun, _ = minimise(c)
            if status == 0:
                max_err = max(max_err, -fun - sg.sum() / h)
    summary = {"error_at_w": float(np.mean(np.abs(rel_w - 1))), "min_error": float(r.fun), "max_error": float(max_err)}
    return table, summary


def optimal_set_ranges(df, w, train_marginal, train_continuous, test_marginal, test_continuous=None,
                       max_sign_targets=4):
    """What the L1 optimal set through ``w`` allows for held-out targets, from a DataFrame and target dicts.

    Builds the train and held-out systems once and calls :func:`held_out_ranges`.

    Parameters
    ----------
    df : DataFrame
        The microdata ``w`` was fitted on.
    w : ndarray, shape (n,)
        An (accurate) L1 solution fitted to the train targets.
    train_marginal, train_continuous : dict or None
        The train targets ``w`` was fitted to.
    test_marginal, test_continuous : dict or None
        Held-out targets.
    max_sign_targets : int, default 4
        See :func:`held_out_ranges`.

    Returns
    -------
    table : DataFrame
        Per held-out target (see :func:`held_out_ranges`).
    summary : dict
        ``error_at_w``, ``min_error``, ``max_error``.
    """
    train = build_system(df, train_marginal, train_continuous)
    test = build_system(df, test_marginal, test_continuous)
    return held_out_ranges(train.relative().T.tocsr(), test, w, max_sign_targets)
