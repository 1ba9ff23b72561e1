"""L1 solvers on one certified 20-point path: active set vs interior point vs FISTA vs scikit-learn vs celer.

    python benchmarks/bench_l1_solvers.py [--sizes published,100000] [--huge]

Each solver runs the same 20 lambdas (lambda_max * geomspace(1, 1e-3, 20), strong to weak) in
this one process; every solution is then scored with reweightkit's own certificate
(:func:`reweightkit.duality_gap`), so "certified" means the same thing for all.  The other
solvers minimise ``(1/2m)||b~ - A~ w||^2 + alpha ||w||_1`` (records are their features, targets
their samples): ``alpha = lambda / m``; their tolerances are converted per lambda so that their
own stopping rule means a relative gap of 1e-8 (scikit-learn stops at gap < tol ||y||^2, celer
at gap < tol ||y||^2 / m, both in their scaling); where that does not certify, the tolerance is
tightened (factors 1e2 ... 1e-6) and the loosest run that certifies is timed.
Also printed (issue #7): the crossover time of :func:`reweightkit.vertex_solution` against the
fit's own time.  Ratios are against the fastest other solver, measured in the same run.
Issue #18's goal: the certified path at the published size faster than celer in the same run
(the active-set solver, where ``m n`` allows its dense copy), also through the estimator
(20 warm-started ``SparseCalibrator.fit`` calls, one per lambda, and one ``SparseCalibrator.path``);
issue #28's: with the estimator's *default* solver (``"auto"``), against FISTA (0.2's default).
"""

import argparse
import time
import warnings

import numpy as np

import reweightkit as rk
from reweightkit.problem import duality_gap, lambda_max
from reweightkit.solvers import nn_lasso_path
from reweightkit.solvers.active_set import DENSE_CAP

TOL = 1e-8


def synthetic(n, levels, seed=0):
    """n records, sum(levels) count targets over independent categorical columns, 5 totals, 3 % noise."""
    return rk.experiment.synthetic_problem(n, levels, n_cont=5, noise=0.03, seed=seed)


def certify(p, lams, ws):
    return max(duality_gap(p.At_rec, p.b_t, w, lam)[1] for lam, w in zip(lams, ws))


def run_ours(p, lams, solver, max_iter):
    t0 = time.perf_counter()
    path = nn_lasso_path(p.At_rec, p.b_t, lambdas=lams, w0=p.w0, tol=TOL, solver=solver, max_iter=max_iter, warn=False)
    secs = time.perf_counter() - t0
    sols = path["solutions"]
    return secs, [s.w for s in sols], [s.objective for s in sols], sum(s.n_iter for s in sols)


FACTORS = (1e2, 1.0, 1e-2, 1e-4, 1e-6)


def run_peer(p, lams, objs, fit_one):
    """Warm-started path of a peer solver.  At each lambda, its tolerance (converted so that factor 1
    means a relative gap of 1e-8) is tightened from 100x loose until reweightkit's certificate holds;
    the time counted is the accepted run's (from the same warm start), the loosest that certifies."""
    ws, total, used, coef = [], 0.0, [], None
    for lam, obj in zip(lams, objs):
        for f in FACTORS:
            t0 = time.perf_counter()
            c = fit_one(lam, f * TOL * obj, coef)
            secs = time.perf_counter() - t0
            w = np.maximum(c, 0.0)
            if duality_gap(p.At_rec, p.b_t, w, lam)[1] <= TOL:
                break
        total += secs
        used.append(f)
        ws.append(w)
        coef = c
    return total, ws, used


def sklearn_fitter(p):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.linear_model import Lasso

    X = p.At_rec.T.tocsc()
    m = X.shape[0]

    def fit_one(lam, g_abs, coef):
        # sklearn: gap_sk = G / m < tol * ||y||^2 = tol * m   <=>   G < tol * m^2
        model = Lasso(alpha=lam / m, positive=True, fit_intercept=False, warm_start=coef is not None,
                      max_iter=1_000_000, tol=g_abs / m**2)
        if coef is not None:
            model.coef_ = coef.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, p.b_t)
        return model.coef_.copy()

    return fit_one


def celer_fitter(p):
    from celer import Lasso

    X = p.At_rec.T.tocsc()
    m = X.shape[0]

    def fit_one(lam, g_abs, coef):
        # celer: gap_celer = G / m < tol * ||y||^2 / m = tol   <=>   G < tol
        model = Lasso(alpha=lam / m, positive=True, fit_intercept=False, tol=g_abs, max_iter=10_000,
                      warm_start=coef is not None)
        if coef is not None:
            model.coef_ = coef.copy()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, p.b_t)
        return model.coef_.copy()

    return fit_one


def bench(name, df, marg, cont, fista_max_iter):
    p = rk.prepare(df, marg, cont)
    n, m = p.At_rec.shape
    lm = lambda_max(p.At_rec, p.b_t)
    lams = lm * np.geomspace(1, 1e-3, 20)
    print(f"\n== {name}: {n:,} records x {m} targets, nnz {p.At_rec.nnz:,}; 20 lambdas, target relative gap {TOL:g}")
    rows = []
    t_as = None
    if n * m <= DENSE_CAP:
        t_as, w_as, _, it_as = run_ours(p, lams, "active-set", 5000)
        t_as = min(t_as, run_ours(p, lams, "active-set", 5000)[0])  # best of two (the first pays for imports)
        rows.append(("reweightkit active set", t_as, certify(p, lams, w_as), f"{it_as} records added"))
    t_ipm, w_ipm, obj_ipm, it_ipm = run_ours(p, lams, "ipm", 500)
    rows.append(("reweightkit IPM", t_ipm, certify(p, lams, w_ipm), f"{it_ipm} iterations"))
    t_f, w_f, obj_f, it_f = run_ours(p, lams, "fista", fista_max_iter)
    rows.append(("reweightkit FISTA", t_f, certify(p, lams, w_f), f"{it_f} iterations (max {fista_max_iter}/lambda)"))
    objs = [min(a, b) for a, b in zip(obj_ipm, obj_f)]
    for label, make in (("scikit-learn Lasso(positive)", sklearn_fitter), ("celer Lasso(positive)", celer_fitter)):
        try:
            fit_one = make(p)
        except ImportError:
            print(f"{label}: not installed (pip install scikit-learn celer): skipped")
            continue
        t, ws, used = run_peer(p, lams, objs, fit_one)
        rows.append((label, t, certify(p, lams, ws), f"tolerance factors used {sorted(set(used))}"))
    for label, secs, gap, extra in rows:
        print(f"  {label:<30} {secs:9.3f} s   worst certified relative gap {gap:.1e}   {extra}")
    peers = [r for r in rows if not r[0].startswith("reweightkit")]
    ours = [r for r in rows if r[0].startswith("reweightkit")]
    best = min(ours, key=lambda r: r[1])
    if peers:
        fastest = min(peers, key=lambda r: r[1])
        print(f"  ratio {best[0]} / fastest peer ({fastest[0]}): {best[1] / fastest[1]:.3f}  (< 1: reweightkit is faster)")
    if t_as is not None and n <= 10_000:
        for solver, data in [(None, (df, marg, cont)), (None, (p,)), ("fista", (df, marg, cont)), ("fista", (p,))]:
            # None: the estimator's default solver ("auto": here the dense active set)
            kw = {} if solver is None else {"solver": solver}
            cal = rk.SparseCalibrator(alpha=1.0, warm_start=True, tol=TOL, **kw)
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rk.TargetMissWarning)  # the strongest penalties miss targets
                for lam in lams:
                    cal.set_params(alpha=float(lam / lm)).fit(*data)
            t_est = time.perf_counter() - t0
            what = "the DataFrame" if len(data) == 3 else "the prepared problem"
            label = f"the default solver ({cal.solver!r})" if solver is None else f"solver={solver!r}"
            msg = f"  through the estimator on {what}, 20 warm-started fits, {label}: {t_est:.3f} s"
            if peers:
                msg += f"; ratio to {fastest[0]}'s path: {t_est / fastest[1]:.2f}"
            print(msg)
        for solver in (None, "fista"):  # one call: SparseCalibrator.path, the estimator's own path
            kw = {} if solver is None else {"solver": solver}
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rk.TargetMissWarning)
                rk.SparseCalibrator(tol=TOL, **kw).path(df, marg, cont, lambdas=lams)
            t_path = time.perf_counter() - t0
            label = "the default solver" if solver is None else f"solver={solver!r}"
            msg = f"  SparseCalibrator.path on the DataFrame, {label}: {t_path:.3f} s"
            if peers:
                msg += f"; ratio to {fastest[0]}'s path: {t_path / fastest[1]:.2f}"
            print(msg)
    # issue #7: crossover (vertex) time against the fit's own time, at three lambdas
    for k in (5, 10, 19):
        w = w_f[k]
        if not np.any(w > 0):
            continue
        t0 = time.perf_counter()
        v = rk.solvers.vertex_solution(p.At_rec, w)
        t_v = time.perf_counter() - t0
        t0 = time.perf_counter()
        # the crossover moves FISTA's point to a vertex: timed against FISTA's fit (the active set's is basic already)
        rk.SparseCalibrator(sparsity_weight=float(lams[k]), max_iter=fista_max_iter, solver="fista").fit(df, marg, cont) \
            if n <= 10_000 \
            else nn_lasso_path(p.At_rec, p.b_t, lambdas=[lams[k]], w0=p.w0, tol=TOL, solver="ipm", warn=False)
        t_fit = time.perf_counter() - t0
        print(f"  crossover at alpha={lams[k] / lm:.3g}: {t_v:.3f} s vs one fit {t_fit:.3f} s (ratio {t_v / t_fit:.2f}; "
              f"goal < 1); {int((w > 0).sum()):,} -> {int((v > 0).sum())} active records")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="published,100000")
    ap.add_argument("--huge", action="store_true", help="also 1,000,000 x ~2,000 (IPM only; long)")
    args = ap.parse_args()
    for size in args.sizes.split(","):
        if size == "published":
            df, tm, tc, _ = rk.published_example()
            bench("published", df, tm, tc, fista_max_iter=20000)
        else:
            n = int(size)
            df, marg, cont = synthetic(n, levels=(250, 150, 60, 25, 9))
            bench(f"synthetic {n:,}", df, marg, cont, fista_max_iter=5000)
    if args.huge:
        df, marg, cont = synthetic(1_000_000, levels=(1000, 600, 300, 80, 15))
        p = rk.prepare(df, marg, cont)
        lm = lambda_max(p.At_rec, p.b_t)
        lams = lm * np.geomspace(1, 1e-3, 20)
        print(f"\n== huge: {p.At_rec.shape[0]:,} x {p.At_rec.shape[1]}, nnz {p.At_rec.nnz:,} (IPM only)")
        t, ws, _, its = run_ours(p, lams, "ipm", 500)
        print(f"  reweightkit IPM 20-point path: {t:.1f} s, {its} iterations, worst certified gap {certify(p, lams, ws):.1e}")


if __name__ == "__main__":
    main()
