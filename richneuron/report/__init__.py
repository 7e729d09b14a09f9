"""Build the report: run every notebook with papermill, then render the HTML paper with nbconvert.

    python -m richneuron.report            # full default run: figures/ and paper/ are rewritten
    python -m richneuron.report --quick    # every notebook in quick mode, under build/quick/

Each notebook writes its figures (PNG) and tables (CSV) and a `verdicts.json`; the paper is one
notebook assembled from the executed ones (code hidden) behind a generated title, abstract,
scorecard and table of contents, rendered to a self-contained HTML file (images embedded, no
script loaded from the network). Each executed notebook is also rendered with its code.

The package, by job: `execute` runs a notebook and renders one to HTML; `criteria` dates each
claim's criterion from git; `scorecard` states the verdict rows (scorecard, abstract, a claim's
sentences, the summary figure); `prose` renders the paper's fixed prose from its templates
(templates/prose/); `numbering` numbers and captions the figures and tables;
`paper` assembles the paper and its appendices; `publish` writes the per-replica results and
the README's tables; `compare` compares two renders; `files` names the root and the published
files. `build` (here) runs them in order and `main` is the command line.
"""
import argparse
import json
import os
import shutil
import time
from datetime import datetime, timezone
from pathlib import Path

import nbformat

from .. import notebook as nbk, outputs
from ..provenance import provenance
from . import compare, criteria, execute, files, paper, publish, scorecard


# What a full build writes into paper/ itself (a notebook's published files go beside them): the page,
# its appendices, and the files copied as they are from build/full/ (COPIED).
COPIED = ("runtimes.json", "verdicts.json", "answers.json", files.RESULTS_FILE, files.DICTIONARY_FILE, files.HISTORY_FILE)
PAPER_FILES = ("index.html", "appendix", *COPIED)


def build(quick=False, only=None, root=files.ROOT, log=print, study=None):
    """Run the notebooks of `only` (two-digit prefixes; None: all) and render the paper. `study`:
    run the finding notebooks again at the study's likeliest protocol (`study_protocol_pass`);
    None: in a full build only (a quick build is a smoke test and leaves that verdict not judged)."""
    study = (not quick) if study is None else bool(study)
    t0, started = time.perf_counter(), datetime.now(timezone.utc).replace(microsecond=0)
    base = root / "build" / ("quick" if quick else "full")
    nb_dir, appendix_dir = base / "notebooks", base / "appendix"
    figures = (base / "figures") if quick else (root / "figures")
    paper_name = "paper.html" if quick else "index.html"
    for d in (nb_dir, appendix_dir, figures):
        d.mkdir(parents=True, exist_ok=True)
    cache = root / "build" / "cache"
    executed, runtimes, verdicts, answers, used, spaces, published = [], {}, [], [], {}, {}, []
    todo = [p for p in execute.notebooks(root) if not only or p.stem[:2] in only]
    if not todo:
        raise SystemExit(f"no notebook matches {only}; have: {', '.join(p.stem for p in execute.notebooks(root))}")
    log(f"running {len(todo)} notebooks ({'quick' if quick else 'full'} mode)")
    last = root / "paper" / "runtimes.json"          # the last full run's runtimes: the estimates
    expected = publish.cold_estimates(json.loads(last.read_text()), os.cpu_count() or 1) if (last.exists() and not quick) else {}
    for i, nb in enumerate(todo):
        out_dir = base / "results" / nb.stem
        params = {"quick": quick, "output_dir": str(out_dir), "cache_dir": str(cache), "figures_dir": str(figures)}
        runtimes[nb.stem], used[nb.stem], left = run_notebook(
            nb, nb_dir / nb.name, out_dir, params, log, label=f"[{i + 1}/{len(todo)}]", expected=expected.get(nb.stem),
            after=sum(expected.get(n.stem, 0) for n in todo[i + 1:]))
        executed.append(nb_dir / nb.name)
        verdicts += criteria.with_commits(left["verdicts"], root)
        answers += left["answers"]
        published += left["published"]
        if left["space"] is not None:
            spaces[nb.stem] = left["space"]
    outputs.check_published(published, PAPER_FILES)
    if len(spaces) > 1:
        raise SystemExit(f"{' and '.join(spaces)} each wrote a protocol space ({outputs.SPACE}); a build takes one")
    for space in spaces.values():
        there = study_protocol_pass(todo, space, base, cache, quick, log, expected, runtimes, used) if study else {}
        verdicts = scorecard.with_space(verdicts, space, there)
    total = time.perf_counter() - t0
    cells = publish.stored_cells(used, cache)
    costs = publish.training_costs(used, cells, started)
    n_cells, n_now = sum(c["cells"] for c in costs.values()), sum(c["trained_now"] for c in costs.values())
    meta = provenance(total_runtime_seconds=round(total, 1), mode="quick" if quick else "full",
                      notebooks=", ".join(f"{k} {v:.0f} s" for k, v in runtimes.items()),
                      cells=f"{n_cells:,} cells, {n_now:,} trained by this build and {n_cells - n_now:,} read from "
                            f"the results store; training them took "
                            f"{sum(c['core_seconds'] for c in costs.values()):,.0f} core-seconds in all")
    results = publish.publish_results(cells, base)
    summary_png = scorecard.draw_summary(verdicts, figures).read_bytes() if verdicts else None
    paper_nb = paper.assemble(executed, verdicts, meta, quick, answers, summary_png, paper_name, results)
    nbformat.write(paper_nb, base / "paper.ipynb")
    page = execute.render(paper_nb, base / "paper.html", exclude_input=True)
    for path in executed:
        execute.render(paper.appendix(path, paper_name), appendix_dir / f"{path.stem}.html", exclude_input=False)
    (base / "runtimes.json").write_text(json.dumps({"total_seconds": total, "notebooks": runtimes, "training": costs},
                                                     indent=1))
    (base / "verdicts.json").write_text(json.dumps(verdicts, indent=1))
    (base / "answers.json").write_text(json.dumps(answers, indent=1))
    committed = root / "paper"
    if not quick and not compare.render_files_missing(committed):
        comparison = compare.compare_renders(base, committed)
        (base / "comparison.json").write_text(json.dumps(comparison, indent=1))
        log(compare.describe_comparison(comparison, "the committed paper (paper/)"))
    if not quick and not only:
        dest = committed
        dest.mkdir(exist_ok=True)
        shutil.copy(page, dest / "index.html")
        shutil.rmtree(dest / "appendix", ignore_errors=True)
        shutil.copytree(appendix_dir, dest / "appendix")
        for name in COPIED:
            shutil.copy(base / name, dest / name)
        for path in published:
            shutil.copy(path, dest / path.name)
        qfile = root / "build" / "quick" / "runtimes.json"
        quick_rt = json.loads(qfile.read_text())["notebooks"] if qfile.exists() else {}
        publish.update_readme(root, publish.notebook_table(root, executed, runtimes, quick_rt, costs))
        publish.update_readme(root, scorecard.readme_summary(verdicts), "summary")
    log(f"paper: {page} ({Path(page).stat().st_size / 1e6:.1f} MB); total {total:.0f} s")
    return base


def run_notebook(nb, out, out_dir, params, log=print, label="", expected=None, after=None):
    """Run notebook `nb` with papermill into `out` (its outputs in `out_dir`, `params` its
    parameters): (seconds, keys of the cells its runs read, what it left for the build: `outputs.read`).
    What an earlier run left there is removed first, so that only this run's outputs are read."""
    cells_file = out_dir / "cells.txt"
    out_dir.mkdir(parents=True, exist_ok=True)
    outputs.clear(out_dir)
    seconds = execute.execute(nb, out, params, log, label=label, expected=expected, after=after, cells_file=cells_file)
    return seconds, cells_file.read_text().split() if cells_file.exists() else [], outputs.read(out_dir)


def study_protocol_pass(todo, space, base, cache, quick, log=print, expected=None, runtimes=None, used=None):
    """The finding notebooks again at the study's likeliest protocol (notebook 08's best fit, `space`),
    when it is not our default protocol read at a shorter length (that one the findings judge from
    their runs' logged history): every notebook of `todo` with a `protocol` parameter, with that
    point as it, its outputs where a run at another protocol writes (`notebook.other_protocol_paths`).
    Its runtimes and the cells it read go into `runtimes` and `used` under "<stem>@study". Returns
    {claim id: verdict row there} (empty when no pass was needed)."""
    best = space.get("best_protocol") or {}
    expected, runtimes, used = expected or {}, {} if runtimes is None else runtimes, {} if used is None else used
    if best.get("default", True) or not best.get("settings"):
        return {}
    point = json.dumps(best["settings"])
    nbs = [p for p in todo if "protocol" in execute.parameters(p)]
    log(f"the study's likeliest protocol ({best['settings'].get('text', '')}): {len(nbs)} finding notebooks again there")
    rows = {}
    for i, nb in enumerate(nbs):
        at = nbk.other_protocol_paths(base, nb.stem)
        stem, out_dir, nb_dir = f"{nb.stem}@{nbk.STUDY}", at["output_dir"], at["notebooks_dir"]
        nb_dir.mkdir(parents=True, exist_ok=True)
        params = {"quick": quick, "output_dir": str(out_dir), "cache_dir": str(cache),
                  "figures_dir": str(at["figures_dir"]), "protocol": point}
        runtimes[stem], used[stem], there = run_notebook(nb, nb_dir / nb.name, out_dir, params, log,
                                                         label=f"[study {i + 1}/{len(nbs)}]", expected=expected.get(stem))
        rows.update({r["claim_id"]: r for r in there["verdicts"]})
    return rows


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
        rows = json.loads((files.ROOT / "paper" / "verdicts.json").read_text())
        print(scorecard.draw_summary(rows, files.ROOT / "figures"))
        publish.update_readme(files.ROOT, scorecard.readme_summary(rows), "summary")
        return
    if a.compare:
        for d in a.compare:
            missing = compare.render_files_missing(d)
            if missing:
                ap.error(f"{d} has no {' or '.join(missing)}: give two folders a `make report` wrote, "
                         f"e.g. build/full and paper")
        print(compare.describe_comparison(compare.compare_renders(*a.compare), a.compare[1]))
        return
    build(quick=a.quick, only=[s.strip() for s in a.only.split(",") if s.strip()])
