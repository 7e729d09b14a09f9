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
    cells = Experiment(archs=["vanilla", "singlu"], tasks=["camera"], seeds=[0], budget=None, width=8, steps=3,
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
