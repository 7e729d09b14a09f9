"""Finding 5: "fixed frequency (SinGLU) generalizes better to unseen frequencies than adaptive".

Tasks `freqgen` (train sin(2πx), test sin(10πx)) and `mixedfreq` (4π → 20π), by default in the
well-posed "scaled" reading where the model sees t = k·x (see `richneuron.tasks`), and in the
study's ill-posed "direct" reading (input x only) for comparison.

Statistics. Per arch, the geometric mean of the test MSE over replicas (initialisation seeds ×
data draws) with its t interval (`stats.center`). SinGLU against an adaptive arch: `stats.compare`
(other, SinGLU) on the log scale, the ratio of geometric means (> 1: SinGLU better), Welch's
interval and p-value, TOST equivalence within `stats.EQUIVALENCE`; the family of all such tests
is Holm-adjusted (`stats.family`). "Below predict-zero": per replica test MSE / the predict-zero
MSE of its own test set, geometric mean with its t interval.
"""

import numpy as np
import pandas as pd

from .. import published, stats, tasks
from . import common
from .ranking import ADAPTIVE   # the study's adaptive variants (defined once, in ranking)
FIXED = "singlu"
DEFAULT_OMEGA = 1.0     # the sine neurons' default ω: at it the sweep is the default protocol, not a condition


# ----------------------------------------------------------------------------- statistics

CLAIM = "fixed_freq_generalizes"
SOURCE = "richneuron/analysis/frequency.py"

CRITERIA = {
    CLAIM: "Family: SinGLU against each adaptive variant (v6-v13, v15) on freqgen and mixedfreq at the default protocol, the ratio adaptive/SinGLU of geometric-mean test MSEs at the unseen frequency (stats.compare, log scale, Welch; 4 seeds x 3 data draws = 12 replicas per arch in full mode), Holm over all the family's tests (18 with every arch). Direction: holds when SinGLU is significantly better than every adaptive variant on both tasks (Holm p < 0.05); fails when on either task some adaptive variant is significantly better than SinGLU or equivalent to it within a factor 1.25 (TOST); inconclusive otherwise. Generalizes (the claim says SinGLU generalizes): per task, the geometric mean over replicas of SinGLU's test MSE / the predict-zero MSE of that replica's test set, with its 95% t interval; holds when the upper bound is below 1 on both tasks, fails when the lower bound is above 1 on either task, inconclusive otherwise. No magnitude is claimed (the published 0.736 is SinGLU's own MSE). Replicated: both parts hold. Replicated only under stated conditions: not so, but both parts hold on one task alone (its tests, with the full family's Holm p-values) or at one swept omega other than the default 1 on the swept tasks against the swept adaptive archs (Holm over the omega sweep's tests). Not replicated: a part fails at the default protocol and no stated condition rescues it. Inconclusive: otherwise, and whenever the verdict changes when the same runs are repeated with torch's sin/cos/tanh kernels (rounding check).",
}


def score_table(metrics, by=("arch", "task")):
    """`common.score_table` (its `mean` is the geometric mean for MSE) plus the in-range MSE's
    geometric mean, the ratio to predict-zero and the number of replicas that beat predict-zero."""
    s = common.score_table(metrics, by=by)
    m = metrics[~metrics["diverged"].astype(bool)]
    rows = []
    for key, g in m.groupby(list(by), sort=False):
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                     "in_range_geo": stats.center(g["in_range_mse"], "log")[0] if "in_range_mse" in g else float("nan"),
                     "seeds_below_zero": int((g["test_mse"] < g["predict_zero_mse"]).sum())})
    s = s.merge(pd.DataFrame(rows), on=list(by), how="left")
    s = s.rename(columns={"mean": "geo_mean", "low": "geo_low", "high": "geo_high"})
    s["geo [95% CI]"] = [stats.fmt_ci(a, b, c) for a, b, c in zip(s["geo_mean"], s["geo_low"], s["geo_high"])]
    s["vs_predict_zero"] = s["geo_mean"] / s["predict_zero_mse"]
    return s


def display(s, extra=()):
    """The columns a reader needs, formatted."""
    cols = [c for c in ("arch", "task", *extra, "geo [95% CI]", "per_seed", "in_range_geo",
                        "seeds_below_zero", "count", "diverged", "predict_zero_mse", "vs_predict_zero", "published")
            if c in s]
    out = s[cols].copy()
    for c in ("in_range_geo", "predict_zero_mse", "vs_predict_zero", "published"):
        if c in out:
            out[c] = out[c].map(lambda v: stats.fmt(v) if v is not None and not pd.isna(v) else "–")
    return out


def _ok(metrics):
    return metrics[~metrics["diverged"].astype(bool)]


def _key(by, key):
    return dict(zip(by, key if isinstance(key, tuple) else (key,)))


def versus(metrics, by=("task",), ref=FIXED, others=ADAPTIVE):
    """SinGLU (`ref`) against each arch of `others` present, per group of `by`, as one Holm family:
    a `stats.family` table (ratio other/ref `estimate`, `low`, `high`, `p_value`, `p_holm`,
    `equivalent`) with the group columns, `other`, and `part`: the test's sub-verdict for
    "ref is better" (holds / fails / inconclusive, on the Holm p-value)."""
    m = _ok(metrics)
    comps, keys = {}, {}
    for key, g in m.groupby(list(by), sort=False, dropna=False):
        a = g.loc[g["arch"] == ref, "test_mse"].to_numpy()
        if not len(a):
            continue
        for other in [o for o in others if o in set(g["arch"])]:
            b = g.loc[g["arch"] == other, "test_mse"].to_numpy()
            label = " ".join(f"{k}={v}" for k, v in _key(by, key).items()) + f" {other}"
            comps[label] = stats.compare(b, a, scale="log", margin=stats.EQUIVALENCE["log"])
            keys[label] = {**_key(by, key), "other": other}
    t = stats.family(comps)
    if not len(t):
        return pd.DataFrame(columns=[*by, "other", "estimate", "low", "high", "p_value", "p_holm", "part"])
    t["part"] = [stats.direction(comps[k], +1, p=p) for k, p in zip(t["label"], t["p_holm"])]
    return pd.concat([pd.DataFrame([keys[k] for k in t["label"]]), t], axis=1)


def below_zero(metrics, by=("task",), ref=FIXED):
    """Per group: SinGLU's geometric-mean test MSE / predict-zero MSE (each replica against its
    own test set) with its t interval, and `part`: holds (upper bound < 1), fails (lower > 1)."""
    m = _ok(metrics)
    m = m[m["arch"] == ref]
    rows = []
    for key, g in m.groupby(list(by), sort=False, dropna=False):
        c, lo, hi = stats.center(g["test_mse"] / g["predict_zero_mse"], "log")
        part = stats.HOLDS if hi < 1 else stats.FAILS if lo > 1 else stats.UNSURE
        rows.append({**_key(by, key), "vs_zero": c, "low": lo, "high": hi, "n": len(g), "part": part})
    return pd.DataFrame(rows, columns=[*by, "vs_zero", "low", "high", "n", "part"])


def tables(main, omega=None):
    """The verdict's inputs: the default protocol's replicas of SinGLU and the adaptive archs
    (arch, task, test_mse, predict_zero_mse, diverged) and the ω sweep's (plus omega)."""
    cols = ["arch", "task", "test_mse", "predict_zero_mse", "diverged"]
    keep = [FIXED, *ADAPTIVE]
    d = main[main["arch"].isin(keep)][cols].reset_index(drop=True)
    o = pd.DataFrame(columns=cols + ["omega"]) if omega is None else omega[omega["arch"].isin(keep)][cols + ["omega"]]
    return {"default": d, "omega": o.reset_index(drop=True)}


def verdict(t):
    """The scorecard row of the claim from `tables(...)`, by `CRITERIA`."""
    fam, zero = versus(t["default"]), below_zero(t["default"])
    prt = {"direction": common.every(fam["part"]), "generalizes": common.every(zero["part"])}
    conditions = []
    task_list = list(dict.fromkeys(zero["task"]))
    if len(task_list) > 1:
        for task in task_list:
            conditions.append((f"on {task} alone", {"direction": common.every(fam.loc[fam["task"] == task, "part"]),
                                                    "generalizes": common.every(zero.loc[zero["task"] == task, "part"])}))
    om_fam, om_zero = versus(t["omega"], by=("task", "omega")), below_zero(t["omega"], by=("task", "omega"))
    for w in sorted(set(om_zero["omega"]) - {DEFAULT_OMEGA}):
        archs = ", ".join(dict.fromkeys(om_fam.loc[om_fam["omega"] == w, "other"]))
        tasks_w = ", ".join(dict.fromkeys(om_zero.loc[om_zero["omega"] == w, "task"]))
        conditions.append((f"at omega {w:g} on {tasks_w} against {archs or 'no adaptive arch'}",
                           {"direction": common.every(om_fam.loc[om_fam["omega"] == w, "part"]),
                            "generalizes": common.every(om_zero.loc[om_zero["omega"] == w, "part"])}))
    v, reason = stats.judge(prt, conditions)
    ours = "; ".join(
        f"{task}: SinGLU significantly better than {int((fam.loc[fam['task'] == task, 'part'] == stats.HOLDS).sum())}"
        f"/{int((fam['task'] == task).sum())} adaptive (Holm), worse or equivalent for "
        f"{int((fam.loc[fam['task'] == task, 'part'] == stats.FAILS).sum())}; SinGLU/predict-zero "
        + stats.fmt_ci(*zero.loc[zero["task"] == task, ["vs_zero", "low", "high"]].iloc[0]) for task in task_list)
    return stats.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "05_scores", parts=prt, reason=reason,
                         criterion_source=SOURCE, conditions={c: p for c, p in conditions})


def summary(row):
    """One line for the notebook."""
    return f"**Verdict: {row['verdict']}** ({row['reason']}). {row['ours']}."


# ----------------------------------------------------------------------------- tasks and curves

def dense(task, k, n=4000, seed=0, **options):
    """(x, y) sorted: the task's inputs and target at frequency `k` on a dense grid of n draws
    (the generator at k_test = k), for drawing the true function."""
    t = tasks.make(task, seed=seed, n_test=n, k_test=k, **options)
    o = t.x_test[:, 0].argsort()
    return t.x_test[o], t.y_test[o]


def perfect_fit_mse(task, seed=0, **options):
    """Direct mode: the test MSE of a model that reproduces the training target exactly, i.e.
    of predicting sin(k_train·π·x) where sin(k_test·π·x) is asked (same test draws)."""
    opts = {**options, "mode": "direct"}
    t = tasks.make(task, seed=seed, **opts)
    same = tasks.make(task, seed=seed, **{**opts, "k_test": t.options["k_train"]})
    return float(((same.y_test - t.y_test) ** 2).mean())


# ----------------------------------------------------------------------------- figures

def strip(metrics, ax, task, order=None, value="test_mse", in_range=True, title=None, zero=None,
          show_published=True):
    """Every seed's MSE per arch (dots), its geometric mean (bar tick), the in-range MSE (grey x),
    the predict-zero MSE (dashed line; `zero` overrides the test set's) and the study's
    published mean (red star)."""
    m = metrics[(metrics["task"] == task) & ~metrics["diverged"].astype(bool)]
    order = order or list(dict.fromkeys(m["arch"]))
    starred = False
    for i, a in enumerate(order):
        v = m.loc[m["arch"] == a, value].to_numpy()
        xs = i + np.linspace(-0.15, 0.15, len(v)) if len(v) > 1 else np.full(len(v), i)
        ax.scatter(xs, v, s=10, color="C0", zorder=3, label="each seed" if i == 0 else None)
        ax.plot([i - 0.3, i + 0.3], [stats.center(v, "log")[0]] * 2, c="C0", lw=1.5, label="geometric mean" if i == 0 else None)
        if in_range and "in_range_mse" in m:
            ax.scatter(xs, m.loc[m["arch"] == a, "in_range_mse"], marker="x", s=10, color="gray", lw=0.8,
                       label="in-range MSE" if i == 0 else None)
        p = published.value(a, task) if show_published else None
        if p is not None:
            ax.scatter(i, p, marker="*", s=70, c="red", zorder=4, label=None if starred else "study (published mean)")
            starred = True
    ax.axhline(m["predict_zero_mse"].iloc[0] if zero is None else zero, c="k", ls="--", lw=0.9, label="predict zero")
    ax.set_xticks(range(len(order)), order, rotation=90)
    ax.set(yscale="log", ylabel="MSE", title=title or task)


def draw_frame(ax, x, truth, shade=None, ylim=None, title=None):
    """The true function (black) over `x`, predict-zero (dashed) and the shaded training range;
    models are added with `plots.learned_function`."""
    if shade is not None:
        ax.axvspan(*shade, color="gold", alpha=0.2, label="training range", lw=0)
    ax.plot(x[:, 0], truth[:, 0], c="k", lw=1.6, label="true function", zorder=1)
    ax.axhline(0, c="gray", ls="--", lw=0.8, label="predict zero")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set(title=title or "")
