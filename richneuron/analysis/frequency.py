"""Finding 5: "fixed frequency (SinGLU) generalizes better to unseen frequencies than adaptive".

Tasks `freqgen` (train sin(2πx), test sin(10πx)) and `mixedfreq` (4π → 20π), by default in the
well-posed "scaled" reading where the model sees t = k·x (see `richneuron.tasks`), and in the
study's ill-posed "direct" reading (input x only) for comparison.

Statistics. Per arch, the geometric mean of the test MSE over seeds with a 95% percentile
bootstrap CI (bootstrap of the mean log MSE, exponentiated: `geo_ci`). SinGLU against another
arch: `stats.ratio_ci(other, singlu, log=True)`, the ratio of geometric means with seeds
resampled independently in each arch; > 1 means SinGLU is better, "significant" when the
CI's lower bound is above 1. "Better than predict-zero" means the upper CI bound of SinGLU's
geometric-mean MSE is below the predict-zero MSE of the test set.
"""

import numpy as np
import pandas as pd

from .. import published, stats, tasks
from . import common

ADAPTIVE = ("v6", "v7", "v8", "v9", "v10", "v11", "v12", "v13", "v15")   # the study's adaptive variants
FIXED = "singlu"


# ----------------------------------------------------------------------------- statistics

def score_table(metrics, by=("arch", "task")):
    """`common.score_table` plus the in-range MSE, the geometric mean with its CI, the ratio to
    predict-zero and the number of seeds that beat predict-zero."""
    s = common.score_table(metrics, by=by)
    m = metrics[~metrics["diverged"].astype(bool)]
    rows = []
    for key, g in m.groupby(list(by), sort=False):
        geo, lo, hi = stats.geo_ci(g["test_mse"])
        rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))),
                     "geo_mean": geo, "geo_low": lo, "geo_high": hi,
                     "in_range_geo": stats.geo_ci(g["in_range_mse"])[0] if "in_range_mse" in g else float("nan"),
                     "seeds_below_zero": int((g["test_mse"] < g["predict_zero_mse"]).sum())})
    s = s.merge(pd.DataFrame(rows), on=list(by), how="left")
    s["geo [95% CI]"] = [stats.fmt_ci(a, b, c) for a, b, c in zip(s["geo_mean"], s["geo_low"], s["geo_high"])]
    s["vs_predict_zero"] = s["geo_mean"] / s["predict_zero_mse"]
    return s


def display(s, extra=()):
    """The columns a reader needs, formatted."""
    cols = [c for c in ("arch", "task", *extra, "mean ± std", "geo [95% CI]", "per_seed", "in_range_geo",
                        "seeds_below_zero", "count", "diverged", "predict_zero_mse", "vs_predict_zero", "published")
            if c in s]
    out = s[cols].copy()
    for c in ("in_range_geo", "predict_zero_mse", "vs_predict_zero", "published"):
        if c in out:
            out[c] = out[c].map(lambda v: stats.fmt(v) if v is not None and not pd.isna(v) else "–")
    return out


def compare(metrics, by=("task",), ref=FIXED, others=ADAPTIVE):
    """SinGLU (`ref`) against each arch of `others` present, per group of `by`: the ratio of
    geometric-mean test MSEs other / ref with its bootstrap CI, and whether ref is significantly
    better (CI low > 1); plus ref's own geometric mean and CI against predict-zero."""
    m = metrics[~metrics["diverged"].astype(bool)]
    rows = []
    for key, g in m.groupby(list(by), sort=False, dropna=False):
        a = g.loc[g["arch"] == ref, "test_mse"].to_numpy()
        if not len(a):
            continue
        geo, lo, hi = stats.geo_ci(a)
        zero = float(g["predict_zero_mse"].iloc[0])
        for other in [o for o in others if o in set(g["arch"])]:
            b = g.loc[g["arch"] == other, "test_mse"].to_numpy()
            r, rlo, rhi = stats.ratio_ci(b, a, log=True)
            rows.append({**dict(zip(by, key if isinstance(key, tuple) else (key,))), "other": other,
                         "ratio": r, "low": rlo, "high": rhi, "ref_better": bool(rlo > 1),
                         "ref_geo": geo, "ref_high": hi, "predict_zero_mse": zero, "ref_beats_zero": bool(hi < zero)})
    return pd.DataFrame(rows)


def holds(cmp):
    """Per group: does SinGLU beat every compared arch significantly and beat predict-zero?"""
    if cmp.empty:
        return pd.DataFrame()
    keys = [c for c in cmp.columns if c not in ("other", "ratio", "low", "high", "ref_better", "ref_geo",
                                                 "ref_high", "predict_zero_mse", "ref_beats_zero")]
    return (cmp.groupby(keys, sort=False, dropna=False)
            .agg(compared=("other", "count"), beaten=("ref_better", "sum"), beats_zero=("ref_beats_zero", "first"))
            .assign(holds=lambda d: (d["beaten"] == d["compared"]) & d["beats_zero"]).reset_index())


def verdict(default_holds, omega_holds):
    """Criteria (stated before the data): replicated if, at the default protocol, SinGLU's test MSE
    is significantly below every adaptive variant's and below predict-zero on both tasks;
    replicated only under stated conditions if that holds on one task only, or only at some
    swept ω (against the swept adaptive archs); not replicated otherwise."""
    n_default = int(default_holds["holds"].sum()) if len(default_holds) else 0
    n_tasks = len(default_holds)
    if n_tasks >= 2 and n_default == n_tasks:
        return stats.REPLICATED
    if n_default >= 1 or (len(omega_holds) and omega_holds["holds"].any()):
        return stats.CONDITIONAL
    return stats.NOT_REPLICATED


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
        ax.plot([i - 0.3, i + 0.3], [stats.geo_ci(v)[0]] * 2, c="C0", lw=1.5, label="geometric mean" if i == 0 else None)
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
