"""`make report`'s progress lines: the notebook, its code cells, the engine's cells and model-steps,
the time left; and no "running over TCP without encryption" warning from the kernel."""
import json
import subprocess
import sys
import textwrap
import time

import nbformat

from richneuron import report


def test_status_line_reads_the_notebook_and_the_engine_progress(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("1"), nbformat.v4.new_markdown_cell("x"), nbformat.v4.new_code_cell("2"),
                nbformat.v4.new_code_cell("3")]
    nb.cells[0].metadata["papermill"] = {"status": "completed"}
    out = tmp_path / "07_x.ipynb"
    nbformat.write(nb, out)
    prog = tmp_path / "p.json"
    prog.write_text(json.dumps({"cells_total": 40, "cells_done": 10, "steps_total": 4_000_000,
                                "steps_done": 1_000_000, "started": time.time() - 60}))
    line = report.execute._status(out, out, prog, time.perf_counter() - 60, "[8/8]", expected=100, after=50)
    assert "[8/8] 07_x" in line and "code cell 2/3" in line
    assert "10/40 cells" in line and "1.00/4.00 M model-steps" in line
    # a quarter of the model-steps in 60 s: ~180 s left, more than the last run's 100 s - 60 s
    left = line.split("~")[1].split(" left")[0]
    m, s = map(int, left.split(":"))
    assert 170 <= 60 * m + s <= 190, line
    assert "report: ~" in line


def test_execute_prints_progress_and_no_tcp_warning(tmp_path):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import time\nquick = False", metadata={"tags": ["parameters"]}),
                nbformat.v4.new_code_cell("time.sleep(3)"), nbformat.v4.new_code_cell("print('done')")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    src = tmp_path / "01_tiny.ipynb"
    nbformat.write(nb, src)
    code = textwrap.dedent(f"""
        from pathlib import Path
        from richneuron import report
        report.execute.execute(Path({str(src)!r}), Path({str(tmp_path / 'out.ipynb')!r}), {{"quick": True}},
                       label="[1/1]", expected=10, every=1.0)
    """)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "[1/1] 01_tiny · code cell" in p.stdout and "left" in p.stdout, p.stdout
    assert "without encryption" not in p.stderr + p.stdout
    assert not list(tmp_path.glob(".*progress*")), "the progress file is removed"
