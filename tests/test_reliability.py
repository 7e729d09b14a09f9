"""Reliability: identical numbers under every executor, concurrent model builds that cannot take
each other's draws."""
from concurrent.futures import ThreadPoolExecutor

import pandas as pd
import pytest
import torch

import richneuron as rn
from richneuron import neurons

VOLATILE = ["wall_seconds"]


def _reference_build(arch, seed, **kw):
    """The pre-generator implementation: global RNG seeded inside fork_rng."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return rn.models.RichMLP(arch, 3, 2, **kw)


@pytest.mark.parametrize("arch", neurons.available("all"))
def test_seeded_build_draws_the_weights_torch_manual_seed_gives(arch):
    """A generator per call gives the same initial weights as seeding the global RNG (so results
    did not move), and leaves the global RNG alone."""
    opts = {"init": "siren", "omega": 3.0} if arch in ("singlu", "v1", "v4-shared", "v4-lowrank", "v9") else {}
    torch.manual_seed(99)
    before = torch.random.get_rng_state()
    got = rn.build_model(arch, 3, 2, width=12, depth=3, seed=5, **opts).state_dict()
    assert torch.equal(torch.random.get_rng_state(), before)
    ref = _reference_build(arch, 5, width=12, depth=3, **opts).state_dict()
    assert got.keys() == ref.keys()
    for k in ref:
        assert torch.equal(got[k], ref[k]), (arch, k)


def test_concurrent_builds_in_threads_get_their_own_weights():
    archs = ["vanilla", "singlu", "v4-shared", "siren", "v15", "fan"]
    want = {(a, s): rn.build_model(a, 4, 2, width=16, seed=s).state_dict() for a in archs for s in range(4)}
    jobs = [(a, s) for a in archs for s in range(4)] * 5

    def build(job):
        torch.rand(50)                                  # other threads use the global RNG meanwhile
        return job, rn.build_model(job[0], 4, 2, width=16, seed=job[1]).state_dict()

    with ThreadPoolExecutor(8) as ex:
        results = list(ex.map(build, jobs))
    wrong = [job for job, sd in results if any(not torch.equal(sd[k], want[job][k]) for k in sd)]
    assert not wrong, f"{len(wrong)} of {len(results)} threaded builds differ"


GRID = rn.Experiment(archs=["vanilla", "singlu", "v10", "siren"], tasks=["memorize", "spiral"], seeds=[0, 1, 2],
                     steps=30)


@pytest.fixture(scope="module")
def serial():
    return rn.run(GRID, progress=False, workers=1).metrics.drop(columns=VOLATILE)


def test_thread_pool_run_equals_serial_run_bit_for_bit(serial):
    with ThreadPoolExecutor(4) as ex:
        threaded = rn.run(GRID, progress=False, executor=ex).metrics.drop(columns=VOLATILE)
    pd.testing.assert_frame_equal(serial, threaded, check_exact=True)


def test_two_thread_dask_worker_equals_serial_run_bit_for_bit(serial):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None) as cl, \
            distributed.Client(cl) as client:
        remote = rn.run(GRID, progress=False, executor=client.get_executor()).metrics.drop(columns=VOLATILE)
    pd.testing.assert_frame_equal(serial, remote, check_exact=True)


# ---- the results store: every field of an entry is checked before use ----

def _rename(w):
    from safetensors.torch import load, save
    t = load(w)
    t["head.extra"] = t.pop("head.bias")
    return save(t)


def _reshape(w):
    from safetensors.torch import load, save
    t = load(w)
    t["head.bias"] = torch.zeros(t["head.bias"].shape[0], 7)
    return save(t)


def _edit_metric(doc):
    doc["metrics"][0]["final_train_loss"] *= 0.5


CORRUPTIONS = {
    "no_metrics": lambda doc: doc.pop("metrics"),
    "provenance_is_a_number": lambda doc: doc.update(provenance=5),
    "metrics_not_a_list": lambda doc: doc.update(metrics={"a": 1}),
    "a_metric_row_missing": lambda doc: doc["metrics"].pop(),
    "a_metric_field_missing": lambda doc: doc["metrics"][0].pop("diverged"),
    "edited_metric_value": _edit_metric,
    "history_not_a_list": lambda doc: doc.update(history=None),
    "edited_config": lambda doc: doc["config"].update(steps=999),
    "edited_key": lambda doc: doc.update(key="0" * 20),
    "no_weights_checksum": lambda doc: doc.pop("weights_sha256"),
    "edited_payload_checksum": lambda doc: doc.update(payload_sha256="0" * 64),
    "json_is_a_list": lambda doc: [doc],
    "other_tensor_names": _rename,          # weights with a matching checksum but other names
    "other_tensor_shapes": _reshape,        # ... or other shapes
}


@pytest.mark.parametrize("damage", list(CORRUPTIONS))
def test_every_corrupted_cache_field_is_reported_and_recomputed(tmp_path, damage):
    import hashlib
    import json
    import warnings
    from richneuron.store import _payload_sha256
    ex = rn.Experiment(archs="singlu", tasks="memorize", seeds=[0, 1], steps=20)
    clean = rn.run(ex, cache_dir=tmp_path, progress=False)
    key = rn.engine.cell_key(ex.cells[0])
    j, w = tmp_path / f"{key}.json", tmp_path / f"{key}.safetensors"
    doc = json.loads(j.read_text())
    if damage.startswith("other_tensor"):
        blob = CORRUPTIONS[damage](w.read_bytes())
        w.write_bytes(blob)
        doc["weights_sha256"] = hashlib.sha256(blob).hexdigest()      # a consistent, well-formed entry
        doc["payload_sha256"] = _payload_sha256(doc)
    else:
        doc = CORRUPTIONS[damage](doc) or doc
    j.write_text(json.dumps(doc))
    with pytest.warns(RuntimeWarning, match="damaged"):
        again = rn.run(ex, cache_dir=tmp_path, progress=False)
    pd.testing.assert_frame_equal(clean.metrics.drop(columns=VOLATILE), again.metrics.drop(columns=VOLATILE),
                                  check_exact=True)
    again.model("singlu", "memorize", seed=1)                          # the weights load into the model
    with warnings.catch_warnings():
        warnings.simplefilter("error")                                 # repaired: the next run is clean
        rn.run(ex, cache_dir=tmp_path, progress=False)


def test_a_failed_write_leaves_no_temporary_file(tmp_path, monkeypatch):
    import errno
    import os
    from richneuron import store

    def full_disk(fd):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(os, "fsync", full_disk)
    with pytest.raises(OSError, match="No space left"):
        store._write_atomic(tmp_path / "x.json", b"{}")
    assert list(tmp_path.iterdir()) == []
