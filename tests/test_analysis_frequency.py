"""Claim 10's verdict (richneuron.analysis.frequency) on hand-built tables: one test per branch."""
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from richneuron import criteria, protocol, stats, verdicts
from richneuron.analysis import frequency as fq

Z = np.array([-1.6, -1.1, -0.7, -0.4, -0.15, 0.0, 0.05, 0.3, 0.5, 0.75, 1.0, 1.31])
SPREAD = np.exp(0.3 * (Z - Z.mean()))      # 12 replicas, geometric mean exactly 1
ZERO = 0.5                                 # predict-zero MSE of every test set here


def _rows(arch, task, centre, spread=SPREAD, **extra):
    return [{"arch": arch, "task": task, "test_mse": centre * s, "predict_zero_mse": ZERO, "diverged": False, **extra}
            for s in spread]


def _grid(centres, **extra):
    """centres: {task: {arch: geometric-mean MSE}}"""
    return pd.DataFrame([r for task, by in centres.items() for a, c in by.items() for r in _rows(a, task, c, **extra)])


GOOD = {"singlu": 0.05, "v10": 0.3, "v15": 0.2}


def test_versus_is_compare_with_holm_over_the_whole_family():
    m = _grid({"freqgen": {"singlu": 0.05, "v10": 0.06, "v15": 0.2}, "mixedfreq": GOOD})
    t = fq.versus(m)
    raw = [stats.compare(m[(m.task == r.task) & (m.arch == r.other)].test_mse,
                         m[(m.task == r.task) & (m.arch == "singlu")].test_mse, scale="log").p_value
           for r in t.itertuples()]
    assert t["p_value"].tolist() == pytest.approx(raw)
    assert t["p_holm"].tolist() == pytest.approx(multipletests(raw, method="holm")[1].tolist())
    assert list(zip(t["task"], t["other"])) == [("freqgen", "v10"), ("freqgen", "v15"), ("mixedfreq", "v10"),
                                                ("mixedfreq", "v15")]


def test_replicated_when_singlu_beats_every_adaptive_and_predict_zero_on_both_tasks():
    row = fq.verdict(fq.inputs(_grid({"freqgen": GOOD, "mixedfreq": GOOD})))
    assert (row["effect"]["estimate"], row["effect"]["published"]) == (2, 2)     # SinGLU beats v10 and v15 on freqgen
    assert row["parts"].pop(fq.DIRECT) == verdicts.NOT_TESTABLE and "not testable as stated" in row["reason"]
    assert row["parts"] == {"direction": verdicts.HOLDS, "generalizes": verdicts.HOLDS}
    assert row["verdict"] == verdicts.REPLICATED and row["criterion"] == fq.CRITERIA[fq.CLAIM]


def test_conditional_on_one_task_alone():
    row = fq.verdict(fq.inputs(_grid({"freqgen": GOOD, "mixedfreq": {"singlu": 0.3, "v10": 0.05, "v15": 0.2}})))
    assert row["parts"]["direction"] == verdicts.FAILS
    assert row["verdict"] == verdicts.CONDITIONAL and "on freqgen alone" in row["reason"]


def test_conditional_at_a_swept_omega():
    bad = {"singlu": 0.4, "v10": 0.05, "v15": 0.05}
    om = pd.concat([_grid({"freqgen": GOOD}, omega=3.0), _grid({"freqgen": GOOD}, omega=1.0)])   # ω 1: the default, no condition
    row = fq.verdict(fq.inputs(_grid({"freqgen": bad, "mixedfreq": bad}), om))
    assert row["verdict"] == verdicts.CONDITIONAL and "at omega 3 on freqgen against v10, v15" in row["reason"]
    assert list(row["conditions"]) == ["on freqgen alone", "on mixedfreq alone", "at omega 3 on freqgen against v10, v15"]


def test_not_replicated_when_better_than_adaptive_but_no_better_than_predicting_zero():
    worse = {"singlu": 0.8, "v10": 5.0, "v15": 4.0}                 # SinGLU ahead, yet above predict-zero
    row = fq.verdict(fq.inputs(_grid({"freqgen": worse, "mixedfreq": worse})))
    assert {k: v for k, v in row["parts"].items() if k != fq.DIRECT} == {"direction": verdicts.HOLDS, "generalizes": verdicts.FAILS}
    assert row["verdict"] == verdicts.NOT_REPLICATED


def test_not_replicated_when_an_adaptive_arch_is_equivalent():
    tie = {"singlu": 0.05, "v10": 0.051, "v15": 0.3}                # v10 within 1.25x by TOST
    row = fq.verdict(fq.inputs(_grid({"freqgen": tie, "mixedfreq": tie})))
    assert row["effect"]["estimate"] < row["effect"]["published"] == 2
    assert row["parts"]["direction"] == verdicts.FAILS and row["verdict"] == verdicts.NOT_REPLICATED


def test_inconclusive_when_noise_hides_both_parts():
    wide = np.exp(1.5 * (Z - Z.mean()))
    m = pd.DataFrame([r for task in ("freqgen", "mixedfreq")
                      for a, c in (("singlu", 0.4), ("v10", 0.6)) for r in _rows(a, task, c, wide)])
    row = fq.verdict(fq.inputs(m))
    assert {k: v for k, v in row["parts"].items() if k != fq.DIRECT} == {"direction": verdicts.UNSURE, "generalizes": verdicts.UNSURE}
    assert row["settle"] and row["settle"][0]["label"].startswith("direction") and "what would settle it" in row["reason"]
    assert row["verdict"] == verdicts.INCONCLUSIVE


def test_below_zero_is_the_centre_of_per_replica_ratios():
    m = _grid({"freqgen": GOOD})
    m.loc[m.arch == "singlu", "predict_zero_mse"] = np.linspace(0.4, 0.6, 12)
    z = fq.below_zero(m).iloc[0]
    s = m[m.arch == "singlu"]
    assert z["vs_zero"] == pytest.approx(math.exp(np.log(s.test_mse / s.predict_zero_mse).mean()))


def test_criterion_is_its_file_and_states_every_branch():
    text = fq.CRITERIA[fq.CLAIM]
    assert text == " ".join(criteria.path(fq.CLAIM).read_text().split())
    for words in ("Holm", "Replicated:", "Replicated only under stated conditions:", "Not replicated:",
                  "Inconclusive:", "1.25", "predict-zero", "omega"):
        assert words in text


def test_scores_adds_in_range_geometric_mean_and_replicas_below_predict_zero():
    m = _grid({"freqgen": {"singlu": 0.3, "v10": 2.0}})
    m["metric"] = "mse"
    m["in_range_mse"] = np.linspace(1e-4, 1e-2, len(m))
    m.loc[m.index[-1], "diverged"] = True                       # dropped from every statistic
    s = fq.scores(m).set_index("arch")
    for arch in ("singlu", "v10"):
        g = m[(m.arch == arch) & ~m.diverged]
        geo = math.exp(np.log(g.test_mse).mean())
        assert s.loc[arch, "mean"] == pytest.approx(geo)
        assert s.loc[arch, "in_range_geo"] == pytest.approx(math.exp(np.log(g.in_range_mse).mean()))
        assert s.loc[arch, "seeds_below_zero"] == int((g.test_mse < ZERO).sum())
        assert s.loc[arch, "vs_predict_zero"] == pytest.approx(geo / ZERO)
    assert s.loc["v10", "count"] == 11 and s.loc["v10", "diverged"] == 1


class _Cfg:
    def __init__(self, quick, archs):
        self.quick, self.archs, self.seeds, self.steps, self.data_seeds = quick, archs, [0, 1, 2, 3], 10, [0, 1]


def test_experiments_sweep_only_the_run_archs_and_quick_mode_trims_the_sweeps():
    archs = ["vanilla", "singlu", "v10", "v6"]
    full = fq.experiments(_Cfg(False, archs), [1.0, 3.0, 10.0], ["vanilla", "singlu", "v15"], archs, 2)
    assert set(full) == {"main", "omega", "direct", "check", "check_omega"}
    assert full["omega"].archs == ["singlu"] and full["omega"].seed == [0, 1] and full["omega"].tasks == list(fq.TASKS)
    assert full["check"].archs == ["singlu", "v6", "v10"] and full["check"].perturb == protocol.CHECK["perturb"] > 0
    assert {c["task_options"]["mode"] for c in full["direct"].cells} == {"direct"}
    quick = fq.experiments(_Cfg(True, archs), [1.0, 3.0, 10.0], ["v15"], archs, 2)
    assert "omega" not in quick and "check_omega" not in quick
    assert quick["direct"].archs == ["vanilla", "singlu"] and quick["direct"].tasks == ["freqgen"]


def test_check_runs_part_by_part_and_gives_rounding_checks_verdict():
    """`check` through `robustness.checked_verdict` with a stand-in for the engine that returns the
    given metrics of the archs it is asked for: the verdict is `verdicts.rounding_check`'s on the full check."""
    from types import SimpleNamespace as R
    from richneuron.analysis import robustness as rb
    archs = ["vanilla", "singlu", "v10", "v15"]
    exps = fq.experiments(_Cfg(False, archs), [1.0], ["vanilla"], [], 2)
    good = _grid({"freqgen": GOOD, "mixedfreq": GOOD})
    bad = _grid({"freqgen": {"singlu": 0.3, "v10": 0.05, "v15": 0.2}, "mixedfreq": GOOD})
    for check_metrics in (good, bad):
        asked = []

        def run(es):
            asked.append(sorted({a for e in es for a in e.archs}))
            return R(metrics=check_metrics[check_metrics["arch"].isin(asked[-1])])
        c = fq.check(exps, {"main": R(metrics=good)})
        row = rb.checked_verdict(c, run=run)
        want = verdicts.rounding_check(c.row, fq.verdict(fq.inputs(check_metrics)))
        assert row["verdict"] == want["verdict"]
        assert asked[0] == ["singlu"]                        # the cheaper part first: SinGLU against predict-zero
        assert row["check_parts_run"] == ["direction", "generalizes", rb.CONDITIONS]   # the conditions read the same runs
    assert row["verdict"] == verdicts.INCONCLUSIVE and row["verdict_other_kernels"] == verdicts.CONDITIONAL

def test_the_direct_reading_is_not_testable_as_stated_with_the_runs_numbers():
    t = fq.inputs(_grid({"freqgen": GOOD, "mixedfreq": GOOD}))
    t["scores_direct"] = pd.DataFrame({"task": ["freqgen", "freqgen"], "arch": ["singlu", "v10"], "mean": [1.01, 1.03],
                                       "perfect_fit_mse": [1.02, 1.02]})
    row = fq.verdict(t)
    assert row["parts"][fq.DIRECT] == verdicts.NOT_TESTABLE and row["verdict"] == verdicts.REPLICATED
    assert "freqgen: 1.01–1.03 vs 1.02" in row["untestable"][fq.DIRECT] and "scaled reading (ours" in row["reason"]


def test_a_sweep_not_run_gives_no_table_and_says_so():
    """`metrics` of a run not made is None; every table, display and figure of it is None or nothing, its reading says so."""
    from richneuron import notebook as nbk
    om = fq.metrics({}, "omega")
    assert om is None and fq.scores(om) is None and fq.versus(om) is None and fq.below_zero(om) is None
    assert fq.scores_shown(None) is None and fq.versus_shown(None) is None and fq.below_zero_shown(None) is None
    assert fq.scores_direct(None) is None and fq.fig_omega(None, None, None, None) is None and fq.fig_direct(None, {}, None) is None
    assert fq.read_omega(None, None, None) == "No ω sweep in this run." and "No direct-reading" in fq.read_direct(None)
    assert nbk.Setup.table(None, None, "scores_by_omega") is None
