r"""The active-set method for the NN-LASSO at national size: the support's QR factors updated, never refactored.

:mod:`reweightkit.solvers.active_set` solves each subproblem from scratch on a dense copy of
``A~`` (an SVD of ``A~_P``: ``m n`` up to ``DENSE_CAP``).  Here the same Lawson-Hanson
iteration keeps a thin QR factorisation ``A~_P = Q R`` of the support's columns only
(``m x |P|``; nothing ``n``-wide is densified) and *updates* it:

* a record joins ``P``: one column appended by Gram-Schmidt (its product with ``Q`` from its
  non-zeros only; re-orthogonalised where cancellation lost half its norm), ``O(m |P|)``;
* a record leaves ``P``: its column removed and ``R`` re-triangularised by Givens rotations
  applied to ``R``, ``Q`` and the two kept vectors ``Q b~`` and ``R^{-T} 1``, ``O((m + |P|) |P|)``;
* the minimiser of ``1/2 ||A~_P z - b~||^2 + lam 1'z`` is ``R z = Q b~ - lam R^{-T} 1``: one
  triangular solve, ``O(|P|^2)``.

The back substitution and the rotations are compiled by numba on first use
(:mod:`reweightkit.solvers._qr_kernel`; numpy versions where numba cannot be imported).

The factors do not depend on ``lam``, so along a path (or a budget's bisection) each penalty
starts from the previous one's support *and factors* (:class:`QRSupport`).

Degenerate supports: a record whose column lies in the span of ``A~_P`` (``a_j = A~_P x``, found
when its Gram-Schmidt residual is below ``DEPENDENT * ||a_j||``) cannot join as a new column.
Moving ``t`` of weight to it and ``t x`` away from ``P`` leaves ``A~ w`` unchanged and changes
the objective by ``lam t (1 - 1'x)``; the move goes in the direction that does not raise it until
a weight reaches zero, and that record leaves (so a support stays linearly independent and a
solution is basic: ``|P| <= rank(A~)`` records).

It stops on the **same certificate** as the other solvers
(:func:`reweightkit.problem.nnlasso.duality_gap`); where rounding keeps it open, the caller finishes
with FISTA from the best point (as :func:`reweightkit.solvers.path.nn_lasso_path` does).
"""

from __future__ import annotations

import time

import numpy as np
import scipy.linalg

from ..problem.nnlasso import GAP_FLOOR, L1Solution
from ._qr_kernel import back_solve, delete_column
from .active_set import certify, step_to_boundary

__all__ = ["QRSupport", "qr_active_set", "DEPENDENT"]

DEPENDENT = 1e-9
"""A column whose Gram-Schmidt residual is below ``DEPENDENT`` times its norm is in the support's span."""


class QRSupport:
    """A support ``P`` (records, in column order) with thin QR factors of ``A~_P``, ``Q' b~`` and ``R^{-T} 1``.

    ``A~_P = Q' R`` with ``Q`` (``p x m``, orthonormal rows) and ``R`` (``p x p``, upper
    triangular, stored column-major).  Two vectors are kept with them, rotated as ``Q``'s rows
    are: ``Q b~`` and ``y = R^{-T} 1``, so the minimiser on ``P`` costs one triangular solve.

    Parameters
    ----------
    At_rec : csr_matrix, shape (n, m)
        ``A~'`` record-major (row ``j`` is record ``j``'s column of ``A~``).
    b_t : ndarray, shape (m,)
        ``b~``.
    """

    def __init__(self, At_rec, b_t):
        self.At = At_rec.tocsr()
        self.w = np.zeros(self.At.shape[0])  # the weights on the support (zero elsewhere)
        self.b = np.asarray(b_t, dtype=float)
        self.m = self.At.shape[1]
        self.P: list[int] = []
        cap = min(self.m, 256)
        self.Q = np.zeros((cap, self.m))  # row i = the i-th orthonormal vector
        self.R = np.zeros((cap, cap), order="F")
        self.vecs = np.zeros((2, cap))  # Q b~ and R^{-T} 1

    @property
    def size(self):
        return len(self.P)

    def _grow(self):
        cap = min(self.m, 2 * self.Q.shape[0])
        Q, R, vecs = np.zeros((cap, self.m)), np.zeros((cap, cap), order="F"), np.zeros((2, cap))
        p = self.size
        Q[:p], R[:p, :p], vecs[:, :p] = self.Q[:p], self.R[:p, :p], self.vecs[:, :p]
        self.Q, self.R, self.vecs = Q, R, vecs

    def refresh(self):
        """Recompute ``Q b~`` and ``R^{-T} 1`` from the factors (the updates accumulate rounding)."""
        p = self.size
        if p:
            self.vecs[0, :p] = self.Q[:p] @ self.b
            self.vecs[1, :p] = scipy.linalg.solve_triangular(self.R[:p, :p], np.ones(p), trans="T",
                                                             check_finite=False)

    def insert(self, j):
        """Append record ``j``'s column to the support, unless it lies in the support's span.

        Parameters
        ----------
        j : int
            The record.

        Returns
        -------
        None or ndarray, shape (p,)
            None where it joined; else ``x`` with ``a_j = A~_P x`` (its Gram-Schmidt residual was
            below ``DEPENDENT`` times its norm) and the support is unchanged.
        """
        p = self.size
        lo, hi = self.At.indptr[j], self.At.indptr[j + 1]
        cols, vals = self.At.indices[lo:hi], self.At.data[lo:hi]
        norm_a = float(np.linalg.norm(vals))
        Qp = self.Q[:p]
        r = Qp[:, cols] @ vals  # Q a, from a's non-zeros only
        v = -(Qp.T @ r)
        v[cols] += vals
        rho = float(np.linalg.norm(v))
        if rho < 0.5 * norm_a:  # cancellation: orthogonalise once more ("twice is enough")
            r2 = Qp @ v
            v -= Qp.T @ r2
            r += r2
            rho = float(np.linalg.norm(v))
        if rho <= DEPENDENT * norm_a or p >= self.m:
            return back_solve(self.R, r, p) if p else np.zeros(0)
        if p == self.Q.shape[0]:
            self._grow()
        R, qb, y = self.R, self.vecs[0], self.vecs[1]
        self.Q[p] = v / rho
        R[:p, p] = r
        R[p, :p + 1] = 0.0
        R[p, p] = rho
        qb[p] = self.Q[p] @ self.b
        y[p] = (1.0 - float(r @ y[:p])) / rho  # R' y = 1 for the new last column
        self.P.append(int(j))
        return None

    def delete(self, i):
        """Remove the ``i``-th column of the support (Givens rotations restore the triangle).

        Parameters
        ----------
        i : int
            Its position in ``P`` (not the record's index).

        Raises
        ------
        IndexError
            When the support has no column ``i`` (nothing is changed).
        """
        if not 0 <= i < self.size:
            raise IndexError(f"support column {i} does not exist (the support has {self.size})")
        delete_column(self.R, self.Q, self.vecs, i, self.size)
        del self.P[i]

    def minimiser(self, lam):
        """The minimiser of ``1/2 ||A~_P z - b~||^2 + lam 1'z`` over ``z`` (``A~_P`` has full column rank).

        Parameters
        ----------
        lam : float
            Penalty.

        Returns
        -------
        ndarray, shape (p,)
            ``z = R^{-1} (Q b~ - lam R^{-T} 1)``, one triangular solve (it may have negative entries).
        """
        p = self.size
        return back_solve(self.R, self.vecs[0, :p] - lam * self.vecs[1, :p], p)


def _drop_zeros(support, w):
    """Remove from the support every record whose weight is zero (from the end, so indices stay valid)."""
    for i in range(support.size - 1, -1, -1):
        if w[support.P[i]] <= 0.0:
            w[support.P[i]] = 0.0
            support.delete(i)


def _admit(support, w, j, lam):
    """Bring record ``j`` into the support; where its column is dependent, shift weight along the null
    direction (never raising the objective) until some weight is zero, drop it, and try again.

    Returns False where ``j`` ends outside the support (its own weight reached zero)."""
    for _ in range(support.size + 2):
        x = support.insert(j)
        if x is None:
            return True
        idx = np.array(support.P, dtype=np.int64)
        # direction d: w_j += t, w_P -= t x (A~ w unchanged); objective changes by lam t (1 - 1'x)
        sign = 1.0 if float(x.sum()) >= 1.0 else -1.0
        dj, dP = sign, -sign * x
        ratios = np.full(idx.size + 1, np.inf)
        neg = dP < 0
        ratios[:-1][neg] = w[idx[neg]] / -dP[neg]
        if dj < 0:
            ratios[-1] = w[j] / -dj
        first = int(np.argmin(ratios))
        t = float(ratios[first])
        if not np.isfinite(t):
            return False
        w[idx] = np.maximum(w[idx] + t * dP, 0.0)
        w[j] = max(w[j] + t * dj, 0.0)
        if first == idx.size:  # j itself reached zero
            w[j] = 0.0
            _drop_zeros(support, w)
            return False
        w[idx[first]] = 0.0
        _drop_zeros(support, w)
    return False


def qr_active_set(At_rec, b_t, lam, tol=1e-8, max_iter=None, support=None) -> tuple[L1Solution, QRSupport]:
    """Solve the NN-LASSO at one ``lam`` by Lawson-Hanson on updated QR factors, stopped on the duality gap.

    Parameters
    ----------
    At_rec : csr_matrix, shape (n, m)
        ``A~'`` record-major.
    b_t : ndarray, shape (m,)
        ``b~``.
    lam : float, >= 0
        Penalty.
    tol : float, default 1e-8
        Relative duality gap at which it stops.
    max_iter : int, optional
        Records added at most; default ``10 (m + 1)``.
    support : QRSupport, optional
        A previous penalty's support (its factors and weights) to start from; it is updated in
        place.  Default: the empty support, ``w = 0``.

    Returns
    -------
    (L1Solution, QRSupport)
        The best point (by the certificate) and the support it ends on.
    """
    t0 = time.perf_counter()
    n, m = At_rec.shape
    b_t = np.asarray(b_t, dtype=float)
    if support is None:
        support = QRSupport(At_rec, b_t)
    elif support.At.shape != (n, m):
        raise ValueError(f"support was built for a {support.At.shape} matrix, not {(n, m)}")
    support.refresh()
    w = support.w
    floor = GAP_FLOOR * 0.5 * float(b_t @ b_t)
    max_iter = 10 * (m + 1) if max_iter is None else max_iter
    it, best, refused = 0, None, []
    while True:
        for _ in range(2 * (m + support.size) + 10):  # the minimiser on P, keeping w >= 0 (Lawson-Hanson)
            if not support.size:
                break
            idx = np.array(support.P, dtype=np.int64)
            z = support.minimiser(lam)
            if np.all(z > 0):
                w[idx] = z
                break
            step_to_boundary(w, idx, z - w[idx], 1.0)
            _drop_zeros(support, w)
        At = support.At
        r = b_t - At.T @ w
        g_r = At @ r
        best, rel = certify(w, r, g_r, b_t, lam, floor, best)
        if rel <= tol or it >= max_iter:
            break
        g = lam - g_r
        if support.size:
            g[np.array(support.P)] = np.inf
        g[refused] = np.inf
        j = int(np.argmin(g))
        if not g[j] < 0:
            break  # KKT holds to rounding but the gap does not close: the caller finishes with FISTA
        if not _admit(support, w, j, lam) and w[j] == 0.0:
            refused.append(j)  # its column is dependent and moving weight to it would not lower the objective
        it += 1
    w_best, rel, gap, p = best
    sol = L1Solution(lam=float(lam), w=w_best, objective=p, dual_gap=gap, rel_gap=rel, n_iter=it,
                     converged=bool(rel <= tol), seconds=time.perf_counter() - t0)
    return sol, support
