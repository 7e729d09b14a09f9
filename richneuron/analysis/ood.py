"""Finding 6: "periodic neurons hallucinate on OOD — 24–1273× degradation vs Vanilla's 7×".

Task `ood`: y = sin(3x) + 0.5·x fitted on x ∈ [−1, 1], tested on x ∈ [1, 2]; the engine reports
the test MSE (`test_mse`, out of range) and the MSE on fresh in-range points (`in_range_mse`).

Degradation. Per seed, r = test_mse / in_range_mse (the study's definition is not published;
this is the reading of original-study.md §6.14). Per arch we report the geometric mean of the
per-seed ratios with a 95% percentile-bootstrap CI: `stats.mean_ci` of log r, exponentiated
(`frequency.geo_ci`); the seeds of one arch are paired (both MSEs come from the same model),
so the ratio is formed per seed before resampling. Arch against Vanilla: `stats.ratio_ci` of
the two sets of per-seed ratios (log=True, seeds resampled independently in each arch): the
ratio of geometric-mean degradations, "significantly more" when its CI's lower bound is above 1.

Baselines. The predict-zero MSE of the OOD test set, and of the in-range set; and the
"predict-zero ratio" of a seed: predict-zero OOD MSE / that seed's in-range MSE, the
degradation of a model that keeps its in-range fit and outputs 0 off range.
"""
import math

import numpy as np
import pandas as pd
import torch
from scipy import stats as _st

from .. import published, stats, tasks

REFERENCE = "vanilla"
HALF_DECADE = math.sqrt(10)     # "same order of magnitude": within a factor √10 either way


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
    """Per arch: geometric-mean degradation with its CI, per-seed ratios, geometric-mean in-range
    and OOD MSEs, the predict-zero ratio, and OOD MSE relative to predict-zero."""
    m = with_ratios(metrics)
    rows = []
    for arch, g in m.groupby("arch", sort=False):
        r, lo, hi = stats.geo_ci(g["ratio"])
        rows.append({"arch": arch, "ratio": r, "low": lo, "high": hi,
                     "per_seed": ", ".join(stats.fmt(v) for v in g["ratio"]),
                     "in_range_geo": stats.geo_ci(g["in_range_mse"])[0], "ood_geo": stats.geo_ci(g["test_mse"])[0],
                     "zero_ratio": stats.geo_ci(g["zero_ratio"])[0], "predict_zero_mse": float(g["predict_zero_mse"].iloc[0]),
                     "n": len(g), "published_ood": published.value(arch, "ood")})
    out = pd.DataFrame(rows)
    out["ood_vs_zero"] = out["ood_geo"] / out["predict_zero_mse"]
    out["ratio [95% CI]"] = [stats.fmt_ci(a, b, c) for a, b, c in zip(out["ratio"], out["low"], out["high"])]
    return out


def vs_reference(metrics, value="ratio", ref=REFERENCE):
    """Each other arch against `ref`: ratio of geometric means of `value` (per-seed degradation
    `ratio`, or `test_mse`) with a bootstrap CI; `more` when the CI's lower bound is above 1."""
    m = with_ratios(metrics)
    b = m.loc[m["arch"] == ref, value].to_numpy()
    rows = []
    for arch in [a for a in dict.fromkeys(m["arch"]) if a != ref]:
        a = m.loc[m["arch"] == arch, value].to_numpy()
        r, lo, hi = stats.ratio_ci(a, b, log=True)
        rows.append({"arch": arch, "vs": ref, "value": value, "ratio": r, "low": lo, "high": hi,
                     "more": bool(lo > 1), "less": bool(hi < 1)})
    return pd.DataFrame(rows)


def driver_correlations(metrics):
    """Spearman ρ over all replicas of log degradation with log in-range MSE and with log OOD MSE:
    which of the two moves the ratio."""
    m = with_ratios(metrics)
    r = np.log(m["ratio"])
    return {"rho_in_range": float(_st.spearmanr(r, np.log(m["in_range_mse"])).statistic),
            "rho_ood": float(_st.spearmanr(r, np.log(m["test_mse"])).statistic), "n": len(m)}


def magnitudes_agree(deg, claim_range, vanilla_claim, ref=REFERENCE):
    """Every sine arch's degradation ≥ claim_range[0]/√10 and ≤ claim_range[1]·√10, and the
    reference's within a factor √10 of `vanilla_claim`."""
    sine = deg[deg["arch"] != ref]["ratio"]
    van = deg.loc[deg["arch"] == ref, "ratio"]
    ok_sine = bool(((sine >= claim_range[0] / HALF_DECADE) & (sine <= claim_range[1] * HALF_DECADE)).all())
    ok_van = bool(len(van) and vanilla_claim / HALF_DECADE <= van.iloc[0] <= vanilla_claim * HALF_DECADE)
    return ok_sine, ok_van


def verdict(cmp, deg, claim_range, vanilla_claim):
    """Criteria (stated before the data): replicated if Vanilla degrades significantly less than
    every sine arch and the magnitudes agree (every sine arch within half a decade of the
    study's 24–1273× range, Vanilla within half a decade of 7×); replicated only under stated
    conditions if Vanilla degrades significantly less than most (more than half) of the sine
    archs but the magnitudes differ or some sine arch is not significantly worse; not
    replicated if Vanilla does not degrade significantly less than most sine archs."""
    n, more = len(cmp), int(cmp["more"].sum())
    ok_sine, ok_van = magnitudes_agree(deg, claim_range, vanilla_claim)
    if n and more == n and ok_sine and ok_van:
        return stats.REPLICATED
    if n and more > n / 2:
        return stats.CONDITIONAL
    return stats.NOT_REPLICATED
