"""Build the report: run every notebook with papermill, then render the HTML paper with nbconvert.

    python -m richneuron.report            # full default run: figures/ and paper/ are rewritten
    python -m richneuron.report --quick    # every notebook in quick mode, under build/quick/

Each notebook writes its figures (PNG) and tables (CSV) and a `verdicts.json`; the paper is one
notebook assembled from the executed ones (code hidden) behind a generated title, abstract,
scorecard and table of contents, rendered to a self-contained HTML file (images embedded, no
script loaded from the network). Each executed notebook is also rendered with its code.
"""
import argparse
import base64
import copy
import html
import inspect
import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import torch

from . import defaults, neurons, notebook as nbk, plots, protocol, published, schema, stats, summary, tasks, verdicts
from .provenance import provenance
from .results import Results, logged_scores
from .schema import column_doc, column_order  # noqa: F401  (column_doc: the data dictionary's meanings)

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLE = "Beyond Linear Neurons, re-run: do richer neurons beat ReLU at a matched parameter budget?"
RESULTS_FILE, DICTIONARY_FILE = "results.csv.gz", "results_dictionary.md"
HISTORY_FILE = "history_read.csv.gz"     # the logged scores at the steps the verdicts read
STUDY_PAGE = "https://huggingface.co/anshdadhich/richneuron-vs-vanilla-benchmark"
STUDY_CITATION = f"anshdadhich, 2025, Hugging Face repository [anshdadhich/richneuron-vs-vanilla-benchmark]({STUDY_PAGE})"
STUDY_DOCS = "the repository's docs/original-study.md"


def notebooks(root=ROOT):
    return sorted((root / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _fmt_time(seconds):
    seconds = max(0, int(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def _status(nb_path, out_path, progress_file, t0, label, expected, after=None):
    """One progress line: the notebook, its code cells done (from the notebook papermill saves
    after every cell), the engine's cells and model-steps done (from the file the engine writes,
    see `observe.progress_file`) and an estimate of the time left."""
    elapsed = time.perf_counter() - t0
    parts = [f"{label} {nb_path.stem}"]
    try:
        nb = nbformat.read(out_path, as_version=4)
        code = [c for c in nb.cells if c.cell_type == "code"]
        ran = sum(c.get("metadata", {}).get("papermill", {}).get("status") == "completed" for c in code)
        parts.append(f"code cell {min(ran + 1, len(code))}/{len(code)}")
    except Exception:  # noqa: BLE001 - not written yet
        pass
    left = None if expected is None else expected - elapsed
    try:
        st = json.loads(Path(progress_file).read_text())
        if st["steps_total"]:
            parts.append(f"training: {st['cells_done']}/{st['cells_total']} cells, "
                         f"{st['steps_done'] / 1e6:.2f}/{st['steps_total'] / 1e6:.2f} M model-steps")
            run_elapsed = time.time() - st["started"]
            if st["steps_done"]:
                run_left = run_elapsed * (st["steps_total"] - st["steps_done"]) / st["steps_done"]
                left = run_left if left is None else max(left, run_left)
    except Exception:  # noqa: BLE001 - no experiment has started yet
        pass
    parts.append(f"{_fmt_time(elapsed)} elapsed" + ("" if left is None else f", ~{_fmt_time(left)} left")
                 + ("" if left is None or not after else f" (report: ~{_fmt_time(left + after)})"))
    return " · ".join(parts)


def execute(nb_path, out_path, parameters, log=print, label="", expected=None, after=None, every=15.0,
            cells_file=None):
    """Run one notebook with papermill (python3 kernel of this environment), printing a progress
    line every `every` seconds (`expected`: its runtime in the last full run, for the estimate;
    `after`: the last full run's time for the notebooks still to come). `cells_file`: the keys of
    the cells the notebook's runs return are written there (see `observe.cells_file`).

    The kernel logs errors only: ipykernel's "running over TCP without encryption" warning
    concerns a kernel on a shared network, not one started here for one notebook."""
    import threading

    import papermill as pm
    t0 = time.perf_counter()
    progress_file = out_path.with_name(f".{out_path.stem}.progress.json")
    progress_file.unlink(missing_ok=True)
    stop = threading.Event()

    def report():
        while not stop.wait(every):
            log("  " + _status(nb_path, out_path, progress_file, t0, label, expected, after))
            sys.stdout.flush()

    env = {"RICHNEURON_PROGRESS_FILE": str(progress_file), "RICHNEURON_CELLS_FILE": str(cells_file or "")}
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)                                            # the kernel inherits them
    if cells_file:
        Path(cells_file).unlink(missing_ok=True)
    watcher = threading.Thread(target=report, daemon=True)
    watcher.start()
    try:
        pm.execute_notebook(str(nb_path), str(out_path), parameters=parameters, kernel_name="python3",
                            cwd=str(nb_path.parent), progress_bar=False, log_output=False,
                            request_save_on_cell_execute=True,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    finally:
        stop.set()
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
        progress_file.unlink(missing_ok=True)
    dt = time.perf_counter() - t0
    log(f"  {label} {nb_path.name}: {dt:.1f} s")
    return dt


def _exporter(exclude_input):
    from nbconvert import HTMLExporter
    ex = HTMLExporter(template_name="richneuron", extra_template_basedirs=[str(TEMPLATES)])
    ex.exclude_input = exclude_input
    ex.exclude_input_prompt = ex.exclude_output_prompt = exclude_input
    ex.embed_images = True
    return ex


def render(nb, out_html, exclude_input):
    body, _ = _exporter(exclude_input).from_notebook_node(nb)
    Path(out_html).write_text(body, encoding="utf-8")
    return out_html


def _title(nb, default):
    """A notebook's title: its first '# ' markdown heading."""
    return next((c.source.splitlines()[0].lstrip("# ").strip() for c in nb.cells
                 if c.cell_type == "markdown" and c.source.startswith("# ")), default)


def _demote(md):
    """Shift markdown headings one level down (a notebook's '# Title' becomes a paper section)."""
    return re.sub(r"^(#{1,5}) ", r"#\1 ", md, flags=re.M)


def _anchor(stem):
    """A notebook's section id in the paper, from its number ("08_protocol_space" -> "sec-08"), so it
    is the same in a full build and in one with --only."""
    return f"sec-{stem[:2]}"


PART_NAMES = ("direction", "magnitude", "mechanism")


def criterion_commit(text, source, root=ROOT):
    """The commit (short hash and date) that last changed a criterion line of `source`, by
    `git log -S` (the newest commit that added or removed that exact text); "uncommitted" when
    the line is not in HEAD's version of the file, "unknown" without git."""
    if not text or not source:
        return "unknown"
    if source.startswith(CRITERIA_FOLDER):
        return _file_commit(text, source, root)
    try:
        head = subprocess.run(["git", "-C", str(root), "show", f"HEAD:{source}"], capture_output=True,
                              text=True, timeout=30)
        if head.returncode != 0:
            return "unknown"
        if text not in head.stdout:
            return "uncommitted"
        log = subprocess.run(["git", "-C", str(root), "log", "-1", "--format=%h %cs", "-S", text, "--", source],
                             capture_output=True, text=True, timeout=60)
        return log.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


CRITERIA_FOLDER = "richneuron/criteria/"


def _git(root, *args):
    r = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, timeout=60)
    return r.stdout if r.returncode == 0 else None


def _file_commit(text, source, root=ROOT):
    """`criterion_commit` of a criterion file (`criteria`): the newest commit that changed its words;
    for the words the file was created with, the commit that last changed them where they lived
    before (a line of an analysis module)."""
    words = lambda t: None if t is None else " ".join(t.split())
    try:
        if words(_git(root, "show", f"HEAD:{source}")) != text:
            return "uncommitted" if _git(root, "rev-parse", "HEAD") else "unknown"
        for line in (_git(root, "log", "--format=%H %h %cs", "--", source) or "").splitlines():
            sha, stamp = line.split(" ", 1)
            before = words(_git(root, "show", f"{sha}^:{source}"))
            if before == text:
                continue                       # the words did not change in this commit
            if before is None:                 # created here: where did these words last change?
                old = _git(root, "log", "-1", "--format=%h %cs", "-S", text, f"{sha}^", "--", "richneuron/analysis")
                return (old or "").strip() or stamp
            return stamp
        return "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def with_commits(verdict_rows, root=ROOT):
    """Each row gains `criterion_commit` (see `criterion_commit`)."""
    return [{**r, "criterion_commit": criterion_commit(r.get("criterion"), r.get("criterion_source"), root)}
            for r in verdict_rows]


def criteria_history(root=ROOT, path="paper/verdicts.json"):
    """Every committed render of the scorecard (`path` in git, oldest first) per claim: {claim_id:
    {"renders": [{"commit", "date", "verdict", "criterion_changed"}], "revised_after_data": bool,
    "revisions": [commit, ...]}}. A render's criterion_changed is True when the criterion text it
    stored differs from the previous render's for that claim; the criterion was revised after the
    data when it changed in a render that followed one showing the claim's verdict (every render
    after the first). Without git or renders: {}."""
    git = ["git", "-C", str(root)]
    try:
        log = subprocess.run(git + ["log", "--reverse", "--format=%H %cI", "--", path], capture_output=True,
                             text=True, timeout=60, check=True).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return {}
    out = {}
    for line in filter(None, log):
        sha, date = line.split(" ", 1)
        shown = subprocess.run(git + ["show", f"{sha}:{path}"], capture_output=True, text=True, timeout=60)
        if shown.returncode != 0:          # the commit deleted the file
            continue
        try:
            rows = json.loads(shown.stdout)
        except ValueError:
            continue
        for r in rows if isinstance(rows, list) else []:
            h = out.setdefault(r.get("claim_id"), {"renders": [], "revised_after_data": False, "revisions": []})
            before = h["renders"][-1]["criterion"] if h["renders"] else None
            changed = before is not None and r.get("criterion") != before
            h["renders"].append({"commit": sha[:7], "date": date[:10], "verdict": r.get("verdict"),
                                 "criterion": r.get("criterion"), "criterion_changed": changed})
            if changed:
                h["revised_after_data"] = True
                h["revisions"].append(sha[:7])
    out.pop(None, None)
    for h in out.values():
        h["last_criterion"] = h["renders"][-1]["criterion"]
        for x in h["renders"]:
            x.pop("criterion")
    return out


def revised_after_data(row, history):
    """Whether `row`'s criterion was revised after a committed render had shown the claim's verdict:
    in the render history (`criteria_history`), or now (its text differs from the last committed render's)."""
    h = history.get(row.get("claim_id"))
    return bool(h) and (h["revised_after_data"] or row.get("criterion") != h["last_criterion"])


def history_table(history):
    """`criteria_history` as a markdown table: per claim, its committed renders' verdicts in order
    (runs of the same verdict joined, with their dates and count; * where the criterion had changed
    since the previous render) and whether its criterion was stated before the data (never changed
    after a render showed it)."""
    lines = ["| claim | verdicts of the committed renders, oldest first (* criterion changed since the previous render) | "
             "criterion stated before the data? |", "|---|---|---|"]
    for claim, h in history.items():
        runs = []
        for x in h["renders"]:
            if runs and runs[-1]["verdict"] == x["verdict"] and not x["criterion_changed"]:
                runs[-1]["n"], runs[-1]["last"] = runs[-1]["n"] + 1, x["date"]
            else:
                runs.append({"verdict": x["verdict"], "n": 1, "first": x["date"], "last": x["date"],
                             "changed": x["criterion_changed"]})
        text = " → ".join(f"{'*' if r['changed'] else ''}{r['verdict']} ({r['first']}"
                          + (f" – {r['last']}, {r['n']} renders)" if r["n"] > 1 else ")") for r in runs)
        stated = ("no: revised after results in " + ", ".join(h["revisions"])) if h["revised_after_data"] else "yes"
        lines.append(f"| {claim} | {text} | {stated} |")
    return "\n".join(lines)


def with_space(verdict_rows, space):
    """Each verdict row gains notebook 08's `protocol_share`, `protocol_region` and
    `reduced_at_study_protocol` (its result by 08's reduced criterion at the best-fitting protocol)
    from `space` (the notebook's space.json, or None when 08 did not run: the rows are returned
    unchanged), and `at_study_protocol` (`study_verdict`)."""
    if not space:
        return verdict_rows
    claims, best = space.get("claims", {}), space.get("best_protocol") or {}
    return [{**r, **claims.get(r["claim_id"], {}), "at_study_protocol": study_verdict(r, best)} for r in verdict_rows]


def study_verdict(row, best):
    """The row's verdict at the study's likeliest protocol (`best`: space.json's best_protocol) by the
    finding's own full criterion and robustness check: {verdict, parts, ours, reason, effect,
    protocol}. Where that protocol is our default read at a shorter length, it is the row's
    `at_lengths` entry for that share (the finding's verdict on its runs read from their logged
    history there); at the full length, the row itself. At another point of the space the finding's
    runs were not trained, so the verdict there is None and the reason says why."""
    if not best:
        return None
    text = best.get("text", "the best-fitting protocol")
    if not best.get("default"):
        return {"verdict": None, "protocol": text,
                "reason": "the finding's runs were not trained at that protocol"}
    share = best.get("share", 1.0)
    at = verdicts.at_length(row, share)
    if at is None:
        return {"verdict": None, "protocol": text, "reason": f"its finding computed no verdict at {share:.0%} of the steps"}
    return {**at, "protocol": text}


def _share(r):
    v = r.get("protocol_share")
    return "–" if v is None else f"{v:.0%}"


def ordered(verdict_rows):
    """The rows in the study's claim order (published.json), one per claim, plus a 'not judged'
    row for any claim no notebook produced."""
    order = list(published.claims())
    by = {r["claim_id"]: r for r in verdict_rows}
    out = [by[c] for c in order if c in by] + [r for r in verdict_rows if r["claim_id"] not in order]
    missing = [c for c in order if c not in by]
    return out, missing


def _parts_text(parts):
    keys = [k for k in PART_NAMES if k in parts] + [k for k in parts if k not in PART_NAMES]   # a claim's own parts last
    return "; ".join(f"{k}: {parts[k]}" for k in keys if parts.get(k)) or "–"


def _cell(text):
    """Text shown as itself in markdown (a table cell or a list item): markdown's special characters
    escaped (a criterion's "claim*sqrt(10)" is not emphasis), one line."""
    return re.sub(r"([\\`*_\[\]<>|])", r"\\\1", str(text)).replace("\n", " ")


PROTOCOLS = (("our protocol", "verdict"), ("the study's likeliest protocol", "at_study_protocol"))


def _claim_anchor(claim_id):
    return f"claim-{claim_id}"


def _published_text(r, e=None):
    """The study's value of a claim, on the scale of our effect when there is one."""
    e = summary.effect(r) if e is None else e
    if e and e["published"] is not None:
        return verdicts.effect_text(e, e["published"])
    pub = r.get("published")
    if isinstance(pub, (int, float)) and not isinstance(pub, bool):
        return f"{int(pub):,}" if float(pub).is_integer() else stats.fmt(pub)
    if isinstance(pub, (list, tuple)):
        return "–".join(stats.fmt(v) for v in pub)
    return "–" if pub is None else str(pub)


def ours_short(r):
    """Our headline for the scorecard: the row's effect with its 95% interval where there is one
    number (`verdicts.effect_text`), else the first clause of the row's `ours` (the section gives it in
    full)."""
    e = summary.effect(r)
    if e is None:
        return r["ours"].split(";")[0].strip()
    return verdicts.effect_text(e)


def _verdict_td(v):
    v = v or "not judged"
    return (f'<td class="rn-verdict" style="background:{summary.VERDICT_COLORS.get(v, "#ffffff")}">'
            f"{html.escape(v)}</td>")


def scorecard(verdict_rows, caption=True, history=None):
    """The scorecard (HTML): one row per claim in the study's order, short columns (the claim, the
    study's value and ours on the same scale, the verdict at each protocol, coloured, and the share
    of the protocol space where it holds), each row linking to its section. With `history`
    (`criteria_history`), a claim whose criterion was revised after its results were seen is marked †."""
    rows, missing = ordered(verdict_rows)
    history = history or {}
    space = any("protocol_region" in r for r in rows)
    heads = ["#", "claim", "study", "ours (95% interval)", "verdict at our protocol"]
    heads += ["at the study's likeliest protocol", "holds across protocols"] if space else []
    out = ['<table class="rn-scorecard"><thead><tr>' + "".join(f"<th>{html.escape(h)}</th>" for h in heads)
           + "</tr></thead><tbody>"]
    for i, r in enumerate(rows, 1):
        e = summary.effect(r)
        measure = f'<br><small>{html.escape(e["label"])}</small>' if e else ""
        cells = [f"<td>{i}</td>", f'<td><a href="#{_claim_anchor(r["claim_id"])}">{html.escape(r["claim"])}</a>'
                 f"{measure}{REVISED_MARK if revised_after_data(r, history) else ''}</td>",
                 f"<td>{html.escape(_published_text(r))}</td>", f"<td>{html.escape(ours_short(r))}</td>",
                 _verdict_td(r["verdict"])]
        if space:
            cells += [_verdict_td(summary.verdict_at(r, "at_study_protocol")), f"<td>{_share(r)}</td>"]
        out.append("<tr>" + "".join(cells) + "</tr>")
    for c in missing:
        claim = published.claims()[c]
        out.append(f"<tr><td>–</td><td>{html.escape(claim['text'])}</td><td>–</td><td>–</td>"
                   + _verdict_td("not judged") + ("<td>–</td><td>–</td>" if space else "") + "</tr>")
    return "\n".join(out) + "</tbody></table>"


REVISED_MARK = ' <span class="rn-revised" title="criterion revised after its results were seen">†</span>'


def scorecard_caption(verdict_rows):
    return ("The scorecard: each claim of the study in its order, the study's value and ours on the same scale "
            "(ratios ×, accuracy gaps in pp), the verdict at our protocol and at the protocol that best fits the "
            "study's own table (notebook 08), and the share of the sampled protocol space where the claim holds. "
            "A row links to its section, which gives the criterion and the reasons; † marks a claim whose "
            "criterion was revised after a committed render had shown its results (Provenance: criteria history)."
            + next((f" The study's likeliest protocol: {at['protocol']}." for r in verdict_rows
                    for at in [r.get("at_study_protocol")] if isinstance(at, dict) and at.get("protocol")), ""))


def check_parts_text(r):
    """The parts of a row the robustness check ran and those it did not need (no value of theirs could
    change the verdict: `analysis.robustness`), as table cells "checked | not needed"."""
    if "check_parts_run" not in r:
        return "– | –"
    run, skipped = r["check_parts_run"], r["check_parts_skipped"]
    steps = lambda k: f" ({(r.get(k) or [0, 0])[1]:,} model-steps)" if (r.get(k) or [0, 0])[1] else ""
    return (f"{_cell(', '.join(run)) or 'none'}{steps('check_cost_run')} | "
            f"{_cell(', '.join(skipped)) or 'none'}{steps('check_cost_skipped') if skipped else ''}")


def checks_table(verdict_rows):
    """Per claim, the commit that last changed its criterion, the robustness check's verdicts and
    the parts it checked and did not need (it stops when the rest cannot change the verdict)."""
    rows, _ = ordered(verdict_rows)
    lines = ["| # | claim | criterion last changed | verdict (as trained) | verdict (one-ulp perturbation) | stable "
             "| parts checked | parts not needed |", "|---|---|---|---|---|---|---|---|"]
    stable = {True: "yes", False: "**no: inconclusive**", None: "not needed"}
    for i, r in enumerate(rows, 1):
        if "rounding_stable" in r:
            first = r.get("verdict_before_rounding_check", r["verdict"])
            check = (f"{first} | {r.get('verdict_other_kernels') or 'not needed'} | {stable[r['rounding_stable']]} | "
                     + check_parts_text(r))
        else:
            check = f"{r['verdict']} | not checked | – | – | –"
        lines.append(f"| {i} | {r['claim_id']} | `{r.get('criterion_commit', 'unknown')}` | {check} |")
    return "\n".join(lines)


ABSTRACT_WORDS = 250


def _words(text):
    return len(re.sub(r"[*_`\[\]()]", " ", text).split())


# Why a claim was not replicated, by kind (`failure_kinds`), in the order that breaks a tie.
FAILURE_KINDS = {
    "direction": "the claimed effect is absent or goes the other way (its direction fails)",
    "magnitude": "the effect is far from the claimed size (its magnitude fails)",
    "mechanism": "a further claimed part (a mechanism, a count or a condition) fails",
    "robustness check": "the result does not survive the robustness check (a one-ulp move of the initial weights)",
    "not testable": "a part is not testable as stated",
    "undecided": "a part neither holds nor fails at our number of data draws",
}


def failure_kinds(row):
    """The kinds of cause (`FAILURE_KINDS`) behind one verdict row: each failing part (direction,
    magnitude, or any other part: mechanism), a part not testable as stated, a verdict or ratio the
    robustness check moved, and, for a row with no failing part, its undecided parts."""
    parts = row.get("parts") or {}
    kinds = {k if k in ("direction", "magnitude") else "mechanism" for k, v in parts.items() if v == verdicts.FAILS}
    if any(v == verdicts.NOT_TESTABLE for v in parts.values()):
        kinds.add("not testable")
    if row.get("rounding_stable") is False or "verdict_before_ratio_check" in row:
        kinds.add("robustness check")
    if not kinds and any(v == verdicts.UNSURE for v in parts.values()):
        kinds.add("undecided")
    return kinds


def one_reason(verdict_rows):
    """The one reason that explains most of what did not replicate, computed from the rows: among
    the rows not replicated or inconclusive, the kind of cause (`failure_kinds`) shared by the most
    rows (ties: `FAILURE_KINDS` order), with its count and the claims; "" when every row holds."""
    rows = [r for r in ordered(verdict_rows)[0] if r["verdict"] in (verdicts.NOT_REPLICATED, verdicts.INCONCLUSIVE)]
    kinds = [failure_kinds(r) for r in rows]
    counts = {k: sum(k in ks for ks in kinds) for k in FAILURE_KINDS}
    kind = max(FAILURE_KINDS, key=counts.get)
    if not counts[kind]:
        return ""
    names = [summary.short_claim(r) for r, ks in zip(rows, kinds) if kind in ks]
    return (f"The commonest reason: {FAILURE_KINDS[kind]}, in {counts[kind]} of the {len(rows)} "
            f"claims not replicated or inconclusive ({', '.join(names)}).")


def abstract(verdict_rows, answers=(), limit=ABSTRACT_WORDS):
    """The abstract (markdown, at most `limit` words), computed from the verdicts: what the study
    claimed, what we found, the one reason that explains most of it (`one_reason`), where the
    claims hold. Sentences past the first four are added in order while the abstract stays within
    the limit."""
    rows, missing = ordered(verdict_rows)
    n = len(rows) + len(missing)
    counts = pd.Series([r["verdict"] for r in rows], dtype=object).value_counts()
    found = ", ".join(f"{counts.get(v, 0)} {v}" for v in verdicts.VERDICTS if counts.get(v, 0)) or "none judged"
    held = [r for r in rows if r["verdict"] in (verdicts.REPLICATED, verdicts.CONDITIONAL)]
    first = [
        f"The study *Beyond Linear Neurons* claimed that richer neurons such as SinGLU, sin(ω·Wg·x) ⊙ (Wv·x), beat "
        f"a plain ReLU MLP at a matched parameter budget, in {n} headline claims on toy tasks ({STUDY_CITATION}); "
        f"its benchmark scripts and results files are listed but not available, and it states no data generators "
        f"or hyperparameters.",
        f"We re-ran it with {len(neurons.available())} of its neuron designs and {len(tasks.available())} tasks "
        f"under a documented protocol and judged every claim by the criterion its finding module states (a paired "
        f"t across {protocol.DATA_SEEDS} data draws shared by every arch, seeds averaged within a draw, "
        f"Holm-corrected; no effect only from an equivalence test).",
        f"Of the {n} claims, {found}" + (f", {len(missing)} not judged" if missing else "") + " (Figure 1, Table 1)."]
    first += [s for s in [one_reason(verdict_rows)] if s]
    more = []
    if held:
        more.append("What holds: " + "; ".join(f"{summary.short_claim(r)} ({r['verdict']})" for r in held) + ".")
    gaps = [(r, summary.effect(r)) for r in rows]
    far = [(r, e) for r, e in gaps if e and e["published"] is not None and e["low"] is not None
           and not e["low"] <= e["published"] <= e["high"]]
    if far:
        more.append(f"For {len(far)} of the {sum(1 for _, e in gaps if e and e['low'] is not None)} claims with one "
                    f"effect and its interval, the study's published effect lies outside our 95% interval ("
                    + ", ".join(summary.short_claim(r) for r, e in far) + ").")
    judged = [r for r in rows if r.get("protocol_share") is not None]
    if judged:
        at = [r for r in judged if summary.verdict_at(r, "at_study_protocol") in (verdicts.REPLICATED, verdicts.CONDITIONAL)]
        shares = sorted(r["protocol_share"] for r in judged)
        more.append(f"Across the sampled protocol space (learning rate, ω, training length, initialisation, "
                    f"difficulty), a claim holds at a median {shares[len(shares) // 2]:.0%} of the protocols; at the "
                    f"protocol that best fits the study's own table, {len(at)} of {len(judged)} claims judged there "
                    f"hold" + (f" ({', '.join(summary.short_claim(r) for r in at)})" if at else "") + ".")
    more += [f"{a['question']} {a['answer']}" for a in answers]
    text = " ".join(first)
    for s in more:
        if _words(text + " " + s) <= limit:
            text += " " + s
    return text


def limitations(verdict_rows=()):
    """The limitations section (markdown): what the verdicts depend on, with the values from the code."""
    sine_omega = inspect.signature(neurons.SinGLU).parameters["omega"].default
    siren_omega = inspect.signature(neurons.Siren).parameters["omega"].default
    eps = float(torch.finfo(torch.float32).eps)
    knobs = {t: tasks.difficulty(t)[0] for t in tasks.STANDARD}
    difficulty = ", ".join(f"{t} {k} = {tasks.options_of(t)[k]}" for t, k in knobs.items())
    return "\n".join([
        '<a id="limitations"></a>', "", "## Limitations", "",
        "- The study's code, data generators and hyperparameters are not public; our generators and protocol are "
        "documented choices (Methods, `richneuron/tasks.py`), so a verdict says whether a claim holds under *our* "
        "protocol and the sweeps shown, not whether the study's own runs were wrong. Every task is synthetic: "
        "generators we wrote because the study published none.",
        f"- **Learning rate.** Every arch trains at one constant learning rate, {protocol.LR:g} (Adam), held to a rule stated "
        "in Methods (the best mean rank over archs and tasks on validation data; Methods says whether the rule's "
        "choice equals it) for the study's neurons together; an arch whose best rate lies elsewhere is judged "
        "off its optimum. Only some claims are re-judged at swept rates, and the tuned rates of notebook 07 come "
        "from one trial per rate on a validation split.",
        f"- **ω.** Every sine neuron runs at ω = {sine_omega:g} unless a finding sweeps it (05, 06); SIREN at its "
        f"paper's ω0 = {siren_omega:g}. A claim about a sine neuron is a claim at that frequency scale.",
        f"- **Task difficulty.** Each task is judged at one difficulty (the generator defaults: {difficulty}); the "
        "ordering of neurons can change with difficulty, as notebook 02's difficulty sweep shows where it was run.",
        f"- **The data draw.** Replicas are (data draw, seed) pairs, {protocol.SEEDS} seeds on each of "
        f"{protocol.DATA_SEEDS} draws, the same draws for every arch. The draw is the unit of inference: seeds "
        "are averaged within a draw and the archs compared by a paired t across the draws "
        f"({protocol.DATA_SEEDS - 1} degrees of freedom), so an arch-by-draw interaction widens the interval "
        "instead of passing for a skill difference.",
        f"- **Small errors.** Training and scoring are in float32 (machine epsilon {eps:.2g}). No fixed floor "
        "decides whether a ratio of small errors is a measurement: it is judged unless the robustness check's "
        f"runs of the same comparison move it by more than the claimed effect's band (a factor {verdicts.BAND:.2g}).",
        "- **Adam's normalisation.** Adam divides every parameter's step by the running RMS of its own gradient, "
        "so a modulating (meta) matrix whose gradients are far smaller than the direct ones still moves at the "
        "same rate: \"gradient competition\" (meta gradients drowned by the direct ones) is a statement about "
        "plain SGD and cannot be tested as stated under Adam. Notebook 03 reports the gradient norms and a "
        "meta-learning-rate sweep instead; its verdict on that part is about those.",
        "- **Untuned peers.** The published peers (GLU family, SIREN, Snake, FAN) run at our protocol with their "
        "reference initialisation and default options, without the per-model tuning their papers used beyond the "
        "learning-rate sweep of notebook 07; a peer ranked low here may rank higher tuned.",
        "- **Chaotic rounding.** Float32 training is chaotic in its last digits (LayerNorm neurons, sine neurons at "
        "large lr or ω): another CPU or thread count can move a replica's numbers. The robustness check reruns the "
        "scorecard comparisons with every initial weight moved by one ulp, as far as they can change a verdict; a "
        "verdict that survives it may still move on hardware we did not try.",
        f"- **Our margins.** The equivalence margins (×{stats.EQUIVALENCE['log']:g} for errors, "
        f"{100 * stats.EQUIVALENCE['linear']:g} pp for accuracies) and the magnitude band (the claimed order of "
        f"magnitude, ×/÷{inspect.signature(verdicts.magnitude).parameters['band'].default:.3g}) are our choices (each criterion's history, "
        "Provenance, says when it was last revised); other choices can move a verdict between *not replicated* and *inconclusive*.",
        f"- **Toy scale.** {protocol.BUDGET:,} parameters per model at the default protocol (other budgets only "
        "where a notebook sweeps them, up to notebook 07's scale sweep), full-batch Adam, CPU float32; nothing "
        "here speaks for large models.",
        ""])


def _html_output(text):
    return nbformat.v4.new_output("display_data", data={"text/html": text, "text/plain": ""})


def _html_cell(text, cell_id):
    c = nbformat.v4.new_code_cell(source="", outputs=[_html_output(text)])
    c.id = cell_id
    return c


def _md_cell(text, cell_id):
    c = nbformat.v4.new_markdown_cell(text)
    c.id = cell_id
    return c


def table_figure(table_html, caption, name):
    """A table as the paper shows it: in a captioned <figure> whose number `number_tables` sets."""
    return (f'<figure class="rn-table" id="tab-{name}"><figcaption><b>Table ?.</b> {html.escape(caption)}'
            f"</figcaption>\n{table_html}</figure>")


def _md_table(md, caption, name):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    return table_figure(markdown2html_mistune(md), caption, name)


# Column names as a reader says them: a table's raw headers (snake_case identifiers) are spelled out.
HEADERS = {"p_holm": "Holm p", "p": "p", "n": "n", "lr": "learning rate", "ci_low": "95% interval, low",
           "ci_high": "95% interval, high", "low": "95% interval, low", "high": "95% interval, high",
           "meta_lr_scale": "meta learning-rate factor", "best_gap": "best gap", "data_seed": "data seed"}
WORDS = {"holm": "Holm", "ci": "interval", "mse": "MSE", "lr": "learning rate", "gm": "geometric mean",
         "sd": "SD", "std": "SD", "pp": "pp", "ood": "OOD", "acc": "accuracy", "n": "n", "p": "p",
         "lo": "low", "hi": "high", "num": "number", "pct": "%"}
NUMBER_CELL = re.compile(r"-?\d+\.\d{4,}|-?\d\.\d{3,}e[+-]?\d+")   # more digits than they resolve


def human_header(name):
    """A raw column name as words ("p_holm" -> "Holm p", "best_gap" -> "best gap"); other headers
    stay as written."""
    name = str(name)
    if name in HEADERS:
        return HEADERS[name]
    if re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", name):
        return " ".join(WORDS.get(w, w) for w in name.split("_"))
    return name


def human_value(text):
    """A table cell as the paper shows it: yes/no for booleans, – for missing, long decimals at 3
    significant digits (`stats.fmt`)."""
    t = text.strip()
    if t in ("True", "False"):
        return "yes" if t == "True" else "no"
    if t in ("None", "nan", "NaN", "<NA>", "NaT"):
        return "–"
    if NUMBER_CELL.fullmatch(t):
        return stats.fmt(float(t))
    return text


def _plain(md):
    """Markdown or HTML as one line of plain text (a heading's #s, emphasis, code marks and links dropped)."""
    text = re.sub(r"<[^>]+>", " ", md)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"^#+\s*", "", text.strip())
    text = re.sub(r"\*+|`+|(?<!\w)_+|_+(?!\w)", "", text)          # not the _ inside a name
    return " ".join(text.split())


def _join(*parts):
    """Caption parts as sentences ("Ranks: is there a best?" + "Rank 1 ..." without "?.")."""
    out = ""
    for p in (p.strip() for p in parts):
        if p:
            out += (p if not out else (" " if out[-1] in ".?!" else ". ") + p)
    return re.sub(r":$", ".", out)


def _first_sentence(md):
    """A markdown cell's heading (if any) and its first sentence, as plain text: a table's caption."""
    lines = md.strip().splitlines()
    heading = next((_plain(l) for l in lines if l.startswith("#")), "")
    body = _plain(" ".join(l for l in lines if not l.startswith("#") and not l.lstrip().startswith("|")))
    m = re.match(r"(.+?[.:!?])(\s|$)", body)
    sentence = m.group(1) if m else body
    return _join(heading, sentence)


def number_tables(cells, label=""):
    """Number every table of `cells` in order ("Table 1." ..., or "Table A3.1." with label "A3."),
    in place: a generated table (`table_figure`) keeps its caption; any other table shown by a
    cell is put in a captioned figure whose caption is the text the notebook wrote before it
    (its heading and first sentence), its raw headers spelled out, booleans as yes/no, missing
    values as –, long decimals rounded (`human_header`, `human_value`). A markdown output (a
    notebook's `say`) is converted to HTML first, so its tables are numbered too. Returns the count."""
    from bs4 import BeautifulSoup
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    n, context, seen, heading = 0, "", {}, ""
    for c in cells:
        if c.cell_type == "markdown":
            heading = next((_plain(l) for l in c.source.splitlines() if l.startswith("#")), heading)
            context = _first_sentence(c.source) or context
            continue
        if c.cell_type != "code":
            continue
        for o in c.get("outputs", []):
            if o.output_type not in ("display_data", "execute_result"):
                continue
            data = o.get("data", {})
            if "text/markdown" in data and "text/html" not in data:
                md = data["text/markdown"]
                o.data = nbformat.from_dict({"text/html": markdown2html_mistune(md), "text/plain": data.get("text/plain", "")})
                data = o.data
                before = _first_sentence(md.split("\n|")[0])
                if len(before.split()) >= 5:                   # a sentence, not a label ("Models:")
                    context = before if not heading or before.startswith(heading) else _join(heading, before)
                if "<table" not in data["text/html"]:
                    continue
            text = data.get("text/html", "")
            if "<table" not in text:
                continue
            soup = BeautifulSoup(text, "html.parser")
            for table in soup.find_all("table"):
                n += 1
                number = f"{label}{n}"
                fig = table.find_parent("figure", class_="rn-table")
                if fig is None:
                    seen[context] = seen.get(context, 0) + 1
                    caption = context or "(no caption given)"
                    caption += "" if seen[context] == 1 else f" (table {seen[context]} of this part)"
                    fig = BeautifulSoup(table_figure("", caption, number.replace(".", "-")), "html.parser").figure
                    table.replace_with(fig)
                    fig.append(table)
                    for th in table.find_all("th"):
                        if th.string:
                            th.string = human_header(th.string.strip())
                    for td in table.find_all("td"):
                        if td.string:
                            td.string = human_value(td.string)
                fig.figcaption.b.string = f"Table {number}."
            o.data["text/html"] = str(soup)
    return n


def number_figures(cells, label=""):
    """Number the paper's figures in order ("Figure 1." ..., or "Figure A3.1." with label "A3.")
    across all notebooks, in place: a figure shown by `Setup.save` keeps its caption (also its alt
    text); a bare PNG output (a figure shown without `cfg.save`) becomes a numbered figure with an
    empty caption. Returns the count."""
    n = 0
    for c in cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            if o.output_type not in ("display_data", "execute_result"):
                continue
            meta = o.get("metadata", {}).get(nbk.FIGURE_KEY)
            if meta:
                png = re.search(r'src="data:image/png;base64,([^"]+)"', o.data["text/html"])[1]
            elif "image/png" in o.data:
                png, meta = "".join(o.data["image/png"].split()), {"name": "", "caption": "", "width": None}
            else:
                continue
            n += 1
            name = meta["name"] or f"{label}{n}".replace(".", "-")
            data, metadata = nbk.figure_output(png, meta["caption"], f"{label}{n}", name, meta.get("width"))
            o.data, o.metadata = nbformat.from_dict(data), nbformat.from_dict({**o.get("metadata", {}), **metadata})
    return n


FLOAT_ID = re.compile(r'<figure class="rn-(figure|table)"[^>]*\bid="([^"]+)"[^>]*>\s*(?:<img[^>]*>\s*)?'
                      r'<figcaption><b>(?:Figure|Table) ([^<]+)\.</b>', re.S)


def floats(cells):
    """The figures and tables shown by `cells`, in order: [(kind, id, number)]."""
    out = []
    for c in cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            out += FLOAT_ID.findall(o.get("data", {}).get("text/html", ""))
    return out


def _ref(kind, fid, number):
    return f"[{'Figure' if kind == 'figure' else 'Table'} {number}](#{fid})"


def resolve_refs(cells):
    """Replace every `[[ref:ID]]` in markdown cells by a link to that figure or table with its number
    ("[Figure 3](#fig-…)"); a reference to a figure the page does not show is dropped."""
    refs = {fid: _ref(kind, fid, number) for kind, fid, number in floats(cells)}
    for c in cells:
        if c.cell_type == "markdown" and "[[ref:" in c.source:
            c.source = re.sub(r"\s*\(?\[\[ref:([^\]]+)\]\]\)?", lambda m: (" (" + refs[m[1]] + ")") if m[1] in refs else "",
                              c.source)


def shown_here(cells, what="This section shows", cited=()):
    """A sentence referring to every figure and table of `cells` (a section or an appendix) that
    the text does not cite already (`cited`: their ids)."""
    items = [f for f in floats(cells) if f[1] not in cited]
    if not items:
        return ""
    figs = [_ref(*f) for f in items if f[0] == "figure"]
    tabs = [_ref(*f) for f in items if f[0] == "table"]
    return f"{what} " + " and ".join(p for p in (", ".join(figs), ", ".join(tabs)) if p) + "."


APPENDIX_ONLY = "appendix-only"     # a notebook cell with this tag is detail: shown in its appendix only


def _notebook_cells(path, keep_code=False, main=False):
    """An executed notebook's cells for the paper: injected parameters dropped (machine paths),
    the parameters cell too unless `keep_code`, cells tagged `APPENDIX_ONLY` too in the `main`
    text, stderr (progress bars, warnings) dropped, ids made unique across notebooks."""
    nb = nbformat.read(path, as_version=4)
    drop = {"injected-parameters"} | (set() if keep_code else {"parameters"}) | ({APPENDIX_ONLY} if main else set())
    out = []
    for c in nb.cells:
        if drop & set(c.metadata.get("tags", [])):
            continue
        c = nbformat.from_dict(c)
        c.id = f"{path.stem[:2]}-{c.id}"
        if c.cell_type == "code":
            c.outputs = [o for o in c.outputs if not (o.output_type == "stream" and o.name == "stderr")]
        out.append(c)
    return nb, out


def appendix_name(path):
    return f"appendix/{Path(path).stem}.html"


def appendix_label(path):
    return f"A{int(Path(path).stem[:2])}"


def appendix(path, paper_name="index.html"):
    """One notebook's full executed content as an appendix page: every cell, its code folded, its
    figures and tables numbered "A<n>.<k>" and listed at the top, with links back to the paper."""
    nb, cells = _notebook_cells(path, keep_code=True)
    label, stem = appendix_label(path), Path(path).stem
    title = _title(nb, stem)
    for c in cells:
        if c.cell_type == "markdown" and c.source.startswith("# "):
            c.source = f"# Appendix {label}. {c.source[2:]}"
            break
    number_figures(cells, f"{label}.")
    number_tables(cells, f"{label}.")
    head = (f"[← The paper]({'../' + paper_name}) · [its section on this notebook](../{paper_name}#{_anchor(stem)})"
            f"\n\nAppendix {label} is notebook `{stem}` as it ran for this paper, every output kept; the code of a "
            f"cell is folded under it (click *code* to open it). " + shown_here(cells, "It shows"))
    out = nbformat.v4.new_notebook()
    out.metadata["title"] = f"Appendix {label}: {title}"
    out.cells = cells[:1] + [_md_cell(head, f"{stem[:2]}-appendix-head")] + cells[1:]
    return out


def _section_of(row):
    """The notebook (its two-digit number) a verdict row belongs to: its first evidence named after a
    notebook's figure, else its finding's number."""
    for item in str(row.get("evidence", "")).split(","):
        m = re.match(r"\s*(\d\d)_", item)
        if m:
            return m[1]
    f = row.get("finding")
    return f"{int(f):02d}" if isinstance(f, int) or str(f).isdigit() else None


def _figure_outputs(cells, names):
    """The outputs of `cells` that show the figures named `names` (in that order)."""
    by = {}
    for c in cells:
        for o in c.get("outputs", []) if c.cell_type == "code" else []:
            meta = o.get("metadata", {}).get(nbk.FIGURE_KEY)
            if meta and meta.get("name"):
                by.setdefault(meta["name"], o)
    return [copy.deepcopy(by[n]) for n in names if n in by]


def _evidence_figures(evidence, cells, used, most=2):
    names = [e.strip() for e in str(evidence).split(",") if e.strip() and not e.strip().endswith(".csv")]
    names = [n for n in names if n not in used][:most]
    outs = _figure_outputs(cells, names)
    used.update(n for n in names)
    return outs, [n for n in names if _figure_outputs(cells, [n])]


def claim_text(r, figures):
    """A claim's verdict and effect in sentences (markdown), with references to its figures."""
    refs = " ".join(f"[[ref:fig-{n}]]" for n in figures)
    parts = [f"**Verdict: {r['verdict']}** at our protocol" + (f": {_cell(r['reason'])}." if r.get("reason") else ".")
             + (f" Parts: {_parts_text(r.get('parts') or {})}." if r.get("parts") else ""),
             f"Ours: {_cell(r['ours'])}; the study: {_cell(_published_text(r))}{refs}."]
    if "rounding_stable" in r and r.get("check_parts_skipped"):
        run = ", ".join(r.get("check_parts_run") or [])
        parts.append("Robustness check: " + (f"ran {_cell(run)}; " if run else "")
                     + f"{_cell(', '.join(r['check_parts_skipped']))} not needed (no outcome could change the verdict)"
                     + {True: f"; verdict {r.get('verdict_other_kernels')} (stable).",
                        False: f"; verdict {r.get('verdict_other_kernels') or 'another'} (it changed, so the verdict "
                               "is inconclusive).", None: "."}[r["rounding_stable"]])
    elif "rounding_stable" in r:
        other = r.get("ours_other_kernels")
        same = "the same numbers" if other == r["ours"] else _cell(other or "–")
        parts.append(f"With every initial weight moved by one ulp: {same}; verdict {r.get('verdict_other_kernels')} "
                     f"({'stable' if r['rounding_stable'] else 'it changed, so the verdict is inconclusive'}).")
    if "protocol_region" in r:
        parts.append(f"Across the sampled protocols it holds at {_share(r)}"
                     + (f" ({_cell(r['protocol_region'])})" if r.get("protocol_region") else "")
                     + (" by notebook 08's reduced criterion." if r.get("protocol_share") is not None else "."))
    at = r.get("at_study_protocol")
    if isinstance(at, dict):
        parts.append("At the study's likeliest protocol (caption of [[ref:tab-scorecard]]), by the same criterion: "
                     + (f"**{at['verdict']}**" + (f"; ours: {_cell(at['ours'])}" if at.get("ours") else "")
                        if at.get("verdict") else f"not judged ({_cell(at.get('reason') or '')})") + ".")
    elif at:
        parts.append(f"At the study's likeliest protocol: {at}.")
    return " ".join(parts)


def _intro(nb):
    """A notebook's question: the first paragraph after its title."""
    first = next((c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")), "")
    paras = [p for p in first.split("\n\n")[1:] if p.strip()]
    return paras[0] if paras else ""


CRITERION_WORDS = 70     # the main text states a criterion's first sentences up to this many words


def criterion_short(text, words=CRITERION_WORDS):
    """A criterion's opening for the main text: its first sentence, and the sentences after it while
    the whole stays within `words` words, marked with "…" when cut (the full criterion, every branch,
    is in the notebook's appendix)."""
    sentences = re.split(r"(?<=[.;])\s+(?=[A-Z])", text.strip())
    out = sentences[0]
    for s in sentences[1:]:
        if len((out + " " + s).split()) > words:
            return out + " …"
        out += " " + s
    return out


def finding_section(path, rows, answers):
    """The main text's section on one notebook: its question, then per claim the criterion, its key
    figures and the verdict with the effect in a sentence, then its answers to its own questions; the
    whole notebook is its appendix."""
    nb, cells = _notebook_cells(path)
    stem = path.stem
    used, out = set(), []
    out.append(_md_cell(f'<a id="{_anchor(stem)}"></a>\n\n## {_title(nb, stem)}\n\n{_intro(nb)}\n\nEvery table and '
                        f"figure of this notebook, with its code: [Appendix {appendix_label(path)}]"
                        f"({appendix_name(path)}).", f"{stem[:2]}-section"))
    for r in rows:
        outs, names = _evidence_figures(r.get("evidence", ""), cells, used)
        short = criterion_short(r.get("criterion", ""))
        out.append(_md_cell(f'<a id="{_claim_anchor(r["claim_id"])}"></a>\n\n### Claim: {_cell(r["claim"])}\n\n'
                            f"**Criterion.** {_cell(short)}"
                            + (f" (every branch: [Appendix {appendix_label(path)}]({appendix_name(path)}))"
                               if short != r.get("criterion", "") else ""),
                            f"{stem[:2]}-{r['claim_id']}"))
        if outs:
            c = nbformat.v4.new_code_cell(source="", outputs=outs)
            c.id = f"{stem[:2]}-{r['claim_id']}-figures"
            out.append(c)
        out.append(_md_cell(claim_text(r, names), f"{stem[:2]}-{r['claim_id']}-verdict"))
    for i, a in enumerate(answers):
        outs, names = _evidence_figures(a.get("evidence", ""), cells, used, most=1)
        refs = " ".join(f"[[ref:fig-{n}]]" for n in names)
        out.append(_md_cell(f"### {_cell(a['question'])}\n\n{_cell(a['answer'])}{refs}", f"{stem[:2]}-answer-{i}"))
        if outs:
            c = nbformat.v4.new_code_cell(source="", outputs=outs)
            c.id = f"{stem[:2]}-answer-{i}-figures"
            out.append(c)
    return out


def methods_section(path):
    """Methods: notebook 00 (its code hidden, headings one level down) without the cells it tags as
    detail (`APPENDIX_ONLY`), which its appendix shows."""
    nb, cells = _notebook_cells(path, main=True)
    for c in cells:
        if c.cell_type == "markdown":
            src = _demote(c.source)
            if c.source.startswith("# "):
                src = (f'<a id="{_anchor(path.stem)}"></a>\n\n' + src + f"\n\nIts tables are in [Appendix "
                       f"{appendix_label(path)}]({appendix_name(path)}): every neuron's equation, parameters, "
                       "initialisation and source; every task's generator in full, its sizes and sanity baselines; "
                       "every arch's width and exact parameter count; and the calibration sweep behind the protocol.")
            c.source = src
    return cells


def provenance_section(verdict_rows, meta, history=None):
    """Provenance: the render, the checks and `history` (`criteria_history`, read once by `assemble`)."""
    prov = "\n".join(f"| {k} | {_cell(v)} |" for k, v in meta.items())
    cells = [_md_cell('<a id="provenance"></a>\n\n## Provenance\n\nHow this paper was made: the render '
                      "[[ref:tab-render]]; the commit that last changed each claim's criterion (a criterion changed "
                      "after its results were seen shows a commit later than the render's own) and the rounding "
                      "check: machines round differently and chaotic training amplifies it, so each scorecard "
                      "comparison was run again with every initial weight moved by one ulp "
                      "(`Experiment(perturb=1)`) and a verdict that changes is reported as inconclusive "
                      "[[ref:tab-checks]]; part by part, and only as far as a part could still change the verdict "
                      "(the table names the parts not needed: no value of theirs could change it). Each notebook as it ran, every output kept, is an appendix (Contents). "
                      f"The per-replica results are published next to this paper "
                      f"([{RESULTS_FILE}]({RESULTS_FILE}), columns in [{DICTIONARY_FILE}]({DICTIONARY_FILE})), "
                      f"with every replica's logged scores at the training lengths the verdicts read "
                      f"([{HISTORY_FILE}]({HISTORY_FILE})).",
                      "provenance")]
    cells.append(_html_cell(_md_table(f"| item | value |\n|---|---|\n{prov}\n", "The render: code, machine, "
                                      "mode, runtimes and cells behind this paper.", "render"), "provenance-render"))
    if verdict_rows:
        cells.append(_html_cell(_md_table(checks_table(verdict_rows), "Per claim: the commit that last changed its "
                                          "criterion (the criterion is in the claim's section) and the rounding "
                                          "check, its verdict computed again from runs with every initial weight moved by one ulp "
                                          "(ours with them: in the claim's section), with the parts it checked and "
                                          "those it did not need and the model-steps of each.", "checks"),
                                "provenance-checks"))
    if history:
        cells.append(_md_cell("Every committed render of the scorecard (`paper/verdicts.json` in git, "
                              "`report.criteria_history`), the verdict each gave, and whether a claim's criterion "
                              "changed after a render had shown its verdict [[ref:tab-history]].", "provenance-history-text"))
        cells.append(_html_cell(_md_table(history_table(history), "Criteria history from git: per claim, every "
                                          "committed render's verdict, and whether its criterion was stated before "
                                          "the data.", "history"), "provenance-history"))
    return cells


def assemble(executed, verdict_rows, meta, quick, answers=(), summary_png=None, paper_name="index.html"):
    """The main paper (a notebook, rendered with its code hidden): title, abstract, the summary
    figure, the scorecard, contents, Methods (notebook 00), one short section per notebook with its
    claims, Limitations and Provenance; each notebook in full is its appendix (`appendix`)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    paper = nbformat.v4.new_notebook()
    paper.metadata["title"] = TITLE
    history = criteria_history()           # git, read once: the scorecard's marks and Provenance's table
    mode = ("\n\n**This is a quick smoke-test build (few archs, seeds and steps): its numbers are not the "
            "report's results.**" if quick else "")
    cells = [_md_cell(f"# {TITLE}{mode}", "title"),
             _html_cell(f'<section id="abstract"><p><b>Abstract.</b></p>'
                        f"{markdown2html_mistune(abstract(verdict_rows, answers))}</section>", "abstract")]
    if summary_png is not None:
        caption = summary.caption(ordered(verdict_rows)[0], PROTOCOLS)
        data, metadata = nbk.figure_output(base64.b64encode(summary_png).decode(), caption, 1, "summary", 860)
        c = nbformat.v4.new_code_cell(source="", outputs=[nbformat.v4.new_output("display_data", data=data,
                                                                                  metadata=metadata)])
        c.id = "summary-figure"
        cells.append(c)
    if verdict_rows:
        cells.append(_html_cell(table_figure(scorecard(verdict_rows, history=history), scorecard_caption(verdict_rows), "scorecard"),
                                "scorecard"))
    by_nb, answers_by = {}, {}
    for r in ordered(verdict_rows)[0]:
        by_nb.setdefault(_section_of(r), []).append(r)
    for a in answers:
        answers_by.setdefault(_section_of(a), []).append(a)
    toc = ["## Contents", ""]
    sections = []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        toc.append(f"- [{_title(nb, path.stem)}](#{_anchor(path.stem)}) · [Appendix {appendix_label(path)}]"
                   f"({appendix_name(path)})")
        if path.stem.startswith("00"):
            s = methods_section(path)
        else:
            s = finding_section(path, by_nb.get(path.stem[:2], []), answers_by.get(path.stem[:2], []))
        sections.append(s)
    toc += ["- [Limitations](#limitations)", "- [Provenance](#provenance)"]
    intro = [_md_cell('<a id="scorecard"></a>\n\nEach claim of the study beside our measurement [[ref:fig-summary]] '
                      "and its verdicts [[ref:tab-scorecard]]. Each verdict is computed in its notebook from the "
                      "criterion in its file under richneuron/criteria/, shown in its notebook before the runs; how a "
                      "verdict follows from its parts is in [Methods](#sec-00) (the statistics).", "scorecard-intro")] if verdict_rows else []
    cells[3 if summary_png is not None else 2:3 if summary_png is not None else 2] = intro
    cells.append(_md_cell("\n".join(toc), "contents"))
    tail = [_md_cell(limitations(verdict_rows), "limitations")] + provenance_section(verdict_rows, meta, history)
    body = [c for s in sections for c in s]
    everything = cells + body + tail
    number_figures(everything)
    number_tables(everything)
    for s in sections:                       # every figure and table a section shows is referred to in its text
        cited = set(re.findall(r"\[\[ref:([^\]]+)\]\]", " ".join(c.source for c in s if c.cell_type == "markdown")))
        line = shown_here(s, cited=cited)
        if line and s:
            s[0].source += "\n\n" + line
    paper.cells = cells + [c for s in sections for c in s] + tail
    resolve_refs(paper.cells)
    return paper


# The per-replica results published next to the paper: one row per replica (the metrics rows the
# notebooks read from the results store), and what each column means (`schema`).

def stored_cells(used, cache):
    """The cells the notebooks read, each read once from the store: key -> {"notebooks": the stems
    that read it, in order (the first is the one a cold build trains it for), "doc": its stored
    JSON}. `used` maps a notebook's stem to the keys of the cells its runs returned (see
    `observe.cells_file`)."""
    cells = {}
    for stem, keys in used.items():
        for k in keys:
            if k not in cells:
                cells[k] = {"notebooks": [], "doc": json.loads((Path(cache) / f"{k}.json").read_text())}
            if stem not in cells[k]["notebooks"]:
                cells[k]["notebooks"].append(stem)
    return cells


def results_table(cells):
    """One row per replica the notebooks read (`cells`: `stored_cells`): the store's metrics rows,
    with the notebooks that read them. Replicas read by several notebooks appear once."""
    rows = [{**r, "notebooks": ",".join(c["notebooks"])} for c in cells.values() for r in c["doc"]["metrics"]]
    df = pd.DataFrame(rows)
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
        title = _title(nbformat.read(path, as_version=4), path.stem)
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


SUMMARY_FIGURE = "summary"          # figures/summary.png: the paper's Figure 1, also the README's


def draw_summary(verdict_rows, figures_dir):
    """Draw the summary figure (`summary.figure`) of `verdict_rows` into figures_dir/summary.png."""
    import matplotlib.pyplot as plt
    plots.theme()
    fig = summary.figure(ordered(verdict_rows)[0], PROTOCOLS)
    path = plots.save(fig, SUMMARY_FIGURE, figures_dir)
    plt.close(fig)
    return path


def readme_summary(verdict_rows, figure=f"figures/{SUMMARY_FIGURE}.png"):
    """The README's headline (markdown), from the paper's verdict rows: the summary figure and one
    line per claim (its verdict at our protocol and at the study's likeliest, what is measured, the
    study's value and ours)."""
    rows, missing = ordered(verdict_rows)
    lines = [f"![Each claim of the study beside our measurement: the study's published effect (diamond) and ours "
             f"with its 95% interval, coloured by verdict]({figure})", ""]
    for r in rows:
        at = (f" (at the study's likeliest protocol: {summary.verdict_at(r, 'at_study_protocol')})"
              if summary.verdict_at(r, "at_study_protocol") else "")
        e = summary.effect(r)
        measure = f"{e['label'][0].upper()}{e['label'][1:]}: " if e else ""
        lines.append(f"- **{r['verdict']}**{at}: {_cell(r['claim'])}. {measure}study "
                     f"{_cell(_published_text(r))}, ours {_cell(ours_short(r))}.")
    lines += [f"- **not judged**: {_cell(published.claims()[c]['text'])}." for c in missing]
    return "\n".join(lines)


def update_readme(root, table, marker="notebooks"):
    """Replace the README's text between `<!-- marker:start -->` and `<!-- marker:end -->` by `table`."""
    readme = root / "README.md"
    text, n = re.subn(rf"(<!-- {marker}:start -->\n).*?(<!-- {marker}:end -->)",
                      lambda m: m[1] + table + "\n" + m[2], readme.read_text(), flags=re.S)
    if n:
        readme.write_text(text)


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


def build(quick=False, only=None, root=ROOT, log=print):
    t0, started = time.perf_counter(), datetime.now(timezone.utc).replace(microsecond=0)
    base = root / "build" / ("quick" if quick else "full")
    nb_dir, appendix_dir = base / "notebooks", base / "appendix"
    figures = (base / "figures") if quick else (root / "figures")
    paper_name = "paper.html" if quick else "index.html"
    for d in (nb_dir, appendix_dir, figures):
        d.mkdir(parents=True, exist_ok=True)
    cache = root / "build" / "cache"
    executed, runtimes, verdicts, answers, used = [], {}, [], [], {}
    todo = [p for p in notebooks(root) if not only or p.stem[:2] in only]
    if not todo:
        raise SystemExit(f"no notebook matches {only}; have: {', '.join(p.stem for p in notebooks(root))}")
    log(f"running {len(todo)} notebooks ({'quick' if quick else 'full'} mode)")
    last = root / "paper" / "runtimes.json"          # the last full run's runtimes: the estimates
    expected = cold_estimates(json.loads(last.read_text()), os.cpu_count() or 1) if (last.exists() and not quick) else {}
    for i, nb in enumerate(todo):
        out_dir = base / "results" / nb.stem
        params = {"quick": quick, "output_dir": str(out_dir), "cache_dir": str(cache), "figures_dir": str(figures)}
        out, cells_file = nb_dir / nb.name, out_dir / "cells.txt"
        out_dir.mkdir(parents=True, exist_ok=True)
        runtimes[nb.stem] = execute(nb, out, params, log, label=f"[{i + 1}/{len(todo)}]",
                                    expected=expected.get(nb.stem),
                                    after=sum(expected.get(n.stem, 0) for n in todo[i + 1:]), cells_file=cells_file)
        executed.append(out)
        used[nb.stem] = cells_file.read_text().split() if cells_file.exists() else []
        vfile, afile = out_dir / "verdicts.json", out_dir / "answers.json"
        if vfile.exists():
            verdicts += with_commits(json.loads(vfile.read_text()), root)
        if afile.exists():
            answers += json.loads(afile.read_text())
    sfile = base / "results" / "08_protocol_space" / "space.json"
    if any(p.stem.startswith("08") for p in todo) and sfile.exists():
        verdicts = with_space(verdicts, json.loads(sfile.read_text()))
    total = time.perf_counter() - t0
    cells = stored_cells(used, cache)
    costs = training_costs(used, cells, started)
    n_cells, n_now = sum(c["cells"] for c in costs.values()), sum(c["trained_now"] for c in costs.values())
    meta = provenance(total_runtime_seconds=round(total, 1), mode="quick" if quick else "full",
                      notebooks=", ".join(f"{k} {v:.0f} s" for k, v in runtimes.items()),
                      cells=f"{n_cells:,} cells, {n_now:,} trained by this build and {n_cells - n_now:,} read from "
                            f"the results store; training them took "
                            f"{sum(c['core_seconds'] for c in costs.values()):,.0f} core-seconds in all")
    publish_results(cells, base)
    summary_png = draw_summary(verdicts, figures).read_bytes() if verdicts else None
    paper = assemble(executed, verdicts, meta, quick, answers, summary_png, paper_name)
    nbformat.write(paper, base / "paper.ipynb")
    page = render(paper, base / "paper.html", exclude_input=True)
    for path in executed:
        render(appendix(path, paper_name), appendix_dir / f"{path.stem}.html", exclude_input=False)
    (base / "runtimes.json").write_text(json.dumps({"total_seconds": total, "notebooks": runtimes, "training": costs},
                                                     indent=1))
    (base / "verdicts.json").write_text(json.dumps(verdicts, indent=1))
    (base / "answers.json").write_text(json.dumps(answers, indent=1))
    committed = root / "paper"
    if not quick and not render_files_missing(committed):
        comparison = compare_renders(base, committed)
        (base / "comparison.json").write_text(json.dumps(comparison, indent=1))
        log(describe_comparison(comparison, "the committed paper (paper/)"))
    if not quick and not only:
        dest = committed
        dest.mkdir(exist_ok=True)
        shutil.copy(page, dest / "index.html")
        shutil.rmtree(dest / "appendix", ignore_errors=True)
        shutil.copytree(appendix_dir, dest / "appendix")
        shutil.copy(base / "runtimes.json", dest / "runtimes.json")
        shutil.copy(base / "verdicts.json", dest / "verdicts.json")
        shutil.copy(base / "answers.json", dest / "answers.json")
        shutil.copy(base / RESULTS_FILE, dest / RESULTS_FILE)
        shutil.copy(base / DICTIONARY_FILE, dest / DICTIONARY_FILE)
        shutil.copy(base / HISTORY_FILE, dest / HISTORY_FILE)
        fit_csv = base / "results" / "08_protocol_space" / "protocol_fit.csv"
        if fit_csv.exists():
            shutil.copy(fit_csv, dest / "protocol_fit.csv")
        qfile = root / "build" / "quick" / "runtimes.json"
        quick_rt = json.loads(qfile.read_text())["notebooks"] if qfile.exists() else {}
        update_readme(root, notebook_table(root, executed, runtimes, quick_rt, costs))
        update_readme(root, readme_summary(verdicts), "summary")
    log(f"paper: {page} ({Path(page).stat().st_size / 1e6:.1f} MB); total {total:.0f} s")
    return base


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the notebooks and render the paper.")
    ap.add_argument("--quick", action="store_true", help="quick mode: few archs, seeds and steps")
    ap.add_argument("--only", default="", help="comma-separated notebook numbers, e.g. 01,05")
    ap.add_argument("--compare", nargs=2, metavar=("NEW", "OLD"),
                    help="compare two renders' folders (verdicts.json and results.csv.gz), e.g. build/full paper")
    ap.add_argument("--summary", action="store_true",
                    help="redraw figures/summary.png and the README's claim lines from paper/verdicts.json "
                         "(what a full report writes), without running anything")
    a = ap.parse_args(argv)
    if a.summary:
        rows = json.loads((ROOT / "paper" / "verdicts.json").read_text())
        print(draw_summary(rows, ROOT / "figures"))
        update_readme(ROOT, readme_summary(rows), "summary")
        return
    if a.compare:
        for d in a.compare:
            missing = render_files_missing(d)
            if missing:
                ap.error(f"{d} has no {' or '.join(missing)}: give two folders a `make report` wrote, "
                         f"e.g. build/full and paper")
        print(describe_comparison(compare_renders(*a.compare), a.compare[1]))
        return
    build(quick=a.quick, only=[s.strip() for s in a.only.split(",") if s.strip()])


if __name__ == "__main__":
    main()
