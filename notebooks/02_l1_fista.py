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
# # 2. L1 calibration and FISTA
#
# The L1 calibrator solves the non-negative LASSO on the relative loss of notebook 1,
#
# $$\min_{w \ge 0}\; P(w) = \tfrac12 \lVert \tilde A w - \tilde b \rVert^2 + \lambda \lVert w \rVert_1 .$$
#
# It is convex, so every local minimum is global, and a *duality gap* can prove how close an
# answer is.  This notebook derives what the penalty does here, solves it with FISTA, certifies
# the answer, sweeps $\lambda$, and shows that the optimum is a *set*: "records used by L1"
# depends on the solver.  Its fits name `solver="fista"`: `SparseCalibrator`'s default,
# `solver="auto"`, runs an active set on a problem this small (the last section compares the three
# solvers and the points they return).

# %%
import warnings

import numpy as np
import pandas as pd
import matplotlib.pyplot as plt
from scipy.optimize import minimize

import reweightkit as rk
from reweightkit.problem import duality_gap, kkt_residual, lambda_max, objective
from reweightkit.solvers import fista

df, train_marginal, train_continuous, test_marginal = rk.published_example()
prob = rk.prepare(df, train_marginal, train_continuous)
At, b_t = prob.At_rec, prob.b_t  # At = A~ transposed (one row per record), b~ = sign(b) = 1
print(f"{At.shape[0]:,} records, {At.shape[1]} train targets")

# %% [markdown]
# ## $\lVert w\rVert_1 = \sum_j w_j$, and what that does here
#
# For $w \ge 0$ the L1 norm is just the sum of the weights: the penalty is $\lambda$ times the
# total population the weights describe.  When the targets pin that total, the penalty cannot
# choose records; it can only shrink totals.  Here the five age groups partition the records, so
# $\sum_j w_j = \sum_g A_g w$ is a function of the fitted values $\tilde A w$ alone, and so is the
# whole objective.  Notebook 1 derived the consequence: each count is shrunk to
# $(1 - \lambda b_g)\,b_g$.

# %%
cal = rk.SparseCalibrator(alpha=0.01, solver="fista").fit(df, train_marginal, train_continuous)
w = cal.weights_
A = prob.system.A
age = [k for k, kind in enumerate(prob.system.kinds) if kind == "marginal"]
print(f"sum of weights {w.sum():.6f} = sum of fitted age counts {(A[age] @ w).sum():.6f}")
assert np.isclose(w.sum(), (A[age] @ w).sum(), rtol=1e-12)

# %% [markdown]
# ## $\lambda_{\max}$: where the penalty wins
#
# At $w = 0$ the gradient of the data term is $-\tilde A^\top \tilde b$.  If
# $\lambda \ge \lambda_{\max} = \max(0, \max_j (\tilde A^\top \tilde b)_j)$ no coordinate can
# decrease $P$ by growing, so $w = 0$ is optimal.  The kit's `alpha` is $\lambda / \lambda_{\max}$.

# %%
# NBVAL_CHECK_OUTPUT
lam_max = max(0.0, float(np.max(At @ b_t)))
print(f"lambda_max = {lam_max:.6f} (kit: {lambda_max(At, b_t):.6f})")
published_grid = [float(v) for v in rk.experiment.PUBLISHED_L1_LAMBDAS]
with warnings.catch_warnings():  # these fits warn that their weights are zero or miss the targets: expected here
    warnings.simplefilter("ignore", rk.LambdaMaxWarning)
    warnings.simplefilter("ignore", rk.TargetMissWarning)
    zero_fits = [lam for lam in published_grid if rk.problem.n_active(
        rk.SparseCalibrator(sparsity_weight=lam).fit(df, train_marginal, train_continuous).weights_) == 0]
    just_below = rk.SparseCalibrator(alpha=0.99).fit(df, train_marginal, train_continuous)
print(f"published lambdas giving all-zero weights: {zero_fits}")
assert np.isclose(lam_max, lambda_max(At, b_t)) and abs(lam_max - 0.0022) < 0.0001
assert zero_fits == [lam for lam in published_grid if lam >= lam_max] and min(zero_fits) == 0.005
assert just_below.n_active_ > 0

# %% [markdown]
# $\lambda_{\max} \approx 0.0022$ on this problem, so every $\lambda$ of the published grid from
# 0.005 up returns all-zero weights: that grid cannot have produced the published L1 curve.
#
# ## The proximal step and FISTA
#
# The data term $f(w) = \tfrac12\lVert \tilde A w - \tilde b\rVert^2$ has gradient
# $\tilde A^\top(\tilde A w - \tilde b)$, Lipschitz with $L = \lambda_{\max}(\tilde A \tilde A^\top)$
# (the largest eigenvalue of an $m \times m$ matrix).  The penalty plus $w \ge 0$ has the proximal
# map $\operatorname{prox}(v) = \max(0, v - \lambda / L)$, so one proximal-gradient step is
#
# $$w^{+} = \max\!\Big(0,\; y - \tfrac1L \big(\nabla f(y) + \lambda\big)\Big).$$
#
# FISTA takes it at an extrapolated point $y_{k} = w_k + \tfrac{t_{k-1} - 1}{t_k}(w_k - w_{k-1})$.
# Momentum overshoots; *adaptive restart* (O'Donoghue & Candès) resets it whenever the step
# points against the last move.  The kit also backtracks on a local estimate of $L$.

# %%
lam = 0.01 * lam_max
curves = {}
for restart in (True, False):
    trace = []
    sol = fista(At, b_t, lam, prob.w0, tol=1e-8, max_iter=20000, restart=restart,
                callback=lambda it, p, rel, r: trace.append((it, rel)))
    curves[restart] = (np.array(trace), sol)
    print(f"restart={restart!s:<5}: {sol.n_iter:>5} iterations, relative gap {sol.rel_gap:.1e}, "
          f"objective {sol.objective:.10f}")
fig, ax = plt.subplots(figsize=(7, 3.5))
for restart, (tr, _) in curves.items():
    ax.semilogy(tr[:, 0], np.maximum(tr[:, 1], 1e-16), label="with restart" if restart else "plain FISTA")
ax.axhline(1e-8, color="k", ls=":", lw=0.8, label="tol = 1e-8")
ax.set_xlabel("iteration")
ax.set_ylabel("relative duality gap (certified)")
ax.legend()
ax.set_title("FISTA at alpha = 0.01")
_ = fig.tight_layout()
n_restart, n_plain = curves[True][1].n_iter, curves[False][1].n_iter
assert curves[True][1].converged and curves[False][1].converged and n_restart < n_plain
assert np.isclose(curves[True][1].objective, curves[False][1].objective, rtol=1e-7)

# %% [markdown]
# Both runs reach the same objective; restart gets there in fewer iterations (the printed counts).
#
# ## The certificate: a duality gap
#
# The dual of the problem is $\max_u D(u) = \tilde b^\top u - \tfrac12\lVert u\rVert^2$ subject to
# $\tilde A^\top u \le \lambda$ (one-sided because $w \ge 0$).  From the residual
# $r = \tilde b - \tilde A w$ the point $u = s\,r$ with
# $s = \operatorname{clip}(\tilde b^\top r / \lVert r\rVert^2,\, 0,\, \lambda / \max_j (\tilde A^\top r)_j)$
# is feasible, and $P(w) - D(u) \ge P(w) - P^\star \ge 0$: a gap of $10^{-8}$ **proves** the
# objective is within $10^{-8}$ (relative) of the optimum.  We compute it here from scratch.

# %%
w = curves[True][1].w
r = b_t - At.T @ w
g = At @ r
s = min(max(0.0, b_t @ r / (r @ r)), lam / g.max())
u = s * r
assert np.all(At @ u <= lam * (1 + 1e-12))  # dual feasible
P = 0.5 * r @ r + lam * w.sum()
D = b_t @ u - 0.5 * u @ u
print(f"P(w) = {P:.12f}, D(u) = {D:.12f}, gap = {P - D:.2e}, relative {(P - D) / P:.2e}")
print(f"kit's certificate: {duality_gap(At, b_t, w, lam)[1]:.2e}; KKT residual {kkt_residual(At, b_t, w, lam):.2e}")
assert (P - D) / P <= 1e-8 and np.isclose((P - D) / P, duality_gap(At, b_t, w, lam)[1], rtol=1e-6, atol=1e-15)

# %% [markdown]
# And against an independent solver (scipy's L-BFGS-B with bounds, on the same objective):

# %%
res = minimize(lambda v: objective(At, b_t, v, lam), prob.w0,
               jac=lambda v: -(At @ (b_t - At.T @ v)) + lam, method="L-BFGS-B",
               bounds=[(0, None)] * At.shape[0], options={"maxiter": 5000, "ftol": 1e-15, "gtol": 1e-12})
print(f"FISTA {P:.12f} vs L-BFGS-B {res.fun:.12f}: relative difference {(res.fun - P) / P:.1e}")
assert res.fun >= P * (1 - 1e-8) and abs(res.fun - P) / P < 1e-6

# %% [markdown]
# L-BFGS-B cannot go below the certified optimum and agrees to better than $10^{-6}$.
#
# ## Try it: slide $\alpha$
#
# The slider indexes a certified, warm-started path of 25 values of $\alpha = \lambda/\lambda_{\max}$
# from 0.9 to 0.001 (precomputed once, about a second).  It shows the weights (relative to the
# design weights), the active records, train and held-out error and the total weight.

# %%
path = rk.widgets.l1_path(df, train_marginal, train_continuous, test_marginal, alphas=rk.problem.alpha_grid(25),
                          solver="fista")
default = int(np.argmin(np.abs(np.array(path.penalties) - 0.05)))
rk.widgets.path_explorer(path, index=default)

# %% [markdown]
# The same slider with its frames computed in advance (every third $\alpha$ of the path), for
# readers without a live kernel; it opens at $\alpha \approx 0.05$:

# %%
frames = sorted(set(range(0, len(path.penalties), 3)) | {default})
rk.widgets.static_slider(lambda k: rk.widgets.render_path_state(path, k), frames, label="alpha",
                         index=frames.index(default), fmt=lambda k: f"{path.penalties[k]:.3g}")

# %% [markdown]
# ## The warm-started path
#
# Each $\alpha$ starts from the previous solution, so the whole path costs a few iterations per
# point; every point is certified.

# %%
tab = path.table
print(tab[["alpha", "lambda", "n_active", "train_error", "test_error", "total_weight", "n_iter", "rel_gap"]]
      .to_string(index=False, float_format=lambda v: f"{v:.4g}"))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
ax1.semilogx(tab.alpha, tab.train_error, "o-", ms=3, label="train")
ax1.semilogx(tab.alpha, tab.test_error, "s-", ms=3, label="held-out")
ax1.set_xlabel("alpha = lambda / lambda_max")
ax1.set_ylabel("mean |relative error|")
ax1.legend()
ax2.semilogx(tab.alpha, tab.total_weight, "o-", ms=3, color="#2ca02c")
ax2.axhline(sum(train_marginal["age_group"].values()), color="k", ls=":", lw=0.8, label="sum of age targets")
ax2.set_xlabel("alpha")
ax2.set_ylabel("total weight")
ax2.legend()
_ = fig.tight_layout()
assert tab.converged.all() and (tab.rel_gap <= 1e-8).all()
assert np.all(np.diff(tab.total_weight) > 0)  # shrinkage falls as alpha falls
age_sum = sum(train_marginal["age_group"].values())
assert 0.99 * age_sum < tab.total_weight.iloc[-1] < age_sum

# %% [markdown]
# Every point's gap is at most $10^{-8}$.  As $\alpha$ falls the total weight rises towards the sum
# of the age targets (within 1 % of it at $\alpha = 0.001$): the penalty acts on the total, as
# derived above.
#
# ## The optimum is a set: "records used by L1" is the solver's choice
#
# $P$ depends on $w$ only through $\tilde A w$ (and $\sum_j w_j$, itself a function of
# $\tilde A w$ here).  So every $w \ge 0$ with the same fitted values is equally optimal: the
# optimal set is the polytope $\{w \ge 0 : \tilde A w = \tilde A w^\star\}$.  Its *vertices* have
# at most $\operatorname{rank}(\tilde A) + 1$ non-zeros; FISTA, started from dense design weights,
# lands in its interior.

# %%
sol_f = rk.SparseCalibrator(alpha=0.001, solver="fista").fit(df, train_marginal, train_continuous)
sol_v = rk.SparseCalibrator(alpha=0.001, solver="fista", solution="vertex").fit(df, train_marginal, train_continuous)
for name, c in (("FISTA", sol_f), ("vertex", sol_v)):
    wc = c.weights_
    print(f"{name:>6}: objective {objective(At, b_t, wc, c.lambda_):.9f}, {rk.problem.n_active(wc):>4} active records, "
          f"held-out error {rk.problem.mean_relative_error(df, wc, test_marginal):.1%}")
obj_f, obj_v = (objective(At, b_t, c.weights_, c.lambda_) for c in (sol_f, sol_v))
assert abs(obj_f - obj_v) <= 1e-9 * obj_f
assert rk.problem.n_active(sol_v.weights_) <= At.shape[1] + 1 and rk.problem.n_active(sol_f.weights_) > 1000

# %% [markdown]
# Same objective to $10^{-9}$, thousands of records against at most seven.  Which vertex the LP
# returns is itself arbitrary, and so is its held-out error: the held-out error is not a function
# of $\lambda$ but ranges over an interval on the optimal set.  `rk.solvers.optimal_set_ranges` computes that interval with linear programs
# (the smallest and largest estimate of each held-out target; the smallest mean error), and the
# sweep marks it for every $\lambda$:

# %%
task = rk.CalibrationTask.from_targets(df, train_marginal, train_continuous, test_marginal)  # built once
l1 = rk.experiment.sweep_l1(task, alphas=rk.problem.alpha_grid(12), optimal_set=True)
print(l1[["alpha", "n_active", "test_error", "test_error_min", "test_error_max", "vertex_n_active",
          "vertex_test_error"]].to_string(index=False, float_format=lambda v: f"{v:.3g}"))
fig, ax = plt.subplots(figsize=(8, 4.5))
rk.plot_frontier(rk.summarize(l1), ax=ax, title="L1: held-out error over the optimal set, per lambda")
fig.tight_layout()
width = (l1.test_error_max - l1.test_error_min).dropna()
assert (l1.test_error_min <= l1.test_error + 1e-9).all() and (l1.test_error <= l1.test_error_max + 1e-9).all()
assert width.max() > 0.3

# %% [markdown]
# For each $\lambda$ the bar is the held-out error's range over the optimal set, the square
# FISTA's point, the triangle the vertex's.  The widest bar spans more than 30 percentage points.
# This is why the published "L1 frontier" cannot be read as one curve: a point on it is one
# solver's pick from a set of equally optimal weight vectors, whose record counts run from at most
# $m + 1$ to all of them and whose held-out errors fill the bar.  Any claim that L1 "dominates" or
# "loses" at some sparsity compares a solver's tie-breaking, not the L1 problem.
#
# ## Relaxed L1 (`refit=True`)
#
# The relaxed LASSO keeps the support L1 chose and refits without the penalty,
# $\min_{v \ge 0} \tfrac12\lVert \tilde A_S v - \tilde b\rVert^2$, removing the shrinkage.

# %%
rows = []
for a in (0.1, 0.01, 0.001):
    for refit in (False, True):
        c = rk.SparseCalibrator(alpha=a, refit=refit, solver="fista", solution="vertex").fit(
            df, train_marginal, train_continuous)
        rows.append({"alpha": a, "refit": refit, "active": rk.problem.n_active(c.weights_),
                     "train error": rk.problem.mean_relative_error(df, c.weights_, train_marginal, train_continuous),
                     "held-out error": rk.problem.mean_relative_error(df, c.weights_, test_marginal)})
relaxed = pd.DataFrame(rows)
print(relaxed.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
plain, refit = relaxed[~relaxed.refit].reset_index(), relaxed[relaxed.refit].reset_index()
assert (plain["train error"] > refit["train error"]).all()
assert (refit[refit.alpha <= 0.01]["train error"] < 1e-6).all()

# %% [markdown]
# On the vertex supports the refit always lowers the train error, and at $\alpha \le 0.01$ it
# meets all six train targets (error below $10^{-6}$) with the same few records: there the L1
# fit's train error was pure shrinkage.  What the few records do on the
# held-out targets is another matter, and the subject of notebooks 4 and 5.

# %% [markdown]
# ## Two more solvers, and the default
#
# FISTA pays for all $n$ records at every one of its many iterations.  The kit's interior-point
# solver (`solver="ipm"`, Mehrotra's predictor-corrector method) instead takes a few tens of Newton
# steps, each solving one $m \times m$ system $(I + \tilde A D \tilde A^\top)\,z = \cdot$ with
# $D = \operatorname{diag}(w/s)$, and stops on the same duality-gap certificate.  Its iterates stay
# inside $w > 0$, so it converges to the *analytic centre* of the optimal set: every record that
# some optimal solution uses keeps a positive weight.
#
# The active-set method (`solver="active-set"`, Lawson and Hanson's) works the other way round: it
# keeps a working set of records, solves the penalised least squares on those alone, adds the
# record whose weight would lower $P$ fastest and drops any whose weight turns negative, until the
# duality gap certifies the point.  Its answer is a *basic* solution, a vertex of the optimal set
# (at most $\operatorname{rank}(\tilde A) + 1$ records).  `SparseCalibrator`'s default,
# `solver="auto"`, picks it wherever $\tilde A$ fits in memory as a dense matrix ($m n$ up to 5
# million), as here.

# %%
rows, fits = [], {}
for solver in ("fista", "ipm", "active-set", "auto"):
    fits[solver] = c = rk.SparseCalibrator(alpha=0.01, solver=solver).fit(df, train_marginal, train_continuous)
    rows.append({"solver": solver, "iterations": c.n_iter_, "relative gap": c.dual_gap_,
                 "objective": c.objective_, "active records": c.n_active_})
solvers = pd.DataFrame(rows).set_index("solver")
print(solvers.to_string(float_format=lambda v: f"{v:.10g}"))
v = rk.SparseCalibrator(alpha=0.01, solver="fista", solution="vertex").fit(df, train_marginal, train_continuous)
ipm_w = fits["ipm"].weights_
assert (abs(solvers.objective - solvers.objective["fista"]) <= 1e-8 * solvers.objective["fista"]).all()
assert (solvers["relative gap"] <= 1e-8).all() and solvers.iterations["ipm"] < solvers.iterations["fista"]
assert set(np.flatnonzero(v.weights_)) <= set(np.flatnonzero(ipm_w))
assert np.array_equal(fits["auto"].weights_, fits["active-set"].weights_)
records = solvers["active records"]
assert records["active-set"] <= At.shape[1] + 1 < 1000 < min(records["fista"], records["ipm"])

# %% [markdown]
# All certify the same objective to $10^{-8}$.  The interior-point method needs fewer (but
# costlier) iterations than FISTA, and the vertex solution's records are among those the analytic
# centre keeps.  The active set (the default's choice here) returns at most $m + 1 = 7$ records,
# FISTA and the interior point thousands: the same L1 problem, three points of its optimal set.
# FISTA stays the solver these notebooks teach; `benchmarks/bench_l1_solvers.py` measures where
# each pays off.

# %% [markdown]
# ## Exercises
#
# Solutions are folded in the book and run with the notebook, so they stay true.
#
# :::{admonition} Exercise 2.1: the certificate catches a wrong answer
# Take the certified FISTA solution `w` at $\lambda = 0.01\,\lambda_{\max}$ and move 1 % of the
# total weight from the record with the largest weight to the record with the smallest.  Compute the
# relative duality gap of the moved weights with `duality_gap`.  Does the certificate notice that
# they are no longer optimal?
# :::

# %% tags=["hide-cell"]
moved = w.copy()
big, small = int(np.argmax(moved)), int(np.argmin(moved))
shift = 0.01 * moved.sum()
shift = min(shift, moved[big])
moved[big] -= shift
moved[small] += shift
gap_opt = duality_gap(At, b_t, w, lam)[1]
gap_moved = duality_gap(At, b_t, moved, lam)[1]
print(f"relative gap: optimal {gap_opt:.1e}, moved {gap_moved:.1e}")
assert gap_opt <= 1e-8 < 1e3 * gap_opt < gap_moved

# %% [markdown]
# :::{admonition} Exercise 2.2: where the weights vanish
# Show numerically that $\lambda_{\max}$ is the edge: fit at 1.01 and at 0.99 times
# $\lambda_{\max}$ (`SparseCalibrator(sparsity_weight=...)`) and count the active records.
# :::

# %% tags=["hide-cell"]
with warnings.catch_warnings():
    warnings.simplefilter("ignore", rk.LambdaMaxWarning)
    warnings.simplefilter("ignore", rk.TargetMissWarning)
    above = rk.SparseCalibrator(sparsity_weight=1.01 * lam_max).fit(df, train_marginal, train_continuous)
    below = rk.SparseCalibrator(sparsity_weight=0.99 * lam_max).fit(df, train_marginal, train_continuous)
print(f"1.01 lambda_max: {above.n_active_} active records; 0.99 lambda_max: {below.n_active_}")
assert above.n_active_ == 0 < below.n_active_
