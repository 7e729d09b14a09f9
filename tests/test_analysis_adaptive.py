"""Claim 8 (richneuron.analysis.adaptive): every branch of the verdict on hand-built per-replica tables."""
import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.multitest import multipletests

from richneuron import verdicts
from richneuron.analysis import adaptive as ad

TASKS = {"spiral": "accuracy", "nested2d": "mse"}
N = 12                                     # 2 seeds x 6 data draws


def _keys(n=N):
    return [{"data_seed": i // 2, "seed": i % 2} for i in range(n)]


def _scores(arch, task, centre, spread, rng, **extra):
    metric = TASKS[task]
    noise = rng.standard_normal(N)
    vals = centre * np.exp(spread * noise) if metric == "mse" else centre + spread * noise
    return [{"arch": arch, "task": task, "metric": metric, "diverged": False, **k, "score": v, **extra}
            for k, v in zip(_keys(), vals)]


def _start_end(arch, start, end, spread, rng, **extra):
    return pd.DataFrame([{"arch": arch, "task": t, **k, "start": s, "end": e, **extra}
                         for t in TASKS for k, s, e in zip(_keys(), start + spread * rng.standard_normal(N),
                                                            end + spread * rng.standard_normal(N))])


def tables(v10_spiral=0.6, phase_end=0.02, alpha_end_std=0.10, meta_x10=0.80, adaptive=("v6", "v7", "v10", "v11")):
    """A run where every part holds: each adaptive arch clearly worse than SinGLU, α/ω unmoved,
    v11's phase at 2% of its bound, a 10x meta learning rate helps v10 on spiral."""
    rng = np.random.default_rng(0)
    rows = []
    for task, metric in TASKS.items():
        good, bad = (0.70, 0.6) if metric == "accuracy" else (1e-3, 3e-3)
        rows += _scores("singlu", task, good, 0.01 if metric == "accuracy" else 0.05, rng)
        for a in adaptive:
            centre = v10_spiral if (a, task) == ("v10", "spiral") else bad
            rows += _scores(a, task, centre, 0.01 if metric == "accuracy" else 0.05, rng)
    meta = pd.DataFrame(_scores("v10", "spiral", 0.6, 0.01, rng, meta_lr_scale=1.0)
                        + _scores("v10", "spiral", meta_x10, 0.01, rng, meta_lr_scale=10.0))
    return {"scores": pd.DataFrame(rows),
            "alpha_mean": _start_end("v6", 0.5, 0.5, 0.005, rng) if "v6" in adaptive else pd.DataFrame(),
            "alpha_std": _start_end("v6", 0.10, alpha_end_std, 0.005, rng) if "v6" in adaptive else pd.DataFrame(),
            "omega": _start_end("v7", 1.0, 1.0, 0.002, rng) if "v7" in adaptive else pd.DataFrame(),
            "phase": _start_end("v11", 0.3, phase_end, 0.01, rng).assign(
                end=lambda d: phase_end * np.exp(0.1 * rng.standard_normal(len(d))), bound=0.1),
            "meta": meta}


def test_replicated_when_every_part_holds():
    row = ad.verdict(tables())
    assert row["verdict"] == verdicts.REPLICATED, row["reason"]
    assert set(row["parts"]) == set(ad.PARTS) and row["parts"].pop(ad.GRADIENT) == verdicts.NOT_TESTABLE
    assert set(row["parts"].values()) == {verdicts.HOLDS} and row["reposed"] == {ad.REPOSED: verdicts.HOLDS}
    assert "not testable as stated" in row["reason"] and "Adam" in row["reason"]
    assert row["criterion"] == ad.CRITERIA[ad.CLAIM] and row["criterion_source"] == f"richneuron/criteria/{ad.CLAIM}.md"


def test_not_replicated_when_an_adaptive_arch_beats_singlu():
    row = ad.verdict(tables(v10_spiral=0.95))          # v10: +25 pp over SinGLU on spiral
    assert (row["effect"]["estimate"], row["effect"]["published"]) == (1, 0)   # one test beats SinGLU; the study: none
    assert ad.verdict(tables())["effect"]["estimate"] == 0
    assert row["verdict"] == verdicts.NOT_REPLICATED
    assert row["parts"]["performance"] == verdicts.FAILS and "v10 on spiral" in row["ours"]


def test_inconclusive_when_a_part_neither_holds_nor_fails():
    row = ad.verdict(tables(phase_end=0.1))            # v11's phase at a tenth of its bound: undecided
    assert row["parts"]["phase ≈ 0 (v11)"] == verdicts.UNSURE
    assert row["verdict"] == verdicts.INCONCLUSIVE
    # it says what would settle it: the draws at which the observed effect would be resolved
    (s,) = row["settle"]
    assert s["label"].startswith("phase ≈ 0 (v11)") and s["draws"] >= 2 and "what would settle it" in row["reason"]


def test_conditional_is_not_reachable_a_failing_part_is_not_rescued():
    row = ad.verdict(tables(alpha_end_std=0.3))        # α spreads from 0.10 to 0.30: the router routes
    assert row["parts"]["alpha stuck (v6)"] == verdicts.FAILS
    assert row["verdict"] == verdicts.NOT_REPLICATED


def test_phase_is_judged_relative_to_its_bound_not_in_radians():
    # 0.05 rad is below the old 0.1-rad threshold (true by construction at ω = 1), but it is half
    # of v11's bound 0.1·ω: the phase is used, so "phase ≈ 0" fails.
    t = tables(phase_end=0.5)
    assert (t["phase"]["end"] * t["phase"]["bound"]).max() < 0.1
    fam = ad.phase_family(t["phase"])
    assert (fam["part"] == verdicts.FAILS).all()
    assert ad.verdict(t)["verdict"] == verdicts.NOT_REPLICATED


def test_missing_arch_makes_its_part_inconclusive():
    t = tables(adaptive=("v6", "v10", "v11"))          # no v7: ω not measured
    row = ad.verdict(t)
    assert row["parts"]["omega frozen (v7)"] == verdicts.UNSURE
    assert row["verdict"] == verdicts.INCONCLUSIVE and "omega frozen (v7)" in row["reason"]


def test_meta_lr_equivalent_scores_mean_not_helped():
    t = tables(meta_x10=0.6)                           # ×10 changes nothing: equivalent within 2 pp
    pairs = ad.meta_pairs(ad.meta_family(t["meta"]))
    assert pairs["part"].tolist() == [verdicts.FAILS]
    row = ad.verdict(t)
    assert row["reposed"][ad.REPOSED] == verdicts.FAILS and row["parts"][ad.GRADIENT] == verdicts.NOT_TESTABLE
    assert row["verdict"] == verdicts.REPLICATED                  # the re-posed part is ours: shown, not counted


def test_performance_family_is_holm_over_all_pairs():
    fam = ad.performance_family(tables()["scores"])
    assert len(fam) == 4 * len(TASKS)
    np.testing.assert_allclose(fam["p_holm"], multipletests(fam["p_value"], method="holm")[1])
    # direction: for MSE the ratio adaptive/SinGLU > 1 means worse; for accuracy a negative difference
    assert fam["worse"].all() and not fam["better"].any()


def test_one_uncorrected_win_among_many_tests_is_not_a_win_after_holm():
    rng = np.random.default_rng(3)
    rows = _scores("singlu", "spiral", 0.70, 0.02, rng)
    for i in range(54):                                 # 54 archs tied with SinGLU, one slightly ahead
        rows += _scores(f"a{i}", "spiral", 0.72 if i == 0 else 0.70, 0.02, rng)
    fam = ad.performance_family(pd.DataFrame(rows))
    assert fam.loc[fam["arch"] == "a0", "p_value"].iloc[0] < 0.05     # uncorrected: a "win"
    assert not fam["better"].any()                                    # Holm over 54: no win
    assert ad._all_hold(fam["part"]) != verdicts.FAILS


def test_no_change_fails_only_for_a_significant_change_at_least_the_margin():
    rng = np.random.default_rng(1)
    small = _start_end("v6", 0.10, 0.12, 0.003, rng)                  # significant but 0.02 < 0.05
    fam = ad.no_change_family({"alpha_std": small}, "linear", {"alpha_std": ad.ALPHA_MARGIN})
    assert (fam["p_holm"] < 0.05).all() and (fam["part"] != verdicts.FAILS).all()


def test_start_end_and_phase_use_keep_data_draws_apart():
    h = pd.DataFrame([{"arch": "v11", "task": "spiral", "data_seed": d, "seed": 0, "layer": lab, "omega": np.nan,
                       "step": step, "quantity": "phase_abs_mean", "value": v}
                      for d, scale in ((0, 1.0), (1, 2.0)) for lab in ("0", "1")
                      for step, v in ((0, 0.03 * scale), (10, 0.01 * scale))])
    t = ad.phase_use(h)
    assert len(t) == 2
    np.testing.assert_allclose(t.sort_values("data_seed")["end"], [0.1, 0.2])      # 0.01 / (0.1·ω), ω = 1
    np.testing.assert_allclose(t.sort_values("data_seed")["start"], [0.3, 0.6])


@pytest.mark.parametrize("metric, sign", [("mse", -1), ("accuracy", 1)])
def test_better_sign(metric, sign):
    assert ad.better_sign(metric) == sign


def test_tiny_errors_are_judged_by_their_ratio_no_fixed_floor():
    # memorize MSEs of 1e-7 against 1e-8: a 10x better that no fixed floor sets aside (the check decides)
    rng = np.random.default_rng(2)
    rows = [{"arch": a, "task": "memorize", "metric": "mse", "diverged": False, **k, "score": v}
            for a, mu in (("singlu", 1e-7), ("v10", 1e-8)) for k, v in zip(_keys(), mu * np.exp(0.1 * rng.standard_normal(N)))]
    fam = ad.performance_family(pd.DataFrame(rows))
    assert fam["p_holm"].iloc[0] < 0.05 and fam["better"].iloc[0] and fam["part"].iloc[0] == verdicts.FAILS
    row = ad.verdict({"scores": pd.DataFrame(rows)})
    assert [r["label"] for r in row["ratios"]] == ["v10 / memorize"] and row["ratios"][0]["parts"] == ["performance"]


# ----------------------------------------------------------------------------- parameter roles and the notebook's face

def test_grad_rms_counts_each_role_from_the_stored_weights():
    # Reference: the parameters of the modules each neuron lists in META, counted on a built model;
    # the stored weights also hold the ω buffer, which is no parameter.
    from torch import nn
    from richneuron import models
    from richneuron.experiment import Experiment
    from richneuron.results import Results
    from richneuron.train import run_cell
    cells = Experiment(archs=["v11", "v15"], tasks=["spiral"], seed=[0, 1], budget=None, width=4, steps=4,
                       log_every=2).cells
    res = Results([run_cell(c) for c in cells])
    assert [c["key"] for c in res.cells()] == [c["key"] for c in map(run_cell, cells)]      # public, in run order
    assert any(n.endswith(".omega") for c in res.cells() for n in c["weights"])
    g = ad.grad_rms(res)
    for arch in ("v11", "v15"):
        net = models.build_model(arch, 2, 2, width=4, depth=2, seed=0)
        want = {("head", "direct"): sum(p.numel() for p in net.head.parameters())}
        for i, layer in enumerate(net.layers):
            meta = sum(p.numel() for name in layer.META for p in
                       (getattr(layer, name).parameters() if isinstance(getattr(layer, name), nn.Module) else [getattr(layer, name)]))
            want[(str(i), "meta")], want[(str(i), "direct")] = meta, sum(p.numel() for p in layer.parameters()) - meta
        for r in ("direct", "meta"):
            want[("all", r)] = sum(n for (lab, rr), n in want.items() if rr == r and lab != "all")
        got = g[g["arch"] == arch].groupby(["layer", "role"])["n_params"].first().to_dict()
        assert got == {k: v for k, v in want.items() if v}, arch
        np.testing.assert_allclose(g["rms"], g["value"] / np.sqrt(g["n_params"]))
        assert models.roles(net) == {n: models.role(n, type(net.layers[0]).META) for n, _ in net.named_parameters()}


def test_weight_movement_recorded_in_training_equals_a_rebuilt_initial_model():
    # Reference: each replica's initial model rebuilt from its seed, the relative change of every
    # role's parameters recomputed by hand from it and the trained weights the store returns.
    import math
    from richneuron import models
    from richneuron.experiment import Experiment
    from richneuron.results import Results
    from richneuron.train import run_cell
    cells = Experiment(archs=["v6", "vanilla"], tasks=["spiral", "nested2d"], seed=[0, 1], budget=None, width=4,
                       steps=6, lr=0.05, log_every=3).cells
    res = Results([run_cell(c) for c in cells])
    wm = ad.weight_movement(res, ["v6", "vanilla"], ["spiral", "nested2d"], [0, 1])
    assert set(wm[wm["arch"] == "vanilla"]["role"]) == {"direct"} and set(wm[wm["arch"] == "v6"]["role"]) == {"direct", "meta"}
    assert len(wm) == 2 * 2 * 3
    for _, r in wm.iterrows():
        net = res.model(r["arch"], r["task"], r["seed"])
        init = models.build_model(r["arch"], net.in_dim, net.out_dim, width=4, depth=net.depth, seed=int(r["seed"]))
        p0, roles = dict(init.named_parameters()), models.roles(net)
        pairs = [(p.detach(), p0[n].detach()) for n, p in net.named_parameters() if roles[n][1] == r["role"]]
        want = math.sqrt(sum(float((a - b).pow(2).sum()) for a, b in pairs) / sum(float(b.pow(2).sum()) for _, b in pairs))
        assert r["relative change"] == pytest.approx(want, rel=1e-6) and want > 0


def _cfg(tmp_path, quick, archs="singlu,v6,v7,v10"):
    from richneuron import notebook as nbk
    return nbk.setup(quick, 4, archs, 3000, str(tmp_path / "o"), str(tmp_path / "c"), str(tmp_path / "f"),
                     notebook="03_adaptive_mechanisms", data_seeds=3)


def test_experiments_sweep_the_meta_archs_in_the_run_and_check_with_torch_kernels(tmp_path):
    from richneuron import protocol
    e = ad.experiments(_cfg(tmp_path, False), ["v6", "v9", "v10"], ["spiral", "hifreq"], [0.1, 1.0, 10.0], 3)
    assert e["main"].tasks == ad.TASKS and e["main"].archs == ["singlu", "v6", "v7", "v10"]
    assert e["meta"].archs == ["v6", "v10"] and e["meta"].meta_lr_scale == [0.1, 10.0] and e["meta"].seed == [0, 1, 2]
    assert e["check"].perturb == e["meta_check"].perturb == protocol.CHECK["perturb"] >= 1
    assert [c["arch"] for c in e["check"].cells] == [c["arch"] for c in e["main"].cells]
    q = ad.experiments(_cfg(tmp_path, True), ["v6"], ["spiral", "hifreq"], [0.1, 1.0, 10.0, 100.0], 4)
    assert q["meta"].tasks == ["spiral"] and q["meta"].meta_lr_scale == [100.0]
    assert ad.experiments(_cfg(tmp_path, True), ["v6"], ["spiral"], [1.0], 4)["meta"] is None
    with pytest.raises(ValueError, match="meta_tasks"):
        ad.experiments(_cfg(tmp_path, True), ["v6"], ["ood"], [10.0], 4)
    with pytest.raises(ValueError, match="no adaptive arch"):
        ad.experiments(_cfg(tmp_path, True, archs="singlu,vanilla"), ["v6"], ["spiral"], [10.0], 4)


def test_standing_counts_the_holm_family_and_ranks_every_arch():
    perf = ad.performance_family(tables(v10_spiral=0.95)["scores"])    # v10 beats SinGLU on spiral
    summary = pd.DataFrame([{"arch": a, "task": t, "mean": m} for t, by in
                            (("spiral", {"singlu": 0.7, "v6": 0.6, "v10": 0.95}), ("nested2d", {"singlu": 1e-3, "v6": 3e-3, "v10": 3e-3}))
                            for a, m in by.items()])
    metrics = pd.DataFrame({"task": ["spiral", "nested2d"], "metric": ["accuracy", "mse"]})
    st_ = ad.standing(perf, summary, metrics).set_index("arch")
    assert st_.loc["v10", "better than singlu"] == "1" and st_.loc["v10", "worse than singlu"] == "1"
    assert st_.loc["singlu", "better than singlu"] == "–"
    assert st_.loc["v10", "mean rank"] == "1.5" and st_.loc["singlu", "mean rank"] == "1.5"
    assert "1 (arch, task) pairs significantly better" in ad.performance_reading(perf, st_.reset_index())


def test_choice_names_the_parameter_the_value_and_the_choices():
    from richneuron import validate
    assert validate.choice("focus_task", "spiral", ad.TASKS) == "spiral"
    with pytest.raises(ValueError, match=r"focus_task must be one of .*spiral.*got 'spiro'"):
        validate.choice("focus_task", "spiro", ad.TASKS)


def test_figures_are_saved_with_their_captions(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    cfg, captions = _cfg(tmp_path, True), {}
    monkeypatch.setattr(type(cfg), "save", lambda self, fig, name, caption="": captions.setdefault(name, caption))
    perf = ad.performance_family(tables()["scores"])
    ad.vs_figure(perf, cfg)
    wm = pd.DataFrame([{"arch": "v6", "task": "spiral", "seed": s, "role": r, "relative change": c, "diverged": False}
                       for s in range(3) for r, c in (("direct", 0.5), ("meta", 0.05))])
    ad.weight_movement_figure(wm, cfg)
    ad.gradient_ratio_figure(pd.DataFrame({"arch": ["v6", "v6"], "task": ["spiral", "hifreq"], "meta/direct": [0.1, 0.4]}),
                             ["v6"], cfg)
    assert set(captions) == {"03_vs_singlu", "03_weight_movement", "03_gradient_ratio"}
    assert f"{len(perf)} tests" in captions["03_vs_singlu"] and "meta 0.05" in captions["03_weight_movement"]
    assert "median 0.25" in captions["03_gradient_ratio"]
