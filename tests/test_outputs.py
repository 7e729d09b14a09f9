"""What a notebook leaves for the build is read by role (`richneuron.outputs`), the same for every
notebook: the build names none of them."""
import json
import re
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


def test_the_build_names_no_notebook():
    """No notebook is a special case of the build: its modules name none (a notebook's file stem,
    e.g. 08_protocol_space, appears in no code line)."""
    stems = [p.stem for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")]
    for path in (ROOT / "richneuron" / "report").glob("*.py"):
        code = "\n".join(line for line in path.read_text().splitlines() if not line.strip().startswith(("#", '"')))
        code = re.sub(r'"""(.|\n)*?"""', "", code)
        named = [s for s in stems if s in code or f'"{s[:2]}"' in code]
        assert not named, f"{path.name} names notebook(s) {named}"


def test_a_notebook_declares_its_paper_section_in_its_metadata():
    import pytest
    declared = {p.stem: outputs.section(nbformat.read(p, as_version=4)) for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")}
    assert [s for s, v in declared.items() if v == "methods"] == ["00_methods"]
    with pytest.raises(ValueError, match="section must be one of finding, methods, got 'results'"):
        outputs.section(nbformat.v4.new_notebook(metadata={"richneuron": {"section": "results"}}))
