"""The experiment specification: an `Experiment` grid, its cells, their cost and cache keys.

A replica is one (arch, task, seed, ω, lr, ...) run (a `Replica`: its data draw, seed, ω, lr and
meta-lr scale), named by `replica_keys`: a hash of what determines its numbers, not of the cell or
stack it was trained in. Replicas that share a shape form a *cell* (a `Cell`: one per arch/task/swept
point, the unit an `Experiment` asks for, named by `cell_key`); the engine trains the missing
replicas of all requested cells as *stacks* (any list of replicas of one shape: a cell, or
`Cell.stack_of`'s explicit list) and assembles each cell from its replicas, wherever they were
trained. A cell's JSON form (`Cell.config`) is what the store holds and every key hashes.
"""
import dataclasses
import functools
import hashlib
import inspect
import itertools
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from . import defaults, models, neurons, plugins, tasks, validate
from .version import __version__

KERNELS = ("numpy", "torch")   # where ops takes sin/cos/tanh (see ops.py)
# The settings of another protocol point (notebook 08's space) an Experiment applies per cell.
POINT_KEYS = ("omega", "init", "difficulty", "size")

def as_list(v):
    return list(v) if isinstance(v, (list, tuple)) else [v]


def log_interval(steps):
    """The default history interval of a `steps`-step run: about 30 logged points."""
    return max(1, steps // 30)


@dataclass
class Experiment:
    """A grid of replicas. Any field given as a list is swept (cartesian product).

    archs, tasks: ids from `richneuron.neurons.available()` / `richneuron.tasks.available()`.
    seed: the model-initialisation seed(s): one seed or a list, each trained on every data draw of
      `data_seed`. Every default below is the report's default protocol (`defaults`: seeds
      0..SEEDS-1, draw DATA_SEED). Each field has the name of its column in the results.
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
    protocol: None (our default protocol) or another protocol point {omega, init, difficulty, size}
      (`protocol.at_point` sets it with the point's lr): per cell, a task option the Experiment does
      not set takes the point's difficulty level and training-set share (`tasks.options_at`), and an
      arch whose own default ω is 1 (init "default") takes the point's ω (init) unless `omega`
      (`options["init"]`) is given. What the Experiment sets itself keeps its values.
    """

    archs: list
    tasks: list
    seed: object = field(default_factory=lambda: list(range(defaults.SEEDS)))
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
    protocol: dict = None

    def __post_init__(self):
        listy = lambda v: isinstance(validate.plain(v), list)
        def norm(name, v, check):
            """One value or a list of values (a sweep), each checked and normalised."""
            vals = [check(name, x) for x in validate.values(name, v)]
            return vals if listy(v) else vals[0]
        self.archs = validate.names("archs", self.archs, "an arch id or a list/tuple of arch ids")
        self.tasks = validate.names("tasks", self.tasks, "a task name or a list/tuple of task names")
        for a in self.archs:
            neurons.get(a)
        for t in self.tasks:
            tasks.entry(t)
        if validate.plain(self.seed) == []:
            raise ValueError("seed must not be empty: give one integer seed or a list, e.g. [0, 1]")
        self.seed = norm("seed", self.seed, validate.seed)
        validate.distinct("seed", validate.values("seed", self.seed), "a repeated seed makes replicas ambiguous")
        if (self.budget is None) == (self.width is None):
            raise ValueError("give exactly one of budget= or width=")
        for name, check in (("budget", validate.integer), ("width", validate.integer), ("depth", validate.depth),
                            ("steps", validate.steps)):
            if getattr(self, name) is not None:
                setattr(self, name, norm(name, getattr(self, name), check))
                validate.distinct(name, validate.values(name, getattr(self, name)), "each is one cell")
        self.lr = norm("lr", self.lr, validate.positive)
        validate.distinct("lr", validate.values("lr", self.lr))
        self.meta_lr_scale = norm("meta_lr_scale", self.meta_lr_scale, validate.positive)
        validate.distinct("meta_lr_scale", validate.values("meta_lr_scale", self.meta_lr_scale))
        self.data_seed = norm("data_seed", self.data_seed, validate.seed)
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
        for k, v in self.options.items():
            validate.distinct(f"options[{k!r}]", validate.values(f"options[{k!r}]", v), "each is one cell")
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
            self._task_sweeps[k] = validate.distinct(f"task_options[{k!r}]", checked, "each is one cell")
        self.task_options = {k: vals if len(vals) > 1 else vals[0] for k, vals in self._task_sweeps.items()}
        if self.log_every is not None:
            self.log_every = validate.integer("log_every", self.log_every)
        self.threads = validate.threads(self.threads)
        self.kernels = validate.choice("kernels", self.kernels, KERNELS)
        self.perturb = validate.integer("perturb", self.perturb, minimum=0)
        self.device = check_device(self.device)
        if self.protocol is not None:
            self.protocol = check_point(self.protocol)
        # Build every cell once now, so that infeasible budgets fail before any training.
        self._cells = list(self._make_cells())
        object.__setattr__(self, "_frozen", True)

    def __setattr__(self, name, value):
        """Read-only once built: its cells were made from the arguments as given."""
        if self.__dict__.get("_frozen"):
            raise AttributeError(f"an Experiment cannot be changed after it is built (its cells are made then): "
                                 f"use dataclasses.replace(experiment, {name}=...) or build a new Experiment")
        object.__setattr__(self, name, value)

    def __delattr__(self, name):
        raise AttributeError(f"an Experiment cannot be changed after it is built: cannot delete {name!r}")

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
            task_sweeps, omega = dict(self._task_sweeps), self.omega
            if self.protocol is not None:       # the point's settings where this cell leaves the default
                pt = self.protocol
                at = tasks.options_at(task, pt["difficulty"], pt["size"])
                task_sweeps.update({k: [v] for k, v in tasks.check_options(task, at).items() if k not in task_sweeps})
                if omega is None and "omega" in taken and _default_of(arch, "omega") == 1.0:
                    omega = pt["omega"]
                if (pt["init"] != "default" and "init" in taken and "init" not in opts
                        and _default_of(arch, "init") == "default"):
                    opts["init"] = pt["init"]
            sweep = {**size(), "depth": self.depth, "steps": self.steps,
                     **{f"task.{k}": v for k, v in task_sweeps.items()},
                     **{f"opt.{k}": v for k, v in opts.items()}}
            omegas = as_list(omega) if (omega is not None and "omega" in taken) else [None]
            for point in grid(sweep):
                task_options = {k[5:]: v for k, v in point.items() if k.startswith("task.")}
                options = {k[4:]: v for k, v in point.items() if k.startswith("opt.")}
                probe = _probe(task, task_options)
                om = {} if omegas[0] is None else {"omega": omegas[0]}
                width = point.get("width")
                if width is None:
                    width, n_params = models.width_for_budget(arch, probe.in_dim, probe.out_dim, point["budget"],
                                                              point["depth"], **options)
                else:      # the neuron's own checks run in the parent (on the meta device)
                    n_params = models.count_at(arch, probe.in_dim, probe.out_dim, width, point["depth"],
                                               {**options, **om})
                scale = self.meta_lr_scale
                cell = Cell(arch=arch, task=task, width=width, depth=point["depth"], steps=point["steps"],
                            task_options=task_options, options=options,
                            log_every=self.log_every or log_interval(point["steps"]), threads=self.threads,
                            kernels=self.kernels, perturb=self.perturb, device=self.device,
                            budget=point.get("budget"),
                            axes=Replica(data_seed=tuple(as_list(self.data_seed)), seed=tuple(as_list(self.seed)),
                                         omega=tuple(omegas), lr=tuple(float(v) for v in as_list(self.lr)),
                                         meta_lr_scale=(tuple(float(v) for v in scale) if isinstance(scale, list)
                                                        else float(scale))))
                _check_memory(cell, n_params, probe)
                yield cell

    @property
    def cells(self):
        """The JSON form (`Cell.config`) of each cell this experiment trains: plain dicts."""
        return [c.config for c in self._cells]

    @property
    def typed_cells(self):
        """The `Cell`s this experiment trains, in the order of `cells`."""
        return list(self._cells)

    @property
    def n_replicas(self):
        return sum(c.n_replicas for c in self._cells)

    @property
    def model_steps(self):
        """Replicas × steps summed over the cells: the work this experiment trains (cached or not)."""
        return sum(c.model_steps for c in self._cells)


def check_point(point):
    """A protocol point's per-cell settings (POINT_KEYS) checked: ValueError naming the key and what
    is allowed. Returns them as a plain dict."""
    if not isinstance(point, dict) or sorted(point) != sorted(POINT_KEYS):
        raise ValueError(f"protocol must be None or a dict with exactly the keys {', '.join(POINT_KEYS)}, got {point!r}")
    out = {"omega": float(validate.positive("protocol omega", point["omega"])),
           "init": validate.choice("protocol init", point["init"], ("default", "siren")),
           "difficulty": point["difficulty"], "size": float(validate.positive("protocol size", point["size"]))}
    if out["difficulty"] is not None and (isinstance(out["difficulty"], bool) or out["difficulty"] not in (0, 1, 2)):
        raise ValueError(f"protocol difficulty must be a level 0, 1 or 2 (easiest first) or None (each task's "
                         f"default), got {point['difficulty']!r}")
    if out["difficulty"] is not None:
        out["difficulty"] = int(out["difficulty"])
    if out["size"] > 1:
        raise ValueError(f"protocol size is a share of the task's training set, at most 1; got {point['size']!r}")
    return out


def _default_of(arch, option):
    """The default of neuron `arch`'s option `option` (its constructor's)."""
    return inspect.signature(neurons.get(arch).__init__).parameters[option].default


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


def _memory(probe, k, n_params, width, depth, draws):
    """`validate.cell_memory` of a stack of `k` replicas on `draws` data draws of `probe`'s shape:
    every tensor it holds (training and scored sets, stacked per draw when there are several)."""
    sets = [(probe.x_train, probe.y_train), (probe.x_test, probe.y_test), *probe.extra.values()]
    data = sum(t.numel() * t.element_size() for pair in sets for t in pair)
    copies = 1 if draws == 1 else 2 * draws                 # the draws and their stacked copy
    n_eval = max(len(x) for x, _ in sets)
    return validate.cell_memory(k, n_params, len(probe.x_train), width, depth, n_eval, copies * data)


def _check_memory(cell, n_params, probe):
    """ValueError when one cell would need more memory than this machine has, naming what to lower:
    the model (budget or width) or, when the model alone fits, the task's data (its point counts)."""
    need = _memory(probe, cell.n_replicas, n_params, cell.width, cell.depth, len(cell.axes.data_seed))
    have = validate.physical_memory()
    if have and need > have:
        n_points = len(probe.x_train)
        sets = ", ".join(f"{len(x):,} {n} points" for n, x in (("test", probe.x_test),
                                                                *((n, x) for n, (x, _) in probe.extra.items())))
        model_only = validate.cell_memory(cell.n_replicas, n_params, n_points, cell.width, cell.depth)
        if model_only <= have:          # the data and its scoring make the difference
            given = [f"{k}={v:,}" for k, v in cell.task_options.items() if k in ("n_train", "n_test", "n_points")]
            size = f"task_options {', '.join(given)}" if given else f"the data of task {cell.task!r}"
            lower = "Lower n_train/n_test"
        else:
            size = f"budget={cell.budget}" if cell.budget is not None else f"width={cell.width}"
            lower = "Lower the budget or width"
        raise ValueError(f"{size} is too large: the cell {cell.arch} on {cell.task} (width {cell.width}, "
                         f"{n_params:,} parameters, {cell.n_replicas} replicas, {n_points:,} training and "
                         f"{sets}) needs about "
                         f"{need / 2**30:,.1f} GiB; this machine has {have / 2**30:,.1f} GiB. {lower}, "
                         f"or stack fewer seeds/lr/omega values in one cell")


def _init_naming_fields(init):
    """Experiment's __init__, with an unknown keyword refused by a TypeError that names the fields."""
    fields = [f.name for f in dataclasses.fields(Experiment) if f.init]

    @functools.wraps(init)
    def __init__(self, *args, **kw):
        unknown = [k for k in kw if k not in fields]
        if unknown:
            hint = " (one seed or a list of them is `seed`, as `lr` and `omega` take one value or a list)" \
                if "seeds" in unknown else ""
            raise TypeError(f"Experiment has no field{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}"
                            f"{hint}; its fields: {', '.join(fields)}")
        init(self, *args, **kw)
    return __init__


Experiment.__init__ = _init_naming_fields(Experiment.__init__)


class Replica(NamedTuple):
    """What distinguishes one replica from the others of its cell or stack, named as its columns in
    the results (`schema`) and in its `replica_keys` hash; in a cell's `axes`, each holds the
    values stacked along that axis."""
    data_seed: object
    seed: object
    omega: object
    lr: object
    meta_lr_scale: object


# The stacked axes of a replica, in the order `Cell.replicas` gives them; everything else of a
# cell's configuration is shared by its replicas (its *shape*).
STACKED = Replica._fields
# The names of the stacked axes in a cell's JSON form (`Cell.config`): that form is hashed into
# every cell key and stored with every entry, so these names stay as they are.
CONFIG_AXES = Replica(data_seed="data_seeds", seed="seeds", omega="omegas", lr="lrs", meta_lr_scale="meta_lr_scale")
# A cell's shape fields in the order of its JSON form; kernels, perturb and device appear there only
# when they differ from their defaults.
SHAPE = ("arch", "task", "width", "depth", "steps", "task_options", "options", "log_every", "threads",
         "kernels", "perturb", "device")
_OPTIONAL = {"kernels": "numpy", "perturb": 0, "device": "cpu"}


@dataclass(frozen=True)
class Cell:
    """A cell or a training stack: replicas of one shape (arch, task, options, width, depth,
    steps, log interval, threads, kernels, perturb, device) trained as one stacked ensemble.

    A cell (what an `Experiment` asks for) has `axes`, the values of each stacked field (a
    `Replica` of tuples; its meta_lr_scale is one value or a tuple, a list in the JSON form), and
    trains their cartesian product; a stack (`stack_of`) has an explicit tuple of replicas in
    `stack`, and no budget. `config` is the JSON form stored with the entry and hashed into
    `key`; `Cell.from_config` reads it back."""

    arch: str
    task: str
    width: int
    depth: int
    steps: int
    task_options: dict
    options: dict
    log_every: int
    threads: int
    kernels: str = "numpy"
    perturb: int = 0
    device: str = "cpu"
    budget: object = None
    axes: Replica = None
    stack: tuple = None

    def __post_init__(self):
        if (self.axes is None) == (self.stack is None):
            raise ValueError("a cell has either axes (a grid of replicas) or a stack (a list of them)")
        if self.stack is not None and self.budget is not None:
            raise ValueError("a stack has no budget: its width is given")

    @cached_property
    def replicas(self):
        """The `Replica`s in stacking order: a stack's own, or the cell's cartesian axes (meta-lr
        scale, one or several, outermost, then lr, ω, data draw, seed)."""
        if self.stack is not None:
            return tuple(Replica(*r) for r in self.stack)
        a = self.axes
        return tuple(Replica(d, s, om, lr, m) for m in as_list(a.meta_lr_scale) for lr in a.lr for om in a.omega
                     for d in a.data_seed for s in a.seed)

    @property
    def n_replicas(self):
        return len(self.replicas)

    @property
    def model_steps(self):
        return self.n_replicas * self.steps

    @property
    def shape(self):
        """What the replicas share, without the budget (which only chose the width), as in the JSON
        form: two cells of one shape can train their replicas in one stack."""
        out = {k: getattr(self, k) for k in SHAPE}
        out["task_options"], out["options"] = dict(self.task_options), dict(self.options)
        for k, default in _OPTIONAL.items():
            if out[k] == default:
                del out[k]
        return out

    @property
    def config(self):
        """The JSON form (a plain dict, in its stored key order): hashed into `key`, stored with the
        entry, given by `Experiment.cells`."""
        shape = self.shape
        if self.stack is not None:
            return {**shape, "budget": None, "replicas": [list(r) for r in self.stack]}
        a, n = self.axes, CONFIG_AXES
        head = {k: shape.pop(k) for k in ("arch", "task")}
        width_on = {k: shape.pop(k) for k in ("width", "depth", "steps")}
        scale = list(a.meta_lr_scale) if isinstance(a.meta_lr_scale, tuple) else a.meta_lr_scale
        return {**head, n.seed: list(a.seed), n.omega: list(a.omega), n.lr: list(a.lr), "budget": self.budget,
                **width_on, n.meta_lr_scale: scale, n.data_seed: list(a.data_seed), **shape}

    @classmethod
    def from_config(cls, cfg):
        """The cell or stack of a JSON form (`config`); ValueError for anything that is not one
        exactly (another key, another value type, a form of another version)."""
        try:
            extra = set(cfg) - set(SHAPE) - {"budget", "replicas", *CONFIG_AXES}
            if extra:
                raise ValueError(f"unknown fields {sorted(extra)}")
            if "replicas" in cfg:
                axes, stack = None, tuple(Replica(*r) for r in cfg["replicas"])
            else:
                m = cfg[CONFIG_AXES.meta_lr_scale]
                axes, stack = Replica(*(tuple(cfg[k]) for k in CONFIG_AXES[:-1]),
                                      tuple(m) if isinstance(m, list) else m), None
            cell = cls(**{k: cfg[k] for k in SHAPE if k in cfg}, budget=cfg.get("budget"), axes=axes, stack=stack)
        except (KeyError, TypeError) as e:
            raise ValueError(f"not a cell configuration: {type(e).__name__}: {e}") from None
        if json.dumps(cell.config) != json.dumps(cfg):
            raise ValueError("not a cell configuration of this version (its JSON form differs)")
        return cell

    def stack_of(self, reps):
        """The training stack of this cell's shape holding `reps` (a list of `Replica`s)."""
        return dataclasses.replace(self, budget=None, axes=None, stack=tuple(Replica(*r) for r in reps))

    @property
    def _base(self):
        return _identity(self.arch, self.task)

    @cached_property
    def key(self):
        """Cache key (`cell_key`)."""
        return _config_key(self.config)

    @cached_property
    def replica_keys(self):
        """The identity of each replica (`replicas` order; see `replica_keys`)."""
        base = {"shape": self.shape, **self._base}
        return [_hash({**base, "replica": r._asdict()}) for r in self.replicas]

    def memory(self, k):
        """Rough bytes a stack of `k` replicas of this shape needs (`validate.cell_memory`)."""
        probe = _probe(self.task, self.task_options)
        omega = self.replicas[0].omega
        n_params = models.count_at(self.arch, probe.in_dim, probe.out_dim, self.width, self.depth,
                                   {**self.options, **({} if omega is None else {"omega": omega})})
        draws = len({r.data_seed for r in self.replicas})
        return _memory(probe, k, n_params, self.width, self.depth, min(k, draws))


def as_cell(cell):
    """`cell` if it is a `Cell`, else the cell of the JSON form `cell` (`Cell.from_config`)."""
    return cell if isinstance(cell, Cell) else Cell.from_config(cell)


def n_replicas(cell):
    return as_cell(cell).n_replicas


def replicas(cell):
    """The `Replica`s of a cell or stack (a `Cell` or its JSON form), in stacking order."""
    return list(as_cell(cell).replicas)


def shape_of(cell):
    """The shape (`Cell.shape`) of a cell or stack (a `Cell` or its JSON form)."""
    return as_cell(cell).shape


def cost(*experiments):
    """(replicas, model-steps) of `experiments` together."""
    return sum(e.n_replicas for e in experiments), sum(e.model_steps for e in experiments)


def _hash(blob):
    return hashlib.sha256(json.dumps(blob, sort_keys=True, default=str).encode()).hexdigest()[:20]


def _identity(arch, task):
    """What beside its configuration keys a cell: the package version, the neuron's REVISION when
    nonzero and, for a plugin's arch or task, its source (`plugins.fingerprint`)."""
    rev = neurons.get(arch).REVISION
    return {"version": __version__, **({"revision": rev} if rev else {}), **plugins.fingerprint(arch, task)}


def _config_key(cfg):
    return _hash({"cfg": cfg, **_identity(cfg["arch"], cfg["task"])})


def cell_key(cell):
    """Cache key of a cell or stack (a `Cell` or its JSON form): a hash of its complete JSON form,
    the package version, the neuron's REVISION when nonzero (so a changed neuron recomputes its
    own cells and no other) and a plugin's source (`_identity`)."""
    return cell.key if isinstance(cell, Cell) else _config_key(cell)


def replica_keys(cell):
    """The identity of each replica of a cell or stack (a `Cell` or its JSON form; `replicas`
    order): a hash of what determines its numbers (the shape: arch, task and options, width, depth,
    steps, log_every, threads, kernels, perturb, device; its data draw, seed, ω, lr and meta-lr
    scale; the package version and the neuron's REVISION), not of the budget or the stack that
    trained it. Training is bit-identical whatever else a stack holds (`train.train_stack`), so the
    store serves a replica to every cell that needs it."""
    return list(as_cell(cell).replica_keys)
