"""The benchmark's full-report line: model-steps and limit time recomputed by hand from the cells."""
import json

import pandas as pd
import pytest

import richneuron as rn
from richneuron import bench
from richneuron.provenance import provenance


def test_full_report_counts_the_cells_of_the_last_run(tmp_path):
    ex = rn.Experiment(archs=["vanilla", "singlu"], tasks="memorize", seed=[0, 1], data_seed=[0, 1], steps=7)
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


def test_purpose_costs_sum_each_replica_once_by_hand():
    from richneuron import protocol
    base = dict(task="spiral", budget=protocol.BUDGET, depth=protocol.DEPTH, steps=protocol.STEPS, lr=protocol.LR,
                meta_lr_scale=1.0, kernels="numpy", perturb=0, omega=float("nan"), **{"task.validation": float("nan")})
    rows = [  # (cell, replica, wall_seconds, notebooks, changes)
        ("main", 0, 1.0, "02_no_universal_neuron,08_protocol_space", {}),
        ("main", 1, 2.0, "02_no_universal_neuron", {}),
        ("main", 1, 2.0, "02_no_universal_neuron", {}),                          # the same replica again
        ("mixed", 0, 4.0, "02_no_universal_neuron", {}),                         # a cell with one lr off default
        ("mixed", 1, 8.0, "02_no_universal_neuron", {"lr": 1e-2}),
        ("space", 0, 16.0, "08_protocol_space", {"budget": 1000}),
        ("check", 0, 32.0, "02_no_universal_neuron", {"perturb": 1}),
        ("oldcheck", 0, 64.0, "00_methods", {"kernels": "torch"}),               # a check before calibration
        ("calib", 0, 128.0, "00_methods", {"task.validation": 0.25}),
        ("tune", 0, 256.0, "07_peers", {"task.validation": 0.25}),
        ("real", 0, 512.0, "09_real_data", {"task": "digits"}),
        ("omega", 0, 1024.0, "05_frequency_generalization", {"omega": 3.0}),
        ("study", 0, 2048.0, "01_memorization@study,02_no_universal_neuron@study", {"steps": 99}),
        ("studycheck", 0, 4096.0, "01_memorization@study", {"steps": 99, "perturb": 1}),
        ("shared", 0, 8192.0, "01_memorization@study,01_memorization", {"lr": 3e-3}),   # read at ours too
    ]
    df = pd.DataFrame([{**base, "cell": c, "replica": k, "wall_seconds": w, "notebooks": n, **ch}
                       for c, k, w, n, ch in rows])
    t = bench.purpose_costs(df).set_index("purpose")
    want = {"main grid": 3.0, "sweeps": 12.0 + 1024.0 + 8192.0, "protocol space": 16.0, "robustness checks": 32.0 + 64.0,
            "calibration": 128.0, "tuning": 256.0, "real data": 512.0, "study protocol": 2048.0 + 4096.0}
    assert t["core_seconds"].to_dict() == want
    assert t.loc["sweeps", "cells"] == 3 and t.loc["sweeps", "replicas"] == 4 and t.loc["main grid", "replicas"] == 2
    assert t.loc["main grid", "model_steps"] == 2 * protocol.STEPS
    assert t["share"].sum() == pytest.approx(1.0) and list(t.index)[0] == "sweeps"
    text = bench.costs_table({"source": "x", "rows": t.reset_index().to_dict("records")})
    assert f"{sum(want.values()):,.0f} core-seconds" in text and "largest purpose: sweeps (" in text
    with pytest.raises(ValueError, match="notebooks"):
        bench.purpose_costs(df.drop(columns="notebooks"))
