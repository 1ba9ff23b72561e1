r"""Balanced sampling by the cube method (Deville & Tille 2004), and integer weights.

A sample is balanced on variables ``X`` (n x q) when its Horvitz-Thompson totals
``sum_{k in s} x_k / pi_k`` equal the population totals ``sum_k x_k``.  The cube
method moves the vector of inclusion probabilities ``pi`` to a vertex of
``[0, 1]^n`` along directions ``u`` in the null space of the balancing equations,
``sum_k (x_k / pi_k) u_k = 0``, so the totals never change:

- **flight phase** (the fast version of Chauvet & Tille 2006): take ``q + 1`` units
  with non-integer ``pi``; a null-space direction ``u`` of their ``q x (q + 1)``
  balancing matrix exists; move to ``pi + l1 u`` with probability ``l2 / (l1 + l2)``
  or to ``pi - l2 u`` otherwise, where ``l1, l2 > 0`` are the largest steps that stay
  in ``[0, 1]``.  The expected move is zero (so ``E pi_final = pi``) and at least one
  unit becomes 0 or 1.  It ends with at most ``q`` non-integer units.  ``flight="sequential"``
  (the default, reweightkit 0.2's draw) moves one group at a time, the next unit replacing each
  unit that became 0 or 1; compiled with numba (:mod:`._cube_kernel`), it keeps the inverse of the
  group's ``q x q`` matrix from move to move (one O(q^2) update per move instead of a solve,
  O(q^3)), about 1 us per unit at ``q = 20`` (``benchmarks/bench_cube.py``), and settles the same
  units as 0.2's Python flight (kept as ``_sequential_flight_python``; tested on singular and
  categorical balancing matrices too, whose moves take the Python flight's own direction).  Moves
  of *disjoint* groups of units each keep every total, so they can also be made at once:
  ``flight="blocks"`` splits the non-integer units, in their order, into blocks of ``q + 1`` and
  moves every block in one batched numpy step (one batched solve, one uniform per block), then
  re-blocks the units still non-integer, until fewer than ``q + 1`` remain.  Both are the cube
  method: every move keeps the totals and has mean zero; they draw different samples for the
  same seed;
- **landing phase**: while more than :data:`LP_LANDING_UP_TO` units remain non-integer,
  the last balancing variable is dropped and the flight continues; then one LP over
  all samples ``s`` of the remaining ``r`` units chooses a design ``p(s)`` with the
  right inclusion probabilities that minimises the expected squared relative
  balancing error, and one sample is drawn from it.  With a fixed sample size
  (``pi`` itself, or a multiple of it, among the balancing variables and ``sum(pi)``
  an integer), only samples of that size are considered.
"""

from __future__ import annotations

import itertools
import warnings

import numpy as np
import scipy.optimize

from .._validation import check_seed
from ..exceptions import ReweightkitWarning
from ._cube_kernel import EPS, compiled_flight
from ._cube_kernel import null_direction as _null_direction

__all__ = ["LP_LANDING_UP_TO", "flight_phase", "landing_phase", "cube_sample", "inclusion_probabilities",
           "integerize", "systematic_sample"]

LP_LANDING_UP_TO = 12
"""The landing LP enumerates the ``2^r`` samples of the last ``r <= 12`` non-integer units."""


def _check_inputs(X, pi):
    X = np.asarray(X, dtype=float)
    pi = np.asarray(pi, dtype=float)
    if pi.ndim != 1:
        raise ValueError(f"pi must be one-dimensional (one inclusion probability per unit), got shape {pi.shape}")
    if X.ndim == 1:
        X = X[:, None]
    if X.ndim != 2 or X.shape[0] != pi.size:
        raise ValueError(f"X must have one row per unit: shape ({pi.size}, q), got {X.shape}")
    if not np.all(np.isfinite(pi)) or np.any(pi < 0) or np.any(pi > 1):
        raise ValueError("pi must be finite inclusion probabilities in [0, 1]; "
                         f"{int(np.sum(~np.isfinite(pi) | (pi < 0) | (pi > 1)))} are not")
    if not np.all(np.isfinite(X)):
        raise ValueError(f"X has {int((~np.isfinite(X)).sum())} NaN or infinite value(s)")
    free = int(np.sum((pi > EPS) & (pi < 1 - EPS)))
    if free and X.shape[1] >= free:
        raise ValueError(f"the cube method needs fewer balancing variables (q = {X.shape[1]}) than units with "
                         f"0 < pi < 1 ({free})")
    return X, pi


FLIGHTS = ("blocks", "sequential")
"""The flight phase's orders of moves (see the module's text)."""


def flight_phase(X, pi, seed=None, rng=None, *, flight="sequential"):
    """The fast flight phase: ``pi`` moved toward ``{0, 1}^n`` with every balancing total kept.

    Parameters
    ----------
    X : ndarray, shape (n, q)
        Balancing variables.
    pi : ndarray, shape (n,)
        Inclusion probabilities in [0, 1].
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (ignored when ``rng`` is given).
    rng : numpy.random.Generator, optional
        The generator to draw from.
    flight : {"sequential", "blocks"}, default "sequential"
        ``"sequential"``: one group of ``q + 1`` units at a time (reweightkit 0.2's draw), compiled
        (about 1 us per unit at ``q = 20``, ``benchmarks/bench_cube.py``); ``"blocks"``: disjoint
        blocks of ``q + 1`` units moved at once (batched numpy, 4-9x slower).  Different samples
        for the same seed, the same method.

    Returns
    -------
    ndarray, shape (n,)
        The probabilities after the flight: at most ``q`` of them non-integer, and
        ``X' (pi_out / pi) = X' 1`` over the units with ``pi > 0``.
    """
    if flight not in FLIGHTS:
        raise ValueError(f"flight must be 'blocks' or 'sequential', got {flight!r}")
    X, pi = _check_inputs(X, pi)
    rng = np.random.default_rng(check_seed(seed)) if rng is None else rng
    A, out = _flight_start(X, pi)
    if flight == "blocks":
        return _block_flight(A, out, rng)
    return _sequential_flight(A, out, rng)


def _flight_start(X, pi):
    """``(A, out)`` a flight moves: ``A = X / pi`` (zero rows where ``pi = 0``) and ``pi`` with near-integers snapped."""
    out = pi.copy()
    out[out <= EPS] = 0.0
    out[out >= 1 - EPS] = 1.0
    A = np.zeros_like(X)
    pos = pi > 0
    A[pos] = X[pos] / pi[pos, None]  # HT: sum_k a_k pi_k(t) must stay constant
    return A, out


def _block_flight(A, out, rng):
    """Disjoint blocks of ``q + 1`` non-integer units (in unit order) moved at once, re-blocked until fewer remain."""
    q = A.shape[1]
    g = q + 1
    free = np.flatnonzero((out > 0) & (out < 1))  # ascending, and stays so: survivors keep their order
    while free.size >= g:
        nb = free.size // g
        idx = free[: nb * g].reshape(nb, g)
        B = np.swapaxes(A[idx], 1, 2)  # (nb, q, q + 1): each block's balancing matrix
        u = np.empty((nb, g))
        if q:
            with np.errstate(all="ignore"):  # a singular block is caught below and given the SVD's direction
                try:
                    u[:, :q] = np.linalg.solve(B[:, :, :q], -B[:, :, q:])[:, :, 0]
                except np.linalg.LinAlgError:
                    u[:, :q] = np.nan
        u[:, q] = 1.0
        bad = ~np.all(np.isfinite(u), axis=1)
        if bad.any():
            u[bad] = np.linalg.svd(B[bad])[2][:, -1, :]
        u /= np.linalg.norm(u, axis=1, keepdims=True)
        p = out[idx]
        to_one = (u > 0).astype(float)  # the bound a unit moving along +u meets
        with np.errstate(divide="ignore", invalid="ignore"):
            step_up = (to_one - p) / u  # largest step along +u for each unit
            step_down = (p - (1.0 - to_one)) / u  # along -u
        step_up[u == 0] = np.inf
        step_down[u == 0] = np.inf
        l1, l2 = step_up.min(axis=1), step_down.min(axis=1)
        up = rng.random(nb) * (l1 + l2) < l2
        new = np.where(up[:, None], p + l1[:, None] * u, p - l2[:, None] * u)
        new[new <= EPS] = 0.0
        new[new >= 1 - EPS] = 1.0
        out[idx] = new
        free = np.concatenate([idx[(new > 0) & (new < 1)], free[nb * g:]])
    return out


REFRESH = 50
"""The compiled sequential flight inverts its ``q x q`` matrix afresh every this many moves (between them,
one O(q^2) update per move)."""

_WARNED = []


def _compiled_flight():
    """The compiled flight, or None (with a warning, once) where numba cannot be imported."""
    kernel = compiled_flight()
    if kernel is None and not _WARNED:
        _WARNED.append(True)
        warnings.warn("numba cannot be imported: the cube method's sequential flight runs in Python (the same "
                      "samples, 20-160x slower)", ReweightkitWarning, stacklevel=4)
    return kernel


def _sequential_flight(A, out, rng):
    """One group of ``q + 1`` units at a time; the next unit replaces each one that became 0 or 1 (compiled)."""
    kernel = _compiled_flight()
    if kernel is None:
        return _sequential_flight_python(A, out, rng)
    free = np.flatnonzero((out > 0) & (out < 1))
    if free.size < A.shape[1] + 1:
        return out
    # one uniform per move, drawn in advance; the generator is then left where one draw per move leaves it
    state = rng.bit_generator.state
    uniforms = rng.random(free.size)  # a move settles at least one unit: at most free.size moves
    moves = kernel(np.ascontiguousarray(A, dtype=np.float64), out, free.astype(np.int64), uniforms, REFRESH)
    rng.bit_generator.state = state
    rng.random(moves)
    return out


def _sequential_flight_python(A, out, rng):
    """0.2's flight in Python, one solve per move: the reference the compiled flight is tested against."""
    q = A.shape[1]
    queue = iter(np.flatnonzero((out > 0) & (out < 1)))
    active = [k for _, k in zip(range(q + 1), queue)]
    while len(active) == q + 1:
        idx = np.array(active)
        u = _null_direction(A[idx].T)
        p = out[idx]
        with np.errstate(divide="ignore", invalid="ignore"):
            up = np.where(u > 0, (1 - p) / u, np.where(u < 0, -p / u, np.inf))  # steps along +u
            down = np.where(u > 0, p / u, np.where(u < 0, (p - 1) / u, np.inf))  # steps along -u
        l1, l2 = float(up.min()), float(down.min())
        new = p + l1 * u if rng.random() * (l1 + l2) < l2 else p - l2 * u
        new[new <= EPS] = 0.0
        new[new >= 1 - EPS] = 1.0
        out[idx] = new
        active = [k for k, v in zip(active, new) if 0 < v < 1]
        active += [k for _, k in zip(range(q + 1 - len(active)), queue)]
    return out


def landing_phase(X, pi_flight, pi, seed=None, rng=None, *, flight="sequential"):
    """Finish a flight: drop balancing variables while too many units remain, then one LP over samples.

    Parameters
    ----------
    X : ndarray, shape (n, q)
        Balancing variables.
    pi_flight : ndarray, shape (n,)
        Probabilities after :func:`flight_phase`.
    pi : ndarray, shape (n,)
        The original inclusion probabilities (for the Horvitz-Thompson scaling).
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (ignored when ``rng`` is given).
    rng : numpy.random.Generator, optional
        The generator to draw from.
    flight : {"sequential", "blocks"}, default "sequential"
        The flight's order of moves after each dropped variable (:func:`flight_phase`).

    Returns
    -------
    ndarray of bool, shape (n,)
        The sample.
    """
    X, pi = _check_inputs(X, pi)
    rng = np.random.default_rng(check_seed(seed)) if rng is None else rng
    out = np.asarray(pi_flight, dtype=float).copy()
    q = X.shape[1]
    while np.sum((out > 0) & (out < 1)) > LP_LANDING_UP_TO and q > 1:
        q -= 1  # drop the last balancing variable and fly on
        rest = (out > 0) & (out < 1)
        # keep the Horvitz-Thompson scaling of the original pi: flight_phase divides by the probabilities it gets
        X_rest = X[rest][:, :q] / pi[rest, None] * out[rest, None]
        out[rest] = flight_phase(X_rest, out[rest], rng=rng, flight=flight)
    rest = np.flatnonzero((out > 0) & (out < 1))
    if rest.size:
        out[rest] = _lp_landing(X, pi, out, rest, rng)
    return out > 0.5


def _lp_landing(X, pi, out, rest, rng):
    """Choose the remaining units' values by an LP over all their samples, then draw one."""
    r = rest.size
    A = X[rest] / pi[rest, None]
    fixed_total = X[out == 1].T @ (1 / pi[out == 1]) if np.any(out == 1) else np.zeros(X.shape[1])
    target = X[pi > 0].sum(axis=0)
    scale = np.where(np.abs(target) > 0, np.abs(target), 1.0)
    size = float(out[rest].sum())
    fixed_size = _has_size_column(X, pi) and abs(size - round(size)) < 1e-7
    samples = np.array(list(itertools.product((0.0, 1.0), repeat=r)))
    if fixed_size:
        samples = samples[np.isclose(samples.sum(axis=1), round(size))]
    dev = (fixed_total + samples @ A - target) / scale
    cost = np.sum(dev**2, axis=1)
    A_eq = np.vstack([samples.T, np.ones(len(samples))])
    b_eq = np.r_[out[rest], 1.0]
    lp = scipy.optimize.linprog(cost, A_eq=A_eq, b_eq=b_eq, bounds=(0, None), method="highs")
    if lp.status != 0:
        raise RuntimeError(f"the landing LP failed: {lp.message}")
    p = np.maximum(lp.x, 0)
    return samples[rng.choice(len(samples), p=p / p.sum())]


def _has_size_column(X, pi):
    """Whether some balancing variable is proportional to ``pi`` (so the sample size is balanced)."""
    pos = pi > 0
    ratio = X[pos] / pi[pos, None]
    return bool(np.any(np.ptp(ratio, axis=0) <= 1e-9 * np.maximum(np.abs(ratio).max(axis=0), 1e-300)))


def cube_sample(X, pi, seed=None, *, flight="sequential"):
    """A balanced sample by the cube method: flight phase, then landing.

    Parameters
    ----------
    X : array-like, shape (n, q)
        Balancing variables (the sample's Horvitz-Thompson totals of each column
        should equal its population total).  Include ``pi`` itself as a column for a
        fixed sample size.
    pi : array-like, shape (n,)
        Inclusion probabilities in [0, 1] (any sum).
    seed : int, optional
        Seed of every draw (``numpy.random.default_rng``).
    flight : {"sequential", "blocks"}, default "sequential"
        The flight's order of moves (:func:`flight_phase`); ``"sequential"`` draws
        reweightkit 0.2's samples (compiled).

    Returns
    -------
    ndarray of bool, shape (n,)
        The sample.  Each unit is in it with probability ``pi_k`` (the flight and the
        landing are both unbiased).
    """
    X, pi = _check_inputs(X, pi)
    rng = np.random.default_rng(check_seed(seed))
    return landing_phase(X, flight_phase(X, pi, rng=rng, flight=flight), pi, rng=rng, flight=flight)


def inclusion_probabilities(size, k):
    """Inclusion probabilities proportional to ``size`` that sum to ``k``, capped at 1 (iteratively).

    Parameters
    ----------
    size : array-like, shape (n,)
        Non-negative size measure (e.g. design weights).
    k : int
        The expected sample size, ``1 <= k <= number of units with size > 0``.

    Returns
    -------
    ndarray, shape (n,)
    """
    size = np.asarray(size, dtype=float)
    if not np.all(np.isfinite(size)) or np.any(size < 0):
        raise ValueError("size must be finite and >= 0")
    positive = int(np.sum(size > 0))
    if not 1 <= k <= positive:
        raise ValueError(f"k must be between 1 and the number of units with positive size ({positive}), got {k}")
    pi = np.zeros_like(size)
    certain = np.zeros(size.size, dtype=bool)
    while True:
        rest = ~certain & (size > 0)
        pi[rest] = (k - certain.sum()) * size[rest] / size[rest].sum()
        pi[certain] = 1.0
        over = rest & (pi > 1)
        if not over.any():
            return pi
        certain |= over


def integerize(weights, method="trs", seed=None):
    """Integer weights whose total is the real weights' total rounded (a deployable file).

    Parameters
    ----------
    weights : array-like, shape (n,)
        Non-negative weights.
    method : {"trs", "pps"}, default "trs"
        ``"trs"``: truncate, replicate, sample (Lovelace & Ballas 2013): every record
        keeps ``floor(w)``, and ``round(sum w) - sum floor(w)`` records get one more,
        drawn by systematic sampling with probabilities proportional to their
        remainders (equal to them up to the rounding of the total), so each integer
        weight is ``floor(w)`` or ``floor(w) + 1``.  ``"pps"``: ``round(sum w)``
        draws with replacement, probability proportional to ``w``; each integer weight
        is the number of times its record is drawn (``w`` in expectation).
    seed : int, optional
        Seed of the draws.

    Returns
    -------
    ndarray of int64, shape (n,)
        Integer weights; their sum is ``round(sum(weights))`` exactly.
    """
    w = np.asarray(weights, dtype=float)
    if w.ndim != 1 or not np.all(np.isfinite(w)) or np.any(w < 0):
        raise ValueError("weights must be a one-dimensional array of finite, non-negative numbers")
    if method not in ("trs", "pps"):
        raise ValueError(f"method must be 'trs' or 'pps', got {method!r}")
    rng = np.random.default_rng(check_seed(seed))
    total = int(round(float(w.sum())))
    if method == "pps":
        if total == 0:
            return np.zeros(w.size, dtype=np.int64)
        return rng.multinomial(total, w / w.sum()).astype(np.int64)
    base = np.floor(w).astype(np.int64)
    extra = total - int(base.sum())
    rem = w - base
    if extra > 0:
        # probabilities proportional to the remainders, summing to extra, each capped at 1 (iteratively: a
        # large remainder among small ones would otherwise ask for a probability above 1)
        p = inclusion_probabilities(rem, extra)
        base[systematic_sample(p, rng=rng)] += 1
    return base


def systematic_sample(pi, seed=None, rng=None):
    """Systematic sampling with inclusion probabilities ``pi`` (Madow 1949): a fixed size when ``sum(pi)`` is an integer.

    One uniform start ``u``; unit ``k`` is in the sample when an integer lies in
    ``[c_{k-1} - u, c_k - u)``, ``c`` the cumulative sums of ``pi``.  Each unit's
    inclusion probability is exactly ``pi_k``.

    Parameters
    ----------
    pi : array-like, shape (n,)
        Inclusion probabilities in [0, 1].
    seed : int, optional
        Seed of ``numpy.random.default_rng`` (ignored when ``rng`` is given).
    rng : numpy.random.Generator, optional
        The generator.

    Returns
    -------
    ndarray of bool, shape (n,)
    """
    pi = np.asarray(pi, dtype=float)
    if pi.ndim != 1 or not np.all(np.isfinite(pi)) or np.any(pi < 0) or np.any(pi > 1 + 1e-12):
        raise ValueError("pi must be a one-dimensional array of probabilities in [0, 1]")
    rng = np.random.default_rng(check_seed(seed)) if rng is None else rng
    c = np.concatenate([[0.0], np.cumsum(pi)])
    u = rng.random()
    return np.floor(c[1:] - u) > np.floor(c[:-1] - u)
