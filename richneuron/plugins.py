"""Neurons and tasks from outside the package: the environment variable RICHNEURON_PLUGINS names
modules (comma-separated, importable from sys.path) that `import richneuron` imports after its own
neurons and tasks. Each registers its own (`neurons.register`, `tasks.register`). Only the variable
counts: every process that imports richneuron with it set sees them (the notebooks' kernels, the
engine's worker processes, a Dask worker started with it and the module on its path), so set it
before starting Python. A quick build trains the plugins' archs beside its quick archs (`archs`).

A plugin's cells are keyed by its source too (`fingerprint`): an edited plugin neuron or task
trains again instead of reading what its earlier version stored."""
import hashlib
import importlib
import inspect
import os
from pathlib import Path

from . import neurons, tasks

VARIABLE = "RICHNEURON_PLUGINS"
_ADDED = {"archs": {}, "tasks": {}}           # id -> sha256 of the source file that defines it


def load():
    """Import the modules RICHNEURON_PLUGINS names; the archs and tasks they register are then
    plugin archs (`archs`) and keyed by their source (`fingerprint`). Any failure is an
    ImportError naming the variable and the module."""
    value = os.environ.get(VARIABLE, "")
    before = set(neurons.available("all")), set(tasks.available("all"))
    for name in (n.strip() for n in value.split(",")):
        if not name:
            continue
        try:
            importlib.import_module(name)
        except Exception as e:  # noqa: BLE001 - a plugin's own error, named with the variable
            raise ImportError(f"{VARIABLE}={value!r}: cannot import plugin module {name!r} ({type(e).__name__}: {e}); "
                              f"give comma-separated module names importable from sys.path, or unset it") from e
    for a in neurons.available("all"):
        if a not in before[0]:
            _ADDED["archs"][a] = _source_hash(neurons.get(a))
    for t in tasks.available("all"):
        if t not in before[1]:
            _ADDED["tasks"][t] = _source_hash(tasks.entry(t).generator)


def _source_hash(obj):
    return hashlib.sha256(Path(inspect.getfile(obj)).read_bytes()).hexdigest()[:16]


def archs():
    """The arch ids the plugin modules registered, in registration order."""
    return [a for a in _ADDED["archs"] if a in neurons.REGISTRY]


def fingerprint(arch, task):
    """{"plugin": the source hashes} for a cell of a plugin's arch or task, {} for the package's own."""
    got = [h for h in (_ADDED["archs"].get(arch), _ADDED["tasks"].get(task)) if h]
    return {"plugin": got} if got else {}
