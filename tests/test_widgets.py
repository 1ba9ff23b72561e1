"""The notebooks' slider callbacks, called as plain functions (no browser), and the gate's closed forms."""

import numpy as np
import pytest
from matplotlib.figure import Figure
from scipy.integrate import quad

import reweightkit as rk
from reweightkit import widgets


@pytest.fixture(scope="module")
def l1_path(published):
    df, tm, tc, hm = published
    return widgets.l1_path(df, tm, tc, hm, alphas=np.geomspace(0.9, 1e-3, 8))


def _active(html):
    return int(html.split('class="rk-active">')[1].split("<")[0])


def test_l1_path_is_certified_and_indexable(l1_path, published):
    t = l1_path.table
    assert len(l1_path.penalties) == 8 and l1_path.weights.shape == (8, len(published[0]))
    assert (t.rel_gap <= 1e-8).all() and t.converged.all()
    assert np.allclose(t.alpha, np.geomspace(0.9, 1e-3, 8))
    assert (t.n_active == (l1_path.weights > 1e-9).sum(axis=1)).all()
    with pytest.raises(IndexError, match="8 points"):
        l1_path.rows(8)


def test_render_path_state_reports_the_slider_point(l1_path):
    for i in (0, 7):
        html, fig = widgets.render_path_state(l1_path, i)
        assert isinstance(fig, Figure) and len(fig.axes) == 2
        assert _active(html) == int(l1_path.table.n_active.iloc[i])
        assert f"alpha = {l1_path.penalties[i]:.3g}" in html
    # different slider positions give different numbers and different pictures
    assert _active(widgets.render_path_state(l1_path, 0)[0]) != _active(widgets.render_path_state(l1_path, 7)[0])


def test_moved_target_fit_shrinks_each_count_by_lambda_b(published):
    df, tm, tc, _ = published
    before = {k: dict(v) for k, v in tm.items()}
    fit = widgets.moved_target_fit(df, tm, tc, "age_group=65+", 1.3)
    assert tm == before  # the caller's targets are not mutated
    assert fit["marginal"]["age_group"]["65+"] == pytest.approx(1.3 * tm["age_group"]["65+"])
    t = fit["table"]
    lam = fit["calibrator"].lambda_
    marg = t.kind == "marginal"
    np.testing.assert_allclose(t.relative_error[marg], -lam * t.value[marg], atol=1e-6)
    html, fig = widgets.render_moved_target(df, tm, tc, "weight", 0.9)
    assert "weight &times; 0.90" in html and isinstance(fig, Figure)


def test_moved_target_slider_works_with_uniform_design_weights(published):
    df, tm, tc, _ = published
    html, fig = widgets.render_moved_target(df.drop(columns="weight"), tm, None, "age_group=65+", 1.2, weight_col=None)
    assert "age_group=65+ &times; 1.20" in html and isinstance(fig, Figure)
    # the second panel: records per age group in the file (grey) and kept by the fit (blue), by hand
    fit = widgets.moved_target_fit(df.drop(columns="weight"), tm, None, "age_group=65+", 1.2, weight_col=None)
    bars = fig.axes[1].patches
    cats = list(tm["age_group"])
    assert len(bars) == 2 * len(cats)
    for k, cat in enumerate(cats):
        member = (df["age_group"] == cat).to_numpy()
        assert bars[k].get_width() == member.sum()
        assert bars[len(cats) + k].get_width() == (member & (fit["weights"] > 1e-9)).sum()


def test_moved_target_rejects_unknown_target_and_bad_factor(published):
    df, tm, tc, _ = published
    with pytest.raises(ValueError, match="unknown target 'age_group=99'.*age_group=65\\+"):
        widgets.moved_target_fit(df, tm, tc, "age_group=99", 1.1)
    with pytest.raises(ValueError, match="factor must be finite and > 0"):
        widgets.moved_target_fit(df, tm, tc, "weight", 0.0)


def test_hard_concrete_path_tables_every_lambda_and_seed(published):
    df, tm, tc, hm = published
    p = widgets.hard_concrete_path(df, tm, tc, hm, lambdas=[1e-6, 1e-2], seeds=[0, 1], epochs=60, history_every=20)
    assert p.penalties == [1e-6, 1e-2] and len(p.table) == 4 and p.weights.shape == (4, len(df))
    assert set(p.history.replica) == {0, 1, 2, 3}
    html, _ = widgets.render_path_state(p, 1)
    assert "seeds:" in html and _active(html) == int(p.table.n_active.iloc[2])


def test_render_gate_matches_closed_forms():
    html, fig = widgets.render_gate(1.0, beta=0.5)
    assert f'<span class="rk-p0">{float(rk.problem.gate_prob_zero(1.0, 0.5)):.3f}</span>' in html
    assert isinstance(fig, Figure)


@pytest.mark.parametrize("log_alpha,beta", [(-2.0, 2 / 3), (0.0, 2 / 3), (1.5, 0.3), (0.0, 1.5)])
def test_gate_closed_forms_against_sampling_and_quadrature(log_alpha, beta):
    z = rk.problem.sample_gates(log_alpha, 200_000, seed=1, beta=beta)
    p0, p1 = float(rk.problem.gate_prob_zero(log_alpha, beta)), float(rk.problem.gate_prob_one(log_alpha, beta))
    assert abs((z == 0).mean() - p0) < 5 * np.sqrt(p0 * (1 - p0) / z.size)
    assert abs((z == 1).mean() - p1) < 5 * np.sqrt(p1 * (1 - p1) / z.size)
    mass = quad(lambda x: float(rk.problem.gate_density(x, log_alpha, beta)), 0, 1, limit=200)[0]
    assert mass == pytest.approx(1 - p0 - p1, abs=1e-6)
    x = 0.37
    cont = quad(lambda t: float(rk.problem.gate_density(t, log_alpha, beta)), 0, x)[0]
    assert float(rk.problem.gate_cdf(x, log_alpha, beta)) == pytest.approx(p0 + cont, abs=1e-7)
    assert float(rk.problem.expected_l0(log_alpha, beta)) == pytest.approx(1 - p0, abs=1e-12)


def test_expected_l0_is_l0_pythons_penalty():
    torch = pytest.importorskip("torch")
    from l0.calibration import SparseCalibrationWeights

    model = SparseCalibrationWeights(n_features=5, seed=0)
    with torch.no_grad():
        model.log_alpha.copy_(torch.tensor([-3.0, -1.0, 0.0, 1.0, 3.0]))
    expected = float(rk.problem.expected_l0(np.array([-3.0, -1, 0, 1, 3])).sum())
    assert float(model.get_l0_penalty().detach()) == pytest.approx(expected, rel=1e-6)


def test_gate_parameters_are_validated():
    with pytest.raises(ValueError, match="beta"):
        rk.problem.gate_prob_zero(0.0, beta=0.0)
    with pytest.raises(ValueError, match="gamma < 0 < 1 < zeta"):
        rk.problem.gate_density(0.5, 0.0, gamma=0.1)


def test_explorers_build_and_update_without_a_browser(l1_path, published):
    ipywidgets = pytest.importorskip("ipywidgets")
    box = widgets.path_explorer(l1_path, index=0)
    slider, html, out = box.children
    assert isinstance(slider, ipywidgets.SelectionSlider) and _active(html.value) == int(l1_path.table.n_active.iloc[0])
    slider.value = 7  # what moving the slider does
    assert _active(html.value) == int(l1_path.table.n_active.iloc[7])
    gate = widgets.gate_explorer()
    sliders, ghtml = gate.children[:4], gate.children[4]
    sliders[0].value = 3.0
    assert f"{float(rk.problem.gate_prob_zero(3.0)):.3f}" in ghtml.value
    df, tm, tc, _ = published
    mt = widgets.moved_target_explorer(df, tm, tc, "age_group=65+")
    assert mt.children[0].continuous_update is False
    mt.children[0].value = 1.3
    assert "&times; 1.30" in mt.children[1].value


def test_fista_callback_and_restart_switch(published):
    from reweightkit.problem import lambda_max
    from reweightkit.solvers import fista

    df, tm, tc, _ = published
    p = rk.prepare(df, tm, tc)
    lam = 0.01 * lambda_max(p.At_rec, p.b_t)
    trace = []
    sol = fista(p.At_rec, p.b_t, lam, p.w0, callback=lambda it, obj, rel, rs: trace.append((it, obj, rel)))
    assert trace[-1][0] == sol.n_iter and trace[-1][2] == pytest.approx(sol.rel_gap)
    plain = fista(p.At_rec, p.b_t, lam, p.w0, restart=False)
    assert plain.converged and plain.objective == pytest.approx(sol.objective, rel=1e-7)


def test_family_holdout_view_and_per_family_summary():
    import warnings

    nb = rk.nation(0.005, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = rk.run_family_holdout(nb.problem(), ["state_tax", "state_snap"], methods=["hardconcrete", "dense"],
                                    l0_lambdas=[1e-4, 1e-2], seeds=range(2), epochs=30)
    s = rk.summarize(res)
    # never pooled across held-out families: one row per (holdout, method, grid)
    assert len(s) == 2 * (2 + 1) and list(s.columns[:4]) == ["holdout", "method", "grid", "param"]
    assert (s.loc[s["method"] == "hardconcrete", "n_fits"] == 2).all()
    html, fig = rk.widgets.render_family_holdout(s, "state_tax", "test_median_error")
    assert "state_tax" in html and "rk-best" in html and fig.axes[0].get_xscale() == "log"
    best = s[s["holdout"] == "state_tax"].sort_values("test_median_error").iloc[0]
    assert f"{best.test_median_error:.2%}" in html
    with pytest.raises(ValueError, match="metric must be one of"):
        rk.widgets.render_family_holdout(s, "state_tax", "nope")
    with pytest.raises(ValueError, match="no held-out family 'mars'"):
        rk.widgets.render_family_holdout(s, "mars")
    box = rk.widgets.family_explorer(s)
    slider, menu = box.children[0], box.children[1]
    slider.value = "state_snap+district_snap"  # held out with the family that sums to it
    menu.value = "test_error"
    assert "state_snap" in box.children[2].value


def test_static_slider_stores_every_frame_and_switches_without_a_kernel(published):
    df, tm, tc, _ = published
    factors = [0.8, 1.0, 1.2]
    s = widgets.static_slider(lambda f: widgets.render_moved_target(df, tm, tc, "age_group=65+", f), factors,
                              label="factor", index=1)
    assert len(s) == 3 and s.values == factors
    # each frame is the render function's own output at that value
    for f, caption in zip(factors, s.captions):
        assert caption == widgets.render_moved_target(df, tm, tc, "age_group=65+", f)[0]
    assert all(p.startswith(b"\x89PNG") for p in s.pngs) and len(set(s.pngs)) == 3
    html = s._repr_html_()
    assert html.count('class="rk-frame"') == 3 and html.count("display:none") == 4  # 2 hidden images + 2 captions
    assert 'type="range" min="0" max="2"' in html and 'value="1"' in html and "<script>" in html
    assert "http" not in html  # nothing to fetch: frames are data URIs
    assert html == s._repr_html_()  # deterministic output (no random ids): stored notebooks do not churn


def test_static_slider_rejects_bad_arguments():
    with pytest.raises(TypeError, match="render must be callable"):
        widgets.static_slider(None, [1], label="x")
    with pytest.raises(ValueError, match="values must hold 1 to 40 frames"):
        widgets.static_slider(lambda v: ("", None), [], label="x")
    with pytest.raises(ValueError, match="index must be an integer in \\[0, 1\\]"):
        widgets.static_slider(lambda v: ("", None), [1, 2], label="x", index=2)
