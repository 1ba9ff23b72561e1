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
# # 1. Calibration in one picture
#
# A survey file has $n$ records, each with a *design weight* $d_j$: how many people record $j$
# stands for.  Weighted up, the file should reproduce what is known about the population from
# outside (a census, administrative totals): how many people are in each age group, how many men
# and women, the total of some amount.  It rarely does.  **Calibration** finds new weights $w$ so
# that the weighted totals hit those *targets*.  **Sparse** calibration also wants most weights to
# be exactly zero, so that a much smaller file does the same job.
#
# This first chapter shows the whole story on one small example, then builds the mathematics the
# rest of the course uses.  Everything below is computed here; the `assert`s pin each number the
# text states, and the notebook is re-executed by the test suite, so the text cannot drift from the
# code.

# %%
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt

import reweightkit as rk

df, train_marginal, train_continuous, test_marginal = rk.published_example()
print(f"{len(df):,} records; columns {list(df.columns)}")
print("train targets:", train_marginal, train_continuous)
print("held-out targets:", test_marginal)
df.head()

# %% [markdown]
# ## The problem in one picture
#
# Each group of bars below is one target: how far the file's weighted total is from it, in percent.
# Grey is the file as it comes (every record counts once); blue is after *raking*, the classical
# calibration of every record; orange is a *sparse* file: 100 records drawn at random and then
# raked.  The two targets on the right (the counts of men and women, `is_male`) are **held out**: no fit sees them; they
# show whether the new weights also get right what they were not told.

# %%
w_file = np.ones(len(df))
w_raked = rk.RakeCalibrator().fit(df, train_marginal, train_continuous, weight_col=None).weights_
w_small = rk.SubsampleCalibrator(100, seed=0).fit(df, train_marginal, train_continuous).weights_
picture = {name: rk.target_errors(df, w, {**train_marginal, **test_marginal}, train_continuous).set_index("target")
           .relative_error for name, w in [("the file as drawn (5,000 records)", w_file),
                                           ("raked (5,000 records)", w_raked),
                                           ("100 records, raked", w_small)]}
picture = pd.DataFrame(picture)
held = [f"{col}={k}" for col, cats in test_marginal.items() for k in cats]
picture = picture.loc[[t for t in picture.index if t not in held] + held]
fig, ax = plt.subplots(figsize=(10, 3.8))
x = np.arange(len(picture))
for k, (name, color) in enumerate(zip(picture.columns, ["#999999", "#1f77b4", "#ff7f0e"])):
    ax.bar(x + (k - 1) * 0.27, 100 * picture[name], width=0.27, color=color, label=name)
ax.axhline(0, color="k", lw=0.8)
ax.axvspan(len(picture) - len(held) - 0.5, len(picture) - 0.5, color="#f2e6ff", zorder=0, label="held out (never fitted)")
ax.set_xticks(x, picture.index, rotation=20, ha="right")
ax.set_ylabel("weighted total vs target, %")
ax.set_title("What calibration fixes, and what a sparse file costs")
ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
_ = fig.tight_layout()
miss = picture.abs()
train_names = [t for t in picture.index if t not in held]
print(miss.loc[train_names].max().map("{:.2%}".format).to_string())
print("held-out mean |error|:", miss.loc[held].mean().map("{:.2%}".format).to_dict())
assert miss.loc[train_names, picture.columns[0]].max() > 0.05  # the file misses its targets by > 5 %
assert miss.loc[train_names, picture.columns[1:]].max().max() < 1e-8  # both calibrations hit every train target
held_mean = miss.loc[held].mean()
assert held_mean.iloc[1] > held_mean.iloc[0]  # raking on age does not fix the sex counts here
assert held_mean.iloc[2] > held_mean.iloc[1]  # and the 100-record file misses them by more
assert np.allclose(held_mean.round(3), [0.115, 0.126, 0.130])  # the numbers the text quotes
assert 0.19 < miss.loc[train_names, picture.columns[0]].max() < 0.20

# %% [markdown]
# Read it left to right.  The file as drawn misses its train targets by up to 20 % (grey).
# Raking every record hits all six train targets exactly (no blue bar), and keeping only 100
# records and raking them hits them too (no orange bar): on the targets it was fitted to, a sparse
# file looks just as good.  The held-out counts of men and women tell a different story.  Raking
# did not improve them (mean miss 12.6 % against 11.5 % for the file as drawn: in this example
# the age targets say nothing about sex), and the 100-record file misses them by more (13.0 %),
# with a different split between men and women.  Calibration is only as good as the targets it is
# given, and a sparse file pays on what it was not fitted to: this course measures that trade,
# method by method.
#
# ## The map of the course
#
# | chapter | what it answers |
# |---|---|
# | 1. this one | calibration as $A w \approx b$, the loss every method minimises, what sparsity buys and costs |
# | [2. L1 and FISTA](02_l1_fista.ipynb) | the non-negative LASSO: why its optimum is a *set*, how a duality gap *proves* an answer |
# | [3. L0 Hard Concrete](03_l0_hard_concrete.ipynb) | random gates that switch records off: the L0 method of the field |
# | [4. The published comparison](04_comparison.ipynb) | a published L1-vs-L0 experiment reproduced and checked claim by claim |
# | [5. Evaluating honestly](05_evaluating_honestly.ipynb) | replicate samples, held-out targets, standard errors: how to choose a method |
# | [6. Select, then calibrate](06_select_then_calibrate.ipynb) | record budgets, refits, the classical selectors, bounds on the weights |
# | [7. Real microdata](07_real_microdata.ipynb) | the same questions on real people (the CPS 1988 extract) |
# | [8. National scale](08_national_scale.ipynb) | 16 target families, leaks between them, every method at matched budgets |
#
# The rest of this chapter builds the mathematics the others rely on.
#
# ## The data
# %% [markdown]
# This is the example of the published comparison (see `rk.published_example?` for how it is
# generated): 5,000 records with an age group, a sex and a survey weight.  The **train targets**
# are the five age-group counts and the total of the `weight` column; the **held-out targets**
# (the two sex counts) are never shown to a fit and score it afterwards.
#
# ## Targets are rows of a matrix
#
# A count target for category $g$ of a column is the row $A_{gj} = 1$ if record $j$ is in $g$,
# else $0$; a total target for a numeric column $x$ is the row $A_{j} = x_j$.  With the targets
# stacked in $b$, the weighted totals are $A w$ and calibration asks for
#
# $$A w \approx b, \qquad w \ge 0 .$$

# %%
# NBVAL_CHECK_OUTPUT
system = rk.problem.build_system(df, train_marginal, train_continuous)
A, b = system.A, system.b
print(f"A is {A.shape[0]} x {A.shape[1]} with {A.nnz:,} non-zeros")
for name, kind, value in zip(system.names, system.kinds, b):
    print(f"  {name:<16} {kind:<10} b = {value:,.0f}")

# every record sits in exactly one age group, and the last row is the weight column itself
age_rows = [k for k, kind in enumerate(system.kinds) if kind == "marginal"]
assert A.shape == (6, 5000)
assert np.all(np.asarray(A[age_rows].sum(axis=0)).ravel() == 1)
assert np.allclose(A[-1].toarray().ravel(), df["weight"])

# %% [markdown]
# Each record has a 1 in exactly one age-group row (the five rows partition the file), and the
# sixth row is the `weight` column.  Counts are in persons (thousands), the total in millions:
# the targets differ by four orders of magnitude, so the loss has to be *relative*.
#
# ## The relative loss
#
# Every method in the kit minimises (plus its own sparsity penalty)
#
# $$\frac12 \sum_i \left(\frac{A_i w - b_i}{|b_i|}\right)^2
#   = \frac12 \lVert \tilde A w - \tilde b \rVert^2,
# \qquad \tilde A = \operatorname{diag}(1/|b|)\,A,\quad \tilde b = \operatorname{sign}(b) .$$
#
# So a 1 % miss on a count costs the same as a 1 % miss on the total.  We check the identity on
# the weights that the published example treats as the file's own: one person per record, $w = 1$.

# %%
A_t, b_t = system.scaled()
w_one = np.ones(len(df))
loss_direct = 0.5 * np.sum(((A @ w_one - b) / np.abs(b)) ** 2)
loss_scaled = 0.5 * np.sum((A_t @ w_one - b_t) ** 2)
print(f"relative loss at w = 1: {loss_direct:.6f} (direct) = {loss_scaled:.6f} (scaled)")
assert np.isclose(loss_direct, loss_scaled, rtol=1e-12)
errors_one = rk.target_errors(df, w_one, train_marginal, train_continuous)
assert errors_one.relative_error.abs().max() > 0.05
errors_one

# %% [markdown]
# With every record counting once, several targets are missed by more than 5 % (the table's last
# column): calibration has real work to do.
#
# ## Dense calibration: every record keeps a weight
#
# *Raking* (generalised raking, the classical method) multiplies each design weight by a factor
# $\exp(a_j^\top \mu)$ and solves for $\mu$ so that every train target is met exactly.  It keeps
# every record.

# %%
rake = rk.RakeCalibrator().fit(df, train_marginal, train_continuous, weight_col=None)
w_rake = rake.weights_
rake_train = rk.problem.mean_relative_error(df, w_rake, train_marginal, train_continuous)
rake_test = rk.problem.mean_relative_error(df, w_rake, test_marginal)
print(f"raking: {rk.problem.n_active(w_rake)} active records, train error {rake_train:.2e}, "
      f"held-out error {rake_test:.1%}, Kish ESS {rk.problem.kish_ess(w_rake):,.0f}")
assert rk.problem.n_active(w_rake) == len(df) and rake_train < 1e-8

# %% [markdown]
# Raking meets every train target (error below $10^{-8}$) with all 5,000 records.
#
# ## What sparsity buys and what it costs
#
# A sparse solution meets the same targets with few records: a smaller file, faster
# microsimulation.  What it costs shows in two places: *held-out* targets (the few records must
# also represent everything the fit did not see) and *variance* (a few large weights; Kish's
# effective sample size $(\sum w)^2 / \sum w^2$ falls).  The L1 calibrator's sparsest optimal
# solution (a *vertex*, notebook 2) and a random subsample that is then raked (the procedure behind
# the published "SparseCalibrator" numbers) show both.

# %%
fits = {
    "rake (all records)": w_rake,
    "L1, alpha=0.001, FISTA": rk.SparseCalibrator(alpha=0.001, solver="fista").fit(
        df, train_marginal, train_continuous).weights_,
    "L1, alpha=0.001, vertex": rk.SparseCalibrator(alpha=0.001, solver="fista", solution="vertex").fit(
        df, train_marginal, train_continuous).weights_,
    "subsample 100 + rake (seed 0)": rk.SubsampleCalibrator(100, seed=0).fit(
        df, train_marginal, train_continuous).weights_,
}
table = pd.DataFrame(
    [{"fit": name, "active records": rk.problem.n_active(w),
      "train error": rk.problem.mean_relative_error(df, w, train_marginal, train_continuous),
      "held-out error": rk.problem.mean_relative_error(df, w, test_marginal),
      "Kish ESS": rk.problem.kish_ess(w)} for name, w in fits.items()]
).set_index("fit")
print(table.to_string(float_format=lambda v: f"{v:.4g}"))

t = table["active records"]
assert t["L1, alpha=0.001, vertex"] <= A.shape[0] + 1 < 1000 < t["L1, alpha=0.001, FISTA"]
assert table.loc["L1, alpha=0.001, vertex", "Kish ESS"] < 10 < table.loc["rake (all records)", "Kish ESS"]
assert table["train error"].max() < 0.01

# %% [markdown]
# All four fits meet the train targets to better than 1 %.  The L1 *vertex* solution does it with
# at most $m + 1 = 7$ records, so its effective sample size is a handful of people and its
# held-out error is whatever those few records' sex mix happens to be; the FISTA solution of the
# *same* L1 problem uses thousands of records (notebook 2 explains why both are optimal and compares
# the points the solvers return, `SparseCalibrator`'s default among them; this notebook names
# `solver="fista"`).

# %% [markdown]
# ## Try it: move one target
#
# The slider multiplies the `65+` count by a factor and refits the L1 calibrator (FISTA) at
# $\alpha = 0.01$ (a penalty of 1 % of $\lambda_{\max}$, notebook 2).  Watch which errors move.

# %%
rk.widgets.moved_target_explorer(df, train_marginal, train_continuous, "age_group=65+", factors=(0.5, 1.5),
                                 solver="fista")

# %% [markdown]
# The same slider with its frames computed in advance, for readers without a live kernel (in the
# book it still moves); it opens at factor 1.3:

# %%
factors = [0.5, 0.7, 0.9, 1.0, 1.1, 1.3, 1.5]
rk.widgets.static_slider(lambda f: rk.widgets.render_moved_target(df, train_marginal, train_continuous,
                                                                   "age_group=65+", f, solver="fista"),
                         factors, label="factor on age_group=65+", index=factors.index(1.3))

# %% [markdown]
# Only the moved target's error changes.  The age groups partition the records, and the weight
# total can be met by shifting weight between records of the same group, so these six targets
# never conflict: any values can be hit exactly.  The errors are the L1 penalty's doing.  Since
# $\sum_{j \in g} w_j = b_g t_g$ where $t_g = A_g w / b_g$, the penalty on group $g$ is
# $\lambda b_g t_g$, and minimising $\tfrac12 (t_g - 1)^2 + \lambda b_g t_g$ gives
# $t_g = 1 - \lambda b_g$: **each count is shrunk by $\lambda b_g$ in relative terms**, bigger
# targets more.  The check below computes both sides.

# %%
# NBVAL_CHECK_OUTPUT
fits_moved = {f: rk.widgets.moved_target_fit(df, train_marginal, train_continuous, "age_group=65+", f,
                                             solver="fista") for f in (1.0, 1.3)}
rows = []
for f, fit in fits_moved.items():
    lam = fit["calibrator"].lambda_
    t = fit["table"]
    predicted = np.where(t.kind == "marginal", -lam * t.value, 0.0)
    rows.append(pd.DataFrame({"factor": f, "target": t.target, "relative error": t.relative_error,
                              "-lambda * b_g": predicted}))
    assert np.allclose(t.relative_error, predicted, atol=1e-6)
check = pd.concat(rows, ignore_index=True)
pct = lambda v: f"{v:+.4%}"
print(check.to_string(index=False, formatters={"relative error": pct, "-lambda * b_g": pct}))
e = {f: fit["table"].set_index("target").relative_error for f, fit in fits_moved.items()}
others = [name for name in e[1.0].index if name != "age_group=65+"]
assert np.allclose(e[1.0][others], e[1.3][others], atol=1e-6)
assert e[1.3]["age_group=65+"] < e[1.0]["age_group=65+"] < 0

# %% [markdown]
# Measured and predicted errors agree to $10^{-6}$ at both factors; the other five targets keep
# their errors, and the moved one is shrunk more because it is larger.  Notebook 2 builds on this:
# here the L1 penalty mostly shrinks totals rather than choosing records.

# %% [markdown]
# ## Exercises
#
# Each solution is folded under its exercise in the book and runs with the notebook (so it stays
# true); try first, then unfold.
#
# :::{admonition} Exercise 1.1: the effective sample size by hand
# Kish's effective sample size of a weight vector is $(\sum_j w_j)^2 / \sum_j w_j^2$.  Compute it
# from its definition for the raked weights and for the 100-record file of the first figure, and
# check your numbers against `rk.problem.kish_ess`.  Which file's estimates will be noisier, and
# by roughly what factor in variance?
# :::

# %% tags=["hide-cell"]
def ess(w):
    return w.sum() ** 2 / np.sum(w ** 2)


for name, w in [("raked", w_raked), ("100 records, raked", w_small)]:
    print(f"{name:>20}: ESS {ess(w):8.1f} (kit {rk.problem.kish_ess(w):8.1f})")
    assert np.isclose(ess(w), rk.problem.kish_ess(w), rtol=1e-12)
variance_factor = ess(w_raked) / ess(w_small)
print(f"variance of a weighted mean grows by about {variance_factor:.0f}x in the small file")
assert ess(w_small) <= 100 < ess(w_raked) and variance_factor > 10

# %% [markdown]
# :::{admonition} Exercise 1.2: predict the shrinkage
# The chapter derived that at penalty $\lambda$ the L1 fit misses each age count by
# $-\lambda b_g$ in relative terms.  Without refitting, predict the relative error of the
# `age_group=18-34` count at factor 1.0 from the fitted `lambda_` and the target's value, then
# compare with the fit's own table.  Which age count is shrunk the most, and why that one?
# :::

# %% tags=["hide-cell"]
fit = fits_moved[1.0]
lam = fit["calibrator"].lambda_
tab = fit["table"].set_index("target")
predicted = -lam * tab.loc["age_group=18-34", "value"]
print(f"predicted {predicted:+.4%}, fitted {tab.loc['age_group=18-34', 'relative_error']:+.4%}")
assert np.isclose(predicted, tab.loc["age_group=18-34", "relative_error"], atol=1e-6)
counts = tab[tab.kind == "marginal"]
largest = counts.value.idxmax()
print(f"shrunk the most: {counts.relative_error.idxmin()} (the largest count: {largest})")
assert counts.relative_error.idxmin() == largest

# %% [markdown]
# ## In short, and where to go next
#
# - Calibration is $A w \approx b$ with $w \ge 0$: one row per target, one column per record; the
#   kit's loss is *relative*, so every target counts alike.
# - Dense calibration (raking) hits every train target with every record; a sparse file can hit
#   them too, and pays on what it was not fitted to (held-out targets) and in variance (a small
#   effective sample size).
# - A penalised L1 fit does not just choose records: it shrinks the totals, by $\lambda b_g$.
#
# Next: [chapter 2](02_l1_fista.ipynb) solves the L1 problem and proves its answer; if you came for
# the verdict, [chapter 8](08_national_scale.ipynb) runs every method at national scale, and the
# book's "Which method should I use?" page collects what every chapter measured.
