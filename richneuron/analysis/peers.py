"""Notebook 07, beyond the study: published peer neurons, tuned learning rates, scale, regime map.

The finding's face: `sweeps` (the notebook's sweep parameters, checked), `experiments` (the peer
grid, SIREN's ω0 sweep, the lr tuning trials, the tuned final runs once the rates are chosen, the
scale sweep and the robustness check), one tables function per section (`grid_tables`,
`omega_tables`, `lr_tables`, `tuned_tables`, `scale_tables`, `regime_tables`:
each returns tables for one dict and stores them as CSV), one function per figure (`fig_*`, saved
with its caption), one line of reading per section (`*_text`), `check` (the regime row with its
robustness check, for `robustness.checked_verdict`), `answers` and `summary`.

Tuned fairness. Every (arch, task) gets its learning rate from the same grid (`LRS`), with the
same number of trials (one per lr, seed `TUNING_SEED`), chosen on a validation split carved from
the training data (`tasks.make(..., validation=VALIDATION)`; the test set is never seen). The
tuned score is then a fresh `SEEDS`-seed run on the whole training set at the chosen lr, scored
on the test set like the main grid (where the chosen lr is the default, the main grid's cells
are those runs). `memorize` is tuned on its training pairs: fitting them is its score.
"""
import dataclasses
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
import torch
from scipy.stats import gmean

from .. import criteria, models, neurons, notebook as nbk, plots, protocol, published, stats, tasks, validate, verdicts
from . import common, ranking as rk, robustness
from .tuning import LRS, TUNING_SEED, VALIDATION, chosen_lr, tuned_grids, tuning_grid  # noqa: F401

STUDY, PEERS = neurons.available("study"), neurons.available("peers")
GLU = tuple(sorted(neurons.available("glu"), key=lambda a: "periodic" in neurons.tags(a)))  # only σ differs; SinGLU last
PERIODIC = tuple(neurons.available("peers", "periodic"))
QUICK_TASKS = ("nested2d", "spiral", "ood")           # quick mode's peer grid (with the six peers)
SHIFTED = (*tasks.available("shifted"), "hifreq")    # where the periodic peers' papers make claims
FUNCTION_TASKS = ("ood", "freqgen")                   # the learned-functions figure
FUNCTION_ARCHS = ("vanilla", "singlu", *PERIODIC)


# ----------------------------------------------------------------------------- settings, experiments

@dataclass
class Sweeps:
    """What the notebook runs besides `cfg`'s seeds and steps (quick mode already applied)."""
    archs: list           # the peer grid's archs (quick mode adds the six peers)
    tasks: list           # the peer grid's tasks, in the report's order
    study: list           # the archs of `archs` among the study's 14 (the regime map judges these)
    lrs: list             # the tuning grid
    tune_tasks: list      # tasks with tuned learning rates
    validation: float     # share of the training points held out to choose the lr
    omegas: list          # SIREN ω0 values run besides its default
    omega_seeds: list
    scale_archs: list
    scale_tasks: list
    budgets: list
    scale_seeds: list


def _task_ids(name, text):
    ids = nbk.parse_list(name, text, str)
    for t in ids:
        if t not in tasks.available():
            raise ValueError(f"{name}: unknown task {t!r}; valid choices: {', '.join(tasks.available())}")
    return ids


def sweeps(cfg, tuning_lrs, tuning_tasks, validation, siren_omegas, siren_seeds, scale_archs, scale_tasks,
           scale_budgets, scale_seeds):
    """The notebook's sweep parameters checked (a ValueError naming the parameter) for the run
    settings `cfg` (`nbk.setup`). Quick mode runs the six peers on `QUICK_TASKS` and keeps the
    first 2 lrs, 1 ω0, 1 scale task and 2 budgets."""
    q = cfg.quick
    archs = list(dict.fromkeys(cfg.archs + (list(PEERS) if q else [])))
    task_list = list(QUICK_TASKS) if q else tasks.available()
    lrs = nbk.parse_list("tuning_lrs", tuning_lrs, float, positive=True)
    tune = [t for t in _task_ids("tuning_tasks", tuning_tasks) if t in task_list]
    omegas = nbk.parse_list("siren_omegas", siren_omegas, float, positive=True)
    s_tasks = _task_ids("scale_tasks", scale_tasks)
    budgets = nbk.parse_list("scale_budgets", scale_budgets, int, minimum=100)
    return Sweeps(archs=archs, tasks=task_list, study=[a for a in archs if a in STUDY],
                  lrs=lrs[: 2 if q else None], tune_tasks=tune, validation=validate.fraction("validation", validation, 0.5),
                  omegas=omegas[: 1 if q else None], omega_seeds=cfg.seeds[:validate.integer("siren_seeds", siren_seeds)],
                  scale_archs=[a for a in nbk.parse_archs(scale_archs) if a in archs],
                  scale_tasks=s_tasks[: 1 if q else None], budgets=budgets[: 2 if q else None],
                  scale_seeds=cfg.seeds[:validate.integer("scale_seeds", scale_seeds)])


def experiments(cfg, sw, chosen=None):
    """The notebook's experiments by name: "main" (every arch on every task, `cfg`'s seeds on each
    of its data draws), "omega" (SIREN at each extra ω0, when SIREN is run; one draw), "tuning"
    (one trial per lr, `tuning_grid`), "scale" (the scale sweep; one draw), "check" (the regime
    map's cells again with every initial weight moved by one ulp) and, once the rates are chosen (`chosen`, from
    `lr_tables`), "tuned" (a list, `tuned_grids`; one draw)."""
    out = {"main": protocol.main_grid(sw.archs, sw.tasks, cfg.seeds, cfg.steps, data_seeds=cfg.data_seeds)}
    if "siren" in sw.archs:
        out["omega"] = protocol.main_grid(["siren"], sw.tasks, sw.omega_seeds, cfg.steps, omega=sw.omegas)
    out["tuning"] = tuning_grid(sw.archs, sw.tune_tasks, cfg.steps, sw.lrs, validation=sw.validation)
    if chosen is not None:
        out["tuned"] = tuned_grids(chosen, cfg.seeds, cfg.steps)
    out["scale"] = protocol.main_grid(sw.scale_archs, sw.scale_tasks, sw.scale_seeds, cfg.steps, budget=sw.budgets)
    out["check"] = protocol.main_grid(sw.study, regime_tasks(sw.tasks), cfg.seeds, cfg.steps,
                                      data_seeds=cfg.data_seeds, **protocol.CHECK)
    return out


log_ticks = plots.log_ticks      # widens a narrow view itself (kept for the callers here)


# ----------------------------------------------------------------------------- the peer grid

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


def _wide(df, columns, order):
    """Effects as a task × `columns` table of "effect (ci)" texts, task as a column."""
    w = df.pivot(index="task", columns=columns, values="effect (ci)").reindex(order)
    if isinstance(w.columns, pd.MultiIndex):
        w.columns = [" vs ".join(c) for c in w.columns]
    return w.reset_index()


def grid_tables(cfg, sw, metrics):
    """The peer grid's tables (stored as CSV): every replica's score, the score table, the rank
    table, the GLU ablation (SinGLU against each GLU), each GLU against Vanilla, and the periodic
    peers against Vanilla and SinGLU on the shifted tasks and HiFreq."""
    scores = common.replica_scores(metrics)
    table = cfg.table(common.score_table(metrics), "scores_all_archs")
    ranks = rk.rank_table(table, metrics, sw.tasks)
    cfg.table(ranks.reset_index(), "ranks_all_archs")
    glu = [a for a in GLU if a in sw.archs]
    abl = cfg.table(ablation(metrics, sw.tasks, "singlu", glu), "glu_ablation")
    mult = cfg.table(common.compare_pairs(scores, [(t, a, "vanilla") for a in glu for t in sw.tasks]), "glu_vs_vanilla")
    shift, per = [t for t in SHIFTED if t in sw.tasks], [a for a in PERIODIC if a in sw.archs]
    pp = cfg.table(common.compare_pairs(scores, [(t, a, o) for a in per for o in ("vanilla", "singlu") for t in shift]),
                   "periodic_peers_on_shift")
    peer_rows = table[table["arch"].isin(PEERS)].sort_values("task", key=lambda s: s.map(sw.tasks.index), kind="stable")
    return {"replicas": scores, "scores": table, "peer_scores": common.display_table(peer_rows.reset_index(drop=True)), "ranks": ranks,
            "glu": glu, "glu_ablation": abl, "glu_vs_vanilla": mult, "periodic": pp,
            "glu_effects": _wide(abl, "other", sw.tasks),
            "glu_vs_vanilla_effects": _wide(mult, "arch", sw.tasks).rename(columns=lambda c: c if c == "task" else f"{c} vs vanilla"),
            "periodic_effects": _wide(pp, ["arch", "other"], shift)}


def ranks_text(tab):
    wide = tab["ranks"]
    top = wide.index[:5].tolist()
    top_txt = ", ".join(f"{a} ({r:.1f})" for a, r in wide["mean rank"].head(5).items())
    n_tasks = len(wide.columns) - 1
    return (f"Best mean rank over the {n_tasks} tasks: {top_txt}. "
            f"Peers among the top five: {', '.join(a for a in top if a in PEERS) or 'none'}; SinGLU is "
            f"{wide.index.get_loc('singlu') + 1} of {len(wide)}.")


def glu_text(tab):
    beats_all, loses_all = sine_vs_multiplication(tab["glu_ablation"])
    n = tab["glu_ablation"]["task"].nunique()
    n_better = tab["glu_vs_vanilla"].groupby("arch")["better"].sum().reindex(tab["glu"])
    return (f"Effects are SinGLU/other MSE ratios (×, < 1: SinGLU better) or accuracy differences (pp), Holm within "
            f"each table. SinGLU is significantly better than every non-periodic GLU on {len(beats_all)} of {n} tasks "
            f"({', '.join(beats_all) or 'none'}) and significantly worse than all of them on {len(loses_all)} "
            f"({', '.join(loses_all) or 'none'}). Tasks on which each GLU is significantly better than Vanilla: "
            + "; ".join(f"{a} {int(k)}/{n}" for a, k in n_better.items()) + ".")


def periodic_text(tab):
    pp = tab["periodic"]
    wins = pp[pp["better"] & (pp["other"] == "vanilla")]
    return "Significantly better than Vanilla: " + ("; ".join(f"{a} on {', '.join(d['task'])}" for a, d in wins.groupby("arch"))
                                                     or "no periodic peer on any of these tasks") + "."


def fig_ranks(tab, cfg):
    """The rank of every arch on every task (heatmap), sorted by mean rank."""
    wide = tab["ranks"]
    fig, ax = plt.subplots(figsize=(7.5, 0.28 * len(wide) + 1.2))
    rk.rank_heatmap(wide, ax, title=f"rank per task, study and peer neurons ({len(cfg.seeds)} seeds × "
                                    f"{len(cfg.data_seeds)} draws, {cfg.steps} steps, ~5K parameters)")
    cfg.save(fig, "07_rank_heatmap_all", caption=(
        f"Rank (1 = best centre: geometric-mean MSE or mean accuracy) of each of the {len(wide)} archs on each of the "
        f"{len(wide.columns) - 1} tasks, rows sorted by mean rank (in parentheses); best: {wide.index[0]} "
        f"({wide['mean rank'].iloc[0]:.1f})."))


def fig_peers(tab, cfg, sw):
    """Every replica of Vanilla, the GLU family and the periodic peers on every task
    (`plots.replicas`): centre, sanity baseline and the study's published value."""
    order = ["vanilla"] + tab["glu"] + [a for a in PERIODIC if a in sw.archs]
    s = tab["replicas"]
    s = s[s["arch"].isin(order) & ~s["diverged"].astype(bool)]
    base = tab["scores"].groupby("task").first()
    fig, axes = plots.grid(len(sw.tasks), ncols=3)
    for ax, task in zip(axes, sw.tasks):
        d = s[s["task"] == task]
        metric = d["metric"].iloc[0]
        sc = stats.scale_of(metric)
        baseline = ({"predict mean": base.loc[task, "predict_mean_mse"]} if metric == "mse"
                    else {"majority class": base.loc[task, "chance_accuracy"]})
        plots.replicas(d, ax, order=order, center={a: stats.center(g["score"], sc)[0] for a, g in d.groupby("arch")},
                       baselines=baseline, published={a: published.value(a, task) for a in order},
                       log=sc == "log", title=task, ylabel=f"test {'MSE' if metric == 'mse' else 'accuracy'}")
    fig.tight_layout()
    n = int(s.groupby(["arch", "task"]).size().max())
    cfg.save(fig, "07_glu_and_periodic_peers", caption=(
        f"Test score of every replica (dots, up to {n} per arch and task) of Vanilla, the GLU family and the periodic "
        f"peers on each of the {len(sw.tasks)} tasks, with the centre (bar: geometric mean for MSE, mean for accuracy), "
        "the predict-mean or majority-class baseline (dashed) and the study's published value where it gave one (star)."))


def learned_functions(results, task_list, archs, seed=0, data_seed=protocol.DATA_SEED):
    """Seed `seed` of each arch on 1-D tasks (data draw `data_seed`): the learned function over
    the training and test ranges, with the target; one panel per task, the peers dashed."""
    where = {"data_seed": data_seed} if "data_seed" in results.metrics else {}
    fig, axes = plt.subplots(1, len(task_list), figsize=(5 * len(task_list), 3.2), squeeze=False)
    for ax, name in zip(axes[0], task_list):
        t = tasks.make(name, seed=data_seed)
        x = torch.cat([t.x_train, t.x_test])
        o = x[:, 0].argsort()
        y = torch.cat([t.y_train, t.y_test])
        ax.plot(x[o, 0], y[o, 0], c="k", lw=2.2, alpha=0.3, label="target")
        for a in archs:
            plots.learned_function(results.model(a, name, seed, **where), x, ax, lw=0.9, c=plots.color(a), label=a,
                                   ls="--" if a in PEERS else "-")
        lo, hi = float(t.x_train.min()), float(t.x_train.max())
        ax.axvspan(lo, hi, color="0.9", zorder=0, label="training range")
        span = float(y.abs().max())
        ax.set(ylim=(-2.5 * span, 2.5 * span), title=f"{name}: learned functions (seed {seed}, data draw {data_seed})",
               xlabel="model input")
    axes[0][0].legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    return fig


def fig_functions(results, cfg, sw):
    """The learned functions of Vanilla, SinGLU and the periodic peers on OOD and FreqGen (seed 0,
    first data draw); nothing when neither task is run."""
    fn_tasks = [t for t in FUNCTION_TASKS if t in sw.tasks]
    fn_archs = [a for a in FUNCTION_ARCHS if a in sw.archs]
    if fn_tasks:
        cfg.save(learned_functions(results, fn_tasks, fn_archs), "07_periodic_peers_functions", caption=(
            f"Functions learned by {', '.join(fn_archs)} (seed 0, data draw {protocol.DATA_SEED}) on "
            f"{' and '.join(fn_tasks)}, over the training range (grey band) and the test range beyond it, with the "
            "target (thick grey line); the published peers dashed."))


# ----------------------------------------------------------------------------- SIREN's ω0

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


def omega_tables(cfg, sw, main_metrics, omega_metrics):
    """SIREN's ω0 sweep beside the main grid's default ω0 (same seeds, first data draw): the
    summary (CSV siren_omega), task × ω0 centres, and the best ω0 per task (None: SIREN not run)."""
    if omega_metrics is None:
        return {"siren_omega": None, "omega_effects": pd.DataFrame({"task": []}), "best_omega": {}}
    first_draw = main_metrics[main_metrics["data_seed"] == protocol.DATA_SEED]
    summary, best = omega_sweep(first_draw, omega_metrics, "siren", sw.omega_seeds)
    cfg.table(summary, "siren_omega")
    wide = summary.pivot(index="task", columns="omega", values="mean").reindex(sw.tasks)
    wide.columns = [f"ω0 = {w:g}" for w in wide.columns]
    return {"siren_omega": summary, "omega_effects": wide.map(stats.fmt).reset_index(), "best_omega": best}


def omega_text(tab):
    best = tab["best_omega"]
    if tab["siren_omega"] is None:
        return "SIREN is not among this run's archs: no ω0 sweep."
    d0 = default_omega("siren")
    return ("SIREN's best ω0 per task: " + "; ".join(f"{t} {w:g}" for t, w in best.items()) +
            f". The paper's ω0 = {d0:g} (the registry default, used everywhere else) is best on "
            f"{sum(w == d0 for w in best.values())} of {len(best)}.")


# ----------------------------------------------------------------------------- tuned learning rates

def lr_table(chosen, archs, task_list):
    """Wide: arch × task -> chosen lr."""
    return chosen.pivot(index="arch", columns="task", values="lr").reindex(index=archs, columns=task_list)


def lr_tables(cfg, sw, tuning_metrics):
    """The rate chosen per (arch, task) on the validation split (CSV tuned_lr) and as arch × task."""
    chosen = cfg.table(chosen_lr(tuning_metrics), "tuned_lr")
    return {"tuned_lr": chosen, "lr_wide": lr_table(chosen, sw.archs, sw.tune_tasks)}


def lr_text(tab, sw):
    c = tab["tuned_lr"]
    return (f"The default 1e-3 is chosen for {int((c['lr'] == 1e-3).sum())} of {len(c)} (arch, task) pairs; the grid's "
            f"largest rate for {int((c['lr'] == max(sw.lrs)).sum())}, its smallest for {int((c['lr'] == min(sw.lrs)).sum())}.")


def fig_tuned_lr(tab, cfg, sw):
    """The chosen rate per (arch, task), a heatmap on log10(lr)."""
    w = tab["lr_wide"]
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(w) + 1.2))
    sns.heatmap(np.log10(w), annot=w.map(lambda v: f"{v:g}"), fmt="", cmap="viridis", cbar=False, ax=ax,
                annot_kws={"fontsize": 6})
    grid = ", ".join(f"{v:g}" for v in sw.lrs)
    ax.set(title=f"learning rate chosen on the validation split (grid {grid})", xlabel="", ylabel="")
    c = tab["tuned_lr"]
    cfg.save(fig, "07_tuned_lr", caption=(
        f"Learning rate chosen for each arch (rows) on each tuned task (columns) from the grid {grid}, one trial per "
        f"rate scored on a {sw.validation:.0%} validation split; the default 1e-3 is chosen for "
        f"{int((c['lr'] == 1e-3).sum())} of {len(c)} pairs."))


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


def tuned_tables(cfg, sw, main_metrics, tuned_metrics, tab):
    """The tuned runs against the main grid (lr 1e-3) on the tuned tasks: scores (CSV
    tuned_scores), mean rank default vs tuned and the per-task Spearman correlation, and SinGLU
    against Vanilla on the standard tasks under both protocols (Holm over the tasks)."""
    cfg.table(common.score_table(tuned_metrics), "tuned_scores")
    default = main_metrics[main_metrics["task"].isin(sw.tune_tasks)]
    _, mean_ranks, rho = rank_change(default, tuned_metrics, sw.archs, sw.tune_tasks)
    cfg.table(mean_ranks.reset_index(), "mean_rank_default_vs_tuned")
    cfg.table(rho, "rank_correlation_default_vs_tuned")
    std = [t for t in rk.STANDARD if t in sw.tune_tasks]
    pairs = [(t, "singlu", "vanilla") for t in std]
    cmp_d = common.compare_pairs(common.replica_scores(default), pairs)
    cmp_t = common.compare_pairs(common.replica_scores(tuned_metrics), pairs)
    lrs = tab["lr_wide"]
    sv = cfg.table(pd.DataFrame({"task": std, "default lr": cmp_d["effect (ci)"], "tuned lr": cmp_t["effect (ci)"],
                                 "lr singlu": [lrs.loc["singlu", t] for t in std],
                                 "lr vanilla": [lrs.loc["vanilla", t] for t in std]}), "singlu_vs_vanilla_tuned")
    return {"mean_ranks": mean_ranks, "mean_ranks_shown": mean_ranks.round(2).reset_index(), "rho": rho, "singlu_vs_vanilla_tuned": sv, "standard": std,
            "wins_default": cmp_d.loc[cmp_d["better"], "task"].tolist(),
            "wins_tuned": cmp_t.loc[cmp_t["better"], "task"].tolist()}


def tuned_text(tab):
    rho, m, n = tab["rho"], tab["mean_ranks"], len(tab["standard"])
    wd, wt = tab["wins_default"], tab["wins_tuned"]
    return (f"Per-task Spearman correlation of the rankings, default vs tuned: median {rho['spearman'].median():.2f} "
            f"(range {rho['spearman'].min():.2f} to {rho['spearman'].max():.2f}). Best mean rank with the default lr: "
            f"{m['rank default'].idxmin()}; with tuned lrs: {m['rank tuned'].idxmin()}. SinGLU significantly better "
            f"than Vanilla (Holm over {n} tasks): {len(wd)}/{n} with the default lr ({', '.join(wd) or 'none'}), "
            f"{len(wt)}/{n} with both tuned ({', '.join(wt) or 'none'}).")


def slope_chart(mean_ranks, ax, highlight=("vanilla", "singlu")):
    """Mean rank with the default lr (left) and with tuned lrs (right), one line per arch in its
    report colour (`highlight`ed archs bold)."""
    for arch, r in mean_ranks.iterrows():
        hi = arch in highlight
        c = plots.color(arch)
        ax.plot([0, 1], [r["rank default"], r["rank tuned"]], marker="o", lw=2 if hi else 0.8, c=c,
                alpha=1 if hi else 0.6, zorder=3 if hi else 2, label=arch if hi else None)
        ax.text(1.04, r["rank tuned"], arch, va="center", fontsize=6, color=c)
        ax.text(-0.04, r["rank default"], arch, va="center", ha="right", fontsize=6, color=c)
    ax.set(xticks=[0, 1], xticklabels=["lr 1e-3 (default)", "tuned lr"], xlim=(-0.45, 1.45),
           ylabel="mean rank over tasks (1 = best)")
    ax.invert_yaxis()
    ax.legend(fontsize=7, loc="lower center")


def fig_rank_change(tab, cfg, sw):
    """The slope chart of mean ranks, default lr against tuned lrs."""
    m = tab["mean_ranks"]
    fig, ax = plt.subplots(figsize=(5, 0.25 * len(m) + 1.5))
    slope_chart(m, ax)
    ax.set_title(f"mean rank over {len(sw.tune_tasks)} tasks, default vs tuned lr", fontsize=9)
    cfg.save(fig, "07_rank_default_vs_tuned", caption=(
        f"Mean rank of each arch over the {len(sw.tune_tasks)} tuned tasks with the shared lr 1e-3 (left) and with "
        f"each arch's tuned lr (right); median per-task Spearman correlation of the two rankings "
        f"{tab['rho']['spearman'].median():.2f}."))


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
        comps = {int(b): common.compare(g[g["arch"] == reference], g[g["arch"] == other],
                                        scale=scale, margin=stats.EQUIVALENCE[scale])
                 for b, g in gt.groupby("budget")}
        f = stats.family(comps).rename(columns={"label": "budget"}).assign(task=task, metric=metric,
                                                                          arch=reference, other=other)
        sign = common.better_sign(metric)
        f["better"], f["worse"] = f["direction"] == sign, f["direction"] == -sign
        f["effect (ci)"] = f.apply(common.effect_text, axis=1)
        fams.append(f)
    return s, (pd.concat(fams, ignore_index=True) if fams else pd.DataFrame())


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


def scale_tables(cfg, metrics):
    """The scale sweep: centres per (arch, task, budget) (CSV scale_scores), SinGLU against Vanilla
    per budget (CSV scale_singlu_vs_vanilla; also budget × task as text) and whether the
    advantage closes per task."""
    summary, cmp = scale_summary(metrics)
    cfg.table(summary, "scale_scores")
    cfg.table(cmp, "scale_singlu_vs_vanilla")
    return {"scale_metrics": metrics, "scale_scores": summary, "scale_cmp": cmp, "closes": advantage_closes(cmp),
            "scale_effects": cmp.pivot(index="budget", columns="task", values="effect (ci)").reset_index()}


def scale_text(tab):
    cmp = tab["scale_cmp"]
    lines = []
    for t, status in tab["closes"].items():
        d = cmp[cmp["task"] == t].sort_values("budget")
        lines.append(f"{t}: SinGLU/Vanilla goes from {d['effect (ci)'].iloc[0]} at {d['budget'].iloc[0]:,} parameters "
                     f"to {d['effect (ci)'].iloc[-1]} at {d['budget'].iloc[-1]:,}: {closes_text(status)}.")
    return " ".join(lines)


def scale_plot(metrics, task, archs, ax):
    """Score against the exact parameter count (log axis), one line per arch in its report colour
    through the mean over seeds (geometric for MSE, on its log axis), every seed as a dot."""
    m = metrics[(metrics["task"] == task) & ~metrics["diverged"].astype(bool)]
    m = m.assign(score=stats.score_column(m))
    metric = m["metric"].iloc[0]
    for a in archs:
        d = m[m["arch"] == a]
        if d.empty:
            continue
        c = plots.color(a)
        mean = d.groupby("params")["score"].agg(gmean if metric == "mse" else "mean")
        ax.plot(mean.index, mean.to_numpy(), marker="o", ms=3, lw=1, c=c, label=a)
        ax.scatter(d["params"], d["score"], s=6, color=c, alpha=0.45, lw=0)
    base = m["predict_mean_mse"].iloc[0] if metric == "mse" else m["chance_accuracy"].iloc[0]
    ax.axhline(base, ls="--", c="gray", lw=0.8, label="predict mean" if metric == "mse" else "majority class")
    ax.set(xscale="log", xlabel="parameters", title=task,
           ylabel=f"test {metric}" + (" (geometric mean; dots: seeds)" if metric == "mse" else " (mean; dots: seeds)"))
    log_ticks(ax, "x")
    if metric == "mse":
        ax.set_yscale("log")
        log_ticks(ax, "y")


def fig_scale(tab, cfg, sw):
    """Score against parameters, one panel per scale task."""
    fig, axes = plt.subplots(1, len(sw.scale_tasks), figsize=(4 * len(sw.scale_tasks), 3.3), squeeze=False)
    for ax, task in zip(axes[0], sw.scale_tasks):
        scale_plot(tab["scale_metrics"], task, sw.scale_archs, ax)
    axes[0][0].legend(fontsize=6)
    fig.tight_layout()
    budgets = ", ".join(f"{b:,}" for b in sw.budgets)
    cfg.save(fig, "07_scale", caption=(
        f"Test score against the exact parameter count (budgets {budgets}) of {', '.join(sw.scale_archs)} on "
        f"{', '.join(sw.scale_tasks)}: lines through the centre of {len(sw.scale_seeds)} seeds (geometric mean for "
        "MSE), every seed as a dot, the predict-mean or majority-class baseline dashed."))


# ----------------------------------------------------------------------------- regime map

REGIME_CRITERION = criteria.text("regime_map")   # richneuron/criteria/regime_map.md


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
            part = verdicts.UNSURE
        elif fam["better"].all():
            part = verdicts.HOLDS
        elif fam["worse"].any():
            part = verdicts.FAILS
        else:
            part = verdicts.UNSURE
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
    v, reason = verdicts.judge(parts)
    n_hold, n_fail = sum(p == verdicts.HOLDS for p in parts.values()), sum(p == verdicts.FAILS for p in parts.values())
    ours = (f"{n_hold}/{len(parts)} rows: the study's best is significantly best; {n_fail} rows: significantly "
            f"beaten; {len(parts) - n_hold - n_fail}: neither")
    ratios = [r for k, f in fams.items() for r in common.judged_ratios(f, k, prefix=f"{k}: ")]
    best = verdicts.effect(f"map rows whose best arch is significantly best (of {len(parts)})", n_hold,
                        published=published.claims()["regime_map"]["value"], null=None)
    row = verdicts.verdict("regime_map", ours, v, REGIME_CRITERION, "07_regime_map, regime_map.csv", "map",
                        parts=parts, reason=reason, ratios=ratios, effect=best)
    return row, table, fams


def regime_plot(scores, archs, top=5):
    """One panel per task of the map: centre (geometric mean for MSE) with its 95% t interval of
    the `top` archs by centre and of the study's best arch for that row (star), each arch in its
    report colour."""
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
        show_ = list(dict.fromkeys(order[:top] + ([pub] if pub in cen else [])))
        for i, a in enumerate(show_):
            c, lo, hi = cen[a]
            err = [[c - lo], [hi - c]] if np.isfinite(lo) else None
            ax.errorbar([c], [i], xerr=err, fmt="*" if a == pub else "o", ms=9 if a == pub else 4, capsize=2,
                        c=plots.color(a))
        ax.set_yticks(range(len(show_)), show_, fontsize=7)
        ax.invert_yaxis()
        if sc == "log":
            ax.set_xscale("log")
            log_ticks(ax, "x")
        ax.set_title(f"{task} ({row['type']})", fontsize=7)
        ax.set_xlabel(f"test {metric} ({'geometric ' if sc == 'log' else ''}mean, 95% t interval)", fontsize=7)
    fig.suptitle("the best archs per task with their 95% intervals; ★ = the study's best for the row", fontsize=8)
    fig.tight_layout()
    return fig


def regime_tables(cfg, sw, main_metrics):
    """The map rebuilt from the main grid: per-replica scores of the study's archs on the map's
    tasks, the verdict row before the robustness check, the per-row table with our best arch
    including the peers (CSV regime_map) and every row's tests (CSV regime_map_tests)."""
    scores = regime_map(main_metrics, sw.study, sw.tasks)
    row, table, fams = verdict_regime(scores, sw.study)
    table["best incl. peers"] = regime_rows(regime_map(main_metrics, sw.archs, sw.tasks), sw.archs)[0][
        "our best (centre)"].to_numpy()
    cfg.table(table, "regime_map")
    cfg.table(pd.concat([f.assign(row=k) for k, f in fams.items() if len(f)], ignore_index=True), "regime_map_tests")
    return {"regime_scores": scores, "regime_row": row, "regime_map": table}


def fig_regime(tab, cfg, sw):
    """The best archs per map task with their intervals (`regime_plot`)."""
    t = tab["regime_map"]
    cfg.save(regime_plot(tab["regime_scores"], sw.study), "07_regime_map", caption=(
        "For each task standing for a row of the study's regime map: the five study archs with the best centre "
        "(geometric-mean MSE or mean accuracy, 95% t interval) and the study's best arch for the row (star); "
        f"rows where it is significantly best: {int((t['row'] == verdicts.HOLDS).sum())} of {len(t)}."))


def check(exps, sw, tab, main_metrics):
    """The regime map's scorecard row as trained (`tab["regime_row"]`, from `regime_tables`) with its
    robustness check (`robustness.Check`): each row of the map reads the check's runs of the
    study's archs on that row's tasks (exps["check"] restricted to them)."""
    row, full = tab["regime_row"], exps["check"]
    reads = {}
    for line in published.regime_map():
        task_list = [t for t in line["tasks"] if t in full.tasks]
        reads[line["type"]] = {"check": [dataclasses.replace(full, tasks=task_list)]} if task_list else {}

    def verdict_of(s):
        k = s.get("check")
        metrics = robustness.merged(None if k is None else k.metrics, main_metrics)   # not yet checked: as trained
        return verdict_regime(regime_map(metrics, sw.study, sw.tasks), sw.study)[0]
    return robustness.Check(row, reads, verdict_of)


def answers(tab, sw):
    """The notebook's answers to its own three questions (question, answer, evidence) for the
    paper's abstract and its "Beyond the study" table."""
    beats_all, loses_all = sine_vs_multiplication(tab["glu_ablation"])
    n = len(sw.tasks)
    n_better = tab["glu_vs_vanilla"].groupby("arch")["better"].sum().reindex(tab["glu"])
    rho, m, std = tab["rho"], tab["mean_ranks"], tab["standard"]
    return [
        {"question": "Sine or multiplication?",
         "answer": f"SinGLU beats all three non-periodic GLUs (same width) on {len(beats_all)}/{n} tasks "
                   f"({', '.join(beats_all) or 'none'}) and loses to all three on {len(loses_all)} "
                   f"({', '.join(loses_all) or 'none'}); GLUs beat Vanilla on "
                   + ", ".join(f"{a} {int(k)}/{n}" for a, k in n_better.items()) + " tasks.",
         "evidence": "07_glu_and_periodic_peers, glu_ablation.csv"},
        {"question": "Does the ranking survive tuning?",
         "answer": f"Per-task rank correlation default vs tuned lr: median {rho['spearman'].median():.2f}; SinGLU beats "
                   f"Vanilla on {len(tab['wins_default'])}/{len(std)} standard tasks at lr 1e-3 and "
                   f"{len(tab['wins_tuned'])}/{len(std)} with tuned lrs; best mean rank "
                   f"{m['rank default'].idxmin()} (default) vs {m['rank tuned'].idxmin()} (tuned).",
         "evidence": "07_rank_default_vs_tuned, 07_tuned_lr"},
        {"question": "Does the edge persist with scale?",
         "answer": "; ".join(f"{t}: {closes_text(st)}" for t, st in tab["closes"].items()) +
                   f" (budgets {', '.join(f'{b:,}' for b in sw.budgets)}).",
         "evidence": "07_scale, scale_singlu_vs_vanilla.csv"},
    ]


def summary(answers_, final):
    """The notebook's closing text: each answer, then the regime map's verdict and its robustness check."""
    return "\n\n".join([f"**{a['question']}** {a['answer']}" for a in answers_] + [
        f"**Regime map: {final['verdict']}** ({final['reason']}). {final['ours']}; robustness check: "
        + (f"{final['verdict_other_kernels']} under the one-ulp perturbation" if final.get("verdict_other_kernels")
           else "not needed beyond " + (", ".join(final.get("check_parts_run", [])) or "nothing") + " (the rest could "
           "not change the verdict)") + "."])
