"""Start-up of the kit as a user meets it: ``import reweightkit`` and ``reweightkit calibrate --help``, whole processes.

    python benchmarks/bench_import.py [--runs 7]

Prints the median wall time of each over ``--runs`` fresh interpreters and, for reference, of ``import numpy,
scipy.sparse, pandas`` (what the kit cannot avoid) and of ``import matplotlib.pyplot`` (what it now imports only
when it draws).
"""

import argparse
import statistics
import subprocess
import sys
import time

CASES = {
    "import reweightkit": [sys.executable, "-c", "import reweightkit"],
    "reweightkit calibrate --help": [sys.executable, "-m", "reweightkit", "calibrate", "--help"],
    "baseline: numpy, scipy.sparse, pandas": [sys.executable, "-c", "import numpy, scipy.sparse, pandas"],
    "for reference: matplotlib.pyplot": [sys.executable, "-c", "import matplotlib.pyplot"],
}


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--runs", type=int, default=7)
    runs = p.parse_args().runs
    times = {}
    for name, cmd in CASES.items():
        t = []
        for _ in range(runs):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            t.append(time.perf_counter() - t0)
        times[name] = statistics.median(t)
        print(f"{name:<40} {times[name]:.2f} s (median of {runs})")
    base = times["baseline: numpy, scipy.sparse, pandas"]
    print(f"import reweightkit / baseline: {times['import reweightkit'] / base:.2f}")


if __name__ == "__main__":
    main()
