"""Tables shared by the finding notebooks."""
import numpy as np
import pandas as pd

from .. import published, stats


def score_table(metrics, by=("arch", "task")):
    """mean ± std, per-seed values, diverged count, the sanity baselines and the study's number."""
    s = stats.summarize(metrics, by=by)
    base_cols = [c for c in ("predict_zero_mse", "predict_mean_mse", "chance_accuracy") if c in metrics]
    base = metrics.groupby(list(by), sort=False)[base_cols].first().reset_index()
    s = s.merge(base, on=list(by))
    if "arch" in by and "task" in by:
        s["published"] = [published.value(a, t) for a, t in zip(s["arch"], s["task"])]
    s["mean ± std"] = [f"{stats.fmt(m)} ± {stats.fmt(d)}" for m, d in zip(s["mean"], s["std"])]
    return s


def display_table(s, extra=()):
    cols = [c for c in ("arch", "task", *extra, "mean ± std", "per_seed", "diverged", "predict_zero_mse",
                        "predict_mean_mse", "chance_accuracy", "published") if c in s]
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
