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
the tests, `verdict` the row. `experiments` builds the notebook's runs and `inputs` the tables from
them; below the verdict come the notebook's shown tables, one-line readings and figures (each
saved with its caption).
"""
import dataclasses
import math
import warnings

import numpy as np
import pandas as pd
import torch

from .. import criteria, models, neurons, plots, protocol, stats, tasks as _tasks, verdicts
from ..experiment import as_list, cost
from . import common, ranking, robustness

CLAIM = "adaptive_fail"
ADAPTIVE = ranking.ADAPTIVE
REFERENCE = "singlu"
ALPHA_ARCH, OMEGA_ARCH, PHASE_ARCH = "v6", "v7", "v11"
ALPHA_MARGIN = 0.05          # a change of v6's α mean or spread smaller than this is "no change" (TOST)
OMEGA_MARGIN = 1.05          # v7's ω(x) mean within a factor 1.05 (5%) of its initial value is "frozen" (TOST)
PHASE_USE_MAX = 0.1          # v11's mean |phase| below 10% of its bound is "≈ 0"
V11_PHASE_BOUND = 0.1        # v11's phase is 0.1·ω·tanh(φ) (neurons.V11): |phase| < 0.1·ω
PARTS = ("performance", "alpha stuck (v6)", "omega frozen (v7)", "phase ≈ 0 (v11)", "gradient competition")
GRADIENT = "gradient competition"
REPOSED = "gradient competition, re-posed (ours): meta learning-rate sweep"
UNTESTABLE = {GRADIENT: "under Adam every parameter's step is divided by the running RMS of its own gradient, so "
                        "meta gradients far smaller than the direct ones still move their weights at the same rate: "
                        "competition between gradients is a statement about plain SGD; we test a re-posed version "
                        "(ours: does a larger meta learning rate help?) and show it beside the row"}

# The verdict criterion (its file in richneuron/criteria/), shown in the notebook before any data and stored with the row.
CRITERIA = {c: criteria.text(c) for c in (CLAIM,)}   # richneuron/criteria/<claim>.md


TASKS = list(ranking.STANDARD)
MECHANISMS = PARTS[1:4]


def experiments(cfg, meta_archs, meta_tasks, meta_scales, meta_seeds):
    """The notebook's runs: {"main": the run's archs on the six standard tasks at the default
    protocol (the cells notebook 02 shares), "meta": the meta learning-rate sweep of the
    `meta_archs` that are in the run, on `meta_tasks`, at the multipliers of `meta_scales` other
    than 1 (1 is the main grid's), with the first `meta_seeds` seeds on every data draw (None when
    there is nothing to sweep), "check" and "meta_check": the same runs under the one-ulp perturbation (the
    robustness check)}. Quick mode sweeps the first task at the largest multiplier."""
    if not any(a in ADAPTIVE for a in cfg.archs):
        raise ValueError(f"archs holds no adaptive arch (got {', '.join(cfg.archs)}); give some of {', '.join(ADAPTIVE)}")
    bad = [t for t in meta_tasks if t not in TASKS]
    if bad:
        raise ValueError(f"meta_tasks must be among {', '.join(TASKS)}, got {', '.join(map(repr, bad))}")
    m_archs, extra = [a for a in meta_archs if a in cfg.archs], [s for s in meta_scales if s != 1.0]
    if cfg.quick:
        meta_tasks, extra = meta_tasks[:1], extra[-1:]
    main = protocol.main_grid(cfg.archs, TASKS, cfg.seeds, cfg.steps, data_seeds=cfg.data_seeds)
    meta = (protocol.main_grid(m_archs, meta_tasks, cfg.seeds[:meta_seeds], cfg.steps, data_seeds=cfg.data_seeds,
                               meta_lr_scale=extra) if m_archs and meta_tasks and extra else None)
    check = lambda e: None if e is None else dataclasses.replace(e, **protocol.CHECK)
    return {"main": main, "meta": meta, "check": check(main), "meta_check": check(meta)}


def inputs(main, sweep, exps):
    """`tables` of the notebook's runs: `main` (Results of exps["main"] or ["check"]) and `sweep`
    (of exps["meta"] or ["meta_check"], or None)."""
    meta = exps["meta"]
    return tables(main.metrics, main.history, None if sweep is None else sweep.metrics, archs=exps["main"].archs,
                  task_list=exps["main"].tasks, meta_archs=meta.archs if meta else (), meta_tasks=meta.tasks if meta else ())


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
        return verdicts.HOLDS
    size = abs(math.log(row["estimate"])) if scale == "log" else abs(row["estimate"])
    bound = math.log(margin) if scale == "log" else margin
    if row["p_holm"] < stats.ALPHA and size >= bound:
        return verdicts.FAILS
    return verdicts.UNSURE


def _all_hold(subs):
    """A part from its tests' sub-verdicts: holds if all hold, fails if any fails, else inconclusive."""
    subs = list(subs)
    if not subs:
        return verdicts.UNSURE
    if all(s == verdicts.HOLDS for s in subs):
        return verdicts.HOLDS
    return verdicts.FAILS if verdicts.FAILS in subs else verdicts.UNSURE


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
    better), worse, part (holds: worse or equivalent; fails: better and not equivalent;
    inconclusive otherwise)."""
    s = _ok(scores)
    comps, meta = {}, {}
    for (arch, task), g in s[s["arch"] != reference].groupby(["arch", "task"], sort=False):
        metric = g["metric"].iloc[0]
        sc = stats.scale_of(metric)
        gr = s[(s["arch"] == reference) & (s["task"] == task)]
        comps[f"{arch} / {task}"] = common.compare(g, gr, scale=sc, margin=stats.EQUIVALENCE[sc])
        meta[f"{arch} / {task}"] = {"arch": arch, "task": task, "metric": metric}
    fam = _family_with(comps, meta)
    if not len(fam):
        return fam
    sign = fam["metric"].map(better_sign)
    fam["better"] = fam["direction"] == sign
    fam["worse"] = fam["direction"] == -sign
    fam["effect (ci)"] = fam.apply(common.effect_text, axis=1)
    fam["part"] = [verdicts.HOLDS if (w or e is True) else verdicts.FAILS if b else verdicts.UNSURE
                   for b, w, e in zip(fam["better"], fam["worse"], fam["equivalent"])]
    return fam


def no_change_family(named, scale, margins):
    """End against start of each statistic in `named` ({statistic: start/end per-replica table}),
    per task, as one Holm family; `margins` {statistic: margin}. Column part: `_no_change`."""
    comps, meta = {}, {}
    for stat, t in named.items():
        for task, g in t.groupby("task", sort=False):
            comps[f"{stat} / {task}"] = stats.compare(g["end"], g["start"], scale=scale, margin=margins[stat],
                                                      draws=common.draws(g, g))
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
            comps[task] = stats.compare(g["end"], np.full(len(g), threshold), scale="log", draws=common.draws(g, g))
        meta[task] = {"task": task, "start (share of bound)": float(np.exp(np.log(g["start"]).mean()))}
    fam = _family_with(comps, meta)
    if len(fam):
        fam["part"] = fam["direction"].map({-1: verdicts.HOLDS, 1: verdicts.FAILS, 0: verdicts.UNSURE})
    return fam


def meta_family(meta):
    """Each (arch, task, multiplier ≠ 1) of the meta-lr sweep against multiplier 1 (same
    replicas): one Holm family. Columns improves / harms (significantly, by the task's metric)."""
    m = _ok(meta)
    comps, info = {}, {}
    for (arch, task), g in m.groupby(["arch", "task"], sort=False):
        metric = g["metric"].iloc[0]
        sc = stats.scale_of(metric)
        base = g[g["meta_lr_scale"] == 1.0]
        for s, gs in g[g["meta_lr_scale"] != 1.0].groupby("meta_lr_scale"):
            lab = f"{arch} / {task} / x{s:g}"
            comps[lab] = common.compare(gs, base, scale=sc, margin=stats.EQUIVALENCE[sc])
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
            part = verdicts.HOLDS
        elif (up["harms"] | up["equivalent"].eq(True)).all():
            part = verdicts.FAILS
        else:
            part = verdicts.UNSURE
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
    return {p: _all_hold(f["part"]) if len(f) else verdicts.UNSURE for p, f in src.items()}


def verdict(t, ours=None):
    """The scorecard row of claim 8 from `tables`' output (criterion: CRITERIA[CLAIM]). Gradient
    competition is not testable as stated (`UNTESTABLE`); its re-posed version, the meta
    learning-rate sweep, is ours and shown as `reposed`, not counted."""
    fams = families(t)
    parts = parts_of(fams)
    reposed = {REPOSED: parts[GRADIENT]}
    parts[GRADIENT] = verdicts.NOT_TESTABLE
    v, reason = verdicts.judge(parts, untestable=UNTESTABLE)
    missing = [p for p in PARTS if not len(fams.get(p if p != "gradient competition" else "gradient competition (pairs)", ()))]
    if missing:
        reason += f" (not measured in this run: {', '.join(missing)})"
    if ours is None:
        ours = summary(t, fams)
    perf = fams["performance"]
    beat = verdicts.effect(f"tests where an adaptive arch beats SinGLU (of {len(perf)}; the study: none)",
                        int(perf["better"].sum()) if len(perf) else None, published=0, null=None)
    return verdicts.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "03_vs_singlu, 03_adaptive_stats, 03_meta_lr",
                         parts=parts, reason=reason,
                         ratios=common.judged_ratios(fams["performance"], "performance"), reposed=reposed,
                         untestable=UNTESTABLE, settle=_settle(fams, parts), effect=beat)


def _settle(fams, parts):
    """The comparisons behind the inconclusive parts (`verdicts.verdict`'s settle): per inconclusive
    part, its undecided test with the largest p-value (the one furthest from resolved)."""
    out = []
    for p in PARTS:
        f = fams.get(p, pd.DataFrame())
        if parts.get(p) != verdicts.UNSURE or not len(f) or "part" not in f:
            continue
        open_ = f[f["part"] == verdicts.UNSURE]
        if len(open_):
            r = open_.loc[open_["p_value"].idxmax()]
            c = stats.Comparison(**{k: r[k] for k in stats.Comparison.__dataclass_fields__ if k in r})
            out.append((f"{p}: {r['label']}", c, None))
    return out


def summary(t, fams=None):
    """One line of computed reading: what beat SinGLU, and each mechanism's sub-verdict."""
    fams = families(t) if fams is None else fams
    perf = fams["performance"]
    wins = perf[perf["better"]] if len(perf) else perf
    parts = parts_of(fams)
    beat = "; ".join(f"{r.arch} on {r.task}" for r in wins.itertuples()) or "none"
    return (f"adaptive archs significantly better than SinGLU (Holm over {len(perf)} tests): {beat}; "
            + "; ".join(f"{p}: {v}" for p, v in parts.items() if p != "performance"))


# ----------------------------------------------------------------------------- gradients

def role_sizes(results):
    """Parameters per replica of every (arch, task, width, depth) in `results`, per (layer label,
    role) with the ("all", role) totals the engine logs, counted from the stored stacked weights
    (`models.role_counts`): {(arch, task, width, depth): {(label, role): n}}."""
    out = {}
    for cell in results.cells():
        c = cell["config"]
        key, n = (c["arch"], c["task"], int(c["width"]), int(c["depth"])), models.role_counts(c["arch"], cell["weights"])
        if out.setdefault(key, n) != n:
            raise ValueError(f"cells of {key} (arch, task, width, depth) differ in their parameter counts "
                             "(neuron or task options): give grad_rms the results of one setting")
    return out


def grad_rms(results, archs=None):
    """The logged gradient norms per role of `results` turned into a per-parameter RMS
    (norm / √n), so that roles with few parameters (the meta ones) can be compared with the many
    direct ones."""
    h = results.history
    h = h[h["quantity"].isin(["grad_norm_direct", "grad_norm_meta"])]
    if archs is not None:
        h = h[h["arch"].isin(list(archs))]
    h = h.copy()
    h["role"] = h["quantity"].str.replace("grad_norm_", "", regex=False)
    sizes = role_sizes(results)
    h["n_params"] = [sizes[(a, t, int(w), int(d))].get((lab, r), np.nan)
                     for a, t, w, d, lab, r in zip(h["arch"], h["task"], h["width"], h["depth"], h["layer"], h["role"])]
    h["rms"] = h["value"] / np.sqrt(h["n_params"])
    return h


def grad_ratio(g):
    """Meta / direct per-parameter gradient RMS (layer "all"), geometric mean over the logged
    steps and seeds, per (arch, task)."""
    a = g[g["layer"] == "all"].pivot_table(index=["arch", "task", *replica_keys(g), "step"], columns="role", values="rms")
    a = a.dropna()
    r = np.log(a["meta"].clip(lower=1e-30)) - np.log(a["direct"].clip(lower=1e-30))
    return np.exp(r.groupby(["arch", "task"]).mean()).rename("meta/direct").reset_index()


# ----------------------------------------------------------------------------- trained weights

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
    `data_seed` in `results`, as the engine recorded it (`train.movement`, columns "moved.<role>")."""
    m, _ = _one_draw(results, data_seed)
    m = m[m["arch"].isin(archs) & m["task"].isin(task_list) & m["seed"].isin(seeds)]
    cols = [c for c in m.columns if c.startswith("moved.")]
    wm = m.melt(id_vars=["arch", "task", "seed", "diverged"], value_vars=cols, var_name="role",
                value_name="relative change").dropna(subset=["relative change"])
    wm["role"] = wm["role"].str.removeprefix("moved.")
    wm["diverged"] = wm["diverged"].astype(bool)
    return wm[["arch", "task", "seed", "role", "relative change", "diverged"]].reset_index(drop=True)


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


def meta_sweep_table(main, sweep, meta):
    """Per (arch, task, meta_lr_scale, replica) of the sweep experiment `meta` (its archs, tasks and
    seeds): test score and the arch's adaptive statistic at the end of training (mean over
    layers), with the main grid `main` supplying scale 1 and `sweep` the others (empty when
    `meta` is None)."""
    if meta is None:
        return pd.DataFrame(columns=["arch", "task", "meta_lr_scale", "seed", "score", "metric", "diverged",
                                     "statistic", "value"])
    archs, task_list, seeds = meta.archs, meta.tasks, as_list(meta.seed)
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


# ----------------------------------------------------------------------------- the notebook's tables

def shown(df):
    """A table as the notebook shows it: no index column, numbers as `stats.fmt` text (3 significant digits)."""
    floats = [c for c in df.columns if df[c].dtype.kind == "f"]
    return df.style.hide(axis="index").format(stats.fmt, subset=floats)


def scores_shown(summary_table):
    """`common.score_table` rows in the order of the standard tasks, as shown."""
    t = summary_table.sort_values("task", key=lambda s: s.map(TASKS.index), kind="stable")
    return shown(common.display_table(t))


def standing(perf, summary_table, metrics):
    """Per arch of the run, best first: its counts of tasks significantly better than, worse than
    and equivalent to SinGLU (Holm, from `performance_family`; "–" for SinGLU), its rank on each
    task (1 = best centre) and its mean rank."""
    counts = perf.groupby("arch", sort=False).agg(better=("better", "sum"), worse=("worse", "sum"),
                                                  equivalent=("equivalent", lambda e: int(e.eq(True).sum())))
    ranks = ranking.rank_table(summary_table, metrics).reset_index()
    out = ranks[["arch"]].merge(counts.reset_index(), on="arch", how="left")
    for c, name in (("better", "better than"), ("worse", "worse than"), ("equivalent", "equivalent to")):
        out[f"{name} {REFERENCE}"] = [("–" if pd.isna(v) else str(int(v))) for v in out.pop(c)]
    out = out.merge(ranks, on="arch")
    return out.assign(**{"mean rank": out["mean rank"].map(lambda v: f"{v:.1f}")})


def mechanism_table(fams, part):
    """The tests of one mechanism part (`families`' output) as shown; None when its arch is not in the run."""
    f = fams[part]
    show = ["statistic", "task", "estimate", "low", "high", "p_holm", "equivalent", "part"]
    return shown(f[[c for c in show if c in f]]) if len(f) else None


def phase_end_table(history):
    """Mean |phase| (rad) at the end of training per phase arch (rows) and task (columns),
    averaged over layers and replicas."""
    se = across_seeds(start_end(history, "phase_abs_mean", PHASE_ARCHS))
    if se.empty:
        return pd.DataFrame(columns=["arch", *TASKS])
    return se.groupby(["arch", "task"])["end"].mean().unstack().reindex(columns=TASKS).reset_index()


def ablation_table(ab):
    """`ablation_summary` wide (arch × task) as text: MSE factor (×) or accuracy drop (pp); None
    when no phase arch was run."""
    if not len(ab):
        return None
    s = ablation_summary(ab)
    s = s.assign(cost=[f"{stats.fmt(c)}×" if u == "×" else f"{c:+.1f} pp" for c, u in zip(s["cost"], s["unit"])])
    wide = s.pivot(index="arch", columns="task", values="cost")
    return shown(wide.reindex(columns=[t for t in TASKS if t in wide.columns]).reset_index())


def competition_tables(fams):
    """The meta-lr sweep's tests and per-(arch, task) sub-verdicts, as shown (None when no sweep)."""
    mf, pairs = fams["gradient competition"], fams["gradient competition (pairs)"]
    if not len(mf):
        return None
    cols = ["arch", "task", "meta_lr_scale", "estimate", "low", "high", "p_holm", "equivalent", "improves", "harms"]
    return shown(mf[cols]), shown(pairs)


PART_ARCHS = {"alpha stuck (v6)": [ALPHA_ARCH], "omega frozen (v7)": [OMEGA_ARCH], "phase ≈ 0 (v11)": [PHASE_ARCH]}


def check(exps, main, sweep=None):
    """The verdict row as trained (from the Results `main` and `sweep` of `experiments`) with its
    robustness check (`robustness.Check`): performance reads the check's runs of SinGLU and the
    adaptive archs, each mechanism part its arch's (exps["check"] restricted to them), gradient
    competition none (not testable as stated: the meta-lr sweep's check cannot change the verdict)."""
    row = verdict(inputs(main, sweep, exps))
    full = exps["check"]
    archs = lambda want: [a for a in full.archs if a in want]
    sub = lambda want: [dataclasses.replace(full, archs=archs(want))] if archs(want) else []
    reads = {"performance": {"check": sub([REFERENCE, *ADAPTIVE])},
             **{p: {"check": sub(a)} for p, a in PART_ARCHS.items()}}
    reads = {p: ({} if not any(r.values()) else r) for p, r in reads.items()}

    def verdict_of(s):
        k = s.get("check")
        if k is None:
            return verdict(inputs(main, None, exps))
        mix = lambda d: robustness.merged(getattr(k, d), getattr(main, d), by=("arch",))   # not yet checked: as trained
        return verdict(inputs(_Tables(mix("metrics"), mix("history")), None, exps))
    return robustness.Check(row, reads, verdict_of)


@dataclasses.dataclass
class _Tables:
    """Metrics and history tables as `inputs` reads them from Results."""
    metrics: pd.DataFrame
    history: pd.DataFrame


# ----------------------------------------------------------------------------- readings (one line each)

def performance_reading(perf, stand):
    beat = perf[perf["better"]]
    return (f"Holm over the {len(perf)} tests: {len(beat)} (arch, task) pairs significantly better than SinGLU"
            + "".join(f"; {r['arch']} on {r['task']} ({r['effect (ci)']})" for _, r in beat.iterrows())
            + f". Significantly worse: {int(perf['worse'].sum())}; equivalent: {int(perf['equivalent'].eq(True).sum())}. "
            f"Best mean rank: {stand['arch'].iloc[0]} ({stand['mean rank'].iloc[0]}).")


def gradient_reading(gr):
    lo, hi = gr.loc[gr["meta/direct"].idxmin()], gr.loc[gr["meta/direct"].idxmax()]
    return (f"Per parameter, meta gradients range from {stats.fmt(lo['meta/direct'])}× the direct ones "
            f"({lo['arch']}, {lo['task']}) to {stats.fmt(hi['meta/direct'])}× ({hi['arch']}, {hi['task']}); the median "
            f"over archs and tasks is {stats.fmt(gr['meta/direct'].median())}×.")


def mechanism_reading(fams, part):
    return f"**{part}**: " + (f"{parts_of(fams)[part]}." if len(fams[part]) else "its arch is not in this run.")


def weight_movement_reading(wm):
    med = wm[~wm["diverged"]].groupby(["arch", "role"])["relative change"].median().unstack()
    rat = (med["meta"] / med["direct"]).dropna() if "meta" in med else pd.Series(dtype=float)
    return ("Median relative change of the meta weights over that of the direct weights, per arch: "
            + (", ".join(f"{a} {stats.fmt(v, 2)}" for a, v in rat.items()) or "no arch with meta weights") + ".")


def ablation_reading(ab):
    if not len(ab):
        return "No phase arch in this run."
    s = ablation_summary(ab)
    s = s[s["arch"] == PHASE_ARCH]
    if not len(s):
        return f"{PHASE_ARCH} is not in this run; the table shows the other phase archs."
    return ("Removing v11's small phase costs " + ", ".join(
        f"{r['task']} {stats.fmt(r['cost'])}×" if r["unit"] == "×" else f"{r['task']} {r['cost']:+.1f} pp"
        for _, r in s.iterrows()) + ": bounded near 0 is not the same as unused.")


def sweep_reading(exps, mt):
    e = exps["meta"]
    if e is None:
        return "No meta learning-rate sweep in this run (no meta arch of the run, no meta task or no multiplier other than 1)."
    n, steps = cost(e)
    scales = e.meta_lr_scale if isinstance(e.meta_lr_scale, list) else [e.meta_lr_scale]
    draws = e.data_seed if isinstance(e.data_seed, list) else [e.data_seed]
    return (f"Beyond the shared main grid, the sweep trained {n} replicas ({steps:,} model-steps: {len(e.archs)} archs × "
            f"{len(e.tasks)} tasks × {len(scales)} multipliers × {len(as_list(e.seed))} seeds × {len(draws)} "
            f"data draws × {e.steps} steps); {int(mt['diverged'].sum()) if len(mt) else 0} of {len(mt)} replicas in "
            "the comparison diverged.")


def competition_reading(fams):
    mf, pairs = fams["gradient competition"], fams["gradient competition (pairs)"]
    if not len(mf):
        return "No meta learning-rate tests in this run: the gradient-competition part is inconclusive."
    return (f"Holm over the {len(mf)} tests: a multiplier above 1 helps (significantly, beyond the margin) in "
            f"{int((pairs['part'] == verdicts.HOLDS).sum())} of {len(pairs)} (arch, task) pairs; a different multiplier "
            f"significantly harms in {int(mf['harms'].sum())} of {len(mf)} cases.")


def final_reading(final):
    return (f"**Every adaptive mechanism fails: {final['verdict']}** ({final['reason']}). {final['ours']}. Sub-verdicts: "
            + "; ".join(f"{p}: {v}" for p, v in final["parts"].items())
            + ". The robustness check (the same runs under the one-ulp perturbation) gives "
            + (final.get("verdict_other_kernels") or "no verdict: its parts " + ", ".join(final.get("check_parts_skipped", []))
               + " were not needed, as no value of theirs could change the verdict") + ".")


# ----------------------------------------------------------------------------- figures (each saved with its caption)

PHASE_ARCHS = tuple(a for a in ADAPTIVE if "Wphi" in neurons.get(a).META)    # those with a phase term


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


def vs_figure(perf, cfg):
    """`vs_heatmap` of the performance family, saved as 03_vs_singlu."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 0.32 * perf["arch"].nunique() + 1.3))
    vs_heatmap(perf, ax)
    cfg.save(fig, "03_vs_singlu", caption=(
        f"Each adaptive arch against {REFERENCE} on each standard task ({len(perf)} tests, Holm): green significantly "
        f"better ({int(perf['better'].sum())}), red significantly worse ({int(perf['worse'].sum())}), grey neither; "
        "cells give the MSE ratio SinGLU/arch (×, above 1 favours the arch) or the accuracy difference (pp)."))


def gradient_panels(g, task, archs, axes):
    """Per-parameter gradient RMS over training on `task`, one panel per arch: direct (blue) and
    meta (orange); layer "all" thick, per layer thin (solid 0, dashed 1, dotted head). Mean over seeds."""
    from matplotlib.lines import Line2D
    styles = {"all": ("-", 2.0), "0": ("-", 0.8), "1": ("--", 0.8), "head": (":", 1.0)}
    colors = {"direct": "C0", "meta": "C3"}
    for ax, arch in zip(axes, archs):
        d = g[(g["arch"] == arch) & (g["task"] == task)]
        for (role, lab), s in d.groupby(["role", "layer"]):
            m = s.groupby("step")["rms"].mean()
            ls, lw = styles.get(lab, ("-.", 0.8))
            ax.plot(m.index, m.values, ls=ls, lw=lw, c=colors[role])
        ax.set(yscale="log", title=arch, xlabel="step")
    axes[0].set_ylabel("gradient RMS per parameter")
    handles = [Line2D([], [], c=c, lw=2, label=r) for r, c in colors.items()]
    handles += [Line2D([], [], c="k", ls=ls, lw=lw, label=f"layer {lab}") for lab, (ls, lw) in styles.items()]
    return handles


def gradient_figure(g, task, archs, cfg):
    """`gradient_panels` of every arch on `task`, saved as 03_gradient_norms."""
    fig, axes = plots.grid(len(archs), sharey=True)
    handles = gradient_panels(g, task, list(archs), list(axes))
    for ax in axes:
        plots.log_ticks(ax, "y")
    fig.suptitle(f"{task}: gradient RMS per parameter over training (mean over replicas)")
    fig.tight_layout()
    fig.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(handles), fontsize=7,
               frameon=False)
    cfg.save(fig, "03_gradient_norms", caption=(
        f"Gradient RMS per parameter (norm / √n) over training on {task}, one panel per arch: direct parameters in "
        "blue, meta parameters in orange; thick lines all layers together, thin lines per layer; means over replicas."))


def gradient_ratio_figure(gr, archs, cfg):
    """Heatmap arch × task of `grad_ratio` (log colour scale), saved as 03_gradient_ratio."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    gw = gr.pivot(index="arch", columns="task", values="meta/direct")
    gw = gw.reindex(index=[a for a in archs if a in gw.index], columns=[t for t in TASKS if t in gw.columns])
    fig, ax = plt.subplots(figsize=(6.5, 0.32 * len(gw) + 1.3))
    sns.heatmap(np.log10(gw), annot=gw.map(lambda v: stats.fmt(v, 2)), fmt="", cmap="vlag", center=0, ax=ax,
                cbar_kws={"label": "log10(meta / direct)"}, annot_kws={"size": 7}, linewidths=0.5)
    ax.set(title="meta / direct gradient RMS per parameter (geometric mean over training and seeds)", xlabel="", ylabel="")
    ax.tick_params(axis="x", rotation=30)
    cfg.save(fig, "03_gradient_ratio", caption=(
        "Meta over direct gradient RMS per parameter for each adaptive arch and task, geometric mean over the logged "
        f"steps and replicas (median {stats.fmt(gr['meta/direct'].median())}×; blue below 1, red above)."))


def _rel_omega(history):
    """omega_drift divided by the replica's initial omega_mean (same layer), as a history-like frame."""
    d = history[history["quantity"] == "omega_drift"]
    if d.empty:
        return d
    o0 = history[(history["quantity"] == "omega_mean") & (history["step"] == 0)]
    key = ["arch", "task", *replica_keys(d), "layer"]
    d = d.merge(o0[key + ["value"]].rename(columns={"value": "omega0"}), on=key)
    return d.assign(value=d["value"] / d["omega0"])


def adaptive_stats_figure(history, archs, cfg):
    """Six panels of the adaptive statistics over training (means over seeds and layers):
    α mean and std (v6, v9), relative ω drift (v7, v9), gate mean (v8): one colour per task,
    solid/dashed per arch; |phase| and corr(phase, g) for the phase archs: one colour per arch
    (also averaged over tasks). Saved as 03_adaptive_stats."""
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
            use = [a for a in use if a in set(mean["arch"])]
            sns.lineplot(mean, x="step", y="value", hue="arch", hue_order=use, palette=[plots.color(a) for a in use],
                         ax=ax, lw=1)
        if ref is not None:
            ax.axhline(ref, c="gray", ls=":", lw=0.8)
        if q == "omega_rel":
            ax.axhspan(1 / OMEGA_MARGIN - 1, OMEGA_MARGIN - 1, color="gray", alpha=0.15, lw=0)
        if q == "alpha_mean":
            ax.axhspan(0.5 - ALPHA_MARGIN, 0.5 + ALPHA_MARGIN, color="gray", alpha=0.15, lw=0)
        if q == "phase_abs_mean":
            ax.axhline(PHASE_USE_MAX * V11_PHASE_BOUND, c="gray", ls=":", lw=0.8)
            ax.set_yscale("log")
            plots.log_ticks(ax, "y")
        ax.set(ylabel=label, title=f"{label} ({', '.join(use)})")
        if q in ("alpha_std", "gate_mean"):      # same task colours as the α-mean panel
            ax.get_legend().remove()
        else:
            ax.legend(fontsize=6, ncol=2 if hue == "task" else 1)
    fig.tight_layout()
    cfg.save(fig, "03_adaptive_stats", caption=(
        "The adaptive quantities over training, means over replicas and layers: v6/v9's gate α (mean and spread), "
        "v7/v9's ω(x) drift relative to its start, v8's gate and the phase archs' |phase| and corr(phase, g); grey "
        "bands are the criterion's equivalence margins (α ± 0.05, ω ± 5%), the dotted |phase| line a tenth of v11's "
        "bound 0.1·ω."))


def weight_movement_figure(wm, cfg):
    """Relative weight change per role and arch, one point per (task, seed); saved as 03_weight_movement."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 3))
    d = wm[~wm["diverged"]]
    order = list(dict.fromkeys(d["arch"]))
    plots.strip(d, x="arch", y="relative change", hue="role", hue_order=["direct", "meta"], order=order,
                dodge=True, size=3, jitter=0.2, ax=ax, palette={"direct": "C0", "meta": "C3"})
    ax.set(yscale="log", xlabel="", ylabel="‖W_end − W_init‖ / ‖W_init‖",
           title="how far training moved each role's weights (every task and seed)")
    plots.log_ticks(ax, "y")
    med = d.groupby("role")["relative change"].median()
    cfg.save(fig, "03_weight_movement", caption=(
        "Relative change of the weights from initialisation to the end of training, direct (blue) and meta (orange) "
        "parameters of every arch, one dot per task and seed on the first data draw (medians: "
        + ", ".join(f"{r} {stats.fmt(v, 2)}" for r, v in med.items()) + ")."))


def meta_sweep_figure(mt, main_metrics, cfg):
    """Row 1: each arch's adaptive statistic against the meta learning-rate multiplier (one line per
    task); one row per task below: its score (in the arch's colour), with SinGLU's centre at
    multiplier 1 as a dashed line. Saved as 03_meta_lr."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    archs, task_list = list(dict.fromkeys(mt["arch"])), list(dict.fromkeys(mt["task"]))
    ref = {t: stats.center(ranking.scores(main_metrics, REFERENCE, t),
                           stats.scale_of(main_metrics.loc[main_metrics["task"] == t, "metric"].iloc[0]))[0]
           for t in task_list}
    fig, axes = plt.subplots(1 + len(task_list), len(archs), figsize=(3.2 * len(archs), 2.5 * (1 + len(task_list))),
                             squeeze=False)
    d = mt[~mt["diverged"]]
    for j, arch in enumerate(archs):
        a = d[d["arch"] == arch]
        sns.lineplot(a, x="meta_lr_scale", y="value", hue="task", hue_order=task_list, marker="o",
                     errorbar="sd", err_style="bars", ax=axes[0, j])
        axes[0, j].set(xscale="log", title=arch, ylabel=a["statistic"].iloc[0], xlabel="meta lr multiplier")
        plots.log_ticks(axes[0, j], "x")
        axes[0, j].legend(fontsize=6)
        for i, task in enumerate(task_list, start=1):
            ax = axes[i, j]
            s = a[a["task"] == task]
            sns.lineplot(s, x="meta_lr_scale", y="score", marker="o", errorbar="sd", err_style="bars", ax=ax,
                         color=plots.color(arch), label=arch)
            ax.axhline(ref[task], c="k", ls="--", lw=0.8, label=f"{REFERENCE} (scale 1)")
            ax.set(xscale="log", ylabel=f"{task} test {s['metric'].iloc[0] if len(s) else ''}", xlabel="meta lr multiplier")
            plots.log_ticks(ax, "x")
            if len(s) and s["metric"].iloc[0] == "mse":
                ax.set_yscale("log")
                plots.log_ticks(ax, "y")
            ax.legend(fontsize=6)
    fig.tight_layout()
    scales = sorted(set(mt["meta_lr_scale"]))
    cfg.save(fig, "03_meta_lr", caption=(
        f"The meta learning-rate sweep ({', '.join(archs)} on {', '.join(task_list)} at multipliers "
        f"{', '.join(f'{s:g}' for s in scales)}): top row each arch's adaptive statistic at the end of training, below "
        f"its test score (mean ± std over replicas; {int(mt['diverged'].sum())} diverged replicas left out), with "
        f"{REFERENCE}'s centre as a dashed line."))
