"""The warm-started NN-LASSO path, with any of the certified solvers (the relaxed refit is in :mod:`.refit`)."""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from ..problem.nnlasso import L1Solution, duality_gap, kkt_residual, lambda_max, lipschitz_constant
from ..problem.system import scaled_start
from .active_set import DENSE_CAP, DenseSystem, active_set
from .fista import fista
from .ipm import Gram, ipm
from .qr_active_set import qr_active_set

__all__ = ["nn_lasso_path", "choose_solver", "L1Engine", "IPM_MAX_TARGETS", "AUTO_IPM_UP_TO"]


IPM_MAX_TARGETS = 5000
"""Above this many targets the interior point's m x m matrix (8 m^2 bytes: 200 MB at 5,000, 7.2 GB at
30,000, factored every iteration) is out of reach: ``solver="ipm"`` is refused."""
AUTO_IPM_UP_TO = 1000
"""Above ``DENSE_CAP``, ``solver="auto"`` runs the interior point up to this many targets and FISTA above
(at 3,867 targets the m^3 Cholesky per iteration made a 20-point path take 122 s,
``benchmarks/bench_scale.py``)."""


def choose_solver(At_rec, solver, upper=None):
    """The solver to run: ``solver`` checked, or for ``"auto"`` the fastest certified one for the shape.

    ``"auto"``: FISTA with upper bounds (the only solver with a box); else the dense active set where
    its dense copy fits (``m n <= DENSE_CAP``: the fastest certified path at the published size,
    ``benchmarks/bench_l1_solvers.py``); above it the interior point up to ``AUTO_IPM_UP_TO`` targets
    and FISTA beyond (the QR active set certifies there too, but its dense ``m x p`` factor grows to
    ``8 m^2`` bytes on weak penalties: an explicit choice).

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A~'`` record-major.
    solver : {"auto", "fista", "ipm", "active-set"}
        The request.
    upper : ndarray, optional
        Upper bounds on the weights, if any.

    Returns
    -------
    str
        ``"fista"``, ``"ipm"`` or ``"active-set"``.
    """
    if solver not in ("auto", "fista", "ipm", "active-set"):
        raise ValueError(f"solver must be 'auto', 'fista', 'ipm' or 'active-set', got {solver!r}")
    n, m = At_rec.shape
    if solver == "auto":
        if upper is not None:
            return "fista"
        if n * m <= DENSE_CAP:
            return "active-set"
        return "ipm" if m <= AUTO_IPM_UP_TO else "fista"
    if solver == "ipm" and m > IPM_MAX_TARGETS:
        raise ValueError(f"solver='ipm' factors an m x m matrix every iteration; with m = {m:,} targets that is "
                         f"{8 * m * m / 1e9:.1f} GB (the limit is IPM_MAX_TARGETS = {IPM_MAX_TARGETS:,}): use "
                         "solver='fista' (memory proportional to nnz(A)) or solver='auto'")
    return solver


class L1Engine:
    """One certified NN-LASSO solver with its per-path state (the Lipschitz constant, the interior point's
    Gram, the active set's dense copy or QR factors), solving one penalty at a time.

    ``solver="active-set"`` runs :func:`reweightkit.solvers.active_set.active_set` on a dense copy of
    ``A~`` up to ``DENSE_CAP`` (``m n``) and :func:`reweightkit.solvers.qr_active_set.qr_active_set`
    (updated QR factors of the support only) above; warm-started, the latter continues from the
    support and factors of the engine's previous solve.  Where an active set's certificate stays
    open (rounding), FISTA finishes from its best point.

    Parameters
    ----------
    At_rec : csr_matrix, shape (n, m)
        ``A~'`` record-major.
    b_t : ndarray, shape (m,)
        ``b~``.
    solver : {"fista", "ipm", "active-set"}
        Already checked (:func:`choose_solver`).
    tol, max_iter, upper, warn
        As :func:`nn_lasso_path`.
    w0 : ndarray, shape (n,), optional
        The cold start: the interior point's hint where the previous solution is zero.
    """

    def __init__(self, At_rec, b_t, solver, *, tol=1e-8, max_iter=20000, upper=None, warn=True, w0=None):
        self.At, self.b, self.solver, self.w0 = At_rec, b_t, solver, w0
        self.tol, self.max_iter, self.upper, self.warn = tol, max_iter, upper, warn
        self.L = lipschitz_constant(At_rec) if solver == "fista" else np.nan
        self.gram = None
        n, m = At_rec.shape
        self.dense = DenseSystem(At_rec) if solver == "active-set" and n * m <= DENSE_CAP else None
        self.support = None  # the QR active set's support, kept between warm-started solves

    def solve(self, lam, init, prev=None) -> L1Solution:
        """The certified solution at ``lam``.

        Parameters
        ----------
        lam : float
            Penalty (below ``lambda_max``).
        init : ndarray, shape (n,)
            FISTA's start (the interior point's where ``prev`` is None).
        prev : ndarray, shape (n,), optional
            The previous penalty's solution (a warm start): the interior point's hint, the dense active
            set's first support; for the QR active set, continue from its own last support.  None: cold.

        Returns
        -------
        L1Solution
            With ``seconds`` filled.
        """
        At, b, tol, max_iter, warn = self.At, self.b, self.tol, self.max_iter, self.warn
        t0 = time.perf_counter()
        if self.solver == "ipm":
            self.gram = Gram(At) if self.gram is None else self.gram  # built once for the whole path
            cold = init if self.w0 is None else self.w0
            hint = prev if (prev is not None and np.any(prev > 0)) else cold
            sol = ipm(At, b, lam, hint, tol=tol, max_iter=min(max_iter, 500), warn=warn, gram=self.gram)
        elif self.solver == "active-set":
            if self.dense is not None:
                sol = active_set(At, b, lam, prev, tol=tol, system=self.dense)
            else:
                sol, self.support = qr_active_set(At, b, lam, tol=tol,
                                                  support=self.support if prev is not None else None)
            if not sol.converged:  # rounding kept the certificate open: FISTA finishes from the best point
                self.L = lipschitz_constant(At) if np.isnan(self.L) else self.L
                done = fista(At, b, lam, sol.w, L=self.L, tol=tol, max_iter=max_iter, warn=warn)
                done.n_iter += sol.n_iter
                sol = done
        else:
            sol = fista(At, b, lam, init, L=self.L, tol=tol, max_iter=max_iter, warn=warn, upper=self.upper)
        sol.seconds = time.perf_counter() - t0
        return sol


def nn_lasso_path(At_rec, b_t, lambdas=None, n_lambdas=20, eps=1e-3, w0=None, tol=1e-8,
                  max_iter=20000, warm_start=True, shift=0.0, warn=True, solver="auto", upper=None,
                  warm=None, verbose=False) -> dict:
    """Certified solutions along a grid of ``lam``, strong to weak, warm-started.

    Parameters
    ----------
    At_rec : csr_matrix, shape (n, m)
        ``A_tilde`` transposed (see module docstring).
    b_t : ndarray, shape (m,)
        ``b_tilde = sign(b)``.
    lambdas : array-like, optional
        The grid; default ``lambda_max * geomspace(1, eps, n_lambdas)``.
    n_lambdas : int, default 20
        Grid size when ``lambdas`` is omitted.
    eps : float, default 1e-3
        Smallest ``lam / lambda_max`` of the default grid.
    w0 : ndarray, shape (n,), optional
        Cold starting point (default: :func:`reweightkit.problem.system.scaled_start` of ones).
    tol : float, default 1e-8
        Relative duality gap at which each fit stops.
    max_iter : int, default 20000
        Iterations per lambda (the interior point uses at most ``min(max_iter, 500)``).
    warm_start : bool
        Start each ``lam`` from the previous solution plus ``shift * w0``
        (``shift > 0`` adds a small dense component, which can help when a
        sparse warm start sits on a badly conditioned face of a degenerate
        optimal set).
        Fits at ``lam >= lambda_max`` return exact zeros without iterating.
    shift : float, default 0.0
        See ``warm_start``.
    warn : bool, default True
        Warn (:class:`~reweightkit.exceptions.ConvergenceWarning`) when a fit is not certified.
    upper : ndarray, shape (n,), optional
        Upper bounds on ``w`` (FISTA only): the box ``0 <= w <= upper``, certified by its dual.
    solver : {"auto", "fista", "ipm", "active-set"}, default "auto"
        ``"auto"`` (:func:`choose_solver`): ``"fista"`` with ``upper``, the active set where ``m n``
        is at most ``DENSE_CAP``, above it ``"ipm"`` up to ``AUTO_IPM_UP_TO`` (1,000) targets and
        ``"fista"`` beyond (``"ipm"`` is refused above ``IPM_MAX_TARGETS``, 5,000).
        ``"fista"``, the interior-point method of
        :mod:`reweightkit.solvers.ipm` (m x m Newton systems; with ``warm_start`` each lambda
        starts from the previous solution pushed back into the interior, which
        measured about 35 % fewer iterations on the published path), or the active-set
        method (Lawson-Hanson: sparse basic solutions, at most ``rank(A~)`` records; each
        lambda starts from the previous support; FISTA finishes any lambda whose certificate
        it cannot close): :mod:`reweightkit.solvers.active_set` on a dense copy of ``A~`` up to
        ``DENSE_CAP`` (``m n``), :mod:`reweightkit.solvers.qr_active_set` (updated QR factors
        of the support only) above.  All stop on the same certificate.
    verbose : bool, default False
        A progress bar over the grid (tqdm).

    Returns
    -------
    dict
        ``lambda_max``, ``L`` and ``solutions`` (list of :class:`L1Solution`, in grid order).
    """
    solver = choose_solver(At_rec, solver, upper)
    if upper is not None and solver != "fista":
        raise ValueError("upper bounds on the weights (bounds=) are supported by solver='fista' only")
    n = At_rec.shape[0]
    lam_max = lambda_max(At_rec, b_t)
    if lambdas is None:
        if n_lambdas < 1:
            raise ValueError(f"n_lambdas must be >= 1, got {n_lambdas}")
        lambdas = lam_max * np.geomspace(1.0, eps, n_lambdas)
    lambdas = np.asarray(lambdas, dtype=float)
    if lambdas.size == 0:
        raise ValueError("the lambda grid is empty")
    if np.any(~np.isfinite(lambdas)) or np.any(lambdas < 0):
        raise ValueError(f"every lambda must be finite and >= 0, got {lambdas.tolist()}")
    if w0 is None:
        w0 = scaled_start(At_rec, b_t)
    engine = L1Engine(At_rec, b_t, solver, tol=tol, max_iter=max_iter, upper=upper, warn=warn, w0=w0)
    sols, prev = [], (warm if warm_start else None)
    for lam in tqdm(lambdas, desc=f"L1 path ({solver})", disable=not verbose):
        if lam >= lam_max:
            z = np.zeros(n)
            gap, rel = duality_gap(At_rec, b_t, z, lam, upper)
            sols.append(L1Solution(lam=float(lam), w=z, objective=0.5 * float(b_t @ b_t), dual_gap=gap,
                                   rel_gap=rel, n_iter=0, converged=True))
            continue
        warm = warm_start and prev is not None
        sol = engine.solve(lam, prev + shift * w0 if warm else w0, prev if warm else None)
        sols.append(sol)
        prev = sol.w
    for s in sols:
        s.kkt = kkt_residual(At_rec, b_t, s.w, s.lam, lam_max, upper)
    return {"lambda_max": lam_max, "L": engine.L, "solutions": sols}
