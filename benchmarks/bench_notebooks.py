"""Time every notebook as a reader runs it: each executed top to bottom in a fresh kernel, nothing written.

    python benchmarks/bench_notebooks.py            # all eight
    python benchmarks/bench_notebooks.py 01 08      # by number prefix

Prints seconds per notebook and the total, and the load of the machine before and after (the README's
times are this script's output on the project's 2-core machine; run it alone).
"""

import os
import sys
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"


def main(prefixes):
    paths = sorted(p for p in NOTEBOOKS.glob("*.py") if not prefixes or p.name[:2] in prefixes)
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    total = 0.0
    for src in paths:
        nb = jupytext.read(src)
        t0 = time.perf_counter()
        NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        seconds = time.perf_counter() - t0
        total += seconds
        print(f"{src.stem:<28} {seconds:7.1f} s", flush=True)
    print(f"{'total':<28} {total:7.1f} s ({total / 60:.1f} min)")
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main(sys.argv[1:])
