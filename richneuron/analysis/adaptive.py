"""Finding 3: "Every adaptive mechanism fails at small scale (gradient competition between
meta-parameters and direct computation); α stuck at 0.5, ω frozen, phase ~0".

"Meta" parameters are the ones a neuron lists in `META` (phase Wφ, gates Wα/Wa, frequency Wω,
v15's α/β/γ); everything else, the head included, is "direct" (see `richneuron.neurons`). The
adaptive statistics come from the engine's history (logged on the training inputs every
`log_every` steps, from step 0 to the last step); weight movement and phase ablation are
computed here from the trained replicas, which `Results.model` returns.

The claim has five parts, each judged on its own family of tests (Holm within the family), all
with `stats.compare`: *performance* (no adaptive arch beats SinGLU), and the mechanisms *α stuck*
(v6), *ω frozen* (v7), *phase ≈ 0* (v11, relative to its bound 0.1·ω) and *gradient competition*
(a larger meta learning rate helps). `tables(...)` gathers the per-replica inputs, `families`
the tests, `verdict` the row.
"""
import math
import warnings

import numpy as np
import pandas as pd
import torch

from .. import models, protocol, stats, tasks as _tasks
from . import common, ranking

CLAIM = "adaptive_fail"
SOURCE = "richneuron/analysis/adaptive.py"
ADAPTIVE = ranking.ADAPTIVE
REFERENCE = "singlu"
ALPHA_ARCH, OMEGA_ARCH, PHASE_ARCH = "v6", "v7", "v11"
ALPHA_MARGIN = 0.05          # a change of v6's α mean or spread smaller than this is "no change" (TOST)
OMEGA_MARGIN = 1.05          # v7's ω(x) mean within a factor 1.05 (5%) of its initial value is "frozen" (TOST)
PHASE_USE_MAX = 0.1          # v11's mean |phase| below 10% of its bound is "≈ 0"
V11_PHASE_BOUND = 0.1        # v11's phase is 0.1·ω·tanh(φ) (neurons.V11): |phase| < 0.1·ω
PARTS = ("performance", "alpha stuck (v6)", "omega frozen (v7)", "phase ≈ 0 (v11)", "gradient competition")

# The verdict criterion, shown in the notebook before any data and stored with the scorecard row (one line).
CRITERIA = {
    CLAIM: "Five parts, each on its own family of stats.compare tests (Welch; Holm within the family, alpha 0.05; equivalence by TOST; 4 seeds x 3 data draws = 12 replicas per group in full mode). (1) performance: each adaptive arch (v6-v13, v15) against SinGLU on each of the six standard tasks (family of 9 x 6 = 54 tests; ratio of geometric-mean MSE or difference of mean accuracy): a pair holds when the adaptive arch is significantly worse or equivalent to SinGLU (within a factor 1.25 / 2 pp, TOST), fails when it is significantly better and not equivalent, and is inconclusive when both geometric-mean MSEs are at the float32 floor (at most 1e-5, ten times stats.FLOAT32_FLOOR: the ratio measures rounding); the part holds when every pair holds, fails when any pair fails, is inconclusive otherwise. (2) alpha stuck (v6): per task, v6's end-of-training alpha mean and alpha spread (std over inputs and units; means over layers) against their values at step 0 (family of 2 x 6 tests): a test holds when the change is equivalent to none within 0.05 (TOST), fails when it is significant (Holm) and at least 0.05 in size. (3) omega frozen (v7): per task, the ratio end/start of v7's mean omega(x) (family of 6 tests): holds when equivalent to 1 within a factor 1.05, fails when significant and at least that factor. (4) phase ~0 (v11), judged relative to its bound 0.1*omega (so not true by construction): per task, v11's end-of-training mean |phase| divided by 0.1*omega against 0.1 (a one-sample Welch test on the log scale via stats.compare against the constant; family of 6 tests): holds when significantly below a tenth of the bound, fails when significantly above it. (5) gradient competition: the meta learning-rate sweep (v6, v7, v10 on spiral and hifreq at meta-lr multipliers 0.1, 10, 100 against multiplier 1: family of 18 tests): an (arch, task) pair is helped when a multiplier above 1 significantly improves the score and is not equivalent to multiplier 1 (factor 1.25 / 2 pp, TOST), not helped when every multiplier above 1 is significantly worse or equivalent; the part holds when every pair is helped, fails when any pair is not helped. Parts (2)-(5) hold when all their tests (pairs) hold, fail when any fails, are inconclusive otherwise, and are inconclusive when their arch is not in the run. Replicated: all five parts hold at the default protocol. Replicated only under stated conditions: not reachable (no condition sweep bears on this claim). Not replicated: any part fails. Inconclusive: otherwise, and whenever the verdict changes when the same runs are repeated with torch's sin/cos/tanh kernels (rounding check).",
}


def replica_keys(df):
    """The columns naming one replica within (arch, task): data draw (when recorded) and seed."""
    return [c for c in ("data_seed", "seed") if c in df]


better_sign = common.better_sign


def _family_with(comparisons, meta):
    """`stats.family` of {label: Comparison} joined with per-label metadata {label: dict}."""
    fam = stats.family(comparisons)
    if not len(fam):
        return fam
    extra = pd.DataFrame([{"label": k, **v} for k, v in meta.items()])
    return extra.merge(fam, on="label")


def _no_change(row, margin, scale):
    """A "nothing moved" test: holds when equivalent (TOST), fails when the Holm-significant
    change is at least `margin` in size, inconclusive otherwise."""
    if row["equivalent"] is True:
        return stats.HOLDS
    size = abs(math.log(row["estimate"])) if scale == "log" else abs(row["estimate"])
    bound = math.log(margin) if scale == "log" else margin
    if row["p_holm"] < stats.ALPHA and size >= bound:
        return stats.FAILS
    return stats.UNSURE


def _all_hold(subs):
    """A part from its tests' sub-verdicts: holds if all hold, fails if any fails, else inconclusive."""
    subs = list(subs)
    if not subs:
        return stats.UNSURE
    if all(s == stats.HOLDS for s in subs):
        return stats.HOLDS
    return stats.FAILS if stats.FAILS in subs else stats.UNSURE


# ----------------------------------------------------------------------------- per-replica tables

def score_rows(metrics, archs, task_list):
    """Per replica of `archs` on `task_list`: arch, task, metric, score, diverged, data_seed, seed
    (and meta_lr_scale): `common.replica_scores`."""
    return common.replica_scores(metrics, archs, task_list)


def start_end(history, quantity, archs=None, by=("arch", "task", "seed", "layer")):
    """For every (arch, task, [data_seed,] seed, layer): the quantity at the first logged step
    (step 0) and at the end of training (the last logged step)."""
    by = list(by)
    if "data_seed" in history and "data_seed" not in by:
        by.insert(by.index("seed") if "seed" in by else len(by), "data_seed")
    h = history[history["quantity"] == quantity]
    if archs is not None:
        h = h[h["arch"].isin(list(archs))]
    if h.empty:
        return pd.DataFrame(columns=[*by, "start", "end"])
    g = h.sort_values("step").groupby(by, sort=False)["value"]
    return pd.DataFrame({"start": g.first(), "end": g.last()}).reset_index()


def per_replica(history, quantity, arch):
    """`start_end` of one arch averaged over its hidden layers: one row per replica."""
    se = start_end(history, quantity, [arch])
    if se.empty:
        return se.drop(columns="layer")
    key = ["arch", "task", *replica_keys(se)]
    return se.groupby(key, sort=False)[["start", "end"]].mean().reset_index()


def across_seeds(se, by=("arch", "task", "layer")):
    """`start_end` rows summarised over replicas: mean start, mean/min/max end."""
    if se.empty:
        return se
    return se.groupby(list(by), sort=False).agg(start=("start", "mean"), end=("end", "mean"),
                                                end_min=("end", "min"), end_max=("end", "max"),
                                                n=("end", "count")).reset_index()


def phase_use(history, arch=PHASE_ARCH, default_omega=1.0):
    """Per replica of v11: mean |phase| at step 0 and at the end, divided by its bound 0.1·ω
    (ω from the history's omega column, `default_omega` where the neuron's default was used)."""
    h = history[(history["arch"] == arch) & (history["quantity"] == "phase_abs_mean")]
    t = per_replica(h, "phase_abs_mean", arch)
    if t.empty:
        return t
    om = h.groupby(["task", *replica_keys(h)])["omega"].first() if "omega" in h else None
    omega = [default_omega if om is None or pd.isna(om.get(tuple(k), np.nan)) else float(om.get(tuple(k)))
             for k in t[["task", *replica_keys(t)]].itertuples(index=False)]
    bound = V11_PHASE_BOUND * np.asarray(omega, float)
    return t.assign(bound=bound, start=t["start"] / bound, end=t["end"] / bound)


def tables(main_metrics, main_history, sweep_metrics=None, sweep_history=None, archs=None,
           task_list=ranking.STANDARD, meta_archs=(), meta_tasks=()):
    """The verdict's inputs as plain per-replica tables: {"scores": adaptive archs and SinGLU on
    the standard tasks, "alpha_mean"/"alpha_std": v6 start/end, "omega": v7 start/end of the mean
    ω(x), "phase": v11 |phase| / bound start/end, "meta": the meta-lr sweep's scores (multiplier 1
    from the main grid, same replicas)}."""
    archs = list(ADAPTIVE) + [REFERENCE] if archs is None else list(archs)
    out = {"scores": score_rows(main_metrics, archs, task_list),
           "alpha_mean": per_replica(main_history, "alpha_mean", ALPHA_ARCH) if ALPHA_ARCH in archs else pd.DataFrame(),
           "alpha_std": per_replica(main_history, "alpha_std", ALPHA_ARCH) if ALPHA_ARCH in archs else pd.DataFrame(),
           "omega": per_replica(main_history, "omega_mean", OMEGA_ARCH) if OMEGA_ARCH in archs else pd.DataFrame(),
           "phase": phase_use(main_history) if PHASE_ARCH in archs else pd.DataFrame()}
    meta = pd.DataFrame()
    if sweep_metrics is not None and len(meta_archs) and len(meta_tasks):
        sw = score_rows(sweep_metrics, meta_archs, meta_tasks)
        keys = ["arch", "task", *replica_keys(sw)]
        base = score_rows(main_metrics, meta_archs, meta_tasks)
        base = base.merge(sw[keys].drop_duplicates(), on=keys)          # the sweep's replicas only
        meta = pd.concat([base.assign(meta_lr_scale=1.0), sw], ignore_index=True)
    out["meta"] = meta
    return out


# ----------------------------------------------------------------------------- families

def _ok(t):
    return t[~t["diverged"].astype(bool)] if "diverged" in t else t


def performance_family(scores, reference=REFERENCE):
    """Every adaptive arch against `reference` on every task: one Holm family. Columns arch,
    task, metric, estimate, low, high, p_value, p_holm, equivalent, better (adaptive significantly
    better), worse, at_floor, part (holds: worse or equivalent; fails: better and not equivalent;
    inconclusive otherwise, and when both are at the float32 floor)."""
    s = _ok(scores)
    comps, meta = {}, {}
    for (arch, task), g in s[s["arch"] != reference].groupby(["arch", "task"], sort=False):
        metric = g["metric"].iloc[0]
        sc = stats.scale_of(metric)
        ref = s[(s["arch"] == reference) & (s["task"] == task)]["score"]
        comps[f"{arch} / {task}"] = stats.compare(g["score"], ref, scale=sc, margin=stats.EQUIVALENCE[sc])
        meta[f"{arch} / {task}"] = {"arch": arch, "task": task, "metric": metric,
                                    "at_floor": common.at_floor(g["score"], ref, sc) if len(ref) else False}
    fam = _family_with(comps, meta)
    if not len(fam):
        return fam
    sign = fam["metric"].map(better_sign)
    fam["better"] = (fam["direction"] == sign) & ~fam["at_floor"]
    fam["worse"] = (fam["direction"] == -sign) & ~fam["at_floor"]
    fam["effect (ci)"] = fam.apply(common.effect_text, axis=1)
    fam["part"] = [stats.UNSURE if f else stats.HOLDS if (w or e is True) else stats.FAILS if b else stats.UNSURE
                   for b, w, e, f in zip(fam["better"], fam["worse"], fam["equivalent"], fam["at_floor"])]
    return fam


def no_change_family(named, scale, margins):
    """End against start of each statistic in `named` ({statistic: start/end per-replica table}),
    per task, as one Holm family; `margins` {statistic: margin}. Column part: `_no_change`."""
    comps, meta = {}, {}
    for stat, t in named.items():
        for task, g in t.groupby("task", sort=False):
            comps[f"{stat} / {task}"] = stats.compare(g["end"], g["start"], scale=scale, margin=margins[stat])
            meta[f"{stat} / {task}"] = {"statistic": stat, "task": task}
    fam = _family_with(comps, meta)
    if len(fam):
        fam["part"] = [_no_change(r, r["margin"], scale) for _, r in fam.iterrows()]
    return fam


def phase_family(phase, threshold=PHASE_USE_MAX):
    """v11's end |phase| / bound per task against `threshold` (one-sample, log scale): holds when
    significantly below (Holm over tasks), fails when significantly above."""
    comps, meta = {}, {}
    for task, g in phase.groupby("task", sort=False):
        with warnings.catch_warnings():      # scipy warns about the constant group's zero variance
            warnings.simplefilter("ignore", RuntimeWarning)
            comps[task] = stats.compare(g["end"], np.full(len(g), threshold), scale="log")
        meta[task] = {"task": task, "start (share of bound)": float(np.exp(np.log(g["start"]).mean()))}
    fam = _family_with(comps, meta)
    if len(fam):
        fam["part"] = fam["direction"].map({-1: stats.HOLDS, 1: stats.FAILS, 0: stats.UNSURE})
    return fam


def meta_family(meta):
    """Each (arch, task, multiplier ≠ 1) of the meta-lr sweep against multiplier 1 (same
    replicas): one Holm family. Columns improves / harms (significantly, by the task's metric)."""
    m = _ok(meta)
    comps, info = {}, {}
    for (arch, task), g in m.groupby(["arch", "task"], sort=False):
        metric = g["metric"].iloc[0]
        sc = stats.scale_of(metric)
        base = g[g["meta_lr_scale"] == 1.0]["score"]
        for s, gs in g[g["meta_lr_scale"] != 1.0].groupby("meta_lr_scale"):
            lab = f"{arch} / {task} / x{s:g}"
            comps[lab] = stats.compare(gs["score"], base, scale=sc, margin=stats.EQUIVALENCE[sc])
            info[lab] = {"arch": arch, "task": task, "meta_lr_scale": float(s), "metric": metric}
    fam = _family_with(comps, info)
    if len(fam):
        sign = fam["metric"].map(better_sign)
        fam["improves"], fam["harms"] = fam["direction"] == sign, fam["direction"] == -sign
    return fam


def meta_pairs(fam):
    """Per (arch, task) of the sweep: helped (a multiplier > 1 significantly improves, beyond the
    equivalence margin: holds),
    not helped (every multiplier > 1 significantly worse or equivalent: fails), else inconclusive."""
    rows = []
    for (arch, task), g in fam.groupby(["arch", "task"], sort=False):
        up = g[g["meta_lr_scale"] > 1]
        if not len(up):
            continue
        helped = up["improves"] & ~up["equivalent"].eq(True)
        if helped.any():
            part = stats.HOLDS
        elif (up["harms"] | up["equivalent"].eq(True)).all():
            part = stats.FAILS
        else:
            part = stats.UNSURE
        rows.append({"arch": arch, "task": task, "part": part,
                     "improving multipliers": ", ".join(f"x{s:g}" for s in up.loc[helped, "meta_lr_scale"]) or "–"})
    return pd.DataFrame(rows, columns=["arch", "task", "part", "improving multipliers"])


def families(t):
    """All the claim's test families from `tables`' output: {part name: family table}."""
    out = {"performance": performance_family(t["scores"])}
    alpha = {k: t[k] for k in ("alpha_mean", "alpha_std") if len(t.get(k, ()))}
    out["alpha stuck (v6)"] = no_change_family(alpha, "linear", {k: ALPHA_MARGIN for k in alpha}) if alpha else pd.DataFrame()
    out["omega frozen (v7)"] = (no_change_family({"omega_mean": t["omega"]}, "log", {"omega_mean": OMEGA_MARGIN})
                                if len(t.get("omega", ())) else pd.DataFrame())
    out["phase ≈ 0 (v11)"] = phase_family(t["phase"]) if len(t.get("phase", ())) else pd.DataFrame()
    mf = meta_family(t["meta"]) if len(t.get("meta", ())) else pd.DataFrame()
    out["gradient competition"] = mf
    out["gradient competition (pairs)"] = meta_pairs(mf) if len(mf) else pd.DataFrame()
    return out


def parts_of(fams):
    """Sub-verdict of each of the five parts ({part: holds/fails/inconclusive}); a part whose
    family is empty (its arch is not in the run) is inconclusive."""
    src = {p: fams.get(p, pd.DataFrame()) for p in PARTS}
    src["gradient competition"] = fams.get("gradient competition (pairs)", pd.DataFrame())
    return {p: _all_hold(f["part"]) if len(f) else stats.UNSURE for p, f in src.items()}


def verdict(t, ours=None):
    """The scorecard row of claim 8 from `tables`' output (criterion: CRITERIA[CLAIM])."""
    fams = families(t)
    parts = parts_of(fams)
    v, reason = stats.judge(parts)
    missing = [p for p in PARTS if not len(fams.get(p if p != "gradient competition" else "gradient competition (pairs)", ()))]
    if missing:
        reason += f" (not measured in this run: {', '.join(missing)})"
    if ours is None:
        ours = summary(t, fams)
    return stats.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "03_vs_singlu, 03_adaptive_stats, 03_meta_lr",
                         parts=parts, reason=reason, criterion_source=SOURCE)


def summary(t, fams=None):
    """One line of computed reading: what beat SinGLU, and each mechanism's sub-verdict."""
    fams = families(t) if fams is None else fams
    perf = fams["performance"]
    wins = perf[perf["better"]] if len(perf) else perf
    parts = parts_of(fams)
    beat = "; ".join(f"{r.arch} on {r.task}" for r in wins.itertuples()) or "none"
    return (f"adaptive archs significantly better than SinGLU (Holm over {len(perf)} tests): {beat}; "
            + "; ".join(f"{p}: {v}" for p, v in parts.items() if p != "performance"))


def relative_scores(summary_table, metric_of_task, reference=REFERENCE):
    """Each arch's centre (geometric mean for MSE) relative to the reference's on the same task:
    MSE ratio reference/arch (> 1: better than the reference) or accuracy difference in pp."""
    t = summary_table.copy()
    ref = t[t["arch"] == reference].set_index("task")["mean"]
    mse = t["task"].map(metric_of_task) == "mse"
    t["relative"] = np.where(mse, t["task"].map(ref) / t["mean"], 100 * (t["mean"] - t["task"].map(ref)))
    return t


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
    a = g[g["layer"] == "all"].pivot_table(index=["arch", "task", *replica_keys(g), "step"], columns="role", values="rms")
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


def _one_draw(results, data_seed):
    """`results.metrics` restricted to one data draw (when the runs have several), and the
    `Results.model` filter that picks it."""
    m = results.metrics
    if "data_seed" not in m:
        return m, {}
    return m[m["data_seed"] == data_seed], {"data_seed": data_seed}


def weight_movement(results, archs, task_list, seeds, data_seed=protocol.DATA_SEED):
    """‖W_end − W_init‖ / ‖W_init‖ per role (all matrices, biases and scalars of that role
    together), for every trained replica of `archs` × `task_list` × `seeds` on data draw
    `data_seed` in `results`. The initial weights are rebuilt from the seed (exact)."""
    m, where = _one_draw(results, data_seed)
    rows = []
    for arch in archs:
        for task in task_list:
            for seed in seeds:
                sel = m[(m["arch"] == arch) & (m["task"] == task) & (m["seed"] == seed)]
                if sel.empty:
                    continue
                row = sel.iloc[0]
                net = results.model(arch, task, seed, **where)
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


def phase_ablation(results, archs, task_list, seeds, data_seed=protocol.DATA_SEED):
    """Test score of every trained phase replica (data draw `data_seed`) with its phase input
    switched off (Wφ weights and bias set to zero, so the phase term is 0 in every layer), next
    to its normal score."""
    rows = []
    m, where = _one_draw(results, data_seed)
    for arch in archs:
        for task in task_list:
            t = _tasks.make(task, seed=data_seed)
            for seed in seeds:
                sel = m[(m["arch"] == arch) & (m["task"] == task) & (m["seed"] == seed) & ~m["diverged"].astype(bool)]
                if sel.empty:
                    continue
                net = results.model(arch, task, seed, **where)
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
    key = ["task", "meta_lr_scale", *replica_keys(h)]
    rows = []
    for arch in archs:
        q, label = meta_stat(arch)
        hh = h[(h["arch"] == arch) & (h["quantity"] == q)]
        last = hh[hh["step"] == hh["steps_total"]]
        val = last.groupby(key)["value"].mean()
        if q == "omega_drift":      # relative to the initial ω mean
            om = h[(h["arch"] == arch) & (h["quantity"] == "omega_mean") & (h["step"] == 0)]
            val = val / om.groupby(key)["value"].mean()
            label = "relative ω drift"
        mm = m[m["arch"] == arch].set_index(key)
        for k, r in mm.iterrows():
            rows.append({"arch": arch, **dict(zip(key, k)), "score": r["score"], "metric": r["metric"],
                         "diverged": bool(r["diverged"]), "statistic": label, "value": val.get(k, np.nan)})
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


# ----------------------------------------------------------------------------- figures

PHASE_ARCHS = ("v8", "v9", "v10", "v11", "v12", "v13", "v15")


def vs_heatmap(fam, ax, reference=REFERENCE):
    """Arch × task grid of `performance_family` against the reference: green = significantly better
    (Holm), red = significantly worse, grey = neither; each cell annotated with the effect: MSE
    ratio reference/arch (×, > 1 = the arch is better) or accuracy difference arch − reference (pp)."""
    import seaborn as sns
    from matplotlib.colors import ListedColormap
    archs = list(dict.fromkeys(fam["arch"]))
    task_list = [t for t in ranking.STANDARD if t in set(fam["task"])]
    c = fam.set_index(["arch", "task"])
    val = pd.DataFrame([[(1 if c.loc[(a, t), "better"] else -1 if c.loc[(a, t), "worse"] else 0) for t in task_list]
                        for a in archs], index=archs, columns=task_list)

    def short(r):
        return f"{stats.fmt(1 / r['estimate'], 2)}×" if r["scale"] == "log" else f"{100 * r['estimate']:+.1f}"
    ann = pd.DataFrame([[short(c.loc[(a, t)]) for t in task_list] for a in archs], index=archs, columns=task_list)
    sns.heatmap(val, annot=ann, fmt="", cmap=ListedColormap(["#d9534f", "#dddddd", "#5cb85c"]), vmin=-1.5, vmax=1.5,
                cbar=False, linewidths=0.5, ax=ax, annot_kws={"size": 7})
    ax.set(xlabel="", ylabel="", title=f"against {reference} (Holm): MSE ratio {reference}/arch (×) or accuracy difference (pp)")
    ax.tick_params(axis="x", rotation=30)
    ax.tick_params(axis="y", rotation=0)


def _rel_omega(history):
    """omega_drift divided by the replica's initial omega_mean (same layer), as a history-like frame."""
    d = history[history["quantity"] == "omega_drift"]
    if d.empty:
        return d
    o0 = history[(history["quantity"] == "omega_mean") & (history["step"] == 0)]
    key = ["arch", "task", *replica_keys(d), "layer"]
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
            ax.axhspan(1 / OMEGA_MARGIN - 1, OMEGA_MARGIN - 1, color="gray", alpha=0.15, lw=0)
        if q == "alpha_mean":
            ax.axhspan(0.5 - ALPHA_MARGIN, 0.5 + ALPHA_MARGIN, color="gray", alpha=0.15, lw=0)
        if q == "phase_abs_mean":
            ax.set_yscale("log")
            ax.axhline(PHASE_USE_MAX * V11_PHASE_BOUND, c="gray", ls=":", lw=0.8)
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
