"""Adding a neuron or a task touches one file: a throwaway neuron and a throwaway task, defined in this
file only, registered, then run through validation, model building, one tiny training cell (checked
against a plain torch.optim.Adam loop), the Methods tables and the colour map, and unregistered."""
import math

import pytest
import torch

from richneuron import Experiment, build_model, neurons, plots, run, tasks, validate
from richneuron.analysis import methods


class Cubic(neurons.Neuron):
    """Throwaway: y = scale·tanh(W·x + b)³. Parameters per layer: h·(in + 1)."""

    TAGS = ("peers",)
    OPTIONS = {"scale": validate.positive}

    def __init__(self, in_features, width, scale=1.0, generator=None):
        super().__init__(in_features, width)
        self.scale = scale
        self.W = neurons.Linear(in_features, width, generator=generator)

    def terms(self, x):
        g = self.W(x)
        return {"out": self.scale * torch.tanh(g) ** 3, "g": g}


def ramp(gen, n_train=32, n_test=16, slope=1.0):
    """Throwaway: y = slope·x on x ~ U[−1, 1]."""
    xtr, xte = 2 * torch.rand(n_train, 1, generator=gen) - 1, 2 * torch.rand(n_test, 1, generator=gen) - 1
    return "regression", xtr, slope * xtr, xte, slope * xte


@pytest.fixture
def registered():
    before = (neurons.available("all"), tasks.available("all"))
    neurons.register("cubic", Cubic)
    tasks.register("ramp", ramp, "regression", difficulty=("slope", (1.0, 2.0, 4.0)), slope=validate.positive)
    try:
        yield
    finally:
        neurons.unregister("cubic")
        tasks.unregister("ramp")
        assert (neurons.available("all"), tasks.available("all")) == before


def test_a_throwaway_neuron_and_task_flow_through_the_package(registered):
    # the lists derived from the declarations
    assert "cubic" in neurons.available("peers") and "cubic" not in neurons.available("study")
    assert "ramp" in tasks.available() and "ramp" in tasks.available("regression")
    assert "ramp" not in tasks.available("standard") and tasks.difficulty("ramp") == ("slope", (1.0, 2.0, 4.0))

    # validation from the declarations alone (no branch anywhere names these options)
    with pytest.raises(ValueError, match="scale must be positive"):
        Cubic(2, 3, scale=-1.0)
    with pytest.raises(ValueError, match="scale must be positive"):
        Experiment(archs=["cubic"], tasks=["ramp"], seeds=[0], budget=None, width=4, steps=2, options={"scale": 0})
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
