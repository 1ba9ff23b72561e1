"""Sweeps of every method over its penalty, scored on train and held-out targets, and the frontier."""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd

from .baselines import RakeCalibrator, RakeWarning, SubsampleRakeCalibrator
from .hardconcrete import train_hard_concrete
from .l1 import lambda_max, nn_lasso_path, relaxed_refit
from .optimal_set import optimal_set_ranges, vertex_solution
from .targets import build_system, prepare

__all__ = [
    "PUBLISHED_L1_LAMBDAS",
    "PUBLISHED_L0_LAMBDAS",
    "COLUMNS",
    "Scorer",
    "sweep_l1",
    "hard_concrete_grid",
    "sweep_hard_concrete",
    "sweep_subsample",
    "dense_reference",
    "run_comparison",
    "summarize",
    "pareto_front",
]

PUBLISHED_L1_LAMBDAS = [0.0, 0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0]
PUBLISHED_L0_LAMBDAS = [1e-7, 5e-7, 1e-6, 5e-6, 1e-5, 5e-5, 1e-4, 5e-4, 1e-3, 5e-3, 1e-2]
COLUMNS = ["method", "penalty", "grid", "seed", "n_active", "train_error", "test_error", "train_max_error",
           "test_max_error", "total_weight", "kish_ess", "seconds", "converged"]


class Scorer:
    """Scores weight vectors on train and held-out targets (systems built once)."""

    def __init__(self, df, train_marginal, train_continuous=None, test_marginal=None, test_continuous=None, tol=1e-9):
        self.train = build_system(df, train_marginal, train_continuous)
        self.test = build_system(df, test_marginal, test_continuous) if (test_marginal or test_continuous) else None
        self.tol = tol

    @staticmethod
    def _rel(system, w):
        return np.abs(system.estimates(w) - system.b) / np.abs(system.b)

    def score(self, w, **fields) -> dict:
        tr = self._rel(self.train, w)
        te = self._rel(self.test, w) if self.test is not None else np.array([np.nan])
        s2 = float(w @ w)
        row = {"n_active": int(np.count_nonzero(w > self.tol)), "train_error": float(tr.mean()),
               "test_error": float(te.mean()), "train_max_error": float(tr.max()), "test_max_error": float(te.max()),
               "total_weight": float(w.sum()), "kish_ess": float(w.sum() ** 2 / s2) if s2 > 0 else 0.0}
        row.update(fields)
        return row


def _check_grid(name, grid):
    grid = np.atleast_1d(np.asarray(grid, dtype=float))
    if grid.size == 0:
        raise ValueError(f"{name} grid is empty")
    if not np.all(np.isfinite(grid)) or np.any(grid < 0):
        raise ValueError(f"{name} grid must be finite and >= 0, got {grid.tolist()}")
    return grid


def _check_seeds(seeds):
    seeds = list(seeds)
    if not seeds:
        raise ValueError("seeds is empty: give at least one seed")
    if any(isinstance(s, bool) or not isinstance(s, (int, np.integer)) for s in seeds):
        raise TypeError(f"seeds must be integers, got {seeds}")
    return seeds


def sweep_l1(df, scorer, train_marginal, train_continuous=None, *, alphas=None, lambdas=None, refit=False,
             method=None, tol=1e-8, weight_col="weight", optimal_set=None):
    """SparseCalibrator over ``alphas`` (fractions of lambda_max) or absolute ``lambdas``.

    One warm-started certified path; with ``refit=True`` each support is re-solved
    without the penalty ("relaxed L1").  ``penalty`` holds the absolute lambda.

    ``optimal_set=(test_marginal, test_continuous)`` adds, for each lambda, the range of
    held-out error over the whole optimal set (``test_error_min``, ``test_error_max``) and the
    vertex solution's point (``vertex_n_active``, ``vertex_test_error``): the L1 optimum is
    often not unique, so the solver's own point is one of many (see :mod:`reweightkit.optimal_set`).
    """
    if (alphas is None) == (lambdas is None):
        raise ValueError("give exactly one of alphas and lambdas")
    prob = prepare(df, train_marginal, train_continuous, weight_col)
    lam_max = lambda_max(prob.At_rec, prob.b_t)
    grid = lam_max * _check_grid("alpha", alphas) if lambdas is None else _check_grid("lambda", lambdas)
    order = np.argsort(-grid, kind="stable")
    path = nn_lasso_path(prob.At_rec, prob.b_t, lambdas=grid[order], w0=prob.w0, tol=tol)
    name = method or ("L1 relaxed" if refit else "L1")
    rows = []
    for pos, sol in zip(order, path["solutions"]):
        w, secs, conv = sol.w, sol.seconds, sol.converged
        if refit and np.any(w > 0):
            t0 = time.perf_counter()
            w, r = relaxed_refit(prob.At_rec, prob.b_t, w, tol=tol)
            secs, conv = secs + time.perf_counter() - t0, conv and r.converged
        row = scorer.score(w, method=name, penalty=sol.lam, grid=int(pos), seed=np.nan, seconds=secs, converged=conv,
                           alpha=sol.lam / lam_max if lam_max > 0 else np.nan)
        if optimal_set is not None and np.any(w > 0) and not refit:
            _, rng_ = optimal_set_ranges(df, w, train_marginal, train_continuous, *optimal_set)
            v = vertex_solution(prob.At_rec, w)
            vs = scorer.score(v)
            row.update(test_error_min=rng_["min_error"], test_error_max=rng_["max_error"],
                       vertex_n_active=vs["n_active"], vertex_test_error=vs["test_error"])
        rows.append(row)
    return pd.DataFrame(rows)


def hard_concrete_grid(df, train_marginal, train_continuous, lambdas, seeds, weight_col="weight", **train_kw):
    """Train every (lambda, seed) pair as one batched computation, lambda-major.

    Returns ``(prob, lam_k, grid_k, seed_k, out)``: the prepared problem, the penalty,
    grid position and seed of each replica, and :func:`train_hard_concrete`'s output
    (``train_kw`` is passed on to it).
    """
    lambdas, seeds = _check_grid("lambda_l0", lambdas), _check_seeds(seeds)
    prob = prepare(df, train_marginal, train_continuous, weight_col)
    lam_k = np.repeat(lambdas, len(seeds))
    grid_k = np.repeat(np.arange(len(lambdas)), len(seeds))
    seed_k = [int(s) for s in seeds] * len(lambdas)
    out = train_hard_concrete(prob.At_rec, prob.b_t, prob.w0, lam_k, seed_k, **train_kw)
    return prob, lam_k, grid_k, seed_k, out


def sweep_hard_concrete(df, scorer, train_marginal, train_continuous=None, *, lambdas=PUBLISHED_L0_LAMBDAS,
                        seeds=range(5), epochs=2000, lr=0.1, verbose=False, weight_col="weight"):
    """HardConcreteCalibrator for every (lambda, seed), trained as one batched computation."""
    _, lam_k, grid_k, seed_k, out = hard_concrete_grid(df, train_marginal, train_continuous, lambdas, seeds,
                                                       weight_col, epochs=epochs, lr=lr, verbose=verbose,
                                                       desc="HardConcrete sweep")
    per_fit = out["seconds"] / len(lam_k)
    return pd.DataFrame([scorer.score(w, method="HardConcrete", penalty=lam, grid=int(g), seed=s, seconds=per_fit,
                                      converged=True)
                         for w, lam, g, s in zip(out["weights"], lam_k, grid_k, seed_k)])


def sweep_subsample(df, scorer, train_marginal, train_continuous=None, *, sizes, seeds=range(5), verbose=False,
                    weight_col="weight"):
    """SubsampleRakeCalibrator for every (k, seed); ``penalty`` holds k."""
    sizes = list(np.atleast_1d(sizes))
    if not sizes:
        raise ValueError("sizes grid is empty")
    seeds = _check_seeds(seeds)
    rows = []
    it = [(g, int(k), s) for g, k in enumerate(sizes) for s in seeds]
    if verbose:
        from tqdm.auto import tqdm

        it = tqdm(it, desc="Subsample+rake sweep")
    for g, k, s in it:
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RakeWarning)  # recorded in `converged`
            cal = SubsampleRakeCalibrator(k, seed=s).fit(df, train_marginal, train_continuous, weight_col)
        rows.append(scorer.score(cal.weights_, method="Subsample+rake", penalty=k, grid=g, seed=s,
                                 seconds=time.perf_counter() - t0, converged=cal.converged_))
    return pd.DataFrame(rows)


def dense_reference(df, scorer, train_marginal, train_continuous=None, weight_col="weight"):
    """All records raked to the train targets: the no-sparsity reference."""
    t0 = time.perf_counter()
    cal = RakeCalibrator().fit(df, train_marginal, train_continuous, weight_col)
    return pd.DataFrame([scorer.score(cal.weights_, method="Rake (all records)", penalty=0.0, grid=0, seed=np.nan,
                                      seconds=time.perf_counter() - t0, converged=cal.converged_)])


def run_comparison(df, train_marginal, train_continuous, test_marginal, test_continuous=None, *, alphas=None,
                   l1_lambdas=PUBLISHED_L1_LAMBDAS, l0_lambdas=PUBLISHED_L0_LAMBDAS, sizes=None, seeds=range(5),
                   epochs=2000, methods=("l1", "l1-relaxed", "l1-published", "hardconcrete", "subsample", "dense"),
                   verbose=False):
    """Every method on one frontier; returns a tidy DataFrame (see ``COLUMNS``)."""
    known = {"l1", "l1-relaxed", "l1-published", "hardconcrete", "subsample", "dense"}
    unknown = set(methods) - known
    if unknown:
        raise ValueError(f"unknown method(s) {sorted(unknown)}; choose from {sorted(known)}")
    if alphas is None:
        alphas = np.geomspace(0.9, 1e-3, 15)
    if sizes is None:
        n = len(df)
        sizes = sorted({max(1, int(round(n * np.exp(-lam)))) for lam in PUBLISHED_L1_LAMBDAS}, reverse=True)
    # validate every grid before any fitting starts
    alphas, l1_lambdas, l0_lambdas = (_check_grid(nm, g) for nm, g in
                                      (("alpha", alphas), ("lambda", l1_lambdas), ("lambda_l0", l0_lambdas)))
    sizes, seeds = _check_grid("sizes", sizes), _check_seeds(seeds)
    scorer = Scorer(df, train_marginal, train_continuous, test_marginal, test_continuous)
    args = (df, scorer, train_marginal, train_continuous)
    parts = []
    if "l1" in methods:
        parts.append(sweep_l1(*args, alphas=alphas, optimal_set=(test_marginal, test_continuous)))
    if "l1-relaxed" in methods:
        parts.append(sweep_l1(*args, alphas=alphas, refit=True))
    if "l1-published" in methods:
        parts.append(sweep_l1(*args, lambdas=l1_lambdas, method="L1 (published lambda grid)"))
    if "hardconcrete" in methods:
        parts.append(sweep_hard_concrete(*args, lambdas=l0_lambdas, seeds=seeds, epochs=epochs, verbose=verbose))
    if "subsample" in methods:
        ncells = int(np.prod([len(v) for v in train_marginal.values()]))
        ok = [k for k in sizes if k >= ncells]
        parts.append(sweep_subsample(*args, sizes=ok, seeds=seeds, verbose=verbose))
    if "dense" in methods:
        parts.append(dense_reference(*args))
    out = pd.concat(parts, ignore_index=True)
    return out[COLUMNS + [c for c in out.columns if c not in COLUMNS]]


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard error across seeds (and replicates) for each (method, grid point).

    Fits are grouped by ``grid`` (the position in the method's penalty grid) when
    the results have it, else by ``penalty``: across replicate samples an L1
    grid point is the same ``alpha`` but a different absolute lambda, and a
    subsample size is a fraction of a different ``n``.  ``penalty`` (and
    ``alpha``) are then the means over the group.
    """
    key = "grid" if "grid" in results and results["grid"].notna().all() else "penalty"
    g = results.groupby(["method", key], sort=False)
    cols = ["n_active", "train_error", "test_error", "train_max_error", "test_max_error", "seconds"]
    mean = g[cols].mean()
    if key == "grid":
        level = ["penalty"] + (["alpha"] if "alpha" in results else [])
        mean = pd.concat([g[level].mean(), mean], axis=1)
    se = g[cols].sem(ddof=1).fillna(0.0).add_suffix("_se")
    out = pd.concat([mean, se], axis=1)
    extra = [c for c in ("test_error_min", "test_error_max", "vertex_n_active", "vertex_test_error") if c in results]
    if extra:
        out = pd.concat([out, g[extra].mean()], axis=1)
    out["n_fits"] = g.size()
    out["converged"] = g["converged"].all()
    return out.reset_index()


def pareto_front(summary: pd.DataFrame, x="n_active", y="test_error") -> pd.DataFrame:
    """Rows not dominated by any other: no row has fewer-or-equal records and lower-or-equal error, one strictly."""
    s = summary.sort_values([x, y], kind="stable").reset_index(drop=True)
    keep, best = [], np.inf
    for i, v in enumerate(s[y].to_numpy()):
        if v < best:
            keep.append(i)
            best = v
    return s.iloc[keep].reset_index(drop=True)
