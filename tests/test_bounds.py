"""Weights a user can certify (#24): one meaning of bounds, held by every method on what it returns; budgets that
keep their word; inputs refused with their name."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import reweightkit as rk
from reweightkit import cli


def _survey(n=3000, seed=0, response=0.72):
    """A survey whose design weights add up to ``response`` of the population (nonresponse), and its targets."""
    rng = np.random.default_rng(seed)
    region = rng.choice(["north", "south", "east", "west"], n, p=[0.3, 0.25, 0.25, 0.2])
    age = rng.choice(["young", "mid", "old"], n, p=[0.3, 0.45, 0.25])
    income = rng.lognormal(10, 0.6, n)
    d = rng.choice([20.0, 60.0, 120.0], n, p=[0.5, 0.3, 0.2])  # unequal design weights, 1-in-20 to 1-in-120
    df = pd.DataFrame({"region": region, "age": age, "income": income, "weight": d})
    lift = {"north": 1.1, "south": 0.95, "east": 1.0, "west": 0.9}
    w_pop = d / response * np.array([lift[r] for r in region])
    marginal = {"region": {k: float(w_pop[region == k].sum()) for k in lift},
                "age": {k: float(w_pop[age == k].sum()) for k in ("young", "mid", "old")}}
    continuous = {"income": float((w_pop * income).sum())}
    return df, marginal, continuous


@pytest.fixture(scope="module")
def survey():
    return _survey()


def test_dense_bounds_bound_w_over_the_design_weights_with_no_hidden_scale(survey):
    df, m, c = survey
    cal = rk.Calibrator("logit", bounds=(0.5, 2.0)).fit(df, m, c)
    g = cal.weights_ / df["weight"].to_numpy()
    assert cal.exact_ and cal.bounds_held_
    assert 0.5 <= g.min() and g.max() <= 2.0 and g.mean() > 1.3  # nonresponse: g near 1 / 0.72 on average
    np.testing.assert_array_equal(cal.base_weights_, df["weight"].to_numpy())
    assert (cal.g_min_, cal.g_max_) == (g.min(), g.max())


def test_infeasible_bounds_raise_and_name_the_bounds_as_the_cause(survey):
    df, m, c = survey
    with pytest.raises(ValueError, match=r"bounds=\(0.9, 1.1\).*The bounds are the cause"):
        rk.Calibrator("logit", bounds=(0.9, 1.1)).fit(df, m, c)
    with pytest.warns(rk.TargetMissWarning, match="bounded least-squares"):
        fit = rk.Calibrator("logit", bounds=(0.9, 1.1), on_infeasible="least_squares").fit(df, m, c)
    assert not fit.exact_ and fit.bounds_held_  # the fallback was asked for: inexact, said loudly, in bounds


@pytest.mark.parametrize("cls", [rk.SubsampleCalibrator, rk.BalancedSampleCalibrator, rk.CalibrateThenReduceCalibrator])
def test_samplers_bound_g_against_their_horvitz_thompson_weights(survey, cls):
    df, m, c = survey
    kw = {"calibration": "logit"} if cls is rk.CalibrateThenReduceCalibrator else {}
    est = cls(500, seed=3, refit="logit", bounds=(0.5, 2.0), **kw).fit(df, m, c)
    kept = est.weights_ > 0
    g = est.weights_[kept] / est.base_weights_[kept]
    assert est.exact_ and est.bounds_held_ and 0.5 <= g.min() and g.max() <= 2.0
    np.testing.assert_array_equal(est.base_weights_, est.ht_weights_ if hasattr(est, "ht_weights_")
                                  else est.base_weights_)
    assert est.n_active_ == 500
    # the Horvitz-Thompson weights already estimate the design-weighted totals: g stays near 1 / 0.72
    assert 1.0 < np.average(g, weights=est.base_weights_[kept]) < 1.8


def test_a_sampler_whose_bounds_cannot_hold_raises_by_default(survey):
    df, m, c = survey
    with pytest.raises(ValueError, match="The bounds are the cause"):
        rk.SubsampleCalibrator(500, seed=3, refit="logit", bounds=(0.95, 1.05)).fit(df, m, c)


def test_hard_concrete_refuses_a_lower_bound_its_gates_cannot_hold_and_keeps_the_cap():
    df, tm, tc, _ = rk.superpopulation(seed=0)
    with pytest.raises(ValueError, match="lower bound > 0 cannot hold for Hard Concrete's gated"):
        rk.HardConcreteCalibrator(bounds=(0.3, 4.0), lambda_l0=1e-4, epochs=50, seed=0).fit(df, tm, tc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ConvergenceWarning)
        capped = rk.HardConcreteCalibrator(bounds=(0.0, 4.0), lambda_l0=1e-4, epochs=300, seed=0).fit(df, tm, tc)
        refit = rk.HardConcreteCalibrator(bounds=(0.3, 4.0), lambda_l0=1e-4, epochs=300, seed=0,
                                          refit="logit").fit(df, tm, tc)
    assert capped.bounds_held_ and capped.g_max_ <= 4.0 * (1 + 1e-6)  # float32 clamp at the bound: held
    kept = refit.weights_ > 1e-9
    g = refit.weights_[kept] / df["weight"].to_numpy()[kept]
    assert refit.bounds_held_ and refit.exact_ and g.min() >= 0.3 * (1 - 1e-9) and g.max() <= 4.0 * (1 + 1e-9)


def test_raking_with_bounds_names_the_argument_of_that_estimator(survey):
    df, m, c = survey
    with pytest.raises(ValueError, match="refit='raking' takes no bounds.*refit='logit'"):
        rk.SubsampleCalibrator(500, seed=3, refit="raking", bounds=(0.5, 2.0)).fit(df, m, c)
    with pytest.raises(ValueError, match="calibration='logit'"):
        rk.CalibrateThenReduceCalibrator(500, seed=3, refit="logit", bounds=(0.5, 2.0)).fit(df, m, c)
    with pytest.raises(ValueError, match="distance='raking' takes no bounds"):
        rk.Calibrator("raking", bounds=(0.5, 2.0)).fit(df, m, c)


def test_an_l1_budget_keeps_its_word(survey):
    """n_records=k returns the point its search found (within max(2 %, 5)), or says the count jumps past k."""
    df, m, c = survey
    met = 0
    for k in (50, 120, 200):
        try:
            est = rk.SparseCalibrator(n_records=k).fit(df, m, c)
        except ValueError as e:
            assert f"n_records={k}" in str(e) and "nearest reached are" in str(e)
            continue
        met += 1
        assert abs(est.n_active_ - k) <= max(0.02 * k, 5), (k, est.n_active_)
    assert met >= 2


def test_the_cli_fails_without_writing_when_bounds_cannot_hold(survey, tmp_path):
    df, m, c = survey
    df.to_csv(tmp_path / "people.csv", index=False)
    (tmp_path / "t.json").write_text(json.dumps({"marginal": m, "continuous": c}))
    out = tmp_path / "w.csv"
    argv = ["calibrate", str(tmp_path / "people.csv"), "--targets", str(tmp_path / "t.json"), "--method", "subsample",
            "--n-records", "500", "--refit", "logit", "--out", str(out)]
    with pytest.raises(SystemExit) as e:
        cli.main([*argv, "--bounds", "0.95,1.05"])
    assert e.value.code == 2 and not out.exists()
    assert cli.main([*argv, "--bounds", "0.5,2"]) == 0
    meta = json.loads((tmp_path / "w.csv.json").read_text())
    assert meta["g_base"] == "the sample's Horvitz-Thompson weights d / pi"
    assert meta["concentration"]["bounds_held"] is True and meta["concentration"]["exact"] is True
    assert meta["extra"]["data_sha256"] and meta["versions"]["numpy"] and meta["design_weight_column"] == "weight"
    w = pd.read_csv(out)["weight"].to_numpy()
    assert np.count_nonzero(w) == 500


def test_the_cli_checks_out_before_the_fit(survey, tmp_path, capsys):
    df, m, c = survey
    df.to_csv(tmp_path / "people.csv", index=False)
    (tmp_path / "t.json").write_text(json.dumps({"marginal": m, "continuous": c}))
    with pytest.raises(SystemExit) as e:
        cli.main(["calibrate", str(tmp_path / "people.csv"), "--targets", str(tmp_path / "t.json"),
                  "--out", str(tmp_path / "no" / "such" / "w.csv")])
    assert e.value.code == 2 and "does not exist" in capsys.readouterr().err
