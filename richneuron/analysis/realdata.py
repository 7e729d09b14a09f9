"""Notebook 09, beyond toy tasks: do the findings transfer to real data?

The finding's face: `settings` (the notebook's parameters checked), `experiments` (the learning-rate
trials on a validation share, the tuned runs on every data split once the rates are chosen, and
the answer's cells again with torch's kernels), `tables`, one function per figure (`fig_scores`,
`fig_reconstructions`, `fig_effects`, each saved with its caption), one line of reading per
section, `answers` and `summary`.

Protocol. The real tasks (`tasks.available("real")`: an image fitted as a function of its pixel
coordinates, a tabular regression, a tabular classification) read data bundled with
scikit-image and scikit-learn. Every (arch, task) gets its learning rate from the same grid as
notebook 07 (`peers.LRS`), one trial per rate (seed `peers.TUNING_SEED`, the first data split),
scored on a validation share held out of the training split (the test split is never seen); then
`seeds` initialisation seeds on each of `data_seeds` splits (12 replicas in a full run) are
trained at the chosen rate on the whole training split and scored on the test split. Every other
setting is the default protocol (5K parameters, depth 2, full-batch Adam, `steps` steps).
"""
from dataclasses import dataclass

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch

from .. import notebook as nbk, plots, protocol, published, stats, tasks
from . import common, peers as pr, ranking as rk

REAL = tuple(tasks.available("real"))
GLU_OTHERS = ("bilinear", "swiglu", "geglu")          # SinGLU's GLU family without the sine (same width)
ANSWER_ARCHS = ("vanilla", "singlu") + GLU_OTHERS      # the answer's archs (rerun with torch's kernels)
RECON_ARCHS = ("vanilla", "singlu", "v10", "siren", "fan")
IMAGE = "camera"
QUICK_EXTRA = GLU_OTHERS + ("siren", "fan")            # quick mode adds these to its archs

ANSWER_RULE = (
    "Per real task, SinGLU against Vanilla and against each non-periodic GLU (bilinear, SwiGLU, GEGLU; same width "
    "and parameter count), every arch at its own learning rate tuned on a validation split: stats.compare on the "
    "metric's scale (ratio of geometric-mean test MSEs or difference of mean test accuracies, Welch 95% interval, "
    "seeds x data splits replicas), Holm within each family (SinGLU vs Vanilla: one test per task; SinGLU vs the "
    "GLUs: one per GLU and task). A task counts as an advantage when SinGLU is Holm-significantly better, a "
    "disadvantage when significantly worse, no difference when TOST-equivalent (within a factor 1.25 or 2 pp), and "
    "undecided otherwise. SinGLU's advantage over Vanilla survives on real data when it is an advantage on at least "
    "two of the three tasks and a disadvantage on none; it does not survive when it is a disadvantage or no "
    "difference on at least two; otherwise the answer is undecided. Over the GLUs: the advantage comes from the "
    "sine on a task when SinGLU beats all three GLUs there. A label that changes when the same cells are trained "
    "with torch's sin/cos/tanh kernels is reported as undecided (rounding).")


@dataclass
class Settings:
    """What the notebook runs besides `cfg`'s seeds, data splits and steps (quick mode applied)."""
    archs: list           # every arch of the comparison (quick mode adds QUICK_EXTRA)
    tasks: list           # the real tasks run
    lrs: list             # the tuning grid
    validation: float     # share of the training split held out to choose the lr


def settings(cfg, real_tasks, tuning_lrs, validation):
    """The notebook's parameters checked (a ValueError naming the parameter and the valid choices)
    for the run settings `cfg`; the archs must include ANSWER_ARCHS. Quick mode adds the GLUs, SIREN and FAN and keeps the first 2 lrs."""
    task_list = nbk.parse_list(real_tasks, "real_tasks", str)
    for t in task_list:
        if t not in REAL:
            raise ValueError(f"real_tasks: unknown task {t!r}; valid choices: {', '.join(REAL)}")
    lrs = nbk.parse_list(tuning_lrs, "tuning_lrs", float, positive=True)
    archs = list(dict.fromkeys(cfg.archs + (list(QUICK_EXTRA) if cfg.quick else [])))
    missing = [a for a in ANSWER_ARCHS if a not in archs]
    if missing:
        raise ValueError(f"archs must include {', '.join(ANSWER_ARCHS)} (the answer compares them); missing "
                         f"{', '.join(missing)} (got {', '.join(archs)})")
    return Settings(archs=archs, tasks=task_list, lrs=lrs[: 2 if cfg.quick else None],
                    validation=nbk.fraction(validation, "validation", 0.5))


def experiments(cfg, st, chosen=None):
    """The notebook's experiments by name: "tuning" (one trial per lr per (arch, task) on the
    validation share, `peers.tuning_grid`) and, once the rates are chosen (`chosen`, from
    `lr_tables`), "tuned" (a list: each (arch, task) at its rate, `cfg`'s seeds on each of its data
    splits) and "check" (the answer's archs' tuned cells again with torch's kernels)."""
    out = {"tuning": pr.tuning_grid(st.archs, st.tasks, cfg.steps, st.lrs, validation=st.validation)}
    if chosen is not None:
        out["tuned"] = pr.tuned_grids(chosen, cfg.seeds, cfg.steps, data_seeds=cfg.data_seeds)
        mine = chosen[chosen["arch"].isin(ANSWER_ARCHS)]
        out["check"] = pr.tuned_grids(mine, cfg.seeds, cfg.steps, data_seeds=cfg.data_seeds,
                                      **protocol.CHECK)
    return out


# ----------------------------------------------------------------------------- tables

def psnr(mse):
    """Peak signal-to-noise ratio (dB) of an MSE on intensities in [−1, 1] (peak-to-peak 2)."""
    return 10.0 * np.log10(4.0 / np.asarray(mse, dtype=float))


def lr_tables(cfg, st, tuning_metrics):
    """The rate chosen per (arch, task) on the validation share (CSV real_tuned_lr)."""
    chosen = cfg.table(pr.chosen_lr(tuning_metrics), "real_tuned_lr")
    return {"tuned_lr": chosen, "lr_wide": pr.lr_table(chosen, st.archs, st.tasks)}


def score_table(metrics, chosen):
    """Per (task, arch): the centre with its 95% interval, every replica, the sanity baselines,
    the tuned lr and, on the image, the PSNR of the centre; rows by task, best first."""
    s = common.score_table(metrics)
    s = s.merge(chosen[["arch", "task", "lr"]].rename(columns={"lr": "tuned lr"}), on=["arch", "task"], how="left")
    s["PSNR (dB)"] = [f"{psnr(m):.2f}" if t == IMAGE else "–" for t, m in zip(s["task"], s["mean"])]
    lower = s["scale"] == "log"                      # MSE: lower is better
    s["rank"] = s.assign(key=np.where(lower, s["mean"], -s["mean"])).groupby("task")["key"].rank(method="min")
    s["task"] = pd.Categorical(s["task"], [t for t in REAL if t in set(s["task"])], ordered=True)
    return s.sort_values(["task", "rank"]).reset_index(drop=True)


def answer_families(scores, task_list):
    """The two Holm families of the answer (`common.compare_pairs`): SinGLU vs Vanilla on each
    task, and SinGLU vs each non-periodic GLU on each task."""
    return {"vanilla": common.compare_pairs(scores, [(t, "singlu", "vanilla") for t in task_list]),
            "glu": common.compare_pairs(scores, [(t, "singlu", g) for t in task_list for g in GLU_OTHERS])}


ADVANTAGE, DISADVANTAGE, NO_DIFFERENCE, UNDECIDED = "advantage", "disadvantage", "no difference", "undecided"


def label(row):
    """One comparison's label under ANSWER_RULE."""
    if row["better"]:
        return ADVANTAGE
    if row["worse"]:
        return DISADVANTAGE
    return NO_DIFFERENCE if row["equivalent"] is True else UNDECIDED


def labels(fams):
    """{(task, other): label} over both families."""
    return {(r["task"], r["other"]): label(r) for f in fams.values() for _, r in f.iterrows()}


def checked_labels(primary, other):
    """The labels of `primary` (NumPy kernels), undecided where torch's kernels (`other`) give another."""
    return {k: (v if other.get(k) == v else UNDECIDED) for k, v in primary.items()}


def survives(task_labels):
    """The answer over Vanilla under ANSWER_RULE from {task: label}: "survives", "does not
    survive" or "undecided"."""
    vals = list(task_labels.values())
    if sum(v == ADVANTAGE for v in vals) >= 2 and DISADVANTAGE not in vals:
        return "survives"
    if sum(v in (DISADVANTAGE, NO_DIFFERENCE) for v in vals) >= 2:
        return "does not survive"
    return "undecided"


def sine_tasks(lab, task_list):
    """Tasks where SinGLU beats all three non-periodic GLUs (checked labels)."""
    return [t for t in task_list if all(lab.get((t, g)) == ADVANTAGE for g in GLU_OTHERS)]


def answer_table(fams, lab):
    """Both families, one row per comparison, with the Holm p, TOST, and the checked label."""
    rows = []
    for name, f in fams.items():
        for _, r in f.iterrows():
            rows.append({"task": r["task"], "SinGLU vs": r["other"], "effect (ci)": r["effect (ci)"],
                         "p (Holm)": stats.fmt_p(r["p_holm"]), "equivalent (TOST)": r["equivalent"],
                         "label": lab[(r["task"], r["other"])]})
    return pd.DataFrame(rows)


def regime_prediction(scores, archs, task_list):
    """Does each row of the study's regime map name the winner on real data? Per (row, real task):
    the row's best arch's rank by centre, the task's best arch by centre, and the test of the
    task's best against the row's best (Holm over the table): the row predicts the winner on a
    task when its arch is the best there or not significantly worse than the best."""
    s = scores[scores["arch"].isin(archs) & ~scores["diverged"].astype(bool)]
    best, ranks = {}, {}
    for t in task_list:
        d = s[s["task"] == t]
        if d.empty:
            continue
        metric = d["metric"].iloc[0]
        cen = d.groupby("arch")["score"].apply(lambda v: stats.center(v, stats.scale_of(metric))[0])
        order = cen.sort_values(ascending=stats.LOWER_IS_BETTER[metric])
        best[t], ranks[t] = order.index[0], {a: i + 1 for i, a in enumerate(order.index)}
    rows_map = published.regime_map()
    pairs = list(dict.fromkeys((t, best[t], r["best"]) for r in rows_map for t in best
                               if r["best"] != best[t] and r["best"] in ranks[t]))
    fam = common.compare_pairs(scores, pairs)
    out = []
    for r in rows_map:
        for t in best:
            a = r["best"]
            if a not in ranks[t]:
                out.append({"task type (study)": r["type"], "study's best": a, "real task": t,
                            "rank": "not run", "best on real task": best[t], "best vs it": "–",
                            "predicts the winner": "not run"})
                continue
            hit = fam[(fam["task"] == t) & (fam["arch"] == best[t]) & (fam["other"] == a)] if len(fam) else fam
            beaten = bool(len(hit) and hit["better"].iloc[0])
            out.append({"task type (study)": r["type"], "study's best": a, "real task": t,
                        "rank": f"{ranks[t][a]} of {len(ranks[t])}", "best on real task": best[t],
                        "best vs it": hit["effect (ci)"].iloc[0] if len(hit) else "(is the best)",
                        "predicts the winner": "no" if beaten else "yes"})
    return pd.DataFrame(out)


def tables(cfg, st, tuned_metrics, check_metrics, chosen):
    """Everything the notebook shows: scores (CSV real_scores), the answer's families with labels
    checked against torch's kernels (CSV real_answer), the regime-map rows' predictions (CSV
    real_regime) and the variance split into data splits and seeds."""
    scores = common.replica_scores(tuned_metrics, st.archs, st.tasks)
    s = score_table(tuned_metrics, chosen)
    fams = answer_families(scores, st.tasks)
    fams_k = answer_families(common.replica_scores(check_metrics, st.archs, st.tasks), st.tasks)
    lab_np, lab_k = labels(fams), labels(fams_k)
    lab = checked_labels(lab_np, lab_k)
    ans = answer_table(fams, lab).assign(**{"label (torch kernels)": lambda d: [
        lab_k.get((t, o), "–") for t, o in zip(d["task"], d["SinGLU vs"])]})
    cfg.table(s.drop(columns=["per_seed"], errors="ignore"), "real_scores")
    cfg.table(ans, "real_answer")
    reg = cfg.table(regime_prediction(scores, st.archs, st.tasks), "real_regime")
    return {"scores": scores, "summary": s, "families": fams, "labels": lab, "labels_np": lab_np,
            "answer": ans, "regime": reg, "variance": rk.variance_table(tuned_metrics, st.tasks)}


def shown(tab):
    """The score table as the notebook shows it."""
    return common.display_table(tab["summary"], extra=("tuned lr", "rank", "PSNR (dB)"))


# ----------------------------------------------------------------------------- readings

def vanilla_labels(lab, task_list):
    return {t: lab.get((t, "vanilla"), UNDECIDED) for t in task_list}


def scores_text(tab):
    s = tab["summary"]
    best = s[s["rank"] == 1].drop_duplicates("task")
    parts = []
    for _, r in best.iterrows():
        extra = f", PSNR {r['PSNR (dB)']} dB" if r["task"] == IMAGE else ""
        parts.append(f"{r['task']}: {r['arch']} ({r['centre [95% CI]']}{extra})")
    return "Best arch per real task by its centre: " + "; ".join(parts) + "."


def answer_text(tab, st):
    lab = tab["labels"]
    v = vanilla_labels(lab, st.tasks)
    sine = sine_tasks(lab, st.tasks)
    flipped = sum(tab["labels_np"][k] != lab[k] for k in lab)
    return ("SinGLU vs Vanilla, per task: " + ", ".join(f"{t} {l}" for t, l in v.items())
            + f": the advantage **{survives(v)}** on real data. SinGLU beats all three non-periodic GLUs on "
            f"{len(sine)}/{len(st.tasks)} real tasks ({', '.join(sine) or 'none'}); "
            f"{flipped} label{'s' if flipped != 1 else ''} changed with torch's kernels.")


def regime_text(tab):
    r = tab["regime"]
    ok = r[r["predicts the winner"] == "yes"]
    rows = r.groupby("task type (study)", sort=False)["predicts the winner"].apply(lambda v: (v == "yes").all())
    return (f"{len(ok)} of {len(r)} (row, real task) pairs name an arch that is best or not significantly worse than "
            f"the best; rows whose arch does so on every real task: {', '.join(rows[rows].index) or 'none'}.")


def variance_text(tab):
    v = tab["variance"]
    if not len(v) or v["data"].isna().all():
        return "No variance split (one data split)."
    med = v.groupby("task", sort=False)["data"].median()
    return ("Median share of the replicas' variance that lies between data splits: "
            + ", ".join(f"{t} {100 * x:.0f}%" for t, x in med.items()) + "; the rest is initialisation.")


# ----------------------------------------------------------------------------- figures

def fig_scores(tab, cfg, st):
    """Every replica per arch and task, the centre, the sanity baselines; saved as 09_real_scores."""
    s, summ = tab["scores"], tab["summary"]
    fig, axes = plots.grid(len(st.tasks), ncols=len(st.tasks))
    for ax, t in zip(axes, st.tasks):
        d = s[(s["task"] == t) & ~s["diverged"].astype(bool)]
        sm = summ[summ["task"] == t]
        metric = d["metric"].iloc[0]
        base = ({"predict-mean": sm["predict_mean_mse"].iloc[0], "predict-zero": sm["predict_zero_mse"].iloc[0]}
                if metric == "mse" else {"chance": sm["chance_accuracy"].iloc[0]})
        plots.replicas(d, ax, order=list(sm["arch"]), center=dict(zip(sm["arch"], sm["mean"])), baselines=base,
                       log=metric == "mse", title=t, ylabel=f"test {metric}")
    fig.tight_layout()
    cfg.save(fig, "09_real_scores", caption=(
        f"Every replica's test score on the real tasks ({len(cfg.seeds)} seeds × {len(cfg.data_seeds)} data "
        "splits per arch, each arch at its tuned learning rate), archs ordered best first by the centre (black bar: "
        "geometric mean for MSE, mean for accuracy), with the sanity baselines dashed. " + scores_text(tab)))


def reconstructions(results, task, archs, seed=0, data_seed=0):
    """The image and each arch's fit on the full pixel grid (seed `seed`, split `data_seed`):
    {"image": (size, size), "train mask": (size, size) bool, arch: (size, size)}, and the test
    PSNR per arch."""
    t = tasks.make(task, seed=data_seed)
    size = t.options["size"]
    x, img = tasks.camera_grid(size)
    x = x.float()
    mask = torch.zeros(size * size, dtype=torch.bool)
    mask[tasks.pixel_index(t.x_train, size)] = True
    out, score = {"image": img.numpy(), "train mask": mask.reshape(size, size).numpy()}, {}
    m = results.metrics
    for a in archs:
        sel = m[(m["arch"] == a) & (m["task"] == task) & (m["seed"] == seed) & (m["data_seed"] == data_seed)]
        if sel.empty:
            continue
        net = results.model(a, task, seed, data_seed=data_seed)
        with torch.no_grad():
            out[a] = net(x)[:, 0].reshape(size, size).numpy()
            score[a] = float(psnr(float(((net(t.x_test) - t.y_test) ** 2).mean())))
    return out, score


def fig_reconstructions(results, cfg, st):
    """The image, the pixels trained on, and the fits of RECON_ARCHS side by side; saved as
    09_reconstructions."""
    if IMAGE not in st.tasks:
        return nbk.say(f"No image task in this run (real_tasks lacks {IMAGE}).")
    rec, score = reconstructions(results, IMAGE, [a for a in RECON_ARCHS if a in st.archs])
    names = ["image", "train mask"] + list(score)
    fig, axes = plt.subplots(1, len(names), figsize=(1.9 * len(names), 2.3))
    for ax, n in zip(np.atleast_1d(axes), names):
        ax.imshow(rec[n], cmap="gray", vmin=0 if n == "train mask" else -1, vmax=1, interpolation="nearest")
        ax.set_title(n if n in ("image", "train mask") else f"{n}\n{score[n]:.1f} dB", fontsize=8)
        ax.set_axis_off()
    fig.tight_layout()
    cfg.save(fig, "09_reconstructions", caption=(
        f"The {IMAGE} photograph at {rec['image'].shape[0]}×{rec['image'].shape[1]}, the pixels trained on (white, "
        "data split 0), and each arch's fit on the whole grid (seed 0, tuned learning rate) with its test PSNR on "
        "the held-out pixels: " + ", ".join(f"{a} {v:.1f} dB" for a, v in score.items()) + "."))


def fig_effects(tab, cfg, st):
    """SinGLU against Vanilla and the GLUs per real task with 95% intervals; saved as 09_effects."""
    a = tab["answer"]
    fams = pd.concat(list(tab["families"].values()), ignore_index=True)
    fig, axes = plots.grid(len(st.tasks), ncols=len(st.tasks))
    for ax, t in zip(axes, st.tasks):
        d = fams[fams["task"] == t].reset_index(drop=True)
        if d.empty:
            continue
        log = d["scale"].iloc[0] == "log"
        k = 1.0 if log else 100.0
        for i, r in d.iterrows():
            ax.errorbar([k * r["estimate"]], [i], xerr=[[k * (r["estimate"] - r["low"])], [k * (r["high"] - r["estimate"])]],
                        fmt="o", c=plots.color(r["other"]), capsize=3)
        ax.axvline(1.0 if log else 0.0, c="k", lw=0.8)
        ax.set_yticks(range(len(d)), [f"vs {o}" for o in d["other"]], fontsize=7)
        ax.invert_yaxis()
        if log:
            ax.set_xscale("log")
            plots.log_ticks(ax, "x")
        ax.set_title(t, fontsize=8)
        ax.set_xlabel("SinGLU / other\n(geometric-mean MSE; < 1: SinGLU better)" if log
                      else "SinGLU − other\n(pp accuracy; > 0: SinGLU better)", fontsize=7)
    fig.tight_layout()
    v = vanilla_labels(tab["labels"], st.tasks)
    cfg.save(fig, "09_effects", caption=(
        "SinGLU against Vanilla and the three non-periodic GLUs on each real task, each arch at its tuned learning "
        "rate: ratio of geometric-mean test MSEs or difference of mean accuracies with Welch 95% intervals (not "
        f"Holm-adjusted; the labels are). Against Vanilla: {', '.join(f'{t} {l}' for t, l in v.items())}; "
        f"{int((a['label'] == ADVANTAGE).sum())} of {len(a)} comparisons are SinGLU advantages."))


# ----------------------------------------------------------------------------- answers

def answers(tab, st):
    """The notebook's answers (question, answer, evidence) for the paper's "Beyond the study" table."""
    lab = tab["labels"]
    v = vanilla_labels(lab, st.tasks)
    fam = tab["families"]["vanilla"]
    eff = {r["task"]: r["effect (ci)"] for _, r in fam.iterrows()}
    sine = sine_tasks(lab, st.tasks)
    r = tab["regime"]
    return [
        {"question": "Does SinGLU's advantage survive on real data?",
         "answer": f"Over Vanilla it {survives(v)} ("
                   + "; ".join(f"{t}: {v[t]}, {eff.get(t, '–')}" for t in st.tasks)
                   + f"); SinGLU beats all three non-periodic GLUs on {len(sine)}/{len(st.tasks)} real tasks "
                   f"({', '.join(sine) or 'none'}).",
         "evidence": "09_effects, real_answer.csv"},
        {"question": "Does the study's regime map predict the winner on real data?",
         "answer": f"{int((r['predicts the winner'] == 'yes').sum())} of {len(r)} (row, real task) pairs name the best "
                   "arch or one not significantly worse; best per task: "
                   + ", ".join(f"{t} {b}" for t, b in r.drop_duplicates("real task")[["real task", "best on real task"]]
                               .itertuples(index=False)) + ".",
         "evidence": "09_real_scores, real_regime.csv"},
    ]


def summary(answers_):
    """The notebook's closing text."""
    return "\n\n".join(f"**{a['question']}** {a['answer']}" for a in answers_)
