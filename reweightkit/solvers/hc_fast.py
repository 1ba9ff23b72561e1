"""The fast Hard Concrete engine: l0-python's mathematics with the gradient written out by hand (dense small-m
products, preallocated buffers, one fused Adam call)."""

from __future__ import annotations

import threading
import time
import warnings
from dataclasses import replace

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from ..problem.gates import BETA, EPS, GAMMA, LOG_ALPHA_BOUND, ZETA
from .hc_common import check_replica_seeds, det_weights, history_frame, initial_state, log_bounds, record, require_torch

__all__ = ["train_fast", "n_blocks", "block_count", "DENSE_CAP", "BLOCK_ELEMENTS"]


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


BLOCK_ELEMENTS = 1 << 17
"""On CPU with seeds and a dense ``A~``, the K replicas train in ``n_blocks(K, n)`` blocks of about this many gates
(measured on the published example's 55-fit grid: two blocks of 28 and 27 replicas train 1.1x faster than one
batch on one thread, and on two threads, one block each, 1.4x faster than one batch on torch's two threads)."""


def n_blocks(K, n):
    """How many blocks ``K`` seeded replicas of ``n`` gates train in on CPU: about ``K n / BLOCK_ELEMENTS``,
    at least 1 and at most ``K``.  It depends on the problem only, never on the thread count."""
    return int(min(K, max(1, round(K * n / BLOCK_ELEMENTS))))


def block_count(shape, K, seeded, device):
    """The number of blocks the fast engine trains ``K`` replicas in on a ``shape = (n, m)`` problem, or None
    where it trains one batch on torch's threads (not on CPU, no seeds, or ``A~`` too large to keep dense)."""
    n, m = shape
    if not seeded or n * m > DENSE_CAP or str(device).split(":")[0] != "cpu":
        return None
    return n_blocks(K, n)


def train_fast(At_rec, b_t, w0, lambdas, seeds, cfg):
    """The fast engine (see :func:`reweightkit.solvers.hardconcrete.train_hard_concrete`): hand-written gradient, no
    per-epoch allocation of (K, n) arrays; ``cfg`` a :class:`TrainConfig`.

    Where ``A~`` is kept dense (``m n <= DENSE_CAP``) on CPU with seeds, the replicas train in
    :func:`n_blocks` contiguous blocks, each with torch on one thread, the blocks on up to
    ``torch.get_num_threads()`` Python threads (torch's kernels release the GIL).  A block computes the same on
    any thread count, so there the weights do not depend on it.  Larger problems (sparse products, which batching
    the replicas speeds up) train as one batch on torch's threads, whose count then changes the rounding
    (module docstring of :mod:`reweightkit.solvers.hardconcrete`).
    """
    torch = require_torch()
    t0 = time.perf_counter()
    lambdas = np.atleast_1d(np.asarray(lambdas, dtype=float))
    K, n = lambdas.size, At_rec.shape[0]
    threads = torch.get_num_threads()
    if block_count(At_rec.shape, K, seeds is not None, torch.device(cfg.device).type) is None:  # one batch
        out = _train_block(torch, At_rec, b_t, w0, lambdas, seeds, cfg, torch_threads=threads)
        out["seconds"] = time.perf_counter() - t0
        return out
    seeds = check_replica_seeds(seeds, K)  # before the blocks slice it
    blocks = np.array_split(np.arange(K), n_blocks(K, n))
    workers = min(threads, len(blocks))
    stop = threading.Event()  # set when one block fails or the caller is interrupted: the others end at once

    def block(i):
        ix = blocks[i]
        # progress: every block's bar in turn on one thread, the first block's where they run together
        shown = replace(cfg, verbose=cfg.verbose and (workers == 1 or i == 0),
                        desc=f"{cfg.desc} (block {i + 1} of {len(blocks)})" if workers == 1 < len(blocks) else cfg.desc)
        return _train_block(torch, At_rec, b_t, w0, lambdas[ix], [seeds[k] for k in ix], shown, offset=int(ix[0]),
                            torch_threads=1, stop=stop)

    outs, errors = [None] * len(blocks), []

    def worker(w):  # blocks w, w + workers, ...: a fixed share, so no queue
        for i in range(w, len(blocks), workers):
            if stop.is_set():
                return
            try:
                outs[i] = block(i)
            except BaseException as e:  # the first error is the cause; the others are blocks it stopped
                errors.append(e)
                stop.set()
                return

    try:
        if workers == 1:
            outs = [block(i) for i in range(len(blocks))]
        else:
            pool = [threading.Thread(target=worker, args=(w,), name=f"hard-concrete-block-{w}") for w in range(workers)]
            try:
                for t in pool:
                    t.start()
                for t in pool:
                    t.join()
            except BaseException:  # KeyboardInterrupt, also while the threads start: every block stops at once
                stop.set()
                raise
            finally:
                for t in pool:
                    if t.ident is not None:
                        t.join()  # no block outlives the call
            if errors:
                raise errors[0]
    finally:
        torch.set_num_threads(threads)  # each block set its own thread's count; the caller's is restored
    hist = pd.concat([o["history"] for o in outs], ignore_index=True)
    hist = hist.sort_values(["epoch", "replica"], kind="stable", ignore_index=True)
    return {"weights": np.vstack([o["weights"] for o in outs]), "history": hist,
            "seconds": time.perf_counter() - t0}


def _train_block(torch, At_rec, b_t, w0, lambdas, seeds, cfg, *, torch_threads, offset=0, stop=None):
    """One batch of replicas (the engine's loop) with ``torch_threads`` threads for torch on the calling thread;
    ``offset``: the first replica's index in the run; ``stop``: an event that ends the training (raises)."""
    epochs, lr, init_keep_prob, lambda_l2 = cfg.epochs, cfg.lr, cfg.init_keep_prob, cfg.lambda_l2
    log_alpha_jitter_sd, device, history_every = cfg.log_alpha_jitter_sd, cfg.device, cfg.history_every
    verbose, desc, w_bounds, l2_center = cfg.verbose, cfg.desc, cfg.w_bounds, cfg.l2_center
    torch.set_num_threads(torch_threads)
    dev = torch.device(device)
    with torch.no_grad():
        op = _Operator(torch, At_rec, dev)
        y = torch.tensor(b_t / np.sqrt(2.0), dtype=torch.float32, device=dev)
        lambdas, K, n, gens, la0, lw0 = initial_state(torch, At_rec, w0, lambdas, seeds, init_keep_prob,
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
        v_lo, v_hi = log_bounds(torch, w_bounds, dev)
        c = float(-BETA * np.log(np.float32(-GAMMA / ZETA)))
        u, t, la, z, gate, ew, W, s2 = torch.empty(8, K, n, device=dev)
        cost = None
        if cfg.gate_cost is None:
            lam_kn = lam.expand(K, n)
        else:  # lambda_k c_j: each gate's own price
            cost = torch.tensor(np.asarray(cfg.gate_cost, dtype=np.float32), device=dev)
            lam_kn = (lam * cost[None, :]).contiguous()
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
        try:
            for epoch in range(epochs):
                if stop is not None and stop.is_set():
                    raise RuntimeError("Hard Concrete training stopped: another block of replicas failed")
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
                penalty = expected if cost is None else z @ cost
                torch.mul(z, z, out=s2)
                torch.sub(z, s2, out=z)
                g_a.addcmul_(z, lam_kn)
                lo, hi = torch.aminmax(log_a)
                if float(lo) < -LOG_ALPHA_BOUND or float(hi) > LOG_ALPHA_BOUND:  # the clamp stops the gradient
                    g_a.masked_fill_(log_a.abs() > LOG_ALPHA_BOUND, 0.0)
                loss_k = data + lam[:, 0] * penalty
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
                    Wd = det_weights(torch, log_w, log_a)
                    rel = (op.predict(Wd) - y).abs().max(dim=1).values * np.sqrt(2.0)
                    record(hist, bar, epoch, lambdas, loss_k, data, expected, rel, Wd, offset=offset)
                opt.step()
                if v_lo is not None:
                    torch.maximum(log_w, v_lo, out=log_w)
                    torch.minimum(log_w, v_hi, out=log_w)
        finally:
            if bar is not None:
                bar.close()
        weights = det_weights(torch, log_w, log_a).double().cpu().numpy()
    return {"weights": weights, "history": history_frame(hist)}


class _Adam:
    """torch's Adam (defaults: betas 0.9, 0.999, eps 1e-8) on one tensor, through the fused kernel when there is one.

    Calling torch's public functional Adam (``torch.optim.adam.adam(..., fused=True)``) with the state
    held here skips ``Optimizer.step``'s per-call Python work (measured about a third of the step's
    time for a (2, 55, 5,000) tensor); elsewhere torch's own optimizer runs.
    """

    def __init__(self, torch, P, lr):
        import torch.optim.adam as adam_module  # torch is imported lazily everywhere

        self.torch, self.P, self.lr, self.adam = torch, P, float(lr), adam_module.adam
        self.fused = P.device.type in ("cpu", "cuda")
        if self.fused:
            self.m, self.v = torch.zeros_like(P), torch.zeros_like(P)
            self.steps = torch.zeros((), dtype=torch.float32, device=P.device)
        else:  # pragma: no cover - other devices
            self.opt = torch.optim.Adam([P], lr=lr)

    def step(self):
        if not self.fused:  # pragma: no cover
            self.opt.step()
            return
        self.adam([self.P], [self.P.grad], [self.m], [self.v], [], [self.steps], fused=True, amsgrad=False,
                  lr=self.lr, beta1=0.9, beta2=0.999, weight_decay=0.0, eps=1e-8, maximize=False)


