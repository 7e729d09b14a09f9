"""Finding 1: "SinGLU stores 168,327× more information per parameter" (memorization MSE ratio).

The effect is the ratio of geometric-mean memorisation MSEs, Vanilla / SinGLU, over replicas
(initialisation seeds × data draws), from `stats.compare` on the log scale (Welch). Memorisation
errors reach float32's resolution (`stats.FLOAT32_FLOOR`): a ratio of two errors at that floor
measures rounding, not skill, so the criterion judges the ratio's size only when SinGLU's error is
resolved, or when Vanilla's error is far enough above the floor for the ratio to be a useful lower
bound.
"""
import math

import pandas as pd

from .. import published, stats

CLAIM = "memorization_ratio"
NUM, DEN = "vanilla", "singlu"
AT_FLOOR = 10 * stats.FLOAT32_FLOOR       # a geometric-mean MSE at most this is "at the float32 floor"
FAR_ABOVE = 1000 * stats.FLOAT32_FLOOR    # Vanilla "far above the floor": its centre's lower bound at least this
SOURCE = "richneuron/analysis/memorization.py"

CRITERIA = {
    CLAIM: "One test per setting: Vanilla/SinGLU ratio of geometric-mean memorize MSEs (stats.compare, log scale, Welch; 4 seeds x 3 data draws = 12 replicas per arch in full mode). Direction: holds when the ratio is significantly above 1 (p < 0.05), fails when significantly below 1 or equivalent to 1 within a factor 1.25 (TOST), inconclusive otherwise; inconclusive (float32 floor) when both geometric means are at the float32 floor (at most 1e-5, ten times stats.FLOAT32_FLOOR). Magnitude: when SinGLU's geometric mean is above 1e-5, holds when the ratio's estimate lies in [claim/sqrt(10), claim*sqrt(10)] and fails when its 95% interval misses that band; when SinGLU's geometric mean is at the floor its error is not resolved and the ratio measures Vanilla's error in units of float32 rounding, a lower bound on the skill ratio: magnitude then holds when Vanilla is far above the floor (lower bound of its geometric mean at least 1e-3) and the ratio's lower 95% bound reaches claim/sqrt(10), and is inconclusive (float32 floor) otherwise. Replicated: direction and magnitude hold at the default protocol (lr 1e-3, 3000 steps). Replicated only under stated conditions: not so, but both hold at one of the swept learning rates (each a comparison of its own replicas; the direction's p-values Holm-adjusted over the swept learning rates). Not replicated: a part fails at the default protocol and no swept learning rate rescues it. Inconclusive: otherwise, and whenever the verdict changes when the same runs are repeated with torch's sin/cos/tanh kernels (rounding check).",
}


def _scores(metrics, arch, value="test_mse"):
    m = metrics[(metrics["arch"] == arch) & ~metrics["diverged"].astype(bool)]
    return m[value].to_numpy(float)


def ratio(metrics, num=NUM, den=DEN, value="test_mse"):
    """Vanilla/SinGLU memorisation MSE: `stats.compare` (ratio of geometric means, Welch interval
    on the log scale, TOST at the default margin) and each arch's geometric mean with its interval."""
    a, b = _scores(metrics, num, value), _scores(metrics, den, value)
    c = stats.compare(a, b, scale="log", margin=stats.EQUIVALENCE["log"])
    (na, na_lo, na_hi), (nb, nb_lo, nb_hi) = stats.center(a, "log"), stats.center(b, "log")
    return {"ratio": c.estimate, "low": c.low, "high": c.high, "p_value": c.p_value, "equivalent": c.equivalent,
            "num_geo": na, "num_low": na_lo, "num_high": na_hi, "den_geo": nb, "den_low": nb_lo, "den_high": nb_hi,
            "n_num": c.n_a, "n_den": c.n_b, "comparison": c}


def ratio_by(metrics, column, **kw):
    """`ratio` for every value of a swept column (e.g. lr), without the Comparison objects."""
    rows = [{column: v, **ratio(g, **kw)} for v, g in metrics.groupby(column)]
    return pd.DataFrame(rows).drop(columns="comparison")


def capacity(metrics, threshold):
    """Largest number of pairs each arch memorises with a geometric-mean MSE (over replicas)
    below `threshold` (the same centre as the comparisons)."""
    s = stats.summarize(metrics, by=("arch", "task.n_points"), value="test_mse")
    rows = []
    for arch, g in s.groupby("arch", sort=False):
        ok = g[g["mean"] < threshold]["task.n_points"]
        rows.append({"arch": arch, "params": int(metrics.loc[metrics["arch"] == arch, "params"].iloc[0]),
                     "capacity_pairs": int(ok.max()) if len(ok) else 0,
                     "largest_tried": int(g["task.n_points"].max())})
    out = pd.DataFrame(rows)
    out["pairs_per_1k_params"] = 1000 * out["capacity_pairs"] / out["params"]
    return out


# ----------------------------------------------------------------------------- verdict

def tables(default, sweep=None):
    """The verdict's inputs from metrics tables: the default-protocol replicas of Vanilla and
    SinGLU (arch, test_mse, diverged) and the learning-rate sweep's (plus lr); plain DataFrames."""
    cols = ["arch", "test_mse", "diverged"]
    d = default[default["arch"].isin([NUM, DEN])][cols].reset_index(drop=True)
    s = pd.DataFrame(columns=cols + ["lr"]) if sweep is None else sweep[sweep["arch"].isin([NUM, DEN])][cols + ["lr"]]
    return {"default": d, "sweep": s.reset_index(drop=True)}


def parts(r, claimed, p=None):
    """Sub-verdicts of one setting from `ratio`'s dict: ({"direction", "magnitude"}, note). `p`
    overrides the direction's p-value (Holm-adjusted in a family of settings)."""
    c = r["comparison"]
    num_floor, den_floor = r["num_geo"] <= AT_FLOOR, r["den_geo"] <= AT_FLOOR
    if num_floor and den_floor:
        return ({"direction": stats.UNSURE, "magnitude": stats.UNSURE},
                "both geometric means are at the float32 floor: the ratio measures rounding, not skill")
    d = stats.direction(c, +1, p=p)
    if not den_floor:
        return {"direction": d, "magnitude": stats.magnitude(c, claimed)}, ""
    far = r["num_low"] >= FAR_ABOVE
    reached = math.isfinite(c.low) and c.low >= claimed / math.sqrt(10)
    note = ("SinGLU's error is at the float32 floor: the ratio measures Vanilla's error in units of float32 rounding, "
            "a lower bound on the skill ratio")
    if far and reached:
        return {"direction": d, "magnitude": stats.HOLDS}, note + ", and that bound reaches the claimed order"
    return {"direction": d, "magnitude": stats.UNSURE}, note + (
        "; the bound falls short of the claimed order, which it cannot refute" if far else
        "; Vanilla's error is not far above the floor either") + " (magnitude inconclusive: float32 floor)"


def verdict(t, claimed=None):
    """The scorecard row of claim 1 from `tables(...)`, by `CRITERIA`."""
    claimed = published.claims()[CLAIM]["value"] if claimed is None else claimed
    r = ratio(t["default"])
    prt, note = parts(r, claimed)
    sweep = {lr: ratio(g) for lr, g in t["sweep"].groupby("lr")} if len(t["sweep"]) else {}
    fam = stats.family({lr: x["comparison"] for lr, x in sweep.items()})
    conditions = []
    for lr, p in zip(fam.get("label", []), fam.get("p_holm", [])):
        conditions.append((f"at lr {lr:g}", parts(sweep[lr], claimed, p=p)[0]))
    v, reason = stats.judge(prt, conditions)
    ours = f"{r['comparison'].text()} (Vanilla {stats.fmt(r['num_geo'])}, SinGLU {stats.fmt(r['den_geo'])}; " \
           f"n = {r['n_num']}, {r['n_den']})"
    if sweep:
        ours += "; swept lr: " + ", ".join(f"{lr:g}: {stats.fmt(x['ratio'])}×" for lr, x in sweep.items())
    return stats.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "01_memorize_ratio_sweeps", parts=prt,
                         reason=reason + (f"; {note}" if note else ""), criterion_source=SOURCE,
                         conditions={c: p for c, p in conditions})


def summary(row):
    """One line for the notebook."""
    return f"**Verdict: {row['verdict']}** ({row['reason']}). Vanilla/SinGLU: {row['ours']}."
