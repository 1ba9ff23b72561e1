"""Comparisons on executors (issue #27): a process pool, a thread pool and a 2-worker Dask LocalCluster give exactly
the rows of the serial run with one thread, in the same order, with the same warnings; a failed unit is named and
the others' rows are kept; the task travels once per worker."""

from __future__ import annotations

import dataclasses
import multiprocessing as mp
import pickle
import warnings
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import reweightkit as rk
from reweightkit.experiment import parallel
from reweightkit.experiment.methods import METHODS

TIMING = ["seconds"]  # the only column that may differ between two runs of the same fits


def _serial(fn, *args, **kw):
    """The reference: the serial run with one thread, as every executor unit runs."""
    before = rk.threads.get_threads()
    rk.set_threads(1)
    try:
        with rk.threads.thread_limits(1):
            return fn(*args, **kw)
    finally:
        rk.set_threads(before)


def _run(fn, *args, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kw)
    return out, [(w.category, str(w.message)) for w in caught if issubclass(w.category, rk.ReweightkitWarning)]


def _same(a, b):
    assert list(a.columns) == list(b.columns)
    pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING), check_exact=True)


@pytest.fixture(scope="module")
def holdout_grid():
    """Leave-one-group-out on the national benchmark at matched budgets: 2 groups x 5 units."""
    problem = rk.nation(0.01, seed=0).problem()
    kw = dict(families=["state_snap", "state_tax"], methods=["hardconcrete-k", "hardconcrete-k-refit", "subsample",
                                                             "cube", "dense"],
              budgets=[60, 200], seeds=[0, 1], epochs=60, bounds=(0.2, 5), refit="logit")
    return problem, kw


@pytest.fixture(scope="module")
def serial_holdout(holdout_grid):
    problem, kw = holdout_grid
    return _run(_serial, rk.run_family_holdout, problem, **kw)


def test_process_pool_gives_the_serial_rows_and_warnings(holdout_grid, serial_holdout):
    problem, kw = holdout_grid
    expected, expected_warnings = serial_holdout
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        got, got_warnings = _run(rk.run_family_holdout, problem, executor=pool, **kw)
    _same(expected, got)
    assert list(got["holdout"].unique()) == list(expected["holdout"].unique())
    assert got_warnings == expected_warnings  # re-emitted here, in row order


def test_thread_pool_gives_the_serial_rows(holdout_grid, serial_holdout):
    problem, kw = holdout_grid
    with ThreadPoolExecutor(2) as pool:
        got, _ = _run(rk.run_family_holdout, problem, executor=pool, **kw)
    _same(serial_holdout[0], got)
    assert rk.threads.get_threads() is None  # the run's one-thread setting is undone


def test_dask_local_cluster_gives_the_serial_rows(holdout_grid, serial_holdout):
    pytest.importorskip("distributed")
    problem, kw = holdout_grid
    with rk.experiment.local_cluster(2) as client:
        env = client.run(lambda: __import__("os").environ.get("MALLOC_TRIM_THRESHOLD_"))
        got, got_warnings = _run(rk.run_family_holdout, problem, executor=client, **kw)
        client.cluster.close()
    assert set(env.values()) == {None}  # the workers run without Dask's malloc trim threshold
    _same(serial_holdout[0], got)
    assert got_warnings == serial_holdout[1]


def test_replicates_and_one_comparison_on_a_pool():
    kw = dict(methods=["l1", "hardconcrete", "subsample", "dense"], alphas=[0.1, 0.01], l0_lambdas=[1e-4, 1e-2],
              sizes=[300], seeds=[0, 1], epochs=40)
    expected, _ = _run(_serial, rk.run_replicates, rk.superpopulation, 2, **kw)
    with ProcessPoolExecutor(2, mp_context=mp.get_context("spawn")) as pool:
        got, _ = _run(rk.run_replicates, rk.superpopulation, 2, executor=pool, **kw)
        one, _ = _run(rk.run_comparison, *rk.published_example(), executor=pool, **kw)
    _same(expected, got)
    assert list(got["replicate"].unique()) == [0, 1]
    _same(_run(_serial, rk.run_comparison, *rk.published_example(), **kw)[0], one)


def test_units_keep_batched_grids_and_the_shared_hard_concrete_search_together():
    task = rk.CalibrationTask.from_targets(*rk.published_example())
    plan = parallel.Plan(task, {}, ["dense", "hardconcrete-k-refit", "subsample", "hardconcrete-k", "hardconcrete"])
    # serial order (the registry's), one unit per method, the two budget rows of one search in one unit
    assert plan.units == [("hardconcrete",), ("subsample",), ("dense",), ("hardconcrete-k", "hardconcrete-k-refit")]
    plan = parallel.Plan(task, {}, ["hardconcrete-design-k-refit", "cube", "hardconcrete-k", "hardconcrete-design-k"])
    assert plan.units == [("hardconcrete-k",), ("hardconcrete-design-k", "hardconcrete-design-k-refit"), ("cube",)]


def test_each_gate_price_is_searched_once_per_comparison(monkeypatch):
    """The raw and refit rows of one gate price come from one search; the two prices are two searches."""
    from reweightkit.experiment import methods

    calls = []
    real = methods.sweep_budget_hard_concrete

    def counted(task, **kw):
        calls.append((kw["gate_cost"], kw["names"]))
        return real(task, **kw)

    monkeypatch.setattr(methods, "sweep_budget_hard_concrete", counted)
    names = ["hardconcrete-k", "hardconcrete-k-refit", "hardconcrete-design-k", "hardconcrete-design-k-refit"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ReweightkitWarning)
        res = rk.run_comparison(*rk.published_example(), methods=names, budgets=[200], seeds=[0], epochs=60)
    assert calls == [("uniform", ("hardconcrete-k", "hardconcrete-k-refit")),
                     ("design", ("hardconcrete-design-k", "hardconcrete-design-k-refit"))]
    assert sorted(res["method"].unique()) == sorted(names)
    raw = res.set_index("method")["lambda_l0"]
    assert raw["hardconcrete-k"] == raw["hardconcrete-k-refit"]
    assert raw["hardconcrete-design-k"] == raw["hardconcrete-design-k-refit"]


def test_a_failed_unit_is_named_and_the_others_rows_are_kept(monkeypatch):
    def boom(task, options):
        raise RuntimeError("the dense step fell over")

    monkeypatch.setitem(METHODS, "dense", dataclasses.replace(METHODS["dense"], run=boom))
    kw = dict(methods=["subsample", "dense"], sizes=[300], seeds=[0])
    with ThreadPoolExecutor(2) as pool, pytest.raises(rk.experiment.ComparisonError) as err:
        rk.run_replicates(rk.superpopulation, 2, executor=pool, **kw)
    e = err.value
    assert "2 of 4 comparison units failed" in str(e)
    assert "replicate=0, methods ['dense']: RuntimeError: the dense step fell over" in str(e)
    assert [f["task"] for f in e.failures] == ["replicate=0", "replicate=1"]
    assert set(e.partial["method"]) == {"subsample"} and list(e.partial["replicate"].unique()) == [0, 1]


def test_the_task_is_shipped_once_not_per_unit(monkeypatch):
    """A generic executor gets each task in a pickled file; every unit carries only the file's path."""
    sent = []

    class Recording(ThreadPoolExecutor):  # a generic Executor path (not the by-reference thread path)
        def submit(self, fn, *args, **kw):
            sent.append(len(pickle.dumps(args)))
            return super().submit(fn, *args, **kw)

    monkeypatch.setattr(parallel, "_is_dask", lambda ex: False)
    monkeypatch.setattr(parallel.cf, "ThreadPoolExecutor", type("NotThisOne", (), {}))
    task_size = len(pickle.dumps(rk.CalibrationTask.from_targets(*rk.superpopulation(seed=0))))
    with Recording(1) as pool:
        out = rk.run_replicates(rk.superpopulation, 2, executor=pool, methods=["subsample", "dense"], sizes=[300],
                                seeds=[0])
    assert len(sent) == 4 and max(sent) < task_size / 20  # no unit carries the task
    assert len(out) == 2 * 2  # 1 subsample + 1 dense row per replicate
    rk.set_threads(None)


def test_executor_is_checked_before_any_fit():
    with pytest.raises(TypeError, match="executor must be None, a concurrent.futures.Executor"):
        rk.run_comparison(*rk.published_example(), executor="processes")
    with pytest.raises(TypeError, match="executor must be"):
        rk.run_replicates(rk.superpopulation, 1, executor=4)
    with pytest.raises(TypeError, match="unknown run_comparison argument"):
        rk.run_replicates(rk.superpopulation, 1, sead=3)
    with pytest.raises(ValueError, match="n_workers must be an integer >= 1"):
        rk.experiment.local_cluster(0)


def test_cli_frontier_workers_gives_the_serial_csv(tmp_path):
    from reweightkit import cli

    args = ["frontier", "--benchmark", "published", "--quick", "--seeds", "1", "--methods", "l1,subsample,dense",
            "--no-progress"]
    assert cli.main([*args, "--out", str(tmp_path / "serial")]) == 0
    assert cli.main([*args, "--out", str(tmp_path / "pool"), "--workers", "2"]) == 0
    a = pd.read_csv(tmp_path / "serial" / "frontier.csv")
    b = pd.read_csv(tmp_path / "pool" / "frontier.csv")
    pd.testing.assert_frame_equal(a.drop(columns=TIMING), b.drop(columns=TIMING))
    with pytest.raises(SystemExit):
        cli.main([*args, "--out", str(tmp_path / "x"), "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    with pytest.raises(SystemExit):
        cli.main([*args, "--out", str(tmp_path / "x"), "--workers", "0"])
    assert np.isfinite(a["test_error"]).all()


def test_a_worker_reads_each_task_once_and_keeps_the_last_two(tmp_path, monkeypatch):
    paths = []
    for i in range(3):
        paths.append(str(tmp_path / f"task{i}.pkl"))
        with open(paths[-1], "wb") as f:
            pickle.dump({"task": i}, f)
    reads = []
    real_load = pickle.load
    monkeypatch.setattr(parallel.pickle, "load", lambda f: reads.append(f.name) or real_load(f))
    monkeypatch.setattr(parallel, "_LOADED", {})
    for path in [paths[0], paths[0], paths[1], paths[0], paths[2], paths[0], paths[1]]:
        assert parallel._from_file(path) == {"task": int(path[-5])}
    # task 0 stays (used most recently before task 2 arrived); task 1 is dropped for task 2 and read again
    assert [Path(r).name for r in reads] == ["task0.pkl", "task1.pkl", "task2.pkl", "task1.pkl"]
    assert len(parallel._LOADED) == parallel.KEEP
