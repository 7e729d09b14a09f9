"""The benchmark's full-report line: model-steps and limit time recomputed by hand from the cells."""
import json

import pytest

import richneuron as rn
from richneuron import bench
from richneuron.provenance import provenance


def test_full_report_counts_the_cells_of_the_last_run(tmp_path):
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks="memorize", seeds=[0, 1], data_seed=[0, 1], steps=7)
    rn.run(ex, cache_dir=tmp_path / "build" / "cache", progress=False, workers=1)
    (tmp_path / "build" / "full").mkdir(parents=True)
    (tmp_path / "build" / "full" / "runtimes.json").write_text(json.dumps({"total_seconds": 30.0}))
    gemm, sin = 1e11, 1e9
    rep = bench.full_report(gemm, sin, root=tmp_path)
    assert rep["cells"] == 2 and rep["model_steps"] == 2 * 4 * 7
    task = rn.tasks.make("memorize")
    want = 0.0
    for arch in ("vanilla", "singlu"):
        fl, tr = bench._work_per_step(arch, task)       # budget 5000, depth 2: the cells' widths
        want += 4 * 7 * (fl / gemm + tr / sin)
    assert rep["limit_seconds"] == pytest.approx(want, rel=1e-12)
    assert rep["fraction_of_limit"] == pytest.approx(want / 30.0)
    text = bench.table({"rows": [], "gemm_gflops": 100, "sin_gevals_per_s": 1, "steps": 7, "seeds": 16,
                        "provenance": provenance(), "report": rep})
    assert "Full report" in text and f"{100 * rep['fraction_of_limit']:.0f}% of the limit" in text
