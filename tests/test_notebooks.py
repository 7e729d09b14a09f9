"""The notebooks read as stories: limits on their code (issue 11), checked on the stored notebooks."""
import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))
MAX_CODE_LINES, MAX_CELL_LINES = 80, 12


def _cells(path):
    return json.loads(path.read_text())["cells"]


def _lines(cell):
    return [line for line in "".join(cell["source"]).splitlines() if line.strip()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_code_stays_short(path):
    code = [c for c in _cells(path) if c["cell_type"] == "code" and "parameters" not in c["metadata"].get("tags", [])]
    sizes = [len(_lines(c)) for c in code]
    assert sum(sizes) <= MAX_CODE_LINES, f"{path.name}: {sum(sizes)} code lines outside parameters"
    assert max(sizes) <= MAX_CELL_LINES, f"{path.name}: a code cell of {max(sizes)} lines:\n" + \
        "\n".join(_lines(code[sizes.index(max(sizes))]))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_opens_with_its_question_and_a_flat_parameters_cell(path):
    cells = _cells(path)
    assert cells[0]["cell_type"] == "markdown" and _lines(cells[0])[0].startswith("# ")
    params = [c for c in cells if "parameters" in c["metadata"].get("tags", [])]
    assert len(params) == 1
    for stmt in ast.parse("".join(params[0]["source"])).body:       # literals only, one per line
        assert isinstance(stmt, ast.AnnAssign) and isinstance(stmt.value, ast.Constant), ast.dump(stmt)
    for line in _lines(params[0]):
        assert "#" in line and "=" not in line.split("#", 1)[1], f"{path.name}: {line!r} (comment per line, no '=' in it)"
    assert not any(c.get("outputs") for c in cells if c["cell_type"] == "code"), "stored with outputs"


def test_no_notebook_holds_model_or_training_code():
    for path in NOTEBOOKS:
        src = "\n".join("".join(c["source"]) for c in _cells(path) if c["cell_type"] == "code")
        for banned in ("nn.Module", "torch.optim", ".backward(", "plt.subplots", "import matplotlib"):
            assert banned not in src, f"{path.name} holds {banned!r}: it belongs in richneuron/"
