"""Finding 3: "Every adaptive mechanism fails at small scale (gradient competition between
meta-parameters and direct computation); α stuck at 0.5, ω frozen, phase ~0".

"Meta" parameters are the ones a neuron lists in `META` (phase Wφ, gates Wα/Wa, frequency Wω,
v15's α/β/γ); everything else, the head included, is "direct" (see `richneuron.neurons`). The
adaptive statistics come from the engine's history (logged on the training inputs every
`log_every` steps); weight movement and phase ablation are computed here from the trained
replicas, which `Results.model` returns.
"""
import math

import numpy as np
import pandas as pd
import torch

from .. import models, protocol, stats, tasks as _tasks
from . import ranking

ADAPTIVE = ("v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v15")
REFERENCE = "singlu"

ALPHA_TOL, ALPHA_STD_MAX = 0.05, 0.1       # "α stuck at 0.5"
OMEGA_REL_DRIFT_MAX = 0.05                 # "ω frozen at its initial value"
PHASE_ABS_MAX = 0.1                        # "phase ~0" (radians)

# The verdict criteria, stated in the notebook's first cell (before any data) and in the scorecard.
CRITERIA = {
    "adaptive_fail": "an adaptive arch 'significantly beats' SinGLU on a task when " + ranking.SIGNIFICANT + "; "
                     "replicated if no adaptive arch significantly beats SinGLU on any of the "
                     "six standard tasks; replicated only under stated conditions if some do on some tasks but none "
                     "on a majority (4 or more of 6) — the winning archs and tasks are named; not replicated if at "
                     "least one adaptive arch significantly beats SinGLU on a majority of the tasks",
    "alpha": f"v6's α is 'stuck at 0.5' if at the end of training its mean over inputs and units lies within "
             f"{ALPHA_TOL} of 0.5 and its std over inputs and units is below {ALPHA_STD_MAX}, in every layer, seed "
             f"and task (a router that routes moves its mean or spreads towards 0 and 1)",
    "omega": f"v7's ω is 'frozen at initialization' if its mean over inputs and units moved by less than "
             f"{OMEGA_REL_DRIFT_MAX:.0%} of its initial value in every layer, seed and task",
    "phase": f"v11's phase is '~0' if its mean |phase| stays below {PHASE_ABS_MAX} rad in every layer, seed and "
             f"task (by construction it is bounded by 0.1·ω, i.e. 0.1 rad at our ω = 1), and 'basically SinGLU' "
             f"if v11 is not significantly different from SinGLU on a majority of the tasks",
}


# ----------------------------------------------------------------------------- scores vs SinGLU

def vs_reference(metrics, archs, task_list=ranking.STANDARD, reference=REFERENCE):
    """`ranking.compare` of every arch in `archs` against `reference` on every task, one row each."""
    rows = [ranking.compare(metrics, t, a, reference) for a in archs if a != reference for t in task_list]
    out = pd.DataFrame(rows)
    out["vs " + reference] = out.apply(ranking.effect_text, axis=1)
    return out


def wins_summary(cmp, n_tasks):
    """Per arch: tasks where it is significantly better / worse than the reference."""
    rows = []
    for arch, g in cmp.groupby("arch", sort=False):
        rows.append({"arch": arch, "better on": int(g["better"].sum()), "worse on": int(g["worse"].sum()),
                     "tasks better": ", ".join(g.loc[g["better"], "task"]) or "–",
                     "tasks worse": ", ".join(g.loc[g["worse"], "task"]) or "–",
                     "majority": bool(g["better"].sum() > n_tasks / 2)})
    return pd.DataFrame(rows)


def verdict(summary):
    """adaptive_fail from a `wins_summary` (criteria in CRITERIA['adaptive_fail'])."""
    if summary["majority"].any():
        return stats.NOT_REPLICATED
    if (summary["better on"] > 0).any():
        return stats.CONDITIONAL
    return stats.REPLICATED


def relative_scores(summary_table, metric_of_task, reference=REFERENCE):
    """Each arch's mean score relative to the reference's on the same task: MSE ratio
    reference/arch (> 1: better than the reference) or accuracy difference in pp (> 0: better)."""
    t = summary_table.copy()
    ref = t[t["arch"] == reference].set_index("task")["mean"]
    mse = t["task"].map(metric_of_task) == "mse"
    t["relative"] = np.where(mse, t["task"].map(ref) / t["mean"], 100 * (t["mean"] - t["task"].map(ref)))
    return t


# ----------------------------------------------------------------------------- history statistics

def history_quantity(history, quantity, archs=None):
    """Rows of one history quantity (all layers), optionally only for `archs`."""
    h = history[history["quantity"] == quantity]
    if archs is not None:
        h = h[h["arch"].isin(list(archs))]
    return h


def start_end(history, quantity, archs=None, by=("arch", "task", "seed", "layer")):
    """For every (arch, task, seed, layer): the quantity at the first logged step and at the end of
    training (the last logged step)."""
    h = history_quantity(history, quantity, archs)
    if h.empty:
        return pd.DataFrame(columns=[*by, "start", "end"])
    g = h.sort_values("step").groupby(list(by), sort=False)["value"]
    return pd.DataFrame({"start": g.first(), "end": g.last()}).reset_index()


def across_seeds(se, by=("arch", "task", "layer")):
    """`start_end` rows summarised over seeds: mean start, mean/min/max end."""
    if se.empty:
        return se
    return se.groupby(list(by), sort=False).agg(start=("start", "mean"), end=("end", "mean"),
                                                end_min=("end", "min"), end_max=("end", "max"),
                                                n=("end", "count")).reset_index()


def alpha_check(history, arch="v6"):
    """Is `arch`'s α stuck at 0.5? Per (task, seed, layer) start/end mean and std, and the answer."""
    m, s = start_end(history, "alpha_mean", [arch]), start_end(history, "alpha_std", [arch])
    if m.empty:
        return None, m
    t = m.merge(s, on=["arch", "task", "seed", "layer"], suffixes=("_mean", "_std"))
    t["stuck"] = ((t["end_mean"] - 0.5).abs() < ALPHA_TOL) & (t["end_std"] < ALPHA_STD_MAX)
    return bool(t["stuck"].all()), t


def omega_check(history, arch="v7"):
    """Is `arch`'s ω frozen? Per (task, seed, layer) initial ω mean, drift, relative drift."""
    m, d = start_end(history, "omega_mean", [arch]), start_end(history, "omega_drift", [arch])
    if m.empty:
        return None, m
    t = m.merge(d[["arch", "task", "seed", "layer", "end"]].rename(columns={"end": "drift"}),
                on=["arch", "task", "seed", "layer"])
    t["relative drift"] = t["drift"] / t["start"]
    t["frozen"] = t["relative drift"].abs() < OMEGA_REL_DRIFT_MAX
    return bool(t["frozen"].all()), t


def phase_check(history, cmp, arch="v11", n_tasks=len(ranking.STANDARD)):
    """Is `arch`'s phase ~0, and is the arch 'basically SinGLU'? Returns (near_zero, like_singlu, table)."""
    t = start_end(history, "phase_abs_mean", [arch])
    if t.empty:
        return None, None, t
    t["near zero"] = t["end"] < PHASE_ABS_MAX
    c = cmp[cmp["arch"] == arch]
    same = int((~c["better"] & ~c["worse"]).sum())
    return bool(t["near zero"].all()), bool(same > n_tasks / 2), t


# ----------------------------------------------------------------------------- gradients

def role_sizes(arch, in_dim, out_dim, width, depth, **options):
    """Number of parameters per (layer label, role), with the "all" aggregates the engine logs."""
    net = models.build_model(arch, in_dim, out_dim, width=width, depth=depth, seed=0, **options)
    out = {}
    for name, p in net.named_parameters():
        parts = name.split(".")
        if parts[0] == "head":
            lab, role = "head", "direct"
        else:
            lab = parts[1]
            role = "meta" if parts[2] in net.layers[int(parts[1])].META else "direct"
        for key in ((lab, role), ("all", role)):
            out[key] = out.get(key, 0) + p.numel()
    return out


def grad_rms(history, archs=None):
    """The logged gradient norms per role turned into a per-parameter RMS (norm / √n), so that
    roles with few parameters (the meta ones) can be compared with the many direct ones."""
    h = history[history["quantity"].isin(["grad_norm_direct", "grad_norm_meta"])]
    if archs is not None:
        h = h[h["arch"].isin(list(archs))]
    h = h.copy()
    h["role"] = h["quantity"].str.replace("grad_norm_", "", regex=False)
    sizes = {}
    for (arch, task, width, depth), _ in h.groupby(["arch", "task", "width", "depth"]):
        t = _tasks.make(task, seed=protocol.DATA_SEED)
        sizes[(arch, task)] = role_sizes(arch, t.in_dim, t.out_dim, int(width), int(depth))
    h["n_params"] = [sizes[(a, t)].get((lab, r), np.nan) for a, t, lab, r in zip(h["arch"], h["task"], h["layer"], h["role"])]
    h["rms"] = h["value"] / np.sqrt(h["n_params"])
    return h


def grad_ratio(g):
    """Meta / direct per-parameter gradient RMS (layer "all"), geometric mean over the logged
    steps and seeds, per (arch, task)."""
    a = g[g["layer"] == "all"].pivot_table(index=["arch", "task", "seed", "step"], columns="role", values="rms")
    a = a.dropna()
    r = np.log(a["meta"].clip(lower=1e-30)) - np.log(a["direct"].clip(lower=1e-30))
    return np.exp(r.groupby(["arch", "task"]).mean()).rename("meta/direct").reset_index()


def gradient_panels(g, task, archs, axes):
    """Per-parameter gradient RMS over training on `task`, one panel per arch: direct (blue) and
    meta (red); layer "all" thick, per layer thin (solid 0, dashed 1, dotted head). Mean over seeds."""
    styles = {"all": ("-", 2.0), "0": ("-", 0.8), "1": ("--", 0.8), "head": (":", 1.0)}
    colors = {"direct": "C0", "meta": "C3"}
    for ax, arch in zip(axes, archs):
        d = g[(g["arch"] == arch) & (g["task"] == task)]
        for (role, lab), s in d.groupby(["role", "layer"]):
            m = s.groupby("step")["rms"].mean()
            ls, lw = styles[lab]
            ax.plot(m.index, m.values, ls=ls, lw=lw, c=colors[role])
        ax.set(yscale="log", title=arch, xlabel="step")
    axes[0].set_ylabel("gradient RMS per parameter")
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], c=c, lw=2, label=r) for r, c in colors.items()]
    handles += [Line2D([], [], c="k", ls=ls, lw=lw, label=f"layer {lab}") for lab, (ls, lw) in styles.items()]
    return handles


# ----------------------------------------------------------------------------- trained weights

def _roles_of(net):
    out = {}
    for name, _ in net.named_parameters():
        parts = name.split(".")
        if parts[0] == "head":
            out[name] = "direct"
        else:
            out[name] = "meta" if parts[2] in net.layers[int(parts[1])].META else "direct"
    return out


def weight_movement(results, archs, task_list, seeds):
    """‖W_end − W_init‖ / ‖W_init‖ per role (all matrices, biases and scalars of that role
    together), for every trained replica of `archs` × `task_list` × `seeds` in `results`.
    The initial weights are rebuilt from the seed (`build_model(..., seed=seed)` is exact)."""
    m = results.metrics
    rows = []
    for arch in archs:
        for task in task_list:
            for seed in seeds:
                sel = m[(m["arch"] == arch) & (m["task"] == task) & (m["seed"] == seed)]
                if sel.empty:
                    continue
                row = sel.iloc[0]
                net = results.model(arch, task, seed)
                init = models.build_model(arch, net.in_dim, net.out_dim, width=net.width, depth=net.depth,
                                          seed=seed, **net.options)
                roles = _roles_of(net)
                num, den = {}, {}
                p0 = dict(init.named_parameters())
                for name, p in net.named_parameters():
                    r = roles[name]
                    num[r] = num.get(r, 0.0) + float((p.detach() - p0[name].detach()).pow(2).sum())
                    den[r] = den.get(r, 0.0) + float(p0[name].detach().pow(2).sum())
                for r in num:
                    rows.append({"arch": arch, "task": task, "seed": seed, "role": r,
                                 "relative change": math.sqrt(num[r] / den[r]), "diverged": bool(row["diverged"])})
    return pd.DataFrame(rows)


def _score(net, task):
    with torch.no_grad():
        out = net(task.x_test)
    if task.kind == "regression":
        return float(((out - task.y_test) ** 2).mean())
    return float((out.argmax(1) == task.y_test).float().mean())


def phase_ablation(results, archs, task_list, seeds):
    """Test score of every trained phase replica with its phase input switched off (Wφ weights and
    bias set to zero, so the phase term is 0 in every layer), next to its normal score."""
    rows = []
    m = results.metrics
    for arch in archs:
        for task in task_list:
            t = _tasks.make(task, seed=protocol.DATA_SEED)
            for seed in seeds:
                sel = m[(m["arch"] == arch) & (m["task"] == task) & (m["seed"] == seed) & ~m["diverged"].astype(bool)]
                if sel.empty:
                    continue
                net = results.model(arch, task, seed)
                if not all(hasattr(layer, "Wphi") for layer in net.layers):
                    continue
                full = _score(net, t)
                with torch.no_grad():
                    for layer in net.layers:
                        layer.Wphi.weight.zero_()
                        layer.Wphi.bias.zero_()
                rows.append({"arch": arch, "task": task, "seed": seed, "metric": t.metric,
                             "score": full, "score without phase": _score(net, t)})
    out = pd.DataFrame(rows)
    if len(out):
        mse = out["metric"] == "mse"
        out["cost of removing the phase"] = np.where(mse, out["score without phase"] / out["score"],
                                                     100 * (out["score"] - out["score without phase"]))
    return out


def ablation_summary(ab):
    """Per (arch, task): geometric-mean MSE factor (×, > 1 = worse without phase) or mean accuracy
    drop (pp, > 0 = worse without phase) over seeds."""
    rows = []
    for (arch, task), g in ab.groupby(["arch", "task"], sort=False):
        c = g["cost of removing the phase"]
        if g["metric"].iloc[0] == "mse":
            rows.append({"arch": arch, "task": task, "cost": float(np.exp(np.log(c).mean())), "unit": "×"})
        else:
            rows.append({"arch": arch, "task": task, "cost": float(c.mean()), "unit": "pp"})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- meta learning-rate sweep

META_STAT = {"v6": ("alpha_std", "α spread (std)"), "v7": ("omega_drift", "ω drift"), "v8": ("gate_mean", "gate mean"),
             "v9": ("alpha_std", "α spread (std)")}


def meta_stat(arch):
    """The adaptive statistic that shows whether `arch`'s meta parameters moved."""
    return META_STAT.get(arch, ("phase_abs_mean", "|phase| mean"))


def meta_sweep_table(main, sweep, archs, task_list, seeds):
    """Per (arch, task, meta_lr_scale, seed): test score and the arch's adaptive statistic at the
    end of training (mean over layers), with the main grid supplying scale 1."""
    parts_m, parts_h = [], []
    for res in (main, sweep):
        if res is None:
            continue
        m = res.metrics[res.metrics["arch"].isin(archs) & res.metrics["task"].isin(task_list)
                        & res.metrics["seed"].isin(seeds)]
        parts_m.append(m)
        parts_h.append(res.history[res.history["arch"].isin(archs) & res.history["task"].isin(task_list)
                                   & res.history["seed"].isin(seeds)])
    m = pd.concat(parts_m, ignore_index=True)
    h = pd.concat(parts_h, ignore_index=True)
    m = m.assign(score=stats.score_column(m))
    rows = []
    for arch in archs:
        q, label = meta_stat(arch)
        hh = h[(h["arch"] == arch) & (h["quantity"] == q)]
        last = hh[hh["step"] == hh["steps_total"]]
        val = last.groupby(["task", "meta_lr_scale", "seed"])["value"].mean()
        if q == "omega_drift":      # relative to the initial ω mean
            om = h[(h["arch"] == arch) & (h["quantity"] == "omega_mean") & (h["step"] == 0)]
            val = val / om.groupby(["task", "meta_lr_scale", "seed"])["value"].mean()
            label = "relative ω drift"
        mm = m[m["arch"] == arch].set_index(["task", "meta_lr_scale", "seed"])
        for key, r in mm.iterrows():
            rows.append({"arch": arch, "task": key[0], "meta_lr_scale": key[1], "seed": key[2],
                         "score": r["score"], "metric": r["metric"], "diverged": bool(r["diverged"]),
                         "statistic": label, "value": val.get(key, np.nan)})
    return pd.DataFrame(rows)


def meta_stat_change(mt):
    """Per (arch, task): the adaptive statistic (mean over seeds) at multiplier 1 and at the
    largest multiplier swept."""
    ok = mt[~mt["diverged"]]
    rows = []
    for (arch, task), g in ok.groupby(["arch", "task"], sort=False):
        by = g.groupby("meta_lr_scale")["value"].mean()
        if 1.0 in by.index and by.index.max() != 1.0:
            rows.append({"arch": arch, "task": task, "statistic": g["statistic"].iloc[0], "at 1": by.loc[1.0],
                         "largest multiplier": by.index.max(), "at largest": by.loc[by.index.max()]})
    return pd.DataFrame(rows)


def meta_sweep_effects(mt, reference_scores):
    """For every (arch, task, scale ≠ 1): score change against the same arch at scale 1 and
    against SinGLU (`reference_scores`: task -> array of SinGLU scores), as `ranking.compare_scores`."""
    rows = []
    ok = mt[~mt["diverged"]]
    for (arch, task), g in ok.groupby(["arch", "task"], sort=False):
        base = g[g["meta_lr_scale"] == 1.0]["score"].to_numpy()
        metric = g["metric"].iloc[0]
        for s, gs in g.groupby("meta_lr_scale"):
            a = gs["score"].to_numpy()
            vs1 = ranking.compare_scores(a, base, metric) if s != 1.0 else None
            vsr = ranking.compare_scores(a, reference_scores[task], metric)
            rows.append({"arch": arch, "task": task, "meta_lr_scale": s,
                         "vs scale 1": ranking.effect_text(vs1) if vs1 else "–",
                         "better than scale 1": bool(vs1 and vs1["better"]),
                         "vs SinGLU": ranking.effect_text(vsr), "better than SinGLU": vsr["better"],
                         "worse than SinGLU": vsr["worse"]})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- figures

PHASE_ARCHS = ("v8", "v9", "v10", "v11", "v12", "v13", "v15")


def vs_heatmap(cmp, ax, reference=REFERENCE):
    """Arch × task grid against the reference: green = significantly better, red = significantly
    worse, grey = not distinguishable; each cell annotated with the effect (× for MSE, pp for accuracy)."""
    import seaborn as sns
    from matplotlib.colors import ListedColormap
    archs = list(dict.fromkeys(cmp["arch"]))
    task_list = [t for t in ranking.STANDARD if t in set(cmp["task"])]
    c = cmp.set_index(["arch", "task"])
    val = pd.DataFrame([[(1 if c.loc[(a, t), "better"] else -1 if c.loc[(a, t), "worse"] else 0) for t in task_list]
                        for a in archs], index=archs, columns=task_list)

    def short(r):
        return f"{stats.fmt(r['effect'], 2)}×" if r["unit"] == "×" else f"{r['effect']:+.1f}"
    ann = pd.DataFrame([[short(c.loc[(a, t)]) for t in task_list] for a in archs], index=archs, columns=task_list)
    sns.heatmap(val, annot=ann, fmt="", cmap=ListedColormap(["#d9534f", "#dddddd", "#5cb85c"]), vmin=-1.5, vmax=1.5,
                cbar=False, linewidths=0.5, ax=ax, annot_kws={"size": 7})
    ax.set(xlabel="", ylabel="", title=f"against {reference}: MSE ratio {reference}/arch (×) or accuracy difference (pp)")
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)


def _rel_omega(history):
    """omega_drift divided by the replica's initial omega_mean (same layer), as a history-like frame."""
    d = history[history["quantity"] == "omega_drift"]
    if d.empty:
        return d
    o0 = history[(history["quantity"] == "omega_mean") & (history["step"] == 0)]
    key = ["arch", "task", "seed", "layer"]
    d = d.merge(o0[key + ["value"]].rename(columns={"value": "omega0"}), on=key)
    return d.assign(value=d["value"] / d["omega0"])


def adaptive_stats_figure(history, archs):
    """Six panels of the adaptive statistics over training (means over seeds and layers):
    α mean and std (v6, v9), relative ω drift (v7, v9), gate mean (v8): one colour per task,
    solid/dashed per arch; |phase| and corr(phase, g) for the phase archs: one colour per arch
    (also averaged over tasks)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    fig, axes = plt.subplots(2, 3, figsize=(11, 6))
    specs = [("alpha_mean", ("v6", "v9"), "α mean", "task", 0.5),
             ("alpha_std", ("v6", "v9"), "α std over inputs and units", "task", None),
             ("omega_rel", ("v7", "v9"), "ω drift / initial ω", "task", 0.0),
             ("gate_mean", ("v8",), "gate mean", "task", 0.5),
             ("phase_abs_mean", PHASE_ARCHS, "|phase| mean (rad)", "arch", None),
             ("phase_g_corr", PHASE_ARCHS, "corr(phase, g)", "arch", 0.0)]
    rel = _rel_omega(history[history["arch"].isin(["v7", "v9"])])
    for ax, (q, want, label, hue, ref) in zip(axes.flat, specs):
        use = [a for a in want if a in archs]
        h = rel if q == "omega_rel" else history[history["quantity"] == q]
        h = h[h["arch"].isin(use)]
        if h.empty:
            ax.text(0.5, 0.5, f"{label}:\n{', '.join(want)} not in this run", ha="center", va="center",
                    transform=ax.transAxes, fontsize=8)
            ax.set(xticks=[], yticks=[])
            continue
        mean = h.groupby([hue, "arch", "step"] if hue == "task" else ["arch", "step"])["value"].mean().reset_index()
        if hue == "task":
            sns.lineplot(mean, x="step", y="value", hue="task", style="arch", style_order=use, ax=ax, lw=1)
        else:
            sns.lineplot(mean, x="step", y="value", hue="arch", hue_order=use, ax=ax, lw=1)
        if ref is not None:
            ax.axhline(ref, c="gray", ls=":", lw=0.8)
        if q == "omega_rel":
            ax.axhspan(-OMEGA_REL_DRIFT_MAX, OMEGA_REL_DRIFT_MAX, color="gray", alpha=0.15, lw=0)
        if q == "alpha_mean":
            ax.axhspan(0.5 - ALPHA_TOL, 0.5 + ALPHA_TOL, color="gray", alpha=0.15, lw=0)
        if q == "phase_abs_mean":
            ax.set_yscale("log")
            ax.axhline(PHASE_ABS_MAX, c="gray", ls=":", lw=0.8)
        ax.set(ylabel=label, title=f"{label} ({', '.join(use)})")
        if q in ("alpha_std", "gate_mean"):      # same task colours as the α-mean panel
            ax.get_legend().remove()
        else:
            ax.legend(fontsize=6, ncol=2 if hue == "task" else 1)
    fig.tight_layout()
    return fig


def weight_movement_figure(wm, ax):
    """Relative weight change per role and arch, one point per (task, seed)."""
    import seaborn as sns
    d = wm[~wm["diverged"]]
    order = [a for a in dict.fromkeys(d["arch"])]
    sns.stripplot(d, x="arch", y="relative change", hue="role", hue_order=["direct", "meta"], order=order,
                  dodge=True, size=3, jitter=0.2, ax=ax, palette={"direct": "C0", "meta": "C3"})
    ax.set(yscale="log", xlabel="", ylabel="‖W_end − W_init‖ / ‖W_init‖",
           title="how far training moved each role's weights (every task and seed)")


def meta_sweep_figure(mt, reference_means, task_list):
    """Row 1: each arch's adaptive statistic against the meta learning-rate multiplier (one line per
    task); one row per task below: its score, with SinGLU's mean score as a dashed line."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    archs = list(dict.fromkeys(mt["arch"]))
    fig, axes = plt.subplots(1 + len(task_list), len(archs), figsize=(3.2 * len(archs), 2.5 * (1 + len(task_list))),
                             squeeze=False)
    d = mt[~mt["diverged"]]
    for j, arch in enumerate(archs):
        a = d[d["arch"] == arch]
        sns.lineplot(a, x="meta_lr_scale", y="value", hue="task", hue_order=task_list, marker="o",
                     errorbar="sd", err_style="bars", ax=axes[0, j])
        axes[0, j].set(xscale="log", title=arch, ylabel=a["statistic"].iloc[0], xlabel="meta lr multiplier")
        axes[0, j].legend(fontsize=6)
        for i, task in enumerate(task_list, start=1):
            ax = axes[i, j]
            s = a[a["task"] == task]
            sns.lineplot(s, x="meta_lr_scale", y="score", marker="o", errorbar="sd", err_style="bars", ax=ax,
                         color=f"C{i - 1}", label=arch)
            ax.axhline(reference_means[task], c="k", ls="--", lw=0.8, label=f"{REFERENCE} (scale 1)")
            ax.set(xscale="log", ylabel=f"{task} test {s['metric'].iloc[0] if len(s) else ''}", xlabel="meta lr multiplier")
            if len(s) and s["metric"].iloc[0] == "mse":
                ax.set_yscale("log")
            ax.legend(fontsize=6)
    fig.tight_layout()
    return fig
