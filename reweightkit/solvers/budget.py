"""An exact record budget: the penalty that keeps about ``k`` records, found by bisection.

Both searches accept a count within :func:`budget_tolerance` of ``k`` (``max(2 %, 5)``
records) and otherwise raise a ``ValueError`` that names the reachable counts closest
to ``k`` on either side, with the penalties that gave them: the count of an L1 fit
often *jumps* (a FISTA point of a degenerate optimal set keeps thousands of records
where a neighbouring penalty keeps four), and Hard Concrete's count is a random
function of the penalty.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from numbers import Integral

import numpy as np
from tqdm.auto import tqdm

from ..problem.nnlasso import alpha_grid, kkt_residual, lambda_max
from ..problem.scoring import n_active
from .hardconcrete import train_hard_concrete
from .path import L1Engine

__all__ = ["budget_tolerance", "check_budget", "BudgetSearch", "l1_for_budget", "hard_concrete_for_budgets",
           "hard_concrete_for_budget"]


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


def check_budget(k, n_max, what="records"):
    """A record budget checked once for every method: an integer ``1 <= k <= n_max``, else an error naming it.

    Parameters
    ----------
    k : int
        The budget (``n_records``).
    n_max : int
        How many records the method can keep at most.
    what : str, default "records"
        What ``n_max`` counts, for the message.

    Returns
    -------
    int
        ``k`` as an int.
    """
    if isinstance(k, bool) or not isinstance(k, Integral):
        raise TypeError(f"n_records must be an integer, got {type(k).__name__} {k!r}")
    if not 1 <= int(k) <= n_max:
        raise ValueError(f"n_records must be between 1 and the number of {what} ({n_max}), got {k}")
    return int(k)


@dataclass
class BudgetSearch:
    """What a batched budget search found: the fits that met their budgets, and why the others did not.

    Parameters
    ----------
    found : dict
        ``k -> (lambda_l0, weights, history)`` for every budget met.
    missed : dict
        ``k -> message`` (the nearest reachable counts) for every budget not met.
    """

    found: dict = field(default_factory=dict)
    missed: dict = field(default_factory=dict)


def _unreachable(k, tried, what, extra=""):
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
    return ValueError(f"no {what} tried gives n_records={k} within {budget_tolerance(k):g} records: the nearest "
                      f"reached are {' and '.join(near) or 'none'}{extra}")


BUDGET_SOLVERS = ("auto", "fista", "active-set")
"""The L1 solvers a record budget can search with (the interior point returns the analytic centre of the
optimal set, the point with the most records, so its count says nothing about the penalty)."""


def l1_for_budget(At_rec, b_t, w0, k, tol=1e-8, max_iter=20000, upper=None, n_grid=24, n_bisect=30, verbose=False,
                  solver="fista"):
    """The NN-LASSO penalty whose certified solution keeps about ``k`` records.

    A warm-started path over ``lambda_max * alpha_grid(n_grid, eps=1e-4)``, strong to
    weak, brackets ``k`` (it stops at the first count above ``k``: the weak penalties,
    slowest to certify, are never solved); bisection in ``log lambda`` inside the bracket
    (each fit warm-started from the stronger end; the QR active set continues from its
    last support) closes it.

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
        The certificate and FISTA's iterations per fit.
    upper : ndarray, shape (n,), optional
        Upper bounds on ``w`` (``solver="fista"`` only).
    n_grid : int, default 24
        Path points.
    n_bisect : int, default 30
        Bisection steps at most.
    verbose : bool, default False
        Progress bars: the path, then the bisection.
    solver : {"fista", "active-set", "auto"}, default "fista"
        Whose point is counted (the optimum is often a set).  ``"auto"``: the active set where a
        basic solution can keep ``k`` records (``k <= m``, no ``upper``), FISTA otherwise.  ``"fista"``: the point its
        iterations reach from the warm start; at weak penalties on a degenerate problem it
        may not certify within ``max_iter`` (at ``rk.nation(0.1)`` it did not below
        ``alpha ~ 0.008``, about 2,700 records).  ``"active-set"``: a basic solution
        (at most ``rank(A~) <= m`` records), certified to rounding at any penalty
        (:func:`reweightkit.solvers.qr_active_set.qr_active_set` above ``DENSE_CAP``);
        ``k`` above ``m`` is refused at once.

    Returns
    -------
    L1Solution
        The certified solution whose count is within :func:`budget_tolerance` of ``k``
        (``kkt`` filled).

    Raises
    ------
    ValueError
        When no penalty tried gives such a count (with the nearest reachable counts),
        or the solver cannot search a budget.
    """
    if solver not in BUDGET_SOLVERS:
        raise ValueError(f"a record budget needs solver 'auto', 'fista' or 'active-set', got {solver!r}" + (
            ": the interior point returns the analytic centre of the optimal set (every record some optimal "
            "point uses), so its count is not a property of the penalty" if solver == "ipm" else ""))
    m = At_rec.shape[1]
    if solver == "auto":  # a basic solution where one can keep k records (at most m), FISTA's point above
        solver = "active-set" if upper is None and k <= m else "fista"
    if upper is not None and solver != "fista":
        raise ValueError("upper bounds on the weights (bounds=) are supported by solver='fista' only")
    band = budget_tolerance(k)
    if solver == "active-set" and k > m + band:
        raise ValueError(f"n_records={k}: solver='active-set' returns basic solutions, which keep at most "
                         f"rank(A~) <= {m:,} records (one per target); choose n_records <= {m:,}, or solver='fista'")
    lam_max = lambda_max(At_rec, b_t)
    engine = L1Engine(At_rec, b_t, solver, tol=tol, max_iter=max_iter, upper=upper, w0=w0)
    sols, counts = [], []
    # strong to weak, warm-started, stopping once a count passes k: the weak end (slowest to certify) is not needed
    for lam in tqdm(lam_max * alpha_grid(n_grid, eps=1e-4), desc=f"L1 budget {k}: path", disable=not verbose):
        prev = sols[-1].w if sols else None
        sols.append(engine.solve(lam, w0 if prev is None else prev, prev))
        counts.append(n_active(sols[-1].w))
        if counts[-1] > k + band:
            break
    tried = [(s.lam / lam_max, c) for s, c in zip(sols, counts)]

    def done(sol):
        sol.kkt = kkt_residual(At_rec, b_t, sol.w, sol.lam, lam_max, upper)
        return sol

    hits = [i for i, c in enumerate(counts) if abs(c - k) <= band]
    if hits:
        return done(sols[min(hits, key=lambda i: abs(counts[i] - k))])
    brackets = [i for i in range(len(counts) - 1) if (counts[i] - k) * (counts[i + 1] - k) < 0]
    bar = tqdm(total=len(brackets) * n_bisect, desc=f"L1 budget {k}: bisection", disable=not verbose)
    for i in brackets:
        strong, weak = sols[i], sols[i + 1]
        c_strong = counts[i]
        for _ in range(n_bisect):
            bar.update()
            lam = float(np.sqrt(strong.lam * weak.lam))
            sol = engine.solve(lam, strong.w + 1e-3 * w0, strong.w)
            c = n_active(sol.w)
            tried.append((lam / lam_max, c))
            bar.set_postfix(records=c)
            if abs(c - k) <= band:
                bar.close()
                return done(sol)
            if (c - k) * (c_strong - k) > 0:
                strong, c_strong = sol, c
            else:
                weak = sol
            if weak.lam / strong.lam > 1 - 1e-9:
                break
    bar.close()
    most = max(counts)
    if solver == "active-set" and most < k - band:  # the whole path, to its weakest penalty, stayed below k
        why = (f"; the active set's basic solutions kept at most {most} records down to "
               f"alpha={min(a for a, _ in tried):.4g}, the weakest penalty of its path: a basic solution keeps at most "
               f"rank(A~) records, and with these {m:,} train targets that rank may be below {k} (dependent targets, "
               f"or a held-out family that leaves few); choose n_records <= {most}, or solver='fista', whose points "
               f"may keep more (uncertified at weak penalties)")
    else:
        why = ("; an L1 count can jump between neighbouring penalties (a degenerate optimal set), so this budget may be "
               "out of L1's reach: choose a nearby budget or another method" + (
                   "; solver='active-set' counts basic solutions (at most rank(A~) records)" if solver == "active-set"
                   else ""))
    raise _unreachable(k, tried, "alpha", extra=why)


PER_ROUND = 8
"""Penalties a Hard Concrete budget search trains per budget and round (its batch: ``PER_ROUND`` per budget)."""


def hard_concrete_for_budgets(At_rec, b_t, w0, budgets, seed, *, rounds=8, per_round=PER_ROUND, lam_range=(1e-9, 1e-1),
                              **train_kw):
    """For each budget ``k``, the ``lambda_l0`` whose trained gates keep about ``k`` records (batched bisection).

    Round one trains ``per_round`` penalties over ``lam_range`` (shared by every
    budget); each later round trains, for every budget not yet met, ``per_round``
    penalties inside its bracket (between the largest penalty keeping more than
    ``k`` records and the smallest larger one keeping fewer), all budgets in one
    batched computation with the same seed.  When no bracket exists yet (every
    penalty tried keeps more than ``k`` records, or every one fewer), the range is
    extended by three decades in that direction: any budget is reachable, whatever
    the problem's scale.  Replicas never interact, so each returned fit is the one a
    single fit at that penalty and seed gives.

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
    rounds : int, default 8
        Bisection rounds.
    per_round : int, default 8
        Penalties trained per budget and round.
    lam_range : tuple, default (1e-9, 1e-1)
        The first round's range of ``lambda_l0``.
    **train_kw
        Passed to :func:`reweightkit.train_hard_concrete` (its ``history`` must be kept).

    Returns
    -------
    BudgetSearch
        ``found[k] = (lam, weights, history)`` for every budget met (``history``: that
        replica's training history, as a one-replica :func:`reweightkit.train_hard_concrete`
        history), ``missed[k]`` a message naming the nearest reachable counts for every
        budget that was not.
    """
    tried = {k: [] for k in budgets}
    result = BudgetSearch()
    found = result.found
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
            fewer = [lam for lam, c in tried[k] if c < k and (not more or lam > max(more))]
            if more and fewer:
                plan[k] = np.geomspace(max(more), min(fewer), per_round + 2)[1:-1]
            elif more:  # every penalty keeps too many records: look three decades higher
                plan[k] = np.geomspace(max(more) * 10, max(more) * 1e3, per_round)
            elif fewer:  # every penalty keeps too few: look three decades lower
                plan[k] = np.geomspace(min(fewer) * 1e-3, min(fewer) * 0.1, per_round)
            else:
                plan[k] = None
    for k in budgets:
        if k not in found:
            result.missed[k] = str(_unreachable(k, tried[k], "lambda_l0", extra=(
                "; within the penalties tried the count never came within the tolerance (it is a random function of "
                "the penalty): train longer (epochs) or with another seed")))
    return result


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
    res = hard_concrete_for_budgets(At_rec, b_t, w0, [k], seed, **kw)
    if k in res.missed:
        raise ValueError(res.missed[k])
    return res.found[k]
