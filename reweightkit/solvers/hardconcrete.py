r"""Hard Concrete (L0) calibration: l0-python's model, and a batched engine for sweeps.

Both engines minimise, per replica ``k`` (one ``(lambda_k, seed_k)`` pair),

.. math::

    \tfrac12 \|\tilde A (e^{v} \odot g) - \tilde b\|^2
    + \lambda_k \sum_j \sigma(\log\alpha_j - \beta \log(-\gamma/\zeta))
    \;[+ \lambda_2 \sum_j e^{2 v_j}]

where ``g`` are Hard Concrete gates sampled afresh every epoch
(Louizos, Welling & Kingma 2018), ``e^v`` the positive weights and the sum of
sigmoids the expected number of open gates.  The data term is **the same as
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
rounding of products that BLAS blocks by the batch size).  The fast engine on CPU
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
import pandas as pd
from tqdm.auto import tqdm

from .._threads import default_threads, thread_limits
from ..problem.gates import BETA, EPS, GAMMA, LOG_ALPHA_BOUND, ZETA

__all__ = ["train_hard_concrete", "train_with_l0_python", "require_torch", "check_device", "settled"]

SETTLE_WINDOW = 0.2
""":func:`settled` compares the last ``SETTLE_WINDOW`` share of the epochs."""

def require_torch():
    try:
        import torch
    except ImportError as e:  # pragma: no cover - exercised only without torch
        raise ImportError(
            "HardConcreteCalibrator needs PyTorch and l0-python: "
            "pip install torch==2.13.0 && pip install 'reweightkit[l0]'"
        ) from e
    return torch


def check_device(device):
    """The torch device ``device`` names, checked against what this machine has.

    Parameters
    ----------
    device : str or torch.device
        ``"cpu"``, ``"cuda"``, ``"cuda:N"`` or ``"mps"``.

    Returns
    -------
    torch.device

    Raises
    ------
    TypeError
        If ``device`` is not a string or a ``torch.device``.
    ValueError
        If it names no device type, or one this machine does not have.
    """
    torch = require_torch()
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be a string such as 'cpu' or 'cuda', or a torch.device, got {device!r}")
    try:
        dev = torch.device(device)
    except RuntimeError as e:
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}") from e
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} but torch sees no CUDA GPU on this machine; use device='cpu'")
        if dev.index is not None and dev.index >= torch.cuda.device_count():
            raise ValueError(f"device={device!r} but torch sees {torch.cuda.device_count()} CUDA GPU(s)")
    elif dev.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device={device!r} but torch sees no MPS device on this machine; use device='cpu'")
    elif dev.type not in ("cpu", "cuda", "mps"):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'mps', got {device!r}")
    return dev


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


def _scaled_operator(torch, At_rec, device):
    """``A~ / sqrt(2)`` as the float32 sparse COO tensor l0-python builds (same entry order)."""
    M = (At_rec.T / np.sqrt(2.0)).tocsr().tocoo()
    idx = torch.from_numpy(np.vstack([M.row, M.col]).astype(np.int64)).to(device)
    vals = torch.from_numpy(M.data.astype(np.float32)).to(device)
    return torch.sparse_coo_tensor(idx, vals, M.shape, dtype=torch.float32, device=device, check_invariants=False)


def train_hard_concrete(At_rec, b_t, w0, lambdas, seeds=None, *, epochs=2000, lr=0.1, init_keep_prob=0.99,
                        lambda_l2=0.0, log_alpha_jitter_sd=0.01, device="cpu", history_every=50,
                        verbose=False, desc="HardConcrete", w_bounds=None, l2_center=None, engine="fast",
                        n_threads=None):
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
        the CPUs this process may use, after the cgroup quota and the affinity mask,
        unless ``OMP_NUM_THREADS`` or an earlier ``torch.set_num_threads`` says otherwise).

    Returns
    -------
    dict
        ``weights`` (K, n) float64 (exact zeros where the deterministic gate is
        closed), ``history`` (DataFrame: replica, epoch, loss, data_loss,
        expected_active, max_rel_error, n_active) and ``seconds``.
    """
    if engine not in ("fast", "autograd"):
        raise ValueError(f"engine must be 'fast' or 'autograd', got {engine!r}")
    kw = dict(epochs=epochs, lr=lr, init_keep_prob=init_keep_prob, lambda_l2=lambda_l2,
              log_alpha_jitter_sd=log_alpha_jitter_sd, device=device, history_every=history_every, verbose=verbose,
              desc=desc, w_bounds=w_bounds, l2_center=l2_center)
    if n_threads is None:
        n_threads = default_threads(At_rec.shape[0] * len(np.atleast_1d(lambdas)))
    with thread_limits(n_threads):
        if engine == "fast":
            return _train_fast(At_rec, b_t, w0, lambdas, seeds, **kw)
        return _train_autograd(At_rec, b_t, w0, lambdas, seeds, **kw)


def _setup(torch, At_rec, w0, lambdas, seeds, init_keep_prob, log_alpha_jitter_sd, dev):
    """Per-replica generators and the initial ``(log_w, log_alpha)``, both (n, K): l0-python's draws."""
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
    K = lambdas.size
    if seeds is not None and len(seeds) != K:
        raise ValueError(f"seeds has length {len(seeds)} but there are {K} lambdas")
    if seeds is not None and any(s is None for s in seeds):
        raise ValueError("seeds must be all integers or None as a whole, got a None inside the list")
    n = At_rec.shape[0]
    kp = torch.full((n,), float(init_keep_prob), device=dev)
    mu = torch.log(kp / (1 - kp))
    la0 = mu.repeat(K, 1)
    gens = None
    if seeds is not None:
        gens = []
        for k, s in enumerate(seeds):
            g_init = torch.Generator(device=dev).manual_seed(int(s))
            if log_alpha_jitter_sd > 0:
                la0[k] = mu + torch.randn(n, generator=g_init, device=dev) * log_alpha_jitter_sd
            gens.append(torch.Generator(device=dev).manual_seed(int(s)))
    elif log_alpha_jitter_sd > 0:
        for k in range(K):
            la0[k] = mu + torch.randn(n, device=dev) * log_alpha_jitter_sd
    lw0 = torch.log(torch.tensor(np.asarray(w0), dtype=torch.float32, device=dev) + 1e-8)
    return lambdas, K, n, gens, la0, lw0


def _train_autograd(At_rec, b_t, w0, lambdas, seeds=None, *, epochs, lr, init_keep_prob, lambda_l2,
                    log_alpha_jitter_sd, device, history_every, verbose, desc, w_bounds, l2_center):
    """The reference engine: l0-python's operations through autograd (see :func:`train_hard_concrete`)."""
    torch = require_torch()
    dev = torch.device(device)
    t0 = time.perf_counter()
    M = _scaled_operator(torch, At_rec, dev)
    y = torch.tensor(b_t / np.sqrt(2.0), dtype=torch.float32, device=dev)
    lambdas, K, n, gens, la0, lw0 = _setup(torch, At_rec, w0, lambdas, seeds, init_keep_prob, log_alpha_jitter_sd, dev)
    lam = torch.tensor(lambdas, dtype=torch.float32, device=dev)
    log_w = torch.nn.Parameter(lw0.unsqueeze(1).repeat(1, K))
    log_a = torch.nn.Parameter(la0.T.contiguous())
    opt = torch.optim.Adam([log_w, log_a], lr=lr)
    center = inv_center = None
    if l2_center is not None:
        c = np.asarray(l2_center, dtype=float)
        center = torch.tensor(c, dtype=torch.float32, device=dev)[:, None]
        inv_center = torch.tensor(np.divide(1.0, c, out=np.zeros_like(c), where=c > 0), dtype=torch.float32,
                                  device=dev)[:, None]
    v_lo, v_hi = _log_bounds(torch, w_bounds, dev)
    if v_lo is not None:
        v_lo, v_hi = v_lo[:, None], v_hi[:, None]
    c = -BETA * torch.log(torch.tensor(-GAMMA / ZETA, device=dev))
    U = torch.empty(K, n, device=dev)

    def predict(W):  # (n, K) -> (m, K), the product l0-python uses
        return torch.sparse.mm(M, W)

    hist = []
    bar = None
    if verbose:
        bar = tqdm(total=epochs, desc=desc)
    for epoch in range(epochs):
        if gens is None:
            torch.rand(K, n, out=U)
        else:
            for k in range(K):
                torch.rand(n, generator=gens[k], out=U[k])
        la = log_a.clamp(-LOG_ALPHA_BOUND, LOG_ALPHA_BOUND)
        u = U.T.contiguous().clamp(EPS, 1 - EPS)
        s = torch.sigmoid((torch.log(u) - torch.log(1 - u) + la) / BETA)
        gates = (s * (ZETA - GAMMA) + GAMMA).clamp(0, 1)
        W = torch.exp(log_w) * gates
        data = ((y[:, None] - predict(W)) ** 2).sum(dim=0)
        expected = torch.sigmoid(la + c).sum(dim=0)
        loss_k = data + lam * expected
        if lambda_l2 > 0 and center is None:
            loss_k = loss_k + lambda_l2 * (torch.exp(log_w) ** 2).sum(dim=0)
        elif lambda_l2 > 0:
            loss_k = loss_k + lambda_l2 * (((torch.exp(log_w) - center) * inv_center) ** 2).sum(dim=0)
        loss = loss_k.sum()
        if (epoch + 1) % history_every == 0 or epoch + 1 == epochs:
            # recorded before this epoch's update, as the l0-python hook sees it
            with torch.no_grad():
                Wd = _det_weights(torch, log_w, log_a)
                rel = (predict(Wd) - y[:, None]).abs().max(dim=0).values * np.sqrt(2.0)
                _record(hist, bar, epoch, lambdas, loss_k, data, expected, rel, Wd.T)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if v_lo is not None:
            with torch.no_grad():
                log_w.copy_(torch.clamp(log_w, min=v_lo, max=v_hi))
    if bar is not None:
        bar.close()
    with torch.no_grad():
        weights = _det_weights(torch, log_w, log_a).T.double().cpu().numpy()
    return {"weights": weights, "history": _history_frame(hist), "seconds": time.perf_counter() - t0}


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
    return {"weights": w[None, :], "history": _history_frame(hist), "seconds": time.perf_counter() - t0}


DENSE_CAP = 4_000_000
"""The fast engine keeps a dense float32 copy of ``A~`` when ``m n`` is at most this (16 MB)."""


class _Operator:
    """``A~/sqrt 2`` (m x n) and its transpose for the fast engine: products on (K, n) blocks."""

    def __init__(self, torch, At_rec, dev):
        n, m = At_rec.shape
        self.dense = n * m <= DENSE_CAP
        if self.dense:
            Mt = torch.tensor(np.asarray(At_rec.toarray(), dtype=np.float32) / np.float32(np.sqrt(2.0)), device=dev)
            self.M = Mt.T.contiguous()  # (m, n)
        else:
            def csr(S):
                S = S.tocsr().astype(np.float32)
                S.sort_indices()
                with warnings.catch_warnings():  # torch's "beta" notice for CSR tensors: not the user's concern
                    warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
                    return torch.sparse_csr_tensor(torch.from_numpy(S.indptr.astype(np.int64)),
                                                   torch.from_numpy(S.indices.astype(np.int64)),
                                                   torch.from_numpy(S.data), S.shape, device=dev,
                                                   check_invariants=False)  # scipy's sorted CSR is valid
            scaled = At_rec / np.sqrt(2.0)
            self.Mt, self.M = csr(scaled), csr(scaled.T)  # record-major (n, m), target-major (m, n)

    def predict(self, W):
        """(K, n) -> (K, m)."""
        return (self.M @ W.T).T  # measured 3x faster than W @ Mt for dense (K, n) blocks

    def adjoint(self, R):
        """(K, m) -> (K, n)."""
        if self.dense:
            return R @ self.M
        return (self.Mt @ R.T.contiguous()).T.contiguous()


def _train_fast(At_rec, b_t, w0, lambdas, seeds=None, *, epochs, lr, init_keep_prob, lambda_l2,
                log_alpha_jitter_sd, device, history_every, verbose, desc, w_bounds, l2_center):
    """The fast engine (see :func:`train_hard_concrete`): hand-written gradient, no per-epoch allocation of (K, n) arrays."""
    torch = require_torch()
    dev = torch.device(device)
    t0 = time.perf_counter()
    with torch.no_grad():
        op = _Operator(torch, At_rec, dev)
        y = torch.tensor(b_t / np.sqrt(2.0), dtype=torch.float32, device=dev)
        lambdas, K, n, gens, la0, lw0 = _setup(torch, At_rec, w0, lambdas, seeds, init_keep_prob,
                                               log_alpha_jitter_sd, dev)
        lam = torch.tensor(lambdas, dtype=torch.float32, device=dev)[:, None]
        P = torch.stack([lw0.repeat(K, 1), la0])  # (2, K, n): log_w and log_alpha, one tensor for one Adam call
        log_w, log_a = P[0], P[1]
        P.grad = torch.zeros_like(P)
        g_w, g_a = P.grad[0], P.grad[1]
        opt = _Adam(torch, P, lr)
        center = inv_c2 = None
        if l2_center is not None:
            cvec = np.asarray(l2_center, dtype=float)
            center = torch.tensor(cvec, dtype=torch.float32, device=dev)
            inv_c2 = torch.tensor(np.divide(1.0, cvec * cvec, out=np.zeros_like(cvec), where=cvec > 0),
                                  dtype=torch.float32, device=dev)
        v_lo, v_hi = _log_bounds(torch, w_bounds, dev)
        c = float(-BETA * np.log(np.float32(-GAMMA / ZETA)))
        u, t, la, z, gate, ew, W, s2 = torch.empty(8, K, n, device=dev)
        lam_kn = lam.expand(K, n)
        np_gens = u_np = None
        if dev.type == "cpu" and gens is not None:
            # numpy's PCG64 fills float32 1.6x faster than torch's CPU generator (measured); one stream per
            # replica, seeded with the replica's seed, so a replica still does not depend on its batch
            np_gens = [np.random.Generator(np.random.PCG64(int(s))) for s in seeds]
            u_np = u.numpy()
        if dev.type == "cpu":  # numpy's float32 log and exp are 2-3x faster than torch's on CPU (measured)
            def log_(x):
                np.log(x.numpy(), out=x.numpy())

            def exp(x, out):
                with np.errstate(over="ignore"):  # overflow is inf, as in torch; divergence is reported below
                    np.exp(x.numpy(), out=out.numpy())
        else:
            def log_(x):
                x.log_()

            def exp(x, out):
                torch.exp(x, out=out)
        hist = []
        bar = tqdm(total=epochs, desc=desc) if verbose else None
        for epoch in range(epochs):
            if gens is None:
                torch.rand(K, n, out=u)
            elif np_gens is not None:
                for k in range(K):
                    np_gens[k].random(out=u_np[k], dtype=np.float32)
            else:
                for k in range(K):
                    torch.rand(n, generator=gens[k], out=u[k])
            u.clamp_(EPS, 1 - EPS)
            torch.sub(1.0, u, out=t)
            torch.div(u, t, out=t)
            log_(t)  # logit(u)
            torch.clamp(log_a, -LOG_ALPHA_BOUND, LOG_ALPHA_BOUND, out=la)
            t.add_(la).mul_(1.0 / BETA).sigmoid_()  # s
            torch.mul(t, ZETA - GAMMA, out=gate).add_(GAMMA).clamp_(0.0, 1.0)
            # the clamp passes the gradient where 0 < gate < 1: sign(gate (1 - gate)) is that mask, as a float
            torch.mul(gate, gate, out=z)
            torch.sub(gate, z, out=z).sign_()
            exp(log_w, ew)
            torch.mul(ew, gate, out=W)
            R = op.predict(W) - y  # (K, m)
            data = (R * R).sum(dim=1)
            G = op.adjoint(R.mul_(2.0))  # d data / d W, (K, n)
            torch.mul(G, W, out=g_w)  # dW/dv = W
            # log_alpha through the gate: dW/dgate = e^v, dgate/ds = zeta - gamma, ds/dla = s (1 - s) / beta
            torch.mul(t, t, out=s2)
            torch.sub(t, s2, out=s2)
            torch.mul(G, ew, out=g_a).mul_(s2).mul_(z).mul_((ZETA - GAMMA) / BETA)
            # the expected-L0 penalty lam sigmoid(la + c): derivative lam sigma (1 - sigma)
            torch.add(la, c, out=z).sigmoid_()
            expected = z.sum(dim=1)
            torch.mul(z, z, out=s2)
            torch.sub(z, s2, out=z)
            g_a.addcmul_(z, lam_kn)
            lo, hi = torch.aminmax(log_a)
            if float(lo) < -LOG_ALPHA_BOUND or float(hi) > LOG_ALPHA_BOUND:  # the clamp stops the gradient outside
                g_a.masked_fill_(log_a.abs() > LOG_ALPHA_BOUND, 0.0)
            loss_k = data + lam[:, 0] * expected
            if lambda_l2 > 0:
                if center is None:  # lambda_l2 sum e^{2v}: derivative 2 lambda_l2 e^{2v}
                    torch.mul(ew, ew, out=s2)
                    loss_k = loss_k + lambda_l2 * s2.sum(dim=1)
                    g_w.add_(s2, alpha=2.0 * lambda_l2)
                else:  # lambda_l2 sum ((e^v - c) / c)^2: derivative 2 lambda_l2 (e^v - c) e^v / c^2
                    torch.sub(ew, center, out=s2)
                    loss_k = loss_k + lambda_l2 * (s2 * s2 * inv_c2).sum(dim=1)
                    s2.mul_(ew).mul_(inv_c2)
                    g_w.add_(s2, alpha=2.0 * lambda_l2)
            if (epoch + 1) % history_every == 0 or epoch + 1 == epochs:
                Wd = _det_weights(torch, log_w, log_a)
                rel = (op.predict(Wd) - y).abs().max(dim=1).values * np.sqrt(2.0)
                _record(hist, bar, epoch, lambdas, loss_k, data, expected, rel, Wd)
            opt.step()
            if v_lo is not None:
                torch.maximum(log_w, v_lo, out=log_w)
                torch.minimum(log_w, v_hi, out=log_w)
        if bar is not None:
            bar.close()
        weights = _det_weights(torch, log_w, log_a).double().cpu().numpy()
    return {"weights": weights, "history": _history_frame(hist), "seconds": time.perf_counter() - t0}


class _Adam:
    """torch's Adam (defaults: betas 0.9, 0.999, eps 1e-8) on one tensor, through the fused kernel when there is one.

    Calling ``torch._fused_adam_`` directly skips ``Optimizer.step``'s per-call Python work (measured
    about a third of the step's time for a (2, 55, 5,000) tensor); elsewhere torch's own optimizer runs.
    """

    def __init__(self, torch, P, lr):
        self.torch, self.P, self.lr = torch, P, float(lr)
        self.fused = hasattr(torch, "_fused_adam_") and P.device.type in ("cpu", "cuda")
        if self.fused:
            self.m, self.v = torch.zeros_like(P), torch.zeros_like(P)
            self.steps = torch.zeros((), dtype=torch.float32, device=P.device)
        else:  # pragma: no cover - other devices
            self.opt = torch.optim.Adam([P], lr=lr)

    def step(self):
        if not self.fused:  # pragma: no cover
            self.opt.step()
            return
        self.steps += 1
        self.torch._fused_adam_([self.P], [self.P.grad], [self.m], [self.v], [], [self.steps], amsgrad=False,
                                lr=self.lr, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, maximize=False,
                                grad_scale=None, found_inf=None)


HISTORY_COLUMNS = ["replica", "epoch", "loss", "data_loss", "expected_active", "max_rel_error", "n_active"]
"""The columns of a training history (both engines and the l0-python hook)."""


def _history_frame(rows):
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def _log_bounds(torch, w_bounds, dev):
    """``(log lower, log upper)`` of the weights as float32 (n,) tensors, or ``(None, None)``."""
    if w_bounds is None:
        return None, None
    lower, upper = (np.asarray(x, dtype=float) for x in w_bounds)
    return tuple(torch.tensor(np.log(np.maximum(x, 1e-30)), dtype=torch.float32, device=dev) for x in (lower, upper))


def _record(hist, bar, epoch, lambdas, loss_k, data, expected, rel, Wd):
    """Append every replica's history row (``Wd``: deterministic weights, (K, n)), before the epoch's update.

    Non-finite losses or weights stop the training with a ``FloatingPointError`` naming the replica.
    """
    bad = ~loss_k.isfinite() | ~Wd.isfinite().all(dim=1)
    if bool(bad.any()):
        k = int(bad.nonzero()[0])
        raise FloatingPointError(
            f"Hard Concrete training diverged: non-finite loss or weights for lambda_l0={lambdas[k]:g} "
            f"(replica {k}) by epoch {epoch + 1}; lower lr or check the targets"
        )
    nact = (Wd > 0).sum(dim=1)
    for k in range(len(lambdas)):
        hist.append((k, epoch + 1, float(loss_k[k]), float(data[k]), float(expected[k]), float(rel[k]),
                     int(nact[k])))
    if bar is not None:
        bar.update(epoch + 1 - bar.n)
        bar.set_postfix(loss=f"{float(loss_k.mean()):.4g}", active=int(nact.float().mean()))


def _det_weights(torch, log_w, log_a):
    s = torch.sigmoid(log_a.clamp(-LOG_ALPHA_BOUND, LOG_ALPHA_BOUND) / BETA)
    return torch.exp(log_w) * (s * (ZETA - GAMMA) + GAMMA).clamp(0, 1)
