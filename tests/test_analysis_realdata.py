"""Notebook 09 (richneuron.analysis.realdata): every branch of the answer's rule on hand-built
labels and per-replica tables whose answer is known by hand."""
import numpy as np
import pandas as pd
import pytest

from richneuron.analysis import realdata as rd

A, D, N, U = rd.ADVANTAGE, rd.DISADVANTAGE, rd.NO_DIFFERENCE, rd.UNDECIDED


@pytest.mark.parametrize("labels,answer", [
    ((A, A, A), "survives"), ((A, A, U), "survives"), ((A, A, N), "survives"),
    ((A, A, D), "undecided"),                         # a disadvantage blocks "survives", one is not enough to fail
    ((D, D, A), "does not survive"), ((N, D, A), "does not survive"), ((N, N, U), "does not survive"),
    ((A, U, U), "undecided"), ((U, U, U), "undecided"), ((A, N, U), "undecided"),
])
def test_survives_follows_the_rule(labels, answer):
    assert rd.survives(dict(zip(["camera", "diabetes", "digits"], labels))) == answer


@pytest.mark.parametrize("better,worse,equivalent,want", [
    (True, False, False, A), (False, True, False, D), (False, False, True, N), (False, False, False, U),
    (False, False, None, U)])
def test_label_of_one_comparison(better, worse, equivalent, want):
    assert rd.label({"better": better, "worse": worse, "equivalent": equivalent}) == want


def test_a_label_that_changes_with_the_kernels_is_undecided():
    np_ = {("camera", "vanilla"): A, ("digits", "vanilla"): D, ("diabetes", "vanilla"): N}
    torch_ = {("camera", "vanilla"): A, ("digits", "vanilla"): U, ("diabetes", "vanilla"): N}
    assert rd.checked_labels(np_, torch_) == {("camera", "vanilla"): A, ("digits", "vanilla"): U,
                                             ("diabetes", "vanilla"): N}


def test_the_sine_counts_only_where_all_three_glus_are_beaten():
    lab = {("camera", g): A for g in rd.GLU_OTHERS} | {("digits", "bilinear"): A, ("digits", "swiglu"): A,
                                                       ("digits", "geglu"): U}
    assert rd.sine_tasks(lab, ["camera", "diabetes", "digits"]) == ["camera"]


def _scores(centres, rng, n=12, spread=0.05):
    """Per replica MSE (camera, diabetes) and accuracy (digits) around hand-set centres."""
    rows = []
    for (task, arch), c in centres.items():
        metric = "accuracy" if task == "digits" else "mse"
        noise = rng.standard_normal(n)
        vals = c + spread * 0.1 * noise if metric == "accuracy" else c * np.exp(spread * noise)
        rows += [{"arch": arch, "task": task, "metric": metric, "diverged": False, "data_seed": i // 4,
                  "seed": i % 4, "score": v} for i, v in enumerate(vals)]
    return pd.DataFrame(rows)


def test_families_find_a_large_effect_and_miss_none(rng=np.random.default_rng(0)):
    # SinGLU 2x better than Vanilla on camera and diabetes MSE, 10 pp better on digits; equal to the GLUs.
    c = {}
    for t, s, v in (("camera", 0.01, 0.02), ("diabetes", 0.4, 0.8), ("digits", 0.95, 0.85)):
        c[(t, "singlu")], c[(t, "vanilla")] = s, v
        for g in rd.GLU_OTHERS:
            c[(t, g)] = s
    scores = _scores(c, rng)
    fams = rd.answer_families(scores, ["camera", "diabetes", "digits"])
    assert len(fams["vanilla"]) == 3 and len(fams["glu"]) == 9
    lab = rd.labels(fams)
    assert rd.survives({t: lab[(t, "vanilla")] for t in ["camera", "diabetes", "digits"]}) == "survives"
    assert all(lab[(t, g)] != A for t in ["camera", "diabetes", "digits"] for g in rd.GLU_OTHERS)
    v = fams["vanilla"].set_index("task")
    assert v.loc["camera", "estimate"] == pytest.approx(0.5, rel=0.1)
    assert v.loc["digits", "estimate"] == pytest.approx(0.10, abs=0.01)


def test_regime_prediction_names_beaten_rows(rng=np.random.default_rng(1)):
    # On camera siren is far best; singlu (3 rows), v10, vanilla are all clearly worse; v15 is not run.
    c = {("camera", "siren"): 0.001, ("camera", "singlu"): 0.05, ("camera", "v10"): 0.02, ("camera", "vanilla"): 0.03}
    r = rd.regime_prediction(_scores(c, rng), ["siren", "singlu", "v10", "vanilla"], ["camera"])
    assert set(r["best on real task"]) == {"siren"}
    assert set(r.loc[r["study's best"] == "v15", "predicts the winner"]) == {"not run"}
    assert set(r.loc[r["study's best"] != "v15", "predicts the winner"]) == {"no"}
    assert r.loc[r["study's best"] == "v10", "rank"].iloc[0] == "2 of 4"
    # Now singlu ties siren (same centre): the singlu rows predict the winner.
    c[("camera", "singlu")] = 0.001
    r = rd.regime_prediction(_scores(c, rng), ["siren", "singlu", "v10", "vanilla"], ["camera"])
    assert set(r.loc[r["study's best"] == "singlu", "predicts the winner"]) == {"yes"}


def test_psnr_of_an_mse_on_the_unit_interval_range():
    # peak-to-peak 2: an MSE of 4e-2 is 20 dB, 4e-4 is 40 dB
    np.testing.assert_allclose(rd.psnr([4e-2, 4e-4]), [20.0, 40.0])


def test_settings_name_the_parameter_and_the_choices():
    from richneuron import notebook as nbk
    cfg = nbk.Setup(True, [0], ["vanilla", "singlu"], 10, ".", ".", ".")
    st = rd.settings(cfg, "camera,digits", "1e-3,3e-3,1e-2", 0.2)
    assert st.tasks == ["camera", "digits"] and st.lrs == [1e-3, 3e-3] and set(rd.ANSWER_ARCHS) <= set(st.archs)
    with pytest.raises(ValueError, match="real_tasks: unknown task 'spiral'; valid choices: camera, diabetes, digits"):
        rd.settings(cfg, "spiral", "1e-3", 0.2)
    full = nbk.Setup(False, [0], ["vanilla", "singlu"], 10, ".", ".", ".")
    with pytest.raises(ValueError, match="missing bilinear, swiglu, geglu"):
        rd.settings(full, "camera", "1e-3", 0.2)


def test_reconstructions_rebuild_the_image_and_score_like_the_engine():
    # Reference: the block-mean image from scikit-image directly, and the engine's own test MSE.
    from skimage import data
    from richneuron.experiment import Experiment
    from richneuron.results import Results
    from richneuron.train import run_cell
    cells = Experiment(archs=["vanilla", "singlu"], tasks=["camera"], seed=[0], budget=None, width=8, steps=3,
                       log_every=3).cells
    res = Results([run_cell(c) for c in cells])
    rec, score = rd.reconstructions(res, "camera", ["vanilla", "singlu", "siren"])
    small = data.camera().astype(np.float64).reshape(64, 8, 64, 8).mean(axis=(1, 3))
    np.testing.assert_allclose(rec["image"], 2 * small / 255 - 1, atol=1e-6)
    assert rec["train mask"].sum() == 2048 and set(score) == {"vanilla", "singlu"}     # siren was not run
    m = res.metrics.set_index("arch")
    for a in ("vanilla", "singlu"):
        assert score[a] == pytest.approx(10 * np.log10(4 / m.loc[a, "test_mse"]), rel=1e-5)
        assert rec[a].shape == (64, 64) and np.isfinite(rec[a]).all()


# ----------------------------------------------------------------------------- training to validation

def _curves(points, metric="mse", arch="vanilla", task="diabetes"):
    """Validation curves from {lr: [score at step 0, 10, 20, ...]}."""
    return pd.DataFrame([{"arch": arch, "task": task, "lr": lr, "step": 10 * i, "metric": metric, "score": v}
                         for lr, vals in points.items() for i, v in enumerate(vals)])


def _one(curves):
    c = rd.choose_checkpoint(curves)
    assert len(c) == 1
    return c.iloc[0]


def test_the_rule_stops_early_at_the_best_validation_point():
    # lr 1e-3: overfits after step 20; lr 1e-2: worse everywhere. Best: (1e-3, 20), stopped early.
    r = _one(_curves({1e-3: [1.0, 0.6, 0.4, 0.5, 0.9], 1e-2: [1.0, 0.7, 0.8, 0.9, 1.2]}))
    assert (r["lr"], r["steps"], r["val_score"], r["val_last"]) == (1e-3, 20, 0.4, 0.9)
    assert r["stopped_early"] and r["trials"] == 2


def test_the_rule_keeps_the_full_length_when_the_last_point_is_best():
    r = _one(_curves({1e-3: [1.0, 0.6, 0.4, 0.3], 3e-3: [1.0, 0.5, 0.35, 0.31]}))
    assert (r["lr"], r["steps"], bool(r["stopped_early"])) == (1e-3, 30, False)


def test_ties_go_to_fewer_steps_then_to_the_smaller_rate():
    r = _one(_curves({1e-3: [1.0, 0.5, 0.4, 0.4], 1e-2: [1.0, 0.6, 0.6, 0.6]}))
    assert (r["lr"], r["steps"]) == (1e-3, 20)                          # same score at 20 and 30: 20
    r = _one(_curves({1e-2: [1.0, 0.7, 0.4], 1e-3: [1.0, 0.8, 0.4]}))
    assert (r["lr"], r["steps"]) == (1e-3, 20)                          # same point on two rates: the smaller


def test_the_start_and_diverged_points_are_never_chosen():
    # Step 0 (the untrained net) scores best, and lr 1e-2 diverged (NaN) after a very low point.
    r = _one(_curves({1e-3: [0.1, 0.5, 0.6], 1e-2: [0.1, np.nan, np.nan]}))
    assert (r["lr"], r["steps"], r["val_score"]) == (1e-3, 10, 0.5)
    # Nothing finite after the start: the smallest rate, full length, no score.
    r = _one(_curves({1e-3: [0.1, np.nan, np.nan], 1e-2: [0.1, np.nan, np.nan]}))
    assert (r["lr"], r["steps"]) == (1e-3, 20) and np.isnan(r["val_score"])


def test_accuracy_is_maximised():
    r = _one(_curves({1e-3: [0.1, 0.8, 0.9, 0.85]}, metric="accuracy", task="digits"))
    assert (r["steps"], r["val_score"]) == (20, 0.9)


def test_validation_curves_read_the_engines_history():
    # A tiny real tuning run: the curves are the logged "test_mse" rows (the validation share), and
    # the chosen point's score is the history's value at that step.
    from richneuron.engine import run
    st = rd.Settings(archs=["vanilla"], tasks=["diabetes"], lrs=[1e-3, 1e-2], validation=0.2)
    exp = rd.tuning_grid(st.archs, st.tasks, 60, st.lrs, st.validation)
    assert exp.cells[0]["log_every"] == max(1, 60 // rd.CHECKPOINTS) and exp.cells[0]["task_options"] == {"validation": 0.2}
    res = run(exp, progress=False)
    cur = rd.validation_curves(res.history)
    assert set(cur["lr"]) == {1e-3, 1e-2} and cur["step"].max() == 60 and set(cur["metric"]) == {"mse"}
    end = cur[cur["step"] == 60].set_index("lr")["score"]
    m = res.metrics.set_index("lr")["test_mse"]
    np.testing.assert_allclose(end.sort_index().values, m.sort_index().values, rtol=1e-6)
    c = rd.choose_checkpoint(cur).iloc[0]
    assert c["val_score"] == cur[cur["step"] > 0]["score"].min()


# ----------------------------------------------------------------------------- baselines

def test_mlp_width_matches_a_scikit_learn_parameter_count():
    from sklearn.neural_network import MLPRegressor
    for i, o in ((10, 1), (64, 10), (2, 1)):
        w, n = rd.mlp_width(i, o, 5000, 2)
        X, y = np.zeros((4, i)), np.zeros((4, o)) + np.arange(4)[:, None]
        m = MLPRegressor(hidden_layer_sizes=(w, w), max_iter=1).fit(X, y if o > 1 else y[:, 0])
        assert n == sum(c.size for c in m.coefs_) + sum(b.size for b in m.intercepts_)
        assert abs(rd.mlp_width(i, o, 5000, 2)[1] - 5000) <= abs(((w + 1) ** 2 + (i + o + 2) * (w + 1) + o) - 5000)


def test_regression_baselines_match_scikit_learn_directly():
    from sklearn.linear_model import LinearRegression, Ridge
    from richneuron import tasks
    t = tasks.make("diabetes", seed=1)
    X, Xt = t.x_train.double().numpy(), t.x_test.double().numpy()
    y, yt = t.y_train.double().numpy()[:, 0], t.y_test.double().numpy()[:, 0]      # one target column
    lin = ((LinearRegression().fit(X, y).predict(Xt) - yt) ** 2).mean()
    assert rd.score_of(t, rd.fit_predict("linear regression", {}, t)) == pytest.approx(lin, rel=1e-9)
    rid = ((Ridge(alpha=10.0).fit(X, y).predict(Xt) - yt) ** 2).mean()
    assert rd.score_of(t, rd.fit_predict("ridge", {"alpha": 10.0}, t)) == pytest.approx(rid, rel=1e-9)
    assert rd.score_of(t, rd.fit_predict("predict-mean", {}, t)) == pytest.approx(t.baselines["predict_mean_mse"],
                                                                                  rel=1e-5)
    # The choice: the grid's best on the validation share, recomputed here with scikit-learn.
    v = tasks.make("diabetes", seed=0, validation=0.2)
    Xv, yv, Xw, yw = (a.double().numpy() for a in (v.x_train, v.y_train[:, 0], v.x_test, v.y_test[:, 0]))
    grid = rd.BASELINE_GRIDS["ridge"]["alpha"]
    direct = [((Ridge(alpha=a).fit(Xv, yv).predict(Xw) - yw) ** 2).mean() for a in grid]
    params, score = rd.choose_params("ridge", v)
    assert params == {"alpha": grid[int(np.argmin(direct))]} and score == pytest.approx(min(direct), rel=1e-9)


def test_classification_baselines_match_scikit_learn_directly():
    from sklearn.linear_model import LogisticRegression
    from sklearn.svm import SVC
    from richneuron import tasks
    t = tasks.make("digits", seed=2)
    X, y, Xt, yt = t.x_train.double().numpy(), t.y_train.numpy(), t.x_test.double().numpy(), t.y_test.numpy()
    assert rd.score_of(t, rd.fit_predict("RBF SVM", {"C": 10.0}, t)) == (SVC(C=10.0).fit(X, y).predict(Xt) == yt).mean()
    log = (LogisticRegression(C=0.1, max_iter=5000).fit(X, y).predict(Xt) == yt).mean()
    assert rd.score_of(t, rd.fit_predict("logistic regression", {"C": 0.1}, t)) == pytest.approx(log)
    assert rd.score_of(t, rd.fit_predict("majority class", {}, t)) == pytest.approx(
        (yt == np.bincount(y).argmax()).mean())


def test_image_interpolation_matches_scipy_directly():
    from scipy.interpolate import griddata
    from richneuron import tasks
    t = tasks.make("camera", seed=0, size=32)                      # 512 training pixels: fast
    X, y, Xt, yt = (v.double().numpy() for v in (t.x_train, t.y_train, t.x_test, t.y_test))
    p = griddata(X, y, Xt, method="linear")
    p = np.where(np.isnan(p), griddata(X, y, Xt, method="nearest"), p)
    got = rd.score_of(t, rd.fit_predict("linear interpolation", {}, t))
    assert got == pytest.approx(((p - yt) ** 2).mean(), rel=1e-12)
    assert got < rd.score_of(t, rd.fit_predict("predict-mean", {}, t)) / 5       # far better than the mean
    assert rd.baselines_for(t)[-2:] == ["linear interpolation", "thin-plate RBF"]


def test_baseline_scores_and_summary_on_every_split(monkeypatch):
    monkeypatch.setitem(rd.BASELINE_GRIDS, "RBF SVR", {"C": [1.0], "epsilon": [0.1]})
    monkeypatch.setitem(rd.BASELINE_GRIDS, "MLP (scikit-learn)", {"alpha": [1e-2], "learning_rate_init": [1e-2]})
    b = rd.baseline_scores(["diabetes"], [0, 1], 0.2, quick=True)
    assert len(b) == 2 * 5 and set(b["data_seed"]) == {0, 1}
    s = rd.baseline_summary(b).set_index("baseline")
    lr = b[b["baseline"] == "linear regression"]["score"]
    assert s.loc["linear regression", "centre"] == pytest.approx(np.exp(np.log(lr).mean()))
    assert abs(s.loc["predict-mean", "natural"]) < 0.05              # R² of the training mean: about 0
    assert 0.3 < s.loc["linear regression", "natural"] < 0.6        # diabetes: R² about 0.48 in the literature


def test_natural_units():
    from richneuron import tasks
    y = tasks.make("diabetes", seed=0).y_test.double()
    var = float(((y - y.mean()) ** 2).mean())
    assert rd.natural("diabetes", [var, 0.5 * var], [0, 0]) == pytest.approx(0.25)
    assert rd.natural("camera", [4e-2, 4e-4], [0, 1]) == pytest.approx(30.0)     # PSNR of the geometric mean
    assert rd.natural("digits", [0.9, 1.0, np.nan], [0, 1, 2]) == pytest.approx(95.0)


# ----------------------------------------------------------------------------- premise, margins, width

def _summary(task, centres, scale="log"):
    return pd.DataFrame([{"task": task, "arch": a, "mean": c, "scale": scale} for a, c in centres.items()])


def _base(task, centres, metric="mse"):
    return pd.DataFrame([{"task": task, "baseline": b, "centre": c, "metric": metric} for b, c in centres.items()])


@pytest.mark.parametrize("archs,bases,kind,below", [
    ({"a": 0.01, "b": 0.02}, {"predict-mean": 0.3, "thin-plate RBF": 0.014}, "", ""),
    ({"a": 0.02, "b": 0.03}, {"predict-mean": 0.3, "linear interpolation": 0.015, "thin-plate RBF": 0.014},
     "standard", "linear interpolation, thin-plate RBF"),
    ({"a": 0.5, "b": 0.7}, {"predict-mean": 0.4, "ridge": 0.3}, "trivial", "predict-mean"),
])
def test_premise_branches_on_mse(archs, bases, kind, below):
    p = rd.premise(_summary("camera", archs), _base("camera", bases)).iloc[0]
    assert (p["premise"], p["every arch below"], p["best arch"]) == (kind, below, "a")
    assert rd.counted(pd.DataFrame([p]))["camera"] == (kind == "")


def test_premise_on_accuracy_is_higher_better():
    s = _summary("digits", {"fan": 0.977, "singlu": 0.936}, "linear")
    assert rd.premise(s, _base("digits", {"majority class": 0.1, "RBF SVM": 0.98}, "accuracy")).iloc[0][
        "premise"] == "standard"
    assert rd.premise(s, _base("digits", {"majority class": 0.1, "RBF SVM": 0.97}, "accuracy")).iloc[0][
        "premise"] == ""


def test_uncounted_tasks_are_left_out_of_the_answer():
    lab = {"camera": rd.NOT_COUNTED, "diabetes": A, "digits": A}
    assert rd.survives(lab) == "survives"
    assert rd.survives({"camera": rd.NOT_COUNTED, "diabetes": rd.NOT_COUNTED, "digits": A}) == "undecided"
    assert rd.survives({t: rd.NOT_COUNTED for t in ("camera", "diabetes", "digits")}) == "undecided"
    full = {("camera", g): A for g in rd.GLU_OTHERS} | {("digits", g): A for g in rd.GLU_OTHERS}
    assert rd.sine_tasks(full, ["camera", "digits"], {"camera": False, "digits": True}) == ["digits"]
    v = rd.vanilla_labels({("camera", "vanilla"): D, ("digits", "vanilla"): A}, ["camera", "digits"],
                          {"camera": False, "digits": True})
    assert v == {"camera": rd.NOT_COUNTED, "digits": A}


def test_a_margin_wider_than_the_field_is_replaced_by_the_tight_one():
    # camera: centres 0.0186 .. 0.0236 (×1.27, ~1 dB) < 1.25² : the default is too wide -> 0.2 dB.
    m = rd.margins(pd.concat([_summary("camera", {"a": 0.0186, "b": 0.0236}),
                              _summary("diabetes", {"a": 0.5, "b": 1.5}),
                              _summary("digits", {"a": 0.977, "b": 0.90}, "linear")])).set_index("task")
    assert m.loc["camera", "default wider than the field"] and m.loc["camera", "margin"] == pytest.approx(10 ** 0.02)
    assert "0.20 dB" in m.loc["camera", "margin used"]
    assert not m.loc["diabetes", "default wider than the field"] and m.loc["diabetes", "margin"] == 1.25
    assert not m.loc["digits", "default wider than the field"] and m.loc["digits", "margin"] == 0.02
    m = rd.margins(_summary("digits", {"a": 0.977, "b": 0.97}, "linear")).iloc[0]
    assert m["default wider than the field"] and m["margin"] == 0.005


def test_the_tight_margin_changes_the_tost_not_the_holm_test(rng=np.random.default_rng(3)):
    # SinGLU 5% worse than Vanilla with little noise: equivalent within ×1.25, not within ×1.047.
    sc = _scores({("camera", "singlu"): 0.0210, ("camera", "vanilla"): 0.0200}, rng, spread=0.01)
    wide = rd.answer_families(sc, ["camera"], {"camera": 1.25})["vanilla"].iloc[0]
    tight = rd.answer_families(sc, ["camera"], {"camera": 10 ** 0.02})["vanilla"].iloc[0]
    assert wide["equivalent"] is True and tight["equivalent"] is False
    assert wide["p_holm"] == tight["p_holm"] and tight["margin"] == pytest.approx(10 ** 0.02)
    assert rd.label(tight) == D


@pytest.mark.parametrize("budget,widths,reading", [
    (D, (U, N), "from width"), (D, (D, D), "not from width"), (D, (D, U), "partly from width"),
    (N, (D, D), "nothing to attribute"), (U, (A, A), "nothing to attribute"),
])
def test_width_reading(budget, widths, reading):
    w = pd.DataFrame({"task": "digits", "comparison": ["equal budget", "equal width 42 (Vanilla's)",
                                                       "equal width 26 (SinGLU's)"], "label": [budget, *widths]})
    assert rd.width_reading(w) == {"digits": reading}


def test_the_regime_answer_counts_distinct_arch_task_pairs():
    r = pd.DataFrame({"study's best": ["singlu", "singlu", "singlu", "v10", "v15", "singlu"],
                      "real task": ["camera", "camera", "camera", "camera", "camera", "digits"],
                      "predicts the winner": ["yes", "yes", "yes", "no", "not run", "no"]})
    assert rd.distinct_pairs(r) == (3, 1)


def _width_metrics(rng, centres, n=12, spread=0.03):
    """Metrics rows (camera, MSE) for {(arch, width, budget or None): centre}."""
    rows = []
    for (arch, width, budget), c in centres.items():
        for i, v in enumerate(c * np.exp(spread * rng.standard_normal(n))):
            rows.append({"arch": arch, "task": "camera", "width": width, "budget": budget, "params": 100 * width,
                         "metric": "mse", "diverged": False, "data_seed": i // 4, "seed": i % 4, "test_mse": v})
    return pd.DataFrame(rows)


def test_the_width_family_pairs_each_comparison_and_reads_width(rng=np.random.default_rng(5)):
    # At 5K SinGLU (width 48) is 30% worse than Vanilla (68); at either equal width they are equal:
    # the equal-budget disadvantage comes from width. At 20K SinGLU is 30% worse again.
    tuned = _width_metrics(rng, {("singlu", 48, 5000): 0.026, ("vanilla", 68, 5000): 0.020})
    width = _width_metrics(rng, {("singlu", 68, None): 0.020, ("vanilla", 48, None): 0.026,
                                 ("singlu", 98, 20000): 0.013, ("vanilla", 139, 20000): 0.010})
    w = rd.width_family(tuned, width, ["camera"], {"camera": 1.25}).set_index("comparison")
    assert list(w.index) == ["equal budget", "equal width 68 (Vanilla's)", "equal width 48 (SinGLU's)",
                             "budget 20,000"]
    assert w.loc["equal budget", "label"] == D and w.loc["budget 20,000", "label"] == D
    assert w.loc["equal width 68 (Vanilla's)", "label"] == N and w.loc["equal width 48 (SinGLU's)", "label"] == N
    assert w.loc["equal width 68 (Vanilla's)", "SinGLU width (params)"] == "68 (6,800)"
    assert w.loc["equal width 48 (SinGLU's)", "Vanilla width (params)"] == "48 (4,800)"
    assert rd.width_reading(w.reset_index()) == {"camera": "from width"}


def test_regression_archs_below_predict_mean_are_named_with_their_reason():
    summary = pd.DataFrame({"task": ["diabetes"] * 3 + ["digits"], "arch": ["a", "b", "c", "a"],
                            "mean": [0.5, 1.2, 1.1, 0.5], "scale": ["log"] * 3 + ["linear"]})
    metrics = pd.DataFrame({"arch": ["a", "b", "c"], "task": "diabetes", "predict_mean_mse": 1.0})
    chosen = pd.DataFrame({"arch": ["a", "b", "c"], "task": "diabetes", "val_score": [0.4, 1.3, 0.9],
                           "val_predict_mean": 1.0})
    b = rd.below_mean(summary, metrics, chosen).set_index("arch")
    assert list(b.index) == ["b", "c"]                       # a is better than the mean; digits is no regression
    assert b.loc["b", "reason"].startswith("every (rate, step) tried was worse")
    assert b.loc["c", "reason"].startswith("validation chose a setting better")


def test_reconstructions_add_the_interpolation_baselines_fitted_on_the_same_pixels():
    from scipy.interpolate import griddata
    from richneuron import tasks
    from richneuron.experiment import Experiment
    from richneuron.results import Results
    from richneuron.train import run_cell
    res = Results([run_cell(c) for c in Experiment(archs=["vanilla"], tasks=["camera"], seed=[0], budget=None,
                                                   width=4, steps=2, log_every=2).cells])
    rec, score = rd.reconstructions(res, "camera", ["vanilla"], baselines={"linear interpolation": {}})
    t = tasks.make("camera", seed=0)
    X, y = t.x_train.double().numpy(), t.y_train.double().numpy()
    x, _ = tasks.camera_grid(64)
    direct = griddata(X, y, x.float().double().numpy(), method="linear")[:, 0].reshape(64, 64)
    ok = np.isfinite(direct)
    np.testing.assert_allclose(rec["linear interpolation"][ok], direct[ok], atol=1e-9)
    assert score["linear interpolation"] == pytest.approx(rd.psnr(rd.score_of(t, rd.fit_predict(
        "linear interpolation", {}, t))))
    assert rd.parse_params("C=100, epsilon=0.1") == {"C": 100.0, "epsilon": 0.1} and rd.parse_params("–") == {}
