"""Weight files a reviewer can audit: round trips that keep any index, checked targets files, ids kept by the CLI."""

import json
import warnings

import numpy as np
import pandas as pd
import pytest

import reweightkit as rk
from reweightkit import cli


def _fit(index):
    df, tm, tc, _ = rk.superpopulation(seed=1, n_sample=400)
    df.index = index(len(df))
    return rk.RakeCalibrator().fit(df, tm, tc)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
@pytest.mark.parametrize("make", [
    lambda n: pd.Index([f"{i:03d}" for i in range(n)], name="id"),                       # '007' stays '007'
    lambda n: pd.MultiIndex.from_arrays([np.arange(n) // 10, [f"p{i % 10}" for i in range(n)]],
                                        names=["household", "person"]),                  # both levels kept
    lambda n: pd.Index(np.arange(n) * 7, name="weight"),                                 # named like the column
    lambda n: pd.RangeIndex(n),
], ids=["leading-zeros", "multiindex", "named-like-the-column", "range"])
def test_weights_round_trip_keeps_the_index(tmp_path, suffix, make):
    est = _fit(make)
    rk.save_weights(est, tmp_path / f"w{suffix}")
    w, meta = rk.load_weights(tmp_path / f"w{suffix}")
    expected = est.weights_series()
    pd.testing.assert_index_equal(w.index, expected.index, exact=False)
    assert list(w.index.names) == list(expected.index.names)
    assert [type(v) for v in w.index[:3]] == [type(v) for v in expected.index[:3]]
    np.testing.assert_array_equal(w.to_numpy(), expected.to_numpy())
    assert meta["index"]["names"] == [n for n in expected.index.names]


def test_a_targets_file_that_names_a_category_twice_is_refused(tmp_path):
    df = pd.DataFrame({"g": [1, 1, 2, 2], "weight": 1.0})
    (tmp_path / "t.yaml").write_text("marginal:\n  g:\n    1: 2.0\n    '1': 3.0\n    2: 2.0\n")
    with pytest.raises(ValueError, match=r"t.yaml: .* category '1' twice"):
        rk.read_targets(tmp_path / "t.yaml", df)


@pytest.mark.parametrize("name, text, pattern", [
    ("t.json", '{"marginal": {"g": {"1": 2.0,}}}', r"t.json: not valid JSON \(line 1"),
    ("t.yaml", "marginal: [unclosed", r"t.yaml: not valid YAML"),
])
def test_a_malformed_targets_file_names_the_file(tmp_path, name, text, pattern):
    (tmp_path / name).write_text(text)
    with pytest.raises(ValueError, match=pattern):
        rk.read_targets(tmp_path / name, pd.DataFrame({"g": [1], "weight": [1.0]}))


def test_the_cli_keeps_an_id_column_as_text(tmp_path):
    df, tm, tc, _ = rk.superpopulation(seed=2, n_sample=300)
    df = df.assign(pid=[f"{i:05d}" for i in range(len(df))])
    df.to_csv(tmp_path / "people.csv", index=False)
    (tmp_path / "t.json").write_text(json.dumps({"marginal": {k: {str(c): v for c, v in cats.items()}
                                                              for k, cats in tm.items()}, "continuous": tc}))
    assert cli.main(["calibrate", str(tmp_path / "people.csv"), "--targets", str(tmp_path / "t.json"),
                     "--id-col", "pid", "--out", str(tmp_path / "w.csv")]) == 0
    w, meta = rk.load_weights(tmp_path / "w.csv")
    assert w.index.name == "pid" and w.index[0] == "00000" and w.index[-1] == f"{len(df) - 1:05d}"
    assert meta["extra"]["data_sha256"] and meta["chosen"] == {}  # dense raking chooses nothing


def test_parquet_without_pyarrow_is_refused_before_any_fit(tmp_path, monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install pyarrow"):
        rk.experiment.io.check_output_path(tmp_path / "w.parquet")


def test_a_per_record_parameter_is_recorded_in_the_sidecar(tmp_path):
    """An array parameter (gate_cost) is saved in full when small and by its hash and range when large."""
    import hashlib

    from reweightkit.experiment.io import _jsonable

    df, tm, tc, _ = rk.superpopulation(seed=3, n_sample=300)
    prices = np.linspace(0.5, 2.0, len(df))
    est = rk.HardConcreteCalibrator(n_records=120, epochs=100, seed=0, gate_cost=prices, settle_tol=10.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.ReweightkitWarning)
        est.fit(df, tm, tc)
    rk.save_weights(est, tmp_path / "w.csv")
    _, meta = rk.load_weights(tmp_path / "w.csv")
    np.testing.assert_array_equal(meta["parameters"]["gate_cost"], prices)
    big = np.arange(5000.0)
    rec = _jsonable(big)
    assert rec["array_sha256"] == hashlib.sha256(big.tobytes()).hexdigest() and rec["shape"] == [5000]
    assert (rec["min"], rec["max"]) == (0.0, 4999.0)
