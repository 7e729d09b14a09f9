"""Speed benchmark: engine vs a plain one-model-at-a-time PyTorch loop, and vs this machine's limit.

    python -m richneuron.bench [--steps 300] [--json build/bench.json] [--update-readme]

For each reference configuration (depth 2, 5,000-parameter budget, 16 seeds) it measures
model-steps per second of (a) the engine's stacked training (`engine.train_stack`, with its
default instrumentation) and (b) a plain loop that trains the same 16 models one after the
other with `torch.optim.Adam`. The machine limit of a configuration is estimated from its work
per model-step (matmul FLOPs counted by `torch.utils.flop_counter.FlopCounterMode`, and the
sin/cos/tanh/sigmoid evaluations counted in the same forward+backward pass) at this machine's
measured float32 GEMM rate and sine rate (`ops.sin`, the kernel the neurons use), both measured
in the same run.
"""
import argparse
import json
import re
import time
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import FlopCounterMode

from . import models, ops, tasks
from .train import _loss_fn, train_stack
from .provenance import provenance

CONFIGS = [("singlu", "memorize"), ("singlu", "spiral"), ("v15", "complex4d")]
BUDGET, DEPTH, SEEDS = 5000, 2, 16
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
    model = models.build_model(arch, task.in_dim, task.out_dim, budget=BUDGET, depth=DEPTH, seed=0)
    loss_fn = _loss_fn(task.kind)
    flops, trans = FlopCounterMode(display=False), _CountTranscendentals()
    with flops, trans, ops.use_numpy(False):          # torch's kernels, so the mode sees them
        loss_fn(model(task.x_train)[None], task.y_train).sum().backward()
    return flops.get_total_flops(), trans.evals


def _rate(fn, work, min_seconds=0.5):
    fn()
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < min_seconds:
        fn()
        n += 1
    return work * n / (time.perf_counter() - t0)


def machine_rates():
    """(float32 GEMM FLOP/s, sine evaluations/s of `ops.sin`) on this machine, current thread count."""
    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    gemm = _rate(lambda: torch.mm(a, b), 2 * 1024 ** 3)
    x = torch.randn(1 << 20)
    sin = _rate(lambda: ops.sin(x), x.numel())
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


def engine(arch, task, steps, seeds):
    """Model-steps per second of the engine's stacked training of `seeds` replicas."""
    build = lambda: [models.build_model(arch, task.in_dim, task.out_dim, budget=BUDGET, depth=DEPTH, seed=s)
                     for s in range(seeds)]
    train_stack(build(), task, 3, 1e-3)                       # warm-up (vmap tracing, allocator)
    ms = build()
    t0 = time.perf_counter()
    train_stack(ms, task, steps, 1e-3)
    return seeds * steps / (time.perf_counter() - t0)


def run(steps=300, plain_seeds=4):
    gemm, sin = machine_rates()
    rows = []
    for arch, name in CONFIGS:
        task = tasks.make(name)
        flops, trans = _work_per_step(arch, task)
        limit = 1.0 / (flops / gemm + trans / sin)
        e = engine(arch, task, steps, SEEDS)
        p = plain_loop(arch, task, steps, plain_seeds)     # per-model rate; the 16 would take 16/4 as long
        rows.append({"config": f"{arch} on {name}", "n_train": len(task.x_train),
                     "mflop_per_step": flops / 1e6, "transcendentals_per_step": trans,
                     "engine_model_steps_per_s": e, "plain_model_steps_per_s": p,
                     "speedup": e / p, "limit_model_steps_per_s": limit, "fraction_of_limit": e / limit})
    return {"rows": rows, "gemm_gflops": gemm / 1e9, "sin_gevals_per_s": sin / 1e9,
            "steps": steps, "seeds": SEEDS, "provenance": provenance()}


def table(result):
    p = result["provenance"]
    lines = [f"Machine: {p['cpu']}, {p['cpu_count']} cores, torch {p['torch']} with {p['torch_threads']} threads; "
             f"measured GEMM {result['gemm_gflops']:.1f} GFLOP/s (float32), sine (NumPy) "
             f"{result['sin_gevals_per_s']:.2f} G evals/s; {result['steps']} steps, {result['seeds']} seeds, "
             f"{p['date'][:10]}.", "",
             "| configuration | MFLOP / model-step | engine (model-steps/s) | plain loop (model-steps/s) "
             "| speedup | est. limit (model-steps/s) | engine / limit |",
             "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        lines.append(f"| {r['config']} | {r['mflop_per_step']:.2f} | {r['engine_model_steps_per_s']:,.0f} | "
                     f"{r['plain_model_steps_per_s']:,.0f} | {r['speedup']:.2f}× | "
                     f"{r['limit_model_steps_per_s']:,.0f} | {100 * r['fraction_of_limit']:.0f}% |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=300, help="training steps per measurement")
    ap.add_argument("--json", default="build/bench.json", help="where to store the raw result")
    ap.add_argument("--update-readme", action="store_true", help="rewrite the README's benchmark table")
    a = ap.parse_args(argv)
    result = run(a.steps)
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
