"""Claim 9 (richneuron.analysis.width): the per-matrix width loss, the verdict's branches, and the
score-vs-budget comparison, on hand-built tables."""
import numpy as np
import pandas as pd
import pytest

from richneuron import models, stats, verdicts
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
    assert row["verdict"] == verdicts.REPLICATED and row["parts"] == {"magnitude": verdicts.HOLDS}
    assert row["criterion"] == wd.CRITERIA[wd.CLAIM] and row["criterion_source"] == f"richneuron/criteria/{wd.CLAIM}.md"


def test_conditional_when_only_another_condition_is_in_the_band():
    row = wd.verdict(0.2, [("depth 1 / 5000", 0.5), ("depth 2 / 3000 / 8→4", 0.3)])
    assert (row["effect"]["estimate"], row["effect"]["published"], row["effect"]["unit"]) == (pytest.approx(20), 35, "%")
    assert verdicts.effect_text(row["effect"]) == "20%" and row["ours"].startswith("20% per extra matrix")
    assert row["verdict"] == verdicts.CONDITIONAL and "depth 2 / 3000 / 8→4" in row["reason"]
    assert "depth 1" not in row["reason"]


def test_not_replicated_when_no_condition_is_in_the_band():
    row = wd.verdict(0.2, [("depth 1 / 5000", 0.5), ("depth 2 / 3000", 0.46)])
    assert row["verdict"] == verdicts.NOT_REPLICATED and row["parts"] == {"magnitude": verdicts.FAILS}


def test_band_edges_are_inside_and_inconclusive_is_not_reachable():
    assert wd.verdict(wd.CLAIM_BAND[0], [])["verdict"] == verdicts.REPLICATED
    assert wd.verdict(wd.CLAIM_BAND[1], [])["verdict"] == verdicts.REPLICATED
    assert wd.verdict(0.9, [])["verdict"] == verdicts.NOT_REPLICATED          # deterministic: never inconclusive


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


# ----------------------------------------------------------------------------- the notebook's face

def _cfg(quick, archs=("vanilla", "singlu", "v10")):
    from types import SimpleNamespace
    return SimpleNamespace(quick=quick, archs=list(archs), seeds=[0, 1, 2, 3], data_seeds=[0, 1, 2], steps=20,
                           table=lambda df, name: df)


def test_width_table_gives_widths_and_parameter_counts_as_ints():
    t = wd.width_table(["vanilla", "singlu"], {(2, 1): ["nested2d"]}, [5000, 10], [2])
    assert str(t["width"].dtype) == "Int64" and str(t["params"].dtype) == "Int64"
    assert t.loc[t["budget"] == 10, "width"].isna().all()          # infeasible: missing, not a float NaN width
    assert t.loc[t["budget"] == 5000].set_index("arch").loc["singlu", "width"] == \
        models.width_for_budget("singlu", 2, 1, 5000, 2)[0]
    with pytest.raises(ValueError, match="needs vanilla"):
        wd.width_table(["singlu"], {(2, 1): ["nested2d"]}, [5000], [2])


def test_the_verdict_reads_the_default_protocol_and_names_every_other_condition():
    shapes = {(2, 1): ["nested2d"], (8, 4): ["memorize"]}
    archs = ["vanilla", "singlu", "v10", "v9"]
    t = wd.widths(archs, shapes, [3000, 5000], [1, 2])
    assert t.equals(wd.width_table(archs, shapes, [3000, 5000], [1, 2]))
    losses, by_shape = wd.loss_by(t, ["depth", "budget"]), wd.loss_by(t, ["depth", "budget", "shape"])
    want = wd.per_matrix_loss(t[(t["depth"] == 2) & (t["budget"] == 5000)])
    assert wd.primary(losses)["loss_fit"] == pytest.approx(want["loss_fit"])
    names = [n for n, _ in wd.others(losses, by_shape)]
    assert len(names) == 3 + 2 * 2 * 2 and "depth 1 / 3000 (pooled)" in names and "depth 2 / 5000 / 8→4" in names
    assert "depth 2 / 5000 (pooled)" not in names                  # the default is the primary, not a condition
    row = wd.scorecard_row(losses, by_shape)
    assert row["effect"]["estimate"] == pytest.approx(100 * want["loss_fit"])
    quick = wd.widths(archs, shapes, [3000, 5000], [1, 2], quick=True)
    assert set(quick["budget"]) == {5000}
    shown = wd.widths_shown(t)
    assert shown[["arch", "matrices", "pure"]].equals(wd.anatomy_table(archs)[["arch", "matrices", "pure"]])
    with pytest.raises(ValueError, match="budgets must include the default protocol's 5000"):
        wd.widths(archs, shapes, [3000], [1, 2])


@pytest.mark.parametrize("quick", [False, True])
def test_experiments_are_the_notebooks_runs(quick):
    from richneuron import protocol
    from richneuron.experiment import cell_key
    keys = lambda e: sorted(cell_key(c) for c in e.cells)
    cfg = _cfg(quick)
    exps = wd.experiments(cfg, ["nested2d"], [3000, 5000, 8000], [1, 2], ["vanilla", "v9", "v10"],
                          ["vanilla", "singlu", "v10"], 2)
    budgets, depth_archs = ([3000], ["vanilla", "singlu"]) if quick else ([3000, 8000], ["vanilla", "singlu", "v10"])
    want = {"main": protocol.main_grid(cfg.archs, ["nested2d"], cfg.seeds, 20, data_seeds=cfg.data_seeds),
            "budgets": protocol.main_grid(["vanilla", "v10"], ["nested2d"], [0, 1], 20, budget=budgets),  # v9 not in archs
            "depths": protocol.main_grid(depth_archs, ["nested2d"], [0, 1], 20, depth=[1])}
    assert set(exps) == set(want) and all(keys(exps[k]) == keys(want[k]) for k in want)


def test_the_score_tables_read_the_budget_gain_and_the_depth_comparison_off_the_runs():
    """Replicas centre·exp(0.02·z) with a z of mean zero: every geometric mean is its centre exactly."""
    from types import SimpleNamespace
    from richneuron import published
    z = np.array([-1.5, -0.5, 0.5, 1.5])
    centre = {("vanilla", 5000, 2): 1e-2, ("vanilla", 3000, 2): 3e-2, ("vanilla", 5000, 1): 5e-2,
              ("singlu", 5000, 2): 2e-3, ("singlu", 3000, 2): 2e-3, ("singlu", 5000, 1): 4e-2}
    width = {("vanilla", 5000, 2): 68, ("vanilla", 3000, 2): 51, ("vanilla", 5000, 1): 1250,
             ("singlu", 5000, 2): 48, ("singlu", 3000, 2): 36, ("singlu", 5000, 1): 714}
    rows = [{"arch": a, "task": "nested2d", "budget": b, "depth": d, "width": width[(a, b, d)], "params": b,
             "metric": "mse", "test_mse": c * float(np.exp(0.02 * v)), "diverged": False, "seed": i,
             "predict_zero_mse": 0.3, "predict_mean_mse": 0.2} for (a, b, d), c in centre.items() for i, v in enumerate(z)]
    m = pd.DataFrame(rows)
    runs = {"main": SimpleNamespace(metrics=m[(m["budget"] == 5000) & (m["depth"] == 2)]),
            "budgets": SimpleNamespace(metrics=m[m["budget"] == 3000]), "depths": SimpleNamespace(metrics=m[m["depth"] == 1])}
    m = wd.metrics(runs)
    by_width = wd.score_by_width(m, wd.anatomy_table(["vanilla", "singlu"]))
    pub = wd.scores(m, by_width).set_index(["arch", "budget", "depth"])["published"]
    assert pub[("vanilla", 5000, 2)] == published.value("vanilla", "nested2d") and pd.isna(pub[("vanilla", 3000, 2)])
    gain = wd.budget_gains(m).set_index("arch")["gain"]
    assert gain["vanilla"] == pytest.approx(3.0) and gain["singlu"] == pytest.approx(1.0)
    assert wd.budget_gains(m[m["budget"] == 5000]) is None and wd.depth_comparison(by_width, m[m["depth"] == 2]) is None
    dc = wd.depth_comparison(by_width, m).set_index(["arch", "depth"])
    assert dc.loc[("vanilla", 1), "geo_mean"] == pytest.approx(5e-2) and dc.loc[("singlu", 1), "width"] == 714
    assert len(dc) == 4
