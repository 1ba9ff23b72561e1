"""Thread counts from the CPUs a process may use: cgroup quotas, affinity, other processes, the user's settings."""

import os
import warnings

import numpy as np
import pytest

import reweightkit as rk
from reweightkit import threads as _threads


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("text, want", [("150000 100000\n", 1.5), ("max 100000\n", None), ("50000 100000", 0.5),
                                        ("garbage", None)])
def test_cgroup_v2_quota(tmp_path, text, want):
    write(tmp_path / "cpu.max", text)
    assert rk.threads.cpu_quota(str(tmp_path)) == want


@pytest.mark.parametrize("sub", ["cpu", "cpu,cpuacct"])
def test_cgroup_v1_quota(tmp_path, sub):
    write(tmp_path / sub / "cpu.cfs_quota_us", "200000\n")
    write(tmp_path / sub / "cpu.cfs_period_us", "100000\n")
    assert rk.threads.cpu_quota(str(tmp_path)) == 2.0
    write(tmp_path / sub / "cpu.cfs_quota_us", "-1\n")  # v1's "no quota"
    assert rk.threads.cpu_quota(str(tmp_path)) is None


def test_no_cgroup_files_means_no_quota(tmp_path):
    assert rk.threads.cpu_quota(str(tmp_path / "absent")) is None


def test_available_cpus_is_the_affinity_cut_to_the_quota_rounded_up(tmp_path):
    mask = len(os.sched_getaffinity(0))
    assert rk.threads.available_cpus(str(tmp_path / "absent")) == mask
    write(tmp_path / "cpu.max", "50000 100000")  # half a CPU still gets one thread
    assert rk.threads.available_cpus(str(tmp_path)) == 1
    write(tmp_path / "cpu.max", f"{(mask + 4) * 100000} 100000")  # a quota above the mask does not add CPUs
    assert rk.threads.available_cpus(str(tmp_path)) == mask


def test_others_running_reads_the_runnable_count(tmp_path):
    f = tmp_path / "loadavg"
    no_tasks = str(tmp_path / "no-task-dir")  # this process's threads unknown: only the reader is subtracted
    f.write_text("3.10 2.00 1.50 5/300 12345\n")
    assert _threads.others_running(str(f), task_dir=no_tasks) == 4  # this reader is one of the five
    f.write_text("0.0 0.0 0.0 1/80 1\n")
    assert _threads.others_running(str(f), task_dir=no_tasks) == 0
    assert _threads.others_running(str(tmp_path / "absent"), task_dir=no_tasks) == 0
    f.write_text("nonsense")
    assert _threads.others_running(str(f), task_dir=no_tasks) == 0


def test_default_threads_respects_the_user(monkeypatch):
    for v in _threads.ENV_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(_threads, "others_running", lambda: 0)
    monkeypatch.setattr(_threads, "available_cpus", lambda: 4)
    monkeypatch.setattr(_threads, "_affinity", lambda: 1)  # torch's count is not below the mask: automatic
    assert rk.default_threads(10) == 1  # small work: one thread
    assert rk.default_threads(10**7) == 4
    monkeypatch.setattr(_threads, "others_running", lambda: 3)
    assert rk.default_threads(10**7) == 1  # three CPUs busy with other processes
    monkeypatch.setenv("OMP_NUM_THREADS", "3")
    assert rk.default_threads(10**7) is None  # the environment decides
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert rk.threads.get_threads() is None
    rk.set_threads(2)
    try:
        assert rk.threads.get_threads() == 2
        assert rk.default_threads(10) == 2 and rk.default_threads(10**7) == 2
    finally:
        rk.set_threads(None)
    assert rk.threads.get_threads() is None
    assert rk.default_threads(10) == 1


def test_blocks_take_the_cpus_whatever_the_load(monkeypatch, published):
    """Independent blocks (the Hard Concrete engine's) get up to one thread each from every CPU this process may
    use, busy or not; the user's choices still win; a grid of 40 replicas x 5,000 records trains in two blocks,
    and the estimator resolves its count that way."""
    for v in _threads.ENV_VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setattr(_threads, "others_running", lambda: 3)
    monkeypatch.setattr(_threads, "available_cpus", lambda: 4)
    monkeypatch.setattr(_threads, "_affinity", lambda: 1)
    assert rk.default_threads(10**7) == 1  # threads that wait on each other: the busy CPUs are left alone
    assert rk.default_threads(10**7, blocks=2) == 2 and rk.default_threads(10**7, blocks=8) == 4
    assert rk.default_threads(10, blocks=8) == 1  # small work: one thread
    rk.set_threads(3)
    try:
        assert rk.default_threads(10**7, blocks=8) == 3
    finally:
        rk.set_threads(None)
    pytest.importorskip("torch")
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ReweightkitWarning)  # two epochs: not settled, and said so
        fits = rk.HardConcreteCalibrator(epochs=2).fit_grid(p, lambdas=np.geomspace(1e-6, 1e-3, 8), seeds=range(5))
    assert {f.n_threads_ for f in fits} == {2}


@pytest.mark.parametrize("bad", [0, -1, 1.5, True, "2"])
def test_bad_thread_counts_are_refused(bad):
    with pytest.raises(ValueError, match="n_threads"):
        rk.set_threads(bad)
    with pytest.raises(ValueError, match="n_threads"):
        with rk.threads.thread_limits(bad):
            pass


def test_thread_limits_sets_and_restores_torch_and_blas():
    torch = pytest.importorskip("torch")
    from threadpoolctl import threadpool_info

    before = torch.get_num_threads()
    blas_before = [i["num_threads"] for i in threadpool_info()]
    with rk.threads.thread_limits(1):
        assert torch.get_num_threads() == 1
        assert all(i["num_threads"] == 1 for i in threadpool_info())
    assert torch.get_num_threads() == before
    assert [i["num_threads"] for i in threadpool_info()] == blas_before
    with rk.threads.thread_limits(None):  # None leaves everything as it is
        assert torch.get_num_threads() == before


def test_training_uses_the_named_thread_count(published, monkeypatch):
    torch = pytest.importorskip("torch")
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    seen = []
    real = _threads.thread_limits

    def spy(n):
        seen.append(n)
        return real(n)

    from reweightkit.solvers import hardconcrete as hc
    monkeypatch.setattr(hc, "thread_limits", spy)
    rk.solvers.train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-4], [0], epochs=2, n_threads=2)
    rk.solvers.train_hard_concrete(p.At_rec, p.b_t, p.w0, [1e-4], [0], epochs=2)
    assert seen == [2, rk.default_threads(p.n_records)]
    assert torch.get_num_threads() >= 1
