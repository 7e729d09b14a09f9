"""Build the report: run every notebook with papermill, then render the HTML paper with nbconvert.

    python -m richneuron.report            # full default run: figures/ and paper/ are rewritten
    python -m richneuron.report --quick    # every notebook in quick mode, under build/quick/

Each notebook writes its figures (PNG) and tables (CSV) and a `verdicts.json`; the paper is one
notebook assembled from the executed ones (code hidden) behind a generated title, abstract,
scorecard and table of contents, rendered to a self-contained HTML file (images embedded, no
script loaded from the network). Each executed notebook is also rendered with its code.
"""
import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import pandas as pd

from . import published, stats
from .provenance import provenance

ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = Path(__file__).resolve().parent / "templates"
TITLE = "Beyond Linear Neurons, re-run: do richer neurons beat ReLU at a matched parameter budget?"


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


def execute(nb_path, out_path, parameters, log=print, label="", expected=None, after=None, every=15.0):
    """Run one notebook with papermill (python3 kernel of this environment), printing a progress
    line every `every` seconds (`expected`: its runtime in the last full run, for the estimate;
    `after`: the last full run's time for the notebooks still to come).

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

    old = os.environ.get("RICHNEURON_PROGRESS_FILE")
    os.environ["RICHNEURON_PROGRESS_FILE"] = str(progress_file)      # the kernel inherits it
    watcher = threading.Thread(target=report, daemon=True)
    watcher.start()
    try:
        pm.execute_notebook(str(nb_path), str(out_path), parameters=parameters, kernel_name="python3",
                            cwd=str(nb_path.parent), progress_bar=False, log_output=False,
                            request_save_on_cell_execute=True,
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    finally:
        stop.set()
        if old is None:
            os.environ.pop("RICHNEURON_PROGRESS_FILE", None)
        else:
            os.environ["RICHNEURON_PROGRESS_FILE"] = old
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


def _anchor(i):
    return f"sec-{i:02d}"


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
    return str(text).replace("|", "\\|").replace("\n", " ")


def scorecard(verdict_rows):
    """The scorecard table (markdown) from all notebooks' verdict rows, in the study's claim order."""
    if not verdict_rows:
        return "_No verdicts were produced._"
    rows, missing = ordered(verdict_rows)
    lines = ["| # | finding | claim | published | ours | parts | verdict |", "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        pub = r["published"]
        pub = stats.fmt(pub) if isinstance(pub, (int, float)) else ("–" if pub is None else str(pub))
        reason = f" <br><small>{_cell(r['reason'])}</small>" if r.get("reason") else ""
        lines.append(f"| {i} | {r['finding']} | {_cell(r['claim'])} | {_cell(pub)} | {_cell(r['ours'])} | "
                     f"{_parts_text(r.get('parts') or {})} | **{r['verdict']}**{reason} |")
    for c in missing:
        lines.append(f"| – | {published.claims()[c]['finding']} | {_cell(published.claims()[c]['text'])} | "
                     f"{_cell(published.claims()[c].get('value'))} | – | – | **not judged** (no notebook ran it) |")
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


def abstract(verdict_rows, quick, answers=()):
    rows, missing = ordered(verdict_rows)
    counts = pd.Series([r["verdict"] for r in rows], dtype=object).value_counts()
    n = len(rows) + len(missing)
    parts = [f"{counts.get(v, 0)} {v}" for v in stats.VERDICTS]
    named = "; ".join(f"{v}: " + ", ".join(f"{r['claim_id']} ({r['ours']})" for r in rows if r["verdict"] == v)
                      for v in stats.VERDICTS if counts.get(v, 0))
    flipped = sum(1 for r in rows if r.get("rounding_stable") is False)
    mode = (" **This is a quick smoke-test build (few archs, seeds and steps): its numbers are not the "
            "report's results.**" if quick else "")
    return (f"We re-ran the study *Beyond Linear Neurons* (14 neuron designs, 9 toy tasks) under a documented "
            f"protocol, since the study published no code, data generators or hyperparameters, and swept what it "
            f"left open. Of its {n} headline claims: {', '.join(parts)}"
            + (f", {len(missing)} not judged" if missing else "") + f". {named}. "
            f"Every comparison is a Welch t interval on the log scale for errors (a ratio of geometric means) or the "
            f"linear scale for accuracies, over initialisation seeds on several data draws, Holm-corrected within "
            f"each claim; \"no effect\" is only claimed from an equivalence test. Every verdict was computed again "
            f"from runs with other floating-point kernels; {flipped} changed and {'is' if flipped == 1 else 'are'} "
            f"reported as inconclusive. Every number below comes from a run of this repository (the study's own "
            f"numbers from one data file), with every seed shown."
            + (" Beyond the study, against published peer neurons (GLU family, SIREN, Snake, FAN), with tuned "
               "learning rates and from 1K to 64K parameters: " + " ".join(f"*{a['question']}* {a['answer']}" for a in answers)
               if answers else "") + mode)


def assemble(executed, verdict_rows, meta, quick, answers=()):
    """The paper notebook: generated front matter, then each executed notebook's cells."""
    paper = nbformat.v4.new_notebook()
    paper.metadata["title"] = TITLE
    cells = [nbformat.v4.new_markdown_cell(f"# {TITLE}\n\n{abstract(verdict_rows, quick, answers)}")]
    toc = ["## Contents", "", "- [Scorecard](#scorecard)"]
    sections = []
    for i, path in enumerate(executed):
        nb = nbformat.read(path, as_version=4)
        body = [c for c in nb.cells if not ({"parameters", "injected-parameters"} & set(c.metadata.get("tags", [])))]
        title = _title(nb, path.stem)
        toc.append(f"- [{title}](#{_anchor(i)})")
        out = []
        for c in body:
            c = nbformat.from_dict(c)
            c.id = f"{path.stem[:2]}-{c.id}"          # cell ids stay unique across notebooks
            if c.cell_type == "code":      # progress bars and warnings belong to the run log, not the paper
                c.outputs = [o for o in c.outputs if not (o.output_type == "stream" and o.name == "stderr")]
            if c.cell_type == "markdown":
                src = _demote(c.source)
                if c.source.startswith("# "):
                    src = f'<a id="{_anchor(i)}"></a>\n\n' + src
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
        + "\n\n### Rounding check\n\nMachines round differently (SIMD kernels), and chaotic training amplifies it: a "
        "verdict that changes from one CPU to another is noise, not a finding. Each scorecard comparison was run "
        "again with torch's sin/cos/tanh in place of NumPy's (`Experiment(kernels=\"torch\")`); a verdict that "
        "changes is reported as inconclusive.\n\n" + rounding_table(verdict_rows)
        + ("\n\n### Beyond the study\n\n" + beyond(answers) if answers else "")))
    for s in sections:
        cells += s
    cells.append(nbformat.v4.new_markdown_cell(
        '<a id="limitations"></a>\n\n## Limitations\n\n'
        "- The study's code, data generators and hyperparameters are not public; our generators and protocol are "
        "documented choices (README, `richneuron/tasks.py`), so a verdict says whether a claim holds under *our* "
        "protocol and the sweeps shown, not whether the study's own runs were wrong.\n"
        "- Toy scale (3K–8K parameters for the findings; the scale sweep of notebook 07 reaches 64K), full-batch Adam, CPU float32.\n"
        "- Float32 training is chaotic in its last digits (LayerNorm neurons, sine neurons at large lr or ω): another "
        "CPU or thread count can move a replica's numbers. The rounding check above reruns every scorecard "
        "comparison with other kernels; a verdict that survives it may still move on hardware we did not try.\n"
        "- Replicas are (data draw, seed) pairs treated as exchangeable. With three data draws per task, an "
        "arch-by-draw interaction cannot be estimated well; where the data share of the variance is large "
        "(notebook 02's variance split), the intervals describe these draws more than the population of draws.\n"
        "- The equivalence margins (×1.25 for errors, 2 pp for accuracies) and the magnitude band (the claimed "
        "order of magnitude, ×/÷√10) are our choices, stated before the data; other choices can move a verdict "
        "between *not replicated* and *inconclusive*.\n"
        "- Verdicts are computed at one point of the protocol space the study left open (lr, ω, steps, init, task "
        "difficulty, data size), with sweeps along a few axes only; a claim that fails here may hold elsewhere.\n"
        "- Every task is synthetic: generators we wrote because the study published none.\n"
        "- Tuned learning rates (notebook 07) come from one trial per rate on a validation split.\n"))
    prov = "\n".join(f"| {k} | {v} |" for k, v in meta.items())
    cells.append(nbformat.v4.new_markdown_cell(
        f'<a id="provenance"></a>\n\n## Provenance\n\n| item | value |\n|---|---|\n{prov}\n'))
    paper.cells = cells
    return paper


def notebook_table(root, executed, full, quick_rt):
    """Markdown table: notebook → finding → figures → full runtime → quick runtime."""
    lines = ["| notebook | finding | figures | full runtime | quick runtime |", "|---|---|---|---|---|"]
    for path in executed:
        title = _title(nbformat.read(path, as_version=4), path.stem)
        figs = sorted(p.name for p in (root / "figures").glob(f"{path.stem[:2]}_*.png"))
        fig_links = ", ".join(f"[{f[3:-4]}](figures/{f})" for f in figs) or "–"
        q = quick_rt.get(path.stem)
        lines.append(f"| [`{path.stem}`](notebooks/{path.name}) | {title} | {fig_links} | "
                     f"{full[path.stem]:.0f} s | {'n/a' if q is None else f'{q:.0f} s'} |")
    return "\n".join(lines)


def update_readme(root, table):
    readme = root / "README.md"
    text, n = re.subn(r"(<!-- notebooks:start -->\n).*?(<!-- notebooks:end -->)",
                      lambda m: m[1] + table + "\n" + m[2], readme.read_text(), flags=re.S)
    if n:
        readme.write_text(text)


def build(quick=False, only=None, root=ROOT, log=print):
    t0 = time.perf_counter()
    base = root / "build" / ("quick" if quick else "full")
    nb_dir, html_dir = base / "notebooks", base / "html"
    figures = (base / "figures") if quick else (root / "figures")
    for d in (nb_dir, html_dir, figures):
        d.mkdir(parents=True, exist_ok=True)
    cache = root / "build" / "cache"
    executed, runtimes, verdicts, answers = [], {}, [], []
    todo = [p for p in notebooks(root) if not only or p.stem[:2] in only]
    if not todo:
        raise SystemExit(f"no notebook matches {only}; have: {', '.join(p.stem for p in notebooks(root))}")
    log(f"running {len(todo)} notebooks ({'quick' if quick else 'full'} mode)")
    last = root / "paper" / "runtimes.json"          # the last full run's runtimes: the estimates
    expected = json.loads(last.read_text()).get("notebooks", {}) if (last.exists() and not quick) else {}
    for i, nb in enumerate(todo):
        out_dir = base / "results" / nb.stem
        params = {"quick": quick, "output_dir": str(out_dir), "cache_dir": str(cache), "figures_dir": str(figures)}
        out = nb_dir / nb.name
        runtimes[nb.stem] = execute(nb, out, params, log, label=f"[{i + 1}/{len(todo)}]",
                                    expected=expected.get(nb.stem),
                                    after=sum(expected.get(n.stem, 0) for n in todo[i + 1:]))
        executed.append(out)
        render(nbformat.read(out, as_version=4), html_dir / f"{nb.stem}.html", exclude_input=False)
        vfile, afile = out_dir / "verdicts.json", out_dir / "answers.json"
        if vfile.exists():
            verdicts += with_commits(json.loads(vfile.read_text()), root)
        if afile.exists():
            answers += json.loads(afile.read_text())
    total = time.perf_counter() - t0
    meta = provenance(total_runtime_seconds=round(total, 1), mode="quick" if quick else "full",
                      notebooks=", ".join(f"{k} {v:.0f} s" for k, v in runtimes.items()))
    paper = assemble(executed, verdicts, meta, quick, answers)
    nbformat.write(paper, base / "paper.ipynb")
    html = render(paper, base / "paper.html", exclude_input=True)
    (base / "runtimes.json").write_text(json.dumps({"total_seconds": total, "notebooks": runtimes}, indent=1))
    (base / "verdicts.json").write_text(json.dumps(verdicts, indent=1))
    (base / "answers.json").write_text(json.dumps(answers, indent=1))
    if not quick and not only:
        dest = root / "paper"
        dest.mkdir(exist_ok=True)
        shutil.copy(html, dest / "index.html")
        shutil.copy(base / "runtimes.json", dest / "runtimes.json")
        shutil.copy(base / "verdicts.json", dest / "verdicts.json")
        shutil.copy(base / "answers.json", dest / "answers.json")
        qfile = root / "build" / "quick" / "runtimes.json"
        quick_rt = json.loads(qfile.read_text())["notebooks"] if qfile.exists() else {}
        update_readme(root, notebook_table(root, executed, runtimes, quick_rt))
    log(f"paper: {html} ({Path(html).stat().st_size / 1e6:.1f} MB); total {total:.0f} s")
    return base


def main(argv=None):
    ap = argparse.ArgumentParser(description="Run the notebooks and render the paper.")
    ap.add_argument("--quick", action="store_true", help="quick mode: few archs, seeds and steps")
    ap.add_argument("--only", default="", help="comma-separated notebook numbers, e.g. 01,05")
    a = ap.parse_args(argv)
    build(quick=a.quick, only=[s.strip() for s in a.only.split(",") if s.strip()])


if __name__ == "__main__":
    main()
