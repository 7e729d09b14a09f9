"""The notebooks and the paper: hygiene of the committed notebooks, a quick build, the paper in Chromium."""
import ast
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest

from richneuron import published, report, summary, verdicts

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = report.execute.notebooks(ROOT)
REQUIRED = {"quick", "seeds", "archs", "steps", "output_dir", "cache_dir"}


def test_there_is_a_notebook_per_finding():
    stems = [p.stem[:2] for p in NOTEBOOKS]
    assert stems == ["00", "01", "02", "03", "04", "05", "06", "07", "08", "09"], stems


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_committed_without_outputs(path):
    nb = nbformat.read(path, as_version=4)
    for c in nb.cells:
        if c.cell_type == "code":
            assert not c.outputs and c.execution_count is None, f"{path.name}: strip outputs (nbstripout)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_parameters_cell_holds_annotated_commented_literals_only(path):
    nb = nbformat.read(path, as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    src = tagged[0].source
    names = {}
    for node in ast.parse(src).body:
        assert isinstance(node, ast.AnnAssign) and isinstance(node.value, ast.Constant), ast.unparse(node)
        kind = type(node.value.value).__name__
        assert ast.unparse(node.annotation) == kind, f"{ast.unparse(node)}: annotate it as {kind}"
        names[node.target.id] = kind
    for line in src.splitlines():
        if line.strip():
            assert "#" in line, f"parameter without a trailing comment: {line!r}"
    assert REQUIRED <= set(names), REQUIRED - set(names)
    # papermill's own parser (`papermill --help-notebook`) sees every parameter with its type
    from papermill.translators import PythonTranslator
    parsed = {p.name: p.inferred_type_name for p in PythonTranslator.inspect(tagged[0])}
    assert parsed == names


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_holds_no_model_or_training_code(path):
    for cell in nbformat.read(path, as_version=4).cells:
        if cell.cell_type != "code":
            continue
        for node in ast.walk(ast.parse(cell.source)):
            assert not isinstance(node, (ast.FunctionDef, ast.ClassDef)), \
                f"{path.name} defines {node.name!r}: move it into the package"
            if isinstance(node, ast.Attribute):
                assert node.attr not in {"backward", "optim", "Module", "Linear", "Parameter"}, \
                    f"{path.name} uses .{node.attr}: model and training code belong in the package"


def test_a_bad_parameter_fails_in_the_first_cells(tmp_path):
    import papermill as pm
    with pytest.raises(pm.PapermillExecutionError, match="seeds must be a positive integer") as e:
        pm.execute_notebook(str(NOTEBOOKS[1]), str(tmp_path / "out.ipynb"), kernel_name="python3",
                            parameters={"quick": True, "seeds": 0, "output_dir": str(tmp_path)},
                            cwd=str(NOTEBOOKS[1].parent), progress_bar=False)
    assert e.value.exec_count <= 3          # parameters, injected parameters, then the setup cell
    with pytest.raises(pm.PapermillExecutionError, match="valid choices: vanilla"):
        pm.execute_notebook(str(NOTEBOOKS[1]), str(tmp_path / "out.ipynb"), kernel_name="python3",
                            parameters={"quick": True, "archs": "vanilla,relu", "output_dir": str(tmp_path)},
                            cwd=str(NOTEBOOKS[1].parent), progress_bar=False)


def _snapshot(folder):
    return {p.relative_to(folder): (p.stat().st_mtime_ns, p.stat().st_size) for p in folder.rglob("*") if p.is_file()}


def _git_status():
    return subprocess.run(["git", "status", "--porcelain"], cwd=ROOT, capture_output=True, text=True, check=True).stdout


def test_a_quick_notebook_run_from_elsewhere_leaves_the_checkout_clean(tmp_path):
    """Quick mode with the default paths (run from another directory): its figures and tables land
    under build/quick/, never in figures/ or build/full/, and git sees no change."""
    import papermill as pm
    nb = ROOT / "notebooks" / "06_ood.ipynb"                      # the cheapest quick notebook
    status, figures = _git_status(), _snapshot(ROOT / "figures")
    full = _snapshot(ROOT / "build" / "full") if (ROOT / "build" / "full").exists() else {}
    quick_out = ROOT / "build" / "quick" / "results" / "06_ood"
    shutil.rmtree(quick_out, ignore_errors=True)
    pm.execute_notebook(str(nb), str(tmp_path / "out.ipynb"), kernel_name="python3", parameters={"quick": True},
                        cwd=str(tmp_path), progress_bar=False)
    assert _git_status() == status
    assert _snapshot(ROOT / "figures") == figures
    assert (_snapshot(ROOT / "build" / "full") if (ROOT / "build" / "full").exists() else {}) == full
    assert (quick_out / "verdicts.json").exists()
    assert list((ROOT / "build" / "quick" / "figures").glob("06_*.png"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.ipynb"]      # nothing in the working directory


def test_quick_mode_refuses_the_full_runs_folders(tmp_path):
    from richneuron import notebook as nbk
    paths = nbk.resolve_paths("06_ood", True)
    assert paths["figures_dir"] == ROOT / "build" / "quick" / "figures"
    assert paths["output_dir"] == ROOT / "build" / "quick" / "results" / "06_ood"
    assert nbk.resolve_paths("06_ood", False)["figures_dir"] == ROOT / "figures"
    assert nbk.resolve_paths("06_ood", True, output_dir=str(tmp_path))["output_dir"] == tmp_path
    with pytest.raises(ValueError, match="figures_dir=.*quick run must not write"):
        nbk.resolve_paths("06_ood", True, figures_dir=str(ROOT / "figures"))
    with pytest.raises(ValueError, match="output_dir=.*quick run must not write"):
        nbk.resolve_paths("06_ood", True, output_dir=str(ROOT / "build" / "full" / "results" / "06_ood"))


@pytest.fixture(scope="session")
def quick_build():
    """The whole report in quick mode (every notebook via papermill with quick=True)."""
    shutil.rmtree(ROOT / "build" / "quick", ignore_errors=True)
    return report.build(quick=True, root=ROOT, log=lambda *a: None)


def test_quick_build_writes_every_artifact(quick_build):
    base = quick_build
    runtimes = json.loads((base / "runtimes.json").read_text())
    assert set(runtimes["notebooks"]) == {p.stem for p in NOTEBOOKS}
    for p in NOTEBOOKS:
        executed = nbformat.read(base / "notebooks" / p.name, as_version=4)
        errors = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
        assert not errors, (p.name, errors[:1])
        assert (base / "appendix" / f"{p.stem}.html").stat().st_size > 10_000
        if p.stem[:2] in ("08", "09"):        # beyond the study: answers to its own questions, no claim
            rows = json.loads((base / "results" / p.stem / "answers.json").read_text())
            assert rows and all(r["answer"] and r["evidence"] for r in rows)
        elif p.stem[:2] != "00":
            rows = json.loads((base / "results" / p.stem / "verdicts.json").read_text())
            assert rows and all(r["verdict"] in verdicts.VERDICTS for r in rows)
    figures = list((base / "figures").glob("*.png"))
    assert len(figures) >= 10
    names = " ".join(f.name for f in figures)
    assert "decision_boundar" in names and "gradient_norm" in names


def test_quick_paper_is_self_contained_with_scorecard_and_toc(quick_build):
    html = (quick_build / "paper.html").read_text()
    assert len(html.encode()) < 15e6
    assert 'id="tab-scorecard"' in html and 'href="#sec-01"' in html and 'id="sec-01"' in html
    assert not re.search(r"<script[^>]+src=\"https?://", html), "the paper must not load scripts from the network"
    assert html.count("data:image/png;base64") >= 10
    verdict_rows = json.loads((quick_build / "verdicts.json").read_text())
    for r in verdict_rows:
        assert r["verdict"] in html
        assert r["criterion"] and r["criterion_commit"] not in ("unknown", "uncommitted"), r["claim_id"]
        assert "rounding_stable" in r or r["claim_id"] == "width_penalty", r["claim_id"]
        assert isinstance(r.get("rounding_stable"), bool) or r.get("check_parts_skipped") or r["claim_id"] == "width_penalty"
    assert sorted(r["claim_id"] for r in verdict_rows) == sorted(published.claims()), "one row per claim of the study"
    for r in verdict_rows:                                  # notebook 08's columns on every row
        assert "protocol_share" in r and "at_study_protocol" in r, r["claim_id"]
        if r["claim_id"] in ("width_penalty", "regime_map"):             # never judged across protocols
            assert r["protocol_share"] is None and r["protocol_region"].startswith("not judged"), r["claim_id"]
    assert "holds across protocols" in html and "at the study&#39;s likeliest protocol" in html.replace("'", "&#39;")
    assert "robustness check" in html and 'id="tab-checks"' in html
    leaked = re.findall(r"PosixPath\(|(?:/tmp|/root|/home|/work)/[\w./-]+", html)
    assert not leaked and str(ROOT) not in html, f"machine paths in the paper: {leaked[:3]}"
    answers = json.loads((quick_build / "answers.json").read_text())
    assert [a["question"] for a in answers] == ["Sine or multiplication?", "Does the ranking survive tuning?",
                                               "Does the edge persist with scale?",
                                               "Which protocol did the study most likely run?",
                                               "Does SinGLU's advantage survive on real data?",
                                               "Does the study's regime map predict the winner on real data?"]
    assert all(a["question"] in html for a in answers)
    editor = 'class="jp-CodeMirrorEditor'               # the markup of a code cell's input (not the CSS)
    assert editor not in html, "code must be hidden in the paper"
    appendix = (quick_build / "appendix" / "01_memorization.html").read_text()
    assert editor in appendix and '<details class="rn-code">' in appendix, "an appendix folds its code"


CHECK_JS = """<script>
window.__rn = {errors: []};
window.addEventListener('error', e => window.__rn.errors.push(String(e.message || (e.target && (e.target.src || e.target.href)))), true);
const _err = console.error; console.error = (...a) => { window.__rn.errors.push(a.join(' ')); _err(...a); };
window.addEventListener('load', () => {
  const imgs = [...document.images];
  const pre = document.createElement('pre'); pre.id = 'rn-check';
  pre.textContent = JSON.stringify({images: imgs.length,
    broken: imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length, errors: window.__rn.errors});
  document.body.appendChild(pre);
});
</script>"""


def test_quick_paper_loads_in_headless_chromium(quick_build, tmp_path):
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if not chromium:
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian) to run the browser check")
    page = tmp_path / "paper.html"
    html = (quick_build / "paper.html").read_text()
    page.write_text(html.replace("<head>", "<head>" + CHECK_JS, 1))
    out = subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                          "--disable-background-networking", "--disable-component-update", "--disable-sync",
                          f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=15000",
                          "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=180)
    m = re.search(r'<pre id="rn-check">(.*?)</pre>', out.stdout, re.S)
    assert m, f"the check did not run; chromium said: {out.stderr[-2000:]}"
    check = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    assert check["images"] >= 10 and check["broken"] == 0, check
    assert check["errors"] == [], check


# --- The paper stands alone: numbered captioned figures, plain tables, Methods, published results ---

def _soup(html):
    from bs4 import BeautifulSoup
    return BeautifulSoup(html, "html.parser")


def test_table_html_drops_the_row_numbers_and_cuts_nothing():
    import pandas as pd
    from richneuron import notebook as nbk
    long = ("a criterion " * 40).strip()
    df = pd.DataFrame({"claim": [f"c{i}" for i in range(80)], "criterion": [long] * 80,
                       **{f"col{j}": range(80) for j in range(30)}})
    table = _soup(nbk.table_html(df[df["col0"] >= 5])).table            # a filtered frame: index 5..79
    assert not table.tbody.find("th"), "no index column"
    assert [th.text for th in table.thead.find_all("th")] == list(df.columns)
    rows = table.tbody.find_all("tr")
    assert len(rows) == 75 and rows[0].find_all("td")[0].text == "c5"
    assert rows[-1].find_all("td")[1].text == long and "..." not in str(table)
    named = pd.DataFrame({"width": [3, 4]}, index=pd.Index(["vanilla", "singlu"], name="arch"))
    cells = [[td.text for td in tr.find_all("td")] for tr in _soup(nbk.table_html(named)).tbody.find_all("tr")]
    assert cells == [["vanilla", "3"], ["singlu", "4"]]                   # a named index becomes a column
    assert not _soup(nbk.styler_html(df.head(3).style)).tbody.find("th"), "a styled frame's row numbers hidden"
    wide = pd.DataFrame({("2→1", 5000): [1], ("8→4", 5000): [2]}, index=pd.Index(["v10"], name="arch"))
    assert [th.text for th in _soup(nbk.table_html(wide)).find_all("th")] == ["arch", "2→1 · 5000", "8→4 · 5000"]


def test_save_shows_the_saved_png_as_a_numbered_captioned_figure(tmp_path, monkeypatch):
    import base64
    import matplotlib.pyplot as plt
    from richneuron import notebook as nbk
    shown = []
    monkeypatch.setattr(nbk, "display", lambda data, raw, metadata: shown.append((data, metadata)))
    monkeypatch.setattr(nbk, "_ipython", lambda: True)
    cfg = nbk.Setup(True, [0], ["vanilla"], 10, tmp_path, tmp_path, tmp_path / "figures")
    for i, caption in enumerate(["MSE of <every> replica & its mean.", ""]):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        ax.set_title(f"panel {i}")
        assert cfg.save(fig, f"00_test{i}", caption=caption) is None
        assert not plt.fignum_exists(fig.number), "the figure is closed: not shown a second time"
    (data, meta), (data2, meta2) = shown
    fig_html = _soup(data["text/html"]).figure
    png = (tmp_path / "figures" / "00_test0.png").read_bytes()
    assert base64.b64decode(fig_html.img["src"].split(",", 1)[1]) == png   # the file's bytes, shown as they are
    assert fig_html.img["alt"] == "MSE of <every> replica & its mean." == meta[nbk.FIGURE_KEY]["caption"]
    assert fig_html.figcaption.text == "Figure 1. MSE of <every> replica & its mean."
    assert _soup(data2["text/html"]).figcaption.text == "Figure 2. panel 1"       # no caption: the titles


def test_the_paper_numbers_every_figure_in_order():
    import nbformat
    from richneuron import notebook as nbk
    def output(caption, number):
        data, meta = nbk.figure_output("iVBORw0KGgo=", caption, number, f"n{number}")
        return nbformat.v4.new_output("display_data", data=data, metadata=meta)
    cells = [nbformat.v4.new_code_cell(outputs=[output("first", 1), output("second", 2)]),
             nbformat.v4.new_markdown_cell("text"),
             nbformat.v4.new_code_cell(outputs=[output("third", 1)]),      # the next notebook starts at 1 again
             nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=\n"})])]
    assert report.numbering.number_figures(cells) == 4
    captions = [_soup(o.data["text/html"]).figcaption.text for c in cells if c.cell_type == "code" for o in c.outputs]
    assert captions == ["Figure 1. first", "Figure 2. second", "Figure 3. third", "Figure 4. "]


def _bare_entries(monkeypatch):
    """Let `stored_cells` read bare JSON rows (these tests are about the tables, not the store's check)."""
    monkeypatch.setattr(report.publish.store, "read_entry",
                        lambda cache, key: json.loads((Path(cache) / f"{key}.json").read_text()))


def test_published_results_one_row_per_replica_with_every_column_documented(tmp_path, monkeypatch):
    import pandas as pd
    _bare_entries(monkeypatch)
    def cell(key, arch, n):
        rows = [{"arch": arch, "task": "spiral", "seed": s, "replica": s, "test_accuracy": 0.5 + s / 10,
                 "in_range_mse": 0.1, "task.turns": 3.0, "diverged": False, "cell": key} for s in range(n)]
        (tmp_path / f"{key}.json").write_text(json.dumps({"metrics": rows}))
    cell("k1", "vanilla", 2)
    cell("k2", "singlu", 3)
    df = report.publish.results_table(report.publish.stored_cells({"01_a": ["k1", "k2"], "02_b": ["k2", "k2"]}, tmp_path))
    assert len(df) == 5 and list(df["notebooks"]) == ["01_a"] * 2 + ["01_a,02_b"] * 3
    assert all(report.publish.column_doc(c) for c in df.columns), [c for c in df.columns if not report.publish.column_doc(c)]
    assert report.publish.column_doc("no_such_column") is None
    report.publish.publish_results(report.publish.stored_cells({"01_a": ["k1", "k2"]}, tmp_path), tmp_path)
    back = pd.read_csv(tmp_path / report.files.RESULTS_FILE)
    assert back["test_accuracy"].tolist() == [0.5, 0.6, 0.5, 0.6, 0.7]
    first = (tmp_path / report.files.RESULTS_FILE).read_bytes()
    report.publish.publish_results(report.publish.stored_cells({"01_a": ["k1", "k2"]}, tmp_path), tmp_path)
    assert (tmp_path / report.files.RESULTS_FILE).read_bytes() == first, "byte-reproducible"
    assert all(f"`{c}`" in (tmp_path / report.files.DICTIONARY_FILE).read_text() for c in back.columns)


def test_published_results_flag_replicas_that_learnt_nothing_and_the_paper_counts_them(tmp_path, monkeypatch):
    import pandas as pd
    _bare_entries(monkeypatch)
    base = {"task": "spiral", "metric": "accuracy", "chance_accuracy": 0.5, "diverged": False, "seed": 0}
    rows = {"k1": [dict(base, arch="vanilla", replica=0, test_accuracy=0.5),        # at chance: learnt nothing
                   dict(base, arch="vanilla", replica=1, seed=1, test_accuracy=0.9),
                   dict(base, arch="vanilla", replica=2, seed=2, test_accuracy=None, diverged=True)],
            "k2": [dict(base, arch="vanilla", replica=0, test_accuracy=0.5),        # k1's replica 0 again
                   # on ood's shifted range: above the constant's test error, yet a training fit far below the
                   # constant's on its training set (it learnt; it does not extrapolate), and one that fit nothing
                   {"arch": "v6", "task": "ood", "metric": "mse", "test_mse": 3.0, "predict_mean_mse": 2.0,
                    "in_range_mse": 0.1, "final_train_loss": 1e-4, "diverged": False, "seed": 0, "data_seed": 0,
                    "replica": 1},
                   {"arch": "v6", "task": "ood", "metric": "mse", "test_mse": 3.0, "predict_mean_mse": 2.0,
                    "in_range_mse": 0.1, "final_train_loss": 1e3, "diverged": False, "seed": 1, "data_seed": 0,
                    "replica": 2}]}
    for key, rs in rows.items():
        (tmp_path / f"{key}.json").write_text(json.dumps({"metrics": [dict(r, cell=key) for r in rs]}))
    df = report.publish.publish_results(report.publish.stored_cells({"01_a": ["k1", "k2"]}, tmp_path), tmp_path)
    back = pd.read_csv(tmp_path / report.files.RESULTS_FILE)
    assert back["learnt_nothing"].tolist() == [True, False, False, True, False, True]
    assert list(back.columns).index("learnt_nothing") == list(back.columns).index("diverged") + 1
    assert "| `learnt_nothing` |" in (tmp_path / report.files.DICTIONARY_FILE).read_text()
    text = report.paper.replicas_text(back)          # each replica once: k2's repeat of k1's replica 0 is not
    assert text.startswith("Of its 5 replicas, 1 diverged") and " and 2 learnt nothing (most on " in text
    assert "spiral 1" in text and "ood 1" in text
    assert report.paper.replicas_text(back.iloc[:2]).startswith("Of its 2 replicas, 0 diverged (")
    assert report.paper.replicas_text(None) == ""
    prov = report.paper.provenance_section([], {"item": "value"}, results=df)[0].source
    assert text in prov and "results_dictionary.md" in prov


def test_training_costs_count_each_replica_once_and_split_trained_from_stored(tmp_path, monkeypatch):
    from datetime import datetime, timezone
    _bare_entries(monkeypatch)
    def cell(key, date, walls, seeds, stacks=None):
        rows = [{"arch": "vanilla", "seed": s, "wall_seconds": w, "cell": key, **({"stack": st} if st else {})}
                for s, w, st in zip(seeds, walls, stacks or [None] * len(seeds))]
        prov = {"date": date, "wall_seconds": sum(walls), **({"stacks": {"new": "2026-12-04T16:30:05+00:00"}}
                                                             if stacks else {})}
        (tmp_path / f"{key}.json").write_text(json.dumps({"key": key, "provenance": prov, "metrics": rows}))
    cell("old", "2026-12-01T10:00:00+00:00", [100.0], [0])
    cell("new", "2026-12-04T16:30:05+00:00", [5.0, 2.5], [1, 2])
    cell("edge", "2026-12-04T16:30:00+00:00", [2.0], [3])       # saved in the build's first second: trained by it
    cell("again", "2026-12-04T16:31:00+00:00", [2.5], [2], ["new"])   # new's replica read by another cell
    since = datetime(2026, 12, 4, 16, 30, tzinfo=timezone.utc)
    used = {"01_a": ["old", "new", "new"], "02_b": ["new", "edge", "again"], "03_c": ["old"]}
    costs = report.publish.training_costs(used, report.publish.stored_cells(used, tmp_path), since)
    assert costs == {"01_a": {"cells": 2, "trained_now": 1, "core_seconds": 107.5, "stored_core_seconds": 100.0},
                     "02_b": {"cells": 2, "trained_now": 1, "core_seconds": 2.0, "stored_core_seconds": 0.0},
                     "03_c": {"cells": 0, "trained_now": 0, "core_seconds": 0.0, "stored_core_seconds": 0.0}}
    # a cold build of 01_a also trains "old" (100 core-s, 50 s on 2 workers); 02_b trained all it read
    runtimes = {"notebooks": {"01_a": 12.3, "02_b": 4.0, "04_d": 9.0}, "training": costs}
    assert report.publish.cold_estimates(runtimes, 2) == {"01_a": 62.3, "02_b": 4.0, "04_d": 9.0}
    # runtimes written before the store's share was recorded: core-seconds split by the stored cells' share
    legacy = {"notebooks": {"01_a": 10.0}, "training": {"01_a": {"cells": 4, "trained_now": 1, "core_seconds": 80.0}}}
    assert report.publish.cold_estimates(legacy, 2) == {"01_a": 40.0}
    nb = tmp_path / "notebooks" / "01_a.ipynb"
    nb.parent.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 01 · A")]), nb)
    (tmp_path / "figures").mkdir()
    row = report.publish.notebook_table(tmp_path, [nb], {"01_a": 12.3}, {}, costs).splitlines()[2]
    assert row == "| [`01_a`](notebooks/01_a.ipynb) | 01 · A | – | 12 s | 1 of 2 | 108 | n/a |"


def test_compare_renders_names_changed_verdicts_and_parts_and_measures_replica_gaps(tmp_path):
    import pandas as pd
    def render(name, verdict_rows, losses):
        d = tmp_path / name
        d.mkdir()
        (d / "verdicts.json").write_text(json.dumps(verdict_rows))
        pd.DataFrame({"cell": ["a", "a", "b", "c", "d", name], "replica": [0, 1, 0, 0, 0, 0],
                      "final_train_loss": losses}).to_csv(d / report.files.RESULTS_FILE, index=False)
        return d
    old = render("old", [{"claim_id": "x", "verdict": "inconclusive", "parts": {"dir": "inconclusive", "mag": "fails"}},
                         {"claim_id": "y", "verdict": "replicated", "parts": {"dir": "holds"}}],
                 [1.0, 1e-3, 2.0, float("nan"), 3.0, 5.0])
    new = render("new", [{"claim_id": "x", "verdict": "inconclusive", "parts": {"dir": "holds", "mag": "fails"}},
                         {"claim_id": "y", "verdict": "not replicated", "parts": {"dir": "fails"}},
                         {"claim_id": "z", "verdict": "replicated", "parts": {}}],
                 [1.0, 1e-2, 2.0, float("nan"), float("nan"), 7.0])
    c = report.compare.compare_renders(new, old)
    assert c["claims"] == [{"claim_id": "x", "old": "inconclusive", "new": "inconclusive",
                            "parts_changed": {"dir": ["inconclusive", "holds"]}},
                           {"claim_id": "y", "old": "replicated", "new": "not replicated",
                            "parts_changed": {"dir": ["holds", "fails"]}}]
    # five replicas in both (the last row of each is its own): three equal (NaN = NaN), one a decade apart,
    # one diverged in the new render only (left out of the gaps)
    assert c["replicas"] == 5 and c["identical"] == 0.6 and c["compared"] == 4
    assert c["log10_gap"]["median"] == 0.0 and c["log10_gap"]["max"] == pytest.approx(1.0)
    text = report.compare.describe_comparison(c, "old")
    assert text.splitlines()[0] == "against old: 1 of 2 verdicts the same"
    assert "verdict changed: y: replicated -> not replicated" in text and "part changed: x dir: inconclusive -> holds" in text
    assert "1 of them left out: diverged (or reached 0) in one render only" in text
    with pytest.raises(SystemExit):
        report.main(["--compare", str(new), str(tmp_path / "missing")])


def test_quick_paper_figures_are_numbered_and_captioned(quick_build):
    html = (quick_build / "paper.html").read_text()
    assert "No description has been provided" not in html
    soup = _soup(html)
    imgs = soup.find_all("img")
    assert len(imgs) >= 10
    numbers = []
    for img in imgs:
        fig = img.find_parent("figure")
        assert fig is not None and fig.figcaption is not None, f"an image outside a numbered figure: {str(img)[:200]}"
        m = re.fullmatch(r"Figure (\d+)\. (.+)", fig.figcaption.text.strip(), re.S)
        assert m, f"figure without a number and caption: {fig.figcaption.text!r}"
        assert img["alt"] == m.group(2), "the caption is the alt text"
        numbers.append(int(m.group(1)))
    assert numbers == list(range(1, len(imgs) + 1))


def test_quick_paper_tables_have_no_index_column_or_cut_cells(quick_build):
    tables = [t for page in _pages(quick_build) for t in _soup(page.read_text()).find_all("table")]
    assert len(tables) >= 10
    for t in tables:
        body = t.find("tbody") or t
        assert not body.find("th"), f"a table with an index column: {str(t)[:300]}"
        assert not any(td.text.strip() in ("...", "…") for td in t.find_all("td")), f"cut table: {str(t)[:300]}"
        assert not any(td.text.rstrip().endswith("...") for td in t.find_all("td")), f"cut cell: {str(t)[:300]}"


def test_quick_paper_has_methods_effects_limitations_and_results(quick_build):
    import pandas as pd
    from richneuron import neurons, tasks
    html = (quick_build / "paper.html").read_text()
    soup = _soup(html)
    methods = html[html.index('id="sec-00"'):html.index('id="sec-01"')]
    assert 'href="appendix/00_methods.html"' in methods, "Methods points to its tables"
    assert "Welch" in _soup(methods).get_text(" ") and "TOST" in _soup(methods).get_text(" ")
    text = _soup((quick_build / "appendix" / "00_methods.html").read_text()).get_text(" ")     # Appendix A0
    for a in neurons.available("all"):
        assert re.search(rf"\b{re.escape(a)}\b", text), f"Methods does not name arch {a}"
        assert " ".join(neurons.get(a).__doc__.replace("`", "").split()[:6]) in " ".join(text.split()), f"{a}'s equation"
    for t in tasks.available("all"):
        assert re.search(rf"\b{t}\b", text), f"Methods does not name task {t}"
        assert " ".join(tasks.generator(t).__doc__.replace("`", "").split()) in " ".join(text.split()), f"{t}'s generator, in full"
    assert "Welch" in text and "Holm" in text and "TOST" in text and "robustness check" in text
    verdict_rows = json.loads((quick_build / "verdicts.json").read_text())
    scorecard = " ".join(soup.find(id="tab-scorecard").get_text(" ").split())
    for r in verdict_rows:                  # the scorecard's short effect, the claim's section the whole of ours
        assert " ".join(report.scorecard.ours_short(r).split()) in scorecard, r["claim_id"]
        start = html.index(f'id="claim-{r["claim_id"]}"') + 1
        end = start + re.search(r'id="(claim-|sec-|limitations)', html[start:]).start()
        section = " ".join(_soup(html[start - 4:end]).get_text(" ").split())
        assert " ".join(r["ours"].split()) in section, f"{r['claim_id']}'s section lacks its effect"
    lim = html[html.index('id="limitations"'):html.index('id="provenance"')]
    for word in ("learning rate", "ω", "difficulty", "data draw", "float32", "Adam", "gradient competition", "peers"):
        assert word in lim, f"limitations do not name {word}"
    df = pd.read_csv(quick_build / report.files.RESULTS_FILE)
    assert len(df) and df[["arch", "task", "seed", "data_seed", "test_" + "mse"]].notna().any().all()
    assert all(report.publish.column_doc(c) for c in df.columns), [c for c in df.columns if not report.publish.column_doc(c)]
    read = {n for v in df["notebooks"] for n in v.split(",")}
    assert read == {p.stem for p in NOTEBOOKS}, read           # every notebook trains or reads something
    assert report.files.RESULTS_FILE in html and report.files.DICTIONARY_FILE in html
    assert (quick_build / report.files.DICTIONARY_FILE).exists()


def test_table_text_is_shown_as_written_not_as_markdown():
    from nbconvert.filters.markdown_mistune import markdown2html_mistune
    crit = "band [24/sqrt(10), 1273*sqrt(10)], Vanilla against [7/sqrt(10), 7*sqrt(10)]; |phase| < 0.1; a_b_c"
    html = markdown2html_mistune(f"| criterion |\n|---|\n| {report.scorecard.md_escape(crit)} |\n\n**Criterion.** {report.scorecard.md_escape(crit)}")
    assert "<em>" not in html and html.count(crit.replace("<", "&lt;")) == 2


def test_run_writes_the_keys_of_the_cells_it_returns(tmp_path, monkeypatch):
    """What results.csv.gz is built from: every run appends its cells' keys, trained or cached."""
    import richneuron as rn
    from richneuron.experiment import cell_key
    listing = tmp_path / "cells.txt"
    monkeypatch.setenv("RICHNEURON_CELLS_FILE", str(listing))
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks=["memorize"], seed=[0], steps=2, width=4, budget=None,
                       task_options={"n_points": 8})
    first = rn.run(ex, cache_dir=tmp_path / "cache", progress=False, workers=1)
    rn.run(ex, cache_dir=tmp_path / "cache", progress=False, workers=1)          # from the store this time
    keys = [cell_key(c) for c in ex.cells]
    assert len(keys) == 2 and listing.read_text().split() == keys * 2
    assert sorted(set(first.metrics["cell"])) == sorted(keys)
    assert sorted(json.loads((tmp_path / "cache" / f"{k}.json").read_text())["metrics"][0]["arch"] for k in keys) \
        == ["singlu", "vanilla"]


def test_a_notebook_section_id_is_its_number_whatever_else_ran(tmp_path):
    paths = []
    for stem in ("03_c", "08_h"):
        paths.append(tmp_path / f"{stem}.ipynb")
        nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell(f"# {stem}\n\ntext")]), paths[-1])
    md = "\n".join(c.source for c in report.paper.assemble(paths, [], {}, quick=True).cells if c.cell_type == "markdown")
    assert "[03_c](#sec-03)" in md and "[08_h](#sec-08)" in md
    assert '<a id="sec-03"></a>' in md and '<a id="sec-08"></a>' in md and "sec-00" not in md and "sec-01" not in md


def test_results_table_marks_rows_that_repeat_another_cells_replica():
    row = {"arch": "vanilla", "task": "spiral", "width": 8, "params": 50, "budget": 50, "depth": 2, "steps": 10,
           "kernels": "numpy", "device": "cpu", "data_seed": 0, "lr": 1e-3, "test_accuracy": 0.5, "task.turns": 2,
           "omega": float("nan"), "meta_lr_scale": None}
    cells = {"a": {"notebooks": ["02"], "doc": {"metrics": [dict(row, seed=0), dict(row, seed=1)]}},
             "b": {"notebooks": ["07"], "doc": {"metrics": [dict(row, seed=1, test_accuracy=0.5),
                                                            dict(row, seed=1, lr=3e-3)]}}}
    for c, d in cells.items():
        for r in d["doc"]["metrics"]:
            r["cell"] = c
    df = report.publish.results_table(cells)
    assert df["repeats"].tolist() == ["", "", "a", ""]      # only b's lr-1e-3 seed 1 repeats a's replica
    assert "repeats another row's replica" in report.publish.data_dictionary(df)
    assert "trained once" in report.publish.data_dictionary(df)


def test_the_study_is_cited_and_its_documents_live_in_the_repository():
    root = report.files.ROOT
    readme = (root / "README.md").read_text()
    docs = (root / "docs" / "original-study.md").read_text()
    page = report.scorecard.STUDY_PAGE
    assert page in readme and page in docs and "anshdadhich" in report.scorecard.STUDY_CITATION
    text = report.scorecard.abstract([])
    assert report.scorecard.STUDY_PAGE in text and "published no code" not in text and "not available" in text
    assert "published no code" not in readme
    assert "## 6. Inconsistencies" in docs and "benchmark_v15.py" in docs     # the sections the code cites


def test_criteria_history_reads_every_committed_render_from_git(tmp_path):
    def git(*a):
        subprocess.run(["git", "-C", str(tmp_path), *a], check=True, capture_output=True,
                       env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t",
                            "GIT_COMMITTER_EMAIL": "t@t"})
    git("init", "-q")
    (tmp_path / "paper").mkdir()
    renders = [[{"claim_id": "a", "verdict": "replicated", "criterion": "A1"}, {"claim_id": "b", "verdict": "inconclusive", "criterion": "B1"}],
               [{"claim_id": "a", "verdict": "replicated", "criterion": "A1"}, {"claim_id": "b", "verdict": "not replicated", "criterion": "B2"}],
               [{"claim_id": "a", "verdict": "inconclusive", "criterion": "A1"}, {"claim_id": "b", "verdict": "not replicated", "criterion": "B2"}]]
    for i, rows in enumerate(renders):
        (tmp_path / "paper" / "verdicts.json").write_text(json.dumps(rows))
        git("add", "-A")
        git("commit", "-q", "-m", f"render {i}")
        (tmp_path / "other.txt").write_text(str(i))         # a commit that does not touch the renders
        git("add", "-A")
        git("commit", "-q", "-m", f"other {i}")
    h = report.criteria.criteria_history(tmp_path)
    assert [x["verdict"] for x in h["a"]["renders"]] == ["replicated", "replicated", "inconclusive"]
    assert h["a"]["revised_after_data"] is False and h["b"]["revised_after_data"] is True
    assert [x["criterion_changed"] for x in h["b"]["renders"]] == [False, True, False]
    assert h["b"]["revisions"] == [h["b"]["renders"][1]["commit"]]
    table = report.criteria.history_table(h)
    assert "| a |" in table and "yes" in table and "no: revised after results in" in table
    today = h["a"]["renders"][0]["date"]
    assert f"| a | replicated ({today} – {today}, 2 renders) → inconclusive ({today}) | yes |" in table
    assert f"| b | inconclusive ({today}) → *not replicated ({today} – {today}, 2 renders) | no:" in table
    assert report.criteria.criteria_history(tmp_path / "not-a-repo") == {}


# --- A paper people finish: a short main text within its limits, the detail in appendices ---

def _chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


def _words(html):
    soup = _soup(html)
    for t in soup(["style", "script"]):
        t.decompose()
    return len(soup.get_text(" ").split())


def test_quick_paper_prints_to_at_most_40_a4_pages(quick_build, tmp_path):
    chromium = _chromium()
    if not chromium:
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian) to run the print check")
    page = tmp_path / "paper.html"
    page.write_text((quick_build / "paper.html").read_text())
    pdf = tmp_path / "paper.pdf"
    out = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}", "--no-pdf-header-footer",
                          f"--print-to-pdf={pdf}", page.as_uri()], capture_output=True, text=True, timeout=300)
    assert pdf.exists(), out.stderr[-2000:]
    data = pdf.read_bytes()
    pages = len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", data))
    assert 3 <= pages <= 40, pages
    sizes = {tuple(round(float(v)) for v in m.split()) for m in re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d. ]+)\]", data)}
    assert sizes == {(595, 842)}, f"not A4 (595 x 842 pt): {sizes}"


def test_quick_paper_is_within_the_word_limits(quick_build):
    html = (quick_build / "paper.html").read_text()
    assert _words(html) <= 10_000
    abstract = _soup(html).find(id="abstract").get_text(" ")
    assert 80 <= len(abstract.split()) <= 1 + report.scorecard.ABSTRACT_WORDS, len(abstract.split())    # + "Abstract."
    assert "[[ref:" not in html, "an unresolved figure or table reference"


def _pages(base):
    return [base / "paper.html"] + sorted((base / "appendix").glob("*.html"))


def test_quick_paper_and_appendices_number_caption_and_cite_every_table_and_figure(quick_build):
    for path in _pages(quick_build):
        soup = _soup(path.read_text())
        label = "" if path.name == "paper.html" else f"A{int(path.stem[:2])}\\."
        tables = soup.find_all("table")
        numbers = []
        for t in tables:
            fig = t.find_parent("figure", class_="rn-table")
            assert fig is not None and fig.figcaption is not None, f"{path.name}: a table outside a numbered figure"
            m = re.fullmatch(rf"Table {label}(\d+)\. (\S.*)", " ".join(fig.figcaption.text.split()))
            assert m, f"{path.name}: table caption {fig.figcaption.text!r}"
            numbers.append(int(m[1]))
            heads = [th.text.strip() for th in t.find_all("th")]
            assert not [h for h in heads if re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)+", h)], (path.name, heads)
            raw = [td.text.strip() for td in t.find_all("td") if td.text.strip() in ("True", "False", "None", "nan")]
            assert not raw, (path.name, raw[:3])
            long = [td.text for td in t.find_all("td") if re.fullmatch(r"-?\d+\.\d+", td.text.strip())
                    and len(td.text.strip().lstrip("-").replace(".", "").lstrip("0")) > 4]      # > 4 significant digits
            assert not long, (path.name, long[:3])
        assert numbers == list(range(1, len(tables) + 1)), (path.name, numbers)
        cited = {a["href"][1:] for a in soup.find_all("a", href=True) if a["href"].startswith("#")}
        for fig in soup.find_all("figure", class_=("rn-figure", "rn-table")):
            assert fig.get("id") in cited, f"{path.name}: {fig.get('id')} is not referred to from the text"


def test_quick_paper_opens_with_title_abstract_and_summary_figure(quick_build):
    soup = _soup((quick_build / "paper.html").read_text())
    first = soup.find_all(["h1", "section", "figure"])[:4]
    assert [t.name for t in first[:3]] == ["h1", "section", "figure"], [t.name for t in first]
    assert first[1]["id"] == "abstract" and first[2]["id"] == "fig-summary"
    assert first[2].figcaption.text.startswith("Figure 1. ")
    assert first[3]["id"] == "tab-scorecard" and first[3].figcaption.text.startswith("Table 1. ")
    verdict_rows = json.loads((quick_build / "verdicts.json").read_text())
    rows = first[3].find("tbody").find_all("tr")
    assert [r.find("a")["href"] for r in rows] == [f"#claim-{r['claim_id']}" for r in report.scorecard.ordered(verdict_rows)[0]]
    assert all(soup.find(id=f"claim-{r['claim_id']}") for r in verdict_rows), "every row links to its section"
    assert (quick_build / "figures" / "summary.png").exists()


def test_every_notebook_is_an_appendix_page_with_all_its_figures_and_tables(quick_build):
    paper = (quick_build / "paper.html").read_text()
    for p in NOTEBOOKS:
        page = quick_build / "appendix" / f"{p.stem}.html"
        assert f'href="appendix/{p.stem}.html"' in paper, f"the paper does not link {page.name}"
        html = page.read_text()
        assert 'href="../paper.html"' in html and f'href="../paper.html#sec-{p.stem[:2]}"' in html
        executed = nbformat.read(quick_build / "notebooks" / p.name, as_version=4)
        outputs = [o for c in executed.cells if c.cell_type == "code" for o in c.outputs
                   if o.output_type in ("display_data", "execute_result")]
        n_figures = sum(1 for o in outputs if "image/png" in o.get("data", {}) or "rn-figure" in o.get("data", {}).get("text/html", ""))
        n_tables = sum(o.get("data", {}).get("text/html", "").count("<table") for o in outputs) + sum(
            1 for o in outputs if "text/html" not in o.get("data", {}) and "\n|" in o.get("data", {}).get("text/markdown", ""))
        soup = _soup(html)
        assert len(soup.find_all("figure", class_="rn-figure")) == n_figures, p.stem
        assert len(soup.find_all("table")) == n_tables, p.stem


def test_appendix_pages_load_in_headless_chromium(quick_build, tmp_path):
    chromium = _chromium()
    if not chromium:
        pytest.skip("Chromium is not installed: `apt-get install chromium` (Debian) to run the browser check")
    pages = sorted((quick_build / "appendix").glob("*.html"))
    assert len(pages) == len(NOTEBOOKS)
    for path in pages:                     # about 1.5 s each
        page = tmp_path / path.name
        page.write_text(path.read_text().replace("<head>", "<head>" + CHECK_JS, 1))
        out = subprocess.run([chromium, *CHROMIUM_FLAGS, "--disable-quic", f"--user-data-dir={tmp_path / 'profile'}",
                              "--virtual-time-budget=10000", "--dump-dom", page.as_uri()],
                             capture_output=True, text=True, timeout=180)
        m = re.search(r'<pre id="rn-check">(.*?)</pre>', out.stdout, re.S)
        assert m, f"{path.name}: the check did not run; chromium said: {out.stderr[-1000:]}"
        check = json.loads(m.group(1).replace("&quot;", '"').replace("&amp;", "&"))
        assert check["broken"] == 0 and check["errors"] == [], (path.name, check)


# --- The pieces, against values worked out by hand ---

def test_summary_and_scorecard_draw_the_rows_effect_not_its_text():
    from richneuron import summary
    e = verdicts.effect("Vanilla / SinGLU nested2d MSE", 2.0, 1.5, 3.0, scale="log", unit="×", published=222)
    row = {"claim_id": "nested_ratio", "ours": "Vanilla/SinGLU 9 [8, 10]×, p = 0.01", "effect": e, "published": 222}
    assert summary.effect(row) == e                            # the row's numbers, not the 9 [8, 10] of its text
    assert report.scorecard.ours_short(row) == "2.0× [1.5, 3.0]"         # half-widths 0.5 and 1.0: two significant digits
    assert report.scorecard._published_text(row) == "222×"
    count = {"claim_id": "regime_map", "ours": "5/6 rows", "published": 6,
             "effect": verdicts.effect("rows (of 6)", 2, published=6, null=None)}
    assert (report.scorecard.ours_short(count), report.scorecard._published_text(count)) == ("2", "6")
    assert summary.effect({"claim_id": "adaptive_fail", "ours": "v7 on hifreq", "effect": None}) is None
    fig = summary.figure([row, count])
    dots = [l for ax in fig.axes for l in ax.lines if l.get_marker() == "o"]
    assert [d.get_xdata()[0] for d in dots] == [2.0, 2]
    diamonds = [l.get_xdata()[0] for ax in fig.axes for l in ax.lines if l.get_marker() == "D"]
    assert diamonds == [222, 6]


def test_tables_get_numbers_captions_from_their_text_and_human_cells():
    cells = [nbformat.v4.new_markdown_cell("## Widths\n\nBudget matching picks the width. More text."),
             nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", data={
                 "text/html": "<table><thead><tr><th>p_holm</th><th>best_gap</th><th>arch</th></tr></thead><tbody>"
                              "<tr><td>0.0123456</td><td>True</td><td>None</td></tr>"
                              "<tr><td>1e-05</td><td>1.23456e-05</td><td>v10</td></tr></tbody></table>"})]),
             nbformat.v4.new_code_cell(outputs=[nbformat.v4.new_output("display_data", data={
                 "text/markdown": "Four runs were made in this sweep.\n\n| a | b |\n|---|---|\n| 1 | False |"})])]
    assert report.numbering.number_tables(cells, "A2.") == 2
    first, second = (_soup(c.outputs[0].data["text/html"]) for c in cells[1:])
    assert first.figcaption.text == "Table A2.1. Widths. Budget matching picks the width."
    assert [th.text for th in first.find_all("th")] == ["Holm p", "best gap", "arch"]
    assert [td.text for td in first.find_all("td")] == ["0.0123", "yes", "–", "1e-05", "1.23e-05", "v10"]
    assert second.figcaption.text == "Table A2.2. Widths. Four runs were made in this sweep." and [td.text for td in second.find_all("td")] == ["1", "no"]
    assert second.figure["id"] == "tab-A2-2"


def test_abstract_stays_within_its_word_limit_and_counts_the_verdicts():
    rows = [{"claim_id": c, "claim": v["text"], "verdict": "not replicated", "ours": "1 [0.5, 2]", "published": v["value"],
             "protocol_share": 0.25, "at_study_protocol": {"verdict": "not replicated", "protocol": "point 3"}}
            for c, v in published.claims().items()]
    rows[0]["verdict"] = "replicated"
    rows[1]["at_study_protocol"] = {"verdict": "replicated", "protocol": "point 3", "trained_at": "that protocol"}
    answers = [{"question": f"Question {i}?", "answer": "word " * 60, "evidence": ""} for i in range(5)]
    text = report.scorecard.abstract(rows, answers)
    assert report.scorecard._words(text) <= report.scorecard.ABSTRACT_WORDS
    n = len(published.claims())
    assert f"Of the {n} claims, 1 replicated, {n - 1} not replicated (Figure 1, Table 1)." in text
    # one sentence per protocol: ours above, the study's likeliest here, always in (it is among the first)
    assert (f"At the protocol that best fits the study's own table (notebook 08: point 3; every finding trained again "
            f"there), by the same criteria: 1 replicated, {n - 1} not replicated; what holds there: "
            f"{summary.short_claim(rows[1])}.") in text
    assert "median 25%" in text


def test_readme_summary_has_the_figure_and_one_line_per_claim():
    rows = json.loads((ROOT / "paper" / "verdicts.json").read_text())
    text = report.scorecard.readme_summary(rows)
    lines = [l for l in text.splitlines() if l.startswith("- ")]
    assert text.startswith("![") and "(figures/summary.png)" in text.splitlines()[0]
    ordered = report.scorecard.ordered(rows)[0]
    assert len(lines) == len(ordered) == len(published.claims())
    for line, r in zip(lines, ordered):
        assert line.startswith(f"- **{r['verdict']}**") and report.scorecard.md_escape(r["claim"]) in line, (line, r["claim_id"])
    readme = (ROOT / "README.md").read_text()
    block = readme[readme.index("<!-- summary:start -->\n") + 23:readme.index("<!-- summary:end -->")]
    assert block.strip() == text.strip(), "README's summary is generated: python -m richneuron.report --summary"
    assert readme.index("<!-- summary:end -->") < readme.index("## Two commands")
