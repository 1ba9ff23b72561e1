"""Thread counts under contention and under a CPU limit: the kit's automatic choice vs torch's default.

    python benchmarks/bench_threads.py [--epochs 300] [--loaders 2]

Workload: the published Hard Concrete sweep (11 lambdas x 5 seeds = 55 fits, 5,000 records) for
``--epochs`` epochs, each timing in a fresh subprocess.  Three thread policies:

- ``kit``: reweightkit's default (:func:`reweightkit.default_threads`: the affinity mask and cgroup
  quota, one thread for small work; for the fast engine's blocks one thread per block whatever the
  load, otherwise less the CPUs other processes are running on);
- ``all-cpus``: one thread per CPU of the machine (what torch does by default, and what the kit did
  before issue #18);
- ``one``: one thread (the single-threaded reference).

Three conditions: idle; loaded by ``--loaders`` other processes that each run torch matrix products on
every core (about 2x oversubscription on 2 cores, as in issue #18); and "limited": the sweep pinned to
one CPU by ``taskset`` while the thread count says otherwise (what a container under a 1-CPU cgroup
quota sees when torch counts the host's cores).  Printed: seconds and the slowdown against idle, per
policy.  A fair share under 2x oversubscription is about 2x.
"""

import argparse
import os
import shutil
import subprocess
import sys
import time

CHILD = r"""
import sys, time, warnings
import numpy as np
import reweightkit as rk
warnings.simplefilter("ignore")
policy, epochs, cpus = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
df, tm, tc, _ = rk.published_example()
p = rk.prepare(df, tm, tc)
lams = np.repeat(rk.experiment.PUBLISHED_L0_LAMBDAS, 5)
seeds = list(range(5)) * len(rk.experiment.PUBLISHED_L0_LAMBDAS)
n_threads = {"kit": None, "all-cpus": cpus, "one": 1}[policy]
rk.solvers.train_hard_concrete(p.At_rec, p.b_t, p.w0, lams[:2], seeds[:2], epochs=2, n_threads=n_threads)  # imports, first calls
t0 = time.perf_counter()
rk.solvers.train_hard_concrete(p.At_rec, p.b_t, p.w0, lams, seeds, epochs=epochs, n_threads=n_threads)
print(time.perf_counter() - t0)
"""

LOADER = r"""
import torch
a = torch.randn(600, 600)
while True:
    a = torch.tanh(a @ a) + 0.5
"""


def timed(policy, epochs, cpus, pin=False):
    cmd = [sys.executable, "-c", CHILD, policy, str(epochs), str(cpus)]
    if pin:
        cmd = ["taskset", "-c", "0"] + cmd
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return float(out.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=300)
    ap.add_argument("--loaders", type=int, default=2)
    args = ap.parse_args()
    cpus = len(os.sched_getaffinity(0))
    policies = ["kit", "all-cpus", "one"]
    print(f"published sweep, 55 fits x {args.epochs} epochs; {cpus} CPUs; each timing in a fresh process")
    idle = {p: min(timed(p, args.epochs, cpus) for _ in range(2)) for p in policies}  # best of two
    loaders = [subprocess.Popen([sys.executable, "-c", LOADER]) for _ in range(args.loaders)]
    try:
        time.sleep(2.0)
        loaded = {p: timed(p, args.epochs, cpus) for p in policies}
    finally:
        for proc in loaders:
            proc.kill()
        for proc in loaders:
            proc.wait()
    limited = {}
    if shutil.which("taskset"):
        time.sleep(1.0)
        limited = {p: timed(p, args.epochs, cpus, pin=True) for p in policies}
    print(f"{'policy':<10} {'idle s':>8} {'loaded s':>9} {'loaded/idle':>12} {'1 CPU s':>8} {'1 CPU/idle':>11}")
    for p in policies:
        lim = limited.get(p, float("nan"))
        print(f"{p:<10} {idle[p]:8.2f} {loaded[p]:9.2f} {loaded[p] / idle[p]:12.2f} {lim:8.2f} {lim / idle[p]:11.2f}")
    print(f"loaded: {args.loaders} other processes running torch products on every core; fair share is about "
          f"{(args.loaders + 1) * 1.0:.0f} processes on {cpus} CPUs")
    print(f"ratio kit / all-cpus: idle {idle['kit'] / idle['all-cpus']:.2f}, loaded {loaded['kit'] / loaded['all-cpus']:.2f}"
          + (f", 1 CPU {limited['kit'] / limited['all-cpus']:.2f}" if limited else ""))


if __name__ == "__main__":
    main()
