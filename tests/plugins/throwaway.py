"""A throwaway neuron and task, the whole of what adding them takes: this one file (and its test,
tests/test_extension.py). Importing it registers both; the package finds it when
RICHNEURON_PLUGINS=throwaway names it (`richneuron.plugins`)."""
import torch

from richneuron import neurons, tasks, validate


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


neurons.register("cubic", Cubic)
tasks.register("ramp", ramp, "regression", difficulty=("slope", (1.0, 2.0, 4.0)), slope=validate.positive)
