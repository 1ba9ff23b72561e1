"""The reference Hard Concrete engine: l0-python's own operations through torch's autograd (bitwise equal to
l0-python for one replica on CPU)."""

from __future__ import annotations

import time

import numpy as np
from tqdm.auto import tqdm

from ..problem.gates import BETA, EPS, GAMMA, LOG_ALPHA_BOUND, ZETA
from .hc_common import det_weights, history_frame, initial_state, log_bounds, record, require_torch, scaled_operator

__all__ = ["train_autograd"]


def train_autograd(At_rec, b_t, w0, lambdas, seeds, cfg):
    """The reference engine: l0-python's operations through autograd (see
    :func:`reweightkit.solvers.hardconcrete.train_hard_concrete`); ``cfg`` a :class:`TrainConfig`."""
    epochs, lr, init_keep_prob, lambda_l2 = cfg.epochs, cfg.lr, cfg.init_keep_prob, cfg.lambda_l2
    log_alpha_jitter_sd, device, history_every = cfg.log_alpha_jitter_sd, cfg.device, cfg.history_every
    verbose, desc, w_bounds, l2_center = cfg.verbose, cfg.desc, cfg.w_bounds, cfg.l2_center
    torch = require_torch()
    dev = torch.device(device)
    t0 = time.perf_counter()
    M = scaled_operator(torch, At_rec, dev)
    y = torch.tensor(b_t / np.sqrt(2.0), dtype=torch.float32, device=dev)
    lambdas, K, n, gens, la0, lw0 = initial_state(torch, At_rec, w0, lambdas, seeds, init_keep_prob, log_alpha_jitter_sd, dev)
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
    v_lo, v_hi = log_bounds(torch, w_bounds, dev)
    if v_lo is not None:
        v_lo, v_hi = v_lo[:, None], v_hi[:, None]
    c = -BETA * torch.log(torch.tensor(-GAMMA / ZETA, device=dev))
    U = torch.empty(K, n, device=dev)
    cost = None if cfg.gate_cost is None else torch.tensor(np.asarray(cfg.gate_cost, dtype=np.float32),
                                                           device=dev)[:, None]

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
        prob = torch.sigmoid(la + c)  # P(gate open), (n, K)
        expected = prob.sum(dim=0)
        loss_k = data + lam * (expected if cost is None else (prob * cost).sum(dim=0))
        if lambda_l2 > 0 and center is None:
            loss_k = loss_k + lambda_l2 * (torch.exp(log_w) ** 2).sum(dim=0)
        elif lambda_l2 > 0:
            loss_k = loss_k + lambda_l2 * (((torch.exp(log_w) - center) * inv_center) ** 2).sum(dim=0)
        loss = loss_k.sum()
        if (epoch + 1) % history_every == 0 or epoch + 1 == epochs:
            # recorded before this epoch's update, as the l0-python hook sees it
            with torch.no_grad():
                Wd = det_weights(torch, log_w, log_a)
                rel = (predict(Wd) - y[:, None]).abs().max(dim=0).values * np.sqrt(2.0)
                record(hist, bar, epoch, lambdas, loss_k, data, expected, rel, Wd.T)
        opt.zero_grad()
        loss.backward()
        opt.step()
        if v_lo is not None:
            with torch.no_grad():
                log_w.copy_(torch.clamp(log_w, min=v_lo, max=v_hi))
    if bar is not None:
        bar.close()
    with torch.no_grad():
        weights = det_weights(torch, log_w, log_a).T.double().cpu().numpy()
    return {"weights": weights, "history": history_frame(hist), "seconds": time.perf_counter() - t0}


