"""The results store: finished cells as JSON + safetensors, written atomically, validated on read.

Only JSON and safetensors are read: nothing in a cache directory can run code. Only regular files
are opened (`read_file`): a FIFO, a device, a directory or a symbolic link at an entry's path, or a
file larger than `MAX_FILE_BYTES`, is damage, never read. An entry is used only if it passes
`check_entry`: its JSON has the schema `save_cell` writes, its payload and its weights match their
SHA-256 checksums (an entry without either checksum is damaged), and the weights have exactly the
names, shapes and dtypes of the cell's stacked model. Anything else is reported (a RuntimeWarning)
and recomputed; what is not a regular file is removed so that the recomputed entry replaces it.
Every reader of entries goes through `read_entry` or the loaders below.

An entry is a cell or a training stack (see `experiment`); either serves its replicas to any cell
that needs them. `replica_index` maps each stored replica (`experiment.replica_keys`) to the entry
and position that hold it. The index (index/replicas.json) is only a shortcut: it is brought up
to date with the folder's entries whenever it is read (entries added since are read once, removed
ones dropped; an unreadable index or one from another version is rebuilt), and a replica it names
is served only after its whole entry passes `check_entry` and its key is recomputed from the
entry's configuration.

A store that cannot be written (a read-only mount) is read all the same: the loaders take
`writable=False`, and then write nothing. The index is brought up to date in memory only, and a
damaged entry is reported but neither removed nor recomputed (it serves nothing, like an absent one).
"""
import hashlib
import json
import os
import secrets
import shutil
import stat
import threading
import warnings
from pathlib import Path

import torch

from . import neurons, schema
from .experiment import STACKED, Cell, as_cell
from .train import NUMERICS
from .version import __version__

PAYLOAD = ("key", "config", "metrics", "history", "provenance")
METRIC_FIELDS = schema.REQUIRED
# The largest file the store reads. The biggest cells the project trains write a few MiB of weights
# and JSON (see `validate.cell_disk`); 1 GiB is far beyond any of them yet small enough to read
# into memory, so a larger file (or one that grows while read) is damage, not a result.
MAX_FILE_BYTES = 1 << 30


def _kind(mode):
    return next((name for test, name in ((stat.S_ISLNK, "symbolic link"), (stat.S_ISDIR, "directory"),
                                         (stat.S_ISFIFO, "FIFO"), (stat.S_ISCHR, "character device"),
                                         (stat.S_ISBLK, "block device"), (stat.S_ISSOCK, "socket"))
                 if test(mode)), "special file")


def read_file(path, limit=None):
    """The bytes of `path`, only if it is a regular file (checked with `os.lstat` before opening it,
    and again on the open file) of at most `limit` bytes (None: `MAX_FILE_BYTES`); else ValueError
    (OSError if absent)."""
    limit = MAX_FILE_BYTES if limit is None else limit
    st = os.lstat(path)
    if not stat.S_ISREG(st.st_mode):
        raise ValueError(f"{Path(path).name} is a {_kind(st.st_mode)}, not a regular file")
    if st.st_size > limit:
        raise ValueError(f"{Path(path).name} holds {st.st_size:,} bytes, more than the {limit:,} a store file may")
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(fd, "rb") as f:
        mode = os.fstat(fd).st_mode                 # what was opened, if it was swapped after the lstat
        if not stat.S_ISREG(mode):
            raise ValueError(f"{Path(path).name} is a {_kind(mode)}, not a regular file")
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{Path(path).name} grew beyond the {limit:,} bytes a store file may hold")
    return data


def _remove_if_not_regular(path):
    """Remove what is at `path` if it is not a regular file (a symbolic link itself, not its
    target), so that an entry written there replaces it."""
    try:
        mode = os.lstat(path).st_mode
    except OSError:
        return
    if stat.S_ISDIR(mode):
        shutil.rmtree(path, ignore_errors=True)
    elif not stat.S_ISREG(mode):
        Path(path).unlink(missing_ok=True)


def _write_atomic(path, data: bytes):
    """Write `data` to `path` through a temporary file in the same folder and an atomic rename;
    on any failure (a full disk, Ctrl-C) the temporary file is removed and the error raised. The
    temporary name carries the process, the thread and a random part (and is created exclusively),
    so that threads and processes writing the same entry at once never share one: the last rename
    wins, with a whole file. Plain `open` rather than `mkstemp`: the entry keeps the umask's mode."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "xb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.isdir(path) and not os.path.islink(path):
            _remove_if_not_regular(path)        # os.replace cannot put a file over a directory
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _payload_sha256(doc):
    """Checksum of the JSON payload (canonical form: sorted keys), so an edited value is seen."""
    blob = json.dumps({k: doc[k] for k in PAYLOAD}, sort_keys=True, allow_nan=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def save_cell(cache_dir, result):
    """Write a finished cell: weights (safetensors) first, then the JSON that marks it complete."""
    from safetensors.torch import save as st_save
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = result["key"]
    blob = st_save({n: t.contiguous() for n, t in result["weights"].items()})
    _write_atomic(cache_dir / f"{key}.safetensors", blob)
    doc = {k: result[k] for k in PAYLOAD}
    doc["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    doc["payload_sha256"] = _payload_sha256(doc)
    _write_atomic(cache_dir / f"{key}.json", json.dumps(doc, allow_nan=True).encode())


def expected_weights(cell):
    """{name: (shape, dtype)} of the stacked weights a cell's training returns (built on the meta
    device: no memory, no random draws)."""
    from . import models, tasks
    cell = as_cell(cell)
    first = cell.replicas[0]
    t = tasks.make(cell.task, seed=first.data_seed, **cell.task_options)
    om = {} if first.omega is None else {"omega": first.omega}
    with torch.device("meta"):
        net = models.RichMLP(cell.arch, t.in_dim, t.out_dim, cell.width, cell.depth, **cell.options, **om)
    k = cell.n_replicas
    return {n: ((k, *v.shape), v.dtype) for n, v in net.state_dict().items()}


def _require(ok, what):
    if not ok:
        raise ValueError(what)


def check_payload(doc, cell):
    """Raise ValueError naming the first problem of a stored entry's JSON `doc` for `cell` (a
    `Cell` or its JSON form): its schema, its key and configuration, its payload checksum, its
    metric and history rows. Returns the `Cell`."""
    cell = as_cell(cell)
    key = cell.key
    _require(isinstance(doc, dict), f"the JSON is a {type(doc).__name__}, not an object")
    for name, kind in (("key", str), ("config", dict), ("metrics", list), ("history", list),
                       ("provenance", dict), ("weights_sha256", str), ("payload_sha256", str)):
        _require(isinstance(doc.get(name), kind), f"field {name!r} is missing or not a {kind.__name__} "
                 f"(got {type(doc.get(name)).__name__})")
    _require(doc["key"] == key and doc["config"] == json.loads(json.dumps(cell.config)),
             "configuration does not match its key")
    _require(doc["payload_sha256"] == _payload_sha256(doc), "the JSON payload does not match its recorded checksum")
    n = cell.n_replicas
    _require(len(doc["metrics"]) == n, f"{len(doc['metrics'])} metric rows for {n} replicas")
    for i, row in enumerate(doc["metrics"]):
        _require(isinstance(row, dict) and all(f in row for f in METRIC_FIELDS),
                 f"metric row {i} lacks some of the fields {', '.join(METRIC_FIELDS)}")
        _require(row["replica"] == i and row["cell"] == key and isinstance(row["diverged"], bool),
                 f"metric row {i} does not belong to replica {i} of this cell")
    _require(all(isinstance(r, dict) for r in doc["history"]), "history rows must be objects")
    return cell


def check_entry(doc, blob, cell):
    """Raise ValueError naming the first problem of a stored entry (JSON `doc`, weights `blob`)
    for `cell` (a `Cell` or its JSON form): `check_payload`, then the weights' checksum, names,
    shapes and dtypes; return the weights when it is sound."""
    from safetensors.torch import load as st_load
    cell = check_payload(doc, cell)
    _require(hashlib.sha256(blob).hexdigest() == doc["weights_sha256"], "weights file does not match its recorded checksum")
    weights = st_load(blob)
    want = expected_weights(cell)
    got = {n: (tuple(t.shape), t.dtype) for n, t in weights.items()}
    _require(got == want, f"weights have other names, shapes or dtypes than the model "
             f"({sorted(set(got) ^ set(want)) or 'shapes or dtypes differ'})")
    return weights


def load_cell(cache_dir, cell, writable=True):
    """The cached result of `cell` (a `Cell`), or None if absent; a damaged entry warns and returns None
    (`writable=False`: a read-only store, where nothing of it is removed)."""
    key = cell.key
    jpath, wpath = Path(cache_dir) / f"{key}.json", Path(cache_dir) / f"{key}.safetensors"
    if not os.path.lexists(jpath):
        return None
    try:
        return _read_entry(jpath, wpath, cell)
    except Exception as e:  # noqa: BLE001 - any damage means: recompute
        _damaged(jpath, wpath, e, "recomputing it", writable)
        return None


def _damaged(jpath, wpath, error, then, writable=True):
    """Report a damaged entry (a RuntimeWarning); what of it is not a regular file is removed,
    unless the store cannot be written (`writable=False`: the entry is only left unused)."""
    then = then if writable else "not used (the store cannot be written, so it is not replaced)"
    warnings.warn(f"cache entry {jpath.name} is damaged ({type(error).__name__}: {error}); {then}",
                  RuntimeWarning, stacklevel=3)
    if writable:
        _remove_if_not_regular(jpath)
        _remove_if_not_regular(wpath)


def _read_entry(jpath, wpath, cell=None):
    """A stored entry, checked (`check_entry`) against `cell` (None: the configuration it records)."""
    doc = json.loads(read_file(jpath))
    doc["weights"] = check_entry(doc, read_file(wpath), doc.get("config") if isinstance(doc, dict) and cell is None
                                 else cell)
    return doc


def read_entry(cache_dir, key):
    """The stored entry `key` of `cache_dir` without its weights: its JSON, read as a regular file
    and checked as the engine checks it (`check_payload` against the configuration it records,
    which must have that key); None, with a RuntimeWarning, if it is absent or damaged. The weights
    are not read: a reader of the JSON (the report's published results) does not use them, and the
    engine checks them whenever it loads the entry."""
    jpath = Path(cache_dir) / f"{key}.json"
    try:
        doc = json.loads(read_file(jpath))
        _require(isinstance(doc, dict) and doc.get("key") == key, f"the entry does not hold cell {key}")
        check_payload(doc, doc["config"])
    except Exception as e:  # noqa: BLE001 - any damage means: not used
        warnings.warn(f"cache entry {jpath.name} is missing or damaged ({type(e).__name__}: {e}); left out",
                      RuntimeWarning, stacklevel=2)
        return None
    return doc


# --- replicas: the index of stored replicas and a replica's record -----------------------------

INDEX = Path("index") / "replicas.json"


def _fingerprint():
    """What the replica keys of an index were computed with: the package version and every REVISION."""
    return {"version": __version__, "revisions": {a: neurons.get(a).REVISION for a in neurons.available()}}


def _entry_replicas(jpath):
    """The replica keys an entry file serves ([] for none: unreadable, of another version or
    REVISION, or trained before a replica's numbers were independent of its stack
    (`train.NUMERICS`): such an entry still serves its own cell, by its key)."""
    try:
        doc = json.loads(read_file(jpath))
        cell = Cell.from_config(doc["config"])
        if doc.get("key") != jpath.stem or cell.key != jpath.stem:
            return []
        if doc["provenance"].get("numerics", 1) < NUMERICS:
            return []
        return list(cell.replica_keys)
    except Exception:  # noqa: BLE001 - an entry that cannot be read serves nothing
        return []


def replica_index(cache_dir, save=True):
    """{replica key: (entry key, position)} of every replica stored in `cache_dir`, from the index
    file brought up to date with the folder (see the module's docstring); the updated index is
    written back (atomically) when it changed and `save`."""
    cache_dir = Path(cache_dir)
    path = cache_dir / INDEX
    names = {p.stem for p in cache_dir.glob("*.json") if not p.name.startswith(".")}
    try:
        doc = json.loads(read_file(path))
        entries = doc["entries"]
        ok = (doc.get("fingerprint") == _fingerprint() and isinstance(entries, dict)
              and all(isinstance(v, list) and all(isinstance(k, str) for k in v) for v in entries.values()))
        entries = entries if ok else {}
    except (OSError, ValueError, KeyError, TypeError):
        entries = {}
    changed = False
    for gone in set(entries) - names:
        del entries[gone]
        changed = True
    for new in sorted(names - set(entries)):
        entries[new] = _entry_replicas(cache_dir / f"{new}.json")
        changed = True
    if changed and save:
        try:
            path.parent.mkdir(exist_ok=True)
            _write_atomic(path, json.dumps({"fingerprint": _fingerprint(), "entries": entries}).encode())
        except OSError:
            pass                                # an index that cannot be written is rebuilt next time
    out = {}
    for stem in sorted(entries):
        for i, rk in enumerate(entries[stem]):
            out.setdefault(rk, (stem, i))
    return out


def replica_records(result, cell=None):
    """{replica key: record} of a cell or stack `result` (as `run_cell` returns it or the store
    holds it; `cell`: its `Cell`, None: read from its configuration): each replica's metrics row,
    history rows and weights, the training stack that trained it ("stack") and when ("date")."""
    cell = Cell.from_config(result["config"]) if cell is None else cell
    prov = result["provenance"]
    hist = {}
    for h in result["history"]:
        r = tuple(h.get(k, result["config"].get("meta_lr_scale")) for k in STACKED)
        hist.setdefault(r, []).append(h)
    out = {}
    for i, (rk, r) in enumerate(zip(cell.replica_keys, cell.replicas)):
        row = result["metrics"][i]
        stack = row.get("stack", result["key"])
        out[rk] = {"metrics": row, "history": hist.get(tuple(r), []),
                   "weights": {n: w[i] for n, w in result["weights"].items()}, "stack": stack,
                   "date": prov.get("stacks", {}).get(stack, prov["date"]), "provenance": prov}
    return out


def load_replicas(cache_dir, keys, writable=True):
    """{replica key: record (`replica_records`)} of those of `keys` the store holds in a sound
    entry; a damaged entry warns and serves nothing (its replicas are trained again).
    `writable=False`: a read-only store, where neither the index nor a damaged entry is written."""
    index = replica_index(cache_dir, save=writable)
    stems = {}
    for rk in keys:
        if rk in index:
            stems.setdefault(index[rk][0], []).append(rk)
    out = {}
    for stem, wanted in stems.items():
        jpath = Path(cache_dir) / f"{stem}.json"
        try:
            recs = replica_records(_read_entry(jpath, jpath.with_suffix(".safetensors")))
        except Exception as e:  # noqa: BLE001 - any damage means: recompute
            _damaged(jpath, jpath.with_suffix(".safetensors"), e, "recomputing its replicas", writable)
            continue
        out.update({rk: recs[rk] for rk in wanted if rk in recs})
    return out


def assemble(cell, records):
    """The result of `cell` (a `Cell`) from the records of its replicas (`replica_records`, in
    `Cell.replicas` order): its own key, replica indices and budget; weights stacked along the
    replica axis; provenance of the first training stack, with the cell's training time (the
    replicas' shares) and every stack's date ("stacks")."""
    key = cell.key
    metrics = [{**rec["metrics"], "replica": i, "cell": key, "budget": cell.budget, "stack": rec["stack"]}
               for i, rec in enumerate(records)]
    history = [{**h, "budget": cell.budget} for rec in records for h in rec["history"]]
    weights = {n: torch.stack([rec["weights"][n] for rec in records]) for n in records[0]["weights"]}
    stacks = {rec["stack"]: rec["date"] for rec in records}
    prov = dict(records[0].get("provenance") or {}, date=records[0]["date"],
                wall_seconds=sum(float(r["wall_seconds"]) for r in metrics), stacks=stacks)
    return {"key": key, "config": cell.config, "metrics": metrics, "history": history, "weights": weights,
            "provenance": prov}
