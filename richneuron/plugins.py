"""Neurons and tasks from outside the package: the environment variable RICHNEURON_PLUGINS names
modules (comma-separated, importable from sys.path) that `import richneuron` imports after its own
neurons and tasks. Each registers its own (`neurons.register`, `tasks.register`), so that every
process that imports richneuron sees them: the notebooks' kernels, the engine's workers and the
build. A quick build trains the plugins' archs beside its quick archs (`archs`)."""
import importlib
import os

from . import neurons

VARIABLE = "RICHNEURON_PLUGINS"
_ADDED = []


def load(value=None):
    """Import the modules named by `value` (default: the variable); the archs and tasks they
    registered are then `archs()`. ImportError naming the variable and the module."""
    value = os.environ.get(VARIABLE, "") if value is None else value
    names = [n.strip() for n in value.split(",") if n.strip()]
    before = set(neurons.available("all"))
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as e:
            raise ImportError(f"{VARIABLE}={value!r}: cannot import plugin module {name!r} ({e}); give "
                              f"comma-separated module names importable from sys.path, or unset it") from e
    _ADDED.extend(a for a in neurons.available("all") if a not in before)


def archs():
    """The arch ids the plugin modules registered, in registration order."""
    return [a for a in _ADDED if a in neurons.REGISTRY]
