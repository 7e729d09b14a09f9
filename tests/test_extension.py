"""Adding a neuron or a task touches one file: a throwaway neuron and a throwaway task, defined in
tests/plugins/throwaway.py only, registered, then run through validation, model building, one tiny
training cell (checked against a plain torch.optim.Adam loop), the Methods tables, the colour map and
a quick paper (as a plugin: RICHNEURON_PLUGINS), and unregistered."""
import math
import os
import sys
from pathlib import Path

import pytest
import torch

from richneuron import Experiment, build_model, neurons, plots, plugins, report, run, tasks
from richneuron.analysis import methods

PLUGINS = Path(__file__).resolve().parent / "plugins"
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def registered(monkeypatch):
    """The throwaway module imported (which registers its neuron and task) in this process, and
    findable as a plugin by the processes this one starts; unregistered after."""
    before = (neurons.available("all"), tasks.available("all"))
    monkeypatch.syspath_prepend(str(PLUGINS))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(PLUGINS), os.environ.get("PYTHONPATH")])))
    monkeypatch.setenv(plugins.VARIABLE, "throwaway")
    sys.modules.pop("throwaway", None)
    try:
        plugins.load()                                  # as `import richneuron` does with the variable set
        yield sys.modules["throwaway"]
    finally:
        sys.modules.pop("throwaway", None)
        neurons.unregister("cubic")
        tasks.unregister("ramp")
        assert (neurons.available("all"), tasks.available("all")) == before


def test_a_throwaway_neuron_and_task_flow_through_the_package(registered):
    Cubic = registered.Cubic
    # the lists derived from the declarations
    assert "cubic" in neurons.available("peers") and "cubic" not in neurons.available("study")
    assert "ramp" in tasks.available() and "ramp" in tasks.available("regression")
    assert "ramp" not in tasks.available("standard") and tasks.difficulty("ramp") == ("slope", (1.0, 2.0, 4.0))

    # validation from the declarations alone (no branch anywhere names these options)
    with pytest.raises(ValueError, match="scale must be positive"):
        Cubic(2, 3, scale=-1.0)
    with pytest.raises(ValueError, match="scale must be positive"):
        Experiment(archs=["cubic"], tasks=["ramp"], seed=[0], budget=None, width=4, steps=2, options={"scale": 0})
    with pytest.raises(ValueError, match="slope must be positive"):
        tasks.make("ramp", slope=0)
    with pytest.raises(ValueError, match="valid options: n_train, n_test, validation, slope"):
        tasks.make("ramp", turns=2)
    assert tasks.make("ramp", seed=1, slope=3).options["slope"] == 3

    # model building
    net = build_model("cubic", 1, 1, width=4, seed=0, scale=2.0)
    assert net.layers[0].scale == 2.0 and sum(p.numel() for p in net.parameters()) == (1 + 1) * 4 + (4 + 1) * 4 + (4 + 1) * 1

    # one tiny training cell, against a plain torch.optim.Adam loop on the same model and data
    res = run(Experiment(archs=["cubic"], tasks=["ramp"], seed=[0, 1], budget=None, width=4, steps=5,
                         options={"scale": 2.0}), workers=1, progress=False)
    m = res.metrics.set_index("seed")
    assert list(m.index) == [0, 1] and set(m["arch"]) == {"cubic"} and not m["diverged"].any()
    t = tasks.make("ramp", seed=0)
    ref = build_model("cubic", 1, 1, width=4, seed=0, scale=2.0)
    opt = torch.optim.Adam(ref.parameters(), lr=1e-3)
    for _ in range(5):
        opt.zero_grad()
        loss = ((ref(t.x_train) - t.y_train) ** 2).mean()
        loss.backward()
        opt.step()
    with torch.no_grad():
        want = float(((ref(t.x_train) - t.y_train) ** 2).mean())
    assert math.isclose(m.loc[0, "final_train_loss"], want, rel_tol=1e-5)

    # the Methods tables
    row = methods.neuron_table().set_index("id").loc["cubic"]
    assert row["group"] == "peer" and "scale = 1.0" in row["options (defaults)"] and "Throwaway" in row["definition"]
    assert "slope = 1.0" in methods.generator_table().set_index("task").loc["ramp", "options (defaults)"]
    assert methods.task_table().set_index("task").loc["ramp", "kind"] == "regression"

    # a colour of its own (the 21st arch)
    others = [plots.color(a) for a in neurons.available("all") if a != "cubic"]
    assert len(others) == 20 and min(math.dist(plots.color("cubic"), c) for c in others) > 0.1


def test_registering_without_the_declarations_fails_naming_what_is_missing():
    def bare(gen, n_train=8, width=1.0):
        return "regression", torch.zeros(n_train, 1), torch.zeros(n_train, 1), torch.zeros(2, 1), torch.zeros(2, 1)
    with pytest.raises(ValueError, match="declare a constraint for option.* width"):
        tasks.register("bare", bare, "regression")

    class Untagged(neurons.Neuron):
        """No TAGS."""
    with pytest.raises(ValueError, match="declares no TAGS"):
        neurons.register("untagged", Untagged)
    assert "bare" not in tasks.available("all") and "untagged" not in neurons.available("all")


def test_a_quick_paper_shows_and_trains_the_throwaway_neuron_and_task(registered, tmp_path):
    """A quick build of the Methods and the peers notebooks with the throwaway plugin: the neuron and
    the task are in the Methods' tables, and the neuron trains beside the quick archs (notebook 07:
    a peer, by its tags), in the notebook's kernel and the engine's workers."""
    import shutil

    import pandas as pd
    (tmp_path / "notebooks").mkdir()
    for stem in ("00_methods", "07_peers"):
        shutil.copy(ROOT / "notebooks" / f"{stem}.ipynb", tmp_path / "notebooks")
    (ROOT / "build" / "cache").mkdir(parents=True, exist_ok=True)      # the quick paper's other cells: trained once
    (tmp_path / "build").mkdir()
    (tmp_path / "build" / "cache").symlink_to(ROOT / "build" / "cache")
    base = report.build(quick=True, root=tmp_path, log=lambda *a: None)
    methods_page = (base / "appendix" / "00_methods.html").read_text()
    assert "Throwaway: y = scale·tanh(W·x + b)³" in methods_page and "Throwaway: y = slope·x" in methods_page
    paper = (base / "paper.html").read_text()      # 00_methods is the Methods section, as its metadata declares
    assert "Its full tables are in" in paper and paper.count("Its full tables are in") == 1
    results = pd.read_csv(base / report.files.RESULTS_FILE)
    cubic = results[results["arch"] == "cubic"]
    assert len(cubic) and cubic["notebooks"].str.contains("07_peers").all() and not cubic["diverged"].any()
    assert "cubic" in (base / "appendix" / "07_peers.html").read_text()


def test_a_plugin_that_cannot_be_imported_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(plugins.VARIABLE, "nowhere_module")
    with pytest.raises(ImportError, match=r"RICHNEURON_PLUGINS='nowhere_module': cannot import plugin module 'nowhere_module'"):
        plugins.load()
    (tmp_path / "broken_plugin.py").write_text("from richneuron import neurons\nneurons.register('vanilla', neurons.Vanilla)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv(plugins.VARIABLE, "broken_plugin")
    with pytest.raises(ImportError, match=r"cannot import plugin module 'broken_plugin' \(ValueError: arch 'vanilla' is "
                                          r"already registered"):
        plugins.load()


def test_a_plugins_cells_are_keyed_by_its_source(registered):
    import hashlib
    source = hashlib.sha256((PLUGINS / "throwaway.py").read_bytes()).hexdigest()[:16]
    assert plugins.fingerprint("cubic", "ramp") == {"plugin": [source, source]}
    assert plugins.fingerprint("cubic", "spiral") == {"plugin": [source]} and plugins.fingerprint("vanilla", "spiral") == {}
    assert plugins.archs() == ["cubic"]
