"""Finding 6: "periodic neurons hallucinate on OOD — 24–1273× degradation vs Vanilla's 7×".

Task `ood`: y = sin(3x) + 0.5·x fitted on x ∈ [−1, 1], tested on x ∈ [1, 2]; the engine reports
the test MSE (`test_mse`, out of range) and the MSE on fresh in-range points (`in_range_mse`).

Degradation. Per replica, r = test_mse / in_range_mse (the study's definition is not published;
this is the reading of docs/original-study.md §6.14); both MSEs come from the same model, so the ratio
is formed per replica. Per arch, the geometric mean of r with its t interval (`stats.center`).
A sine arch against Vanilla: `stats.compare` on the log scale of the per-replica degradations and,
separately, of the absolute OOD MSEs (the ratio is driven by the in-range fit; the OOD error
itself is what "hallucinate" is about), Holm over the family of both sets of tests.

Baselines. The predict-zero MSE of the OOD test set, and of the in-range set; and the
"predict-zero ratio" of a seed: predict-zero OOD MSE / that seed's in-range MSE, the
degradation of a model that keeps its in-range fit and outputs 0 off range.

The notebook's face: `experiments(cfg, ...)` (the runs), then where each is shown the table that
computes it (`degradation`, `versus`, `degradation_by_omega`; `None` for a sweep not run) with its
display (`*_shown`), the figures (`fig_*`, each saved with its caption), the one-line readings
(`read_*`), the verdict (`check`, `verdict(inputs(...))`) and `summary(row)`.
"""
import dataclasses
import math
from types import SimpleNamespace

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from scipy import stats as _st

from .. import criteria, plots, protocol, published, stats, tasks, verdicts
from . import common, robustness
from .frequency import draw_frame, log_y

REFERENCE = "vanilla"
HALF_DECADE = math.sqrt(10)     # "same order of magnitude": within a factor √10 either way
CLAIM = "ood_degradation"
DEFAULT_OMEGA = 1.0     # the sine neurons' default ω: at it the sweep is the default protocol, not a condition
SOURCE = criteria.source(CLAIM)           # the criterion's file (what git dates)

CRITERIA = {c: criteria.text(c) for c in (CLAIM,)}   # richneuron/criteria/<claim>.md


def experiments(cfg, omegas, omega_archs, sweep_seeds):
    """The notebook's runs by name: `main` (every arch of `cfg` on ood at the default protocol),
    `omega` (the archs of `omega_archs` in the run, Vanilla excepted, at every ω of `omegas`, with
    the first `sweep_seeds` seeds; quick mode: the first two ω) and the robustness check of both,
    `check` and `check_omega` (one-ulp perturbation). Absent runs have no key."""
    if REFERENCE not in cfg.archs or len(cfg.archs) < 2:
        raise ValueError(f"archs: this notebook compares the sine archs with {REFERENCE}: keep {REFERENCE} and at "
                         f"least one other arch (got {', '.join(cfg.archs)})")
    om_archs = [a for a in omega_archs if a in cfg.archs and a != REFERENCE]
    omegas, sw_seeds = list(omegas)[: 2 if cfg.quick else None], cfg.seeds[:sweep_seeds]

    def grid(archs, seeds, **kw):
        return protocol.main_grid(archs, ["ood"], seeds, cfg.steps, data_seeds=cfg.data_seeds, **kw)
    out = {"main": grid(cfg.archs, cfg.seeds)}
    if om_archs:
        out["omega"] = grid(om_archs, sw_seeds, omega=omegas)
    out["check"] = grid(cfg.archs, cfg.seeds, **protocol.CHECK)
    if om_archs:
        out["check_omega"] = grid(om_archs, sw_seeds, omega=omegas, **protocol.CHECK)
    return out


def metrics(res, name):
    """The per-replica metrics of run `name` of `res` ({name: Results} of `experiments`), None
    when it was not run (the ω sweep without swept archs)."""
    return res[name].metrics if name in res else None


def in_range_zero(task="ood", seed=0, **options):
    """Predict-zero MSE of the task's in-range evaluation set."""
    t = tasks.make(task, seed=seed, **options)
    return float((t.extra["in_range"][1] ** 2).mean())


def dense_truth(task="ood", n=2000, seed=0, **options):
    """(x, y) sorted over the training and test ranges together, from the generator itself
    (its in-range set and its out-of-range test set, drawn densely)."""
    t = tasks.make(task, seed=seed, n_test=n, **options)
    x = torch.cat([t.extra["in_range"][0], t.x_test])
    y = torch.cat([t.extra["in_range"][1], t.y_test])
    o = x[:, 0].argsort()
    return x[o], y[o]


def with_ratios(metrics):
    """Metrics of the non-diverged replicas with `ratio` (test / in-range MSE) and `zero_ratio`."""
    m = metrics[~metrics["diverged"].astype(bool)].copy()
    m["ratio"] = m["test_mse"] / m["in_range_mse"]
    m["zero_ratio"] = m["predict_zero_mse"] / m["in_range_mse"]
    return m


def degradation(metrics):
    """Per arch: geometric-mean degradation with its t interval, per-replica ratios, geometric-mean
    in-range and OOD MSEs, the predict-zero ratio, and OOD MSE relative to predict-zero."""
    m = with_ratios(metrics)
    rows = []
    for arch, g in m.groupby("arch", sort=False):
        r, lo, hi = stats.center(g["ratio"], "log")
        rows.append({"arch": arch, "ratio": r, "low": lo, "high": hi,
                     "per_seed": ", ".join(stats.fmt(v) for v in g["ratio"]),
                     "in_range_geo": stats.center(g["in_range_mse"], "log")[0],
                     "ood_geo": stats.center(g["test_mse"], "log")[0],
                     "zero_ratio": stats.center(g["zero_ratio"], "log")[0],
                     "predict_zero_mse": stats.center(g["predict_zero_mse"], "log")[0],
                     "n": len(g), "published_ood": published.value(arch, "ood")})
    out = pd.DataFrame(rows)
    out["ood_vs_zero"] = out["ood_geo"] / out["predict_zero_mse"]
    out["ratio [95% CI]"] = [stats.fmt_ci(a, b, c) for a, b, c in zip(out["ratio"], out["low"], out["high"])]
    return out


def degradation_by_omega(metrics):
    """Per (arch, omega): the geometric-mean degradation with its t interval, the geometric-mean
    OOD and in-range MSEs and predict-zero ratio, and the number of replicas. None for no metrics
    (no ω sweep)."""
    if metrics is None:
        return None
    rows = []
    for (arch, w), g in with_ratios(metrics).groupby(["arch", "omega"], sort=False):
        r, lo, hi = stats.center(g["ratio"], "log")
        rows.append({"arch": arch, "omega": w, "ratio": r, "low": lo, "high": hi,
                     "ood_geo": stats.center(g["test_mse"], "log")[0],
                     "in_range_geo": stats.center(g["in_range_mse"], "log")[0],
                     "zero_ratio": stats.center(g["zero_ratio"], "log")[0], "n": len(g)})
    return pd.DataFrame(rows, columns=["arch", "omega", "ratio", "low", "high", "ood_geo", "in_range_geo", "zero_ratio", "n"])


def versus(metrics, ref=REFERENCE, values=("ratio", "test_mse"), by=()):
    """Each other arch against `ref` (per group of `by`, e.g. omega, where `ref` is taken from the
    rows without it), on each of `values` (per-replica degradation `ratio`, OOD `test_mse`), as one
    Holm family: a `stats.family` table (ratio of geometric means arch/ref) with columns arch,
    value, the group columns, and `part`: the sub-verdict of "arch > ref" (holds / fails /
    inconclusive, on the Holm p-value)."""
    m = with_ratios(metrics)
    refs = m[m["arch"] == ref]
    others = m[m["arch"] != ref]
    comps, keys = {}, {}
    groups = others.groupby(list(by), sort=False) if by else [((), others)]
    for key, g in groups:
        key = dict(zip(by, key if isinstance(key, tuple) else (key,)))
        for arch in dict.fromkeys(g["arch"]):
            for value in values:
                label = " ".join(f"{k}={v}" for k, v in key.items()) + f" {arch} {value}"
                comps[label] = common.compare(g[g["arch"] == arch], refs, value, scale="log",
                                              margin=stats.EQUIVALENCE["log"])
                keys[label] = {"arch": arch, "vs": ref, "value": value, **key}
    t = stats.family(comps)
    if not len(t):
        return pd.DataFrame(columns=["arch", "vs", "value", *by, "estimate", "low", "high", "p_holm", "part"])
    t["part"] = [verdicts.direction(comps[k], +1, p=p) for k, p in zip(t["label"], t["p_holm"])]
    return pd.concat([pd.DataFrame([keys[k] for k in t["label"]]), t], axis=1)


def driver_correlations(metrics):
    """Spearman ρ over all replicas of log degradation with log in-range MSE and with log OOD MSE:
    which of the two moves the ratio."""
    m = with_ratios(metrics)
    r = np.log(m["ratio"])
    return {"rho_in_range": float(_st.spearmanr(r, np.log(m["in_range_mse"])).statistic),
            "rho_ood": float(_st.spearmanr(r, np.log(m["test_mse"])).statistic), "n": len(m)}


def magnitude_parts(deg, claim_range, vanilla_claim, ref=REFERENCE):
    """Per arch of `degradation(...)`: the magnitude sub-verdict of its degradation (`verdicts.magnitude`
    on its centre and interval): sine archs against [claim_range[0]/√10, claim_range[1]·√10],
    `ref` against [vanilla_claim/√10, vanilla_claim·√10]."""
    lo, hi = claim_range
    mid, band = math.sqrt(lo * hi), math.sqrt(hi / lo) * HALF_DECADE
    out = {}
    for r in deg.itertuples():
        c = SimpleNamespace(estimate=r.ratio, low=r.low, high=r.high)
        out[r.arch] = verdicts.magnitude(c, vanilla_claim) if r.arch == ref else verdicts.magnitude(c, mid, band=band)
    return out


def inputs(main, omega=None):
    """The verdict's inputs: the default protocol's replicas (arch, test_mse, in_range_mse,
    predict_zero_mse, diverged) and the ω sweep's (plus omega; Vanilla comes from `main`)."""
    cols = ["arch", "test_mse", "in_range_mse", "predict_zero_mse", "diverged"]
    o = pd.DataFrame(columns=cols + ["omega"]) if omega is None else omega[omega["arch"] != REFERENCE][cols + ["omega"]]
    return {"default": main[cols].reset_index(drop=True), "omega": o.reset_index(drop=True)}


def _fmt(v):
    return stats.fmt(v) if v is not None and not pd.isna(v) else "–"


def degradation_shown(d):
    """A `degradation` table as the notebook shows it: formatted numbers, readable column names
    (the notebook display drops the row numbers)."""
    cols = ["arch", "ratio [95% CI]", "in_range_geo", "ood_geo", "ood_vs_zero", "zero_ratio", "published_ood", "n"]
    return d[cols].assign(**{c: d[c].map(_fmt) for c in cols[2:-1]}).rename(columns={
        "ratio [95% CI]": "degradation [95% CI]", "in_range_geo": "in-range MSE", "ood_geo": "OOD MSE",
        "ood_vs_zero": "OOD / predict-zero", "zero_ratio": "predict-zero ratio", "published_ood": "study's OOD MSE",
        "n": "replicas"})


def versus_shown(d):
    """A `versus` table as the notebook shows it (formatted ratios and p-values)."""
    cols = ["arch", "value", "estimate", "low", "high", "p_value", "p_holm", "equivalent", "part"]
    return d[cols].assign(**{c: d[c].map(stats.fmt) for c in ("estimate", "low", "high")},
                          **{c: d[c].map(stats.fmt_p) for c in ("p_value", "p_holm")})


def _parts(fam, mags, archs):
    return {"direction": common.every(fam.loc[(fam["value"] == "ratio") & fam["arch"].isin(archs), "part"]),
            "magnitude": common.every(mags[a] for a in [REFERENCE, *archs] if a in mags),
            "absolute OOD error": common.every(fam.loc[(fam["value"] == "test_mse") & fam["arch"].isin(archs), "part"])}


def verdict(t, claim_range=None, vanilla_claim=None):
    """The scorecard row of the claim from `inputs(...)`, by `CRITERIA`."""
    c = published.claims()[CLAIM]
    claim_range = c["value"] if claim_range is None else claim_range
    vanilla_claim = c["vanilla"] if vanilla_claim is None else vanilla_claim
    fam, deg = versus(t["default"]), degradation(t["default"])
    mags = magnitude_parts(deg, claim_range, vanilla_claim)
    sine = [a for a in deg["arch"] if a != REFERENCE]
    prt = _parts(fam, mags, sine)
    conditions = []
    if len(t["omega"]):
        both = pd.concat([t["default"][t["default"]["arch"] == REFERENCE], t["omega"]])
        om_fam = versus(both, by=("omega",))
        for w, g in t["omega"][t["omega"]["omega"] != DEFAULT_OMEGA].groupby("omega"):
            om_mags = magnitude_parts(degradation(pd.concat([t["default"][t["default"]["arch"] == REFERENCE], g])),
                                      claim_range, vanilla_claim)
            archs = list(dict.fromkeys(g["arch"]))
            conditions.append((f"at omega {w:g} for {', '.join(archs)}",
                               _parts(om_fam[om_fam["omega"] == w], om_mags, archs)))
    v, reason = verdicts.judge(prt, conditions)
    van = deg.set_index("arch").loc[REFERENCE] if REFERENCE in set(deg["arch"]) else None
    s = deg[deg["arch"] != REFERENCE]
    n = {k: int(((fam["value"] == val) & (fam["part"] == verdicts.HOLDS)).sum()) for k, val in (("deg", "ratio"), ("ood", "test_mse"))}
    below = int(((fam["value"] == "test_mse") & (fam["direction"] == -1)).sum())
    ours = (f"Vanilla {stats.fmt_ci(van['ratio'], van['low'], van['high'], '×') if van is not None else 'n/a'}, "
            f"sine archs ×{stats.fmt(s['ratio'].min())}–{stats.fmt(s['ratio'].max())}; significantly more degraded than "
            f"Vanilla: {n['deg']}/{len(sine)}; OOD MSE significantly above Vanilla's: {n['ood']}/{len(sine)}, below: "
            f"{below}/{len(sine)} (Holm over {len(fam)} tests)")
    e = (verdicts.effect("Vanilla OOD / in-range MSE", van["ratio"], van["low"], van["high"], scale="log", unit="×",
                      published=vanilla_claim) if van is not None else None)
    return verdicts.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "06_degradation", parts=prt, reason=reason,
                         conditions={c: p for c, p in conditions}, effect=e)


def check(exps, res):
    """The verdict row as trained (from the Results `res` of `experiments`) with its robustness
    check (`robustness.Check`): every part reads the check's default runs (exps["check"]), the
    stated conditions (each swept ω) Vanilla's check runs and the ω sweep's (exps["check_omega"])."""
    got = lambda s, name, trained: (s[name] if s.get(name) is not None else trained)
    row = verdict(inputs(res["main"].metrics, res["omega"].metrics if "omega" in res else None))
    default = {"check": [exps["check"]]}
    vanilla = dataclasses.replace(exps["check"], archs=[REFERENCE])
    reads = {"direction": default, "magnitude": default, "absolute OOD error": default,
             robustness.CONDITIONS: {"check": [vanilla], **({"check_omega": [exps["check_omega"]]} if "check_omega" in exps
                                                            else {})}}

    def verdict_of(s):
        om = got(s, "check_omega", res.get("omega"))
        k = s.get("check")
        main = robustness.merged(None if k is None else k.metrics, res["main"].metrics, by=("arch",))   # not yet checked: as trained
        return verdict(inputs(main, om.metrics if om is not None else None))
    return robustness.Check(row, reads, verdict_of)


def summary(row, study=False):
    """One line for the notebook; with `study`, the study's numbers after it."""
    text = f"**Verdict: {row['verdict']}** ({row['reason']}). {row['ours']}."
    if not study:
        return text
    c = published.claims()[CLAIM]
    return text + f" The study: sine archs ×{c['value'][0]}–{c['value'][1]}, Vanilla ×{c['vanilla']}."


# ----------------------------------------------------------------------------- readings

def read_degradation(deg):
    """Vanilla's and the sine archs' degradations (`degradation`) against the study's, and the OOD MSEs against
    predicting zero."""
    c = published.claims()[CLAIM]
    van, sine, pub = deg.set_index("arch").loc[REFERENCE], deg[deg["arch"] != REFERENCE], deg["published_ood"].dropna()
    return (f"Vanilla degrades ×{stats.fmt_ci(van['ratio'], van['low'], van['high'])} (study: ×{c['vanilla']}); the sine archs "
            f"×{stats.fmt(sine['ratio'].min())} ({sine.loc[sine['ratio'].idxmin(), 'arch']}) to ×{stats.fmt(sine['ratio'].max())} "
            f"({sine.loc[sine['ratio'].idxmax(), 'arch']}) (study: ×{c['value'][0]}–{c['value'][1]}). In absolute terms the OOD "
            f"MSEs are {stats.fmt(deg['ood_geo'].min())}–{stats.fmt(deg['ood_geo'].max())} against a predict-zero MSE of "
            f"{stats.fmt(van['predict_zero_mse'])}: {int((deg['ood_geo'] < deg['predict_zero_mse']).sum())} of {len(deg)} archs "
            f"do better than predicting zero off range; the study's OOD MSEs "
            f"({stats.fmt(pub.min())}–{stats.fmt(pub.max())}) are "
            f"{'all above' if (pub > van['predict_zero_mse']).all() else 'not all above'} our task's "
            f"predict-zero MSE (their target function is unpublished).")


def read_versus(fam, drv):
    """How many sine archs degrade more than Vanilla, are worse off range (`versus`), and what drives the
    ratio (`driver_correlations`)."""
    deg_f, mse_f = fam[fam["value"] == "ratio"], fam[fam["value"] == "test_mse"]
    return (f"{int((deg_f['direction'] == 1).sum())} of {len(deg_f)} sine archs degrade significantly more than Vanilla (Holm), "
            f"{int((deg_f['direction'] == -1).sum())} significantly less. On the OOD MSE itself, sine archs significantly worse "
            f"than Vanilla: {int((mse_f['direction'] == 1).sum())} of {len(mse_f)}; significantly better: "
            f"{int((mse_f['direction'] == -1).sum())}. Across all {drv['n']} replicas the log degradation has Spearman "
            f"ρ = {drv['rho_in_range']:+.2f} with the log in-range MSE and ρ = {drv['rho_ood']:+.2f} with the log OOD MSE: "
            + ("the ratio is driven more by how well a model fits in range than by how wrong it is off range."
               if abs(drv['rho_in_range']) > abs(drv['rho_ood']) else
               "the ratio is driven more by the off-range error than by the in-range fit."))


def read_omega(by_omega, deg):
    """Degradation and OOD MSE of every swept arch at every ω (`degradation_by_omega`), with Vanilla's
    (from `degradation`)."""
    if by_omega is None:
        return "No ω sweep in this run."
    van = deg.set_index("arch").loc[REFERENCE]
    return ("Degradation and OOD MSE by ω (geometric means): " + "; ".join(
        f"{r['arch']} ω = {r['omega']:g}: ×{stats.fmt(r['ratio'])}, OOD {stats.fmt(r['ood_geo'])}"
        for _, r in by_omega.iterrows())
        + f" (Vanilla: ×{stats.fmt(van['ratio'])}, OOD {stats.fmt(van['ood_geo'])}).")


# ----------------------------------------------------------------------------- figures

def _legend_below(fig, axes, ncol=4):
    """One legend for the figure below its panels, each label once."""
    seen = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
        if ax.get_legend():
            ax.get_legend().remove()
    fig.legend(list(seen.values()), list(seen), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol,
               fontsize=7, frameon=False)


def fig_functions(res, deg, cfg):
    """Every arch's learned functions (the models of `res["main"]`) over the training range (shaded)
    and the OOD range: the true function in black, seed 0 of the first data draw bold, every other
    replica thin; each title gives the arch's degradation (from `deg`, its `degradation`)."""
    m, deg = res["main"].metrics, deg.set_index("arch")
    archs, seeds, draws = list(dict.fromkeys(m["arch"])), sorted(set(m["seed"])), sorted(set(m["data_seed"]))
    task, (x, y) = tasks.make("ood"), dense_truth()
    lim = (float(y.min()) - 1.5, float(y.max()) + 1.5)
    fig, axes = plots.grid(len(archs), ncols=min(5, len(archs)), sharex=True, sharey=True)
    for ax, arch in zip(axes, archs):
        draw_frame(ax, x, y, shade=(float(task.x_train.min()), float(task.x_train.max())), ylim=lim)
        for i, (d, s) in enumerate((d, s) for d in draws for s in seeds):
            plots.learned_function(res["main"].model(arch, "ood", s, data_seed=d), x, ax, color=plots.color(arch),
                                   lw=1.4 if i == 0 else 0.6, alpha=1 if i == 0 else 0.45, zorder=3 if i == 0 else 2,
                                   label=f"seed {seeds[0]}, data draw {draws[0]}" if i == 0 else
                                   "other replicas" if i == 1 else None)
        ax.set_title(f"{arch}: degradation ×{stats.fmt(deg.loc[arch, 'ratio'])}")
    for ax in axes[-min(5, len(archs)):]:
        ax.set_xlabel("x")
    fig.tight_layout()
    _legend_below(fig, axes[:1], ncol=5)
    cfg.save(fig, "06_ood_functions", caption=(
        f"What each of the {len(archs)} archs learned on y = sin(3x) + 0.5·x, trained on the shaded range and tested beyond "
        f"it: the true function in black, seed {seeds[0]} of data draw {draws[0]} bold, the other "
        f"{len(seeds) * len(draws) - 1} replicas thin, predicting zero dashed; each title gives the arch's "
        "geometric-mean degradation (OOD MSE / in-range MSE)."))


def fig_degradation(metrics, deg, cfg):
    """In-range MSE, OOD MSE and degradation of every replica of `metrics` per arch (archs by
    degradation, from `deg`, their `degradation`)."""
    c = published.claims()[CLAIM]
    m, order = with_ratios(metrics), list(deg.sort_values("ratio")["arch"])
    d, task = deg.set_index("arch").loc[order], tasks.make("ood")
    geo = lambda v: {a: stats.center(g[v], "log")[0] for a, g in m.groupby("arch")}
    fig, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    plots.replicas(m, axes[0], value="in_range_mse", order=order, center=geo("in_range_mse"), log=True,
                   baselines={"predict zero (in range)": in_range_zero(seed=protocol.DATA_SEED)}, title="in-range MSE (x in the training range)",
                   ylabel="MSE")
    plots.replicas(m, axes[1], value="test_mse", order=order, center=geo("test_mse"), log=True,
                   baselines={"predict zero (OOD)": float(d["predict_zero_mse"].iloc[0])}, ylabel="MSE",
                   published={a: published.value(a, "ood") for a in order},
                   title=f"OOD MSE (x in [{float(task.x_test.min()):.0f}, {float(task.x_test.max()):.0f}])")
    ax = axes[2]
    ax.axhspan(*c["value"], color="red", alpha=0.08, label="study: sine archs")
    ax.axhline(c["vanilla"], c="red", ls=":", lw=1, label="study: vanilla")
    plots.replicas(m, ax, value="ratio", order=order, center=dict(zip(order, d["ratio"])), log=True,
                   ylabel="OOD MSE / in-range MSE", title="degradation")
    ax.vlines(range(len(order)), d["low"], d["high"], color="k", lw=1, label="95% CI")
    ax.scatter(range(len(order)), d["zero_ratio"], marker="D", s=14, c="gray", label="predict-zero ratio", zorder=3)
    log_y(fig)
    fig.tight_layout()
    _legend_below(fig, axes, ncol=5)
    sine = deg[deg["arch"] != REFERENCE]
    cfg.save(fig, "06_degradation", caption=(
        "Every replica (dots, one colour per arch; bar: geometric mean) of the in-range MSE (left), the OOD MSE with the "
        "study's published OOD MSE (middle, red stars) and the degradation OOD / in-range (right, with 95% intervals, the "
        f"study's {c['value'][0]}–{c['value'][1]}× band shaded, its {c['vanilla']}× for Vanilla dotted and each arch's "
        f"predict-zero ratio as a grey diamond). Ours: Vanilla ×{stats.fmt(d.loc[REFERENCE, 'ratio'])}, sine archs "
        f"×{stats.fmt(sine['ratio'].min())}–{stats.fmt(sine['ratio'].max())}."))


def fig_omega(od, om, deg, cfg):
    """Degradation (95% CI) and OOD MSE against ω per swept arch (`od`: `degradation_by_omega` of the
    sweep's metrics `om`), with Vanilla's (no ω; from `deg`, the default protocol's `degradation`)
    as a line. Nothing without a sweep."""
    if od is None:
        return
    c = published.claims()[CLAIM]
    van, r = deg.set_index("arch").loc[REFERENCE], with_ratios(om)
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.3))
    for a, g in od.groupby("arch", sort=False):
        axes[0].errorbar(g["omega"], g["ratio"], yerr=[g["ratio"] - g["low"], g["high"] - g["ratio"]], marker="o", ms=4,
                         capsize=3, lw=1, color=plots.color(a), label=a)
        axes[0].scatter(g["omega"], g["zero_ratio"], marker="D", s=14, color=plots.color(a), edgecolors="gray", alpha=0.6)
        axes[1].plot(g["omega"], g["ood_geo"], marker="o", ms=4, lw=1, color=plots.color(a), label=a)
        axes[1].scatter(r.loc[r["arch"] == a, "omega"], r.loc[r["arch"] == a, "test_mse"], s=5, color=plots.color(a), alpha=0.4)
    axes[0].scatter([], [], marker="D", s=14, color="w", edgecolors="gray", label="predict-zero ratio")
    axes[0].axhspan(*c["value"], color="red", alpha=0.08, label="study: sine archs")
    axes[1].axhline(van["predict_zero_mse"], c="k", ls="--", lw=0.9, label="predict zero")
    for ax, v in zip(axes, ("ratio", "ood_geo")):
        ax.axhline(van[v], c=plots.color(REFERENCE), lw=1, label="vanilla (no ω)")
        ax.set(xscale="log", yscale="log", xlabel="ω")
        plots.log_axis(ax, "x")
        ax.set_xticks(sorted(set(od["omega"])), [f"{w:g}" for w in sorted(set(od["omega"]))])
    axes[0].set(ylabel="OOD / in-range MSE (95% CI)", title="degradation against ω")
    axes[1].set(ylabel="OOD MSE (geometric mean; dots: replicas)", title="OOD error against ω")
    log_y(fig)
    fig.tight_layout()
    _legend_below(fig, axes, ncol=4)
    hi = od.loc[od["ratio"].idxmax()]
    cfg.save(fig, "06_omega", caption=(
        f"Degradation (left, geometric mean with 95% interval; diamonds: predict-zero ratio) and OOD MSE (right, geometric "
        f"mean; dots: replicas) of {', '.join(dict.fromkeys(od['arch']))} against the sine frequency ω, with Vanilla (no ω) "
        f"as a line. Largest degradation: {hi['arch']} at ω = {hi['omega']:g} (×{stats.fmt(hi['ratio'])}; "
        f"Vanilla ×{stats.fmt(van['ratio'])})."))
