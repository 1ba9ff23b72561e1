"""HardConcreteCalibrator: the L0 arm of the comparison."""

from __future__ import annotations

import time
import warnings
from numbers import Integral, Real

import numpy as np

from .._validation import MAX_SEED, Interval, Options
from ..exceptions import ConvergenceWarning, TargetMissWarning
from ..problem.system import unreachable_targets
from ..solvers.budget import hard_concrete_for_budget
from ..solvers.hardconcrete import SETTLE_WINDOW, check_device, settled, train_hard_concrete, train_with_l0_python
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
        Bounds on ``g = w / w0``: during training the weights before gating are
        clamped into ``[lo w0, hi w0]`` after every step (not with engine ``"l0"``;
        this changes l0-python's dynamics), and the refit honours them.
    on_infeasible : {"raise", "least_squares"}, default "raise"
        When a distance refit cannot meet the targets within the bounds.
    settle_tol : float, default 0.1
        Convergence diagnostic (:func:`reweightkit.solvers.hardconcrete.settled`):
        the fit has settled when the expected number of open gates changed by at
        most this fraction over the last 20 % of the epochs; otherwise
        ``converged_`` is False and a ``ConvergenceWarning`` gives the numbers.
        (On the published example, 2,000 epochs settle to 1-8 % for lambda_l0 up to
        1e-3; the sparsest fits are still closing gates.)
    n_threads : int, optional
        Torch and BLAS threads while training (engines ``"fast"`` and ``"autograd"``).
        Default: :func:`reweightkit.default_threads` (the CPUs this process may use after
        the cgroup quota and affinity mask, less those other processes are busy on; one
        thread for small problems; ``OMP_NUM_THREADS`` and :func:`reweightkit.set_threads`
        are respected).

    Attributes
    ----------
    weights_ : ndarray (n_records,), float64
        Exact zeros where the deterministic gate is closed.
    n_active_ : int
        Active records (weight > 1e-9, see :func:`reweightkit.n_active`).
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
    converged_ : bool
        Whether the fit settled (see ``settle_tol``).
    settle_change_ : float
        The relative change of the expected open gates over the last 20 % of the epochs.
    target_names_ : list of str
        Target names, in the system's order.
    """

    def __init__(self, lambda_l0=None, *, n_records=None, epochs=2000, lr=0.1, init_keep_prob=0.99, lambda_l2=0.0,
                 l2_toward="zero", seed=None, device="cpu", verbose=False, engine="fast", history_every=50,
                 refit=False, bounds=None, on_infeasible="raise", settle_tol=0.1, n_threads=None):
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
        **REFIT_CONSTRAINTS,
    }
    _miss_advice = "Lower lambda_l0 (it drops records) or train longer (epochs)."

    def _fit_problem(self, problem, previous_weights):
        check_device(self.device)
        blocked = unreachable_targets(problem.system, problem.w0)
        if blocked:
            warnings.warn(f"Hard Concrete only rescales the design weights, so it cannot reach targets {blocked[:10]}: "
                          "none of their records has a positive design weight", TargetMissWarning, stacklevel=3)
        common = dict(epochs=self.epochs, lr=self.lr, init_keep_prob=self.init_keep_prob,
                      lambda_l2=self.lambda_l2, device=self.device, history_every=self.history_every)
        threads = {} if self.engine == "l0" else {"n_threads": self.n_threads}
        if self.l2_toward == "design":
            if self.engine == "l0":
                raise ValueError("l2_toward='design' needs engine='fast' or 'autograd': l0-python pulls the weights toward 0")
            common["l2_center"] = problem.w0
        if self.bounds is not None:
            if self.engine == "l0":
                raise ValueError("bounds need engine='fast' or 'autograd': l0-python has no clamp on the weights")
            common["w_bounds"] = (self.bounds[0] * problem.w0, self.bounds[1] * problem.w0)
        if self.n_records is not None:
            if self.lambda_l0 is not None:
                raise ValueError(f"give lambda_l0 or n_records, not both (got lambda_l0={self.lambda_l0!r}, "
                                 f"n_records={self.n_records!r})")
            if self.engine == "l0":
                raise ValueError("n_records needs engine='fast' or 'autograd' (it trains several penalties at once)")
            if self.n_records > problem.n_records:
                raise ValueError(f"n_records must be at most the number of records ({problem.n_records}), "
                                 f"got {self.n_records}")
            t0 = time.perf_counter()
            self.lambda_l0_, w, history = hard_concrete_for_budget(problem.At_rec, problem.b_t, problem.w0,
                                                                   int(self.n_records), self.seed, engine=self.engine,
                                                                   **threads, **common)
            out = {"weights": w[None, :], "history": history, "seconds": time.perf_counter() - t0}
        else:
            self.lambda_l0_ = 1e-5 if self.lambda_l0 is None else float(self.lambda_l0)
            if self.engine == "l0":
                out = train_with_l0_python(problem.At_rec, problem.b_t, problem.w0, self.lambda_l0_, self.seed,
                                           **common)
            else:
                out = train_hard_concrete(problem.At_rec, problem.b_t, problem.w0, [self.lambda_l0_],
                                          None if self.seed is None else [self.seed], verbose=self.verbose,
                                          engine=self.engine, **threads, **common)
        self.gate_weights_ = np.ascontiguousarray(out["weights"][0], dtype=np.float64)
        self.weights_, _ = self._refit(problem, self.gate_weights_)
        ok, change = settled(out["history"], self.epochs, self.settle_tol)
        self.history_ = out["history"].drop(columns="replica")
        self.seconds_ = out["seconds"]
        self.converged_, self.settle_change_ = bool(ok[0]), float(change[0])
        if not self.converged_:
            how = ("too few epochs to judge" if np.isnan(self.settle_change_) else
                   f"the expected number of open gates changed by {self.settle_change_:.1%} over the last "
                   f"{SETTLE_WINDOW:.0%} of them (settle_tol={self.settle_tol:g})")
            warnings.warn(f"Hard Concrete had not settled after {self.epochs} epochs: {how}; raise epochs",
                          ConvergenceWarning, stacklevel=3)
