"""Speed benchmark: engine vs a plain one-model-at-a-time PyTorch loop, and vs this machine's limit.

    python -m richneuron.bench [--steps 300] [--json build/bench.json] [--render paper] [--update-readme]
    python -m richneuron.bench --costs [--render paper]      # only what the report pays, no measurement

For each reference configuration (depth 2, 5,000-parameter budget, 16 seeds) it measures
model-steps per second of (a) the engine's stacked training (`engine.train_stack`, with its
default instrumentation, logging at the report's interval LOG_EVERY) and (b) a plain loop that trains the same 16 models one after the
other with `torch.optim.Adam`. The machine limit of a configuration is estimated from its work
per model-step (matmul FLOPs counted by `torch.utils.flop_counter.FlopCounterMode`, and the
sin/cos/tanh/sigmoid evaluations counted in the same forward+backward pass) at this machine's
measured float32 GEMM rate and sine rate (`ops.sin`, the kernel the neurons use), both measured
in the same run.

What the report pays (`purpose_costs`): the core-seconds of a render's published results
(`--render DIR`, default paper/: its results.csv.gz, one row per trained replica) summed per purpose
by PURPOSE_RULE, each trained replica counted once, so the next speed-up can be aimed at the
largest purpose.

That limit prices every FLOP at the rate of one large (1024²) GEMM. The engine's products are small
batched ones (16 replicas × a few hundred points × a width of 30–60), which the BLAS runs more
slowly. `gemm_ceiling` measures how much more slowly: it records the matrix products of one stacked
training step and times each, alone, at its own shapes and strides. The ceiling it reports is the
rate of an engine whose step were nothing but those products and its sines: no elementwise work, no
autograd, no Python. No engine built on these kernels can pass it; its share of the limit says how
much of the limit such an engine could reach at all.
"""
import argparse
import json
import os
import re
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from . import models, ops, protocol, tasks
from .pool import keep_heap, lease
from .experiment import log_interval
from .train import stack_loss, train_stack
from .provenance import provenance

CONFIGS = [("singlu", "memorize"), ("singlu", "spiral"), ("v15", "complex4d")]
# The report's history interval: the bench's shorter runs log at the same interval, so logging
# costs the same share of a step as in the report.
LOG_EVERY = log_interval(protocol.STEPS)
BUDGET, DEPTH, SEEDS = protocol.BUDGET, protocol.DEPTH, 16
TRANSCENDENTAL = {"sin", "cos", "tanh", "sigmoid", "exp", "log1p", "softplus"}


class _CountTranscendentals(TorchDispatchMode):
    """Counts elements produced by transcendental aten ops (forward and backward)."""

    def __init__(self):
        super().__init__()
        self.evals = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func.overloadpacket.__name__.rstrip("_") in TRANSCENDENTAL:
            self.evals += out.numel()
        return out


def _work_per_step(arch, task):
    """(matmul FLOPs, transcendental evaluations) of one forward+backward of one model."""
    return _work_of(models.build_model(arch, task.in_dim, task.out_dim, budget=BUDGET, depth=DEPTH, seed=0), task)


def _work_of(model, task):
    """(matmul FLOPs, transcendental evaluations) of one forward+backward of `model` on `task`."""
    loss_fn = stack_loss(task.kind)
    flops, trans = FlopCounterMode(display=False), _CountTranscendentals()
    with flops, trans, ops.use_numpy(False):          # torch's kernels, so the mode sees them
        loss_fn(model(task.x_train)[None], task.y_train).sum().backward()
    return flops.get_total_flops(), trans.evals


class _RecordProducts(TorchDispatchMode):
    """Records the matrix products (mm, bmm, addmm, baddbmm, and the in-place addmm_, baddbmm_ that
    accumulate into a gradient) that run under it: the op and its
    arguments, tensors as (size, stride, dtype)."""

    OPS = {"mm", "bmm", "addmm", "baddbmm", "addmm_", "baddbmm_"}

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func.overloadpacket.__name__ in self.OPS:
            spec = tuple(("tensor", tuple(a.shape), a.stride(), a.dtype) if isinstance(a, torch.Tensor) else a
                         for a in args)
            self.calls.append((func, spec, tuple(sorted((kwargs or {}).items()))))
        return func(*args, **(kwargs or {}))


def _products_per_step(arch, task, seeds):
    """{(op, argument specs, kwargs): calls} of one training step of the engine's stack of `seeds`
    replicas: the products of a 3-step run minus those of a 1-step run (both log at step 0 and
    evaluate once at the end), halved."""
    runs = []
    for steps in (1, 3):
        ms = [models.build_model(arch, task.in_dim, task.out_dim, budget=BUDGET, depth=DEPTH, seed=s)
              for s in range(seeds)]
        with _RecordProducts() as rec:
            train_stack(ms, task, steps, 1e-3, log_every=LOG_EVERY)
        runs.append(Counter(rec.calls))
    diff = runs[1] - runs[0]
    if any(n % 2 for n in diff.values()) or runs[0] - runs[1]:
        raise RuntimeError(f"the products of two training steps differ: {diff}")
    return {call: n // 2 for call, n in diff.items()}


def _replay(func, spec, kwargs, gen):
    """`func` on fresh random tensors of the recorded sizes and strides (expanded ones stay expanded)."""
    def make(a):
        if not (isinstance(a, tuple) and a and a[0] == "tensor"):
            return a
        _, size, stride, dtype = a
        extent = 1 + sum((n - 1) * st for n, st in zip(size, stride))
        return torch.empty(extent, dtype=dtype).normal_(generator=gen).as_strided(size, stride)
    args = [make(a) for a in spec]
    return lambda: func(*args, **dict(kwargs))


def gemm_ceiling(arch, task, sin_per_core, seeds=SEEDS, workers=None):
    """The engine's ceiling at its own shapes: model-steps/s of `workers` one-thread cells whose
    training step were only its matrix products (each timed alone, best of three, at the sizes and
    strides recorded in a real step of `seeds` replicas) and its transcendental evaluations at the
    per-core sine rate `sin_per_core`. Returns the products per step, their seconds and FLOP rate
    (one thread) and the ceiling."""
    workers = workers or os.cpu_count() or 1
    gen = torch.Generator().manual_seed(0)
    flops, trans = _work_per_step(arch, task)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        calls = _products_per_step(arch, task, seeds)
        seconds = 0.0
        for (func, spec, kwargs), n in calls.items():
            fn = _replay(func, spec, kwargs, gen)
            seconds += n * min(1.0 / _rate(fn, 1.0, 0.1) for _ in range(3))
    finally:
        torch.set_num_threads(old)
    step = seconds + seeds * trans / sin_per_core
    return {"products_per_step": sum(calls.values()), "product_seconds_per_step": seconds,
            "product_gflops_at_shapes": seeds * flops / seconds / 1e9,
            "ceiling_model_steps_per_s": workers * seeds / step}


def _rate(fn, work, min_seconds=0.5):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        fn()
        n += 1
    return work * n / (time.perf_counter() - t0)


def machine_rates():
    """(float32 GEMM FLOP/s with torch's threads, sine evaluations/s of `ops.sin` on all cores)
    on this machine. NumPy's sine runs on one thread: its rate is measured on one core and
    counted once per core (the machine's, not one process's, limit)."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    gemm = _rate(lambda: torch.mm(a, b), 2 * 1024 ** 3)
    x = torch.randn(1 << 20)
    sin = _rate(lambda: ops.sin(x), x.numel()) * (os.cpu_count() or 1)
    return gemm, sin


def plain_loop(arch, task, steps, seeds):
    """Model-steps per second of a plain loop training `seeds` models one after the other."""
    lossf = torch.nn.functional.mse_loss if task.kind == "regression" else torch.nn.functional.cross_entropy
    t0 = time.perf_counter()
    for s in range(seeds):
        m = models.build_model(arch, task.in_dim, task.out_dim, budget=BUDGET, depth=DEPTH, seed=s)
        opt = torch.optim.Adam(m.parameters(), lr=1e-3)
        for _ in range(steps):
            opt.zero_grad()
            lossf(m(task.x_train), task.y_train).backward()
            opt.step()
    return seeds * steps / (time.perf_counter() - t0)


def engine(arch, task, steps, seeds, device="cpu"):
    """Model-steps per second of the engine's stacked training of `seeds` replicas, one cell with
    this process's threads."""
    build = lambda: [models.build_model(arch, task.in_dim, task.out_dim, budget=BUDGET, depth=DEPTH, seed=s)
                     for s in range(seeds)]
    train_stack(build(), task, 3, 1e-3, device=device)        # warm-up (allocator, kernels)
    ms = build()
    t0 = time.perf_counter()
    train_stack(ms, task, steps, 1e-3, log_every=LOG_EVERY, device=device)
    return seeds * steps / (time.perf_counter() - t0)


def timed_cell(arch, task_name, steps, seeds):
    """In a pool worker: (start, end) wall-clock times of training one `seeds`-replica cell."""
    task = tasks.make(task_name)
    build = lambda: [models.build_model(arch, task.in_dim, task.out_dim, budget=BUDGET, depth=DEPTH, seed=s)
                     for s in range(seeds)]
    train_stack(build(), task, 3, 1e-3)
    ms = build()
    t0 = time.time()
    train_stack(ms, task, steps, 1e-3, log_every=LOG_EVERY)
    return t0, time.time()


def engine_pool(arch, task_name, steps, seeds, workers):
    """Model-steps per second of the engine as `run` schedules it: `workers` cells of `seeds`
    replicas at once, one per worker process with one thread each (the default pool)."""
    with lease(workers, 1) as pool:
        list(pool.map(time.sleep, [0.1] * workers))               # workers started and imported
        from richneuron.bench import timed_cell as timed   # by its module's name, also under `python -m`
        spans = list(pool.map(timed, *zip(*[(arch, task_name, steps, seeds)] * workers)))
    return workers * seeds * steps / (max(e for _, e in spans) - min(s for s, _ in spans))


def run(steps=300, plain_seeds=4, device="cpu", repeats=2):
    """The benchmark; each rate is the best of `repeats` measurements (the machine may be shared)."""
    from .experiment import check_device
    device = check_device(device)
    keep_heap()                                 # the heap settings of the engine's workers
    workers = os.cpu_count() or 1
    gemm, sin = machine_rates()
    rows = []
    best = lambda f: max(f() for _ in range(repeats))
    for arch, name in CONFIGS:
        task = tasks.make(name)
        flops, trans = _work_per_step(arch, task)
        limit = 1.0 / (flops / gemm + trans / sin)
        e = best(lambda: engine(arch, task, steps, SEEDS, device))
        pool = best(lambda: engine_pool(arch, name, steps, SEEDS, workers)) if device == "cpu" else float("nan")
        p = best(lambda: plain_loop(arch, task, steps, plain_seeds))   # per-model rate
        ceil = gemm_ceiling(arch, task, sin / workers, workers=workers) if device == "cpu" else {}
        rows.append({**ceil, "config": f"{arch} on {name}", "n_train": len(task.x_train),
                     "mflop_per_step": flops / 1e6, "transcendentals_per_step": trans,
                     "engine_model_steps_per_s": e, "engine_pool_model_steps_per_s": pool,
                     "plain_model_steps_per_s": p, "speedup": e / p, "pool_speedup": pool / p,
                     "limit_model_steps_per_s": limit, "fraction_of_limit": e / limit,
                     "pool_fraction_of_limit": pool / limit})
    return {"rows": rows, "gemm_gflops": gemm / 1e9, "sin_gevals_per_s": sin / 1e9, "device": device,
            "workers": workers, "steps": steps, "seeds": SEEDS, "provenance": provenance()}


def table(result):
    p = result["provenance"]
    lines = [f"Machine: {p['cpu']}, {p['cpu_count']} cores, torch {p['torch']} with {p['torch_threads']} threads, "
             f"device {result.get('device', 'cpu')}; measured GEMM {result['gemm_gflops']:.1f} GFLOP/s (float32), "
             f"sine (NumPy, all cores) {result['sin_gevals_per_s']:.2f} G evals/s; {result['steps']} steps, "
             f"{result['seeds']} seeds, {p['date'][:10]}.", "",
             "| configuration | MFLOP / model-step | engine, one cell (model-steps/s) "
             f"| engine, {result.get('workers', 1)} cells at once as `run` schedules them | plain loop (model-steps/s) "
             "| speedup (one cell; as run) | est. limit (model-steps/s) | engine / limit (one cell; as run) "
             "| ceiling at these shapes: products only (GFLOP/s per core; model-steps/s; / limit) "
             "| engine as run / ceiling |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    nan = float("nan")
    for r in result["rows"]:
        pool = r.get("engine_pool_model_steps_per_s", nan)
        ceil = r.get("ceiling_model_steps_per_s", nan)
        lines.append(f"| {r['config']} | {r['mflop_per_step']:.2f} | {r['engine_model_steps_per_s']:,.0f} | "
                     f"{pool:,.0f} | {r['plain_model_steps_per_s']:,.0f} | "
                     f"{r['speedup']:.2f}×; {r.get('pool_speedup', nan):.2f}× | "
                     f"{r['limit_model_steps_per_s']:,.0f} | {100 * r['fraction_of_limit']:.0f}%; "
                     f"{100 * r.get('pool_fraction_of_limit', nan):.0f}% | "
                     f"{r.get('product_gflops_at_shapes', nan):.0f}; {ceil:,.0f}; "
                     f"{100 * ceil / r['limit_model_steps_per_s']:.0f}% | {100 * pool / ceil:.0f}% |")
    if any("ceiling_model_steps_per_s" in r for r in result["rows"]):
        lines += ["", "The ceiling: the rate of one-thread cells on every core whose training step were only "
                  "its matrix products, each timed alone at the shapes and strides recorded in a real step, "
                  "and its sines (see the module docstring). No engine built on these kernels passes it."]
    rep = result.get("report")
    if rep:
        lines += ["", f"Full report ({rep['source']}): {rep['model_steps'] / 1e6:,.1f} M model-steps in "
                  f"{rep['cells']:,} cells; at this machine's estimated limit they would take "
                  f"{rep['limit_seconds'] / 60:.1f} min; the run took {rep['wall_seconds'] / 60:.1f} min "
                  f"({rep['training_seconds'] / 60:.1f} min of it training): "
                  f"{100 * rep['fraction_of_limit']:.0f}% of the limit over the whole run, "
                  f"{100 * rep['training_fraction_of_limit']:.0f}% over its training time."]
    elif "report" in result:
        lines += ["", "Full report: no cells of a full `make report` in build/cache to count."]
    if result.get("costs"):
        lines += ["", costs_table(result["costs"])]
    dk = result.get("dask")
    if dk:
        lines += ["", f"Dask vs the engine's pool ({dk['cells']} cells, {dk['model_steps'] / 1e6:.1f} M model-steps, "
                  f"{result.get('workers', 1)} one-thread workers each): pool {dk['pool_seconds']:.1f} s, "
                  f"Dask {dk['dask_seconds']:.1f} s with the engine's heap settings, "
                  f"{dk['dask_without_heap_settings_seconds']:.1f} s without."]
    return "\n".join(lines)


def full_report(gemm, sin, root=Path(".")):
    """Total model-steps of the last full report (its cells in build/cache, those named by the
    executed notebooks' results) and the share of this machine's limit it reached, from each
    cell's work per model-step (`_work_per_step`, once per shape) and the report's runtimes."""
    runtimes = root / "build" / "full" / "runtimes.json"
    cache = root / "build" / "cache"
    if not runtimes.exists() or not cache.exists():
        return None
    wall = json.loads(runtimes.read_text())["total_seconds"]
    started = runtimes.stat().st_mtime - wall
    work, steps, cells, limit_s, train_s = {}, 0, 0, 0.0, 0.0
    for f in cache.glob("*.json"):
        doc = json.loads(f.read_text())
        cfg, prov = doc["config"], doc["provenance"]
        if not (started - 60 <= f.stat().st_mtime <= runtimes.stat().st_mtime + 60):
            continue                                  # a cell of another run
        if "stacks" in prov:
            continue                                  # assembled from replicas trained in stacks (counted there)
        shape = json.dumps({k: cfg[k] for k in ("arch", "task", "width", "depth", "options", "task_options")},
                           sort_keys=True)
        if shape not in work:
            task = tasks.make(cfg["task"], **cfg["task_options"])
            model = models.build_model(cfg["arch"], task.in_dim, task.out_dim, width=cfg["width"],
                                       depth=cfg["depth"], **cfg["options"])
            work[shape] = _work_of(model, task)
        n = len(doc["metrics"]) * cfg["steps"]
        fl, tr = work[shape]
        steps += n
        cells += 1
        limit_s += n * (fl / gemm + tr / sin)
        train_s += prov.get("wall_seconds", 0.0)
    if not cells:
        return None
    workers = os.cpu_count() or 1
    return {"source": f"{cells} cells trained during the last `make report`", "cells": cells,
            "model_steps": steps, "limit_seconds": limit_s, "wall_seconds": wall,
            "training_seconds": train_s / workers, "fraction_of_limit": limit_s / wall,
            "training_fraction_of_limit": limit_s / max(train_s / workers, 1e-9)}


def dask_vs_pool(steps=300):
    """Seconds to train one grid (4 archs × 2 tasks, 16 seeds) through the engine's own pool and
    through a local Dask cluster of as many one-thread workers, with and without the engine's heap
    settings on the Dask workers (`cluster.HeapPlugin`). Results are identical (tested)."""
    from distributed import Client, LocalCluster

    from . import engine as eng
    from .cluster import dask_executor
    from .experiment import Experiment
    workers = os.cpu_count() or 1
    ex = Experiment(archs=["vanilla", "singlu", "v10", "v15"], tasks=["memorize", "spiral"],
                    seed=list(range(SEEDS)), steps=steps)
    warm = Experiment(archs=["vanilla", "singlu"], tasks="memorize", seed=[0], steps=3)
    out = {}
    eng.run(warm, progress=False, workers=workers)
    t0 = time.perf_counter()
    eng.run(ex, progress=False, workers=workers)
    out["pool_seconds"] = time.perf_counter() - t0
    for name, plugin in (("dask_seconds", True), ("dask_without_heap_settings_seconds", False)):
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cl, \
                Client(cl) as client:
            executor = dask_executor(client) if plugin else client.get_executor()
            eng.run(warm, progress=False, executor=executor)
            t0 = time.perf_counter()
            eng.run(ex, progress=False, executor=executor)
            out[name] = time.perf_counter() - t0
    out["cells"], out["model_steps"] = len(ex.cells), ex.model_steps
    return out


# ----------------------------------------------------------------------------- what the report pays

PURPOSES = ("study protocol", "robustness checks", "calibration", "tuning", "real data", "main grid", "protocol space",
            "sweeps")
PURPOSE_RULE = (
    "Each trained cell (its replicas train together) gets the first purpose it meets: study protocol (read only by "
    "the finding notebooks run again at the study's likeliest protocol, `<notebook>@study`, their checks included); "
    "robustness checks (a replica "
    "with perturb > 0, or kernels = torch, the check of renders before the one-ulp perturbation); calibration (read "
    "by notebook 00_methods only); tuning (trained on a validation share: task.validation > 0); real data (a real "
    "task); main grid (every replica at the default protocol: budget, depth, steps and lr of defaults.py, meta_lr_scale "
    "1, no neuron or task option and no omega set); protocol space (read by notebook 08_protocol_space); sweeps "
    "(everything else: the findings' off-default runs). A replica's cost is its wall_seconds (its cell's training "
    "time over its replicas, one core per cell), counted once however many notebooks read it.")


def _default_protocol(results):
    """Per replica (a boolean Series): trained at the default protocol (PURPOSE_RULE's main grid)."""
    r = results
    ok = (r["budget"] == protocol.BUDGET) & (r["depth"] == protocol.DEPTH) & (r["steps"] == protocol.STEPS)
    ok &= np.isclose(r["lr"].astype(float), protocol.LR, rtol=1e-9, atol=0)
    if "meta_lr_scale" in r:
        ok &= r["meta_lr_scale"].fillna(1.0) == 1.0
    for c in r.columns:
        if c.startswith(("opt.", "task.")) or c == "omega":
            ok &= r[c].isna()
    return ok


def purposes(results):
    """PURPOSE_RULE: the purpose of each row of a render's results (`results.csv.gz`), a Series
    aligned with `results`. Needs the columns cell, notebooks, task, steps, lr, budget, depth."""
    need = ["cell", "notebooks", "task", "steps", "lr", "budget", "depth", "wall_seconds"]
    missing = [c for c in need if c not in results]
    if missing:
        raise ValueError(f"the results lack column(s) {', '.join(missing)}; a render's results.csv.gz has them")
    r = results
    check = r["perturb"].fillna(0) > 0 if "perturb" in r else pd.Series(False, index=r.index)
    if "kernels" in r:
        check |= r["kernels"] == "torch"
    validation = r["task.validation"].fillna(0) > 0 if "task.validation" in r else pd.Series(False, index=r.index)
    flags = pd.DataFrame({"cell": r["cell"], "check": check, "validation": validation,
                          "real": r["task"].isin(tasks.available("real")), "default": _default_protocol(r),
                          "readers": r["notebooks"].fillna("").str.split(",")})
    per_cell = flags.groupby("cell").agg(check=("check", "any"), validation=("validation", "any"),
                                         real=("real", "any"), default=("default", "all"),
                                         readers=("readers", lambda v: set().union(*v) - {""}))

    def purpose(c):
        if c["readers"] and all(n.endswith("@study") for n in c["readers"]):
            return "study protocol"
        if c["check"]:
            return "robustness checks"
        if c["readers"] == {"00_methods"}:
            return "calibration"
        if c["validation"]:
            return "tuning"
        if c["real"]:
            return "real data"
        if c["default"]:
            return "main grid"
        return "protocol space" if "08_protocol_space" in c["readers"] else "sweeps"
    return r["cell"].map(per_cell.apply(purpose, axis=1))


def purpose_costs(results):
    """Core-seconds per purpose (PURPOSE_RULE) of a render's results, each replica (cell, replica)
    once: purpose, cells, replicas, model_steps, core_seconds, share (of all core-seconds), largest
    first; the purposes with no replica left out."""
    r = results.drop_duplicates(["cell", "replica"]) if "replica" in results else results
    r = r.assign(purpose=purposes(r), model_steps=r["steps"].astype(int))
    t = r.groupby("purpose").agg(cells=("cell", "nunique"), replicas=("cell", "size"),
                                 model_steps=("model_steps", "sum"), core_seconds=("wall_seconds", "sum"))
    t = t.reindex([p for p in PURPOSES if p in t.index]).reset_index()
    t["share"] = t["core_seconds"] / t["core_seconds"].sum()
    return t.sort_values("core_seconds", ascending=False, kind="stable").reset_index(drop=True)


def render_costs(render="paper"):
    """`purpose_costs` of the render in directory `render` (its results.csv.gz), with its source;
    None when it has no results."""
    path = Path(render) / "results.csv.gz"
    if not path.exists():
        return None
    t = purpose_costs(pd.read_csv(path, low_memory=False))
    return {"source": str(path), "rows": t.to_dict("records")}


def costs_table(costs):
    """The full-report line: core-seconds per purpose as a markdown table, the largest named."""
    rows = costs["rows"]
    total = sum(r["core_seconds"] for r in rows)
    lines = [f"What the report pays ({costs['source']}): {total:,.0f} core-seconds of training in "
             f"{sum(r['replicas'] for r in rows):,} replicas ({sum(r['cells'] for r in rows):,} cells), each counted "
             f"once; largest purpose: {rows[0]['purpose']} ({100 * rows[0]['share']:.0f}%).", "",
             "| purpose | cells | replicas | M model-steps | core-seconds | share | core-µs per model-step |",
             "|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['purpose']} | {r['cells']:,} | {r['replicas']:,} | {r['model_steps'] / 1e6:,.2f} | "
                     f"{r['core_seconds']:,.0f} | {100 * r['share']:.1f}% | "
                     f"{1e6 * r['core_seconds'] / r['model_steps']:,.0f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="training steps per measurement")
    ap.add_argument("--json", default="build/bench.json", help="where to store the raw result")
    ap.add_argument("--device", default="cpu", help="device of the one-cell measurement (cpu, cuda)")
    ap.add_argument("--dask", action="store_true", help="also time one grid through a local Dask cluster "
                    "and through the engine's own pool")
    ap.add_argument("--render", default="paper", help="a render's directory: its results.csv.gz gives the "
                    "core-seconds per purpose the report pays (default: paper)")
    ap.add_argument("--costs", action="store_true", help="print only the core-seconds per purpose of --render "
                    "(no measurement)")
    ap.add_argument("--update-readme", action="store_true", help="rewrite the README's benchmark table")
    a = ap.parse_args(argv)
    if a.costs:
        costs = render_costs(a.render)
        if costs is None:
            raise SystemExit(f"{a.render} holds no results.csv.gz (a render's published results)")
        print(costs_table(costs))
        return
    result = run(a.steps, device=a.device)
    result["report"] = full_report(result["gemm_gflops"] * 1e9, result["sin_gevals_per_s"] * 1e9)
    result["costs"] = render_costs(a.render)
    if a.dask:
        result["dask"] = dask_vs_pool()
    text = table(result)
    print(text)
    Path(a.json).parent.mkdir(parents=True, exist_ok=True)
    Path(a.json).write_text(json.dumps(result, indent=1))
    if a.update_readme:
        readme = Path("README.md")
        s = readme.read_text()
        new, n = re.subn(r"(<!-- bench:start -->\n).*?(<!-- bench:end -->)", lambda m: m[1] + text + "\n" + m[2],
                         s, flags=re.S)
        if not n:
            raise SystemExit("README.md has no <!-- bench:start --> ... <!-- bench:end --> markers")
        readme.write_text(new)


if __name__ == "__main__":
    main()
