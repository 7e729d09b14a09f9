"""`run` reports its progress and the cells it returns through explicit callbacks; `make report`'s
pair (files named by two environment variables) is one choice of them."""
import json

import richneuron as rn
from richneuron import observe
from richneuron.experiment import cell_key


def test_callbacks_see_every_finished_cell_and_the_cells_returned(tmp_path):
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks="memorize", seed=[0, 1], steps=3)
    states, returned = [], []
    rn.run(ex, progress=False, workers=1, on_progress=states.append, on_cells=returned.append)
    assert [s["cells_done"] for s in states] == [0, 1, 2] and states[-1]["steps_done"] == 2 * 2 * 3
    assert all(s["cells_total"] == 2 and s["steps_total"] == 12 for s in states)
    assert returned == [[cell_key(c) for c in ex.cells]]


def test_the_report_pair_writes_the_files_the_environment_names(tmp_path, monkeypatch):
    prog, cells = tmp_path / "progress.json", tmp_path / "cells.txt"
    monkeypatch.setenv(observe.PROGRESS_ENV, str(prog))
    monkeypatch.setenv(observe.CELLS_ENV, str(cells))
    ex = rn.Experiment(archs="vanilla", tasks="memorize", seed=[0], steps=2)
    rn.run(ex, progress=False, workers=1)
    rn.run(ex, progress=False, workers=1)                      # cached: the cells are listed again
    assert json.loads(prog.read_text())["cells_done"] == 1
    assert cells.read_text().split() == [cell_key(ex.cells[0])] * 2
