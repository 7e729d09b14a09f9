"""Training one cell: the replicas of a cell as one stacked ensemble, one flat Adam, logged.

See `engine` for the protocol and the equivalence with a plain loop.
"""
import copy
import math
import time

import torch
from torch.func import stack_module_state

from . import models, ops, tasks
from .experiment import _as_list, _replicas, cell_key
from .provenance import provenance

STAT_KEYS = ("alpha", "omega", "gate", "phase")


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
        with ops.use_numpy(cfg.get("kernels", "numpy") == "numpy"):
            weights, summary, hist = train_stack(model_list, task, cfg["steps"], [lr for *_, lr in replicas],
                                                 cfg["log_every"], progress, cfg["meta_lr_scale"])
        wall = time.perf_counter() - t0
    finally:
        torch.set_num_threads(old_threads)
    n_params = models.count_params(model_list[0])
    shared = {"arch": cfg["arch"], "task": cfg["task"], "width": cfg["width"], "params": n_params,
              "budget": cfg["budget"], "depth": cfg["depth"], "steps": cfg["steps"],
              "meta_lr_scale": cfg["meta_lr_scale"], "data_seed": cfg["data_seed"],
              "kernels": cfg.get("kernels", "numpy"),
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
