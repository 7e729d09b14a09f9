"""Training one cell: the replicas of a cell as one stacked ensemble, one flat Adam, logged.

See `engine` for the protocol and the equivalence with a plain loop.
"""
import copy
import math
import os
import time

import torch
from torch.func import stack_module_state

from . import models, ops, tasks
from .experiment import as_cell, as_list, log_interval
from .provenance import provenance

STAT_KEYS = ("alpha", "omega", "gate", "phase")
# The numerics of a stack, recorded in its provenance: 2 = a replica's numbers do not depend on its
# stack (MKL's strict mode, see richneuron/__init__; `each`; a stack of one trained as two);
# entries without it serve only their own cell.
NUMERICS = 2


def stack_loss(kind):
    if kind == "regression":
        return lambda out, y: ((out - y) ** 2).mean(dim=(1, 2))
    def ce(out, y):                             # y: (N,) shared or (K, N) per replica
        k, n, c = out.shape
        return torch.nn.functional.cross_entropy(out.reshape(k * n, c), y.expand(k, n).reshape(-1),
                                                 reduction="none").view(k, n).mean(1)
    return ce


def each(fn, *stacks):
    """`fn` applied to each replica's slice of `stacks` (leading replica axis K) -> (K,). Torch
    reduces a (K, n) tensor along n in an order that depends on K, so every number a replica
    records is reduced from its own slice alone: the same bits in a stack of any size."""
    return torch.stack([fn(*(t[i] for t in stacks)) for i in range(len(stacks[0]))])


def _corr(a, b):
    """Pearson correlation of two tensors over all their elements."""
    a, b = a - a.mean(), b - b.mean()
    return (a * b).sum() / (a.norm() * b.norm()).clamp_min(1e-30)


def _score_fns(kind):
    """(loss, metric) of one replica's output and targets, for the values a stack records."""
    if kind == "regression":
        mse = lambda out, y: ((out - y) ** 2).mean()
        return mse, mse
    return (lambda out, y: torch.nn.functional.cross_entropy(out, y),
            lambda out, y: (out.argmax(-1) == y).float().mean())


def _bind(module, tensors):
    """Replace `module`'s parameters and buffers by plain tensors (name -> tensor)."""
    for name, t in tensors.items():
        owner, _, leaf = name.rpartition(".")
        sub = module.get_submodule(owner)
        sub._parameters.pop(leaf, None)
        sub._buffers.pop(leaf, None)
        setattr(sub, leaf, t)


class Adam:
    """Adam (default betas, eps 1e-8) over one flat parameter vector with a per-element learning
    rate: K independent Adams with their own lr (and meta-lr scale) in a handful of kernels.
    The update is torch.optim.Adam's, term for term and in its rounding order; every
    intermediate lives in a buffer allocated once. The step size −lr/(1 − β1^t) is computed in
    float64 once per distinct learning rate (a replica's lr, times the meta-lr scale on meta
    tensors) and rounded to float32 as Adam rounds it; where every element shares one lr it is
    the scalar of Adam's own `addcdiv_`."""

    def __init__(self, flat, grad, lr, betas=(0.9, 0.999), eps=1e-8):
        self.p, self.g, (self.b1, self.b2), self.eps = flat, grad, betas, eps
        self.m, self.v, self.t = torch.zeros_like(flat), torch.zeros_like(flat), 0
        self.denom, self.upd = torch.empty_like(flat), torch.empty_like(flat)
        self.size = torch.empty_like(flat)
        self.set_lr(lr)

    def set_lr(self, lr):
        """The per-element learning rates (float64): a few distinct values, indexed per element."""
        self.lr = lr
        self.lrs, self.index = torch.unique(lr, return_inverse=True)
        self.uniform = float(self.lrs[0]) if len(self.lrs) == 1 else None

    def freeze(self, mask):
        """Learning rate 0 for the elements in `mask` (the parameters of diverged replicas)."""
        lr = self.lr.clone()
        lr[mask] = 0
        self.set_lr(lr)

    @torch.no_grad()
    def step(self):
        g = self.g
        self.t += 1
        self.m.lerp_(g, 1 - self.b1)
        self.v.mul_(self.b2).addcmul_(g, g, value=1 - self.b2)
        torch.sqrt(self.v, out=self.denom).div_((1 - self.b2 ** self.t) ** 0.5).add_(self.eps)
        if self.uniform is not None:
            self.p.addcdiv_(self.m, self.denom, value=-(self.uniform / (1 - self.b1 ** self.t)))
            return
        sizes = torch.div(self.lrs, -(1 - self.b1 ** self.t)).to(self.p.dtype)   # −lr/bc1 in float64,
        torch.index_select(sizes, 0, self.index, out=self.size)                   # rounded as Adam rounds it
        self.p.addcdiv_(torch.mul(self.m, self.size, out=self.upd), self.denom)


class _Halved:
    """A progress bar seen by a stack of two copies of one model: counts one model-step per step."""

    def __init__(self, bar):
        self.bar = bar

    def update(self, n):
        if self.bar is not None:
            self.bar.update(n // 2)


class _Data:
    """The data of a stack: shared tensors (N, ...) when every replica trains on one data set,
    or tensors with a leading replica axis (K, N, ...) when they train on several draws."""

    def __init__(self, task_list, device):
        first = task_list[0]
        shared = all(t is first for t in task_list)
        for t in task_list:
            if (t.name, t.kind, tuple(t.x_train.shape), tuple(t.x_test.shape), sorted(t.extra)) != \
                    (first.name, first.kind, tuple(first.x_train.shape), tuple(first.x_test.shape), sorted(first.extra)):
                raise ValueError(f"the data sets of one stack must have one shape; got {first!r} and {t!r}")
        put = lambda get: (get(first) if shared else torch.stack([get(t) for t in task_list])).to(device)
        self.kind, self.metric, self.shared = first.kind, first.metric, shared
        self.x, self.y = put(lambda t: t.x_train), put(lambda t: t.y_train)
        self.x_test, self.y_test = put(lambda t: t.x_test), put(lambda t: t.y_test)
        self.extra = {n: (put(lambda t: t.extra[n][0]), put(lambda t: t.extra[n][1])) for n in first.extra}


def train_stack(model_list, task, steps, lr, log_every=None, progress=None, meta_lr_scale=1.0, device="cpu"):
    """Train `model_list` (same arch and width) as one stacked ensemble on `task`.

    `task` is one `Task` shared by all models, or a list with one `Task` per model (data draws of
    one shape: the inputs then carry the replica axis too, x of shape (K, N, d)). `lr` is one
    learning rate or one per model; `meta_lr_scale` (one or one per model) multiplies the learning
    rate of the "meta" parameters (see `models.roles`).

    A replica's numbers do not depend on what else its stack holds: bit for bit the same alone,
    beside others on one data set or on several draws, at any position. Torch's batched matrix
    product rounds a batch of one otherwise than a larger batch in some shapes (a single output
    column), so a stack of one model trains as two copies and returns the first. The neurons run the stack natively (see `neurons.Linear`):
    parameters carry a leading replica axis, and all of them live in one flat vector that a
    per-element-learning-rate Adam updates. `device`: where to train ("cpu", "cuda", ...).

    Returns (final params dict of stacked tensors (on the CPU), per-replica summary dict of
    lists, history list of (replica, step, quantity, layer, value)).
    """
    k = len(model_list)
    task_list = list(task) if isinstance(task, (list, tuple)) else [task] * k
    if len(task_list) != k:
        raise ValueError(f"give one task or one per model ({k}), got {len(task_list)}")
    scales = [float(v) for v in as_list(meta_lr_scale)] * (1 if isinstance(meta_lr_scale, (list, tuple)) else k)
    if len(scales) != k:
        raise ValueError(f"give one meta_lr_scale or one per model ({k}), got {len(scales)}")
    if k == 1:
        lr1 = [float(v) for v in as_list(lr)]
        if len(lr1) != 1:
            raise ValueError(f"give one lr or one per model (1), got {len(lr1)}")
        w, summary, history = train_stack([model_list[0], model_list[0]], task_list * 2, steps, lr1 * 2, log_every,
                                          _Halved(progress), scales * 2, device)
        return ({n: t[:1].clone() for n, t in w.items()}, {n: v[:1] for n, v in summary.items()},
                [h for h in history if h[0] == 0])
    data = _Data(task_list, device)
    stacked, buffers = stack_module_state(model_list)
    buffers = {n: b.to(device) for n, b in buffers.items()}
    names = list(stacked)
    shapes = {n: stacked[n].shape for n in names}
    sizes = [stacked[n].numel() for n in names]
    flat = torch.cat([stacked[n].detach().reshape(-1) for n in names]).to(device)
    base = copy.deepcopy(model_list[0])
    for layer in base.layers:
        layer.record = False
    roles = models.roles(base)
    lrs = torch.tensor([float(v) for v in as_list(lr)] * (k if not isinstance(lr, (list, tuple)) else 1),
                       dtype=torch.float64)
    if len(lrs) != k:
        raise ValueError(f"give one lr or one per model ({k}), got {len(lrs)}")
    per_elem = lambda per_name: torch.cat([per_name(n).repeat_interleave(shapes[n][1:].numel()) for n in names])
    meta = torch.tensor(scales, dtype=torch.float64)
    lr_vec = per_elem(lambda n: lrs * meta if roles[n][1] == "meta" else lrs * 1.0).to(device)
    replica_of = per_elem(lambda n: torch.arange(k)).to(device)

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
    for layer in base.layers:
        layer.fix_constants()                  # ω is a constant of the cell
    opt = Adam(flat, grad, lr_vec)

    def fwd(xx, terms=False):
        return base(xx, return_terms=terms)

    loss_fn = stack_loss(data.kind)
    one_loss, one_metric = _score_fns(data.kind)
    targets = lambda yy: yy.expand(k, *yy.shape) if data.shared else yy
    loss_each = lambda out, yy: each(one_loss, out, targets(yy))
    metric_fn = lambda out, yy: each(one_metric, out, targets(yy))
    x, y = data.x, data.y
    alive = torch.ones(k, dtype=torch.bool, device=device)
    alive_list = [True] * k
    dead_elem = None                           # elements of dead replicas: no gradient, no update
    history = []
    omega0 = {}                                # mean ω(x) per layer at the first log: drift reference
    log_every = log_every or log_interval(steps)

    def log(step, out, grads, terms):
        """Log step `step`; `out` and `terms` are the output and the layers' terms of the training
        forward of that step."""
        with torch.no_grad():
            rows = [("loss", "all", loss_each(out, y))]
            rows.append(("test_" + data.metric, "all", metric_fn(fwd(data.x_test), data.y_test)))
            for name, (xe, ye) in data.extra.items():       # e.g. ood's in-range set: read at shorter lengths too
                rows.append((f"{name}_{data.metric}", "all", metric_fn(fwd(xe), ye)))
            if grads is not None:
                sq = {}
                for name, g in grads.items():
                    lab, role = roles[name]
                    s = each(lambda v: v.pow(2).sum(), g.reshape(k, -1))
                    for key in ((lab, role), (lab, "all"), ("all", role), ("all", "all")):
                        sq[key] = sq.get(key, 0) + s
                for (lab, role), s in sq.items():
                    rows.append((f"grad_norm_{role}" if role != "all" else "grad_norm", lab, s.sqrt()))
            for i, t in enumerate(terms):
                lab = str(i)
                if "alpha" in t:
                    rows += [("alpha_mean", lab, each(torch.mean, t["alpha"])), ("alpha_std", lab, each(torch.std, t["alpha"]))]
                if "omega" in t:
                    om = each(torch.mean, t["omega"])
                    omega0.setdefault(i, om)
                    rows += [("omega_mean", lab, om), ("omega_std", lab, each(torch.std, t["omega"])),
                             ("omega_drift", lab, om - omega0[i])]
                if "gate" in t:
                    rows.append(("gate_mean", lab, each(torch.mean, t["gate"])))
                if "phase" in t:
                    rows += [("phase_abs_mean", lab, each(lambda v: v.abs().mean(), t["phase"])),
                             ("phase_g_corr", lab, each(_corr, t["phase"], t["g"]))]
            # one transfer for all rows (one sync on a GPU)
            values = torch.stack([v.reshape(k).to(torch.float64) for _, _, v in rows]).cpu().tolist()
        for (q, lab, _), vals in zip(rows, values):
            for r, v in enumerate(vals):
                history.append((r, step, q, lab, v if alive_list[r] else math.nan))

    for step in range(steps):
        logging = step % log_every == 0
        if logging:
            out, terms = fwd(x, True)
        else:
            out = fwd(x)
        losses = loss_fn(out, y)
        finite = torch.isfinite(losses)
        if not bool(finite.all()) and (alive & ~finite).any():
            alive &= finite
            alive_list = alive.tolist()
            dead_elem = ~alive[replica_of]
            opt.freeze(dead_elem)              # frozen at their last finite values
        grad.zero_()
        (losses.sum() if dead_elem is None else torch.where(alive, losses, torch.zeros_like(losses)).sum()).backward()
        if dead_elem is not None:
            grad[dead_elem] = 0                # NaNs must not reach the Adam moments
        if logging:
            log(step, out.detach(), unflat(grad), terms)
            del terms
        opt.step()
        if progress is not None:
            progress.update(k)

    with torch.no_grad():
        out, terms = fwd(x, True)
        final_loss = loss_each(out, y)
        alive &= torch.isfinite(final_loss)
        alive_list = alive.tolist()
        log(steps, out, None, terms)
        summary = {"final_train_loss": final_loss,
                   f"train_{data.metric}": metric_fn(out, y),
                   f"test_{data.metric}": metric_fn(fwd(data.x_test), data.y_test)}
        for name, (xe, ye) in data.extra.items():
            summary[f"{name}_{data.metric}"] = metric_fn(fwd(xe), ye)
        summary = {n: [v if a else math.nan for v, a in zip(t.tolist(), alive_list)] for n, t in summary.items()}
        summary["diverged"] = [not a for a in alive_list]
    return ({**{n: p.detach().clone().cpu() for n, p in unflat(flat).items()},
             **{n: b.cpu() for n, b in buffers.items()}}, summary, history)


def run_cell(cell, progress=None):
    """Train one cell or stack (a `Cell`, or its JSON form from `Experiment.cells`); returns a
    result dict.

    The result holds the cell's `key`, its JSON form (`config`), `metrics` and `history` records,
    the stacked `weights` (name -> tensor with a leading replica axis) and `provenance`. Safe to
    call in a worker process.
    """
    cell = as_cell(cell)
    old_threads = torch.get_num_threads()
    torch.set_num_threads(cell.threads)
    try:
        t0 = time.perf_counter()
        replicas = cell.replicas
        draws = {d: tasks.make(cell.task, seed=d, **cell.task_options) for d in dict.fromkeys(r.data_seed for r in replicas)}
        task = draws[replicas[0].data_seed]
        model_list = [models.build_model(cell.arch, task.in_dim, task.out_dim, width=cell.width, depth=cell.depth,
                                         seed=r.seed, perturb=cell.perturb,
                                         **cell.options, **({} if r.omega is None else {"omega": r.omega}))
                      for r in replicas]
        with ops.use_numpy(cell.kernels == "numpy"):
            initial = [initial_loss(m, draws[r.data_seed]) for m, r in zip(model_list, replicas)]
            weights, summary, hist = train_stack(model_list, [draws[r.data_seed] for r in replicas], cell.steps,
                                                 [r.lr for r in replicas], cell.log_every, progress,
                                                 [r.meta_lr_scale for r in replicas], device=cell.device)
        mark_divergence(summary, initial, [baseline_loss(draws[r.data_seed]) for r in replicas])
        wall = time.perf_counter() - t0
    finally:
        torch.set_num_threads(old_threads)
    n_params = models.count_params(model_list[0])
    moved = movement(weights, model_list)
    options = {**{f"task.{k}": v for k, v in cell.task_options.items()},
               **{f"opt.{k}": v for k, v in cell.options.items()}}
    shared = {"arch": cell.arch, "task": cell.task, "width": cell.width, "params": n_params, "budget": cell.budget,
              "depth": cell.depth, "steps": cell.steps, "kernels": cell.kernels, "perturb": cell.perturb,
              "device": cell.device, **options}
    metrics = []
    for i, r in enumerate(replicas):
        row = {**shared, "meta_lr_scale": r.meta_lr_scale, "data_seed": r.data_seed, "seed": r.seed, "omega": r.omega,
               "lr": r.lr, "replica": i, **{n: v[i] for n, v in summary.items()}, **moved[i],
               **draws[r.data_seed].baselines, "metric": task.metric, "wall_seconds": wall / len(replicas),
               "cell": cell.key, "stack": cell.key}
        metrics.append(row)
    history = [{"arch": cell.arch, "task": cell.task, **replicas[i]._asdict(),
                "width": cell.width, "depth": cell.depth, "budget": cell.budget, "steps_total": cell.steps, **options,
                "step": step, "quantity": q, "layer": lab, "value": v}
               for i, step, q, lab, v in hist]
    return {"key": cell.key, "config": cell.config, "metrics": metrics, "history": history,
            "weights": weights, "provenance": provenance(wall_seconds=wall, **numerics())}


def numerics():
    """{"numerics": NUMERICS} when MKL's strict mode is on in this process (see NUMERICS), else {}."""
    return {"numerics": NUMERICS} if "STRICT" in os.environ.get("MKL_CBWR", "").upper() else {}


def movement(weights, model_list):
    """Per replica, {"moved.<role>": ‖W_end − W_init‖ / ‖W_init‖} over all parameters of that
    role together (matrices, biases and scalars; roles from `models.roles`), from the stacked final
    `weights` and the untrained `model_list` (`train_stack` trains copies, so these keep their
    initial parameters): recorded at training time so no analysis rebuilds the initial models."""
    roles = models.roles(model_list[0])
    num, den = {}, {}
    for name, _ in model_list[0].named_parameters():
        w0 = torch.stack([m.get_parameter(name).detach() for m in model_list]).flatten(1)
        role = roles[name][1]
        num[role] = num.get(role, 0.0) + (weights[name].flatten(1) - w0).double().pow(2).sum(1)
        den[role] = den.get(role, 0.0) + w0.double().pow(2).sum(1)
    return [{f"moved.{k}": float((num[k][r] / den[k][r]).sqrt()) for k in num} for r in range(len(model_list))]


# Divergence beyond NaN. A replica whose final train loss is finite but above both its own initial
# loss and DIVERGENCE_FACTOR × the loss of the best constant prediction has been made worse by
# training, by more than an order of magnitude than knowing nothing about x: its training blew up
# (e.g. singlu at lr 1e4 ends at an MSE of 1e27). Ordinary poor fits stay below the constant's
# loss or their own start, so they are never flagged. Such a replica is marked `diverged` and
# its metrics are NaN, exactly like a NaN/inf replica: statistics exclude it and count it. A finite
# replica no better than the constant on its test set is not diverged: `stats.learnt_nothing` flags
# it apart when the results are read, and it stays in the statistics.
DIVERGENCE_FACTOR = 10.0


def baseline_loss(task):
    """Training loss of the best constant prediction on the training set: the train targets'
    variance (MSE of predicting their mean) or the class-frequency entropy (cross-entropy of
    predicting the class frequencies)."""
    y = task.y_train
    if task.kind == "regression":
        return float(((y - y.mean(0)) ** 2).mean())
    p = torch.bincount(y, minlength=task.out_dim).double() / len(y)
    return float(-(p[p > 0] * p[p > 0].log()).sum())


@torch.no_grad()
def initial_loss(model, task):
    """Training loss of one untrained model (the start every replica is compared with)."""
    out = model(task.x_train)
    if task.kind == "regression":
        return float(((out - task.y_train) ** 2).mean())
    return float(torch.nn.functional.cross_entropy(out, task.y_train))


def diverged(final_loss, initial, baseline, factor=DIVERGENCE_FACTOR):
    """The divergence rule for one replica: NaN/inf, or above both `initial` and factor × `baseline`."""
    return not math.isfinite(final_loss) or (final_loss > initial and final_loss > factor * baseline)


def mark_divergence(summary, initial, baseline):
    """Apply `diverged` to a `train_stack` summary in place (`initial`, `baseline`: one per replica,
    whose data draw may differ); newly diverged replicas get NaN metrics."""
    for r, loss in enumerate(summary["final_train_loss"]):
        if not summary["diverged"][r] and diverged(loss, initial[r], baseline[r]):
            summary["diverged"][r] = True
            for name, vals in summary.items():
                if name != "diverged":
                    vals[r] = math.nan
    return summary
