"""Reading store entries written by earlier versions: the one place that knows their differences.

Entries written before the payload checksum (`store.save_cell` now writes `payload_sha256`) were
trained before the divergence rule beyond NaN (`train.diverged`); `apply_divergence_rule` gives
them that rule when they are loaded. Nothing else in the package reads old formats.
"""
from . import tasks
from .train import baseline_loss, diverged


def apply_divergence_rule(doc):
    """The divergence rule (`train.diverged`) applied to an entry trained before it existed: the
    initial loss of each replica is its logged step-0 loss, the baseline recomputed from the task."""
    cfg = doc["config"]
    baseline = {d: baseline_loss(tasks.make(cfg["task"], seed=d, **cfg["task_options"])) for d in cfg["data_seeds"]}
    start = {(h["data_seed"], h["seed"], h["omega"], h["lr"]): h["value"] for h in doc["history"]
             if h["step"] == 0 and h["quantity"] == "loss" and h["layer"] == "all"}
    scores = {"final_train_loss"} | {k for r in doc["metrics"] for k in r
                                     if k.startswith(("train_", "test_")) or k.endswith(("_mse", "_accuracy"))}
    scores -= {"predict_zero_mse", "predict_mean_mse", "chance_accuracy", "uniform_accuracy"}
    for row in doc["metrics"]:
        init = start.get((row["data_seed"], row["seed"], row["omega"], row["lr"]))
        if init is not None and not row["diverged"] and diverged(row["final_train_loss"], init, baseline[row["data_seed"]]):
            row["diverged"] = True
            row.update({k: float("nan") for k in scores if k in row})
