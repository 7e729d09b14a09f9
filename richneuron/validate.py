"""Checking and normalising user input before any training: numbers are taken as the numbers they
are (100.0 steps, 5e3 parameters, NumPy scalars, `range`), everything else is rejected with a
ValueError naming the argument, the value and what is allowed.

Normalised values are plain Python (int, float, bool, str, lists), so they hash into cache keys
and save as JSON whatever the caller passed (e.g. `np.float32(1e-3)` becomes the float
0.0010000000474974513, the value the caller's float32 holds).
"""
import functools
import math
import numbers
import os
import shutil
import tempfile
from pathlib import Path

SEED_LIMIT = 2 ** 63          # seeds are int64 in the tables and torch.Generator takes them
MAX_DEPTH = 1000              # hidden layers: far beyond any depth these neurons train at full batch
MAX_STEPS = 10 ** 7           # training steps of one run
STEP_SECONDS = 1e-3           # about one step of a ~5K-parameter model on ~500 points (one CPU thread)


def _show(v):
    return f"{v!r} ({type(v).__name__})"


def plain(v):
    """NumPy scalars and arrays, tuples and ranges as plain Python values (recursively)."""
    if isinstance(v, (bool, int, float, str)) or v is None:
        return v
    if hasattr(v, "tolist") and callable(v.tolist):        # numpy scalar or array
        return plain(v.tolist())
    if isinstance(v, numbers.Integral):
        return int(v)
    if isinstance(v, numbers.Real):
        return float(v)
    if isinstance(v, (list, tuple, range)):
        return [plain(x) for x in v]
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items()}
    return v


def integer(name, v, minimum=1, maximum=None):
    """An int ≥ `minimum` (≤ `maximum`): ints, NumPy ints and whole floats (100.0) are accepted."""
    v0 = v
    v = plain(v)
    if isinstance(v, float) and math.isfinite(v) and v.is_integer():
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {_show(v0)}")
    if v < minimum or (maximum is not None and v > maximum):
        bound = f">= {minimum}" if maximum is None else f"in {minimum}..{maximum}"
        what = "positive" if minimum == 1 and maximum is None else "in range"
        raise ValueError(f"{name} must be {what}: a whole number {bound}, got {v0!r}")
    return v


def real(name, v, low=None, high=None, low_open=True, high_open=True, what=None):
    """A finite number in the given interval (ints and NumPy scalars accepted; an int stays an int,
    so cache keys of existing runs do not move). `what` describes the allowed values."""
    v0 = v
    v = plain(v)
    if what is None:
        lo = "" if low is None else f"{'>' if low_open else '>='} {low:g}"
        hi = "" if high is None else f"{'<' if high_open else '<='} {high:g}"
        what = f"a finite number {' and '.join(s for s in (lo, hi) if s)}".strip()
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ValueError(f"{name} must be {what}, got {_show(v0)}")
    ok = math.isfinite(v) and (low is None or (v > low if low_open else v >= low)) \
        and (high is None or (v < high if high_open else v <= high))
    if not ok:
        raise ValueError(f"{name} must be {what}, got {v0!r}")
    return v


def positive(name, v):
    return real(name, v, low=0, what="positive and finite (a number > 0)")


def fraction(name, v, high=1.0):
    """A share in (0, `high`] (e.g. a held-out share)."""
    return real(name, v, low=0, high=high, high_open=False, what=f"a fraction in (0, {high:g}]")


def flag(name, v):
    """A bool: True or False only (not "no", 0 or 1, which would silently mean something else)."""
    v0, v = v, plain(v)
    if not isinstance(v, bool):
        raise ValueError(f"{name} must be True or False, got {_show(v0)}")
    return v


def choice(name, v, choices):
    if not isinstance(v, str) or v not in choices:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, choices))}, got {_show(v)}")
    return v


def declared(check, **bounds):
    """A declared constraint: `check(name, value, **bounds)` as a function of (name, value) that
    returns the value normalised or raises a ValueError naming the option (e.g.
    `declared(real, low=0, high=1)`). Components list theirs beside their options; generic code
    (`options`) reads them, so no option goes unchecked and no check is written twice."""
    return functools.partial(check, **bounds)


def optional(check):
    """`check`, or None left as None (an option whose None means "derive it")."""
    def checked(name, v):
        return None if v is None else check(name, v)
    return checked


def options(owner, constraints, given, only_declared=False):
    """`given` (option -> value) checked against `constraints` (option -> declared constraint) and
    normalised; an option `owner` does not declare is a ValueError naming the valid ones (with
    `only_declared`, such options pass through unchecked: e.g. a constructor's `generator`)."""
    if not only_declared:
        bad = sorted(set(given) - set(constraints))
        if bad:
            raise ValueError(f"{owner} takes no option {', '.join(map(repr, bad))}; "
                             f"valid options: {', '.join(constraints) or 'none'}")
    return {k: constraints[k](k, v) if k in constraints else v for k, v in given.items()}


def values(name, v):
    """A swept argument as a non-empty list of its values (one value or a list/tuple/range/array);
    a set or dict is a TypeError (a set has no order, so its sweep would have none)."""
    if isinstance(v, (set, frozenset, dict)):
        raise TypeError(f"{name} must be one value or a list/tuple of values, got {_show(v)}")
    v = plain(v)
    out = v if isinstance(v, list) else [v]
    if not out:
        raise ValueError(f"{name} must not be empty: give a value or a non-empty list of values")
    return out


def names(name, v, what):
    """A non-empty list of distinct ids (str): one id or a list/tuple of them; `what` says what is
    allowed (e.g. "a task name or a list/tuple of task names"). TypeError for anything else."""
    v0 = v
    v = v if isinstance(v, (set, frozenset, dict)) else plain(v)     # a set has no order: refused
    if isinstance(v, str):
        return [v]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise TypeError(f"{name} must be {what}, got {_show(v0)}")
    return distinct(name, values(name, v), "each is one cell")


def seed(name, v):
    """A seed: a whole number in [0, 2**63) (NumPy integers and whole floats accepted)."""
    return integer(name, v, minimum=0, maximum=SEED_LIMIT - 1)


def distinct(name, vals, why="they are stacked replicas"):
    """`vals` if no value repeats, else a ValueError naming the first repeated one."""
    dup = [x for i, x in enumerate(vals) if x in vals[:i]]
    if dup:
        raise ValueError(f"{name} values must be distinct ({why}), got {dup[0]!r} twice")
    return vals


def depth(name, v):
    """Hidden layers: a whole number in 1..MAX_DEPTH."""
    return integer(name, v, minimum=1, maximum=MAX_DEPTH)


def _duration(seconds):
    for unit, size in (("years", 365.25 * 86400), ("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.0f} seconds"


def steps(name, v):
    """Training steps: a whole number in 1..MAX_STEPS (the message gives the time more would take)."""
    v = integer(name, v, minimum=1)
    if v > MAX_STEPS:
        raise ValueError(f"{name} must be in range: a whole number in 1..{MAX_STEPS:,}, got {v:,}; at about "
                         f"{STEP_SECONDS * 1e3:g} ms a step (a ~5K-parameter model on ~500 points) one replica "
                         f"would train for {_duration(v * STEP_SECONDS)}")
    return v


def executor(v):
    """None or a running `concurrent.futures.Executor` instance (anything with .submit): a class
    is a TypeError, an executor that has been shut down a ValueError."""
    if v is None:
        return None
    if isinstance(v, type):
        raise TypeError(f"executor must be an Executor instance, got the class {v.__name__}: "
                        f"give {v.__name__}(...) or None (the default pool)")
    if not callable(getattr(v, "submit", None)):
        raise TypeError(f"executor must be a concurrent.futures.Executor (with .submit) or None, got {_show(v)}")
    if getattr(v, "_shutdown", False) or getattr(v, "_shutdown_thread", False) or getattr(v, "_broken", False):
        raise ValueError(f"executor {v!r} has been shut down (or is broken) and takes no work: "
                         f"give a running executor or None (the default pool)")
    return v


SCHEDULER_PROTOCOLS = ("tcp", "tls", "ws", "wss", "ucx")


def scheduler(env, addr):
    """The Dask scheduler address in environment variable `env` (e.g. tcp://host:8786), or a
    ValueError naming the variable and the valid form."""
    import re
    host_port = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+):[0-9]{1,5}"
    if not re.fullmatch(rf"(({'|'.join(SCHEDULER_PROTOCOLS)})://)?{host_port}|inproc://\S+", addr):
        raise ValueError(f"environment variable {env}={addr!r} is not a Dask scheduler address: give "
                         f"tcp://host:port (or {', '.join(p + '://' for p in SCHEDULER_PROTOCOLS[1:])} host:port), "
                         f"or unset {env} to train on this machine")
    return addr


def workers(v):
    """None (the CPU count) or a whole number >= 1 of worker processes."""
    return None if v is None else integer("workers", v, minimum=1)


def threads(v):
    return integer("threads", v, minimum=1, maximum=os.cpu_count() or 1)


def cache_path(path):
    """`path` as a folder `Path` (None for None), "~" expanded; ValueError if it is not a path or
    names a file. Nothing is created: see `writable` and `cache_dir`."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"cache_dir must be a folder path or None, got {_show(path)}")
    if isinstance(path, str) and not path.strip():
        raise ValueError(f"cache_dir must be a folder path or None, got {path!r} (an empty path would be the "
                         f"working directory): give a folder, e.g. 'build/cache', or None for no cache")
    p = Path(os.path.expanduser(os.fspath(path)))          # "~/x" is the home folder's x, not ./~/x
    if p.exists() and not p.is_dir():
        raise ValueError(f"cache_dir {str(p)!r} is a file, not a folder; give a folder path (it is created if missing)")
    return p


def writable(p):
    """None if files can be written in the folder `p` (created if missing), else why not (the
    system's words, e.g. "Read-only file system")."""
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".write-test.", suffix=".tmp"):
            pass                        # a random name: threads that probe at once never share one
    except OSError as e:
        return e.strerror or str(e)
    return None


def cache_dir(path):
    """Create `path` if needed and check that files can be written there (ValueError otherwise).
    (`engine.run` reads a store it cannot write, and refuses only a run that would train: see
    `not_writable`.)"""
    p = cache_path(path)
    why = None if p is None else writable(p)
    if why is not None:
        raise ValueError(f"cache_dir {str(p)!r} cannot be written ({why}); give a writable folder")
    return p


def not_writable(p, why, n_missing, n_damaged=0):
    """ValueError before any training: `n_missing` cells (`n_damaged` of them with a damaged
    entry) are not in the store `p`, which cannot be written (`why`)."""
    cells = f"{n_missing} cell is" if n_missing == 1 else f"{n_missing} cells are"
    damaged = f" ({n_damaged} of them with a damaged entry, see the warnings above)" if n_damaged else ""
    return ValueError(f"cache_dir {str(p)!r} cannot be written ({why}); {cells} not in it{damaged} and would "
                      f"have to be trained: give a writable folder (a store that holds every cell of the run "
                      f"is read without writing)")


def cell_disk(n_replicas, cfg):
    """Rough bytes a finished cell takes in the store: its float32 weights and its history as JSON
    (about 20 logged quantities per logged step and replica, ~350 bytes each)."""
    params = cfg.get("budget") or 4 * cfg["depth"] * cfg["width"] ** 2
    logs = cfg["steps"] // max(1, cfg["log_every"]) + 2
    return n_replicas * (4 * params + logs * 20 * 350)


def disk_space(cache_dir, need, n_cells):
    """ValueError before any training when `cache_dir` lacks the `need` bytes `n_cells` cells take."""
    if cache_dir is None or not n_cells:
        return
    free = shutil.disk_usage(cache_dir).free
    if need > free:
        raise ValueError(f"cache_dir {str(cache_dir)!r} has {free / 2**20:,.0f} MiB free; the {n_cells} cells to "
                         f"train need about {need / 2**20:,.0f} MiB: free some space or give another cache_dir")


def physical_memory():
    """Bytes of RAM of this machine (None where unknown)."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def cell_memory(n_replicas, n_params, n_points, width, depth, n_eval=0, data_bytes=0):
    """Rough bytes a cell needs in float32: 8 copies of its parameters (the models, the stack, the
    flat vector, its gradient, Adam's two moments, the result), ~16 activations per unit, layer
    and training point kept for the backward pass, ~8 activations per unit of one layer for each
    of the `n_eval` points of the largest scored set (test set; no backward pass), and the
    `data_bytes` of the data it holds."""
    return 4 * (8 * n_replicas * n_params + 16 * n_replicas * n_points * width * depth
                + 8 * n_replicas * n_eval * width) + data_bytes


def model_memory(name, value, n_params, what):
    """ValueError naming `name`=`value` when the `n_params` float32 parameters of `what` (e.g. "a
    vanilla model of width 10, depth 2") do not fit in this machine's memory, before allocating."""
    need, have = 4 * n_params, physical_memory()
    if have and need > have:
        raise ValueError(f"{name}={value} is too large: {what} has {n_params:,} parameters, about "
                         f"{need / 2**30:,.1f} GiB in float32; this machine has {have / 2**30:,.1f} GiB")
