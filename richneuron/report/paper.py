"""The paper as one notebook (`assemble`): title, abstract, the summary figure, the scorecard, Methods
(notebook 00), one short section per notebook with its claims, Limitations and Provenance; and each
executed notebook in full as an appendix page (`appendix`)."""
import base64
import copy
import inspect
import re
from pathlib import Path

import nbformat
import torch

from .. import neurons, notebook as nbk, outputs, protocol, stats, summary, tasks, verdicts
from .criteria import criteria_history, history_table
from .files import DICTIONARY_FILE, HISTORY_FILE, RESULTS_FILE
from .numbering import number_figures, number_tables, resolve_refs, shown_here, table_figure
from .prose import render
from .scorecard import (PROTOCOLS, abstract, checks_table, claim_anchor, claim_text, criterion_short, md_escape, ordered,
                        scorecard, scorecard_caption)

TITLE = "Beyond Linear Neurons, re-run: do richer neurons beat ReLU at a matched parameter budget?"


def notebook_title(nb, default):
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


def limitations(verdict_rows=()):
    """The limitations section (markdown): what the verdicts depend on, with the values from the code."""
    sine_omega = inspect.signature(neurons.SinGLU).parameters["omega"].default
    siren_omega = inspect.signature(neurons.Siren).parameters["omega"].default
    eps = float(torch.finfo(torch.float32).eps)
    knobs = {t: tasks.difficulty(t)[0] for t in tasks.STANDARD}
    difficulty = ", ".join(f"{t} {k} = {tasks.options_of(t)[k]}" for t, k in knobs.items())
    return render("limitations", lr=protocol.LR, sine_omega=sine_omega, siren_omega=siren_omega,
                  difficulty=difficulty, seeds=protocol.SEEDS, data_seeds=protocol.DATA_SEEDS,
                  dof=protocol.DATA_SEEDS - 1, eps=eps, band=verdicts.BAND,
                  equivalence_log=stats.EQUIVALENCE["log"], equivalence_pp=100 * stats.EQUIVALENCE["linear"],
                  magnitude_band=inspect.signature(verdicts.magnitude).parameters["band"].default,
                  budget=protocol.BUDGET) + "\n"


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


def _md_table(md, caption, name):
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    return table_figure(markdown2html_mistune(md), caption, name)


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
    title = notebook_title(nb, stem)
    for c in cells:
        if c.cell_type == "markdown" and c.source.startswith("# "):
            c.source = f"# Appendix {label}. {c.source[2:]}"
            break
    number_figures(cells, f"{label}.")
    number_tables(cells, f"{label}.")
    head = render("appendix_head", paper=paper_name, anchor=_anchor(stem), label=label, stem=stem,
                  shown=shown_here(cells, "It shows"))
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


def _intro(nb):
    """A notebook's question: the first paragraph after its title."""
    first = next((c.source for c in nb.cells if c.cell_type == "markdown" and c.source.startswith("# ")), "")
    paras = [p for p in first.split("\n\n")[1:] if p.strip()]
    return paras[0] if paras else ""


def finding_section(path, rows, answers):
    """The main text's section on one notebook: its question, then per claim the criterion, its key
    figures and the verdict with the effect in a sentence, then its answers to its own questions; the
    whole notebook is its appendix."""
    nb, cells = _notebook_cells(path)
    stem = path.stem
    used, out = set(), []
    out.append(_md_cell(render("section_intro", anchor=_anchor(stem), title=notebook_title(nb, stem), intro=_intro(nb),
                               label=appendix_label(path), appendix=appendix_name(path)), f"{stem[:2]}-section"))
    for r in rows:
        outs, names = _evidence_figures(r.get("evidence", ""), cells, used)
        short = criterion_short(r.get("criterion", ""))
        out.append(_md_cell(render("claim_heading", anchor=claim_anchor(r["claim_id"]), claim=md_escape(r["claim"]),
                                   criterion=md_escape(short), shortened=short != r.get("criterion", ""),
                                   label=appendix_label(path), appendix=appendix_name(path)),
                            f"{stem[:2]}-{r['claim_id']}"))
        if outs:
            c = nbformat.v4.new_code_cell(source="", outputs=outs)
            c.id = f"{stem[:2]}-{r['claim_id']}-figures"
            out.append(c)
        out.append(_md_cell(claim_text(r, names), f"{stem[:2]}-{r['claim_id']}-verdict"))
    for i, a in enumerate(answers):
        outs, names = _evidence_figures(a.get("evidence", ""), cells, used, most=1)
        refs = " ".join(f"[[ref:fig-{n}]]" for n in names)
        out.append(_md_cell(f"### {md_escape(a['question'])}\n\n{md_escape(a['answer'])}{refs}", f"{stem[:2]}-answer-{i}"))
        if outs:
            c = nbformat.v4.new_code_cell(source="", outputs=outs)
            c.id = f"{stem[:2]}-answer-{i}-figures"
            out.append(c)
    return out


def methods_section(path):
    """Methods: the notebook whose metadata declares it (`outputs.section`), its code hidden and its
    headings one level down, without the cells it tags as detail (`APPENDIX_ONLY`), which its
    appendix shows."""
    nb, cells = _notebook_cells(path, main=True)
    for c in cells:
        if c.cell_type == "markdown":
            src = _demote(c.source)
            if c.source.startswith("# "):
                src = render("methods_heading", anchor=_anchor(path.stem), heading=src, label=appendix_label(path),
                             appendix=appendix_name(path))
            c.source = src
    return cells


def replicas_text(results):
    """How many replicas of the published results (`publish.results_table`, each counted once: its
    `repeats` empty) diverged and how many learnt nothing (`stats.LEARNT_NOTHING_RULE`; on a shifted
    test range, by the training fit: `results.with_learnt_nothing`), and on which tasks most; ""
    without results."""
    if results is None or not len(results):
        return ""
    r = results[results["repeats"].fillna("").eq("")] if "repeats" in results else results
    nothing = r[r["learnt_nothing"].astype(bool)]
    top = nothing["task"].value_counts().head(3)
    return render("replicas", replicas=len(r), diverged=int(r["diverged"].astype(bool).sum()),
                  learnt_nothing=len(nothing), most_on=list(top.items()))


def provenance_section(verdict_rows, meta, history=None, results=None):
    """Provenance: the render, the checks, `history` (`criteria_history`, read once by `assemble`) and
    the published `results`' counts (`replicas_text`)."""
    prov = "\n".join(f"| {k} | {md_escape(v)} |" for k, v in meta.items())
    cells = [_md_cell(render("provenance", results_file=RESULTS_FILE, dictionary_file=DICTIONARY_FILE,
                             history_file=HISTORY_FILE, replicas=replicas_text(results)), "provenance")]
    cells.append(_html_cell(_md_table(f"| item | value |\n|---|---|\n{prov}\n", render("render_caption"), "render"),
                            "provenance-render"))
    if verdict_rows:
        cells.append(_html_cell(_md_table(checks_table(verdict_rows), render("checks_caption"), "checks"),
                                "provenance-checks"))
    if history:
        cells.append(_md_cell(render("history_intro"), "provenance-history-text"))
        cells.append(_html_cell(_md_table(history_table(history), render("history_caption"), "history"),
                                "provenance-history"))
    return cells


def assemble(executed, verdict_rows, meta, quick, answers=(), summary_png=None, paper_name="index.html",
             results=None):
    """The main paper (a notebook, rendered with its code hidden): title, abstract, the summary
    figure, the scorecard, contents, Methods (the notebook declared so), one short section per notebook with its
    claims, Limitations and Provenance (with the counts of the published `results`: `replicas_text`);
    each notebook in full is its appendix (`appendix`)."""
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    paper = nbformat.v4.new_notebook()
    paper.metadata["title"] = TITLE
    history = criteria_history()           # git, read once: the scorecard's marks and Provenance's table
    mode = "\n\n" + render("quick_notice") if quick else ""
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
        toc.append(f"- [{notebook_title(nb, path.stem)}](#{_anchor(path.stem)}) · [Appendix {appendix_label(path)}]"
                   f"({appendix_name(path)})")
        if outputs.section(nb) == "methods":
            s = methods_section(path)
        else:
            s = finding_section(path, by_nb.get(path.stem[:2], []), answers_by.get(path.stem[:2], []))
        sections.append(s)
    toc += ["- [Limitations](#limitations)", "- [Provenance](#provenance)"]
    intro = [_md_cell(render("scorecard_intro"), "scorecard-intro")] if verdict_rows else []
    cells[3 if summary_png is not None else 2:3 if summary_png is not None else 2] = intro
    cells.append(_md_cell("\n".join(toc), "contents"))
    tail = [_md_cell(limitations(verdict_rows), "limitations")] + provenance_section(verdict_rows, meta, history, results)
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
