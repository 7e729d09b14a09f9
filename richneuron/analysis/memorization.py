"""Finding 1: "SinGLU stores 168,327× more information per parameter" (memorization MSE ratio).

The finding as one unit: `experiments` (the notebook's runs), `ratio`/`ratio_by`/`capacity` (the
numbers), `tables` → `verdict` → `summary` (the scorecard row, by `CRITERIA`), and the notebook's
shown tables, one-line readings and figures (each saved with its caption).

The effect is the ratio of geometric-mean memorisation MSEs, Vanilla / SinGLU, over replicas
(initialisation seeds × data draws), from `stats.compare` on the log scale at the level of the data
draw. Memorisation errors are tiny (SinGLU reaches 1e-10 and below): whether their ratio is a
measurement is decided by the robustness check's runs of the same comparison, not by a fixed floor
(`verdicts.rounding_check`: the ratio is judged unless the check moves it by more than the claimed
effect's band).
"""

import pandas as pd

from .. import criteria, plots, protocol, published, stats, verdicts
from . import common, robustness

CLAIM = "memorization_ratio"
NUM, DEN = "vanilla", "singlu"
SOURCE = criteria.source(CLAIM)           # the criterion's file (what git dates)
PAIR = [NUM, DEN]

CRITERIA = {c: criteria.text(c) for c in (CLAIM,)}   # richneuron/criteria/<claim>.md


def experiments(cfg, lrs, points, capacity_archs):
    """The notebook's runs: {"main": every arch of the run on the 200 memorised pairs at the
    default protocol, "sweep": Vanilla and SinGLU at the extra learning rates `lrs`, "capacity":
    `capacity_archs` on each number of random pairs in `points` (the main grid's seeds and data
    draws: its Vanilla/SinGLU comparisons are the verdict's capacity part), "check" and "check_sweep": Vanilla and SinGLU at the default and the
    swept learning rates with every initial weight moved by one ulp (the robustness check)}. Quick mode keeps the first
    learning rate, the first two point counts and the first two capacity archs."""
    cfg.require(*PAIR)
    if cfg.quick:
        lrs, points, capacity_archs = lrs[:1], points[:2], capacity_archs[:2]
    grid = lambda archs, **kw: protocol.main_grid(archs, ["memorize"], cfg.seeds, cfg.steps, data_seeds=cfg.data_seeds, **kw)
    check = protocol.CHECK
    return {"main": grid(cfg.archs), "sweep": grid(PAIR, lr=lrs),
            "capacity": grid(capacity_archs, task_options={"n_points": points}),
            "check": grid(PAIR, **check), "check_sweep": grid(PAIR, lr=lrs, **check)}


def _replicas(metrics, arch):
    return metrics[(metrics["arch"] == arch) & ~metrics["diverged"].astype(bool)]


def ratio(metrics, num=NUM, den=DEN, value="test_mse"):
    """Vanilla/SinGLU memorisation MSE: `stats.compare` (ratio of geometric means, draw-level
    interval on the log scale, TOST at the default margin) and each arch's geometric mean with its interval."""
    ga, gb = _replicas(metrics, num), _replicas(metrics, den)
    a, b = ga[value].to_numpy(float), gb[value].to_numpy(float)
    c = common.compare(ga, gb, value, scale="log", margin=stats.EQUIVALENCE["log"])
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

def tables(default, sweep=None, capacity=None):
    """The verdict's inputs from metrics tables: the default-protocol replicas of Vanilla and
    SinGLU (arch, test_mse, diverged, data_seed), the learning-rate sweep's (plus lr) and the
    capacity sweep's (plus task.n_points); plain DataFrames."""
    cols = ["arch", "test_mse", "diverged"] + (["data_seed"] if "data_seed" in default else [])
    d = default[default["arch"].isin([NUM, DEN])][cols].reset_index(drop=True)
    s = pd.DataFrame(columns=cols + ["lr"]) if sweep is None else sweep[sweep["arch"].isin([NUM, DEN])][cols + ["lr"]]
    c = (pd.DataFrame(columns=cols + ["task.n_points"]) if capacity is None or "task.n_points" not in capacity
         else capacity[capacity["arch"].isin([NUM, DEN])][cols + ["task.n_points"]])
    return {"default": d, "sweep": s.reset_index(drop=True), "capacity": c.reset_index(drop=True)}


DEFAULT_POINTS = 200     # the study's 200 pairs: the capacity part reads the larger counts of the sweep


def capacity_part(capacity):
    """The capacity part ("stores more information per parameter" read as: memorises more pairs at
    the same budget) from `tables(...)["capacity"]`: per count of random pairs above the default
    200, the Vanilla/SinGLU ratio of geometric-mean MSEs (`ratio`, draw level), Holm over the
    counts. holds: significantly above 1 at every count; fails: significantly below 1 or
    equivalent to 1 (TOST) at some count; inconclusive otherwise or when the sweep was not run.
    Returns (part, {count: ratio dict})."""
    c = capacity[capacity["task.n_points"] > DEFAULT_POINTS] if len(capacity) else capacity
    by = {int(n): ratio(g) for n, g in c.groupby("task.n_points")} if len(c) else {}
    by = {n: r for n, r in by.items() if r["n_num"] and r["n_den"]}
    if not by:
        return verdicts.UNSURE, {}
    fam = stats.family({n: r["comparison"] for n, r in by.items()})
    parts = [verdicts.direction(by[n]["comparison"], +1, p=p) for n, p in zip(fam["label"], fam["p_holm"])]
    return common.every(parts), by


def parts(r, claimed, p=None):
    """Sub-verdicts of one setting from `ratio`'s dict: ({"direction", "magnitude"}, note). `p`
    overrides the direction's p-value (Holm-adjusted in a family of settings). Whether the ratio
    is a measurement at all is the robustness check's question (`verdicts.rounding_check`)."""
    c = r["comparison"]
    return {"direction": verdicts.direction(c, +1, p=p), "magnitude": verdicts.magnitude(c, claimed)}, ""


def verdict(t, claimed=None):
    """The scorecard row of claim 1 from `tables(...)`, by `CRITERIA`."""
    claimed = published.claims()[CLAIM]["value"] if claimed is None else claimed
    r = ratio(t["default"])
    prt, note = parts(r, claimed)
    cap, cap_by = capacity_part(t.get("capacity", pd.DataFrame()))
    prt["capacity"] = cap
    sweep = {lr: ratio(g) for lr, g in t["sweep"].groupby("lr")} if len(t["sweep"]) else {}
    fam = stats.family({lr: x["comparison"] for lr, x in sweep.items()})
    conditions = []
    for lr, p in zip(fam.get("label", []), fam.get("p_holm", [])):
        conditions.append((f"at lr {lr:g}", {**parts(sweep[lr], claimed, p=p)[0], "capacity": cap}))
    v, reason = verdicts.judge(prt, conditions)
    ours = f"{r['comparison'].text()} (Vanilla {stats.fmt(r['num_geo'])}, SinGLU {stats.fmt(r['den_geo'])}; " \
           f"n = {r['n_num']}, {r['n_den']})"
    if sweep:
        ours += "; swept lr: " + ", ".join(f"{lr:g}: {stats.fmt(x['ratio'])}×" for lr, x in sweep.items())
    if cap_by:
        ours += "; capacity: " + ", ".join(f"{n} pairs {x['comparison'].text()}" for n, x in cap_by.items())
    settle = [("Vanilla/SinGLU at 200 pairs", r["comparison"], claimed)] + [
        (f"Vanilla/SinGLU at {n} pairs", x["comparison"], None) for n, x in cap_by.items()
        if verdicts.direction(x["comparison"], +1) == verdicts.UNSURE]
    return verdicts.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "01_memorize_ratio_sweeps", parts=prt,
                         reason=reason + (f"; {note}" if note else ""),
                         conditions={c: p for c, p in conditions},
                         ratios=[verdicts.judged_ratio("memorize / vanilla / singlu", r["comparison"], "direction",
                                                    "magnitude")], settle=settle,
                         effect=verdicts.effect_of(r["comparison"], "Vanilla / SinGLU memorize MSE", published=claimed))


def summary(row):
    """One line for the notebook."""
    return f"**Verdict: {row['verdict']}** ({row['reason']}). Vanilla/SinGLU: {row['ours']}."


def claimed():
    """The study's claimed ratio (168,327)."""
    return published.claims()[CLAIM]["value"]


# ----------------------------------------------------------------------------- the notebook's tables and readings

def scores_shown(summary_table):
    """`common.score_table` rows, best centre first, as shown."""
    return common.display_table(summary_table.sort_values("mean"))


def lr_metrics(main, sweep):
    """Vanilla's and SinGLU's replicas at the default learning rate (`main`) and the swept ones (`sweep`)."""
    return pd.concat([main.metrics[main.metrics["arch"].isin(PAIR)], sweep.metrics], ignore_index=True)


def lr_shown(by_lr):
    """`ratio_by(..., "lr")` as shown: ratio with its interval, p-value, each arch's geometric mean."""
    t = pd.DataFrame({"lr": by_lr["lr"].map(lambda v: f"{v:g}"),
                      "Vanilla / SinGLU (95% CI)": [stats.fmt_ci(r, lo, hi, "×") for r, lo, hi in
                                                    zip(by_lr["ratio"], by_lr["low"], by_lr["high"])],
                      "p": by_lr["p_value"].map(stats.fmt), "Vanilla MSE": by_lr["num_geo"].map(stats.fmt),
                      "SinGLU MSE": by_lr["den_geo"].map(stats.fmt), "n": [f"{a}, {b}" for a, b in zip(by_lr["n_num"], by_lr["n_den"])]})
    return t


def capacity_shown(cap):
    """`capacity` as shown: pairs per 1k parameters to one decimal."""
    return cap.assign(pairs_per_1k_params=cap["pairs_per_1k_params"].map(lambda v: f"{v:.1f}"))


def check(exps, main, sweep, capacity):
    """The verdict row as trained (from the Results `main`, `sweep`, `capacity`) with its
    robustness check (`robustness.Check`): direction and magnitude read the check's default runs
    (exps["check"]), the stated conditions (the swept learning rates) its sweep
    (exps["check_sweep"]); capacity reads no check run (the capacity sweep as trained)."""
    row = verdict(tables(main.metrics, sweep.metrics, capacity.metrics))
    default = {"check": exps["check"]}
    reads = {"direction": default, "magnitude": default, "capacity": {},
             robustness.CONDITIONS: {"check_sweep": exps["check_sweep"]}}
    got = lambda s, name, trained: (s[name] if s.get(name) is not None else trained).metrics   # not run: as trained
    return robustness.Check(row, reads, lambda s: verdict(tables(got(s, "check", main), got(s, "check_sweep", sweep),
                                                                 capacity.metrics)))


def ratio_reading(r):
    return (f"Vanilla / SinGLU memorisation MSE (ratio of geometric means over {r['n_num']} and {r['n_den']} replicas, "
            f"a paired t on the per-draw mean logs): **{r['comparison'].text()}**; Vanilla "
            f"{stats.fmt_ci(r['num_geo'], r['num_low'], r['num_high'])}, SinGLU "
            f"{stats.fmt_ci(r['den_geo'], r['den_low'], r['den_high'])}; "
            f"the study claims {claimed():,}×.")


def sweep_reading(by_step, by_lr):
    best = by_lr.loc[by_lr["ratio"].idxmax()]
    return (f"The ratio ranges from {stats.fmt(by_step['ratio'].min())}× to {stats.fmt(by_step['ratio'].max())}× over "
            f"training at lr {protocol.LR:g}, and is largest at lr {best['lr']:g} ({stats.fmt(best['ratio'])}×): the "
            "headline number is a property of the protocol, not a constant.")


def capacity_reading(cap, threshold):
    return (f"Capacity at ~{protocol.BUDGET // 1000}K parameters (pairs memorised below MSE {threshold:g}, the largest "
            "count tried being the ceiling): " + ", ".join(
                f"{a} {c}" + (" or more" if c == t else "") for a, c, t in
                zip(cap["arch"], cap["capacity_pairs"], cap["largest_tried"])) + ".")


def final_reading(row):
    return summary(row) + f" The study's {claimed():,}×."


# ----------------------------------------------------------------------------- figures (each saved with its caption)

def _ticks_at(ax, values):
    """A log x axis labelled at the swept values only (e.g. 200, 400, 800 pairs or 0.0003, 0.001 lr)."""
    from matplotlib.ticker import FixedLocator, NullLocator
    values = sorted(set(float(v) for v in values))
    ax.xaxis.set_major_locator(FixedLocator(values))
    ax.xaxis.set_minor_locator(NullLocator())
    ax.set_xticklabels([f"{v:g}" for v in values])


def all_archs_figure(metrics, summary_table, cfg):
    """Every replica's memorisation MSE per arch (`plots.replicas`), saved as 01_memorize_all_archs."""
    import matplotlib.pyplot as plt
    m = metrics[~metrics["diverged"].astype(bool)]
    s = summary_table.sort_values("mean")
    pub = published.results().query("task == 'memorize'")
    fig, ax = plt.subplots(figsize=(7, 3))
    plots.replicas(m, ax, value="test_mse", order=s["arch"], center=dict(zip(s["arch"], s["mean"])),
                   baselines={"predict zero": float(m["predict_zero_mse"].iloc[0])},
                   published=dict(zip(pub["arch"], pub["published"])), log=True,
                   ylabel="memorisation MSE", title="200 random pairs, ~5K parameters: every replica")
    n = m.groupby("arch").size()
    per = n.min() if n.min() == n.max() else f"{n.min()}–{n.max()}"
    cfg.save(fig, "01_memorize_all_archs", caption=(
        f"Memorisation MSE on 200 random 8-D to 4-D pairs of every arch at ~5K parameters, one dot per replica "
        f"({per} per arch), black bars the geometric means (best: {s['arch'].iloc[0]} "
        f"{stats.fmt(s['mean'].iloc[0])}); dashed predicting zero, red stars the study's "
        "published means."))


def sweeps_figure(by_step, by_lr, cfg):
    """The Vanilla/SinGLU ratio against training step (left) and learning rate (right), saved as
    01_memorize_ratio_sweeps."""
    import matplotlib.pyplot as plt
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3))
    a1.plot(by_step["step"], by_step["ratio"], marker=".")
    a1.set(xlabel="training step", ylabel="Vanilla / SinGLU MSE", yscale="log",
           title=f"ratio vs training length (lr {protocol.LR:g})")
    a2.errorbar(by_lr["lr"], by_lr["ratio"], yerr=[by_lr["ratio"] - by_lr["low"], by_lr["high"] - by_lr["ratio"]],
                marker="o", capsize=3)
    for ax in (a1, a2):
        ax.axhline(claimed(), c="red", ls=":", lw=1, label="study's claim")
        ax.axhline(1, c="gray", lw=0.8)
        ax.set_yscale("log")
        plots.log_ticks(ax, "y")
    a2.set(xscale="log", xlabel="learning rate", title="ratio vs learning rate (95% intervals)")
    _ticks_at(a2, by_lr["lr"])
    a2.legend()
    best = by_lr.loc[by_lr["ratio"].idxmax()]
    cfg.save(fig, "01_memorize_ratio_sweeps", caption=(
        "Vanilla/SinGLU ratio of geometric-mean memorisation MSEs: left along training at the default learning rate "
        f"(from the logged training loss; {stats.fmt(by_step['ratio'].min())}× to {stats.fmt(by_step['ratio'].max())}×), "
        f"right at the end of training for each learning rate with its 95% interval (largest at lr {best['lr']:g}: "
        f"{stats.fmt(best['ratio'])}×); the red dotted line is the study's {claimed():,}×."))


def capacity_figure(metrics, threshold, cfg):
    """Geometric-mean MSE (range over seeds; dots: seeds) against the number of random pairs, one
    line per arch in its colour, saved as 01_memorize_capacity."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from scipy.stats import gmean
    archs = list(dict.fromkeys(metrics["arch"]))
    pal = {a: plots.color(a) for a in archs}
    fig, ax = plt.subplots(figsize=(5, 3))
    sns.lineplot(metrics, x="task.n_points", y="test_mse", hue="arch", palette=pal, marker="o", estimator=gmean,
                 errorbar=("pi", 100), ax=ax)
    sns.scatterplot(metrics, x="task.n_points", y="test_mse", hue="arch", palette=pal, s=8, alpha=0.5, legend=False,
                    ax=ax)
    ax.axhline(threshold, c="k", ls="--", lw=0.8, label="threshold")
    ax.set(xscale="log", yscale="log", xlabel="random pairs to memorise", ylabel="MSE (geometric mean, range; dots: seeds)",
           title="memorisation capacity at ~5K parameters")
    points = sorted(set(metrics["task.n_points"]))
    _ticks_at(ax, points)
    plots.log_ticks(ax, "y")
    ax.legend(fontsize=6)
    cfg.save(fig, "01_memorize_capacity", caption=(
        f"Memorisation MSE of {', '.join(archs)} at ~5K parameters against the number of random pairs "
        f"({', '.join(map(str, points))}): lines geometric means with the range over seeds, dots single seeds; "
        f"the dashed line is the capacity threshold {threshold:g}."))
