"""richneuron: a reproducible re-run of the study "Beyond Linear Neurons".

Data flows one way: tasks -> models -> engine -> results store -> notebooks -> figures -> paper.
"""
from .version import __version__
from . import neurons, tasks                                      # noqa: E402
from .models import build_model, count_params, width_for_budget   # noqa: E402
from .engine import Experiment, Results, run                      # noqa: E402

__all__ = ["neurons", "tasks", "build_model", "count_params", "width_for_budget", "Experiment",
           "Results", "run", "__version__"]
