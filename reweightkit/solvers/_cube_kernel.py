"""The cube method's sequential flight, compiled (numba): 0.2's order of moves, O(q^2) work per move.

The flight keeps ``q + 1`` open units ``active`` (the balancing matrix ``B = [M | c]``: ``M`` the first ``q`` units'
columns ``a_k = x_k / pi_k``, ``c`` the last's).  Its direction is ``u = (-M^{-1} c, 1) / norm``, the null vector of
``B`` that :func:`reweightkit.solvers.cube._null_direction` solves for from scratch every move (O(q^3)).  Here
``M^{-1}`` is kept from move to move: when one unit settles, the survivors keep their order and the next unit of the
queue is appended, so ``M`` loses one column and gains the old ``c`` (one column replaced, a Sherman-Morrison update,
then a cyclic shift of rows), and ``c`` becomes the new unit.  ``M^{-1}`` is computed afresh (Gauss-Jordan with
partial pivoting) at the start, every ``refresh`` moves, after a move that settles several units, and when the update's
pivot is small.  Where ``M`` is singular or nearly so (a pivot below ``SINGULAR`` times its largest entry: duplicated
units, collinear variables) the move's direction is the Python flight's own (:func:`null_direction`, numpy's solve or
SVD on the same matrix), so those moves are the same to the bit.

The uniforms are drawn by the caller in advance (one per move, in the order the Python flight draws them).  The same
moves in exact arithmetic as the Python flight; the rounding differs (about 1e-13 in the probabilities left open),
so a sample could differ only where two units reach a bound within rounding of each other in one move.
"""

import importlib

import numpy as np

EPS = 1e-10
"""Within ``EPS`` of 0 or 1 a unit is settled."""
SINGULAR = 1e-7
"""A pivot below this times ``M``'s largest entry sends the move to the Python flight's direction."""
objmode = None  # numba.objmode, bound by compiled_flight() (numba is imported on first use: 0.4 s)


def null_direction(B):
    """A unit vector ``u`` with ``B u = 0`` for ``B`` of shape (q, q + 1) (the Python flight's: a solve, else the SVD)."""
    q = B.shape[0]
    try:
        y = np.linalg.solve(B[:, :q], -B[:, q])
        u = np.r_[y, 1.0]
        if np.all(np.isfinite(u)):
            return u / np.linalg.norm(u)
    except np.linalg.LinAlgError:
        pass
    return np.linalg.svd(B)[2][-1]


def _invert(A, active, q, Minv, W):
    """``Minv`` = the inverse of ``M`` (``M[:, j] = A[active[j]]``) by Gauss-Jordan; False when ``M`` is (nearly)
    singular."""
    scale = 0.0
    for i in range(q):
        for j in range(q):
            W[i, j] = A[active[j], i]
            W[i, q + j] = 1.0 if i == j else 0.0
            scale = max(scale, abs(W[i, j]))
    for col in range(q):
        piv_row, best = col, abs(W[col, col])
        for r in range(col + 1, q):
            if abs(W[r, col]) > best:
                piv_row, best = r, abs(W[r, col])
        if best <= SINGULAR * scale:
            return False
        if piv_row != col:
            for k in range(2 * q):
                W[col, k], W[piv_row, k] = W[piv_row, k], W[col, k]
        piv = W[col, col]
        for k in range(2 * q):
            W[col, k] /= piv
        for r in range(q):
            f = W[r, col]
            if r != col and f != 0.0:
                for k in range(2 * q):
                    W[r, k] -= f * W[col, k]
    for i in range(q):
        for j in range(q):
            Minv[i, j] = W[i, q + j]
    return True


def _flight(A, out, free, uniforms, refresh):
    """Fly the units ``free`` (ascending) of ``out`` in place; returns the number of moves (uniforms used).

    Parameters
    ----------
    A : ndarray, shape (n, q), C-contiguous float64
        ``x_k / pi_k`` (zero rows for ``pi_k = 0``).
    out : ndarray, shape (n,), float64
        The probabilities, moved in place.
    free : ndarray of int64
        The open units in queue order.
    uniforms : ndarray, shape (free.size,)
        One uniform per move (a move settles at least one unit, so there are at most ``free.size``).
    refresh : int
        Moves between fresh inversions of ``M``.

    Returns
    -------
    int
        Moves made.
    """
    q = A.shape[1]
    g = q + 1
    nf = free.size
    if nf < g:
        return 0
    active = free[:g].copy()
    nxt = g
    Minv = np.empty((q, q))
    W = np.empty((q, 2 * q))
    z = np.empty(q)
    row = np.empty(q)
    u = np.empty(g)
    new = np.empty(g)
    fresh, since, moves = True, 0, 0
    while True:
        ok = True
        if fresh or since >= refresh:
            ok = _invert(A, active, q, Minv, W)
            since = 0
        if ok:  # u = (-M^{-1} c, 1) / norm
            last = active[q]
            norm2 = 1.0
            for i in range(q):
                s = 0.0
                for j in range(q):
                    s += Minv[i, j] * A[last, j]
                z[i] = s
                norm2 += s * s
            ok = np.isfinite(norm2)
            if ok:
                norm = np.sqrt(norm2)
                for i in range(q):
                    u[i] = -z[i] / norm
                u[q] = 1.0 / norm
        if not ok:  # M (nearly) singular: the Python flight's direction, from the same matrix
            B = np.empty((q, g))
            for i in range(q):
                for j in range(g):
                    B[i, j] = A[active[j], i]
            with objmode(v="float64[:]"):
                v = np.ascontiguousarray(null_direction(B), dtype=np.float64)
            for i in range(g):
                u[i] = v[i]
        l1, l2 = np.inf, np.inf  # the largest steps along +u and -u that stay in [0, 1]
        for i in range(g):
            p, ui = out[active[i]], u[i]
            if ui > 0:
                l1, l2 = min(l1, (1 - p) / ui), min(l2, p / ui)
            elif ui < 0:
                l1, l2 = min(l1, -p / ui), min(l2, (p - 1) / ui)
        up = uniforms[moves] * (l1 + l2) < l2
        moves += 1
        settled, where = 0, -1
        for i in range(g):
            v_i = out[active[i]] + l1 * u[i] if up else out[active[i]] - l2 * u[i]
            if v_i <= EPS:
                v_i = 0.0
            elif v_i >= 1 - EPS:
                v_i = 1.0
            new[i] = v_i
            out[active[i]] = v_i
            if v_i == 0.0 or v_i == 1.0:
                settled += 1
                where = i
        if nxt + settled > nf:  # the queue cannot refill the group: the flight is over
            return moves
        fresh = not (ok and settled == 1)
        if not fresh and where < q:  # M's column `where` leaves, the old c joins M last
            zi = z[where]
            if abs(zi) < 1e-8:  # the update would divide by a small pivot
                fresh = True
            else:
                for j in range(q):
                    row[j] = Minv[where, j]
                for r in range(q):
                    f = (z[r] - (1.0 if r == where else 0.0)) / zi
                    if f != 0.0:
                        for j in range(q):
                            Minv[r, j] -= f * row[j]
                for j in range(q):
                    row[j] = Minv[where, j]
                for r in range(where, q - 1):
                    for j in range(q):
                        Minv[r, j] = Minv[r + 1, j]
                for j in range(q):
                    Minv[q - 1, j] = row[j]
        since += 1
        k = 0
        for i in range(g):  # survivors in order, then the queue
            if 0.0 < new[i] < 1.0:
                active[k] = active[i]
                k += 1
        while k < g:
            active[k] = free[nxt]
            nxt += 1
            k += 1


_COMPILED = []


def compiled_flight():
    """The flight compiled by numba (on first use; cached on disk by numba), or None where numba cannot be imported.

    Returns
    -------
    callable or None
        ``flight(A, out, free, uniforms, refresh) -> moves`` (see :func:`_flight`).
    """
    if not _COMPILED:
        try:
            numba = importlib.import_module("numba")
        except ImportError:
            _COMPILED.append(None)
            return None
        global objmode, _invert
        objmode = numba.objmode
        _invert = numba.njit(cache=True)(_invert)  # the flight calls the compiled inverse
        _COMPILED.append(numba.njit(cache=True)(_flight))
    return _COMPILED[0]
