"""Tables shared by the finding notebooks."""
import numpy as np
import pandas as pd

from .. import published, stats, verdicts


def every(parts, complete=True):
    """A universal part from its pieces: fails when any fails, holds when all hold (and the family
    is `complete`: every member was run), inconclusive otherwise."""
    parts = list(parts)
    if verdicts.FAILS in parts:
        return verdicts.FAILS
    return verdicts.HOLDS if parts and complete and all(p == verdicts.HOLDS for p in parts) else verdicts.UNSURE


def score_table(metrics, by=("arch", "task")):
    """The centre (geometric mean for MSE, mean for accuracy: the comparisons' mean) with its 95%
    t interval, per-seed values, diverged and learnt_nothing counts, the sanity baselines and the study's number."""
    s = stats.summarize(metrics, by=by)
    base_cols = [c for c in ("predict_zero_mse", "predict_mean_mse", "chance_accuracy") if c in metrics]
    base = metrics.groupby(list(by), sort=False)[base_cols].first().reset_index()
    s = s.merge(base, on=list(by))
    if "arch" in by and "task" in by:
        s["published"] = [published.value(a, t) for a, t in zip(s["arch"], s["task"])]
    s["centre [95% CI]"] = centre_text(s)
    return s


def centre_text(summary):
    """`stats.summarize` rows as text: centre [low, high] (a geometric mean for MSE, never beside an
    arithmetic std)."""
    return [stats.fmt_ci(m, lo, hi) for m, lo, hi in zip(summary["mean"], summary["low"], summary["high"])]


def display_table(s, extra=()):
    cols = [c for c in ("arch", "task", *extra, "centre [95% CI]", "per_seed", "diverged", "learnt_nothing",
                        "predict_zero_mse", "predict_mean_mse", "chance_accuracy", "published") if c in s]
    out = s[cols].copy()
    for c in ("predict_zero_mse", "predict_mean_mse", "chance_accuracy", "published"):
        if c in out:
            out[c] = out[c].map(lambda v: stats.fmt(v) if v is not None and not pd.isna(v) else "–")
    return out


def geo_ratio_by_step(history, quantity, num_arch, den_arch):
    """Ratio of geometric means (num / den) of a history quantity at every logged step."""
    h = history[(history["quantity"] == quantity) & (history["layer"] == "all")]
    g = h.groupby(["arch", "step"])["value"].apply(lambda v: float(np.exp(np.log(v.clip(lower=1e-30)).mean())))
    g = g.unstack("arch")
    return (g[num_arch] / g[den_arch]).rename("ratio").reset_index()


def judged_ratios(fam, part, label="label", prefix=""):
    """`verdicts.judged_ratio` of every log-scale row of a family table (ratios of errors) deciding
    `part`: the entries the robustness check re-reads (`verdicts.rounding_check`)."""
    out = []
    if fam is None or not len(fam) or "scale" not in fam:
        return out
    for _, r in fam.iterrows():
        if r["scale"] == "log":
            out.append({"label": prefix + str(r[label]), "estimate": float(r["estimate"]), "parts": [part]})
    return out


def draws(*groups):
    """The data-draw labels of each group of replicas (its `data_seed` column), the `draws`
    argument of `stats.compare`: inference is at the level of the draw. None when a group has no
    such column (a table of values without the runs' keys), and None when every replica is on one
    and the same draw (a descriptive sweep run on one draw: its comparison is conditional on that
    draw and its replicas are the seeds)."""
    if all(isinstance(g, pd.DataFrame) and "data_seed" in g for g in groups):
        labels = tuple(g["data_seed"].to_numpy() for g in groups)
        if len(set(np.concatenate(labels).tolist())) > 1:
            return labels
    return None


def compare(ga, gb, value="score", *, scale, margin=None):
    """`stats.compare` of column `value` of two groups of replicas (DataFrames) at the level of their
    data draws (`draws`)."""
    return stats.compare(ga[value], gb[value], scale=scale, margin=margin, draws=draws(ga, gb))


def better_sign(metric):
    """The direction of a − b (or a/b) in which `a` is better: −1 for errors, +1 for accuracies."""
    return -1 if stats.LOWER_IS_BETTER[metric] else 1


def replica_scores(metrics, archs=None, task_list=None):
    """Per replica: arch, task, metric, diverged, the replica's keys (data_seed, seed, and
    meta_lr_scale / budget where present) and its test score."""
    m = metrics
    if archs is not None:
        m = m[m["arch"].isin(list(archs))]
    if task_list is not None:
        m = m[m["task"].isin(list(task_list))]
    cols = ["arch", "task", "metric", "diverged"] + [c for c in ("data_seed", "seed", "meta_lr_scale", "budget") if c in m]
    return m[cols].assign(score=stats.score_column(m) if len(m) else []).reset_index(drop=True)


def effect_text(row):
    """A `stats.compare` row as text: '0.25× [0.10, 0.60]' (ratio a/b) or '+5.3 pp [+2.0, +8.1]' (a − b),
    to the digits its interval resolves (`stats.fmt_ci`)."""
    if row["scale"] == "log":
        return stats.fmt_ci(row["estimate"], row["low"], row["high"], "×")
    return stats.fmt_ci(100 * row["estimate"], 100 * row["low"], 100 * row["high"], " pp", sign=True)


def compare_pairs(scores, pairs, margin=True):
    """One Holm family of `stats.compare(a, b)` tests, one per (task, a, b) in `pairs`, from
    `replica_scores` (diverged replicas dropped). Columns task, arch (a), other (b), metric, the
    Comparison's fields, p_holm, direction, better / worse (a significantly better / worse than b
    after Holm, by the task's metric), equivalent (TOST at stats.EQUIVALENCE when `margin`), and "effect (ci)" text."""
    s = scores[~scores["diverged"].astype(bool)]
    comps, info = {}, {}
    for task, a, b in pairs:
        g = s[s["task"] == task]
        if g.empty:
            continue
        metric = g["metric"].iloc[0]
        sc = stats.scale_of(metric)
        lab = f"{task} / {a} / {b}"
        ga, gb = g[g["arch"] == a], g[g["arch"] == b]
        comps[lab] = compare(ga, gb, scale=sc, margin=stats.EQUIVALENCE[sc] if margin else None)
        info[lab] = {"label": lab, "task": task, "arch": a, "other": b, "metric": metric}
    fam = stats.family(comps)
    if not len(fam):
        return pd.DataFrame(columns=["task", "arch", "other", "metric", "estimate", "low", "high", "p_value",
                                     "p_holm", "direction", "better", "worse", "equivalent", "effect (ci)"])
    fam = pd.DataFrame(list(info.values())).merge(fam, on="label")
    sign = fam["metric"].map(better_sign)
    fam["better"] = fam["direction"] == sign
    fam["worse"] = fam["direction"] == -sign
    fam["effect (ci)"] = fam.apply(effect_text, axis=1)
    return fam
