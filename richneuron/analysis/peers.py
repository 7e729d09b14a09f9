"""Notebook 07, beyond the study: published peer neurons, tuned learning rates, scale, regime map.

Tuned fairness. Every (arch, task) gets its learning rate from the same grid (`LRS`), with the
same number of trials (one per lr, seed `TUNING_SEED`), chosen on a validation split carved from
the training data (`tasks.make(..., validation=VALIDATION)`; the test set is never seen). The
tuned score is then a fresh `SEEDS`-seed run on the whole training set at the chosen lr, scored
on the test set like the main grid (where the chosen lr is the default, the main grid's cells
are those runs). `memorize` is tuned on its training pairs: fitting them is its score.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy.stats import gmean

from .. import models, neurons, plots, protocol, published, stats, tasks
from . import ranking as rk

STUDY, PEERS = neurons.available("study"), neurons.available("peers")
GLU = ("bilinear", "swiglu", "geglu", "singlu")       # only σ of the gate differs, same width
PERIODIC = ("siren", "snake", "fan")
LRS = (3e-4, 1e-3, 3e-3, 1e-2)                        # the tuning grid, the same for every arch
VALIDATION = 0.2                                      # share of the training points held out
TUNING_SEED = 0


def default_omega(arch):
    """The ω a neuron uses when none is given (e.g. SIREN's ω0 = 30)."""
    return float(models.build_model(arch, 1, 1, width=1).layers[0].omega)


def omega_sweep(main_metrics, sweep_metrics, arch, seeds):
    """Per (task, ω): the sweep's runs plus the main grid's (the default ω), same seeds."""
    base = main_metrics[(main_metrics["arch"] == arch) & main_metrics["seed"].isin(seeds)]
    both = pd.concat([sweep_metrics, base.assign(omega=default_omega(arch))], ignore_index=True)
    s = stats.summarize(both, by=("task", "omega"))
    best = stats.ranks(s.assign(arch=s["omega"]), rk.metric_of_task(both)).query("rank == 1")
    return s, dict(zip(best["task"], best["omega"]))


def learned_functions(results, task_list, archs, seed=0):
    """Seed `seed` of each arch on 1-D tasks: the learned function over the training and test
    ranges, with the target; one panel per task."""
    fig, axes = plt.subplots(1, len(task_list), figsize=(5 * len(task_list), 3.2), squeeze=False)
    for ax, name in zip(axes[0], task_list):
        t = tasks.make(name)
        x = torch.cat([t.x_train, t.x_test])
        o = x[:, 0].argsort()
        y = torch.cat([t.y_train, t.y_test])
        ax.plot(x[o, 0], y[o, 0], c="k", lw=2.2, alpha=0.3, label="target")
        for a in archs:
            plots.learned_function(results.model(a, name, seed), x, ax, lw=0.9, label=a)
        lo, hi = float(t.x_train.min()), float(t.x_train.max())
        ax.axvspan(lo, hi, color="0.9", zorder=0, label="training range")
        span = float(y.abs().max())
        ax.set(ylim=(-2.5 * span, 2.5 * span), title=f"{name}: learned functions (seed {seed})", xlabel="model input")
    axes[0][0].legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    return fig


def better_is_lower(metric):
    return metric == "mse"


def tuning_grid(archs, task_list, steps, lrs=LRS, seed=TUNING_SEED, validation=VALIDATION):
    """One trial per lr per (arch, task), stacked in one cell, on the validation split."""
    return protocol.main_grid(archs, task_list, [seed], steps, lr=[float(v) for v in lrs],
                              task_options={"validation": float(validation)})


def chosen_lr(tuning_metrics):
    """Per (arch, task): the lr with the best validation score (diverged trials score worst;
    exact ties go to the smaller lr). Columns arch, task, lr, val_score, trials."""
    m = tuning_metrics.assign(score=stats.score_column(tuning_metrics))
    rows = []
    for (arch, task), g in m.groupby(["arch", "task"], sort=False):
        lower = better_is_lower(g["metric"].iloc[0])
        s = g["score"].where(~g["diverged"].astype(bool), np.inf if lower else -np.inf)
        g = g.assign(s=s).sort_values(["s", "lr"], ascending=[lower, True])
        rows.append({"arch": arch, "task": task, "lr": float(g["lr"].iloc[0]), "val_score": g["score"].iloc[0],
                     "trials": len(g)})
    return pd.DataFrame(rows)


def tuned_grids(chosen, seeds, steps):
    """The final runs: one Experiment per (arch, task) at its chosen lr, `seeds` seeds."""
    return [protocol.main_grid([r.arch], [r.task], seeds, steps, lr=r.lr) for r in chosen.itertuples()]


def lr_table(chosen, archs, task_list):
    """Wide: arch × task -> chosen lr."""
    return chosen.pivot(index="arch", columns="task", values="lr").reindex(index=archs, columns=task_list)


def rank_change(default_metrics, tuned_metrics, archs, task_list):
    """Mean rank over `task_list` with the default lr and with tuned lrs, and the Spearman
    correlation of the two per-task rankings."""
    def ranks(m):
        s = stats.summarize(m[m["arch"].isin(archs) & m["task"].isin(task_list)])
        return stats.ranks(s, rk.metric_of_task(m))[["arch", "task", "rank"]]
    d, t = ranks(default_metrics), ranks(tuned_metrics)
    both = d.merge(t, on=["arch", "task"], suffixes=(" default", " tuned"))
    per_task = both.groupby("task")[["rank default", "rank tuned"]].corr(method="spearman").xs(
        "rank default", level=1)["rank tuned"].rename("spearman").reset_index()
    mean = both.groupby("arch")[["rank default", "rank tuned"]].mean().sort_values("rank tuned")
    return both, mean, per_task


def slope_chart(mean_ranks, ax, highlight=("vanilla", "singlu")):
    """Mean rank with the default lr (left) and with tuned lrs (right), one line per arch."""
    for arch, r in mean_ranks.iterrows():
        hi = arch in highlight
        ax.plot([0, 1], [r["rank default"], r["rank tuned"]], marker="o", lw=2 if hi else 0.8,
                color=None if hi else "0.6", zorder=3 if hi else 2, label=arch if hi else None)
        ax.text(1.04, r["rank tuned"], arch, va="center", fontsize=6)
        ax.text(-0.04, r["rank default"], arch, va="center", ha="right", fontsize=6)
    ax.set(xticks=[0, 1], xticklabels=["lr 1e-3 (default)", "tuned lr"], xlim=(-0.45, 1.45),
           ylabel="mean rank over tasks (1 = best)")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower center")


def ablation(metrics, task_list, reference="singlu", others=GLU):
    """`reference` against each other GLU-family member on every task (same width and count)."""
    rows = [rk.compare(metrics, t, reference, o) for o in others if o != reference for t in task_list]
    out = pd.DataFrame(rows)
    out["effect (ci)"] = out.apply(rk.effect_text, axis=1)
    return out


def sine_vs_multiplication(ablation_table):
    """Counts: tasks where SinGLU beats / loses to every non-periodic GLU (bilinear, swiglu, geglu)."""
    g = ablation_table.groupby("task")
    beats_all = [t for t, d in g if d["better"].all()]
    loses_all = [t for t, d in g if d["worse"].all()]
    return beats_all, loses_all


# ----------------------------------------------------------------------------- scale

def scale_summary(metrics, reference="singlu", other="vanilla"):
    """Per (arch, task, budget): mean ± std and the exact parameter count; and per (task, budget)
    the `reference` vs `other` comparison (effect, CI, better/worse)."""
    s = stats.summarize(metrics, by=("arch", "task", "budget"))
    params = metrics.groupby(["arch", "task", "budget"])["params"].first().rename("params").reset_index()
    s = s.merge(params, on=["arch", "task", "budget"])
    cmp = pd.DataFrame([{**rk.compare(metrics[metrics["budget"] == b], t, reference, other), "budget": b}
                        for t in metrics["task"].unique() for b in sorted(metrics["budget"].unique())])
    cmp["effect (ci)"] = cmp.apply(rk.effect_text, axis=1)
    return s, cmp


def scale_plot(metrics, task, archs, ax):
    """Score against the exact parameter count (log axis), one line per arch through the mean over
    seeds (geometric for MSE, on its log axis), every seed as a dot."""
    m = metrics[(metrics["task"] == task) & ~metrics["diverged"].astype(bool)]
    m = m.assign(score=stats.score_column(m))
    metric = m["metric"].iloc[0]
    for i, a in enumerate(archs):
        d = m[m["arch"] == a]
        if d.empty:
            continue
        c = f"C{i}"
        mean = d.groupby("params")["score"].agg(gmean if metric == "mse" else "mean")
        ax.plot(mean.index, mean.to_numpy(), marker="o", ms=3, lw=1, c=c, label=a)
        ax.scatter(d["params"], d["score"], s=6, c=c, alpha=0.45, lw=0)
    base = m["predict_mean_mse"].iloc[0] if metric == "mse" else m["chance_accuracy"].iloc[0]
    ax.axhline(base, ls="--", c="gray", lw=0.8, label="predict mean" if metric == "mse" else "majority class")
    ax.set(xscale="log", yscale="log" if metric == "mse" else "linear", xlabel="parameters",
           ylabel=f"test {metric}" + (" (geometric mean; dots: seeds)" if metric == "mse" else " (mean; dots: seeds)"),
           title=task)


def advantage_closes(cmp):
    """Per task: the smallest budget from which `reference` is never again significantly better
    (None if it stays better up to the largest budget)."""
    out = {}
    for t, d in cmp.sort_values("budget").groupby("task", sort=False):
        better = d["better"].to_numpy()
        budgets = d["budget"].to_numpy()
        idx = next((i for i in range(len(better)) if not better[i:].any()), None)
        out[t] = None if idx is None else int(budgets[idx])
    return out


# ----------------------------------------------------------------------------- regime map

def regime_map(metrics, archs, task_list):
    """The study's task → best-arch map, rebuilt: per row (task type), per task of that type (in
    `task_list`), our best mean among `archs`, the archs statistically tied with it, and the
    published best arch against our best (effect with 95% CI). `agrees`: the published best is
    tied with our best."""
    rows = []
    for row in published.regime_map():
        for task in [t for t in row["tasks"] if t in task_list]:
            best, tied = rk.tied_with_best(metrics, task, archs)
            pub = row["best"]
            c = rk.compare(metrics, task, best, pub) if pub != best else None
            rows.append({"task type": row["type"], "task": task, "published best": pub, "our best": best,
                         "tied with our best": ", ".join(tied),
                         "our best vs published best": "same arch" if c is None else rk.effect_text(c),
                         "agrees": pub in tied})
    return pd.DataFrame(rows)


def regime_plot(metrics, table, archs, top=5):
    """One panel per task of the map: mean with 95% bootstrap CI of the `top` archs by mean and
    of the study's best arch for that row (star)."""
    fig, axes = plots.grid(len(table), ncols=3)
    m = metrics[metrics["arch"].isin(archs)]
    for ax, (_, row) in zip(axes, table.iterrows()):
        task, pub = row["task"], row["published best"]
        s = stats.summarize(m[m["task"] == task])
        lower = better_is_lower(m.loc[m["task"] == task, "metric"].iloc[0])
        s = s.sort_values("mean", ascending=lower)
        show = list(dict.fromkeys(s["arch"].head(top).tolist() + [pub]))
        for i, a in enumerate(show):
            v = rk.scores(metrics, a, task)
            mean, lo, hi = stats.mean_ci(v)
            ax.errorbar([mean], [i], xerr=[[mean - lo], [hi - mean]], fmt="*" if a == pub else "o",
                        ms=9 if a == pub else 4, capsize=2, c="C3" if a == pub else "C0")
        ax.set_yticks(range(len(show)), show, fontsize=7)
        ax.invert_yaxis()
        if lower:
            ax.set_xscale("log")
        ax.set_title(f"{task} ({row['task type']})", fontsize=7)
        ax.set_xlabel(f"test {'MSE' if lower else 'accuracy'} (mean, 95% CI)", fontsize=7)
    fig.suptitle("mean test score with 95% bootstrap CI of the best archs; ★ = the study's best for the row", fontsize=8)
    fig.tight_layout()
    return fig


def verdict_regime(table):
    """Replicated: the published best is tied with our best on every task of every row;
    replicated only under stated conditions: on at least half of the rows (all their tasks);
    not replicated: fewer."""
    per_row = table.groupby("task type", sort=False)["agrees"].all()
    if per_row.all():
        return stats.REPLICATED, per_row
    if per_row.sum() * 2 >= len(per_row):
        return stats.CONDITIONAL, per_row
    return stats.NOT_REPLICATED, per_row


REGIME_CRITERION = ("replicated if, for every row of the study's map, its best arch is not significantly worse than "
                    "our best mean on every task of that row (95% bootstrap, 5 seeds, all study and peer archs); "
                    "replicated only under stated conditions if that holds for at least half of the rows; "
                    "not replicated otherwise")


def verdict_wins_tuned(n_default, n_tuned):
    """Finding 02's SinGLU-wins verdict with both protocols (default lr, tuned lr): `rk.verdict_wins`
    when both give the same category, replicated only under stated conditions when they disagree."""
    a, b = rk.verdict_wins(n_default), rk.verdict_wins(n_tuned)
    return a if a == b else stats.CONDITIONAL
