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

The notebook's face, each table computed in the cell that shows it: `widths` (the width table),
`loss_by` (the per-matrix loss by depth and budget, and by shape; `primary` and `others` read the
verdict's inputs off them), `experiments` and the runs' `metrics`, `score_by_width`, `scores`,
`width_or_richness`, `budget_gains` and `depth_comparison`; each with its display (`*_shown`),
figure (`*_figure`) or reading (`*_text`), and `scorecard_row` / `summary` for the verdict.
"""
import math

import numpy as np
import pandas as pd
import torch
from scipy import stats as _st

from .. import criteria, models, neurons, protocol, published, stats, tasks, verdicts
from . import common

CLAIM = "width_penalty"
CLAIM_BAND = (0.25, 0.45)     # the stated criterion's band around the study's ~35%

# The verdict criterion (its file in richneuron/criteria/), shown in the notebook before any data and stored with the row.
CRITERIA = {c: criteria.text(c) for c in (CLAIM,)}   # richneuron/criteria/<claim>.md


# ----------------------------------------------------------------------------- parameters

def task_list(name, text):
    """Parse a comma-separated task list; ValueError naming the valid tasks."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    if not items:
        raise ValueError(f"{name} is empty; valid tasks: {', '.join(tasks.available())}")
    for t in items:
        tasks.entry(t)
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
    """The geometric mean (`stats.center` on the log scale)."""
    return stats.center(v, "log")[0]


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
    if "vanilla" not in archs:
        raise ValueError(f"the width table needs vanilla among its archs (widths are measured against it), got {list(archs)}")
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
    return t.astype({"width": "Int64", "params": "Int64"})


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
    part = lambda v: verdicts.HOLDS if inside(v) else verdicts.FAILS
    conditions = [(f"at {name}", {"magnitude": part(v)}) for name, v in others]
    v, reason = verdicts.judge({"magnitude": part(primary_loss)}, conditions)
    ours = ours or f"{stats.fmt(100 * primary_loss)}% per extra matrix at the default protocol (fit over pure archs)"
    e = verdicts.effect("hidden width lost per extra matrix (%)", 100 * primary_loss,
                     published=100 * published.claims()[CLAIM]["value"], unit="%", null=None)
    return verdicts.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "04_widths, width_loss_by_depth_budget.csv",
                         parts={"magnitude": part(primary_loss)}, reason=reason, effect=e)


# ----------------------------------------------------------------------------- score vs width

def score_by_width(metrics, anatomy):
    """Per arch × task × budget × depth: width, params, matrices and the test score (geometric
    mean MSE over non-diverged seeds, mean ± std, n). `anatomy`: any table with the archs' `matrices`
    (`anatomy_table`, or the width table of `widths`: the first row of each arch)."""
    m = metrics[~metrics["diverged"].astype(bool)].copy()
    m["score"] = stats.score_column(m)
    g = m.groupby(["task", "arch", "budget", "depth"], sort=False)
    out = g.agg(width=("width", "first"), params=("params", "first"), geo_mean=("score", geo_mean),
                mean=("score", "mean"), std=("score", "std"), n=("score", "count"),
                predict_zero_mse=("predict_zero_mse", "first"), predict_mean_mse=("predict_mean_mse", "first"))
    out = out.reset_index().merge(anatomy[["arch", "matrices"]].drop_duplicates("arch"), on="arch", how="left")
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
        a, b = g[g["budget"] == low], g[g["budget"] == high]
        if len(a) and len(b):
            comps[f"{task} / {arch}"] = common.compare(a, b, scale="log", margin=stats.EQUIVALENCE["log"])
            info[f"{task} / {arch}"] = {"task": task, "arch": arch}
    fam = stats.family(comps)
    if not len(fam):
        return fam
    fam = pd.DataFrame([{"label": k, **v} for k, v in info.items()]).merge(fam, on="label")
    fam["gain"] = fam["estimate"]
    fam["reading"] = ["larger budget better" if d == 1 else "smaller budget better" if d == -1 else
                      "no gain (equivalent)" if e is True else "inconclusive" for d, e in zip(fam["direction"], fam["equivalent"])]
    return fam


# ----------------------------------------------------------------------------- the notebook's face

def widths(archs, shapes, budgets, depths, quick=False):
    """Part (1), no training: the `width_table` of `archs` over `shapes` × `budgets` (quick mode:
    the default budget only) × `depths`. ValueError when `budgets` or `depths` lack the default
    protocol's (the verdict is read there)."""
    for name, need, have in (("budgets", protocol.BUDGET, budgets), ("depths", protocol.DEPTH, depths)):
        if need not in have:
            raise ValueError(f"{name} must include the default protocol's {need} (the verdict is read there), got {have}")
    return width_table(archs, shapes, [protocol.BUDGET] if quick else budgets, depths)


def primary(losses):
    """The per-matrix loss at the default protocol: the row of `losses` (`loss_by(..., ["depth",
    "budget"])`) at the default depth and budget, the verdict's primary reading."""
    return losses[(losses["depth"] == protocol.DEPTH) & (losses["budget"] == protocol.BUDGET)].iloc[0]


def others(losses, by_shape):
    """The verdict's other conditions [(name, fitted loss)]: every other depth and budget pooled
    over shapes (`losses`), then every depth, budget and shape (`by_shape`)."""
    at = (losses["depth"] == protocol.DEPTH) & (losses["budget"] == protocol.BUDGET)
    return ([(f"depth {r.depth} / {r.budget} (pooled)", r.loss_fit) for r in losses[~at].itertuples()]
            + [(f"depth {r.depth} / {r.budget} / {r.shape}", r.loss_fit) for r in by_shape.itertuples()])


def experiments(cfg, score_tasks, budgets, depths, sweep_archs, depth_archs, sweep_seeds):
    """Part (2)'s runs, by name: "main" (every arch of `cfg` on `score_tasks` at the default
    protocol, every seed on every data draw), "budgets" (`sweep_archs` at the other budgets; quick:
    one) and "depths" (`depth_archs` at the other depths; quick: two archs), both with the first
    `sweep_seeds` seeds on one data draw. `sweep_archs` / `depth_archs` are kept where in `cfg.archs`."""
    seeds = cfg.seeds[:sweep_seeds]
    other_budgets = [b for b in budgets if b != protocol.BUDGET][: 1 if cfg.quick else None]
    other_depths = [d for d in depths if d != protocol.DEPTH]
    sweep_archs = [a for a in sweep_archs if a in cfg.archs]
    depth_archs = [a for a in depth_archs if a in cfg.archs][: 2 if cfg.quick else None]
    exps = {"main": protocol.main_grid(cfg.archs, score_tasks, cfg.seeds, cfg.steps, data_seeds=cfg.data_seeds)}
    if sweep_archs and other_budgets:
        exps["budgets"] = protocol.main_grid(sweep_archs, score_tasks, seeds, cfg.steps, budget=other_budgets)
    if depth_archs and other_depths:
        exps["depths"] = protocol.main_grid(depth_archs, score_tasks, seeds, cfg.steps, depth=other_depths)
    return exps


def cost_text(exps):
    """Replicas and model-steps of the main grid and of this notebook's extra runs."""
    from ..engine import cost
    (n_main, s_main), (n_extra, s_extra) = cost(exps["main"]), cost(*(e for k, e in exps.items() if k != "main"))
    return (f"Runs: the shared main grid has {n_main:,} replicas ({s_main:,} model-steps, shared with the other "
            f"notebooks); this notebook's extra budget and depth runs add {n_extra:,} replicas ({s_extra:,} model-steps).")


def metrics(runs):
    """Every replica of the Results of `experiments` (`runs`: name -> Results), one table."""
    return pd.concat([r.metrics for r in runs.values()], ignore_index=True)


def scores(metrics, by_width):
    """`common.score_table` per arch × task × budget × depth with each cell's width (from
    `by_width`, the `score_by_width` table); the study's number only at the default protocol."""
    key = ["arch", "task", "budget", "depth"]
    st = common.score_table(metrics, by=tuple(key))
    st.loc[(st["budget"] != protocol.BUDGET) | (st["depth"] != protocol.DEPTH), "published"] = None
    return st.merge(by_width[[*key, "width"]], on=key).sort_values(["task", "arch", "depth", "budget"])


def _budgets_run(metrics):
    return sorted(metrics.loc[metrics["depth"] == protocol.DEPTH, "budget"].unique())


def budget_gains(metrics):
    """`budget_gain` of the smallest against the largest budget run at the default depth; None when
    only one budget was run there."""
    ran = _budgets_run(metrics)
    return budget_gain(metrics, int(ran[0]), int(ran[-1]), protocol.DEPTH) if len(ran) > 1 else None


def depth_comparison(by_width, metrics):
    """Width and geometric-mean MSE (from `by_width`, the `score_by_width` table) at the default
    budget of every arch also run at another depth; None when none was."""
    d = by_width[(by_width["budget"] == protocol.BUDGET)
                 & by_width["arch"].isin(set(metrics.loc[metrics["depth"] != protocol.DEPTH, "arch"]))]
    return d[["task", "arch", "depth", "width", "geo_mean"]].sort_values(["task", "arch", "depth"]) if len(d) else None


def scorecard_row(losses, by_shape):
    """The finding's scorecard row (`verdict`) from the per-matrix loss fits (`loss_by` by depth and
    budget, and by shape too): `primary` and `others`."""
    p = primary(losses)
    ours = (f"{stats.fmt(100 * p['loss_fit'])}% per extra matrix at depth {protocol.DEPTH} / {protocol.BUDGET} (fit over "
            f"pure archs); first extra matrix {stats.fmt(100 * p['loss_1to2'])}%")
    return verdict(p["loss_fit"], others(losses, by_shape), ours=ours)


# ----------------------------------------------------------------------------- views and readings

def _pct(df):
    return df.assign(**{c: df[c].map(lambda v: "–" if pd.isna(v) else f"{v:.1%}") for c in df if c.startswith("loss")})


def widths_shown(widths):
    """The width table as the notebook shows it: per arch its matrices, whether it is pure, and its
    width (exact parameters) at the default budget, per depth and shape."""
    at = widths[widths["budget"] == protocol.BUDGET]
    at = at.assign(cell=[f"{w} ({p:,})" if pd.notna(w) else "infeasible" for w, p in zip(at["width"], at["params"])])
    v = at.pivot_table(index="arch", columns=["depth", "shape"], values="cell", aggfunc="first", sort=False)
    v.columns = [f"depth {d}, {s}" for d, s in v.columns]
    return widths.drop_duplicates("arch")[["arch", "matrices", "pure"]].merge(v.reset_index(), on="arch")


def loss_shown(losses):
    """A `loss_by` table as the notebook shows it (losses in percent)."""
    return _pct(losses[[c for c in losses if c not in ("n_points", "max_matrices")]])


def scores_shown(s):
    """A `scores` table as the notebook shows it."""
    return common.display_table(s, extra=("budget", "depth", "width"))


def width_or_richness_shown(wr):
    """A `width_or_richness` table as the notebook shows it (formatted ρ and p-values)."""
    return wr.assign(**{c: wr[c].map(stats.fmt) for c in wr if c.startswith(("rho", "p_"))})


def budget_gain_shown(gain, metrics):
    """A `budget_gains` table as the notebook shows it, its budgets read off `metrics`."""
    ran = _budgets_run(metrics)
    g = gain.assign(ci=[stats.fmt_ci(e, lo, hi, "×") for e, lo, hi in zip(gain["estimate"], gain["low"], gain["high"])],
                    p_holm=gain["p_holm"].map(stats.fmt_p))
    return g[["task", "arch", "ci", "p_holm", "reading"]].rename(
        columns={"ci": f"MSE at {ran[0]:,} / at {ran[-1]:,} [95% CI]", "p_holm": "Holm p"})


def feasible_text(wt):
    """How many cells of the width table are feasible, and how close the counts come to their budgets."""
    return (f"{int(wt['width'].notna().sum())} of {len(wt)} arch × shape × budget × depth combinations are feasible; "
            f"the largest deviation of a parameter count from its budget is {wt['params_vs_budget'].abs().max():.1%} "
            "(the rule allows 5%).")


def _steps(row):
    return {c[5:].replace("to", "→"): row[c] for c in row.index if c.startswith("loss_") and "to" in c and pd.notna(row[c])}


def loss_text(losses, claim):
    """The per-matrix loss at the default protocol (`losses`: `loss_by` depth and budget), step by
    step, against the study's `claim`, and at the other depths."""
    p = primary(losses)
    steps = _steps(p)
    shrinking = all(a > b for a, b in zip(list(steps.values()), list(steps.values())[1:]))
    return (f"At depth {protocol.DEPTH} and {protocol.BUDGET:,} parameters each extra matrix costs **{p['loss_fit']:.0%}** "
            f"of the width (fit), the study says ~{claim:.0%}. Step by step: "
            + ", ".join(f"{k}: {v:.0%}" for k, v in steps.items())
            + (": the first extra matrix costs most and each later one less, as expected when width×width matrices "
               "dominate the count and width falls like 1/√k rather than by a constant fraction. " if shrinking else ". ")
            + " ".join(f"With {d} hidden layer{'s' if d > 1 else ''} the fit gives {g['loss_fit'].mean():.0%}."
                       for d, g in losses.groupby("depth") if d != protocol.DEPTH))


def correlation_text(wr, sc):
    """The `width_or_richness` correlations at the default protocol, with the best arch and vanilla's
    width (from `sc`, the `score_by_width` table)."""
    wr = wr[(wr["budget"] == protocol.BUDGET) & (wr["depth"] == protocol.DEPTH)]
    van = sc[(sc["arch"] == "vanilla") & (sc["budget"] == protocol.BUDGET) & (sc["depth"] == protocol.DEPTH)]
    van = van.set_index("task")["width"]
    lines = [f"On {r.task} at {r.budget:,} parameters, across {r.archs} archs, Spearman ρ between MSE and width is "
             f"{r.rho_width:+.2f} (Holm-adjusted p = {stats.fmt(r.p_width_holm)}) and between MSE and matrix count "
             f"{r.rho_matrices:+.2f} (p = {stats.fmt(r.p_matrices_holm)}); the best arch is {r.best_arch} at width "
             f"{r.best_width}" + (f", vanilla has width {int(van[r.task])}." if r.task in van else ".")
             for r in wr.itertuples()]
    sig = wr[["p_width_holm", "p_matrices_holm"]]
    tail = (" Neither correlation is significant after Holm on any task; with this few archs that is not evidence of "
            "no relation." if len(sig) and (sig.fillna(1) >= stats.ALPHA).all().all() else "")
    return (" ".join(lines) + " (A negative ρ with width means wider is better; a negative ρ with matrices, richer is "
            "better.)" + tail)


def gain_text(g, metrics):
    """The `budget_gains` table `g` (None: one budget) in words, its budgets read off `metrics`."""
    if g is None:
        return "Only one budget was run at the default depth: no budget comparison."
    ran = _budgets_run(metrics)
    return (f"From {ran[0]:,} to {ran[-1]:,} parameters (Holm over {len(g)} tests): " + "; ".join(
        f"{r.task} {r.arch}: {stats.fmt_ci(r.estimate, r.low, r.high, '×')}, {r.reading}" for r in g.itertuples()) + ".")


def depth_text(dc):
    """The `depth_comparison` table (None: no other depth) in words."""
    if dc is None:
        return "No arch was run at another depth."
    txt = [f"{arch} on {task}: " + "; ".join(f"depth {r.depth}: width {r.width}, MSE {stats.fmt(r.geo_mean)}"
                                            for r in g.itertuples())
           for (task, arch), g in dc.groupby(["task", "arch"], sort=False)]
    return f"At {protocol.BUDGET:,} parameters: " + ". ".join(txt) + "."


def summary(row, losses, by_shape, claim):
    """The verdict line: the loss at the default protocol and how many other conditions fall in the band."""
    p, rest = primary(losses), others(losses, by_shape)
    inside = [n for n, x in rest if CLAIM_BAND[0] <= x <= CLAIM_BAND[1]]
    return (f"**Verdict: {row['verdict']}** ({row['reason']}). Each extra matrix costs {p['loss_fit']:.0%} of the "
            f"hidden width at our default protocol (the first one {p['loss_1to2']:.0%}), against the study's "
            f"~{claim:.0%}. Conditions inside the band: {len(inside)} of {len(rest)}.")


# ----------------------------------------------------------------------------- figures

def plot_widths(table, claim, axes):
    """Width relative to vanilla against the number of full matrices, one panel per depth (at the
    table's budgets pooled), every shape a colour (pure archs filled), with the three reference curves."""
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
               title=f"depth {depth}: budget{'s' if g['budget'].nunique() > 1 else ''} "
                     f"{', '.join(f'{b:,}' for b in sorted(g['budget'].unique()))}",
               ylim=(0, 1.05), xticks=range(1, int(table["matrices"].max()) + 1))
    return axes[-1].get_legend_handles_labels()


def widths_figure(wt, losses, claim, cfg):
    """`plot_widths` of the width table `wt`, one panel per depth, saved with its caption (the fitted
    loss at the default protocol from `losses`, `loss_by` depth and budget)."""
    import matplotlib.pyplot as plt
    depths = sorted(wt["depth"].unique())
    fig, axes = plt.subplots(1, len(depths), figsize=(4.2 * len(depths), 3.4), squeeze=False)
    handles, labels = plot_widths(wt, claim, axes[0])
    fig.suptitle("Width left after adding matrices, relative to vanilla (every shape and budget)", fontsize=9)
    fig.tight_layout()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.02), ncol=4, fontsize=7, frameon=False)
    p = primary(losses)
    cfg.save(fig, "04_widths", caption=(
        f"Hidden width of every arch relative to vanilla's at the same budget and shape, against its full weight matrices "
        f"per layer k, for depths {', '.join(map(str, depths))}; lines: the claim's constant loss of {claim:.0%} per "
        f"matrix, 1/k and 1/√k. The fitted loss at depth {protocol.DEPTH}, {protocol.BUDGET:,} parameters is "
        f"{p['loss_fit']:.0%}."))


def plot_score_vs_width(scores, metrics, ax, task, published_values=None, published_budget=5000, depth=2):
    """One task: geometric-mean MSE against width, one line per arch through its budgets at
    `depth` (filled markers), other depths as hollow squares, every seed as a dot, the
    predict-zero / predict-mean baselines as lines, and the study's number (red-edged star)
    at the arch's width at `published_budget`; one colour per arch (`plots.color`)."""
    from .. import plots
    s = scores[scores["task"] == task]
    m = metrics[(metrics["task"] == task) & ~metrics["diverged"].astype(bool)]
    for arch, g in s.groupby("arch", sort=False):
        c = plots.color(arch)
        d2 = g[g["depth"] == depth].sort_values("width")
        ax.plot(d2["width"], d2["geo_mean"], marker="o", ms=4, lw=1, c=c, label=arch)
        d1 = g[g["depth"] != depth]
        ax.scatter(d1["width"], d1["geo_mean"], marker="s", s=22, facecolors="none", edgecolors=c, zorder=3)
        mm = m[m["arch"] == arch]
        ax.scatter(mm["width"], stats.score_column(mm), s=4, color=c, alpha=0.35, linewidths=0)
        if published_values and published_values.get(arch) is not None:
            w5 = d2.loc[d2["budget"] == published_budget, "width"]
            if len(w5):
                ax.scatter(w5.iloc[0], published_values[arch], marker="*", s=60, color=c, edgecolors="red",
                           linewidths=0.8, zorder=5)
    ax.axhline(m["predict_zero_mse"].iloc[0], c="gray", ls="--", lw=0.8, label="predict zero")
    ax.axhline(m["predict_mean_mse"].iloc[0], c="gray", ls=":", lw=0.8, label="predict mean")
    ax.set(xscale="log", yscale="log", xlabel="hidden width (log scale)", ylabel="test MSE (geometric mean; dots: seeds)",
           title=f"{task}: score against width")
    plots.log_ticks(ax, "x")
    plots.log_ticks(ax, "y")


def plot_all_archs(scores, metrics, ax, task, budget, depth, published_values=None):
    """Every arch at one budget and depth, ordered from widest to narrowest (`plots.replicas`):
    each seed's test MSE (dots) and the geometric mean (bar), with the predict-zero / predict-mean
    lines and the study's numbers (red stars); tick labels give each arch's width."""
    from .. import plots
    s = scores[(scores["task"] == task) & (scores["budget"] == budget) & (scores["depth"] == depth)]
    s = s.sort_values(["width", "arch"], ascending=[False, True])
    m = metrics[(metrics["task"] == task) & (metrics["budget"] == budget) & (metrics["depth"] == depth)
                & ~metrics["diverged"].astype(bool)]
    order = s["arch"].tolist()
    plots.replicas(m.assign(score=stats.score_column(m)), ax, order=order, center=dict(zip(s["arch"], s["geo_mean"])),
                   baselines={"predict zero": s["predict_zero_mse"].iloc[0], "predict mean": s["predict_mean_mse"].iloc[0]},
                   published=published_values, log=True, ylabel="test MSE (bar: geometric mean; dots: seeds)",
                   title=f"{task}: every arch at {budget:,} parameters, depth {depth}")
    plots.log_ticks(ax)
    ax.set_xticks(range(len(order)), [f"{a} ({w})" for a, w in zip(order, s["width"])], rotation=90, fontsize=6)
    ax.set_xlabel("arch and width (widest first)")


def score_figure(sc, m, cfg):
    """Top row: every arch at the default protocol (`plot_all_archs`); bottom row: score against
    width (`plot_score_vs_width`) for the archs run at other budgets or depths; one column per task
    (`sc`: the `score_by_width` table of the replicas `m`)."""
    import matplotlib.pyplot as plt
    from .. import published
    task_list = list(dict.fromkeys(sc["task"]))
    swept = set(m.loc[(m["budget"] != protocol.BUDGET) | (m["depth"] != protocol.DEPTH), "arch"])
    fig, axes = plt.subplots(2, len(task_list), figsize=(4.8 * len(task_list), 8), squeeze=False)
    for j, task in enumerate(task_list):
        pub = {a: published.value(a, task) for a in sc["arch"].unique()}
        plot_all_archs(sc, m, axes[0, j], task, protocol.BUDGET, protocol.DEPTH, pub)
        plot_score_vs_width(sc[sc["arch"].isin(swept)], m, axes[1, j], task, pub, protocol.BUDGET, protocol.DEPTH)
        if j < len(task_list) - 1:
            axes[0, j].get_legend().remove()
    axes[0, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=6)
    axes[1, -1].legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=6,
                       title="lines: depth 2 across budgets\nhollow squares: other depths\nred-edged stars: the study",
                       title_fontsize=6)
    fig.tight_layout()
    n = m[(m["budget"] == protocol.BUDGET) & (m["depth"] == protocol.DEPTH)].groupby(["arch", "task"]).size().max()
    cfg.save(fig, "04_score_vs_width", caption=(
        f"Top: test MSE of every replica (dots; up to {n} per arch) of every arch at {protocol.BUDGET:,} parameters and "
        f"depth {protocol.DEPTH}, widest first (width in parentheses), with the geometric mean (bar), the predict-zero "
        "and predict-mean baselines and the study's number (red star). Bottom: geometric-mean MSE against hidden width "
        "for the archs also run at other budgets (lines) and depths (hollow squares)."))
