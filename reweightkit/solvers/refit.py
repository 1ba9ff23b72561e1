"""Select, then calibrate: the one home of refitting a support.

Every sparse method of the kit (L1, Hard Concrete, the samplers) ends the same way:
the records it kept -- its **support**, ``{j : w_j > ACTIVE_TOL}``
(:func:`reweightkit.problem.scoring.support`, the kit's one support rule) -- are
refit to the targets, and the others keep weight 0.  :func:`refit_support` is that
step, for every method:

- ``"relaxed"`` (``True``): the same relative loss without the penalty,
  ``min_{lower <= v <= upper} 1/2 ||A~_S v - b~||^2`` (relaxed L1; Meinshausen 2007),
  with ``lower = 0, upper = inf`` unless bounds are given;
- a calibration distance (``"linear"``, ``"raking"``, ``"logit"``):
  :func:`calibrate_support`, exact calibration of the support (Deville & Sarndal),
  or the truth about which targets it cannot meet.

Both reduce to one bounded least squares when the targets cannot be met exactly:
:func:`bounded_least_squares` (FISTA on the box, certified by the box's dual; memory
proportional to ``nnz(A)``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import scipy.optimize

from ..problem.nnlasso import L1Solution, duality_gap, kkt_residual, nonbinding_upper
from ..problem.scoring import EXACT_TOL, support
from .calibration import CalibrationResult, _check_bounds, calibrate_weights, shortfall_lp
from .fista import fista

__all__ = ["RefitResult", "LS_TOL", "LS_MAX_ITER", "bounded_least_squares", "relaxed_refit", "calibrate_support",
           "refit_support"]

LS_TOL, LS_MAX_ITER = 1e-6, 5000
"""The bounded least-squares fallback of a calibration: FISTA's relative duality gap and iteration budget."""


def bounded_least_squares(At_rec, b_t, lower, upper=None, start=None, tol=LS_TOL, max_iter=LS_MAX_ITER):
    """``min_{lower <= v <= upper} 1/2 ||A~ v - b~||^2``: the kit's one bounded least squares.

    FISTA on the box (the prox is a clip), stopped on the box's certified duality
    gap.  Without an upper bound, a provably non-binding one is used where it exists
    (non-negative ``A~``, :func:`reweightkit.problem.nnlasso.nonbinding_upper`), so the
    certificate can close at ``lambda = 0``.  A lower bound of ``-inf`` (the unbounded
    linear distance) has no box dual: that case is solved by ``scipy.optimize.lsq_linear``.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A~'`` record-major (the support's rows only).
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    lower : ndarray, shape (n,)
        Lower bounds (finite, or all ``-inf``).
    upper : ndarray, shape (n,), optional
        Upper bounds (``inf`` allowed).
    start : ndarray, shape (n,), optional
        Start point (clipped into the box; default ``lower``).
    tol : float, default LS_TOL
        Relative duality gap.
    max_iter : int, default LS_MAX_ITER
        FISTA iterations.

    Returns
    -------
    L1Solution
        ``w`` (inside the box), ``converged``, ``rel_gap``, ``n_iter``, ``objective``; ``kkt`` filled in.
    """
    lower = np.asarray(lower, dtype=float)
    upper = None if upper is None else np.asarray(upper, dtype=float)
    if np.all(np.isfinite(lower)):
        if upper is None or not np.all(np.isfinite(upper)):
            cap = nonbinding_upper(At_rec, b_t, lower)
            upper = cap if upper is None else (np.where(np.isfinite(upper), upper, cap) if cap is not None else None)
        x0 = lower.copy() if start is None else np.asarray(start, dtype=float)
        x0 = np.clip(x0, lower, np.inf if upper is None else upper)
        sol = fista(At_rec, b_t, 0.0, x0, tol=tol, max_iter=max_iter, warn=False, upper=upper, lower=lower)
        sol.kkt = kkt_residual(At_rec, b_t, sol.w, 0.0, upper=upper) if not np.any(lower) else float("nan")
        return sol
    t0 = time.perf_counter()
    hi = np.full(lower.shape, np.inf) if upper is None else upper
    fit = scipy.optimize.lsq_linear(At_rec.T.tocsr(), b_t, bounds=(lower, hi), lsmr_tol="auto",
                                    max_iter=max(1000, 10 * b_t.size))
    v = np.clip(fit.x, lower, hi)
    r = At_rec.T @ v - b_t
    return L1Solution(lam=0.0, w=v, objective=0.5 * float(r @ r), dual_gap=float("nan"), rel_gap=float("nan"),
                      n_iter=int(fit.nit), converged=bool(fit.status > 0), kkt=float("nan"),
                      seconds=time.perf_counter() - t0)


def relaxed_refit(At_rec, b_t, w, tol=1e-8, max_iter=20000, dense_up_to=500):
    """Relaxed L1: re-solve ``min_{v >= 0} 1/2 ||A~_S v - b~||^2`` on the support ``S`` of ``w``.

    ``S`` is :func:`reweightkit.problem.scoring.support` (weight ``> 1e-9``).
    Supports of at most ``dense_up_to`` records are solved exactly by an active-set
    NNLS (``scipy.optimize.nnls``; ``converged`` means KKT residual <= 1e-9); larger ones
    by FISTA from ``w[S]`` on a provably non-binding box (certified by the duality gap).

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    w : ndarray, shape (n,)
        Weights whose support is refit.
    tol : float, default 1e-8
        Relative duality gap for the FISTA branch.
    max_iter : int, default 20000
        FISTA iterations.
    dense_up_to : int, default 500
        Largest support solved by NNLS.

    Returns
    -------
    w_full : ndarray, shape (n,)
        Refit weights, zero off ``S``.
    sol : L1Solution
        The restricted problem's solution (its ``kkt`` filled in).
    """
    S = np.flatnonzero(support(w))
    sub = At_rec[S]
    if S.size <= dense_up_to:
        # small supports (vertex solutions have <= m + 1 records): an exact active-set NNLS.
        # FISTA's certificate cannot close at lam = 0 when the fit is not exact, because the
        # dual constraint A~'u <= 0 leaves no room for rounding.
        t0 = time.perf_counter()
        v, rnorm = scipy.optimize.nnls(sub.T.toarray(), b_t, maxiter=50 * max(S.size, 1))
        gap, rel = duality_gap(sub, b_t, v, 0.0)
        kkt = kkt_residual(sub, b_t, v, 0.0)
        sol = L1Solution(lam=0.0, w=v, objective=0.5 * float(rnorm) ** 2, dual_gap=gap, rel_gap=rel, n_iter=0,
                         converged=bool(kkt <= 1e-9 or rel <= tol), kkt=kkt, seconds=time.perf_counter() - t0)
    else:
        # at lam = 0 the certificate needs a box; a provably non-binding one leaves the problem unchanged
        sol = fista(sub, b_t, 0.0, w[S], tol=tol, max_iter=max_iter, upper=nonbinding_upper(sub, b_t))
        sol.kkt = kkt_residual(sub, b_t, sol.w, 0.0)
    w_full = np.zeros_like(w, dtype=float)
    w_full[S] = sol.w
    return w_full, sol


def _positions(support_arg, n):
    """Positions of a support given as a boolean mask or integer positions, checked."""
    s = np.asarray(support_arg)
    if s.dtype == bool:
        if s.shape != (n,):
            raise ValueError(f"support is a boolean mask of shape {s.shape}; it must have shape ({n},)")
        return np.flatnonzero(s)
    if s.size and not np.issubdtype(s.dtype, np.integer):
        raise TypeError(f"support must be a boolean mask or integer positions, got dtype {s.dtype}")
    s = s.astype(np.int64).ravel()
    bad = s[(s < 0) | (s >= n)]
    if bad.size:
        raise ValueError(f"support positions must be in [0, {n}); got {bad[:5].tolist()}")
    return np.unique(s)


def _scaled(bound, base):
    """``bound * base`` with ``0 * inf`` taken as 0 (a record of base 0 can carry no weight)."""
    return np.where(base > 0, bound * base, 0.0) if np.isinf(bound) else bound * base


def calibrate_support(problem, support=None, distance="raking", bounds=None, on_infeasible="raise", tol=1e-12,
                      max_iter=100, names=None, base=None):
    """Calibrate the records of ``support`` exactly to the targets, or say which targets cannot be met.

    Parameters
    ----------
    problem : CalibrationProblem
        The prepared targets.
    support : array-like of int or bool, optional
        Positions (or a mask) of the records that may carry weight; all records by default.
    distance : {"linear", "raking", "logit"}, default "raking"
        See :mod:`reweightkit.solvers.calibration`.
    bounds : tuple of float, optional
        ``(lo, hi)`` on ``g = w / base``.  A support of ``k`` of ``n`` records needs ``g``
        near ``n / k`` on average from the full sample's weights: its bounds must allow it.
    on_infeasible : {"raise", "least_squares"}, default "raise"
        What to do when the targets cannot be met: a ``ValueError`` naming them, or
        the bounded least-squares fit of the relative loss (``exact=False``).
    tol, max_iter
        Newton's tolerance and steps.
    names : list of str, optional
        Target names (default the problem's).
    base : ndarray, shape (n,), optional
        The weights the distance and the bounds are relative to (default ``problem.d``, the
        design weights, as R's ``survey::calibrate``).  A sample drawn with unequal probabilities ``pi`` should pass its
        Horvitz-Thompson weights ``w0 / pi``: starting from ``w0`` would count the
        design weight twice (once in the selection, once in the weight).

    Returns
    -------
    CalibrationResult
    """
    if on_infeasible not in ("raise", "least_squares"):
        raise ValueError(f"on_infeasible must be 'raise' or 'least_squares', got {on_infeasible!r}")
    bounds = _check_bounds(distance, bounds)
    n = problem.n_records
    names = list(problem.system.names) if names is None else names
    S = np.arange(n) if support is None else _positions(support, n)
    if S.size == 0:
        raise ValueError("the support is empty: no record may carry weight")
    At_S = problem.At_rec[S]
    base_name = "the design weights" if base is None else "the given base weights"
    # records of base weight 0 keep weight 0: every distance multiplies the base
    base_S = problem.d[S] if base is None else np.asarray(base, dtype=float)[S]
    base = np.zeros(n)
    base[S] = base_S

    def result(w_S, exact, it, unattainable=(), method="newton", converged=None):
        w = np.zeros(n)
        w[S] = w_S
        return CalibrationResult(weights=w, exact=bool(exact), residuals=At_S.T @ w_S - problem.b_t, base=base,
                                 distance=distance, bounds=bounds, n_iter=it, unattainable=list(unattainable),
                                 method=method, converged=bool(exact if converged is None else converged))

    w_S, converged, _, it = calibrate_weights(At_S, problem.b_t, base_S, distance, bounds, tol, max_iter)
    if converged:
        return result(w_S, True, it)
    free = (-np.inf, np.inf) if distance == "linear" else (0.0, np.inf)
    lo, hi = bounds if bounds is not None else free
    lower = np.where(base_S > 0, -np.inf, 0.0) if not np.isfinite(lo) else lo * base_S
    if on_infeasible == "least_squares":
        # the fallback was asked for: the bounded least squares says which targets it misses (no LP first)
        ls = bounded_least_squares(At_S, problem.b_t, lower, _scaled(hi, base_S), start=w_S)
        resid = At_S.T @ ls.w - problem.b_t
        if np.max(np.abs(resid)) <= EXACT_TOL:
            return result(ls.w, True, it, (), "least_squares", converged=ls.converged)
        missed = [names[i] for i in np.flatnonzero(np.abs(resid) > EXACT_TOL)]
        return result(ls.w, False, it, missed, "least_squares", converged=ls.converged)
    shortfall = shortfall_lp(At_S, problem.b_t, _scaled(lo, base_S), _scaled(hi, base_S))
    missed = [names[i] for i in np.flatnonzero(np.abs(shortfall) > EXACT_TOL)]
    if not missed:  # attainable, but Newton did not get there: report the best iterate as inexact
        return result(w_S, False, it)
    where = "all records" if S.size == n else f"the {S.size} records of the support"
    cause = ""
    if bounds is not None:  # are the bounds the cause? the same LP without them
        unbounded = shortfall_lp(At_S, problem.b_t, _scaled(free[0], base_S), _scaled(free[1], base_S))
        if not np.any(np.abs(unbounded) > EXACT_TOL):
            cause = (f" The bounds are the cause: without them these records meet every target; bounds={bounds} "
                     f"bound g = w / base (base: {base_name})"
                     f", and keeping {S.size} of {n} records needs g near {n / S.size:.3g} on average there.")
    detail = ", ".join(f"{nm} (short by {shortfall[names.index(nm)]:+.1%})" for nm in missed[:10])
    raise ValueError(
        f"the targets cannot be met exactly on {where} with distance={distance!r} and bounds={bounds}: the "
        f"closest attainable fit still misses {len(missed)} of {len(names)} targets: {detail}.{cause} Widen the "
        "bounds, keep more records (at least one per targeted category, and more records than independent "
        "targets), or pass on_infeasible='least_squares' for the bounded least-squares fit")


@dataclass
class RefitResult:
    """A refit of a support (:func:`refit_support`).

    Parameters
    ----------
    weights : ndarray, shape (n,)
        The refit weights, zero off the support.
    how : str
        ``"relaxed"`` or the calibration distance.
    converged : bool
        Whether the refit's solver met its own criterion (the relaxed problem's
        certificate; Newton's tolerance; the bounded least squares' certificate).
    exact : bool
        Every target met to ``EXACT_TOL``.
    n_iter : int
        Iterations of the refit.
    rel_gap, objective, kkt : float
        The relaxed problem's certificate, objective and KKT residual (NaN for a calibration).
    calibration : CalibrationResult or None
        The calibration's own result (distance refits).
    """

    weights: np.ndarray
    how: str
    converged: bool
    exact: bool
    n_iter: int
    rel_gap: float = float("nan")
    objective: float = float("nan")
    kkt: float = float("nan")
    calibration: CalibrationResult | None = None


def refit_support(problem, w, refit, bounds=None, on_infeasible="raise", base=None, tol=1e-8, max_iter=20000):
    """Refit the support of ``w`` (records with weight ``> 1e-9``) as ``refit`` says: the one refit of the kit.

    Parameters
    ----------
    problem : CalibrationProblem
        The prepared targets.
    w : ndarray, shape (n,)
        Weights whose support is refit (its values start the relaxed problem).
    refit : True or {"relaxed", "linear", "raking", "logit"}
        ``True``/``"relaxed"``: the relative loss without a penalty on the support; a
        distance: exact calibration of the support (:func:`calibrate_support`).
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / base`` of the refit weights.
    on_infeasible : {"raise", "least_squares"}, default "raise"
        A distance refit that cannot meet the targets within the bounds: a
        ``ValueError`` naming them, or the bounded least-squares fit.
    base : ndarray, shape (n,), optional
        The weights ``g`` is taken against (default ``problem.d``, the design weights).
    tol : float, default 1e-8
        The relaxed problem's relative duality gap.
    max_iter : int, default 20000
        The relaxed problem's FISTA iterations.

    Returns
    -------
    RefitResult
    """
    S = support(w)
    if not S.any():
        raise ValueError("the support is empty: no record has weight > 1e-9 to refit")
    if refit == "raking" and bounds is not None:
        raise ValueError(f"refit='raking' takes no bounds (bounds={tuple(bounds)}): pass refit='logit' (raking kept "
                         "within the bounds), refit='linear' (truncated at them) or refit='relaxed'")
    if refit is True or refit == "relaxed":
        if bounds is None:
            out, sol = relaxed_refit(problem.At_rec, problem.b_t, w, tol=tol, max_iter=max_iter)
        else:
            pos = np.flatnonzero(S)
            b0 = (problem.d if base is None else np.asarray(base, dtype=float))[pos]
            sol = bounded_least_squares(problem.At_rec[pos], problem.b_t, bounds[0] * b0, bounds[1] * b0,
                                        start=w[pos], tol=tol, max_iter=max_iter)
            out = np.zeros(problem.n_records)
            out[pos] = sol.w
        exact = float(np.max(np.abs(problem.At_rec.T @ out - problem.b_t))) <= EXACT_TOL
        return RefitResult(out, "relaxed", bool(sol.converged), bool(exact), int(sol.n_iter), float(sol.rel_gap),
                           float(sol.objective), float(sol.kkt))
    r = calibrate_support(problem, S, refit, bounds, on_infeasible, base=base)
    return RefitResult(r.weights, refit, r.converged, r.exact, r.n_iter, calibration=r)
