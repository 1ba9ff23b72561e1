"""Comparisons past one process: the grid of (task, method) units on any executor, the same rows as the serial run.

A comparison is a grid of independent sweeps: one per task (a replicate sample, a held-out family) and method.
``run_comparison``, ``run_replicates`` and ``run_family_holdout`` take ``executor=``:

* a :class:`concurrent.futures.ThreadPoolExecutor`: the tasks are passed by reference;
* any other :class:`concurrent.futures.Executor` (a ``ProcessPoolExecutor``, loky, MPI pools): each task is
  pickled **once** into a temporary file, each unit carries only the file's path, and a worker reads a task once
  and keeps the last two it used (units are submitted task by task); the workers must see the temporary folder
  (one machine, or a shared file system);
* a Dask ``distributed.Client`` (a ``LocalCluster`` or a real cluster): each task is scattered to the cluster once
  and fetched by a worker once, when it first runs one of that task's units; each unit carries the handle.

A unit is one method's whole sweep on one task, exactly what the serial loop runs: batched Hard Concrete grids
stay batched, and methods that share one computation (the raw and refit rows of one Hard Concrete budget search,
:attr:`Method.shared`) stay in one unit.  Every unit
runs with one thread (``set_threads(1)`` and torch/BLAS limits in its worker; for a thread pool, for the whole
run), its warnings are recorded and re-emitted in the main process in row order, and the rows are put back in
the serial order.  The result equals the serial run made with one thread (``rk.set_threads(1)`` inside
``rk.threads.thread_limits(1)``), value for value; with more threads the serial run's floating-point sums may
differ in their last bits.  A unit that fails is named (its task and methods) in a :class:`ComparisonError`
raised after every other unit has finished; the error carries their rows (``partial``).

Dask's Nanny sets ``MALLOC_TRIM_THRESHOLD_=65536`` in its workers, which made each Hard Concrete fit about
2.5 times slower on the project's machine; :func:`local_cluster` starts its workers without it.  For a cluster
you start yourself, set the Dask config ``distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_`` to
``None`` before it starts (or export ``DASK_DISTRIBUTED__NANNY__PRE_SPAWN_ENVIRON__MALLOC_TRIM_THRESHOLD_=None``
on the cluster's machines).
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import os
import pickle
import shutil
import tempfile
import traceback
import warnings
from dataclasses import dataclass, field

import pandas as pd

from .. import threads
from .methods import METHODS

__all__ = ["ComparisonError", "local_cluster", "MALLOC_TRIM_FIX"]

MALLOC_TRIM_FIX = {"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}
"""The Dask config that starts Nanny workers without ``MALLOC_TRIM_THRESHOLD_`` (see the module text)."""

# the tasks a worker process has loaded, by file path, least recently used first; units are submitted task by
# task, so a worker reads each task's file about once while holding at most KEEP tasks in memory
_LOADED: dict = {}
KEEP = 2


class ComparisonError(RuntimeError):
    """One or more units of a comparison failed; the others' rows are in ``partial``.

    Parameters
    ----------
    message : str
        Names every failed unit (its task and methods) and its error.
    partial : DataFrame
        The rows of every unit that finished, in the serial order.
    failures : list of dict
        ``task`` (the task's label), ``methods`` and ``error`` (the worker's traceback) per failed unit.
    """

    def __init__(self, message, partial, failures):
        super().__init__(message)
        self.partial = partial
        self.failures = failures


@dataclass
class Plan:
    """One task of a comparison: the validated task, its options, its units and the columns that label its rows."""

    task: object
    options: dict
    methods: list
    labels: dict = field(default_factory=dict)

    @property
    def units(self):
        """The method groups run as one unit each, in the serial order (methods that share one computation,
        :attr:`Method.shared`, such as a Hard Concrete search's raw and refit rows, are one unit)."""
        names = [name for name in METHODS if name in self.methods]
        units, placed = [], {}
        for name in names:
            key = METHODS[name].shared
            if key is None:
                units.append((name,))
            elif key in placed:
                units[placed[key]] += (name,)
            else:
                placed[key] = len(units)
                units.append((name,))
        return units

    def describe(self):
        return ", ".join(f"{k}={v}" for k, v in self.labels.items()) or "the task"


def run_unit(task, names, options):
    """Run one unit: each method of ``names`` on ``task``, as the serial loop does; returns its frames and warnings.

    Parameters
    ----------
    task : CalibrationTask
        The task.
    names : tuple of str
        Method names (one unit).
    options : dict
        The comparison's validated options.

    Returns
    -------
    frames : list of DataFrame
        One per method, in the order of ``names``.
    caught : list of tuple
        ``(category, message)`` of every warning raised, in order.
    """
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frames = _sweeps(task, names, options)
    return frames, [(w.category, str(w.message)) for w in caught]


def _sweeps(task, names, options):
    """Each method of ``names`` (one unit) on ``task``; a unit shares no cache with another, so the serial run and
    every executor compute the same things."""
    options = {k: v for k, v in options.items() if k != "_cache"}
    return [METHODS[name].run(task, options) for name in names]


def _in_worker(loader, key, names, options):
    """A unit in a worker process: one thread for everything it runs; tracebacks travel as text."""
    threads.set_threads(1)
    try:
        task = loader(key)
        with threads.thread_limits(1):
            return True, run_unit(task, names, options)
    except Exception:  # noqa: BLE001 - every failure is reported with its unit, none is swallowed
        return False, traceback.format_exc()


def _from_file(path):
    """The task in ``path``, read at most once per worker while it is among the last ``KEEP`` used."""
    if path in _LOADED:
        _LOADED[path] = _LOADED.pop(path)  # most recently used last
    else:
        with open(path, "rb") as f:
            _LOADED[path] = pickle.load(f)
        while len(_LOADED) > KEEP:
            _LOADED.pop(next(iter(_LOADED)))
    return _LOADED[path]


def _identity(task):
    return task


def _file_unit(key, names, options):
    return _in_worker(_from_file, key, names, options)


def _dask_unit(task, names, options):
    return _in_worker(_identity, task, names, options)


def _thread_unit(task, names, options):
    # warnings.catch_warnings is not thread-safe: in a thread pool the methods warn directly, as in the serial run
    try:
        return True, (_sweeps(task, names, options), [])
    except Exception:  # noqa: BLE001
        return False, traceback.format_exc()


def _is_dask(executor):
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "scatter")


def check_executor(executor):
    """``executor`` if it is None, a :class:`concurrent.futures.Executor` or a Dask client; else a TypeError."""
    if executor is None or isinstance(executor, cf.Executor) or _is_dask(executor):
        return executor
    raise TypeError("executor must be None, a concurrent.futures.Executor (ThreadPoolExecutor, ProcessPoolExecutor) "
                    f"or a dask.distributed.Client, got {type(executor).__name__}")


def execute(plans, executor=None, progress=False):
    """Run every unit of ``plans`` (serially, or on ``executor``) and return each plan's rows in the serial order.

    Parameters
    ----------
    plans : list of Plan
        The comparison's tasks.
    executor : Executor or dask Client, optional
        Where to run the units (see the module text); None runs them here, in order.
    progress : bool, default False
        A progress bar over finished units (executor runs; the serial run shows the sweeps' own bars).

    Returns
    -------
    list of DataFrame
        One per plan, with the plan's label columns (``replicate``, ``holdout``) appended.
    """
    executor = check_executor(executor)
    if executor is None:
        return [pd.concat([f for unit in p.units for f in _sweeps(p.task, unit, p.options)],
                          ignore_index=True).assign(**p.labels) for p in plans]
    units = [(i, j, names) for i, p in enumerate(plans) for j, names in enumerate(p.units)]
    quiet = [{**p.options, "verbose": False} for p in plans]
    done, failures = {}, []
    with contextlib.ExitStack() as stack:
        if _is_dask(executor):
            # each task sent to the cluster once; a worker fetches it (once) when it first runs one of its units
            handles = executor.scatter([p.task for p in plans])
            futures = {executor.submit(_dask_unit, handles[i], names, quiet[i], pure=False): (i, j, names)
                       for i, j, names in units}
            from distributed import as_completed
            finished = as_completed(list(futures))
        elif isinstance(executor, cf.ThreadPoolExecutor):
            previous = threads.get_threads()  # one thread per unit, for the whole run: torch's and BLAS's are global
            threads.set_threads(1)
            stack.callback(threads.set_threads, previous)
            stack.enter_context(threads.thread_limits(1))
            futures = {executor.submit(_thread_unit, plans[i].task, names, quiet[i]): (i, j, names)
                       for i, j, names in units}
            finished = cf.as_completed(futures)
        else:
            tmpdir = tempfile.mkdtemp(prefix="rk-comparison-")
            stack.callback(shutil.rmtree, tmpdir, True)
            paths = []
            for i, p in enumerate(plans):  # each task pickled once; a worker reads it about once
                paths.append(os.path.join(tmpdir, f"task{i}.pkl"))
                with open(paths[-1], "wb") as f:
                    pickle.dump(p.task, f, protocol=pickle.HIGHEST_PROTOCOL)
            futures = {executor.submit(_file_unit, paths[i], names, quiet[i]): (i, j, names) for i, j, names in units}
            finished = cf.as_completed(futures)
        bar = None
        if progress:
            from tqdm.auto import tqdm
            bar = stack.enter_context(tqdm(total=len(units), desc="comparison units"))
        for fut in finished:
            i, j, names = futures[fut]
            try:
                ok, result = fut.result()
            except Exception:  # noqa: BLE001 - a lost worker, a result that did not unpickle
                ok, result = False, traceback.format_exc()
            if ok:
                done[(i, j)] = result
            else:
                failures.append({"task": plans[i].describe(), "methods": list(names), "error": result, "index": (i, j)})
            if bar is not None:
                bar.update(1)
    out = []
    for i, p in enumerate(plans):
        frames = []
        for j, _ in enumerate(p.units):
            if (i, j) in done:
                unit_frames, caught = done[(i, j)]
                for category, message in caught:  # the workers' warnings, here and in row order
                    warnings.warn(message, category, stacklevel=3)
                frames.extend(unit_frames)
        out.append(pd.concat(frames, ignore_index=True).assign(**p.labels) if frames else None)
    if failures:
        failures.sort(key=lambda f: f["index"])
        lines = [f"- {f['task']}, methods {f['methods']}: {f['error'].strip().splitlines()[-1]}" for f in failures]
        partial = [o for o in out if o is not None]
        raise ComparisonError(f"{len(failures)} of {len(units)} comparison units failed (the others' rows are in "
                              "the exception's .partial):\n" + "\n".join(lines),
                              pd.concat(partial, ignore_index=True) if partial else pd.DataFrame(), failures)
    return out


def local_cluster(n_workers=2, *, threads_per_worker=1, **cluster_kw):
    """A Dask client on a new ``LocalCluster`` whose workers run the kit at full speed.

    The workers start without Dask's ``MALLOC_TRIM_THRESHOLD_`` (:data:`MALLOC_TRIM_FIX`) and with one thread
    each (``OMP_NUM_THREADS=1`` is Dask's own default for its workers).  Close it with ``client.close()`` and
    ``client.cluster.close()``, or use it as a context manager.

    Parameters
    ----------
    n_workers : int, default 2
        Worker processes.
    threads_per_worker : int, default 1
        Threads per worker (units run one thread each: more only helps other work on the cluster).
    **cluster_kw
        Passed to ``distributed.LocalCluster`` (``memory_limit``, ``processes``, ...).

    Returns
    -------
    distributed.Client
    """
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as err:  # pragma: no cover - exercised where the extra is missing
        raise ImportError("local_cluster needs Dask: pip install 'reweightkit[parallel]'") from err
    for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    with dask.config.set(MALLOC_TRIM_FIX):
        cluster = LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, **cluster_kw)
    return Client(cluster)
