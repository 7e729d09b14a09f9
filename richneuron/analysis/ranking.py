"""Finding 2: "SinGLU wins 5/6 standard tasks, but no universal best neuron exists (Spiral needs v10)",
and the study's two per-task "best" claims (v10 best on Complex, v15 first to beat SinGLU on HiFreq).

Every comparison of two archs on one task is `stats.compare` on the task metric's scale (ratio of
geometric-mean MSEs, or difference of mean accuracies) over every non-diverged replica (seeds ×
data draws), with the TOST margin `stats.EQUIVALENCE`; each claim's family is Holm-corrected
(`stats.family`) and its parts are judged by `verdicts.direction` / `verdicts.magnitude` / `verdicts.judge`.
Ranks and "best" use the same centre as the tests (`stats.summarize`'s `mean`: geometric for MSE);
the across-task ranking is a Friedman test with a Nemenyi critical difference (`stats.friedman`).

The notebook computes each table in the cell that shows it, from the runs of `experiments`:
`standard_scores`, `rank_table`, `ties` / `best_and_tied`, `friedman`, `variance_table` /
`variance_summary`, `published_side_by_side`, `wins_part`, the claim families (`spiral_family`,
`complex_family`, `hifreq_family`), the difficulty sweep (`difficulty`, `difficulty_summary`,
`difficulty_spiral_comparisons`, `checker_family`) and `singlu_vs_vanilla_tuned`; each with its
display (`*_shown`), figure (`*_figure`) or reading (`*_text`). The verdicts read only the runs'
metrics (`verdict_metrics`, `checks`).
"""
import dataclasses

import numpy as np
import pandas as pd

from .. import criteria, neurons, protocol, published, stats, tasks as _tasks, verdicts
from . import common, robustness, tuning

STANDARD = _tasks.STANDARD                           # the six standard tasks (defined once, in tasks)
STUDY = tuple(neurons.available("study"))            # in the study's order (B1, B2, v1, v4 ... v15)
ADAPTIVE = tuple(neurons.available("adaptive"))    # the study's adaptive variants (v6 ... v15)

# The verdict criteria (one file each in richneuron/criteria/), shown in the notebook before any data and stored in the rows.
CRITERIA = {c: criteria.text(c) for c in ("singlu_wins", "nested_ratio", "checkerboard_pp", "spiral_needs_v10",
                                          "v10_best_complex", "v15_beats_singlu_hifreq")}   # richneuron/criteria/<claim>.md
PHASE_FREE = tuple(a for a in STUDY if "Wphi" not in neurons.get(a).META)   # no phase term at all
EARLIER_THAN_V15 = tuple(a for a in STUDY[:STUDY.index("v15")] if a != "singlu")


# ----------------------------------------------------------------------------- comparisons

def replicas(metrics, arch, task):
    """The non-diverged replicas of `arch` on `task` (`common.replica_scores`: keys and `score`)."""
    s = common.replica_scores(metrics, [arch], [task])
    return s[~s["diverged"].astype(bool)]


def scores(metrics, arch, task):
    """Test scores of the non-diverged replicas of `arch` on `task` (`common.replica_scores`)."""
    return replicas(metrics, arch, task)["score"].to_numpy(float)


def metric_of_task(metrics):
    return metrics.groupby("task")["metric"].first().to_dict()


def comparison(metrics, task, a, b):
    """`stats.compare` of `a`'s replicas with `b`'s on `task`: ratio a/b of geometric-mean MSEs or
    difference a − b of mean accuracies, with the TOST margin `stats.EQUIVALENCE` of that scale."""
    tm = metrics.loc[metrics["task"] == task, "metric"]
    if not len(tm):
        raise ValueError(f"task {task!r} is not in the metrics; present: {', '.join(sorted(set(metrics['task'])))}")
    scale = stats.scale_of(tm.iloc[0])
    return common.compare(replicas(metrics, a, task), replicas(metrics, b, task), scale=scale,
                          margin=stats.EQUIVALENCE[scale])


def family(metrics, pairs):
    """One claim's family: `pairs` [(task, arch, other)] -> `common.compare_pairs` (Holm `p_holm`,
    `direction`, `better` / `worse` / `equivalent` for arch against other) with a `text` column."""
    fam = common.compare_pairs(common.replica_scores(metrics), pairs)
    fam["text"] = [effect_text(r) for _, r in fam.iterrows()]
    return fam


def equivalent(v):
    """A table's `equivalent` cell (True/False/None, or NumPy's bool or NaN) as True only when TOST said so."""
    return v is not None and not (isinstance(v, float) and np.isnan(v)) and bool(v)


def as_comparison(row):
    """The `stats.Comparison` of one family row."""
    c = {k: row[k] for k in stats.Comparison.__dataclass_fields__}
    c["equivalent"] = None if c["margin"] is None or pd.isna(c["margin"]) else equivalent(c["equivalent"])
    return stats.Comparison(**c)


def effect_text(c):
    """`common.effect_text` with its p-value: '0.12× [0.05, 0.3], p = 0.01' or '+5.3 pp [...], Holm p = 0.01'
    (the Holm-adjusted p when the row has one). `c`: a Comparison or a `family` row."""
    row = c if isinstance(c, (dict, pd.Series)) else c.asdict()
    p = row.get("p_holm")
    ptxt = stats.p_text(row['p_value']) if p is None else stats.p_text(p, "Holm p")
    return f"{common.effect_text(row)}, {ptxt}"


def part(row, sign):
    """`verdicts.direction` of one family row in the claimed direction `sign`, with its Holm p."""
    return verdicts.direction(as_comparison(row), sign, p=row["p_holm"])


def not_better(row, sign):
    """Is `a` NOT better than `b` (`sign`: direction of a better)? holds: Holm-significantly worse
    or TOST-equivalent; fails: Holm-significantly better; inconclusive otherwise."""
    d = row["direction"]
    if d == sign:
        return verdicts.FAILS
    if d == -sign or equivalent(row["equivalent"]):
        return verdicts.HOLDS
    return verdicts.UNSURE


def _missing(metrics, archs):
    ran = set(metrics["arch"])
    return [a for a in archs if a not in ran]


def _row(claim, ours, parts, evidence, conditions=(), reason_extra="", ratios=(), settle=(), effect=None):
    v, reason = verdicts.judge(parts, conditions)
    return verdicts.verdict(claim, ours, v, CRITERIA[claim], evidence, 2, parts=parts,
                         reason=reason + reason_extra, ratios=[r for r in ratios if r],
                         settle=[s for s in settle if s[1] is not None], effect=effect)


def undecided(fam, name):
    """The settle entry of a family's least resolved undecided test (neither direction after Holm
    nor equivalent): (label, Comparison, None), or None when every test is decided."""
    if not len(fam):
        return None
    open_ = fam[(fam["direction"] == 0) & ~fam["equivalent"].map(equivalent)]
    if not len(open_):
        return None
    r = open_.loc[open_["p_value"].idxmax()]
    return (f"{name}: {r['label']}", as_comparison(r), None)


# ----------------------------------------------------------------------------- claims

def wins_part(metrics, task_list=STANDARD, need=None):
    """SinGLU vs Vanilla on `task_list`, Holm over them: (wins part, family table with an `outcome`
    column win / loss / tie / undecided). `need`: wins claimed (the study's 5)."""
    need = published.claims()["singlu_wins"]["value"] if need is None else need
    fam = family(metrics, [(t, "singlu", "vanilla") for t in task_list])
    out = []
    for _, r in fam.iterrows():
        sign = common.better_sign(r["metric"])
        out.append("win" if r["direction"] == sign else "loss" if r["direction"] == -sign
                   else "tie" if equivalent(r["equivalent"]) else "undecided")
    fam["outcome"] = out
    wins, lost = out.count("win"), out.count("loss") + out.count("tie")
    p = verdicts.HOLDS if wins >= need else verdicts.FAILS if len(task_list) - lost < need else verdicts.UNSURE
    return p, fam


def outcome_text(fam):
    """'4/6 wins (a, b, c, d); losses: e; ties: none; undecided: f'."""
    by = {k: fam.loc[fam["outcome"] == k, "task"].tolist() for k in ("win", "loss", "tie", "undecided")}
    return (f"{len(by['win'])}/{len(fam)} wins ({', '.join(by['win']) or 'none'}); losses: {', '.join(by['loss']) or 'none'}; "
            f"ties: {', '.join(by['tie']) or 'none'}; undecided: {', '.join(by['undecided']) or 'none'}")


def verdict_nested(metrics):
    """Claim 3 (222× on nested2d): the scorecard row (criterion: CRITERIA['nested_ratio'])."""
    c = comparison(metrics, "nested2d", "vanilla", "singlu")
    parts = {"direction": verdicts.direction(c, 1),
             "magnitude": verdicts.magnitude(c, published.claims()["nested_ratio"]["value"])}
    return _row("nested_ratio", f"Vanilla/SinGLU {effect_text(c)}", parts, "singlu_vs_vanilla.csv",
                ratios=[verdicts.judged_ratio("nested2d / vanilla / singlu", c, "direction", "magnitude")],
                settle=[("nested2d Vanilla/SinGLU", c, published.claims()["nested_ratio"]["value"])],
                effect=verdicts.effect_of(c, "Vanilla / SinGLU nested2d MSE",
                                       published=published.claims()["nested_ratio"]["value"]))


def checker_family(metrics, sweep=None):
    """SinGLU vs Vanilla on checkerboard at the default cells (`metrics`) and at every other cell
    count in `sweep` (metrics with a `task.cells` column), Holm over the cell counts; column cells."""
    default = _tasks.options_of("checkerboard")["cells"]
    groups = {default: metrics}
    if sweep is not None and len(sweep):
        s = sweep[sweep["task"] == "checkerboard"]
        groups.update({v: g for v, g in s.groupby("task.cells") if v != default})
    comps = {v: comparison(g, "checkerboard", "singlu", "vanilla") for v, g in groups.items()}
    fam = stats.family(comps)
    fam["cells"] = list(comps)
    fam["text"] = [effect_text(r) for _, r in fam.iterrows()]
    return fam, default


def verdict_checkerboard(metrics, sweep=None):
    """Claim 4 (+35.9 pp on checkerboard), with the cells sweep as a stated condition."""
    fam, default = checker_family(metrics, sweep)
    claimed = published.claims()["checkerboard_pp"]["value"] / 100
    parts_at = {r["cells"]: {"direction": part(r, 1), "magnitude": verdicts.magnitude(as_comparison(r), claimed)}
                for _, r in fam.iterrows()}
    conds = [(f"at {v:g} cells per side", p) for v, p in parts_at.items() if v != default]
    at = fam.set_index("cells")["text"]
    ours = f"SinGLU − Vanilla {at[default]} at {default:g} cells" + "".join(
        f"; {at[v]} at {v:g}" for v in at.index if v != default)
    d = fam.set_index("cells").loc[default]
    return _row("checkerboard_pp", ours, parts_at[default], "singlu_vs_vanilla.csv, difficulty_comparisons.csv", conds,
                settle=[(f"SinGLU − Vanilla at {default:g} cells", as_comparison(d), claimed)],
                effect=verdicts.effect_of(as_comparison(d), "SinGLU − Vanilla checkerboard accuracy (pp)",
                                       published=100 * claimed, pp=True))


def spiral_family(metrics):
    """v10 vs every phase-free arch that ran, on spiral, Holm over them."""
    return family(metrics, [("spiral", "v10", a) for a in PHASE_FREE if a in set(metrics["arch"])])


def verdict_spiral(metrics):
    """Claim 5 (spiral needs v10's free phase): direction and magnitude vs SinGLU, mechanism vs
    every phase-free arch."""
    fam = spiral_family(metrics).set_index("other")
    missing = _missing(metrics, PHASE_FREE)
    claimed = published.value("v10", "spiral") - published.value("singlu", "spiral")
    s = fam.loc["singlu"] if "singlu" in fam.index else None
    parts = {"direction": part(s, 1) if s is not None else verdicts.UNSURE,
             "magnitude": verdicts.magnitude(as_comparison(s), claimed) if s is not None else verdicts.UNSURE,
             "mechanism": common.every((part(r, 1) for _, r in fam.iterrows()), complete=not missing)}
    ours = (f"v10 − SinGLU {s['text'] if s is not None else 'n/a'}; v10 better than "
            f"{int(fam['better'].sum())}/{len(PHASE_FREE)} phase-free archs"
            + (f" ({', '.join(missing)} not run)" if missing else ""))
    return _row("spiral_needs_v10", ours, parts, "spiral_family.csv, 02_decision_boundaries_spiral",
                settle=[("v10 − SinGLU", as_comparison(s) if s is not None else None, claimed),
                        undecided(fam.reset_index(), "mechanism") or ("", None, None)],
                effect=verdicts.effect_of(as_comparison(s), "v10 − SinGLU spiral accuracy (pp)", published=100 * claimed,
                                       pp=True) if s is not None else None)


def complex_family(metrics):
    """v10 vs every other study arch that ran, on complex4d, Holm over them."""
    return family(metrics, [("complex4d", "v10", a) for a in STUDY if a != "v10" and a in set(metrics["arch"])])


def verdict_v10_complex(metrics):
    """Claim 6 (v10 best on Complex): v10 significantly lower MSE than every other study arch."""
    fam = complex_family(metrics)
    missing = _missing(metrics, [a for a in STUDY if a != "v10"])
    parts = {"direction": common.every((part(r, -1) for _, r in fam.iterrows()), complete=not missing)}
    lost = fam.loc[~fam["better"], "other"].tolist()
    ours = (f"v10 significantly lower MSE than {int(fam['better'].sum())}/{len(fam)} archs"
            + (f" (not: {', '.join(lost)})" if lost else "")
            + (f"; {', '.join(missing)} not run" if missing else ""))
    return _row("v10_best_complex", ours, parts, "complex_family.csv", ratios=common.judged_ratios(fam, "direction"),
                settle=[undecided(fam, "direction") or ("", None, None)],
                effect=verdicts.effect(f"archs v10 beats on complex4d (of {len(fam)}; the study: all)",
                                    int(fam["better"].sum()), published=len(fam), null=None))


def hifreq_family(metrics):
    """v15 and every earlier study design that ran, each vs SinGLU on hifreq, Holm over them."""
    ran = set(metrics["arch"])
    return family(metrics, [("hifreq", a, "singlu") for a in ("v15", *EARLIER_THAN_V15) if a in ran])


def verdict_v15_hifreq(metrics):
    """Claim 7 (v15 first to beat SinGLU on HiFreq): v15 beats SinGLU; no earlier design does."""
    fam = hifreq_family(metrics).set_index("arch")
    missing = _missing(metrics, EARLIER_THAN_V15)
    earlier = fam.drop(index="v15", errors="ignore")
    v = fam.loc["v15"] if "v15" in fam.index else None
    parts = {"direction": part(v, -1) if v is not None else verdicts.UNSURE,
             "first": common.every((not_better(r, -1) for _, r in earlier.iterrows()), complete=not missing)}
    beat = earlier.index[earlier["better"]].tolist()
    ours = (f"v15/SinGLU {v['text'] if v is not None else 'n/a'}; earlier designs significantly better than SinGLU: "
            f"{', '.join(beat) or 'none'} (of {len(earlier)})" + (f"; {', '.join(missing)} not run" if missing else ""))
    ratios = common.judged_ratios(fam.loc[["v15"]] if v is not None else fam.iloc[:0], "direction") + \
        common.judged_ratios(earlier, "first")
    return _row("v15_beats_singlu_hifreq", ours, parts, "hifreq_family.csv", ratios=ratios,
                settle=[("v15/SinGLU", as_comparison(v) if v is not None else None, None),
                        undecided(earlier.reset_index(), "first") or ("", None, None)],
                effect=verdicts.effect_of(as_comparison(v), "v15 / SinGLU hifreq MSE",
                                       published=published.value("v15", "hifreq") / published.value("singlu", "hifreq"))
                if v is not None else None)


def verdict_wins_tuned(default_metrics, tuned_metrics=None):
    """Finding 02's SinGLU-wins row (criterion `CRITERIA['singlu_wins']`): the wins part
    (`wins_part`) at the shared lr 1e-3 (`default_metrics`) and with tuned lrs (`tuned_metrics`;
    None: not run). Replicated when it holds at lr 1e-3 and does not fail with tuned lrs; replicated
    only under stated conditions when it holds under one protocol only; otherwise by `verdicts.judge`
    of the default protocol (not replicated when it fails there, inconclusive when undecided)."""
    d, fam_d = wins_part(default_metrics)
    t, fam_t = wins_part(tuned_metrics) if tuned_metrics is not None else (None, None)
    v, reason = wins_rule({"wins": d, "wins with tuned lrs": t})
    ours = f"lr 1e-3: {outcome_text(fam_d)}" + (f"; tuned lrs: {outcome_text(fam_t)}" if fam_t is not None else "")
    return verdicts.verdict("singlu_wins", ours, v, CRITERIA["singlu_wins"],
                         "02_scores_all_tasks, singlu_vs_vanilla.csv, singlu_vs_vanilla_tuned.csv", 2,
                         parts={"wins": d, "wins with tuned lrs": t}, reason=reason,
                         ratios=common.judged_ratios(fam_d, "wins", prefix="lr 1e-3: ")
                         + common.judged_ratios(fam_t, "wins with tuned lrs", prefix="tuned lrs: "),
                         effect=verdicts.effect(f"standard tasks SinGLU wins at lr 1e-3 (of {len(fam_d)})",
                                             int((fam_d["outcome"] == "win").sum()),
                                             published=published.claims()["singlu_wins"]["value"], null=None))


def wins_rule(parts, conditions=()):
    """The SinGLU-wins row's verdict and reason from its parts {"wins", "wins with tuned lrs"}
    (`verdict_wins_tuned`; `conditions` unused: the tuned part is its condition)."""
    d, t = parts["wins"], parts.get("wins with tuned lrs")
    if d == verdicts.HOLDS and t == verdicts.FAILS:
        return verdicts.CONDITIONAL, "the wins part holds only at the shared lr 1e-3 (it fails with tuned learning rates)"
    return verdicts.judge({"wins": d}, [("with each arch's learning rate tuned", {"wins": t})] if t else [])


def verdict_row(claim, main, tuned=None, checker_sweep=None):
    """The scorecard row of `claim` (a key of CRITERIA) from plain metrics tables: the main grid, the
    tuned-lr SinGLU/Vanilla runs (None: default lr only) and the checkerboard cells sweep."""
    rows = {"singlu_wins": lambda: verdict_wins_tuned(main, tuned), "nested_ratio": lambda: verdict_nested(main),
            "checkerboard_pp": lambda: verdict_checkerboard(main, checker_sweep),
            "spiral_needs_v10": lambda: verdict_spiral(main), "v10_best_complex": lambda: verdict_v10_complex(main),
            "v15_beats_singlu_hifreq": lambda: verdict_v15_hifreq(main)}
    if claim not in rows:
        raise ValueError(f"claim must be one of {', '.join(rows)}, got {claim!r}")
    return rows[claim]()


def verdict_rows(main, tuned=None, checker_sweep=None):
    """Every scorecard row of this finding (`verdict_row`), in CRITERIA's order."""
    return [verdict_row(c, main, tuned, checker_sweep) for c in CRITERIA]


def verdict_cells(archs):
    """The (archs, tasks) blocks of the main grid that `verdict_rows` reads, restricted to `archs`:
    every arch on complex4d and hifreq (claims 6, 7), v10 and the phase-free archs on spiral
    (claim 5), SinGLU and Vanilla on the other standard tasks (claims 2-4). The robustness check
    reruns only these."""
    spiral = [a for a in archs if a in PHASE_FREE or a == "v10"]
    pair = [a for a in archs if a in ("vanilla", "singlu")]
    rest = [t for t in STANDARD if t not in ("complex4d", "hifreq", "spiral")]
    return [b for b in ((list(archs), ["complex4d", "hifreq"]), (spiral, ["spiral"]), (pair, rest)) if b[0]]


# ----------------------------------------------------------------------------- rankings

def rank_table(summary, metrics, task_list=STANDARD):
    """Per-task ranks (1 = best centre: geometric mean for MSE) of every arch in `summary`, wide:
    one row per arch, one column per task of `task_list`, plus the mean rank; sorted by mean rank."""
    r = stats.ranks(summary, metric_of_task(metrics))
    wide = r.pivot(index="arch", columns="task", values="rank")
    wide = wide[[t for t in task_list if t in wide.columns]]
    wide["mean rank"] = wide.mean(axis=1)
    return wide.sort_values("mean rank")


def error_table(summary, metrics, task_list=STANDARD):
    """Wide task × arch table of centres as errors (MSE, or 1 − accuracy): lower is better everywhere."""
    s = summary[summary["task"].isin(task_list)]
    wide = s.pivot(index="task", columns="arch", values="mean")
    acc = [t for t in wide.index if not stats.LOWER_IS_BETTER[metric_of_task(metrics)[t]]]
    wide.loc[acc] = 1 - wide.loc[acc]
    return wide.reindex([t for t in task_list if t in wide.index])


def friedman(summary, metrics, task_list=STANDARD):
    """Friedman test and Nemenyi critical difference of the archs' per-task centres (`stats.friedman`)."""
    return stats.friedman(error_table(summary, metrics, task_list), lower_is_better=True)


def cd_diagram(result, ax, colors=None):
    """autorank's critical-difference diagram on `ax`; each arch's name in its colour (`colors`:
    arch -> colour)."""
    from autorank import plot_stats
    plot_stats(result, allow_insignificant=True, ax=ax)
    for t in ax.texts:
        if colors and t.get_text() in colors:
            t.set_color(colors[t.get_text()])
    return ax


def variance_table(metrics, task_list=STANDARD):
    """Per arch × task: the shares of the replicas' variance between data draws and within them
    (initialisation), `stats.variance_split` on the comparison scale (log for MSE, linear for accuracy)."""
    m = metrics[metrics["task"].isin(task_list) & ~metrics["diverged"].astype(bool)]
    rows = []
    for (arch, task), g in m.groupby(["arch", "task"], sort=False):
        scale = stats.scale_of(g["metric"].iloc[0])
        v = stats.score_column(g).to_numpy(float)
        v = np.log(v) if scale == "log" else v
        rows.append({"arch": arch, "task": task, "scale": scale, **stats.variance_split(v, g["data_seed"])})
    return pd.DataFrame(rows)


def variance_summary(vt):
    """Per task (and over all): median, lowest and highest share of variance from the data draw."""
    def agg(g):
        d = g["data"].dropna()
        return pd.Series({"archs": len(d), "median data share": d.median(), "min": d.min(), "max": d.max()})
    per = vt.groupby("task", sort=False)[["data"]].apply(agg)
    per.loc["all tasks"] = agg(vt)
    return per.reset_index()


def tied_with_best(metrics, task, archs):
    """The arch with the best centre on `task` (geometric mean for MSE) and the archs not
    Holm-significantly worse than it (family: the best vs every other arch of `archs` on `task`)."""
    m = metrics[(metrics["task"] == task) & metrics["arch"].isin(archs)]
    s = stats.summarize(m).dropna(subset=["mean"])
    best = s.sort_values("mean", ascending=stats.LOWER_IS_BETTER[m["metric"].iloc[0]])["arch"].iloc[0]
    fam = family(m, [(task, best, a) for a in s["arch"] if a != best])
    return best, [best] + (fam.loc[~fam["better"], "other"].tolist() if len(fam) else [])


# ----------------------------------------------------------------------------- tables and figures

def published_side_by_side(table):
    """For the archs the study published: our centre ± std next to the study's mean, one row per
    (arch, task), with the rank of each arch among those archs by our centre and by the study's."""
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
            rows.append({"task": task, "arch": a, "ours (centre [95% CI])": r["centre [95% CI]"],
                         "published": stats.fmt(r["published"]), "our rank": ours.index(a) + 1,
                         "published rank": theirs.index(a) + 1})
    return pd.DataFrame(rows)


def rank_heatmap(wide, ax, title=None):
    """Heatmap of a `rank_table` (1 = best = darkest), rank written in every cell, each arch's name
    in its report colour (`plots.color`)."""
    import seaborn as sns
    from .. import plots
    tasks_ = [c for c in wide.columns if c != "mean rank"]
    data = wide[tasks_]
    n = int(np.nanmax(data.to_numpy()))
    sns.heatmap(data, annot=True, fmt=".0f", cmap=sns.color_palette("mako", n), vmin=0.5, vmax=n + 0.5,
                cbar_kws={"label": "rank (1 = best)", "ticks": list(range(1, n + 1))},
                ax=ax, linewidths=0.5, annot_kws={"size": 7})
    ax.set_yticklabels([f"{a}  ({m:.1f})" for a, m in zip(wide.index, wide["mean rank"])], rotation=0)
    for label, arch in zip(ax.get_yticklabels(), wide.index):
        label.set_color(plots.color(arch))
    ax.set(xlabel="", ylabel="arch  (mean rank)", title=title or "")
    ax.tick_params(axis="x", rotation=30)


def default_option(task, option):
    """A task generator's default value of `option` (e.g. spiral turns)."""
    return _tasks.options_of(task)[option]


def difficulty_metrics(main_metrics, sweep_metrics, task, option, archs, seeds):
    """One table of `task` scores against difficulty: the main grid supplies the default value of
    `option`, the sweep the others; restricted to `archs` and `seeds` so that every point has the
    same replicas."""
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
    """Centre (geometric for MSE) with its interval, std and n per (arch, difficulty), and the
    rank of each arch at each difficulty."""
    col = f"task.{option}"
    s = stats.summarize(dm, by=("arch", col))
    s["rank"] = stats.ranks(s.assign(task=s[col]), {v: dm["metric"].iloc[0] for v in s[col]},
                            within=("task",))["rank"]
    s["centre [95% CI]"] = common.centre_text(s)
    return s


def compare_by(dm, option, arch, other):
    """`compare` of `arch` with `other` at every difficulty value in `dm` (each on its own: a
    description, not a family)."""
    col = f"task.{option}"
    rows = []
    for v, g in dm.groupby(col):
        c = comparison(g, g["task"].iloc[0], arch, other)
        rows.append({option: v, **c.asdict(), "text": effect_text(c)})
    return pd.DataFrame(rows)


def boundary_grid(results, task, archs, seed=0, ncols=None, title=None):
    """One decision-boundary panel per arch (initialisation `seed` on data draw DATA_SEED, the
    results' default difficulty), titled with its train and test accuracy; training errors marked
    with black x."""
    from .. import plots
    t = _tasks.make(task, seed=protocol.DATA_SEED)
    m = results.metrics
    where = {"data_seed": protocol.DATA_SEED} if "data_seed" in m else {}
    fig, axes = plots.grid(len(archs), ncols=ncols)
    for ax, arch in zip(axes, archs):
        sel = (m["arch"] == arch) & (m["task"] == task) & (m["seed"] == seed)
        for k, v in where.items():
            sel &= m[k] == v
        row = m[sel].iloc[0]
        plots.decision_boundary(results.model(arch, task, seed, **where), t, ax,
                                title=f"{arch}: train {row['train_accuracy']:.1%}, test {row['test_accuracy']:.1%}")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- the notebook's face

DIFFICULTY = {t: _tasks.difficulty(t)[0] for t in STANDARD     # task -> its difficulty option in the sweep:
              if _tasks.entry(t).kind == "classification"}      # the standard classification tasks
PAIR = ("vanilla", "singlu")                                   # the archs tuned and swept for the verdicts


def criteria_text():
    """The verdict criteria as markdown, one bullet per claim, then the rule that joins parts."""
    claims = published.claims()
    return ("**Verdict criteria**, one file per claim in `richneuron/criteria/` (the paper's Provenance gives each "
            "one's history, including whether it was revised after results had been seen):\n\n"
            + "\n".join(f"- *{claims[k]['text']}*: {text}" for k, text in CRITERIA.items())
            + f"\n\n*How parts make a verdict:* {verdicts.RULE}")


def experiments(cfg, diff_archs, diff_seeds, turns, cells, lrs, validation, chosen=None):
    """Every Experiment notebook 02 runs, by name. "main": every arch of `cfg` on the six standard
    tasks; "spiral" / "checkerboard": the difficulty sweep of `diff_archs` (seeds `diff_seeds`) at
    the `turns` / `cells` other than the task's default (which the main grid supplies; quick mode
    keeps one); "tuning": one trial per lr of `lrs` (quick: the first two) for Vanilla and SinGLU on
    a `validation` split. With `chosen` (`tuning.chosen_lr` of the tuning runs) also "tuned" (every
    seed at the chosen lr) and the robustness check's reruns under the one-ulp perturbation of the cells the
    verdicts read: "check_main", "check_sweep" (SinGLU and Vanilla in the checkerboard sweep),
    "check_tuned"."""
    grid = lambda archs, task_list, seeds, **kw: protocol.main_grid(archs, task_list, seeds, cfg.steps,
                                                                    data_seeds=cfg.data_seeds, **kw)
    extra = {t: [v for v in values if v != default_option(t, DIFFICULTY[t])][: 1 if cfg.quick else None]
             for t, values in (("spiral", turns), ("checkerboard", cells))}
    exps = {"main": grid(cfg.archs, STANDARD, cfg.seeds)}
    for t, values in extra.items():
        if diff_archs and values:
            exps[t] = grid(diff_archs, [t], diff_seeds, task_options={DIFFICULTY[t]: values})
    exps["tuning"] = tuning.tuning_grid(list(PAIR), STANDARD, cfg.steps, lrs[: 2 if cfg.quick else None],
                                       validation=validation)
    if chosen is None:
        return exps
    kern = dict(**protocol.CHECK)
    exps["tuned"] = tuning.tuned_grids(chosen, cfg.seeds, cfg.steps, data_seeds=cfg.data_seeds)
    exps["check_main"] = [grid(a, t, cfg.seeds, **kern) for a, t in verdict_cells(cfg.archs)]
    pair = [a for a in PAIR if a in diff_archs]
    if pair and extra["checkerboard"]:
        exps["check_sweep"] = grid(pair, ["checkerboard"], diff_seeds, task_options={"cells": extra["checkerboard"]},
                                   **kern)
    exps["check_tuned"] = tuning.tuned_grids(chosen, cfg.seeds, cfg.steps, data_seeds=cfg.data_seeds, **kern)
    return exps


def cost_text(exps):
    """What the experiments train, in replicas and model-steps, by group and in all (the robustness
    check's runs besides: `robustness.runs_text` counts them with the verdicts)."""
    from ..engine import cost
    c = {k: cost(*(e if isinstance(e, list) else [e])) for k, e in robustness.without_check(exps).items()}
    groups = {"the main grid (shared with the other notebooks)": ["main"],
              "the difficulty sweep": [k for k in DIFFICULTY if k in c], "the lr tuning": ["tuning"],
              "the runs at the tuned lrs": ["tuned"]}
    parts = [f"{name} {sum(c[k][0] for k in ks):,} replicas ({sum(c[k][1] for k in ks):,} model-steps)"
             for name, ks in groups.items() if any(k in c for k in ks)]
    total = [sum(v[i] for v in c.values()) for i in (0, 1)]
    return (f"Runs: {'; '.join(parts)}. In all {total[0]:,} replicas, {total[1]:,} model-steps; the robustness check's "
            "runs are counted with the verdicts (run part by part, only as far as they can change a verdict).")


def metrics(runs, key):
    """The per-replica metrics of run `key` of `runs` (name -> Results), None when it was not run."""
    return runs[key].metrics if key in runs else None


def verdict_metrics(runs):
    """The metrics the verdicts read, by name: "main", "tuned" and "checkerboard" (the cells sweep;
    None when not run)."""
    return {k: metrics(runs, k) for k in ("main", "tuned", "checkerboard")}


def standard_scores(main):
    """`common.score_table` of the main grid, the tasks in the standard order."""
    return common.score_table(main).sort_values("task", key=lambda s: s.map(list(STANDARD).index), kind="stable")


def ties(main, archs):
    """{task: (best arch, archs not Holm-significantly worse)}: `tied_with_best` on every standard task."""
    return {t: tied_with_best(main, t, archs) for t in STANDARD}


def best_and_tied(ties):
    """The `ties` as a table: per task the best mean and the archs not significantly worse than it."""
    return pd.DataFrame([{"task": t, "best mean": b, "not significantly worse than the best": ", ".join(s)}
                         for t, (b, s) in ties.items()])


def difficulty(main, runs, diff_archs, diff_seeds):
    """{task: `difficulty_metrics`} for each task of the difficulty sweep (`DIFFICULTY`): the main
    grid at the default difficulty, the sweep's runs (`runs[task]`) at the others."""
    return {t: difficulty_metrics(main, metrics(runs, t), t, o, diff_archs, diff_seeds) for t, o in DIFFICULTY.items()}


def difficulty_spiral_comparisons(d):
    """v10 against Vanilla and against SinGLU at every spiral turn count (`compare_by` on `d`, the
    spiral's `difficulty` table)."""
    return pd.concat([compare_by(d, "turns", "v10", o).assign(pair=f"v10 - {n}")
                      for o, n in zip(PAIR, ("Vanilla", "SinGLU"))])


def singlu_vs_vanilla_tuned(sv, fam_t, lr):
    """SinGLU against Vanilla per task at the default lr (`sv`, of `wins_part`) next to the same at
    the tuned lrs (`fam_t`, `wins_part` of the tuned runs), with each arch's chosen lr (`lr`:
    `tuning.chosen_lr`)."""
    lr = lr.set_index(["arch", "task"])["lr"]
    return pd.DataFrame({
        "task": sv["task"], f"lr {protocol.LR:g}": sv["text"], "outcome": sv["outcome"],
        "tuned lr": fam_t["text"].to_numpy(), "outcome tuned": fam_t["outcome"].to_numpy(),
        "lr singlu": [lr[("singlu", t)] for t in sv["task"]], "lr vanilla": [lr[("vanilla", t)] for t in sv["task"]]})


def checks(exps, m):
    """The finding's scorecard rows as trained (from the metrics `m` of `verdict_metrics`) with their robustness check
    (`robustness.Check` each, for `robustness.checked_verdicts`): each part reads the check's runs of
    the cells its test family holds (exps["check_main"] restricted to them; a family's Holm
    adjustment makes every test of it part of each of its parts, a magnitude reads its one
    comparison), the checkerboard row's cells sweep exps["check_sweep"], the tuned part exps["check_tuned"]."""
    rows = verdict_rows(m["main"], m["tuned"], m["checkerboard"])
    first = exps["check_main"][0]
    ran = first.archs if len(exps["check_main"]) == 1 else list(dict.fromkeys(a for e in exps["check_main"] for a in e.archs))

    made = {}

    def cells(archs, task_list):
        archs = tuple(a for a in ran if a in archs)
        if archs and (archs, tuple(task_list)) not in made:
            made[archs, tuple(task_list)] = dataclasses.replace(first, archs=list(archs), tasks=list(task_list))
        return {"check_main": [made[archs, tuple(task_list)]]} if archs else {}
    sweep = {"check_sweep": [exps["check_sweep"]]} if "check_sweep" in exps else {}
    spiral, pair = [a for a in ran if a in PHASE_FREE or a == "v10"], list(PAIR)
    checker = cells(pair, ["checkerboard"])
    reads = {
        "singlu_wins": {"wins": cells(pair, STANDARD), "wins with tuned lrs": {"check_tuned": _listed(exps["check_tuned"])}},
        "nested_ratio": {"direction": cells(pair, ["nested2d"]), "magnitude": cells(pair, ["nested2d"])},
        "checkerboard_pp": {"direction": {**checker, **sweep}, "magnitude": checker,
                            robustness.CONDITIONS: {**checker, **sweep}},
        "spiral_needs_v10": {"direction": cells(spiral, ["spiral"]), "magnitude": cells(["v10", "singlu"], ["spiral"]),
                             "mechanism": cells(spiral, ["spiral"])},
        "v10_best_complex": {"direction": cells(ran, ["complex4d"])},
        "v15_beats_singlu_hifreq": {"direction": cells(ran, ["hifreq"]), "first": cells(ran, ["hifreq"])}}
    rules = {"singlu_wins": lambda p, c: wins_rule(p)[0]}

    def verdict_of(claim):
        def of(s):
            k = lambda name, trained: trained if s.get(name) is None else s[name].metrics
            main = robustness.merged(k("check_main", None), m["main"])        # cells not yet checked: as trained
            return verdict_row(claim, main, k("check_tuned", m["tuned"]), k("check_sweep", m["checkerboard"]))
        return of
    return [robustness.Check(r, {p: v for p, v in reads[r["claim_id"]].items()
                                 if p == robustness.CONDITIONS or (r["parts"].get(p) is not None)},
                             verdict_of(r["claim_id"]), **({"rule": rules[r["claim_id"]]} if r["claim_id"] in rules else {}))
            for r in rows]


def _listed(e):
    return [x for x in (e if isinstance(e, (list, tuple)) else [e]) if x is not None]


def summary(row):
    """One verdict row as a markdown line: claim, verdict, our numbers, parts and reason."""
    parts = ", ".join(f"{k} {v}" for k, v in row["parts"].items() if v is not None)
    return f"**{row['claim']}: {row['verdict']}.** {row['ours']}. Parts: {parts}; {row['reason']}."


# ----------------------------------------------------------------------------- views (tables as shown)

def _pct(v):
    return "n/a" if pd.isna(v) else f"{v:.0%}"


def scores_shown(t):
    """The `standard_scores` table as the notebook shows it."""
    return common.display_table(t)


def variance_shown(t):
    """A `variance_summary` table as the notebook shows it (shares in percent)."""
    return t.assign(archs=t["archs"].astype(int), **{c: t[c].map(_pct) for c in ("median data share", "min", "max")})


def singlu_vs_vanilla_shown(t):
    """The SinGLU-against-Vanilla family of `wins_part` as the notebook shows it."""
    return t[["task", "text", "outcome", "n_a", "n_b"]].rename(columns={
        "text": "SinGLU vs Vanilla (MSE ratio SinGLU/Vanilla, or accuracy difference)", "n_a": "n SinGLU",
        "n_b": "n Vanilla"})


FLAGS = ["better", "worse", "equivalent"]


def spiral_shown(t):
    """The `spiral_family` table as the notebook shows it."""
    return t[["other", "text", *FLAGS]].rename(columns={"other": "phase-free arch", "text": "v10 − arch, test accuracy"})


def complex_shown(t):
    """The `complex_family` table as the notebook shows it."""
    return t[["other", "text", *FLAGS]].rename(columns={"other": "arch", "text": "v10 / arch, complex4d MSE"})


def hifreq_shown(t):
    """The `hifreq_family` table as the notebook shows it."""
    return t[["arch", "text", *FLAGS]].rename(columns={"text": "arch / SinGLU, hifreq MSE"})


def difficulty_shown(t, task):
    """A `difficulty_summary` of `task` as the notebook shows it: one column per difficulty."""
    o = DIFFICULTY[task]
    wide = t.pivot(index="arch", columns=f"task.{o}", values="centre [95% CI]")
    return wide.rename(columns=lambda v: f"{o} = {v:g}").reset_index()


def difficulty_spiral_comparisons_shown(t):
    """The `difficulty_spiral_comparisons` table as the notebook shows it: one column per pair."""
    w = t.pivot(index="turns", columns="pair", values="text").reset_index()
    return w.assign(turns=w["turns"].map("{:g}".format)).rename(columns=lambda c: c.replace(" - ", " − "))


def difficulty_comparisons_shown(t):
    """The checkerboard cells family (`checker_family`) as the notebook shows it."""
    return t[["cells", "text", "n_a", "n_b"]].assign(cells=t["cells"].astype(int)).rename(columns={
        "text": "SinGLU − Vanilla, checkerboard (Holm over cell counts)", "n_a": "n SinGLU", "n_b": "n Vanilla"})


def tuned_shown(t):
    """The `singlu_vs_vanilla_tuned` table as the notebook shows it."""
    return t.assign(**{c: t[c].map("{:g}".format) for c in ("lr singlu", "lr vanilla")})


# ----------------------------------------------------------------------------- readings (one line each)

def ties_text(ties, wide):
    """How many archs are best somewhere and which are tied with the best everywhere (`ties`), and the
    best mean rank (`wide`, the `rank_table`)."""
    archs = list(wide.index)
    universal = [a for a in archs if all(a in s for _, s in ties.values())]
    winners = sorted({b for b, _ in ties.values()})
    head = (f"{len(winners)} different archs have the best mean on the {len(ties)} tasks ({', '.join(winners)}); "
            f"tied with the best on every task: {', '.join(universal) or 'none'}. Best mean rank: {wide.index[0]} "
            f"({wide['mean rank'].iloc[0]:.1f}). ")
    return head + ("So no single neuron is best everywhere at this budget, as the study says." if not universal else
                   f"So {', '.join(universal)} is best or tied with the best on every task: at this budget and protocol "
                   "there is a universal neuron among the archs run here, contrary to the study.")


def friedman_text(fr):
    """The `friedman` result in words."""
    best = fr.rankdf["meanrank"].iloc[0]
    near = fr.rankdf.index[fr.rankdf["meanrank"] - best <= fr.cd].tolist()
    return (f"Friedman test over the {len(STANDARD)} tasks: {stats.p_text(fr.pvalue)}; Nemenyi critical difference "
            f"{fr.cd:.2f} ranks. Best mean rank: {fr.rankdf.index[0]} ({best:.2f}); within the critical difference "
            f"of it: {', '.join(near)}.")


def variance_text(vs, main):
    """The data draws' median share of the variance (`vs`, the `variance_summary`) over the main grid `main`."""
    n_draws = main["data_seed"].nunique()
    return (f"Over the {int(vs['archs'].iloc[-1])} arch × task groups, a median {vs['median data share'].iloc[-1]:.0%} "
            f"of the replicas' variance lies between data draws ({n_draws} draws); the rest is initialisation.")


def side_text(side):
    """On how many tasks our best published arch is the study's best (`side`: `published_side_by_side`)."""
    same = [t for t, g in side.groupby("task", sort=False)
            if g.loc[g["our rank"] == 1, "arch"].tolist() == g.loc[g["published rank"] == 1, "arch"].tolist()]
    return (f"Among the published archs, our best matches the study's best on {len(same)} of "
            f"{side['task'].nunique()} tasks ({', '.join(same) or 'none'}).")


def wins_text(fam, wins):
    """SinGLU against Vanilla at the default lr (`fam` and `wins`, of `wins_part`)."""
    claims = published.claims()
    by_mean = int((fam["estimate"] < 1).where(fam["scale"] == "log", fam["estimate"] > 0).sum())
    return (f"At lr {protocol.LR:g}, Holm over the {len(fam)} tasks: {outcome_text(fam)}; better by the centre alone "
            f"on {by_mean}. Wins part: **{wins}**. The study: {claims['singlu_wins']['value']}/6, from means only.")


def nested_checker_text(main, scores):
    """Vanilla / SinGLU on nested2d and SinGLU − Vanilla on checkerboard (`comparison` on the main grid
    `main`) against the study's claims, with our Vanilla's checkerboard centre (from `scores`)."""
    claims = published.claims()
    nested, checker = comparison(main, "nested2d", "vanilla", "singlu"), comparison(main, "checkerboard", "singlu", "vanilla")
    ours = scores.set_index(["arch", "task"]).loc[("vanilla", "checkerboard"), "mean"]
    theirs = published.value("vanilla", "checkerboard")
    return (f"Nested2d, Vanilla / SinGLU MSE (geometric means): **{effect_text(nested)}**; the study claims "
            f"{claims['nested_ratio']['value']}×. Checkerboard, SinGLU − Vanilla accuracy: **{effect_text(checker)}**; "
            f"the study claims +{claims['checkerboard_pp']['value']} pp, with its Vanilla at {theirs:.1%} against our "
            f"{ours:.1%} ({100 * (ours - theirs):+.1f} pp): the study's near-chance Vanilla "
            f"{'accounts for much of' if ours - theirs > 0.1 else 'does not explain'} the claimed gap.")


def spiral_text(fam, spiral_ties, scores):
    """v10 against the phase-free archs on spiral (`fam`: `spiral_family`), the best and its ties
    (`spiral_ties`: `ties(...)["spiral"]`) and the centres (`scores`)."""
    best, tied = spiral_ties
    sp = scores.query("task == 'spiral'").set_index("arch")
    free = [a for a in tied if a in PHASE_FREE]
    return (f"On spiral (Holm over v10 against the {len(fam)} phase-free archs run), v10 {sp.loc['v10', 'centre [95% CI]']}, "
            f"SinGLU {sp.loc['singlu', 'centre [95% CI]']}, Vanilla {sp.loc['vanilla', 'centre [95% CI]']} (majority class "
            f"{sp['chance_accuracy'].iloc[0]:.1%}). The best centre is {best}; not significantly worse than it: "
            f"{', '.join(tied)}. " + (f"Archs without any phase term among them: {', '.join(free)}: a free phase is one "
                                      "way to solve this spiral, not the only one." if free else
                                      "None of them is phase-free: at this difficulty the phase archs are the only "
                                      "ones at the top."))


def complex_hifreq_text(cx, hf):
    """v10 on complex4d (`cx`: `complex_family`) and the archs that beat SinGLU on hifreq (`hf`: `hifreq_family`)."""
    return (f"Complex: v10 has a significantly lower MSE than {int(cx['better'].sum())} of the {len(cx)} other archs run, "
            f"a significantly higher one than {', '.join(cx.loc[cx['worse'], 'other']) or 'none'}. HiFreq: significantly "
            f"better than SinGLU: {', '.join(hf.loc[hf['better'], 'arch']) or 'none'} (of {len(hf)} archs run).")


def difficulty_text(summ, fam):
    """The best arch at each difficulty (`summ`: {task: `difficulty_summary`}) and the largest
    SinGLU − Vanilla checkerboard gap (`fam`: `checker_family`'s table)."""
    out = []
    for t, o in DIFFICULTY.items():
        s = summ[t]
        best = s[s["rank"] == 1].groupby(f"task.{o}")["arch"].apply("/".join)
        out.append(f"{t}: best mean at each {o}: " + "; ".join(f"{v:g} → {a}" for v, a in best.items()) + ".")
    top = fam.loc[fam["estimate"].idxmax()]
    default = default_option("checkerboard", "cells")
    n = fam.set_index("cells")["n_a"]
    others = f"; {int(n.drop(default).min())} at the other cell counts" if len(n) > 1 else ""
    return (" ".join(out) + f" The largest SinGLU − Vanilla checkerboard gap is {100 * top['estimate']:+.1f} pp at "
            f"{top['cells']:g} cells per side (replicas per arch: {int(n[default])} at the default {default}, every "
            f"main-grid replica{others}).")


def tuned_text(fam, wins_tuned, wins):
    """SinGLU against Vanilla at the tuned lrs (`fam` and `wins_tuned`, of `wins_part`), next to the
    wins part at the default lr (`wins`)."""
    return (f"With tuned learning rates (Holm over the {len(fam)} tasks): {outcome_text(fam)}; wins part: "
            f"**{wins_tuned}** (at lr {protocol.LR:g}: {wins}).")


# ----------------------------------------------------------------------------- figures

def _replica_text(cfg):
    return f"{len(cfg.seeds)} seeds × {len(cfg.data_seeds)} data draws, {cfg.steps:,} steps, ~5,000 parameters"


def scores_figure(scores, m, cfg):
    """Every replica of every arch of the main grid `m` on the six standard tasks (`plots.replicas`),
    one panel per task, with the centres of `scores` (`standard_scores`)."""
    from .. import plots
    m = m[~m["diverged"].astype(bool)].assign(score=lambda d: stats.score_column(d))
    centre = scores.set_index(["arch", "task"])["mean"]
    fig, axes = plots.grid(len(STANDARD), ncols=3)
    legend = {}
    for ax, task in zip(axes, STANDARD):
        d = m[m["task"] == task]
        mse = stats.LOWER_IS_BETTER[d["metric"].iloc[0]]
        base = {"predict mean": d["predict_mean_mse"].iloc[0]} if mse else {"majority class": d["chance_accuracy"].iloc[0]}
        floor = None
        plots.replicas(d, ax, order=cfg.archs, center={a: centre[(a, task)] for a in cfg.archs if (a, task) in centre},
                       baselines=base, published={a: published.value(a, task) for a in cfg.archs}, floor=floor,
                       log=mse, title=task, ylabel="test MSE" if mse else "test accuracy")
        ax.tick_params(axis="x", rotation=90)          # 14 arch names per panel in the full run
        if mse:
            plots.log_ticks(ax)
        for h, lab in zip(*ax.get_legend_handles_labels()):
            legend.setdefault(lab, h)
        if ax.get_legend():
            ax.get_legend().remove()
    fig.tight_layout()
    fig.legend(legend.values(), legend.keys(), loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(legend),
               frameon=False)
    cfg.save(fig, "02_scores_all_tasks", caption=(
        f"Test score of every replica (dots; {_replica_text(cfg)}) of every arch on the six standard tasks: MSE on a "
        "log axis (lower is better) or accuracy (higher is better). Black bar: the centre (geometric mean for MSE); "
        "dashed: predicting the training mean or the majority class; red star: the study's published mean."))


def rank_figure(wide, cfg):
    """The rank heatmap of the standard tasks (`wide`: the `rank_table`), arch names in their report colours."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6, 0.28 * len(wide) + 1.2))
    rank_heatmap(wide, ax, title=f"rank per task ({_replica_text(cfg)})")
    best = wide.index[0]
    cfg.save(fig, "02_rank_heatmap", caption=(
        f"Rank of every arch on each standard task (1 = best centre: geometric-mean MSE or mean accuracy), archs "
        f"sorted by their mean rank (in parentheses); best mean rank: {best} ({wide['mean rank'].iloc[0]:.1f})."))


def cd_figure(fr, cfg):
    """The critical-difference diagram of the Friedman/Nemenyi ranking (`fr`: `friedman`), arch names in their colours."""
    import matplotlib.pyplot as plt
    from .. import plots
    fig, ax = plt.subplots(figsize=(7, 0.22 * len(fr.rankdf) + 1.6))
    cd_diagram(fr, ax, {a: plots.color(a) for a in fr.rankdf.index})
    ax.set_title(f"mean rank over {len(STANDARD)} tasks; bars join archs within the critical difference ({fr.cd:.2f})",
                 fontsize=8)
    cfg.save(fig, "02_critical_difference", caption=(
        f"Mean rank of every arch over the {len(STANDARD)} standard tasks ({stats.p_text(fr.pvalue, 'Friedman p')}); "
        f"a bar joins archs whose mean ranks differ by less than the Nemenyi critical difference {fr.cd:.2f}."))


def boundaries_figure(results, task, cfg):
    """Decision boundaries of seed 0 of every arch on `task` (`boundary_grid`)."""
    o = DIFFICULTY[task]
    v = default_option(task, o)
    size = f"{v:g} turns" if task == "spiral" else f"{v}×{v} cells"
    fig = boundary_grid(results, task, cfg.archs, title=f"{task} ({size}), seed 0")
    cfg.save(fig, f"02_decision_boundaries_{task}", caption=(
        f"Decision boundaries on {task} ({size}) of seed 0 on data draw 0 of every arch, {cfg.steps} steps: "
        "background = predicted class, dots = training points, black × = misclassified training points; each "
        "title gives the train and test accuracy."))


def difficulty_figure(diff, cfg):
    """Accuracy against difficulty (spiral turns, checkerboard cells) for the sweep's archs (`diff`: `difficulty`)."""
    import matplotlib.pyplot as plt
    import seaborn as sns
    from .. import plots
    fig, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for ax, (task, d) in zip(axes, diff.items()):
        col, archs = f"task.{DIFFICULTY[task]}", list(dict.fromkeys(d["arch"]))
        sns.lineplot(d[~d["diverged"].astype(bool)], x=col, y="score", hue="arch", hue_order=archs, marker="o",
                     palette={a: plots.color(a) for a in archs}, errorbar="sd", err_style="bars", ax=ax)
        p = published.results().query("task == @task and arch in @archs")
        ax.scatter([default_option(task, DIFFICULTY[task])] * len(p), p["published"], marker="*", c="red", s=50,
                   zorder=5, label="study (its own difficulty)")
        ax.axhline(d["chance_accuracy"].iloc[0], ls="--", c="gray", lw=0.8, label="majority class")
        ax.set_xticks(sorted(d[col].unique()))
        ax.set(xlabel=DIFFICULTY[task], ylabel="test accuracy", title=f"{task}: accuracy vs difficulty")
        ax.legend(fontsize=6, loc="lower left")
    fig.tight_layout()
    d = diff["spiral"]
    cfg.save(fig, "02_difficulty", caption=(
        f"Test accuracy (mean ± std over {d['seed'].nunique()} seeds × {d['data_seed'].nunique()} data draws) against "
        "difficulty: spiral turns and checkerboard cells per side; the default difficulty comes from the main grid. "
        "Red stars: the study's published accuracy (at a difficulty it does not state); dashed: the majority class."))
