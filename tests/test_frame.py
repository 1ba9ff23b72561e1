import copy
import warnings

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import reweightkit as rk


def small():
    df = pd.DataFrame({"g": ["a", "b", "a", "c"], "x": [1.0, 2.0, 0.0, 4.0], "weight": [1.0, 2.0, 3.0, 4.0]})
    return df, {"g": {"a": 4, "b": 2}}, {"x": 10.0}


def test_system_matches_hand_construction():
    df, m, c = small()
    s = rk.problem.build_system(df, m, c)
    assert sp.isspmatrix_csr(s.A) or isinstance(s.A, sp.csr_array)
    assert s.names == ["g=a", "g=b", "x"]
    assert s.kinds == ["marginal", "marginal", "continuous"]
    np.testing.assert_array_equal(s.A.toarray(), [[1, 0, 1, 0], [0, 1, 0, 0], [1, 2, 0, 4]])
    np.testing.assert_array_equal(s.b, [4, 2, 10])
    At, bt = s.scaled()
    np.testing.assert_allclose(At.toarray(), s.A.toarray() / np.array([[4], [2], [10]]))
    np.testing.assert_array_equal(bt, [1, 1, 1])


def test_boolean_categories_and_boolean_continuous():
    df = pd.DataFrame({"m": [True, False, True], "f": [True, True, False]})
    s = rk.problem.build_system(df, {"m": {True: 2, False: 1}}, {"f": 2})
    np.testing.assert_array_equal(s.A.toarray(), [[1, 0, 1], [0, 1, 0], [1, 1, 0]])


@pytest.mark.parametrize(
    "mutate, exc, pattern",
    [
        (lambda df, m, c: (df, {"nope": {"a": 1}}, c), ValueError, "'nope'"),
        (lambda df, m, c: (df, m, {"nope": 1.0}), ValueError, "'nope'"),
        (lambda df, m, c: (df, {"g": {"a": 4, "zzz": 3}}, c), ValueError, "'zzz'.*no records"),
        (lambda df, m, c: (df.assign(x=[1.0, np.nan, 0, 1]), m, c), ValueError, "'x'.*NaN"),
        (lambda df, m, c: (df.assign(x=[1.0, np.inf, 0, 1]), m, c), ValueError, "'x'.*infinite"),
        (lambda df, m, c: (df.assign(g=["a", None, "a", "c"]), m, c), ValueError, "'g'.*NaN"),
        (lambda df, m, c: (df.assign(x=list("wxyz")), m, c), TypeError, "'x'.*numeric"),
        (lambda df, m, c: (df, {"g": {"a": 0, "b": 2}}, c), ValueError, "'g=a'.*positive"),
        (lambda df, m, c: (df, {"g": {"a": -3, "b": 2}}, c), ValueError, "'g=a'.*positive"),
        (lambda df, m, c: (df, m, {"x": float("nan")}), ValueError, "'x'.*finite"),
        (lambda df, m, c: (df, m, {"x": float("inf")}), ValueError, "'x'.*finite"),
        (lambda df, m, c: (df, {"g": {"a": "4"}}, c), TypeError, "'g=a'.*real number"),
        (lambda df, m, c: (df.iloc[:0], m, c), ValueError, "empty"),
        (lambda df, m, c: (df, {}, {}), ValueError, "no targets"),
        (lambda df, m, c: (df, {"g": {}}, c), ValueError, "'g'.*empty"),
        (lambda df, m, c: (df.assign(x=0.0), m, c), ValueError, "'x'.*zero for every record"),
        (lambda df, m, c: ("not a frame", m, c), TypeError, "DataFrame"),
    ],
)
def test_bad_input_is_loud(mutate, exc, pattern):
    df, m, c = mutate(*small())
    with pytest.raises(exc, match=pattern):
        rk.problem.build_system(df, m, c)


@pytest.mark.parametrize("bad, pattern", [([1.0, -1, 1, 1], "negative"), ([1.0, np.nan, 1, 1], "NaN"),
                                          (["a", "b", "c", "d"], "numeric"), ([0.0, 0, 0, 0], "zero")])
def test_bad_design_weights(bad, pattern):
    df, m, c = small()
    df["weight"] = bad
    with pytest.raises((ValueError, TypeError), match=f"'weight'.*{pattern}"):
        rk.prepare(df, m, c)


def test_inputs_are_never_modified():
    df, m, c = small()
    df0, m0, c0 = df.copy(deep=True), copy.deepcopy(m), copy.deepcopy(c)
    rk.SparseCalibrator(alpha=0.1).fit(df, m, c)
    rk.target_errors(df, np.ones(4), m, c)
    pd.testing.assert_frame_equal(df, df0)
    assert m == m0 and c == c0


def test_start_point_scales_design_weights(published):
    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    z = p.At_rec.T @ p.w0
    # the single scale factor is the least-squares fit of A~ (c d) to b~ = 1
    assert abs(np.mean(z) - 1) < 0.1
    np.testing.assert_allclose(p.w0 / df["weight"].to_numpy(), p.w0[0] / df["weight"].iloc[0])


def test_matrix_input_gives_the_same_weights_as_dataframe_input(published):
    df, tm, tc, hm = published
    system = rk.problem.build_system(df, tm, tc)
    from_frame = rk.prepare(df, tm, tc)
    from_matrix = rk.prepare_matrix(system.A, system.b, df["weight"].to_numpy(), names=system.names,
                                    index=df.index)
    for est in (rk.SparseCalibrator(alpha=0.05), rk.RakeCalibrator(), rk.HardConcreteCalibrator(epochs=50, seed=0)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", rk.ConvergenceWarning)
            a = est.fit(from_frame).weights_
            b = est.fit(from_matrix).weights_
        np.testing.assert_array_equal(a, b)
    # a matrix carries no categorical margins: the subsample has one stratum, and still keeps exactly k records
    assert rk.SubsampleCalibrator(200, seed=1).fit(from_matrix).n_active_ == 200
    task = rk.CalibrationTask(from_matrix, rk.problem.build_system(df, hm))
    assert task.scorer.score(rk.RakeCalibrator().fit(from_matrix).weights_)["train_error"] < 1e-9
    with pytest.raises(ValueError, match="one target per row"):
        rk.prepare_matrix(system.A, system.b[:-1])
    with pytest.raises(ValueError, match="'target_0' must be positive"):
        rk.prepare_matrix(system.A, -system.b)
    with pytest.raises(ValueError, match="design_weights must have one weight per column"):
        rk.prepare_matrix(system.A, system.b, np.ones(3))
