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


GRID = rn.Experiment(archs=["vanilla", "singlu", "v10", "siren"], tasks=["memorize", "spiral"], seed=[0, 1, 2],
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
    "no_payload_checksum": lambda doc: doc.pop("payload_sha256"),
    "no_payload_checksum_and_an_edited_value": lambda doc: (doc.pop("payload_sha256"), _edit_metric(doc)) and None,
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
    ex = rn.Experiment(archs="singlu", tasks="memorize", seed=[0, 1], steps=20)
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


# ---- every bad input is rejected before training, with the argument, the value and what is allowed ----

import math  # noqa: E402

import numpy as np  # noqa: E402

from richneuron import tasks  # noqa: E402

E = dict(archs="singlu", tasks="memorize", seed=[0], steps=5)
NAN, INF = float("nan"), float("inf")

BAD_EXPERIMENTS = [
    # the width= path checks task and neuron options in the parent, as the budget= path does
    (dict(E, archs="vanilla", tasks="spiral", budget=None, width=16, task_options={"turns": -1}), "turns must be positive"),
    (dict(E, archs="fan", budget=None, width=16, options={"p_ratio": 0.7}), "p_ratio must be"),
    (dict(E, archs="v4-lowrank", budget=None, width=16, options={"rank": 0}), "rank must be positive"),
    (dict(E, archs="v1", options={"layernorm": "no"}), "layernorm must be True or False, got 'no'"),
    (dict(E, archs="v15", options={"per_unit": 1}), "per_unit must be True or False"),
    (dict(E, options={"init": "xavier"}), "init must be one of 'default', 'siren'"),
    (dict(E, archs="v9", options={"omega_range": 2}), "omega_range must be"),
    (dict(E, archs="snake", options={"a_init": -1}), "a_init must be positive"),
    (dict(E, options={"init": ["siren", "xavier"]}), "init must be one of"),
    (dict(E, tasks="spiral", task_options={"turns": NAN}), "turns must be positive and finite"),
    (dict(E, tasks="complex4d", task_options={"scale": INF}), "scale must be positive and finite"),
    (dict(E, tasks="complex4d", task_options={"noise": NAN}), "noise must be a finite number >= 0"),
    (dict(E, tasks="complex4d", task_options={"noise": -0.1}), "noise must be a finite number >= 0"),
    (dict(E, tasks="complex4d", task_options={"noise": "0.1"}), r"noise must be .*'0.1' \(str\)"),
    (dict(E, task_options={"in_dim": "8"}), r"in_dim must be a whole number >= 1, got '8' \(str\)"),
    (dict(E, task_options={"in_dim": 2.5}), "in_dim must be a whole number"),
    (dict(E, tasks="checkerboard", task_options={"cells": 2.5}), "cells must be a whole number >= 2"),
    (dict(E, tasks="checkerboard", task_options={"cells": 1}), "cells must be positive|cells must be"),
    (dict(E, tasks="hifreq", task_options={"freqs": []}), "freqs must be a non-empty list"),
    (dict(E, tasks="hifreq", task_options={"freqs": [5.0, -1.0]}), "freqs must be positive"),
    (dict(E, tasks="hifreq", task_options={"freqs": "5"}), "freqs must be a non-empty list"),
    (dict(E, tasks="freqgen", task_options={"mode": "x"}), "mode must be one of 'scaled', 'direct'"),
    (dict(E, task_options={"validation": 0.7}), r"validation must be a fraction in \[0, 0.5\]"),
    (dict(E, task_options={"n_points": 10 ** 13}), "n_points=.* is too large: its data alone need"),
    (dict(E, task_options={"n_points": 0}), "n_points must be positive"),
    (dict(E, task_options={"turns": 3}), "takes no option 'turns'"),
    (dict(E, task_options=[("turns", 3)]), "task_options must be a dict"),
    (dict(E, options="siren"), "options must be a dict"),
    (dict(E, options={"rank": 2}), "valid options: init"),
    (dict(E, seed=[0, 0]), r"seed values must be distinct \(a repeated seed makes replicas ambiguous\), got 0 twice"),
    (dict(E, seed=[2 ** 70]), "seed must be in range: a whole number in 0..9223372036854775807"),
    (dict(E, seed=[-1]), "seed must be in range"),
    (dict(E, seed=[1.5]), "seed must be a whole number"),
    (dict(E, seed=["a"]), r"seed must be a whole number >= 0, got 'a' \(str\)"),
    (dict(E, seed=[True]), "seed must be a whole number"),
    (dict(E, seed=[]), "seed must not be empty"),
    (dict(E, lr=[]), "lr must not be empty"),
    (dict(E, lr=[1e-3, 1e-3]), "lr values must be distinct"),
    (dict(E, lr="1e-3"), r"lr must be positive and finite .*'1e-3' \(str\)"),
    (dict(E, lr=0), "lr must be positive"),
    (dict(E, lr=INF), "lr must be positive"),
    (dict(E, steps=100.5), "steps must be a whole number"),
    (dict(E, steps=-5), "steps must be positive"),
    (dict(E, steps="100"), r"steps must be a whole number >= 1, got '100' \(str\)"),
    (dict(E, steps=True), "steps must be a whole number"),
    (dict(E, budget=1e9), r"budget=1000000000 is too large: .* needs about .* GiB; this machine has"),
    (dict(E, budget=None, width=10 ** 6), r"width=1000000 is too large"),
    (dict(E, budget=5000.5), "budget must be a whole number"),
    (dict(E, budget=INF), "budget must be a whole number"),
    (dict(E, budget=10), "smallest feasible budget"),
    (dict(E, budget=5000, width=16), "exactly one of"),
    (dict(E, depth=0), "depth must be in range"),
    (dict(E, depth=2.5), "depth must be a whole number"),
    (dict(E, threads=1000), r"threads must be in range: a whole number in 1\.\.\d+, got 1000"),
    (dict(E, threads=0), "threads must be in range"),
    (dict(E, omega=NAN), "omega must be positive and finite"),
    (dict(E, omega=[1.0, 1.0]), "omega values must be distinct"),
    (dict(E, omega=[]), "omega must not be empty"),
    (dict(E, archs="vanilla", omega=3.0), "omega is taken by none"),
    (dict(E, meta_lr_scale=0), "meta_lr_scale must be positive"),
    (dict(E, data_seed=-1), "data_seed must be in range"),
    (dict(E, data_seed=2 ** 70), "data_seed must be in range"),
    (dict(E, log_every=0), "log_every must be positive"),
    (dict(E, archs=[]), "archs must not be empty"),
    (dict(E, tasks=[]), "tasks must not be empty"),
    (dict(E, archs="relu"), "valid choices: vanilla"),
    (dict(E, tasks="mnist"), "valid choices: complex4d"),
    (dict(E, kernels="gpu"), "kernels must be one of"),
]


@pytest.mark.parametrize("kwargs,match", BAD_EXPERIMENTS, ids=[m[:40] for _, m in BAD_EXPERIMENTS])
def test_bad_experiment_is_rejected_at_construction(kwargs, match):
    with pytest.raises(ValueError, match=match):
        rn.Experiment(**kwargs)


def _file(tmp_path):
    f = tmp_path / "afile"
    f.write_text("x")
    return f


def _shut_down():
    ex = ThreadPoolExecutor(1)
    ex.shutdown()
    return ex


BAD_RUNS = [   # (arguments of run, the error, its message); ValueError for a bad value, TypeError for a wrong type
    (lambda t: dict(cache_dir=_file(t)), ValueError, "cache_dir .* is a file, not a folder"),
    (lambda t: dict(cache_dir=_file(t) / "sub"), ValueError, "cache_dir .* cannot be written"),
    (lambda t: dict(cache_dir=5), ValueError, r"cache_dir must be a folder path or None, got 5 \(int\)"),
    (lambda t: dict(cache_dir=""), ValueError, r"cache_dir must be a folder path or None, got '' \(an empty path"),
    (lambda t: dict(workers=0), ValueError, "workers must be positive: a whole number >= 1, got 0"),
    (lambda t: dict(workers="2"), ValueError, r"workers must be a whole number >= 1, got '2' \(str\)"),
    (lambda t: dict(workers=-1), ValueError, "workers must be positive"),
    (lambda t: dict(workers=2.5), ValueError, "workers must be a whole number"),
    (lambda t: dict(executor="dask"), TypeError, "executor must be a concurrent.futures.Executor"),
    (lambda t: dict(executor=ThreadPoolExecutor), TypeError,
     "executor must be an Executor instance, got the class ThreadPoolExecutor: give ThreadPoolExecutor"),
    (lambda t: dict(executor=_shut_down()), ValueError, "executor .* has been shut down .* give a running executor"),
]


@pytest.mark.parametrize("make,error,match", BAD_RUNS, ids=[m[:30] for _, _, m in BAD_RUNS])
def test_bad_run_arguments_are_rejected_before_any_training(tmp_path, monkeypatch, make, error, match):
    def no_training(*a, **k):
        raise AssertionError("a cell was trained before the arguments were checked")
    monkeypatch.setattr(rn.engine, "run_cell", no_training)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(error, match=match):
        rn.run(rn.Experiment(**dict(E, seed=[0, 1])), progress=False, **make(tmp_path))
    assert not list(tmp_path.glob("**/*.tmp"))


def test_a_bad_scheduler_variable_is_named_before_any_training(monkeypatch):
    monkeypatch.setattr(rn.engine, "run_cell", lambda *a, **k: pytest.fail("trained"))
    monkeypatch.setenv("RICHNEURON_SCHEDULER", "garbage")
    with pytest.raises(ValueError, match=r"environment variable RICHNEURON_SCHEDULER='garbage' is not a Dask "
                                         r"scheduler address: give tcp://host:port.*or unset RICHNEURON_SCHEDULER"):
        rn.run(rn.Experiment(**dict(E, seed=[0, 1])), progress=False)
    from richneuron import validate
    for ok in ("tcp://10.0.0.1:8786", "localhost:8786", "tls://sched.example.org:8786", "tcp://[::1]:8786"):
        assert validate.scheduler("RICHNEURON_SCHEDULER", ok) == ok


def test_cache_dir_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    from richneuron import validate
    assert validate.cache_dir("~/x") == tmp_path / "home" / "x"
    assert (tmp_path / "home" / "x").is_dir() and not (tmp_path / "~").exists()


@pytest.mark.skipif(getattr(__import__("os"), "geteuid", lambda: 1)() == 0, reason="root can write anywhere")
def test_read_only_cache_dir_with_misses_is_rejected_before_training_and_a_complete_one_read(tmp_path, monkeypatch):
    ro = tmp_path / "ro"
    want = rn.run(rn.Experiment(**E), cache_dir=ro, progress=False, workers=1)
    paths = [*ro.rglob("*"), ro]
    for p in paths:
        p.chmod(0o500 if p.is_dir() else 0o400)
    try:
        monkeypatch.setattr(rn.engine, "run_cell", lambda *a, **k: pytest.fail("trained"))
        with pytest.raises(ValueError, match="cannot be written .* not in it and would have to be trained"):
            rn.run(rn.Experiment(**dict(E, seed=[0, 1, 2])), cache_dir=ro, progress=False)
        got = rn.run(rn.Experiment(**E), cache_dir=ro, progress=False)        # every cell stored: read
        pd.testing.assert_frame_equal(got.metrics.drop(columns="wall_seconds"),
                                      want.metrics.drop(columns="wall_seconds"))
    finally:
        for p in paths:
            p.chmod(0o700 if p.is_dir() else 0o600)


BAD_CALLS = [
    (lambda: tasks.make("spiral", n_train=1, validation=0.5),
     r"task 'spiral' with n_train=1, validation=0.5 leaves no training point.*\(n_train\) or a smaller validation"),
    (lambda: rn.build_model("vanilla", 2, 1, width=10 ** 6), r"width=1000000 is too large: .* parameters, about "
                                                             r".* GiB in float32; this machine has"),
    (lambda: rn.build_model("v4-lowrank", 2, 1, width=16, rank=10 ** 4), r"rank must be in range .*1\.\.2"),
    *[(lambda s=s: tasks.make("spiral", seed=s), f"seed must be {m}")
      for s, m in (("abc", "a whole number"), (None, "a whole number"), (NAN, "a whole number"), (2 ** 70, "in range"),
                   (-1, "in range"), (1.5, "a whole number"), ("3", "a whole number"), (True, "a whole number"))],
    *[(lambda s=s: rn.build_model("vanilla", 2, 1, width=4, seed=s), f"seed must be {m}")
      for s, m in (("abc", "a whole number"), (NAN, "a whole number"), (1.5, "a whole number"),
                   ("3", "a whole number"), (True, "a whole number"))],
    (lambda: rn.build_model("vanilla", 2, 1, width=4, seed=-1), "seed must be in range"),
    (lambda: rn.build_model("vanilla", 2, 1, width=4, seed=2 ** 70), "seed must be in range"),
    (lambda: rn.build_model("vanilla", "2", 1, width=4), r"in_dim must be a whole number >= 1, got '2' \(str\)"),
    (lambda: rn.build_model("v1", 2, 1, width=4, layernorm="no"), "layernorm must be True or False"),
    (lambda: tasks.make("spiral", turns=NAN), "turns must be positive and finite"),
    (lambda: tasks.make("memorize", in_dim="8"), "in_dim must be a whole number"),
    (lambda: tasks.make("complex4d", noise=[0.1]), r"noise must be .*\(list\)"),
    (lambda: rn.run([]), "empty list of experiments"),
]


@pytest.mark.parametrize("call,match", BAD_CALLS, ids=[m[:30] for _, m in BAD_CALLS])
def test_bad_library_calls_are_rejected(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_tasks_make_and_build_model_take_the_seeds_experiment_takes():
    for s in (np.int64(3), np.uint8(3), 3.0):
        assert torch.equal(tasks.make("spiral", seed=s).x_train, tasks.make("spiral", seed=3).x_train)
        assert torch.equal(rn.build_model("vanilla", 2, 1, width=4, seed=s).head.weight,
                           rn.build_model("vanilla", 2, 1, width=4, seed=3).head.weight)
    with pytest.raises(TypeError, match="a task is given by its name .*valid choices: complex4d"):
        tasks.make(["spiral"])


# Issue 31: each input a user tried, refused before any training, quickly, naming the argument.
ISSUE_31 = [
    (dict(E, tasks={"spiral"}), TypeError, r"tasks must be a task name or a list/tuple of task names, got \{'spiral'\} \(set\)"),
    (dict(E, tasks=[["spiral"]]), TypeError, r"tasks must be a task name or a list/tuple of task names, got \[\['spiral'\]\]"),
    (dict(E, tasks={"spiral": 1}), TypeError, r"tasks must be a task name or .*\(dict\)"),
    (dict(E, archs={"vanilla", "singlu"}), TypeError, r"archs must be an arch id or a list/tuple of arch ids"),
    (dict(E, seed={0, 1}), TypeError, r"seed must be one value or a list/tuple of values, got \{0, 1\} \(set\)"),
    (dict(E, depth=10 ** 5), ValueError, r"depth must be in range: a whole number in 1\.\.1000, got 100000"),
    (dict(E, depth=10 ** 4), ValueError, r"depth must be in range: a whole number in 1\.\.1000, got 10000"),
    (dict(E, budget=None, width=8, depth=10 ** 4), ValueError, r"depth must be in range"),
    (dict(E, tasks="spiral", task_options={"n_train": 1, "validation": 0.5}), ValueError,
     "with n_train=1, validation=0.5 leaves no training point"),
    (dict(E, steps=10 ** 12), ValueError, r"steps must be in range: a whole number in 1\.\.10,000,000, got "
                                          r"1,000,000,000,000; .* would train for 31\.7 years"),
    (dict(E, archs="v4-lowrank", tasks="spiral", budget=None, width=16, options={"rank": 10 ** 4}), ValueError,
     r"rank must be in range for a V4LowRank layer 2->16: a whole number in 1\.\.2 .*got 10000"),
    (dict(E, archs="v4-lowrank", tasks="spiral", options={"rank": 10 ** 4}), ValueError, r"rank must be in range"),
    (dict(E, archs=["vanilla", "vanilla"]), ValueError, "archs values must be distinct .* got 'vanilla' twice"),
    (dict(E, tasks=["spiral", "memorize", "spiral"]), ValueError, "tasks values must be distinct .*'spiral' twice"),
    (dict(E, steps=[5, 10, 5]), ValueError, "steps values must be distinct .* got 5 twice"),
    (dict(E, budget=[5000, 5000]), ValueError, "budget values must be distinct"),
    (dict(E, depth=[1, 1]), ValueError, "depth values must be distinct"),
    (dict(E, options={"init": ["siren", "siren"]}), ValueError, r"options\['init'\] values must be distinct"),
    (dict(E, tasks="spiral", task_options={"turns": [2.0, 2.0]}), ValueError,
     r"task_options\['turns'\] values must be distinct .* got 2.0 twice"),
    (dict(E, seeds=[0, 1]), TypeError, r"Experiment has no field 'seeds' \(one seed or a list of them is `seed`.*; "
                                       r"its fields: archs, tasks, seed, budget"),
    (dict(E, step=5), TypeError, r"Experiment has no field 'step'; its fields: archs, tasks, seed, .*steps"),
    (dict(E, step=5, seeds=[0]), TypeError, r"Experiment has no fields 'step', 'seeds' \(one seed or a list of them is `seed`"),
]


@pytest.mark.parametrize("kwargs,error,match", ISSUE_31, ids=[m[:40] for _, _, m in ISSUE_31])
def test_issue_31_inputs_are_refused_at_construction_and_named(kwargs, error, match):
    # at construction: before any cell is sized or trained (depth=10**5 once ran for minutes there)
    with pytest.raises(error, match=match):
        rn.Experiment(**kwargs)


def test_the_memory_check_counts_the_test_set(monkeypatch):
    """A test set too large to score is refused at construction (naming n_test), as the user's
    n_test=3*10**7 is on a 24 GiB machine: here 3*10**6 points on a machine of 2 GiB."""
    from richneuron import validate
    monkeypatch.setattr(validate, "physical_memory", lambda: 2 * 2 ** 30)
    rn.Experiment(**dict(E, tasks="spiral", task_options={"n_test": 3 * 10 ** 4}))
    with pytest.raises(ValueError, match=r"task_options n_test=3,000,000 is too large: .* 3,000,000 test points\) "
                                         r"needs about .* GiB; this machine has 2.0 GiB. Lower n_train/n_test"):
        rn.Experiment(**dict(E, tasks="spiral", task_options={"n_test": 3 * 10 ** 6}))


def test_an_experiment_cannot_be_changed_after_it_is_built():
    import dataclasses
    ex = rn.Experiment(**E)
    for name, value in (("seed", [5]), ("steps", 10), ("archs", ["vanilla"])):
        with pytest.raises(AttributeError, match=rf"cannot be changed .* dataclasses.replace\(experiment, {name}="):
            setattr(ex, name, value)
    assert ex.seed == [0] and ex.steps == 5
    other = dataclasses.replace(ex, steps=10)
    assert other.steps == 10 and other.cells[0]["steps"] == 10 and ex.cells[0]["steps"] == 5


ACCEPTED = [   # (as given, as written with plain Python values): the same experiment
    (dict(E, steps=100.0), dict(E, steps=100)),
    (dict(E, budget=5e3), dict(E, budget=5000)),
    (dict(E, lr=np.float32(1e-3)), dict(E, lr=float(np.float32(1e-3)))),
    (dict(E, seed=range(3)), dict(E, seed=[0, 1, 2])),
    (dict(E, seed=np.arange(3)), dict(E, seed=[0, 1, 2])),
    (dict(E, seed=(0, 1)), dict(E, seed=[0, 1])),
    (dict(E, tasks="spiral", task_options={"turns": np.float64(3)}), dict(E, tasks="spiral", task_options={"turns": 3.0})),
    (dict(E, tasks="hifreq", task_options={"freqs": (5.0, 11.0)}), dict(E, tasks="hifreq", task_options={"freqs": [5.0, 11.0]})),
    (dict(E, tasks="hifreq", task_options={"freqs": np.array([5.0, 11.0])}),
     dict(E, tasks="hifreq", task_options={"freqs": [5.0, 11.0]})),
    (dict(E, omega=np.float32(0.05)), dict(E, omega=float(np.float32(0.05)))),
    (dict(E, archs="v4-lowrank", options={"rank": np.int64(2)}), dict(E, archs="v4-lowrank", options={"rank": 2})),
    (dict(E, archs="v1", options={"layernorm": np.bool_(False)}), dict(E, archs="v1", options={"layernorm": False})),
    (dict(E, budget=None, width=np.int64(16)), dict(E, budget=None, width=16)),
    (dict(E, depth=2.0), dict(E, depth=2)),
    (dict(E, data_seed=np.int64(1)), dict(E, data_seed=1)),
    (dict(E, threads=np.int64(1)), dict(E, threads=1)),
    (dict(E, meta_lr_scale=np.float64(2)), dict(E, meta_lr_scale=2.0)),
]


@pytest.mark.parametrize("given,plain", ACCEPTED, ids=lambda kw: None)
def test_numbers_are_taken_as_the_numbers_they_are(given, plain):
    got, want = rn.Experiment(**given), rn.Experiment(**plain)
    assert [rn.engine.cell_key(c) for c in got.cells] == [rn.engine.cell_key(c) for c in want.cells]
    json_ready = __import__("json").dumps(got.cells)       # plain Python all the way down
    assert "float32" not in json_ready


def test_numpy_inputs_train_and_save(tmp_path):
    ex = rn.Experiment(archs="singlu", tasks="spiral", seed=np.arange(2), steps=np.int64(3), lr=np.float32(1e-3),
                       omega=np.float32(0.5), task_options={"turns": np.float32(1.5)})
    res = rn.run(ex, cache_dir=tmp_path, progress=False, workers=np.int64(1))
    assert len(res.metrics) == 2 and len(list(tmp_path.glob("*.json"))) == 1
    assert not list(tmp_path.glob(".*tmp"))


def test_a_list_valued_option_is_one_value_and_a_list_of_lists_is_a_sweep():
    one = rn.Experiment(**dict(E, tasks="hifreq", task_options={"freqs": [5.0, 11.0]}))
    assert [c["task_options"] for c in one.cells] == [{"freqs": [5.0, 11.0]}]
    two = rn.Experiment(**dict(E, tasks="hifreq", task_options={"freqs": [[5.0], [5.0, 11.0]]}))
    assert [c["task_options"] for c in two.cells] == [{"freqs": [5.0]}, {"freqs": [5.0, 11.0]}]
    swept = rn.Experiment(**dict(E, tasks="spiral", task_options={"turns": [1.0, 3.0]}))
    assert [c["task_options"] for c in swept.cells] == [{"turns": 1.0}, {"turns": 3.0}]
    task = tasks.make("hifreq", **one.cells[0]["task_options"])
    ref = tasks.make("hifreq", freqs=(5.0, 11.0))
    assert torch.equal(task.y_train, ref.y_train)


# ---- divergence beyond NaN ----

def test_divergence_rule_by_hand():
    from richneuron.train import DIVERGENCE_FACTOR, baseline_loss, diverged
    assert DIVERGENCE_FACTOR == 10.0
    assert diverged(math.nan, 1.0, 1.0) and diverged(math.inf, 1.0, 1.0)
    assert diverged(20.0, 1.0, 1.0)                 # above its start and 10x the constant's loss
    assert not diverged(20.0, 30.0, 1.0)            # a bad start it improved on (e.g. SIREN at large ω0)
    assert not diverged(5.0, 1.0, 1.0)              # worse than its start, but within 10x the constant
    t = tasks.make("nested2d", seed=0)
    assert baseline_loss(t) == pytest.approx(float(t.y_train.var(unbiased=False)), rel=1e-6)
    c = tasks.make("spiral", seed=0)                # two balanced classes: entropy ln 2
    p = torch.bincount(c.y_train).double() / len(c.y_train)
    assert baseline_loss(c) == pytest.approx(float(-(p * p.log()).sum()), rel=1e-9)


def test_a_blown_up_replica_is_marked_diverged_and_left_out_of_the_statistics():
    ex = rn.Experiment(archs="singlu", tasks="nested2d", seed=[0, 1], lr=[1e-3, 1e4], steps=100)
    res = rn.run(ex, progress=False, workers=1)
    m = res.metrics
    ok, bad = m[m["lr"] == 1e-3], m[m["lr"] == 1e4]
    assert not ok["diverged"].any() and ok["final_train_loss"].notna().all()
    assert bad["diverged"].all() and bad["test_mse"].isna().all()
    # the evidence stays in the history: the loss ended far above its start and the constant's loss
    h = res.history.query("lr == 10000.0 and quantity == 'loss' and layer == 'all'")
    first, last = h[h["step"] == 0]["value"], h[h["step"] == 100]["value"]
    blown = last.values > 10 * first.values
    assert (blown | np.isnan(last.values)).all()
    assert blown.any()                     # at least one finite blow-up (~1e26): NaN alone was the old rule
    s = rn.stats.summarize(m, by=("arch", "task", "lr"))
    assert list(s.sort_values("lr")["diverged"]) == [0, 2]


def test_an_entry_without_its_payload_checksum_is_damaged_and_retrained_with_the_rule(tmp_path):
    """No entry is trusted unchecked: one written without `payload_sha256` (as before the divergence
    rule beyond NaN) is damaged, so its edited rows are not served and its cell is trained again."""
    import json
    ex = rn.Experiment(archs="singlu", tasks="nested2d", seed=[0], lr=[1e-3, 1e4], steps=100)
    rn.run(ex, cache_dir=tmp_path, progress=False, workers=1)
    j = next(tmp_path.glob("*.json"))
    doc = json.loads(j.read_text())
    del doc["payload_sha256"]
    last = {h["lr"]: h["value"] for h in doc["history"] if h["quantity"] == "loss" and h["step"] == 100}
    for row in doc["metrics"]:
        row["diverged"], row["final_train_loss"], row["test_mse"] = False, last[row["lr"]], 1.0
    j.write_text(json.dumps(doc))
    with pytest.warns(RuntimeWarning, match="damaged.*payload_sha256"):
        m = rn.run(ex, cache_dir=tmp_path, progress=False, workers=1).metrics.set_index("lr")
    assert not m.loc[1e-3, "diverged"] and m.loc[1e-3, "test_mse"] != 1.0
    assert m.loc[1e4, "diverged"] and math.isnan(m.loc[1e4, "test_mse"])
    assert "payload_sha256" in json.loads(j.read_text())


def test_a_changed_peer_recomputes_its_own_cells_only():
    cfg = rn.Experiment(archs=["siren", "geglu", "singlu"], tasks="nested2d", seed=[0], steps=5).cells
    from richneuron.experiment import cell_key
    import hashlib, json as _json
    plain = lambda c: hashlib.sha256(_json.dumps({"cfg": c, "version": rn.__version__}, sort_keys=True,
                                                 default=str).encode()).hexdigest()[:20]
    assert [cell_key(c) == plain(c) for c in cfg] == [False, False, True]


def test_a_run_that_would_fill_the_disk_is_refused_before_training(tmp_path, monkeypatch):
    """The store's room is checked against the cells' estimated size before any cell trains; the
    estimate is an upper bound of what a real cell writes."""
    import shutil as _shutil
    from richneuron import validate
    exp = rn.Experiment(archs=["singlu"], tasks=["spiral"], seed=[0, 1], steps=30, budget=1000)
    rn.run(exp, cache_dir=tmp_path, progress=False, workers=1)
    written = sum(f.stat().st_size for f in tmp_path.iterdir())
    assert 0 < written <= validate.cell_disk(exp.n_replicas, exp.cells[0]) < 50 * written
    real = _shutil.disk_usage
    monkeypatch.setattr(validate.shutil, "disk_usage", lambda p: real(p)._replace(free=1000))
    fresh = tmp_path / "other"
    with pytest.raises(ValueError, match="MiB free.*need about"):
        rn.run(exp, cache_dir=fresh, progress=False, workers=1)
    assert not [f for f in fresh.iterdir() if not f.name.startswith(".")]


def test_workers_that_cannot_start_are_reported_in_one_line(tmp_path):
    """A module run with `python -m` that calls rn.run without an `if __name__ == "__main__":` guard:
    every worker imports it and would run it again; they leave quietly and the parent says so in
    one line, then trains in its own process (no worker tracebacks)."""
    import os
    import subprocess
    import sys
    (tmp_path / "unguarded.py").write_text(
        "import richneuron as rn\n"
        "ex = rn.Experiment(archs=['vanilla', 'singlu'], tasks='spiral', seed=[0], steps=3, budget=None, width=4)\n"
        "print('trained', len(rn.run(ex, workers=2, progress=False).metrics))\n")
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), root, os.environ.get("PYTHONPATH", "")])}
    env.pop("RICHNEURON_SCHEDULER", None)
    out = subprocess.run([sys.executable, "-m", "unguarded"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=600)                              # a guard against a hang, not a speed test
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "trained 2"
    assert "Traceback" not in out.stderr
    lines = [ln for ln in out.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, out.stderr
    assert lines[0].startswith("richneuron: worker processes could not start (the main module, which every worker "
                               "imports, calls rn.run outside an `if __name__ == \"__main__\":` guard")
    assert lines[0].endswith("training in this process instead")
