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


@pytest.mark.parametrize("arch, name, per_step", [("singlu", "memorize", 13), ("v15", "complex4d", 18)])
def test_ceiling_records_one_steps_products_as_counted_by_hand(arch, name, per_step):
    """A depth-2 stack: forward, one product per matrix (SinGLU: Wg, Wv per layer and the head: 5;
    v15 adds Wφ: 7); backward, the weight gradient of each and the input gradient of all but the
    first layer's (SinGLU 2 + 4 + 2 = 8; v15 2 + 6 + 3 = 11). Their FLOPs are the stack's: the
    seeds × one model's forward+backward FLOPs that torch's FlopCounterMode counts."""
    task = rn.tasks.make(name)
    calls = bench._products_per_step(arch, task, seeds=3)
    assert sum(calls.values()) == per_step
    flops = 0
    for (func, spec, _), n in calls.items():
        a, b = [x for x in spec if isinstance(x, tuple) and x[0] == "tensor"][-2:]
        (batch, rows, inner), (_, inner2, cols) = a[1], b[1]
        assert inner == inner2
        flops += n * 2 * batch * rows * inner * cols
    assert flops == 3 * bench._work_per_step(arch, task)[0]
    ceil = bench.gemm_ceiling(arch, task, sin_per_core=float("inf"), seeds=3, workers=2)
    assert ceil["ceiling_model_steps_per_s"] == pytest.approx(2 * 3 / ceil["product_seconds_per_step"])
    row = {"config": "x", "mflop_per_step": 1.0, "engine_model_steps_per_s": 1.0, "engine_pool_model_steps_per_s": 2.0,
           "plain_model_steps_per_s": 1.0, "speedup": 1.0, "pool_speedup": 2.0, "limit_model_steps_per_s": 8.0,
           "fraction_of_limit": 0.125, "pool_fraction_of_limit": 0.25, **ceil, "ceiling_model_steps_per_s": 4.0}
    text = bench.table({"rows": [row], "gemm_gflops": 100, "sin_gevals_per_s": 1, "steps": 7, "seeds": 3,
                        "provenance": provenance()})
    assert "; 4; 50% | 50% |" in text and "No engine built on these kernels passes it" in text
