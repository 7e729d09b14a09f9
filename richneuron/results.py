"""What `run` returns: the metrics and history tables, and any trained replica back as a module."""
import functools
import json
import math

import numpy as np
import pandas as pd

from . import models, schema, stats, tasks
from .experiment import STACKED

# The columns that identify a replica in both tables (the history's "steps_total" is the metrics' "steps"):
# the stacked fields of a replica (`experiment.Replica`) and its cell's arch, task, width, depth and budget.
_IDENTITY = ("arch", "task", *STACKED, "width", "depth", "budget")


def logged_scores(columns):
    """The score columns of a metrics table that the history logs at every logged step: the test
    score and each extra set's (not the training score, nor the sanity baselines)."""
    return [c for c in columns if c.endswith(("_mse", "_accuracy"))
            and not c.startswith(("train_", "predict_", "chance_", "uniform_"))]


def with_learnt_nothing(metrics):
    """`metrics` with its `learnt_nothing` column (`stats.learnt_nothing`) set from its own scores,
    after `diverged`: derived when read, never stored (the store's entries and keys are unchanged).
    On a task whose test range is shifted (ood, freqgen, mixedfreq) a constant's test error measures
    extrapolation, not learning, so there the rule reads the training fit: the final training loss
    (MSE) against a constant's on the replica's own training set (`train_constant_mse`)."""
    if not len(metrics):
        return metrics
    m = metrics.drop(columns="learnt_nothing", errors="ignore")
    flag = stats.learnt_nothing(m).to_numpy(bool).copy()
    shifted = m["task"].map(lambda t: t in tasks.available("all") and tasks.entry(t).shifted).to_numpy(bool)
    if shifted.any():
        opts = [c for c in m.columns if c.startswith("task.")]
        ok = ~m["diverged"].astype(bool).to_numpy()
        for i in np.flatnonzero(shifted):
            r = m.iloc[i]
            if _missing(r.get("data_seed")) or _missing(r.get("final_train_loss")):
                flag[i] = False
                continue
            given = {c[5:]: _option(r[c]) for c in opts if not _missing(r[c])}
            base = train_constant_mse(r["task"], json.dumps(given, sort_keys=True, default=str), int(r["data_seed"]))
            flag[i] = bool(ok[i] and float(r["final_train_loss"]) >= base)
    m.insert(m.columns.get_loc("diverged") + 1 if "diverged" in m else len(m.columns), "learnt_nothing", flag)
    return m


def _option(v):
    """A task option's value as the generator takes it (a table written as text holds "128" or
    "[5.0, 11.0]")."""
    if isinstance(v, str):
        try:
            return json.loads(v)
        except ValueError:
            return v
    return v.item() if hasattr(v, "item") else v


def _missing(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


@functools.lru_cache(maxsize=None)
def train_constant_mse(task, options_json, data_seed):
    """The training MSE of the best constant (the training targets' mean) on `task` with these
    options (JSON) and data draw: the baseline the learnt-nothing rule reads on a shifted task."""
    d = tasks.make(task, seed=data_seed, **json.loads(options_json))
    y = d.y_train.double()
    return float(((y - y.mean(0)) ** 2).mean())


class Results:
    """What `run` returns: `metrics` (one row per replica, with `learnt_nothing` derived here from
    its stored scores: `stats.learnt_nothing`), `history` (long), `provenance`, and `model(...)` to
    get any trained replica back as an `nn.Module`."""

    def __init__(self, cells):
        self._cells = {c["key"]: c for c in cells}
        self.metrics = with_learnt_nothing(pd.DataFrame([r for c in cells for r in c["metrics"]]))
        self.history = pd.DataFrame([r for c in cells for r in c["history"]])
        self.provenance = [dict(c["provenance"], cell=c["key"]) for c in cells]

    def __repr__(self):
        n_div = int(self.metrics["diverged"].sum()) if len(self.metrics) else 0
        n_nothing = int(self.metrics["learnt_nothing"].sum()) if len(self.metrics) else 0
        return (f"Results({len(self.metrics)} replicas in {len(self._cells)} cells, {n_div} diverged, "
                f"{n_nothing} learnt nothing)")

    def columns(self):
        """What each column of `metrics` means (`schema`): a table column -> meaning."""
        return pd.DataFrame({"column": list(self.metrics.columns),
                             "meaning": [schema.column_doc(c) for c in self.metrics.columns]})

    def cells(self):
        """Every cell as run: dicts with "key", "config" (the cell's JSON config) and "weights"
        (name -> stacked tensor, leading replica axis), in run order."""
        return [{"key": c["key"], "config": c["config"], "weights": c["weights"]} for c in self._cells.values()]

    def summary(self, by=("arch", "task"), value=None):
        """Mean, std, count, per-seed values, diverged and learnt_nothing counts of the test metric (or
        `value`) per group; diverged replicas are excluded from the statistics and counted."""
        return stats.summarize(self.metrics, by=by, value=value)

    def at_step(self, share):
        """The metrics as they stood after `share` (0 < share ≤ 1) of each replica's steps, read from
        the logged history: `final_train_loss` is the logged training loss and `test_<metric>` and
        every extra set's score (e.g. `in_range_mse`) the logged scores at the last logged step at or
        before share × steps (`read_step`); a replica is `diverged` when its loss there is not
        finite, and `learnt_nothing` by its scores there (`stats.learnt_nothing`). The training-set
        score and the weight movement are not logged and are left empty. A `Results` whose `metrics`
        is that table and whose `history` ends there (weights as trained): what a run stopped there
        would have measured, without retraining."""
        if not 0 < share <= 1:
            raise ValueError(f"share must be in (0, 1], got {share!r}")
        m, h = self.metrics.copy(), self.history
        if not len(m):
            return self._with_metrics(m)
        opts = [c for c in m.columns if c.startswith(("task.", "opt."))]
        ident = [c for c in (*_IDENTITY, *opts) if c in m.columns and c in h.columns]
        key = lambda df: pd.MultiIndex.from_frame(df[ident].astype(str))
        wanted = np.floor(share * m["steps"].to_numpy(float) + 1e-9).astype(int)
        scores = logged_scores(m.columns)
        rows = h[(h["layer"] == "all") & h["quantity"].isin(["loss", *scores])]
        logged = rows.assign(_id=list(key(rows)))
        steps_of = logged.groupby("_id")["step"].unique()
        ids = list(key(m))
        read = [max((s for s in steps_of.get(i, []) if s <= w), default=-1) for i, w in zip(ids, wanted)]
        if min(read) < 0:
            raise ValueError(f"no logged step at or before {share:.3g} of the steps for some replicas")
        value = logged.set_index(["_id", "step", "quantity"])["value"]
        get = lambda i, s, q: float(value.get((i, s, q), math.nan))
        m["read_step"] = read
        m["final_train_loss"] = [get(i, s, "loss") for i, s in zip(ids, read)]
        for col in scores:                          # logged scores; a score never logged is left empty
            m[col] = [get(i, s, col) for i, s in zip(ids, read)]
        lost = [c for c in m.columns if c.startswith(("train_", "moved"))]
        m[lost] = math.nan
        m["diverged"] = ~np.isfinite(m["final_train_loss"].to_numpy(float))
        m = with_learnt_nothing(m)
        cut = np.floor(share * h["steps_total"].to_numpy(float) + 1e-9) if "steps_total" in h else np.inf
        return self._with_metrics(m, h[h["step"].to_numpy() <= cut] if len(h) else h)

    def _with_metrics(self, metrics, history=None):
        out = Results([])
        out._cells, out.metrics, out.provenance = self._cells, metrics, self.provenance
        out.history = self.history if history is None else history.reset_index(drop=True)
        return out

    def model(self, arch, task, seed, **where):
        """The trained replica matching `arch`, `task`, `seed` and any further metric columns
        (e.g. omega=5.0, lr=1e-2, data_seed=1) as a `RichMLP` in eval mode."""
        m = self.metrics
        sel = (m["arch"] == arch) & (m["task"] == task) & (m["seed"] == seed)
        for k, v in where.items():
            if k not in m:
                raise ValueError(f"unknown column {k!r}; valid: {', '.join(m.columns)}")
            sel &= m[k].isna() if v is None else (m[k] == v)
        rows = m[sel]
        if len(rows) != 1:
            raise ValueError(f"{len(rows)} replicas match {dict(arch=arch, task=task, seed=seed, **where)}; "
                             "add filters (e.g. omega=..., lr=...) to pick exactly one")
        row = rows.iloc[0]
        cell = self._cells[row["cell"]]
        cfg = cell["config"]
        t = tasks.make(cfg["task"], seed=int(row["data_seed"]), **cfg["task_options"])
        om = {} if pd.isna(row["omega"]) else {"omega": float(row["omega"])}
        net = models.build_model(cfg["arch"], t.in_dim, t.out_dim, width=cfg["width"], depth=cfg["depth"],
                                 **cfg["options"], **om)
        net.load_state_dict({n: w[int(row["replica"])] for n, w in cell["weights"].items()})
        return net.eval()
