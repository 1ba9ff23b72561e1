"""What both Hard Concrete engines share: torch on demand, the training parameters (:class:`TrainConfig`),
l0-python's initial draws, the scaled operator, and the training history."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..problem.gates import BETA, GAMMA, LOG_ALPHA_BOUND, ZETA

__all__ = ["TrainConfig", "require_torch", "check_device", "HISTORY_COLUMNS"]


@dataclass(frozen=True)
class TrainConfig:
    """The training parameters of a Hard Concrete run: one object, passed to either engine.

    Parameters
    ----------
    epochs : int, default 2000
        Adam steps (one gate sample each).
    lr : float, default 0.1
        Adam learning rate.
    init_keep_prob : float, default 0.99
        Initial probability that a gate is open.
    lambda_l2 : float, default 0.0
        Penalty on the squared weights (or, with ``l2_center``, on the relative distance to it).
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
    w_bounds : tuple of ndarray, optional
        ``(lower, upper)`` on the weights before gating.
    l2_center : ndarray, optional
        The design-aware L2 centre.
    gate_cost : ndarray, optional
        Per-record multipliers ``c_j`` of the L0 penalty, ``lambda sum_j c_j P(g_j != 0)``
        (``None``: every gate costs ``lambda``).
    """

    epochs: int = 2000
    lr: float = 0.1
    init_keep_prob: float = 0.99
    lambda_l2: float = 0.0
    log_alpha_jitter_sd: float = 0.01
    device: str = "cpu"
    history_every: int = 50
    verbose: bool = False
    desc: str = "HardConcrete"
    w_bounds: tuple | None = None
    l2_center: np.ndarray | None = None
    gate_cost: np.ndarray | None = None


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


def scaled_operator(torch, At_rec, device):
    """``A~ / sqrt(2)`` as the float32 sparse COO tensor l0-python builds (same entry order)."""
    M = (At_rec.T / np.sqrt(2.0)).tocsr().tocoo()
    idx = torch.from_numpy(np.vstack([M.row, M.col]).astype(np.int64)).to(device)
    vals = torch.from_numpy(M.data.astype(np.float32)).to(device)
    return torch.sparse_coo_tensor(idx, vals, M.shape, dtype=torch.float32, device=device, check_invariants=False)


def check_replica_seeds(seeds, K):
    """``seeds`` as a list of ``K`` seeds (or None for all), else ValueError."""
    if seeds is None:
        return None
    seeds = list(seeds)
    if len(seeds) != K:
        raise ValueError(f"seeds has length {len(seeds)} but there are {K} lambdas")
    if any(s is None for s in seeds):
        raise ValueError("seeds must be all integers or None as a whole, got a None inside the list")
    return seeds


def initial_state(torch, At_rec, w0, lambdas, seeds, init_keep_prob, log_alpha_jitter_sd, dev):
    """Per-replica generators and the initial ``(log_w, log_alpha)``, both (n, K): l0-python's draws."""
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
    K = lambdas.size
    seeds = check_replica_seeds(seeds, K)
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


HISTORY_COLUMNS = ["replica", "epoch", "loss", "data_loss", "expected_active", "max_rel_error", "n_active"]
"""The columns of a training history (both engines and the l0-python hook)."""


def history_frame(rows):
    return pd.DataFrame(rows, columns=HISTORY_COLUMNS)


def log_bounds(torch, w_bounds, dev):
    """``(log lower, log upper)`` of the weights as float32 (n,) tensors, or ``(None, None)``."""
    if w_bounds is None:
        return None, None
    lower, upper = (np.asarray(x, dtype=float) for x in w_bounds)
    return tuple(torch.tensor(np.log(np.maximum(x, 1e-30)), dtype=torch.float32, device=dev) for x in (lower, upper))


def record(hist, bar, epoch, lambdas, loss_k, data, expected, rel, Wd, offset=0):
    """Append every replica's history row (``Wd``: deterministic weights, (K, n)), before the epoch's update;
    ``offset``: the first replica's index in the whole run (the fast engine's blocks).

    Non-finite losses or weights stop the training with a ``FloatingPointError`` naming the replica.
    """
    bad = ~loss_k.isfinite() | ~Wd.isfinite().all(dim=1)
    if bool(bad.any()):
        k = int(bad.nonzero()[0])
        raise FloatingPointError(
            f"Hard Concrete training diverged: non-finite loss or weights for lambda_l0={lambdas[k]:g} "
            f"(replica {k + offset}) by epoch {epoch + 1}; lower lr or check the targets"
        )
    nact = (Wd > 0).sum(dim=1)
    for k in range(len(lambdas)):
        hist.append((k + offset, epoch + 1, float(loss_k[k]), float(data[k]), float(expected[k]), float(rel[k]),
                     int(nact[k])))
    if bar is not None:
        bar.update(epoch + 1 - bar.n)
        bar.set_postfix(loss=f"{float(loss_k.mean()):.4g}", active=int(nact.float().mean()))


def det_weights(torch, log_w, log_a):
    s = torch.sigmoid(log_a.clamp(-LOG_ALPHA_BOUND, LOG_ALPHA_BOUND) / BETA)
    return torch.exp(log_w) * (s * (ZETA - GAMMA) + GAMMA).clamp(0, 1)
