"""L1 solver benchmark: prints times and ratios measured in this one run.

    python benchmarks/bench_l1.py [--large-n 1000000] [--skip-large]

Published size (5,000 x 6), with the default solver (``"auto"``: the active set there): one fit at alpha = 0.1
to gap 1e-8 (goal < 50 ms) and a 20-point warm-started path (goal < 0.5 s), against scikit-learn's Lasso(positive=True)
when installed (same objective: alpha_sk = lambda / m).  Large size (default 1,000,000
records x ~2,000 sparse targets): a 20-point path, peak memory (goal < 4 GB) and time per
iteration against the memory bound (two passes over nnz(A) per iteration).
"""

import argparse
import resource
import time

import reweightkit as rk
from reweightkit.solvers import nn_lasso_path


def best_of(f, repeat=5):
    ts = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = f()
        ts.append(time.perf_counter() - t0)
    return min(ts), out


def large_problem(n, seed=0):
    return rk.experiment.synthetic_problem(n, levels=(1000, 600, 300, 80, 15), n_cont=5, noise=0.03, seed=seed)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--large-n", type=int, default=1_000_000)
    ap.add_argument("--skip-large", action="store_true")
    args = ap.parse_args()

    df, tm, tc, _ = rk.published_example()
    p = rk.prepare(df, tm, tc)
    t_fit, cal = best_of(lambda: rk.SparseCalibrator(alpha=0.1, tol=1e-8).fit(df, tm, tc))
    print(f"published 5,000 x 6: one fit alpha=0.1: {t_fit * 1e3:.1f} ms (goal < 50 ms; ratio to goal "
          f"{t_fit / 0.05:.2f}); gap {cal.dual_gap_:.1e}, {cal.n_iter_} iterations")
    t_path, path = best_of(lambda: nn_lasso_path(p.At_rec, p.b_t, n_lambdas=20, eps=1e-3, w0=p.w0))
    gaps = max(s.rel_gap for s in path["solutions"])
    print(f"published 20-point path: {t_path:.3f} s (goal < 0.5 s; ratio to goal {t_path / 0.5:.2f}); "
          f"max gap {gaps:.1e}; iterations {[s.n_iter for s in path['solutions']]}")
    try:
        from sklearn.linear_model import Lasso
    except ImportError:
        print("scikit-learn not installed: no same-run baseline for the path")
    else:
        X = p.At_rec.T.toarray()  # targets are the samples, records the features: 6 x 5,000
        m = X.shape[0]  # sklearn minimises (1/2m)||b - Xw||^2 + alpha ||w||_1: alpha = lam / m

        def sk_path():
            model = Lasso(positive=True, fit_intercept=False, warm_start=True, tol=1e-12, max_iter=100000)
            for s in path["solutions"]:
                model.set_params(alpha=s.lam / m)
                model.fit(X, p.b_t)
            return model

        t_sk, _ = best_of(sk_path, repeat=3)
        print(f"scikit-learn Lasso(positive=True) same 20 lambdas (tol 1e-12, uncertified): {t_sk:.3f} s; "
              f"ratio reweightkit/sklearn = {t_path / t_sk:.2f}")

    if args.skip_large:
        return
    n = args.large_n
    t0 = time.perf_counter()
    df, marg, cont = large_problem(n)
    p = rk.prepare(df, marg, cont)
    print(f"\nlarge: {n:,} records x {p.b_t.size} targets, nnz {p.At_rec.nnz:,}; built in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    path = nn_lasso_path(p.At_rec, p.b_t, n_lambdas=20, eps=1e-2, w0=p.w0, max_iter=3000, warn=False,
                         solver="fista")  # the memory bound below is FISTA's (two passes per iteration)
    t_path = time.perf_counter() - t0
    its = sum(s.n_iter for s in path["solutions"])
    per_iter = sum(s.seconds for s in path["solutions"]) / max(its, 1)
    # memory bound: two passes over the CSR arrays (8-byte values + 4-byte indices) per product, 2 products/iter
    bytes_iter = 2 * (12 * p.At_rec.nnz)
    bw = 18e9
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
    sols = path["solutions"]
    print(f"20-point path (eps 1e-2, max_iter 3000 per lambda): {t_path:.1f} s, {its} iterations, "
          f"converged {sum(s.converged for s in sols)}/20, worst gap {max(s.rel_gap for s in sols):.1e}")
    print(f"time per iteration {per_iter * 1e3:.1f} ms vs memory bound {bytes_iter / bw * 1e3:.1f} ms at 18 GB/s "
          f"(ratio {per_iter / (bytes_iter / bw):.1f})")
    print(f"peak resident memory {peak:.2f} GB (goal < 4 GB)")


if __name__ == "__main__":
    main()
