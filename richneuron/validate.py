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
    """A swept argument as a non-empty list of its values (one value or a list/tuple/range/array)."""
    v = plain(v)
    out = v if isinstance(v, list) else [v]
    if not out:
        raise ValueError(f"{name} must not be empty: give a value or a non-empty list of values")
    return out


def seeds(name, v):
    """Seeds: a non-empty list of distinct integers in [0, 2**63)."""
    out = [integer(name, s, minimum=0, maximum=SEED_LIMIT - 1) for s in values(name, v)]
    dup = sorted({s for s in out if out.count(s) > 1})
    if dup:
        raise ValueError(f"{name} must be distinct (a repeated seed makes replicas ambiguous), got {dup} more than once")
    return out


def distinct(name, vals):
    dup = [x for i, x in enumerate(vals) if x in vals[:i]]
    if dup:
        raise ValueError(f"{name} values must be distinct (they are stacked replicas), got {dup[0]!r} twice")
    return vals


def workers(v):
    """None (the CPU count) or a whole number >= 1 of worker processes."""
    return None if v is None else integer("workers", v, minimum=1)


def threads(v):
    return integer("threads", v, minimum=1, maximum=os.cpu_count() or 1)


def cache_dir(path):
    """Create `path` if needed and check that files can be written there (ValueError otherwise)."""
    if path is None:
        return None
    if not isinstance(path, (str, os.PathLike)):
        raise ValueError(f"cache_dir must be a folder path or None, got {_show(path)}")
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise ValueError(f"cache_dir {str(p)!r} is a file, not a folder; give a folder path (it is created if missing)")
    try:
        p.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=p, prefix=".write-test.", suffix=".tmp"):
            pass                        # a random name: threads that probe at once never share one
    except OSError as e:
        raise ValueError(f"cache_dir {str(p)!r} cannot be written ({e.strerror or e}); give a writable folder") from None
    return p


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


def cell_memory(n_replicas, n_params, n_points, width, depth):
    """Rough bytes a cell needs in float32: 8 copies of its parameters (the models, the stack, the
    flat vector, its gradient, Adam's two moments, the result) and ~16 activations per unit, layer
    and point kept for the backward pass."""
    return 4 * (8 * n_replicas * n_params + 16 * n_replicas * n_points * width * depth)
