"""An exact record budget: the penalty that keeps about ``k`` records, found by bisection.

Both searches accept a count within :func:`budget_tolerance` of ``k`` (``max(2 %, 5)``
records) and otherwise raise a ``ValueError`` that names the reachable counts closest
to ``k`` on either side, with the penalties that gave them: the count of an L1 fit
often *jumps* (a FISTA point of a degenerate optimal set keeps thousands of records
where a neighbouring penalty keeps four), and Hard Concrete's count is a random
function of the penalty.
"""

from __future__ import annotations

import numpy as np

from ..problem.nnlasso import alpha_grid, lambda_max
from ..problem.scoring import n_active
from .hardconcrete import train_hard_concrete
from .path import nn_lasso_path

__all__ = ["budget_tolerance", "l1_for_budget", "hard_concrete_for_budgets", "hard_concrete_for_budget"]


def budget_tolerance(k: int) -> float:
    """How far from ``k`` a count may be: ``max(0.02 k, 5)`` records.

    Parameters
    ----------
    k : int
        The budget.

    Returns
    -------
    float
    """
    return max(0.02 * k, 5.0)


def _unreachable(k, tried, what):
    """The error for a budget no tried penalty reached: the nearest counts below and above ``k``."""
    below = [(c, p) for p, c in tried if c < k]
    above = [(c, p) for p, c in tried if c > k]
    near = []
    if below:
        c, p = max(below)
        near.append(f"{c} records ({what}={p:.4g})")
    if above:
        c, p = min(above)
        near.append(f"{c} records ({what}={p:.4g})")
    return ValueError(f"no {what} gives n_records={k} within {budget_tolerance(k):g} records: the count jumps; the "
                      f"nearest reachable are {' and '.join(near) or 'none'}")


def l1_for_budget(At_rec, b_t, w0, k, tol=1e-8, max_iter=20000, upper=None, n_grid=24, n_bisect=30):
    """The NN-LASSO penalty whose certified solution keeps about ``k`` records.

    A warm-started path over ``lambda_max * alpha_grid(n_grid, eps=1e-4)`` brackets
    ``k``; bisection in ``log lambda`` inside the bracket (each fit warm-started from
    the stronger end) closes it.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    w0 : ndarray, shape (n,)
        Cold start.
    k : int
        Records to keep.
    tol, max_iter
        FISTA's certificate and iterations per fit.
    upper : ndarray, shape (n,), optional
        Upper bounds on ``w``.
    n_grid : int, default 24
        Path points.
    n_bisect : int, default 30
        Bisection steps at most.

    Returns
    -------
    L1Solution
        The certified solution whose count is within :func:`budget_tolerance` of ``k``.

    Raises
    ------
    ValueError
        When no penalty tried gives such a count (with the nearest reachable counts).
    """
    lam_max = lambda_max(At_rec, b_t)
    lams = lam_max * alpha_grid(n_grid, eps=1e-4)
    sols = nn_lasso_path(At_rec, b_t, lambdas=lams, w0=w0, tol=tol, max_iter=max_iter, upper=upper)["solutions"]
    counts = [n_active(s.w) for s in sols]
    tried = list(zip(lams / lam_max, counts))
    band = budget_tolerance(k)
    hits = [i for i, c in enumerate(counts) if abs(c - k) <= band]
    if hits:
        return sols[min(hits, key=lambda i: abs(counts[i] - k))]
    brackets = [i for i in range(len(counts) - 1) if (counts[i] - k) * (counts[i + 1] - k) < 0]
    for i in brackets:
        strong, weak = sols[i], sols[i + 1]
        c_strong = counts[i]
        for _ in range(n_bisect):
            lam = float(np.sqrt(strong.lam * weak.lam))
            sol = nn_lasso_path(At_rec, b_t, lambdas=[lam], w0=strong.w + 1e-3 * w0, tol=tol, max_iter=max_iter,
                                upper=upper)["solutions"][0]
            c = n_active(sol.w)
            tried.append((lam / lam_max, c))
            if abs(c - k) <= band:
                return sol
            if (c - k) * (c_strong - k) > 0:
                strong, c_strong = sol, c
            else:
                weak = sol
            if weak.lam / strong.lam > 1 - 1e-9:
                break
    raise _unreachable(k, tried, "alpha")


def hard_concrete_for_budgets(At_rec, b_t, w0, budgets, seed, *, rounds=5, per_round=8, lam_range=(1e-9, 1e-1),
                              **train_kw):
    """For each budget ``k``, the ``lambda_l0`` whose trained gates keep about ``k`` records (batched bisection).

    Round one trains ``per_round`` penalties over ``lam_range`` (shared by every
    budget); each later round trains, for every budget not yet met, ``per_round``
    penalties inside its bracket (between the largest penalty keeping more than
    ``k`` records and the smallest larger one keeping fewer), all budgets in one
    batched computation with the same seed.  Replicas never interact, so each
    returned fit is the one a single fit at that penalty and seed gives.

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    w0 : ndarray, shape (n,)
        Start weights.
    budgets : sequence of int
        Records to keep.
    seed : int or None
        The seed of every replica.
    rounds : int, default 5
        Bisection rounds.
    per_round : int, default 8
        Penalties trained per budget and round.
    lam_range : tuple, default (1e-9, 1e-1)
        The first round's range of ``lambda_l0``.
    **train_kw
        Passed to :func:`reweightkit.train_hard_concrete` (its ``history`` must be kept).

    Returns
    -------
    dict
        ``k -> (lam, weights, history)`` for every budget met (``history``: that
        replica's training history, as a one-replica :func:`reweightkit.train_hard_concrete`
        history), and ``k -> ValueError`` (naming the nearest reachable counts) for
        every budget that was not.
    """
    tried = {k: [] for k in budgets}
    found = {}
    plan = {k: np.geomspace(*lam_range, per_round) for k in budgets}
    shared = np.geomspace(*lam_range, per_round)
    for r in range(rounds):
        todo = [k for k in budgets if k not in found and plan.get(k) is not None]
        if not todo:
            break
        lams = shared if r == 0 else np.concatenate([plan[k] for k in todo])
        out = train_hard_concrete(At_rec, b_t, w0, lams, None if seed is None else [seed] * lams.size, **train_kw)
        hist = out["history"]
        counts = np.array([n_active(w) for w in out["weights"]])
        for j, k in enumerate(todo):
            idx = np.arange(lams.size) if r == 0 else np.arange(j * per_round, (j + 1) * per_round)
            tried[k] += list(zip(lams[idx], counts[idx]))
            best = idx[np.argmin(np.abs(counts[idx] - k))]
            if abs(counts[best] - k) <= budget_tolerance(k):
                h = hist[hist["replica"] == best].assign(replica=0).reset_index(drop=True)
                found[k] = (float(lams[best]), out["weights"][best], h)
                continue
            more = [lam for lam, c in tried[k] if c > k]  # counts fall as lambda grows
            fewer = [lam for lam, c in tried[k] if c < k and more and lam > max(more)]
            plan[k] = np.geomspace(max(more), min(fewer), per_round + 2)[1:-1] if fewer else None
    return {k: found[k] if k in found else _unreachable(k, tried[k], "lambda_l0") for k in budgets}


def hard_concrete_for_budget(At_rec, b_t, w0, k, seed, **kw):
    """The ``lambda_l0`` whose trained gates keep about ``k`` records (:func:`hard_concrete_for_budgets`, one budget).

    Parameters
    ----------
    At_rec : sparse matrix, shape (n, m)
        ``A_tilde'`` record-major.
    b_t : ndarray, shape (m,)
        ``b_tilde``.
    w0 : ndarray, shape (n,)
        Start weights.
    k : int
        Records to keep.
    seed : int or None
        The seed.
    **kw
        Passed to :func:`hard_concrete_for_budgets`.

    Returns
    -------
    lam : float
        The chosen ``lambda_l0``.
    weights : ndarray, shape (n,)
        Its trained weights.
    history : DataFrame
        Its training history.

    Raises
    ------
    ValueError
        When no round reached a count within :func:`budget_tolerance` of ``k``.
    """
    res = hard_concrete_for_budgets(At_rec, b_t, w0, [k], seed, **kw)[k]
    if isinstance(res, ValueError):
        raise res
    return res
