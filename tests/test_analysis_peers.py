"""Tests of notebook 07's analysis (richneuron.analysis.peers) on hand-made metrics tables."""
import numpy as np
import pandas as pd
import pytest

from richneuron import published, stats
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
    assert [(e.archs, e.tasks, e.cells[0]["lrs"], e.seeds) for e in exps] == [
        (["vanilla"], ["spiral"], [3e-3], [0, 1]), (["singlu"], ["memorize"], [1e-3], [0, 1])]


def test_tuning_grid_stacks_the_lrs_on_the_validation_split():
    e = pr.tuning_grid(["vanilla"], ["spiral"], 10, lrs=(1e-3, 1e-2))
    (cell,) = e.cells
    assert cell["lrs"] == [1e-3, 1e-2] and cell["seeds"] == [pr.TUNING_SEED]
    assert cell["task_options"] == {"validation": pr.VALIDATION}


def test_advantage_closes_is_the_first_budget_from_which_never_better_again():
    cmp = pd.DataFrame({"task": ["t"] * 4 + ["u"] * 2, "budget": [1, 2, 4, 8, 1, 2],
                        "better": [True, False, True, False, True, True]})
    assert pr.advantage_closes(cmp) == {"t": 8, "u": None}


def test_verdict_regime_counts_rows_whose_every_task_agrees():
    t = pd.DataFrame({"task type": ["A", "A", "B", "C"], "agrees": [True, False, True, True]})
    v, per_row = pr.verdict_regime(t)
    assert v == stats.CONDITIONAL and per_row.to_dict() == {"A": False, "B": True, "C": True}
    assert pr.verdict_regime(t.assign(agrees=True))[0] == stats.REPLICATED
    assert pr.verdict_regime(t.assign(agrees=[False, False, False, True]))[0] == stats.NOT_REPLICATED


@pytest.mark.parametrize("d, t, expected", [(5, 6, stats.REPLICATED), (2, 3, stats.NOT_REPLICATED),
                                            (2, 5, stats.CONDITIONAL), (4, 4, stats.CONDITIONAL)])
def test_verdict_wins_tuned(d, t, expected):
    assert pr.verdict_wins_tuned(d, t) == expected


def test_regime_map_names_the_published_best_and_its_ties():
    rng = np.random.default_rng(0)
    rows = []
    for arch, mu in (("singlu", 0.010), ("vanilla", 0.5), ("v10", 0.0102)):
        rows += _rows(arch, "nested2d", "mse", 1e-3, list(mu * np.exp(0.01 * rng.standard_normal(5))))
    t = pr.regime_map(pd.DataFrame(rows), ["singlu", "vanilla", "v10"], ["nested2d"])
    (r,) = t.to_dict("records")
    assert r["published best"] == published.regime_map()[0]["best"] == "singlu"
    assert r["our best"] == "singlu" and r["agrees"] and "v10" in r["tied with our best"]
    assert "vanilla" not in r["tied with our best"]


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
