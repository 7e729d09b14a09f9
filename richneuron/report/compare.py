"""How far two renders agree: their verdicts, parts and the replicas both trained
(`compare_renders`, `describe_comparison`)."""
import json
from pathlib import Path

import numpy as np
import pandas as pd

from .files import RESULTS_FILE

def render_files_missing(folder):
    """The files `compare_renders` needs that `folder` lacks."""
    return [f for f in ("verdicts.json", RESULTS_FILE) if not (Path(folder) / f).exists()]


def compare_renders(new, old):
    """How far two renders agree (two folders, each with the `verdicts.json` and results file of a
    `make report`, e.g. build/full and the committed paper/): each claim both judged, with its verdict
    and the parts whose label changed, and the final training losses of the replicas both trained
    (the same cell and replica): the share that are bit-identical and quantiles of |log10(new/old)|.
    Renders on two CPUs differ in rounding; a verdict that changes between them is noise."""
    new, old = Path(new), Path(old)
    before = {r["claim_id"]: r for r in json.loads((old / "verdicts.json").read_text())}
    claims = []
    for row in json.loads((new / "verdicts.json").read_text()):
        was = before.get(row["claim_id"])
        if was is None:
            continue
        was_parts = was.get("parts", {})
        parts = {k: [was_parts.get(k), v] for k, v in row.get("parts", {}).items() if was_parts.get(k) != v}
        claims.append({"claim_id": row["claim_id"], "old": was["verdict"], "new": row["verdict"],
                       "parts_changed": parts})
    cols = ["cell", "replica", "final_train_loss"]
    both = pd.read_csv(old / RESULTS_FILE, usecols=cols).merge(
        pd.read_csv(new / RESULTS_FILE, usecols=cols), on=["cell", "replica"], suffixes=("_old", "_new"))
    a, b = both["final_train_loss_old"].to_numpy(), both["final_train_loss_new"].to_numpy()
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(divide="ignore", invalid="ignore"):
        gap = np.where(same, 0.0, np.abs(np.log10(b / a)))
    gap = gap[np.isfinite(gap)]
    q = np.quantile(gap, [0.5, 0.9, 0.99, 1.0]) if len(gap) else [np.nan] * 4
    return {"claims": claims, "replicas": len(both), "identical": float(same.mean()) if len(both) else np.nan,
            "compared": len(gap), "log10_gap": dict(zip(["median", "p90", "p99", "max"], map(float, q)))}


def describe_comparison(c, against="the other render"):
    """`compare_renders`' result as a few lines for the console."""
    changed = [x for x in c["claims"] if x["old"] != x["new"]]
    lines = [f"against {against}: {len(c['claims']) - len(changed)} of {len(c['claims'])} verdicts the same"]
    lines += [f"  verdict changed: {x['claim_id']}: {x['old']} -> {x['new']}" for x in changed]
    lines += [f"  part changed: {x['claim_id']} {k}: {o} -> {n}" for x in c["claims"]
              for k, (o, n) in x["parts_changed"].items()]
    g = c["log10_gap"]
    if c["replicas"]:
        lines.append(f"  final training losses of the {c['replicas']:,} replicas both trained: "
                     f"{100 * c['identical']:.1f}% bit-identical; half within a factor {10 ** g['median']:.3g}, "
                     f"90% within {10 ** g['p90']:.3g}, 99% within {10 ** g['p99']:.3g}, all within "
                     f"{10 ** g['max']:.3g} (rounding differs between CPUs and kernels; a verdict that changes "
                     f"with it is noise)")
    if c["compared"] < c["replicas"]:
        lines.append(f"  {c['replicas'] - c['compared']:,} of them left out: diverged (or reached 0) in one "
                     f"render only")
    return "\n".join(lines)
