r"""A dense revised simplex for linear programs with few equality rows and many columns.

``min c'x  s.t.  E x = r, x >= 0`` with ``E`` of shape ``(k, n)``, ``k`` small (the L1 optimal
set has ``k <= m + 1`` rows: the train targets and the total) and ``n`` the records.  Each pivot
costs one ``k x n`` product (the reduced costs) and a ``k x k`` solve, so the range LPs of
:mod:`reweightkit.solvers.optimal_set` take a few milliseconds instead of HiGHS's set-up time.

Phase 1 starts from artificial columns; its feasible basis is kept (:class:`Simplex`) so that
several objectives over the same set (the per-target ranges) each start from it.  Pricing is
Dantzig's rule, switching to Bland's (smallest index) after a run of degenerate pivots, which
rules out cycling.  The answer is **checked**, not trusted: primal feasibility
(``|E x - r| <= tol (1 + |r|)``, ``x >= 0``) and dual feasibility of the final basis (every
reduced cost ``>= -tol``) certify optimality; :meth:`Simplex.solve` returns ``None`` when they do
not hold (or the iteration budget runs out), and the caller falls back to HiGHS.
"""

from __future__ import annotations

import numpy as np

__all__ = ["Simplex"]


class Simplex:
    """The feasible set ``{x >= 0 : E x = r}``, with a feasible basis found once.

    Parameters
    ----------
    E : ndarray, shape (k, n)
        Dense equality rows (``k`` small).
    r : ndarray, shape (k,)
        Right-hand side.
    tol : float, default 1e-9
        Feasibility and optimality tolerance (relative to the data's scale).
    max_iter : int, optional
        Pivots per phase (default ``50 (k + 10)``).
    """

    def __init__(self, E, r, tol=1e-9, max_iter=None):
        E = np.asarray(E, dtype=float)
        r = np.asarray(r, dtype=float)
        sign = np.where(r < 0, -1.0, 1.0)
        self.E, self.r = E * sign[:, None], r * sign  # r >= 0: the artificial basis is feasible
        self.k, self.n = E.shape
        self.tol = tol
        self.max_iter = 50 * (self.k + 10) if max_iter is None else max_iter
        # columns 0..n-1 real, n..n+k-1 artificial
        self.basis = np.arange(self.n, self.n + self.k)
        self.feasible = self._run(np.r_[np.zeros(self.n), np.ones(self.k)], phase=1)
        if self.feasible:
            x = self._x()
            self.feasible = bool(np.all(x[self.n:] <= tol * (1 + np.abs(self.r).max())))

    def _columns(self, idx):
        out = np.zeros((self.k, idx.size))
        real = idx < self.n
        out[:, real] = self.E[:, idx[real]]
        art = np.flatnonzero(~real)
        out[idx[art] - self.n, art] = 1.0
        return out

    def _x(self):
        B = self._columns(self.basis)
        xb = np.linalg.solve(B, self.r)
        x = np.zeros(self.n + self.k)
        x[self.basis] = xb
        return x

    def _run(self, c, phase):
        """Pivot until optimal for ``c`` (length n + k); artificial columns may not enter in phase 2."""
        degenerate = 0
        for _ in range(self.max_iter):
            B = self._columns(self.basis)
            try:
                xb = np.linalg.solve(B, self.r)
                y = np.linalg.solve(B.T, c[self.basis])
            except np.linalg.LinAlgError:
                return False
            d = c[:self.n] - self.E.T @ y
            scale = 1.0 + np.abs(c[:self.n]).max()
            d[self.basis[self.basis < self.n]] = np.inf  # basic columns do not enter
            cand = np.flatnonzero(d < -self.tol * scale)
            if cand.size == 0:  # artificial columns never enter: they only leave
                return True
            j = int(cand[0]) if degenerate > 2 * self.k else int(cand[np.argmin(d[cand])])
            u = np.linalg.solve(B, self.E[:, j])
            pos = u > self.tol
            # in phase 2 an artificial left basic at zero (a redundant row) must stay at zero: it leaves first
            stuck = (self.basis >= self.n) & (np.abs(u) > self.tol) if phase == 2 else np.zeros(self.k, bool)
            if not np.any(pos | stuck):
                return False  # unbounded: not a case of the bounded sets this is used on
            ratios = np.full(self.k, np.inf)
            ratios[pos] = np.maximum(xb[pos], 0.0) / u[pos]
            ratios[stuck] = 0.0
            theta = ratios.min()
            ties = np.flatnonzero(ratios <= theta + self.tol * (1 + theta))
            leave = int(ties[np.argmin(self.basis[ties])]) if degenerate > 2 * self.k else int(ties[0])
            degenerate = degenerate + 1 if theta <= self.tol else 0
            self.basis = self.basis.copy()
            self.basis[leave] = j
        return False

    def solve(self, c):
        """Minimise ``c'x`` over the set, from the feasible basis.

        Parameters
        ----------
        c : ndarray, shape (n,)
            Objective.

        Returns
        -------
        (x, value) or None
            The optimal vertex and ``c'x``, certified (primal and dual feasible within
            ``tol``); None when the basis could not be certified (use another solver).
        """
        if not self.feasible:
            return None
        saved = self.basis.copy()
        cc = np.r_[np.asarray(c, dtype=float), np.full(self.k, 0.0)]
        ok = self._run(cc, phase=2)
        x = self._x() if ok else None
        self.basis = saved
        if x is None:
            return None
        # certificate: primal feasible, artificials at zero, reduced costs >= -tol
        scale_r = 1.0 + np.abs(self.r).max()
        xr = x[:self.n]
        if xr.min() < -self.tol * scale_r or np.abs(x[self.n:]).max(initial=0.0) > self.tol * scale_r:
            return None
        if np.abs(self.E @ xr - self.r).max() > 1e-7 * scale_r:
            return None
        xr = np.maximum(xr, 0.0)
        return xr, float(cc[:self.n] @ xr)
