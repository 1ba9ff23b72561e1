"""Solvers at the field's size: a Lanczos step size, FISTA on a box with a lower side (the least-squares refit)."""

import numpy as np
import pytest
import scipy.optimize

import reweightkit as rk
from reweightkit.problem.nnlasso import duality_gap, lipschitz_constant
from reweightkit.solvers.fista import fista


@pytest.fixture(scope="module")
def mid():
    return rk.prepare(*rk.experiment.synthetic_problem(4000, (20, 15, 8), n_cont=3, noise=0.05, seed=2)[:3])


def test_lanczos_lipschitz_constant_is_a_tight_upper_bound(mid):
    exact = lipschitz_constant(mid.At_rec, exact_up_to=10**6)
    lanczos = lipschitz_constant(mid.At_rec, exact_up_to=5)
    assert exact <= lanczos <= exact * 1.0011


def test_fista_on_a_box_with_a_lower_side_matches_lbfgsb_and_certifies(mid):
    n = mid.n_records
    lower, upper = 0.5 * mid.w0, 3.0 * mid.w0
    sol = fista(mid.At_rec, mid.b_t, 0.0, mid.w0, tol=1e-9, max_iter=20000, lower=lower, upper=upper)
    assert sol.converged and np.all(sol.w >= lower - 1e-15) and np.all(sol.w <= upper + 1e-15)
    gap, rel = duality_gap(mid.At_rec, mid.b_t, sol.w, 0.0, upper, lower)
    assert rel <= 1e-9

    def f(w):
        r = mid.At_rec.T @ w - mid.b_t
        return 0.5 * r @ r, mid.At_rec @ r

    ref = scipy.optimize.minimize(f, mid.w0, jac=True, method="L-BFGS-B", bounds=list(zip(lower, upper)),
                                  options={"ftol": 1e-15, "gtol": 1e-12, "maxiter": 20000})
    assert sol.objective <= ref.fun * (1 + 1e-7) + 1e-14
    # the certificate is a true lower bound: the reference cannot go below it
    assert ref.fun >= sol.objective - gap - 1e-12
    assert n == sol.w.size


def test_lower_bounds_must_be_finite(mid):
    with pytest.raises(ValueError, match="lower bounds must be finite"):
        fista(mid.At_rec, mid.b_t, 0.0, mid.w0, lower=np.full(mid.n_records, -np.inf))


def test_relaxed_refit_on_a_large_support_is_certified(mid):
    """At lam = 0 the certificate needs a box: the provably non-binding one lets FISTA's refit certify."""
    from reweightkit.problem.nnlasso import nonbinding_upper

    w = np.where(np.arange(mid.n_records) % 3 == 0, mid.w0, 0.0)  # a 1,334-record support: the FISTA branch
    refit, sol = rk.solvers.relaxed_refit(mid.At_rec, mid.b_t, w, tol=1e-7, max_iter=20000)
    assert sol.converged and sol.rel_gap <= 1e-7
    S = w > 0
    upper = nonbinding_upper(mid.At_rec[S], mid.b_t)
    assert np.all(refit[S] < upper)  # the box never binds
    ref = scipy.optimize.nnls(mid.At_rec[S].T.toarray(), mid.b_t)[1] ** 2 / 2
    assert sol.objective <= ref * (1 + 1e-6) + 1e-12
