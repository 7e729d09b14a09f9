"""The results store: finished cells as JSON + safetensors, written atomically, validated on read.

Only JSON and safetensors are read: nothing in a cache directory can run code.
"""
import hashlib
import json
import os
import warnings
from pathlib import Path

from .experiment import cell_key

def _write_atomic(path, data: bytes):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_cell(cache_dir, result):
    """Write a finished cell: weights (safetensors) first, then the JSON that marks it complete."""
    from safetensors.torch import save as st_save
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = result["key"]
    blob = st_save({n: t.contiguous() for n, t in result["weights"].items()})
    _write_atomic(cache_dir / f"{key}.safetensors", blob)
    doc = {k: result[k] for k in ("key", "config", "metrics", "history", "provenance")}
    doc["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    _write_atomic(cache_dir / f"{key}.json", json.dumps(doc, allow_nan=True).encode())


def load_cell(cache_dir, cfg):
    """The cached result of `cfg`, or None if absent; a damaged entry warns and returns None.

    Only JSON and safetensors are read: nothing in a cache directory can run code.
    """
    from safetensors.torch import load as st_load
    key = cell_key(cfg)
    jpath, wpath = Path(cache_dir) / f"{key}.json", Path(cache_dir) / f"{key}.safetensors"
    if not jpath.exists():
        return None
    try:
        doc = json.loads(jpath.read_text())
        blob = wpath.read_bytes()
        if hashlib.sha256(blob).hexdigest() != doc["weights_sha256"]:
            raise ValueError("weights file does not match its recorded checksum")
        if doc["config"] != json.loads(json.dumps(cfg)) or doc["key"] != key:
            raise ValueError("configuration does not match its key")
        doc["weights"] = st_load(blob)
        return doc
    except Exception as e:  # noqa: BLE001 - any damage means: recompute
        warnings.warn(f"cache entry {jpath.name} is damaged ({type(e).__name__}: {e}); recomputing it",
                      RuntimeWarning, stacklevel=2)
        return None
