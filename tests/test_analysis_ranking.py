"""Finding 02's verdicts (richneuron.analysis.ranking) on hand-built tables whose verdict is known by hand.

Replicas are built as centre·exp(sd·z) (errors) or centre + sd·z (accuracies) with one fixed standardised
pattern z of 12 values (2 seeds × 6 data draws), each arch's in its own fixed order (an arch × draw effect,
so the draw-level paired t has a spread to work with): the geometric mean (or mean) of a group is exactly its
centre, so every effect is known, and the interval's width is set by sd.
"""
import zlib

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st
from statsmodels.stats.multitest import multipletests

from richneuron import published, verdicts
from richneuron.analysis import peers as pr, ranking as rk

METRIC = {"complex4d": "mse", "nested2d": "mse", "hifreq": "mse", "memorize": "mse",
          "spiral": "accuracy", "checkerboard": "accuracy"}
Z = np.linspace(-1.5, 1.5, 12)
Z = (Z - Z.mean()) / Z.std(ddof=1)
TIGHT, LOOSE = 0.02, 1.5           # sd: every effect below is significant / nothing is


def reps(arch, task, centre, sd=TIGHT, z=Z, **extra):
    metric = METRIC[task]
    z = np.asarray(z)[np.random.default_rng(zlib.crc32(arch.encode())).permutation(len(z))]
    v = centre * np.exp(sd * z) if metric == "mse" else centre + sd * z
    return [{"arch": arch, "task": task, "metric": metric, f"test_{metric}": float(x), "diverged": False,
             "seed": i % 2, "data_seed": i // 2, **extra} for i, x in enumerate(v)]


def table(*groups):
    return pd.DataFrame([r for g in groups for r in g])


# ----------------------------------------------------------------------------- comparisons

def test_family_is_welch_on_the_metric_scale_with_holm():
    rng = np.random.default_rng(1)
    a, b = 0.01 * np.exp(rng.standard_normal(12)), 0.02 * np.exp(rng.standard_normal(12))
    c, d = 0.7 + 0.05 * rng.standard_normal(12), 0.6 + 0.05 * rng.standard_normal(12)
    rows = [{"arch": n, "task": t, "metric": METRIC[t], f"test_{METRIC[t]}": float(x), "diverged": False}
            for n, t, v in (("x", "nested2d", a), ("y", "nested2d", b), ("x", "spiral", c), ("y", "spiral", d)) for x in v]
    fam = rk.family(pd.DataFrame(rows), [("nested2d", "x", "y"), ("spiral", "x", "y")])
    p = [st.ttest_ind(np.log(a), np.log(b), equal_var=False).pvalue, st.ttest_ind(c, d, equal_var=False).pvalue]
    assert np.allclose(fam["p_value"], p) and np.allclose(fam["p_holm"], multipletests(p, method="holm")[1])
    assert fam["estimate"].iloc[0] == pytest.approx(np.exp(np.log(a).mean() - np.log(b).mean()))
    assert fam["estimate"].iloc[1] == pytest.approx(c.mean() - d.mean())


def test_compare_has_no_private_margin():
    """A 3% lower MSE that Welch finds significant is 'better' (the old 1.1× margin said no)."""
    m = table(reps("a", "nested2d", 0.97e-2, 0.005), reps("b", "nested2d", 1e-2, 0.005))
    r = rk.family(m, [("nested2d", "a", "b")]).iloc[0]
    assert r["better"] and not r["worse"] and r["estimate"] == pytest.approx(0.97)


def test_tied_with_best_ranks_by_the_geometric_mean():
    """b has the lower arithmetic mean (one low outlier aside, a is 10× lower), a the lower geometric mean."""
    za = np.r_[np.full(11, -0.3), 3.3]
    m = table(reps("a", "nested2d", 1e-3, 1.0, z=za), reps("b", "nested2d", 2e-3, TIGHT))
    assert rk.scores(m, "a", "nested2d").mean() > rk.scores(m, "b", "nested2d").mean()
    best, tied = rk.tied_with_best(m, "nested2d", ["a", "b"])
    assert best == "a"


# ----------------------------------------------------------------------------- claim 2: SinGLU wins 5/6

def _wins(outcomes):
    """SinGLU vs Vanilla per standard task: 'win', 'loss', 'tie' (equivalent) or 'undecided' (noisy)."""
    rows = []
    for task, o in zip(rk.STANDARD, outcomes):
        mse = METRIC[task] == "mse"
        base = 0.1 if mse else 0.6
        s = {"win": base / 100 if mse else 0.95, "loss": base * 100 if mse else 0.3, "tie": base,
             "undecided": base * 1.3 if mse else 0.63}[o]
        sd = LOOSE if (o == "undecided" and mse) else 0.3 if o == "undecided" else TIGHT
        rows += reps("vanilla", task, base, sd) + reps("singlu", task, s, sd)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("outcomes, expected", [
    (["win"] * 5 + ["undecided"], verdicts.HOLDS),
    (["win"] * 6, verdicts.HOLDS),
    (["win"] * 4 + ["loss", "tie"], verdicts.FAILS),
    (["win"] * 4 + ["undecided", "undecided"], verdicts.UNSURE),
    (["win"] * 3 + ["undecided", "undecided", "tie"], verdicts.UNSURE)])
def test_wins_part(outcomes, expected):
    p, fam = rk.wins_part(_wins(outcomes))
    assert fam["outcome"].tolist() == outcomes
    assert p == expected


@pytest.mark.parametrize("default, tuned, expected", [
    (["win"] * 5 + ["loss"], ["win"] * 5 + ["undecided"], verdicts.REPLICATED),
    (["win"] * 5 + ["loss"], ["win"] * 4 + ["undecided", "undecided"], verdicts.REPLICATED),
    (["win"] * 5 + ["loss"], ["win"] * 4 + ["loss", "loss"], verdicts.CONDITIONAL),
    (["win"] * 4 + ["loss", "tie"], ["win"] * 6, verdicts.CONDITIONAL),
    (["win"] * 3 + ["loss"] * 3, ["win"] * 4 + ["undecided", "undecided"], verdicts.NOT_REPLICATED),
    (["win"] * 4 + ["undecided", "undecided"], ["win"] * 4 + ["loss", "loss"], verdicts.INCONCLUSIVE)])
def test_verdict_wins_tuned(default, tuned, expected):
    row = rk.verdict_wins_tuned(_wins(default), _wins(tuned))
    assert row["verdict"] == expected and row["criterion"] == rk.CRITERIA["singlu_wins"]
    assert rk.verdict_wins_tuned(_wins(default))["verdict"] == verdicts.judge({"wins": rk.wins_part(_wins(default))[0]})[0]


def test_wins_part_judges_tiny_errors_and_the_check_decides_whether_they_are_measured():
    """memorize with both MSEs near 1e-6: no fixed floor, a 10x ratio is a win; when the check's runs
    move that ratio by more than √10 the wins part is inconclusive (the row is judged again)."""
    m = _wins(["win"] * 6)
    m = m[m["task"] != "memorize"]
    m = pd.concat([m, table(reps("vanilla", "memorize", 1e-6), reps("singlu", "memorize", 1e-7))])
    p, fam = rk.wins_part(m)
    assert fam.set_index("task").loc["memorize", "outcome"] == "win" and p == verdicts.HOLDS
    row = rk.verdict_wins_tuned(m)
    k = m.copy()
    k.loc[(k["task"] == "memorize") & (k["arch"] == "singlu"), "test_mse"] *= 0.2       # 50x in the check's runs
    row_k = rk.verdict_wins_tuned(k)
    assert row["verdict"] == row_k["verdict"] == verdicts.REPLICATED
    final = verdicts.rounding_check(row, row_k)
    assert final["verdict"] == verdicts.INCONCLUSIVE and final["parts"]["wins"] == verdicts.UNSURE
    assert "lr 1e-3: memorize / singlu / vanilla" in final["reason"]


# ----------------------------------------------------------------------------- claim 3: nested 222×

@pytest.mark.parametrize("vanilla, singlu, sd, expected", [
    (0.05, 0.05 / 200, TIGHT, verdicts.REPLICATED),          # 200×: in [70, 702]
    (0.05, 0.05 / 5, TIGHT, verdicts.NOT_REPLICATED),        # 5×, tight: magnitude fails (the old criterion: conditional)
    (0.05, 0.05 * 3, TIGHT, verdicts.NOT_REPLICATED),        # SinGLU worse: direction fails
    (0.05, 0.05 / 200, 8.0, verdicts.INCONCLUSIVE),          # 200× but the interval spans 1 and the claim
    (1e-4, 1e-4 / 200, TIGHT, verdicts.REPLICATED)])         # 200× of tiny errors: judged (no fixed floor)
def test_verdict_nested(vanilla, singlu, sd, expected):
    row = rk.verdict_nested(table(reps("vanilla", "nested2d", vanilla, sd), reps("singlu", "nested2d", singlu, sd)))
    assert row["verdict"] == expected, row
    if vanilla == 1e-4:
        assert row["ratios"][0]["parts"] == ["direction", "magnitude"]
    if expected == verdicts.INCONCLUSIVE:        # says what would settle it: draws at which 222x would be resolved
        (s,) = row["settle"]
        assert s["draws"] > 6 and "what would settle it" in row["reason"]
    else:
        assert "settle" not in row


# ----------------------------------------------------------------------------- claim 4: checkerboard +35.9 pp

def _checker(gaps, sd=TIGHT):
    """{cells: SinGLU − Vanilla gap}; the default (4) in the main table, the rest in the sweep."""
    main, sweep = [], []
    for cells, gap in gaps.items():
        rows = reps("vanilla", "checkerboard", 0.55, sd, **{"task.cells": cells}) + \
            reps("singlu", "checkerboard", 0.55 + gap, sd, **{"task.cells": cells})
        (main if cells == 4 else sweep).extend(rows)
    return pd.DataFrame(main), pd.DataFrame(sweep) if sweep else None


@pytest.mark.parametrize("gaps, sd, expected", [
    ({4: 0.35, 8: 0.05}, TIGHT, verdicts.REPLICATED),
    ({4: 0.05, 8: 0.35}, TIGHT, verdicts.CONDITIONAL),        # the claimed size only at 8 cells
    ({4: 0.0, 8: 0.05}, TIGHT, verdicts.NOT_REPLICATED),      # equivalent at 4; magnitude fails at 8
    ({4: 0.05}, TIGHT, verdicts.NOT_REPLICATED),              # significant but 5 pp: magnitude fails, no sweep
    ({4: 0.2, 8: 0.2}, 0.5, verdicts.INCONCLUSIVE)])
def test_verdict_checkerboard(gaps, sd, expected):
    main, sweep = _checker(gaps, sd)
    row = rk.verdict_checkerboard(main, sweep)
    assert row["verdict"] == expected, row
    if expected == verdicts.CONDITIONAL:
        assert "8 cells" in row["reason"]


def test_checker_family_is_holm_over_the_cell_counts():
    main, sweep = _checker({4: 0.01, 2: 0.01, 8: 0.01}, 0.05)
    fam, default = rk.checker_family(main, sweep)
    assert default == 4 and sorted(fam["cells"]) == [2, 4, 8]
    assert np.allclose(fam["p_holm"], multipletests(fam["p_value"], method="holm")[1])


# ----------------------------------------------------------------------------- claim 5: spiral needs v10

def _spiral(v10=0.99, singlu=0.44, others=0.6, sd=TIGHT, drop=(), **override):
    rows = reps("v10", "spiral", v10, sd) + reps("singlu", "spiral", singlu, sd)
    for a in rk.PHASE_FREE:
        if a not in ("singlu", *drop):
            rows += reps(a, "spiral", override.get(a, others), sd)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("kw, expected, parts", [
    ({}, verdicts.REPLICATED, ("holds", "holds", "holds")),
    ({"v1": 0.99, "sd": 0.01}, verdicts.NOT_REPLICATED, ("holds", "holds", "fails")),   # v1 solves it without a phase
    ({"singlu": 0.99}, verdicts.NOT_REPLICATED, ("fails", "fails", "fails")),
    ({"singlu": 0.94}, verdicts.NOT_REPLICATED, ("holds", "fails", "holds")),    # 5 pp: magnitude misses [17, 174] pp
    ({"drop": ("v7",)}, verdicts.INCONCLUSIVE, ("holds", "holds", "inconclusive")),
    ({"sd": 0.6}, verdicts.INCONCLUSIVE, ("inconclusive", "holds", "inconclusive"))])       # 55 pp, p > 0.05
def test_verdict_spiral(kw, expected, parts):
    row = rk.verdict_spiral(_spiral(**kw))
    assert row["verdict"] == expected, row
    assert tuple(row["parts"][k] for k in ("direction", "magnitude", "mechanism")) == parts


# ----------------------------------------------------------------------------- claim 6: v10 best on Complex

def _complex(v10=0.008, others=0.02, sd=TIGHT, drop=(), **override):
    return pd.DataFrame([r for a in rk.STUDY if a not in drop
                         for r in reps(a, "complex4d", v10 if a == "v10" else override.get(a, others), sd)])


@pytest.mark.parametrize("kw, expected", [
    ({}, verdicts.REPLICATED),
    ({"v11": 0.0081}, verdicts.NOT_REPLICATED),       # v11 equivalent: v10 not the single best
    ({"singlu": 0.004}, verdicts.NOT_REPLICATED),     # SinGLU significantly better
    ({"drop": ("v15",)}, verdicts.INCONCLUSIVE),      # a study arch not run
    ({"v11": 0.012, "sd": 0.5}, verdicts.INCONCLUSIVE)])
def test_verdict_v10_complex(kw, expected):
    row = rk.verdict_v10_complex(_complex(**kw))
    assert row["verdict"] == expected, row


# ----------------------------------------------------------------------------- claim 7: v15 first on HiFreq

def _hifreq(v15=0.85, singlu=1.02, earlier=1.2, sd=TIGHT, drop=(), **override):
    rows = reps("v15", "hifreq", v15, sd) + reps("singlu", "hifreq", singlu, sd)
    for a in rk.EARLIER_THAN_V15:
        if a not in drop:
            rows += reps(a, "hifreq", override.get(a, earlier), sd)
    return pd.DataFrame(rows)


@pytest.mark.parametrize("kw, expected, parts", [
    ({}, verdicts.REPLICATED, ("holds", "holds")),
    ({"v12": 1.02}, verdicts.REPLICATED, ("holds", "holds")),            # equivalent to SinGLU: does not beat it
    ({"v13": 0.8}, verdicts.NOT_REPLICATED, ("holds", "fails")),         # an earlier design beat SinGLU first
    ({"v15": 1.0, "sd": 0.05}, verdicts.NOT_REPLICATED, ("fails", "holds")),  # 2%, not significant, equivalent
    ({"drop": ("v6",)}, verdicts.INCONCLUSIVE, ("holds", "inconclusive")),
    ({"sd": 0.8}, verdicts.INCONCLUSIVE, ("inconclusive", "inconclusive"))])
def test_verdict_v15_hifreq(kw, expected, parts):
    row = rk.verdict_v15_hifreq(_hifreq(**kw))
    assert row["verdict"] == expected, row
    assert (row["parts"]["direction"], row["parts"]["first"]) == parts


def test_every_row_is_one_claim_with_its_one_line_criterion():
    main = pd.concat([_wins(["win"] * 5 + ["loss"]), _complex(), _hifreq(),
                      _spiral().query("arch != 'v10' or task != 'spiral'"), _spiral().query("arch == 'v10'")])
    rows = rk.verdict_rows(main)
    assert [r["claim_id"] for r in rows] == list(rk.CRITERIA)
    for r in rows:
        assert r["criterion"] == rk.CRITERIA[r["claim_id"]] and "\n" not in r["criterion"]
        assert r["criterion_source"] == f"richneuron/criteria/{r['claim_id']}.md" and r["verdict"] in verdicts.VERDICTS


def test_every_row_carries_the_effect_of_the_comparison_it_judged():
    main = pd.concat([_wins(["win"] * 5 + ["loss"]), _complex(), _hifreq(),
                      _spiral().query("arch != 'v10' or task != 'spiral'"), _spiral().query("arch == 'v10'")])
    rows = {r["claim_id"]: r for r in rk.verdict_rows(main)}
    pub = lambda a, t: published.value(a, t)
    for claim, (task, a, b), k, study in [
            ("nested_ratio", ("nested2d", "vanilla", "singlu"), 1, 222),
            ("checkerboard_pp", ("checkerboard", "singlu", "vanilla"), 100, 35.9),
            ("spiral_needs_v10", ("spiral", "v10", "singlu"), 100, 100 * (pub("v10", "spiral") - pub("singlu", "spiral"))),
            ("v15_beats_singlu_hifreq", ("hifreq", "v15", "singlu"), 1, pub("v15", "hifreq") / pub("singlu", "hifreq"))]:
        c, e = rk.comparison(main, task, a, b), rows[claim]["effect"]
        assert (e["estimate"], e["low"], e["high"]) == pytest.approx((k * c.estimate, k * c.low, k * c.high)), claim
        assert e["published"] == pytest.approx(study) and e["scale"] == c.scale, claim
        assert verdicts.effect_text(e) in rows[claim]["ours"], claim       # the scorecard's number is the section's
    wins = rows["singlu_wins"]["effect"]
    assert (wins["estimate"], wins["published"], wins["low"]) == (5, 5, None)
    best = rk.verdict_v10_complex(_complex(singlu=0.004))["effect"]       # v10 beats all but SinGLU
    assert (best["estimate"], best["published"]) == (len(rk.STUDY) - 2, len(rk.STUDY) - 1)


# ----------------------------------------------------------------------------- rankings and variance

def test_friedman_ranks_accuracy_as_error():
    summ = pd.DataFrame([{"arch": a, "task": t, "mean": v} for t, vals in
                         (("nested2d", (1e-4, 1e-3, 1e-2)), ("complex4d", (1e-3, 1e-2, 1e-1)),
                          ("hifreq", (0.8, 0.9, 1.0)), ("memorize", (1e-6, 1e-5, 1e-4)),
                          ("spiral", (0.99, 0.9, 0.6)), ("checkerboard", (0.95, 0.8, 0.7)))
                         for a, v in zip(("a", "b", "c"), vals)])
    metrics = pd.DataFrame([{"task": t, "metric": m} for t, m in METRIC.items()])
    err = rk.error_table(summ, metrics)
    assert err.loc["spiral", "a"] == pytest.approx(0.01)
    res = rk.friedman(summ, metrics)
    assert res.rankdf["meanrank"].to_dict() == {"a": 1.0, "b": 2.0, "c": 3.0}
    assert res.pvalue == pytest.approx(st.friedmanchisquare(*err.to_numpy().T).pvalue)


def test_variance_table_splits_on_the_comparison_scale():
    """MSE that differs only between data draws (a factor e per draw) is all data on the log scale;
    accuracy that differs only between seeds is all initialisation."""
    rows = [{"arch": "a", "task": "nested2d", "metric": "mse", "test_mse": float(np.exp(d)), "diverged": False,
             "seed": s, "data_seed": d} for d in range(3) for s in range(4)]
    rows += [{"arch": "a", "task": "spiral", "metric": "accuracy", "test_accuracy": 0.5 + 0.1 * s, "diverged": False,
              "seed": s, "data_seed": d} for d in range(3) for s in range(4)]
    vt = rk.variance_table(pd.DataFrame(rows)).set_index("task")
    assert vt.loc["nested2d", "data"] == pytest.approx(1) and vt.loc["spiral", "data"] == pytest.approx(0)
    assert vt.loc["nested2d", "scale"] == "log"
    s = rk.variance_summary(vt.reset_index()).set_index("task")
    assert s.loc["all tasks", "median data share"] == pytest.approx(0.5) and s.loc["all tasks", "archs"] == 2


def test_verdict_cells_cover_what_the_verdicts_read_and_no_more():
    blocks = rk.verdict_cells(list(rk.STUDY))
    cells = {(a, t) for archs, ts in blocks for a in archs for t in ts}
    assert cells >= {(a, "complex4d") for a in rk.STUDY} | {(a, "hifreq") for a in rk.STUDY}
    assert {a for a, t in cells if t == "spiral"} == set(rk.PHASE_FREE) | {"v10"}
    assert {a for a, t in cells if t in ("nested2d", "memorize", "checkerboard")} == {"vanilla", "singlu"}
    assert len(cells) == 2 * len(rk.STUDY) + len(rk.PHASE_FREE) + 1 + 2 * 3


# ----------------------------------------------------------------------------- the notebook's runs

def _keys(*exps):
    from richneuron.experiment import cell_key
    flat = [x for e in exps for x in (e if isinstance(e, list) else [e])]
    return sorted(cell_key(c) for x in flat for c in x.cells)


@pytest.mark.parametrize("quick", [False, True])
def test_experiments_are_the_notebooks_runs(quick):
    """Each named experiment has exactly the cells built by hand with protocol.main_grid: the sweep skips the
    default difficulty (quick keeps one other value, and the first two tuning lrs), the robustness check reruns the
    verdicts' cells, SinGLU and Vanilla in the checkerboard sweep and the tuned runs under the one-ulp perturbation."""
    from types import SimpleNamespace
    from richneuron import protocol
    cfg = SimpleNamespace(quick=quick, archs=["vanilla", "singlu", "v10"], seeds=[0, 1], data_seeds=[0, 1], steps=20)
    lrs = [3e-4, 1e-3, 3e-3]
    chosen = pd.DataFrame([{"arch": a, "task": t, "lr": 1e-3 if a == "singlu" else 3e-3}
                           for a in ("vanilla", "singlu") for t in rk.STANDARD])
    plan = dict(diff_archs=["singlu", "v10"], diff_seeds=[0], turns=[1.0, 2.0, 3.0], cells=[4, 6, 8], lrs=lrs,
                validation=0.2)
    first = rk.experiments(cfg, **plan)
    assert set(first) == {"main", "spiral", "checkerboard", "tuning"}
    exps = rk.experiments(cfg, **plan, chosen=chosen)
    turns, cells = ([1.0], [6]) if quick else ([1.0, 3.0], [6, 8])
    grid = lambda archs, tasks, seeds, **kw: protocol.main_grid(archs, tasks, seeds, 20, data_seeds=[0, 1], **kw)
    torch_ = dict(protocol.CHECK)
    want = {"main": grid(cfg.archs, rk.STANDARD, [0, 1]),
            "spiral": grid(["singlu", "v10"], ["spiral"], [0], task_options={"turns": turns}),
            "checkerboard": grid(["singlu", "v10"], ["checkerboard"], [0], task_options={"cells": cells}),
            "tuning": pr.tuning_grid(["vanilla", "singlu"], rk.STANDARD, 20, lrs[:2] if quick else lrs, validation=0.2),
            "tuned": pr.tuned_grids(chosen, [0, 1], 20, data_seeds=[0, 1]),
            "check_main": [grid(a, t, [0, 1], **torch_) for a, t in rk.verdict_cells(cfg.archs)],
            "check_sweep": grid(["singlu"], ["checkerboard"], [0], task_options={"cells": cells}, **torch_),
            "check_tuned": pr.tuned_grids(chosen, [0, 1], 20, data_seeds=[0, 1], **torch_)}
    assert set(exps) == set(want)
    for name in want:
        assert _keys(exps[name]) == _keys(want[name]), name


def test_cost_text_counts_replicas_and_model_steps_by_group():
    from richneuron import protocol
    exps = {"main": protocol.main_grid(["vanilla", "singlu"], ["spiral"], [0, 1], 10, data_seeds=[0, 1, 2]),   # 12 x 10
            "spiral": protocol.main_grid(["v10"], ["spiral"], [0], 10, task_options={"turns": [1.0, 3.0]}),   # 2 x 10
            "check_main": [protocol.main_grid(["v10"], ["spiral"], [0, 1], 10, **protocol.CHECK)]}          # 2 x 10
    text = rk.cost_text(exps)
    assert "main grid (shared with the other notebooks) 12 replicas (120 model-steps)" in text
    assert "difficulty sweep 2 replicas (20 model-steps)" in text
    assert "In all 14 replicas, 140 model-steps; the robustness check's runs are counted with the verdicts" in text


def test_comparisons_are_at_the_draw_level():
    """Every comparison of a finding passes the runs' data draws: a paired t on per-draw mean log errors."""
    m = table(reps("a", "nested2d", 1e-2, 0.3), reps("b", "nested2d", 2e-2, 0.3))
    c = rk.comparison(m, "nested2d", "a", "b")
    mean_log = lambda a: np.log(m[m["arch"] == a].groupby("data_seed")["test_mse"].apply(lambda v: np.exp(np.log(v).mean())))
    ref = st.ttest_rel(mean_log("a"), mean_log("b"))
    assert c.level == "draw, paired" and c.n_draws == 6 and c.p_value == pytest.approx(ref.pvalue)
    assert rk.family(m, [("nested2d", "a", "b")])["p_value"].iloc[0] == pytest.approx(ref.pvalue)


def test_checks_read_only_the_check_cells_and_give_rounding_checks_verdicts():
    """`checks` through `robustness.checked_verdicts` with a stand-in for the engine returning the given
    metrics of the (arch, task) cells asked for: each row's verdict is `verdicts.rounding_check`'s with the
    check's rows computed on every check cell, and no cell outside the planned check is asked for."""
    from types import SimpleNamespace
    from richneuron.analysis import robustness as rb
    from richneuron.experiment import cell_key
    main = pd.concat([_wins(["win"] * 5 + ["loss"]), _complex(), _hifreq(),
                      _spiral().query("arch != 'v10' or task != 'spiral'"), _spiral().query("arch == 'v10'")])
    cfg = SimpleNamespace(quick=False, archs=list(dict.fromkeys(main["arch"])), seeds=[0, 1], data_seeds=6, steps=20)
    chosen = pd.DataFrame([{"arch": a, "task": t, "lr": 1e-3} for a in rk.PAIR for t in rk.STANDARD])
    exps = rk.experiments(cfg, diff_archs=[], diff_seeds=[0], turns=[], cells=[], lrs=[1e-3], validation=0.2,
                          chosen=chosen)
    planned = {cell_key(c) for e in exps["check_main"] for c in e.cells}
    verdict_metrics = {"main": main, "tuned": None, "checkerboard": None}
    moved = main.copy()
    moved.loc[(moved["arch"] == "v10") & (moved["task"] == "spiral"), "test_accuracy"] -= 0.3     # v10 loses spiral
    asked = []

    def run(es):
        asked.extend(cell_key(c) for e in es for c in e.cells)
        cells_ = {(a, t) for e in es for a in e.archs for t in e.tasks}
        return SimpleNamespace(metrics=moved[[(a, t) in cells_ for a, t in zip(moved["arch"], moved["task"])]])
    rows = rb.checked_verdicts(rk.checks(exps, verdict_metrics), run=run)
    assert set(asked) <= planned
    want = [verdicts.rounding_check(a, b) for a, b in zip(rk.verdict_rows(main), rk.verdict_rows(moved))]
    assert [r["verdict"] for r in rows] == [w["verdict"] for w in want]
    assert [r["verdict"] for r in rows] != [r["verdict"] for r in rk.verdict_rows(main)]       # the move shows
