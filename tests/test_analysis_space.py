"""Notebook 08's protocol space (richneuron.analysis.space): the design, the claims judged on
hand-built score tables (one test per branch), the fit to the published numbers recomputed by hand,
and the score table read from a real run against the run's own final metrics."""
import math

import numpy as np
import pandas as pd
import pytest

from richneuron import protocol, published, stats, tasks, verdicts
from richneuron.analysis import space as sp


# ----------------------------------------------------------------------------- the design

def test_design_is_the_default_protocol_then_a_balanced_sobol_sample():
    d = sp.design(8)
    assert len(d) == 9 and d["point"].tolist() == list(range(9))
    p0 = d.iloc[0]
    assert p0["default"] and p0["lr"] == protocol.LR and p0["omega"] == 1.0 and p0["size"] == 1.0
    s = d.iloc[1:]
    assert s["lr"].between(*sp.LR_RANGE).all() and s["omega"].between(*sp.OMEGA_RANGE).all()
    assert set(s["init"]) == set(sp.INITS) and set(s["difficulty"]) == {0, 1, 2} and set(s["size"]) == set(sp.SIZES)
    # a Sobol sample of 2^m points puts exactly half of them in each half of every axis
    assert (np.log10(s["lr"]) < np.mean(np.log10(sp.LR_RANGE))).sum() == 4
    assert (s["init"] == "siren").sum() == 4
    assert sp.design(8).equals(d), "the design is fixed by DESIGN_SEED"


@pytest.mark.parametrize("n", [0, 3, 12])
def test_design_refuses_a_size_that_is_not_a_power_of_two(n):
    with pytest.raises(ValueError, match="power of 2"):
        sp.design(n)


def test_task_options_set_the_difficulty_knob_and_the_training_share():
    assert tasks.options_at("spiral", None, 1.0) == {}
    assert tasks.options_at("spiral", 2, 0.25) == {"turns": 4.0, "n_train": 128}
    assert tasks.options_at("memorize", 0, 0.5) == {"n_points": 200}        # memorize has no training split
    assert tasks.options_at("hifreq", 1, 1.0) == {"freqs": [5.0, 11.0, 17.0]}
    for task, (name, levels) in sp.DIFFICULTY.items():    # every knob is a real option and the default is a level
        default = tasks.options_of(task)[name]
        assert (tuple(default) if isinstance(default, (list, tuple)) else default) in levels, task


def test_settings_name_the_valid_choices():
    from richneuron import notebook as nbk
    cfg = nbk.Setup(False, [0], list(sp.ARCHS), 10, "/tmp", "/tmp", "/tmp")
    with pytest.raises(ValueError, match="space_tasks: unknown task 'nope'; valid choices: complex4d"):
        sp.settings(cfg, 4, "spiral,nope", 1)
    with pytest.raises(ValueError, match="archs must be vanilla,singlu,v10,v15"):
        sp.settings(nbk.Setup(False, [0], ["vanilla"], 10, "/tmp", "/tmp", "/tmp"), 4, "spiral", 1)
    design, task_list, seeds = sp.settings(cfg, 4, "spiral,memorize", 2)
    assert len(design) == 5 and task_list == ["spiral", "memorize"] and seeds == 2


# ----------------------------------------------------------------------------- claims on hand-built tables

def _table(task, values, metric="mse"):
    """A score table of one (point, length): {arch: per-replica scores}."""
    rows = [{"task": task, "arch": a, "metric": metric, "score": v, "in_range": math.nan, "data_seed": i % 3, "seed": i // 3}
            for a, vs in values.items() for i, v in enumerate(vs)]
    return pd.DataFrame(rows)


NOISE = np.array([0.9, 1.1, 1.0, 0.95, 1.05, 1.02, 0.98, 1.08, 0.92])     # a fixed ±10% spread


def _one(rows, claim):
    return next(r for r in rows if r["claim"] == claim)


def test_memorization_holds_at_the_claimed_size_and_fails_in_the_other_direction():
    pub = published.claims()["memorization_ratio"]["value"]
    holds = sp.judge(_table("memorize", {"vanilla": 1e-1 * NOISE, "singlu": 1e-1 / pub * NOISE[::-1]}), sp.ARCHS)
    r = _one(holds, "memorization_ratio")
    assert r["result"] == verdicts.HOLDS and r["estimate"] == pytest.approx(pub, rel=0.1)
    too_small = sp.judge(_table("memorize", {"vanilla": 1e-1 * NOISE, "singlu": 1e-3 * NOISE[::-1]}), sp.ARCHS)
    assert _one(too_small, "memorization_ratio")["result"] == verdicts.FAILS      # 100× is not ~168,000×
    reversed_ = sp.judge(_table("memorize", {"vanilla": 1e-3 * NOISE, "singlu": 1e-1 * NOISE[::-1]}), sp.ARCHS)
    assert _one(reversed_, "memorization_ratio")["result"] == verdicts.FAILS


def test_a_pairwise_claim_is_inconclusive_when_the_replicas_cannot_tell():
    wide = np.array([0.1, 10.0, 1.0, 0.3, 3.0, 0.5, 2.0, 0.2, 5.0])
    rows = sp.judge(_table("hifreq", {"v15": 1e-2 * wide, "singlu": 1e-2 * wide[::-1]}), sp.ARCHS)
    assert _one(rows, "v15_beats_singlu_hifreq")["result"] == verdicts.UNSURE     # no size claimed: direction only
    # with a claimed size, an interval that excludes the claimed band fails even when the direction is unclear
    rows = sp.judge(_table("memorize", {"vanilla": 1e-2 * wide, "singlu": 1e-2 * wide[::-1]}), sp.ARCHS)
    assert _one(rows, "memorization_ratio")["result"] == verdicts.FAILS


def test_checkerboard_difference_in_accuracy():
    pub = published.claims()["checkerboard_pp"]["value"] / 100
    acc = np.array([0.0, 0.01, -0.01, 0.005, -0.005, 0.0, 0.01, -0.01, 0.0])
    rows = sp.judge(_table("checkerboard", {"vanilla": 0.58 + acc, "singlu": 0.58 + pub + acc[::-1]}, "accuracy"),
                    sp.ARCHS)
    r = _one(rows, "checkerboard_pp")
    assert r["scale"] == "linear" and r["estimate"] == pytest.approx(pub, abs=1e-9) and r["result"] == verdicts.HOLDS
    same = sp.judge(_table("checkerboard", {"vanilla": 0.9 + acc, "singlu": 0.9 + acc[::-1]}, "accuracy"), sp.ARCHS)
    assert _one(same, "checkerboard_pp")["result"] == verdicts.FAILS        # equivalent within the margin


def test_v10_best_on_complex_needs_every_other_arch_beaten():
    base = {"vanilla": 1e-1 * NOISE, "singlu": 1e-2 * NOISE, "v15": 1e-2 * NOISE[::-1]}
    best = sp.judge(_table("complex4d", {**base, "v10": 1e-3 * NOISE}), sp.ARCHS)
    assert _one(best, "v10_best_complex")["result"] == verdicts.HOLDS
    worse = sp.judge(_table("complex4d", {**base, "v10": 1e-1 * NOISE[::-1]}), sp.ARCHS)
    assert _one(worse, "v10_best_complex")["result"] == verdicts.FAILS


def test_singlu_wins_counts_holm_significant_wins_over_the_standard_tasks():
    def grid(singlu_factor):
        parts = []
        for t in sp.STANDARD:
            metric = tasks.make(t, seed=0).metric
            if metric == "mse":
                parts.append(_table(t, {"vanilla": 1e-1 * NOISE, "singlu": 1e-1 * singlu_factor * NOISE[::-1]}))
            else:
                d = 0.1 * (1 - singlu_factor)
                parts.append(_table(t, {"vanilla": 0.8 + 0.001 * (NOISE - 1), "singlu": 0.8 + d + 0.001 * (NOISE[::-1] - 1)},
                                    "accuracy"))
        return pd.concat(parts, ignore_index=True)
    assert _one(sp.judge(grid(0.01), sp.ARCHS), "singlu_wins")["result"] == verdicts.HOLDS     # 6/6
    lost = _one(sp.judge(grid(1.0), sp.ARCHS), "singlu_wins")                               # all equivalent
    assert lost["result"] == verdicts.FAILS and lost["estimate"] == 0


def test_claims_without_their_archs_or_tasks_are_not_judged():
    rows = sp.judge(_table("memorize", {"vanilla": NOISE, "v10": NOISE}), sp.ARCHS)
    assert rows == []


def test_shares_count_holds_over_judged_points_and_name_the_region():
    e = pd.DataFrame({"claim": ["nested_ratio"] * 4, "result": [verdicts.HOLDS, verdicts.HOLDS, verdicts.FAILS, verdicts.UNSURE],
                      "point": [1, 2, 3, 4], "length": [100] * 4, "lr": [1e-4, 1e-4, 1e-2, 1e-2],
                      "omega": [1.0] * 4, "init": ["default"] * 4, "difficulty": [0, 0, 0, 0], "size": [1.0] * 4})
    sh = sp.shares(e).set_index("claim")
    assert sh.loc["nested_ratio", "protocol_share"] == 0.5 and sh.loc["nested_ratio", "fails_share"] == 0.25
    assert sh.loc["nested_ratio", "region"].startswith("holds only at lr < ")
    assert pd.isna(sh.loc["width_penalty", "protocol_share"])
    assert pd.isna(sh.loc["memorization_ratio", "protocol_share"])              # not sampled here
    assert sh.loc["memorization_ratio", "region"].startswith("not judged")


# ----------------------------------------------------------------------------- the fit, recomputed by hand

def _predicted(point, factor, spread=0.5):
    """A predicted table equal to the published numbers times `factor` (MSE) or plus (factor − 1)
    (accuracy), with spread `spread` on the metric's scale."""
    pub = published.results()
    pub = pub[pub["arch"].isin(sp.ARCHS)]
    rows = []
    for r in pub.itertuples():
        metric = r.metric
        scale = stats.scale_of(metric)
        fitted = r.published * factor if scale == "log" else r.published + (factor - 1)
        rows.append({"point": point, "length": 3000, "arch": r.arch, "task": r.task, "metric": metric, "scale": scale,
                     "fitted": fitted, "spread": spread, "n": 12})
    return pd.DataFrame(rows)


def test_residuals_distances_and_fit_recomputed_by_hand():
    pred = pd.concat([_predicted(0, 2.0), _predicted(1, 1.0), _predicted(2, 50.0)], ignore_index=True)
    res = sp.residuals(pred)
    assert len(res) == 3 * 36
    mse0 = res[(res["point"] == 0) & (res["scale"] == "log")]
    assert np.allclose(mse0["residual"], math.log(2.0) / 0.5)
    acc0 = res[(res["point"] == 0) & (res["scale"] == "linear")]
    assert np.allclose(acc0["residual"], 1.0 / 0.5)
    points = sp.design(2).iloc[:3].copy()
    dist = sp.distances(res, points)
    assert dist.iloc[0]["point"] == 1 and dist.iloc[0]["distance"] == pytest.approx(0.0)
    d0 = dist.set_index("point").loc[0]
    n_log, n_lin = len(mse0), len(acc0)
    assert d0["distance"] == pytest.approx(math.sqrt((n_log * (math.log(2) / 0.5) ** 2 + n_lin * 4.0) / (n_log + n_lin)))
    f = sp.fit(res, dist)
    assert f["best"]["point"] == 1 and f["serves_both"]
    assert len(f["table"]) == 36 and f["table"]["reproduced"].all()
    assert set(f["table"]["below_chance"]) == {False} or f["table"]["below_chance"].sum() == 1
    spiral = f["table"].set_index(["arch", "task"]).loc[("singlu", "spiral")]
    assert spiral["below_chance"], "SinGLU's published 44.2% on a two-class spiral is below chance"


def test_fit_says_when_no_single_protocol_serves_both_groups():
    a, b = _predicted(1, 1.0), _predicted(2, 1.0)
    a.loc[a["arch"] != "vanilla", "fitted"] *= 100           # point 1 fits Vanilla only
    b.loc[b["arch"] == "vanilla", "fitted"] *= 100           # point 2 fits the sine neurons only
    res = sp.residuals(pd.concat([a, b], ignore_index=True))
    f = sp.fit(res, sp.distances(res, sp.design(2).iloc[:3].copy()))
    assert f["best_vanilla"]["point"] == 1 and f["best_sine"]["point"] == 2 and not f["serves_both"]


# ----------------------------------------------------------------------------- scores from a real run

def test_scores_at_full_length_are_the_runs_final_test_scores(tmp_path):
    import richneuron as rn
    from richneuron import notebook as nbk
    cfg = nbk.Setup(False, [0], ["vanilla", "singlu"], 40, tmp_path, tmp_path / "cache", tmp_path, data_seeds=[0, 1])
    points = sp.design(2).iloc[:2]
    pairs = sp.experiments(cfg, points, ["memorize"], point_seeds=1)
    assert [p for p, _ in pairs] == [0, 1]
    res = rn.run([e for _, e in pairs], cache_dir=tmp_path / "cache")
    sc = sp.scores(res, pairs, points)
    full = sc[sc["length"] == 40].set_index(["point", "arch", "data_seed", "seed"])["score"].sort_index()
    m = res.metrics.assign(point=res.metrics["cell"].map(sp.cell_points(pairs)))
    ref = m.set_index(["point", "arch", "data_seed", "seed"])["test_mse"].sort_index()
    assert np.allclose(m.loc[m["point"] == 1, "lr"].astype(float), points.iloc[1]["lr"])   # the point's protocol
    assert len(full) == len(ref) == 2 * 2 + 2 * 2
    assert np.allclose(full.to_numpy(), ref.to_numpy(), rtol=1e-6)
    assert sorted(sc["length"].unique()) == [4, 13, 40]


def test_closest_finds_the_study_matched_protocol_task_by_task():
    far, near = _predicted(0, 10.0), _predicted(1, 1.0)
    near.loc[near["task"] == "memorize", "fitted"] *= 5          # memorize: no point within a factor 3
    res = sp.residuals(pd.concat([far, near], ignore_index=True))
    c = sp.closest(res, sp.design(2).iloc[:3].copy()).set_index("task")
    assert len(c) == 9 and c.loc["spiral", "off"] == "0.0 pp" and c.loc["spiral", "matched"]
    assert c.loc["memorize", "off"] == "5×" and not c.loc["memorize", "matched"]
    assert c.loc["complex4d", "protocol"].startswith("point 1: lr ") and "ω" not in c.loc["complex4d", "protocol"]
    assert "on 8 of 9 tasks (memorize not), at 1 different sampled protocol:" in sp.closest_text(c.reset_index())
