"""SparseCalibrator: the L1 (non-negative LASSO) arm of the comparison."""

from __future__ import annotations

import copy
import time
import warnings
from numbers import Integral, Real

import numpy as np

from .._validation import Interval, Options, check_grid
from ..exceptions import LambdaMaxWarning
from ..problem.frame import as_problem
from ..problem.nnlasso import duality_gap, kkt_residual, lambda_max, objective
from ..problem.scoring import n_active
from ..solvers.budget import check_budget, l1_for_budget
from ..solvers.optimal_set import held_out_ranges, vertex_solution
from ..solvers.path import choose_solver, nn_lasso_path
from .base import REFIT_CONSTRAINTS, BaseCalibrator

__all__ = ["SparseCalibrator"]


class SparseCalibrator(BaseCalibrator):
    r"""Sparse calibration by the non-negative LASSO on the relative loss.

    .. math::

        \min_{w \ge 0} \tfrac12 \sum_i \Big(\frac{A_i w - b_i}{|b_i|}\Big)^2 + \lambda \sum_j w_j

    solved by an active set (Lawson & Hanson 1974; the default where ``A~`` fits densely), FISTA
    (Beck & Teboulle 2009) with backtracking and adaptive restart (O'Donoghue & Candes 2015), or a
    primal-dual interior-point method with m x m Newton systems (``solver="ipm"``), all stopped on
    the same certified relative duality gap.

    Parameters
    ----------
    sparsity_weight : float >= 0, optional
        The absolute penalty ``lambda`` of the formula.  ``0.0`` is plain
        non-negative least squares.
    alpha : float in (0, 1], optional
        Scale-free penalty: ``lambda = alpha * lambda_max``, where
        ``lambda_max = max(0, max_j (A~' b~)_j)`` is the smallest penalty whose
        solution is all zeros.  Give exactly one of ``sparsity_weight``,
        ``alpha`` and ``n_records``.  Since ``(A~' b~)_j = sum_i a_ij / b_i``, ``lambda_max`` is set
        by the **smallest** targets: on complete margins the optimum shrinks each
        count to ``(1 - lambda b_i) b_i``, a shortfall of about ``alpha b_i / b_min``,
        so ``alpha = 0.05`` with one target 20 times smaller than the others zeroes
        them (a :class:`~reweightkit.TargetMissWarning` says so).
    n_records : int, optional
        A record budget instead of a penalty: the penalty is found by bisection along
        the warm path so that the fit keeps ``n_records`` records within
        ``max(2 %, 5)`` (:func:`reweightkit.solvers.budget.l1_for_budget`), or a
        ``ValueError`` names the nearest counts that are reachable (an L1 count often
        jumps).  The count is the solver's point's, before any refit: ``solver="fista"``'s
        point, or ``"active-set"``'s basic solution (at most ``rank(A~) <= m`` records,
        certified at every penalty, where FISTA may not certify the weak ones at national
        scale).  ``"auto"`` picks the active set for ``n_records <= m`` and FISTA above (and
        with ``bounds``); ``"ipm"`` is refused (its analytic centre keeps every record some
        optimal point uses).
    refit : bool or {"relaxed", "linear", "raking", "logit"}, default False
        Select, then calibrate.  ``True`` or ``"relaxed"``: relaxed L1, after the support
        ``{j : w_j > 0}`` is found, re-solve ``min_{v >= 0} 1/2 ||A~_S v - b~||^2`` on
        it without the penalty, removing the shrinkage of the total that plain L1
        causes.  A distance: calibrate the support exactly
        (:func:`reweightkit.calibrate`), or fail naming the targets it cannot meet.
    penalty_on : {"w", "g"}, default "w"
        ``"w"`` solves the formula above (``lambda sum_j w_j``: every unit of weight
        costs the same).  ``"g"`` is the design-aware form, ``lambda sum_j w_j / w0_j``
        (a penalty on ``g = w / w0``, so a record is charged relative to its design
        weight): the same problem in ``v = g`` with the columns of ``A~`` scaled by
        ``w0`` (``lambda_``, ``lambda_max_``, the certificate and ``objective_`` are those
        of that problem).  Records with ``w0 = 0`` then keep weight 0.
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / d``, ``d`` the design weights (as R's ``survey::calibrate``;
        ``base_weights_`` holds ``d``).  The L1 problem takes the cap: it is solved on
        the box ``0 <= w <= hi d`` (``solver="fista"`` only; FISTA's prox becomes a
        clip and the certificate uses the box's dual).  A lower bound ``lo > 0`` cannot
        apply to L1's zeros: it needs a refit, which honours both bounds.
    on_infeasible : {"raise", "least_squares"}, default "raise"
        When a distance refit cannot meet the targets on the support within the
        bounds: a ``ValueError`` naming them, or the bounded least-squares fit.
    tol : float, default 1e-8
        Target relative duality gap (see :mod:`reweightkit.problem.nnlasso`).
    max_iter : int, default 20000
        FISTA iterations (the interior-point method uses at most ``min(max_iter, 500)``).
    solver : {"auto", "fista", "ipm", "active-set"}, default "auto"
        ``"auto"`` (the default since 0.3; it was ``"fista"``): the fastest certified solver for
        the problem's shape (:func:`reweightkit.solvers.choose_solver`): the active set where
        its dense copy fits (``m n`` up to 5M: every problem of the notebooks and the published
        benchmark), above it the interior point up to 1,000 targets and FISTA beyond; FISTA with
        ``bounds``; with ``n_records``, see there.  Pass ``solver="fista"`` for the point 0.2
        returned (see below: the same objective, another point of the optimal set).
        ``"fista"``: first order, cost per iteration two passes over the matrix.
        ``"ipm"``: Mehrotra predictor-corrector (:mod:`reweightkit.solvers.ipm`), a few tens
        of iterations each costing one pass plus an m x m Cholesky; fast when
        m (targets) is small against n (records) and robust in the degenerate
        regime where FISTA needs thousands of iterations (refused above 5,000 targets: the
        m x m matrix).  It returns the
        *analytic centre* of the optimal set (every record some optimal solution
        uses keeps a positive weight); combine with ``solution="vertex"`` for the
        sparsest optimal solution.  ``"active-set"``: Lawson-Hanson on a working set of
        records (:mod:`reweightkit.solvers.active_set` on a dense copy for ``m n`` up to 5M,
        :mod:`reweightkit.solvers.qr_active_set`'s updated QR factors of the support above):
        exact basic solutions (at most ``rank + 1`` records in the degenerate
        regime, like coordinate descent's), the fastest certified path at the published
        size (``benchmarks/bench_l1_solvers.py``).  All three stop on the same certificate.

        **Which optimal point each returns** (the optimum is often a set, see Notes; all have
        the same fitted targets and objective): ``"fista"`` the point its iterations reach from
        their start (the design weights, or the previous fit with ``warm_start``): on complete
        margins it keeps nearly every record; ``"ipm"`` the analytic centre, the point of the set
        with the most records; ``"active-set"`` a basic solution, at most ``rank + 1`` records;
        ``solution="vertex"`` moves any of them to a basic solution of the set.  So ``n_active_``
        and the held-out error are properties of the solver as much as of the penalty
        (:func:`reweightkit.solvers.held_out_ranges` gives their range over the set).
    warm_start : bool, default False
        Start from the previous ``weights_`` when refitting on data of the same size (FISTA's start,
        the interior point's hint, the dense active set's first support; more than ``m + 1``
        records, another solver's point, start the active set cold).
    solution : {"solver", "vertex"}, default "solver"
        Which optimal solution to return.  The optimum is often not unique
        (see Notes); ``"solver"`` returns the solver's point, ``"vertex"`` moves to
        a basic optimal solution of the optimal set (one HiGHS LP, see
        :func:`reweightkit.vertex_solution`): the same fitted
        values and objective, at most ``m + 1`` non-zeros.  With
        ``refit=True`` the refit runs on the vertex's support.
    verbose : bool, default False
        Progress bars (the budget search's path and bisection).

    Attributes
    ----------
    weights_ : ndarray, shape (n_records,), float64, all >= 0
        The calibrated weights.
    lambda_, lambda_max_ : float
        The penalty used and the smallest penalty whose solution is zero.
    n_iter_ : int
        Solver iterations (plus the refit's).
    dual_gap_ : float
        Relative duality gap of the returned weights (of the refit problem
        when ``refit=True``); ``<= tol`` when ``converged_``.
    kkt_residual_ : float
        Largest KKT violation, relative (a diagnostic, not the stop rule).
    converged_ : bool
        Whether the certificate (or the refit's) met ``tol``.
    seconds_ : float
        Solver time of this fit (its point of the path, plus the refit).
    objective_ : float
        Objective of the problem solved last (the L1 objective, or the
        refit least-squares objective when ``refit=True``).
    l1_objective_ : float
        The L1 objective ``P(w)`` of the plain L1 solution.
    n_active_ : int
        Active records (weight > 1e-9, see :func:`reweightkit.n_active`).
    n_selected_ : int
        Records the L1 fit kept, before the refit (a refit's least-squares fallback can zero some).
    target_names_ : list of str
        Target names, in the system's order.

    Notes
    -----
    On complete categorical margins plain L1's penalty does not choose records: since ``w >= 0``
    it charges for total weight, so it shrinks every count target (by about
    ``alpha b_i / b_min``), and which records carry the weight is left to the solver (below):
    the active set keeps a basic solution (at most ``m + 1`` records), FISTA nearly every
    record.  For a file of about ``k``
    records use ``n_records=k`` with ``refit="raking"``, and compare with the other
    selectors at matched budgets (``rk.run_comparison(..., budgets=[k])``).

    The solution of this problem is often **not unique**: when the targets
    pin the total (a complete categorical margin does), the objective
    depends on ``w`` only through the fitted targets and ``sum(w)``, so every
    ``w >= 0`` with the same fitted values is optimal.  Each solver returns one of
    them (``solver``); the number of records it uses is a property of the solver.
    """

    def __init__(self, sparsity_weight=None, *, alpha=None, n_records=None, refit=False, penalty_on="w", bounds=None,
                 on_infeasible="raise", tol=1e-8, max_iter=20000, warm_start=False, solution="solver", solver="auto",
                 verbose=False):
        self.sparsity_weight = sparsity_weight
        self.alpha = alpha
        self.n_records = n_records
        self.refit = refit
        self.penalty_on = penalty_on
        self.bounds = bounds
        self.on_infeasible = on_infeasible
        self.tol = tol
        self.max_iter = max_iter
        self.warm_start = warm_start
        self.solution = solution
        self.solver = solver
        self.verbose = verbose

    _parameter_constraints = {
        "sparsity_weight": [None, Interval(Real, 0, None, closed="left")],
        "alpha": [None, Interval(Real, 0, 1, closed="right")],
        "n_records": [None, Interval(Integral, 1, None)],
        "penalty_on": [Options({"w", "g"})],
        **REFIT_CONSTRAINTS,
        "tol": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None)],
        "warm_start": ["boolean"],
        "solution": [Options({"solver", "vertex"})],
        "solver": [Options({"fista", "ipm", "active-set", "auto"})],
        "verbose": ["boolean"],
    }

    _miss_advice = ("alpha is a fraction of lambda_max, which the smallest target sets: plain L1 shrinks target i "
                    "by about alpha * b_i / b_min, so a small target makes a given alpha zero the large ones. "
                    "Lower alpha, or refit=True.")

    def _warn_on_miss(self) -> bool:
        return self.lambda_ < self.lambda_max_  # at or above lambda_max, LambdaMaxWarning has said it

    def _penalty(self, lam_max: float) -> float:
        given = [p for p in ("sparsity_weight", "alpha", "n_records") if getattr(self, p) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of sparsity_weight (absolute lambda), alpha (fraction of lambda_max) and n_records "
                f"(a record budget), got sparsity_weight={self.sparsity_weight!r}, alpha={self.alpha!r}, "
                f"n_records={self.n_records!r}"
            )
        if self.n_records is not None:
            return float("nan")  # found by bisection
        return float(self.alpha) * lam_max if self.alpha is not None else float(self.sparsity_weight)

    def _setup(self, problem):
        """The problem the solver sees: ``(At, bt, unit, start, upper)`` (``w = unit * v``)."""
        upper = None
        if self.bounds is not None:
            if self.bounds[0] > 0 and self.refit is False:
                raise ValueError(f"bounds={self.bounds}: a lower bound > 0 cannot hold for L1's zero weights; it applies "
                                 "to a refit of the selected records (refit='relaxed', 'linear', 'raking' or 'logit'), "
                                 "or use bounds=(0, hi) to cap the weights")
            if self.solver not in ("fista", "auto"):
                raise ValueError(f"bounds need solver='fista' (solver={self.solver!r} has no box constraint)")
            upper = self.bounds[1] * problem.d  # g = w / d <= hi: the cap on the design weights, as R's bounds
        # penalty on g = w / w0: solve for v = g with the columns of A~ scaled by w0, then w = w0 v
        if self.penalty_on == "g":
            unit = problem.w0
            At = problem.At_rec.multiply(unit[:, None]).tocsr()
            start = (problem.w0 > 0).astype(float)
            if upper is not None:  # the same cap in v = w / w0
                upper = np.divide(upper, unit, out=np.zeros_like(upper), where=unit > 0)
        else:
            unit, At, start = np.ones(problem.n_records), problem.At_rec, problem.w0
        return At, problem.b_t, unit, start, upper

    def _fit_problem(self, problem, previous_weights):
        At, bt, unit, start, upper = self._setup(problem)
        lam_max = lambda_max(At, bt)
        lam = self._penalty(lam_max)
        if self.n_records is not None:
            check_budget(self.n_records, problem.n_records)
            if self.solution == "vertex":
                raise ValueError("n_records counts the solver's point; a vertex solution keeps at most m + 1 records")
            # the budget keeps its word: the certified point the search found is the fit (the optimum is often
            # not unique, so a second solve at its penalty could keep another number of records)
            sol = l1_for_budget(At, bt, start, int(self.n_records), self.tol, self.max_iter, upper, verbose=self.verbose,
                                solver=self.solver)
            self._complete(problem, At, bt, unit, upper, sol, lam_max)
            return
        if lam >= lam_max:
            warnings.warn(
                f"lambda={lam:.6g} >= lambda_max={lam_max:.6g}: every weight is zero. "
                "Use alpha in (0, 1) (lambda = alpha * lambda_max) for a scale-free penalty.",
                LambdaMaxWarning,
                stacklevel=4,
            )
        solver, warm = choose_solver(At, self.solver, upper), None
        if self.warm_start and previous_weights is not None and previous_weights.shape == problem.w0.shape:
            warm = np.divide(previous_weights, unit, out=np.zeros_like(unit), where=unit > 0)
            if solver == "active-set" and n_active(warm) > At.shape[1] + 1:
                warm = None  # not a basic solution (another solver's point): the active set starts cold
        sol = nn_lasso_path(At, bt, lambdas=[lam], w0=start, warm=warm, tol=self.tol, max_iter=self.max_iter,
                            solver=solver, upper=upper)["solutions"][0]
        self._complete(problem, At, bt, unit, upper, sol, lam_max)

    def _complete(self, problem, At, bt, unit, upper, sol, lam_max):
        """From the solver's certified point to the returned weights: vertex, refit, attributes."""
        lam = sol.lam
        self.lambda_, self.lambda_max_ = lam, lam_max
        self.l1_objective_ = sol.objective
        w, n_iter, gap, conv, obj = sol.w, sol.n_iter, sol.rel_gap, sol.converged, sol.objective
        self.kkt_residual_ = sol.kkt
        if self.solution == "vertex" and np.any(w > 0):
            w = vertex_solution(At, w, upper)
            obj = objective(At, bt, w, lam)
            gap = duality_gap(At, bt, w, lam, upper)[1]
            self.kkt_residual_ = kkt_residual(At, bt, w, lam, lam_max, upper)
        t0 = time.perf_counter()
        self.n_selected_ = n_active(w)  # the L1 support, before any refit
        w, r = self._refit(problem, w * unit)
        self.seconds_ = sol.seconds + (time.perf_counter() - t0 if r is not None else 0.0)
        if r is not None:
            n_iter += r.n_iter
            conv = conv and r.converged
            gap, obj, self.kkt_residual_ = r.rel_gap, r.objective, r.kkt  # NaN for a calibration: no L1 certificate
        self.weights_ = np.ascontiguousarray(w, dtype=np.float64)
        self.n_iter_, self.dual_gap_, self.converged_, self.objective_ = n_iter, gap, bool(conv), obj

    def path(self, data, marginal_targets=None, continuous_targets=None, weight_col="weight", *, alphas=None,
             lambdas=None, verbose=False):
        """Fits along a grid of penalties, solved as one warm-started certified path: one fitted estimator each.

        The estimator's own parameters (``refit``, ``bounds``, ``penalty_on``, ``tol``,
        ``solver``, ...) apply to every fit; its penalty (``alpha``, ``sparsity_weight``,
        ``n_records``) is replaced by each grid point's.  The path is solved strong to weak,
        each fit warm-started from the previous one (as scikit-learn's ``enet_path``).

        Parameters
        ----------
        data : DataFrame or CalibrationProblem
            Microdata (with the targets below) or a prepared problem.
        marginal_targets, continuous_targets : dict, optional
            Targets (DataFrame input).
        weight_col : str or None, default "weight"
            Design weights (DataFrame input).
        alphas : array-like, optional
            Fractions of ``lambda_max``.  Give exactly one of ``alphas`` and ``lambdas``.
        lambdas : array-like, optional
            Absolute penalties.
        verbose : bool, default False
            A progress bar over the path.

        Returns
        -------
        list of SparseCalibrator
            Fitted copies, in the order of the grid given (each with ``alpha`` or
            ``sparsity_weight`` set to its grid value).  A path's strong penalties miss their
            targets by design: no fit warns (each has ``train_errors_``); a point the solver did
            not certify warns once (``ConvergenceWarning``, from the path).
        """
        if (alphas is None) == (lambdas is None):
            raise ValueError("give exactly one of alphas and lambdas")
        grid = check_grid("alpha" if lambdas is None else "lambda", alphas if lambdas is None else lambdas)
        if lambdas is None and np.any((grid <= 0) | (grid > 1)):
            raise ValueError(f"alphas must be in (0, 1], got {grid.tolist()}")
        self._validate_params()
        problem = as_problem(data, marginal_targets, continuous_targets, weight_col)
        At, bt, unit, start, upper = self._setup(problem)
        lam_max = lambda_max(At, bt)
        lams = lam_max * grid if lambdas is None else grid
        order = np.argsort(-lams, kind="stable")
        sols = nn_lasso_path(At, bt, lambdas=lams[order], w0=start, tol=self.tol, max_iter=self.max_iter,
                             solver=self.solver, upper=upper, verbose=verbose)["solutions"]
        fits = [None] * grid.size
        for pos, sol in zip(order, sols):
            est = copy.deepcopy(self)
            est._reset()
            est.set_params(alpha=float(grid[pos]) if lambdas is None else None, n_records=None,
                           sparsity_weight=float(grid[pos]) if lambdas is not None else None)
            est._complete(problem, At, bt, unit, upper, sol, lam_max)
            est._finish(problem, warn=False)
            fits[pos] = est
        return fits

    def held_out_range(self, problem, test):
        """The range of held-out error over the whole L1 optimal set of this fit, and its vertex solution.

        The L1 optimum is often not unique, so the solver's own point is one of many
        (:mod:`reweightkit.solvers.optimal_set`).  Only for a plain fit (no refit, no bounds,
        ``penalty_on="w"``).

        Parameters
        ----------
        problem : CalibrationProblem
            The prepared problem this estimator was fitted on.
        test : CalibrationSystem
            Held-out targets on the same records.

        Returns
        -------
        ranges : dict
            ``min_error`` and ``max_error``: the smallest and largest mean relative held-out
            error over the optimal set.
        vertex : ndarray, shape (n,)
            A basic optimal solution (at most ``m + 1`` records).
        """
        if not hasattr(self, "weights_"):
            raise AttributeError("SparseCalibrator is not fitted: call fit first")
        if self.refit is not False or self.bounds is not None or self.penalty_on != "w":
            raise ValueError("held_out_range describes the optimal set of a plain L1 fit (refit=False, bounds=None, "
                             "penalty_on='w')")
        if problem.n_records != self.weights_.size:
            raise ValueError(f"problem has {problem.n_records} records but the fit has {self.weights_.size}")
        At = problem.At_rec
        _, ranges = held_out_ranges(At, test, self.weights_)
        return ranges, vertex_solution(At, self.weights_)
