"""The national benchmark, family holdout and the tail metrics (issue #19)."""

import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import reweightkit as rk
from reweightkit.experiment.nation import AGE_GROUPS, NATION_FAMILIES


@pytest.fixture(scope="module")
def small():
    return rk.nation(0.01, seed=3, population=True)


def test_targets_are_the_populations_totals_exactly(small):
    """Recompute several families from the population with pandas and compare by target name."""
    hh, persons = small.population["households"], small.population["persons"]
    b = pd.Series(small.b, index=small.names)
    per_state = int(hh["district"].max() + 1) // int(hh["state"].max() + 1)

    def dist(d):
        return f"s{d // per_state:02d}/d{d % per_state:02d}"

    tax = hh.groupby("state")["state_tax"].sum()
    for s, v in tax.items():
        assert b[f"state_tax:s{s:02d}"] == pytest.approx(v, rel=1e-12)
    snap = hh[hh["snap"]].groupby("district").size()
    for d, v in snap.items():
        assert b[f"district_snap:{dist(d)}"] == v
    p = persons.assign(district=hh["district"].to_numpy()[persons["household"]])
    cells = p.groupby(["district", "age", "sex"]).size()
    checked = 0
    for (d, a, s), v in cells.items():
        name = f"district_age_sex:{dist(d)}/{AGE_GROUPS[a]}/{'FM'[s]}"
        if name in b.index:  # cells with no surveyed person are left out
            assert b[name] == v
            checked += 1
    assert checked > 0.9 * len(cells)
    assert b["national_households:total"] == len(hh) and b["national_persons:total"] == len(persons)
    assert b["national_income:total"] == pytest.approx(hh["income"].sum(), rel=1e-12)


def test_families_partition_the_targets_and_everything_is_sparse(small):
    assert sp.issparse(small.A) and small.A.shape == (len(small.b), len(small.design_weights))
    assert len(small.families) == len(small.names) == len(set(small.names)) == small.A.shape[0]
    assert set(small.families) == set(NATION_FAMILIES) and len(NATION_FAMILIES) >= 8
    rows = [np.flatnonzero(np.array(small.families) == f) for f in NATION_FAMILIES]
    assert sum(r.size for r in rows) == small.A.shape[0]  # every target in exactly one family
    assert np.all(small.b > 0) and np.all(np.diff(small.A.indptr) > 0)  # no zero or unreachable target
    assert small.family_sizes().sum() == small.A.shape[0]


def test_same_seed_same_benchmark_other_seed_differs():
    a, b, c = rk.nation(0.005, seed=1), rk.nation(0.005, seed=1), rk.nation(0.005, seed=2)
    assert a.names == b.names and np.array_equal(a.b, b.b) and np.array_equal(a.design_weights, b.design_weights)
    assert (a.A != b.A).nnz == 0
    assert not (a.b.shape == c.b.shape and np.array_equal(a.b, c.b))


def test_sizes_grow_with_scale():
    s1, s2 = rk.nation(0.005, seed=0), rk.nation(0.02, seed=0)
    assert s2.A.shape[1] > 3 * s1.A.shape[1] and s2.A.shape[0] > 1.5 * s1.A.shape[0]
    assert abs(s2.A.shape[1] - 6000) < 600  # about 300,000 * scale respondents


@pytest.mark.parametrize("scale", [0, -1, float("nan"), "big", True, 1e-5])
def test_bad_scale_is_named(scale):
    with pytest.raises(ValueError, match="scale"):
        rk.nation(scale)


def test_calibrating_to_counts_predicts_held_out_families_better_than_design_weights():
    """Dense raking to the count families (district age x sex, household size, state income brackets) beats the
    design weights (scaled to the targets, the kit's start point) on held-out state Medicaid and tax totals:
    the benchmark can tell a calibration from none."""
    nb = rk.nation(0.02, seed=5)
    full = nb.problem()
    counts = ["district_age_sex", "district_household_size", "state_income_bracket_count", "national_households"]
    held = ["state_medicaid_persons", "state_tax", "state_snap"]
    keep = full.system.family_rows(counts + held)
    sub = rk.problem.prepare_system(full.system.subset(keep), nb.design_weights)
    task = rk.CalibrationTask.from_problem(sub, held)
    assert set(task.problem.system.families) == set(counts)
    with warnings.catch_warnings():
        # the survey cannot meet every count exactly (measured: 0.14 % off at worst); raking says so
        warnings.simplefilter("ignore", rk.RakeWarning)
        raked = rk.RakeCalibrator().fit(task.problem)
    assert raked.max_train_error_ < 0.01
    base, cal = task.scorer.score(task.problem.w0), task.scorer.score(raked.weights_)
    assert cal["test_error"] < 0.6 * base["test_error"]
    assert cal["test_median_error"] < base["test_median_error"]


def test_family_holdout_never_leaks_into_a_fit(monkeypatch):
    nb = rk.nation(0.005, seed=0)
    full = nb.problem()
    seen = []
    real = rk.RakeCalibrator._fit_problem

    def spy(self, problem, previous):
        seen.append(problem.system)
        return real(self, problem, previous)

    monkeypatch.setattr(rk.RakeCalibrator, "_fit_problem", spy)
    held = ["state_snap", "district_snap"]
    task = rk.CalibrationTask.from_matrix(nb.A, nb.b, nb.design_weights, names=nb.names, families=nb.families,
                                          holdout=held)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rk.run_comparison(task, methods=["dense"])
    assert len(res) == 1 and seen
    for system in seen:
        assert not set(system.families) & set(held)
        assert not set(system.names) & set(task.test.names)
        assert system.n_targets + task.test.n_targets == full.system.n_targets
    assert set(task.test.families) == set(held)
    # the train problem's start point is computed from the train targets alone
    again = rk.problem.prepare_system(full.system.subset(~full.system.family_rows(held)), nb.design_weights)
    np.testing.assert_array_equal(task.problem.w0, again.w0)


def test_leave_one_family_out_runs_every_family_with_its_closure():
    nb = rk.nation(0.005, seed=0)
    full = nb.problem()
    fams = ["state_tax", "state_snap", ["state_snap", "district_snap"]]
    tasks = list(rk.experiment.family_holdout_tasks(full, fams))
    # state_snap is the sum of district_snap: held out with it; the explicit group is the same task, run once
    assert [f for f, _ in tasks] == ["state_tax", "state_snap+district_snap"]
    assert [set(t.test.families) for _, t in tasks] == [{"state_tax"}, {"state_snap", "district_snap"}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rk.run_family_holdout(full, fams, methods=["dense"], tree=nb.family_tree)
    assert list(res["holdout"]) == ["state_tax", "state_snap+district_snap"]
    with pytest.raises(ValueError, match="no target family 'nope'"):
        rk.CalibrationTask.from_problem(full, ["nope"])
    with pytest.raises(ValueError, match="nothing would be left"):
        rk.CalibrationTask.from_problem(full, list(NATION_FAMILIES))
    with pytest.raises(ValueError, match="families is empty"):
        rk.run_family_holdout(full, [], methods=["dense"])


def test_a_held_out_family_that_training_families_reveal_is_refused_closed_or_warned():
    nb = rk.nation(0.005, seed=0)
    full = nb.problem()
    with pytest.raises(ValueError, match=r"training families \['district_snap'\] reveal it.*state_snap: 4 of 4 by "
                                         r"district_snap.*nesting='closure'"):
        rk.CalibrationTask.from_problem(full, ["state_snap"])
    closed = rk.CalibrationTask.from_problem(full, ["state_snap"], nesting="closure")
    assert set(closed.held_out) == {"state_snap", "district_snap"}
    with pytest.warns(rk.LeakWarning, match="district_snap"):
        leaky = rk.CalibrationTask.from_problem(full, ["state_snap"], nesting="warn")
    assert leaky.held_out == ["state_snap"]
    # the leak is real: for any weights, each state's SNAP estimate is the sum of its districts' (trained) estimates
    w = np.random.default_rng(0).uniform(0.5, 2.0, full.n_records)
    train = leaky.problem.system
    district = {nm: e for nm, e in zip(train.names, train.estimates(w)) if nm.startswith("district_snap:")}
    for nm, e in zip(leaky.test.names, leaky.test.estimates(w)):
        state = nm.split(":")[1]
        assert e == pytest.approx(sum(v for k, v in district.items() if k.split(":")[1].startswith(state + "/")))
    with pytest.raises(ValueError, match="nesting must be"):
        rk.CalibrationTask.from_problem(full, ["state_snap"], nesting="closed")


def test_the_nesting_detector_finds_the_benchmarks_own_tree():
    nb = rk.nation(0.02, seed=3)
    found = rk.problem.family_nesting(nb.problem())
    sizes = nb.family_sizes()
    for fam, revealers in nb.family_tree.items():
        for g in revealers:  # every declared nesting is found, on every target of the family
            assert found.revealed[fam].get(g) == sizes[fam], (fam, g, found.describe(fam))
    for fam, hits in found.revealed.items():  # anything else is an accident of the sample: a few cells only
        for g, c in hits.items():
            if g not in nb.family_tree.get(fam, ()):
                assert c <= 0.1 * sizes[fam], (fam, g, c)
    # district families are revealed by nothing (they are the finest cells)
    assert not any(found.revealed[f] for f in NATION_FAMILIES if f.startswith("district_"))
    assert rk.problem.nesting_closure(["national_income"], nb.family_tree) == [
        "national_income", "district_income", "state_income_bracket_amount"]


def test_the_nesting_detector_on_hand_made_families():
    # rows: two "district" cells, their "state" sum, a weighted sum (2 a + 3 b), a row that is no combination
    A = sp.csr_matrix(np.array([[1.0, 1.0, 0, 0], [0, 0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0], [2.0, 2.0, 3.0, 3.0],
                                [1.0, 0, 1.0, 0]]))
    system = rk.problem.CalibrationSystem(A=A, b=np.ones(5), names=list("abcde"), kinds=["matrix"] * 5,
                                          families=["district", "district", "state", "weighted", "other"])
    found = rk.problem.family_nesting(system)
    assert found.revealers("state") == ["district"]
    assert found.revealers("weighted") == ["district"]  # 2 a + 3 b, but no multiple of the state row
    assert found.revealers("other") == []
    assert found.revealers("district") == []  # a part of a sum is not revealed by the sum
    with pytest.raises(TypeError, match="CalibrationProblem or CalibrationSystem"):
        rk.problem.family_nesting(A)
    with pytest.raises(TypeError, match="must list families"):
        rk.problem.nesting_closure(["state"], {"state": "district"})


def test_tail_metrics_on_a_hand_made_example():
    # 4 targets over 4 records; the two smallest targets are 1 and 2 (10 % of 4 rounds up to 1 target: b = 1)
    A = sp.csr_matrix(np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 1.0], [1.0, 1.0, 1.0, 1.0]]))
    train = rk.problem.CalibrationSystem(A=A, b=np.array([1.0, 2.0, 10.0, 20.0]), names=list("abcd"), kinds=["matrix"] * 4)
    test = train.subset([0, 1, 2, 3])
    w = np.array([0.0, 2.08, 13.0, 1.0])  # errors: -100 %, +4 %, +40 %, -19.6 %
    row = rk.problem.Scorer(train, test, small_share=0.25).score(w)
    e = np.array([1.0, 0.04, 0.4, 0.196])
    assert row["train_error"] == pytest.approx(e.mean())
    assert row["train_capped_error"] == pytest.approx(np.minimum(e, 1).mean())
    assert row["train_median_error"] == pytest.approx(np.median(e))
    assert row["train_within_5pct"] == pytest.approx(0.25)  # only b
    assert row["train_uncovered_small"] == 1.0  # the smallest target (a) has no kept record
    row = rk.problem.Scorer(train, test, small_share=0.5).score(w)
    assert row["train_uncovered_small"] == 0.5  # a uncovered, b covered
    big = np.array([0.0, 2.0, 100.0, 1.0])  # +900 % on c: the capped loss counts it as 100 %
    row = rk.problem.Scorer(train, None).score(big)
    # errors -100 %, 0 %, +910 %, +415 %: capped at 100 % each
    assert row["train_capped_error"] == pytest.approx(0.75)
    assert np.isnan(row["test_capped_error"]) and np.isnan(row["test_uncovered_small"])
    with pytest.raises(ValueError, match="small_share"):
        rk.problem.Scorer(train, None, small_share=0.0)


def test_matrix_task_equals_dataframe_task_on_the_published_example(published):
    df, tm, tc, hm = published
    task = rk.CalibrationTask.from_targets(df, tm, tc, hm)
    s = task.problem.system
    via = rk.CalibrationTask.from_matrix(sp.vstack([s.A, task.test.A]).tocsr(), np.r_[s.b, task.test.b],
                                         task.problem.d, names=s.names + task.test.names,
                                         families=s.families + task.test.families, holdout=list(set(task.test.families)))
    a = rk.SparseCalibrator(alpha=0.01).fit(task.problem)
    b = rk.SparseCalibrator(alpha=0.01).fit(via.problem)
    np.testing.assert_array_equal(a.weights_, b.weights_)
    assert task.scorer.score(a.weights_)["test_error"] == via.scorer.score(b.weights_)["test_error"]


def test_cli_nation_benchmark_holds_out_families(tmp_path, capsys):
    from reweightkit.cli import main

    assert main(["frontier", "--benchmark", "nation", "--quick", "--out", str(tmp_path), "--no-progress",
                 "--methods", "hardconcrete,dense", "--epochs", "30", "--seeds", "1",
                 "--holdout", "state_tax,state_snap,district_snap"]) == 0
    res = pd.read_csv(tmp_path / "frontier.csv")
    assert (res["holdout"] == "state_tax+state_snap+district_snap").all()
    assert set(res["method"]) == {"hardconcrete", "dense"} and (res["replicate"] == 0).all()
    assert res["test_capped_error"].notna().all() and res["test_uncovered_small"].between(0, 1).all()
    assert "nation" in (tmp_path / "README.md").read_text()
    for argv in (["--holdout", "state_tax,mars"], ["--holdout", ""], ["--scale", "-1"], ["--holdout", "state_snap"]):
        with pytest.raises(SystemExit) as e:
            main(["frontier", "--benchmark", "nation", "--quick", "--out", str(tmp_path / "x"), "--no-progress",
                  "--methods", "dense", *argv])
        assert e.value.code == 2
    err = capsys.readouterr().err
    assert "unknown family ['mars']" in err and "training families ['district_snap'] reveal it" in err
