"""Tables of measured results for the book, computed at build time from ``benchmarks/results`` (never typed in).

``_generated/nation_table.md``: the national comparison, ``benchmarks/results/nation_0.1_budgets.csv``
(written by ``scripts/nation_comparison.py``; its provenance is in ``benchmarks/results/README.md``), as
mean ± standard error over the survey samples of the held-out capped error at each budget share;
``_generated/nation_1_table.md`` the same at scale 1 (``nation_1_budgets.csv``, one sample).

``_generated/nation_logo_<scale>_<refit>_<share>.md``: leave-one-group-out on the national benchmark
(``benchmarks/results/nation_logo_*.csv``, written by ``scripts/nation_logo.py``), one table per budget share.
"""

import sys
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
RESULTS = HERE.parent / "benchmarks" / "results"
sys.path.insert(0, str(HERE.parent))

from reweightkit.experiment import method_label  # noqa: E402

ORDER = ["subsample", "calibrate-reduce", "cube", "l1-k-refit", "hardconcrete-k", "hardconcrete-k-refit",
         "hardconcrete-design-k", "hardconcrete-design-k-refit"]


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
            cell = f"{100 * r['mean']:.1f}" + (f" ± {100 * r['sem']:.1f}" if r["count"] > 1 else "")
            cells.append(f"**{cell}**" if best[s] == (m, s) else cell)
        lines.append(f"| {method_label(m)} | " + " | ".join(cells) + " |")
    dense = rows[rows["method"] == "dense"]["test_capped_error"]
    n = rows.groupby("replicate").size().shape[0]
    what = (f"mean ± standard error over {n} survey samples" if n > 1 else "one survey sample")
    lines += ["", f"Held-out capped error, % ({what}; bold: the lowest "
              f"{'mean ' if n > 1 else ''}at each budget). Dense raking of every record: {100 * dense.mean():.1f} %. "
              f"Source: `benchmarks/results/{csv.name}` ({len(rows)} rows)."]
    return "\n".join(lines) + "\n"


LOGO_ORDER = ["subsample", "calibrate-reduce", "cube", "l1-k-refit", "hardconcrete-k", "hardconcrete-k-refit",
              "hardconcrete-design-k", "hardconcrete-design-k-refit"]
SHORT = {"subsample": "subsample", "calibrate-reduce": "calibrate-reduce", "cube": "cube", "l1-k-refit": "L1 + refit",
         "hardconcrete-k": "HC raw", "hardconcrete-k-refit": "HC + refit", "hardconcrete-design-k": "HC design raw",
         "hardconcrete-design-k-refit": "HC design + refit"}


def logo_table(csv: Path, share: float) -> str:
    """Leave-one-group-out: held-out capped error per held-out group at one budget share (bold: the group's lowest),
    then each method's mean over the groups, its wins and the records it kept."""
    rows = pd.read_csv(csv)
    missing = {"method", "holdout", "share", "test_capped_error", "n_active"} - set(rows.columns)
    if missing:
        raise ValueError(f"{csv}: missing columns {sorted(missing)}")
    if "replicate" not in rows:
        rows = rows.assign(replicate=0)
    at = rows[np.isclose(rows["share"], share)]
    table = at.pivot_table(index="holdout", columns="method", values="test_capped_error")
    methods = [m for m in LOGO_ORDER if m in table.columns]
    table = table[methods]
    dense = rows[rows["method"] == "dense"].groupby("holdout")["test_capped_error"].mean()
    best = table.idxmin(axis=1)
    lines = ["| held out | " + " | ".join(SHORT[m] for m in methods) + " | dense, all records |",
             "|---|" + "---|" * (len(methods) + 1)]
    for group, r in table.iterrows():
        # a method with no row for the group (L1's count can jump past a budget): no cell
        cells = ["not reached" if np.isnan(r[m]) else f"**{100 * r[m]:.1f}**" if best[group] == m
                 else f"{100 * r[m]:.1f}" for m in methods]
        lines.append(f"| {group.replace('+', ' + ')} | " + " | ".join(cells) + f" | {100 * dense[group]:.1f} |")
    wins = best.value_counts()
    kept = at.groupby("method")["n_active"].mean()
    lines.append("| mean over groups | " + " | ".join(f"{100 * table[m].mean():.1f}" for m in methods)
                 + f" | {100 * dense.mean():.1f} |")
    lines.append("| groups won | " + " | ".join(str(int(wins.get(m, 0))) for m in methods) + " | |")
    lines.append("| records kept (mean) | " + " | ".join(f"{kept[m]:,.0f}" for m in methods) + " | all |")
    n_total = int(round(rows.groupby("replicate")["n_total"].first().mean())) if "n_total" in rows else None
    budget = int(round(share * n_total)) if n_total else None
    samples = rows["replicate"].nunique()
    lines += ["", f"Held-out capped error, % at a budget of {share:.0%} of the records"
              + (f" ({budget:,} of {n_total:,}" + (" on average" if samples > 1 else "") + ")" if budget else "")
              + f", {len(table)} held-out groups, "
              + ("one survey sample" if samples == 1 else f"mean of {samples} survey samples per group")
              + f". Source: `benchmarks/results/{csv.name}` ({len(rows)} rows)."]
    return "\n".join(lines) + "\n"


def main():
    out = HERE / "_generated"
    out.mkdir(exist_ok=True)
    (out / "nation_table.md").write_text(nation_table(RESULTS / "nation_0.1_budgets.csv"))
    (out / "nation_1_table.md").write_text(nation_table(RESULTS / "nation_1_budgets.csv"))
    written = ["nation_table.md", "nation_1_table.md"]
    for csv in sorted(RESULTS.glob("nation_logo_*.csv")):
        for share in sorted(pd.read_csv(csv, usecols=["share"])["share"].dropna().unique()):
            name = f"{csv.stem}_{round(100 * share)}.md"
            (out / name).write_text(logo_table(csv, share))
            written.append(name)
    print("tables: " + ", ".join(f"_generated/{w}" for w in written))


if __name__ == "__main__":
    main()
