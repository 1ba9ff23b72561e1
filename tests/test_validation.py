"""Issue #13: every input that used to give a wrong answer silently, hang, or fail obscurely.

One test per numbered case of the issue (the number leads the test's name), then a property test.
"""

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import reweightkit as rk
from reweightkit import cli
from reweightkit.exceptions import PartialMarginWarning, TargetMissWarning

torch = pytest.importorskip("torch")

ALL = [lambda: rk.RakeCalibrator(), lambda: rk.SubsampleCalibrator(4, seed=0),
       lambda: rk.SparseCalibrator(alpha=0.05), lambda: rk.HardConcreteCalibrator(epochs=20, seed=0)]


@pytest.mark.parametrize("make", ALL, ids=["rake", "subsample", "l1", "hardconcrete"])
def test_01_a_weight_col_that_does_not_exist_is_an_error_not_ones(make):
    df = pd.DataFrame({"g": ["a", "b"] * 4, "weight": [1.0] * 4 + [9.0] * 4})
    with pytest.raises(ValueError, match=r"weight_col 'wieght' is not a column.*weight_col=None"):
        make().fit(df, {"g": {"a": 20.0, "b": 20.0}}, weight_col="wieght")


def test_01_uniform_design_weights_are_asked_for_explicitly():
    df = pd.DataFrame({"g": ["a", "b"] * 4})
    w = rk.RakeCalibrator().fit(df, {"g": {"a": 20.0, "b": 20.0}}, weight_col=None).weights_
    np.testing.assert_allclose(w, 5.0)


def test_02_zero_design_weight_category_is_reported():
    df = pd.DataFrame({"g": ["a", "b"] * 50, "weight": [1.0, 0.0] * 50})
    targets = {"g": {"a": 60.0, "b": 40.0}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ConvergenceWarning)
        with pytest.warns(TargetMissWarning, match=r"cannot reach targets \['g=b'\]"):
            cal = rk.HardConcreteCalibrator(lambda_l0=1e-4, epochs=200, seed=0).fit(df, targets)
    assert cal.train_errors_[1] == pytest.approx(-1.0)
    with pytest.raises(ValueError, match=r"raking .* cannot reach targets \['g=b'\]"):
        rk.RakeCalibrator().fit(df, targets)


def test_03_one_tiny_target_does_not_ruin_the_start_point():
    df = pd.DataFrame({"g": ["a"] * 60 + ["b"] * 39 + ["c"], "weight": 1.0})
    targets = {"g": {"a": 60.0, "b": 40.0, "c": 1e-9}}
    p = rk.prepare(df, targets)
    est = rk.problem.Scorer(p.system).score(p.w0)
    start = rk.problem.build_system(df, targets).estimates(p.w0)
    assert abs(start[0] / 60 - 1) < 0.05 and abs(start[1] / 40 - 1) < 0.05, (start, est)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = rk.HardConcreteCalibrator(lambda_l0=1e-6, epochs=500, seed=0).fit(df, targets)
    assert np.all(np.abs(cal.train_errors_[:2]) < 0.05)


def test_04_tol_must_be_finite_and_numpy_floats_are_accepted(published):
    df, tm, tc, _ = published
    with pytest.raises(ValueError, match="tol must be a finite real number > 0, got inf"):
        rk.SparseCalibrator(alpha=0.05, tol=float("inf")).fit(df, tm, tc)
    assert rk.SparseCalibrator(alpha=0.05, tol=np.float32(1e-6)).fit(df, tm, tc).converged_


def test_05_booleans_must_be_booleans(published):
    df, tm, tc, _ = published
    with pytest.raises(ValueError, match=r"refit must be a bool \(True or False\) or one of 'linear', .*got 'no'"):
        rk.SparseCalibrator(alpha=0.05, refit="no").fit(df, tm, tc)
    with pytest.raises(TypeError, match="refit must be a bool"):
        rk.SparseCalibrator(alpha=0.05, refit=1).fit(df, tm, tc)


def test_06_a_series_of_weights_is_aligned_on_the_frames_index(published):
    df, tm, tc, _ = published
    w = pd.Series(rk.RakeCalibrator().fit(df, tm, tc).weights_, index=df.index)
    assert rk.problem.mean_relative_error(df, w.sort_values(), tm, tc) < 1e-12
    assert rk.problem.max_relative_error(df, w.sample(frac=1, random_state=0), tm, tc) < 1e-12
    t = rk.target_errors(df, w.iloc[::-1], tm, tc)
    assert t["relative_error"].abs().max() < 1e-12
    with pytest.raises(ValueError, match="index is not the data's index"):
        rk.problem.mean_relative_error(df, w.reset_index(drop=True).rename(lambda i: i + 1), tm, tc)


@pytest.mark.parametrize("call, pattern", [
    (lambda: rk.weight_summary([1.0, np.nan, 2.0]), "NaN or infinite"),
    (lambda: rk.weight_summary([-1.0, -2.0, 5.0]), "negative"),
    (lambda: rk.problem.kish_ess([1.0, np.inf]), "NaN or infinite"),
    (lambda: rk.problem.n_active([1.0, np.nan]), "NaN or infinite"),
])
def test_07_weight_summaries_refuse_impossible_weights(call, pattern):
    with pytest.raises(ValueError, match=pattern):
        call()


def test_08_untrained_hard_concrete_is_never_converged(published):
    df, tm, tc, hm = published
    with pytest.raises(ValueError, match="epochs must be an integer >= 1, got 0"):
        rk.run_comparison(df, tm, tc, hm, methods=["hardconcrete"], epochs=0)
    with pytest.warns(rk.ConvergenceWarning, match="had not settled after 30 epochs"):
        cal = rk.HardConcreteCalibrator(lambda_l0=1e-4, epochs=30, seed=0).fit(df, tm, tc)
    assert not cal.converged_
    res = rk.run_comparison(df, tm, tc, hm, methods=["hardconcrete"], l0_lambdas=[1e-4], seeds=[0], epochs=30)
    assert not res["converged"].any()
    with pytest.warns(TargetMissWarning, match="HardConcreteCalibrator leaves 6 of 6 train targets"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rk.ConvergenceWarning)
            zero = rk.HardConcreteCalibrator(lambda_l0=50.0, epochs=300, seed=0).fit(df, tm, tc)
    assert zero.n_active_ == 0


def test_08_a_settled_default_fit_is_converged_and_silent(published):
    df, tm, tc, _ = published
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cal = rk.HardConcreteCalibrator(seed=0).fit(df, tm, tc)
    assert cal.converged_ and cal.settle_change_ <= 0.1


def test_09_an_interrupted_write_leaves_the_previous_result_set_whole(tmp_path, monkeypatch):
    out = tmp_path / "res"
    assert cli.main(["frontier", "--quick", "--out", str(out), "--no-progress", "--methods", "l1,dense"]) == 0
    before = {f: (out / f).read_bytes() for f in cli.RESULT_FILES}

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "plot_runtime", interrupted)  # after the CSVs are written, before the PNG
    with pytest.raises(KeyboardInterrupt):
        cli.main(["frontier", "--quick", "--out", str(out), "--no-progress", "--methods", "l1"])
    assert {f: (out / f).read_bytes() for f in cli.RESULT_FILES} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no staging folder left behind


def test_10_raking_thousands_of_levels_is_sparse():
    rng = np.random.default_rng(0)
    n = 20_000
    df = pd.DataFrame({"g": rng.integers(0, 10_000, n), "h": rng.integers(0, 5, n), "weight": rng.lognormal(3, 0.4, n)})
    w_star = df["weight"] * np.exp(rng.normal(0, 0.3, 10_000)[df["g"]] + rng.normal(0, 0.3, 5)[df["h"]])
    m = {c: {int(k): float(v) for k, v in w_star.groupby(df[c]).sum().items()} for c in ("g", "h")}
    assert rk.problem.mean_relative_error(df, df["weight"], m) > 0.1  # the design weights are far from the targets
    cal = rk.RakeCalibrator().fit(df, m)
    assert cal.converged_ and rk.problem.max_relative_error(df, cal.weights_, m) < 1e-8


def test_11_interior_point_on_one_margin_above_the_dense_cap():
    df = pd.DataFrame({"g": np.arange(20000) % 101})
    cal = rk.SparseCalibrator(alpha=0.05, solver="ipm").fit(df, {"g": {k: 250.0 for k in range(101)}}, weight_col=None)
    assert cal.converged_


def test_12_sign_problems_name_the_target():
    df = pd.DataFrame({"g": ["a", "b"] * 5, "x": -np.arange(1.0, 11.0), "y": np.r_[[5.0] * 5, [-1.0] * 5],
                       "weight": 1.0})
    with pytest.raises(ValueError, match=r"target 'x' asks for a positive total .* all <= 0"):
        rk.SparseCalibrator(alpha=0.1).fit(df, {"g": {"a": 5.0, "b": 5.0}}, {"x": 3.0})
    # y is mixed-sign with a negative design-weighted total (5*... ): feasible with w >= 0, and accepted
    df2 = df.assign(y=np.r_[[1.0] * 5, [-3.0] * 5])
    for est in (rk.SparseCalibrator(sparsity_weight=0.0), rk.RakeCalibrator()):
        cal = est.fit(df2, {"g": {"a": 5.0, "b": 5.0}}, {"y": 1.0})
        assert rk.problem.max_relative_error(df2, cal.weights_, {"g": {"a": 5.0, "b": 5.0}}, {"y": 1.0}) < 1e-6


def test_13_duplicate_columns_and_an_index_named_like_a_column():
    df = pd.DataFrame([[1, "a", 2.0], [2, "b", 3.0]], columns=["w", "g", "g"])
    with pytest.raises(ValueError, match=r"duplicate column names \['g'\]"):
        rk.problem.build_system(df, {"g": {"a": 1.0}})
    df = pd.DataFrame({"g": ["a", "b"] * 10, "weight": 1.0}).rename_axis("g")
    cal = rk.SubsampleCalibrator(4, seed=0).fit(df, {"g": {"a": 10.0, "b": 10.0}})
    assert cal.converged_ and cal.n_active_ == 4


def test_14_a_key_of_the_wrong_type_is_named():
    df = pd.DataFrame({"is_male": [True, False] * 3, "k": [1, 2, 3] * 2})
    with pytest.raises(ValueError, match=r"key's type differs: the target key is str 'True' but the column holds bool"):
        rk.problem.build_system(df, {"is_male": {"True": 3.0}})
    with pytest.raises(ValueError, match=r"key is str '2' but the column holds int"):
        rk.problem.build_system(df, {"k": {"2": 3.0}})


@pytest.mark.parametrize("make, exc, pattern", [
    (lambda: rk.HardConcreteCalibrator(seed=2**64), ValueError, "seed"),
    (lambda: rk.HardConcreteCalibrator(device="gpu"), ValueError, "device"),
    (lambda: rk.HardConcreteCalibrator(device=None), TypeError, "device"),
    (lambda: rk.SubsampleCalibrator(10, seed=-1), ValueError, "seed"),
    (lambda: rk.SubsampleCalibrator(10, seed="a"), TypeError, "seed"),
    (lambda: rk.SubsampleCalibrator(10, seed=1.5), TypeError, "seed"),
    (lambda: rk.RakeCalibrator(tol="a"), TypeError, "tol"),
    (lambda: rk.RakeCalibrator(tol=-1), ValueError, "tol"),
])
def test_15_parameters_are_checked_before_numpy_or_torch_sees_them(published, make, exc, pattern):
    df, tm, tc, _ = published
    with pytest.raises(exc, match=pattern):
        make().fit(df, tm, tc)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_15_cuda_without_a_gpu(published):
    df, tm, tc, _ = published
    with pytest.raises(ValueError, match="no CUDA GPU"):
        rk.HardConcreteCalibrator(device="cuda", epochs=5).fit(df, tm, tc)


def test_16_empty_inputs_say_what_is_missing(published, tmp_path):
    df, tm, tc, hm = published
    with pytest.raises(ValueError, match="non-empty DataFrame"):
        rk.summarize(pd.DataFrame())
    with pytest.raises(ValueError, match="non-empty DataFrame"):
        rk.plot_frontier(pd.DataFrame())
    with pytest.raises(ValueError, match="methods is empty"):
        rk.run_comparison(df, tm, tc, hm, methods=[])
    with pytest.raises(ValueError, match="n must be an integer >= 1, got -5"):
        rk.published_example(n=-5)
    with pytest.raises(ValueError, match="held-out targets: give test_marginal"):
        rk.run_comparison(df, tm, tc, None)
    with pytest.raises(SystemExit) as e:
        cli.main(["frontier", "--methods", "", "--out", str(tmp_path / "o"), "--no-progress"])
    assert e.value.code == 2


def test_17_a_bad_out_fails_before_any_computation(tmp_path, monkeypatch, capsys):
    def never(*args, **kwargs):
        raise AssertionError("computed before checking --out")

    monkeypatch.setattr(cli, "_compute", never)
    (tmp_path / "file").write_text("x")
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    for out, pattern in ((tmp_path / "file", "is an existing file"), (tmp_path / "mine", "did not write")):
        with pytest.raises(SystemExit) as e:
            cli.main(["frontier", "--quick", "--out", str(out), "--no-progress"])
        assert e.value.code == 2 and pattern in capsys.readouterr().err
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"


def test_18_a_small_target_that_makes_alpha_zero_the_large_ones_is_loud():
    df = pd.DataFrame({"g": ["a"] * 50 + ["b"] * 50 + ["c"] * 5, "weight": 1.0})
    with pytest.warns(TargetMissWarning, match=r"off by more than 50%.*smallest target"):
        cal = rk.SparseCalibrator(alpha=0.05).fit(df, {"g": {"a": 1000.0, "b": 1000.0, "c": 50.0}})
    assert cal.converged_ and cal.max_train_error_ > 0.5


def test_19_a_partial_margin_is_reported():
    df = pd.DataFrame({"g": list("abcde") * 4, "weight": 1.0})
    with pytest.warns(PartialMarginWarning, match=r"column 'g' cover 4 of its categories; 4 records in \['e'\]"):
        rk.prepare(df, {"g": {c: 4.0 for c in "abcd"}})


def test_20_kept_records_are_labels_and_positions():
    df = pd.DataFrame({"g": ["a", "b"] * 10, "weight": 1.0}, index=[f"r{i}" for i in range(20)])
    cal = rk.SubsampleCalibrator(4, seed=0).fit(df, {"g": {"a": 10.0, "b": 10.0}})
    assert list(cal.kept_) == list(df.index[cal.kept_positions_]) and all(str(k).startswith("r") for k in cal.kept_)
    assert np.all(cal.weights_[cal.kept_positions_] > 0)


# --- property test -------------------------------------------------------------------------------------------

hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=25, deadline=None)
@hypothesis.given(n=st.integers(8, 40), n_cats=st.integers(2, 4), seed=st.integers(0, 2**16),
                  noise=st.floats(0.7, 1.3), which=st.sampled_from(["rake", "subsample", "l1", "l1-ipm", "hc"]))
def test_property_weights_are_finite_nonnegative_aligned_and_inputs_unchanged(n, n_cats, seed, noise, which):
    rng = np.random.default_rng(seed)
    cats = [f"c{i}" for i in range(n_cats)]
    g = np.r_[cats, rng.choice(cats, n - n_cats)]  # every category present
    df = pd.DataFrame({"g": g, "x": rng.lognormal(0, 1, n), "weight": rng.uniform(0.5, 3, n)},
                      index=rng.permutation(n) + 1000)
    w = df["weight"].to_numpy()
    marginal = {"g": {c: float(w[g == c].sum() * noise) for c in cats}}
    continuous = {"x": float((w * df["x"]).sum() * noise)}  # feasible: the design weights scaled by `noise`
    df0, m0, c0 = df.copy(deep=True), copy.deepcopy(marginal), copy.deepcopy(continuous)
    est = {"rake": rk.RakeCalibrator(), "subsample": rk.SubsampleCalibrator(n_cats + 2, seed=seed, on_infeasible="least_squares"),
           "l1": rk.SparseCalibrator(alpha=0.01), "l1-ipm": rk.SparseCalibrator(alpha=0.01, solver="ipm"),
           "hc": rk.HardConcreteCalibrator(lambda_l0=1e-4, epochs=40, seed=seed)}[which]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cal = est.fit(df, marginal, continuous)
    assert cal.weights_.shape == (n,) and np.all(np.isfinite(cal.weights_)) and np.all(cal.weights_ >= 0)
    assert len(cal.train_errors_) == n_cats + 1
    pd.testing.assert_frame_equal(df, df0)
    assert marginal == m0 and continuous == c0


# --- #24: inputs refused with their name ---------------------------------------------------------------------


def test_support_positions_are_checked(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    with pytest.raises(ValueError, match=r"support positions must be in \[0, 5000\); got \[-1\]"):
        rk.calibrate(p, support=[-1, 3, 4])
    with pytest.raises(TypeError, match="support must be a boolean mask or integer positions"):
        rk.calibrate(p, support=[0.5, 3.0])


def test_duplicate_target_names_and_integer_family_labels():
    A = sp.csr_matrix(np.eye(3))
    with pytest.raises(ValueError, match="names must be unique: target 2 and target 0 are both named 'a'"):
        rk.prepare_matrix(A, [1.0, 1.0, 1.0], names=["a", "b", "a"])
    task = rk.CalibrationTask.from_matrix(A, [1.0, 1.0, 1.0], families=[1, 1, 2], holdout=2)
    assert task.test.n_targets == 1 and task.problem.n_targets == 2


def test_a_national_benchmark_too_large_for_the_machine_is_refused_before_allocating():
    with pytest.raises(ValueError, match=r"scale=50 needs about 80\.0 GB"):
        rk.nation(scale=50)


def test_raking_a_category_without_design_weight_names_it():
    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "weight": [1.0, 2.0, 0.0, 0.0]})
    with pytest.raises(ValueError, match=r"cannot reach targets \['g=b'\]"):
        rk.Calibrator("raking").fit(df, {"g": {"a": 3.0, "b": 2.0}})


def test_integerize_accepts_valid_weights_and_every_sampler_checks_its_seed():
    w = rk.solvers.integerize([0.95, 0.3, 0.3], seed=0)
    assert w.sum() == 2 and np.all(w >= 0)
    for call in (lambda: rk.solvers.integerize([1.5, 2.5], seed=-1),
                 lambda: rk.solvers.systematic_sample(np.array([0.5, 0.5]), seed="x"),
                 lambda: rk.solvers.cube_sample(np.ones((4, 1)), np.full(4, 0.5), seed=2.5)):
        with pytest.raises((ValueError, TypeError), match="seed"):
            call()


def test_set_threads_takes_numpy_integers():
    try:
        rk.set_threads(np.int64(2))
        assert rk.default_threads() == 2
    finally:
        rk.set_threads(None)
