"""Generalised raking (exponential distance): calibrate design weights exactly to the targets."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg

__all__ = ["rake"]

DENSE_UP_TO = 300
"""Up to this many targets the Newton system is solved densely (least squares); above, sparsely."""


def _newton_step(At_rec, w, F):
    """Solve ``J step = -F`` with ``J = A~ diag(w) A~'`` (m x m), the Jacobian of ``F(mu)``.

    Small systems: dense least squares (handles dependent targets exactly).  Large
    ones: ``J`` stays sparse (its pattern is the co-occurrence of targets in records,
    block-diagonal for one margin) and gets a ridge of ``1e-10`` of its mean diagonal,
    which makes dependent targets (two complete margins) solvable; SuperLU solves it.
    """
    m = F.size
    J = (At_rec.T @ At_rec.multiply(w[:, None])).tocsc()
    if m <= DENSE_UP_TO:
        return np.linalg.lstsq(J.toarray(), -F, rcond=None)[0]
    diag = J.diagonal()
    ridge = 1e-10 * max(float(diag.mean()), 1e-300)
    return scipy.sparse.linalg.spsolve(J + ridge * sp.identity(m, format="csc"), -F)


def rake(At_rec, b_t, d, tol=1e-12, max_iter=100):
    """Calibrate design weights ``d`` exactly to ``A~ w = b~`` with ``w = d exp(A~' mu)``.

    Generalised raking (Deville & Sarndal 1992, exponential distance): Newton's
    method on the ``m`` multipliers ``mu`` with a backtracking line search; for
    categorical margins alone this is the fixed point of iterative
    proportional fitting.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    d : ndarray, shape (n,)
        Starting (design) weights, ``> 0``.
    tol : float, default 1e-12
        Stop once every relative residual is ``<= tol``.
    max_iter : int, default 100
        Newton steps.

    Returns
    -------
    w : ndarray, shape (n,)
        Calibrated weights.
    converged : bool
        Largest relative residual ``<= 1e-8`` (or ``<= tol`` when reached early).
    max_abs_residual : float
        Largest relative residual.
    """
    m = At_rec.shape[1]
    mu = np.zeros(m)
    w = d.copy()
    F = At_rec.T @ w - b_t
    for _ in range(max_iter):
        if np.max(np.abs(F)) <= tol:
            return w, True, float(np.max(np.abs(F)))
        step = _newton_step(At_rec, w, F)
        f0 = float(F @ F)
        t = 1.0
        while t > 1e-10:
            with np.errstate(over="ignore", invalid="ignore"):
                w_new = d * np.exp(np.clip(At_rec @ (mu + t * step), -700, 700))
                F_new = At_rec.T @ w_new - b_t
                f_new = float(F_new @ F_new)
            if np.isfinite(f_new) and f_new < f0:
                break
            t *= 0.5
        mu, w, F = mu + t * step, w_new, F_new
    res = float(np.max(np.abs(F)))
    return w, res <= 1e-8, res
