"""Issue #17: a kit an analyst can use on their own data (CLI, aligned weights, provenance, a fit's picture)."""

import json
import re
import warnings

import numpy as np
import pytest

import reweightkit as rk
from reweightkit import cli


@pytest.fixture
def user_files(tmp_path):
    df, tm, tc, _ = rk.superpopulation(seed=3, n_sample=800)
    data = tmp_path / "people.csv"
    df.to_csv(data, index=False)
    targets = tmp_path / "targets.json"
    spec = {"marginal": {c: {str(k): v for k, v in cats.items()} for c, cats in tm.items()}, "continuous": tc}
    targets.write_text(json.dumps(spec))
    return df, tm, tc, data, targets


@pytest.mark.parametrize("extra", [[], ["--method", "cube", "--n-records", "200", "--seed", "4"],
                                   ["--method", "dense", "--distance", "logit", "--bounds", "0.5,2"]])
def test_cli_calibrate_end_to_end(user_files, tmp_path, capsys, extra):
    df, tm, tc, data, targets = user_files
    out = tmp_path / "weights.csv"
    assert cli.main(["calibrate", str(data), "--targets", str(targets), "--out", str(out), *extra]) == 0
    printed = capsys.readouterr().out
    assert "relative_error" in printed and "Kish ESS" in printed and "exact calibration yes" in printed
    w, meta = rk.load_weights(out)
    assert len(w) == len(df) and rk.problem.max_relative_error(df, w.to_numpy(), tm, tc) < 1e-8
    assert meta["reweightkit_version"] == rk.__version__ and meta["extra"]["data"] == str(data)
    assert len(meta["targets"]) == sum(len(v) for v in tm.values()) + len(tc)


def test_cli_calibrate_prices_hard_concrete_gates(user_files, tmp_path, capsys):
    """--gate-cost design reaches the estimator (its saved parameters say so); on another method it is refused."""
    df, tm, tc, data, targets = user_files
    out = tmp_path / "w.csv"
    args = ["calibrate", str(data), "--targets", str(targets), "--out", str(out), "--method", "hardconcrete",
            "--n-records", "300", "--epochs", "300", "--seed", "1", "--refit", "raking", "--no-progress"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ReweightkitWarning)
        assert cli.main([*args, "--gate-cost", "design"]) == 0
    _, meta = rk.load_weights(out)
    assert meta["parameters"]["gate_cost"] == "design"
    with pytest.raises(SystemExit) as e:
        cli.main(["calibrate", str(data), "--targets", str(targets), "--out", str(tmp_path / "x.csv"),
                  "--method", "cube", "--n-records", "200", "--gate-cost", "design"])
    assert e.value.code == 2 and "--gate-cost prices Hard Concrete's gates" in capsys.readouterr().err


def test_cli_calibrate_l1_solver_reaches_the_estimator(user_files, tmp_path, capsys):
    """--solver picks the L1 solver (the default is auto): the weights are that solver's point; another method refuses it."""
    df, tm, tc, data, targets = user_files
    base = ["calibrate", str(data), "--targets", str(targets), "--method", "l1", "--alpha", "0.01", "--no-progress"]
    weights = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ReweightkitWarning)
        for solver in (None, "fista"):
            out = tmp_path / f"{solver}.csv"
            assert cli.main([*base, "--out", str(out), *([] if solver is None else ["--solver", solver])]) == 0
            w, meta = rk.load_weights(out)
            assert meta["parameters"]["solver"] == (solver or "auto")
            weights[solver] = w.to_numpy()
    p = rk.prepare(df, tm, tc)
    for solver, w in weights.items():
        direct = rk.SparseCalibrator(alpha=0.01, solver=solver or "auto").fit(p).weights_
        np.testing.assert_allclose(w, direct, rtol=1e-12, atol=1e-12)
    assert rk.problem.n_active(weights[None]) < rk.problem.n_active(weights["fista"])  # a basic point vs FISTA's
    with pytest.raises(SystemExit) as e:
        cli.main(["calibrate", str(data), "--targets", str(targets), "--out", str(tmp_path / "x.csv"),
                  "--method", "cube", "--n-records", "200", "--solver", "fista"])
    assert e.value.code == 2 and "--solver picks the L1 solver" in capsys.readouterr().err


def test_cli_calibrate_yaml_targets_and_bad_files(user_files, tmp_path, capsys):
    df, tm, tc, data, _ = user_files
    yaml = pytest.importorskip("yaml")
    t = tmp_path / "t.yaml"
    t.write_text(yaml.safe_dump({"marginal": {"region": {str(k): v for k, v in tm["region"].items()}}}))
    assert cli.main(["calibrate", str(data), "--targets", str(t), "--out", str(tmp_path / "w.csv")]) == 0
    bad = tmp_path / "bad.json"
    for content, pattern in [({"marginal": {"nope": {"a": 1}}}, "column 'nope' is not in the data"),
                             ({"marginal": {"region": {"mars": 5}}}, r"categories \['mars'\] of column 'region'"),
                             ({"margins": {}}, "expected an object with 'marginal'")]:
        bad.write_text(json.dumps(content))
        with pytest.raises(SystemExit) as e:
            cli.main(["calibrate", str(data), "--targets", str(bad), "--out", str(tmp_path / "w.csv")])
        err = capsys.readouterr().err
        assert e.value.code == 2 and re.search(pattern, err), err
        assert "usage: reweightkit calibrate" in err
    with pytest.raises(SystemExit):
        cli.main(["calibrate", str(data), "--targets", str(bad), "--out", str(tmp_path / "w.txt")])


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        cli.main(["--version"])
    assert e.value.code == 0 and capsys.readouterr().out.strip() == f"reweightkit {rk.__version__}"


def test_weights_as_a_series_on_the_frames_index_and_the_frame_with_weights():
    df, tm, tc, _ = rk.superpopulation(seed=1, n_sample=600)
    shuffled = df.sample(frac=1, random_state=0)
    shuffled.index = [f"id{i}" for i in range(len(shuffled))]
    cal = rk.RakeCalibrator().fit(shuffled, tm, tc)
    s = cal.weights_series()
    assert list(s.index) == list(shuffled.index) and np.array_equal(s.to_numpy(), cal.weights_)
    assert rk.problem.max_relative_error(shuffled, s.sample(frac=1, random_state=1), tm, tc) < 1e-8
    out = cal.with_weights(shuffled)
    assert "calibrated_weight" in out and "calibrated_weight" not in shuffled
    with pytest.raises(ValueError, match="index of the data"):
        cal.with_weights(df)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_saved_weights_round_trip_with_provenance(tmp_path, suffix):
    if suffix == ".parquet":
        pytest.importorskip("pyarrow")
    df, tm, tc, _ = rk.superpopulation(seed=2, n_sample=500)
    cal = rk.SubsampleCalibrator(100, seed=9).fit(df, tm, tc)
    sidecar = rk.save_weights(cal, tmp_path / f"w{suffix}")
    w, meta = rk.load_weights(tmp_path / f"w{suffix}")
    np.testing.assert_array_equal(w.to_numpy(), cal.weights_)
    assert meta["method"] == "SubsampleCalibrator" and meta["parameters"]["seed"] == 9
    assert meta["concentration"]["n_active"] == 100 and sidecar.exists()
    with pytest.raises(TypeError, match="fitted"):
        rk.save_weights(rk.RakeCalibrator(), tmp_path / "x.csv")


@pytest.mark.parametrize("make", [
    lambda: rk.RakeCalibrator(), lambda: rk.Calibrator(), lambda: rk.SubsampleCalibrator(300, seed=0),
    lambda: rk.BalancedSampleCalibrator(300, seed=0), lambda: rk.CalibrateThenReduceCalibrator(300, seed=0),
    lambda: rk.SparseCalibrator(alpha=0.01), lambda: rk.HardConcreteCalibrator(seed=0)])
def test_a_default_fit_prints_no_warning(make, published):
    df, tm, tc, _ = published
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        make().fit(df, tm, tc)


def test_plot_fit_shows_errors_g_and_concentration(published):
    import matplotlib

    matplotlib.use("Agg")
    df, tm, tc, _ = published
    axes = rk.plot_fit(rk.SubsampleCalibrator(300, seed=0).fit(df, tm, tc))
    assert len(axes) == 3 and "Kish ESS" in axes[2].get_title()


def test_plot_fit_draws_round_off_as_zero_not_full_width_bars(published):
    """An exact calibration leaves ~1e-15 residuals; the error panel must not magnify them to full-width bars."""
    import matplotlib

    matplotlib.use("Agg")
    df, tm, tc, _ = published
    est = rk.RakeCalibrator().fit(df, tm, tc, weight_col=None)
    assert 0 < np.abs(est.target_table().relative_error).max() < 1e-8  # round-off, not zero
    ax1 = rk.plot_fit(est)[0]
    assert all(p.get_width() == 0 for p in ax1.patches)
    assert ax1.get_xlim() == (-0.01, 0.01) and any("every train target met" in t.get_text() for t in ax1.texts)
    # a real miss is still drawn at its size
    miss = rk.SparseCalibrator(alpha=0.05).fit(df, tm, tc)
    widths = [abs(p.get_width()) for p in rk.plot_fit(miss)[0].patches]
    assert max(widths) == pytest.approx(np.abs(miss.target_table().relative_error).max())
    assert rk.weight_summary(np.ones(10))["design_effect"] == pytest.approx(1.0)
