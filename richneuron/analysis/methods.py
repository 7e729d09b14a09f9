"""Notebook 00, the paper's Methods: the neurons' and tasks' definitions (from their docstrings), the
widths, the protocol and the statistics (from the code's constants), and the calibration sweep."""
import inspect

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from .. import models, neurons, plots, protocol, stats, tasks, train
from . import width

# Every task's input→output shape (the study's nine and the real tasks: camera is 2→1 like nested2d,
# diabetes 10→1, digits 64→10); `task_shapes` reads them from the tasks, and a test holds SHAPES to them.
SHAPES = {"2→1": (2, 1), "4→1": (4, 1), "1→1": (1, 1), "8→4": (8, 4), "2→2 (classes)": (2, 2),
          "10→1": (10, 1), "64→10 (classes)": (64, 10)}


def task_shapes(group="all"):
    """{task: (in_dim, out_dim)} of every task of `group` at its defaults (data seed 0)."""
    return {name: (tasks.make(name).in_dim, tasks.make(name).out_dim) for name in tasks.available(group)}


def _doc(obj):
    """An object's docstring as one line of text (the code's own statement of what it computes),
    without the docstring's code backticks, which an HTML table would print as they are."""
    return " ".join((inspect.getdoc(obj) or "").replace("`", "").split())


def _options(fn, skip=("in_features", "width", "generator")):
    """A callable's keyword options with their defaults, as text."""
    ps = [p for p in inspect.signature(fn).parameters.values() if p.name not in skip and p.default is not p.empty]
    return ", ".join(f"{p.name} = {p.default!r}" for p in ps) or "–"


def model_text():
    """How a model is built and budget-matched, from the models module and class docstrings."""
    return (f"{_doc(models)} The head is a linear layer with bias. Parameters are *meta* (modulating) where a "
            "neuron lists them below, *direct* otherwise; the engine logs gradients per role.")


def neuron_table():
    """Every neuron id, the study's then the peers: its definition as its class docstring states it
    (equation, parameters per layer, init, source), its options with defaults and its meta parameters."""
    rows = [{"id": a, "group": "study" if "study" in neurons.tags(a) else "peer", "definition": _doc(neurons.get(a)),
             "options (defaults)": _options(neurons.get(a)), "meta parameters": ", ".join(neurons.get(a).META) or "–"}
            for a in neurons.available("all")]
    return pd.DataFrame(rows)


def generator_table():
    """Every task's generator as its docstring states it (formula, ranges, noise) with every
    option and its default (sizes, difficulty, noise)."""
    rows = [{"task": name, "generator": _doc(tasks.generator(name)),
             "options (defaults)": ", ".join(f"{k} = {v!r}" for k, v in tasks.options_of(name).items())}
            for name in tasks.available("all")]
    return pd.DataFrame(rows)


def task_table():
    """One row per task (the study's nine, then the real-data tasks): shapes, sizes, metric and
    sanity baselines at the defaults (data seed 0)."""
    rows = []
    for name in tasks.available("all"):
        t = tasks.make(name)
        rows.append({"task": name, "kind": t.kind, "in→out": f"{t.in_dim}→{t.out_dim}", "train": len(t.x_train),
                     "test": len(t.x_test), "metric": t.metric, **{k: stats.fmt(v) for k, v in t.baselines.items()}})
    return pd.DataFrame(rows).fillna("–")


def width_table(budgets, depth=protocol.DEPTH):
    """Matched width and exact count for every arch × shape × budget (from `width.width_table`)."""
    label = {io: name for name, io in SHAPES.items()}
    t = width.width_table(neurons.available("all"), {io: [] for io in SHAPES.values()}, budgets, [depth])
    t["shape"] = [label[(i, o)] for i, o in zip(t["in"], t["out"])]
    order = {a: k for k, a in enumerate(neurons.available("all"))}
    t = t.sort_values(["arch", "shape", "budget"], key=lambda c: c.map(order) if c.name == "arch" else
                      (c.map(list(SHAPES).index) if c.name == "shape" else c), kind="stable")
    return t[["arch", "shape", "budget", "width", "params"]].reset_index(drop=True)


def width_pivot(widths, budget=protocol.BUDGET):
    """Width (exact parameter count) per arch and shape at one budget, as text cells."""
    w = widths[widths["budget"] == budget]
    cells = w.assign(v=[f"{a} ({b:,})" for a, b in zip(w["width"], w["params"])])
    return cells.pivot(index="arch", columns="shape", values="v").loc[list(dict.fromkeys(w["arch"])), list(SHAPES)]


def protocol_table():
    """The default protocol, every value read from the code (protocol, train, neurons, models)."""
    adam = inspect.signature(train.Adam.__init__).parameters
    omega = inspect.signature(neurons.SinGLU).parameters["omega"].default
    rows = [("budget", f"{protocol.BUDGET:,}", f"parameters per model, matched within ±{models.TOLERANCE:.0%} by the width"),
            ("depth", protocol.DEPTH, "hidden layers of the neuron, then a linear head"),
            ("optimizer", f"Adam, betas {adam['betas'].default}, eps {adam['eps'].default:g}, full batch",
             "one Adam per replica; no clipping, no schedule, no weight decay"),
            ("learning rate", f"{protocol.LR:g}", "constant; chosen by the calibration below"),
            ("steps", f"{protocol.STEPS:,}", "full-batch steps"),
            ("seeds", protocol.SEEDS, f"model-initialisation seeds 0..{protocol.SEEDS - 1} on each data draw"),
            ("data draws", protocol.DATA_SEEDS, f"data seeds 0..{protocol.DATA_SEEDS - 1} per task: "
             f"{protocol.SEEDS * protocol.DATA_SEEDS} replicas per arch and task in every scorecard comparison"),
            ("draw shown", protocol.DATA_SEED, "the data draw of figures that show one draw (learned functions)"),
            ("ω", f"{omega:g}", "every sine neuron's default (SIREN: its own, see the neurons); swept in 05 and 06"),
            ("init", neurons.INITS[0], f"PyTorch's default Linear init; options: {', '.join(neurons.INITS)}"),
            ("loss", "MSE / cross-entropy", "regression / classification; the score is test MSE / accuracy"),
            ("divergence", f"NaN/inf, or final loss > start and > {train.DIVERGENCE_FACTOR:g}× the best constant's",
             "such a replica's scores are NaN: left out of the statistics and counted"),
            ("robustness check", f"{protocol.CHECK}", "every scorecard comparison rerun with "
             "every initial weight moved by one ulp (a direction per weight from a separate seed), part by part "
             "and only as far as a part can still change the verdict (analysis.robustness)")]
    return pd.DataFrame(rows, columns=["setting", "value", "note"]).astype(str)


def statistics_text():
    """The statistics as stats.py states them: its module docstring, then the verdict rule."""
    return inspect.getdoc(stats) + "\n\n**Verdicts.** " + stats.RULE


def tasks_text():
    """What every task shares (inputs, sizes, test sets, validation split), from the tasks module docstring."""
    return inspect.getdoc(tasks)


def tasks_figure():
    """The training data of every task at its defaults (data seed 0), and its caption."""
    names = tasks.available()
    fig, axes = plots.grid(len(names), ncols=3)
    for name, ax in zip(names, axes):
        plots.draw_task(tasks.make(name), ax)
    fig.tight_layout()
    return fig, (f"The training data of the {len(names)} tasks at their defaults (data seed 0): 2-D inputs coloured "
                 "by target or class, 1-D targets against x (the shifted test range where the task has one), and "
                 "for memorize the distribution of its random targets.")


def statistics_table():
    """The statistics' constants, read from stats.py."""
    band = inspect.signature(stats.magnitude).parameters["band"].default
    conf = inspect.signature(stats.compare).parameters["confidence"].default
    rows = [("significance level α", f"{stats.ALPHA:g}", "Holm-adjusted within each claim's family (statsmodels)"),
            ("confidence of intervals", f"{conf:.0%}", "draw level: a paired t on per-draw means across the draws "
             "both groups share (Welch on the draw means when they differ)"),
            ("equivalence margin, errors", f"×{stats.EQUIVALENCE['log']:g}", "TOST on log MSE at the draw level "
             "(statsmodels ttost_paired / ttost_ind)"),
            ("equivalence margin, accuracies", f"{100 * stats.EQUIVALENCE['linear']:g} pp", "TOST on accuracy"),
            ("magnitude band", f"×/÷{band:.4g} (√10)", "the claimed order of magnitude [claim/√10, claim·√10]"),
            ("ratio check band", f"×/÷{stats.BAND:.4g}", "a ratio of errors the check's runs move by more is not "
             "judged (no fixed error floor)"),
            ("robustness check", f"{protocol.CHECK_LABEL}: {protocol.CHECK}", _doc(stats.rounding_check))]
    return pd.DataFrame(rows, columns=["quantity", "value", "note"])


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
        if tasks.entry(task).kind == "classification":
            near += int(g["mean"].max() - v <= 0.02)        # within 2 accuracy points
        else:
            near += int(v <= 2 * g["mean"].min())
    return {"pairs": pairs, "best": best, "near_best": near, "mean_rank": float(np.mean(ranks)) if ranks else float("nan")}


def calibration_figure(lr_scores, lr_col, om_scores, om_col):
    """Mean test score against the learning rate (top row) and ω (bottom row) per task, one colour
    per arch (the report's), log axes; returns the figure and its caption."""
    tasks_ = list(dict.fromkeys(lr_scores["task"]))
    fig, axes = plt.subplots(2, len(tasks_), figsize=(2.6 * len(tasks_), 4.6), squeeze=False)
    for j, t in enumerate(tasks_):
        for i, (s, col) in enumerate(((lr_scores, lr_col), (om_scores, om_col))):
            ax = axes[i, j]
            d = s[s["task"] == t]
            if d.empty:
                ax.set_visible(False)
                continue
            archs = list(dict.fromkeys(d["arch"]))
            sns.lineplot(d, x=col, y="mean", hue="arch", hue_order=archs, palette=[plots.color(a) for a in archs],
                         marker="o", ax=ax, legend=(j == 0))
            ax.set(xscale="log", title=t if i == 0 else "", xlabel=col, ylabel="test score" if j == 0 else "")
            plots.log_axis(ax, "x")
            if d["mean"].min() > 0 and tasks.entry(t).kind != "classification":
                ax.set_yscale("log")
                plots.log_ticks(ax, "y")
    fig.suptitle("calibration: test score (mean over seeds) vs learning rate (top) and ω (bottom)", fontsize=9)
    fig.tight_layout()
    lrs, oms = sorted(set(lr_scores[lr_col])), sorted(set(om_scores[om_col]))
    return fig, (f"Calibration: mean test score over seeds of each arch on {len(tasks_)} tasks, against the learning "
                 f"rate ({', '.join(f'{v:g}' for v in lrs)}; top) and against ω for the sine archs "
                 f"({', '.join(f'{v:g}' for v in oms)}; bottom). MSE on log axes (lower is better), accuracy "
                 "linear (higher is better).")
