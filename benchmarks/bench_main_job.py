"""The main job against l0-python: the published comparison (every default method, 5 seeds) in one run.

    python benchmarks/bench_main_job.py [--process 3]

Issue #18's goal: the main job (``rk.run_comparison`` on the published example with default
settings) in at most 1.5 plain l0-python fits' time (one 2,000-epoch fit, lambda_l0 = 1e-5),
measured in the same process.  The first l0-python fit pays for torch's and l0-python's start-up
(as a user's first fit does); the ratio is printed against both it and a second, warm fit.

``--process k`` measures it as a user meets it instead (issue #28): ``python -m reweightkit frontier
--benchmark published`` as a whole process (start, imports, the comparison, the files and the figure)
against a process that runs one plain l0-python fit on the same data, alternately, k times each.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import warnings

import reweightkit as rk

PLAIN_FIT = """
import reweightkit as rk
df, tm, tc, hm = rk.published_example()
p = rk.prepare(df, tm, tc)
rk.solvers.train_with_l0_python(p.At_rec, p.b_t, p.w0, 1e-5, 0, epochs=2000)
"""


def process(runs):
    """Wall time of the main job's process and of a one-fit l0-python process, alternately."""
    job, plain = [], []
    with tempfile.TemporaryDirectory() as out:
        for _ in range(runs):
            for times, cmd in ((job, [sys.executable, "-m", "reweightkit", "frontier", "--benchmark", "published",
                                      "--out", out]),
                               (plain, [sys.executable, "-c", PLAIN_FIT])):
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times.append(time.perf_counter() - t0)
    print("main job process (python -m reweightkit frontier --benchmark published): "
          + ", ".join(f"{t:.2f}" for t in job) + " s")
    print("one plain l0-python fit process (2,000 epochs, lambda_l0 = 1e-5): " + ", ".join(f"{t:.2f}" for t in plain) + " s")
    ratios = [a / b for a, b in zip(job, plain)]
    print(f"ratio, run by run: {', '.join(f'{r:.2f}' for r in ratios)}; median of the times "
          f"{statistics.median(job) / statistics.median(plain):.2f} (goal <= 1.5)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--process", type=int, default=0, help="time whole processes, this many of each (0: in process)")
    args = ap.parse_args()
    if args.process:
        process(args.process)
        return
    df, tm, tc, hm = rk.published_example()
    p = rk.prepare(df, tm, tc)
    fits = []
    for seed in range(2):
        t0 = time.perf_counter()
        rk.solvers.train_with_l0_python(p.At_rec, p.b_t, p.w0, 1e-5, seed, epochs=2000)
        fits.append(time.perf_counter() - t0)
    threads = rk.default_threads(5 * len(rk.experiment.PUBLISHED_L0_LAMBDAS) * p.n_records)
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rk.run_comparison(df, tm, tc, hm, seeds=range(5))
    t_main = time.perf_counter() - t0
    print(f"one l0-python fit: {fits[0]:.2f} s (first in the process), {fits[1]:.2f} s (warm)")
    print(f"main job (published, every default method, 5 seeds, {len(res)} fits): {t_main:.2f} s; "
          f"Hard Concrete threads {threads}")
    print(f"ratio main job / l0-python fit: {t_main / fits[0]:.2f} (first), {t_main / fits[1]:.2f} (warm); goal <= 1.5")
    per = res.groupby("method")["seconds"].sum().sort_values(ascending=False)
    print("fit seconds by method (the rest is scoring and the optimal-set LPs):")
    print(per.round(3).to_string())


if __name__ == "__main__":
    main()
