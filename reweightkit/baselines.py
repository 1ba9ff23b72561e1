"""Classic baselines: raking (generalised, exponential distance) and subsample-then-rake."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from .targets import prepare

__all__ = ["rake", "RakeCalibrator", "SubsampleRakeCalibrator", "RakeWarning"]


class RakeWarning(UserWarning):
    """Raking stopped before the targets were met (often: more targets than usable records)."""


def rake(At_rec, b_t, d, tol=1e-12, max_iter=100):
    """Calibrate design weights ``d`` exactly to ``A~ w = b~`` with ``w = d exp(A~' mu)``.

    Generalised raking (Deville & Sarndal 1992, exponential distance): Newton's
    method on the ``m`` multipliers ``mu`` with a backtracking line search; for
    categorical margins alone this is the fixed point of iterative
    proportional fitting.  Returns ``(w, converged, max_abs_residual)``.
    Raises ``ValueError`` if the targets cannot be reached (e.g. a target
    whose records all have zero design weight).
    """
    m = At_rec.shape[1]
    mu = np.zeros(m)
    w = d.copy()
    F = At_rec.T @ w - b_t
    for _ in range(max_iter):
        if np.max(np.abs(F)) <= tol:
            return w, True, float(np.max(np.abs(F)))
        J = (At_rec.T @ (At_rec.multiply(w[:, None]))).toarray() if m else np.zeros((0, 0))
        step = np.linalg.lstsq(J, -F, rcond=None)[0]
        f0 = float(F @ F)
        t = 1.0
        while t > 1e-10:
            with np.errstate(over="ignore", invalid="ignore"):
                w_new = d * np.exp(np.clip(At_rec @ (mu + t * step), -700, 700))
                F_new = At_rec.T @ w_new - b_t
                f_new = float(F_new @ F_new)
            if np.isfinite(f_new) and f_new < f0:
                break
            t *= 0.5
        mu, w, F = mu + t * step, w_new, F_new
    res = float(np.max(np.abs(F)))
    return w, res <= 1e-8, res


class RakeCalibrator:
    """Dense reference: all records raked to the train targets (no sparsity)."""

    def __init__(self, tol=1e-12):
        self.tol = tol

    def fit(self, df, marginal_targets, continuous_targets=None, weight_col="weight"):
        prob = prepare(df, marginal_targets, continuous_targets, weight_col)
        self.weights_, self.converged_, self.max_residual_ = rake(prob.At_rec, prob.b_t, prob.w0, tol=self.tol)
        if not self.converged_:
            warnings.warn(f"raking did not reach the targets (largest relative residual {self.max_residual_:.3g})",
                          RakeWarning, stacklevel=2)
        self.n_active_ = int(np.count_nonzero(self.weights_ > 0))
        return self


def _proportional_allocation(sizes, k):
    """Largest-remainder allocation of ``k`` over cells, at least one per cell, at most the cell size."""
    sizes = np.asarray(sizes)
    quota = k * sizes / sizes.sum()
    alloc = np.clip(np.floor(quota).astype(int), 1, sizes)
    while alloc.sum() < k:
        room = alloc < sizes
        j = np.flatnonzero(room)[np.argmax((quota - alloc)[room])]
        alloc[j] += 1
    while alloc.sum() > k:
        room = alloc > 1
        j = np.flatnonzero(room)[np.argmin((quota - alloc)[room])]
        alloc[j] -= 1
    return alloc


class SubsampleRakeCalibrator:
    """Keep ``n_records`` records at random within cells, then rake them to the targets.

    The cells are the cross-classification of the train categorical
    variables; each keeps a share of ``n_records`` proportional to its size
    (largest remainders, at least one record per cell), drawn without
    replacement by ``numpy.random.default_rng(seed)``.  The kept records are
    then raked (see :func:`rake`) from their design weights to every train
    target, categorical and continuous; the others get weight 0.

    This is the procedure behind the published comparison's "SparseCalibrator"
    numbers (there with ``k = n exp(-lambda)`` and no seed), and a classic
    baseline: a random subsample calibrated by raking.

    Attributes: ``weights_``, ``n_active_``, ``converged_``, ``kept_`` (indices).
    """

    def __init__(self, n_records, *, seed=None):
        self.n_records = n_records
        self.seed = seed

    def fit(self, df, marginal_targets, continuous_targets=None, weight_col="weight"):
        k = self.n_records
        if isinstance(k, bool) or not isinstance(k, (int, np.integer)):
            raise TypeError(f"n_records must be an integer, got {k!r}")
        prob = prepare(df, marginal_targets, continuous_targets, weight_col)
        n = len(df)
        if k < 1 or k > n:
            raise ValueError(f"n_records must be between 1 and the number of records ({n}), got {k}")
        cols = list(marginal_targets or {})
        cell = pd.Series(0, index=df.index).to_numpy()
        if cols:
            cell = df.groupby(cols, sort=True, dropna=False).ngroup().to_numpy()
        cells, sizes = np.unique(cell, return_counts=True)
        if k < cells.size:
            raise ValueError(f"n_records={k} is fewer than the {cells.size} cells of {cols}: raking needs one record per cell")
        alloc = _proportional_allocation(sizes, k)
        rng = np.random.default_rng(self.seed)
        kept = np.sort(np.concatenate([rng.choice(np.flatnonzero(cell == c), a, replace=False)
                                       for c, a in zip(cells, alloc)]))
        w_sub, conv, res = rake(prob.At_rec[kept], prob.b_t, prob.w0[kept])
        if not conv:
            warnings.warn(f"raking {k} kept records did not reach the targets (largest relative residual "
                          f"{res:.3g}): too few records for {prob.b_t.size} targets", RakeWarning, stacklevel=2)
        self.weights_ = np.zeros(n)
        self.weights_[kept] = w_sub
        self.kept_, self.converged_ = kept, conv
        self.n_active_ = int(np.count_nonzero(self.weights_ > 0))
        return self
