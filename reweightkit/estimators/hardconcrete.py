"""HardConcreteCalibrator: the L0 arm of the comparison."""

from __future__ import annotations

import copy
import time
import warnings
from numbers import Integral, Real

import numpy as np

from .._validation import MAX_SEED, Interval, Options, Prices, check_grid, check_seeds, validate_params
from ..exceptions import BudgetWarning, ConvergenceWarning, TargetMissWarning
from ..problem.frame import as_problem
from ..problem.system import unreachable_targets
from ..solvers.budget import PER_ROUND, check_budget, hard_concrete_for_budget, hard_concrete_for_budgets
from ..solvers.hardconcrete import (
    SETTLE_WINDOW,
    check_device,
    settled,
    train_hard_concrete,
    train_with_l0_python,
    training_threads,
)
from ..solvers.hc_common import require_torch
from .base import REFIT_CONSTRAINTS, BaseCalibrator

__all__ = ["HardConcreteCalibrator"]


class HardConcreteCalibrator(BaseCalibrator):
    r"""Sparse calibration with Hard Concrete (L0) gates, through l0-python's model.

    Minimises, by Adam on sampled gates,

    .. math::

        \tfrac12 \|\tilde A (e^{v} \odot g) - \tilde b\|^2 + \lambda_{L0}\, \mathbb E\|g\|_0
        + \lambda_{L2} \sum_j e^{2 v_j}

    The data term is exactly SparseCalibrator's: ``l0.calibration.
    SparseCalibrationWeights`` with ``loss_type="mse"`` (a plain sum of
    squares) on the row-scaled system ``(A~/sqrt 2, b~/sqrt 2)``, which equals
    ``1/2 sum_i ((A_i w - b_i)/b_i)^2``.  (l0-python's ``"relative"`` loss,
    ``((y - yhat)/(y + 1))^2``, is not used: on ``b~ = 1`` it is a quarter of
    the squared relative error, and it divides by zero at ``b~ = -1``.)
    Targets must be positive (as everywhere in reweightkit), so the
    negative-target case cannot arise.

    Parameters
    ----------
    lambda_l0 : float, optional
        Penalty on the expected number of open gates (1e-5 when neither it nor
        ``n_records`` is given).
    n_records : int, optional
        A record budget instead of a penalty: ``lambda_l0`` is found by rounds of
        batched bisection (:func:`reweightkit.solvers.budget.hard_concrete_for_budget`,
        8 penalties trained together per round, same seed) so that the gates keep
        ``n_records`` records within ``max(2 %, 5)``; ``lambda_l0_`` holds it.  Give at
        most one of ``lambda_l0`` and ``n_records``.
    epochs : int, default 2000
        Adam steps (one gate sample each).
    lr : float, default 0.1
        Adam learning rate.
    init_keep_prob : float in (0, 1), default 0.99
        Initial probability that a gate is open.
    lambda_l2 : float, default 0.0
        Penalty on the squared weights (l0-python's: a pull toward 0), or with
        ``l2_toward="design"`` on the squared relative distance to the design weights.
    l2_toward : {"zero", "design"}, default "zero"
        ``"zero"``: ``lambda_l2 sum_j w_j^2`` (l0-python).  ``"design"``: the design-aware
        form ``lambda_l2 sum_j ((w_j - w0_j) / w0_j)^2`` on the weights before gating
        (engines ``"fast"`` and ``"autograd"``).
    seed : int or None, default None
        Seeds every random draw (initial ``log_alpha`` jitter and gate
        noise) without touching torch's global generator.  ``None`` draws
        from torch's global generator as l0-python does, so a
        ``torch.manual_seed(...)`` before ``fit`` still makes runs repeatable.
    device : str, default "cpu"
        Torch device.
    verbose : bool, default False
        Show a tqdm progress bar with the current loss and active count.
    engine : {"fast", "autograd", "l0"}, default "fast"
        ``"l0"`` trains through l0-python itself; ``"autograd"`` runs l0-python's
        operations in reweightkit's batched engine, which reproduces l0-python's
        weights bitwise for the same seed on CPU (tested; the reference mode);
        ``"fast"`` has the same mathematics with the gradient written out by hand
        (:func:`reweightkit.train_hard_concrete`), agrees with l0-python statistically
        (tested) and measured 8x faster than l0-python for one 2,000-epoch fit on the
        published example (``benchmarks/bench_hardconcrete.py``).  With a seed, ``"fast"``
        draws its gate noise on CPU from numpy's PCG64 seeded with it, not from torch.
    history_every : int, default 50
        Epochs between two rows of ``history_``.
    refit : bool or {"relaxed", "linear", "raking", "logit"}, default False
        Select, then calibrate: keep the records whose gate is open and refit them
        (``"relaxed"``/``True``: the same relative loss without the penalty; a
        distance: exact calibration, :func:`reweightkit.calibrate`).  The field's best
        sparse weights come from this step (PolicyEngine's L0 paper).
    bounds : tuple (lo, hi), optional
        Bounds on ``g = w / d``, ``d`` the design weights (``base_weights_``).  During
        training the weights before gating are clamped into ``[lo d, hi d]`` after every
        step (not with engine ``"l0"``; this changes l0-python's dynamics); a gate is at
        most 1, so the returned weights keep the cap.  A partly open gate scales a weight
        down, so a lower bound ``lo > 0`` needs a refit, which honours both bounds
        (otherwise a ``ValueError`` says so).  The bounds are checked on the returned
        weights (to float32 precision, ``1e-6`` relative).
    on_infeasible : {"raise", "least_squares"}, default "raise"
        When a distance refit cannot meet the targets within the bounds.
    settle_tol : float, default 0.1
        Convergence diagnostic (:func:`reweightkit.solvers.hardconcrete.settled`):
        the fit has settled when the expected number of open gates changed by at
        most this fraction over the last 20 % of the epochs; otherwise
        ``converged_`` is False and a ``ConvergenceWarning`` gives the numbers.
        (On the published example, 2,000 epochs settle to 1-8 % for lambda_l0 up to
        1e-3; the sparsest fits are still closing gates.)
    gate_cost : {"uniform", "design"} or array-like of shape (n_records,), default "uniform"
        The price of each record's gate in the L0 term, ``lambda_l0 sum_j c_j P(g_j != 0)``.
        ``"uniform"``: ``c_j = 1``, l0-python's model (every open gate costs the same).
        ``"design"``: ``c_j = d_j / mean(d)``, a record's design weight relative to the mean.
        Why: the data term's pull to keep a record grows with its weight (it starts at
        ``d_j`` times a constant), so with one price the gates keep large-weight records and
        drop the small-weight ones an over-sampling design drew (``keep_tilt``, see
        :func:`reweightkit.problem.selection_tilt`); pricing a gate by the weight it carries
        prices that pull.  It reads the design weights only, never a target.  Measured on
        ``rk.nation(0.1)`` and ``rk.nation(1.0)`` (``benchmarks/results/``): it removes the lean,
        and at small budgets turns it around (the raw gates' ``keep_tilt`` 0.14-1.01 at 1-25 %
        of the records, against 1.9-4.2 with one price).  An array: your own prices (finite,
        ``>= 0``).  Engines ``"fast"`` and
        ``"autograd"``; ``lambda_l0`` then prices a record of mean design weight.
    n_threads : int, optional
        Torch and BLAS threads while training (engines ``"fast"`` and ``"autograd"``).
        Default: :func:`reweightkit.default_threads` (the CPUs this process may use after
        the cgroup quota and affinity mask, less those other processes are busy on; one
        thread for small problems; ``OMP_NUM_THREADS`` and :func:`reweightkit.set_threads`
        are respected), resolved once per fit.  With the fast engine on CPU and ``A~`` kept
        dense (``m n <= 4,000,000``: the notebooks' and the small benchmarks' problems) the
        weights are the same on any count.  Elsewhere **the weights can depend on it**: same
        data, seed and thread count give the same weights, another count can open or close a
        gate near its threshold (torch's kernels round differently when they split their work
        differently; :mod:`reweightkit.solvers.hardconcrete`).  ``n_threads_`` records the
        count a fit used: pass it to reproduce the fit elsewhere.

    Attributes
    ----------
    weights_ : ndarray (n_records,), float64
        Exact zeros where the deterministic gate is closed.
    n_active_ : int
        Active records (weight > 1e-9, see :func:`reweightkit.n_active`).
    n_threads_ : int
        The torch threads the training ran on (every round of a budget search the same);
        :func:`reweightkit.save_weights` writes it with the weights.
    history_ : DataFrame
        Every ``history_every`` epochs: ``loss``, ``data_loss`` (with the
        sampled gates), ``expected_active`` (the expected-L0 term),
        ``max_rel_error`` and ``n_active`` (deterministic gates).
    lambda_l0_ : float
        The penalty used (found by bisection with ``n_records``).
    seconds_ : float
        Training time (the whole search with ``n_records``).
    gate_weights_ : ndarray (n_records,)
        The trained weights before the refit (equal to ``weights_`` without one).
    settled_ : bool
        Whether the training settled (see ``settle_tol``).
    converged_ : bool
        Whether the training settled and the refit (if any) met its own criterion: the one
        definition, also in every comparison row.
    settle_change_ : float
        The relative change of the expected open gates over the last 20 % of the epochs.
    target_names_ : list of str
        Target names, in the system's order.
    """

    def __init__(self, lambda_l0=None, *, n_records=None, epochs=2000, lr=0.1, init_keep_prob=0.99, lambda_l2=0.0,
                 l2_toward="zero", seed=None, device="cpu", verbose=False, engine="fast", history_every=50,
                 refit=False, bounds=None, on_infeasible="raise", settle_tol=0.1, n_threads=None, gate_cost="uniform"):
        self.lambda_l0 = lambda_l0
        self.n_records = n_records
        self.epochs = epochs
        self.lr = lr
        self.init_keep_prob = init_keep_prob
        self.lambda_l2 = lambda_l2
        self.l2_toward = l2_toward
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.engine = engine
        self.history_every = history_every
        self.refit = refit
        self.bounds = bounds
        self.on_infeasible = on_infeasible
        self.settle_tol = settle_tol
        self.n_threads = n_threads
        self.gate_cost = gate_cost

    _parameter_constraints = {
        "lambda_l0": [None, Interval(Real, 0, None, closed="left")],
        "n_records": [None, Interval(Integral, 1, None)],
        "epochs": [Interval(Integral, 1, None)],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "init_keep_prob": [Interval(Real, 0, 1, closed="neither")],
        "lambda_l2": [Interval(Real, 0, None, closed="left")],
        "l2_toward": [Options({"zero", "design"})],
        "seed": [None, Interval(Integral, 0, MAX_SEED)],
        "verbose": ["boolean"],
        "engine": [Options({"fast", "autograd", "l0"})],
        "history_every": [Interval(Integral, 1, None)],
        "settle_tol": [Interval(Real, 0, None, closed="neither")],
        "n_threads": [None, Interval(Integral, 1, None)],
        "gate_cost": [Options({"uniform", "design"}), Prices()],
        **REFIT_CONSTRAINTS,
    }
    _miss_advice = "Lower lambda_l0 (it drops records) or train longer (epochs)."
    _bounds_rtol = 1e-6  # float32 training: a weight clamped at the bound is held

    def _train_kwargs(self, problem, replicas=1, seeded=True) -> dict:
        """The training parameters every engine call of this estimator shares (checked against the engine).

        The thread count is resolved here, once per fit (``replicas``: the batch size, for
        :func:`reweightkit.default_threads`), so every round of a budget search trains on the same
        count, and the fit records it (``n_threads_``): the weights can depend on it.
        """
        check_device(self.device)
        torch = require_torch()
        common = dict(epochs=self.epochs, lr=self.lr, init_keep_prob=self.init_keep_prob,
                      lambda_l2=self.lambda_l2, device=self.device, history_every=self.history_every)
        threads = self.n_threads
        if threads is None and self.engine != "l0":
            threads = training_threads(problem.At_rec.shape, replicas, seeded, self.device, self.engine)
        if threads is None:  # the user's OMP_NUM_THREADS or torch.set_num_threads decides, or l0-python runs as is
            threads = torch.get_num_threads()
        self._n_threads_used = int(threads)
        if self.engine != "l0":
            common["n_threads"] = self._n_threads_used
        if self.l2_toward == "design":
            if self.engine == "l0":
                raise ValueError("l2_toward='design' needs engine='fast' or 'autograd': l0-python pulls the weights toward 0")
            common["l2_center"] = problem.w0
        cost = self.gate_costs(problem)
        if cost is not None:
            if self.engine == "l0":
                raise ValueError(f"gate_cost={self.gate_cost!r} needs engine='fast' or 'autograd': l0-python prices "
                                 "every gate the same")
            common["gate_cost"] = cost
        if self.bounds is not None:
            if self.engine == "l0":
                raise ValueError("bounds need engine='fast' or 'autograd': l0-python has no clamp on the weights")
            if self.bounds[0] > 0 and self.refit is False:
                raise ValueError(f"bounds={tuple(self.bounds)}: a lower bound > 0 cannot hold for Hard Concrete's gated "
                                 "weights (a partly open gate scales its record's weight down, below any lower bound): "
                                 "give a refit that honours both bounds (refit='relaxed', 'linear' or 'logit'), or "
                                 "bounds=(0, hi) to cap the weights")
            # g = w / d within the bounds before gating; a gate <= 1 keeps the gated weight under the cap
            common["w_bounds"] = (self.bounds[0] * problem.d, self.bounds[1] * problem.d)
        return common

    def gate_costs(self, problem):
        """The per-record gate prices ``c`` of the penalty ``lambda_l0 sum_j c_j P(g_j != 0)`` on ``problem``.

        Parameters
        ----------
        problem : CalibrationProblem
            The prepared problem (its design weights ``d``).

        Returns
        -------
        ndarray of shape (n_records,), or None
            ``None`` for ``gate_cost="uniform"`` (every gate costs 1); for ``"design"``,
            ``d_j / mean(d)`` over the records with ``d > 0`` (1 for a record with ``d = 0``);
            a user's array as given.

        Raises
        ------
        ValueError
            A user's array whose length is not the number of records.
        """
        if isinstance(self.gate_cost, str):
            if self.gate_cost == "uniform":
                return None
            d = np.asarray(problem.d, dtype=float)
            pos = d > 0
            return np.where(pos, d / d[pos].mean(), 1.0)
        c = np.asarray(self.gate_cost, dtype=float)
        if c.shape != (problem.n_records,):
            raise ValueError(f"gate_cost has {c.size} prices but the data has {problem.n_records} records (one each)")
        return c.copy()

    def _warn_unreachable(self, problem):
        blocked = unreachable_targets(problem.system, problem.w0)
        if blocked:
            warnings.warn(f"Hard Concrete only rescales the design weights, so it cannot reach targets {blocked[:10]}: "
                          "none of their records has a positive design weight", TargetMissWarning, stacklevel=4)

    def _fit_problem(self, problem, previous_weights):
        common = self._train_kwargs(problem, replicas=1 if self.n_records is None else PER_ROUND,
                                    seeded=self.seed is not None)
        self._warn_unreachable(problem)
        if self.n_records is not None:
            if self.lambda_l0 is not None:
                raise ValueError(f"give lambda_l0 or n_records, not both (got lambda_l0={self.lambda_l0!r}, "
                                 f"n_records={self.n_records!r})")
            if self.engine == "l0":
                raise ValueError("n_records needs engine='fast' or 'autograd' (it trains several penalties at once)")
            check_budget(self.n_records, problem.n_records)
            t0 = time.perf_counter()
            lam, w, history = hard_concrete_for_budget(problem.At_rec, problem.b_t, problem.w0, int(self.n_records),
                                                       self.seed, engine=self.engine, verbose=self.verbose,
                                                       desc=f"budget {int(self.n_records)}: a round", **common)
            self._complete(problem, lam, w, history, time.perf_counter() - t0)
            return
        lam = 1e-5 if self.lambda_l0 is None else float(self.lambda_l0)
        if self.engine == "l0":
            out = train_with_l0_python(problem.At_rec, problem.b_t, problem.w0, lam, self.seed, **common)
        else:
            out = train_hard_concrete(problem.At_rec, problem.b_t, problem.w0, [lam],
                                      None if self.seed is None else [self.seed], verbose=self.verbose,
                                      engine=self.engine, **common)
        self._complete(problem, lam, out["weights"][0], out["history"], out["seconds"])

    def _complete(self, problem, lam, gate_weights, history, seconds, warn=True):
        """From trained gates to the returned weights: the refit, the convergence diagnostic, the attributes."""
        self.lambda_l0_ = float(lam)
        self.n_threads_ = self._n_threads_used
        self.gate_weights_ = np.ascontiguousarray(gate_weights, dtype=np.float64)
        self.weights_, refit = self._refit(problem, self.gate_weights_)
        ok, change = settled(history, self.epochs, self.settle_tol)
        self.history_ = history.drop(columns="replica").reset_index(drop=True)
        self.seconds_ = float(seconds)
        self.settled_, self.settle_change_ = bool(ok[0]), float(change[0])
        self.converged_ = self.settled_ and (refit is None or refit.converged)
        if warn and not self.settled_:
            how = ("too few epochs to judge" if np.isnan(self.settle_change_) else
                   f"the expected number of open gates changed by {self.settle_change_:.1%} over the last "
                   f"{SETTLE_WINDOW:.0%} of them (settle_tol={self.settle_tol:g})")
            warnings.warn(f"Hard Concrete had not settled after {self.epochs} epochs: {how}; raise epochs",
                          ConvergenceWarning, stacklevel=4)

    def _fitted_copy(self, problem, lam, gate_weights, history, seconds, warn=True, **params):
        est = copy.deepcopy(self)
        est._reset()
        est.set_params(**params)
        est._complete(problem, lam, gate_weights, history, seconds, warn=warn)
        est._finish(problem, warn=warn)
        return est

    def _warn_unsettled(self, fits):
        """One ConvergenceWarning for the fits of a grid that had not settled."""
        bad = [f for f in fits if not f.settled_]
        if bad:
            what = ", ".join(f"lambda_l0={f.lambda_l0_:.3g} seed={f.seed} ({f.settle_change_:.1%})" for f in bad[:8])
            warnings.warn(f"{len(bad)} of {len(fits)} Hard Concrete fits had not settled after {self.epochs} epochs "
                          f"(change of the expected open gates over the last {SETTLE_WINDOW:.0%}, settle_tol="
                          f"{self.settle_tol:g}): {what}; raise epochs", ConvergenceWarning, stacklevel=3)

    def fit_grid(self, data, marginal_targets=None, continuous_targets=None, weight_col="weight", *, lambdas=None,
                 budgets=None, seeds=(0,)):
        """Many fits trained as one batched computation: every (``lambda_l0``, seed), or every (budget, seed).

        The estimator's own parameters (``epochs``, ``lr``, ``refit``, ``bounds``, ``engine``,
        ...) apply to every fit; the penalty and the seed are the grid's.  Replicas never
        interact, so each fit is the one a single ``fit`` at that penalty and seed gives
        (to BLAS rounding).

        Parameters
        ----------
        data : DataFrame or CalibrationProblem
            Microdata (with the targets below) or a prepared problem.
        marginal_targets, continuous_targets : dict, optional
            Targets (DataFrame input).
        weight_col : str or None, default "weight"
            Design weights (DataFrame input).
        lambdas : array-like, optional
            The ``lambda_l0`` grid.  Give exactly one of ``lambdas`` and ``budgets``.
        budgets : array-like of int, optional
            Record budgets: for each seed, one batched bisection finds every budget's
            ``lambda_l0`` (:func:`reweightkit.solvers.budget.hard_concrete_for_budgets`).
            Budgets no penalty reached are left out with a :class:`~reweightkit.BudgetWarning`
            naming the nearest counts.
        seeds : iterable of int, default (0,)
            Seeds.

        Returns
        -------
        list of HardConcreteCalibrator
            Fitted copies: lambda-major ``(lambda, seed)`` pairs with ``lambda_l0`` set, or
            seed-major ``(seed, budget)`` pairs with ``n_records`` set.  ``seconds_`` is the
            batch's time divided by its fits.  The fits that had not settled are named in one
            ``ConvergenceWarning``; no fit warns on its own.
        """
        if (lambdas is None) == (budgets is None):
            raise ValueError("give exactly one of lambdas and budgets")
        if self.engine == "l0":
            raise ValueError("fit_grid needs engine='fast' or 'autograd' (it trains many replicas at once)")
        self._validate_params()
        seeds = check_seeds(seeds)
        problem = as_problem(data, marginal_targets, continuous_targets, weight_col)
        lambdas = None if lambdas is None else check_grid("lambda_l0", lambdas)
        ks = None if budgets is None else [check_budget(int(k), problem.n_records) for k in check_grid("budgets", budgets)]
        common = self._train_kwargs(problem, len(lambdas) * len(seeds) if ks is None else PER_ROUND * len(ks))
        self._warn_unreachable(problem)
        p = problem
        fits = []
        if lambdas is not None:
            lam_k, seed_k = np.repeat(lambdas, len(seeds)), seeds * len(lambdas)
            out = train_hard_concrete(p.At_rec, p.b_t, p.w0, lam_k, seed_k, verbose=self.verbose, engine=self.engine,
                                      desc="hardconcrete grid", **common)
            per_fit = out["seconds"] / len(lam_k)
            hist = out["history"]
            for r, (lam, s) in enumerate(zip(lam_k, seed_k)):
                h = hist[hist["replica"] == r].assign(replica=0)
                fits.append(self._fitted_copy(p, lam, out["weights"][r], h, per_fit, warn=False, lambda_l0=float(lam),
                                              n_records=None, seed=s))
            self._warn_unsettled(fits)
            return fits
        missed = []
        for s in seeds:
            t0 = time.perf_counter()
            search = hard_concrete_for_budgets(p.At_rec, p.b_t, p.w0, ks, s, engine=self.engine, **common)
            per_fit = (time.perf_counter() - t0) / len(ks)
            missed += [f"seed {s}: {msg}" for msg in search.missed.values()]
            for k in ks:
                if k in search.found:
                    lam, w, h = search.found[k]
                    fits.append(self._fitted_copy(p, lam, w, h, per_fit, warn=False, lambda_l0=None, n_records=k,
                                                  seed=s))
        if missed:
            warnings.warn("Hard Concrete reached no count near these budgets (left out): " + "; ".join(missed),
                          BudgetWarning, stacklevel=2)
        self._warn_unsettled(fits)
        return fits

    def refitted(self, data, marginal_targets=None, continuous_targets=None, weight_col="weight", *, refit,
                 bounds=None, on_infeasible=None):
        """The same selection with another refit, without training again: select once, compare refits.

        Parameters
        ----------
        data : DataFrame or CalibrationProblem
            The data (or prepared problem) this estimator was fitted on.
        marginal_targets, continuous_targets : dict, optional
            Targets (DataFrame input).
        weight_col : str or None, default "weight"
            Design weights (DataFrame input).
        refit : bool or {"relaxed", "linear", "raking", "logit"}
            The new refit (``False``: the raw gate weights).
        bounds : tuple (lo, hi), optional
            Bounds of the new refit (default: this estimator's).
        on_infeasible : {"raise", "least_squares"}, optional
            Default: this estimator's.

        Returns
        -------
        HardConcreteCalibrator
            A fitted copy with ``refit`` (and ``bounds``, ``on_infeasible``) set.
        """
        if not hasattr(self, "gate_weights_"):
            raise AttributeError("HardConcreteCalibrator is not fitted: call fit first")
        problem = as_problem(data, marginal_targets, continuous_targets, weight_col)
        if problem.n_records != self.gate_weights_.size:
            raise ValueError(f"data has {problem.n_records} records but the fit has {self.gate_weights_.size}")
        params = {"refit": refit, "bounds": self.bounds if bounds is None else bounds,
                  "on_infeasible": self.on_infeasible if on_infeasible is None else on_infeasible}
        validate_params(REFIT_CONSTRAINTS, params)
        history = self.history_.assign(replica=0)
        return self._fitted_copy(problem, self.lambda_l0_, self.gate_weights_, history, self.seconds_, **params)
