"""Cells on a Dask cluster: `RICHNEURON_SCHEDULER=tcp://host:port` and the workers' heap settings.

`run` sends its cells to the scheduler named by $RICHNEURON_SCHEDULER when it is given no
executor; results come back to the calling process and its cache (workers need no shared disk,
only this package installed; with plugin neurons or tasks, also RICHNEURON_PLUGINS set and the
plugin modules importable where each worker starts: `plugins`). `dask_executor(client)` is the executor of any `distributed.Client`
with the engine's heap settings installed on its workers.
"""
import os

from distributed import Client
from distributed.diagnostics.plugin import WorkerPlugin

from . import validate
from .pool import keep_heap

SCHEDULER_ENV = "RICHNEURON_SCHEDULER"
_CLIENTS = {}


class HeapPlugin(WorkerPlugin):
    """The local pool's heap settings (`pool.keep_heap`) in every Dask worker. Dask starts its
    workers with MALLOC_TRIM_THRESHOLD_=65536, which hands the activation buffers of every
    training step back to the OS, so that they page-fault again on the next step."""

    name = "richneuron-heap"

    def setup(self, worker):
        keep_heap()


def dask_executor(client):
    """`client.get_executor()`, with `HeapPlugin` registered on the client's workers (present
    and future)."""
    client.register_plugin(HeapPlugin())
    return client.get_executor()


def scheduler_executor():
    """The executor of the Dask scheduler named by $RICHNEURON_SCHEDULER, or None when it is unset;
    a value that is no scheduler address is a ValueError naming the variable (`validate.scheduler`)."""
    addr = os.environ.get(SCHEDULER_ENV, "").strip()
    if not addr:
        return None
    validate.scheduler(SCHEDULER_ENV, addr)
    if addr not in _CLIENTS:
        try:
            _CLIENTS[addr] = Client(addr, set_as_default=False, timeout="30s")
        except OSError as e:
            raise RuntimeError(f"{SCHEDULER_ENV}={addr}: cannot reach the Dask scheduler ({e})") from None
        except (ValueError, TypeError) as e:
            raise ValueError(f"{SCHEDULER_ENV}={addr!r} is not a Dask scheduler address Dask accepts ({e}); give "
                             f"tcp://host:port, or unset {SCHEDULER_ENV} to train on this machine") from None
    return dask_executor(_CLIENTS[addr])
