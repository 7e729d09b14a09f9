"""Claim 11's verdict (richneuron.analysis.ood) on hand-built tables: one test per branch."""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from richneuron import criteria, protocol, stats, verdicts
from richneuron.analysis import ood

Z = np.array([-1.6, -1.1, -0.7, -0.4, -0.15, 0.0, 0.05, 0.3, 0.5, 0.75, 1.0, 1.31])
SPREAD = np.exp(0.3 * (Z - Z.mean()))      # 12 replicas, geometric mean exactly 1
RANGE, VAN = (24, 1273), 7


def _rows(arch, in_range, ood_mse, spread=SPREAD, **extra):
    """Replicas with the given geometric-mean in-range and OOD MSEs (the OOD spread reversed, so the
    degradation spreads too)."""
    return [{"arch": arch, "in_range_mse": in_range * s, "test_mse": ood_mse * r, "predict_zero_mse": 2.0,
             "diverged": False, **extra} for s, r in zip(spread, spread[::-1])]


def _grid(spec, **extra):
    """spec: {arch: (in-range MSE, OOD MSE)}"""
    return pd.DataFrame([r for a, (i, o) in spec.items() for r in _rows(a, i, o, **extra)])


def _verdict(m, om=None):
    return ood.verdict(ood.inputs(m, om), RANGE, VAN)


# the claim as published: Vanilla 7x, sine archs 24-1273x, and worse off range in absolute terms
CLAIMED = {"vanilla": (0.1, 0.7), "singlu": (0.01, 2.0), "v10": (0.001, 1.0)}


def test_versus_is_compare_on_both_quantities_with_holm_over_the_family():
    m = _grid(CLAIMED)
    t = ood.versus(m)
    r = ood.with_ratios(m)
    raw = [stats.compare(r.loc[r.arch == a, v], r.loc[r.arch == "vanilla", v], scale="log").p_value
           for a, v in zip(t["arch"], t["value"])]
    assert list(zip(t["arch"], t["value"])) == [("singlu", "ratio"), ("singlu", "test_mse"), ("v10", "ratio"),
                                                ("v10", "test_mse")]
    assert t["p_value"].tolist() == pytest.approx(raw)
    assert t["p_holm"].tolist() == pytest.approx(multipletests(raw, method="holm")[1].tolist())


def test_replicated_when_ratio_magnitudes_and_absolute_ood_error_all_agree():
    row = _verdict(_grid(CLAIMED))
    assert row["parts"] == {"direction": verdicts.HOLDS, "magnitude": verdicts.HOLDS, "absolute OOD error": verdicts.HOLDS}
    assert row["verdict"] == verdicts.REPLICATED and row["criterion"] == ood.CRITERIA[ood.CLAIM]
    logs = np.log(7 * SPREAD[::-1] / SPREAD)                    # Vanilla's per-replica degradation, geometric mean 7
    lo, hi = st.t.interval(0.95, len(logs) - 1, loc=logs.mean(), scale=st.sem(logs))
    e = row["effect"]
    assert (e["estimate"], e["low"], e["high"], e["published"]) == pytest.approx((7, np.exp(lo), np.exp(hi), VAN))
    assert verdicts.effect_text(e) in row["ours"]


def test_not_replicated_when_the_ratio_holds_but_sine_archs_are_better_off_range():
    # the committed run's pattern: sine archs fit in range far better, so their ratio is larger,
    # while their OOD error is lower than Vanilla's
    m = _grid({"vanilla": (1e-4, 9.0), "singlu": (1e-7, 0.5), "v10": (1e-6, 0.3)})
    row = _verdict(m)
    assert row["parts"]["direction"] == verdicts.HOLDS and row["parts"]["absolute OOD error"] == verdicts.FAILS
    assert row["verdict"] == verdicts.NOT_REPLICATED


def test_magnitude_fails_when_an_interval_misses_the_claimed_band():
    m = _grid({"vanilla": (0.1, 0.7), "singlu": (1e-6, 2.0), "v10": (0.001, 1.0)})   # singlu 2e6x
    row = _verdict(m)
    assert row["parts"]["magnitude"] == verdicts.FAILS and row["verdict"] == verdicts.NOT_REPLICATED


def test_conditional_at_a_swept_omega():
    m = _grid({"vanilla": (0.1, 0.7), "singlu": (0.1, 0.7), "v10": (0.1, 0.7)})     # no difference at default
    om = pd.concat([_grid({"singlu": (0.01, 2.0), "v10": (0.001, 1.0)}, omega=10.0),
                    _grid({"singlu": (0.01, 2.0), "v10": (0.001, 1.0)}, omega=1.0)])   # ω 1: the default, no condition
    row = _verdict(m, om)
    assert row["parts"]["absolute OOD error"] == verdicts.FAILS                          # equivalent at default
    assert row["verdict"] == verdicts.CONDITIONAL and "at omega 10 for singlu, v10" in row["reason"]
    assert list(row["conditions"]) == ["at omega 10 for singlu, v10"]


def test_inconclusive_when_noise_hides_the_parts():
    wide = np.exp(6.0 * (Z - Z.mean()))
    m = pd.DataFrame(_rows("vanilla", 0.1, 0.7, wide) + _rows("singlu", 5e-5, 1.0, wide))   # 2e4x: above the band
    row = _verdict(m)
    assert row["parts"] == {"direction": verdicts.UNSURE, "magnitude": verdicts.UNSURE, "absolute OOD error": verdicts.UNSURE}
    assert row["verdict"] == verdicts.INCONCLUSIVE


def test_magnitude_bands_are_the_claimed_range_and_vanillas_value_widened_by_sqrt10():
    deg = pd.DataFrame({"arch": ["vanilla", "a", "b", "c"], "ratio": [25.0, 7.7, 4000.0, 7.5],
                        "low": [15.0, 7.6, 3000.0, 1.0], "high": [25.0, 8.0, 5000.0, 7.58]})
    m = ood.magnitude_parts(deg, RANGE, VAN)
    # 24/√10 = 7.59, 1273·√10 = 4026, 7·√10 = 22.1
    assert m == {"vanilla": verdicts.UNSURE, "a": verdicts.HOLDS, "b": verdicts.HOLDS, "c": verdicts.FAILS}


def test_criterion_is_its_file_and_states_every_branch():
    text = ood.CRITERIA[ood.CLAIM]
    assert text == " ".join(criteria.path(ood.CLAIM).read_text().split())
    for words in ("Holm", "Replicated:", "Replicated only under stated conditions:", "Not replicated:",
                  "Inconclusive:", "1.25", "absolute OOD MSE", "24/sqrt(10)", "7*sqrt(10)"):
        assert words in text


def test_degradation_by_omega_is_the_geometric_mean_of_per_replica_ratios():
    om = pd.concat([_grid({"singlu": (0.01, 2.0), "v10": (0.001, 1.0)}, omega=w) for w in (1.0, 3.0)], ignore_index=True)
    om["test_mse"] *= np.where(om["omega"] == 3.0, 5.0, 1.0)
    d = ood.degradation_by_omega(om).set_index(["arch", "omega"])
    for (arch, w), g in om.groupby(["arch", "omega"]):
        assert d.loc[(arch, w), "ratio"] == pytest.approx(float(np.exp(np.log(g.test_mse / g.in_range_mse).mean())))
        assert d.loc[(arch, w), "zero_ratio"] == pytest.approx(float(np.exp(np.log(2.0 / g.in_range_mse).mean())))
        assert d.loc[(arch, w), "ood_geo"] == pytest.approx(float(np.exp(np.log(g.test_mse).mean())))
        assert d.loc[(arch, w), "n"] == 12
    assert d.loc[("singlu", 3.0), "ratio"] == pytest.approx(5 * d.loc[("singlu", 1.0), "ratio"])


def test_experiments_need_vanilla_and_another_arch_and_sweep_the_sine_archs_only():
    class Cfg:
        quick, archs, seeds, steps, data_seeds = True, ["vanilla", "singlu"], [0, 1], 10, [0]
    e = ood.experiments(Cfg, [1.0, 3.0, 10.0], ["vanilla", "singlu", "v10"], 1)
    assert e["omega"].archs == ["singlu"] and e["omega"].seed == [0]
    assert [c["omegas"] for c in e["omega"].cells] == [[1.0, 3.0]]          # quick mode: the first two ω
    assert e["check"].perturb == protocol.CHECK["perturb"] > 0 and e["check"].archs == ["vanilla", "singlu"]
    Cfg.archs = ["vanilla"]
    with pytest.raises(ValueError, match="archs: .*keep vanilla and at least one other arch"):
        ood.experiments(Cfg, [1.0], ["singlu"], 1)


def test_no_omega_sweep_gives_no_table_and_says_so():
    assert ood.metrics({}, "omega") is None and ood.degradation_by_omega(None) is None
    assert ood.fig_omega(None, None, None, None) is None and ood.read_omega(None, None) == "No ω sweep in this run."
