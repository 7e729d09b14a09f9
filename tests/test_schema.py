"""One results schema: what the writer (`train.run_cell`) writes is what `schema` documents, the
store's validator requires `schema.REQUIRED`, and `Results` and the report's data dictionary read
their meanings from it."""
import richneuron as rn
from richneuron import report, schema, store


def test_every_written_column_is_documented_and_every_documented_column_is_written(tmp_path):
    ex = [rn.Experiment(archs=["vanilla", "v6"], tasks=["memorize", "spiral", "ood"], seed=[0], steps=2,
                        task_options={}, omega=[1.0]),
          rn.Experiment(archs="v1", tasks="nested2d", seed=[0], steps=2, options={"layernorm": False},
                        task_options={"k": 3.0})]
    res = rn.run(ex, cache_dir=tmp_path, progress=False, workers=1)
    cols = set(res.metrics.columns)
    assert set(schema.REQUIRED) <= cols and store.METRIC_FIELDS == schema.REQUIRED
    assert [c for c in cols if not schema.column_doc(c)] == []
    assert set(schema.COLUMNS) - cols == {"notebooks", "repeats"}     # added by the report when it publishes
    assert {"task.k", "opt.layernorm", "moved.meta", "in_range_mse", "test_accuracy"} <= cols
    assert dict(zip(*res.columns().T.values)) == {c: schema.column_doc(c) for c in res.metrics.columns}
    assert report.publish.column_doc is schema.column_doc
    assert schema.column_order(list(res.metrics.columns))[:3] == ["arch", "task", "width"]
