"""Nothing trained twice: replicas named by what determines their numbers, served by the store to
any cell, the missing ones trained once in stacks of one shape, and every replica bit for bit what
it is when trained alone."""
import json
from datetime import datetime, timezone

import pytest
import torch

import richneuron as rn
from richneuron import engine, report, store, train
from richneuron.experiment import cell_key, replica_keys, replicas

SMALL = dict(archs="singlu", tasks="ood", width=6, budget=None, depth=1, steps=12)   # one output: out_dim 1
VOLATILE = {"wall_seconds", "cell", "stack", "replica"}


@pytest.fixture
def counted(monkeypatch):
    """The replicas each training call of `run` trains (in this process: workers=1)."""
    trained = []
    real = engine.run_cell

    def spy(cell, progress=None):
        trained.extend(cell.replicas)
        return real(cell, progress=progress)
    monkeypatch.setattr(engine, "run_cell", spy)
    return trained


def alone(d, s, lr):
    """The replica (draw d, seed s, lr) trained as a cell of its own, without a store."""
    return rn.run(rn.Experiment(**SMALL, seed=[s], lr=lr, data_seed=d), progress=False, workers=1)


def same_replica(res, cell_i, row_i, ref):
    """Metrics row, history rows and weights of replica `row_i` of cell `cell_i` of `res` equal the
    only replica of Results `ref`, bit for bit (NaN equal to NaN)."""
    cell = res.cells()[cell_i]
    m = res.metrics[res.metrics["cell"] == cell["key"]].iloc[row_i]
    r = ref.metrics.iloc[0]
    for k in set(r.index) - VOLATILE:
        assert repr(m[k]) == repr(r[k]), (k, m[k], r[k])
    assert all(torch.equal(cell["weights"][n][row_i], w[0]) for n, w in ref.cells()[0]["weights"].items())
    d, s, om, lr, mls = replicas(cell["config"])[row_i]
    h = res.history[(res.history["data_seed"] == d) & (res.history["seed"] == s) & (res.history["lr"] == lr)
                    & (res.history["meta_lr_scale"] == mls)].drop_duplicates(["step", "quantity", "layer"])
    cols = ["step", "quantity", "layer", "value"]
    assert h[cols].astype(str).values.tolist() == ref.history[cols].astype(str).values.tolist()


def test_a_stack_of_one_rounds_as_any_stack():
    """The invariant reuse rests on: one replica alone, beside others on its draw, and among other
    draws (stacked data) ends with the same bits (a single output column is where torch's batched
    product rounds a batch of one otherwise)."""
    task = {d: rn.tasks.make("ood", seed=d) for d in (0, 1)}
    model = lambda s: rn.build_model("singlu", 1, 1, width=24, depth=2, seed=s)
    runs = [train.train_stack([model(3)], task[0], 25, 1e-2, 5),
            train.train_stack([model(1), model(3), model(2)], task[0], 25, [1e-3, 1e-2, 1e-2], 5),
            train.train_stack([model(1), model(2), model(3)], [task[1], task[1], task[0]], 25, 1e-2, 5)]
    for (w, s, h), i in zip(runs, (0, 1, 2)):
        assert all(torch.equal(w[n][i], runs[0][0][n][0]) for n in w)
        assert [v[i] for v in s.values()] == [v[0] for v in runs[0][1].values()]
        assert [x[1:] for x in h if x[0] == i] == [x[1:] for x in runs[0][2]]


def test_overlapping_cells_train_each_replica_once_and_as_alone(tmp_path, counted):
    a = rn.Experiment(**SMALL, seed=[0, 1], lr=[1e-2, 1e-3], data_seed=[0, 1])
    b = rn.Experiment(**SMALL, seed=[1, 2], lr=1e-2, data_seed=1)           # one replica of a, one new
    c = rn.Experiment(**SMALL, seed=[0], lr=1e-3, data_seed=[0, 1])          # a's replicas in another stack
    res = rn.run([a, b, c], cache_dir=tmp_path, progress=False, workers=1)
    distinct = {r for e in (a, b, c) for cfg in e.cells for r in replicas(cfg)}
    assert sorted(counted) == sorted(distinct) and len(counted) == 9
    assert len(res.cells()) == 3 and len(res.metrics) == 8 + 2 + 2
    for i, cfg in enumerate(cfg for e in (a, b, c) for cfg in e.cells):
        for j, (d, s, _, lr, _) in enumerate(replicas(cfg)):
            same_replica(res, i, j, alone(d, s, lr))
    # Another stack of stored replicas trains nothing; a new replica beside them only that one.
    counted.clear()
    d = rn.Experiment(**SMALL, seed=[2, 0], lr=1e-2, data_seed=1)
    again = rn.run(d, cache_dir=tmp_path, progress=False, workers=1)
    assert counted == []
    same_replica(again, 0, 0, alone(1, 2, 1e-2))
    counted.clear()
    rn.run(rn.Experiment(**SMALL, seed=[0, 5], lr=1e-2, data_seed=1), cache_dir=tmp_path, progress=False, workers=1)
    assert counted == [(1, 5, None, 1e-2, 1.0)]


def test_stacked_meta_lr_scales_equal_separate_cells():
    kw = dict(archs="v10", tasks="memorize", width=6, budget=None, depth=1, steps=15, seed=[0, 1])
    stacked = rn.run(rn.Experiment(**kw, meta_lr_scale=[1.0, 10.0]), progress=False, workers=1)
    assert len(stacked.cells()) == 1 and sorted(set(stacked.metrics["meta_lr_scale"])) == [1.0, 10.0]
    w = stacked.cells()[0]["weights"]
    for i, mls in enumerate((1.0, 10.0)):
        sep = rn.run(rn.Experiment(**kw, meta_lr_scale=mls), progress=False, workers=1)
        got = stacked.metrics[stacked.metrics["meta_lr_scale"] == mls].reset_index(drop=True)
        cols = sorted(set(got.columns) - VOLATILE)
        assert got[cols].astype(str).equals(sep.metrics[cols].astype(str))
        assert all(torch.equal(w[n][2 * i:2 * i + 2], t) for n, t in sep.cells()[0]["weights"].items())
    # the scale moves the meta parameters: the two halves differ
    assert not torch.equal(w["layers.0.Wphi.weight"][:2], w["layers.0.Wphi.weight"][2:]) if "layers.0.Wphi.weight" in w \
        else not all(torch.equal(t[:2], t[2:]) for t in w.values())


def test_damaged_or_stale_index_is_rebuilt_never_trusted(tmp_path, counted):
    a = rn.Experiment(**SMALL, seed=[0, 1], lr=1e-2)
    first = rn.run(a, cache_dir=tmp_path, progress=False, workers=1)
    index = tmp_path / store.INDEX
    keys = replica_keys(a.cells[0])
    assert set(keys) <= set(store.replica_index(tmp_path))
    other = rn.Experiment(**SMALL, seed=[1, 0], lr=1e-2)                    # the same replicas, another cell
    # an unreadable index: rebuilt from the entries, nothing retrained
    index.write_text("{not json")
    counted.clear()
    rn.run(other, cache_dir=tmp_path, progress=False, workers=1)
    assert counted == [] and set(keys) <= set(json.loads(index.read_text())["entries"][cell_key(a.cells[0])])
    # an index that names the wrong entry for every replica: nothing wrong is served, they retrain
    (tmp_path / f"{cell_key(other.cells[0])}.json").unlink()
    doc = json.loads(index.read_text())
    doc["entries"] = {stem: list(reversed(v)) + ["0" * 20] for stem, v in doc["entries"].items()}
    index.write_text(json.dumps(doc))
    third = rn.run(rn.Experiment(**SMALL, seed=[0, 1, 2], lr=1e-2), cache_dir=tmp_path, progress=False, workers=1)
    rows = third.metrics.set_index("seed")
    for s in (0, 1):
        assert rows.loc[s, "final_train_loss"] == first.metrics.set_index("seed").loc[s, "final_train_loss"]
    # an entry removed behind the index's back is dropped from it; a damaged one warns and retrains
    for p in tmp_path.glob(f"{cell_key(a.cells[0])}.*"):
        p.unlink()
    assert cell_key(a.cells[0]) not in json.dumps(store.replica_index(tmp_path))
    src = tmp_path / f"{third.cells()[0]['key']}.safetensors"          # the only entry with seeds 1 and 2 now
    src.write_bytes(src.read_bytes()[:-8] + b"\0" * 8)
    counted.clear()
    with pytest.warns(RuntimeWarning, match="damaged"):
        rn.run(rn.Experiment(**SMALL, seed=[2, 1], lr=1e-2), cache_dir=tmp_path, progress=False, workers=1)
    assert sorted(counted) == [(0, 1, None, 1e-2, 1.0), (0, 2, None, 1e-2, 1.0)]


def test_training_costs_count_each_replica_once(tmp_path):
    a = rn.Experiment(**SMALL, seed=[0, 1], lr=1e-2)
    b = rn.Experiment(**SMALL, seed=[1, 2], lr=1e-2)
    since = datetime(2000, 1, 1, tzinfo=timezone.utc)
    ka = [cell_key(c) for c in rn.run(a, cache_dir=tmp_path, progress=False, workers=1).cells() and a.cells]
    kb = [cell_key(c) for c in rn.run(b, cache_dir=tmp_path, progress=False, workers=1).cells() and b.cells]
    used = {"nb_a": ka, "nb_b": kb}
    costs = report.publish.training_costs(used, report.publish.stored_cells(used, tmp_path), since)
    # the stacks that trained: a's cell, and the stack of b's one new replica
    stacks = {r["stack"] for k in ka + kb for r in json.loads((tmp_path / f"{k}.json").read_text())["metrics"]}
    walls = [json.loads((tmp_path / f"{s}.json").read_text())["provenance"]["wall_seconds"] for s in stacks]
    assert len(stacks) == 2
    assert costs["nb_a"]["core_seconds"] + costs["nb_b"]["core_seconds"] == pytest.approx(sum(walls))
    assert costs["nb_b"]["core_seconds"] == pytest.approx(
        json.loads((tmp_path / f"{(stacks - set(ka)).pop()}.json").read_text())["provenance"]["wall_seconds"])
    table = report.publish.results_table(report.publish.stored_cells(used, tmp_path))
    assert (table["repeats"] != "").sum() == 1 and table["stack"].nunique() == 2
