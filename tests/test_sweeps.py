import os
import stat

import numpy as np
import pandas as pd
import pytest

import reweightkit as rk
from reweightkit.cli import main
from reweightkit.experiment import COLUMNS
from reweightkit.problem import Scorer


def test_published_example_reproduces_published_targets(published):
    df, tm, tc, hm = published
    assert len(df) == 5000 and list(df.columns) == ["age_group", "is_male", "weight"]
    assert tm == {"age_group": {"35-54": 1447, "0-17": 978, "18-34": 931, "65+": 845, "55-64": 736}}
    assert tc == {"weight": 16540779}
    assert hm == {"is_male": {True: 3003, False: 2664}}


def test_superpopulation_is_seeded_and_calibration_helps():
    a = rk.superpopulation(seed=1)
    b = rk.superpopulation(seed=1)
    c = rk.superpopulation(seed=2)
    pd.testing.assert_frame_equal(a[0], b[0])
    assert not a[0]["weight"].equals(c[0]["weight"])
    df, tm, tc, hm = a
    design = rk.problem.mean_relative_error(df, df["weight"], hm)
    raked = rk.RakeCalibrator().fit(df, tm, tc).weights_
    assert rk.problem.max_relative_error(df, raked, tm, tc) < 1e-9
    assert rk.problem.mean_relative_error(df, raked, hm) < design  # held-out targets are predictable


@pytest.mark.parametrize("k", [40, 300, 2000])
def test_subsample_rake_hits_categorical_targets_and_is_seeded(published, k):
    df, tm, tc, _ = published
    a = rk.SubsampleCalibrator(n_records=k, seed=5).fit(df, tm, tc)
    b = rk.SubsampleCalibrator(n_records=k, seed=5).fit(df, tm, tc)
    c = rk.SubsampleCalibrator(n_records=k, seed=6).fit(df, tm, tc)
    assert a.n_active_ == k and a.converged_
    assert np.array_equal(a.weights_, b.weights_) and not np.array_equal(a.weights_, c.weights_)
    t = rk.target_errors(df, a.weights_, tm, tc)
    assert np.abs(t["relative_error"]).max() <= 1e-9
    # proportional allocation within age cells
    kept = df.iloc[a.kept_]["age_group"].value_counts()
    full = df["age_group"].value_counts()
    assert np.all(np.abs(kept - k * full / len(df)) <= 1.0)


@pytest.mark.parametrize("k, exc", [(-3, ValueError), (0, ValueError), (10**6, ValueError), (2.5, TypeError), (3, ValueError)])
def test_subsample_bad_k(published, k, exc):
    df, tm, tc, _ = published
    with pytest.raises(exc, match="n_records"):
        rk.SubsampleCalibrator(n_records=k, seed=0).fit(df, tm, tc)


def test_sweeps_return_documented_columns(published):
    df, tm, tc, hm = published
    res = rk.run_comparison(df, tm, tc, hm, alphas=[0.5, 0.05], l1_lambdas=[0.0, 0.01], l0_lambdas=[1e-5, 1e-3],
                            sizes=[2000, 100], seeds=[0, 1], epochs=30)
    assert list(res.columns[: len(COLUMNS)]) == COLUMNS
    assert set(res["method"]) == set(rk.experiment.DEFAULT_METHODS) == {"l1", "l1-relaxed", "l1-published", "hardconcrete",
                                                     "subsample", "dense"}
    assert (res["method"] == "hardconcrete").sum() == 4
    s = rk.summarize(res)
    hc = s[(s["method"] == "hardconcrete") & (s["lambda_l0"] == 1e-5)].iloc[0]
    assert hc["param"] == "lambda_l0"
    rows = res[(res["method"] == "hardconcrete") & (res["lambda_l0"] == 1e-5)]
    assert hc["test_error"] == pytest.approx(rows["test_error"].mean())
    assert hc["test_error_se"] == pytest.approx(rows["test_error"].std(ddof=1) / np.sqrt(2))
    # the published lambda grid's L1 at lambda = 0.01 > lambda_max is all zeros
    pub = res[(res["method"] == "l1-published") & (res["lambda"] == 0.01)].iloc[0]
    assert pub["n_active"] == 0 and pub["test_error"] == 1.0
    # scores agree with the evaluation module
    w = rk.SparseCalibrator(alpha=0.05).fit(df, tm, tc).weights_
    row = Scorer(rk.problem.build_system(df, tm, tc), rk.problem.build_system(df, hm)).score(w)
    assert row["test_error"] == pytest.approx(rk.problem.mean_relative_error(df, w, hm))


def test_pareto_front():
    s = pd.DataFrame({"method": list("abcde"), "n_active": [10, 20, 20, 5, 50], "test_error": [0.3, 0.2, 0.1, 0.5, 0.15]})
    front = rk.pareto_front(s)
    assert list(front["method"]) == ["d", "a", "c"]


@pytest.mark.parametrize("kw, pattern", [
    (dict(methods=["l1", "magic"]), "unknown method"),
    (dict(l0_lambdas=[]), "grid is empty"),
    (dict(seeds=[]), "seeds is empty"),
    (dict(alphas=[-1.0]), ">= 0"),
])
def test_bad_sweep_arguments(published, kw, pattern):
    df, tm, tc, hm = published
    with pytest.raises(ValueError, match=pattern):
        rk.run_comparison(df, tm, tc, hm, epochs=5, **kw)


def test_plot_helpers_return_axes(published):
    import matplotlib

    matplotlib.use("Agg")
    df, tm, tc, hm = published
    res = rk.run_comparison(df, tm, tc, hm, methods=["l1", "subsample", "dense"], alphas=[0.1, 0.01], sizes=[500],
                            seeds=[0, 1])
    s = rk.summarize(res)
    assert rk.plot_frontier(s).get_xscale() == "log"
    assert rk.plot_train_test(s) is not None
    assert rk.plot_runtime(rk.experiment.runtime_table(res)) is not None


def _visible_marks(ax):
    """Legend label -> whether some point of that artist lies inside the axes' limits."""
    import matplotlib.collections as mcoll
    import matplotlib.lines as mlines
    from matplotlib.container import ErrorbarContainer

    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    seen = {}
    artists = list(ax.containers) + list(ax.lines) + list(ax.collections)
    for a in artists:
        label = a.get_label()
        if label.startswith("_"):
            continue
        if isinstance(a, ErrorbarContainer):
            xy = np.column_stack(a.lines[0].get_data())
        elif isinstance(a, mlines.Line2D):
            xy = np.column_stack(a.get_data())
            if a.get_linestyle() not in ("None", "") and len(xy) == 2 and xy[0, 0] == 0 and xy[1, 0] == 1:
                seen[label] = y0 <= xy[0, 1] <= y1  # axhline: x in axes coordinates
                continue
        elif isinstance(a, mcoll.LineCollection):
            segs = a.get_segments()
            xy = np.concatenate(segs) if segs else np.empty((0, 2))
        else:
            continue
        xy = np.asarray(xy, dtype=float)
        inside = (xy[:, 0] >= x0) & (xy[:, 0] <= x1) & (xy[:, 1] >= y0) & (xy[:, 1] <= y1)
        seen[label] = seen.get(label, False) or bool(inside.any())
    return seen


def test_frontier_draws_every_legend_entry_inside_the_axes(published):
    """The issue's complaint: with a capped y axis Hard Concrete, the L1 ranges and the vertex triangles were off
    the chart while the legend listed them.  By default (log y, no cap) every legend entry has a visible mark."""
    import matplotlib

    matplotlib.use("Agg")
    df, tm, tc, hm = published
    res = rk.run_comparison(df, tm, tc, hm, methods=["l1", "hardconcrete", "subsample", "dense"],
                            alphas=[0.5, 0.05, 0.005], l0_lambdas=[1e-5, 1e-2], sizes=[30, 500], seeds=[0], epochs=40)
    s = rk.summarize(res)
    ax = rk.plot_frontier(s)
    assert ax.get_yscale() == "log"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    seen = _visible_marks(ax)
    assert set(legend) <= set(seen)
    assert all(seen[label] for label in legend), {k: v for k, v in seen.items() if not v}
    assert any("vertex" in label for label in legend) and any("HardConcrete" in label for label in legend)
    # with a cap, a method whose every point is above it says so in its legend label
    top = float(s.loc[s.method == "l1", "test_error"].min()) * 0.9
    capped = rk.plot_frontier(s, ymax=top)
    labels = [t.get_text() for t in capped.get_legend().get_texts()]
    assert any(label.startswith("L1 (above the y range)") for label in labels), labels
    with pytest.raises(ValueError, match="yscale must be"):
        rk.plot_frontier(s, yscale="symlog")


def test_cli_quick_writes_all_four_files(tmp_path, capsys):
    assert main(["frontier", "--quick", "--out", str(tmp_path), "--no-progress"]) == 0
    for f in ["frontier.png", "frontier.csv", "summary.csv", "runtime.csv"]:
        assert (tmp_path / f).stat().st_size > 0
    out = capsys.readouterr().out
    assert "wall time" in out and "hardconcrete" in out
    res = pd.read_csv(tmp_path / "frontier.csv")
    assert set(COLUMNS) <= set(res.columns)
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(tmp_path.stat().st_mode) == 0o777 & ~umask  # the swapped-in folder: ordinary permissions


def test_cli_superpopulation_quick(tmp_path):
    assert main(["frontier", "--quick", "--benchmark", "superpopulation", "--out", str(tmp_path), "--no-progress",
                 "--methods", "l1,subsample,dense"]) == 0
    assert (tmp_path / "summary.csv").exists()


@pytest.mark.parametrize("argv", [["frontier", "--methods", "l1,nope"], ["frontier", "--seeds", "0"],
                                  ["frontier", "--benchmark", "mars"], ["frontier", "--replicates", "-1",
                                                                        "--benchmark", "superpopulation"]])
def test_cli_bad_arguments(argv, tmp_path):
    with pytest.raises(SystemExit) as e:
        main(argv + ["--out", str(tmp_path), "--quick", "--no-progress"])
    assert e.value.code == 2
