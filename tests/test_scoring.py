import numpy as np
import pandas as pd
import pytest

import reweightkit as rk


def test_target_errors_by_hand():
    df = pd.DataFrame({"g": ["a", "b", "a"], "x": [1.0, 2.0, 3.0]})
    w = np.array([1.0, 2.0, 3.0])
    t = rk.target_errors(df, w, {"g": {"a": 5, "b": 2}}, {"x": 10})
    assert list(t["target"]) == ["g=a", "g=b", "x"]
    np.testing.assert_allclose(t["estimate"], [4, 2, 14])
    np.testing.assert_allclose(t["relative_error"], [-0.2, 0.0, 0.4])
    assert rk.problem.mean_relative_error(df, w, {"g": {"a": 5, "b": 2}}, {"x": 10}) == pytest.approx(0.2)
    assert rk.problem.max_relative_error(df, w, {"g": {"a": 5, "b": 2}}, {"x": 10}) == pytest.approx(0.4)


def test_weight_summary_and_ess():
    w = np.r_[np.zeros(50), np.ones(49), 51.0]
    s = rk.weight_summary(w)
    assert s["n_active"] == 50 and s["total"] == 100.0
    assert s["min"] == 1 and s["median"] == 1 and s["max"] == 51
    assert s["top1pct_share"] == pytest.approx(0.51)  # 1 % of 100 records = the largest one
    assert rk.problem.kish_ess(np.ones(10)) == pytest.approx(10)
    assert rk.problem.kish_ess(w) == pytest.approx(100**2 / (49 + 51**2))
    assert rk.problem.n_active([0, 1e-10, 1e-3], tol=1e-9) == 1


def test_wrong_length_weights():
    df = pd.DataFrame({"g": ["a", "b"]})
    with pytest.raises(ValueError, match=r"shape \(2,\)"):
        rk.target_errors(df, np.ones(3), {"g": {"a": 1}})
    with pytest.raises(ValueError, match="NaN"):
        rk.target_errors(df, np.array([1.0, np.nan]), {"g": {"a": 1}})


def test_published_metric_matches_published_evaluate(published):
    df, tm, tc, hm = published
    w = df["weight"].to_numpy()
    ref = np.mean([abs(w[(df[v] == c).to_numpy()].sum() - t) / t for v, d in hm.items() for c, t in d.items()])
    assert rk.problem.mean_relative_error(df, w, hm) == pytest.approx(ref, rel=1e-12)
