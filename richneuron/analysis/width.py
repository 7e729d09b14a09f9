"""Finding 4: "every extra matrix steals ~35% of hidden width" (the width-richness tradeoff).

Two parts. (1) Arithmetic, no training: the hidden width each arch gets at a parameter budget,
from `models.width_for_budget`, and the fraction of width lost per extra full weight matrix.
(2) Whether the test score follows the width (wide, simple neurons win) or the richness (narrow,
rich neurons win), from runs at several budgets and depths.

Matrix count. A layer's *full matrices* are its `nn.Linear` submodules of shape width × in
(Wg, Wv, Wφ, ...), read off the module itself, so nothing is typed by hand: vanilla 1,
SinGLU and v1 2, v7 and v10–v15 3, v6 and v8 4, v9 5; v4-lowrank and v4-shared have one full
matrix plus a low-rank factor or per-unit extras. An arch is *pure* when everything else in its
layer is below one parameter per hidden unit (v15's three scalars pass, v1's LayerNorm and the
v4 variants do not); the per-matrix fit uses pure archs only.

Per-matrix loss. The claim is a constant fraction p per extra matrix, i.e.
width(k) = width(1)·(1 − p)^(k − 1). We fit log(width / vanilla width) = b·(k − 1) by least
squares through the origin over pure archs (pooled over shapes: one slope, each shape
normalised by its own vanilla width) and report p = 1 − exp(b). The loss of each single step
(k − 1 → k matrices, geometric mean over archs with the same k) is reported next to it,
because at depth ≥ 2 the h×h matrices make width shrink like 1/√k, not geometrically.
"""
import math

import numpy as np
import pandas as pd
import torch
from scipy import stats as _st

from .. import models, neurons, stats, tasks

CLAIM = "width_penalty"
SOURCE = "richneuron/analysis/width.py"
CLAIM_BAND = (0.25, 0.45)     # the stated criterion's band around the study's ~35%

# The verdict criterion, shown in the notebook before any data and stored with the scorecard row (one line).
CRITERIA = {
    CLAIM: "Arithmetic, not statistics: a width is a deterministic function of the arch, the input/output shape, the parameter budget and the depth (models.width_for_budget), so the per-matrix loss p is computed exactly, with no sampling error and no interval, and no training run enters the verdict (the rounding check cannot change it). p is fitted as width(k) = width(1)*(1 - p)^(k - 1) by least squares on log(width / vanilla width) over the pure archs (layers made of full matrices only), one point per shape and matrix count, pooled over the shapes of nested2d, complex4d, memorize and hifreq. Magnitude holds when p at the default protocol (depth 2, 5,000 parameters) lies in [25%, 45%] and fails otherwise (there is no inconclusive branch). Replicated: it holds at the default protocol. Replicated only under stated conditions: it fails there but holds for the pooled fit at another depth (1, 2) or budget (3,000, 5,000, 8,000), or for a single shape; the conditions are named. Not replicated: p is outside the band at the default protocol and under every stated condition. Inconclusive: not reachable. Whether the score follows the width (the severity of the tradeoff) is reported beside the verdict with stats.compare (Holm within each family) and is not part of it; a statement that an effect is absent there needs an equivalence test (TOST), else it is reported as inconclusive.",
}


# ----------------------------------------------------------------------------- parameters

def task_list(text, name="tasks"):
    """Parse a comma-separated task list; ValueError naming the valid tasks."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ValueError(f"{name} is empty; valid tasks: {', '.join(tasks.available())}")
    for t in items:
        tasks._get(t)
    return items


def shapes_of(task_names):
    """{(in, out): [tasks]} for the tasks' default generators, in first-seen order."""
    out = {}
    for t in task_names:
        probe = tasks.make(t, seed=0)
        out.setdefault((probe.in_dim, probe.out_dim), []).append(t)
    return out


# ----------------------------------------------------------------------------- arithmetic

def geo_mean(v):
    v = np.asarray(v, float)
    v = v[np.isfinite(v) & (v > 0)]
    return float(np.exp(np.log(v).mean())) if len(v) else float("nan")


def layer_anatomy(arch, in_dim, width=64):
    """(full matrices, other parameters) of one hidden layer of `arch` taking `in_dim` inputs."""
    with torch.device("meta"):
        layer = neurons.get(arch)(in_dim, width)
    full = [m for m in layer.modules() if isinstance(m, torch.nn.Linear)
            and tuple(m.weight.shape) == (width, in_dim)]
    in_full = sum(p.numel() for m in full for p in m.parameters())
    total = sum(p.numel() for p in layer.parameters() if p.requires_grad)
    return len(full), total - in_full


def anatomy_table(archs, in_dim=2, width=64):
    """Per arch: full matrices per layer, other parameters per layer, and whether it is pure."""
    rows = []
    for a in archs:
        k, other = layer_anatomy(a, in_dim, width)
        rows.append({"arch": a, "matrices": k, "other_per_layer": other, "pure": other < width})
    return pd.DataFrame(rows)


def width_table(archs, shapes, budgets, depths):
    """Matched width and exact parameter count per arch × shape × budget × depth.

    `shapes` is {(in, out): [task names]}. Infeasible budgets (no width within 5%) give NaN
    widths and the reason in `note`. `rel_width` is width / vanilla's width at the same point.
    """
    anat = anatomy_table(archs).set_index("arch")
    rows = []
    for (i, o), names in shapes.items():
        for depth in depths:
            for b in budgets:
                for a in archs:
                    row = {"shape": f"{i}→{o}", "in": i, "out": o, "tasks": ", ".join(names), "depth": depth,
                           "budget": b, "arch": a, "matrices": int(anat.loc[a, "matrices"]),
                           "pure": bool(anat.loc[a, "pure"])}
                    try:
                        w, n = models.width_for_budget(a, i, o, b, depth)
                        row.update(width=w, params=n, note="")
                    except ValueError as e:
                        row.update(width=np.nan, params=np.nan, note=str(e))
                    rows.append(row)
    t = pd.DataFrame(rows)
    key = ["shape", "depth", "budget"]
    van = t[t["arch"] == "vanilla"].set_index(key)["width"]
    t["rel_width"] = [w / van.get(tuple(k), np.nan) for w, k in zip(t["width"], t[key].itertuples(index=False))]
    t["params_vs_budget"] = (t["params"] - t["budget"]) / t["budget"]
    return t


def per_matrix_loss(table):
    """Fraction of width lost per extra full matrix, fitted on pure archs (see module docstring).

    Each (shape, depth, budget, matrix count) enters the fit once (archs with the same count,
    e.g. v7 and v10–v15, have the same width up to v15's scalars, and would otherwise weigh
    more). Returns one row: the fitted loss p, the single-step losses (1→2, 2→3, ...), points.
    """
    t = table[table["pure"] & table["width"].notna() & table["rel_width"].notna()]
    pts = t.groupby(["shape", "depth", "budget", "matrices"])["rel_width"].apply(geo_mean).reset_index()
    x = (pts["matrices"] - 1).to_numpy(float)
    y = np.log(pts["rel_width"].to_numpy(float))
    b = float((x * y).sum() / (x * x).sum()) if (x * x).sum() > 0 else float("nan")
    row = {"loss_fit": 1 - math.exp(b), "n_points": len(pts), "max_matrices": int(pts["matrices"].max())}
    geo = pts.groupby("matrices")["rel_width"].apply(geo_mean)
    for k in range(2, row["max_matrices"] + 1):
        if k in geo and (k - 1) in geo:
            row[f"loss_{k - 1}to{k}"] = 1 - geo[k] / geo[k - 1]
    return row


def loss_by(table, by):
    """`per_matrix_loss` for every group of `by` (e.g. ["depth", "budget"] or [..., "shape"])."""
    return pd.DataFrame([{**dict(zip(by, k if isinstance(k, tuple) else (k,))), **per_matrix_loss(g)}
                         for k, g in table.groupby(by, sort=False)])


def reference_curves(k, claim):
    """Width ratio after k matrices under three models: the claim's constant loss `claim` per
    matrix, 1/k (one hidden layer) and 1/√k (h×h-dominated deep nets)."""
    k = np.asarray(k, float)
    return {f"claim: (1 − {claim:g})^(k − 1)": (1 - claim) ** (k - 1), "1/k (one hidden layer)": 1 / k,
            "1/√k (h×h-dominated)": 1 / np.sqrt(k)}


def verdict(primary_loss, others, band=CLAIM_BAND, ours=None):
    """The scorecard row of claim 9 (criterion CRITERIA[CLAIM]): `primary_loss` the fitted loss at
    the default protocol, `others` [(condition text, fitted loss)] for the other depths, budgets
    and single shapes."""
    inside = lambda v: band[0] <= v <= band[1]
    part = lambda v: stats.HOLDS if inside(v) else stats.FAILS
    conditions = [(f"at {name}", {"magnitude": part(v)}) for name, v in others]
    v, reason = stats.judge({"magnitude": part(primary_loss)}, conditions)
    ours = ours or f"{primary_loss:.0%} per extra matrix at the default protocol (fit over pure archs)"
    return stats.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "04_widths, width_loss_by_depth_budget.csv",
                         parts={"magnitude": part(primary_loss)}, reason=reason, criterion_source=SOURCE)


# ----------------------------------------------------------------------------- score vs width

def score_by_width(metrics, anatomy):
    """Per arch × task × budget × depth: width, params, matrices and the test score (geometric
    mean MSE over non-diverged seeds, mean ± std, n)."""
    m = metrics[~metrics["diverged"].astype(bool)].copy()
    m["score"] = stats.score_column(m)
    g = m.groupby(["task", "arch", "budget", "depth"], sort=False)
    out = g.agg(width=("width", "first"), params=("params", "first"), geo_mean=("score", geo_mean),
                mean=("score", "mean"), std=("score", "std"), n=("score", "count"),
                predict_zero_mse=("predict_zero_mse", "first"), predict_mean_mse=("predict_mean_mse", "first"))
    out = out.reset_index().merge(anatomy[["arch", "matrices"]], on="arch", how="left")
    out["mean ± std"] = [f"{stats.fmt(a)} ± {stats.fmt(b)}" for a, b in zip(out["mean"], out["std"])]
    return out


def width_or_richness(scores):
    """Spearman correlation, across archs at one task × budget × depth, of the geometric-mean MSE
    with width and with the matrix count. rho(width) < 0: wider is better (width wins);
    rho(matrices) < 0: richer is better (richness wins). p-values (scipy's t approximation) are
    given from 5 archs up, NaN below (too few points to mean anything)."""
    rows = []
    for (task, budget, depth), g in scores.groupby(["task", "budget", "depth"], sort=False):
        if len(g) < 3:
            continue
        rw = _st.spearmanr(g["width"], g["geo_mean"])
        rk = _st.spearmanr(g["matrices"], g["geo_mean"])
        best = g.loc[g["geo_mean"].idxmin()]
        rows.append({"task": task, "budget": budget, "depth": depth, "archs": len(g),
                     "rho_width": float(rw.statistic), "p_width": float(rw.pvalue) if len(g) >= 5 else np.nan,
                     "rho_matrices": float(rk.statistic), "p_matrices": float(rk.pvalue) if len(g) >= 5 else np.nan,
                     "best_arch": best["arch"], "best_width": int(best["width"])})
    out = pd.DataFrame(rows)
    if len(out):                                  # one family per correlation kind, Holm
        out["p_width_holm"], out["p_matrices_holm"] = stats.holm(out["p_width"]), stats.holm(out["p_matrices"])
    return out


def budget_gain(metrics, low, high, depth=2):
    """Per arch × task: MSE at budget `low` against MSE at `high` (ratio of geometric means,
    `stats.compare` with TOST at stats.EQUIVALENCE; Holm over the table): how much a wider model of
    the same arch gains. gain > 1: the larger budget is better; "no gain" needs equivalence."""
    m = metrics[(metrics["depth"] == depth) & ~metrics["diverged"].astype(bool)]
    m = m.assign(score=stats.score_column(m))
    comps, info = {}, {}
    for (task, arch), g in m.groupby(["task", "arch"], sort=False):
        a, b = g.loc[g["budget"] == low, "score"], g.loc[g["budget"] == high, "score"]
        if len(a) and len(b):
            comps[f"{task} / {arch}"] = stats.compare(a, b, scale="log", margin=stats.EQUIVALENCE["log"])
            info[f"{task} / {arch}"] = {"task": task, "arch": arch}
    fam = stats.family(comps)
    if not len(fam):
        return fam
    fam = pd.DataFrame([{"label": k, **v} for k, v in info.items()]).merge(fam, on="label")
    fam["gain"] = fam["estimate"]
    fam["reading"] = ["larger budget better" if d == 1 else "smaller budget better" if d == -1 else
                      "no gain (equivalent)" if e is True else "inconclusive" for d, e in zip(fam["direction"], fam["equivalent"])]
    return fam


# ----------------------------------------------------------------------------- bookkeeping

# ----------------------------------------------------------------------------- figures

def _plain_log_ticks(axis):
    """Plain numbers (30, 100, 300) instead of 3×10¹ on a log axis."""
    from matplotlib.ticker import FuncFormatter, LogLocator
    axis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(FuncFormatter(lambda v, _: ""))


def plot_widths(table, claim, axes):
    """Width relative to vanilla against the number of full matrices, one panel per depth (at the
    table's budgets pooled), every arch and shape a point, with the three reference curves."""
    import matplotlib.pyplot as plt
    k = np.linspace(1, table["matrices"].max(), 50)
    shapes = list(dict.fromkeys(table["shape"]))
    colors = dict(zip(shapes, plt.rcParams["axes.prop_cycle"].by_key()["color"]))
    for ax, (depth, g) in zip(axes, table.groupby("depth")):
        for shape, gs in g.groupby("shape", sort=False):
            pure = gs[gs["pure"]]
            ax.scatter(pure["matrices"], pure["rel_width"], s=14, color=colors[shape], label=f"{shape} (pure)",
                       alpha=0.8, zorder=3)
            other = gs[~gs["pure"]]
            ax.scatter(other["matrices"], other["rel_width"], s=14, facecolors="none", edgecolors=colors[shape],
                       label=f"{shape} (v1, v4: extra per-unit params)" if shape == shapes[0] else None, zorder=3)
        for (name, curve), ls in zip(reference_curves(k, claim).items(), ("-", "--", ":")):
            ax.plot(k, curve, c="k", ls=ls, lw=1, label=name)
        ax.set(xlabel="full weight matrices per hidden layer (k)", ylabel="width / vanilla width",
               title=f"depth {depth}: budgets {', '.join(str(b) for b in sorted(g['budget'].unique()))}",
               ylim=(0, 1.05), xticks=range(1, int(table["matrices"].max()) + 1))
    return axes[-1].get_legend_handles_labels()


def plot_score_vs_width(scores, metrics, ax, task, published_values=None, published_budget=5000, depth=2):
    """One task: geometric-mean MSE against width, one line per arch through its budgets at
    `depth` (filled markers), other depths as hollow squares, every seed as a dot, the
    predict-zero / predict-mean baselines as lines, and the study's number (red-edged star)
    at the arch's width at `published_budget`."""
    import matplotlib.pyplot as plt
    s = scores[scores["task"] == task]
    m = metrics[(metrics["task"] == task) & ~metrics["diverged"].astype(bool)]
    colors = dict(zip(dict.fromkeys(s["arch"]), plt.rcParams["axes.prop_cycle"].by_key()["color"] * 3))
    for arch, g in s.groupby("arch", sort=False):
        d2 = g[g["depth"] == depth].sort_values("width")
        ax.plot(d2["width"], d2["geo_mean"], marker="o", ms=4, lw=1, c=colors[arch], label=arch)
        d1 = g[g["depth"] != depth]
        ax.scatter(d1["width"], d1["geo_mean"], marker="s", s=22, facecolors="none", edgecolors=colors[arch], zorder=3)
        mm = m[m["arch"] == arch]
        ax.scatter(mm["width"], stats.score_column(mm), s=4, color=colors[arch], alpha=0.35, linewidths=0)
        if published_values and published_values.get(arch) is not None:
            w5 = d2.loc[d2["budget"] == published_budget, "width"]
            if len(w5):
                ax.scatter(w5.iloc[0], published_values[arch], marker="*", s=60, c=[colors[arch]], edgecolors="red",
                           linewidths=0.8, zorder=5)
    ax.axhline(m["predict_zero_mse"].iloc[0], c="gray", ls="--", lw=0.8, label="predict zero")
    ax.axhline(m["predict_mean_mse"].iloc[0], c="gray", ls=":", lw=0.8, label="predict mean")
    ax.set(xscale="log", yscale="log", xlabel="hidden width (log scale)", ylabel="test MSE (geometric mean; dots: seeds)",
           title=f"{task}: score against width")
    _plain_log_ticks(ax.xaxis)


def plot_all_archs(scores, metrics, ax, task, budget, depth, published_values=None):
    """Every arch at one budget and depth, ordered from widest to narrowest: each seed's test MSE
    (dots) and the geometric mean (bar), coloured by matrix count, with the predict-zero /
    predict-mean lines and the study's numbers (red stars)."""
    import matplotlib.pyplot as plt
    s = scores[(scores["task"] == task) & (scores["budget"] == budget) & (scores["depth"] == depth)]
    s = s.sort_values(["width", "arch"], ascending=[False, True]).reset_index(drop=True)
    m = metrics[(metrics["task"] == task) & (metrics["budget"] == budget) & (metrics["depth"] == depth)
                & ~metrics["diverged"].astype(bool)]
    kmax = int(scores["matrices"].max())
    palette = plt.get_cmap("viridis")(np.linspace(0, 0.9, kmax))
    seen = set()
    for i, r in s.iterrows():
        c = palette[int(r["matrices"]) - 1]
        lab = f"{int(r['matrices'])} matri{'x' if r['matrices'] == 1 else 'ces'}" if r["matrices"] not in seen else None
        seen.add(r["matrices"])
        ax.bar(i, r["geo_mean"], color=c, alpha=0.35, width=0.7, label=lab)
        v = stats.score_column(m[m["arch"] == r["arch"]])
        ax.scatter(i + np.linspace(-0.15, 0.15, len(v)), v, s=6, color=c, zorder=3)
        if published_values and published_values.get(r["arch"]) is not None:
            ax.scatter(i, published_values[r["arch"]], marker="*", s=60, c="red", zorder=4,
                       label="study (published)" if "pub" not in seen else None)
            seen.add("pub")
    ax.axhline(s["predict_zero_mse"].iloc[0], c="gray", ls="--", lw=0.8, label="predict zero")
    ax.axhline(s["predict_mean_mse"].iloc[0], c="gray", ls=":", lw=0.8, label="predict mean")
    ax.set_xticks(range(len(s)), [f"{a} ({int(w)})" for a, w in zip(s["arch"], s["width"])], rotation=90, fontsize=6)
    ax.set(yscale="log", ylabel="test MSE (bar: geometric mean; dots: seeds)", xlabel="arch and width (widest first)",
           title=f"{task}: every arch at {budget} parameters, depth {depth}")
