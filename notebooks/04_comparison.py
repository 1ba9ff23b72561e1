# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 4. The published comparison, reproduced and checked
#
# A public notebook (February 2026) compared an "L1 SparseCalibrator" with a Hard Concrete (L0)
# calibrator on the 5,000-record example of notebook 1: each method swept over its penalty, each
# fit scored on the held-out sex counts, the frontier of records used against held-out error,
# and a runtime comparison.  It concluded that L1 dominates the whole frontier, that Hard
# Concrete's variance explodes below 100 records (±10–14 % standard error), and that L1 is
# 12–90× faster.
#
# Here the same experiment runs through `reweightkit`: the same data generator, targets, λ grids
# and metric, plus what the published run could not show (the real L1 path on a grid scaled to
# $\lambda_{\max}$, relaxed L1, the subsample-and-rake procedure that actually produced its L1
# numbers, and dense raking as the no-sparsity reference).  Every finding below is computed here.

# %%
import time
import warnings

import pandas as pd
import matplotlib.pyplot as plt

import reweightkit as rk

rk.set_threads(1)  # every arm on one thread, so the runtime chart compares methods, not thread counts
df, train_marginal, train_continuous, test_marginal = rk.published_example()
t0 = time.perf_counter()
results = rk.run_comparison(df, train_marginal, train_continuous, test_marginal, seeds=range(5), epochs=2000)
print(f"{len(results)} fits in {time.perf_counter() - t0:.0f} s")
summary = rk.summarize(results)
summary[["method", "alpha", "lambda", "lambda_l0", "n_records", "n_fits", "n_active", "train_error", "test_error",
         "test_error_se"]].round(4)

# %% [markdown]
# ## The frontier
#
# Mean over 5 seeds for the seeded methods, with standard-error bars; for L1, the bar over each
# point is the held-out error's range over the optimal set and the triangle the vertex solution
# (notebook 2).

# %%
fig, ax = plt.subplots(figsize=(9, 5.5))
rk.plot_frontier(summary, ax=ax, title="Published example: records used vs held-out error")
_ = fig.tight_layout()

# %% [markdown]
# ## Finding 1: the published λ grid is above $\lambda_{\max}$
#
# The published L1 sweep used $\lambda \in \{0, 0.001, 0.005, \dots, 5\}$.

# %%
pub = summary[summary.method == "l1-published"]
l1_rows = results[results.method == "l1"]
lam_max = float(l1_rows["lambda"].max() / l1_rows["alpha"].max())
print(f"lambda_max = {lam_max:.5f}")
print(pub[["lambda", "n_active", "train_error", "test_error"]].to_string(index=False))
above = pub[pub["lambda"] >= lam_max]
assert len(above) == 10 and (above.n_active == 0).all() and (above.test_error == 1.0).all()

# %% [markdown]
# Ten of its twelve λ values are at or above $\lambda_{\max}$ and give all-zero weights (100 %
# error on every target).  Its L1 curve therefore did not come from this problem: per the notes on
# the published run, the library's "SparseCalibrator" kept $k = n e^{-\lambda}$ records at random
# and raked them, which is our `subsample` method (here seeded).
#
# ## Finding 2: plain L1 does not reach sparsity at small error
#
# With $w \ge 0$ the L1 penalty is $\lambda \sum_j w_j$, which here only shrinks the counts
# (notebook 1).  Along the certified path, FISTA keeps nearly every record until the train error
# is large:

# %%
l1 = summary[summary.method == "l1"]
print(l1[["alpha", "n_active", "train_error", "test_error", "vertex_n_active"]].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
sparse_l1 = l1[l1.n_active < 1000]
assert (sparse_l1.train_error > 0.5).all()
assert (l1[l1.train_error < 0.05].n_active > 4900).all()
assert (l1.vertex_n_active.dropna() <= 7).all()

# %% [markdown]
# Every FISTA solution with fewer than 1,000 records misses the train targets by more than 50 %,
# and every one within 5 % keeps more than 4,900 records.  (The vertex solutions of the same
# problems use at most 7 records — same objective, different point of the optimal set.)
#
# ## Finding 3: who is on the frontier
#
# A fit is on the frontier (Pareto-optimal) if no other fit has both fewer records and lower
# held-out error.

# %%
front = rk.pareto_front(summary)
print(front[["method", "alpha", "lambda_l0", "n_records", "n_active", "test_error", "test_error_se"]].to_string(index=False, float_format=lambda v: f"{v:.4g}"))


def dominated_by(points, others):
    """For each point, whether some other fit has <= records and lower error."""
    return [bool(((others.n_active <= p.n_active) & (others.test_error < p.test_error)).any()) for p in points.itertuples()]


hc = summary[summary.method == "hardconcrete"]
l1_mid = l1[(l1.n_active >= 10) & (l1.n_active < 4500)]
assert "l1" not in set(front.method)
assert all(dominated_by(l1[l1.n_active > 0], summary[summary.method != "l1"]))
assert len(l1_mid) >= 1 and all(dominated_by(l1_mid, hc))

# %% [markdown]
# No plain-L1 point is on the frontier: every one is beaten by a fit of another method with no
# more records *and* lower held-out error, and every L1 point with 10 to 4,500 records by a Hard
# Concrete fit.  The published claim "L1 dominates the entire frontier" is reversed when L1 is the
# L1 problem.
#
# ## Finding 4: seed-to-seed variance of Hard Concrete

# %%
sparse_hc = hc[hc.n_active < 100]
print(sparse_hc[["lambda_l0", "n_active", "test_error", "test_error_se"]].to_string(index=False, float_format=lambda v: f"{v:.4g}"))
assert len(sparse_hc) >= 2 and sparse_hc.test_error_se.max() < 0.10

# %% [markdown]
# Below 100 records the standard error across 5 seeds stays under 10 percentage points (the
# printed values), smaller than the published ±10–14 %.  Seed dependence is real but it is not
# unique to L0: the random subsample behind the published L1 curve varies from seed to seed as
# well (the `subsample` rows of the summary above carry their own standard errors).
#
# ## Finding 5: the held-out targets cannot separate the methods
#
# The held-out sex counts are the sample's counts times independent noise: nothing a fit sees
# predicts them.  Every fit that keeps a representative share of the records scores about the
# same:

# %%
broad = summary[(summary.n_active >= 150) & (summary.train_error < 0.01)]
print(broad.groupby("method").test_error.agg(["min", "max"]).to_string(float_format=lambda v: f"{v:.2%}"))
assert broad.test_error.between(0.11, 0.135).all()

# %% [markdown]
# Between 11 % and 13.5 % for every method, dense raking included: this experiment measures the
# noise in its targets, not the quality of a selection.  Notebook 5 uses a benchmark where the
# held-out targets are predictable.
#
# ## Runtime
#
# Seconds per fit as run here, **every arm on one thread** (`rk.set_threads(1)` at the top, and
# `rk.threads.thread_limits(1)` around the `l0-python` fit, which would otherwise start one torch thread
# per core): the chart compares the methods, not how many threads each happened to get.  The
# batched engine trains all 55 Hard Concrete fits as one computation (its per-fit time is the batch
# time over 55); `l0-python` fits one at a time, so we time one of its fits as well.

# %%
runtime = rk.experiment.runtime_table(results)
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Sparse invariant checks")
    t0 = time.perf_counter()
    with rk.threads.thread_limits(1):
        rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=0, epochs=2000, engine="l0").fit(df, train_marginal,
                                                                                       train_continuous)
    l0_seconds = time.perf_counter() - t0
runtime = pd.concat([runtime, pd.DataFrame([{"method": "HardConcrete (l0-python, one fit)", "fits": 1,
                                             "seconds_total": l0_seconds, "seconds_per_fit": l0_seconds}])],
                    ignore_index=True)
print(runtime.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
per_fit = runtime.set_index("method").seconds_per_fit
ratio_batched = per_fit["hardconcrete"] / per_fit["l1"]
ratio_l0 = per_fit["HardConcrete (l0-python, one fit)"] / per_fit["l1"]
print(f"Hard Concrete / L1 per fit: {ratio_batched:.0f}x (batched), {ratio_l0:.0f}x (l0-python)")
fig, ax = plt.subplots(figsize=(8, 3.5))
rk.plot_runtime(runtime, ax=ax)
_ = fig.tight_layout()
assert 5 * per_fit["l1"] < per_fit["hardconcrete"] < per_fit["HardConcrete (l0-python, one fit)"]

# %% [markdown]
# One certified L1 fit is more than five times faster than one Hard Concrete fit even when the latter
# is batched (the printed ratios, which depend on the machine and on batching).  Speed is L1's real
# advantage.  Whether that speed buys a sparse file is the question of finding 2: not with plain
# L1 on this problem.
#
# ## What differs from the published notebook, and why
#
# | published claim | computed here | why |
# |---|---|---|
# | L1 dominates the frontier | plain L1 is on no part of the frontier (finding 3) | its L1 curve was subsample + rake, not the L1 problem (finding 1) |
# | L0 variance explodes, ±10–14 % SE below 100 records | under 10 % (finding 4) | seeded fits; different draws |
# | L1 12–90× faster | true in kind (runtime) | — |
# | the L1 frontier is one curve | L1's optimum is a set (notebook 2) | $\sum_j w_j$ is fixed by the fitted values |
# | the held-out error ranks methods | all broad fits within 11–13.5 % (finding 5) | held-out targets are noise |

# %% [markdown]
# ## Exercises
#
# Solutions are folded in the book and run with the notebook, so they stay true.
#
# :::{admonition} Exercise 4.1: the best small file
# Among the fits of `summary` that keep between 1 and 100 records, which has the lowest held-out
# error, and which method made it?  Is its lead larger than two standard errors over the best fit
# of another method in that range?
# :::

# %% tags=["hide-cell"]
small = summary[(summary.n_active >= 1) & (summary.n_active <= 100)].sort_values("test_error")
top = small.iloc[0]
rival = small[small.method != top.method].iloc[0]
gap = rival.test_error - top.test_error
se = (top.test_error_se ** 2 + rival.test_error_se ** 2) ** 0.5
print(f"best: {top.method} with {top.n_active:.0f} records, {top.test_error:.2%} ± {top.test_error_se:.2%}; "
      f"best other: {rival.method} {rival.test_error:.2%}; lead {gap:.2%} = {gap / se if se else float('inf'):.1f} se")
assert top.test_error == small.test_error.min() and gap >= 0

# %% [markdown]
# :::{admonition} Exercise 4.2: a standard error by hand
# `summarize` reports the mean held-out error over the five seeds and its standard error.  From
# `results`, recompute both for Hard Concrete at $\lambda_{L0} = 10^{-4}$ and check them against
# `summary`.
# :::

# %% tags=["hide-cell"]
import numpy as np

runs = results[(results.method == "hardconcrete") & np.isclose(results.lambda_l0, 1e-4)].test_error.to_numpy()
mean, se = runs.mean(), runs.std(ddof=1) / np.sqrt(len(runs))
row = summary[(summary.method == "hardconcrete") & np.isclose(summary.lambda_l0, 1e-4)].iloc[0]
print(f"{len(runs)} seeds: mean {mean:.4%}, se {se:.4%} (summary: {row.test_error:.4%}, {row.test_error_se:.4%})")
assert len(runs) == 5 and np.isclose(mean, row.test_error) and np.isclose(se, row.test_error_se)
