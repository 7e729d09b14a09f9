"""Tests of notebook 07's analysis (richneuron.analysis.peers) on hand-made metrics tables."""
import numpy as np
import pandas as pd

from richneuron import protocol, published, stats, verdicts
from richneuron.analysis import peers as pr


def _rows(arch, task, metric, lr, scores, diverged=None, **extra):
    diverged = diverged or [False] * len(scores)
    return [{"arch": arch, "task": task, "metric": metric, "lr": lr, "seed": i, f"test_{metric}": s,
             "diverged": d, **extra} for i, (s, d) in enumerate(zip(scores, diverged))]


def test_chosen_lr_picks_best_validation_score_by_metric_direction():
    m = pd.DataFrame(
        _rows("a", "reg", "mse", 1e-3, [0.5]) + _rows("a", "reg", "mse", 1e-2, [0.1])
        + _rows("a", "reg", "mse", 3e-2, [0.01], diverged=[True])          # diverged: never chosen
        + _rows("a", "cls", "accuracy", 1e-3, [0.9]) + _rows("a", "cls", "accuracy", 1e-2, [0.7])
        + _rows("b", "cls", "accuracy", 1e-3, [0.8]) + _rows("b", "cls", "accuracy", 3e-4, [0.8]))  # tie -> smaller
    c = pr.chosen_lr(m).set_index(["arch", "task"])["lr"]
    assert c[("a", "reg")] == 1e-2 and c[("a", "cls")] == 1e-3 and c[("b", "cls")] == 3e-4


def test_tuned_grids_are_one_experiment_per_pair_at_the_chosen_lr():
    chosen = pd.DataFrame([{"arch": "vanilla", "task": "spiral", "lr": 3e-3}, {"arch": "singlu", "task": "memorize", "lr": 1e-3}])
    exps = pr.tuned_grids(chosen, [0, 1], 10)
    assert [(e.archs, e.tasks, e.cells[0]["lrs"], e.seed) for e in exps] == [
        (["vanilla"], ["spiral"], [3e-3], [0, 1]), (["singlu"], ["memorize"], [1e-3], [0, 1])]


def test_tuning_grid_stacks_the_lrs_on_the_validation_split():
    e = pr.tuning_grid(["vanilla"], ["spiral"], 10, lrs=(1e-3, 1e-2))
    (cell,) = e.cells
    assert cell["lrs"] == [1e-3, 1e-2] and cell["seeds"] == [pr.TUNING_SEED]
    assert cell["task_options"] == {"validation": pr.VALIDATION}


def test_advantage_closes_needs_equivalence_to_say_gone():
    cmp = pd.DataFrame({"task": ["t"] * 4 + ["u"] * 2 + ["w"] * 3, "budget": [1, 2, 4, 8, 1, 2, 1, 2, 4],
                        "better": [True, False, True, False, True, True, True, False, False],
                        "worse": [False] * 9,
                        "equivalent": [False, False, False, True, False, False, False, True, False]})
    # t: equivalent at 8 -> gone from 8; u: still better at the top; w: not better from 2, but only
    # equivalent at 2, not at 4 -> absence of evidence: inconclusive
    assert pr.advantage_closes(cmp) == {"t": ("gone", 8), "u": ("persists", None), "w": ("inconclusive", 2)}
    assert "inconclusive" in pr.closes_text(("inconclusive", 2)) and "8" in pr.closes_text(("gone", 8))


def test_scale_summary_is_holm_within_each_task_over_budgets():
    rng = np.random.default_rng(0)
    rows = []
    for b, (s_mu, v_mu) in {1000: (0.01, 0.1), 4000: (0.01, 0.0102)}.items():
        noise = np.exp(0.05 * rng.standard_normal(12))              # the same spread for both: 2% apart
        for arch, mu in (("singlu", s_mu), ("vanilla", v_mu)):
            rows += _rows(arch, "reg", "mse", 1e-3, list(mu * noise), budget=b, params=b, data_seed=0)
    m = pd.DataFrame(rows)
    _, cmp = pr.scale_summary(m)
    grp = lambda b, a: m[(m["budget"] == b) & (m["arch"] == a)]["test_mse"]
    ref = stats.holm([stats.compare(grp(b, "singlu"), grp(b, "vanilla"), scale="log").p_value for b in (1000, 4000)])
    np.testing.assert_allclose(cmp.sort_values("budget")["p_holm"], ref)
    assert cmp.sort_values("budget")["better"].tolist() == [True, False]
    assert pr.advantage_closes(cmp) == {"reg": ("gone", 4000)}          # equivalent within 1.25 at 4000


def _regime_scores(shift=None, archs=("singlu", "vanilla", "v10", "v15"), n=12, spread=0.05):
    """Every arch on every map task; each row's study-best clearly best unless `shift` says
    {(arch, task): factor} (an MSE multiplied, an accuracy shifted by factor - 1)."""
    rng = np.random.default_rng(1)
    rows = []
    for row in published.regime_map():
        for task in row["tasks"]:
            metric = "accuracy" if task == "spiral" else "mse"
            for arch in archs:
                good = arch == row["best"]
                f = (shift or {}).get((arch, task), 1.0)
                if metric == "mse":
                    vals = (0.01 if good else 0.1) * f * np.exp(spread * rng.standard_normal(n))
                else:
                    vals = (0.9 if good else 0.6) + (f - 1) + 0.01 * rng.standard_normal(n)
                rows += [{"arch": arch, "task": task, "metric": metric, "diverged": False, "data_seed": i // 2,
                          "seed": i % 2, "score": v} for i, v in enumerate(vals)]
    return pd.DataFrame(rows)


ARCHS = ["singlu", "vanilla", "v10", "v15"]


def test_regime_replicated_when_every_rows_best_is_significantly_best():
    row, table, fams = pr.verdict_regime(_regime_scores(), ARCHS)
    assert row["verdict"] == verdicts.REPLICATED and set(table["row"]) == {verdicts.HOLDS}
    assert row["effect"]["estimate"] == row["effect"]["published"] == len(table) == 6   # every row's best is best
    assert row["criterion"] == pr.REGIME_CRITERION and row["criterion_source"] == "richneuron/criteria/regime_map.md"
    fam = fams["Compositional / multiplicative"]                   # 3 others x 2 tasks, one Holm family
    assert len(fam) == 6
    np.testing.assert_allclose(fam["p_holm"], stats.holm(fam["p_value"]))


def test_regime_not_replicated_when_a_rows_best_is_significantly_beaten():
    # v10 beats SinGLU on complex4d (MSE 0.1 x 0.05 = 0.005 against SinGLU's 0.01)
    row, table, _ = pr.verdict_regime(_regime_scores({("v10", "complex4d"): 0.05}), ARCHS)
    t = table.set_index("task type")
    assert t.loc["Compositional / multiplicative", "row"] == verdicts.FAILS
    assert "v10 (complex4d)" in t.loc["Compositional / multiplicative", "beaten by"]
    assert row["verdict"] == verdicts.NOT_REPLICATED


def test_regime_inconclusive_when_a_row_is_tied_at_the_top():
    # vanilla's spiral accuracy lifted to v10's (0.9): neither better nor beaten
    row, table, _ = pr.verdict_regime(_regime_scores({("vanilla", "spiral"): 1.3}), ARCHS)
    assert table.set_index("task type").loc["Geometric / rotational (spirals)", "row"] == verdicts.UNSURE
    assert row["verdict"] == verdicts.INCONCLUSIVE


def test_regime_row_without_its_best_arch_is_inconclusive():
    s = _regime_scores()
    row, table, _ = pr.verdict_regime(s[s["arch"] != "v15"], ["singlu", "vanilla", "v10"])
    t = table.set_index("task type")
    assert t.loc["Multi-scale frequencies (audio)", "row"] == verdicts.UNSURE
    assert t.loc["Multi-scale frequencies (audio)", "beaten by"] == "not in this run"
    assert row["verdict"] == verdicts.INCONCLUSIVE


def test_regime_conditional_is_not_reachable():
    # the map judges no condition sweep: a beaten row is never rescued into "only under conditions"
    for shift in ({("v10", "complex4d"): 0.05}, {("vanilla", "spiral"): 1.3}, None):
        assert pr.verdict_regime(_regime_scores(shift), ARCHS)[0]["verdict"] != verdicts.CONDITIONAL


def test_regime_map_keeps_only_the_maps_tasks():
    m = pd.DataFrame(_rows("singlu", "nested2d", "mse", 1e-3, [0.1, 0.2], data_seed=0)
                     + _rows("singlu", "checkerboard", "accuracy", 1e-3, [0.9, 0.8], data_seed=0))
    assert set(pr.regime_map(m, ["singlu"])["task"]) == {"nested2d"}


def test_scale_plot_draws_the_geometric_mean_and_every_seed():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = []
    for params, scores in ((1000, [1e-2, 1e-4]), (4000, [1e-3, 1e-5])):
        rows += _rows("a", "reg", "mse", 1e-3, scores, params=params, budget=params, predict_mean_mse=1.0)
    fig, ax = plt.subplots()
    pr.scale_plot(pd.DataFrame(rows), "reg", ["a", "absent"], ax)
    line = ax.get_lines()[0]
    np.testing.assert_allclose(line.get_ydata(), [1e-3, 1e-4])          # geometric, not arithmetic, means
    assert len(ax.collections[0].get_offsets()) == 4                   # every seed
    assert [ln.get_label() for ln in ax.get_lines()] == ["a", "predict mean"]
    plt.close(fig)


def test_regime_pairs_the_check_moves_beyond_the_band_are_not_judged():
    # tiny errors are judged like any (no fixed floor); the check's runs put SinGLU's memorize error 5x higher:
    # it is still best there (the check's verdict is the same), but that ratio is no measurement
    s = _regime_scores()
    mem = s["task"] == "memorize"
    s.loc[mem, "score"] = s.loc[mem, "score"] * 1e-6
    row, table, fams = pr.verdict_regime(s, ARCHS)
    assert fams["Pure memorization"]["better"].all() and row["verdict"] == verdicts.REPLICATED
    k = s.copy()
    k.loc[mem & (k["arch"] == "singlu"), "score"] *= 5
    row_k = pr.verdict_regime(k, ARCHS)[0]
    assert row_k["verdict"] == verdicts.REPLICATED
    final = verdicts.rounding_check(row, row_k)
    assert final["verdict"] == verdicts.INCONCLUSIVE and final["parts"]["Pure memorization"] == verdicts.UNSURE
    assert "not a measurement" in final["reason"] and "Pure memorization: memorize / singlu / vanilla" in final["reason"]


# ----------------------------------------------------------------------------- the notebook's face

def _cfg(tmp_path, quick=True, archs="vanilla,singlu,v10", seeds=2, data_seeds=2):
    from richneuron import notebook as nbk
    return nbk.setup(quick, seeds, archs, 10, str(tmp_path / "o"), str(tmp_path / "c"), str(tmp_path / "f"),
                     group="all", notebook="07_peers", data_seeds=data_seeds)


SWEEP_ARGS = dict(tuning_lrs="3e-4,1e-3,3e-3", tuning_tasks="spiral,memorize", validation=0.2,
                  siren_omegas="1,3,10", siren_seeds=3, scale_archs="vanilla,singlu,swiglu,v15",
                  scale_tasks="memorize,spiral", scale_budgets="1000,4000,16000", scale_seeds=1)


def test_sweeps_check_each_parameter_by_name(tmp_path):
    import pytest
    cfg = _cfg(tmp_path)
    for name, bad in (("validation", 0.7), ("validation", 1), ("siren_seeds", 0), ("scale_seeds", True),
                      ("tuning_tasks", "spiral,bogus"), ("scale_tasks", "bogus"), ("tuning_lrs", "1e-3,-1"),
                      ("scale_budgets", "50")):
        with pytest.raises(ValueError, match=name):
            pr.sweeps(cfg, **{**SWEEP_ARGS, name: bad})


def test_sweeps_quick_mode_adds_the_peers_and_trims_each_sweep(tmp_path):
    sw = pr.sweeps(_cfg(tmp_path), **SWEEP_ARGS)
    assert sw.archs == ["vanilla", "singlu", "v10", *pr.PEERS] and sw.study == ["vanilla", "singlu", "v10"]
    assert sw.tasks == list(pr.QUICK_TASKS) and sw.tune_tasks == ["spiral"]      # memorize is not in the grid
    assert sw.lrs == [3e-4, 1e-3] and sw.omegas == [1.0] and sw.budgets == [1000, 4000]
    assert sw.scale_tasks == ["memorize"] and sw.scale_archs == ["vanilla", "singlu", "swiglu"]   # v15 not run
    assert sw.omega_seeds == [0, 1] and sw.scale_seeds == [0]                    # at most the run's seeds
    full = pr.sweeps(_cfg(tmp_path, quick=False, archs="vanilla,singlu"), **SWEEP_ARGS)
    assert full.archs == ["vanilla", "singlu"] and full.tune_tasks == ["spiral", "memorize"]
    assert full.omegas == [1.0, 3.0, 10.0] and full.scale_tasks == ["memorize", "spiral"]


def test_experiments_define_every_sweep_and_the_tuned_runs_once_chosen(tmp_path):
    cfg = _cfg(tmp_path)
    sw = pr.sweeps(cfg, **SWEEP_ARGS)
    ex = pr.experiments(cfg, sw)
    assert set(ex) == {"main", "omega", "tuning", "scale", "check"}
    cells = lambda name: ex[name].cells
    assert {(c["arch"], c["task"]) for c in cells("main")} == {(a, t) for a in sw.archs for t in sw.tasks}
    assert all(c["data_seeds"] == [0, 1] and c["seeds"] == [0, 1] and c["lrs"] == [1e-3] for c in cells("main"))
    assert {c["arch"] for c in cells("omega")} == {"siren"} and all(c["omegas"] == [1.0] for c in cells("omega"))
    assert all(c["data_seeds"] == [0] for c in cells("omega") + cells("scale"))
    assert all(c["lrs"] == [3e-4, 1e-3] and c["task_options"] == {"validation": 0.2} for c in cells("tuning"))
    assert sorted({c["budget"] for c in cells("scale")}) == [1000, 4000]
    # the robustness check: the study's archs (no peers) on the map's tasks in the grid, perturbed by one ulp
    assert {c["arch"] for c in cells("check")} == {"vanilla", "singlu", "v10"}
    map_tasks = {t for row in published.regime_map() for t in row["tasks"]}
    assert {c["task"] for c in cells("check")} == map_tasks & set(sw.tasks)
    assert all(c.get("perturb") == protocol.CHECK["perturb"] and c["data_seeds"] == [0, 1] for c in cells("check"))
    chosen = pd.DataFrame([{"arch": "v10", "task": "spiral", "lr": 3e-4}])
    tuned = pr.experiments(cfg, sw, chosen=chosen)["tuned"]
    assert [(c["arch"], c["task"], c["lrs"], c["data_seeds"]) for e in tuned for c in e.cells] == [
        ("v10", "spiral", [3e-4], [0])]
    no_siren = pr.sweeps(_cfg(tmp_path, quick=False, archs="vanilla,singlu"), **SWEEP_ARGS)
    assert "omega" not in pr.experiments(cfg, no_siren)


def _as_metrics(scores):
    """Per-replica scores as a metrics table (test_<metric> columns)."""
    m = scores.copy()
    for metric in ("mse", "accuracy"):
        m[f"test_{metric}"] = m["score"].where(m["metric"] == metric)
    return m.drop(columns="score")


def test_the_check_turns_the_verdict_inconclusive_when_the_perturbation_changes_it():
    """`check` through `robustness.checked_verdict`, with a stand-in for the engine returning the given
    scores of the tasks it is asked for: against `verdicts.rounding_check` of the full check's row."""
    from types import SimpleNamespace as R
    from richneuron.analysis import robustness as rb
    sw = pr.Sweeps(archs=ARCHS, tasks=pr.regime_tasks(), study=ARCHS, lrs=[], tune_tasks=[], validation=0.2,
                   omegas=[], omega_seeds=[], scale_archs=[], scale_tasks=[], budgets=[], scale_seeds=[])
    main = _as_metrics(_regime_scores())
    exps = {"check": protocol.main_grid(ARCHS, pr.regime_tasks(), [0, 1], 10, data_seeds=[0, 1], **protocol.CHECK)}
    tab = {"regime_row": pr.verdict_regime(_regime_scores(), ARCHS)[0]}                 # replicated
    beaten = _as_metrics(_regime_scores({("v10", "complex4d"): 0.05}))         # not replicated under the check
    asked = []

    def run(es):
        asked.append({t for e in es for t in e.tasks})
        return R(metrics=beaten[beaten["task"].isin(asked[-1])])
    final = rb.checked_verdict(pr.check(exps, sw, tab, main), run=run)
    full = pr.verdict_regime(pr.regime_map(beaten, ARCHS, sw.tasks), ARCHS)[0]
    assert final["verdict"] == verdicts.INCONCLUSIVE == verdicts.rounding_check(tab["regime_row"], full)["verdict"]
    assert "complex4d" in asked[-1] and len(final["check_parts_run"]) == len(asked)       # it stops at the beaten row
    assert final["verdict_other_kernels"] == verdicts.NOT_REPLICATED and "perturbation" in final["reason"]
    assert verdicts.INCONCLUSIVE in pr.summary([], final)

def test_log_ticks_label_two_to_four_values_at_any_range():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    def labelled(lo, hi):
        fig, ax = plt.subplots()
        ax.plot([lo, hi], [0, 1])
        ax.set_xscale("log")
        pr.log_ticks(ax, "x")
        fig.canvas.draw()
        a, b = ax.get_xlim()
        out = [t.get_loc() for t in ax.xaxis.get_major_ticks()
               if a * (1 - 1e-9) <= t.get_loc() <= b * (1 + 1e-9) and t.label1.get_text()]
        plt.close(fig)
        return (a, b), out

    lim, ticks = labelled(1.2e-6, 2.4e-6)          # only 2e-6 in view: widened to 1e-6 .. 5e-6
    np.testing.assert_allclose(lim, (1e-6, 5e-6))
    np.testing.assert_allclose(ticks, [1e-6, 2e-6, 5e-6])
    lim, ticks = labelled(6.6e-4, 1.45e-3)         # only 1e-3 in view: 5e-4 .. 2e-3
    np.testing.assert_allclose(ticks, [5e-4, 1e-3, 2e-3])
    lim, ticks = labelled(1.5e-5, 6e-5)            # 2e-5 and 5e-5 in view: the view is kept
    assert lim[0] < 1.5e-5 and lim[1] > 6e-5 and len(ticks) == 2


def test_figures_are_saved_with_captions(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    saved = {}

    class Cfg:
        seeds, data_seeds, steps = [0, 1, 2, 3], [0, 1, 2], 10

        def save(self, fig, name, caption=""):
            saved[name] = caption

    sw = pr.Sweeps(archs=ARCHS, tasks=pr.regime_tasks(), study=ARCHS, lrs=[], tune_tasks=[], validation=0.2,
                   omegas=[], omega_seeds=[], scale_archs=[], scale_tasks=[], budgets=[], scale_seeds=[])
    scores = _regime_scores()
    t = {"regime_scores": scores, "regime_map": pr.verdict_regime(scores, ARCHS)[1]}
    pr.fig_regime(t, Cfg(), sw)
    assert "6 of 6" in saved["07_regime_map"]
    assert all(len(c) > 40 for c in saved.values())
