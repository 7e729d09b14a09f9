"""A cell's JSON form, its key and its replicas' keys never change: stored entries are found again by
them. Each is rebuilt here by hand from its documented fields (`experiment.cell_key`,
`experiment.replica_keys`) and pinned to the values the code gave before `experiment.Cell` existed
(with the package version held at the one they were computed with)."""
import hashlib
import json

import pytest

import richneuron as rn
from richneuron import experiment as X
from richneuron.experiment import Cell, Replica

VERSION = "0.5.0"      # the version the pinned keys below were computed with


@pytest.fixture(autouse=True)
def pinned_version(monkeypatch):
    monkeypatch.setattr(X, "__version__", VERSION)


def by_hand(blob):
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:20]


SWEPT = dict(archs=["singlu"], tasks="memorize", seed=[0, 1], omega=[1.0, 3.0], lr=[1e-3, 1e-2], data_seed=[0, 2],
             meta_lr_scale=[1.0, 2.0], width=8, budget=None, steps=10, perturb=1)
SWEPT_JSON = ('{"arch": "singlu", "task": "memorize", "seeds": [0, 1], "omegas": [1.0, 3.0], "lrs": [0.001, 0.01], '
              '"budget": null, "width": 8, "depth": 2, "steps": 10, "meta_lr_scale": [1.0, 2.0], "data_seeds": [0, 2], '
              '"task_options": {}, "options": {}, "log_every": 1, "threads": 1, "perturb": 1}')
DEFAULT = dict(archs=["vanilla"], tasks="spiral", seed=[3])
DEFAULT_JSON = ('{"arch": "vanilla", "task": "spiral", "seeds": [3], "omegas": [null], "lrs": [0.001], "budget": 5000, '
                '"width": 68, "depth": 2, "steps": 1000, "meta_lr_scale": 1.0, "data_seeds": [0], "task_options": {}, '
                '"options": {}, "log_every": 33, "threads": 1}')
REVISED = dict(archs=["v15"], tasks="hifreq", seed=[0], width=6, budget=None, steps=4, omega=2.0,
               options={"per_unit": True}, task_options={"freqs": [5.0, 11.0]}, kernels="torch", log_every=2, threads=2)
REVISED_JSON = ('{"arch": "v15", "task": "hifreq", "seeds": [0], "omegas": [2.0], "lrs": [0.001], "budget": null, '
                '"width": 6, "depth": 2, "steps": 4, "meta_lr_scale": 1.0, "data_seeds": [0], "task_options": '
                '{"freqs": [5.0, 11.0]}, "options": {"per_unit": true}, "log_every": 2, "threads": 2, "kernels": "torch"}')


@pytest.mark.parametrize("spec, text, key, first_replicas, revision", [
    (SWEPT, SWEPT_JSON, "92a9f2b9a0b2050ac5ea", ["eff105031da52f929fbe", "66e48578f4bc653e4efd", "5382fd03058c513d46ef"], 0),
    (DEFAULT, DEFAULT_JSON, "0caea67c3ebd212e3dd3", ["df49c4e870d0b4e8ba9b"], 0),
    (REVISED, REVISED_JSON, "1b5aac20484e27784e50", ["53a422a17a2f3fb279a6"], 1),
])
def test_a_cells_json_form_and_keys_are_as_stored(spec, text, key, first_replicas, revision):
    (cell,) = rn.Experiment(**spec).typed_cells
    assert json.dumps(cell.config) == text                     # key order included: it is the stored JSON
    assert rn.Experiment(**spec).cells == [json.loads(text)]
    cfg = json.loads(text)
    rev = {"revision": revision} if revision else {}
    assert by_hand({"cfg": cfg, "version": VERSION, **rev}) == key == cell.key == X.cell_key(cfg)
    # the replicas by hand: the cartesian product, meta-lr scale outermost, then lr, ω, data draw, seed
    scales = cfg["meta_lr_scale"] if isinstance(cfg["meta_lr_scale"], list) else [cfg["meta_lr_scale"]]
    reps = [(d, s, om, lr, m) for m in scales for lr in cfg["lrs"] for om in cfg["omegas"]
            for d in cfg["data_seeds"] for s in cfg["seeds"]]
    assert [tuple(r) for r in cell.replicas] == reps and cell.n_replicas == len(reps)
    shape = {k: v for k, v in cfg.items() if k not in ("seeds", "omegas", "lrs", "budget", "meta_lr_scale", "data_seeds")}
    want = [by_hand({"shape": shape, "version": VERSION, **rev,
                     "replica": dict(zip(("data_seed", "seed", "omega", "lr", "meta_lr_scale"), r))}) for r in reps]
    assert want == cell.replica_keys == X.replica_keys(cfg)
    assert want[:len(first_replicas)] == first_replicas


def test_a_stacks_json_form_and_keys_are_as_stored():
    (cell,) = rn.Experiment(**SWEPT).typed_cells
    stack = cell.stack_of(cell.replicas[5:7])
    text = ('{"arch": "singlu", "task": "memorize", "width": 8, "depth": 2, "steps": 10, "task_options": {}, "options": {}, '
            '"log_every": 1, "threads": 1, "perturb": 1, "budget": null, "replicas": [[0, 1, 3.0, 0.001, 1.0], '
            '[2, 0, 3.0, 0.001, 1.0]]}')
    assert json.dumps(stack.config) == text
    assert by_hand({"cfg": json.loads(text), "version": VERSION}) == stack.key == "f1156a2cb295a092220e"
    # a replica has one key whichever cell or stack holds it
    assert stack.replica_keys == cell.replica_keys[5:7] == ["68ea438a801b6eac44a6", "16bf2e71b28c6f5e4417"]


def test_the_json_form_reads_back_exactly_and_nothing_else_does():
    for spec in (SWEPT, DEFAULT, REVISED):
        (cell,) = rn.Experiment(**spec).typed_cells
        for c in (cell, cell.stack_of(cell.replicas[:1])):
            back = Cell.from_config(json.loads(json.dumps(c.config)))
            assert back == c and back.key == c.key and list(back.config) == list(c.config)
    cfg = rn.Experiment(**DEFAULT).cells[0]
    for bad in ({**cfg, "kernels": "numpy"},            # a default written out: another JSON form, another key
                {**cfg, "seed": [3]},                  # a field the form does not have
                {k: v for k, v in cfg.items() if k != "lrs"},
                {**cfg, "replicas": [[0, 3, None, 1e-3, 1.0]]}):    # both forms at once
        with pytest.raises(ValueError):
            Cell.from_config(bad)
    # a swept meta-lr scale of one value is another cell than that scale (as Experiment builds them)
    one = Cell.from_config({**cfg, "meta_lr_scale": [1.0]})
    assert one.axes.meta_lr_scale == (1.0,) and one.key != X.cell_key(cfg) and one.replicas == Cell.from_config(cfg).replicas


def test_a_replica_is_named_as_its_results_columns():
    assert X.STACKED == Replica._fields == ("data_seed", "seed", "omega", "lr", "meta_lr_scale")
    from richneuron import schema
    assert set(X.STACKED) <= set(schema.REPLICA_KEYS)
