r"""An active-set (Lawson-Hanson) solver for the NN-LASSO with few targets.

``min_{w >= 0} 1/2 ||A~ w - b~||^2 + lam 1'w`` has, when the number of targets ``m`` is small,
optimal points with few records (a vertex of the optimal set uses at most ``rank(A~) + 1``).
The active-set method works on such a support ``P`` directly:

1. on ``P``, solve the equality-constrained problem ``(A~_P' A~_P) z = A~_P' b~ - lam 1`` (a
   ``|P| x |P|`` system);
2. if some ``z_j <= 0``, step from the current ``w`` toward ``z`` until the first weight reaches
   zero, drop it and repeat (Lawson & Hanson 1974, ch. 23);
3. otherwise take ``w = z``; the gradient ``g = lam - A~'(b~ - A~ w)`` must be ``>= 0`` off ``P``
   (KKT); the most negative ``g_j`` joins ``P``.

When ``A~_P`` loses rank (the NN-LASSO's optimal set is a polytope in the calibration regime,
see :mod:`reweightkit.solvers.optimal_set`), the quadratic is flat along a null direction ``d``
of ``A~_P``; if ``1'd != 0`` the objective falls linearly along ``d`` (sign chosen so it falls),
so the step goes along ``d`` until a weight reaches zero and that record leaves ``P``.

It stops on **the same certificate as FISTA and the interior point**
(:func:`reweightkit.problem.nnlasso.duality_gap`, a feasible dual point from the residual).
Every product is one BLAS call on a dense ``m x n`` copy, so the method is for small ``m n``
(``DENSE_CAP``; above it :mod:`reweightkit.solvers.qr_active_set` runs the same iteration on
updated QR factors of the support); along a path each lambda starts from the previous support.  If the
iteration budget runs out before the certificate holds, FISTA finishes from the best point.

Which optimal point?  The solution is sparse (a basic solution: ``|P| <= rank + 1`` records),
like coordinate descent's (celer's), unlike FISTA's or the interior point's (dense).
"""

from __future__ import annotations

import time

import numpy as np

from ..problem.nnlasso import GAP_FLOOR, L1Solution, dual_value

__all__ = ["active_set", "DENSE_CAP"]

DENSE_CAP = 5_000_000
"""Largest ``m n`` the active-set method accepts (a dense float64 copy of 40 MB)."""


class DenseSystem:
    """A dense ``m x n`` copy of ``A~`` for the active-set method (built once per path)."""

    def __init__(self, At_rec):
        n, m = At_rec.shape
        if n * m > DENSE_CAP:
            raise ValueError(f"solver='active-set' keeps a dense copy of the {m} x {n} matrix, and m n = {m * n:,} "
                             f"exceeds DENSE_CAP = {DENSE_CAP:,}; use reweightkit.solvers.qr_active_set (what "
                             "nn_lasso_path(solver='active-set') runs above the cap) or solver='fista'")
        self.A = np.ascontiguousarray(At_rec.T.toarray(), dtype=float)


def _subproblem(A_P, b_t, lam):
    """Minimiser of the quadratic on ``P``, or a direction of unbounded descent.

    Returns ``("point", z)`` or ``("ray", d)`` with ``A_P d = 0`` and ``1'd < 0``.
    """
    k = A_P.shape[1]
    U, s, Vt = np.linalg.svd(A_P, full_matrices=True)
    tol = max(A_P.shape) * np.finfo(float).eps * (s[0] if s.size else 0.0)
    rank = int((s > tol).sum())
    if rank < k:
        N = Vt[rank:].T  # null space of A_P, (k, k - rank)
        d = -N @ (N.T @ np.ones(k))  # steepest descent of lam 1'w within the null space: 1'd = -||N'1||^2
        if float(d @ d) > 1e-20 * k:
            return "ray", d
    # least-squares normal equations on the range: z = V S^-1 (U' b - S^-1 V' lam 1)
    V, sr = Vt[:rank].T, s[:rank]
    rhs = U[:, :rank].T @ b_t - lam * (V.T @ np.ones(k)) / sr
    return "point", V @ (rhs / sr)


def step_to_boundary(w, idx, step, cap):
    """Lawson-Hanson's step: move ``w[idx]`` along ``step`` by ``min(cap, t*)``, ``t*`` the largest
    step keeping every weight ``>= 0``; the weight that blocks within ``cap`` is set to exactly zero.

    Parameters
    ----------
    w : ndarray, shape (n,)
        The weights, updated in place.
    idx : ndarray of int
        The support.
    step : ndarray, shape (idx.size,)
        The direction (toward the subproblem's minimiser, or a descent ray).
    cap : float
        The largest step: 1 toward a minimiser, ``inf`` along a ray.
    """
    wP = w[idx]
    neg = step < 0
    ratios = np.full(idx.size, np.inf)
    ratios[neg] = wP[neg] / -step[neg]
    first = int(np.argmin(ratios))
    w[idx] = np.maximum(wP + float(min(cap, ratios[first])) * step, 0.0)
    if ratios[first] <= cap:
        w[idx[first]] = 0.0  # the blocking record leaves exactly


def certify(w, r, g_r, b_t, lam, floor, best):
    """The certificate of ``w`` (residual ``r``, ``g_r = A~'r``), and the best point so far by it.

    Parameters
    ----------
    w : ndarray, shape (n,)
        The point.
    r, g_r : ndarray
        ``b~ - A~ w`` and ``A~' r``.
    b_t : ndarray, shape (m,)
        ``b~``.
    lam : float
        Penalty.
    floor : float
        The relative gap's smallest denominator (``GAP_FLOOR * |b~|^2 / 2``).
    best : tuple or None
        ``(w, rel, gap, objective)`` of the best point so far.

    Returns
    -------
    best : tuple
        The better of ``best`` and ``w`` (a copy).
    rel : float
        ``w``'s relative duality gap.
    """
    p = 0.5 * float(r @ r) + lam * float(w.sum())
    gap = max(0.0, p - dual_value(r, g_r, b_t, lam))
    rel = gap / max(p, floor)
    if best is None or rel < best[1]:
        best = (w.copy(), rel, gap, p)
    return best, rel


def active_set(At_rec, b_t, lam, w0=None, tol=1e-8, max_iter=None, system=None, support=None) -> L1Solution:
    """Solve the NN-LASSO at one ``lam`` by the active-set method, stopped on the duality gap.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A~'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    lam : float, >= 0
        Penalty.
    w0 : ndarray, shape (n,), optional
        A feasible start (``>= 0``); its support is the first working set.  Default: zero.
    tol : float, default 1e-8
        Relative duality gap at which it stops.
    max_iter : int, optional
        Outer iterations (records added); default ``50 (m + 1)``.
    system : DenseSystem, optional
        The dense copy of ``A~`` (build once per path).
    support : ndarray of int, optional
        Working set to start from instead of ``w0``'s support (weights zero there).

    Returns
    -------
    L1Solution
        Weights (sparse), objective, gap, outer iterations and ``converged``.
    """
    t0 = time.perf_counter()
    system = DenseSystem(At_rec) if system is None else system
    A = system.A
    m, n = A.shape
    b_t = np.asarray(b_t, dtype=float)
    floor = GAP_FLOOR * 0.5 * float(b_t @ b_t)
    max_iter = 50 * (m + 1) if max_iter is None else max_iter
    w = np.zeros(n) if w0 is None else np.maximum(np.asarray(w0, dtype=float), 0.0)
    P = list(np.flatnonzero(w > 0)) if support is None else [int(j) for j in support]
    if support is not None:
        w = np.zeros(n)
    it, rel, gap, p = 0, np.inf, np.inf, np.inf
    best = None
    while True:
        # inner loop: the minimiser on P, keeping w >= 0 (Lawson-Hanson)
        for _ in range(4 * (m + len(P)) + 10):
            if not P:
                break
            idx = np.array(P)
            kind, z = _subproblem(A[:, idx], b_t, lam)
            wP = w[idx]
            if kind == "point" and np.all(z > 0):
                w[idx] = z
                break
            step_to_boundary(w, idx, z - wP if kind == "point" else z, 1.0 if kind == "point" else np.inf)
            drop = w[idx] <= 0.0
            w[idx[drop]] = 0.0
            P = [j for j, dj in zip(P, drop) if not dj]
        r = b_t - A @ w
        g_r = A.T @ r
        best, rel = certify(w, r, g_r, b_t, lam, floor, best)
        if rel <= tol or it >= max_iter:
            break
        g = lam - g_r
        if P:
            g[np.array(P)] = np.inf
        j = int(np.argmin(g))
        if not g[j] < 0:
            break  # KKT holds to rounding but the gap does not close: the caller finishes with FISTA
        P.append(j)
        it += 1
    w, rel, gap, p = best
    return L1Solution(lam=float(lam), w=w, objective=p, dual_gap=gap, rel_gap=rel, n_iter=it,
                      converged=bool(rel <= tol), seconds=time.perf_counter() - t0)
