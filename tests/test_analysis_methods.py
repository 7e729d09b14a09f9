"""PROTOCOL_RULE (notebook 00): the ranks, the tie interval and the choice against a hand computation."""
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from richneuron import protocol
from richneuron.analysis import methods

A, B, C, D = (1e-3, 10), (1e-3, 20), (1e-2, 10), (1e-2, 20)
# (arch, task, metric) -> {pair: the two replicas' validation scores}
SCORES = {("vanilla", "nested2d", "mse"): {A: [1, 4], B: [1, 1], C: [0.5, 2], D: [np.nan, 1]},
          ("singlu", "nested2d", "mse"): {A: [2, 2], B: [1, 1], C: [3, 3], D: [np.inf, 1]},
          ("vanilla", "spiral", "accuracy"): {A: [0.5, 0.7], B: [0.9, 0.9], C: [0.8, 0.6], D: [0.5, 0.5]}}
# By hand. vanilla/nested2d: geometric means A 2, B 1, C 1 (tied with B), D not finite -> ranks 3, 1.5, 1.5, 4.
# singlu/nested2d: A 2, B 1, C 3, D not finite -> 2, 1, 3, 4. vanilla/spiral (higher is better): A 0.6, B 0.9,
# C 0.7, D 0.5 -> 3, 1, 2, 4.
RANKS = {A: [3, 2, 3], B: [1.5, 1, 1], C: [1.5, 3, 2], D: [4, 4, 4]}


def _scores():
    rows = [{"arch": arch, "task": task, "metric": metric, "lr": lr, "steps": steps, "data_seed": k, "seed": 0,
             "score": v}
            for (arch, task, metric), by_pair in SCORES.items() for (lr, steps), vs in by_pair.items()
            for k, v in enumerate(vs)]
    return pd.DataFrame(rows)


def test_rule_ranks_pairs_and_chooses_as_by_hand():
    ranked = methods.rank_pairs(_scores())
    for i, (arch, task, _) in enumerate(SCORES):
        for pair, want in RANKS.items():
            got = ranked[(ranked["arch"] == arch) & (ranked["task"] == task) & (ranked["lr"] == pair[0])
                         & (ranked["steps"] == pair[1])]["rank"]
            assert got.item() == want[i], (arch, task, pair)
    summary = methods.rank_summary(ranked).set_index(["lr", "steps"])
    for pair, r in RANKS.items():
        assert summary.loc[pair, "mean_rank"] == pytest.approx(np.mean(r))
        d = np.subtract(r, RANKS[B])                  # B has the lowest mean rank (3.5 / 3)
        if d.std() == 0:
            low = high = d.mean()
        else:
            low, high = sps.ttest_1samp(d, 0).confidence_interval(0.95)
        assert (summary.loc[pair, "low"], summary.loc[pair, "high"]) == pytest.approx((low, high))
    assert summary["best"].to_dict() == {A: False, B: True, C: False, D: False}
    # A: differences 1.5, 1, 2, interval above 0; C: 0, 2, 1, interval spans 0; D: far above.
    assert summary["tied"].to_dict() == {A: False, B: True, C: True, D: False}
    choice = methods.rule_choice(summary.reset_index(), default_lr=1e-3)
    assert (choice["lr"], choice["steps"]) == C             # the tied pair with fewer steps
    s = summary.reset_index()
    assert methods.protocol_check(s, choice, lr=1e-2, steps=10).startswith("The protocol (defaults.py) uses what")
    assert "is tied with the best" in methods.protocol_check(s, choice, lr=1e-3, steps=20)
    assert "ranks below the best beyond the interval" in methods.protocol_check(s, choice, lr=1e-3, steps=10)
    assert "not in this run's grid" in methods.protocol_check(s, choice, lr=1e-3, steps=30)
    assert list(methods.rank_table(s).loc["0.001"]) == [f"{np.mean(RANKS[A]):.2f}", f"{np.mean(RANKS[B]):.2f}"]


def test_rule_breaks_ties_at_equal_steps_to_the_protocols_rate_then_the_mean_rank():
    s = pd.DataFrame({"lr": [3e-4, 1e-3, 1e-2, 3e-3], "steps": [20, 20, 20, 40], "mean_rank": [1.0, 1.5, 1.2, 1.1],
                      "tied": [True, True, True, True]})
    assert methods.rule_choice(s, default_lr=1e-3)["lr"] == 1e-3
    assert methods.rule_choice(s, default_lr=0.5)["lr"] == 3e-4
    assert methods.rule_choice(s.assign(tied=[False, False, True, True]), default_lr=1e-3)["lr"] == 1e-2


def test_rule_runs_on_validation_only_and_its_grid_holds_the_protocol():
    ex = methods.rule_grid(["vanilla"], ["spiral"], [0], [0, 1], quick=False)
    assert ex.task_options == {"validation": methods.VALIDATION} and 0 < methods.VALIDATION <= 0.5
    assert ex.steps == max(methods.STEP_GRID) and all(s % ex.log_every == 0 for s in methods.STEP_GRID)
    assert sorted(ex.lr) == sorted(methods.LR_GRID)
    assert protocol.LR in methods.LR_GRID and protocol.STEPS in methods.STEP_GRID, "the rule cannot check defaults.py"
    hist = pd.DataFrame({"arch": "vanilla", "task": "spiral", "data_seed": 0, "seed": 0, "lr": 1e-3,
                         "step": [0, 1000, 1000, 1500], "quantity": ["test_accuracy", "test_accuracy", "loss",
                                                                     "test_accuracy"],
                         "layer": "all", "value": [0.5, 0.75, 0.1, 0.8]})
    v = methods.validation_scores(hist, (1000, 2000))
    assert v[["steps", "metric", "score"]].values.tolist() == [[1000, "accuracy", 0.75]]
    assert not math.isnan(methods.rank_pairs(v)["rank"].item())


def test_the_protocol_table_states_the_learnt_nothing_rule_beside_the_divergence_rule():
    from richneuron import stats
    t = methods.protocol_table().set_index("setting")
    rows = list(t.index)
    assert rows.index("learnt nothing") == rows.index("divergence") + 1
    assert t.loc["learnt nothing", "note"] == stats.LEARNT_NOTHING_RULE and "stays in the statistics" in stats.LEARNT_NOTHING_RULE
