r"""Hard Concrete (L0) calibration: l0-python's model, and a batched engine for sweeps.

Both engines minimise, per replica ``k`` (one ``(lambda_k, seed_k)`` pair),

.. math::

    \tfrac12 \|\tilde A (e^{v} \odot g) - \tilde b\|^2
    + \lambda_k \sum_j c_j\, \sigma(\log\alpha_j - \beta \log(-\gamma/\zeta))
    \;[+ \lambda_2 \sum_j e^{2 v_j}]

where ``g`` are Hard Concrete gates sampled afresh every epoch
(Louizos, Welling & Kingma 2018), ``e^v`` the positive weights and the sum of
sigmoids the expected number of open gates, each priced ``c_j`` (1 in l0-python's model;
``gate_cost`` sets other prices, e.g. the design weights' shares).  The data term is **the same as
SparseCalibrator's**: l0-python's ``loss_type="mse"`` (a plain sum of squares)
applied to the row-scaled system ``(A~/sqrt 2, b~/sqrt 2)``.  l0-python's
``"relative"`` loss divides by ``y + 1`` and is not used.

The batched engine trains K replicas at once with exactly the per-replica
mathematics of ``l0.calibration.SparseCalibrationWeights`` (float32, the same
gate sampling, penalty, data loss and Adam, which is elementwise so replicas
never interact).  Each seeded replica owns two ``torch.Generator``\ s seeded
with its seed, one for the initial ``log_alpha`` jitter and one for gate
noise, which are the draws l0-python makes with ``seed=s`` after
``torch.manual_seed(s)``; a replica's result therefore does not depend on
which other replicas share its batch (in the fast engine, up to the float32
rounding of products that BLAS blocks by the batch size).

**Threads and bitwise reproducibility.**  Torch's CPU kernels round differently when they split their
work differently (measured: the product over the records, and even the element-wise sigmoid, on a
9 x 4,948 batch with 1 and 2 torch threads), and a gate near its threshold then opens or closes the
other way; a budget search can end at another penalty (notebook 6's superpopulation at 300 records, the
single-batch engine: 18.3 % held-out error with one thread, 21.4 % with two).  So the fast engine on CPU, where ``A~``
is kept dense (``m n <= DENSE_CAP``: every notebook and the small benchmarks), runs torch on one thread
per block of replicas and puts the threads on the blocks (:func:`reweightkit.solvers.hc_fast.n_blocks`,
fixed by the problem's size): **the same inputs and seeds give the same weights on any thread count**
(tested).  Larger problems (sparse products) and the other engines train on torch's threads, where the
count is an input: same inputs, seeds and count give the same weights, another count can give others.
:func:`reweightkit.default_threads` picks the count from the machine's load, so the estimators record
the count they trained with (``n_threads_``) and weight files save it: pass it as ``n_threads`` (or
``OMP_NUM_THREADS``, :func:`reweightkit.set_threads`) to reproduce such a run elsewhere.  The fast engine on CPU
draws the per-epoch gate noise of a seeded replica from numpy's PCG64 seeded with
its seed instead (see :func:`train_hard_concrete`).

Two engines: ``"autograd"`` runs l0-python's own operations (bitwise equal to it for
K = 1 on CPU: the reference mode) and ``"fast"`` (default) the same mathematics with
the gradient written out by hand (see :func:`train_hard_concrete`).
"""

from __future__ import annotations

import time
import warnings

import numpy as np

from ..threads import default_threads, thread_limits
from .hc_autograd import train_autograd
from .hc_common import TrainConfig, check_device, history_frame, require_torch
from .hc_fast import block_count, train_fast

__all__ = ["train_hard_concrete", "training_threads", "train_with_l0_python", "require_torch", "check_device", "settled",
           "TrainConfig", "ENGINES"]

SETTLE_WINDOW = 0.2
""":func:`settled` compares the last ``SETTLE_WINDOW`` share of the epochs."""
ENGINES = {"fast": train_fast, "autograd": train_autograd}
"""The batched engines by name (each in its own module); ``"l0"`` is l0-python itself
(:func:`train_with_l0_python`)."""


def settled(history, epochs, tol=0.01):
    """Whether each replica's training had settled: Hard Concrete's convergence diagnostic.

    The expected number of open gates (a smooth function of ``log_alpha``, unlike
    the sampled loss) must change by at most ``tol`` relative over the last
    ``SETTLE_WINDOW`` (20 %) of the epochs.  Fewer than two history points in
    that span cannot show it, and count as not settled.

    Parameters
    ----------
    history : DataFrame
        :func:`train_hard_concrete`'s history (``replica``, ``epoch``, ``expected_active``).
    epochs : int
        Epochs trained.
    tol : float, default 0.01
        Largest relative change.

    Returns
    -------
    ok : ndarray of bool, shape (K,)
        Settled, per replica.
    change : ndarray, shape (K,)
        The relative change (NaN where it could not be measured).
    """
    ok, change = [], []
    start = epochs * (1 - SETTLE_WINDOW)
    for _, h in history.groupby("replica", sort=True):
        early = h[h["epoch"] <= start]
        if early.empty or h["epoch"].iloc[-1] - early["epoch"].iloc[-1] <= 0:
            ok.append(False)
            change.append(np.nan)
            continue
        v0, v1 = float(early["expected_active"].iloc[-1]), float(h["expected_active"].iloc[-1])
        c = abs(v1 - v0) / max(abs(v1), 1.0)
        ok.append(c <= tol)
        change.append(c)
    return np.array(ok, dtype=bool), np.array(change)


def training_threads(shape, K, seeded, device="cpu", engine="fast"):
    """The default thread count of a training run of ``K`` replicas on a ``shape = (n, m)`` problem:
    :func:`reweightkit.default_threads` of its work, told the fast engine's blocks where it trains in blocks
    (:func:`reweightkit.solvers.hc_fast.block_count`); None where the user's settings decide."""
    blocks = block_count(shape, K, seeded, device) if engine == "fast" else None
    return default_threads(shape[0] * K, blocks=blocks)


def train_hard_concrete(At_rec, b_t, w0, lambdas, seeds=None, *, epochs=2000, lr=0.1, init_keep_prob=0.99,
                        lambda_l2=0.0, log_alpha_jitter_sd=0.01, device="cpu", history_every=50,
                        verbose=False, desc="HardConcrete", w_bounds=None, l2_center=None, gate_cost=None,
                        engine="fast", n_threads=None):
    """Train K Hard Concrete replicas at once.

    Parameters
    ----------
    At_rec : csr_matrix, shape (n, m)
        ``A~'`` (record-major), as in :class:`reweightkit.CalibrationProblem`.
    b_t : ndarray, shape (m,)
        ``b_tilde = sign(b)``.
    w0 : ndarray, shape (n,)
        Initial weights (the scaled design weights).
    lambdas : array-like, shape (K,)
        ``lambda_l0`` of each replica.
    seeds : sequence of int or None, length K; or None
        One seed per replica; ``None`` (for all) draws from torch's global
        generator, as l0-python does with ``seed=None``.
    epochs : int, default 2000
        Adam steps (one gate sample each).
    lr : float, default 0.1
        Adam learning rate.
    init_keep_prob : float, default 0.99
        Initial probability that a gate is open.
    lambda_l2 : float, default 0.0
        Penalty on the squared weights.
    log_alpha_jitter_sd : float, default 0.01
        Standard deviation of the initial ``log_alpha`` jitter (l0-python's).
    device : str, default "cpu"
        Torch device.
    history_every : int, default 50
        Epochs between history rows.
    verbose : bool, default False
        Progress bar.
    desc : str, default "HardConcrete"
        Progress bar label.
    l2_center : ndarray, shape (n,), optional
        The design-aware L2 term: ``lambda_l2 sum_j ((e^{v_j} - c_j) / c_j)^2``, a pull of
        each weight toward ``c`` (the design weights) instead of l0-python's pull toward 0
        (``lambda_l2 sum_j e^{2 v_j}``).  Records with ``c_j = 0`` are not pulled.
    w_bounds : tuple of ndarray, optional
        ``(lower, upper)``, each shape (n,), on the weights ``e^v`` before gating:
        ``v`` is clamped into ``[log lower, log upper]`` after every Adam step (the
        field's ``max_weight_ratio``).  This changes l0-python's dynamics (Adam's
        moments still see the unclamped gradients).  The gates still scale the weights
        down, so a partly open gate can leave a weight below ``lower``.
    gate_cost : ndarray, shape (n,), optional
        Per-record prices of the gates: the penalty becomes ``lambda_k sum_j c_j P(g_j != 0)``
        (finite, ``>= 0``; ``None``: every gate costs ``lambda_k``, l0-python's model).  The
        history's ``expected_active`` is still the expected count of open gates.
    engine : {"fast", "autograd"}, default "fast"
        ``"fast"``: the gradient written out by hand (no autograd graph), products with
        a dense copy of ``A~`` when it is small (``m n <= DENSE_CAP``) and a sparse CSR
        pair otherwise, element-wise work in preallocated buffers, torch's fused Adam.
        Same mathematics as l0-python (the gradient equals autograd's to float32
        rounding, tested).  The initial ``log_alpha`` jitter is torch's draw, as in
        l0-python; with seeds on CPU the per-epoch gate noise comes from numpy's PCG64
        seeded with each replica's seed (1.6x faster than torch's CPU generator), and
        with ``seeds=None`` or on a GPU from torch.  So a run is another draw of the same
        model: it matches l0-python statistically, not bitwise (tested).
        ``"autograd"``: the reference mode, l0-python's own operations through torch's
        autograd; with K = 1 it reproduces l0-python's weights bitwise on CPU (tested).
    n_threads : int, optional
        Torch and BLAS threads for this call (default :func:`reweightkit.default_threads`:
        the CPUs this process may use, after the cgroup quota and the affinity mask, less
        those other processes are busy on, unless ``OMP_NUM_THREADS`` or an earlier
        ``torch.set_num_threads`` says otherwise).  The fast engine's weights do not depend on it
        on CPU where ``A~`` is kept dense; elsewhere they can (module docstring): give it to
        reproduce a run on another machine or under another load.

    Returns
    -------
    dict
        ``weights`` (K, n) float64 (exact zeros where the deterministic gate is
        closed), ``history`` (DataFrame: replica, epoch, loss, data_loss,
        expected_active, max_rel_error, n_active), ``seconds`` and ``n_threads`` (the torch
        threads the training ran on).
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be 'fast' or 'autograd', got {engine!r}")
    if gate_cost is not None:
        gate_cost = np.asarray(gate_cost, dtype=float)
        if gate_cost.shape != (At_rec.shape[0],) or not np.all(np.isfinite(gate_cost)) or np.any(gate_cost < 0):
            raise ValueError(f"gate_cost must be {At_rec.shape[0]} finite prices >= 0 (one per record), got shape "
                             f"{gate_cost.shape}")
    cfg = TrainConfig(epochs=epochs, lr=lr, init_keep_prob=init_keep_prob, lambda_l2=lambda_l2,
                      log_alpha_jitter_sd=log_alpha_jitter_sd, device=device, history_every=history_every,
                      verbose=verbose, desc=desc, w_bounds=w_bounds, l2_center=l2_center, gate_cost=gate_cost)
    if n_threads is None:
        n_threads = training_threads(At_rec.shape, len(np.atleast_1d(lambdas)), seeds is not None, device, engine)
    with thread_limits(n_threads):
        out = ENGINES[engine](At_rec, b_t, w0, lambdas, seeds, cfg)
        out["n_threads"] = require_torch().get_num_threads()  # what ran: the weights can depend on it (module docstring)
        return out


def train_with_l0_python(At_rec, b_t, w0, lambda_l0, seed=None, *, epochs=2000, lr=0.1, init_keep_prob=0.99,
                         lambda_l2=0.0, device="cpu", history_every=50):
    """One fit through ``l0.calibration.SparseCalibrationWeights`` itself (the reference engine).

    Same inputs, loss and draws as :func:`train_hard_concrete` with ``K = 1``.
    The history is recorded by a subclass hook that reads the sampled
    prediction and the penalty l0-python computes each epoch, and draws no
    random numbers.

    Parameters
    ----------
    At_rec : csr_matrix, shape (n, m)
        ``A~'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde = sign(b)``.
    w0 : ndarray, shape (n,)
        Initial weights.
    lambda_l0 : float
        Penalty on the expected number of open gates.
    seed : int or None
        Seed (``torch.manual_seed`` inside a forked RNG state), or None for torch's global generator.
    epochs, lr, init_keep_prob, lambda_l2, device, history_every
        As in :func:`train_hard_concrete`.

    Returns
    -------
    dict
        The same as :func:`train_hard_concrete` (with K = 1).
    """
    torch = require_torch()
    try:
        from l0.calibration import SparseCalibrationWeights
    except ImportError as e:  # pragma: no cover
        raise ImportError("engine='l0' needs l0-python: pip install torch==2.13.0 && pip install l0-python") from e

    M = (At_rec.T / np.sqrt(2.0)).tocsr()
    y = b_t / np.sqrt(2.0)
    y_t = torch.tensor(y, dtype=torch.float32, device=device)
    hist = []

    class Recorded(SparseCalibrationWeights):
        epoch = 0
        last_pred = None

        def forward(self, M_, deterministic=False):
            out = super().forward(M_, deterministic=deterministic)
            if not deterministic:
                self.last_pred = out.detach()
            return out

        def get_l0_penalty(self):
            pen = super().get_l0_penalty()
            self.epoch += 1
            if self.epoch % history_every == 0 or self.epoch == epochs:
                with torch.no_grad():
                    data = float(((y_t - self.last_pred) ** 2).sum())
                    wd = self.get_weights(deterministic=True)
                    rel = float((self.forward(M_=M, deterministic=True) - y_t).abs().max()) * np.sqrt(2.0)
                    hist.append((0, self.epoch, data + lambda_l0 * float(pen), data, float(pen), rel,
                                 int((wd > 0).sum())))
            return pen

    t0 = time.perf_counter()

    def run():
        model = Recorded(len(w0), init_keep_prob=init_keep_prob, init_weights=np.asarray(w0), seed=seed,
                         device=device)
        with warnings.catch_warnings():  # l0-python builds the sparse tensor without opting in or out of checks
            warnings.filterwarnings("ignore", message="Sparse invariant checks are implicitly disabled")
            model.fit(M, y, lambda_l0=lambda_l0, lambda_l2=lambda_l2, lr=lr, epochs=epochs, loss_type="mse")
        with torch.no_grad():
            return model.get_weights(deterministic=True).double().cpu().numpy()

    if seed is None:
        w = run()
    else:
        with torch.random.fork_rng(devices=[device] if str(device).startswith("cuda") else []):
            torch.manual_seed(int(seed))
            w = run()
    if not np.all(np.isfinite(w)):
        raise FloatingPointError(f"l0-python returned non-finite weights for lambda_l0={lambda_l0:g} after {epochs} epochs")
    return {"weights": w[None, :], "history": history_frame(hist), "seconds": time.perf_counter() - t0}


