"""What a notebook leaves for the build is read by role (`richneuron.outputs`), the same for every
notebook: the build names none of them."""
import ast
import json
from pathlib import Path

import nbformat

from richneuron import outputs, report

ROOT = Path(__file__).resolve().parents[1]


def test_written_files_are_read_back_by_role(tmp_path):
    assert outputs.read(tmp_path) == {"verdicts": [], "answers": [], "space": None, "published": []}
    outputs.write(tmp_path, outputs.VERDICTS, [{"claim_id": "x"}])
    outputs.write(tmp_path, outputs.SPACE, {"best_protocol": {"default": True}})
    (tmp_path / "fit.csv").write_text("a\n1\n")
    outputs.publish(tmp_path, "fit.csv")
    outputs.publish(tmp_path, "fit.csv")                     # once, however often it is marked
    got = outputs.read(tmp_path)
    assert got["verdicts"] == [{"claim_id": "x"}] and got["answers"] == []
    assert got["space"] == {"best_protocol": {"default": True}} and got["published"] == [tmp_path / "fit.csv"]


def test_a_notebook_run_reads_only_what_that_run_left(tmp_path):
    """A notebook (any name) that writes a protocol space and publishes a table: the build reads
    both; a verdicts file an earlier run left in the folder is not read as this run's."""
    nb = tmp_path / "42_anything.ipynb"
    code = ("from richneuron import outputs\n"
            f"outputs.write({str(tmp_path / 'out')!r}, outputs.SPACE, {{'claims': {{}}}})\n"
            f"open({str(tmp_path / 'out' / 'fit.csv')!r}, 'w').write('a\\n1\\n')\n"
            f"outputs.publish({str(tmp_path / 'out')!r}, 'fit.csv')")
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)]), nb)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    (out_dir / outputs.VERDICTS).write_text(json.dumps([{"claim_id": "stale"}]))
    seconds, cells, left = report.run_notebook(nb, tmp_path / "ran.ipynb", out_dir, {}, log=lambda *a: None)
    assert cells == [] and left["verdicts"] == [] and left["space"] == {"claims": {}}
    assert left["published"] == [out_dir / "fit.csv"]


def _code_strings(source):
    """The string constants of Python `source` that are not docstrings."""
    tree = ast.parse(source)
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.body
            and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [n.value for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def _named(source, stems):
    """The notebooks (file stems) a piece of code names in a string: the stem, or its two-digit number alone."""
    return sorted({s for s in stems for text in _code_strings(source) if s in text or text.strip() == s[:2]})


def test_the_build_names_no_notebook():
    """No notebook is a special case of the build: no string in its code (docstrings aside) names a
    notebook's file stem (e.g. 08_protocol_space) or its number ("08")."""
    stems = [p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")]
    for path in (ROOT / "richneuron" / "report").glob("*.py"):
        assert not _named(path.read_text(), stems), f"{path.name} names notebook(s) {_named(path.read_text(), stems)}"
    # the check finds what the build named before this rule (fd7e085's report/__init__.py, paper.py)
    old = 'def build():\n    """Doc naming 08_protocol_space."""\n    s = base / "results" / "08_protocol_space" / "space.json"\n' \
          '    if path.stem.startswith("00"):\n        pass\n'
    assert _named(old, stems) == ["00_methods", "08_protocol_space"]


def test_a_notebook_declares_its_paper_section_in_its_metadata():
    import pytest
    declared = {p.stem: outputs.section(nbformat.read(p, as_version=4)) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert [s for s, v in declared.items() if v == "methods"] == ["00_methods"]
    with pytest.raises(ValueError, match="section must be one of finding, methods, got 'results'"):
        outputs.section(nbformat.v4.new_notebook(metadata={"richneuron": {"section": "results"}}))


def test_published_files_must_exist_and_have_names_of_their_own(tmp_path):
    import pytest
    with pytest.raises(ValueError, match="publish 'fit.csv': no such file"):
        outputs.publish(tmp_path, "fit.csv")
    outputs.check_published([tmp_path / "a" / "fit.csv", tmp_path / "b" / "other.csv"], report.PAPER_FILES)
    with pytest.raises(ValueError, match="notebooks publish fit.csv more than once"):
        outputs.check_published([tmp_path / "a" / "fit.csv", tmp_path / "b" / "fit.csv"], report.PAPER_FILES)
    with pytest.raises(ValueError, match="notebooks publish verdicts.json more than once or over a file the build writes"):
        outputs.check_published([tmp_path / "a" / "verdicts.json"], report.PAPER_FILES)
