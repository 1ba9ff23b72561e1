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
# # 3. L0 calibration with Hard Concrete gates
#
# The L0 "norm" counts non-zero weights; penalising it directly is combinatorial.  Louizos,
# Welling & Kingma (2018) make it differentiable: each record $j$ gets a random *gate*
# $z_j \in [0, 1]$ that can be exactly 0, and its weight is $w_j = e^{v_j} z_j$.  Training
# minimises the expected loss plus $\lambda_{L0}$ times the *expected number of open gates*.
# The kit trains this model with PolicyEngine's `l0-python` mathematics (`engine="l0"` runs
# `l0-python` itself; `engine="autograd"` runs its operations for many $(\lambda, \text{seed})$
# fits at once; the default `engine="fast"` does the same with the gradient written out by hand).

# %%
import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from IPython.display import HTML, display
from scipy.integrate import quad

import reweightkit as rk
from reweightkit.problem import BETA, GAMMA, ZETA
from reweightkit.solvers import train_hard_concrete, train_with_l0_python

df, train_marginal, train_continuous, test_marginal = rk.published_example()
print(f"gate parameters (l0-python's defaults): beta = {BETA:.4f}, gamma = {GAMMA}, zeta = {ZETA}")

# %% [markdown]
# ## The gate
#
# Draw $u \sim U(0, 1)$, form the *binary concrete* variable
# $s = \sigma\big((\log u - \log(1 - u) + \log\alpha)/\beta\big)$, stretch it to
# $\bar s = \gamma + (\zeta - \gamma)\,s$ with $\gamma < 0 < 1 < \zeta$, and clip:
# $z = \min(1, \max(0, \bar s))$.  The stretch puts probability mass *beyond* 0 and 1, and the
# clip turns it into atoms: the gate is exactly closed with probability
#
# $$P(z = 0) = P\big(s \le \tfrac{-\gamma}{\zeta - \gamma}\big)
#   = \sigma\big(\beta \log(-\gamma/\zeta) - \log\alpha\big),$$
#
# exactly open with $P(z = 1)$, and has a density on $(0, 1)$ in between.  $\log\alpha$ is learned
# per record; $\beta$ (temperature), $\gamma$ and $\zeta$ are fixed.  We check the closed forms
# against 400,000 seeded draws.

# %%
# NBVAL_CHECK_OUTPUT
rows = []
for log_alpha in (-2.0, 0.0, 2.0):
    z = rk.problem.sample_gates(log_alpha, 400_000, seed=0)
    p0, p1 = float(rk.problem.gate_prob_zero(log_alpha)), float(rk.problem.gate_prob_one(log_alpha))
    mass = quad(lambda x: float(rk.problem.gate_density(x, log_alpha)), 0, 1, limit=200)[0]
    rows.append({"log alpha": log_alpha, "P(z=0)": p0, "sampled": (z == 0).mean(), "P(z=1)": p1,
                 "sampled ": (z == 1).mean(), "density mass": mass, "1 - P0 - P1": 1 - p0 - p1})
    se = np.sqrt(p0 * (1 - p0) / z.size)
    assert abs((z == 0).mean() - p0) < 5 * se and abs((z == 1).mean() - p1) < 5 * np.sqrt(p1 * (1 - p1) / z.size)
    assert abs(mass - (1 - p0 - p1)) < 1e-6
print(pd.DataFrame(rows).to_string(index=False, float_format=lambda v: f"{v:.4f}"))

# %% [markdown]
# The sampled frequencies of the two atoms agree with the closed forms within five standard
# errors, and the density integrates to the remaining mass.
#
# ## Try it: the gate's shape
#
# Sliders for $\log\alpha$, $\beta$, $\gamma$ and $\zeta$ redraw the density and its atoms (closed
# forms, so the redraw is instant).

# %%
rk.widgets.gate_explorer()

# %% [markdown]
# At l0-python's defaults and $\log\alpha = 0$ (static):

# %%
html, fig = rk.widgets.render_gate(0.0)
display(HTML(html))
fig

# %% [markdown]
# ## The expected-L0 penalty
#
# $E\,\lVert z\rVert_0 = \sum_j P(z_j \neq 0) = \sum_j \sigma\big(\log\alpha_j - \beta\log(-\gamma/\zeta)\big)$
# is smooth in $\log\alpha$, which is what makes the L0 penalty trainable by gradient descent.

# %%
la = np.linspace(-8, 8, 161)
fig, ax = plt.subplots(figsize=(6.5, 3.3))
ax.plot(la, rk.problem.expected_l0(la), label="P(z != 0) (penalty per record)")
ax.plot(la, rk.problem.gate_prob_one(la), "--", label="P(z = 1)")
ax.set_xlabel("log alpha")
ax.set_ylabel("probability")
ax.legend()
_ = fig.tight_layout()
assert np.allclose(rk.problem.expected_l0(la), 1 - rk.problem.gate_prob_zero(la), atol=1e-12)
print(f"at log alpha = 0 the penalty per record is {float(rk.problem.expected_l0(0.0)):.4f}")

# %% [markdown]
# The penalty equals $1 - P(z = 0)$ to $10^{-12}$ over the whole range.
#
# ## The model and its training
#
# With $\tilde A, \tilde b$ from notebook 1, one fit minimises over $(v, \log\alpha)$
#
# $$E_z\Big[\tfrac12 \lVert \tilde A (e^{v} \odot z) - \tilde b \rVert^2\Big]
#   + \lambda_{L0} \sum_j \sigma\big(\log\alpha_j - \beta\log(-\gamma/\zeta)\big)$$
#
# by Adam on one sampled $z$ per epoch (2,000 epochs, learning rate 0.1).  The data term is
# exactly the L1 calibrator's, so the two methods differ only in the penalty.  The final weights
# use the *deterministic* gate $\min(1, \max(0, \sigma(\log\alpha/\beta)(\zeta - \gamma) + \gamma))$.
# First, the autograd engine reproduces `l0-python` itself: one fit, 200 epochs, seed 7.
# The fast engine (the default) has the same mathematics but draws its gate noise from numpy's
# generator and rounds differently, so its fit is a different draw of the same model: the same
# number of records kept, give or take a few, and the same fit to the targets.

# %%
prob = rk.prepare(df, train_marginal, train_continuous)
ref = train_with_l0_python(prob.At_rec, prob.b_t, prob.w0, 1e-4, seed=7, epochs=200)
ours = train_hard_concrete(prob.At_rec, prob.b_t, prob.w0, [1e-4], [7], epochs=200, engine="autograd")
fast = train_hard_concrete(prob.At_rec, prob.b_t, prob.w0, [1e-4], [7], epochs=200)
diff = np.max(np.abs(ours["weights"] - ref["weights"]))
print(f"largest weight difference, autograd engine vs l0-python: {diff:.2e}")
assert np.allclose(ours["weights"], ref["weights"], rtol=1e-6, atol=1e-7)
kept = {name: int((out["weights"] > 0).sum()) for name, out in [("l0-python", ref), ("fast", fast)]}
print(f"records kept: {kept}; seconds: l0-python {ref['seconds']:.2f}, fast engine {fast['seconds']:.2f}")
assert abs(kept["fast"] - kept["l0-python"]) <= 0.05 * kept["l0-python"]

# %% [markdown]
# Now the sweep: the published $\lambda_{L0}$ grid (11 values) times 3 seeds, 2,000 epochs each,
# trained as one batched computation.

# %%
hc = rk.widgets.hard_concrete_path(df, train_marginal, train_continuous, test_marginal,
                                   lambdas=rk.experiment.PUBLISHED_L0_LAMBDAS, seeds=range(3), epochs=2000)
hist = hc.history.merge(hc.table[["lambda_l0", "seed"]], left_on="replica", right_index=True)
fig, axes = plt.subplots(1, 3, figsize=(13, 3.5))
for lam in (1e-6, 1e-4, 1e-2):
    h = hist[(np.isclose(hist.lambda_l0, lam)) & (hist.seed == 0)]
    axes[0].semilogy(h.epoch, h.data_loss, label=f"lambda_L0 = {lam:g}")
    axes[1].semilogy(h.epoch, h.expected_active)
    axes[2].semilogy(h.epoch, np.maximum(h.n_active, 0.8))
axes[0].set_ylabel("data loss (sampled gates)")
axes[1].set_ylabel("expected open gates")
axes[2].set_ylabel("active records (deterministic gates)")
for ax in axes:
    ax.set_xlabel("epoch")
axes[0].legend(fontsize=8)
_ = fig.tight_layout()

# %% [markdown]
# Larger $\lambda_{L0}$ closes gates faster and leaves fewer records, at a higher data loss.
#
# ## Seed-to-seed spread
#
# The problem is non-convex and the gates are random, so each seed gives a different answer.

# %%
spread = hc.table.groupby("lambda_l0").agg(
    active_mean=("n_active", "mean"), active_min=("n_active", "min"), active_max=("n_active", "max"),
    train_mean=("train_error", "mean"), test_mean=("test_error", "mean"),
    test_min=("test_error", "min"), test_max=("test_error", "max"))
print(spread.to_string(float_format=lambda v: f"{v:.4g}"))
fig, ax = plt.subplots(figsize=(7, 4))
for s, g in hc.table.groupby("seed"):
    ax.plot(np.maximum(g.n_active, 0.8), g.test_error, "o-", ms=4, alpha=0.7, label=f"seed {s}")
ax.set_xscale("log")
ax.set_xlabel("active records (log)")
ax.set_ylabel("held-out error")
ax.legend()
_ = fig.tight_layout()
act = spread.active_mean
assert act.iloc[0] > 4000 and act.iloc[-1] < 50  # the grid spans dense to very sparse
assert (np.diff(act.to_numpy()) < 0).all()  # more penalty, fewer records (mean over seeds)
assert (spread.train_mean.iloc[:8] < 0.03).all()  # lambda_L0 <= 5e-4: train targets met to 3 %
rel_spread = (spread.active_max - spread.active_min) / spread.active_mean
assert rel_spread.iloc[-1] > 10 * rel_spread.iloc[0]  # seeds disagree far more at the sparse end

# %% [markdown]
# From $\lambda_{L0} = 10^{-7}$ to $10^{-2}$ the mean record count falls monotonically from over
# 4,000 to under 50; up to $\lambda_{L0} = 5\times10^{-4}$ the train targets are met to within 3 %
# on average.  The seeds agree closely while many records are kept and spread apart at the sparse
# end (the relative range of record counts across seeds is more than ten times wider at
# $\lambda_{L0} = 10^{-2}$ than at $10^{-7}$), where which few records survive is a matter of the
# draws.
#
# ## Try it: slide $\lambda_{L0}$
#
# The slider indexes the 11 precomputed sweeps (seed 0 shown; the summary gives the range over
# the three seeds).

# %%
default = hc.penalties.index(1e-4)
rk.widgets.path_explorer(hc, index=default)

# %% [markdown]
# The same slider with its frames computed in advance, for readers without a live kernel; it opens
# at $\lambda_{L0} = 10^{-4}$:

# %%
rk.widgets.static_slider(lambda k: rk.widgets.render_path_state(hc, k), range(len(hc.penalties)),
                         label="lambda_L0", index=default, fmt=lambda k: f"{hc.penalties[k]:.3g}")

# %%
first = {lam: hc.weights[hc.rows(hc.penalties.index(lam)).index[0]] for lam in (1e-7, 1e-4)}
mean_active = {lam: w[w > 0].mean() for lam, w in first.items()}
print(f"mean weight of an active record (seed 0): {mean_active[1e-7]:.3f} at 1e-7, {mean_active[1e-4]:.3f} at 1e-4")
assert mean_active[1e-4] > 5 * mean_active[1e-7]

# %% [markdown]
# Unlike L1 (notebook 2), the L0 penalty acts on the *number* of records, not on the total weight,
# so it selects records while the data term keeps the totals: the surviving records carry larger
# weights (at $\lambda_{L0} = 10^{-4}$ an active record's mean weight is more than five times what it
# is at $10^{-7}$).  Its price is non-convexity (no certificate, seed dependence)
# and 2,000 epochs of training where L1 takes milliseconds; notebook 4 compares them.

# %% [markdown]
# ## Exercises
#
# Solutions are folded in the book and run with the notebook, so they stay true.
#
# :::{admonition} Exercise 3.1: a closed gate by simulation
# For $\log\alpha = 1$, estimate $P(z = 0)$ from 200,000 gates drawn with
# `rk.problem.sample_gates` and compare with `rk.problem.gate_prob_zero`.  How many standard
# errors apart are they?
# :::

# %% tags=["hide-cell"]
z = rk.problem.sample_gates(1.0, 200_000, seed=1)
p0 = float(rk.problem.gate_prob_zero(1.0))
se = np.sqrt(p0 * (1 - p0) / z.size)
print(f"simulated {(z == 0).mean():.4f}, exact {p0:.4f}: {abs((z == 0).mean() - p0) / se:.1f} standard errors apart")
assert abs((z == 0).mean() - p0) < 5 * se

# %% [markdown]
# :::{admonition} Exercise 3.2: reading the path
# From `hc.table` (every $\lambda_{L0}$ and seed of the slider), find the smallest $\lambda_{L0}$
# whose mean number of active records over the seeds is below 500, and its mean held-out error.
# :::

# %% tags=["hide-cell"]
means = hc.table.groupby("lambda_l0")[["n_active", "test_error"]].mean()
first = means[means.n_active < 500].index.min()
print(f"lambda_L0 = {first:g}: {means.loc[first, 'n_active']:.0f} records on average, "
      f"held-out error {means.loc[first, 'test_error']:.2%}")
assert np.isclose(means.loc[first, "n_active"], spread.loc[first, "active_mean"])
assert (means.loc[means.index < first, "n_active"] >= 500).all()
