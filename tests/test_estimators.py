"""One door per fit: every estimator honours one contract, and every comparison row is its estimator's own fit."""

import copy
import inspect
import warnings

import numpy as np
import pandas as pd
import pytest

import reweightkit as rk
from reweightkit.estimators.base import BaseCalibrator

EPOCHS = 60


def _all_estimators():
    """Every concrete estimator class of the package, discovered (not listed)."""
    seen, todo = [], [BaseCalibrator]
    while todo:
        cls = todo.pop()
        for sub in cls.__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("reweightkit.") and "_fit_problem" in vars(sub):
                seen.append(sub)
    return sorted(set(seen), key=lambda c: c.__name__)


def _instance(cls):
    """A small, valid instance of each estimator (required arguments only, plus a seed where there is one)."""
    kw = {"SparseCalibrator": dict(alpha=0.1), "HardConcreteCalibrator": dict(lambda_l0=1e-4, epochs=EPOCHS, seed=3),
          "RakeCalibrator": {}, "Calibrator": dict(distance="raking")}.get(cls.__name__)
    if kw is None:  # the samplers
        kw = dict(n_records=400, seed=2)
    return cls(**kw)


ESTIMATORS = _all_estimators()


def test_discovery_finds_every_public_estimator():
    names = {c.__name__ for c in ESTIMATORS}
    assert names == {"SparseCalibrator", "HardConcreteCalibrator", "RakeCalibrator", "Calibrator", "SubsampleCalibrator",
                     "BalancedSampleCalibrator", "CalibrateThenReduceCalibrator"}
    assert all(getattr(rk, n) is getattr(rk.estimators, n) for n in names)


@pytest.fixture(scope="module")
def problem(published):
    df, tm, tc, _ = published
    return rk.prepare(df, tm, tc)


@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_init_only_stores_parameters_and_clone_round_trips(cls):
    sklearn_base = pytest.importorskip("sklearn.base")
    est = _instance(cls)
    params = est.get_params()
    assert set(params) == {p for p in inspect.signature(cls.__init__).parameters if p != "self"}
    assert not any(k.endswith("_") for k in vars(est))
    twin = sklearn_base.clone(est)
    assert type(twin) is cls and twin.get_params() == params and repr(twin) == repr(est)
    with pytest.raises(ValueError, match="'nope' is not a parameter"):
        twin.set_params(nope=1)


@pytest.mark.filterwarnings("ignore::reweightkit.ReweightkitWarning")
@pytest.mark.parametrize("cls", ESTIMATORS, ids=lambda c: c.__name__)
def test_every_fit_reports_the_same_attributes_computed_from_its_weights(cls, published, problem):
    df, tm, tc, _ = published
    est = _instance(cls)
    assert est.fit(problem) is est
    w = est.weights_
    assert w.shape == (problem.n_records,) and w.dtype == np.float64 and np.all(np.isfinite(w)) and np.all(w >= 0)
    assert isinstance(est.converged_, bool) and isinstance(est.exact_, bool)
    # every promise recomputed from the returned weights, against the documented base
    errors = rk.problem.relative_errors(problem.system, w)
    np.testing.assert_array_equal(est.train_errors_, errors)
    assert est.exact_ == bool(np.max(np.abs(errors)) <= rk.problem.scoring.EXACT_TOL)
    conc = rk.problem.scoring.concentration(w, est.base_weights_)
    assert est.n_active_ == conc["n_active"] == rk.problem.n_active(w)
    for name in ("kish_ess", "design_effect", "max_weight", "g_min", "g_max"):
        np.testing.assert_equal(getattr(est, name + "_"), conc[name])
    # the DataFrame door gives the same weights as the prepared problem
    again = copy.deepcopy(_instance(cls)).fit(df, tm, tc)
    assert again.weights_.tobytes() == w.tobytes()


def _row(res, method, **where):
    sel = res[res["method"] == method]
    for k, v in where.items():
        sel = sel[np.isclose(sel[k], v)]
    assert len(sel) == 1, (method, where, len(sel))
    return sel.iloc[0]


def _same(row, est, task):
    """The row holds exactly the estimator's own scores and convergence."""
    score = task.scorer.score(est.weights_)
    for k in ("n_active", "train_error", "test_error", "train_max_error", "total_weight", "g_min", "exact"):
        np.testing.assert_equal(row[k], score[k], err_msg=k)
    assert bool(row["converged"]) == est.converged_


@pytest.mark.filterwarnings("ignore::reweightkit.ReweightkitWarning")
def test_each_comparison_row_is_the_estimators_own_fit(published):
    """For every method of rk.METHODS: the row equals a direct fit of the method's estimator."""
    df, tm, tc, hm = published
    task = rk.CalibrationTask.from_targets(df, tm, tc, hm)
    p = task.problem
    grid = rk.run_comparison(task, methods=["l1", "l1-relaxed", "l1-published", "hardconcrete", "subsample", "dense"],
                             alphas=[0.05], l1_lambdas=[1e-4], l0_lambdas=[1e-4], sizes=[400], seeds=[1],
                             epochs=EPOCHS)
    fista = dict(solver="fista")  # the comparison's penalty path counts FISTA's point (sweep_l1)
    _same(_row(grid, "l1"), rk.SparseCalibrator(alpha=0.05, **fista).fit(p), task)
    _same(_row(grid, "l1-relaxed"), rk.SparseCalibrator(alpha=0.05, refit=True, **fista).fit(p), task)
    _same(_row(grid, "l1-published"), rk.SparseCalibrator(1e-4, **fista).fit(p), task)
    _same(_row(grid, "hardconcrete"), rk.HardConcreteCalibrator(lambda_l0=1e-4, seed=1, epochs=EPOCHS).fit(p), task)
    _same(_row(grid, "subsample"), rk.SubsampleCalibrator(400, seed=1, on_infeasible="least_squares").fit(p),
          task)
    _same(_row(grid, "dense"), rk.RakeCalibrator().fit(p), task)
    k = 300
    budget = rk.run_comparison(task, budgets=[k], seeds=[1], epochs=EPOCHS,
                               methods=["hardconcrete-k", "hardconcrete-k-refit", "hardconcrete-design-k",
                                        "hardconcrete-design-k-refit", "l1-k-refit", "cube", "calibrate-reduce"])
    raw = rk.HardConcreteCalibrator(n_records=k, seed=1, epochs=EPOCHS).fit(p)
    _same(_row(budget, "hardconcrete-k"), raw, task)
    refit = rk.HardConcreteCalibrator(n_records=k, seed=1, epochs=EPOCHS, refit="raking",
                                      on_infeasible="least_squares").fit(p)
    _same(_row(budget, "hardconcrete-k-refit"), refit, task)
    priced = dict(n_records=k, seed=1, epochs=EPOCHS, gate_cost="design")
    _same(_row(budget, "hardconcrete-design-k"), rk.HardConcreteCalibrator(**priced).fit(p), task)
    _same(_row(budget, "hardconcrete-design-k-refit"),
          rk.HardConcreteCalibrator(**priced, refit="raking", on_infeasible="least_squares").fit(p), task)
    if (budget["method"] == "l1-k-refit").any():
        _same(_row(budget, "l1-k-refit"), rk.SparseCalibrator(n_records=k, refit="raking",
                                                              on_infeasible="least_squares").fit(p), task)
    ls = dict(seed=1, on_infeasible="least_squares")
    _same(_row(budget, "cube"), rk.BalancedSampleCalibrator(k, **ls).fit(p), task)
    _same(_row(budget, "calibrate-reduce"), rk.CalibrateThenReduceCalibrator(k, **ls).fit(p), task)
    assert set(rk.METHODS) == set(grid["method"]) | set(budget["method"]) | ({"l1-k-refit"} - set(budget["method"]))


def test_the_l1_path_is_the_estimators_and_warm_start_keeps_the_certificate(problem):
    fits = rk.SparseCalibrator(tol=1e-9).path(problem, alphas=[0.5, 0.05, 0.005])
    assert [f.alpha for f in fits] == [0.5, 0.05, 0.005]
    assert all(f.converged_ and f.dual_gap_ <= 1e-9 for f in fits)
    cold = rk.SparseCalibrator(alpha=0.05, tol=1e-9).fit(problem)
    assert abs(fits[1].objective_ - cold.objective_) <= 1e-8 * abs(cold.objective_)
    with pytest.raises(ValueError, match="exactly one of alphas and lambdas"):
        rk.SparseCalibrator().path(problem)


def test_an_l1_budget_returns_the_point_its_search_found(problem):
    """n_records=k keeps k records within max(2 %, 5): the found point, not a second cold solve."""
    for k in (50, 120):
        try:
            est = rk.SparseCalibrator(n_records=k).fit(problem)
        except ValueError as e:  # an unreachable budget says so
            assert "n_records" in str(e)
            continue
        assert abs(est.n_active_ - k) <= max(0.02 * k, 5), (k, est.n_active_)


@pytest.mark.filterwarnings("ignore::reweightkit.ConvergenceWarning")
def test_hard_concrete_grid_equals_single_fits_and_refitted_reuses_the_selection(problem):
    base = rk.HardConcreteCalibrator(epochs=EPOCHS)
    fits = base.fit_grid(problem, lambdas=[1e-5, 1e-3], seeds=[0, 7])
    assert [(f.lambda_l0, f.seed) for f in fits] == [(1e-5, 0), (1e-5, 7), (1e-3, 0), (1e-3, 7)]
    single = rk.HardConcreteCalibrator(lambda_l0=1e-3, seed=7, epochs=EPOCHS, n_threads=1).fit(problem)
    # replicas never interact: equal to float32 rounding (BLAS blocks products by the batch size)
    np.testing.assert_allclose(fits[3].weights_, single.weights_, rtol=1e-3, atol=1e-4)
    raked = fits[3].refitted(problem, refit="raking")
    assert raked.refit == "raking" and raked.gate_weights_.tobytes() == fits[3].gate_weights_.tobytes()
    assert raked.n_active_ <= fits[3].n_active_ and raked.max_train_error_ < fits[3].max_train_error_
    assert not hasattr(base, "weights_")  # fit_grid never fits the estimator it is called on


def test_one_support_rule_for_every_refit(problem):
    w = problem.w0.copy()
    w[::3] = 1e-12  # crumbs a first-order solver leaves: below ACTIVE_TOL, not in the support
    r = rk.solvers.refit_support(problem, w, "relaxed")
    assert np.all(r.weights[::3] == 0)
    r = rk.solvers.refit_support(problem, w, "raking")
    assert np.all(r.weights[::3] == 0) and r.exact and r.converged


def test_every_warning_derives_from_one_base():
    for name in ("BudgetWarning", "ConvergenceWarning", "LambdaMaxWarning", "PartialMarginWarning", "RakeWarning",
                 "TargetMissWarning", "LeakWarning"):
        assert issubclass(getattr(rk, name), rk.ReweightkitWarning)
    assert issubclass(rk.ReweightkitWarning, UserWarning)


def test_the_face_is_short_and_old_names_still_work_with_a_deprecation():
    assert 30 <= len(rk.__all__) <= 48
    for name, (module, attr) in rk.MOVED.items():
        with pytest.warns(DeprecationWarning, match=f"rk.{name} moved to reweightkit.{module}.{attr}"):
            obj = getattr(rk, name)
        assert obj is getattr(getattr(rk, module), attr)
    with pytest.raises(AttributeError):
        rk.no_such_name  # noqa: B018
    with pytest.warns(DeprecationWarning, match="SubsampleRakeCalibrator is now SubsampleCalibrator"):
        assert rk.estimators.SubsampleRakeCalibrator is rk.SubsampleCalibrator


def test_one_method_vocabulary(published):
    for name, m in rk.METHODS.items():
        assert issubclass(m.estimator, BaseCalibrator), name
    df, tm, tc, hm = published
    with pytest.warns(DeprecationWarning, match="'cube-k' is now 'cube'"):
        res = rk.run_comparison(df, tm, tc, hm, methods=["cube-k"], budgets=[300], seeds=[0])
    assert set(res["method"]) == {"cube"}


def test_score_columns_have_one_source():
    from reweightkit.experiment.sweeps import COLUMNS

    cols = rk.problem.scoring.SCORE_COLUMNS
    assert COLUMNS[7:7 + len(cols)] == cols
    s = rk.problem.Scorer(rk.problem.build_system(pd.DataFrame({"g": ["a", "b"]}), {"g": {"a": 1.0, "b": 1.0}}))
    assert list(s.score(np.ones(2))) == cols


def test_one_budget_check_for_every_method(problem):
    n = problem.n_records
    for est in (rk.SparseCalibrator(n_records=n + 1), rk.HardConcreteCalibrator(n_records=n + 1),
                rk.SubsampleCalibrator(n + 1), rk.BalancedSampleCalibrator(n + 1), rk.CalibrateThenReduceCalibrator(n + 1)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with pytest.raises(ValueError, match=r"n_records must be between 1 and the number of"):
                est.fit(problem)
