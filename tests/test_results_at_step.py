"""`Results.at_step`: the metrics read from the logged history equal a run stopped at that step."""
import numpy as np
import pandas as pd
import pytest

import richneuron as rn

ORDER = ["arch", "lr", "data_seed", "seed"]


def _run(steps):
    e = rn.Experiment(archs=["vanilla", "singlu"], tasks=["spiral"], seed=[0, 1], data_seed=[0, 1],
                      steps=steps, log_every=5, lr=[1e-3, 1e-2], width=8, budget=None)
    return rn.run(e, progress=False, workers=1)


def test_at_step_equals_a_shorter_run():
    full, short = _run(30), _run(15)
    a = full.at_step(0.5).metrics.sort_values(ORDER)
    b = short.metrics.sort_values(ORDER)
    assert (a["read_step"] == 15).all()
    np.testing.assert_array_equal(a["final_train_loss"].to_numpy(), b["final_train_loss"].to_numpy())
    np.testing.assert_array_equal(a["test_accuracy"].to_numpy(), b["test_accuracy"].to_numpy())
    assert a["train_accuracy"].isna().all()           # not logged: left empty, never the final value
    assert not a["diverged"].any()
    # the full length reads the final scores back
    c = full.at_step(1.0).metrics.sort_values(ORDER)
    np.testing.assert_array_equal(c["test_accuracy"].to_numpy(), full.metrics.sort_values(ORDER)["test_accuracy"].to_numpy())


def test_at_step_reads_the_last_logged_step_before_the_share():
    full = _run(30)
    assert (full.at_step(0.3).metrics["read_step"] == 5).all()     # 9 steps wanted; logged every 5


@pytest.mark.parametrize("share", [0, -0.1, 1.5])
def test_at_step_rejects_bad_shares(share):
    with pytest.raises(ValueError, match="share"):
        _run(10).at_step(share)


def test_published_history_holds_what_at_step_reads(tmp_path):
    from richneuron import report
    e = rn.Experiment(archs=["vanilla"], tasks=["spiral"], seed=[0, 1], data_seed=[0, 1], steps=30, log_every=5,
                      width=8, budget=None)
    res = rn.run(e, progress=False, workers=1, cache_dir=tmp_path)
    cells = report.publish.stored_cells({"01_x": [c["key"] for c in res.cells()]}, tmp_path)
    h = report.publish.history_read(cells, shares=(0.5, 1.0))
    assert len(h) == 2 * len(res.metrics) and set(h["step"]) == {15, 30}
    for share in (0.5, 1.0):
        got = h[h["share"] == share].sort_values(["data_seed", "seed"])
        want = res.at_step(share).metrics.sort_values(["data_seed", "seed"])
        np.testing.assert_array_equal(got["test_accuracy"].to_numpy(), want["test_accuracy"].to_numpy())
        np.testing.assert_array_equal(got["train_loss"].to_numpy(), want["final_train_loss"].to_numpy())


def test_at_step_history_ends_at_the_share():
    full = _run(30)
    at = full.at_step(0.5)
    assert at.history["step"].max() == 15 and full.history["step"].max() == 30


def test_at_step_reads_the_extra_sets_scores():
    def run(steps):
        e = rn.Experiment(archs=["vanilla"], tasks=["ood"], seed=[0], data_seed=[0, 1], steps=steps, log_every=5,
                          width=6, budget=None)
        return rn.run(e, progress=False, workers=1)
    full, short = run(20), run(10)
    extra = [c for c in full.metrics if c.endswith("_mse") and not c.startswith(("test_", "train_", "predict_"))]
    assert extra, "ood has an extra (in-range) set"
    a, b = full.at_step(0.5).metrics.sort_values("data_seed"), short.metrics.sort_values("data_seed")
    for c in extra + ["test_mse"]:
        np.testing.assert_array_equal(a[c].to_numpy(), b[c].to_numpy())


def test_learnt_nothing_is_derived_when_read_from_the_scores_at_the_step_read():
    from richneuron.results import Results
    # Two replicas of one stored cell (mse, predict-mean baseline 1.0), logged at steps 5 and 10: replica 0
    # ends above its baseline (it learnt nothing), replica 1 was above it at step 5 only.
    ids = [{"arch": "vanilla", "task": "nested2d", "data_seed": 0, "seed": s} for s in (0, 1)]
    metrics = [dict(k, replica=s, steps=10, metric="mse", test_mse=t, predict_mean_mse=1.0, final_train_loss=0.5,
                    diverged=False, cell="k") for s, (k, t) in enumerate(zip(ids, (1.2, 0.3)))]
    logged = {0: {5: 0.4, 10: 1.2}, 1: {5: 1.5, 10: 0.3}}
    history = [dict(k, steps_total=10, layer="all", step=st, quantity=q, value=v if q == "test_mse" else 0.5)
               for s, k in enumerate(ids) for st, v in logged[s].items() for q in ("loss", "test_mse")]
    res = Results([{"key": "k", "metrics": metrics, "history": history, "provenance": {}, "weights": {}}])
    assert res.metrics["learnt_nothing"].tolist() == [True, False]
    assert list(res.metrics.columns).index("learnt_nothing") == list(res.metrics.columns).index("diverged") + 1
    assert "1 learnt nothing" in repr(res) and "learnt_nothing" not in metrics[0]     # derived, never stored
    assert res.at_step(0.5).metrics["learnt_nothing"].tolist() == [False, True]
    assert res.at_step(1.0).metrics["learnt_nothing"].tolist() == [True, False]
    assert res.summary()["learnt_nothing"].item() == 1


def test_on_a_shifted_task_learnt_nothing_reads_the_training_fit_against_a_constants():
    from richneuron import tasks
    from richneuron.results import train_constant_mse, with_learnt_nothing
    y = tasks.make("ood", seed=3).y_train.double().numpy()
    constant = float(((y - y.mean(0)) ** 2).mean())              # by hand: the best constant's training MSE
    assert train_constant_mse("ood", "{}", 3) == pytest.approx(constant, rel=1e-12)
    rows = pd.DataFrame([dict(arch="v6", task="ood", data_seed=3, metric="mse", test_mse=9.0, predict_mean_mse=1.0,
                              final_train_loss=f * constant, diverged=False) for f in (0.01, 0.99, 1.000001, 2.0)])
    assert with_learnt_nothing(rows)["learnt_nothing"].tolist() == [False, False, True, True]
