"""What `run` returns: the metrics and history tables, and any trained replica back as a module."""
import pandas as pd

from . import models, schema, stats, tasks


class Results:
    """What `run` returns: `metrics` (one row per replica), `history` (long), `provenance`,
    and `model(...)` to get any trained replica back as an `nn.Module`."""

    def __init__(self, cells):
        self._cells = {c["key"]: c for c in cells}
        self.metrics = pd.DataFrame([r for c in cells for r in c["metrics"]])
        self.history = pd.DataFrame([r for c in cells for r in c["history"]])
        self.provenance = [dict(c["provenance"], cell=c["key"]) for c in cells]

    def __repr__(self):
        n_div = int(self.metrics["diverged"].sum()) if len(self.metrics) else 0
        return f"Results({len(self.metrics)} replicas in {len(self._cells)} cells, {n_div} diverged)"

    def columns(self):
        """What each column of `metrics` means (`schema`): a table column -> meaning."""
        return pd.DataFrame({"column": list(self.metrics.columns),
                             "meaning": [schema.column_doc(c) for c in self.metrics.columns]})

    def cells(self):
        """Every cell as run: dicts with "key", "config" (the cell's JSON config) and "weights"
        (name -> stacked tensor, leading replica axis), in run order."""
        return [{"key": c["key"], "config": c["config"], "weights": c["weights"]} for c in self._cells.values()]

    def summary(self, by=("arch", "task"), value=None):
        """Mean, std, count, per-seed values and diverged count of the test metric (or `value`)
        per group; diverged replicas are excluded from the statistics and counted."""
        return stats.summarize(self.metrics, by=by, value=value)

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
