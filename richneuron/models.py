"""Models: `depth` hidden layers of one neuron, then a linear head; and parameter budgets.

`build_model(arch, in_dim, out_dim, width=... | budget=..., depth=2, seed=...)` is the one way
models are made. Budget matching follows the study ("binary search over hidden dimensions to
match budgets within ~5%"): the width whose exact trainable-parameter count is closest to the
budget, which must be within 5%.
"""

import torch
from torch import nn

from . import neurons, validate

__all__ = ["RichMLP", "build_model", "count_params", "width_for_budget", "options_of", "role", "roles", "role_counts"]

TOLERANCE = 0.05     # budget match: |count − budget| / budget ≤ 5% (the study's rule)
MAX_WIDTH = 1 << 16  # search bound for the width


class RichMLP(nn.Module):
    """`depth` hidden layers of one neuron type, then a linear head (with bias)."""

    def __init__(self, arch, in_dim, out_dim, width, depth=2, generator=None, **options):
        super().__init__()
        cls = neurons.get(arch)
        self.arch, self.in_dim, self.out_dim, self.width, self.depth = arch, in_dim, out_dim, width, depth
        self.options = dict(options)
        dims = [in_dim] + [width] * depth
        self.layers = nn.ModuleList(cls(i, width, generator=generator, **options) for i in dims[:-1])
        if hasattr(self.layers[0], "first_layer_init"):   # a neuron whose first layer differs (SIREN)
            self.layers[0].first_layer_init(generator)
        self.head = neurons.Linear(width, out_dim, generator=generator)
        if hasattr(self.layers[-1], "head_init"):          # a neuron whose network's head differs (SIREN)
            self.layers[-1].head_init(self.head, generator)

    def forward(self, x, return_terms=False):
        """Output `(N, out_dim)`; with `return_terms`, also a list of each layer's terms dict."""
        if not return_terms:
            for layer in self.layers:
                x = layer(x)
            return self.head(x)
        terms = []
        for layer in self.layers:
            terms.append(layer.terms(x))
            x = terms[-1]["out"]
        return self.head(x), terms

    def extra_repr(self):
        return f"arch={self.arch!r}, width={self.width}, depth={self.depth}, params={count_params(self)}"


def count_params(module):
    """Number of trainable parameters of `module` (biases, LayerNorm, per-unit scalars included)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad)


def role(name, meta):
    """(layer label, role) of the RichMLP parameter `name` ("layers.1.Wphi.weight", "head.bias"):
    the label is "head" or the hidden layer's index ("0", "1", ...); the role is "meta" when the
    name's first part inside the layer is one of `meta` (the neuron's META), else "direct" (the
    head included)."""
    parts = name.split(".")
    if parts[0] == "head":
        return "head", "direct"
    return parts[1], "meta" if parts[2] in meta else "direct"


def roles(model):
    """name -> (layer label, role) for every parameter of `model` (a RichMLP): the one place the
    direct/meta split is made (the meta learning rate, the logged gradient norms, the analyses)."""
    return {name: role(name, neurons.get(model.arch).META) for name, _ in model.named_parameters()}


BUFFERS = ("omega",)     # the one buffer a neuron holds (its ω, `neurons.Neuron._set_omega`): no parameter


def role_counts(arch, weights):
    """{(layer label, role): parameters per replica}, with the ("all", role) totals, from a cell's
    stacked weights (name -> tensor with a leading replica axis, buffers included, as training
    returns them and `Results` keeps them): no model is built."""
    meta, out = neurons.get(arch).META, {}
    for name, w in weights.items():
        if name.rsplit(".", 1)[-1] in BUFFERS:
            continue
        lab, r = role(name, meta)
        for key in ((lab, r), ("all", r)):
            out[key] = out.get(key, 0) + w[0].numel()
    return out


def options_of(arch):
    """The keyword options neuron `arch` accepts (e.g. omega, init, rank)."""
    return tuple(neurons.get(arch).OPTIONS)


def count_at(arch, in_dim, out_dim, width, depth, options):
    """The parameter count of a model of these sizes, built on the meta device (nothing allocated).
    Hidden layers after the first are alike, so a deep model's count is that of depths 1 and 2
    extrapolated (exact, and as fast at depth 1000 as at depth 2)."""
    def count(d):
        with torch.device("meta"):
            return count_params(RichMLP(arch, in_dim, out_dim, width, d, **options))
    if depth <= 2:
        return count(depth)
    one = count(1)
    return one + (depth - 1) * (count(2) - one)


def width_for_budget(arch, in_dim, out_dim, budget, depth=2, **options):
    """(width, count): the width whose parameter count is closest to `budget`, within 5%.

    Raises ValueError naming the smallest feasible budget when no width is within 5%. Widths the
    neuron refuses (e.g. below v4-lowrank's fixed rank) are skipped; if it refuses every width, its
    own error is raised.
    """
    options = neurons.check_options(arch, options)
    in_dim, out_dim, budget = (validate.integer(n, v) for n, v in
                               (("in_dim", in_dim), ("out_dim", out_dim), ("budget", budget)))
    depth = validate.depth("depth", depth)
    exact = lambda w: count_at(arch, in_dim, out_dim, w, depth, options)

    def count(w):
        """The count at width `w`, or None where the neuron refuses that width (too small for it)."""
        try:
            return exact(w)
        except ValueError:
            return None
    lo, hi = 1, MAX_WIDTH
    top = exact(hi)                         # a neuron that takes no width at all raises its own error here
    if top < budget:
        raise ValueError(f"budget {budget} needs a width above {MAX_WIDTH} for {arch!r}")
    reaches = lambda w: (c := count(w)) is not None and c >= budget
    while lo < hi:                          # first width whose count reaches the budget
        mid = (lo + hi) // 2
        if reaches(mid):
            hi = mid
        else:
            lo = mid + 1
    near = [w for w in sorted({max(1, lo - 1), lo}) if count(w) is not None]
    best = min(near, key=lambda w: (abs(count(w) - budget), w))
    n = count(best)
    if abs(n - budget) > TOLERANCE * budget:
        first = next(w for w in range(1, lo + 1) if count(w) is not None)    # the smallest width it takes
        feasible = lambda c: f"{int(-(-c // (1 + TOLERANCE)))}-{int(c // (1 - TOLERANCE))}"
        nearest = " or ".join(f"{feasible(count(w))} (width {w})" for w in near)
        raise ValueError(
            f"no width of {arch!r} ({in_dim}->{out_dim}, depth {depth}) has a parameter count within "
            f"5% of budget {budget}; the smallest feasible budget is {feasible(count(first)).split('-')[0]} "
            f"(width {first} has {count(first)} parameters); nearest feasible budgets: {nearest}")
    return best, n


PERTURB_STREAM = 0x5EEDC4EC   # a fixed offset of the perturbation's seed: its draws are no init's draws


def perturb_(model, seed, check):
    """Move every parameter of `model` by one ulp (float32: its `torch.nextafter` toward +inf or
    −inf), in place, the direction of each drawn from a generator seeded with (`seed`, `check`, a
    fixed offset) and nothing else: perturbation `check` (≥ 1) of the replica with init `seed`,
    the same run every time, as different from the unperturbed one as another CPU's rounding
    makes it, for every architecture (a ReLU network too). `check` 0 leaves `model` as it is."""
    check = validate.integer("perturb", check, minimum=0)
    if check == 0:
        return model
    if seed is None:
        raise ValueError("perturb needs the model's seed (build_model(..., seed=...))")
    import numpy as np
    state = np.random.SeedSequence([int(seed), check, PERTURB_STREAM]).generate_state(2, np.uint32)
    gen = torch.Generator().manual_seed((int(state[0]) << 31) ^ int(state[1]))
    with torch.no_grad():
        for _, p in model.named_parameters():
            up = torch.randint(0, 2, p.shape, generator=gen, dtype=torch.bool)
            inf = torch.tensor(float("inf"), dtype=p.dtype)
            p.copy_(torch.nextafter(p, torch.where(up, inf, -inf)))
    return model


def build_model(arch, in_dim, out_dim, *, width=None, budget=None, depth=2, seed=None, perturb=0, **options):
    """A `RichMLP` of neuron `arch`: `depth` hidden layers of `width` units and a linear head.

    Give exactly one of `width` or `budget`. With `seed`, the initial weights are a pure function
    of the arguments: every draw comes from a `torch.Generator` of this call seeded with `seed`
    (the same weights as under `torch.manual_seed(seed)`), never from the global RNG, so
    concurrent calls in threads cannot take each other's draws. Without `seed`, the global RNG
    (PyTorch's default). `perturb` n ≥ 1 moves every initial weight by one ulp (`perturb_`: the
    report's robustness check); 0, the default, does not. `options` go to the neuron
    (see `options_of(arch)`): e.g. omega=30.0, init="siren".
    """
    options = neurons.check_options(arch, options)
    in_dim, out_dim = (validate.integer(n, v) for n, v in (("in_dim", in_dim), ("out_dim", out_dim)))
    depth = validate.depth("depth", depth)
    if (width is None) == (budget is None):
        raise ValueError("give exactly one of width= or budget=")
    if seed is not None:
        seed = validate.seed("seed", seed)
    if width is None:
        width, _ = width_for_budget(arch, in_dim, out_dim, budget, depth, **options)
    width = validate.integer("width", width)
    validate.model_memory("width", width, count_at(arch, in_dim, out_dim, width, depth, options),
                          f"a {arch} model {in_dim}->{out_dim} of width {width} and depth {depth}")
    generator = None if seed is None else torch.Generator().manual_seed(seed)
    return perturb_(RichMLP(arch, in_dim, out_dim, width, depth, generator=generator, **options), seed, perturb)
