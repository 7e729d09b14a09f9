"""Build the report: run every notebook with papermill, then render the HTML paper with nbconvert.

    python -m richneuron.report            # full default run: figures/ and paper/ are rewritten
    python -m richneuron.report --quick    # every notebook in quick mode, under build/quick/

Each notebook writes its figures (PNG) and tables (CSV) and a `verdicts.json`; the paper is one
notebook assembled from the executed ones (code hidden) behind a generated title, abstract,
scorecard and table of contents, rendered to a self-contained HTML file (images embedded, no
script loaded from the network). Each executed notebook is also rendered with its code.
"""
import argparse
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

from . import neurons, notebook as nbk, protocol, published, stats, tasks
from .provenance import provenance

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLE = "Beyond Linear Neurons, re-run: do richer neurons beat ReLU at a matched parameter budget?"
RESULTS_FILE, DICTIONARY_FILE = "results.csv.gz", "results_dictionary.md"
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
    see `engine._write_progress`) and an estimate of the time left."""
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
    the cells the notebook's runs return are written there (see `engine._record_cells`).

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
        for x in h["renders"]:
            x.pop("criterion")
    return out


def history_table(history):
    """`criteria_history` as a markdown table: per claim, every render's verdict (commit, date) and
    whether its criterion was stated before the data (never changed after a render showed it)."""
    lines = ["| claim | renders: verdict (commit, date; * criterion changed since the previous render) | "
             "criterion stated before the data? |", "|---|---|---|"]
    for claim, h in history.items():
        renders = "; ".join(f"{x['verdict']} ({x['commit']}, {x['date']}{', *' if x['criterion_changed'] else ''})"
                            for x in h["renders"])
        stated = ("no: revised after results in " + ", ".join(h["revisions"])) if h["revised_after_data"] else "yes"
        lines.append(f"| {claim} | {renders} | {stated} |")
    return "\n".join(lines)


def with_space(verdict_rows, space):
    """Each verdict row gains notebook 08's `protocol_share`, `protocol_region` and
    `at_study_protocol` (its verdict at the best-fitting study protocol) from `space` (the
    notebook's space.json, or None when 08 did not run: the rows are returned unchanged)."""
    if not space:
        return verdict_rows
    claims = space.get("claims", {})
    return [{**r, **claims.get(r["claim_id"], {})} for r in verdict_rows]


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


def scorecard(verdict_rows):
    """The scorecard table (markdown) from all notebooks' verdict rows, in the study's claim order."""
    if not verdict_rows:
        return "_No verdicts were produced._"
    rows, missing = ordered(verdict_rows)
    space = any("protocol_region" in r for r in rows)       # notebook 08 ran: its two columns
    extra = (" holds across protocols | at the study's likeliest protocol |", "---|---|") if space else ("", "")
    lines = ["| # | finding | claim | published | ours | parts | verdict (our protocol) |" + extra[0],
             "|---|---|---|---|---|---|---|" + extra[1]]
    for i, r in enumerate(rows, 1):
        pub = r["published"]
        pub = stats.fmt(pub) if isinstance(pub, (int, float)) else ("–" if pub is None else str(pub))
        reason = f" <br><small>{_cell(r['reason'])}</small>" if r.get("reason") else ""
        more = (f" {_share(r)} <br><small>{_cell(r.get('protocol_region') or '')}</small> | "
                f"{r.get('at_study_protocol') or '–'} |") if space else ""
        lines.append(f"| {i} | {r['finding']} | {_cell(r['claim'])} | {_cell(pub)} | {_cell(r['ours'])} | "
                     f"{_parts_text(r.get('parts') or {})} | **{r['verdict']}**{reason} |" + more)
    for c in missing:
        lines.append(f"| – | {published.claims()[c]['finding']} | {_cell(published.claims()[c]['text'])} | "
                     f"{_cell(published.claims()[c].get('value'))} | – | – | **not judged** (no notebook ran it) |"
                     + (" – | – |" if space else ""))
    return "\n".join(lines)


def criteria_table(verdict_rows):
    """Every claim's criterion as its finding module states it, with the commit that last changed it."""
    rows, _ = ordered(verdict_rows)
    lines = ["| # | claim | criterion (every branch) | criterion last changed |", "|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        lines.append(f"| {i} | {r['claim_id']} | {_cell(r.get('criterion', ''))} | "
                     f"`{r.get('criterion_commit', 'unknown')}` |")
    return "\n".join(lines)


def rounding_table(verdict_rows):
    """The rounding check: every verdict computed again from runs with torch's sin/cos/tanh."""
    rows, _ = ordered(verdict_rows)
    lines = ["| # | claim | verdict (NumPy kernels) | verdict (torch kernels) | ours (torch kernels) | stable |",
             "|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        if "rounding_stable" not in r:
            lines.append(f"| {i} | {r['claim_id']} | {r['verdict']} | not checked | – | – |")
            continue
        first = r.get("verdict_before_rounding_check", r["verdict"])
        lines.append(f"| {i} | {r['claim_id']} | {first} | {r['verdict_other_kernels']} | "
                     f"{_cell(r['ours_other_kernels'])} | {'yes' if r['rounding_stable'] else '**no: inconclusive**'} |")
    return "\n".join(lines)


def beyond(answers):
    """The 'Beyond the study' table (markdown) from the notebooks' answers to their own questions."""
    lines = ["| question | answer (computed) | evidence |", "|---|---|---|"]
    lines += [f"| {a['question']} | {a['answer']} | {a['evidence']} |" for a in answers]
    return "\n".join(lines)


def headlines(verdict_rows):
    """The abstract's effect sizes: one line per claim, in the study's order, with the study's
    published value, our headline effect with its 95% interval (the row's `ours`) and the verdict."""
    rows, missing = ordered(verdict_rows)
    lines = []
    for r in rows:
        pub = r.get("published")
        if isinstance(pub, (int, float)) and not isinstance(pub, bool):
            pub = f"{int(pub):,}" if float(pub).is_integer() else stats.fmt(pub)
        else:
            pub = "–" if pub is None else str(pub)
        where = (f" Holds at {_share(r)} of the sampled protocols; at the study's likeliest protocol: "
                 f"{r.get('at_study_protocol') or 'not judged'}." if "protocol_region" in r else "")
        lines.append(f"- **{r['verdict']}**: {_cell(r['claim'])} (study: {_cell(pub)}). Ours: {_cell(r['ours'])}.{where}")
    lines += [f"- **not judged**: {published.claims()[c]['text']} (no notebook ran it)." for c in missing]
    return "\n".join(lines)


def abstract(verdict_rows, quick, answers=()):
    rows, missing = ordered(verdict_rows)
    counts = pd.Series([r["verdict"] for r in rows], dtype=object).value_counts()
    n = len(rows) + len(missing)
    parts = [f"{counts.get(v, 0)} {v}" for v in stats.VERDICTS]
    flipped = sum(1 for r in rows if r.get("rounding_stable") is False)
    mode = ("\n\n**This is a quick smoke-test build (few archs, seeds and steps): its numbers are not the "
            "report's results.**" if quick else "")
    beyond_ = (" Beyond the study (published peer neurons: the GLU family, SIREN, Snake and FAN; tuned learning "
               "rates; 1K to 64K parameters; the protocol space; real data): " + " ".join(f"*{a['question']}* {a['answer']}"
                                                                      for a in answers)) if answers else ""
    return (f"**Abstract.** We re-ran the study *Beyond Linear Neurons: An Empirical Study of Multiplicative "
            f"Periodic Architectures at Small Scale* ({STUDY_CITATION}; {len(neurons.available())} neuron designs, "
            f"{len(tasks.available())} toy tasks) under a documented protocol: the study lists its benchmark scripts "
            f"and per-seed results files, but they are not available, and it does not state its data generators or "
            f"hyperparameters (what its documents do state is in {STUDY_DOCS}); we swept what it left open. Of its "
            f"{n} headline claims: "
            f"{', '.join(parts)}" + (f", {len(missing)} not judged" if missing else "") + ". "
            f"Every comparison is made at the level of the data draw ({protocol.DATA_SEEDS} draws × "
            f"{protocol.SEEDS} seeds, the same draws for every arch: seeds averaged within a draw, a paired t "
            f"across draws) on the log scale for errors (a ratio of geometric means) or the "
            f"linear scale for accuracies, Holm-corrected within "
            f"each claim; \"no effect\" is only claimed from an equivalence test. Every verdict was computed again "
            f"from runs with other floating-point kernels; {flipped} changed and {'is' if flipped == 1 else 'are'} "
            f"reported as inconclusive. Every number below comes from a run of this repository (the study's own "
            f"numbers from one data file), with every seed shown; the per-replica results are published next to "
            f"this paper ([{RESULTS_FILE}]({RESULTS_FILE}), columns in [{DICTIONARY_FILE}]({DICTIONARY_FILE}))."
            + beyond_ + "\n\n**Effect sizes behind the verdicts** (the study's published value, then ours: the "
            "effect with its 95% interval):\n\n" + headlines(verdict_rows) + mode)


def limitations(verdict_rows=()):
    """The limitations section (markdown): what the verdicts depend on, with the values from the code."""
    sine_omega = inspect.signature(neurons.SinGLU).parameters["omega"].default
    siren_omega = inspect.signature(neurons.Siren).parameters["omega"].default
    eps = float(torch.finfo(torch.float32).eps)
    knobs = {"spiral": "turns", "checkerboard": "cells", "nested2d": "k", "complex4d": "scale", "hifreq": "freqs",
             "memorize": "n_points"}
    difficulty = ", ".join(f"{t} {k} = {tasks.options_of(t)[k]}" for t, k in knobs.items())
    return "\n".join([
        '<a id="limitations"></a>', "", "## Limitations", "",
        "- The study's code, data generators and hyperparameters are not public; our generators and protocol are "
        "documented choices (Methods, `richneuron/tasks.py`), so a verdict says whether a claim holds under *our* "
        "protocol and the sweeps shown, not whether the study's own runs were wrong. Every task is synthetic: "
        "generators we wrote because the study published none.",
        f"- **Learning rate.** Every arch trains at one constant learning rate, {protocol.LR:g} (Adam), chosen by the "
        "calibration in Methods for the study's neurons together; an arch whose best rate lies elsewhere is judged "
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
        f"runs of the same comparison move it by more than the claimed effect's band (a factor {stats.BAND:.2g}).",
        "- **Adam's normalisation.** Adam divides every parameter's step by the running RMS of its own gradient, "
        "so a modulating (meta) matrix whose gradients are far smaller than the direct ones still moves at the "
        "same rate: \"gradient competition\" (meta gradients drowned by the direct ones) is a statement about "
        "plain SGD and cannot be tested as stated under Adam. Notebook 03 reports the gradient norms and a "
        "meta-learning-rate sweep instead; its verdict on that part is about those.",
        "- **Untuned peers.** The published peers (GLU family, SIREN, Snake, FAN) run at our protocol with their "
        "reference initialisation and default options, without the per-model tuning their papers used beyond the "
        "learning-rate sweep of notebook 07; a peer ranked low here may rank higher tuned.",
        "- **Chaotic rounding.** Float32 training is chaotic in its last digits (LayerNorm neurons, sine neurons at "
        "large lr or ω): another CPU or thread count can move a replica's numbers. The rounding check reruns every "
        "scorecard comparison with other kernels; a verdict that survives it may still move on hardware we did "
        "not try.",
        f"- **Our margins.** The equivalence margins (×{stats.EQUIVALENCE['log']:g} for errors, "
        f"{100 * stats.EQUIVALENCE['linear']:g} pp for accuracies) and the magnitude band (the claimed order of "
        f"magnitude, ×/÷{inspect.signature(stats.magnitude).parameters['band'].default:.3g}) are our choices, stated "
        "before the data; other choices can move a verdict between *not replicated* and *inconclusive*.",
        f"- **Toy scale.** {protocol.BUDGET:,} parameters per model at the default protocol (other budgets only "
        "where a notebook sweeps them, up to notebook 07's scale sweep), full-batch Adam, CPU float32; nothing "
        "here speaks for large models.",
        ""])


def assemble(executed, verdict_rows, meta, quick, answers=()):
    """The paper notebook: generated front matter, then each executed notebook's cells."""
    paper = nbformat.v4.new_notebook()
    paper.metadata["title"] = TITLE
    cells = [nbformat.v4.new_markdown_cell(f"# {TITLE}\n\n{abstract(verdict_rows, quick, answers)}")]
    toc = ["## Contents", "", "- [Scorecard](#scorecard)"]
    sections = []
    for path in executed:
        nb = nbformat.read(path, as_version=4)
        body = [c for c in nb.cells if not ({"parameters", "injected-parameters"} & set(c.metadata.get("tags", [])))]
        title = _title(nb, path.stem)
        toc.append(f"- [{title}](#{_anchor(path.stem)})")
        out = []
        for c in body:
            c = nbformat.from_dict(c)
            c.id = f"{path.stem[:2]}-{c.id}"          # cell ids stay unique across notebooks
            if c.cell_type == "code":      # progress bars and warnings belong to the run log, not the paper
                c.outputs = [o for o in c.outputs if not (o.output_type == "stream" and o.name == "stderr")]
            if c.cell_type == "markdown":
                src = _demote(c.source)
                if c.source.startswith("# "):
                    src = f'<a id="{_anchor(path.stem)}"></a>\n\n' + src
                c.source = src
            out.append(c)
        sections.append(out)
    toc += ["- [Limitations](#limitations)", "- [Provenance](#provenance)"]
    cells.append(nbformat.v4.new_markdown_cell("\n".join(toc)))
    cells.append(nbformat.v4.new_markdown_cell(
        '<a id="scorecard"></a>\n\n## Scorecard\n\nEach verdict is computed in its notebook from the criterion its '
        "finding module states, shown there before the data. " + stats.RULE + "\n\n" + scorecard(verdict_rows)
        + "\n\n### Criteria and their history\n\nA criterion changed after its results were seen shows a commit "
        "later than the results' own (see Provenance).\n\n" + criteria_table(verdict_rows)
        + "\n\nEvery committed render of the scorecard (paper/verdicts.json in git, `report.criteria_history`): "
        "the verdict each gave, and whether a claim's criterion changed after a render had shown its verdict.\n\n"
        + history_table(criteria_history())
        + "\n\n### Rounding check\n\nMachines round differently (SIMD kernels), and chaotic training amplifies it: a "
        "verdict that changes from one CPU to another is noise, not a finding. Each scorecard comparison was run "
        "again with torch's sin/cos/tanh in place of NumPy's (`Experiment(kernels=\"torch\")`); a verdict that "
        "changes is reported as inconclusive.\n\n" + rounding_table(verdict_rows)
        + ("\n\n### Beyond the study\n\n" + beyond(answers) if answers else "")))
    for s in sections:
        cells += s
    cells.append(nbformat.v4.new_markdown_cell(limitations(verdict_rows)))
    prov = "\n".join(f"| {k} | {v} |" for k, v in meta.items())
    cells.append(nbformat.v4.new_markdown_cell(
        f'<a id="provenance"></a>\n\n## Provenance\n\n| item | value |\n|---|---|\n{prov}\n'))
    number_figures(cells)
    paper.cells = cells
    return paper


def number_figures(cells):
    """Number the paper's figures in order ("Figure 1." ...) across all notebooks, in place: a
    figure shown by `Setup.save` keeps its caption (also its alt text); a bare PNG output (a figure
    shown without `cfg.save`) becomes a numbered figure with an empty caption. Returns the count."""
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
            data, metadata = nbk.figure_output(png, meta["caption"], n, meta["name"], meta.get("width"))
            o.data, o.metadata = nbformat.from_dict(data), nbformat.from_dict(metadata)
    return n


# The per-replica results published next to the paper: one row per replica (the metrics rows the
# notebooks read from the results store), and what each column means.
COLUMNS = {
    "arch": "neuron id (Methods: the neurons' equations)",
    "task": "task id (Methods: the tasks' generators)",
    "width": "hidden width of each layer (matched to `budget` when a budget was given)",
    "params": "exact number of trainable parameters of the model",
    "budget": "parameter budget the width was matched to (empty where the width was set directly)",
    "depth": "hidden layers of the neuron, then a linear head",
    "steps": "full-batch Adam steps",
    "meta_lr_scale": "factor on the learning rate of the meta (modulating) parameters; 1 = the same rate",
    "kernels": "sin/cos/tanh kernels: numpy (the default) or torch (the rounding check)",
    "device": "where the replica trained (cpu or cuda)",
    "data_seed": "seed of the task's data draw",
    "seed": "initialisation seed of the model",
    "omega": "ω of this replica (empty: the neuron's default, or a neuron without ω)",
    "lr": "constant Adam learning rate",
    "replica": "index of the replica within its cell (the stacked ensemble it trained in)",
    "final_train_loss": "training loss (MSE or cross-entropy) after the last step; empty if diverged",
    "diverged": "True when training diverged (NaN/inf, or ended worse than its start and 10× the best "
                "constant's loss); its scores are empty",
    "predict_zero_mse": "sanity baseline: MSE of predicting 0 on this draw's test set",
    "predict_mean_mse": "sanity baseline: MSE of predicting the training targets' mean on the test set",
    "chance_accuracy": "sanity baseline: accuracy of predicting the test set's majority class",
    "uniform_accuracy": "sanity baseline: 1 / number of classes",
    "metric": "the task's score: mse (lower is better) or accuracy (higher is better), in the "
              "`test_<metric>` column",
    "wall_seconds": "the cell's training time divided by its replicas (machine-dependent)",
    "cell": "key of the cell in the results store (build/cache/<cell>.json holds its history and weights)",
    "notebooks": "the notebooks that read this replica (comma-separated)",
    "repeats": "empty for an original replica; for a row that repeats another row's replica (the same "
               "configuration, draw and seed, trained again in another notebook's cell), that row's `cell`: "
               "count each replica once by keeping the rows where this is empty",
}
# The columns that identify a replica's configuration (with the task.* and opt.* options): two rows
# that agree on all of them are the same replica trained twice.
REPLICA_KEYS = ("arch", "task", "width", "params", "budget", "depth", "steps", "meta_lr_scale", "kernels", "device",
                "data_seed", "seed", "omega", "lr")
PATTERNS = (
    (r"train_(mse|accuracy)", "score on the training set"),
    (r"test_(mse|accuracy)", "score on the test set: fresh draws, the training pairs for memorize, the "
                             "shifted range for ood, freqgen and mixedfreq (the report's score)"),
    (r"in_range_(mse|accuracy)", "score on fresh points of the training range (ood, freqgen, mixedfreq)"),
    (r"moved\.(direct|meta)", "relative weight change of that role's parameters over training, "
                             "‖W_end − W_init‖ / ‖W_init‖ (meta: the modulating weights; empty for a neuron without them)"),
    (r"task\.\w+", "task option set for this run (empty: the generator's default, see Methods)"),
    (r"opt\.\w+", "neuron option set for this run (empty: the neuron's default, see Methods)"),
)


def column_doc(name):
    """What column `name` of the published results means (None: undocumented)."""
    return COLUMNS.get(name) or next((d for p, d in PATTERNS if re.fullmatch(p, name)), None)


def stored_cells(used, cache):
    """The cells the notebooks read, each read once from the store: key -> {"notebooks": the stems
    that read it, in order (the first is the one a cold build trains it for), "doc": its stored
    JSON}. `used` maps a notebook's stem to the keys of the cells its runs returned (see
    `engine._record_cells`)."""
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
    return df[_column_order(list(df.columns))]


def repeats(df):
    """Per row: "" for the first row of its replica (`REPLICA_KEYS` and the task/neuron options),
    else the `cell` of that first row (the same replica trained again in another cell)."""
    keys = [c for c in df.columns if c in REPLICA_KEYS or c.startswith(("task.", "opt."))]
    ident = df[keys].apply(lambda col: col.map(repr)).agg("|".join, axis=1)     # repr: NaN and None compare too
    first = df.groupby(ident, sort=False)["cell"].transform("first")
    dup = ident.duplicated(keep="first")
    return first.where(dup, "").astype(str)


def training_costs(used, cells, since):
    """What the cells behind each notebook of `used` cost to train, from each cell's stored
    provenance (`cells`: `stored_cells`): stem -> {"cells": cells used, "trained_now": of those,
    saved at or after `since` (an aware datetime: the start of this build, so trained by it),
    "core_seconds": their training times summed, "stored_core_seconds": the part of those of the
    cells read from the store}. Cells train one per worker on one thread each, so core-seconds are
    about the wall time × the workers. A cell read by several notebooks counts once, for the first
    (the one a cold build trains it for). A warm build's runtimes therefore still say what a cold
    one trains (see `cold_estimates`)."""
    out = {stem: {"cells": 0, "trained_now": 0, "core_seconds": 0.0, "stored_core_seconds": 0.0} for stem in used}
    for c in cells.values():
        prov, cost = c["doc"]["provenance"], out[c["notebooks"][0]]
        now, wall = datetime.fromisoformat(prov["date"]) >= since, float(prov["wall_seconds"])
        cost["cells"] += 1
        cost["trained_now"] += now
        cost["core_seconds"] += wall
        cost["stored_core_seconds"] += 0.0 if now else wall
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


def _column_order(columns):
    """The configuration, its task and neuron options, the replica, its scores, then the rest."""
    after = {"device": [c for c in columns if c.startswith(("task.", "opt."))],
             "final_train_loss": [c for c in columns if re.match(r"(train|test|in_range)_", c)]}
    out = []
    for c in COLUMNS:
        out += ([c] if c in columns else []) + sorted(after.get(c, []))
    return out + sorted(set(columns) - set(out))


def data_dictionary(df):
    """The results file's data dictionary (markdown): every column, its type, how many rows fill it."""
    lines = [f"# {RESULTS_FILE}: the per-replica results behind the paper", "",
             f"One row per trained replica that a notebook of the paper read ({len(df):,} rows, "
             f"{df['cell'].nunique() if len(df) else 0:,} cells), from the results store the report used. Read it with "
             f"`pandas.read_csv(\"{RESULTS_FILE}\")`; a replica's loss curve, gradient norms and trained weights are "
             "in the results store under its `cell` key (`richneuron.run` with the same experiment returns them).", "",
             "| column | type | rows filled | meaning |", "|---|---|---|---|"]
    for c in df.columns:
        lines.append(f"| `{c}` | {df[c].dtype} | {int(df[c].notna().sum()):,} | {column_doc(c) or 'undocumented'} |")
    return "\n".join(lines) + "\n"


def publish_results(cells, base):
    """Write base/results.csv.gz (byte-reproducible gzip) and base/results_dictionary.md from
    `cells` (`stored_cells`)."""
    df = results_table(cells)
    df.to_csv(base / RESULTS_FILE, index=False, compression={"method": "gzip", "mtime": 0})
    (base / DICTIONARY_FILE).write_text(data_dictionary(df))
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


def update_readme(root, table):
    readme = root / "README.md"
    text, n = re.subn(r"(<!-- notebooks:start -->\n).*?(<!-- notebooks:end -->)",
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
    nb_dir, html_dir = base / "notebooks", base / "html"
    figures = (base / "figures") if quick else (root / "figures")
    for d in (nb_dir, html_dir, figures):
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
        render(nbformat.read(out, as_version=4), html_dir / f"{nb.stem}.html", exclude_input=False)
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
    paper = assemble(executed, verdicts, meta, quick, answers)
    nbformat.write(paper, base / "paper.ipynb")
    html = render(paper, base / "paper.html", exclude_input=True)
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
        shutil.copy(html, dest / "index.html")
        shutil.copy(base / "runtimes.json", dest / "runtimes.json")
        shutil.copy(base / "verdicts.json", dest / "verdicts.json")
        shutil.copy(base / "answers.json", dest / "answers.json")
        shutil.copy(base / RESULTS_FILE, dest / RESULTS_FILE)
        shutil.copy(base / DICTIONARY_FILE, dest / DICTIONARY_FILE)
        fit_csv = base / "results" / "08_protocol_space" / "protocol_fit.csv"
        if fit_csv.exists():
            shutil.copy(fit_csv, dest / "protocol_fit.csv")
        qfile = root / "build" / "quick" / "runtimes.json"
        quick_rt = json.loads(qfile.read_text())["notebooks"] if qfile.exists() else {}
        update_readme(root, notebook_table(root, executed, runtimes, quick_rt, costs))
    log(f"paper: {html} ({Path(html).stat().st_size / 1e6:.1f} MB); total {total:.0f} s")
    return base


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the notebooks and render the paper.")
    ap.add_argument("--quick", action="store_true", help="quick mode: few archs, seeds and steps")
    ap.add_argument("--only", default="", help="comma-separated notebook numbers, e.g. 01,05")
    ap.add_argument("--compare", nargs=2, metavar=("NEW", "OLD"),
                    help="compare two renders' folders (verdicts.json and results.csv.gz), e.g. build/full paper")
    a = ap.parse_args(argv)
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
