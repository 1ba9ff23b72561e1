"""Tables of measured results for the book, computed at build time from ``benchmarks/results`` (never typed in).

``_generated/nation_table.md``: the national comparison, ``benchmarks/results/nation_0.1_budgets.csv``
(written by ``scripts/nation_comparison.py``; its provenance is in ``benchmarks/results/README.md``), as
mean ± standard error over the survey samples of the held-out capped error at each budget share.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "benchmarks" / "results"
sys.path.insert(0, str(HERE.parent))

from reweightkit.experiment import method_label  # noqa: E402

ORDER = ["subsample", "calibrate-reduce", "cube", "l1-k-refit", "hardconcrete-k", "hardconcrete-k-refit"]


def nation_table(csv: Path) -> str:
    rows = pd.read_csv(csv)
    missing = {"method", "replicate", "share", "test_capped_error", "n_active"} - set(rows.columns)
    if missing:
        raise ValueError(f"{csv}: missing columns {sorted(missing)}")
    budget = rows[rows["method"] != "dense"]
    stats = budget.groupby(["method", "share"])["test_capped_error"].agg(["mean", "sem", "count"])
    shares = sorted(budget["share"].unique())
    best = stats["mean"].groupby(level="share").idxmin()
    lines = ["| method | " + " | ".join(f"{s:.0%} of records" for s in shares) + " |",
             "|---|" + "---|" * len(shares)]
    for m in [m for m in ORDER if m in stats.index.get_level_values(0)]:
        cells = []
        for s in shares:
            if (m, s) not in stats.index:
                cells.append("not run")
                continue
            r = stats.loc[(m, s)]
            cell = f"{100 * r['mean']:.1f} ± {100 * (r['sem'] if np.isfinite(r['sem']) else 0):.1f}"
            cells.append(f"**{cell}**" if best[s] == (m, s) else cell)
        lines.append(f"| {method_label(m)} | " + " | ".join(cells) + " |")
    dense = rows[rows["method"] == "dense"]["test_capped_error"]
    n = rows.groupby("replicate").size().shape[0]
    lines += ["", f"Held-out capped error, % (mean ± standard error over {n} survey samples; bold: the lowest "
              f"mean at each budget). Dense raking of every record: {100 * dense.mean():.1f} %. Source: "
              f"`benchmarks/results/{csv.name}` ({len(rows)} rows)."]
    return "\n".join(lines) + "\n"


def main():
    out = HERE / "_generated"
    out.mkdir(exist_ok=True)
    (out / "nation_table.md").write_text(nation_table(RESULTS / "nation_0.1_budgets.csv"))
    print("tables: _generated/nation_table.md")


if __name__ == "__main__":
    main()
