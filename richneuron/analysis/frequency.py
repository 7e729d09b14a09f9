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

The notebook's face: `experiments(cfg, ...)` (the runs), then where each is shown the table that
computes it (`scores`, `versus`, `below_zero`, `scores_direct`; `None` for a sweep not run) with its
display (`*_shown`), the figures (`fig_*`, each saved with its caption), the one-line readings
(`read_*`), the verdict (`check`, `verdict(inputs(...))`) and `summary(row, scores)`.
"""
import dataclasses

import matplotlib.pyplot as plt
import pandas as pd

from .. import criteria, plots, protocol, published, stats, tasks, verdicts
from . import common, robustness
from .ranking import ADAPTIVE   # the study's adaptive variants (defined once, in ranking)

FIXED = "singlu"
DEFAULT_OMEGA = 1.0     # the sine neurons' default ω: at it the sweep is the default protocol, not a condition
TASKS = ("freqgen", "mixedfreq")


# ----------------------------------------------------------------------------- statistics

CLAIM = "fixed_freq_generalizes"
SOURCE = criteria.source(CLAIM)           # the criterion's file (what git dates)

CRITERIA = {c: criteria.text(c) for c in (CLAIM,)}   # richneuron/criteria/<claim>.md


def experiments(cfg, omegas, omega_archs, direct_archs, sweep_seeds):
    """The notebook's runs by name: `main` (every arch of `cfg` on both tasks at the default
    protocol), `omega` (the archs of `omega_archs` in the run, vanilla excepted, at every ω of
    `omegas`), `direct` (the archs of `direct_archs` in the run, in the study's direct reading,
    one data draw: shown, not judged), and the robustness check of the cells the verdict reads,
    `check` and `check_omega` (one-ulp perturbation). The sweeps use the first `sweep_seeds` seeds;
    quick mode sweeps freqgen only, the first two ω and two direct archs. Absent runs have no key."""
    quick = slice(2 if cfg.quick else None)
    sweep_tasks = list(TASKS[:1] if cfg.quick else TASKS)
    om_archs = [a for a in omega_archs if a in cfg.archs and a != "vanilla"]
    dir_archs = [a for a in direct_archs if a in cfg.archs][quick]
    sw_seeds, omegas = cfg.seeds[:sweep_seeds], list(omegas)[quick]
    adaptive = [a for a in ADAPTIVE if a in cfg.archs]

    def grid(archs, task_list, seeds, **kw):
        return protocol.main_grid(archs, list(task_list), seeds, cfg.steps, data_seeds=cfg.data_seeds, **kw)
    out = {"main": grid(cfg.archs, TASKS, cfg.seeds)}
    if om_archs:
        out["omega"] = grid(om_archs, sweep_tasks, sw_seeds, omega=omegas)
    if dir_archs:
        out["direct"] = protocol.main_grid(dir_archs, sweep_tasks, sw_seeds, cfg.steps, task_options={"mode": "direct"})
    out["check"] = grid([FIXED, *adaptive], TASKS, cfg.seeds, **protocol.CHECK)
    if om_archs:
        out["check_omega"] = grid(om_archs, sweep_tasks, sw_seeds, omega=omegas, **protocol.CHECK)
    return out


def _geo(v):
    v = v.dropna()
    return stats.center(v, "log")[0] if len(v) else float("nan")


def metrics(res, name):
    """The per-replica metrics of run `name` of `res` ({name: Results} of `experiments`), None
    when it was not run (a sweep quick mode or the parameters left out)."""
    return res[name].metrics if name in res else None


def published_scores():
    """The study's published means on the two tasks (`published.results()`)."""
    return published.results().query("task in @TASKS", local_dict={"TASKS": list(TASKS)})


def scores(metrics, by=("arch", "task")):
    """`common.score_table` (its `mean`, `low`, `high`: the geometric mean of the test MSE with its
    t interval) plus the in-range MSE's geometric mean (`in_range_geo`), the number of replicas
    below predict-zero (`seeds_below_zero`) and the geometric mean over predict-zero (`vs_predict_zero`).
    None for no metrics (a sweep not run)."""
    if metrics is None:
        return None
    s = common.score_table(metrics, by=by)
    m = _ok(metrics).assign(below=lambda d: d["test_mse"] < d["predict_zero_mse"])
    if "in_range_mse" not in m:
        m["in_range_mse"] = float("nan")
    g = m.groupby(list(by), sort=False)
    extra = pd.DataFrame({"in_range_geo": g["in_range_mse"].apply(_geo), "seeds_below_zero": g["below"].sum().astype(int)})
    s = s.merge(extra.reset_index(), on=list(by), how="left")
    s["vs_predict_zero"] = s["mean"] / s["predict_zero_mse"]
    s["geometric mean [95% CI]"] = [stats.fmt_ci(a, b, c) for a, b, c in zip(s["mean"], s["low"], s["high"])]
    return s


def _ok(metrics):
    return metrics[~metrics["diverged"].astype(bool)]


def _key(by, key):
    return dict(zip(by, key if isinstance(key, tuple) else (key,)))


def versus(metrics, by=("task",), ref=FIXED, others=ADAPTIVE):
    """SinGLU (`ref`) against each arch of `others` present, per group of `by`, as one Holm family:
    a `stats.family` table (ratio other/ref `estimate`, `low`, `high`, `p_value`, `p_holm`,
    `equivalent`) with the group columns, `other`, and `part`: the test's sub-verdict for
    "ref is better" (holds / fails / inconclusive, on the Holm p-value). None for no metrics."""
    if metrics is None:
        return None
    m = _ok(metrics)
    comps, keys = {}, {}
    for key, g in m.groupby(list(by), sort=False, dropna=False):
        a = g[g["arch"] == ref]
        if not len(a):
            continue
        for other in [o for o in others if o in set(g["arch"])]:
            b = g[g["arch"] == other]
            label = " ".join(f"{k}={v}" for k, v in _key(by, key).items()) + f" {other}"
            comps[label] = common.compare(b, a, "test_mse", scale="log", margin=stats.EQUIVALENCE["log"])
            keys[label] = {**_key(by, key), "other": other}
    t = stats.family(comps)
    if not len(t):
        return pd.DataFrame(columns=[*by, "other", "estimate", "low", "high", "p_value", "p_holm", "part"])
    t["part"] = [verdicts.direction(comps[k], +1, p=p) for k, p in zip(t["label"], t["p_holm"])]
    return pd.concat([pd.DataFrame([keys[k] for k in t["label"]]), t], axis=1)


def below_zero(metrics, by=("task",), ref=FIXED):
    """Per group: SinGLU's geometric-mean test MSE / predict-zero MSE (each replica against its
    own test set) with its t interval, and `part`: holds (upper bound < 1), fails (lower > 1).
    None for no metrics."""
    if metrics is None:
        return None
    m = _ok(metrics)
    m = m[m["arch"] == ref]
    rows = []
    for key, g in m.groupby(list(by), sort=False, dropna=False):
        c, lo, hi = stats.center(g["test_mse"] / g["predict_zero_mse"], "log")
        part = verdicts.HOLDS if hi < 1 else verdicts.FAILS if lo > 1 else verdicts.UNSURE
        rows.append({**_key(by, key), "vs_zero": c, "low": lo, "high": hi, "n": len(g), "part": part})
    return pd.DataFrame(rows, columns=[*by, "vs_zero", "low", "high", "n", "part"])


def inputs(main, omega=None):
    """The verdict's inputs: the default protocol's replicas of SinGLU and the adaptive archs
    (arch, task, test_mse, predict_zero_mse, diverged) and the ω sweep's (plus omega)."""
    cols = ["arch", "task", "test_mse", "predict_zero_mse", "diverged"]
    keep = [FIXED, *ADAPTIVE]
    d = main[main["arch"].isin(keep)][cols].reset_index(drop=True)
    o = pd.DataFrame(columns=cols + ["omega"]) if omega is None else omega[omega["arch"].isin(keep)][cols + ["omega"]]
    return {"default": d, "omega": o.reset_index(drop=True)}


def scores_direct(metrics):
    """`scores` of the study's direct-reading runs with the test MSE of a perfect fit of the
    training target (`perfect_fit_mse`); None for no metrics (the direct reading not run)."""
    d = scores(metrics)
    if d is None:
        return None
    return d.assign(perfect_fit_mse=[perfect_fit_mse(k, seed=protocol.DATA_SEED) for k in d["task"]])


def _omega_shown(out):
    if "omega" in out:
        out["omega"] = out["omega"].map(lambda w: f"{w:g}")
    return out


def scores_shown(d):
    """A `scores` (or `scores_direct`) table as the notebook shows it: formatted numbers, readable
    column names (the notebook display drops the row numbers); None for None."""
    if d is None:
        return None
    extra = ("omega",) if "omega" in d else ()
    cols = ("geometric mean [95% CI]", "in_range_geo", "vs_predict_zero", "seeds_below_zero", "count",
            *(("perfect_fit_mse",) if "perfect_fit_mse" in d else ()))
    out = common.display_table(d.assign(**{c: d[c].map(stats.fmt) for c in ("in_range_geo", "vs_predict_zero",
                                                                             "perfect_fit_mse") if c in d}),
                               extra=extra + cols).drop(columns=["per_seed", "centre [95% CI]"])
    return _omega_shown(out.rename(columns={"in_range_geo": "in-range MSE", "vs_predict_zero": "× predict-zero",
                                            "seeds_below_zero": "replicas below predict-zero", "count": "replicas"}))


def versus_shown(d):
    """A `versus` table as the notebook shows it (formatted ratios and p-values); None for None."""
    if d is None:
        return None
    cols = [c for c in ("task", "omega", "other", "estimate", "low", "high", "p_value", "p_holm", "equivalent", "part")
            if c in d]
    return _omega_shown(d[cols].assign(**{c: d[c].map(stats.fmt) for c in ("estimate", "low", "high")},
                                       **{c: d[c].map(stats.fmt_p) for c in ("p_value", "p_holm")}))


def below_zero_shown(d):
    """A `below_zero` table as the notebook shows it (formatted ratios); None for None."""
    if d is None:
        return None
    return _omega_shown(d.assign(**{c: d[c].map(stats.fmt) for c in ("vs_zero", "low", "high")}).rename(
        columns={"vs_zero": "SinGLU / predict-zero", "n": "replicas"}))


DIRECT = "direction, direct reading (as stated)"


def direct_untestable(t):
    """Why the study's direct reading (input x only) cannot test the claim, with the direct runs'
    numbers when `t` has them: a function of x cannot produce both sin(2πx) and sin(10πx) at the
    same x, so a model's test error there is fixed by how well it fits the training sine."""
    why = ("with input x only, one function of x cannot give both the training target sin(k_train·πx) and the "
           "test target sin(k_test·πx) at the same x: the test error measures the fit to the training sine, not "
           "generalisation")
    if t.get("scores_direct") is not None and len(t["scores_direct"]):
        why += "; every arch scores about the error of a perfect fit to the training sine (" + "; ".join(
            f"{k}: {stats.fmt(g['mean'].min())}–{stats.fmt(g['mean'].max())} vs {stats.fmt(g['perfect_fit_mse'].iloc[0])}"
            for k, g in t["scores_direct"].groupby("task", sort=False)) + ")"
    return why + ". Direction and generalizes are judged on our scaled reading (ours: the model sees t = k·x)"


def verdict(t):
    """The scorecard row of the claim from `inputs(...)` (with "scores_direct", a `scores_direct`
    table, its numbers are quoted), by `CRITERIA`. The study's direct reading
    is its own part, not testable as stated (`direct_untestable`)."""
    fam, zero = versus(t["default"]), below_zero(t["default"])
    prt = {"direction": common.every(fam["part"]), "generalizes": common.every(zero["part"]),
           DIRECT: verdicts.NOT_TESTABLE}
    untestable = {DIRECT: direct_untestable(t)}
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
    v, reason = verdicts.judge(prt, conditions, untestable=untestable)
    ours = "; ".join(
        f"{task}: SinGLU significantly better than {int((fam.loc[fam['task'] == task, 'part'] == verdicts.HOLDS).sum())}"
        f"/{int((fam['task'] == task).sum())} adaptive (Holm), worse or equivalent for "
        f"{int((fam.loc[fam['task'] == task, 'part'] == verdicts.FAILS).sum())}; SinGLU/predict-zero "
        + stats.fmt_ci(*zero.loc[zero["task"] == task, ["vs_zero", "low", "high"]].iloc[0]) for task in task_list)
    undecided = fam[fam["part"] == verdicts.UNSURE]
    settle = []
    if len(undecided):
        r = undecided.loc[undecided["p_value"].idxmax()]
        settle.append((f"direction: {r['label'].strip()}",
                       stats.Comparison(**{k: r[k] for k in stats.Comparison.__dataclass_fields__ if k in r}), None))
    first = fam[fam["task"] == task_list[0]] if task_list else fam.iloc[:0]
    beats = verdicts.effect(f"adaptive archs SinGLU beats on {task_list[0] if task_list else 'no task'} "
                         f"(of {len(first)}; the study: all)", int((first["part"] == verdicts.HOLDS).sum()),
                         published=len(first), null=None)
    return verdicts.verdict(CLAIM, ours, v, CRITERIA[CLAIM], "05_scores", parts=prt, reason=reason,
                         conditions={c: p for c, p in conditions}, untestable=untestable,
                         settle=settle, effect=beats)


def check(exps, res):
    """The verdict row as trained (from the Results `res` of `experiments`) with its robustness
    check (`robustness.Check`): generalizes reads SinGLU's check runs, direction SinGLU's and the
    adaptive archs' (exps["check"]), the stated conditions (each task alone, each swept ω) those
    and the ω sweep's check runs (exps["check_omega"])."""
    omega = lambda s, name, trained: (s[name] if s.get(name) is not None else trained)
    row = verdict(inputs(res["main"].metrics, res["omega"].metrics if "omega" in res else None))
    full = exps["check"]
    singlu = dataclasses.replace(full, archs=[FIXED])
    reads = {"direction": {"check": [full]}, "generalizes": {"check": [singlu]},
             robustness.CONDITIONS: {"check": [full], **({"check_omega": [exps["check_omega"]]} if "check_omega" in exps else {})}}

    def verdict_of(s):
        om = omega(s, "check_omega", res.get("omega"))
        k = s.get("check")
        main = robustness.merged(None if k is None else k.metrics, res["main"].metrics, by=("arch", "task"))   # not yet checked: as trained
        return verdict(inputs(main, om.metrics if om is not None else None))
    return robustness.Check(row, reads, verdict_of)


def summary(row, scores=None):
    """One line for the notebook; with `scores` (the default protocol's `scores`), where the study's
    supporting number stands against predicting zero."""
    text = f"**Verdict: {row['verdict']}** ({row['reason']}). {row['ours']}."
    if scores is None:
        return text
    claim = published.claims()[CLAIM]["value"]
    zero = scores.loc[scores["task"] == "freqgen", "predict_zero_mse"].iloc[0]
    return (text + f" The study's supporting number (SinGLU {claim:g} on Freq Gen) is "
            + ("above" if claim > zero else "below") + f" the predict-zero MSE of this target ({stats.fmt(zero)}).")


# ----------------------------------------------------------------------------- readings

def read_scores(table):
    """Where every arch stands against predicting zero, per task (`scores`), and the study's values."""
    pub, lines = published_scores(), []
    for task in TASKS:
        s = table[table["task"] == task]
        zero = s["predict_zero_mse"].iloc[0]
        p = pub[pub["task"] == task]["published"]
        below = s[s["seeds_below_zero"] > 0]["arch"].tolist()
        lines.append(f"On {task}, the predict-zero MSE of the test set is {stats.fmt(zero)}; "
                     f"{int((s['mean'] < zero).sum())} of {len(s)} archs have a geometric-mean test MSE below it "
                     f"(archs with at least one seed below: {', '.join(below) or 'none'}); the in-range MSEs are "
                     f"{stats.fmt(s['in_range_geo'].min())}–{stats.fmt(s['in_range_geo'].max())}. The study's published values, "
                     f"{stats.fmt(p.min())}–{stats.fmt(p.max())}, are {'all ' if (p > zero).all() else ''}"
                     f"{'above' if (p > zero).all() else 'not all above'} this predict-zero MSE.")
    easy = (table["in_range_geo"] < 0.1 * table["predict_zero_mse"]).mean()
    hard = (table["mean"] > table["predict_zero_mse"]).mean()
    return " ".join(lines) + (" Fitting the training range is easy; extrapolating to the unseen frequency is not."
                              if easy > 0.5 and hard > 0.5 else "")


def read_versus(fam, zero):
    """SinGLU against the adaptive variants (`versus`) and against predicting zero (`below_zero`), per task."""
    out = []
    for task in TASKS:
        f, z = fam[fam["task"] == task], zero[zero["task"] == task].iloc[0]
        failed = f.loc[f["part"] == verdicts.FAILS, "other"]
        out.append(f"On {task}, SinGLU is significantly better (Holm) than {int((f['part'] == verdicts.HOLDS).sum())} of {len(f)} "
                   f"adaptive variants, significantly worse than or equivalent to {len(failed)}"
                   + (f" ({', '.join(failed)})" if len(failed) else "")
                   + f"; its test MSE is {stats.fmt_ci(z['vs_zero'], z['low'], z['high'])} × the predict-zero MSE.")
    return " ".join(out)


def read_omega(s, fam, zero):
    """The ω sweep's lowest test MSE per task (`s`: `scores` by arch, task and ω), and the ω at which
    SinGLU beats every swept arch (`fam`, `zero`: `versus` and `below_zero` by task and ω)."""
    if s is None:
        return "No ω sweep in this run."
    best = s.loc[s.groupby("task")["mean"].idxmin()]
    held = [w for w in dict.fromkeys(s["omega"]) if (fam.loc[fam["omega"] == w, "part"] == verdicts.HOLDS).all()
            and (zero.loc[zero["omega"] == w, "part"] == verdicts.HOLDS).all() and (fam["omega"] == w).any()]
    return (" ".join(f"On {r['task']}, the lowest test MSE of the ω sweep is {r['arch']} at ω = {r['omega']:g} "
                     f"({stats.fmt(r['mean'])}, predict-zero {stats.fmt(r['predict_zero_mse'])})." for _, r in best.iterrows())
            + " SinGLU beats every swept adaptive arch significantly (Holm over the sweep) and predict-zero at: "
            + (", ".join(f"ω = {w:g}" for w in held) or "no ω") + ".")


def read_learned(scores, shown):
    """In-range against unseen-frequency MSE of the `shown` archs (from `scores`)."""
    r = scores[scores["arch"].isin(shown)]
    fit = r["in_range_geo"] < 0.1 * r["predict_zero_mse"]
    worse = r["mean"] > r["predict_zero_mse"]
    return ("In-range → unseen-frequency MSE (geometric means): " + "; ".join(
        f"{a} on {k}: {stats.fmt(i)} → {stats.fmt(g)}" for a, k, i, g in zip(r["arch"], r["task"], r["in_range_geo"], r["mean"]))
        + f". {int(fit.sum())} of {len(r)} arch × task pairs fit the training range (in-range MSE below a tenth of "
        f"predict-zero); {int(worse.sum())} of {len(r)} are worse than predicting zero at the unseen frequency.")


def read_direct(direct):
    """The direct reading's MSEs (`scores_direct`) against a perfect fit of the training target and predict-zero."""
    if direct is None:
        return "No direct-reading runs in this run."
    pub = published_scores()
    return " ".join(
        f"Direct reading, {k}: test MSEs {stats.fmt(g['mean'].min())}–{stats.fmt(g['mean'].max())} (geometric means), "
        f"a perfect fit of the training target would score {stats.fmt(g['perfect_fit_mse'].iloc[0])}, predict-zero "
        f"{stats.fmt(g['predict_zero_mse'].iloc[0])}; the study published "
        f"{stats.fmt(pub[pub['task'] == k]['published'].min())}–{stats.fmt(pub[pub['task'] == k]['published'].max())}."
        for k, g in direct.groupby("task", sort=False)) + (
        " Read this way the task measures how well a model fits the training sine (the better, the closer to the "
        "perfect-fit number), not generalization.")


def read_ranks(scores):
    """SinGLU's rank on each task in our runs (geometric-mean MSE, `scores`) and in the study's table."""
    rk = stats.ranks(scores, {k: "mse" for k in TASKS})
    pub = published_scores()
    pub = pub.assign(rank=pub.groupby("task")["published"].rank(method="min").astype(int))
    return " ".join(
        f"On {k}, SinGLU ranks {int(rk[(rk['task'] == k) & (rk['arch'] == FIXED)]['rank'].iloc[0])} of {int((rk['task'] == k).sum())} "
        f"in our runs (geometric-mean MSE) and {int(pub[(pub['task'] == k) & (pub['arch'] == FIXED)]['rank'].iloc[0])} "
        f"of {int((pub['task'] == k).sum())} in the study's table." for k in TASKS)


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

def strip(metrics, ax, task, order=None, title=None, zero=None, extra=None):
    """Every replica's test MSE per arch on `task` (`plots.replicas`: dots in the arch's colour, the
    geometric mean as a bar, predict-zero dashed, the study's published mean as a red star), each
    replica's in-range MSE as a grey x, and `extra` baselines {label: value} dotted."""
    m = _ok(metrics)
    m = m[m["task"] == task]
    order = list(order or dict.fromkeys(m["arch"]))
    m = m[m["arch"].isin(order)]
    plots.replicas(m, ax, value="test_mse", order=order, log=True, title=title or task, ylabel="MSE",
                   center={a: _geo(g["test_mse"]) for a, g in m.groupby("arch")},
                   baselines={"predict zero": m["predict_zero_mse"].iloc[0] if zero is None else zero},
                   published={a: published.value(a, task) for a in order})
    for i, a in enumerate(order if "in_range_mse" in m else ()):
        v = m.loc[m["arch"] == a, "in_range_mse"]
        ax.scatter([i] * len(v), v, marker="x", s=10, color="gray", lw=0.8, label="in-range MSE" if i == 0 else None)
    for lab, v in (extra or {}).items():
        ax.axhline(v, c="k", ls=":", lw=1, label=lab)


def draw_frame(ax, x, truth, shade=None, ylim=None, title=None, label="true function", color="k"):
    """The true function over `x`, predict-zero (dashed) and the shaded training range; models are
    added with `plots.learned_function`."""
    if shade is not None:
        ax.axvspan(*shade, color="gold", alpha=0.2, label="training range", lw=0)
    ax.plot(x[:, 0], truth[:, 0], c=color, lw=1.6 if color == "k" else 0.8, label=label, zorder=1)
    ax.axhline(0, c="gray", ls="--", lw=0.8, label="predict zero")
    if ylim is not None:
        ax.set_ylim(*ylim)
    ax.set(title=title or "")


def log_y(fig):
    """Readable ticks on every log y axis of `fig` (`plots.log_ticks`: after plotting, as it reads the limits)."""
    for ax in fig.axes:
        if ax.get_yscale() == "log":
            plots.log_ticks(ax, "y")


def _legend_right(ax):
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize=7)


def fig_scores(s, metrics, cfg):
    """Every replica's test MSE at the unseen frequency on both tasks (`metrics`, the default protocol's;
    archs by freqgen's geometric mean in `s`, their `scores`)."""
    order = list(s[s["task"] == TASKS[0]].sort_values("mean")["arch"])
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, task in zip(axes, TASKS):
        strip(metrics, ax, task, order=order, title=f"{task}: test at the unseen frequency")
        ax.get_legend().remove()
    _legend_right(axes[-1])
    log_y(fig)
    fig.tight_layout()
    below = {k: int((s.loc[s["task"] == k, "vs_predict_zero"] < 1).sum()) for k in TASKS}
    cfg.save(fig, "05_scores", caption=(
        "Test MSE at the unseen frequency of every replica (dots, one colour per arch) on freqgen (left) and mixedfreq "
        "(right), with each arch's geometric mean (bar), in-range MSE (grey x), the predict-zero MSE (dashed) and the "
        "study's published mean (red star). Archs with a geometric mean below predict-zero: "
        + ", ".join(f"{below[k]} of {int((s['task'] == k).sum())} on {k}" for k in TASKS) + "."))


def _log_omega(ax, omegas):
    ax.set_xscale("log")
    ax.set_yscale("log")
    plots.log_axis(ax, "x")
    ax.set_xticks(omegas, [f"{w:g}" for w in omegas])


def fig_omega(s, om, scores, cfg):
    """Geometric-mean test MSE (95% CI) against ω per swept arch (`s`: `scores` of the sweep's
    metrics `om` by arch, task and ω), every replica as a dot, with vanilla (no ω; from the default
    protocol's `scores`) and predict-zero as lines. Nothing without a sweep."""
    if s is None:
        return
    van = scores[scores["arch"] == "vanilla"].set_index("task")
    task_list = list(dict.fromkeys(s["task"]))
    fig, axes = plt.subplots(1, len(task_list), figsize=(4.5 * len(task_list), 3.4), sharey=True, squeeze=False)
    for ax, task in zip(axes[0], task_list):
        k = s[s["task"] == task]
        for arch, g in k.groupby("arch", sort=False):
            g = g.sort_values("omega")
            ax.errorbar(g["omega"], g["mean"], yerr=[g["mean"] - g["low"], g["high"] - g["mean"]], marker="o", ms=4,
                        capsize=3, lw=1, label=arch, color=plots.color(arch))
            mm = om[(om["task"] == task) & (om["arch"] == arch)]
            ax.scatter(mm["omega"], mm["test_mse"], s=5, color=plots.color(arch), alpha=0.4)
        if task in van.index:
            ax.axhline(van.loc[task, "mean"], c=plots.color("vanilla"), lw=1, label="vanilla (no ω)")
        ax.axhline(k["predict_zero_mse"].iloc[0], c="k", ls="--", lw=0.9, label="predict zero")
        ax.set(xlabel="ω", ylabel="test MSE (geometric mean, 95% CI; dots: replicas)", title=task)
        _log_omega(ax, sorted(set(k["omega"])))
    _legend_right(axes[0, -1])
    log_y(fig)
    fig.tight_layout()
    best = s.loc[s["mean"].idxmin()]
    cfg.save(fig, "05_omega", caption=(
        f"Test MSE at the unseen frequency against the sine frequency ω ({', '.join(f'{w:g}' for w in sorted(set(s['omega'])))}) "
        f"for {', '.join(dict.fromkeys(s['arch']))}: geometric mean with its 95% interval, every replica as a dot, Vanilla "
        f"(no ω) and predict-zero as lines. Lowest: {best['arch']} at ω = {best['omega']:g} on {best['task']} "
        f"({stats.fmt(best['mean'])})."))


def fig_learned(res, cfg, shown):
    """Seed 0 on data draw 0 of each `shown` arch over the training inputs and the test inputs."""
    fig, axes = plt.subplots(len(TASKS), 2, figsize=(12, 3.2 * len(TASKS)), gridspec_kw={"width_ratios": [1, 2.4]})
    for row, task in zip(axes, TASKS):
        t = tasks.make(task)
        k_tr, k_te = t.options["k_train"], t.options["k_test"]
        (x_tr, y_tr), (x_te, y_te) = dense(task, k_tr), dense(task, k_te)
        lim = (-2.5 * float(y_te.abs().max()), 2.5 * float(y_te.abs().max()))
        draw_frame(row[0], x_tr, y_tr, ylim=lim, title=f"{task}: training inputs (k = {k_tr:g})")
        draw_frame(row[1], x_te, y_te, shade=(float(t.x_train.min()), float(t.x_train.max())), ylim=lim,
                   title=f"{task}: test inputs (k = {k_te:g})")
        for arch in shown:
            net = res["main"].model(arch, task, 0, data_seed=protocol.DATA_SEED)
            for ax, x in ((row[0], x_tr), (row[1], x_te)):
                plots.learned_function(net, x, ax, lw=1, color=plots.color(arch), label=arch)
                ax.set_xlabel("model input t = k·x")
    _legend_right(axes[0, 1])
    fig.tight_layout()
    cfg.save(fig, "05_learned_functions", caption=(
        f"What {', '.join(shown)} learned (seed 0, data draw {protocol.DATA_SEED}) on freqgen (top) and mixedfreq (bottom), "
        "over the training inputs (left) and the test inputs (right, training range shaded): the true function in black, "
        "predict-zero dashed. The model sees t = k·x, so the unseen frequency is the same curve over a wider t."))


def fig_direct(d, res, cfg):
    """The study's direct reading (`d`, its `scores_direct`; the models from `res["direct"]`): every
    replica's test MSE with the perfect-fit and predict-zero MSEs (top), and seed 0's models against
    the training and test targets (bottom). Nothing without direct-reading runs."""
    if d is None:
        return
    direct = res["direct"]
    task_list, dir_archs = list(dict.fromkeys(d["task"])), list(dict.fromkeys(d["arch"]))
    fig, axes = plt.subplots(2, len(task_list), figsize=(5 * len(task_list), 6.2), squeeze=False,
                             gridspec_kw={"height_ratios": [1, 1.1]})
    for j, task in enumerate(task_list):
        strip(direct.metrics, axes[0, j], task, order=dir_archs, title=f"{task}, direct reading: test MSE",
              extra={"perfect fit of the training target": d.loc[d["task"] == task, "perfect_fit_mse"].iloc[0]})
        axes[0, j].get_legend().remove()
        k = tasks.make(task, mode="direct").options
        x_tr, y_tr = dense(task, k["k_train"], mode="direct")
        x_te, y_te = dense(task, k["k_test"], mode="direct")
        ax = axes[1, j]
        draw_frame(ax, x_te, y_te, title=f"{task}, direct: seed-0 models vs both targets", color="0.6",
                   label=f"test target (k = {k['k_test']:g})")
        ax.plot(x_tr[:, 0], y_tr[:, 0], c="k", lw=1.4, label=f"training target (k = {k['k_train']:g})")
        for arch in dir_archs:
            plots.learned_function(direct.model(arch, task, 0), x_tr, ax, lw=1, color=plots.color(arch), label=arch)
        ax.set_xlabel("model input x")
    _legend_right(axes[0, -1])
    _legend_right(axes[1, -1])
    log_y(fig)
    fig.tight_layout()
    cfg.save(fig, "05_direct", caption=(
        "The study's direct reading (input x only; trained on the low frequency, tested on the high one at the same x): "
        f"every replica's test MSE of {', '.join(dir_archs)} with the MSE of a perfect fit of the training target (dotted) "
        "and of predicting zero (dashed) (top); seed 0's learned functions against the training target (black) and the "
        "test target (grey) (bottom). Perfect fit: "
        + ", ".join(f"{stats.fmt(v)} on {k}" for k, v in zip(d["task"].drop_duplicates(), d.drop_duplicates("task")["perfect_fit_mse"]))
        + "."))
