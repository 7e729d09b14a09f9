"""richneuron: a reproducible re-run of the study "Beyond Linear Neurons".

Data flows one way: tasks -> models -> engine -> results store -> notebooks -> figures -> paper.
"""
import os

# MKL's strict reproducibility mode, set before torch loads MKL: its matrix products then round
# the same whatever the alignment of a replica's slice in a stack, so a replica's numbers do not
# depend on the stack it trains in (train.NUMERICS). Worker processes inherit it.
os.environ.setdefault("MKL_CBWR", "AUTO,STRICT")

from .version import __version__                                  # noqa: E402
from . import neurons, tasks                                      # noqa: E402
from .models import build_model, count_params, width_for_budget   # noqa: E402
from .engine import Experiment, Results, run                      # noqa: E402
from . import plugins                                             # noqa: E402

plugins.load()                    # the neurons and tasks of the modules RICHNEURON_PLUGINS names

__all__ = ["neurons", "tasks", "build_model", "count_params", "width_for_budget", "Experiment",
           "Results", "run", "__version__"]
