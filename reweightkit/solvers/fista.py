r"""FISTA for the NN-LASSO, stopped on the duality gap of :mod:`reweightkit.problem.nnlasso`.

Beck & Teboulle (2009) with backtracking on a local Lipschitz estimate capped at
the global one, and gradient-based adaptive restart (O'Donoghue & Candes 2015).
The prox of ``lam 1'w`` on ``w >= 0`` is ``max(v - lam * step, 0)``.
"""

from __future__ import annotations

import warnings

import numpy as np

from ..exceptions import ConvergenceWarning
from ..problem.nnlasso import GAP_FLOOR, L1Solution, dual_value, lipschitz_constant

__all__ = ["fista"]


def fista(At_rec, b_t, lam, w0, L=None, tol=1e-8, max_iter=20000, warn=True, shrink=0.9,
          callback=None, restart=True, upper=None, lower=None) -> L1Solution:
    """FISTA with backtracking and gradient-based adaptive restart, stopped on the duality gap.

    Parameters
    ----------
    At_rec : csr_matrix, shape (n, m)
        ``A_tilde`` transposed, record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde = sign(b)``.
    lam : float, >= 0
        Penalty.
    w0 : ndarray, shape (n,), >= 0
        Starting point (not modified).
    L : float, optional
        Lipschitz constant of the gradient (computed if omitted).  Steps are
        ``1/L_k`` with a local estimate ``L_k <= L``: each iteration tries
        ``shrink * L_k`` and doubles it (capped at ``L``) until the usual
        sufficient-decrease test holds, so a step of ``1/L`` is always safe.
    tol : float, default 1e-8
        Stop once ``G / max(P(w), GAP_FLOOR P(0)) <= tol``.
    max_iter : int, default 20000
        Iterations before giving up (with a warning).
    warn : bool, default True
        Warn (:class:`~reweightkit.ConvergenceWarning`) when ``max_iter`` is reached.
    shrink : float, default 0.9
        Factor by which each iteration first tries to shrink the local Lipschitz estimate.
    callback : callable, optional
        Called as ``callback(it, P(x), rel_gap, restarted)`` after each gap
        evaluation (``it`` = iterations done, ``x`` the current iterate,
        ``restarted`` whether the previous step restarted the momentum); for
        convergence plots.  It must not modify its arguments.
    restart : bool
        Gradient-based adaptive restart of the momentum (default on; off
        gives plain FISTA, for comparison).
    upper : ndarray, shape (n,), optional
        Upper bounds on ``w`` (the box ``0 <= w <= upper``): the prox becomes a clip
        to the box and the certificate uses the box's dual
        (:func:`reweightkit.problem.nnlasso.dual_value`).
    lower : ndarray, shape (n,), optional
        Finite lower bounds (default 0): the box ``lower <= w <= upper``, with the box's
        dual in the certificate (the bounded least squares of a refit, ``lam = 0``).

    Returns
    -------
    L1Solution
        Weights, objective, gap, iterations and ``converged``.

    Notes
    -----
    Each iteration costs one product ``A~ x`` and one ``A~' r``.  The dual
    point is built from the residual at the extrapolated point, whose adjoint
    the gradient step already needs, so the certificate is free; once it
    holds, it is confirmed with the returned iterate's own residual (one more
    product), so ``duality_gap(w)`` reproduces it.  The
    iterate stops when the *certificate* holds, never on small steps.  The
    gap at the starting point is checked first, so a warm start at the
    solution takes zero iterations.
    """
    if L is None:
        L = lipschitz_constant(At_rec)
    floor = GAP_FLOOR * 0.5 * float(b_t @ b_t)
    lo = 0.0 if lower is None else np.asarray(lower, dtype=float)
    if lower is not None and not np.all(np.isfinite(lo)):
        raise ValueError("lower bounds must be finite")

    def project(v):  # onto w >= lower (0 by default), or onto the box lower <= w <= upper
        return np.maximum(v, lo) if upper is None else np.clip(v, lo, upper)

    x = project(np.asarray(w0, dtype=float))
    z_x = At_rec.T @ x
    p_x = float(0.5 * np.sum((b_t - z_x) ** 2) + lam * x.sum())
    y, z_y, t = x, z_x, 1.0
    L_k, L_min = L, L * 1e-6
    gap = rel = np.inf
    it = 0
    restarted = False
    while True:
        r_y = b_t - z_y
        g_r = At_rec @ r_y  # = -(gradient of the data term at y)
        gap = max(0.0, p_x - dual_value(r_y, g_r, b_t, lam, upper, lower))
        rel = gap / max(p_x, floor)
        if rel <= tol and y is not x:
            # confirm with the dual point of the returned iterate itself, so that the
            # certificate can be recomputed from the weights alone (duality_gap(x))
            r_x = b_t - z_x
            gap = max(0.0, p_x - dual_value(r_x, At_rec @ r_x, b_t, lam, upper, lower))
            rel = gap / max(p_x, floor)
        if callback is not None:
            callback(it, p_x, rel, restarted)
        if rel <= tol or it >= max_iter:
            break
        f_y = 0.5 * float(r_y @ r_y)
        L_k = max(L_k * shrink, L_min)
        while True:  # backtracking on the local Lipschitz constant, never above the global L
            x_new = project(y + (g_r - lam) / L_k)
            z_new = At_rec.T @ x_new
            r_new = b_t - z_new
            step = x_new - y
            f_new = 0.5 * float(r_new @ r_new)
            if L_k >= L or f_new <= f_y - float(g_r @ step) + 0.5 * L_k * float(step @ step) * (1 + 1e-12):
                break
            L_k = min(2.0 * L_k, L)
        p_new = f_new + lam * float(x_new.sum())
        if restart and np.dot(y - x_new, x_new - x) > 0:  # adaptive restart (O'Donoghue & Candes 2015)
            t, y, z_y = 1.0, x_new, z_new  # y is x_new: its residual is x's own
            restarted = True
        else:
            restarted = False
            t_new = 0.5 * (1.0 + np.sqrt(1.0 + 4.0 * t * t))
            beta = (t - 1.0) / t_new
            y = x_new + beta * (x_new - x)
            z_y = z_new + beta * (z_new - z_x)
            t = t_new
        x, z_x, p_x = x_new, z_new, p_new
        it += 1
    converged = rel <= tol
    if not np.all(np.isfinite(x)):
        raise FloatingPointError(f"FISTA produced non-finite weights at lam={lam:g}")
    if not converged and warn:
        warnings.warn(
            f"FISTA stopped at max_iter={max_iter} with relative duality gap {rel:.3g} > tol={tol:g} "
            f"(lam={lam:.6g}); raise max_iter or tol, or use a larger alpha",
            ConvergenceWarning,
            stacklevel=2,
        )
    return L1Solution(lam=float(lam), w=x, objective=p_x, dual_gap=gap, rel_gap=rel, n_iter=it,
                      converged=bool(converged))
