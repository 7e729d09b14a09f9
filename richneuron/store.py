"""The results store: finished cells as JSON + safetensors, written atomically, validated on read.

Only JSON and safetensors are read: nothing in a cache directory can run code. An entry is used
only if it passes `check_entry`: its JSON has the schema `save_cell` writes, its payload and its
weights match their SHA-256 checksums, and the weights have exactly the names, shapes and dtypes
of the cell's stacked model. Anything else is reported (a RuntimeWarning) and recomputed.
"""
import hashlib
import json
import os
import warnings
from pathlib import Path

import torch

from . import legacy, schema
from .experiment import cell_key, n_replicas

PAYLOAD = ("key", "config", "metrics", "history", "provenance")
METRIC_FIELDS = schema.REQUIRED


def _write_atomic(path, data: bytes):
    """Write `data` to `path` through a temporary file in the same folder and an atomic rename;
    on any failure (a full disk, Ctrl-C) the temporary file is removed and the error raised."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
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


def expected_weights(cfg):
    """{name: (shape, dtype)} of the stacked weights a cell's training returns (built on the meta
    device: no memory, no random draws)."""
    from . import models, tasks
    t = tasks.make(cfg["task"], seed=cfg["data_seeds"][0], **cfg["task_options"])
    om = {} if cfg["omegas"][0] is None else {"omega": cfg["omegas"][0]}
    with torch.device("meta"):
        net = models.RichMLP(cfg["arch"], t.in_dim, t.out_dim, cfg["width"], cfg["depth"], **cfg["options"], **om)
    k = n_replicas(cfg)
    return {n: ((k, *v.shape), v.dtype) for n, v in net.state_dict().items()}


def _require(ok, what):
    if not ok:
        raise ValueError(what)


def check_entry(doc, blob, cfg):
    """Raise ValueError naming the first problem of a stored entry (JSON `doc`, weights `blob`)
    for configuration `cfg`; return the weights when it is sound."""
    from safetensors.torch import load as st_load
    key = cell_key(cfg)
    _require(isinstance(doc, dict), f"the JSON is a {type(doc).__name__}, not an object")
    for name, kind in (("key", str), ("config", dict), ("metrics", list), ("history", list),
                       ("provenance", dict), ("weights_sha256", str)):
        _require(isinstance(doc.get(name), kind), f"field {name!r} is missing or not a {kind.__name__} "
                 f"(got {type(doc.get(name)).__name__})")
    _require(doc["key"] == key and doc["config"] == json.loads(json.dumps(cfg)), "configuration does not match its key")
    if "payload_sha256" in doc:                 # entries from before the payload checksum have only the weights'
        _require(doc["payload_sha256"] == _payload_sha256(doc), "the JSON payload does not match its recorded checksum")
    n = n_replicas(cfg)
    _require(len(doc["metrics"]) == n, f"{len(doc['metrics'])} metric rows for {n} replicas")
    for i, row in enumerate(doc["metrics"]):
        _require(isinstance(row, dict) and all(f in row for f in METRIC_FIELDS),
                 f"metric row {i} lacks some of the fields {', '.join(METRIC_FIELDS)}")
        _require(row["replica"] == i and row["cell"] == key and isinstance(row["diverged"], bool),
                 f"metric row {i} does not belong to replica {i} of this cell")
    _require(all(isinstance(r, dict) for r in doc["history"]), "history rows must be objects")
    _require(hashlib.sha256(blob).hexdigest() == doc["weights_sha256"], "weights file does not match its recorded checksum")
    weights = st_load(blob)
    want = expected_weights(cfg)
    got = {n: (tuple(t.shape), t.dtype) for n, t in weights.items()}
    _require(got == want, f"weights have other names, shapes or dtypes than the model "
             f"({sorted(set(got) ^ set(want)) or 'shapes or dtypes differ'})")
    return weights


def load_cell(cache_dir, cfg):
    """The cached result of `cfg`, or None if absent; a damaged entry warns and returns None."""
    key = cell_key(cfg)
    jpath, wpath = Path(cache_dir) / f"{key}.json", Path(cache_dir) / f"{key}.safetensors"
    if not jpath.exists():
        return None
    try:
        doc = json.loads(jpath.read_text())
        doc["weights"] = check_entry(doc, wpath.read_bytes(), cfg)
        if "payload_sha256" not in doc:         # trained before the divergence rule beyond NaN
            legacy.apply_divergence_rule(doc)
        return doc
    except Exception as e:  # noqa: BLE001 - any damage means: recompute
        warnings.warn(f"cache entry {jpath.name} is damaged ({type(e).__name__}: {e}); recomputing it",
                      RuntimeWarning, stacklevel=2)
        return None
