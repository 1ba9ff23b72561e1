"""The QR active set's two O(p^2)-and-up kernels, compiled by numba on first use (numpy where numba is missing).

``R`` is stored column-major (a Fortran-ordered ``cap x cap`` buffer, the leading ``p x p`` in use),
``Q`` row-major (row ``i`` the ``i``-th orthonormal vector): both kernels then walk memory in order.

* :func:`back_solve`: ``z`` with ``R[:p, :p] z = rhs`` (column-oriented back substitution);
* :func:`delete_column`: remove column ``i`` of ``R`` and restore the triangle by Givens rotations,
  applied to the rows of ``R``, to ``Q`` and to the vectors that transform with it (``Q' b~`` and
  ``R^{-T} 1``).

The numpy versions are the reference (``tests/test_qr_active_set.py`` checks the compiled ones against them).
"""

from __future__ import annotations

import importlib
import math

import numpy as np
import scipy.linalg

__all__ = ["back_solve", "delete_column", "compiled"]


def back_solve_numpy(R, rhs, p):
    """``z`` with ``R[:p, :p] z = rhs[:p]`` (``R`` upper triangular)."""
    return scipy.linalg.solve_triangular(R[:p, :p], rhs[:p], check_finite=False)


def delete_column_numpy(R, Q, vecs, i, p):
    """Remove column ``i`` of ``R[:p, :p]`` (``A~_P = Q' R`` keeps holding without that record's column).

    The columns right of ``i`` move one left; rotations in planes ``(c, c+1)``, ``c = i, ..., p-2``,
    zero the sub-diagonal and are applied to the rows of ``R``, of ``Q`` and of every vector in
    ``vecs`` (shape ``(k, cap)``, rotated as ``Q``'s rows are).  Row ``p-1`` is zeroed.
    """
    R[:p, i:p - 1] = R[:p, i + 1:p]
    R[:p, p - 1] = 0.0
    for c in range(i, p - 1):
        x, y = R[c, c], R[c + 1, c]
        h = math.hypot(x, y)
        if h == 0.0:
            continue
        cs, sn = x / h, y / h
        rc, rn = R[c, c:p - 1].copy(), R[c + 1, c:p - 1].copy()
        R[c, c:p - 1] = cs * rc + sn * rn
        R[c + 1, c:p - 1] = cs * rn - sn * rc
        R[c + 1, c] = 0.0
        qc, qn = Q[c].copy(), Q[c + 1].copy()
        Q[c] = cs * qc + sn * qn
        Q[c + 1] = cs * qn - sn * qc
        vc, vn = vecs[:, c].copy(), vecs[:, c + 1].copy()
        vecs[:, c] = cs * vc + sn * vn
        vecs[:, c + 1] = cs * vn - sn * vc
    R[p - 1, :p] = 0.0
    Q[p - 1] = 0.0
    vecs[:, p - 1] = 0.0


def _back_solve_loops(R, rhs, p):
    z = np.empty(p)
    for j in range(p):
        z[j] = rhs[j]
    for j in range(p - 1, -1, -1):
        z[j] /= R[j, j]
        zj = z[j]
        for r in range(j):
            z[r] -= zj * R[r, j]
    return z


def _delete_column_loops(R, Q, vecs, i, p):
    m, k = Q.shape[1], vecs.shape[0]
    for j in range(i, p - 1):
        for r in range(j + 2):
            R[r, j] = R[r, j + 1]
    for r in range(p):
        R[r, p - 1] = 0.0
    for c in range(i, p - 1):
        x, y = R[c, c], R[c + 1, c]
        h = math.hypot(x, y)
        if h == 0.0:
            continue
        cs, sn = x / h, y / h
        for j in range(c, p - 1):
            a, b = R[c, j], R[c + 1, j]
            R[c, j] = cs * a + sn * b
            R[c + 1, j] = cs * b - sn * a
        R[c + 1, c] = 0.0
        for t in range(m):
            a, b = Q[c, t], Q[c + 1, t]
            Q[c, t] = cs * a + sn * b
            Q[c + 1, t] = cs * b - sn * a
        for t in range(k):
            a, b = vecs[t, c], vecs[t, c + 1]
            vecs[t, c] = cs * a + sn * b
            vecs[t, c + 1] = cs * b - sn * a
    for j in range(p):
        R[p - 1, j] = 0.0
    for t in range(m):
        Q[p - 1, t] = 0.0
    for t in range(k):
        vecs[t, p - 1] = 0.0


_COMPILED: list = []


def compiled():
    """``(back_solve, delete_column)`` compiled by numba (on first use, cached on disk), or None without numba."""
    if not _COMPILED:
        try:
            numba = importlib.import_module("numba")
        except ImportError:
            _COMPILED.append(None)
        else:
            _COMPILED.append((numba.njit(cache=True)(_back_solve_loops),
                              numba.njit(cache=True)(_delete_column_loops)))
    return _COMPILED[0]


def back_solve(R, rhs, p):
    """``z`` with ``R[:p, :p] z = rhs[:p]``: compiled where numba imports, else scipy's triangular solve."""
    kernels = compiled()
    if kernels is None or p == 0:
        return back_solve_numpy(R, rhs, p)
    return kernels[0](R, rhs, p)


def delete_column(R, Q, vecs, i, p):
    """Remove column ``i`` (see :func:`delete_column_numpy`): compiled where numba imports."""
    kernels = compiled()
    if kernels is None:
        return delete_column_numpy(R, Q, vecs, i, p)
    kernels[1](R, Q, vecs, i, p)
