"""Finding 6: "periodic neurons hallucinate on OOD — 24–1273× degradation vs Vanilla's 7×".

Task `ood`: y = sin(3x) + 0.5·x fitted on x ∈ [−1, 1], tested on x ∈ [1, 2]; the engine reports
the test MSE (`test_mse`, out of range) and the MSE on fresh in-range points (`in_range_mse`).

Degradation. Per replica, r = test_mse / in_range_mse (the study's definition is not published;
this is the reading of original-study.md §6.14); both MSEs come from the same model, so the ratio
is formed per replica. Per arch, the geometric mean of r with its t interval (`stats.center`).
A sine arch against Vanilla: `stats.compare` on the log scale of the per-replica degradations and,
separately, of the absolute OOD MSEs (the ratio is driven by the in-range fit; the OOD error
itself is what "hallucinate" is about), Holm over the family of both sets of tests.

Baselines. The predict-zero MSE of the OOD test set, and of the in-range set; and the
"predict-zero ratio" of a seed: predict-zero OOD MSE / that seed's in-range MSE, the
degradation of a model that keeps its in-range fit and outputs 0 off range.
"""
import math
from types import SimpleNamespace

import numpy as np
import pandas as pd
import torch
from scipy import stats as _st

from .. import published, stats, tasks
from . import common

REFERENCE = "vanilla"
HALF_DECADE = math.sqrt(10)     # "same order of magnitude": within a factor √10 either way
CLAIM = "ood_degradation"
DEFAULT_OMEGA = 1.0     # the sine neurons' default ω: at it the sweep is the default protocol, not a condition
SOURCE = "richneuron/analysis/ood.py"

CRITERIA = {
    CLAIM: "Family: each sine arch against Vanilla at the default protocol on two quantities, the per-replica degradation (OOD MSE / in-range MSE) and the absolute OOD MSE, each the ratio arch/Vanilla of geometric means (stats.compare, log scale, Welch; 4 seeds x 3 data draws = 12 replicas per arch in full mode), Holm over all the family's tests (26 with the 13 sine archs). Direction (degradation): holds when every sine arch degrades significantly more than Vanilla (Holm p < 0.05), fails when some sine arch degrades significantly less or equivalently within a factor 1.25 (TOST), inconclusive otherwise. Magnitude: each arch's geometric-mean degradation with its 95% t interval (stats.magnitude): sine archs against [24/sqrt(10), 1273*sqrt(10)], Vanilla against [7/sqrt(10), 7*sqrt(10)]; holds when every estimate is inside its band, fails when some interval misses its band, inconclusive otherwise. Absolute OOD error (the hallucination itself, since the ratio is driven by the in-range fit): holds when every sine arch's OOD MSE is significantly above Vanilla's (Holm), fails when some sine arch's is significantly below Vanilla's or equivalent within a factor 1.25, inconclusive otherwise. Replicated: all three parts hold. Replicated only under stated conditions: not so, but all three hold at one swept omega other than the default 1 for the swept sine archs against the default Vanilla (Holm over the omega sweep's tests). Not replicated: a part fails at the default protocol and no stated condition rescues it. Inconclusive: otherwise, and whenever the verdict changes when the same runs are repeated with torch's sin/cos/tanh kernels (rounding check).",
}


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
                comps[label] = stats.compare(g.loc[g["arch"] == arch, value], refs[value], scale="log",
                                             margin=stats.EQUIVALENCE["log"])
                keys[label] = {"arch": arch, "vs": ref, "value": value, **key}
    t = stats.family(comps)
    if not len(t):
        return pd.DataFrame(columns=["arch", "vs", "value", *by, "estimate", "low", "high", "p_holm", "part"])
    t["part"] = [stats.direction(comps[k], +1, p=p) for k, p in zip(t["label"], t["p_holm"])]
    return pd.concat([pd.DataFrame([keys[k] for k in t["label"]]), t], axis=1)


def driver_correlations(metrics):
    """Spearman ρ over all replicas of log degradation with log in-range MSE and with log OOD MSE:
    which of the two moves the ratio."""
    m = with_ratios(metrics)
    r = np.log(m["ratio"])
    return {"rho_in_range": float(_st.spearmanr(r, np.log(m["in_range_mse"])).statistic),
            "rho_ood": float(_st.spearmanr(r, np.log(m["test_mse"])).statistic), "n": len(m)}


def magnitude_parts(deg, claim_range, vanilla_claim, ref=REFERENCE):
    """Per arch of `degradation(...)`: the magnitude sub-verdict of its degradation (`stats.magnitude`
    on its centre and interval): sine archs against [claim_range[0]/√10, claim_range[1]·√10],
    `ref` against [vanilla_claim/√10, vanilla_claim·√10]."""
    lo, hi = claim_range
    mid, band = math.sqrt(lo * hi), math.sqrt(hi / lo) * HALF_DECADE
    out = {}
    for r in deg.itertuples():
        c = SimpleNamespace(estimate=r.ratio, low=r.low, high=r.high)
        out[r.arch] = stats.magnitude(c, vanilla_claim) if r.arch == ref else stats.magnitude(c, mid, band=band)
    return out


def tables(main, omega=None):
    """The verdict's inputs: the default protocol's replicas (arch, test_mse, in_range_mse,
    predict_zero_mse, diverged) and the ω sweep's (plus omega; Vanilla comes from `main`)."""
    cols = ["arch", "test_mse", "in_range_mse", "predict_zero_mse", "diverged"]
    o = pd.DataFrame(columns=cols + ["omega"]) if omega is None else omega[omega["arch"] != REFERENCE][cols + ["omega"]]
    return {"default": main[cols].reset_index(drop=True), "omega": o.reset_index(drop=True)}


def _parts(fam, mags, archs):
    return {"direction": common.every(fam.loc[(fam["value"] == "ratio") & fam["arch"].isin(archs), "part"]),
            "magnitude": common.every(mags[a] for a in [REFERENCE, *archs] if a in mags),
            "absolute OOD error": common.every(fam.loc[(fam["value"] == "test_mse") & fam["arch"].isin(archs), "part"])}


def verdict(t, claim_range=None, vanilla_claim=None):
    """The scorecard row of the claim from `tables(...)`, by `CRITERIA`."""
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
    v, reason = stats.judge(prt, conditions)
    van = deg.set_index("arch").loc[REFERENCE] if REFERENCE in set(deg["arch"]) else None
    s = deg[deg["arch"] != REFERENCE]
    n = {k: int(((fam["value"] == val) & (fam["part"] == stats.HOLDS)).sum()) for k, val in (("deg", "ratio"), ("ood", "test_mse"))}
    below = int(((fam["value"] == "test_mse") & (fam["direction"] == -1)).sum())
    ours = (f"Vanilla ×{stats.fmt_ci(van['ratio'], van['low'], van['high']) if van is not None else 'n/a'}, "
            f"sine archs ×{stats.fmt(s['ratio'].min())}–{stats.fmt(s['ratio'].max())}; significantly more degraded than "
            f"Vanilla: {n['deg']}/{len(sine)}; OOD MSE significantly above Vanilla's: {n['ood']}/{len(sine)}, below: "
            f"{below}/{len(sine)} (Holm over {len(fam)} tests)")
    return stats.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "06_degradation", parts=prt, reason=reason,
                         criterion_source=SOURCE, conditions={c: p for c, p in conditions})


def summary(row):
    """One line for the notebook."""
    return f"**Verdict: {row['verdict']}** ({row['reason']}). {row['ours']}."
