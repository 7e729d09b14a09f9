"""The engine's local worker pool: spawned processes with one torch thread each that run cells.

A worker never re-runs the parent's `__main__` (see `_WorkerProcess`), exits when its parent dies,
ignores Ctrl-C (the parent's to handle) and keeps glibc's heap (`keep_heap`). The pool lives as long
as this process; `multiprocessing.spawn` is patched when the first pool starts, never on import.
"""
import atexit
import contextlib
import multiprocessing
import multiprocessing.context
import multiprocessing.spawn
import os
import signal
import threading
import time
from concurrent.futures import ProcessPoolExecutor

import torch

__all__ = ["local_pool", "lease", "drop_local_pool", "keep_heap", "leave_if_bootstrapping", "why_broken"]

# The exit code of a worker that left because the parent's main module, which it imports while it
# starts (a module run with `python -m`), calls `rn.run` at import (`leave_if_bootstrapping`).
MAIN_RERUN_EXIT = 87


def _glibc(name, *args):
    """Call glibc's `name(*args)`; False where there is no glibc or no such function."""
    try:
        import ctypes
        getattr(ctypes.CDLL("libc.so.6"), name)(*args)
        return True
    except (OSError, AttributeError):
        return False


def keep_heap():
    """Ask glibc to serve the many same-sized activation buffers of a training loop from its heap
    instead of fresh mmap'd (page-faulting) memory each step: up to ~25% faster on small tasks,
    numerically irrelevant. A no-op where glibc's mallopt is not available."""
    _glibc("mallopt", -3, 1 << 30)          # M_MMAP_THRESHOLD: 1 GiB
    _glibc("mallopt", -1, (1 << 31) - 1)    # M_TRIM_THRESHOLD: keep freed memory


def _die_with_parent():
    """This worker exits when its parent process dies (a killed or restarted Jupyter kernel), so
    no orphan keeps training. A daemon thread watches the parent's pid once a second: unlike
    Linux's PR_SET_PDEATHSIG, which fires when the parent *thread* that started the worker exits,
    this keeps the pool alive after the thread that created it is gone (`rn.run` from a thread)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return
    pid = parent.pid

    def watch():
        while os.getppid() == pid:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="richneuron-parent-watch").start()


def _init_worker(threads):
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the parent's to handle
    _die_with_parent()
    torch.set_num_threads(threads)
    keep_heap()


class _WorkerProcess(multiprocessing.context.SpawnProcess):
    """A spawned pool worker that does not re-run the parent's `__main__` script: the worker runs only
    `richneuron` functions on JSON-able cell configurations, so it never needs the user's script.
    That is what lets `rn.run` work from a script without an `if __name__ == "__main__":` guard
    and from a script read on stdin (`python - <<EOF`), where re-running `__main__` would start
    the run again inside every worker, or fail to find `<stdin>`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.name = "richneuron-worker-" + self.name


class _WorkerContext(multiprocessing.context.SpawnContext):
    Process = _WorkerProcess


def _preparation_without_main(get_preparation_data):
    def prepare(name):
        d = get_preparation_data(name)
        if name.startswith("richneuron-worker-"):
            d.pop("init_main_from_path", None)   # a script's path (or none, for stdin); a module run
        return d                                 # with -m is still imported, as __mp_main__
    prepare.richneuron_patch = True
    return prepare


def leave_if_bootstrapping():
    """In a worker of this pool that is still starting, i.e. importing the parent's main module (a
    module run with `python -m` is imported in every worker) which calls `rn.run` outside an
    `if __name__ == "__main__":` guard: exit quietly with MAIN_RERUN_EXIT, which the parent reads
    (`why_broken`) and reports in one line, instead of each worker printing a traceback."""
    me = multiprocessing.current_process()
    if me.name.startswith("richneuron-worker-") and getattr(me, "_inheriting", False):
        raise SystemExit(MAIN_RERUN_EXIT)


def why_broken(pool):
    """Why the workers of a broken `pool` stopped, read from their exit codes (None if unknown). A
    worker's pipe closes a moment before its exit code is set: each is waited for (5 s at most)."""
    procs, deadline = list((getattr(pool, "_processes", None) or {}).values()), time.monotonic() + 5.0
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    codes = {p.exitcode for p in procs} - {None, 0, -signal.SIGTERM}   # SIGTERM: the pool stopping the rest
    if MAIN_RERUN_EXIT in codes:
        return ("the main module, which every worker imports, calls rn.run outside an "
                "`if __name__ == \"__main__\":` guard; put the call under one to train in parallel")
    if codes:
        return f"a worker exited with code {', '.join(map(str, sorted(codes)))}"
    return None


def _patch_spawn():
    """Install `_preparation_without_main` in multiprocessing.spawn (once): done when a pool starts,
    so that importing richneuron changes nothing in the interpreter."""
    if not getattr(multiprocessing.spawn.get_preparation_data, "richneuron_patch", False):
        multiprocessing.spawn.get_preparation_data = _preparation_without_main(multiprocessing.spawn.get_preparation_data)

_POOL = {}                   # {(workers, threads): the pool of that size}
_USERS = {}                  # {pool: the number of runs using it now (`lease`)}
_POOL_LOCK = threading.RLock()


def local_pool(workers, threads):
    """A process pool kept for the life of this process (workers cost a torch import each); a
    pool that broke (a worker killed) is replaced. A pool of another size is shut down here only
    when no run is using it (`lease`): threads that run with different sizes each keep theirs."""
    key = (workers, threads)
    with _POOL_LOCK:
        old = _POOL.get(key)
        if old is None or getattr(old, "_broken", False) or getattr(old, "_shutdown_thread", False):
            _patch_spawn()
            for k, p in list(_POOL.items()):
                if k == key or not _USERS.get(p):
                    del _POOL[k]
                    p.shutdown(wait=False, cancel_futures=True)
            _POOL[key] = ProcessPoolExecutor(workers, mp_context=_WorkerContext(),
                                             initializer=_init_worker, initargs=(threads,))
        return _POOL[key]


@contextlib.contextmanager
def lease(workers, threads):
    """`local_pool(workers, threads)`, counted as in use until the block ends, so that no other
    thread shuts it down meanwhile (see `local_pool` and `drop_local_pool`)."""
    with _POOL_LOCK:
        p = local_pool(workers, threads)
        _USERS[p] = _USERS.get(p, 0) + 1
    try:
        yield p
    finally:
        with _POOL_LOCK:
            n = _USERS.pop(p, 1) - 1
            if n > 0:
                _USERS[p] = n


def _stop(pool):
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.terminate()
    pool.shutdown(wait=False, cancel_futures=True)


def drop_local_pool(pool=None):
    """Stop `pool` (its workers terminated) unless another run is using it too; None: every pool
    (at interpreter exit)."""
    with _POOL_LOCK:
        if pool is None:
            for p in _POOL.values():
                _stop(p)
            _POOL.clear()
            return
        if _USERS.get(pool, 0) > 1:
            return                      # another thread's run still has stacks there
        for k, p in list(_POOL.items()):
            if p is pool:
                del _POOL[k]
        _stop(pool)


atexit.register(drop_local_pool)
