"""Notebook 09, beyond toy tasks: do the findings transfer to real data?

The finding's face: `settings` (the notebook's parameters checked), `experiments` (the learning-rate
trials on a validation share, the tuned runs on every data split once the rates are chosen, and
the answer's cells again with every initial weight moved by one ulp), `tables`, one function per figure (`fig_scores`,
`fig_reconstructions`, `fig_effects`, each saved with its caption), one line of reading per
section, `answers` and `summary`.

Protocol. The real tasks (`tasks.available("real")`: an image fitted as a function of its pixel
coordinates, a tabular regression, a tabular classification) read data bundled with
scikit-image and scikit-learn. Every (arch, task) is trained to validation by PROTOCOL_RULE
(stated here, before any data): one trial per rate of the grid on the training split minus a
validation share, its validation score logged along the way, and the (rate, step) with the best
logged score chosen: early stopping and the learning rate from one rule, the same for every arch.
Then `seeds` initialisation seeds on each of `data_seeds` splits (12 replicas in a full run) are
trained on the whole training split at the chosen rate for the chosen number of steps and scored
on the test split. Standard baselines (BASELINE_RULE: scikit-learn and scipy) are fitted on the
same splits and shown beside every score; the answers name their premise (PREMISE_RULE) and the
equivalence margin they use (MARGIN_RULE), and SinGLU meets Vanilla at equal width as well as at
equal budget (WIDTH_RULE).
"""
import dataclasses
import hashlib
import itertools
import json
import warnings
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from sklearn.exceptions import ConvergenceWarning

from .. import __version__, models, neurons, notebook as nbk, plots, protocol, published, stats, tasks, validate
from . import common, peers as pr, ranking as rk

REAL = tuple(tasks.available("real"))
GLU_OTHERS = tuple(neurons.available("glu", exclude=("periodic",)))   # SinGLU's GLU family without the sine
ANSWER_ARCHS = ("vanilla", "singlu") + GLU_OTHERS      # the answer's archs (rerun with the one-ulp perturbation)
RECON_ARCHS = ("vanilla", "singlu", "v10", "siren", "fan")
IMAGE = "camera"
QUICK_EXTRA = GLU_OTHERS + ("siren", "fan")            # quick mode adds these to its archs

ANSWER_RULE = (
    "Per real task, SinGLU against Vanilla and against each non-periodic GLU (bilinear, SwiGLU, GEGLU; same width "
    "and parameter count), every arch at its own rate and steps (PROTOCOL_RULE): stats.compare on the "
    "metric's scale (ratio of geometric-mean test MSEs or difference of mean test accuracies, Welch 95% interval, "
    "seeds x data splits replicas), Holm within each family (SinGLU vs Vanilla: one test per task; SinGLU vs the "
    "GLUs: one per GLU and task). A task counts as an advantage when SinGLU is Holm-significantly better, a "
    "disadvantage when significantly worse, no difference when TOST-equivalent (at MARGIN_RULE's margin), and "
    "undecided otherwise; a task that does not count under PREMISE_RULE (every arch below a baseline) is shown "
    "but left out. SinGLU's advantage over Vanilla survives on real data when it is an advantage on at least "
    "two of the counted tasks and a disadvantage on none; it does not survive when it is a disadvantage or no "
    "difference on at least two; otherwise the answer is undecided. Over the GLUs: the advantage comes from the "
    "sine on a counted task when SinGLU beats all three GLUs there. A label that changes when the same cells are trained "
    "with every initial weight moved by one ulp is reported as undecided (robustness check).")


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
    task_list = nbk.parse_list("real_tasks", real_tasks, str)
    for t in task_list:
        if t not in REAL:
            raise ValueError(f"real_tasks: unknown task {t!r}; valid choices: {', '.join(REAL)}")
    lrs = nbk.parse_list("tuning_lrs", tuning_lrs, float, positive=True)
    archs = list(dict.fromkeys(cfg.archs + (list(QUICK_EXTRA) if cfg.quick else [])))
    missing = [a for a in ANSWER_ARCHS if a not in archs]
    if missing:
        raise ValueError(f"archs must include {', '.join(ANSWER_ARCHS)} (the answer compares them); missing "
                         f"{', '.join(missing)} (got {', '.join(archs)})")
    return Settings(archs=archs, tasks=task_list, lrs=lrs[: 2 if cfg.quick else None],
                    validation=validate.fraction("validation", validation, 0.5))


CHECKPOINTS = 300         # validation scores logged per tuning trial (every steps // CHECKPOINTS steps: 10 of 3,000)

PROTOCOL_RULE = (
    "Every (arch, task) is trained once per rate of the grid (seed 0, data split 0) on its training split minus the "
    "last `validation` share, for `steps` full-batch Adam steps, its score on the held-out share logged "
    f"{CHECKPOINTS} times along the way (every steps/{CHECKPOINTS} steps). The rate and the number of steps are the "
    "logged (rate, step) with the best validation score (lowest MSE, highest accuracy) over every rate and every "
    "logged step after the start; a diverged trial's points are never chosen; exact ties go to fewer steps, then to "
    "the smaller rate. This is early stopping on validation, the same rule for every arch and every task: the final "
    "runs train on the whole training split at the chosen rate for the chosen number of steps (Adam without a "
    "schedule, so this is the checkpoint at that step of a longer run) and are scored once on the test split. No "
    "weight decay: the engine's Adam has none, and the number of steps is the regulariser validation chooses. A "
    "regression arch whose test centre is worse than predicting the training mean is named with its reason: every "
    "(rate, step) tried was worse than the mean on validation too (no reasonable setting learns the task), or "
    "validation chose a setting that did not carry over to the test split.")


def tuning_grid(archs, task_list, steps, lrs, validation):
    """The tuning trials: one per rate per (arch, task), stacked in one cell, on the validation
    share, logging the validation score CHECKPOINTS times (`peers.tuning_grid` with a finer log)."""
    return protocol.main_grid(archs, task_list, [pr.TUNING_SEED], steps, lr=[float(v) for v in lrs],
                              task_options={"validation": float(validation)},
                              log_every=max(1, steps // CHECKPOINTS))


def tuned_grids(chosen, seeds, data_seeds, **overrides):
    """The final runs: one Experiment per (arch, task) at its chosen rate for its chosen number of
    steps, `seeds` on each of `data_seeds`; `overrides` as in `protocol.main_grid` (kernels, width,
    budget)."""
    return [protocol.main_grid([r.arch], [r.task], seeds, int(r.steps), data_seeds=data_seeds, lr=float(r.lr),
                               **overrides) for r in chosen.itertuples()]


def experiments(cfg, st, chosen=None):
    """The notebook's experiments by name: "tuning" (`tuning_grid`) and, once the rate and steps
    are chosen (`chosen`, from `lr_tables`), "tuned" (a list: each (arch, task) at its rate and
    steps, `cfg`'s seeds on each of its data splits), "check" (the answer's archs' tuned cells
    again with every initial weight moved by one ulp) and "width" (WIDTH_RULE's runs: SinGLU at Vanilla's width, Vanilla
    at SinGLU's width, and both at LARGE_BUDGET on the image)."""
    out = {"tuning": tuning_grid(st.archs, st.tasks, cfg.steps, st.lrs, st.validation)}
    if chosen is not None:
        out["tuned"] = tuned_grids(chosen, cfg.seeds, cfg.data_seeds)
        mine = chosen[chosen["arch"].isin(ANSWER_ARCHS)]
        out["check"] = tuned_grids(mine, cfg.seeds, cfg.data_seeds, **protocol.CHECK)
        out["width"] = width_grids(chosen, cfg.seeds, cfg.data_seeds, st.tasks)
    return out


# ----------------------------------------------------------------------------- training to validation

def validation_curves(tuning_history):
    """The tuning trials' logged validation scores: arch, task, lr, step, metric, score (NaN where
    a trial had diverged)."""
    h = tuning_history[tuning_history["quantity"].str.startswith("test_") & (tuning_history["layer"] == "all")]
    return pd.DataFrame({"arch": h["arch"].values, "task": h["task"].values, "lr": h["lr"].astype(float).values,
                         "step": h["step"].astype(int).values, "metric": h["quantity"].str[5:].values,
                         "score": h["value"].astype(float).values})


def choose_checkpoint(curves):
    """PROTOCOL_RULE on validation curves (`validation_curves`): per (arch, task) the (lr, step)
    with the best score among the logged steps after 0 (NaN never chosen; ties to fewer steps,
    then the smaller lr). Columns arch, task, lr, steps, val_score, val_last (that rate's score at
    its last logged step), trials (rates tried), stopped_early (steps < the trial's last step).
    A pair with no finite point keeps the smallest rate and the full length, val_score NaN."""
    rows = []
    for (arch, task), g in curves.groupby(["arch", "task"], sort=False):
        lower = stats.LOWER_IS_BETTER[g["metric"].iloc[0]]
        last = int(g["step"].max())
        ok = g[(g["step"] > 0) & np.isfinite(g["score"])]
        if ok.empty:
            best = {"lr": float(g["lr"].min()), "steps": last, "val_score": np.nan}
        else:
            r = ok.assign(key=ok["score"] if lower else -ok["score"]).sort_values(["key", "step", "lr"]).iloc[0]
            best = {"lr": float(r["lr"]), "steps": int(r["step"]), "val_score": float(r["score"])}
        at = g[(g["lr"] == best["lr"]) & (g["step"] == last)]["score"]
        rows.append({"arch": arch, "task": task, **best, "val_last": float(at.iloc[0]) if len(at) else np.nan,
                     "trials": g["lr"].nunique(), "stopped_early": best["steps"] < last})
    return pd.DataFrame(rows)


def lr_tables(cfg, st, tuning):
    """The rate and steps chosen per (arch, task) on the validation share (CSV real_tuned), with
    the validation predict-mean MSE beside regression rows, and "lr @ steps" as arch × task."""
    chosen = choose_checkpoint(validation_curves(tuning.history))
    m = tuning.metrics
    if "predict_mean_mse" in m:
        pm = m.groupby(["arch", "task"])["predict_mean_mse"].first().rename("val_predict_mean").reset_index()
        chosen = chosen.merge(pm, on=["arch", "task"], how="left")
    chosen = cfg.table(chosen, "real_tuned")
    wide = chosen.assign(v=[f"{lr:g} @ {n:,}" for lr, n in zip(chosen["lr"], chosen["steps"])])
    wide = wide.pivot(index="arch", columns="task", values="v").reindex(index=st.archs, columns=st.tasks)
    return {"tuned_lr": chosen, "lr_wide": wide.reset_index()}


def tuning_text(tab, steps):
    c = tab["tuned_lr"]
    return (f"Validation stopped {int(c['stopped_early'].sum())} of {len(c)} (arch, task) pairs before step "
            f"{steps:,}; median chosen steps per task: "
            + ", ".join(f"{t} {int(g['steps'].median()):,}" for t, g in c.groupby("task", sort=False)) + ".")


# ----------------------------------------------------------------------------- standard baselines

TRIVIAL = ("predict-mean", "majority class")
BASELINE_GRIDS = {                        # each baseline's hyper-parameter grid (chosen on validation)
    "ridge": {"alpha": [1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0, 1000.0]},
    "RBF SVR": {"C": [0.1, 1.0, 10.0, 100.0], "epsilon": [0.01, 0.1]},
    "logistic regression": {"C": [0.01, 0.1, 1.0, 10.0]},
    "RBF SVM": {"C": [0.1, 1.0, 10.0, 100.0]},
    "MLP (scikit-learn)": {"alpha": [1e-4, 1e-2, 1.0], "learning_rate_init": [1e-3, 1e-2]},
    "thin-plate RBF": {"smoothing": [0.0, 1e-3, 1e-2, 1e-1, 1.0]},
}
MLP_EPOCHS = 1000                         # scikit-learn MLP max_iter (quick mode: QUICK_EPOCHS)
QUICK_EPOCHS = 100

BASELINE_RULE = (
    "Standard baselines on the same data splits as the archs (the same `tasks.make` data the archs see), each "
    "fitted on a split's training set and scored on its test set with the archs' metric. Regression: predict-mean "
    "(the training mean), linear regression (least squares), ridge, an RBF support-vector regressor and a "
    "scikit-learn MLP; classification: the majority class, logistic regression, an RBF support-vector machine and a "
    "scikit-learn MLP; the image also: scipy's linear interpolation of the training pixels (`griddata`, the nearest "
    "pixel outside their convex hull) and a thin-plate-spline RBF interpolation (`RBFInterpolator`). The MLP has "
    "the archs' depth, ReLU units and the width whose parameter count is closest to the archs' budget (Adam, "
    f"minibatches of 200, up to {MLP_EPOCHS} epochs, random_state 0). Every hyper-parameter (BASELINE_GRIDS) is "
    "chosen as the archs' rate is: on the validation share of data split 0 (lowest MSE, highest accuracy; ties to "
    "the first in the grid), then used on every split.")


def mlp_width(in_dim, out_dim, budget=protocol.BUDGET, depth=protocol.DEPTH):
    """(width, parameters) of a scikit-learn MLP with `depth` equal hidden layers whose parameter
    count (weights and biases) is closest to `budget`."""
    count = lambda w: in_dim * w + w + (depth - 1) * (w * w + w) + w * out_dim + out_dim
    w = min(range(1, budget + 1), key=lambda w: (abs(count(w) - budget), w))
    return w, count(w)


def baselines_for(task):
    """The baselines of `task` (a `Task`) by BASELINE_RULE, in order."""
    if task.kind == "classification":
        return ["majority class", "logistic regression", "RBF SVM", "MLP (scikit-learn)"]
    out = ["predict-mean", "linear regression", "ridge", "RBF SVR", "MLP (scikit-learn)"]
    return out + (["linear interpolation", "thin-plate RBF"] if task.name == IMAGE else [])


def param_grid(name):
    """Every setting of baseline `name`'s grid (BASELINE_GRIDS), as dicts in grid order."""
    g = BASELINE_GRIDS.get(name, {})
    return [dict(zip(g, combo)) for combo in itertools.product(*g.values())]


def fit_predict(name, params, task, epochs=MLP_EPOCHS):
    """Baseline `name` with `params` fitted on `task`'s training set; its test-set predictions
    (regression: (n, out) floats; classification: (n,) classes)."""
    from scipy import interpolate
    from sklearn import linear_model, neural_network, svm
    x, xt = task.x_train.double().numpy(), task.x_test.double().numpy()
    reg = task.kind == "regression"
    y = task.y_train.double().numpy() if reg else task.y_train.numpy()
    if name in TRIVIAL:
        return (np.broadcast_to(y.mean(0), (len(xt), y.shape[1])) if reg
                else np.full(len(xt), np.bincount(y).argmax()))
    if name == "linear interpolation":
        p = interpolate.griddata(x, y, xt, method="linear")
        return np.where(np.isfinite(p), p, interpolate.griddata(x, y, xt, method="nearest"))
    if name == "thin-plate RBF":
        return interpolate.RBFInterpolator(x, y, kernel="thin_plate_spline", **params)(xt)
    if name == "MLP (scikit-learn)":
        cls = neural_network.MLPRegressor if reg else neural_network.MLPClassifier
        model = cls(hidden_layer_sizes=(mlp_width(task.in_dim, task.out_dim)[0],) * protocol.DEPTH,
                    max_iter=epochs, early_stopping=True, random_state=0, **params)
    elif name == "logistic regression":
        model = linear_model.LogisticRegression(max_iter=5000, **params)
    else:
        model = {"linear regression": linear_model.LinearRegression, "ridge": linear_model.Ridge,
                 "RBF SVR": svm.SVR, "RBF SVM": svm.SVC}[name](**params)
    single = reg and name in ("RBF SVR", "MLP (scikit-learn)")        # one output column at a time
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if single:
            return np.stack([model.fit(x, y[:, j]).predict(xt) for j in range(y.shape[1])], 1)
        p = model.fit(x, y).predict(xt)
    return p.reshape(len(xt), -1) if reg else p


def score_of(task, pred):
    """The archs' test metric of predictions `pred` on `task`: MSE over all elements, or accuracy."""
    if task.kind == "regression":
        return float(((np.asarray(pred, float) - task.y_test.double().numpy()) ** 2).mean())
    return float((np.asarray(pred) == task.y_test.numpy()).mean())


def choose_params(name, task, epochs=MLP_EPOCHS):
    """BASELINE_RULE's choice for baseline `name` on a validation task: (params, validation score)."""
    lower = task.kind == "regression"
    best = None
    for params in param_grid(name):
        v = score_of(task, fit_predict(name, params, task, epochs))
        if best is None or (v < best[1] if lower else v > best[1]):
            best = (params, v)
    return best


def baseline_scores(task_list, data_seeds, validation, quick=False):
    """Every baseline of every task on every data split (BASELINE_RULE): one row per (task,
    baseline, data_seed) with metric, score (test MSE or accuracy), the chosen params and their
    validation score."""
    epochs = QUICK_EPOCHS if quick else MLP_EPOCHS
    rows = []
    for t in task_list:
        val = tasks.make(t, seed=data_seeds[0], validation=float(validation))
        for name in baselines_for(val):
            params, v = choose_params(name, val, epochs)
            for d in data_seeds:
                task = tasks.make(t, seed=d)
                rows.append({"task": t, "baseline": name, "data_seed": d, "metric": task.metric,
                             "score": score_of(task, fit_predict(name, params, task, epochs)),
                             "params": ", ".join(f"{k}={x:g}" for k, x in params.items()) or "–",
                             "val_score": v})
    return pd.DataFrame(rows)


def baseline_summary(base):
    """Per (task, baseline): the centre over data splits (geometric mean for MSE, mean for
    accuracy, as the archs'), the params and the task's `natural` number."""
    rows = []
    for (t, b), g in base.groupby(["task", "baseline"], sort=False):
        metric = g["metric"].iloc[0]
        rows.append({"task": t, "baseline": b, "metric": metric,
                     "centre": stats.center(g["score"], stats.scale_of(metric))[0], "params": g["params"].iloc[0],
                     "natural": natural(t, g["score"], g["data_seed"]), "splits": len(g)})
    return pd.DataFrame(rows)


def baselines(cfg, st):
    """The baselines of the run (CSV real_baselines, one row per split) and their summary. They are
    kept in the results store (`cache_dir`/baselines/<hash of the rule, grids, splits and library
    versions>.csv): the image's MLP takes minutes to tune."""
    import sklearn
    import scipy
    key = json.dumps({"rule": BASELINE_RULE, "grids": BASELINE_GRIDS, "tasks": st.tasks, "splits": list(cfg.data_seeds),
                      "validation": st.validation, "quick": cfg.quick, "versions": [sklearn.__version__,
                      scipy.__version__, __version__]}, sort_keys=True)
    path = Path(cfg.cache_dir) / "baselines" / f"{hashlib.sha256(key.encode()).hexdigest()[:20]}.csv"
    if path.exists():
        base = pd.read_csv(path, keep_default_na=False, na_values=[""])
    else:
        base = baseline_scores(st.tasks, cfg.data_seeds, st.validation, cfg.quick)
        path.parent.mkdir(parents=True, exist_ok=True)
        base.to_csv(path, index=False)
    base = cfg.table(base, "real_baselines")
    return {"baselines": base, "baseline_summary": baseline_summary(base)}


# ----------------------------------------------------------------------------- units

def psnr(mse):
    """Peak signal-to-noise ratio (dB) of an MSE on intensities in [−1, 1] (peak-to-peak 2)."""
    return 10.0 * np.log10(4.0 / np.asarray(mse, dtype=float))


def _test_variance(task, data_seed):
    y = tasks.make(task, seed=int(data_seed)).y_test.double()
    return float(((y - y.mean(0)) ** 2).mean())


NATURAL_UNIT = {IMAGE: "PSNR (dB)", "diabetes": "R²", "digits": "accuracy (%)"}


def natural(task, scores, data_seeds):
    """The task's customary number for per-replica test scores: on the image the PSNR of the
    geometric-mean MSE (the mean PSNR); on diabetes the mean R² = 1 − MSE / the test split's
    variance; on digits the mean accuracy in %."""
    v = np.asarray(scores, float)
    ok = np.isfinite(v)
    v, d = v[ok], np.asarray(data_seeds)[ok]
    if not len(v):
        return np.nan
    if task == IMAGE:
        return float(psnr(np.exp(np.log(v).mean())))
    if task == "diabetes":
        return float(np.mean([1 - x / _test_variance(task, s) for x, s in zip(v, d)]))
    return float(100 * v.mean())


def fmt_natural(task, value):
    return "–" if not np.isfinite(value) else (f"{value:.3f}" if task == "diabetes" else f"{value:.2f}")


# ----------------------------------------------------------------------------- tables

PREMISE_RULE = (
    "A task counts as evidence for or against the sine only when at least one arch of the run beats every baseline "
    "of BASELINE_RULE there (its centre better than each baseline's centre over the splits). Where every arch is "
    "below a trivial baseline (predict-mean, the majority class) the comparison is between models that have not "
    "learnt the task; where every arch is below a standard baseline it is between models that learn the task less "
    "well than that baseline. Either way the task's labels are shown but marked not counted, and the answer says "
    "so.")

TIGHT_MARGIN = {"log": 10 ** (0.2 / 10), "linear": 0.005}      # 0.2 dB of PSNR (×1.047 in MSE); 0.5 pp
MARGIN_RULE = (
    f"The equivalence margin is stats.EQUIVALENCE (×{stats.EQUIVALENCE['log']:g} in MSE, "
    f"{100 * stats.EQUIVALENCE['linear']:g} pp of accuracy) unless its equivalence interval is at least as wide as "
    "the field's spread on the task (the range of every arch's centre there: the ratio worst/best for MSE, the "
    "difference for accuracy); such a margin would call almost any two archs equivalent, so it is named and the "
    f"tighter margin is used: ×{TIGHT_MARGIN['log']:.3f} in MSE (0.2 dB of PSNR) or "
    f"{100 * TIGHT_MARGIN['linear']:g} pp.")

NOT_COUNTED = "not counted"


def score_table(metrics, chosen):
    """Per (task, arch): the centre with its 95% interval, every replica, the sanity baselines,
    the chosen lr and steps and the task's `natural` number; rows by task, best first."""
    s = common.score_table(metrics)
    s = s.merge(chosen[["arch", "task", "lr", "steps"]].rename(columns={"lr": "tuned lr"}),
                on=["arch", "task"], how="left")
    nat = {k: natural(k[1], g["score"], g["data_seed"])
           for k, g in common.replica_scores(metrics).groupby(["arch", "task"])}
    s["natural"] = [nat.get((a, t), np.nan) for a, t in zip(s["arch"], s["task"])]
    lower = s["scale"] == "log"                      # MSE: lower is better
    s["rank"] = s.assign(key=np.where(lower, s["mean"], -s["mean"])).groupby("task")["key"].rank(method="min")
    s["task"] = pd.Categorical(s["task"], [t for t in REAL if t in set(s["task"])], ordered=True)
    return s.sort_values(["task", "rank"]).reset_index(drop=True)


def premise(summary, base_summary):
    """PREMISE_RULE per task: the best arch and its centre, the best baseline and its centre, and
    the premise: "" (an arch beats every baseline), "trivial" or "standard" (every arch is below
    that kind of baseline), with the baseline that every arch is below."""
    rows = []
    for t, g in summary.groupby("task", sort=False, observed=True):
        lower = g["scale"].iloc[0] == "log"
        best = g.loc[g["mean"].idxmin() if lower else g["mean"].idxmax()]
        b = base_summary[base_summary["task"] == t]
        worse = lambda c: c < best["mean"] if lower else c > best["mean"]
        beaten = b[[worse(c) for c in b["centre"]]]
        triv = beaten[beaten["baseline"].isin(TRIVIAL)]
        top = b.loc[b["centre"].idxmin() if lower else b["centre"].idxmax()] if len(b) else None
        kind = "trivial" if len(triv) else ("standard" if len(beaten) else "")
        rows.append({"task": t, "best arch": best["arch"], "best arch centre": best["mean"],
                     "best baseline": None if top is None else top["baseline"],
                     "best baseline centre": np.nan if top is None else top["centre"],
                     "premise": kind, "every arch below": ", ".join((triv if len(triv) else beaten)["baseline"])})
    return pd.DataFrame(rows)


def counted(premises):
    """{task: True when the task counts as evidence under PREMISE_RULE}."""
    return {r["task"]: not r["premise"] for _, r in premises.iterrows()}


def margins(summary):
    """MARGIN_RULE per task: the field's spread, the default margin, whether it is at least as
    wide as the spread, and the margin used (with its PSNR width on the image)."""
    rows = []
    for t, g in summary.groupby("task", sort=False, observed=True):
        scale = g["scale"].iloc[0]
        c = g["mean"].dropna()
        spread = float(c.max() / c.min()) if scale == "log" else float(c.max() - c.min())
        m = stats.EQUIVALENCE[scale]
        wide = (m ** 2 >= spread) if scale == "log" else (2 * m >= spread)
        used = TIGHT_MARGIN[scale] if wide else m
        txt = lambda v: (f"×{v:.3f} (±{10 * np.log10(v):.2f} dB)" if t == IMAGE else f"×{v:.3f}") if scale == "log" \
            else f"{100 * v:g} pp"
        rows.append({"task": t, "scale": scale, "field spread": (f"×{spread:.2f} ({10 * np.log10(spread):.2f} dB)"
                     if t == IMAGE else f"×{spread:.2f}") if scale == "log" else f"{100 * spread:.1f} pp",
                     "default margin": txt(m), "default wider than the field": bool(wide), "margin used": txt(used),
                     "margin": used})
    return pd.DataFrame(rows)


def with_margins(fam, scores, margin_of):
    """`fam` (from `common.compare_pairs(..., margin=False)`) with TOST equivalence at each task's
    margin (`margin_of`: {task: margin}); the Holm part is unchanged."""
    s = scores[~scores["diverged"].astype(bool)]
    eq = []
    for _, r in fam.iterrows():
        g = s[s["task"] == r["task"]]
        c = common.compare(g[g["arch"] == r["arch"]], g[g["arch"] == r["other"]], scale=r["scale"],
                           margin=margin_of[r["task"]])       # at the level of the splits (data draws)
        eq.append(c.equivalent)
    return fam.assign(equivalent=pd.Series(eq, index=fam.index, dtype=object),     # True/False/None as label() reads
                      margin=[margin_of[t] for t in fam["task"]])


def answer_families(scores, task_list, margin_of=None):
    """The two Holm families of the answer (`common.compare_pairs`): SinGLU vs Vanilla on each
    task, and SinGLU vs each non-periodic GLU on each task; TOST at `margin_of` ({task: margin};
    None: stats.EQUIVALENCE)."""
    margin_of = margin_of or {t: stats.EQUIVALENCE[stats.scale_of("accuracy" if tasks.make(t).kind ==
                                                                   "classification" else "mse")] for t in task_list}
    fams = {"vanilla": [(t, "singlu", "vanilla") for t in task_list],
            "glu": [(t, "singlu", g) for t in task_list for g in GLU_OTHERS]}
    return {k: with_margins(common.compare_pairs(scores, p, margin=False), scores, margin_of)
            for k, p in fams.items()}


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
    """The labels of `primary` (as trained), undecided where the one-ulp perturbation (`other`) gives another."""
    return {k: (v if other.get(k) == v else UNDECIDED) for k, v in primary.items()}


def survives(task_labels):
    """The answer over Vanilla under ANSWER_RULE from {task: label} (NOT_COUNTED tasks are left
    out): "survives", "does not survive" or "undecided"."""
    vals = [v for v in task_labels.values() if v != NOT_COUNTED]
    if sum(v == ADVANTAGE for v in vals) >= 2 and DISADVANTAGE not in vals:
        return "survives"
    if sum(v in (DISADVANTAGE, NO_DIFFERENCE) for v in vals) >= 2:
        return "does not survive"
    return "undecided"


def sine_tasks(lab, task_list, count=None):
    """Tasks (counted ones, when `count` {task: bool} is given) where SinGLU beats all three
    non-periodic GLUs (checked labels)."""
    return [t for t in task_list if (count is None or count.get(t, True))
            and all(lab.get((t, g)) == ADVANTAGE for g in GLU_OTHERS)]


def answer_table(fams, lab, count=None):
    """Both families, one row per comparison, with the Holm p, TOST at the margin used, the
    checked label and whether the task counts (PREMISE_RULE)."""
    rows = []
    for name, f in fams.items():
        for _, r in f.iterrows():
            rows.append({"task": r["task"], "SinGLU vs": r["other"], "effect (ci)": r["effect (ci)"],
                         "p (Holm)": stats.fmt_p(r["p_holm"]), "margin": stats.fmt(r["margin"]),
                         "equivalent (TOST)": r["equivalent"], "label": lab[(r["task"], r["other"])],
                         "counted": True if count is None else count.get(r["task"], True)})
    return pd.DataFrame(rows)


# ----------------------------------------------------------------------------- width and budget

LARGE_BUDGET = 4 * protocol.BUDGET
WIDTH_RULE = (
    "SinGLU against Vanilla three ways on every real task, each arch at its own rate and steps chosen at the "
    f"{protocol.BUDGET:,}-parameter budget: at equal budget (the main runs), at Vanilla's width (SinGLU with about "
    "twice Vanilla's parameters) and at SinGLU's width (Vanilla with about half SinGLU's), and on the image also at "
    f"{LARGE_BUDGET:,} parameters each (so that capacity is not the only limit). One Holm family of stats.compare "
    "tests, TOST at MARGIN_RULE's margin. An equal-budget difference comes from width when it is gone (another "
    "label) at both equal widths, is not from width when it keeps its label at both, and partly from width otherwise.")


def width_grids(chosen, seeds, data_seeds, task_list):
    """WIDTH_RULE's runs (a list of Experiments): SinGLU at Vanilla's width and Vanilla at SinGLU's
    width on every task, both at LARGE_BUDGET on the image, at their chosen rate and steps."""
    c = chosen.set_index(["arch", "task"])
    out = []
    for t in task_list:
        probe = tasks.make(t)
        w = {a: models.width_for_budget(a, probe.in_dim, probe.out_dim, protocol.BUDGET, protocol.DEPTH)[0]
             for a in ("vanilla", "singlu")}
        for a, other in (("singlu", "vanilla"), ("vanilla", "singlu")):
            r = c.loc[(a, t)]
            out.append(protocol.main_grid([a], [t], seeds, int(r["steps"]), data_seeds=data_seeds, lr=float(r["lr"]),
                                          budget=None, width=w[other]))
            if t == IMAGE:
                out.append(protocol.main_grid([a], [t], seeds, int(r["steps"]), data_seeds=data_seeds,
                                              lr=float(r["lr"]), budget=LARGE_BUDGET))
    return out


def _setting(m):
    """Per metrics row: "arch|width|budget" (budget "–" for a run at a fixed width)."""
    b = m["budget"].map(lambda v: "–" if v is None or pd.isna(v) else f"{int(v)}")
    return m["arch"] + "|" + m["width"].astype(int).astype(str) + "|" + b


def width_family(tuned_metrics, width_metrics, task_list, margin_of):
    """WIDTH_RULE's family: one row per (task, comparison) with both sides' width and parameters,
    the effect, Holm p, TOST at the task's margin and the label."""
    m = pd.concat([tuned_metrics[tuned_metrics["arch"].isin(["vanilla", "singlu"])], width_metrics], ignore_index=True)
    m = m[m["task"].isin(task_list)]
    sc = common.replica_scores(m).assign(arch=_setting(m).values)
    params = dict(zip(_setting(m), m["params"]))
    pairs, kind = [], {}
    for t in task_list:
        d = m[m["task"] == t]
        base = d[d["budget"] == protocol.BUDGET]
        w = dict(zip(base["arch"], base["width"].astype(int)))
        if set(w) != {"vanilla", "singlu"}:
            continue
        s5, v5 = f"singlu|{w['singlu']}|{protocol.BUDGET}", f"vanilla|{w['vanilla']}|{protocol.BUDGET}"
        cand = [("equal budget", s5, v5), (f"equal width {w['vanilla']} (Vanilla's)", f"singlu|{w['vanilla']}|–", v5),
                (f"equal width {w['singlu']} (SinGLU's)", s5, f"vanilla|{w['singlu']}|–")]
        big = d[d["budget"] == LARGE_BUDGET]
        if set(big["arch"]) == {"vanilla", "singlu"}:
            bw = dict(zip(big["arch"], big["width"].astype(int)))
            cand.append((f"budget {LARGE_BUDGET:,}", f"singlu|{bw['singlu']}|{LARGE_BUDGET}",
                         f"vanilla|{bw['vanilla']}|{LARGE_BUDGET}"))
        for name, a, b in cand:
            if a in set(sc["arch"]) and b in set(sc["arch"]):
                pairs.append((t, a, b))
                kind[(t, a, b)] = name
    fam = with_margins(common.compare_pairs(sc, pairs, margin=False), sc, margin_of)
    if not len(fam):
        return pd.DataFrame(columns=["task", "comparison", "SinGLU width (params)", "Vanilla width (params)",
                                     "effect (ci)", "p (Holm)", "equivalent (TOST)", "label"])
    side = lambda k: f"{k.split('|')[1]} ({params[k]:,})"
    return pd.DataFrame({"task": fam["task"], "comparison": [kind[(t, a, b)] for t, a, b in
                                                             zip(fam["task"], fam["arch"], fam["other"])],
                         "SinGLU width (params)": fam["arch"].map(side), "Vanilla width (params)": fam["other"].map(side),
                         "effect (ci)": fam["effect (ci)"], "p (Holm)": fam["p_holm"].map(stats.fmt_p),
                         "equivalent (TOST)": fam["equivalent"], "label": fam.apply(label, axis=1)})


def width_reading(width_tab):
    """Per task, WIDTH_RULE's reading of the equal-budget label: "from width", "not from width",
    "partly from width", or "nothing to attribute" (no equal-budget difference)."""
    out = {}
    for t, g in width_tab.groupby("task", sort=False):
        lab = dict(zip(g["comparison"], g["label"]))
        b = lab.get("equal budget")
        eq = [v for k, v in lab.items() if k.startswith("equal width")]
        if b not in (ADVANTAGE, DISADVANTAGE) or not eq:
            out[t] = "nothing to attribute"
        elif all(v == b for v in eq):
            out[t] = "not from width"
        elif all(v != b for v in eq):
            out[t] = "from width"
        else:
            out[t] = "partly from width"
    return out


def below_mean(summary, metrics, chosen):
    """PROTOCOL_RULE's named exceptions: regression archs whose test centre is worse than the
    centre of predicting the training mean, with the reason (validation: every setting tried was
    worse than the mean too, or the chosen one did not carry over)."""
    rows = []
    for _, r in summary[summary["scale"] == "log"].iterrows():
        pm = metrics[(metrics["arch"] == r["arch"]) & (metrics["task"] == r["task"])]["predict_mean_mse"]
        mean_c = stats.center(pm, "log")[0]
        if not r["mean"] > mean_c:
            continue
        c = chosen[(chosen["arch"] == r["arch"]) & (chosen["task"] == r["task"])]
        val, vm = (c["val_score"].iloc[0], c["val_predict_mean"].iloc[0]) if len(c) else (np.nan, np.nan)
        why = ("every (rate, step) tried was worse than the mean on validation too" if not val < vm else
               "validation chose a setting better than the mean that did not carry over to the test split")
        rows.append({"task": r["task"], "arch": r["arch"], "test centre": stats.fmt(r["mean"]),
                     "predict-mean": stats.fmt(mean_c), "reason": why})
    return pd.DataFrame(rows, columns=["task", "arch", "test centre", "predict-mean", "reason"])


def regime_prediction(scores, archs, task_list):
    """Does each row of the study's regime map name the winner on real data? Per (row, real task):
    the row's best arch's rank by centre, the task's best arch by centre, and the test of the
    task's best against the row's best (Holm over the distinct pairs): the row predicts the winner
    on a task when its arch is the best there or not significantly worse than the best."""
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


def distinct_pairs(regime):
    """The regime table's distinct (study's best arch, real task) pairs that were run, and those
    that name the winner (an arch on several rows of the map counts once per task)."""
    d = regime[regime["predicts the winner"] != "not run"].drop_duplicates(["study's best", "real task"])
    return len(d), int((d["predicts the winner"] == "yes").sum())


def headline(summary, base_summary, task_list):
    """One row per task in its customary number (NATURAL_UNIT): the best arch, Vanilla, SinGLU and
    every baseline (best first)."""
    rows = []
    for t in task_list:
        g = summary[summary["task"] == t]
        if g.empty:
            continue
        val = dict(zip(g["arch"], g["natural"]))
        best = g.iloc[0]["arch"]
        b = base_summary[base_summary["task"] == t].sort_values("natural", ascending=False)
        rows.append({"task": t, "unit": NATURAL_UNIT.get(t, ""), "best arch": f"{best} {fmt_natural(t, val[best])}",
                     "Vanilla": fmt_natural(t, val.get("vanilla", np.nan)),
                     "SinGLU": fmt_natural(t, val.get("singlu", np.nan)),
                     "baselines": ", ".join(f"{n} {fmt_natural(t, v)}" for n, v in zip(b["baseline"], b["natural"]))})
    return pd.DataFrame(rows)


def tables(cfg, st, tab, tuned_metrics, check_metrics, width_metrics):
    """Everything the notebook shows, from `tab` (the chosen rates and steps, the baselines) and
    the runs: scores (CSV real_scores), the premises and margins, the answer's families with labels
    checked against the one-ulp perturbation (CSV real_answer), the width family (CSV real_width), the
    regime-map rows' predictions (CSV real_regime), the named regression archs below
    predict-mean, the headline table (CSV real_headline) and the variance split."""
    chosen, bs = tab["tuned_lr"], tab["baseline_summary"]
    scores = common.replica_scores(tuned_metrics, st.archs, st.tasks)
    s = score_table(tuned_metrics, chosen)
    prem, marg = premise(s, bs), margins(s)
    count, margin_of = counted(prem), dict(zip(marg["task"], marg["margin"]))
    fams = answer_families(scores, st.tasks, margin_of)
    fams_k = answer_families(common.replica_scores(check_metrics, st.archs, st.tasks), st.tasks, margin_of)
    lab_np, lab_k = labels(fams), labels(fams_k)
    lab = checked_labels(lab_np, lab_k)
    ans = answer_table(fams, lab, count).assign(**{"label (one-ulp perturbation)": lambda d: [
        lab_k.get((t, o), "–") for t, o in zip(d["task"], d["SinGLU vs"])]})
    cfg.table(s.drop(columns=["per_seed"], errors="ignore"), "real_scores")
    cfg.table(ans, "real_answer")
    wid = cfg.table(width_family(tuned_metrics, width_metrics, st.tasks, margin_of), "real_width")
    reg = cfg.table(regime_prediction(scores, st.archs, st.tasks), "real_regime")
    head = cfg.table(headline(s, bs, st.tasks), "real_headline")
    return {"scores": scores, "summary": s, "families": fams, "labels": lab, "labels_np": lab_np, "answer": ans,
            "premise": prem, "counted": count, "margins": marg, "width": wid, "regime": reg, "headline": head,
            "below_mean": below_mean(s, tuned_metrics, chosen),
            "variance": rk.variance_table(tuned_metrics, st.tasks)}


def shown(tab):
    """The score table as the notebook shows it, each task's baselines as rows under its archs."""
    s = tab["summary"].assign(kind="arch", natural=[fmt_natural(t, v) for t, v in
                                                    zip(tab["summary"]["task"], tab["summary"]["natural"])])
    s["steps"] = s["steps"].map(lambda v: "–" if pd.isna(v) else f"{int(v):,}")
    arch = common.display_table(s, extra=("kind", "tuned lr", "steps", "rank", "natural"))
    b = tab["baseline_summary"]
    base = pd.DataFrame({"arch": b["baseline"], "task": b["task"], "kind": "baseline (" + b["params"] + ")",
                         "natural": [fmt_natural(t, v) for t, v in zip(b["task"], b["natural"])],
                         "centre [95% CI]": b["centre"].map(stats.fmt)})
    order = {t: i for i, t in enumerate(REAL)}
    out = pd.concat([arch, base], ignore_index=True).fillna("–")
    out = out.iloc[np.argsort([order.get(str(t), 99) for t in out["task"]], kind="stable")]
    return out.rename(columns={"natural": "R² / PSNR (dB) / accuracy (%)"}).reset_index(drop=True)


# ----------------------------------------------------------------------------- readings

def vanilla_labels(lab, task_list, count=None):
    """{task: SinGLU-vs-Vanilla label}, NOT_COUNTED where the task does not count (`count`)."""
    return {t: (lab.get((t, "vanilla"), UNDECIDED) if count is None or count.get(t, True) else NOT_COUNTED)
            for t in task_list}


def scores_text(tab):
    s = tab["summary"]
    best = s[s["rank"] == 1].drop_duplicates("task")
    return "Best arch per real task by its centre: " + "; ".join(
        f"{r['task']}: {r['arch']} ({r['centre [95% CI]']}, {NATURAL_UNIT.get(r['task'], '')} "
        f"{fmt_natural(r['task'], r['natural'])})" for _, r in best.iterrows()) + "."


def premise_text(tab):
    """PREMISE_RULE per task in words."""
    parts = []
    for _, r in tab["premise"].iterrows():
        if r["premise"] == "trivial":
            parts.append(f"{r['task']}: every arch is below {r['every arch below']}, so the archs have not learnt "
                         "the task; not counted")
        elif r["premise"] == "standard":
            parts.append(f"{r['task']}: every arch is below {r['every arch below']} (best: {r['best baseline']}), so "
                         "the comparison is between models that learn the task less well than a standard baseline; "
                         "not counted")
        else:
            parts.append(f"{r['task']}: {r['best arch']} beats every baseline; counted")
    return "Premise per task: " + "; ".join(parts) + "."


def premise_short(tab):
    """PREMISE_RULE in one sentence for the abstract."""
    p = tab["premise"]
    out = p[p["premise"] != ""]
    if out.empty:
        return "On every task some arch beats every baseline."
    return ("Not counted, every arch being below a " + "; ".join(
        f"{r['premise']} baseline on {r['task']} (best: {r['best baseline']})" for _, r in out.iterrows()) + ".")


def margin_short(tab):
    """MARGIN_RULE's tighter margins in one sentence (empty when none)."""
    m = tab["margins"]
    wide = m[m["default wider than the field"]]
    return "" if wide.empty else ("Tighter equivalence margin where the default is as wide as the field: "
                                  + ", ".join(f"{r['task']} {r['margin used']}" for _, r in wide.iterrows()) + ".")


def margin_text(tab):
    m = tab["margins"]
    wide = m[m["default wider than the field"]]
    if wide.empty:
        return "The default equivalence margins are narrower than every task's field spread and are used."
    return ("Default equivalence margin at least as wide as the field's spread on "
            + ", ".join(f"{r['task']} ({r['default margin']} against a spread of {r['field spread']})"
                        for _, r in wide.iterrows())
            + "; there the tighter margin is used: " + ", ".join(f"{r['task']} {r['margin used']}"
                                                                  for _, r in wide.iterrows()) + ".")


def tuning_below_text(tab):
    b = tab["below_mean"]
    if b.empty:
        return "No regression arch ends below predicting the training mean."
    return ("Regression archs below predicting the training mean: "
            + "; ".join(f"{r['arch']} on {r['task']} ({r['test centre']} vs {r['predict-mean']}: {r['reason']})"
                        for _, r in b.iterrows()) + ".")


def answer_text(tab, st):
    lab, count = tab["labels"], tab["counted"]
    v = vanilla_labels(lab, st.tasks, count)
    raw = vanilla_labels(lab, st.tasks)
    sine = sine_tasks(lab, st.tasks, count)
    n = sum(count.get(t, True) for t in st.tasks)
    flipped = sum(tab["labels_np"][k] != lab[k] for k in lab)
    return ("SinGLU vs Vanilla, per task: " + ", ".join(
        f"{t} {raw[t]}" + (" (not counted)" if v[t] == NOT_COUNTED else "") for t in st.tasks)
        + f". Over the {n} task{'s' if n != 1 else ''} that count (PREMISE_RULE), SinGLU's advantage on real data: "
        f"**{survives(v)}**. "
        f"SinGLU beats all three non-periodic GLUs on {len(sine)}/{n} counted real tasks ({', '.join(sine) or 'none'}); "
        f"{flipped} label{'s' if flipped != 1 else ''} changed under the one-ulp perturbation.")


def width_text(tab):
    w = tab["width"]
    if not len(w):
        return "No width comparison in this run."
    read = width_reading(w)
    parts = []
    for t, r in read.items():
        g = w[w["task"] == t]
        parts.append(f"{t}: " + ", ".join(f"{c} {l}" for c, l in zip(g["comparison"], g["label"])) + f" → {r}")
    return "SinGLU vs Vanilla at equal budget and equal width: " + "; ".join(parts) + "."


def regime_text(tab):
    r = tab["regime"]
    n, ok = distinct_pairs(r)
    rows = r.groupby("task type (study)", sort=False)["predicts the winner"].apply(lambda v: (v == "yes").all())
    return (f"{ok} of {n} distinct (arch, real task) pairs (from {len(r)} map rows × tasks; an arch on several rows "
            "counts once) name an arch that is best or not significantly worse than the best; rows whose arch does so "
            f"on every real task: {', '.join(rows[rows].index) or 'none'}.")


def variance_text(tab):
    v = tab["variance"]
    if not len(v) or v["data"].isna().all():
        return "No variance split (one data split)."
    med = v.groupby("task", sort=False)["data"].median()
    return ("Median share of the replicas' variance that lies between data splits: "
            + ", ".join(f"{t} {100 * x:.0f}%" for t, x in med.items()) + "; the rest is initialisation.")


# ----------------------------------------------------------------------------- figures

def fig_scores(tab, cfg, st):
    """Every replica per arch and task, the centre, the trivial baselines dashed and the standard
    baselines as coloured reference lines; saved as 09_real_scores."""
    s, summ, bs = tab["scores"], tab["summary"], tab["baseline_summary"]
    fig, axes = plots.grid(len(st.tasks), ncols=len(st.tasks))
    for ax, t in zip(axes, st.tasks):
        d = s[(s["task"] == t) & ~s["diverged"].astype(bool)]
        sm, b = summ[summ["task"] == t], bs[bs["task"] == t]
        metric = d["metric"].iloc[0]
        triv = b[b["baseline"].isin(TRIVIAL)]
        plots.replicas(d, ax, order=list(sm["arch"]), center=dict(zip(sm["arch"], sm["mean"])),
                       baselines=dict(zip(triv["baseline"], triv["centre"])), log=metric == "mse", title=t,
                       ylabel=f"test {metric}")
        for i, (_, r) in enumerate(b[~b["baseline"].isin(TRIVIAL)].iterrows()):
            ax.axhline(r["centre"], ls=(0, (4, 2)), lw=1.0, c=plt.get_cmap("tab10")(i % 10), label=r["baseline"])
        ax.legend(fontsize=5, loc="best")
    fig.tight_layout()
    cfg.save(fig, "09_real_scores", caption=(
        f"Every replica's test score on the real tasks ({len(cfg.seeds)} seeds × {len(cfg.data_seeds)} data "
        "splits per arch, each arch at its rate and steps chosen on validation), archs ordered best first by the "
        "centre (black bar: geometric mean for MSE, mean for accuracy), with the trivial baselines dashed grey and the "
        "standard baselines (scikit-learn, scipy; centre over the same splits) as coloured lines. " + scores_text(tab)
        + " " + premise_text(tab)))


RECON_BASELINES = ("linear interpolation", "thin-plate RBF")


def parse_params(text):
    """A baseline's params as `baseline_scores` writes them ("C=1, epsilon=0.1" or "–") as a dict."""
    return {} if text in ("–", "", None) else {k: float(v) for k, v in (p.split("=") for p in str(text).split(", "))}


def reconstructions(results, task, archs, seed=0, data_seed=0, baselines=None):
    """The image and each arch's fit on the full pixel grid (seed `seed`, split `data_seed`):
    {"image": (size, size), "train mask": (size, size) bool, arch: (size, size)}, and the test
    PSNR per arch; `baselines` ({name: params}) adds those baselines' fits, fitted on the same
    training pixels."""
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
    whole = dataclasses.replace(t, x_test=x, y_test=img.reshape(-1, 1).float())
    for name, params in (baselines or {}).items():
        out[name] = np.asarray(fit_predict(name, params, whole))[:, 0].reshape(size, size)
        score[name] = float(psnr(score_of(t, fit_predict(name, params, t))))
    return out, score


def fig_reconstructions(results, cfg, st, tab=None):
    """The image, the pixels trained on, and the fits of RECON_ARCHS and (from `tab`'s baselines)
    RECON_BASELINES side by side; saved as 09_reconstructions."""
    if IMAGE not in st.tasks:
        return nbk.say(f"No image task in this run (real_tasks lacks {IMAGE}).")
    b = tab["baseline_summary"] if tab is not None else pd.DataFrame(columns=["task", "baseline", "params"])
    b = b[(b["task"] == IMAGE) & b["baseline"].isin(RECON_BASELINES)]
    rec, score = reconstructions(results, IMAGE, [a for a in RECON_ARCHS if a in st.archs],
                                 baselines={n: parse_params(p) for n, p in zip(b["baseline"], b["params"])})
    names = ["image", "train mask"] + list(score)
    fig, axes = plt.subplots(1, len(names), figsize=(1.9 * len(names), 2.3))
    for ax, n in zip(np.atleast_1d(axes), names):
        ax.imshow(rec[n], cmap="gray", vmin=0 if n == "train mask" else -1, vmax=1, interpolation="nearest")
        ax.set_title(n if n in ("image", "train mask") else f"{n}\n{score[n]:.1f} dB", fontsize=8)
        ax.set_axis_off()
    fig.tight_layout()
    cfg.save(fig, "09_reconstructions", caption=(
        f"The {IMAGE} photograph at {rec['image'].shape[0]}×{rec['image'].shape[1]}, the pixels trained on (white, "
        "data split 0), each arch's fit on the whole grid (seed 0, its chosen rate and steps) and the interpolation "
        "baselines' fits of the same pixels, with the test PSNR on the held-out pixels: " + ", ".join(f"{a} {v:.1f} dB" for a, v in score.items()) + "."))


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
        m = float(d["margin"].iloc[0])
        ax.axvspan(1 / m if log else -k * m, m if log else k * m, color="0.85", zorder=0, label="equivalence margin")
        ax.set_yticks(range(len(d)), [f"vs {o}" for o in d["other"]], fontsize=7)
        ax.invert_yaxis()
        if log:
            ax.set_xscale("log")
            plots.log_ticks(ax, "x")
        ax.set_title(t, fontsize=8)
        ax.set_xlabel("SinGLU / other\n(geometric-mean MSE; < 1: SinGLU better)" if log
                      else "SinGLU − other\n(pp accuracy; > 0: SinGLU better)", fontsize=7)
    fig.tight_layout()
    v = vanilla_labels(tab["labels"], st.tasks, tab["counted"])
    raw = vanilla_labels(tab["labels"], st.tasks)
    cfg.save(fig, "09_effects", caption=(
        "SinGLU against Vanilla and the three non-periodic GLUs on each real task, each arch at its rate and steps "
        "chosen on validation: ratio of geometric-mean test MSEs or difference of mean accuracies with Welch 95% "
        "intervals (not Holm-adjusted; the labels are), the equivalence margin used shaded (MARGIN_RULE). Against "
        f"Vanilla: {', '.join(f'{t} {raw[t]}' + (' (not counted)' if v[t] == NOT_COUNTED else '') for t in st.tasks)}; "
        f"{int((a['label'] == ADVANTAGE).sum())} of {len(a)} comparisons are SinGLU advantages. " + margin_text(tab)))


# ----------------------------------------------------------------------------- answers

def answers(tab, st):
    """The notebook's answers (question, answer, evidence) for the paper's "Beyond the study" table;
    each names its premise (PREMISE_RULE), the margin (MARGIN_RULE) and what width explains."""
    lab, count = tab["labels"], tab["counted"]
    v, raw = vanilla_labels(lab, st.tasks, count), vanilla_labels(lab, st.tasks)
    eff = {r["task"]: r["effect (ci)"] for _, r in tab["families"]["vanilla"].iterrows()}
    sine = sine_tasks(lab, st.tasks, count)
    n = sum(count.get(t, True) for t in st.tasks)
    r = tab["regime"]
    pairs, ok = distinct_pairs(r)
    wr = width_reading(tab["width"]) if len(tab["width"]) else {}
    return [
        {"question": "Does SinGLU's advantage survive on real data?",
         "answer": f"Over Vanilla: {survives(v)}, judged on the {n} of {len(st.tasks)} tasks that count ("
                   + "; ".join(f"{t}: {raw[t]}, {eff.get(t, '–')}" + (" (not counted)" if v[t] == NOT_COUNTED else "")
                               for t in st.tasks)
                   + f"); SinGLU beats all three non-periodic GLUs on {len(sine)}/{n} counted real tasks "
                   f"({', '.join(sine) or 'none'}). " + " ".join(filter(None, [
                       premise_short(tab), margin_short(tab),
                       "Equal-budget difference vs equal width: " + ", ".join(f"{t} {x}" for t, x in wr.items()) + "."
                       if wr else ""])),
         "evidence": "09_effects, real_answer.csv, real_width.csv, real_baselines.csv"},
        {"question": "Does the study's regime map predict the winner on real data?",
         "answer": f"{ok} of {pairs} distinct (arch, real task) pairs name the best arch or one not significantly "
                   "worse; best per task: "
                   + ", ".join(f"{t} {b}" for t, b in r.drop_duplicates("real task")[["real task", "best on real task"]]
                               .itertuples(index=False)) + ".",
         "evidence": "09_real_scores, real_regime.csv"},
    ]


def summary(answers_):
    """The notebook's closing text."""
    return "\n\n".join(f"**{a['question']}** {a['answer']}" for a in answers_)
