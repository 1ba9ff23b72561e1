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
# # 1. Calibration as $A w \approx b$
#
# A survey file has $n$ records, each with a *design weight* $d_j$ (how many people record $j$
# stands for).  External sources (a census, administrative totals) give *targets*: how many
# people are in each age group, the total of some amount.  **Calibration** finds new weights $w$
# so that the weighted totals of the file hit those targets.  **Sparse** calibration also wants
# most weights to be exactly zero, so that a smaller file does the same job.
#
# This notebook builds the system from a DataFrame, defines the loss every method in the kit
# minimises, and shows what sparsity buys and what it costs.  Everything below is computed here;
# the `assert`s pin each number the text states.

# %%
import numpy as np
import pandas as pd
from IPython.display import HTML, display

import reweightkit as rk

df, train_marginal, train_continuous, test_marginal = rk.published_example()
print(f"{len(df):,} records; columns {list(df.columns)}")
print("train targets:", train_marginal, train_continuous)
print("held-out targets:", test_marginal)
df.head()

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
    "L1, alpha=0.001, FISTA": rk.SparseCalibrator(alpha=0.001).fit(df, train_marginal, train_continuous).weights_,
    "L1, alpha=0.001, vertex": rk.SparseCalibrator(alpha=0.001, solution="vertex").fit(
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
# *same* L1 problem uses thousands of records (notebook 2 explains why both are optimal).

# %% [markdown]
# ## Try it: move one target
#
# The slider multiplies the `65+` count by a factor and refits the L1 calibrator at
# $\alpha = 0.01$ (a penalty of 1 % of $\lambda_{\max}$, notebook 2).  Watch which errors move.

# %%
rk.widgets.moved_target_explorer(df, train_marginal, train_continuous, "age_group=65+", factors=(0.5, 1.5))

# %% [markdown]
# The same view at factor 1.3 (a static copy, for readers without a live kernel):

# %%
html, fig = rk.widgets.render_moved_target(df, train_marginal, train_continuous, "age_group=65+", 1.3)
display(HTML(html))
fig

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
fits_moved = {f: rk.widgets.moved_target_fit(df, train_marginal, train_continuous, "age_group=65+", f)
              for f in (1.0, 1.3)}
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
