"""Claim 1's verdict (richneuron.analysis.memorization) on hand-built tables: one test per branch."""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from richneuron import criteria, verdicts
from richneuron.analysis import memorization as mem

CLAIM = 168327
# 12 fixed log-spread factors (geometric mean exactly 1): a group's replicas are centre × these
Z = np.array([-1.6, -1.1, -0.7, -0.4, -0.15, 0.0, 0.05, 0.3, 0.5, 0.75, 1.0, 1.31])
SPREAD = np.exp(0.3 * (Z - Z.mean()))


def _rows(arch, centre, spread=SPREAD, **extra):
    return [{"arch": arch, "test_mse": centre * s, "diverged": False, **extra} for s in spread]


HELD_CAPACITY = ((400, 1e-1, 1e-3), (800, 2e-1, 1e-2))   # (pairs, Vanilla, SinGLU): SinGLU stores more


def _tables(van, sin, sweep=(), capacity=HELD_CAPACITY):
    d = pd.DataFrame(_rows("vanilla", van) + _rows("singlu", sin))
    s = pd.DataFrame([r for lr, v, g in sweep for r in _rows("vanilla", v, lr=lr) + _rows("singlu", g, lr=lr)])
    c = pd.DataFrame([r for n, v, g in capacity for r in _rows("vanilla", v, **{"task.n_points": n})
                      + _rows("singlu", g, **{"task.n_points": n})])
    return mem.tables(d, s if len(s) else None, c if len(c) else None)


def two(row):
    """The direction and magnitude parts (the capacity part is tested on its own below)."""
    return {k: v for k, v in row["parts"].items() if k != "capacity"}


def test_ratio_is_welch_on_log_mse_and_drops_diverged():
    d = pd.DataFrame(_rows("vanilla", 2.0) + _rows("singlu", 1e-3)
                     + [{"arch": "singlu", "test_mse": 1e9, "diverged": True}])
    r = mem.ratio(d)
    a, b = 2.0 * SPREAD, 1e-3 * SPREAD
    ci = st.ttest_ind(np.log(a), np.log(b), equal_var=False).confidence_interval(0.95)
    assert r["ratio"] == pytest.approx(st.gmean(a) / st.gmean(b))
    assert (r["low"], r["high"]) == pytest.approx((math.exp(ci.low), math.exp(ci.high)))
    assert r["n_den"] == 12 and r["den_geo"] == pytest.approx(1e-3)


def test_replicated_when_resolved_ratio_is_in_the_claimed_decade():
    row = mem.verdict(_tables(2.0, 2.0 / CLAIM), CLAIM)          # SinGLU 1.2e-5: above the floor
    assert two(row) == {"direction": verdicts.HOLDS, "magnitude": verdicts.HOLDS}
    assert row["verdict"] == verdicts.REPLICATED and row["criterion"] == mem.CRITERIA[mem.CLAIM]
    c, e = mem.ratio(_tables(2.0, 2.0 / CLAIM)["default"])["comparison"], row["effect"]   # the headline's comparison
    assert (e["estimate"], e["low"], e["high"], e["scale"], e["published"]) == (c.estimate, c.low, c.high, "log", CLAIM)
    assert verdicts.effect_text(e) in row["ours"]                  # the scorecard's number is the section's


def test_conditional_when_only_a_swept_lr_reaches_the_claim():
    row = mem.verdict(_tables(1e-2, 3.8e-4, sweep=[(1e-2, 3.0, 3.0 / CLAIM), (3e-4, 1e-2, 1e-2)]), CLAIM)
    assert two(row) == {"direction": verdicts.HOLDS, "magnitude": verdicts.FAILS}   # 26x: far short of the claim
    assert row["verdict"] == verdicts.CONDITIONAL and "lr 0.01" in row["reason"]
    assert row["conditions"]["at lr 0.0003"]["direction"] == verdicts.FAILS        # equivalent: no effect


def test_not_replicated_when_singlu_is_worse_and_no_sweep_rescues_it():
    row = mem.verdict(_tables(1e-3, 1e-2, sweep=[(1e-2, 1e-3, 1e-2)]), CLAIM)
    assert row["parts"]["direction"] == verdicts.FAILS and row["verdict"] == verdicts.NOT_REPLICATED


def test_inconclusive_when_the_groups_overlap_and_the_ratio_is_small():
    wide = np.exp(20.0 * (Z - Z.mean()))                          # so wide that the interval spans 1 and the claim
    d = pd.DataFrame(_rows("vanilla", 1.5e-2, wide) + _rows("singlu", 1e-2, wide[::-1]))
    row = mem.verdict(mem.tables(d), CLAIM)
    assert two(row) == {"direction": verdicts.UNSURE, "magnitude": verdicts.UNSURE}
    assert row["verdict"] == verdicts.INCONCLUSIVE


def test_tiny_errors_are_judged_by_their_ratio_no_fixed_floor():
    row = mem.verdict(_tables(8e-6, 3e-7), CLAIM)                 # ~27x, significant: errors far below 1e-5 are resolved
    assert two(row) == {"direction": verdicts.HOLDS, "magnitude": verdicts.FAILS}
    assert row["verdict"] == verdicts.NOT_REPLICATED
    assert row["ratios"] == [{"label": "memorize / vanilla / singlu", "estimate": pytest.approx(8e-6 / 3e-7),
                              "parts": ["direction", "magnitude"]}]


@pytest.mark.parametrize("moved, expected", [(2.0, verdicts.REPLICATED), (3.4, verdicts.INCONCLUSIVE)])
def test_a_ratio_the_check_moves_beyond_the_claimed_band_is_not_judged(moved, expected):
    """Both computations replicate (both ratios in the claimed decade); the check's runs move the
    ratio by a factor 2 (within √10: judged) or 3.4 (beyond: not a measurement, both parts inconclusive)."""
    primary = mem.verdict(_tables(1e-2, 1e-2 / (2 * CLAIM)), CLAIM)
    check = mem.verdict(_tables(1e-2, 1e-2 / (2 * CLAIM / moved)), CLAIM)
    assert primary["verdict"] == check["verdict"] == verdicts.REPLICATED
    row = verdicts.rounding_check(primary, check)
    assert row["verdict"] == expected
    if expected == verdicts.INCONCLUSIVE:
        assert two(row) == {"direction": verdicts.UNSURE, "magnitude": verdicts.UNSURE}
        assert "not a measurement" in row["reason"] and row["verdict_before_ratio_check"] == verdicts.REPLICATED
    else:
        assert row["parts"] == primary["parts"] and "not a measurement" not in row["reason"]


def test_criterion_is_its_file_and_states_its_thresholds():
    text = mem.CRITERIA[mem.CLAIM]
    assert "\n" not in text and text == " ".join(criteria.path(mem.CLAIM).read_text().split())
    for words in ("sqrt(10)", "robustness check", "data draw", "Holm", "Replicated:", "Replicated only under stated conditions:",
                  "Not replicated:", "Inconclusive:", "1.25"):
        assert words in text
    assert "floor" not in text.replace("No fixed error floor", "")


# ----------------------------------------------------------------------------- the notebook's face

def _cfg(tmp_path, quick, archs="vanilla,singlu,v10"):
    from richneuron import notebook as nbk
    return nbk.setup(quick, 4, archs, 3000, str(tmp_path / "o"), str(tmp_path / "c"), str(tmp_path / "f"),
                     notebook="01_memorization", data_seeds=3)


def test_experiments_are_the_protocol_grids_with_quick_cuts(tmp_path):
    from richneuron import protocol
    full = mem.experiments(_cfg(tmp_path, False), [3e-4, 3e-3], [200, 400, 800], ["vanilla", "singlu", "v10"])
    assert full["main"].archs == ["vanilla", "singlu", "v10"] and full["main"].tasks == ["memorize"]
    assert full["sweep"].archs == mem.PAIR and full["sweep"].lr == [3e-4, 3e-3] and full["sweep"].data_seed == [0, 1, 2]
    assert full["capacity"].seed == full["main"].seed and full["capacity"].data_seed == full["main"].data_seed
    assert full["capacity"].task_options == {"n_points": [200, 400, 800]}
    assert full["check"].perturb == full["check_sweep"].perturb == protocol.CHECK["perturb"] >= 1
    assert full["check_sweep"].lr == full["sweep"].lr
    quick = mem.experiments(_cfg(tmp_path, True), [3e-4, 3e-3], [200, 400, 800], ["vanilla", "singlu", "v10"])
    assert quick["sweep"].lr == [3e-4] and quick["capacity"].archs == ["vanilla", "singlu"]
    assert quick["capacity"].task_options == {"n_points": [200, 400]} and quick["main"].seed == [0, 1]
    with pytest.raises(ValueError, match="singlu"):
        mem.experiments(_cfg(tmp_path, True, archs="vanilla,v10"), [3e-4], [200], ["vanilla"])


def test_capacity_reading_marks_a_capacity_at_the_largest_count_tried_as_a_lower_bound():
    cap = pd.DataFrame({"arch": ["vanilla", "singlu"], "capacity_pairs": [400, 1600], "largest_tried": [1600, 1600]})
    text = mem.capacity_reading(cap, 1e-3)
    assert "vanilla 400," in text and "singlu 1600 or more" in text


def test_figures_are_saved_with_their_captions(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    from richneuron.analysis import common
    cfg, captions = _cfg(tmp_path, True), {}
    monkeypatch.setattr(type(cfg), "save", lambda self, fig, name, caption="": captions.setdefault(name, caption))
    m = pd.DataFrame([{"arch": a, "task": "memorize", "metric": "mse", "test_mse": c * s, "diverged": False, "seed": i,
                       "predict_zero_mse": 0.3, "predict_mean_mse": 0.25, "lr": 1e-3, "task.n_points": n}
                      for a, c in (("vanilla", 1e-2), ("singlu", 1e-4)) for n in (200, 400) for i, s in enumerate(SPREAD)])
    mem.all_archs_figure(m, common.score_table(m[m["task.n_points"] == 200]), cfg)
    by_lr = mem.ratio_by(pd.concat([m, m.assign(lr=1e-2)]), "lr")
    by_step = pd.DataFrame({"step": [0, 10], "ratio": [1.0, 100.0]})
    mem.sweeps_figure(by_step, by_lr, cfg)
    mem.capacity_figure(m, 1e-3, cfg)
    assert set(captions) == {"01_memorize_all_archs", "01_memorize_ratio_sweeps", "01_memorize_capacity"}
    assert all(len(c) > 40 for c in captions.values())
    assert "100" in captions["01_memorize_ratio_sweeps"] and "200, 400" in captions["01_memorize_capacity"]


@pytest.mark.parametrize("capacity, expected", [
    (HELD_CAPACITY, verdicts.HOLDS),
    (((400, 1e-1, 1e-3), (800, 1e-2, 1e-2)), verdicts.FAILS),            # equal at 800 pairs: no more stored
    (((400, 1e-1, 1e-3), (800, 1e-2, 3e-2)), verdicts.FAILS),            # Vanilla better at 800 pairs
    (((200, 1.0, 1e-3), (400, 1e-1, 1e-3)), verdicts.HOLDS),              # 200 pairs is the default: not read here
    ((), verdicts.UNSURE)])                                                # the sweep not run
def test_capacity_part(capacity, expected):
    row = mem.verdict(_tables(2.0, 2.0 / CLAIM, capacity=capacity), CLAIM)
    assert row["parts"]["capacity"] == expected
    assert row["verdict"] == {verdicts.HOLDS: verdicts.REPLICATED, verdicts.FAILS: verdicts.NOT_REPLICATED,
                              verdicts.UNSURE: verdicts.INCONCLUSIVE}[expected]


def test_capacity_undecided_says_what_would_settle_it():
    wide = np.exp(3.0 * (Z - Z.mean()))
    c = pd.DataFrame(_rows("vanilla", 2e-2, wide, **{"task.n_points": 400}) + _rows("singlu", 1e-2, wide[::-1], **{"task.n_points": 400}))
    d = pd.DataFrame(_rows("vanilla", 2.0) + _rows("singlu", 2.0 / CLAIM))
    row = mem.verdict(mem.tables(d, None, c), CLAIM)
    assert row["parts"]["capacity"] == verdicts.UNSURE and row["verdict"] == verdicts.INCONCLUSIVE
    assert [s["label"] for s in row["settle"]] == ["Vanilla/SinGLU at 200 pairs", "Vanilla/SinGLU at 400 pairs"]
    assert row["settle"][1]["draws"] > 12 and "what would settle it" in row["reason"]
