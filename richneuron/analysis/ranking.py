"""Finding 2: "SinGLU wins 5/6 standard tasks, but no universal best neuron exists (Spiral needs v10)".

Comparisons between two archs on one task are made on the test score of every non-diverged seed:
for MSE tasks the ratio of geometric means (other / arch, so > 1 means `arch` is better), for
accuracy tasks the difference of means in percentage points (arch − other, > 0 means `arch` is
better), each with a 95% percentile-bootstrap CI that resamples seeds independently per arch
(the settings of `richneuron.stats`). "Significantly better" means the CI excludes no-difference
*and* the point estimate is at least a practical margin (MIN_RATIO, MIN_PP): with five seeds the
percentile bootstrap gives very narrow intervals when seeds agree, so without a margin a 0.5%
MSE difference between two models that both fail a task would count as a win.
"""
import numpy as np
import pandas as pd

from .. import published, stats, tasks as _tasks

STANDARD = ("complex4d", "nested2d", "hifreq", "memorize", "spiral", "checkerboard")
MIN_RATIO, MIN_PP = 1.1, 1.0     # practical margins: 10% lower MSE, 1 percentage point of accuracy
SIGNIFICANT = (f"the 95% bootstrap CI excludes no-difference and the point estimate is at least {MIN_RATIO:g}× "
               f"lower MSE (ratio of geometric means) or {MIN_PP:g} percentage point higher accuracy")

# The verdict criteria, stated in the notebook's first cell (before any data) and in the scorecard.
CRITERIA = {
    "singlu_wins": "replicated if SinGLU is significantly better than Vanilla on at least 5 of the 6 standard "
                   "tasks; replicated only under stated conditions if on exactly 4 (the tasks are named); "
                   "not replicated if on 3 or fewer; judged at lr 1e-3 and with tuned learning rates, and "
                   "replicated only under stated conditions when the two disagree",
    "nested_ratio": "replicated if the 95% CI of the Vanilla/SinGLU nested2d MSE ratio (geometric means) lies "
                    "above 1 and overlaps [claim/10, 10 × claim]; replicated only under stated conditions if it "
                    "lies above 1 but entirely below claim/10; not replicated if it includes 1",
    "checkerboard_pp": "replicated if the 95% CI of the SinGLU − Vanilla checkerboard accuracy difference lies "
                       "above 0 and its upper end reaches half the claimed gap; replicated only under stated "
                       "conditions if SinGLU is significantly better by less than that, or the gap reaches that "
                       "size only at another number of cells in the difficulty sweep; not replicated if the CI "
                       "includes 0 or Vanilla is better",
    "spiral_needs_v10": "replicated if on the default spiral v10 is significantly more accurate than both SinGLU "
                        "and Vanilla and no arch without a phase term (vanilla, singlu, v1, v4-lowrank, v4-shared, "
                        "v6, v7) is statistically tied with the best arch; replicated only under stated conditions "
                        "if v10 beats both but some phase-free arch also ties with the best (a free phase helps but "
                        "is not needed; those archs are named), or if v10 beats only one of them, or both only at "
                        "some other number of turns in the sweep; not replicated otherwise",
}


def scores(metrics, arch, task, **where):
    """Test scores of the non-diverged seeds of `arch` on `task` (extra column filters in `where`)."""
    m = metrics[(metrics["arch"] == arch) & (metrics["task"] == task) & ~metrics["diverged"].astype(bool)]
    for k, v in where.items():
        m = m[m[k] == v]
    return stats.score_column(m).to_numpy(float) if len(m) else np.array([])


def compare_scores(a, b, metric):
    """How much better scores `a` are than scores `b` (arrays over seeds) for a task scored by
    `metric` ("mse" or "accuracy"): dict effect, low, high, unit, better, worse (significantly
    better / worse, margin included: see the module docstring)."""
    if metric == "mse":
        eff, lo, hi = stats.ratio_ci(b, a, log=True)
        better, worse = lo > 1 and eff >= MIN_RATIO, hi < 1 and eff <= 1 / MIN_RATIO
        unit = "×"
    else:
        eff, lo, hi = (100 * v for v in stats.diff_ci(a, b))
        better, worse = lo > 0 and eff >= MIN_PP, hi < 0 and eff <= -MIN_PP
        unit = "pp"
    return {"effect": eff, "low": lo, "high": hi, "unit": unit,
            "better": bool(better), "worse": bool(worse), "n_arch": len(a), "n_other": len(b)}


def compare(metrics, task, arch, other, **where):
    """How much better `arch` is than `other` on `task` (see the module docstring).

    Returns a dict: task, arch, other, effect, low, high, unit ("×" or "pp"), better / worse (the
    CI excludes no-difference in `arch`'s / `other`'s favour), n_arch, n_other.
    """
    a, b = scores(metrics, arch, task, **where), scores(metrics, other, task, **where)
    metric = metrics.loc[metrics["task"] == task, "metric"].iloc[0]
    return {"task": task, "arch": arch, "other": other, **compare_scores(a, b, metric)}


def compare_all(metrics, arch, other, task_list=STANDARD, **where):
    """`compare` on every task of `task_list`, one row each."""
    return pd.DataFrame([compare(metrics, t, arch, other, **where) for t in task_list])


def effect_text(row):
    """'4.1× [2.2, 7.9]' or '+5.3 pp [+2.0, +8.1]'."""
    if row["unit"] == "×":
        return f"{stats.fmt_ci(row['effect'], row['low'], row['high'])}×"
    return f"{row['effect']:+.1f} pp [{row['low']:+.1f}, {row['high']:+.1f}]"


def metric_of_task(metrics):
    return metrics.groupby("task")["metric"].first().to_dict()


def rank_table(summary, metrics, task_list=STANDARD):
    """Per-task ranks (1 = best mean) of every arch in `summary` (columns arch, task, mean), wide:
    one row per arch, one column per task of `task_list`, plus the mean rank; sorted by mean rank."""
    r = stats.ranks(summary, metric_of_task(metrics))
    wide = r.pivot(index="arch", columns="task", values="rank")
    wide = wide[[t for t in task_list if t in wide.columns]]
    wide["mean rank"] = wide.mean(axis=1)
    return wide.sort_values("mean rank")


def rank_heatmap(wide, ax, title=None):
    """Heatmap of a `rank_table` (1 = best = darkest), rank written in every cell."""
    import seaborn as sns
    tasks_ = [c for c in wide.columns if c != "mean rank"]
    data = wide[tasks_]
    n = int(np.nanmax(data.to_numpy()))
    sns.heatmap(data, annot=True, fmt=".0f", cmap=sns.color_palette("mako", n), vmin=0.5, vmax=n + 0.5,
                cbar_kws={"label": "rank (1 = best)", "ticks": list(range(1, n + 1))},
                ax=ax, linewidths=0.5, annot_kws={"size": 7})
    ax.set_yticklabels([f"{a}  ({m:.1f})" for a, m in zip(wide.index, wide["mean rank"])], rotation=0)
    ax.set(xlabel="", ylabel="arch  (mean rank)", title=title or "")
    ax.tick_params(axis="x", rotation=30)


def published_side_by_side(table):
    """For the archs the study published: our mean ± std next to the study's mean, one row per
    (arch, task), with the rank of each arch among those archs by our mean and by the study's."""
    pub = published.results()
    pub = pub[pub["task"].isin(STANDARD) & pub["arch"].isin(table["arch"])]
    t = table.merge(pub[["arch", "task", "metric"]], on=["arch", "task"])
    rows = []
    for task in [x for x in STANDARD if x in set(t["task"])]:
        g = t[t["task"] == task]
        asc = g["metric"].iloc[0] == "mse"
        ours = g.sort_values("mean", ascending=asc)["arch"].tolist()
        theirs = g.sort_values("published", ascending=asc)["arch"].tolist()
        for a in theirs:
            r = g[g["arch"] == a].iloc[0]
            rows.append({"task": task, "arch": a, "ours (mean ± std)": r["mean ± std"],
                         "published": stats.fmt(r["published"]), "our rank": ours.index(a) + 1,
                         "published rank": theirs.index(a) + 1})
    return pd.DataFrame(rows)


def default_option(task, option):
    """A task generator's default value of `option` (e.g. spiral turns)."""
    return _tasks.options_of(task)[option]


def difficulty_metrics(main_metrics, sweep_metrics, task, option, archs, seeds):
    """One table of `task` scores against difficulty: the main grid supplies the default value of
    `option`, the sweep the others; restricted to `archs` and `seeds` so that every point has the
    same seeds."""
    col = f"task.{option}"
    base = main_metrics[(main_metrics["task"] == task) & main_metrics["arch"].isin(archs)
                        & main_metrics["seed"].isin(seeds)].copy()
    base[col] = default_option(task, option)
    parts = [base]
    if sweep_metrics is not None and len(sweep_metrics):
        parts.append(sweep_metrics[(sweep_metrics["task"] == task) & sweep_metrics["arch"].isin(archs)
                                   & sweep_metrics["seed"].isin(seeds)])
    out = pd.concat(parts, ignore_index=True)
    out[col] = out[col].astype(float)
    out["score"] = stats.score_column(out)
    return out


def difficulty_summary(dm, option):
    """mean, std, n per (arch, difficulty), with the rank of each arch at each difficulty."""
    col = f"task.{option}"
    ok = dm[~dm["diverged"].astype(bool)]
    s = ok.groupby(["arch", col])["score"].agg(["mean", "std", "count"]).reset_index()
    s["rank"] = s.groupby(col)["mean"].rank(ascending=False, method="min").astype(int)
    s["mean ± std"] = [f"{stats.fmt(m)} ± {stats.fmt(d)}" for m, d in zip(s["mean"], s["std"])]
    return s


def compare_by(dm, option, arch, other):
    """`compare` of `arch` against `other` at every difficulty value in `dm`."""
    col = f"task.{option}"
    return pd.DataFrame([{option: v, **compare(g, g["task"].iloc[0], arch, other)}
                         for v, g in dm.groupby(col)])


# ----------------------------------------------------------------------------- verdicts

def verdict_wins(n_significant):
    """SinGLU wins 5/6. Replicated: SinGLU significantly better than Vanilla on ≥ 5 of the 6 tasks;
    replicated only under stated conditions: on exactly 4 (a majority, tasks named);
    not replicated: on 3 or fewer."""
    if n_significant >= 5:
        return stats.REPLICATED
    if n_significant == 4:
        return stats.CONDITIONAL
    return stats.NOT_REPLICATED


def verdict_ratio(row, claim_value):
    """222× on nested. Replicated: the ratio CI lies above 1 and reaches within a factor 10 of the
    claim (overlaps [claim/10, 10·claim]); conditional: CI above 1 but entirely below claim/10
    (direction holds, magnitude does not); not replicated: CI includes 1 or lies below it."""
    lo, hi = row["low"], row["high"]
    if lo > 1 and hi >= claim_value / 10 and lo <= claim_value * 10:
        return stats.REPLICATED
    if lo > 1:
        return stats.CONDITIONAL
    return stats.NOT_REPLICATED


def verdict_pp(row, claim_value, sweep_rows=None):
    """+35.9 pp on checkerboard. Replicated: the difference CI lies above 0 and its upper bound
    reaches half the claimed gap; conditional: SinGLU significantly better but by less, or the
    claimed size is reached only at another difficulty of the sweep; not replicated: CI includes 0
    or Vanilla is better."""
    if row["low"] > 0 and row["high"] >= claim_value / 2:
        return stats.REPLICATED
    reached = sweep_rows is not None and any((r["low"] > 0 and r["high"] >= claim_value / 2)
                                             for _, r in sweep_rows.iterrows())
    if row["low"] > 0 or reached:
        return stats.CONDITIONAL
    return stats.NOT_REPLICATED


def phase_free(arch):
    """True for neurons without a phase term (no Wφ): vanilla, singlu, v1, v4-*, v6, v7."""
    from .. import neurons
    return "Wphi" not in neurons.get(arch).META


def verdict_spiral(vs_singlu, vs_vanilla, sweep_vs_singlu=None, sweep_vs_vanilla=None, phase_free_tied=()):
    """Spiral needs v10 (criteria in CRITERIA['spiral_needs_v10']). `phase_free_tied`: the archs
    without a phase term that are not significantly worse than the best on the default spiral."""
    if vs_singlu["better"] and vs_vanilla["better"]:
        return stats.CONDITIONAL if len(phase_free_tied) else stats.REPLICATED
    swept_both = False
    if sweep_vs_singlu is not None and sweep_vs_vanilla is not None and len(sweep_vs_singlu):
        both = sweep_vs_singlu.merge(sweep_vs_vanilla, on=sweep_vs_singlu.columns[0], suffixes=("_s", "_v"))
        swept_both = bool((both["better_s"] & both["better_v"]).any())
    if vs_singlu["better"] or vs_vanilla["better"] or swept_both:
        return stats.CONDITIONAL
    return stats.NOT_REPLICATED


def tied_with_best(metrics, task, archs):
    """Archs whose score on `task` is not significantly worse than the best mean's arch."""
    s = {a: scores(metrics, a, task) for a in archs}
    s = {a: v for a, v in s.items() if len(v)}
    metric = metrics.loc[metrics["task"] == task, "metric"].iloc[0]
    means = {a: v.mean() for a, v in s.items()}                  # the ranking's (arithmetic) mean
    best = (min if metric == "mse" else max)(means, key=means.get)
    out = [best]
    for a in s:
        if a != best and not compare(metrics, task, best, a)["better"]:
            out.append(a)
    return best, out


def boundary_grid(results, task, archs, seed=0, ncols=None, title=None):
    """One decision-boundary panel per arch (trained replica `seed` of the results' default
    difficulty), titled with its train and test accuracy; training errors marked with black x."""
    from .. import plots, protocol
    t = _tasks.make(task, seed=protocol.DATA_SEED)
    m = results.metrics
    fig, axes = plots.grid(len(archs), ncols=ncols)
    for ax, arch in zip(axes, archs):
        row = m[(m["arch"] == arch) & (m["task"] == task) & (m["seed"] == seed)].iloc[0]
        plots.decision_boundary(results.model(arch, task, seed), t, ax,
                                title=f"{arch}: train {row['train_accuracy']:.1%}, test {row['test_accuracy']:.1%}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
