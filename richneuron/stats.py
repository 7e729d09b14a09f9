"""Statistics for the report: one comparison function, families, summaries, ranks and verdicts.

`compare(a, b, scale=..., draws=...)` is the only way a claim compares two groups of replicas. On
the log scale (MSE-like scores) it compares geometric means: the effect is the ratio a/b; on the
linear scale (accuracies) it compares means: the effect is the difference a − b, so a ratio's
interval is the exponentiated interval of a difference of mean logs. With a `margin` (a ratio on the
log scale, a difference on the linear one), a two one-sided tests procedure (statsmodels' `ttost_*`)
says whether the effect is *equivalent* to none, that is, inside (1/margin, margin) or
(−margin, margin).

Inference is at the level of the data draw, the unit that varies: a comparison is given each
replica's data-draw label (`draws`), averages the seeds within a draw, and runs a paired t on the
per-draw differences when both groups share their draws (Welch's t on the draw means when they do
not). Replicas that share a draw are not independent: in a simulation of the report's structure
(a shared draw effect, an arch × draw effect, seed noise) Welch's t on the pooled replicas covers
the truth far less than 95% of the time, the draw-level test 95% (tests/test_stats.py). Without
`draws`, Welch's t on the replicas (`scipy.stats.ttest_ind(equal_var=False)`); it covers ~95% for
independent log-normal errors at n = 5 and 10, where a percentile bootstrap covers ~85%.
`variance_split` reports how much of the spread is data and how much is initialisation.

Families: `holm(comparisons)` adjusts the p-values of one claim's family of tests (Holm's
step-down, equal to `statsmodels.stats.multitest.multipletests(method="holm")`). Rankings across tasks: `friedman` (autorank:
Friedman test and Nemenyi critical difference, Demšar 2006).
"""
import math
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats as _st

ALPHA = 0.05
# Effects smaller than these are "no effect" in the equivalence (TOST) part of a direction
# criterion: a factor of 1.25 in a geometric-mean error, 2 percentage points of accuracy.
EQUIVALENCE = {"log": 1.25, "linear": 0.02}
SCALES = ("log", "linear")
LOWER_IS_BETTER = {"mse": True, "accuracy": False}


def scale_of(metric):
    """The comparison scale of a metric: log for errors (mse), linear for accuracies."""
    if metric not in LOWER_IS_BETTER:
        raise ValueError(f"unknown metric {metric!r}; valid: {', '.join(LOWER_IS_BETTER)}")
    return "log" if metric == "mse" else "linear"


# ----------------------------------------------------------------------------- comparison

@dataclass(frozen=True)
class Comparison:
    """The result of `compare`: effect (`estimate`: ratio or difference) with its interval."""
    estimate: float
    low: float
    high: float
    p_value: float
    equivalent: object          # True/False with a margin, None without
    p_equivalence: float        # TOST p-value (nan without a margin)
    scale: str
    margin: float
    n_a: int
    n_b: int
    confidence: float
    n_draws: int = 0            # data draws the inference used (0: replicas were the unit)
    level: str = "replica"      # "replica", "draw, paired" or "draw, Welch" (see `compare`)

    @property
    def null(self):
        """The effect of no difference: 1 for a ratio, 0 for a difference."""
        return 1.0 if self.scale == "log" else 0.0

    def direction(self, alpha=ALPHA, p=None):
        """+1 if a > b significantly (p or `p` < alpha), −1 if a < b significantly, 0 otherwise."""
        p = self.p_value if p is None else p
        if not p < alpha:
            return 0
        return 1 if self.estimate > self.null else -1

    def text(self, unit=""):
        eq = "" if self.equivalent is None else (", equivalent" if self.equivalent else "")
        sym = "×" if self.scale == "log" else unit
        return f"{fmt_ci(self.estimate, self.low, self.high, sym)}, {p_text(self.p_value)}{eq}"

    def asdict(self):
        return asdict(self)


def _clean(v, scale, labels=None):
    v = np.asarray(v, float).ravel()
    ok = np.isfinite(v)
    v = v[ok]
    if scale == "log":
        if (v <= 0).any():
            raise ValueError("scale='log' needs positive scores (errors); use scale='linear' for differences")
        v = np.log(v)
    if labels is None:
        return v
    labels = np.asarray(labels).ravel()
    if len(labels) != len(ok):
        raise ValueError(f"draws must give one data-draw label per replica: {len(labels)} labels for {len(ok)} scores")
    return v, labels[ok]


def _draw_means(v, labels):
    """The mean of `v` (already on the comparison scale) within each data draw: {draw: mean}."""
    keys, inv = np.unique(labels, return_inverse=True)
    sums = np.bincount(inv, weights=v, minlength=len(keys))
    return dict(zip(keys.tolist(), sums / np.bincount(inv, minlength=len(keys))))


def compare(a, b, *, scale, draws=None, margin=None, confidence=0.95):
    """Compare per-replica scores `a` with `b` (NaN/inf replicas, e.g. diverged, are dropped).

    scale="log": effect = geometric-mean ratio a/b (for errors); margin: an equivalence ratio > 1.
    scale="linear": effect = mean difference a − b (for accuracies); margin: a difference > 0.
    Returns a `Comparison`; its interval is a t interval at `confidence`, its p-value the two-sided
    test of no difference, `equivalent` the TOST decision at 1 − confidence.

    Without `draws` the replicas are the unit: Welch's t on the replicas (`level` "replica").

    `draws=(draws_a, draws_b)` gives each replica's data-draw label (one per score, e.g. the runs'
    `data_seed`). Inference is then at the level of the draw, the unit that varies: the replicas of
    one draw share its data (on hifreq the draw changes the target function) and are not
    independent. Each group is reduced to its means over seeds within each draw, and

    * when both groups were trained on the same draws, the test is a paired t on the per-draw
      differences of those means (`level` "draw, paired"; df = draws − 1; TOST by the one-sample
      TOST on the differences). Why this and not a mixed model with a draw effect and an
      arch × draw effect: for a balanced design (the same seeds on every draw) the paired t on draw
      means *is* the exact REML/ANOVA test of the arch effect in that model — the variance of a draw
      difference is 2·σ²(arch × draw) + 2·σ²(seed)/seeds whatever the variance components are, and
      the differences estimate it with draws − 1 degrees of freedom — while the mixed-model fit
      must estimate components at 6 draws, where REML estimates sit on the boundary and its Wald
      intervals under-cover. Pairing removes the shared draw effect, so the interval is no wider
      than the data require (tests/test_stats.py simulates both);
    * when the draws differ between the groups, the test is Welch's t on the two groups' draw means
      (`level` "draw, Welch"): a draw's effect then adds to each mean and cannot be paired away.

    Fewer than two draws (or replicas) in a group give no interval (NaN), as does a single
    replica without `draws`. The estimate with `draws` is the mean of the per-draw effects (equal
    to the replica mean's effect when every draw has the same number of replicas).
    """
    if scale not in SCALES:
        raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    if margin is not None and not (margin > (1 if scale == "log" else 0) and math.isfinite(margin)):
        raise ValueError(f"margin must be {'a ratio > 1' if scale == 'log' else 'a difference > 0'}, got {margin!r}")
    if draws is not None and not (isinstance(draws, (tuple, list)) and len(draws) == 2
                                  and all(np.ndim(d) == 1 for d in draws)):
        raise ValueError("draws must be a pair (draws_a, draws_b) of per-replica data-draw labels, "
                         f"got {type(draws).__name__}")
    back = np.exp if scale == "log" else (lambda t: t)
    bound = math.log(margin) if (margin is not None and scale == "log") else margin
    if draws is None:
        x, y = _clean(a, scale), _clean(b, scale)
        return _welch(x, y, back, bound, dict(scale=scale, margin=margin, n_a=len(x), n_b=len(y),
                                               confidence=confidence, n_draws=0, level="replica"))
    (x, la), (y, lb) = _clean(a, scale, draws[0]), _clean(b, scale, draws[1])
    ma, mb = _draw_means(x, la), _draw_means(y, lb)
    info = dict(scale=scale, margin=margin, n_a=len(x), n_b=len(y), confidence=confidence)
    if set(ma) != set(mb):
        xa, xb = np.array(list(ma.values())), np.array(list(mb.values()))
        return _welch(xa, xb, back, bound, dict(info, n_draws=min(len(ma), len(mb)), level="draw, Welch"))
    keys = sorted(ma)
    d = np.array([ma[k] - mb[k] for k in keys])
    out = dict(info, n_draws=len(d), level="draw, paired",
               estimate=float(back(d.mean())) if len(d) else math.nan)
    if len(d) < 2:
        return Comparison(**out, low=math.nan, high=math.nan, p_value=math.nan, equivalent=None,
                          p_equivalence=math.nan)
    if d.var() == 0:                           # the same difference on every draw: it is exact
        eq = None if margin is None else bool(abs(d[0]) < bound)
        return Comparison(**out, low=out["estimate"], high=out["estimate"], p_value=1.0 if d[0] == 0 else 0.0,
                          equivalent=eq, p_equivalence=math.nan if margin is None else float(not eq))
    res = _st.ttest_1samp(d, 0.0)
    ci = res.confidence_interval(confidence)
    p_eq, eq = math.nan, None
    if margin is not None:
        from statsmodels.stats.weightstats import ttost_paired
        p_eq = float(ttost_paired(d, np.zeros_like(d), -bound, bound)[0])
        eq = bool(p_eq < 1 - confidence)
    return Comparison(**out, low=float(back(ci.low)), high=float(back(ci.high)), p_value=float(res.pvalue),
                      equivalent=eq, p_equivalence=p_eq)


def _welch(x, y, back, bound, out):
    """Welch's t of `x` against `y` (on the comparison scale) as a `Comparison` with `out`'s fields."""
    out = dict(out, estimate=float(back(x.mean() - y.mean())) if len(x) and len(y) else math.nan)
    nan = dict(low=math.nan, high=math.nan, p_value=math.nan, equivalent=None, p_equivalence=math.nan)
    if len(x) < 2 or len(y) < 2:
        return Comparison(**out, **nan)
    if x.var() == 0 and y.var() == 0:        # deterministic groups: the difference is exact
        d = x.mean() - y.mean()
        eq = None if bound is None else bool(abs(d) < bound)
        return Comparison(**out, low=out["estimate"], high=out["estimate"], p_value=1.0 if d == 0 else 0.0,
                          equivalent=eq, p_equivalence=math.nan if bound is None else float(not eq))
    res = _st.ttest_ind(x, y, equal_var=False)
    ci = res.confidence_interval(out["confidence"])
    p_eq, eq = math.nan, None
    if bound is not None:
        from statsmodels.stats.weightstats import ttost_ind
        p_eq = float(ttost_ind(x, y, -bound, bound, usevar="unequal")[0])
        eq = bool(p_eq < 1 - out["confidence"])
    return Comparison(**out, low=float(back(ci.low)), high=float(back(ci.high)), p_value=float(res.pvalue),
                      equivalent=eq, p_equivalence=p_eq)


def holm(p_values, alpha=ALPHA):
    """Holm-adjusted p-values of one family of tests (NaN p-values stay NaN and are not counted)."""
    p = np.asarray(p_values, float)
    out = np.full(len(p), np.nan)
    ok = np.isfinite(p)
    if ok.any():
        # Holm's step-down adjustment, as statsmodels' multipletests(method="holm") computes it (tested
        # equal); written out because multipletests runs gc.collect() on every call, which in a
        # notebook holding large tables cost ~0.3 s per family and dominated the verdicts' time.
        q = p[ok]
        order = np.argsort(q, kind="stable")
        steps = (len(q) - np.arange(len(q))) * q[order]
        adj = np.empty_like(q)
        adj[order] = np.minimum(np.maximum.accumulate(steps), 1.0)
        out[ok] = adj
    return out


def family(comparisons, alpha=ALPHA):
    """A table of one claim's family: {label: Comparison} -> rows with the Holm-adjusted p-value
    (`p_holm`) and the Holm-corrected direction (+1 a > b, −1 a < b, 0 neither)."""
    labels = list(comparisons)
    rows = [{"label": k, **comparisons[k].asdict()} for k in labels]
    t = pd.DataFrame(rows)
    if not len(t):
        return t
    t["p_holm"] = holm(t["p_value"], alpha)
    t["direction"] = [comparisons[k].direction(alpha, p) for k, p in zip(labels, t["p_holm"])]
    return t


def center(values, scale, confidence=0.95):
    """One group's centre with its t interval: geometric mean (log) or mean (linear): (c, low, high)."""
    v = _clean(values, scale)
    back = np.exp if scale == "log" else (lambda t: t)
    if not len(v):
        return math.nan, math.nan, math.nan
    if len(v) < 2 or v.var() == 0:
        return float(back(v.mean())), math.nan if len(v) < 2 else float(back(v.mean())), \
            math.nan if len(v) < 2 else float(back(v.mean()))
    lo, hi = _st.t.interval(confidence, len(v) - 1, loc=v.mean(), scale=_st.sem(v))
    return float(back(v.mean())), float(back(lo)), float(back(hi))


def variance_split(values, data_seeds):
    """Share of the variance of `values` (on their scale) between data draws and within them
    (initialisation), from a one-way random-effects ANOVA (method of moments, balanced or not):
    {"data": share, "init": share, "n_data": ..., "n": ...}."""
    d = pd.DataFrame({"v": np.asarray(values, float), "g": np.asarray(data_seeds)}).dropna()
    k, n = d["g"].nunique(), len(d)
    if k < 2 or n <= k:
        return {"data": math.nan, "init": math.nan, "n_data": k, "n": n}
    grand = d["v"].mean()
    g = d.groupby("g")["v"].agg(["mean", "count", "var"])
    msb = (g["count"] * (g["mean"] - grand) ** 2).sum() / (k - 1)
    msw = ((g["count"] - 1) * g["var"].fillna(0)).sum() / (n - k)
    n0 = (n - (g["count"] ** 2).sum() / n) / (k - 1)
    s_data = max(0.0, (msb - msw) / n0)
    tot = s_data + msw
    return {"data": s_data / tot if tot > 0 else math.nan, "init": msw / tot if tot > 0 else math.nan,
            "n_data": k, "n": n}


def friedman(table, lower_is_better=True, alpha=ALPHA):
    """Friedman test and Nemenyi critical difference over blocks (rows, e.g. tasks) and
    treatments (columns, e.g. archs) of a wide table of centre scores (autorank, non-parametric).
    Returns the autorank result (`.pvalue`, `.cd`, `.rankdf` sorted best first, with `meanrank`)."""
    import contextlib
    import io
    import warnings
    from autorank import autorank
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        t = table.dropna(axis=1, how="any")       # ranked as errors: rank 1 = lowest = best
        return autorank(t if lower_is_better else -t, alpha=alpha, verbose=False, order="ascending",
                        force_mode="nonparametric")


# ----------------------------------------------------------------------------- summaries

def score_column(metrics):
    """The test score of every replica (test_mse or test_accuracy, by its task's metric)."""
    return metrics.apply(lambda r: r[f"test_{r['metric']}"], axis=1)


# Replicas that learnt nothing: finite, so not diverged, yet no better than a constant on the test set.
LEARNT_NOTHING_RULE = ("not diverged, but a score no better than its own constant baseline (test MSE ≥ predict-mean "
                       "MSE, accuracy ≤ chance; on a shifted test range, training MSE ≥ a constant's): flagged, "
                       "counted, and it stays in the statistics")


def learnt_nothing(metrics):
    """Per replica, `LEARNT_NOTHING_RULE` on its test score (test_mse or test_accuracy, by its `metric`)
    and its own baseline (predict_mean_mse or chance_accuracy); False for a diverged replica (it
    is flagged already) and where the score or baseline is missing."""
    m = metrics
    out = pd.Series(False, index=m.index)
    for metric, base, worse in (("mse", "predict_mean_mse", np.greater_equal), ("accuracy", "chance_accuracy", np.less_equal)):
        if f"test_{metric}" in m and base in m:
            hit = worse(pd.to_numeric(m[f"test_{metric}"]).to_numpy(float), pd.to_numeric(m[base]).to_numpy(float))
            out |= hit & (m["metric"].eq(metric).to_numpy() if "metric" in m else True)
    return out & ~m["diverged"].astype(bool) if "diverged" in m else out


def summarize(metrics, by=("arch", "task"), value=None):
    """Per group: the centre (geometric mean for MSE, mean for accuracy: the same mean the
    comparisons use) with its t interval, std, median, min, max, n, diverged count, learnt_nothing
    count (`learnt_nothing`: kept in the statistics), and every replica's value as a list. Diverged
    replicas are excluded from the statistics and counted."""
    m = metrics.copy()
    m["_nothing"] = (m["learnt_nothing"].astype(bool) & ~m["diverged"].astype(bool)) if "learnt_nothing" in m \
        else learnt_nothing(m)
    m["_v"] = m[value] if value else score_column(m)
    scale_by = (lambda g: "log") if value else (lambda g: scale_of(g["metric"].iloc[0]))
    rows = []
    for key, g in m.groupby(list(by), sort=False):
        key = key if isinstance(key, tuple) else (key,)
        ok = g[~g["diverged"].astype(bool)]["_v"]
        sc = scale_by(g)
        c, lo, hi = center(ok, sc) if len(ok) else (math.nan,) * 3
        rows.append({**dict(zip(by, key)), "mean": c, "low": lo, "high": hi, "scale": sc,
                     "std": ok.std(), "median": ok.median(), "min": ok.min(), "max": ok.max(),
                     "count": len(ok), "per_seed": ", ".join(fmt(v) for v in ok),
                     "diverged": int(g["diverged"].astype(bool).sum()), "learnt_nothing": int(g["_nothing"].sum())})
    return pd.DataFrame(rows)


def ranks(table, metric_of_task, within=("task",)):
    """Rank the rows of each `within` group by `mean` (1 = best: lowest MSE, highest accuracy).

    `metric_of_task` maps task -> "mse" or "accuracy"; the table needs columns task and mean
    (`summarize`'s centre: geometric for MSE).
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


def fmt_p(p):
    if p is None or not np.isfinite(p):
        return "n/a"
    return "< 1e-4" if p < 1e-4 else f"{p:.2g}"


def p_text(p, label="p"):
    """'p = 0.0027', or 'p < 1e-4' below 1e-4 (never 'p = < 1e-4')."""
    t = fmt_p(p)
    return f"{label} {t}" if t.startswith("<") else f"{label} = {t}"


def fmt_sig(x, digits):
    """`x` to `digits` significant digits, trailing zeros kept (1.50, 0.0300), whole numbers above
    them (68000); scientific when tiny or huge, as `fmt`."""
    if x is None or not np.isfinite(x):
        return "n/a"
    x = float(x)
    if x == 0:
        return "0"
    if abs(x) < 1e-3 or abs(x) >= 1e5:
        return f"{x:.{digits - 1}e}"
    decimals = digits - 1 - math.floor(math.log10(abs(x)))
    return f"{x:.{decimals}f}" if decimals > 0 else f"{round(x, decimals):.0f}"


def fmt_ci(point, low, high, unit="", sign=False):
    """An estimate with its interval in the paper's one format, '3.8× [0.31, 45]' (`unit` after the
    estimate; `sign`: '+' on positive numbers, for differences). The digits come from the interval:
    every number is rounded at the second significant digit of the interval's smaller half-width,
    relative for positive numbers (ratios, geometric means: significant digits), absolute otherwise
    (decimals). Without an interval (or with one of no width), 3 significant digits (`fmt`)."""
    vals = (point, low, high)
    plus = "+" if sign else ""
    if all(v is not None and np.isfinite(v) for v in vals):
        if not sign and min(vals) > 0:
            r = [x - 1 for x in (point / low, high / point) if x > 1]
            if r:
                digits = min(6, max(2, math.floor(-math.log10(min(r))) + 2))
                a, b, c = (fmt_sig(v, digits) for v in vals)
                return f"{a}{unit} [{b}, {c}]"
        else:
            w = [x for x in (point - low, high - point) if x > 0]
            if w:
                dec = min(6, max(0, 1 - math.floor(math.log10(min(w)))))
                a, b, c = (f"{v:{plus}.{dec}f}" for v in vals)
                return f"{a}{unit} [{b}, {c}]"
    a, b, c = (fmt(v) if v is None or not np.isfinite(v) or not sign or v <= 0 else "+" + fmt(v) for v in vals)
    return f"{a}{unit} [{b}, {c}]"


def draws_to_settle(comparison, claimed=None, power=0.8, alpha=ALPHA):
    """How many data draws would settle an inconclusive comparison: the number at which a t test
    on per-draw effects resolves (power `power`, two-sided `alpha`) an effect of the claimed size
    (`claimed`: a ratio on the log scale, a difference on the linear one; None: the observed
    effect), given the spread between draws that the comparison observed (recovered from its
    interval: half-width · √n / t quantile). statsmodels' `TTestPower.solve_power`. NaN when the
    comparison has no interval or no effect to resolve; at least 2."""
    c = comparison
    if c is None or not (np.isfinite(c.low) and np.isfinite(c.high)):
        return math.nan
    n = c.n_draws if c.level != "replica" else min(c.n_a, c.n_b)
    fwd = math.log if c.scale == "log" else (lambda t: t)
    sd = (fwd(c.high) - fwd(c.low)) / 2 * math.sqrt(n) / _st.t.ppf(0.5 + c.confidence / 2, max(n - 1, 1))
    effect = abs(fwd(claimed if claimed is not None else c.estimate))
    if not (sd > 0 and effect > 0):
        return math.nan
    from statsmodels.stats.power import TTestPower
    pw = lambda n: float(TTestPower().power(effect_size=effect / sd, nobs=n, alpha=alpha, alternative="two-sided"))
    if pw(2) >= power:                         # the smallest integer n with enough power (power rises with n):
        return 2                               # ceil of solve_power's n, found without its root finder
    lo, hi = 2, 4
    while pw(hi) < power:
        if hi > 10 ** 7:
            return math.inf
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (mid, hi) if pw(mid) < power else (lo, mid)
    return hi
