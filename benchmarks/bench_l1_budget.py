"""L1 at a record budget on the national benchmark: FISTA against the active set on updated QR factors (issue #25).

    python benchmarks/bench_l1_budget.py [--scale 0.1] [--shares 0.03,0.10] [--fista-search 0.03,0.10]

On survey sample 0 of ``rk.nation(scale)`` with the national comparison's held-out families removed
(the train problem ``SparseCalibrator(n_records=k)`` sees in ``scripts/nation_comparison.py``), in this
one process:

1. for every share, the budget search :func:`reweightkit.solvers.budget.l1_for_budget` with
   ``solver="active-set"`` (above ``DENSE_CAP`` the QR engine): records kept, ``alpha``, its
   certificate, seconds;
2. FISTA at the same penalty (the kit's 20,000 iterations, from the design weights): certified or
   not, its gap and seconds (FISTA's search brackets through such penalties, so an uncertified fit
   there is why its search does not finish);
3. for the shares in ``--fista-search``, FISTA's own budget search, timed: the ratio to the active
   set's in this run;
4. the QR engine's compiled kernels against their numpy versions on the first share's penalty, one
   cold solve each (the same iterations): the ratio.

Nothing here is a test; ``tests/test_qr_active_set.py`` checks correctness.
"""

import argparse
import time
import warnings

import numpy as np

import reweightkit as rk
from reweightkit.problem import duality_gap
from reweightkit.problem.nnlasso import lambda_max
from reweightkit.solvers import _qr_kernel
from reweightkit.solvers.budget import l1_for_budget
from reweightkit.solvers.fista import fista
from reweightkit.solvers.qr_active_set import qr_active_set

HELD = ["state_medicaid_persons", "state_tax", "state_snap", "district_snap"]


def timed(f, *a, **k):
    t0 = time.perf_counter()
    out = f(*a, **k)
    return out, time.perf_counter() - t0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=0.1)
    ap.add_argument("--shares", default="0.03,0.10")
    ap.add_argument("--fista-search", default="0.03,0.10", help="shares whose FISTA budget search is also timed ('' none)")
    a = ap.parse_args()
    task = rk.CalibrationTask.from_problem(rk.nation(a.scale, seed=0).problem(), HELD)
    p = task.problem
    At, bt, w0 = p.At_rec, p.b_t, p.w0
    n, m = At.shape
    lm = lambda_max(At, bt)
    print(f"rk.nation({a.scale}) sample 0, train problem: {n:,} records x {m:,} targets, nnz {At.nnz:,}")
    _qr_kernel.compiled()  # numba's compile (or its disk cache) outside the timings
    qr_active_set(At[:50], bt, 0.5 * lm)
    fista_shares = {float(s) for s in a.fista_search.split(",") if s}
    first = None
    for share in (float(s) for s in a.shares.split(",")):
        k = int(round(share * n))
        sol, secs = timed(l1_for_budget, At, bt, w0, k, solver="active-set")
        first = first or sol
        gap = duality_gap(At, bt, sol.w, sol.lam)[1]
        print(f"\nbudget {share:.0%} (k = {k:,}): active set keeps {(sol.w > 0).sum():,} records at alpha "
              f"{sol.lam / lm:.4g}, relative gap {gap:.1e}, {secs:.1f} s (search)")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rk.ReweightkitWarning)
            f, fsecs = timed(fista, At, bt, sol.lam, w0, tol=1e-8, max_iter=20000)
        print(f"  FISTA at that penalty: {'certified' if f.converged else 'NOT certified'} after {f.n_iter:,} "
              f"iterations (relative gap {f.rel_gap:.1e}), {(f.w > 0).sum():,} records, {fsecs:.1f} s; "
              f"objectives differ by {abs(f.objective - sol.objective) / sol.objective:.1e} (relative)")
        if share in fista_shares:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rk.ReweightkitWarning)
                t0 = time.perf_counter()
                try:
                    fs = l1_for_budget(At, bt, w0, k, solver="fista")
                    what = (f"keeps {(fs.w > 0).sum():,} records at alpha {fs.lam / lm:.4g}, "
                            f"{'certified' if fs.converged else 'NOT certified'} (relative gap {fs.rel_gap:.1e})")
                except ValueError as e:
                    what = f"failed: {str(e)[:160]}"
                fssecs = time.perf_counter() - t0
            print(f"  FISTA's budget search: {what}, {fssecs:.1f} s; active set / FISTA time ratio "
                  f"{secs / fssecs:.3f}")
    lam = first.lam
    (c, _), csecs = timed(qr_active_set, At, bt, lam)
    saved = list(_qr_kernel._COMPILED)
    _qr_kernel._COMPILED[:] = [None]
    try:
        (u, _), usecs = timed(qr_active_set, At, bt, lam)
    finally:
        _qr_kernel._COMPILED[:] = saved
    same = np.allclose(c.w, u.w, rtol=1e-8, atol=1e-12)
    print(f"\nQR engine, one cold solve at alpha {lam / lm:.4g} ({c.n_iter:,} records added): compiled kernels "
          f"{csecs:.1f} s, numpy kernels {usecs:.1f} s, ratio {csecs / usecs:.3f} (same weights: {same})")


if __name__ == "__main__":
    main()
