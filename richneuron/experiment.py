"""The experiment specification: an `Experiment` grid, its cells, their cost and cache keys.

A replica is one (arch, task, seed, ω, lr, ...) run; replicas that share a shape form a *cell*
(see `train`), the unit the engine trains, stores and schedules.
"""
import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field

from . import __version__, models, neurons, tasks

KERNELS = ("numpy", "torch")   # where ops takes sin/cos/tanh (see ops.py)

def _as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def _positive(name, v, kind=(int, float)):
    if isinstance(v, bool) or not isinstance(v, kind) or not v > 0 or (isinstance(v, float) and not math.isfinite(v)):
        raise ValueError(f"{name} must be positive, got {v!r}")


@dataclass
class Experiment:
    """A grid of replicas. Any field given as a list is swept (cartesian product).

    archs, tasks: ids from `richneuron.neurons.available()` / `richneuron.tasks.available()`.
    seeds: model-initialisation seeds, each trained on every data draw of `data_seed`.
    data_seed: the data draw(s): one seed or a list; all draws of an (arch, task, width) train in
      one stacked cell with the seeds (each metric and history row records its `data_seed`).
    budget or width: give one; budget matching as in `build_model`.
    omega: ω for the archs that take it (ignored by vanilla); None keeps each neuron's default.
    options: other neuron options (e.g. {"init": "siren"}); each must be taken by at least one
      arch, and is passed to the archs that take it.
    task_options: generator options (e.g. {"turns": 3}); each must be taken by every task.
    meta_lr_scale: learning-rate multiplier for the "meta" parameters (phase, gate, frequency,
      v15's α/β/γ) relative to `lr`: the direct test of the "gradient competition" explanation.
    log_every: history interval in steps (None: about 30 points per run).
    threads: torch threads per cell (results are bit-identical for one machine and thread count).
    kernels: "numpy" (default: `ops` takes sin/cos/tanh from NumPy's SIMD kernels) or "torch"
      (torch's own): the same runs with other rounding, for the report's rounding check.
    device: where the cells train: "cpu" (default), "cuda", "cuda:1", "mps"; a device this
      machine lacks is a ValueError before any work. Off the CPU, `ops` uses torch's kernels.
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
    kernels: str = "numpy"
    device: str = "cpu"

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
        if self.kernels not in KERNELS:
            raise ValueError(f"kernels must be one of {KERNELS}, got {self.kernels!r}")
        self.device = check_device(self.device)
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
                     **{f"task.{k}": v for k, v in self.task_options.items()},
                     **{f"opt.{k}": v for k, v in opts.items()}}
            omegas = _as_list(self.omega) if (self.omega is not None and "omega" in taken) else [None]
            for point in grid(sweep):
                cfg = {"arch": arch, "task": task, "seeds": list(self.seeds), "omegas": omegas,
                       "lrs": [float(v) for v in _as_list(self.lr)],
                       "budget": point.get("budget"), "width": point.get("width"),
                       "depth": point["depth"], "steps": point["steps"],
                       "meta_lr_scale": float(point["meta_lr_scale"]),
                       "data_seeds": [int(d) for d in _as_list(self.data_seed)],
                       "task_options": {k[5:]: v for k, v in point.items() if k.startswith("task.")},
                       "options": {k[4:]: v for k, v in point.items() if k.startswith("opt.")},
                       "log_every": self.log_every or max(1, point["steps"] // 30),
                       "threads": self.threads,
                       **({} if self.kernels == "numpy" else {"kernels": self.kernels}),
                       **({} if self.device == "cpu" else {"device": self.device})}
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


def check_device(device):
    """`device` as a string if this machine has it, else a ValueError naming it."""
    import torch
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise ValueError(f"device must be a torch device such as 'cpu', 'cuda' or 'cuda:1', got {device!r}") from None
    if dev.type == "cpu":
        return "cpu"
    if dev.type == "cuda":
        n = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if n == 0 or (dev.index or 0) >= n:
            raise ValueError(f"device {device!r} is not available on this machine "
                             f"({n} CUDA device{'s' if n != 1 else ''}; torch {torch.__version__})")
        return str(dev)
    if dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"device {device!r} is not available on this machine")
        return "mps"
    raise ValueError(f"device {device!r} is not supported; valid choices: 'cpu', 'cuda[:i]', 'mps'")


def _n_replicas(cfg):
    return len(cfg["data_seeds"]) * len(cfg["seeds"]) * len(cfg["omegas"]) * len(cfg["lrs"])


def _replicas(cfg):
    """The (data_seed, seed, ω, lr) of each replica of a cell, in stacking order."""
    return [(d, s, om, lr) for lr in cfg["lrs"] for om in cfg["omegas"] for d in cfg["data_seeds"]
            for s in cfg["seeds"]]


def cost(*experiments):
    """(replicas, model-steps) of `experiments` together."""
    return sum(e.n_replicas for e in experiments), sum(e.model_steps for e in experiments)


def cell_key(cfg):
    """Cache key: a hash of the complete cell configuration and the package version."""
    blob = json.dumps({"cfg": cfg, "version": __version__}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:20]
