"""The training engine: an `Experiment` grid, trained as stacked ensembles, cached, instrumented.

Protocol (the study's is unpublished, so this one is ours and recorded with every result):
full-batch Adam (default betas, eps 1e-8), constant learning rate, MSE for regression and
cross-entropy for classification, no clipping. A replica is one (arch, task, seed, ω, ...) run.

How it is fast. Replicas that share a shape (the seeds, ω values and learning rates of one arch,
width and task) form a *cell* and are trained as one ensemble. The neurons run a stack natively
(`neurons.Linear` becomes a batched matrix product when its weight has a leading replica axis),
so a cell is one ordinary forward and backward pass over parameters stacked along that axis:
no vmap, contiguous gradients. All parameters of a cell live in one flat vector and one Adam
with a per-element learning rate updates it in a few kernels: K independent Adams, each with
its own lr (Adam is elementwise). Cells are independent and run in parallel worker processes
with one torch thread each, through any `concurrent.futures.Executor` (a Dask
`Client().get_executor()` works the same way). The sine, cosine and tanh come from `ops` (NumPy's
SIMD kernels, several times faster than torch's on the CPU).

Equivalence with a plain loop. A replica ends with the final train loss of the same
`build_model(..., seed=seed)` trained alone by `torch.optim.Adam` on the same data: the only
difference is the order of float reductions inside the batched kernels, so the two agree to
~1e-6 relative after a few hundred steps (tested to 1e-4; in float64 to 1e-9). Over thousands of steps these
rounding differences can grow where training is chaotic (large lr, sine neurons at large ω),
to a few percent of the final loss in the worst cases we saw; the metrics of a replica are
still bit-identical from run to run on one machine and thread count.

Divergence. A replica whose loss becomes NaN or inf is stopped: its parameters are frozen at
their last finite values, its metrics are NaN and `diverged` is True; the other replicas of
the stack continue unaffected (their gradients and Adam states never mix with it).
"""
import atexit
import copy
import hashlib
import itertools
import json
import math
import multiprocessing
import os
import signal
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path

import pandas as pd
import torch
from torch.func import stack_module_state

from . import __version__, models, neurons, stats, tasks
from .provenance import provenance

__all__ = ["Experiment", "Results", "run", "run_cell", "train_stack"]

STAT_KEYS = ("alpha", "omega", "gate", "phase")


def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _positive(name, v, kind=(int, float)):
    if isinstance(v, bool) or not isinstance(v, kind) or not v > 0 or (isinstance(v, float) and not math.isfinite(v)):
        raise ValueError(f"{name} must be positive, got {v!r}")


@dataclass
class Experiment:
    """A grid of replicas. Any field given as a list is swept (cartesian product).

    archs, tasks: ids from `richneuron.neurons.available()` / `richneuron.tasks.available()`.
    seeds: model-initialisation seeds (the data come from `data_seed`, shared by the seeds).
    budget or width: give one; budget matching as in `build_model`.
    omega: ω for the archs that take it (ignored by vanilla); None keeps each neuron's default.
    options: other neuron options (e.g. {"init": "siren"}); each must be taken by at least one
      arch, and is passed to the archs that take it.
    task_options: generator options (e.g. {"turns": 3}); each must be taken by every task.
    meta_lr_scale: learning-rate multiplier for the "meta" parameters (phase, gate, frequency,
      v15's α/β/γ) relative to `lr`: the direct test of the "gradient competition" explanation.
    log_every: history interval in steps (None: about 30 points per run).
    threads: torch threads per cell (results are bit-identical for one machine and thread count).
    """

    archs: list
    tasks: list
    seeds: list = field(default_factory=lambda: [0, 1, 2, 3, 4])
    budget: object = 5000
    width: object = None
    depth: object = 2
    steps: object = 3000
    lr: object = 1e-3
    omega: object = None
    options: dict = field(default_factory=dict)
    task_options: dict = field(default_factory=dict)
    data_seed: object = 0
    meta_lr_scale: object = 1.0
    log_every: int = None
    threads: int = 1

    def __post_init__(self):
        self.archs, self.tasks, self.seeds = _as_list(self.archs), _as_list(self.tasks), _as_list(self.seeds)
        for a in self.archs:
            neurons.get(a)
        for t in self.tasks:
            tasks._get(t)
        if not self.archs or not self.tasks:
            raise ValueError("archs and tasks must not be empty")
        if not self.seeds:
            raise ValueError("seeds must not be empty: give at least one integer seed, e.g. [0, 1, 2, 3, 4]")
        for s in self.seeds:
            if isinstance(s, bool) or not isinstance(s, int) or s < 0:
                raise ValueError(f"seeds must be non-negative integers, got {s!r}")
        if (self.budget is None) == (self.width is None):
            raise ValueError("give exactly one of budget= or width=")
        for name in ("budget", "width", "depth", "steps"):
            for v in _as_list(getattr(self, name)) if getattr(self, name) is not None else []:
                _positive(name, v, int)
        for v in _as_list(self.lr):
            _positive("lr", v)
        for v in _as_list(self.meta_lr_scale):
            _positive("meta_lr_scale", v)
        for v in _as_list(self.data_seed):
            if isinstance(v, bool) or not isinstance(v, int) or v < 0:
                raise ValueError(f"data_seed must be a non-negative integer, got {v!r}")
        if self.omega is not None:
            for v in _as_list(self.omega):
                _positive("omega", v)
            if not any("omega" in models.options_of(a) for a in self.archs):
                raise ValueError(f"omega is taken by none of the archs {self.archs}")
        for k in self.options:
            if k == "omega":
                raise ValueError("give omega as Experiment(omega=...), not in options")
            if not any(k in models.options_of(a) for a in self.archs):
                valid = sorted({o for a in self.archs for o in models.options_of(a)} - {"omega"})
                raise ValueError(f"option {k!r} is taken by none of the archs {self.archs}; "
                                 f"valid options: {', '.join(valid) or 'none'}")
        for t in self.tasks:
            valid = tasks.options_of(t)
            bad = sorted(set(self.task_options) - set(valid))
            if bad:
                raise ValueError(f"task {t!r} takes no option {', '.join(map(repr, bad))}; "
                                 f"valid options: {', '.join(valid)}")
        if self.log_every is not None:
            _positive("log_every", self.log_every, int)
        _positive("threads", self.threads, int)
        # Build every cell once now, so that infeasible budgets fail before any training.
        self._cells = list(self._make_cells())

    def _make_cells(self):
        """One cell per (arch, task, swept value...) with the seeds, ω and lr values stacked in it."""
        def grid(d):
            keys = list(d)
            for combo in itertools.product(*(_as_list(d[k]) for k in keys)):
                yield dict(zip(keys, combo))
        size = lambda: {"budget": self.budget} if self.width is None else {"width": self.width}
        for arch, task in itertools.product(self.archs, self.tasks):
            taken = models.options_of(arch)
            opts = {k: v for k, v in self.options.items() if k in taken}
            sweep = {**size(), "depth": self.depth, "steps": self.steps,
                     "meta_lr_scale": self.meta_lr_scale,
                     "data_seed": self.data_seed, **{f"task.{k}": v for k, v in self.task_options.items()},
                     **{f"opt.{k}": v for k, v in opts.items()}}
            omegas = _as_list(self.omega) if (self.omega is not None and "omega" in taken) else [None]
            for point in grid(sweep):
                cfg = {"arch": arch, "task": task, "seeds": list(self.seeds), "omegas": omegas,
                       "lrs": [float(v) for v in _as_list(self.lr)],
                       "budget": point.get("budget"), "width": point.get("width"),
                       "depth": point["depth"], "steps": point["steps"],
                       "meta_lr_scale": float(point["meta_lr_scale"]),
                       "data_seed": point["data_seed"],
                       "task_options": {k[5:]: v for k, v in point.items() if k.startswith("task.")},
                       "options": {k[4:]: v for k, v in point.items() if k.startswith("opt.")},
                       "log_every": self.log_every or max(1, point["steps"] // 30),
                       "threads": self.threads}
                if cfg["width"] is None:
                    probe = tasks.make(task, seed=0, **cfg["task_options"])
                    cfg["width"], _ = models.width_for_budget(arch, probe.in_dim, probe.out_dim,
                                                              cfg["budget"], cfg["depth"], **cfg["options"])
                yield cfg

    @property
    def cells(self):
        """The cell configurations (JSON-able dicts) this experiment trains."""
        return [dict(c) for c in self._cells]

    @property
    def n_replicas(self):
        return sum(_n_replicas(c) for c in self._cells)

    @property
    def model_steps(self):
        """Replicas × steps summed over the cells: the work this experiment trains (cached or not)."""
        return sum(_n_replicas(c) * c["steps"] for c in self._cells)


def _n_replicas(cfg):
    return len(cfg["seeds"]) * len(cfg["omegas"]) * len(cfg["lrs"])


def _replicas(cfg):
    """The (seed, ω, lr) of each replica of a cell, in stacking order."""
    return [(s, om, lr) for lr in cfg["lrs"] for om in cfg["omegas"] for s in cfg["seeds"]]


def cost(*experiments):
    """(replicas, model-steps) of `experiments` together."""
    return sum(e.n_replicas for e in experiments), sum(e.model_steps for e in experiments)


def cell_key(cfg):
    """Cache key: a hash of the complete cell configuration and the package version."""
    blob = json.dumps({"cfg": cfg, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]


# ----------------------------------------------------------------------------- training

def _loss_fn(kind):
    if kind == "regression":
        return lambda out, y: ((out - y) ** 2).mean(dim=(1, 2))
    def ce(out, y):
        k, n, c = out.shape
        return torch.nn.functional.cross_entropy(out.reshape(k * n, c), y.repeat(k),
                                                 reduction="none").view(k, n).mean(1)
    return ce


def _metric_fn(kind):
    if kind == "regression":
        return lambda out, y: ((out - y) ** 2).mean(dim=(1, 2))
    return lambda out, y: (out.argmax(-1) == y).float().mean(1)


def _roles(base):
    """For every parameter name: (layer label, role) with role "direct" or "meta"."""
    out = {}
    for name, _ in base.named_parameters():
        parts = name.split(".")
        if parts[0] == "head":
            out[name] = ("head", "direct")
        else:
            layer = base.layers[int(parts[1])]
            out[name] = (parts[1], "meta" if parts[2] in layer.META else "direct")
    return out


def _corr(a, b):
    """Pearson correlation per replica over all elements (K, ...) -> (K,)."""
    a, b = a.flatten(1), b.flatten(1)
    a, b = a - a.mean(1, keepdim=True), b - b.mean(1, keepdim=True)
    return (a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-30)


def _bind(module, tensors):
    """Replace `module`'s parameters and buffers by plain tensors (name -> tensor)."""
    for name, t in tensors.items():
        owner, _, leaf = name.rpartition(".")
        sub = module.get_submodule(owner)
        sub._parameters.pop(leaf, None)
        sub._buffers.pop(leaf, None)
        setattr(sub, leaf, t)


class _Adam:
    """Adam (default betas, eps 1e-8) over one flat parameter vector with a per-element learning
    rate: K independent Adams with their own lr (and meta-lr scale) in a handful of kernels.
    The update is torch.optim.Adam's, term for term."""

    def __init__(self, flat, grad, lr, betas=(0.9, 0.999), eps=1e-8):
        self.p, self.g, self.lr, (self.b1, self.b2), self.eps = flat, grad, lr, betas, eps
        self.m, self.v, self.t = torch.zeros_like(flat), torch.zeros_like(flat), 0

    @torch.no_grad()
    def step(self):
        g = self.g
        self.t += 1
        self.m.lerp_(g, 1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        denom = (self.v.sqrt() / (1 - self.b2 ** self.t) ** 0.5).add_(self.eps)
        step_size = (self.lr / -(1 - self.b1 ** self.t)).to(self.p.dtype)   # −lr/bc1, as Adam rounds it
        self.p.addcdiv_(self.m * step_size, denom)


def train_stack(model_list, task, steps, lr, log_every=None, progress=None, meta_lr_scale=1.0):
    """Train `model_list` (same arch and width) as one stacked ensemble on `task`.

    `lr` is one learning rate or one per model; `meta_lr_scale` multiplies the learning rate of
    the "meta" parameters (see `_roles`). The neurons run the stack natively (see
    `neurons.Linear`): parameters carry a leading replica axis, and all of them live in one flat
    vector that a per-element-learning-rate Adam updates.

    Returns (final params dict of stacked tensors, per-replica summary dict of lists,
    history list of (replica, step, quantity, layer, value)).
    """
    k = len(model_list)
    stacked, buffers = stack_module_state(model_list)
    names = list(stacked)
    shapes = {n: stacked[n].shape for n in names}
    sizes = [stacked[n].numel() for n in names]
    flat = torch.cat([stacked[n].detach().reshape(-1) for n in names])
    base = copy.deepcopy(model_list[0])
    for layer in base.layers:
        layer.record = False
    roles = _roles(base)
    lrs = torch.tensor([float(v) for v in _as_list(lr)] * (k if not isinstance(lr, (list, tuple)) else 1),
                       dtype=torch.float64)
    if len(lrs) != k:
        raise ValueError(f"give one lr or one per model ({k}), got {len(lrs)}")
    per_elem = lambda per_name: torch.cat([per_name(n).repeat_interleave(shapes[n][1:].numel()) for n in names])
    lr_vec = per_elem(lambda n: lrs * (meta_lr_scale if roles[n][1] == "meta" else 1.0))
    replica_of = per_elem(lambda n: torch.arange(k))

    def unflat(vec):
        return {n: piece.view(shapes[n]) for n, piece in zip(names, vec.split(sizes))}

    # The private copy `base` holds, in place of its parameters, leaf tensors that are views of
    # `flat` whose gradients are views of `grad`: autograd accumulates into them in place, so
    # one flat Adam step updates every replica and nothing is re-bound per step.
    grad = torch.zeros_like(flat)
    leaves = {n: t.requires_grad_() for n, t in unflat(flat).items()}
    for n, g in unflat(grad).items():
        leaves[n].grad = g
    _bind(base, {**leaves, **buffers})
    opt = _Adam(flat, grad, lr_vec)

    def fwd(xx, terms=False):
        return base(xx, return_terms=terms)

    loss_fn, metric_fn = _loss_fn(task.kind), _metric_fn(task.kind)
    x, y = task.x_train, task.y_train
    alive = torch.ones(k, dtype=torch.bool)
    dead_elem = None                           # elements of dead replicas: no gradient, no update
    history = []
    omega0 = {}                                # mean ω(x) per layer at the first log: drift reference
    log_every = log_every or max(1, steps // 30)

    def log(step, losses, grads):
        with torch.no_grad():
            rows = [("loss", "all", losses)]
            rows.append(("test_" + task.metric, "all", metric_fn(fwd(task.x_test), task.y_test)))
            if grads is not None:
                sq = {}
                for name, g in grads.items():
                    lab, role = roles[name]
                    s = g.reshape(k, -1).pow(2).sum(1)
                    for key in ((lab, role), (lab, "all"), ("all", role), ("all", "all")):
                        sq[key] = sq.get(key, 0) + s
                for (lab, role), s in sq.items():
                    rows.append((f"grad_norm_{role}" if role != "all" else "grad_norm", lab, s.sqrt()))
            _, terms = fwd(x, True)
            for i, t in enumerate(terms):
                lab = str(i)
                if "alpha" in t:
                    rows += [("alpha_mean", lab, t["alpha"].mean((1, 2))), ("alpha_std", lab, t["alpha"].flatten(1).std(1))]
                if "omega" in t:
                    om = t["omega"].mean((1, 2))
                    omega0.setdefault(i, om)
                    rows += [("omega_mean", lab, om), ("omega_std", lab, t["omega"].flatten(1).std(1)),
                             ("omega_drift", lab, om - omega0[i])]
                if "gate" in t:
                    rows.append(("gate_mean", lab, t["gate"].mean((1, 2))))
                if "phase" in t:
                    rows += [("phase_abs_mean", lab, t["phase"].abs().mean((1, 2))),
                             ("phase_g_corr", lab, _corr(t["phase"], t["g"]))]
        for q, lab, vals in rows:
            for r, v in enumerate(vals.tolist()):
                history.append((r, step, q, lab, v if alive[r] else math.nan))

    for step in range(steps):
        losses = loss_fn(fwd(x), y)
        finite = torch.isfinite(losses)
        if (alive & ~finite).any():
            alive &= finite
            dead_elem = ~alive[replica_of]
            lr_vec[dead_elem] = 0              # frozen at their last finite values
        grad.zero_()
        torch.where(alive, losses, torch.zeros_like(losses)).sum().backward()
        if dead_elem is not None:
            grad[dead_elem] = 0                # NaNs must not reach the Adam moments
        if step % log_every == 0:
            log(step, losses.detach(), unflat(grad))
        opt.step()
        if progress is not None:
            progress.update(k)

    with torch.no_grad():
        out = fwd(x)
        final_loss = loss_fn(out, y)
        alive &= torch.isfinite(final_loss)
        log(steps, final_loss, None)
        summary = {"final_train_loss": final_loss,
                   f"train_{task.metric}": metric_fn(out, y),
                   f"test_{task.metric}": metric_fn(fwd(task.x_test), task.y_test)}
        for name, (xe, ye) in task.extra.items():
            summary[f"{name}_{task.metric}"] = metric_fn(fwd(xe), ye)
        summary = {n: [v if a else math.nan for v, a in zip(t.tolist(), alive.tolist())] for n, t in summary.items()}
        summary["diverged"] = (~alive).tolist()
    return {**{n: p.detach().clone() for n, p in unflat(flat).items()}, **buffers}, summary, history


def run_cell(cfg, progress=None):
    """Train one cell (a JSON-able config from `Experiment.cells`); returns a result dict.

    The result holds `metrics` and `history` records, the stacked `weights` (name -> tensor with
    a leading replica axis) and `provenance`. Safe to call in a worker process.
    """
    old_threads = torch.get_num_threads()
    torch.set_num_threads(cfg["threads"])
    try:
        t0 = time.perf_counter()
        task = tasks.make(cfg["task"], seed=cfg["data_seed"], **cfg["task_options"])
        replicas = _replicas(cfg)
        model_list = [models.build_model(cfg["arch"], task.in_dim, task.out_dim, width=cfg["width"],
                                         depth=cfg["depth"], seed=s,
                                         **cfg["options"], **({} if om is None else {"omega": om}))
                      for s, om, _ in replicas]
        weights, summary, hist = train_stack(model_list, task, cfg["steps"], [lr for *_, lr in replicas],
                                             cfg["log_every"], progress, cfg["meta_lr_scale"])
        wall = time.perf_counter() - t0
    finally:
        torch.set_num_threads(old_threads)
    n_params = models.count_params(model_list[0])
    shared = {"arch": cfg["arch"], "task": cfg["task"], "width": cfg["width"], "params": n_params,
              "budget": cfg["budget"], "depth": cfg["depth"], "steps": cfg["steps"],
              "meta_lr_scale": cfg["meta_lr_scale"], "data_seed": cfg["data_seed"],
              **{f"task.{k}": v for k, v in cfg["task_options"].items()},
              **{f"opt.{k}": v for k, v in cfg["options"].items()}}
    metrics = []
    for r, (s, om, lr) in enumerate(replicas):
        row = {**shared, "seed": s, "omega": om, "lr": lr, "replica": r,
               **{n: v[r] for n, v in summary.items()}, **task.baselines,
               "metric": task.metric, "wall_seconds": wall / len(replicas), "cell": cell_key(cfg)}
        metrics.append(row)
    history = [{"arch": cfg["arch"], "task": cfg["task"], "seed": replicas[r][0], "omega": replicas[r][1],
                "lr": replicas[r][2], "meta_lr_scale": cfg["meta_lr_scale"], "width": cfg["width"],
                "depth": cfg["depth"], "budget": cfg["budget"], "steps_total": cfg["steps"],
                **{f"task.{k}": v for k, v in cfg["task_options"].items()},
                **{f"opt.{k}": v for k, v in cfg["options"].items()},
                "step": step, "quantity": q, "layer": lab, "value": v}
               for r, step, q, lab, v in hist]
    return {"key": cell_key(cfg), "config": cfg, "metrics": metrics, "history": history,
            "weights": weights, "provenance": provenance(wall_seconds=wall)}


# ----------------------------------------------------------------------------- store

def _write_atomic(path, data: bytes):
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def save_cell(cache_dir, result):
    """Write a finished cell: weights (safetensors) first, then the JSON that marks it complete."""
    from safetensors.torch import save as st_save
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    key = result["key"]
    blob = st_save({n: t.contiguous() for n, t in result["weights"].items()})
    _write_atomic(cache_dir / f"{key}.safetensors", blob)
    doc = {k: result[k] for k in ("key", "config", "metrics", "history", "provenance")}
    doc["weights_sha256"] = hashlib.sha256(blob).hexdigest()
    _write_atomic(cache_dir / f"{key}.json", json.dumps(doc, allow_nan=True).encode())


def load_cell(cache_dir, cfg):
    """The cached result of `cfg`, or None if absent; a damaged entry warns and returns None.

    Only JSON and safetensors are read: nothing in a cache directory can run code.
    """
    from safetensors.torch import load as st_load
    key = cell_key(cfg)
    jpath, wpath = Path(cache_dir) / f"{key}.json", Path(cache_dir) / f"{key}.safetensors"
    if not jpath.exists():
        return None
    try:
        doc = json.loads(jpath.read_text())
        blob = wpath.read_bytes()
        if hashlib.sha256(blob).hexdigest() != doc["weights_sha256"]:
            raise ValueError("weights file does not match its recorded checksum")
        if doc["config"] != json.loads(json.dumps(cfg)) or doc["key"] != key:
            raise ValueError("configuration does not match its key")
        doc["weights"] = st_load(blob)
        return doc
    except Exception as e:  # noqa: BLE001 - any damage means: recompute
        warnings.warn(f"cache entry {jpath.name} is damaged ({type(e).__name__}: {e}); recomputing it",
                      RuntimeWarning, stacklevel=2)
        return None


# ----------------------------------------------------------------------------- results

class Results:
    """What `run` returns: `metrics` (one row per replica), `history` (long), `provenance`,
    and `model(...)` to get any trained replica back as an `nn.Module`."""

    def __init__(self, cells):
        self._cells = {c["key"]: c for c in cells}
        self.metrics = pd.DataFrame([r for c in cells for r in c["metrics"]])
        self.history = pd.DataFrame([r for c in cells for r in c["history"]])
        self.provenance = [dict(c["provenance"], cell=c["key"]) for c in cells]

    def __repr__(self):
        n_div = int(self.metrics["diverged"].sum()) if len(self.metrics) else 0
        return f"Results({len(self.metrics)} replicas in {len(self._cells)} cells, {n_div} diverged)"

    def summary(self, by=("arch", "task"), value=None):
        """Mean, std, count, per-seed values and diverged count of the test metric (or `value`)
        per group; diverged replicas are excluded from the statistics and counted."""
        return stats.summarize(self.metrics, by=by, value=value)

    def model(self, arch, task, seed, **where):
        """The trained replica matching `arch`, `task`, `seed` and any further metric columns
        (e.g. omega=5.0, lr=1e-2) as a `RichMLP` in eval mode."""
        m = self.metrics
        sel = (m["arch"] == arch) & (m["task"] == task) & (m["seed"] == seed)
        for k, v in where.items():
            if k not in m:
                raise ValueError(f"unknown column {k!r}; valid: {', '.join(m.columns)}")
            sel &= m[k].isna() if v is None else (m[k] == v)
        rows = m[sel]
        if len(rows) != 1:
            raise ValueError(f"{len(rows)} replicas match {dict(arch=arch, task=task, seed=seed, **where)}; "
                             "add filters (e.g. omega=..., lr=...) to pick exactly one")
        row = rows.iloc[0]
        cell = self._cells[row["cell"]]
        cfg = cell["config"]
        t = tasks.make(cfg["task"], seed=cfg["data_seed"], **cfg["task_options"])
        om = {} if pd.isna(row["omega"]) else {"omega": float(row["omega"])}
        net = models.build_model(cfg["arch"], t.in_dim, t.out_dim, width=cfg["width"], depth=cfg["depth"],
                                 **cfg["options"], **om)
        net.load_state_dict({n: w[int(row["replica"])] for n, w in cell["weights"].items()})
        return net.eval()


def _glibc(name, *args):
    """Call glibc's `name(*args)`; False where there is no glibc or no such function."""
    try:
        import ctypes
        getattr(ctypes.CDLL("libc.so.6"), name)(*args)
        return True
    except (OSError, AttributeError):
        return False


def _keep_heap():
    """Ask glibc to serve the many same-sized activation buffers of a training loop from its heap
    instead of fresh mmap'd (page-faulting) memory each step: up to ~25% faster on small tasks,
    numerically irrelevant. A no-op where glibc's mallopt is not available."""
    _glibc("mallopt", -3, 1 << 30)          # M_MMAP_THRESHOLD: 1 GiB
    _glibc("mallopt", -1, (1 << 31) - 1)    # M_TRIM_THRESHOLD: keep freed memory


def _die_with_parent():
    """Linux: the kernel sends this worker SIGTERM when its parent process dies (a killed or
    restarted Jupyter kernel), so no orphan keeps training. A no-op elsewhere."""
    if not _glibc("prctl", 1, signal.SIGTERM):        # PR_SET_PDEATHSIG
        return
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:   # it died before prctl took effect
        os._exit(1)


def _init_worker(threads):
    signal.signal(signal.SIGINT, signal.SIG_IGN)    # Ctrl-C is the parent's to handle
    _die_with_parent()
    torch.set_num_threads(threads)
    _keep_heap()


_POOL = {}


def _local_pool(workers, threads):
    """A process pool kept for the life of this process (workers cost a torch import each)."""
    key = (workers, threads)
    if key not in _POOL:
        for old in _POOL.values():
            old.shutdown(wait=False, cancel_futures=True)
        _POOL.clear()
        _POOL[key] = ProcessPoolExecutor(workers, mp_context=get_context("spawn"),
                                         initializer=_init_worker, initargs=(threads,))
    return _POOL[key]


def _drop_local_pool():
    for pool in _POOL.values():
        for proc in list(getattr(pool, "_processes", {}).values()):
            proc.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
    _POOL.clear()


atexit.register(_drop_local_pool)


def run(experiment, *, cache_dir=None, progress=True, executor=None, workers=None):
    """Run `experiment` (or a list of them, as one pool of cells); returns `Results`.

    cache_dir: finished cells are stored there (atomically) and reused on the next run.
    executor: any `concurrent.futures.Executor` (e.g. `distributed.Client().get_executor()`);
      by default a process pool with `workers` processes (default: the CPU count), or in-process
      when there is a single cell or `workers=1`.
    """
    with warnings.catch_warnings():              # text bars where ipywidgets is missing
        warnings.simplefilter("ignore")
        from tqdm.auto import tqdm
    exps = list(experiment) if isinstance(experiment, (list, tuple)) else [experiment]
    for e in exps:
        if not isinstance(e, Experiment):
            raise TypeError(f"run() takes an Experiment or a list of them, got {type(e).__name__}")
    if not exps:
        raise ValueError("run() got an empty list of experiments")
    cfgs = list({cell_key(c): c for e in exps for c in e.cells}.values())   # shared cells once
    done, todo = {}, []
    for cfg in cfgs:
        hit = load_cell(cache_dir, cfg) if cache_dir else None
        if hit:
            done[cell_key(cfg)] = hit
        else:
            todo.append(cfg)
    reps = _n_replicas
    total = sum(reps(c) * c["steps"] for c in todo)
    bar = tqdm(total=total, unit="model-step", unit_scale=True, disable=not progress or not todo,
               desc=f"{len(todo)} cells to train ({len(done)} cached)")

    def finish(res):
        if cache_dir:
            save_cell(cache_dir, res)
        done[res["key"]] = res

    workers = workers or os.cpu_count() or 1
    try:
        if executor is None and (workers == 1 or len(todo) <= 1):
            for cfg in todo:
                finish(run_cell(cfg, progress=bar))
        else:
            ex = executor or _local_pool(workers, max(e.threads for e in exps))
            # longest cells first, so that no worker is left with a long one at the end
            todo.sort(key=lambda c: reps(c) * c["steps"] * c["width"] ** 2 * c["depth"], reverse=True)
            futures = {ex.submit(run_cell, cfg): cfg for cfg in todo}
            try:
                for fut in as_completed(futures):
                    finish(fut.result())
                    bar.update(reps(futures[fut]) * futures[fut]["steps"])
            except BaseException:
                # Ctrl-C or a failed cell: finished cells are already stored; stop the rest.
                for fut in futures:
                    fut.cancel()
                if executor is None:
                    _drop_local_pool()
                raise
    finally:
        bar.close()
    return Results([done[cell_key(c)] for c in cfgs])
