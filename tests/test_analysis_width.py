"""Claim 9 (richneuron.analysis.width): the per-matrix width loss, the verdict's branches, and the
score-vs-budget comparison, on hand-built tables."""
import numpy as np
import pandas as pd
import pytest

from richneuron import models, stats
from richneuron.analysis import width as wd


def _table(p, ks=(1, 2, 3, 5)):
    """A width table where every extra matrix removes exactly a fraction p of the width."""
    return pd.DataFrame([{"shape": s, "depth": 2, "budget": 5000, "arch": f"k{k}", "matrices": k, "pure": True,
                          "width": 100 * (1 - p) ** (k - 1), "rel_width": (1 - p) ** (k - 1)}
                         for s in ("2→1", "8→4") for k in ks])


def test_per_matrix_loss_recovers_a_constant_loss():
    row = wd.per_matrix_loss(_table(0.35))
    assert row["loss_fit"] == pytest.approx(0.35)
    assert row["loss_1to2"] == pytest.approx(0.35) and row["loss_2to3"] == pytest.approx(0.35)


def test_per_matrix_loss_is_the_least_squares_slope_on_log_width():
    t = _table(0.3)
    t.loc[t["matrices"] == 5, "rel_width"] = 0.1                   # off the curve
    x = np.array([0, 1, 2, 4], float)
    y = np.log([1, 0.7, 0.49, 0.1])
    b = (x * y).sum() / (x * x).sum()
    assert wd.per_matrix_loss(t)["loss_fit"] == pytest.approx(1 - np.exp(b))


def test_width_table_matches_width_for_budget():
    t = wd.width_table(["vanilla", "singlu"], {(2, 1): ["nested2d"]}, [5000], [2])
    w, n = models.width_for_budget("singlu", 2, 1, 5000, 2)
    r = t[t["arch"] == "singlu"].iloc[0]
    assert (r["width"], r["params"]) == (w, n)
    assert r["rel_width"] == pytest.approx(w / models.width_for_budget("vanilla", 2, 1, 5000, 2)[0])


def test_replicated_when_the_default_fit_is_in_the_band():
    row = wd.verdict(0.35, [("depth 1 / 5000", 0.5)])
    assert row["verdict"] == stats.REPLICATED and row["parts"] == {"magnitude": stats.HOLDS}
    assert row["criterion"] == wd.CRITERIA[wd.CLAIM] and row["criterion_source"] == wd.SOURCE


def test_conditional_when_only_another_condition_is_in_the_band():
    row = wd.verdict(0.2, [("depth 1 / 5000", 0.5), ("depth 2 / 3000 / 8→4", 0.3)])
    assert row["verdict"] == stats.CONDITIONAL and "depth 2 / 3000 / 8→4" in row["reason"]
    assert "depth 1" not in row["reason"]


def test_not_replicated_when_no_condition_is_in_the_band():
    row = wd.verdict(0.2, [("depth 1 / 5000", 0.5), ("depth 2 / 3000", 0.46)])
    assert row["verdict"] == stats.NOT_REPLICATED and row["parts"] == {"magnitude": stats.FAILS}


def test_band_edges_are_inside_and_inconclusive_is_not_reachable():
    assert wd.verdict(wd.CLAIM_BAND[0], [])["verdict"] == stats.REPLICATED
    assert wd.verdict(wd.CLAIM_BAND[1], [])["verdict"] == stats.REPLICATED
    assert wd.verdict(0.9, [])["verdict"] == stats.NOT_REPLICATED          # deterministic: never inconclusive


def test_budget_gain_says_no_gain_only_with_equivalence():
    rng = np.random.default_rng(0)
    noise = np.exp(0.05 * rng.standard_normal(12))
    rows = []
    for arch, lo, hi in (("a", 1e-2, 1e-3), ("b", 1e-2, 1.01e-2), ("c", 1e-2, 1.1e-2)):
        for b, mu in ((1000, lo), (8000, hi)):
            sp = noise if arch != "c" else np.exp(0.6 * rng.standard_normal(12))
            rows += [{"task": "t", "arch": arch, "budget": b, "depth": 2, "metric": "mse", "test_mse": mu * v,
                      "diverged": False} for v in sp]
    g = wd.budget_gain(pd.DataFrame(rows), 1000, 8000).set_index("arch")
    assert g.loc["a", "reading"] == "larger budget better" and g.loc["a", "gain"] == pytest.approx(10)
    assert g.loc["b", "reading"] == "no gain (equivalent)"
    assert g.loc["c", "reading"] == "inconclusive"                     # noisy: neither shown
    np.testing.assert_allclose(g["p_holm"], stats.holm(g["p_value"]))
