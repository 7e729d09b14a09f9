"""The experiment specification: an `Experiment` grid, its cells, their cost and cache keys.

A replica is one (arch, task, seed, ω, lr, ...) run, named by `replica_key`: a hash of what
determines its numbers, not of the cell or stack it was trained in. Replicas that share a shape
form a *cell* (one per arch/task/swept point, the unit an `Experiment` asks for, named by
`cell_key`); the engine trains the missing replicas of all requested cells as *stacks* (any list
of replicas of one shape: a cell, or `stack_config`'s explicit list) and assembles each cell from
its replicas, wherever they were trained.
"""
import hashlib
import itertools
import json
from dataclasses import dataclass, field

from . import defaults, models, neurons, tasks, validate
from .version import __version__

KERNELS = ("numpy", "torch")   # where ops takes sin/cos/tanh (see ops.py)

def as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def log_interval(steps):
    """The default history interval of a `steps`-step run: about 30 logged points."""
    return max(1, steps // 30)


@dataclass
class Experiment:
    """A grid of replicas. Any field given as a list is swept (cartesian product).

    archs, tasks: ids from `richneuron.neurons.available()` / `richneuron.tasks.available()`.
    seeds: model-initialisation seeds, each trained on every data draw of `data_seed`. Every
      default below is the report's default protocol (`defaults`: seeds 0..SEEDS-1, draw DATA_SEED).
    data_seed: the data draw(s): one seed or a list; all draws of an (arch, task, width) train in
      one stacked cell with the seeds (each metric and history row records its `data_seed`).
    budget or width: give one; budget matching as in `build_model`.
    omega: ω for the archs that take it (ignored by vanilla); None keeps each neuron's default.
    options: other neuron options (e.g. {"init": "siren"}); each must be taken by at least one
      arch, and is passed to the archs that take it.
    task_options: generator options (e.g. {"turns": 3}); each must be taken by every task.
    meta_lr_scale: learning-rate multiplier for the "meta" parameters (phase, gate, frequency,
      v15's α/β/γ) relative to `lr`: the direct test of the "gradient competition" explanation.
      A list is stacked in one cell, like lr.
    log_every: history interval in steps (None: about 30 points per run).
    threads: torch threads per cell (results are bit-identical for one machine and thread count).
    kernels: "numpy" (default: `ops` takes sin/cos/tanh from NumPy's SIMD kernels) or "torch"
      (torch's own): the same runs with other rounding.
    perturb: 0 (default) or n ≥ 1: every initial weight of every replica moved by one ulp in a
      direction drawn from (its seed, n) (`models.perturb_`), the report's robustness check: the
      same runs as another machine's rounding would make them, for every arch.
    device: where the cells train: "cpu" (default), "cuda", "cuda:1", "mps"; a device this
      machine lacks is a ValueError before any work. Off the CPU, `ops` uses torch's kernels.
    """

    archs: list
    tasks: list
    seeds: list = field(default_factory=lambda: list(range(defaults.SEEDS)))
    budget: object = defaults.BUDGET
    width: object = None
    depth: object = defaults.DEPTH
    steps: object = defaults.STEPS
    lr: object = defaults.LR
    omega: object = None
    options: dict = field(default_factory=dict)
    task_options: dict = field(default_factory=dict)
    data_seed: object = defaults.DATA_SEED
    meta_lr_scale: object = 1.0
    log_every: int = None
    threads: int = 1
    kernels: str = "numpy"
    perturb: int = 0
    device: str = "cpu"

    def __post_init__(self):
        listy = lambda v: isinstance(validate.plain(v), list)
        def norm(name, v, check):
            """One value or a list of values (a sweep), each checked and normalised."""
            vals = [check(name, x) for x in validate.values(name, v)]
            return vals if listy(v) else vals[0]
        self.archs, self.tasks = validate.values("archs", self.archs), validate.values("tasks", self.tasks)
        for a in self.archs:
            neurons.get(a)
        for t in self.tasks:
            tasks.entry(t)
        if validate.plain(self.seeds) == []:
            raise ValueError("seeds must not be empty: give at least one integer seed, e.g. [0, 1]")
        self.seeds = validate.seeds("seeds", self.seeds)
        if (self.budget is None) == (self.width is None):
            raise ValueError("give exactly one of budget= or width=")
        for name in ("budget", "width", "depth", "steps"):
            if getattr(self, name) is not None:
                setattr(self, name, norm(name, getattr(self, name), validate.integer))
        self.lr = norm("lr", self.lr, validate.positive)
        validate.distinct("lr", validate.values("lr", self.lr))
        self.meta_lr_scale = norm("meta_lr_scale", self.meta_lr_scale, validate.positive)
        validate.distinct("meta_lr_scale", validate.values("meta_lr_scale", self.meta_lr_scale))
        self.data_seed = norm("data_seed", self.data_seed,
                              lambda n, v: validate.integer(n, v, minimum=0, maximum=validate.SEED_LIMIT - 1))
        validate.distinct("data_seed", validate.values("data_seed", self.data_seed))
        if self.omega is not None:
            self.omega = norm("omega", self.omega, validate.positive)
            validate.distinct("omega", validate.values("omega", self.omega))
            if not any("omega" in models.options_of(a) for a in self.archs):
                raise ValueError(f"omega is taken by none of the archs {self.archs}")
        if not isinstance(self.options, dict):
            raise ValueError(f"options must be a dict of neuron options, got {self.options!r}")
        for k in self.options:
            if k == "omega":
                raise ValueError("give omega as Experiment(omega=...), not in options")
            if not any(k in models.options_of(a) for a in self.archs):
                valid = sorted({o for a in self.archs for o in models.options_of(a)} - {"omega"})
                raise ValueError(f"option {k!r} is taken by none of the archs {self.archs}; "
                                 f"valid options: {', '.join(valid) or 'none'}")
        def option(k, x):
            """`x` checked by the declaration of every arch that takes option `k`."""
            for a in self.archs:
                if k in models.options_of(a):
                    x = neurons.check_options(a, {k: x})[k]
            return x
        self.options = {k: norm(f"options[{k!r}]", v, lambda n, x, k=k: option(k, x)) for k, v in self.options.items()}
        if not isinstance(self.task_options, dict):
            raise ValueError(f"task_options must be a dict of task options, got {self.task_options!r}")
        for t in self.tasks:
            valid = tasks.options_of(t)
            bad = sorted(set(self.task_options) - set(valid))
            if bad:
                raise ValueError(f"task {t!r} takes no option {', '.join(map(repr, bad))}; "
                                 f"valid options: {', '.join(valid)}")
        # A list-valued task option (hifreq's freqs) takes a list as one value; a sweep of it is
        # written as a list of lists: freqs=[5.0, 11.0] is one task, freqs=[[5.0], [5.0, 11.0]] two.
        self._task_sweeps = {}
        for k, v in self.task_options.items():
            v = validate.plain(v)
            if isinstance(tasks.options_of(self.tasks[0])[k], (list, tuple)):
                vals = v if isinstance(v, list) and v and all(isinstance(x, list) for x in v) else [v]
            else:
                vals = validate.values(f"task_options[{k!r}]", v)
            for t in self.tasks:                                   # checked as every task takes it
                checked = [tasks.check_options(t, {k: x})[k] for x in vals]
            self._task_sweeps[k] = checked
        self.task_options = {k: vals if len(vals) > 1 else vals[0] for k, vals in self._task_sweeps.items()}
        if self.log_every is not None:
            self.log_every = validate.integer("log_every", self.log_every)
        self.threads = validate.threads(self.threads)
        self.kernels = validate.choice("kernels", self.kernels, KERNELS)
        self.perturb = validate.integer("perturb", self.perturb, minimum=0)
        self.device = check_device(self.device)
        # Build every cell once now, so that infeasible budgets fail before any training.
        self._cells = list(self._make_cells())

    def _make_cells(self):
        """One cell per (arch, task, swept value...) with the seeds, draws, ω, lr and meta-lr scales
        stacked in it."""
        def grid(d):
            keys = list(d)
            for combo in itertools.product(*(as_list(d[k]) for k in keys)):
                yield dict(zip(keys, combo))
        size = lambda: {"budget": self.budget} if self.width is None else {"width": self.width}
        for arch, task in itertools.product(self.archs, self.tasks):
            taken = models.options_of(arch)
            opts = {k: v for k, v in self.options.items() if k in taken}
            sweep = {**size(), "depth": self.depth, "steps": self.steps,
                     **{f"task.{k}": v for k, v in self._task_sweeps.items()},
                     **{f"opt.{k}": v for k, v in opts.items()}}
            omegas = as_list(self.omega) if (self.omega is not None and "omega" in taken) else [None]
            for point in grid(sweep):
                cfg = {"arch": arch, "task": task, "seeds": list(self.seeds), "omegas": omegas,
                       "lrs": [float(v) for v in as_list(self.lr)],
                       "budget": point.get("budget"), "width": point.get("width"),
                       "depth": point["depth"], "steps": point["steps"],
                       "meta_lr_scale": ([float(v) for v in self.meta_lr_scale] if isinstance(self.meta_lr_scale, list)
                                         else float(self.meta_lr_scale)),
                       "data_seeds": list(as_list(self.data_seed)),
                       "task_options": {k[5:]: v for k, v in point.items() if k.startswith("task.")},
                       "options": {k[4:]: v for k, v in point.items() if k.startswith("opt.")},
                       "log_every": self.log_every or log_interval(point["steps"]),
                       "threads": self.threads,
                       **({} if self.kernels == "numpy" else {"kernels": self.kernels}),
                       **({} if not self.perturb else {"perturb": self.perturb}),
                       **({} if self.device == "cpu" else {"device": self.device})}
                probe = _probe(task, cfg["task_options"])
                om = {} if omegas[0] is None else {"omega": omegas[0]}
                if cfg["width"] is None:
                    cfg["width"], n_params = models.width_for_budget(arch, probe.in_dim, probe.out_dim,
                                                                     cfg["budget"], cfg["depth"], **cfg["options"])
                else:      # the neuron's own checks run in the parent (on the meta device)
                    n_params = models.count_at(arch, probe.in_dim, probe.out_dim, cfg["width"], cfg["depth"],
                                                {**cfg["options"], **om})
                _check_memory(cfg, n_params, len(probe.x_train))
                yield cfg

    @property
    def cells(self):
        """The cell configurations (JSON-able dicts) this experiment trains."""
        return [dict(c) for c in self._cells]

    @property
    def n_replicas(self):
        return sum(n_replicas(c) for c in self._cells)

    @property
    def model_steps(self):
        """Replicas × steps summed over the cells: the work this experiment trains (cached or not)."""
        return sum(n_replicas(c) * c["steps"] for c in self._cells)


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


def _probe(task, options, _cache={}):
    """The task with these options (seed 0), built once: its options are checked in the parent and
    its sizes read, so no bad option reaches a worker."""
    key = (task, json.dumps(options, sort_keys=True))
    if key not in _cache:
        _cache[key] = tasks.make(task, seed=0, **options)
    return _cache[key]


def stack_memory(cfg, k):
    """Rough bytes a stack of `k` replicas of the shape of `cfg` needs (`validate.cell_memory`)."""
    probe = _probe(cfg["task"], cfg["task_options"])
    omega = replicas(cfg)[0][2]
    n_params = models.count_at(cfg["arch"], probe.in_dim, probe.out_dim, cfg["width"], cfg["depth"],
                               {**cfg["options"], **({} if omega is None else {"omega": omega})})
    return validate.cell_memory(k, n_params, len(probe.x_train), cfg["width"], cfg["depth"])


def _check_memory(cfg, n_params, n_points):
    """ValueError when one cell would need more memory than this machine has."""
    need, have = validate.cell_memory(n_replicas(cfg), n_params, n_points, cfg["width"], cfg["depth"]), \
        validate.physical_memory()
    if have and need > have:
        size = f"budget={cfg['budget']}" if cfg["budget"] is not None else f"width={cfg['width']}"
        raise ValueError(f"{size} is too large: the cell {cfg['arch']} on {cfg['task']} (width {cfg['width']}, "
                         f"{n_params:,} parameters, {n_replicas(cfg)} replicas, {n_points} points) needs about "
                         f"{need / 2**30:,.1f} GiB; this machine has {have / 2**30:,.1f} GiB. Lower the budget or "
                         f"width, or stack fewer seeds/lr/omega values in one cell")


def n_replicas(cfg):
    return len(replicas(cfg))


# The stacked axes of a replica, in the order `replicas` gives them; everything else of a cell's
# configuration is shared by its replicas (its *shape*).
STACKED = ("data_seed", "seed", "omega", "lr", "meta_lr_scale")
CELL_AXES = ("data_seeds", "seeds", "omegas", "lrs", "meta_lr_scale", "replicas")


def replicas(cfg):
    """The (data_seed, seed, ω, lr, meta_lr_scale) of each replica of a cell or stack, in stacking
    order: a cell's cartesian axes (meta-lr scale, one or a list, outermost, then lr, ω, data draw,
    seed), or a stack's explicit "replicas" list."""
    if "replicas" in cfg:
        return [tuple(r) for r in cfg["replicas"]]
    scales = as_list(cfg["meta_lr_scale"])
    return [(d, s, om, lr, m) for m in scales for lr in cfg["lrs"] for om in cfg["omegas"]
            for d in cfg["data_seeds"] for s in cfg["seeds"]]


def shape_of(cfg):
    """What the replicas of a cell or stack share, without the budget (which only chose the width):
    two cells of one shape can train their replicas in one stack."""
    return {k: v for k, v in cfg.items() if k not in CELL_AXES and k != "budget"}


def stack_config(shape, reps):
    """The configuration of a training stack: a `shape_of` and an explicit list of replicas."""
    return {**shape, "budget": None, "replicas": [list(r) for r in reps]}


def cost(*experiments):
    """(replicas, model-steps) of `experiments` together."""
    return sum(e.n_replicas for e in experiments), sum(e.model_steps for e in experiments)


def _hash(blob):
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:20]


def cell_key(cfg):
    """Cache key: a hash of the complete cell configuration, the package version and the neuron's
    REVISION when nonzero (so a changed neuron recomputes its own cells and no other)."""
    rev = neurons.get(cfg["arch"]).REVISION
    return _hash({"cfg": cfg, "version": __version__, **({"revision": rev} if rev else {})})


def replica_keys(cfg):
    """The identity of each replica of a cell or stack (`replicas` order): a hash of what
    determines its numbers (the shape: arch, task and options, width, depth, steps, log_every,
    threads, kernels, perturb, device; its data draw, seed, ω, lr and meta-lr scale; the package
    version and the neuron's REVISION), not of the budget or the stack that trained it. Training
    is bit-identical whatever else a stack holds (`train.train_stack`), so the store serves a
    replica to every cell that needs it."""
    rev = neurons.get(cfg["arch"]).REVISION
    base = {"shape": shape_of(cfg), "version": __version__, **({"revision": rev} if rev else {})}
    return [_hash({**base, "replica": dict(zip(STACKED, r))}) for r in replicas(cfg)]
