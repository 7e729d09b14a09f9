"""Notebook 00, the paper's Methods: the neurons' and tasks' definitions (from their docstrings), the
widths, the protocol and the statistics (from the code's constants), the rule that chooses the
protocol's learning rate and step count (PROTOCOL_RULE, stated before its data) with the check that
`defaults` holds its choice, and the ω calibration sweep."""
import inspect
import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from scipy import stats as sps

from .. import models, neurons, plots, protocol, stats, tasks, train, verdicts
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
            ("learning rate", f"{protocol.LR:g}", "constant; held to PROTOCOL_RULE below"),
            ("steps", f"{protocol.STEPS:,}", "full-batch steps; held to PROTOCOL_RULE below"),
            ("seeds", protocol.SEEDS, f"model-initialisation seeds 0..{protocol.SEEDS - 1} on each data draw"),
            ("data draws", protocol.DATA_SEEDS, f"data seeds 0..{protocol.DATA_SEEDS - 1} per task: "
             f"{protocol.SEEDS * protocol.DATA_SEEDS} replicas per arch and task in every scorecard comparison"),
            ("draw shown", protocol.DATA_SEED, "the data draw of figures that show one draw (learned functions)"),
            ("ω", f"{omega:g}", "every sine neuron's default (SIREN: its own, see the neurons); swept in 05 and 06"),
            ("init", neurons.INITS[0], f"PyTorch's default Linear init; options: {', '.join(neurons.INITS)}"),
            ("loss", "MSE / cross-entropy", "regression / classification; the score is test MSE / accuracy"),
            ("divergence", f"NaN/inf, or final loss > start and > {train.DIVERGENCE_FACTOR:g}× the best constant's",
             "such a replica's scores are NaN: left out of the statistics and counted"),
            ("learnt nothing", "test score no better than its own constant baseline", stats.LEARNT_NOTHING_RULE),
            ("robustness check", f"{protocol.CHECK}", "every scorecard comparison rerun with "
             "every initial weight moved by one ulp (a direction per weight from a separate seed), part by part "
             "and only as far as a part can still change the verdict (analysis.robustness)")]
    return pd.DataFrame(rows, columns=["setting", "value", "note"]).astype(str)


def statistics_text():
    """The statistics as stats.py states them: its module docstring, then the verdict rule."""
    return inspect.getdoc(stats) + "\n\n**Verdicts.** " + verdicts.RULE


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
    band = inspect.signature(verdicts.magnitude).parameters["band"].default
    conf = inspect.signature(stats.compare).parameters["confidence"].default
    rows = [("significance level α", f"{stats.ALPHA:g}", "Holm-adjusted within each claim's family (statsmodels)"),
            ("confidence of intervals", f"{conf:.0%}", "draw level: a paired t on per-draw means across the draws "
             "both groups share (Welch on the draw means when they differ)"),
            ("equivalence margin, errors", f"×{stats.EQUIVALENCE['log']:g}", "TOST on log MSE at the draw level "
             "(statsmodels ttost_paired / ttost_ind)"),
            ("equivalence margin, accuracies", f"{100 * stats.EQUIVALENCE['linear']:g} pp", "TOST on accuracy"),
            ("magnitude band", f"×/÷{band:.4g} (√10)", "the claimed order of magnitude [claim/√10, claim·√10]"),
            ("ratio check band", f"×/÷{verdicts.BAND:.4g}", "a ratio of errors the check's runs move by more is not "
             "judged (no fixed error floor)"),
            ("robustness check", f"{protocol.CHECK_LABEL}: {protocol.CHECK}", _doc(verdicts.rounding_check))]
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


def calibration_figure(scores, column):
    """Mean test score against the swept `column` (ω of the sine archs) per task, one colour per arch
    (the report's), log axes; returns the figure and its caption."""
    tasks_ = list(dict.fromkeys(scores["task"]))
    fig, axes = plt.subplots(1, len(tasks_), figsize=(2.6 * len(tasks_), 2.5), squeeze=False)
    for j, (t, ax) in enumerate(zip(tasks_, axes[0])):
        d = scores[scores["task"] == t]
        archs = list(dict.fromkeys(d["arch"]))
        sns.lineplot(d, x=column, y="mean", hue="arch", hue_order=archs, palette=[plots.color(a) for a in archs],
                     marker="o", ax=ax, legend=(j == 0))
        ax.set(xscale="log", title=t, xlabel=column, ylabel="test score" if j == 0 else "")
        plots.log_axis(ax, "x")
        if d["mean"].min() > 0 and tasks.entry(t).kind != "classification":
            ax.set_yscale("log")
            plots.log_ticks(ax, "y")
    fig.tight_layout()
    values = sorted(set(scores[column]))
    return fig, (f"Calibration of {column}: mean test score over seeds of each sine arch on {len(tasks_)} tasks "
                 f"against {column} ({', '.join(f'{v:g}' for v in values)}). MSE on log axes (lower is better), "
                 "accuracy linear (higher is better).")


# ----------------------------------------------------------------------------- the protocol's lr and steps

LR_GRID = (3e-4, 1e-3, 3e-3, 1e-2)          # the rule's learning rates
STEP_GRID = (1000, 2000, 3000, 4000)        # the rule's step counts (read from one run of the longest)
QUICK_LR_GRID, QUICK_STEP_GRID = (1e-3, 1e-2), (100, 200)     # quick mode: the mechanics only
VALIDATION = 0.25                           # share of each draw's training points held out
CONFIDENCE = 0.95                           # of the rank-difference interval that decides a tie

PROTOCOL_RULE = (
    "The protocol's learning rate and step count are the pair of the grid (rates "
    f"{', '.join(f'{v:g}' for v in LR_GRID)}; steps {', '.join(f'{v:,}' for v in STEP_GRID)}) that ranks best on "
    "validation data. Every calibration arch on every standard task trains at every rate for the grid's longest "
    f"step count, on each data draw's training points minus their last {VALIDATION:.0%} (memorize keeps its pairs: "
    "its score is the fit to them by definition), and its score on that held-out share is read from the run's log "
    "at every step count of the grid (Adam without a schedule: the checkpoint at a step is the shorter run); the "
    "test split is never seen. Per (arch, task) the pairs are ranked by their centre over seeds and draws "
    "(geometric-mean MSE, mean accuracy; 1 = best; equal centres share the mean rank; a pair with any non-finite "
    "score ranks last). The best pair has the lowest mean rank over the (arch, task) pairs. A pair whose rank "
    f"difference from the best, paired over the (arch, task) pairs, has a {CONFIDENCE:.0%} t interval containing 0 "
    "is tied with it. The rule's choice is, among the tied pairs, the one with the fewest steps, then the "
    "protocol's own learning rate if it is among them, then the lowest mean rank, then the smaller rate.")


def grids(quick):
    """(learning rates, step counts) of the rule: LR_GRID × STEP_GRID, or the quick ones."""
    return (QUICK_LR_GRID, QUICK_STEP_GRID) if quick else (LR_GRID, STEP_GRID)


def rule_grid(archs, task_list, seeds, data_seeds, quick):
    """The rule's runs: every arch × task × rate, `seeds` on each of `data_seeds`, trained on the
    training points minus their validation share for the longest step count, the validation score
    logged at every step count of the grid."""
    lrs, steps = grids(quick)
    return protocol.main_grid(archs, task_list, seeds, max(steps), data_seeds=data_seeds, lr=[float(v) for v in lrs],
                              task_options={"validation": VALIDATION}, log_every=math.gcd(*steps))


def validation_scores(history, step_grid):
    """One row per replica and step count of `step_grid`: arch, task, data_seed, seed, lr, steps,
    metric, score (the score on the validation share, as logged)."""
    h = history[history["quantity"].str.startswith("test_") & (history["layer"] == "all")
                & history["step"].isin(list(step_grid))]
    return pd.DataFrame({"arch": h["arch"].values, "task": h["task"].values, "data_seed": h["data_seed"].values,
                         "seed": h["seed"].values, "lr": h["lr"].astype(float).values,
                         "steps": h["step"].astype(int).values, "metric": h["quantity"].str[5:].values,
                         "score": h["value"].astype(float).values})


def rank_pairs(scores):
    """PROTOCOL_RULE's ranks: per (arch, task) each (lr, steps) pair's centre over its replicas
    (geometric mean of MSE, mean accuracy; NaN if any score is not finite) and its rank among the
    pairs (1 = best, equal centres share the mean rank, NaN centres rank last)."""
    rows = []
    for (arch, task, lr, steps), g in scores.groupby(["arch", "task", "lr", "steps"], sort=True):
        v, metric = g["score"].to_numpy(float), g["metric"].iloc[0]
        ok = np.isfinite(v).all() and (metric != "mse" or (v > 0).all())
        centre = (np.exp(np.log(v).mean()) if metric == "mse" else v.mean()) if ok else np.nan
        rows.append({"arch": arch, "task": task, "lr": lr, "steps": steps, "metric": metric, "centre": centre})
    t = pd.DataFrame(rows)
    lower = t["metric"].map(stats.LOWER_IS_BETTER).astype(bool)
    key = t["centre"].where(lower, -t["centre"])
    t["rank"] = key.groupby([t["arch"], t["task"]]).rank(method="average", na_option="bottom")
    return t


def rank_summary(ranked):
    """Per (lr, steps): mean rank over the (arch, task) pairs and its rank difference from the best
    pair (lowest mean rank; ties to fewer steps, then the smaller rate) with the CONFIDENCE t interval
    paired over the (arch, task) pairs; `tied` when that interval contains 0."""
    wide = ranked.pivot_table(index=["arch", "task"], columns=["lr", "steps"], values="rank")
    mean = wide.mean()
    best = min(mean.index, key=lambda k: (mean[k], k[1], k[0]))
    rows = []
    for (lr, steps), m in mean.items():
        d = (wide[(lr, steps)] - wide[best]).to_numpy(float)
        half = (sps.t.ppf(0.5 + CONFIDENCE / 2, len(d) - 1) * d.std(ddof=1) / math.sqrt(len(d))
                if len(d) > 1 and d.std(ddof=1) > 0 else 0.0)
        rows.append({"lr": lr, "steps": steps, "mean_rank": m, "pairs": len(d), "difference": d.mean(),
                     "low": d.mean() - half, "high": d.mean() + half, "best": (lr, steps) == best,
                     "tied": d.mean() - half <= 0})
    return pd.DataFrame(rows)


def rule_choice(summary, default_lr):
    """PROTOCOL_RULE's choice from `rank_summary`: among the tied pairs, the fewest steps, then
    `default_lr` if among them, then the lowest mean rank, then the smaller rate. Returns its row."""
    tied = summary[summary["tied"]]
    key = lambda r: (r["steps"], not np.isclose(r["lr"], default_lr), r["mean_rank"], r["lr"])
    return min((r for _, r in tied.iterrows()), key=key)


def rank_table(summary):
    """Mean rank by lr (rows) × steps (columns), as printed numbers."""
    t = summary.pivot(index="lr", columns="steps", values="mean_rank")
    t = t.map(lambda v: f"{v:.2f}").rename(index=lambda v: f"{v:g}", columns=lambda v: f"{v:,} steps")
    return t.rename_axis(index="learning rate", columns=None)


def rank_figure(summary, choice, lr=protocol.LR, steps=protocol.STEPS):
    """Heat map of the mean rank by lr × steps, the rule's choice boxed (black) and the protocol's
    pair (defaults.py) marked; returns the figure and its caption."""
    t = summary.pivot(index="lr", columns="steps", values="mean_rank")
    fig, ax = plt.subplots(figsize=(max(4.5, 1.1 * len(t.columns) + 2.0), 0.5 * len(t) + 1.4))
    sns.heatmap(t, annot=True, fmt=".2f", cmap="viridis_r", cbar_kws={"label": "mean rank (1 = best)"}, ax=ax,
                yticklabels=[f"{v:g}" for v in t.index], xticklabels=[f"{v:,}" for v in t.columns])
    where = lambda a, b: (list(t.columns).index(b), list(t.index).index(a))
    x, y = where(choice["lr"], choice["steps"])
    ax.add_patch(plt.Rectangle((x, y), 1, 1, fill=False, lw=2.5, ec="black"))
    shown = lr in t.index and steps in t.columns
    if shown:
        x, y = where(lr, steps)
        ax.plot(x + 0.85, y + 0.2, marker="*", ms=11, color="white", mec="black")
    ax.set(xlabel="steps", ylabel="learning rate", title="mean rank on validation data")
    fig.tight_layout()
    n = int(summary["pairs"].iloc[0])
    return fig, (f"PROTOCOL_RULE's ranks: each (learning rate, steps) pair's rank among the {len(summary)} pairs "
                 f"on validation data, averaged over {n} arch × task pairs (lower is better). Black box: the rule's "
                 f"choice (lr {choice['lr']:g}, {int(choice['steps']):,} steps); "
                 + ("star: the protocol's" if shown else "not in this grid: the protocol's")
                 + f" (defaults.py: lr {lr:g}, {steps:,} steps).")


def protocol_check(summary, choice, lr=protocol.LR, steps=protocol.STEPS):
    """One sentence: whether the protocol (defaults.py's `lr`, `steps`) is the rule's choice, and if
    not, why not (its pair is tied with the best but not the cheapest tied pair, ranks below the
    best beyond the interval, or is not in this run's grid)."""
    mine = summary[np.isclose(summary["lr"], lr) & (summary["steps"] == steps)]
    chosen = f"lr {choice['lr']:g} with {int(choice['steps']):,} steps (mean rank {choice['mean_rank']:.2f})"
    if mine.empty:
        return (f"The protocol's lr {lr:g} with {steps:,} steps is not in this run's grid, so this run does not "
                f"check it; the rule chooses {chosen}.")
    m = mine.iloc[0]
    ci = f"rank difference from the best {m['difference']:+.2f}, {CONFIDENCE:.0%} interval [{m['low']:+.2f}, {m['high']:+.2f}]"
    if np.isclose(choice["lr"], lr) and choice["steps"] == steps:
        return f"The protocol (defaults.py) uses what the rule chooses: {chosen}; {ci}."
    if m["tied"]:
        return (f"The protocol (defaults.py: lr {lr:g}, {steps:,} steps, mean rank {m['mean_rank']:.2f}) is tied "
                f"with the best ({ci}) but is not the rule's choice, {chosen}: a tied pair with fewer steps.")
    return (f"The protocol (defaults.py: lr {lr:g}, {steps:,} steps, mean rank {m['mean_rank']:.2f}) ranks below "
            f"the best beyond the interval ({ci}): the rule chooses {chosen}, and defaults.py does not hold it.")
