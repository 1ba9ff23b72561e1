"""Leave-one-group-out on the national benchmark (issue #25): every family held out in turn, with its closure.

``rk.run_family_holdout`` once per held-out group (so every finished group is written at once) at matched budgets,
appending to ``<out>/frontier.csv``; then the per-group table ``<out>/by_group.csv`` (held-out capped error of each
method at each budget share).  Each family is held out with the families that reveal it (the benchmark's
``family_tree``), so no score leaks through nesting.

    python scripts/nation_logo.py --scale 0.05 --shares 0.03,0.10 --refit logit --bounds 0.2,5 --out results/logo

A long run (L1 at a budget at scale 0.1 takes minutes to an hour a group) can be stopped and continued:
``--resume`` keeps the groups already in ``<out>/frontier.csv`` (written by the same settings: checked) and
runs only the others.  ``benchmarks/results/README.md`` lists the runs whose rows are stored there.
"""

import argparse
import time
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pandas as pd

import reweightkit as rk

METHODS = ("hardconcrete-k,hardconcrete-k-refit,hardconcrete-design-k,hardconcrete-design-k-refit,cube,"
           "calibrate-reduce,subsample,dense")


def main():
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--scale", type=float, default=0.05)
    p.add_argument("--sample", type=int, default=0, help="seed of the survey sample")
    p.add_argument("--shares", default="0.03,0.10", help="budgets as shares of the records")
    p.add_argument("--methods", default=METHODS, help="comma-separated method names")
    p.add_argument("--epochs", type=int, default=1000)
    p.add_argument("--refit", default="raking")
    p.add_argument("--bounds", default=None, help="LO,HI bounds of the refit (with LO > 0 every kept record keeps a "
                                                  "weight, so the budgets are kept)")
    p.add_argument("--workers", type=int, default=1, help="processes (1: this process, one thread per fit)")
    p.add_argument("--out", default="results/nation_logo")
    p.add_argument("--resume", action="store_true", help="keep the groups already in <out>/frontier.csv and run "
                                                         "the others")
    a = p.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    shares = [float(x) for x in a.shares.split(",")]
    bounds = None if a.bounds is None else tuple(float(x) for x in a.bounds.split(","))
    nb = rk.nation(a.scale, seed=a.sample)
    problem = nb.problem()
    n = problem.n_records
    budgets = [int(round(s * n)) for s in shares]
    groups = [t.held_out for _, t in rk.experiment.family_holdout_tasks(problem, tree=nb.family_tree)]
    print(f"sample {a.sample}: {n:,} records x {nb.shape[0]:,} targets, {len(groups)} held-out groups, "
          f"budgets {budgets}", flush=True)
    parts, done = [], set()
    if a.resume and (out / "frontier.csv").exists():
        earlier = pd.read_csv(out / "frontier.csv")
        done = resumable(earlier, a, budgets, groups)
        parts.append(earlier)
        print(f"  resuming: {len(done)} of {len(groups)} groups already in {out / 'frontier.csv'}", flush=True)
    executor = ProcessPoolExecutor(a.workers) if a.workers > 1 else None
    try:
        for group in groups:
            if rk.experiment.group_label(group) in done:
                continue
            t = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", rk.ReweightkitWarning)
                res = rk.run_family_holdout(problem, [group], tree=nb.family_tree, methods=a.methods.split(","),
                                            budgets=budgets, seeds=[0], epochs=a.epochs, refit=a.refit,
                                            bounds=bounds, executor=executor)
            res["replicate"], res["scale"], res["n_total"] = a.sample, a.scale, n
            res["share"] = res["n_records"].map(dict(zip(budgets, shares)))
            res["group_seconds"] = time.perf_counter() - t
            parts.append(res)
            pd.concat(parts, ignore_index=True).to_csv(out / "frontier.csv", index=False)
            print(f"  {'+'.join(group)}: {time.perf_counter() - t:.1f} s", flush=True)
    finally:
        if executor is not None:
            executor.shutdown()
    results = pd.concat(parts, ignore_index=True)
    by_group(results).to_csv(out / "by_group.csv")


def resumable(earlier, a, budgets, groups):
    """The groups of an earlier run's rows, after checking that it ran with these settings (else ValueError)."""
    methods = set(a.methods.split(","))
    found = {"scale": set(earlier["scale"]), "sample": set(earlier["replicate"]),
             "methods": set(earlier["method"]), "budgets": set(earlier["n_records"].dropna().astype(int))}
    wrong = [name for name, ok in [("scale", found["scale"] == {a.scale}), ("sample", found["sample"] == {a.sample}),
                                   ("methods", found["methods"] <= methods | {"dense"}),
                                   ("budgets", found["budgets"] <= set(budgets))] if not ok]
    if wrong:
        raise ValueError(f"--resume: the rows in {a.out}/frontier.csv were run with another {', '.join(wrong)} "
                         f"({'; '.join(f'{w}: {sorted(found[w])}' for w in wrong)}); use another --out")
    labels = {rk.experiment.group_label(g) for g in groups}
    unknown = set(earlier["holdout"]) - labels
    if unknown:
        raise ValueError(f"--resume: {a.out}/frontier.csv holds groups this benchmark does not: {sorted(unknown)}")
    return set(earlier["holdout"])


def by_group(results):
    """Held-out capped error per held-out group (rows) and method at each budget share (columns)."""
    dense = results[results["method"] == "dense"].set_index("holdout")["test_capped_error"].rename(("dense", "all"))
    budget = results[results["method"] != "dense"]
    table = budget.pivot_table(index="holdout", columns=["method", "share"], values="test_capped_error")
    return table.join(dense)


if __name__ == "__main__":
    main()
