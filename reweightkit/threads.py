"""Thread counts from the CPUs this process may actually use.

A container limited by a cgroup CPU quota (Binder, classroom JupyterHubs) usually sees
every core of its host, so torch and the BLAS libraries start one thread per host core,
exceed the quota and get throttled; on a machine shared with other busy processes, threads
that spin-wait between parallel regions slow everyone down.  The kit's heavy work
(Hard Concrete training) therefore runs with :func:`default_threads` threads: the affinity
mask, cut to the cgroup quota (v2 ``cpu.max``, v1 ``cpu.cfs_quota_us / cpu.cfs_period_us``),
less the CPUs other processes are running on right now (``/proc/loadavg``'s runnable count,
the smallest of three reads), and 1 for work too small to gain from threads.  What the user set wins: an explicit
``n_threads=`` argument, ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` / ``OPENBLAS_NUM_THREADS``
in the environment, or :func:`set_threads`.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import os
import sys
import time

__all__ = ["cpu_quota", "available_cpus", "others_running", "default_threads", "set_threads", "get_threads",
           "thread_limits"]

ENV_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")
SMALL_WORK = 100_000
"""Element-wise work (records x replicas) below which one thread is used (one published fit,
5,000 records: measured as fast on one thread as on two)."""

_user_threads = None  # set_threads(n)


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def cpu_quota(root="/sys/fs/cgroup"):
    """The CPU quota of this process's cgroup, in CPUs (e.g. 1.5), or None without one.

    Parameters
    ----------
    root : str, default "/sys/fs/cgroup"
        Where the cgroup file system is mounted (a parameter so that tests can point at a fake tree).

    Returns
    -------
    float or None
        ``quota / period`` from cgroup v2's ``cpu.max`` or v1's ``cpu.cfs_quota_us`` and
        ``cpu.cfs_period_us``; None when no quota is set or the files are absent.
    """
    v2 = _read(os.path.join(root, "cpu.max"))
    if v2 is not None:
        parts = v2.split()
        if len(parts) == 2 and parts[0] != "max":
            try:
                q, p = float(parts[0]), float(parts[1])
            except ValueError:
                return None
            return q / p if q > 0 and p > 0 else None
        return None
    for sub in ("cpu", "cpu,cpuacct", "cpuacct,cpu", ""):
        q = _read(os.path.join(root, sub, "cpu.cfs_quota_us"))
        p = _read(os.path.join(root, sub, "cpu.cfs_period_us"))
        if q is not None and p is not None:
            try:
                q, p = float(q), float(p)
            except ValueError:
                return None
            return q / p if q > 0 and p > 0 else None
    return None


def _affinity():
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - macOS / Windows
        return os.cpu_count() or 1


def available_cpus(root="/sys/fs/cgroup"):
    """CPUs this process may use: the affinity mask, cut to the cgroup quota (rounded up).

    Parameters
    ----------
    root : str, default "/sys/fs/cgroup"
        The cgroup mount point (see :func:`cpu_quota`).

    Returns
    -------
    int
        At least 1.
    """
    n = _affinity()
    q = cpu_quota(root)
    if q is not None:
        n = min(n, max(1, math.ceil(q)))
    return max(1, n)


def set_threads(n):
    """Fix the thread count of the kit's heavy work for this process (``None``: automatic again).

    Parameters
    ----------
    n : int or None
        Threads (>= 1), or None to go back to :func:`default_threads`.
    """
    global _user_threads
    if n is not None and (isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 1):
        raise ValueError(f"n_threads must be an integer >= 1 or None, got {n!r}")
    _user_threads = None if n is None else int(n)


def get_threads():
    """The thread count fixed by :func:`set_threads` for this process, or None when it is automatic.

    Returns
    -------
    int or None
        What ``set_threads`` last set (None: :func:`default_threads` decides).
    """
    return _user_threads


def default_threads(work=None, blocks=None):
    """Threads for the kit's heavy work, or None when the user's environment decides.

    Parameters
    ----------
    work : int, optional
        Size of the element-wise work (records x replicas); below ``SMALL_WORK`` one thread.
    blocks : int, optional
        The work splits into this many independent blocks, each on one thread with nothing shared
        between threads (the Hard Concrete engine's blocks): up to that many threads, from every CPU
        this process may use whatever the load, because a busy machine then slows each block only by
        its share (``benchmarks/bench_threads.py``).  Without it, the CPUs other processes are busy on
        are left to them: threads that wait on each other at every step slow down far more than
        their share when one of them is descheduled.

    Returns
    -------
    int or None
        None when ``OMP_NUM_THREADS`` (or MKL's / OpenBLAS's) is set, or torch's thread count was
        lowered by ``torch.set_num_threads``: those are respected as they are.
    """
    if _user_threads is not None:
        return _user_threads
    if any(os.environ.get(v) for v in ENV_VARS):
        return None
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() < _affinity():
        return None  # torch.set_num_threads(k) was called (torch's default is one thread per CPU of the mask)
    if work is not None and work < SMALL_WORK:
        return 1
    if blocks is not None:
        return max(1, min(int(blocks), available_cpus()))
    return max(1, available_cpus() - others_running())


def _own_running(task_dir="/proc/self/task"):
    """Threads of this process that are running or runnable (state ``R``), this reader included."""
    try:
        tasks = os.listdir(task_dir)
    except OSError:
        return 1
    count = 0
    for t in tasks:
        text = _read(os.path.join(task_dir, t, "stat"))
        if text is not None and text.rsplit(")", 1)[-1].split()[:1] == ["R"]:
            count += 1
    return max(count, 1)


def others_running(path="/proc/loadavg", reads=3, task_dir="/proc/self/task"):
    """Runnable tasks of other processes right now (``/proc/loadavg``'s fourth field, less this process's
    running threads: its own spinning thread pool is not contention).

    Parameters
    ----------
    path : str, default "/proc/loadavg"
        The file (a parameter so that tests can use a fake one).
    reads : int, default 3
        The smallest of this many reads, 1 ms apart (a snapshot is noisy).
    task_dir : str, default "/proc/self/task"
        This process's threads (their running ones are subtracted; without the folder, only the reader).

    Returns
    -------
    int
        0 where the file is missing (not Linux).
    """
    counts = []
    for i in range(reads):
        text = _read(path)
        if text is None:
            return 0
        try:
            counts.append(int(text.split()[3].split("/")[0]) - _own_running(task_dir))
        except (IndexError, ValueError):
            return 0
        if i + 1 < reads:
            time.sleep(0.001)
    return max(0, min(counts))


@contextlib.contextmanager
def thread_limits(n):
    """Run a block with ``n`` torch intra-op threads and ``n`` BLAS/OpenMP threads, then restore them.

    Parameters
    ----------
    n : int or None
        Threads; None leaves everything as it is.

    Yields
    ------
    None
    """
    if n is None:
        yield
        return
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n_threads must be an integer >= 1, got {n!r}")
    torch = None
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is optional
        pass
    before = torch.get_num_threads() if torch is not None else None
    limiter = None
    try:
        from threadpoolctl import threadpool_limits
        limiter = threadpool_limits(limits=n)
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn / scipy installs
        pass
    try:
        if torch is not None and before != n:
            torch.set_num_threads(n)
        yield
    finally:
        if torch is not None and before != n:
            torch.set_num_threads(before)
        if limiter is not None:
            limiter.restore_original_limits()
