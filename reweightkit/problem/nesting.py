r"""Which target families reveal which: the nesting test behind a holdout that cannot leak.

A held-out target leaks when the training targets determine it: if its row ``a_h`` of
the targets x records matrix is a linear combination ``sum_j c_j a_j`` of training rows,
every weight vector that meets those training targets gives it the value ``sum_j c_j b_j``
whatever records it keeps (state SNAP households are the sum of district SNAP households:
hold out the state family alone and any exact calibration scores it near perfectly).

:func:`family_nesting` tests every ordered pair of families ``(H, G)``: for each row
``a_h`` of ``H``, the rows of ``G`` whose records all lie among ``a_h``'s records are the
candidates, and ``a_h`` is *revealed by G* when it is a linear combination of them (a
least-squares fit with a relative residual below ``rtol``).  Restricting to rows
contained in ``a_h``'s records finds every sum, weighted sum and difference of nested
cells — how survey targets nest (geography, categories that merge) — at the cost of
combinations that cancel outside ``a_h``'s records, which it does not look for.  Two
cheap necessary conditions (some candidate exists; the candidates cover every record
of ``a_h``) rule out most pairs before any least squares.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import scipy.linalg
import scipy.sparse as sp
import scipy.sparse.linalg

from .system import CalibrationProblem, CalibrationSystem

__all__ = ["FamilyNesting", "family_nesting", "nesting_closure"]

NESTING_RTOL = 1e-7
"""A held-out row whose least-squares fit by candidate rows leaves a relative residual below this is revealed."""
_DENSE_UP_TO = 4_000_000
"""Least squares by dense LAPACK up to this many matrix entries (records x candidates), by LSQR above."""


@dataclass(frozen=True)
class FamilyNesting:
    """Which families reveal which (:func:`family_nesting`).

    Parameters
    ----------
    revealed : dict
        ``revealed[H][G]``: how many targets of family ``H`` are linear combinations of
        targets of family ``G`` (only pairs with at least one).
    sizes : dict
        Targets per family.

    Examples
    --------
    >>> import reweightkit as rk
    >>> tree = rk.problem.family_nesting(rk.nation(0.01).problem())  # doctest: +SKIP
    >>> tree.revealers("state_snap")  # doctest: +SKIP
    ['district_snap']
    """

    revealed: dict
    sizes: dict

    def revealers(self, family) -> list:
        """The families some of whose targets sum (linearly combine) to targets of ``family``.

        Parameters
        ----------
        family : object
            A family label.

        Returns
        -------
        list
        """
        return list(self.revealed.get(family, {}))

    def as_tree(self) -> dict:
        """``family -> sorted list of the families that reveal it`` (families nothing reveals omitted).

        Returns
        -------
        dict
        """
        return {h: sorted(g, key=str) for h, g in self.revealed.items() if g}

    def describe(self, family) -> str:
        """One line: how many of ``family``'s targets each revealing family determines.

        Parameters
        ----------
        family : object
            A family label.

        Returns
        -------
        str
        """
        parts = [f"{c} of {self.sizes[family]} by {g}" for g, c in self.revealed.get(family, {}).items()]
        return f"{family}: " + ("; ".join(parts) if parts else "revealed by no other family")


def _system(problem):
    if isinstance(problem, CalibrationProblem):
        return problem.system
    if isinstance(problem, CalibrationSystem):
        return problem
    raise TypeError(f"problem must be a CalibrationProblem or CalibrationSystem, got {type(problem).__name__}")


def _in_span(rows, target, rtol):
    """Whether ``target`` (dense, length r) is a linear combination of the rows of ``rows`` (sparse, c x r)."""
    norm = float(np.linalg.norm(target))
    if norm == 0.0:
        return True
    # unit rows: the span is unchanged and LSQR's conditioning better
    scale = np.sqrt(np.asarray(rows.multiply(rows).sum(axis=1)).ravel())
    M = (sp.diags(1.0 / np.where(scale > 0, scale, 1.0)) @ rows).T.tocsr()  # r x c
    if M.shape[0] * M.shape[1] <= _DENSE_UP_TO:
        coef = scipy.linalg.lstsq(M.toarray(), target, lapack_driver="gelsy")[0]
        resid = M @ coef - target
    else:
        sol = scipy.sparse.linalg.lsqr(M, target, atol=1e-14, btol=1e-14, iter_lim=20 * M.shape[1] + 1000)
        resid = M @ sol[0] - target
    return float(np.linalg.norm(resid)) <= rtol * norm


def family_nesting(problem, families=None, rtol=NESTING_RTOL) -> FamilyNesting:
    """Test every ordered pair of target families for nesting: which targets of one are combinations of another's.

    Parameters
    ----------
    problem : CalibrationProblem or CalibrationSystem
        Targets with families (:func:`reweightkit.prepare_matrix` with ``families=``, or
        :func:`reweightkit.prepare`, whose families are the data columns).
    families : iterable, optional
        Test only these as held out (``H``); every family is a candidate revealer. Default: all.
    rtol : float, default 1e-7
        Relative least-squares residual under which a target counts as revealed.

    Returns
    -------
    FamilyNesting
    """
    system = _system(problem)
    fams = np.array(system.families if system.families is not None else system.names, dtype=object)
    labels = list(dict.fromkeys(fams.tolist()))
    held = labels if families is None else list(families)
    missing = [f for f in held if f not in set(labels)]
    if missing:
        raise ValueError(f"no target family {missing[0]!r}; the families are {labels[:20]}")
    A = system.A.tocsr()
    P = A.copy()
    P.data = np.ones_like(P.data)  # support pattern
    row_nnz = np.diff(P.indptr)
    rows_of = {f: np.flatnonzero(fams == f) for f in labels}
    revealed = {}
    for h_fam in held:
        H = rows_of[h_fam]
        found = {}
        for g_fam in labels:
            if g_fam == h_fam:
                continue
            G = rows_of[g_fam]
            # inside[j, h]: records of G-row j inside H-row h; a candidate when that is all of row j's records
            inside = (P[G] @ P[H].T).tocsc()
            count = 0
            for col, h in enumerate(H):
                lo, hi = inside.indptr[col], inside.indptr[col + 1]
                cand = G[inside.indices[lo:hi][inside.data[lo:hi] == row_nnz[G[inside.indices[lo:hi]]]]]
                if cand.size == 0:
                    continue
                recs = A.indices[A.indptr[h]:A.indptr[h + 1]]
                sub = A[cand][:, recs]
                if np.count_nonzero(np.asarray((sub != 0).sum(axis=0)).ravel()) < recs.size:
                    continue  # some record of the target is in no candidate: no combination can reach it
                if _in_span(sub, A.data[A.indptr[h]:A.indptr[h + 1]], rtol):
                    count += 1
            if count:
                found[g_fam] = count
        revealed[h_fam] = found
    sizes = {f: int(rows_of[f].size) for f in labels}
    return FamilyNesting(revealed=revealed, sizes=sizes)


def nesting_closure(held_out, tree) -> list:
    """The families a holdout must include so that no training family reveals a held-out one.

    Parameters
    ----------
    held_out : iterable
        Families held out.
    tree : FamilyNesting or mapping
        ``family -> families that reveal it`` (:meth:`FamilyNesting.as_tree`, or a declared tree
        such as :attr:`reweightkit.NationBenchmark.family_tree`).

    Returns
    -------
    list
        ``held_out`` followed by every family revealing one of them, transitively, in order found.
    """
    tree = tree.as_tree() if isinstance(tree, FamilyNesting) else tree
    if not isinstance(tree, Mapping):
        raise TypeError(f"tree must be a FamilyNesting or a mapping family -> revealing families, got "
                        f"{type(tree).__name__}")
    out = list(dict.fromkeys(held_out))
    i = 0
    while i < len(out):
        revealers = tree.get(out[i], ())
        if isinstance(revealers, (str, bytes)) or not isinstance(revealers, Iterable):
            raise TypeError(f"tree[{out[i]!r}] must list families, got {revealers!r}")
        for g in revealers:
            if g not in out:
                out.append(g)
        i += 1
    return out
