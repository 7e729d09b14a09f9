"""Statistics for the report: per-group summaries, bootstrap CIs, ranks and verdicts.

Bootstrap intervals come from `scipy.stats.bootstrap` (percentile method, 9,999 resamples, a
fixed seed), resampling seeds independently within each group.
"""
import json
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import stats as _st

from . import published

REPLICATED, CONDITIONAL, NOT_REPLICATED = "replicated", "replicated only under stated conditions", "not replicated"
VERDICTS = (REPLICATED, CONDITIONAL, NOT_REPLICATED)
N_RESAMPLES, CI_SEED = 9999, 0


def score_column(metrics):
    """The test score of every replica (test_mse or test_accuracy, by its task's metric)."""
    return metrics.apply(lambda r: r[f"test_{r['metric']}"], axis=1)


def summarize(metrics, by=("arch", "task"), value=None):
    """mean, std, median, min, max, n and diverged count of a score per group; seeds as a list.

    Diverged replicas are excluded from the statistics and counted in `diverged`.
    """
    m = metrics.copy()
    m["_v"] = m[value] if value else score_column(m)
    ok = m[~m["diverged"].astype(bool)]
    g = ok.groupby(list(by), sort=False)["_v"]
    out = g.agg(["mean", "std", "median", "min", "max", "count"])
    out["per_seed"] = g.apply(lambda s: ", ".join(fmt(v) for v in s))
    out["diverged"] = m.groupby(list(by), sort=False)["diverged"].sum().astype(int)
    return out.reset_index()


def ratio_ci(a, b, log=False, confidence=0.95):
    """Ratio mean(a)/mean(b) with a bootstrap CI, seeds resampled within a and b independently.

    With `log=True` the ratio of geometric means (exp(mean log a − mean log b)), better for
    errors that span orders of magnitude. Returns (ratio, low, high).
    """
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if log:
        stat = lambda x, y, axis=-1: np.exp(np.mean(np.log(x), axis=axis) - np.mean(np.log(y), axis=axis))
    else:
        stat = lambda x, y, axis=-1: np.mean(x, axis=axis) / np.mean(y, axis=axis)
    point = float(stat(a, b))
    if len(a) < 2 or len(b) < 2:
        return point, float("nan"), float("nan")
    res = _st.bootstrap((a, b), stat, n_resamples=N_RESAMPLES, confidence_level=confidence,
                        method="percentile", vectorized=True, rng=np.random.default_rng(CI_SEED))
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)


def mean_ci(a, confidence=0.95):
    """Mean of `a` with a percentile-bootstrap CI: (mean, low, high)."""
    a = np.asarray(a, float)
    a = a[np.isfinite(a)]
    if len(a) < 2:
        return float(np.mean(a)) if len(a) else float("nan"), float("nan"), float("nan")
    res = _st.bootstrap((a,), np.mean, n_resamples=N_RESAMPLES, confidence_level=confidence,
                        method="percentile", rng=np.random.default_rng(CI_SEED))
    return float(np.mean(a)), float(res.confidence_interval.low), float(res.confidence_interval.high)


def geo_ci(values):
    """Geometric mean of positive `values` with a 95% bootstrap CI (of the mean log): (geo, low, high)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v) & (v > 0)]
    if not len(v):
        return float("nan"), float("nan"), float("nan")
    m, lo, hi = mean_ci(np.log(v))
    return float(np.exp(m)), float(np.exp(lo)), float(np.exp(hi))


def diff_ci(a, b, confidence=0.95):
    """mean(a) − mean(b) with a percentile-bootstrap CI (seeds resampled within a and b): (diff, low, high)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    stat = lambda x, y, axis=-1: np.mean(x, axis=axis) - np.mean(y, axis=axis)
    point = float(stat(a, b))
    if len(a) < 2 or len(b) < 2:
        return point, float("nan"), float("nan")
    if np.ptp(a) == 0 and np.ptp(b) == 0:          # every resample is the same: the CI is the point
        return point, point, point
    res = _st.bootstrap((a, b), stat, n_resamples=N_RESAMPLES, confidence_level=confidence,
                        method="percentile", vectorized=True, rng=np.random.default_rng(CI_SEED))
    return point, float(res.confidence_interval.low), float(res.confidence_interval.high)


def ranks(table, metric_of_task, within=("task",)):
    """Rank the rows of each `within` group by `mean` (1 = best: lowest MSE, highest accuracy).

    `metric_of_task` maps task -> "mse" or "accuracy"; the table needs columns task and mean.
    """
    t = table.copy()
    lower = t["task"].map(metric_of_task).eq("mse")
    g = t.groupby(list(within))["mean"]
    t["rank"] = g.rank(method="min").where(lower, g.rank(method="min", ascending=False)).astype(int)
    return t


def fmt(x, digits=3):
    """A number for a table: 3 significant digits, scientific when tiny or huge."""
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "n/a"
    x = float(x)
    if x != 0 and (abs(x) < 1e-3 or abs(x) >= 1e5):
        return f"{x:.{digits - 1}e}"
    return f"{x:.{digits}g}"


def fmt_ci(point, low, high):
    return f"{fmt(point)} [{fmt(low)}, {fmt(high)}]"


def verdict(claim, ours, verdict_, criterion, evidence, finding):
    """One scorecard row. `claim` is a key of published.claims()."""
    if verdict_ not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict_!r}")
    c = published.claims()[claim]
    return {"finding": finding, "claim_id": claim, "claim": c["text"], "published": c.get("value"),
            "ours": ours, "verdict": verdict_, "criterion": criterion, "evidence": evidence}


def write_verdicts(rows, output_dir):
    """Store a notebook's verdict rows as JSON (the paper's scorecard is built from them)."""
    path = Path(output_dir) / "verdicts.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows, indent=1, default=str))
    return pd.DataFrame(rows)[["claim", "published", "ours", "verdict", "criterion"]]
