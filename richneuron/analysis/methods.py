"""Notebook 00: task and width tables, the protocol table, the calibration sweep."""
import inspect

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .. import neurons, protocol, stats, tasks
from . import width

SHAPES = {"2→1": (2, 1), "4→1": (4, 1), "1→1": (1, 1), "8→4": (8, 4), "2→2 (classes)": (2, 2)}


def task_table():
    """One row per task: shapes, sizes, metric, options and sanity baselines at the defaults."""
    rows = []
    for name in tasks.available():
        t = tasks.make(name)
        doc = inspect.getdoc(tasks.TASKS[name]).split("\n")[0]
        rows.append({"task": name, "kind": t.kind, "in→out": f"{t.in_dim}→{t.out_dim}", "train": len(t.x_train),
                     "test": len(t.x_test), "metric": t.metric,
                     **{k: stats.fmt(v) for k, v in t.baselines.items()}, "what": doc})
    return pd.DataFrame(rows).fillna("–")


def width_table(budgets, depth=protocol.DEPTH):
    """Matched width and exact count for every arch × shape × budget (from `width.width_table`)."""
    label = {io: name for name, io in SHAPES.items()}
    t = width.width_table(neurons.available(), {io: [] for io in SHAPES.values()}, budgets, [depth])
    t["shape"] = [label[(i, o)] for i, o in zip(t["in"], t["out"])]
    t["off_by_pct"] = (100 * t["params_vs_budget"]).round(2)
    order = {a: k for k, a in enumerate(neurons.available())}
    t = t.sort_values(["arch", "shape", "budget"], key=lambda c: c.map(order) if c.name == "arch" else
                      (c.map(list(SHAPES).index) if c.name == "shape" else c), kind="stable")
    return t[["arch", "shape", "budget", "width", "params", "off_by_pct"]].reset_index(drop=True)


def protocol_table():
    rows = [("budget", protocol.BUDGET, "parameters per model; the study: ~5K for memorization, 3K–8K overall"),
            ("depth", protocol.DEPTH, "hidden layers of the neuron, then a linear head (not stated by the study)"),
            ("optimizer", "Adam (default betas), full batch", "not stated by the study"),
            ("learning rate", protocol.LR, "constant; chosen by the calibration below"),
            ("steps", protocol.STEPS, "full-batch steps (not stated by the study)"),
            ("seeds", protocol.SEEDS, f"model-initialisation seeds 0..{protocol.SEEDS - 1} on each data draw (the study: 3 seeds)"),
            ("ω", 1.0, "every sine neuron's default (not stated by the study); swept in 05"),
            ("init", "PyTorch default Linear", "SIREN init is an option (init='siren')"),
            ("loss", "MSE / cross-entropy", "regression / classification"),
            ("data draws", protocol.DATA_SEEDS, f"data seeds 0..{protocol.DATA_SEEDS - 1} per task: "
             f"{protocol.SEEDS * protocol.DATA_SEEDS} replicas per arch and task in every scorecard comparison"),
            ("statistics", "Welch t on log MSE / accuracy, Holm within a claim",
             "stats.compare; equivalence by TOST; rounding check with torch's kernels")]
    return pd.DataFrame(rows, columns=["setting", "value", "note"])


def calibration(metrics, column):
    """Mean test score per arch × task × swept value, and its rank among the values (1 = best)."""
    s = stats.summarize(metrics, by=("arch", "task", column))
    metric_of_task = metrics.groupby("task")["metric"].first().to_dict()
    return stats.ranks(s, metric_of_task, within=("arch", "task"))


def choice_summary(scores, column, chosen):
    """How the chosen value fares: best count, within-2× count, mean rank."""
    pairs, best, near, ranks = 0, 0, 0, []
    for (arch, task), g in scores.groupby(["arch", "task"]):
        pairs += 1
        row = g[np.isclose(g[column], chosen)]
        if row.empty:
            continue
        r, v = row["rank"].iloc[0], row["mean"].iloc[0]
        ranks.append(r)
        best += int(r == 1)
        if task in ("spiral", "checkerboard"):
            near += int(g["mean"].max() - v <= 0.02)        # within 2 accuracy points
        else:
            near += int(v <= 2 * g["mean"].min())
    return {"pairs": pairs, "best": best, "near_best": near, "mean_rank": float(np.mean(ranks)) if ranks else float("nan")}


def calibration_figure(lr_scores, lr_col, om_scores, om_col):
    tasks_ = list(dict.fromkeys(lr_scores["task"]))
    fig, axes = plt.subplots(2, len(tasks_), figsize=(2.6 * len(tasks_), 4.6), squeeze=False)
    for j, t in enumerate(tasks_):
        for i, (s, col) in enumerate(((lr_scores, lr_col), (om_scores, om_col))):
            ax = axes[i, j]
            d = s[s["task"] == t]
            if d.empty:
                ax.set_visible(False)
                continue
            sns.lineplot(d, x=col, y="mean", hue="arch", marker="o", ax=ax, legend=(j == 0))
            ax.set(xscale="log", title=t if i == 0 else "", xlabel=col, ylabel="test score" if j == 0 else "")
            if d["mean"].min() > 0 and t not in ("spiral", "checkerboard"):
                ax.set_yscale("log")
    fig.suptitle("calibration: test score (mean over seeds) vs learning rate (top) and ω (bottom)", fontsize=9)
    fig.tight_layout()
    return fig
