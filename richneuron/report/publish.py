"""The results published next to the paper: one row per replica the notebooks read (`results_table`),
its data dictionary, the logged scores at the training lengths the verdicts read (`history_read`),
what each notebook's replicas cost to train (`training_costs`), and the README's tables."""
import re
from datetime import datetime

import nbformat
import pandas as pd

from .. import defaults, schema, store
from ..results import Results, logged_scores, with_learnt_nothing
from ..schema import column_doc, column_order
from .files import DICTIONARY_FILE, HISTORY_FILE, RESULTS_FILE
from .paper import notebook_title

# The per-replica results published next to the paper: one row per replica (the metrics rows the
# notebooks read from the results store), and what each column means (`schema`).

def stored_cells(used, cache):
    """The cells the notebooks read, each read once from the store: key -> {"notebooks": the stems
    that read it, in order (the first is the one a cold build trains it for), "doc": its stored
    JSON}. `used` maps a notebook's stem to the keys of the cells its runs returned (see
    `observe.cells_file`). Entries are read through the store's check (`store.read_entry`): a
    missing or damaged one is reported (a RuntimeWarning) and left out."""
    cells, bad = {}, set()
    for stem, keys in used.items():
        for k in keys:
            if k in bad:
                continue
            if k not in cells:
                doc = store.read_entry(cache, k)
                if doc is None:
                    bad.add(k)
                    continue
                cells[k] = {"notebooks": [], "doc": doc}
            if stem not in cells[k]["notebooks"]:
                cells[k]["notebooks"].append(stem)
    return cells


def results_table(cells):
    """One row per replica the notebooks read (`cells`: `stored_cells`): the store's metrics rows,
    with `learnt_nothing` derived from them (`Results`) and the notebooks that read them. Replicas read
    by several notebooks appear once."""
    rows = [{**r, "notebooks": ",".join(c["notebooks"])} for c in cells.values() for r in c["doc"]["metrics"]]
    df = with_learnt_nothing(pd.DataFrame(rows))
    if len(df):
        df["repeats"] = repeats(df)
    return df[column_order(list(df.columns))]


def replica_ids(df):
    """Per row, its replica's identity: `schema.REPLICA_KEYS` and the task/neuron options as one string."""
    keys = [c for c in df.columns if c in schema.REPLICA_KEYS or c.startswith(("task.", "opt."))]
    return df[keys].apply(lambda col: col.map(repr)).agg("|".join, axis=1)     # repr: NaN and None compare too


def repeats(df):
    """Per row: "" for the first row of its replica (`replica_ids`), else the `cell` of that first row
    (the same replica read again by another cell: trained once, see `stack`)."""
    ident = replica_ids(df)
    first = df.groupby(ident, sort=False)["cell"].transform("first")
    dup = ident.duplicated(keep="first")
    return first.where(dup, "").astype(str)


def training_costs(used, cells, since):
    """What the replicas behind each notebook of `used` cost to train, from the stored rows and
    provenance of its cells (`cells`: `stored_cells`): stem -> {"cells": cells used, "trained_now":
    of those, cells with a replica trained at or after `since` (an aware datetime: the start of
    this build, so trained by it), "core_seconds": the training times of their replicas summed,
    "stored_core_seconds": the part of those of replicas read from the store}. A replica's time is
    its share of the stack that trained it (its `wall_seconds`); stacks train one per worker on one
    thread each, so core-seconds are about the wall time × the workers. A replica counts once,
    for the first notebook that reads it (the one a cold build trains it for), however many cells
    and notebooks read it. A warm build's runtimes therefore still say what a cold one trains (see
    `cold_estimates`)."""
    out = {stem: {"cells": 0, "trained_now": 0, "core_seconds": 0.0, "stored_core_seconds": 0.0} for stem in used}
    seen = set()
    for c in cells.values():
        doc, cost = c["doc"], out[c["notebooks"][0]]
        prov = doc["provenance"]
        rows = pd.DataFrame(doc["metrics"])
        ident = replica_ids(rows) if len(rows) else []
        cost["cells"] += 1
        fresh = False
        for (_, row), rid in zip(rows.iterrows(), ident):
            if rid in seen:
                continue
            seen.add(rid)
            stack = row.get("stack") if isinstance(row.get("stack"), str) else doc["key"]
            now = datetime.fromisoformat(prov.get("stacks", {}).get(stack, prov["date"])) >= since
            wall = float(row["wall_seconds"])
            fresh |= now
            cost["core_seconds"] += wall
            cost["stored_core_seconds"] += 0.0 if now else wall
        cost["trained_now"] += fresh
    return out


def cold_estimates(runtimes, workers):
    """Per notebook, the seconds a build that trains every cell would take, from a previous build's
    `runtimes.json` (its wall times and `training_costs`): the wall time plus the training of the
    cells that build read from the store, spread over `workers`. A warm build's own wall times
    would underestimate a cold run by exactly that training. Runtimes written before the store's
    share was recorded split `core_seconds` by the share of cells read from the store."""
    out = {}
    for stem, wall in runtimes.get("notebooks", {}).items():
        cost = runtimes.get("training", {}).get(stem)
        if not cost:
            out[stem] = wall
            continue
        stored = cost.get("stored_core_seconds")
        if stored is None:
            stored = cost["core_seconds"] * (cost["cells"] - cost["trained_now"]) / max(cost["cells"], 1)
        out[stem] = wall + stored / max(int(workers), 1)
    return out


def data_dictionary(df):
    """The results file's data dictionary (markdown): every column, its type, how many rows fill it."""
    lines = [f"# {RESULTS_FILE}: the per-replica results behind the paper", "",
             f"One row per trained replica that a notebook of the paper read ({len(df):,} rows, "
             f"{df['cell'].nunique() if len(df) else 0:,} cells), from the results store the report used. Read it with "
             f"`pandas.read_csv(\"{RESULTS_FILE}\")`; a replica's loss curve, gradient norms and trained weights are "
             "in the results store under its `cell` key (`richneuron.run` with the same experiment returns them). "
             f"`{HISTORY_FILE}` holds each replica's logged training loss and test score at the training lengths the "
             f"verdicts read ({', '.join(f'{s:.0%}' for s in defaults.READ_SHARES)} of its steps; `share`, `step`).", "",
             "| column | type | rows filled | meaning |", "|---|---|---|---|"]
    for c in df.columns:
        lines.append(f"| `{c}` | {df[c].dtype} | {int(df[c].notna().sum()):,} | {column_doc(c) or 'undocumented'} |")
    return "\n".join(lines) + "\n"


def history_read(cells, shares=defaults.READ_SHARES):
    """The logged training loss and scores of every replica of `cells` (`stored_cells`) at the steps
    the verdicts read: `Results.at_step` of each share of its steps, one row per replica and share
    (`share`, the `step` read), so a verdict at a shorter training length can be checked without
    retraining. A replica is named by its `cell` and `replica`, with the results file's columns."""
    keep = ["cell", "replica", "arch", "task", "data_seed", "seed", "omega", "lr", "perturb", "steps"]
    out = []
    for c in cells.values():
        if not c["doc"].get("history"):
            continue
        res = Results([c["doc"]])
        for share in shares:
            m = res.at_step(share).metrics
            scores = [k for k in logged_scores(m.columns) if m[k].notna().any()]
            out.append(m[[k for k in keep if k in m] + ["read_step", "final_train_loss", *scores]]
                       .assign(share=share).rename(columns={"read_step": "step", "final_train_loss": "train_loss"}))
    if not out:
        return pd.DataFrame()
    df = pd.concat(out, ignore_index=True)
    first = [*keep, "share", "step", "train_loss"]
    return df[[k for k in first if k in df] + sorted(k for k in df if k not in first)]


def publish_results(cells, base):
    """Write base/results.csv.gz (byte-reproducible gzip), base/results_dictionary.md and
    base/history_read.csv.gz (`history_read`) from `cells` (`stored_cells`)."""
    df = results_table(cells)
    gz = {"method": "gzip", "mtime": 0}
    df.to_csv(base / RESULTS_FILE, index=False, compression=gz)
    (base / DICTIONARY_FILE).write_text(data_dictionary(df))
    history_read(cells).to_csv(base / HISTORY_FILE, index=False, compression=gz)
    return df


def notebook_table(root, executed, full, quick_rt, costs=None):
    """Markdown table: notebook → finding → figures → full runtime → cells trained by that run of
    those it read, and their training core-seconds (`costs`: `training_costs`) → quick runtime."""
    costs = costs or {}
    lines = ["| notebook | finding | figures | full runtime | cells trained in that run | training (core-s) "
             "| quick runtime |", "|---|---|---|---|---|---|---|"]
    for path in executed:
        title = notebook_title(nbformat.read(path, as_version=4), path.stem)
        figs = sorted(p.name for p in (root / "figures").glob(f"{path.stem[:2]}_*.png"))
        fig_links = ", ".join(f"[{f[3:-4]}](figures/{f})" for f in figs) or "–"
        q = quick_rt.get(path.stem)
        lines.append(f"| [`{path.stem}`](notebooks/{path.name}) | {title} | {fig_links} | "
                     f"{full[path.stem]:.0f} s | {_cost_cells(costs.get(path.stem))} | "
                     f"{_cost_seconds(costs.get(path.stem))} | {'n/a' if q is None else f'{q:.0f} s'} |")
    return "\n".join(lines)


def _cost_cells(c):
    return "n/a" if c is None else f"{c['trained_now']:,} of {c['cells']:,}"


def _cost_seconds(c):
    return "n/a" if c is None else f"{c['core_seconds']:,.0f}"


def update_readme(root, table, marker="notebooks"):
    """Replace the README's text between `<!-- marker:start -->` and `<!-- marker:end -->` by `table`."""
    readme = root / "README.md"
    text, n = re.subn(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)",
                      lambda m: m[1] + table + "\n" + m[2], readme.read_text(), flags=re.S)
    if n:
        readme.write_text(text)
