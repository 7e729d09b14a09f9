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
from . import common, ranking as rk

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


def learned_functions(results, task_list, archs, seed=0, data_seed=protocol.DATA_SEED):
    """Seed `seed` of each arch on 1-D tasks (data draw `data_seed`): the learned function over
    the training and test ranges, with the target; one panel per task."""
    where = {"data_seed": data_seed} if "data_seed" in results.metrics else {}
    fig, axes = plt.subplots(1, len(task_list), figsize=(5 * len(task_list), 3.2), squeeze=False)
    for ax, name in zip(axes[0], task_list):
        t = tasks.make(name, seed=data_seed)
        x = torch.cat([t.x_train, t.x_test])
        o = x[:, 0].argsort()
        y = torch.cat([t.y_train, t.y_test])
        ax.plot(x[o, 0], y[o, 0], c="k", lw=2.2, alpha=0.3, label="target")
        for a in archs:
            plots.learned_function(results.model(a, name, seed, **where), x, ax, lw=0.9, label=a)
        lo, hi = float(t.x_train.min()), float(t.x_train.max())
        ax.axvspan(lo, hi, color="0.9", zorder=0, label="training range")
        span = float(y.abs().max())
        ax.set(ylim=(-2.5 * span, 2.5 * span), title=f"{name}: learned functions (seed {seed}, data draw {data_seed})",
               xlabel="model input")
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


def tuned_grids(chosen, seeds, steps, data_seeds=None, **overrides):
    """The final runs: one Experiment per (arch, task) at its chosen lr, `seeds` seeds on each of
    `data_seeds` data draws (None: the one draw DATA_SEED); `overrides` as in `protocol.main_grid`
    (e.g. kernels="torch")."""
    return [protocol.main_grid([r.arch], [r.task], seeds, steps, data_seeds=data_seeds, lr=r.lr, **overrides)
            for r in chosen.itertuples()]


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
    """`reference` against each other GLU-family member on every task (same width and count): one
    Holm family of `stats.compare` tests (`common.compare_pairs`)."""
    pairs = [(t, reference, o) for o in others if o != reference for t in task_list]
    return common.compare_pairs(common.replica_scores(metrics), pairs)


def sine_vs_multiplication(ablation_table):
    """Tasks where SinGLU is significantly better than / worse than every non-periodic GLU
    (bilinear, swiglu, geglu), after Holm within the ablation's family."""
    g = ablation_table.groupby("task", sort=False)
    beats_all = [t for t, d in g if d["better"].all()]
    loses_all = [t for t, d in g if d["worse"].all()]
    return beats_all, loses_all


# ----------------------------------------------------------------------------- scale

def scale_summary(metrics, reference="singlu", other="vanilla"):
    """Per (arch, task, budget): the centre (geometric mean for MSE) with its interval and the exact
    parameter count; and per (task, budget) `reference` against `other` (`stats.compare` with
    TOST at stats.EQUIVALENCE; Holm within each task's family of budgets)."""
    s = stats.summarize(metrics, by=("arch", "task", "budget"))
    params = metrics.groupby(["arch", "task", "budget"])["params"].first().rename("params").reset_index()
    s = s.merge(params, on=["arch", "task", "budget"])
    sc = common.replica_scores(metrics)
    sc = sc[~sc["diverged"].astype(bool)]
    fams = []
    for task, gt in sc.groupby("task", sort=False):
        metric = gt["metric"].iloc[0]
        scale = stats.scale_of(metric)
        comps = {int(b): stats.compare(g.loc[g["arch"] == reference, "score"], g.loc[g["arch"] == other, "score"],
                                       scale=scale, margin=stats.EQUIVALENCE[scale])
                 for b, g in gt.groupby("budget")}
        f = stats.family(comps).rename(columns={"label": "budget"}).assign(task=task, metric=metric,
                                                                          arch=reference, other=other)
        sign = common.better_sign(metric)
        f["better"], f["worse"] = f["direction"] == sign, f["direction"] == -sign
        f["effect (ci)"] = f.apply(common.effect_text, axis=1)
        fams.append(f)
    return s, (pd.concat(fams, ignore_index=True) if fams else pd.DataFrame())


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
    """Per task, from `scale_summary`'s comparisons sorted by budget: ("persists", None) when the
    reference is significantly better at the largest budget; ("gone", b) when from budget b on it
    is equivalent (TOST) or significantly worse at every budget; ("inconclusive", b) otherwise, b
    the first budget from which it is no longer significantly better (absence of a significant
    difference is not evidence that the advantage is gone)."""
    out = {}
    for t, d in cmp.sort_values("budget").groupby("task", sort=False):
        better = d["better"].to_numpy()
        gone = ((d["worse"] | d["equivalent"].eq(True)) & ~d["better"]).to_numpy()
        budgets = d["budget"].to_numpy()
        if better[-1]:
            out[t] = ("persists", None)
            continue
        g = next((i for i in range(len(gone)) if gone[i:].all()), None)
        idx = next(i for i in range(len(better)) if not better[i:].any())
        out[t] = ("gone", int(budgets[g])) if g is not None else ("inconclusive", int(budgets[idx]))
    return out


def closes_text(status):
    """`advantage_closes` entry as words."""
    kind, b = status
    if kind == "persists":
        return "SinGLU still significantly better at the largest budget"
    if kind == "gone":
        return f"advantage gone from {b:,} parameters (equivalent or worse there and above, TOST)"
    return (f"not significantly better from {b:,} parameters, but not shown equivalent either: inconclusive "
            "(more replicas would settle it)")


# ----------------------------------------------------------------------------- regime map

REGIME_CRITERION = "One row per line of the study's map (task type -> its best arch), judged on that row's tasks among the study's 14 neurons (peers excluded, as in the study) at the default protocol with 4 seeds x 3 data draws = 12 replicas per arch: the row's family is the study's best arch against each other arch on each of the row's tasks (stats.compare: ratio of geometric-mean MSE or difference of mean accuracy, Welch; Holm within the row's family, alpha 0.05). A row holds when its best arch is significantly better than every other arch on every task of the row, fails when some arch is significantly better than it on some task of the row (significantly beaten), and is inconclusive otherwise (neither: tied at the top) or when its best arch or tasks are not in the run; a pair whose two geometric-mean MSEs are both at the float32 floor (at most 1e-5, ten times stats.FLOAT32_FLOOR) counts as neither better nor beaten (the ratio measures rounding). Replicated: all six rows hold. Replicated only under stated conditions: not reachable (no condition sweep is judged for the map). Not replicated: any row fails. Inconclusive: otherwise, and whenever the verdict changes when the same runs are repeated with torch's sin/cos/tanh kernels (rounding check)."
REGIME_SOURCE = "richneuron/analysis/peers.py"


def regime_tasks(task_list=None):
    """The tasks of the study's map (in `task_list` when given), in the map's order."""
    out = [t for row in published.regime_map() for t in row["tasks"]]
    return [t for t in dict.fromkeys(out) if task_list is None or t in task_list]


def regime_family(scores, row, archs):
    """One row of the map: its best arch against every other arch of `archs` on each of the row's
    tasks (`common.compare_pairs`, Holm within the row). Empty when the best arch or the tasks
    are not in `scores`."""
    best = row["best"]
    present = set(scores["task"])
    if best not in set(scores["arch"]):
        return common.compare_pairs(scores.iloc[:0], [])
    pairs = [(t, best, o) for t in row["tasks"] if t in present for o in archs if o != best]
    return common.compare_pairs(scores, pairs)


def regime_rows(scores, archs):
    """Per row of the map: the row's sub-verdict (holds: its best significantly better than every
    other arch on every task; fails: significantly beaten; inconclusive: neither or not in the
    run), the archs that beat it, how many it beats, and our best arch per task (by centre)."""
    rows, fams = [], {}
    ok = scores[scores["arch"].isin(archs) & ~scores["diverged"].astype(bool)]
    for row in published.regime_map():
        fam = regime_family(scores, row, archs)
        fams[row["type"]] = fam
        if not len(fam):
            part = stats.UNSURE
        elif fam["better"].all():
            part = stats.HOLDS
        elif fam["worse"].any():
            part = stats.FAILS
        else:
            part = stats.UNSURE
        ours = []
        for t in row["tasks"]:
            d = ok[ok["task"] == t]
            if len(d):
                metric = d["metric"].iloc[0]
                cen = d.groupby("arch")["score"].apply(lambda v: stats.center(v, stats.scale_of(metric))[0])
                ours.append(f"{t}: {cen.idxmin() if stats.LOWER_IS_BETTER[metric] else cen.idxmax()}")
        beaten = fam[fam["worse"]] if len(fam) else fam
        rows.append({"task type": row["type"], "tasks": ", ".join(row["tasks"]), "published best": row["best"],
                     "our best (centre)": "; ".join(ours) or "–",
                     "significantly better than": f"{int(fam['better'].sum())} of {len(fam)}" if len(fam) else "–",
                     "beaten by": (", ".join(f"{r.other} ({r.task})" for r in beaten.itertuples()) or "–")
                     if len(fam) else "not in this run",
                     "row": part})
    return pd.DataFrame(rows), fams


def regime_map(metrics, archs, task_list=None):
    """The verdict's input: per replica scores of `archs` on the map's tasks."""
    return common.replica_scores(metrics, archs, regime_tasks(task_list))


def verdict_regime(scores, archs):
    """The scorecard row of the regime map (criterion REGIME_CRITERION) from per-replica scores
    (`regime_map`): (row, per-row table, {row type: family})."""
    table, fams = regime_rows(scores, archs)
    parts = dict(zip(table["task type"], table["row"]))
    v, reason = stats.judge(parts)
    n_hold, n_fail = sum(p == stats.HOLDS for p in parts.values()), sum(p == stats.FAILS for p in parts.values())
    ours = (f"{n_hold}/{len(parts)} rows: the study's best is significantly best; {n_fail} rows: significantly "
            f"beaten; {len(parts) - n_hold - n_fail}: neither")
    row = stats.verdict("regime_map", ours, v, REGIME_CRITERION, "07_regime_map, regime_map.csv", "map",
                        parts=parts, reason=reason, criterion_source=REGIME_SOURCE)
    return row, table, fams


def regime_plot(scores, archs, top=5):
    """One panel per task of the map: centre (geometric mean for MSE) with its 95% t interval of
    the `top` archs by centre and of the study's best arch for that row (star)."""
    cells = [(row, t) for row in published.regime_map() for t in row["tasks"] if t in set(scores["task"])]
    fig, axes = plots.grid(len(cells), ncols=3)
    s = scores[scores["arch"].isin(archs) & ~scores["diverged"].astype(bool)]
    for ax, (row, task) in zip(axes, cells):
        pub = row["best"]
        d = s[s["task"] == task]
        metric = d["metric"].iloc[0]
        sc = stats.scale_of(metric)
        cen = {a: stats.center(g["score"], sc) for a, g in d.groupby("arch")}
        order = sorted(cen, key=lambda a: cen[a][0], reverse=not stats.LOWER_IS_BETTER[metric])
        show = list(dict.fromkeys(order[:top] + ([pub] if pub in cen else [])))
        for i, a in enumerate(show):
            c, lo, hi = cen[a]
            err = [[c - lo], [hi - c]] if np.isfinite(lo) else None
            ax.errorbar([c], [i], xerr=err, fmt="*" if a == pub else "o", ms=9 if a == pub else 4, capsize=2,
                        c="C3" if a == pub else "C0")
        ax.set_yticks(range(len(show)), show, fontsize=7)
        ax.invert_yaxis()
        if sc == "log":
            ax.set_xscale("log")
        ax.set_title(f"{task} ({row['type']})", fontsize=7)
        ax.set_xlabel(f"test {metric} ({'geometric ' if sc == 'log' else ''}mean, 95% t interval)", fontsize=7)
    fig.suptitle("the best archs per task with their 95% intervals; ★ = the study's best for the row", fontsize=8)
    fig.tight_layout()
    return fig


def verdict_wins_tuned(default_metrics, tuned_metrics=None):
    """Finding 02's SinGLU-wins row (criterion `rk.CRITERIA['singlu_wins']`): the wins part
    (`rk.wins_part`) at the shared lr 1e-3 (`default_metrics`) and with tuned lrs (`tuned_metrics`;
    None: not run). Replicated when it holds at lr 1e-3 and does not fail with tuned lrs; replicated
    only under stated conditions when it holds under one protocol only; otherwise by `stats.judge`
    of the default protocol (not replicated when it fails there, inconclusive when undecided)."""
    d, fam_d = rk.wins_part(default_metrics)
    t, fam_t = rk.wins_part(tuned_metrics) if tuned_metrics is not None else (None, None)
    v, reason = stats.judge({"wins": d}, [("with each arch's learning rate tuned", {"wins": t})] if t else [])
    if d == stats.HOLDS and t == stats.FAILS:
        v, reason = stats.CONDITIONAL, "the wins part holds only at the shared lr 1e-3 (it fails with tuned learning rates)"
    ours = f"lr 1e-3: {rk.outcome_text(fam_d)}" + (f"; tuned lrs: {rk.outcome_text(fam_t)}" if fam_t is not None else "")
    return stats.verdict("singlu_wins", ours, v, rk.CRITERIA["singlu_wins"],
                         "02_scores_all_tasks, singlu_vs_vanilla.csv, singlu_vs_vanilla_tuned.csv", 2,
                         parts={"wins": d, "wins with tuned lrs": t}, reason=reason, criterion_source=rk.SOURCE)
