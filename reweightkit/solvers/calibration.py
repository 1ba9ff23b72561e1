r"""Calibration on a support: the distances of Deville & Sarndal (1992), bounds, and the truth when it fails.

Given base weights ``d`` on the records of a support ``S``, calibration finds
``w_j = d_j F(x_j' mu)`` with ``A~_S w = b~`` by Newton's method on the ``m``
multipliers ``mu`` (the dual of ``min sum_j d_j G(w_j / d_j)``), ``x_j = A~' e_j``.
``g = w / d`` follows the distance's inverse link ``F``:

- ``"linear"``: ``F(u) = 1 + u`` (chi-square distance; ``g`` may be negative);
  with ``bounds=(lo, hi)`` it is *truncated*, ``F(u) = clip(1 + u, lo, hi)``, as R's
  ``sampling::calib(method="truncated")``;
- ``"raking"``: ``F(u) = exp(u)`` (multiplicative; ``g > 0``); no bounds;
- ``"logit"``: bounded raking, ``lo < g < hi`` always (``lo < 1 < hi``):

.. math::

    F(u) = \frac{lo (hi - 1) + hi (1 - lo) e^{a u}}{(hi - 1) + (1 - lo) e^{a u}}, \qquad
    a = \frac{hi - lo}{(1 - lo)(hi - 1)} .

When Newton's method does not meet the targets, one LP (HiGHS) decides whether
they are attainable at all within the bounds on that support: it minimises the
total relative shortfall ``sum_i |s_i|`` of ``A~_S w + s = b~`` over the allowed
``w``; the targets left with a shortfall are the ones no allowed weights reach
together.  The caller then gets an error naming them, or (``on_infeasible=
"least_squares"``, asked for) the bounded least-squares fit of the same relative loss,
directly (no LP: the fit's own residuals name the targets it misses), marked
``exact=False``.  Never a silent partial result.  Newton stops early when ten steps
together cut the squared residual by less than 0.1 % (targets out of reach: a feasible
system converges quadratically).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import scipy.optimize
import scipy.sparse as sp
import scipy.sparse.linalg

from ..problem.scoring import EXACT_TOL

__all__ = ["DISTANCES", "DENSE_UP_TO", "CalibrationResult", "inverse_link", "newton_step", "calibrate_weights", "rake",
           "shortfall_lp"]

DENSE_UP_TO = 300
"""Up to this many targets the Newton system is solved densely (least squares); above, sparsely."""
DENSE_JACOBIAN_CAP = 2_000_000
"""With at most ``DENSE_UP_TO`` targets and ``n m`` up to this (16 MB), ``calibrate_weights`` forms the Jacobian from
a dense copy of ``A~'`` (one BLAS product a step instead of three sparse ones: measured 4x faster a step at
5,000 x 6)."""

DISTANCES = ("linear", "raking", "logit")
STALL_STEPS, STALL_DROP = 10, 1e-3
"""Newton stops when ten steps together cut the squared residual by less than 0.1 %: a stall (targets out of reach)."""


def newton_step(At_rec, v, F, dense=None):
    """Solve ``J step = -F`` with ``J = A~ diag(v) A~'`` (m x m), the Jacobian of the calibration equations.

    Small systems: dense least squares (handles dependent targets exactly), ``J`` formed from
    ``dense`` by one BLAS product when the caller keeps a dense copy of ``A~'``.  Large
    ones: ``J`` stays sparse (its pattern is the co-occurrence of targets in records,
    block-diagonal for one margin) and gets a ridge of ``1e-10`` of its mean diagonal,
    which makes dependent targets (two complete margins) solvable; SuperLU solves it.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    v : ndarray, shape (n,)
        ``d_j F'(u_j)`` per record.
    F : ndarray, shape (m,)
        Residuals.
    dense : ndarray, shape (n, m), optional
        ``At_rec`` as a dense array (only with ``m <= DENSE_UP_TO``).

    Returns
    -------
    ndarray, shape (m,)
    """
    m = F.size
    if dense is not None:
        return np.linalg.lstsq(dense.T @ (dense * v[:, None]), -F, rcond=None)[0]
    J = (At_rec.T @ At_rec.multiply(v[:, None])).tocsc()
    if m <= DENSE_UP_TO:
        return np.linalg.lstsq(J.toarray(), -F, rcond=None)[0]
    ridge = 1e-10 * max(float(J.diagonal().mean()), 1e-300)
    return scipy.sparse.linalg.spsolve(J + ridge * sp.identity(m, format="csc"), -F)


def _check_bounds(distance, bounds):
    if distance not in DISTANCES:
        raise ValueError(f"distance must be one of {list(DISTANCES)}, got {distance!r}")
    if bounds is None:
        if distance == "logit":
            raise ValueError("distance='logit' needs bounds=(lo, hi) with lo < 1 < hi: it is raking bounded within them")
        return None
    lo, hi = bounds
    if distance == "raking":
        raise ValueError("distance='raking' takes no bounds: use distance='logit' (raking kept within (lo, hi)) or "
                         "'linear' (truncated at lo and hi)")
    if distance == "logit" and not (lo < 1 < hi and np.isfinite(hi)):
        raise ValueError(f"distance='logit' needs lo < 1 < hi with hi finite, got bounds={bounds!r}")
    return float(lo), float(hi)


def inverse_link(distance, u, bounds=None):
    """``g = F(u)`` and ``dg/du`` of a distance.

    Parameters
    ----------
    distance : {"linear", "raking", "logit"}
        The calibration distance.
    u : ndarray
        ``x_j' mu`` per record.
    bounds : tuple of float, optional
        ``(lo, hi)`` on ``g`` (linear: truncation; logit: required).

    Returns
    -------
    g, dg : ndarray
        The g-weights and their derivative.
    """
    u = np.asarray(u, dtype=float)
    if distance == "linear":
        g = 1.0 + u
        if bounds is None:
            return g, np.ones_like(g)
        lo, hi = bounds
        inside = (g > lo) & (g < hi)
        return np.clip(g, lo, hi), inside.astype(float)
    if distance == "raking":
        g = np.exp(np.clip(u, -700, 700))
        return g, g
    lo, hi = bounds
    a = (hi - lo) / ((1 - lo) * (hi - 1))
    e = np.exp(np.clip(a * u, -700, 700))
    den = (hi - 1) + (1 - lo) * e
    g = (lo * (hi - 1) + hi * (1 - lo) * e) / den
    dg = a * e * (hi - 1) * (1 - lo) * (hi - lo) / den**2
    return g, dg


def calibrate_weights(At_rec, b_t, base, distance="raking", bounds=None, tol=1e-12, max_iter=100):
    """Newton's method on the multipliers: ``w = base * F(A~' mu)`` with ``A~ w = b~``.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major (the support's rows only).
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    base : ndarray, shape (n,)
        Base weights ``d`` (``g = w / d``), ``> 0``.
    distance : {"linear", "raking", "logit"}, default "raking"
        See the module docstring.
    bounds : tuple of float, optional
        ``(lo, hi)`` on ``g``.
    tol : float, default 1e-12
        Stop once every relative residual is ``<= tol``.
    max_iter : int, default 100
        Newton steps.

    Returns
    -------
    w : ndarray, shape (n,)
        Calibrated weights (the best iterate if not converged).
    converged : bool
        Largest relative residual ``<= EXACT_TOL`` (1e-8).
    max_abs_residual : float
        Largest relative residual.
    n_iter : int
        Newton steps taken.
    """
    bounds = _check_bounds(distance, bounds)
    n, m = At_rec.shape
    dense = At_rec.toarray() if m <= DENSE_UP_TO and n * m <= DENSE_JACOBIAN_CAP else None
    mu = np.zeros(m)
    g, dg = inverse_link(distance, np.zeros(At_rec.shape[0]), bounds)
    w = base * g
    F = At_rec.T @ w - b_t
    it = 0
    losses = []
    for it in range(max_iter):  # noqa: B007 - the count is returned
        if np.max(np.abs(F)) <= tol:
            return w, True, float(np.max(np.abs(F))), it
        f0 = float(F @ F)
        losses.append(f0)
        if len(losses) > STALL_STEPS and f0 > (1.0 - STALL_DROP) * losses[-1 - STALL_STEPS]:
            break  # no progress: the targets are out of reach (Newton converges fast where they are not)
        step = newton_step(At_rec, base * dg, F, dense)
        t = 1.0
        while t > 1e-10:
            with np.errstate(over="ignore", invalid="ignore"):
                g_new, dg_new = inverse_link(distance, At_rec @ (mu + t * step), bounds)
                w_new = base * g_new
                F_new = At_rec.T @ w_new - b_t
                f_new = float(F_new @ F_new)
            if np.isfinite(f_new) and f_new < f0:
                break
            t *= 0.5
        else:  # no descent along the Newton direction: stop at the best iterate
            break
        mu, w, F, dg = mu + t * step, w_new, F_new, dg_new
    res = float(np.max(np.abs(F)))
    return w, res <= EXACT_TOL, res, it + 1


def rake(At_rec, b_t, d, tol=1e-12, max_iter=100):
    """Calibrate design weights ``d`` exactly to ``A~ w = b~`` with ``w = d exp(A~' mu)``.

    Generalised raking (Deville & Sarndal 1992, exponential distance): Newton's
    method on the ``m`` multipliers ``mu`` with a backtracking line search; for
    categorical margins alone this is the fixed point of iterative
    proportional fitting.  (:func:`calibrate_weights` with ``distance="raking"``.)

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
        Largest relative residual ``<= 1e-8``.
    max_abs_residual : float
        Largest relative residual.
    """
    w, converged, res, _ = calibrate_weights(At_rec, b_t, d, "raking", None, tol, max_iter)
    return w, converged, res


def shortfall_lp(At_rec, b_t, lower, upper):
    """The smallest total relative shortfall of the targets over the allowed weights (one HiGHS LP).

    Solves ``min sum_i (s+_i + s-_i)`` s.t. ``A~ w + s+ - s- = b~``, ``lower <= w <= upper``,
    ``s+, s- >= 0``.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major (the support's rows only).
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    lower, upper : ndarray, shape (n,)
        Bounds on ``w`` (``-inf`` / ``inf`` allowed).

    Returns
    -------
    shortfall : ndarray, shape (m,)
        ``b~ - A~ w`` at the LP's optimum: zero for every target that the allowed
        weights reach together with the others.
    """
    n, m = At_rec.shape
    A = sp.hstack([At_rec.T.tocsr(), sp.identity(m), -sp.identity(m)]).tocsr()
    c = np.r_[np.zeros(n), np.ones(2 * m)]
    bnds = np.c_[np.r_[lower, np.zeros(2 * m)], np.r_[upper, np.full(2 * m, np.inf)]]
    bnds = [(None if not np.isfinite(lo) else lo, None if not np.isfinite(hi) else hi) for lo, hi in bnds]
    r = scipy.optimize.linprog(c, A_eq=A, b_eq=b_t, bounds=bnds, method="highs")
    if r.status != 0:
        raise RuntimeError(f"the attainability LP failed: {r.message}")
    s = r.x[n:]
    return s[:m] - s[m:]


@dataclass
class CalibrationResult:
    """A calibration on a support.

    Parameters
    ----------
    weights : ndarray, shape (n,)
        Calibrated weights, zero off the support.
    exact : bool
        Every target met to ``EXACT_TOL`` (relative).
    residuals : ndarray, shape (m,)
        Relative residuals ``A~ w - b~``.
    base : ndarray, shape (n,)
        The base weights ``g`` is relative to (zero off the support).
    distance : str
        The distance used.
    bounds : tuple or None
        ``(lo, hi)`` on ``g``.
    n_iter : int
        Newton steps.
    unattainable : list of str
        Targets no allowed weights reach: found by the attainability LP, or, on the
        least-squares fallback (which skips the LP), the targets that fit misses by more than 1e-8.
    method : str
        ``"newton"`` or ``"least_squares"``.
    converged : bool
        Whether the solver that produced ``weights`` met its own criterion: Newton's
        tolerance (then ``exact``), or the bounded least squares' certificate.
    """

    weights: np.ndarray
    exact: bool
    residuals: np.ndarray
    base: np.ndarray
    distance: str
    bounds: tuple | None
    n_iter: int
    unattainable: list = field(default_factory=list)
    method: str = "newton"
    converged: bool = True

    @property
    def max_residual(self) -> float:
        """Largest absolute relative residual."""
        return float(np.max(np.abs(self.residuals))) if self.residuals.size else 0.0
