r"""The non-negative LASSO on the relative loss: objective, dual, certificate, KKT, lambda_max.

.. math::

    \min_{w \ge 0} P(w) = \tfrac12 \|\tilde A w - \tilde b\|^2 + \lambda \mathbf 1^\top w

(for ``w >= 0``, ``||w||_1 = sum(w)``).  Dual: ``D(u) = b~'u - |u|^2/2`` subject
to ``A~'u <= lam`` (one-sided, because ``w >= 0``).  Any residual ``r`` gives a
feasible dual point ``u = s r`` with
``s = clip(b~'r / |r|^2, 0, lam / max_j (A~'r)_j)``, and the duality gap
``G = P(w) - D(u) >= P(w) - P*`` certifies the answer.

The matrix is kept record-major: ``At`` is ``A_tilde.T`` as CSR (one row per
record), so ``A~' r`` is ``At @ r`` and ``A~ w`` is ``At.T @ w`` (the CSC view
of the same arrays).  Nothing n-wide is densified.

Both solvers (:mod:`reweightkit.solvers.fista`, :mod:`reweightkit.solvers.ipm`)
import this certificate, so they stop on the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg

__all__ = [
    "nonbinding_upper",
    "GAP_FLOOR",
    "L1Solution",
    "alpha_grid",
    "lambda_max",
    "lipschitz_constant",
    "objective",
    "dual_value",
    "duality_gap",
    "kkt_residual",
]

GAP_FLOOR = 1e-12
"""The relative gap is ``G / max(P(w), GAP_FLOOR * P(0))``: relative to the
objective, except when the optimum is (nearly) an exact fit, ``P* ~ 0``."""


@dataclass
class L1Solution:
    """One certified solution of the NN-LASSO at one ``lam``.

    Parameters
    ----------
    lam : float
        The penalty.
    w : ndarray, shape (n,)
        The weights (``>= 0``).
    objective : float
        ``P(w)``.
    dual_gap, rel_gap : float
        Absolute and relative duality gap at ``w``.
    n_iter : int
        Iterations used.
    converged : bool
        ``rel_gap <= tol``.
    kkt : float
        Relative KKT violation (see :func:`kkt_residual`; NaN until computed).
    seconds : float
        Wall time of the solve.
    """

    lam: float
    w: np.ndarray
    objective: float
    dual_gap: float
    rel_gap: float
    n_iter: int
    converged: bool
    kkt: float = field(default=np.nan)
    seconds: float = field(default=0.0)


def alpha_grid(n_alphas: int = 15, eps: float = 1e-3, top: float = 0.9) -> np.ndarray:
    """The kit's one default grid of ``alpha = lambda / lambda_max``: ``geomspace(top, eps, n_alphas)``.

    Parameters
    ----------
    n_alphas : int, default 15
        Number of grid points.
    eps : float, default 1e-3
        Smallest alpha.
    top : float, default 0.9
        Largest alpha (below 1, where every weight is zero).

    Returns
    -------
    ndarray, shape (n_alphas,)
        Strong to weak penalties.
    """
    if isinstance(n_alphas, bool) or not isinstance(n_alphas, (int, np.integer)) or n_alphas < 1:
        raise ValueError(f"n_alphas must be an integer >= 1, got {n_alphas!r}")
    if not (0 < eps <= top <= 1):
        raise ValueError(f"the alpha grid needs 0 < eps <= top <= 1, got eps={eps!r}, top={top!r}")
    return np.geomspace(top, eps, n_alphas)


def lambda_max(At_rec: sp.csr_matrix, b_t: np.ndarray) -> float:
    """The smallest penalty whose solution is all zeros.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.

    Returns
    -------
    float
        ``max(0, max_j (A~' b~)_j)``: for ``lam >= lambda_max``, ``w = 0`` is optimal.
    """
    return float(max(0.0, np.max(At_rec @ b_t)))


def lipschitz_constant(At_rec: sp.csr_matrix, exact_up_to: int = 500) -> float:
    """Largest eigenvalue of ``A~ A~'`` (m x m): the Lipschitz constant of the data term's gradient.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    exact_up_to : int, default 500
        Exact (dense symmetric eigensolver on the m x m Gram) when ``m <= exact_up_to``;
        above that, Lanczos (ARPACK) on the operator ``v -> A~ (A~' v)`` in memory
        O(nnz), converged to 1e-10 and enlarged by 0.1 % so that it stays an upper bound
        (FISTA's steps are safe only below ``1 / L``); the Gershgorin bound of the Gram's
        rows if Lanczos does not converge.

    Returns
    -------
    float
        The constant (or its upper bound).
    """
    n, m = At_rec.shape
    if m <= exact_up_to:
        G = (At_rec.T @ At_rec).toarray()
        ev = scipy.linalg.eigvalsh(G, subset_by_index=[m - 1, m - 1])
        return float(ev[-1]) * (1 + 1e-12) + 1e-300
    At = sp.csr_matrix(At_rec)
    A = At.T.tocsr()
    op = scipy.sparse.linalg.LinearOperator((m, m), matvec=lambda v: A @ (At @ v), dtype=float)
    try:
        ev = scipy.sparse.linalg.eigsh(op, k=1, which="LA", tol=1e-10, maxiter=10 * m,
                                       v0=np.ones(m) / np.sqrt(m), return_eigenvectors=False)
        return float(ev[0]) * 1.001 + 1e-300
    except scipy.sparse.linalg.ArpackNoConvergence:  # pragma: no cover - Lanczos converges for PSD operators
        G = (At.T @ At).tocsr()
        return float(np.max(np.asarray(abs(G).sum(axis=1)).ravel()))


def nonbinding_upper(At_rec, b_t, lower=None):
    """Upper bounds no optimal ``w`` of ``min_{w >= lower} 1/2 ||A~ w - b~||^2`` reaches, when ``A~ >= 0``.

    At ``lam = 0`` the scaled-residual dual point is feasible only for an exact fit, so FISTA's
    certificate cannot close; on a box it always can.  With non-negative entries a box that
    provably does not bind exists: any optimum has ``||A~ w* - b~|| <= R0`` (the residual at the
    feasible point ``lower``, or ``||b~||`` at 0), so ``A~_ij w*_j <= (A~ w*)_i <= R0 + ||b~||`` for
    every row ``i``, and ``w*_j <= (R0 + ||b~||) / max_i A~_ij``.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A~'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    lower : ndarray, shape (n,), optional
        Lower bounds (default 0).

    Returns
    -------
    ndarray, shape (n,), or None
        The bounds; None when ``A~`` has a negative entry or an empty column.
    """
    At = sp.csr_matrix(At_rec)
    if At.nnz and At.data.min() < 0:
        return None
    colmax = np.asarray(At.max(axis=1).toarray()).ravel()
    if np.any(colmax <= 0):
        return None
    r0 = float(np.linalg.norm(b_t if lower is None else At.T @ lower - b_t))
    return (r0 + float(np.linalg.norm(b_t))) / colmax * (1 + 1e-9)


def objective(At_rec, b_t, w, lam) -> float:
    """The primal objective ``P(w) = 1/2 ||A~ w - b~||^2 + lam 1'w``.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    w : ndarray, shape (n,)
        Weights (``>= 0``).
    lam : float
        Penalty.

    Returns
    -------
    float
    """
    r = b_t - At_rec.T @ w
    return float(0.5 * r @ r + lam * w.sum())


def dual_value(r, g_r, b_t, lam, upper=None, lower=None) -> float:
    """``D(s r)`` for the best feasible scaling ``s`` of residual ``r``.

    Parameters
    ----------
    r : ndarray, shape (m,)
        A residual ``b~ - A~ w``.
    g_r : ndarray, shape (n,)
        ``A~' r``.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    lam : float
        Penalty.
    upper : ndarray, shape (n,), optional
        Upper bounds on ``w`` (the box ``lower <= w <= upper``).  The dual then has no
        constraint: ``D(u) = b~'u - |u|^2/2 - sum_j upper_j max(0, (A~'u)_j - lam)``
        is a lower bound for every ``u``, and the best of the scalings ``s`` below is used.
    lower : ndarray, shape (n,), optional
        Lower bounds (default 0, finite): the box's other side adds
        ``- sum_j lower_j min(0, (A~'u)_j - lam)`` to the dual.

    Returns
    -------
    float
        A lower bound on the optimum ``P*``.
    """
    rr = float(r @ r)
    if rr == 0.0:  # u = 0: (A~'u)_j - lam = -lam <= 0 for every j
        return 0.0 if lower is None else lam * float(np.sum(lower))
    br = float(b_t @ r)
    s_free = max(0.0, br / rr)
    gmax = float(np.max(g_r))
    s = min(s_free, lam / gmax) if gmax > 0 else s_free  # no penalty term: feasible without a box
    if lower is None:
        best = s * br - 0.5 * s * s * rr
        if upper is not None:
            for t in (s_free, 1.0):  # the unscaled residual is the dual optimum at the primal optimum
                val = t * br - 0.5 * t * t * rr - float(upper @ np.maximum(0.0, t * g_r - lam))
                best = max(best, val)
        return best
    best = -np.inf
    for t in ((s,) if upper is None else (s, s_free, 1.0)):
        pos = t * g_r - lam
        up = 0.0 if upper is None else float(upper @ np.maximum(0.0, pos))
        if upper is None and np.any(pos > 0):
            continue
        best = max(best, t * br - 0.5 * t * t * rr - up - float(lower @ np.minimum(0.0, pos)))
    return best


def duality_gap(At_rec, b_t, w, lam, upper=None, lower=None) -> tuple[float, float]:
    """The certificate at ``w``: absolute and relative duality gap.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    w : ndarray, shape (n,)
        Weights (``>= 0``).
    lam : float
        Penalty.
    upper : ndarray, shape (n,), optional
        Upper bounds on ``w`` (see :func:`dual_value`).
    lower : ndarray, shape (n,), optional
        Lower bounds on ``w`` (default 0; see :func:`dual_value`).

    Returns
    -------
    gap : float
        ``G = P(w) - D(u) >= P(w) - P*``.
    rel_gap : float
        ``G / max(P(w), GAP_FLOOR * P(0))``.
    """
    r = b_t - At_rec.T @ w
    p = float(0.5 * r @ r + lam * w.sum())
    gap = max(0.0, p - dual_value(r, At_rec @ r, b_t, lam, upper, lower))
    return gap, gap / max(p, GAP_FLOOR * 0.5 * float(b_t @ b_t))


def kkt_residual(At_rec, b_t, w, lam, lam_max=None, upper=None) -> float:
    """Largest KKT violation relative to ``max(lambda_max, lam, 1)`` (a diagnostic).

    With ``g`` the data-term gradient: ``|g_j + lam|`` where ``w_j > 0`` and
    ``max(0, -(g_j + lam))`` where ``w_j = 0``.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    w : ndarray, shape (n,)
        Weights (``>= 0``).
    lam : float
        Penalty.
    lam_max : float, optional
        :func:`lambda_max` of the problem, when the caller has it already.
    upper : ndarray, shape (n,), optional
        Upper bounds on ``w``: where ``w_j = upper_j`` the violation is ``max(0, g_j + lam)``.

    Returns
    -------
    float
    """
    g = -(At_rec @ (b_t - At_rec.T @ w)) + lam
    viol = np.where(w > 0, np.abs(g), np.maximum(0.0, -g))
    if upper is not None:
        viol = np.where(w >= upper, np.maximum(0.0, g), viol)
    scale = max(lambda_max(At_rec, b_t) if lam_max is None else lam_max, lam, 1.0)
    return float(np.max(viol) / scale)
