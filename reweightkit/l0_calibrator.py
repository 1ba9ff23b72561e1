"""HardConcreteCalibrator: the L0 arm of the comparison."""

from __future__ import annotations

import math

import numpy as np

from .hardconcrete import train_hard_concrete, train_with_l0_python
from .targets import prepare

__all__ = ["HardConcreteCalibrator"]


def _check_positive(name, value, integer=False, allow_zero=False):
    ok_type = isinstance(value, (int, np.integer)) if integer else isinstance(value, (int, float, np.number))
    if isinstance(value, bool) or not ok_type:
        raise TypeError(f"{name} must be a{'n integer' if integer else ' number'}, got {value!r}")
    if not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'} and finite, got {value!r}")


class HardConcreteCalibrator:
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
    lambda_l0 : float, default 1e-5
        Penalty on the expected number of open gates.
    epochs : int, default 2000
    lr : float, default 0.1
        Adam learning rate.
    init_keep_prob : float in (0, 1), default 0.99
        Initial probability that a gate is open.
    lambda_l2 : float, default 0.0
    seed : int or None, default None
        Seeds every random draw (initial ``log_alpha`` jitter and gate
        noise) without touching torch's global generator.  ``None`` draws
        from torch's global generator as l0-python does, so a
        ``torch.manual_seed(...)`` before ``fit`` still makes runs repeatable.
    device : str, default "cpu"
    verbose : bool, default False
        Show a tqdm progress bar with the current loss and active count.
    engine : {"batched", "l0"}, default "batched"
        ``"l0"`` trains through l0-python itself (the reference);
        ``"batched"`` runs reweightkit's batched engine with K = 1, which
        reproduces l0-python's weights bitwise for the same seed on CPU
        (tested) and is faster.
    history_every : int, default 50

    Attributes
    ----------
    weights_ : ndarray (n_records,), float64; exact zeros where the gate is closed
    n_active_ : int
    history_ : DataFrame
        Every ``history_every`` epochs: ``loss``, ``data_loss`` (with the
        sampled gates), ``expected_active`` (the expected-L0 term),
        ``max_rel_error`` and ``n_active`` (deterministic gates).
    seconds_ : float
    """

    def __init__(self, lambda_l0=1e-5, *, epochs=2000, lr=0.1, init_keep_prob=0.99, lambda_l2=0.0, seed=None,
                 device="cpu", verbose=False, engine="batched", history_every=50):
        self.lambda_l0 = lambda_l0
        self.epochs = epochs
        self.lr = lr
        self.init_keep_prob = init_keep_prob
        self.lambda_l2 = lambda_l2
        self.seed = seed
        self.device = device
        self.verbose = verbose
        self.engine = engine
        self.history_every = history_every

    def _validate(self):
        _check_positive("lambda_l0", self.lambda_l0, allow_zero=True)
        _check_positive("epochs", self.epochs, integer=True)
        _check_positive("lr", self.lr)
        _check_positive("lambda_l2", self.lambda_l2, allow_zero=True)
        _check_positive("history_every", self.history_every, integer=True)
        _check_positive("init_keep_prob", self.init_keep_prob)
        if not 0 < self.init_keep_prob < 1:
            raise ValueError(f"init_keep_prob must be in (0, 1), got {self.init_keep_prob!r}")
        if self.seed is not None and (isinstance(self.seed, bool) or not isinstance(self.seed, (int, np.integer))):
            raise TypeError(f"seed must be an int or None, got {self.seed!r}")
        if self.engine not in ("batched", "l0"):
            raise ValueError(f"engine must be 'batched' or 'l0', got {self.engine!r}")

    def fit(self, df, marginal_targets, continuous_targets=None, weight_col="weight"):
        """Fit gates and weights to the targets; returns ``self``.

        The starting weights are the design weights (``weight_col``, ones if
        absent) scaled as in :class:`SparseCalibrator`.
        """
        self._validate()
        prob = prepare(df, marginal_targets, continuous_targets, weight_col)
        common = dict(epochs=self.epochs, lr=self.lr, init_keep_prob=self.init_keep_prob,
                      lambda_l2=self.lambda_l2, device=self.device, history_every=self.history_every)
        if self.engine == "l0":
            out = train_with_l0_python(prob.At_rec, prob.b_t, prob.w0, self.lambda_l0, self.seed, **common)
        else:
            out = train_hard_concrete(prob.At_rec, prob.b_t, prob.w0, [self.lambda_l0],
                                      None if self.seed is None else [self.seed], verbose=self.verbose, **common)
        self.weights_ = np.ascontiguousarray(out["weights"][0], dtype=np.float64)
        self.n_active_ = int(np.count_nonzero(self.weights_ > 0))
        self.history_ = out["history"].drop(columns="replica")
        self.seconds_ = out["seconds"]
        self.target_names_ = list(prob.system.names)
        return self
