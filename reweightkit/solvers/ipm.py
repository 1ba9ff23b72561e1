r"""A primal-dual interior-point solver for the NN-LASSO whose Newton systems are m x m.

The problem of :mod:`reweightkit.problem.nnlasso` is the convex QP

.. math::

    \min_{w \ge 0,\, u}\; \tfrac12 \|u\|^2 + \lambda \mathbf 1^\top w
    \quad\text{s.t.}\quad \tilde A w + u = \tilde b .

Eliminating ``u = b~ - A~ w`` leaves ``min_{w >= 0} P(w)`` with gradient
``g(w) = lam - A~'(b~ - A~ w)``.  With ``s >= 0`` the multipliers of ``w >= 0``,
the optimality conditions are ``g(w) = s``, ``w_j s_j = 0``.  Mehrotra's
predictor-corrector method follows the central path ``w_j s_j = mu -> 0``; each
Newton step solves

.. math::

    (\tilde A^\top \tilde A + D^{-1})\,\Delta w = h, \qquad D = \operatorname{diag}(w / s),

which by the Woodbury identity needs one SPD ``m x m`` system
``(I + A~ D A~') z = A~ D h`` (factored once per iteration by Cholesky and used for the
predictor and the corrector, each refined once), and ``Delta w = D h - D A~' z``.  Forming
``A~ D A~'`` streams the record-major matrix once (:class:`Gram`); nothing n-wide is densified.

The ``I`` comes from ``u``: the m x m matrix is positive definite whatever the targets,
so linearly dependent targets (two complete margins both sum to the population) need no
special treatment.

Stopping uses the **same certificate as FISTA** (:func:`reweightkit.problem.nnlasso.duality_gap`:
a feasible dual point built from the residual), computed from the weights alone.

Which optimal point?  Interior-point iterates converge to the *analytic centre* of the
optimal set (see :mod:`reweightkit.solvers.optimal_set`): every record that some optimal
solution uses keeps a positive weight.  Records that no optimal solution uses tend to
zero with ``mu``; at the end they are set to exactly zero when that keeps the
certificate within ``tol`` (``clean=True``).  For the sparsest optimal solution, use
``SparseCalibrator(solver="ipm", solution="vertex")``.
"""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg
import scipy.sparse as sp

from ..exceptions import ConvergenceWarning
from ..problem.nnlasso import GAP_FLOOR, L1Solution, dual_value, duality_gap
from ..problem.system import scaled_start

__all__ = ["ipm", "Gram"]

ZERO_RTOL = 1e-7
"""``clean=True`` zeroes weights below ``ZERO_RTOL * max(w)`` whose gradient is positive."""


def _step_to_boundary(x, dx):
    """Largest a in (0, 1] with x + a dx >= 0."""
    q = np.divide(x, dx, out=np.full_like(x, -np.inf), where=dx < 0)  # -(step to 0) where dx < 0
    return float(min(1.0, -q.max())) if q.size else 1.0


def _finite(*arrays):
    """All entries finite (one reduction per array: a sum is finite only if every term is)."""
    return all(np.isfinite(a.sum()) for a in arrays)


class Gram:
    """Forms ``I + A~ D A~'`` for changing ``D`` from the record-major matrix ``A~'``.

    Every record stores at most ``k`` entries (its targets).  The products
    ``a_ji a_jl`` of each record's pairs of entries (``k (k - 1) / 2`` off-diagonal
    pairs, zero-padded) are precomputed once, laid out pair-major, so each call is one
    broadcast multiply by ``d`` and one weighted ``bincount`` into the ``m x m``
    matrix (a single streaming pass; nothing is gathered).  Above ``pair_cap``
    stored pairs it falls back to one sparse product ``A~ (D A~')`` per call.
    With at most ``dense_cap`` entries in ``m x n`` it keeps a dense copy instead and
    every product is one BLAS call.  Build it once per matrix and reuse it along a
    path (``ipm(..., gram=...)``); ``matvec``/``rmatvec`` are the products with ``A~``
    and ``A~'``.
    """

    def __init__(self, At_rec, pair_cap=60_000_000, dense_cap=2_000_000):
        At_rec = sp.csr_matrix(At_rec)
        self.At, (n, self.m) = At_rec, At_rec.shape
        counts = np.diff(At_rec.indptr)
        k = int(counts.max()) if n else 0
        self.pairs = None
        # small problems: a dense m x n copy makes every product one BLAS call (measured 2-3x per iteration)
        self.dense = At_rec.T.toarray() if n * self.m <= dense_cap else None
        if self.dense is None and n and n * k * (k + 1) // 2 <= pair_cap:
            rows = np.repeat(np.arange(n), counts)
            pos = np.arange(At_rec.nnz) - np.repeat(At_rec.indptr[:-1], counts)  # position within its record
            idx = np.zeros((k, n), dtype=np.int64)
            val = np.zeros((k, n))
            idx[pos, rows] = At_rec.indices
            val[pos, rows] = At_rec.data
            off = [(a, b) for a in range(k) for b in range(a + 1, k)]
            flat = np.stack([idx[a] * self.m + idx[b] for a, b in off]) if off else np.zeros((0, n), np.int64)
            prod = np.stack([val[a] * val[b] for a, b in off]) if off else np.zeros((0, n))
            self.pairs = (flat.ravel(), prod, idx.ravel(), val * val)

    def matvec(self, w):
        """The product ``A~ w``.

        Parameters
        ----------
        w : ndarray, shape (n,)
            Weights.

        Returns
        -------
        ndarray, shape (m,)
        """
        return self.dense @ w if self.dense is not None else self.At.T @ w

    def rmatvec(self, r):
        """The product ``A~' r``.

        Parameters
        ----------
        r : ndarray, shape (m,)
            A vector over the targets.

        Returns
        -------
        ndarray, shape (n,)
        """
        return self.dense.T @ r if self.dense is not None else self.At @ r

    def __call__(self, d):
        m = self.m
        if self.dense is not None:
            M = (self.dense * d) @ self.dense.T
        elif self.pairs is None:
            M = (self.At.T @ self.At.multiply(d[:, None])).toarray()
        else:
            flat, prod, diag_idx, sq = self.pairs
            # bincount returns int64 for empty input (records with one entry have no pairs): cast
            T = np.bincount(flat, weights=(prod * d).ravel(), minlength=m * m).astype(float, copy=False).reshape(m, m)
            M = T + T.T
            M[np.diag_indices(m)] += np.bincount(diag_idx, weights=(sq * d).ravel(), minlength=m)
        M[np.diag_indices(m)] += 1.0
        return M


def _mehrotra_step(w, s, g, newton, n):
    """One predictor-corrector direction and step length, or None if it is not finite."""
    mu = float(w @ s) / n
    # predictor (affine scaling): complementarity target 0
    dw_a = newton(-g)
    ds_a = -s - (s / w) * dw_a
    if not _finite(dw_a, ds_a):
        return None
    a_a = min(_step_to_boundary(w, dw_a), _step_to_boundary(s, ds_a))
    mu_a = float((w + a_a * dw_a) @ (s + a_a * ds_a)) / n
    sigma = (mu_a / mu) ** 3 if mu > 0 else 0.0
    # corrector: centring (sigma mu) plus the second-order term of the predictor
    rc = sigma * mu - w * s - dw_a * ds_a
    dw = newton(-g + s + rc / w)
    ds = (rc - s * dw) / w
    if not _finite(dw, ds):
        return None
    eta = max(0.95, 1.0 - mu)
    a = min(1.0, eta * _step_to_boundary(w, dw), eta * _step_to_boundary(s, ds))
    return dw, ds, a


def ipm(At_rec, b_t, lam, w0=None, tol=1e-8, max_iter=200, warn=True, clean=True, callback=None,
        gram=None) -> L1Solution:
    """Solve ``min_{w >= 0} 1/2 ||A~ w - b~||^2 + lam 1'w`` by Mehrotra's predictor-corrector IPM.

    Parameters
    ----------
    At_rec : csr_matrix, shape (n, m)
        ``A~'`` record-major (as everywhere in :mod:`reweightkit.problem.nnlasso`).
    b_t : ndarray, shape (m,)
        ``b_tilde = sign(b)``.
    lam : float, >= 0
        Penalty.
    w0 : ndarray, shape (n,), optional
        Starting weights, pushed into the interior (``+ 0.1 * mean(w0)``): a previous
        solution along a path saves iterations.  Default: ones, scaled to fit ``b~``.
    tol : float, default 1e-8
        Stop once the relative duality gap (FISTA's certificate) is ``<= tol``.
    max_iter : int, default 200
        Iterations before returning the best iterate (with a warning).
    warn : bool, default True
        Warn (:class:`~reweightkit.ConvergenceWarning`) when the certificate is not met.
    clean : bool
        Set weights that tend to zero (below ``ZERO_RTOL * max(w)`` with a positive
        gradient) to exactly zero at the end, if the certificate still holds.
    callback : callable, optional
        ``callback(it, P(w), rel_gap, mu)`` once per iteration.
    gram : Gram, optional
        The precomputed ``I + A~ D A~'`` former for ``At_rec`` (reuse it along a path).

    Returns
    -------
    L1Solution
        Weights, objective, gap, iterations and ``converged``.
    """
    At_rec = sp.csr_matrix(At_rec)
    n, m = At_rec.shape
    b_t = np.asarray(b_t, dtype=float)
    floor = GAP_FLOOR * 0.5 * float(b_t @ b_t)
    if w0 is None:
        w0 = scaled_start(At_rec, b_t)
    w0 = np.asarray(w0, dtype=float)
    scale = float(np.mean(w0)) if np.any(w0 > 0) else 1.0
    w = np.maximum(w0, 0.0) + 0.1 * scale  # strictly interior
    gram = Gram(At_rec) if gram is None else gram
    Av, Atv = gram.matvec, gram.rmatvec
    r = b_t - Av(w)
    g_r = Atv(r)
    g = lam - g_r
    s = np.maximum(g, 0.0) + max(lam, 1e-3 * float(np.max(np.abs(g))), 1e-300)
    it, rel, gap, p = 0, np.inf, np.inf, np.inf
    best = None  # (w, r, P, rel, gap) of the best-certified iterate: returned if progress stalls
    eye = np.eye(m)
    while True:
        p = 0.5 * float(r @ r) + lam * float(w.sum())
        gap = max(0.0, p - dual_value(r, g_r, b_t, lam))
        rel = gap / max(p, floor)
        mu = float(w @ s) / n
        if callback is not None:
            callback(it, p, rel, mu)
        if best is None or (rel, p) < (best[3], best[2]):
            best = (w, r, p, rel, gap)
        if rel <= tol or it >= max_iter:
            break
        with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
            d = w / s
        if not _finite(d):
            break
        M = gram(d)  # I + A~ D A~', one pass over the matrix
        if not _finite(M):
            break
        try:
            chol = scipy.linalg.cho_factor(M, lower=True, check_finite=False)
        except np.linalg.LinAlgError:  # pragma: no cover - I + PSD is SPD; only rounding can break it
            chol = scipy.linalg.cho_factor(M + 1e-12 * np.trace(M) / m * eye, lower=True, check_finite=False)

        # solve and newton close over this iteration's d and chol and are called only within it
        def solve(h):
            v = d * h  # noqa: B023
            zz = scipy.linalg.cho_solve(chol, Av(v), check_finite=False)  # noqa: B023
            return v - d * Atv(zz)  # noqa: B023

        def newton(h):
            # (A~'A~ + D^-1) x = h by Woodbury, plus one step of iterative refinement: near the
            # optimum D spans many orders of magnitude and the subtraction loses digits
            x = solve(h)
            return x + solve(h - Atv(Av(x)) - x / d)  # noqa: B023

        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            step = _mehrotra_step(w, s, g, newton, n)
        if step is None:
            break  # the Newton systems no longer resolve the step in floating point: keep the best iterate
        dw, ds, a = step
        w_new, s_new = w + a * dw, s + a * ds
        if not _finite(w_new, s_new) or a < 1e-14:
            break
        w, s = np.maximum(w_new, 1e-300), np.maximum(s_new, 1e-300)
        r = b_t - Av(w)
        g_r = Atv(r)
        g = lam - g_r
        it += 1
    w, r, p, rel, gap = best
    g = lam - Atv(r)  # the gradient at the returned iterate
    converged = rel <= tol
    if not np.all(np.isfinite(w)):
        raise FloatingPointError(f"the interior-point method produced non-finite weights at lam={lam:g}")
    if converged and clean:
        # on the central path w_j s_j = mu: records no optimal solution uses have w_j -> 0 while
        # their gradient g_j stays positive; the certificate below decides whether zeroing them is exact enough
        zero = (w <= ZERO_RTOL * float(w.max())) & (g > 0)
        if np.any(zero):
            w_c = np.where(zero, 0.0, w)
            gap_c, rel_c = duality_gap(At_rec, b_t, w_c, lam)
            if rel_c <= tol:
                w, gap, rel = w_c, gap_c, rel_c
                r = b_t - Av(w)
                p = 0.5 * float(r @ r) + lam * float(w.sum())
    if not converged and warn:
        warnings.warn(
            f"the interior-point method stopped after {it} iterations (max_iter={max_iter}) with relative "
            f"duality gap {rel:.3g} > tol={tol:g} (lam={lam:.6g}); the best iterate is returned",
            ConvergenceWarning,
            stacklevel=2,
        )
    return L1Solution(lam=float(lam), w=w, objective=p, dual_gap=gap, rel_gap=rel, n_iter=it, converged=bool(converged))
