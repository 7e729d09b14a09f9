"""The neuron layers of "Beyond Linear Neurons", one small `nn.Module` each.

Every layer maps `(N, in_features) -> (N, width)`. Notation (the study's): g = Wg·x, v = Wv·x,
φ = Wφ·x, each an `nn.Linear` *with bias* unless a docstring says otherwise; ω is a fixed
frequency (a float option, never a hidden constant).

What the study states and what is ours
--------------------------------------
The study published equations only (README table; docs/original-study.md §2).
Everything below that is not an equation of that table is our documented choice and a
keyword option:

* ``omega`` (ω): default 1.0 for every sine neuron. The study never gives it.
* ``init``: ``"default"`` = PyTorch's `nn.Linear` init (U(±1/√fan_in) for weights and biases),
  the study's most likely choice; ``"siren"`` = Sitzmann et al. 2020 for the matrix inside the
  sine, U(±√(6/fan_in)/ω), so that ω·g has unit-scale pre-activations whatever ω is.
* Parameter roles: a layer lists in ``META`` the submodules/parameters that modulate the
  computation (phase Wφ, gates Wα/Wa, frequency Wω, v15's α/β/γ). Everything else (W, Wg, Wv,
  W1, W2, Wl, LayerNorm, the head) is "direct". The engine logs gradient norms per role.

Reading the adaptive quantities
-------------------------------
``layer.terms(x)`` returns a dict with the output under ``"out"`` and the named internal
quantities (``"g"``, ``"alpha"``, ``"omega"``, ``"gate"``, ``"phase"``) so notebooks never
re-derive them. ``layer(x)`` returns the output and, when ``layer.record`` is True (the default),
keeps the detached terms of the last call in ``layer.last``.

Published peers
---------------
Six published layers run beside the study's neurons as baselines (Bilinear, SwiGLU, GEGLU,
SIREN, Snake, FAN); each docstring gives its source and where we deviate.

How a neuron describes itself
-----------------------------
A neuron class declares its keyword options with their constraints (``OPTIONS``: option ->
a `validate` check, in the spirit of scikit-learn's ``_parameter_constraints``) and its families
(``TAGS``: "study" or "peers", and "adaptive", "glu", "periodic"). Generic code reads them: the
constructor's options are checked against the declaration, `available(tag)` lists the archs of a
family in registration order, and every list of archs elsewhere is derived from the tags. Adding
a neuron is one class and one `register` call.

Stacked ensembles
-----------------
The same code runs one model or a stack of K replicas (the engine's ensembles): when the
parameters carry a leading replica axis (weights (K, out, in), per-unit vectors (K, width), ω
(K,)), `Linear` turns into a batched matrix product and `unit(p, act)` reshapes a scalar or
per-unit tensor to broadcast against (K, N, width) activations. One model is the K-free case.
"""
import functools
import math

import torch
from torch import nn
from torch.nn import functional as F

from . import validate
from .ops import cos, dual_phase_layer, fusable, is_transformed, sin, sin_glu_layer, sin_mul, tanh

__all__ = ["available", "get", "register", "unregister", "check_options", "tags", "Neuron", "Linear",
           "LayerNorm", "unit"]

INITS = ("default", "siren")

# The constraints the neurons below declare (shared where options share a meaning).
OMEGA = validate.positive                                  # ω > 0
INIT = validate.declared(validate.choice, choices=INITS)
FLAG = validate.flag


def check_options(arch, options, only_declared=False):
    """`options` of neuron `arch` (an id or a class) checked against its declared `OPTIONS` and
    normalised (plain Python); a ValueError names the option, the value and what is allowed."""
    cls = get(arch) if isinstance(arch, str) else arch
    owner = f"arch {arch!r}" if isinstance(arch, str) else cls.__name__
    return validate.options(owner, cls.OPTIONS, options, only_declared)


def _siren_(linear, omega, generator=None):
    """SIREN hidden-layer init (Sitzmann et al. 2020, supp. 1.5): W ~ U(±√(6/fan_in)/ω)."""
    bound = math.sqrt(6.0 / linear.in_features) / omega
    nn.init.uniform_(linear.weight, -bound, bound, generator=generator)


class Linear(nn.Linear):
    """`nn.Linear` that also runs a stacked ensemble: weight (K, out, in), bias (K, out), input
    (N, in) shared by the replicas or (K, N, in) -> (K, N, out), as one batched matrix product.

    Initialisation is `nn.Linear`'s (U(±1/√in) for weight and bias), drawn from `generator`
    (a `torch.Generator`; None: the global one, as PyTorch does). The same draws in the same
    order as `nn.Linear`, so a generator seeded with s gives `torch.manual_seed(s)`'s weights."""

    def __init__(self, in_features, out_features, bias=True, generator=None):
        nn.Module.__init__(self)
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(torch.empty(out_features, in_features))
        if bias:
            self.bias = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters(generator)

    def reset_parameters(self, generator=None):
        nn.init.kaiming_uniform_(self.weight, a=math.sqrt(5), generator=generator)
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features) if self.in_features > 0 else 0
            nn.init.uniform_(self.bias, -bound, bound, generator=generator)

    def forward(self, x):
        w, b = self.weight, self.bias
        if w.dim() == 2:
            return F.linear(x, w, b)
        if x.dim() == 2:
            x = x.expand(w.shape[0], *x.shape)
        y = torch.bmm(x, w.transpose(1, 2))
        return y if b is None else y.add_(b.unsqueeze(1))   # no copy of the bias into y first



class LayerNorm(nn.LayerNorm):
    """`nn.LayerNorm` over the last axis that also takes stacked affine parameters (K, width)."""

    def forward(self, x):
        if self.weight is None or self.weight.dim() == 1:
            return super().forward(x)
        y = F.layer_norm(x, self.normalized_shape, eps=self.eps)
        return y * self.weight.unsqueeze(1) + self.bias.unsqueeze(1)


def unit(p, act):
    """Scalar or per-unit tensor `p` shaped to broadcast against activations `act`: unchanged
    for one model, (K, 1, width or 1) when `act` is a stacked (K, N, width) ensemble."""
    return p if act.dim() == 2 else p.reshape(act.shape[0], 1, -1)


class Neuron(nn.Module):
    """Base class: holds the sizes, the ω option, the `last` record and the repr."""

    META = ()            # names of the meta (modulating) submodules / parameters
    OPTIONS = {}         # keyword options beyond in/width -> their declared constraint (validate)
    LIMITS = {}          # option -> (in_features, width) -> its largest value in a layer of those sizes
    TAGS = ()            # families: "study" or "peers", and any of "adaptive", "glu", "periodic"
    SINE = None          # name of the Linear inside the sine (for init="siren")
    REVISION = 0         # raised when a neuron's computation or init changes: enters its cells' cache keys

    def __init_subclass__(cls, **kw):
        """A subclass's own constructor gets its options checked against `OPTIONS` first, so no
        constructor repeats a check its declaration makes."""
        super().__init_subclass__(**kw)
        init = cls.__dict__.get("__init__")
        if init is None:
            return

        @functools.wraps(init)
        def checked(self, in_features, width, *args, **options):
            options = check_options(cls, options, only_declared=True)
            for k, limit in cls.LIMITS.items():
                top = limit(in_features, width)
                if options.get(k) is not None and options[k] > top:
                    raise ValueError(f"{k} must be in range for a {cls.__name__} layer {in_features}->{width}: "
                                     f"a whole number in 1..{top} (at most min(in, width)), got {options[k]!r}")
            init(self, in_features, width, *args, **options)
        cls.__init__ = checked

    def __init__(self, in_features, width):
        super().__init__()
        self.in_features, self.width = int(in_features), int(width)
        self.record = True
        self.last = None

    def _set_omega(self, omega):
        # A buffer, not a float: it travels with the state dict and can differ per replica
        # when the engine stacks an ω sweep into one ensemble.
        self.register_buffer("omega", torch.tensor(float(omega)))

    def om(self, act):
        """ω shaped to broadcast against `act` (see `unit`)."""
        return unit(self.omega, act)

    def omega_times(self, act):
        """ω·act. Where every ω is exactly 1 (the default) this is `act` itself: 1·x == x in IEEE
        arithmetic, forward and backward, so skipping the multiplication (and its gradient) changes
        no bit of any result, and saves two elementwise passes per sine per step."""
        w = self.omega
        if is_transformed(w) or is_transformed(act):
            return self.om(act) * act
        one = self.__dict__.get("_omega_is_one")
        if one is None:
            one = bool((w == 1).all())
        return act if one else self.om(act) * act

    def fix_constants(self):
        """Read the constant buffers once (whether every ω is 1), for a training loop that keeps
        them as they are: `omega_times` then skips the check (a read-back) at every call."""
        if hasattr(self, "omega") and not is_transformed(self.omega):
            self._omega_is_one = bool((self.omega == 1).all())

    def _init(self, init, omega, generator=None):
        if init == "siren" and self.SINE is not None:
            _siren_(getattr(self, self.SINE), omega, generator)

    def terms(self, x):
        raise NotImplementedError

    def stacked(self, x):
        """The layer's output by a fused stacked kernel (see `ops.sin_glu_layer`), or None where
        the layer has none or it does not apply; `forward` uses it when nothing is recorded."""
        return None

    def omega_factor(self):
        """ω as (K, 1, 1) for a stacked layer's fused kernel, None where every ω is 1 (see
        `omega_times`)."""
        one = self.__dict__.get("_omega_is_one")
        if one is None:
            one = bool((self.omega == 1).all())
        return None if one else self.omega.reshape(-1, 1, 1)

    def forward(self, x):
        if not self.record:
            out = self.stacked(x)
            if out is not None:
                return out
        t = self.terms(x)
        if self.record and not is_transformed(x):
            self.last = {k: v.detach() for k, v in t.items()}
        return t["out"]

    def extra_repr(self):
        n = sum(p.numel() for p in self.parameters() if p.requires_grad)
        om = f", omega={float(self.omega):g}" if hasattr(self, "omega") else ""
        return f"{self.in_features} -> {self.width}{om}, params={n}"


def _lin(i, o, generator, bias=True):
    return Linear(i, o, bias=bias, generator=generator)


class Vanilla(Neuron):
    """B1 Vanilla: y = ReLU(W·x + b).

    Parameters per layer: h·(in + 1). Init: PyTorch default. Source: the study's baseline (B1).
    """

    TAGS = ("study",)

    def __init__(self, in_features, width, generator=None):
        super().__init__(in_features, width)
        self.W = _lin(in_features, width, generator)

    def terms(self, x):
        return {"out": torch.relu(self.W(x))}


class SinGLU(Neuron):
    """B2 SinGLU: y = sin(ω·g) ⊙ v, g = Wg·x + bg, v = Wv·x + bv.

    Parameters per layer: 2·h·(in + 1). Init: PyTorch default, or SIREN on Wg (`init="siren"`).
    Source: the study (B2). ω is not published: ours, default 1.0.
    """

    TAGS = ("study", "periodic", "glu")
    OPTIONS = {"omega": OMEGA, "init": INIT}
    SINE = "Wg"

    def __init__(self, in_features, width, omega=1.0, init="default", generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.Wg, self.Wv = _lin(in_features, width, generator), _lin(in_features, width, generator)
        self._init(init, float(omega), generator)

    def terms(self, x):
        g = self.Wg(x)
        return {"out": sin_mul(self.omega_times(g), self.Wv(x)), "g": g}

    def stacked(self, x):
        ws = (x, self.Wg.weight, self.Wg.bias, self.Wv.weight, self.Wv.bias)
        if self.Wg.weight.dim() != 3 or not fusable(*ws, self.omega):
            return None
        return sin_glu_layer(*ws, self.omega_factor())


class V1(Neuron):
    """v1 RichNeuron: y = LayerNorm((W1·x) ⊙ sin(ω·W2·x + b) + W1·x).

    The study's original README form (LayerNorm and the inner bias b included; its later README
    drops both, see docs/original-study.md §6.11). b is W2's bias; W1 also has a bias (ours).
    Parameters per layer: 2·h·(in + 1) + 2·h (LayerNorm affine; `layernorm=False` drops it).
    Init: PyTorch default, or SIREN on W2.
    """

    TAGS = ("study", "periodic")
    OPTIONS = {"omega": OMEGA, "init": INIT, "layernorm": FLAG}
    SINE = "W2"

    def __init__(self, in_features, width, omega=1.0, init="default", layernorm=True, generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.W1, self.W2 = _lin(in_features, width, generator), _lin(in_features, width, generator)
        self.norm = LayerNorm(width) if layernorm else nn.Identity()
        self._init(init, float(omega), generator)

    def _sine_pre(self, x):
        w2 = self.W2(x)
        return self.omega_times(w2)

    def terms(self, x):
        a = self.W1(x)
        pre = self._sine_pre(x)
        return {"out": self.norm(a * sin(pre) + a), "g": pre / self.om(pre)}


class V4LowRank(Neuron):
    """v4-lowrank: v1 with the sine-branch matrix factorised, W2 = B·A of rank r.

    y = LayerNorm((W1·x) ⊙ sin(ω·B·A·x + b) + W1·x); A: in→r (no bias), B: r→h (bias b).
    Rank rule (ours; the study gives none): r = max(1, ⌊min(in, h)·rank_fraction⌋),
    rank_fraction = 0.25 by default, or a fixed `rank` in 1..min(in, h). Parameters per layer:
    h·(in + 1) + r·in + h·(r + 1) + 2·h. Init: PyTorch default (SIREN on B if asked).
    """

    TAGS = ("study", "periodic")
    OPTIONS = {"omega": OMEGA, "init": INIT, "layernorm": FLAG,
               "rank": validate.optional(validate.declared(validate.integer, minimum=1)),
               "rank_fraction": validate.declared(validate.real, low=0, high=1, high_open=False)}
    LIMITS = {"rank": min}       # rank(B·A) <= min(in, width): a larger rank only adds parameters
    SINE = "B"

    def __init__(self, in_features, width, omega=1.0, init="default", layernorm=True,
                 rank=None, rank_fraction=0.25, generator=None):
        super().__init__(in_features, width)
        if rank is None:
            rank = max(1, int(min(in_features, width) * rank_fraction))
        self.rank = int(rank)
        self._set_omega(omega)
        self.W1 = _lin(in_features, width, generator)
        self.A, self.B = _lin(in_features, self.rank, generator, bias=False), _lin(self.rank, width, generator)
        self.norm = LayerNorm(width) if layernorm else nn.Identity()
        self._init(init, float(omega), generator)

    def terms(self, x):
        a = self.W1(x)
        g = self.B(self.A(x))
        return {"out": self.norm(a * sin(self.omega_times(g)) + a), "g": g}


class V4Shared(Neuron):
    """v4-shared: v1 with W2 tied to W1: y = LayerNorm(u ⊙ sin(ω·u + b) + u), u = W1·x + b1.

    b is a separate per-unit bias inside the sine (ours). Parameters per layer:
    h·(in + 1) + h + 2·h. Init: PyTorch default; b ~ U(±1/√in) like a Linear bias.
    """

    TAGS = ("study", "periodic")
    OPTIONS = {"omega": OMEGA, "init": INIT, "layernorm": FLAG}
    SINE = "W1"

    def __init__(self, in_features, width, omega=1.0, init="default", layernorm=True, generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.W1 = _lin(in_features, width, generator)
        bound = 1 / math.sqrt(in_features)
        self.b = nn.Parameter(nn.init.uniform_(torch.empty(width), -bound, bound, generator=generator))
        self.norm = LayerNorm(width) if layernorm else nn.Identity()
        self._init(init, float(omega), generator)

    def terms(self, x):
        u = self.W1(x)
        return {"out": self.norm(u * sin(self.omega_times(u) + unit(self.b, u)) + u), "g": u}


class V6(Neuron):
    """v6 adaptive routing: y = α(x) ⊙ [sin(ω·g) ⊙ v] + (1 − α(x)) ⊙ (Wl·x), α(x) = σ(Wα·x).

    Four matrices (Wg, Wv, Wl, Wα), all with bias: 4·h·(in + 1) parameters per layer.
    Meta: Wα. Exposes "alpha". Init: PyTorch default (α starts near 0.5). The per-unit α(x)
    and the linear branch are our reading of the study's `α(x)·periodic + (1−α)·linear`.
    """

    TAGS = ("study", "periodic", "adaptive")
    OPTIONS = {"omega": OMEGA, "init": INIT}
    META = ("Walpha",)
    SINE = "Wg"

    def __init__(self, in_features, width, omega=1.0, init="default", generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.Wg, self.Wv = _lin(in_features, width, generator), _lin(in_features, width, generator)
        self.Wl, self.Walpha = _lin(in_features, width, generator), _lin(in_features, width, generator)
        self._init(init, float(omega), generator)

    def terms(self, x):
        g = self.Wg(x)
        alpha = torch.sigmoid(self.Walpha(x))
        periodic = sin_mul(self.omega_times(g), self.Wv(x))
        return {"out": alpha * periodic + (1 - alpha) * self.Wl(x), "g": g, "alpha": alpha}


class V7(Neuron):
    """v7 learnable frequency: y = sin(ω(x) ⊙ g) ⊙ v, ω(x) = ω·softplus(Wω·x)/ln 2.

    ω(x) is positive and equals ω where Wω·x = 0, so it starts near ω (ours; the study says only
    "learnable, input-dependent"). Three matrices: 3·h·(in + 1). Meta: Wω. Exposes "omega".
    """

    TAGS = ("study", "periodic", "adaptive")
    OPTIONS = {"omega": OMEGA, "init": INIT}
    META = ("Womega",)
    SINE = "Wg"

    def __init__(self, in_features, width, omega=1.0, init="default", generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.Wg, self.Wv, self.Womega = (_lin(in_features, width, generator) for _ in range(3))
        self._init(init, float(omega), generator)

    def terms(self, x):
        g = self.Wg(x)
        om = self.om(g) * F.softplus(self.Womega(x)) / math.log(2.0)
        return {"out": sin(om * g) * self.Wv(x), "g": g, "omega": om}


class V8(Neuron):
    """v8 phase + amplitude gate: y = σ(Wa·x) ⊙ sin(ω·g + φ) ⊙ v, φ = Wφ·x.

    Four matrices (Wg, Wv, Wφ, Wa): 4·h·(in + 1). Meta: Wφ, Wa. Exposes "gate" and "phase".
    The unbounded phase and the value product are our reading of the study's row.
    """

    TAGS = ("study", "periodic", "adaptive")
    OPTIONS = {"omega": OMEGA, "init": INIT}
    META = ("Wphi", "Wa")
    SINE = "Wg"

    def __init__(self, in_features, width, omega=1.0, init="default", generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.Wg, self.Wv, self.Wphi, self.Wa = (_lin(in_features, width, generator) for _ in range(4))
        self._init(init, float(omega), generator)

    def terms(self, x):
        g, phase, gate = self.Wg(x), self.Wphi(x), torch.sigmoid(self.Wa(x))
        out = gate * sin(self.omega_times(g) + phase) * self.Wv(x)
        return {"out": out, "g": g, "gate": gate, "phase": phase}


class V9(Neuron):
    """v9 controlled frequency + phase + gate: five matrices (the study's count).

    y = α(x) ⊙ sin(ω(x) ⊙ g + φ(x)) ⊙ v with ω(x) = ω·(1 + ω_range·tanh(Wω·x)) bounded in
    [ω(1−ω_range), ω(1+ω_range)], ω_range = 0.5 (ours), φ(x) = π·tanh(Wφ·x), α(x) = σ(Wα·x).
    Parameters per layer: 5·h·(in + 1). Meta: Wω, Wφ, Wα. Exposes "omega", "phase", "alpha".
    """

    TAGS = ("study", "periodic", "adaptive")
    OPTIONS = {"omega": OMEGA, "init": INIT,
               "omega_range": validate.declared(validate.real, low=0, high=1, low_open=False)}
    META = ("Womega", "Wphi", "Walpha")
    SINE = "Wg"

    def __init__(self, in_features, width, omega=1.0, init="default", omega_range=0.5, generator=None):
        super().__init__(in_features, width)
        self.omega_range = float(omega_range)
        self._set_omega(omega)
        self.Wg, self.Wv, self.Womega, self.Wphi, self.Walpha = (
            _lin(in_features, width, generator) for _ in range(5))
        self._init(init, float(omega), generator)

    def terms(self, x):
        g = self.Wg(x)
        om = self.om(g) * (1 + self.omega_range * tanh(self.Womega(x)))
        phase = math.pi * tanh(self.Wphi(x))
        alpha = torch.sigmoid(self.Walpha(x))
        out = alpha * sin(om * g + phase) * self.Wv(x)
        return {"out": out, "g": g, "omega": om, "phase": phase, "alpha": alpha}


class _PhaseGLU(Neuron):
    """Shared shape of v10–v13: sin(ω·g + phase(g, φ)) ⊙ v with three matrices Wg, Wv, Wφ."""

    TAGS = ("study", "periodic", "adaptive")
    OPTIONS = {"omega": OMEGA, "init": INIT}
    META = ("Wphi",)
    SINE = "Wg"

    def __init__(self, in_features, width, omega=1.0, init="default", generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.Wg, self.Wv, self.Wphi = (_lin(in_features, width, generator) for _ in range(3))
        self._init(init, float(omega), generator)

    def phase(self, g, phi):
        raise NotImplementedError

    def terms(self, x):
        g = self.Wg(x)
        phase = self.phase(g, self.Wphi(x))
        return {"out": sin(self.omega_times(g) + phase) * self.Wv(x), "g": g, "phase": phase}


class V10(_PhaseGLU):
    """v10 free phase: y = sin(ω·g + π·tanh(φ)) ⊙ v. Phase term π·tanh(φ) ∈ (−π, π).

    3·h·(in + 1) parameters per layer. Meta: Wφ. Source: the study (value product inferred).
    """

    def phase(self, g, phi):
        return math.pi * tanh(phi)


class V11(_PhaseGLU):
    """v11 disciplined phase: y = sin(ω·(g + 0.1·tanh(φ))) ⊙ v. Phase term 0.1·ω·tanh(φ).

    3·h·(in + 1) parameters per layer. Meta: Wφ. Source: the study.
    """

    def phase(self, g, phi):
        return 0.1 * self.om(phi) * tanh(phi)


class V12(_PhaseGLU):
    """v12 signal-proportional phase (FM): y = sin(ω·g·(1 + 0.2·tanh(φ))) ⊙ v.

    Phase term 0.2·ω·g·tanh(φ). 3·h·(in + 1) parameters per layer. Meta: Wφ. Source: the study.
    """

    def phase(self, g, phi):
        return 0.2 * self.om(g) * g * tanh(phi)


class V13(_PhaseGLU):
    """v13 signal-aligned phase: y = sin(ω·g + 0.1·g·tanh(φ)) ⊙ v. Phase term 0.1·g·tanh(φ).

    3·h·(in + 1) parameters per layer. Meta: Wφ. Source: the study.
    """

    def phase(self, g, phi):
        return 0.1 * g * tanh(phi)


class V15(Neuron):
    """v15 dual-phase: y = sin(ω·g + β·φ) ⊙ (1 + α·sin(2ω·g + γ·φ)) ⊙ v.

    α, β, γ are learnable, initialised to α = 0.5, β = γ = 1 (ours, the study does not say);
    one scalar each per layer by default, or one per unit with `per_unit=True`.
    Parameters per layer: 3·h·(in + 1) + 3 (or + 3·h). Meta: Wφ, α, β, γ. Exposes "phase" (β·φ).
    """

    TAGS = ("study", "periodic", "adaptive")
    OPTIONS = {"omega": OMEGA, "init": INIT, "per_unit": FLAG}
    META = ("Wphi", "a", "b", "c")
    SINE = "Wg"
    REVISION = 1         # 1: a stacked layer runs as one fused node (`ops.dual_phase_layer`): rounding differs

    def __init__(self, in_features, width, omega=1.0, init="default", per_unit=False, generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.Wg, self.Wv, self.Wphi = (_lin(in_features, width, generator) for _ in range(3))
        n = width if per_unit else 1
        self.a = nn.Parameter(torch.full((n,), 0.5))   # α
        self.b = nn.Parameter(torch.full((n,), 1.0))   # β
        self.c = nn.Parameter(torch.full((n,), 1.0))   # γ
        self._init(init, float(omega), generator)

    def terms(self, x):
        g, phi = self.Wg(x), self.Wphi(x)
        wg = self.omega_times(g)
        a, b, c = (unit(p, g) for p in (self.a, self.b, self.c))
        core = sin(wg + b * phi) * (1 + a * sin(2 * wg + c * phi))
        return {"out": core * self.Wv(x), "g": g, "phase": b * phi}

    def stacked(self, x):
        w = self.Wg.weight
        ws = (x, w, self.Wg.bias, self.Wphi.weight, self.Wphi.bias, self.Wv.weight, self.Wv.bias,
              self.a, self.b, self.c)
        if w.dim() != 3 or not fusable(*ws, self.omega):
            return None
        k = w.shape[0]
        return dual_phase_layer(*ws[:7], *(p.reshape(k, 1, -1) for p in ws[7:]), self.omega_factor())


class _GLU(Neuron):
    """Shared shape of the GLU family (Shazeer 2020): y = σ(g) ⊙ v, g = Wg·x + bg, v = Wv·x + bv.

    Exactly SinGLU's layer with sin(ω·) replaced by σ, so the family runs at SinGLU's width and
    parameter count, 2·h·(in + 1) per layer: only σ differs. Shazeer's FFN has no biases; we keep
    both (ours) so that the count matches SinGLU's. Init: PyTorch default. Exposes "g".
    """

    TAGS = ("peers", "glu")

    def __init__(self, in_features, width, generator=None):
        super().__init__(in_features, width)
        self.Wg, self.Wv = _lin(in_features, width, generator), _lin(in_features, width, generator)

    @staticmethod
    def sigma(g):
        raise NotImplementedError

    def terms(self, x):
        g = self.Wg(x)
        return {"out": self.sigma(g) * self.Wv(x), "g": g}


class Bilinear(_GLU):
    """Peer: Bilinear GLU, y = (Wg·x + bg) ⊙ (Wv·x + bv) (σ = identity).

    Parameters per layer: 2·h·(in + 1) (SinGLU's; biases are ours, Shazeer's FFN has none).
    Init: PyTorch default. Source: Shazeer 2020, "GLU Variants Improve Transformer",
    arXiv:2002.05202.
    """

    @staticmethod
    def sigma(g):
        return g


class SwiGLU(_GLU):
    """Peer: SwiGLU, y = silu(Wg·x + bg) ⊙ (Wv·x + bv), silu(z) = z·sigmoid(z) (Swish₁).

    Parameters per layer: 2·h·(in + 1) (SinGLU's; biases are ours, Shazeer's FFN has none).
    Init: PyTorch default. Source: Shazeer 2020, arXiv:2002.05202.
    """

    @staticmethod
    def sigma(g):
        return F.silu(g)


class GEGLU(_GLU):
    """Peer: GEGLU, y = gelu(Wg·x + bg) ⊙ (Wv·x + bv), with the authors' GELU: the tanh
    approximation 0.5·z·(1 + tanh(√(2/π)·(z + 0.044715·z³))) of Mesh-TensorFlow's `mtf.gelu`
    (ops.py), the code of the GLU-variants paper (it differs from the exact erf GELU by ≤ 4.7e-4).

    Parameters per layer: 2·h·(in + 1) (SinGLU's; biases are ours, Shazeer's FFN has none).
    Init: PyTorch default. Source: Shazeer 2020, arXiv:2002.05202.
    """

    REVISION = 1         # 1: tanh GELU (was the exact erf GELU)

    @staticmethod
    def sigma(g):
        return F.gelu(g, approximate="tanh")


class Siren(Neuron):
    """Peer: SIREN layer, y = sin(ω0·(W·x + b)), ω0 = `omega`, default 30.0 (the paper's).

    Parameters per layer: h·(in + 1), the ReLU MLP's. Init (`init="siren"`, the default):
    W ~ U(±√(6/in)/ω0), the reference's hidden-layer rule; b keeps PyTorch's default, like the
    reference. `init="default"` keeps PyTorch's default for W too.
    The network's first layer is redrawn from U(±1/in), the reference's first-layer rule
    (`RichMLP` calls `first_layer_init` on its first layer), so that ω0·W spans ±ω0/in there, and
    the network's linear head from U(±√(6/w)/ω0), the reference's outermost-linear rule
    (`RichMLP` calls `head_init` of its last layer).
    Exposes "g" = W·x + b. Source: Sitzmann et al. 2020, arXiv:2006.09661.
    """

    TAGS = ("peers", "periodic")
    OPTIONS = {"omega": OMEGA, "init": INIT}
    SINE = "W"
    REVISION = 1         # 1: the head gets the reference's outermost-linear init (was PyTorch's default)

    def __init__(self, in_features, width, omega=30.0, init="siren", generator=None):
        super().__init__(in_features, width)
        self._set_omega(omega)
        self.W = _lin(in_features, width, generator)
        self._init(init, float(omega), generator)
        self.init, self.omega0 = init, float(omega)

    def first_layer_init(self, generator=None):
        """SIREN's first-layer rule (`first_layer_sine_init`): W ~ U(±1/in)."""
        if self.init == "siren":
            nn.init.uniform_(self.W.weight, -1 / self.in_features, 1 / self.in_features, generator=generator)

    def head_init(self, head, generator=None):
        """SIREN's outermost linear layer (the network's head after SIREN layers): the reference
        applies its hidden-layer rule to it too, W ~ U(±√(6/w)/ω0), w = this layer's width
        (`sine_init` over the whole `FCBlock`; `final_linear` in explore_siren.ipynb). b keeps
        PyTorch's default."""
        if self.init == "siren":
            _siren_(head, self.omega0, generator)

    def terms(self, x):
        g = self.W(x)
        return {"out": sin(self.omega_times(g)), "g": g}


class Snake(Neuron):
    """Peer: Snake, y = z + sin²(a·z)/(a + 1e-9), z = W·x + b, `a` learnable, one per unit.

    a starts at `a_init` (default 0.5, the paper's default for ordinary tasks; audio codebases
    use 1.0; 5–50 for clearly periodic data) and must be positive. The 1e-9 in the denominator is
    the BigVGAN-style guard (ours to keep; the paper writes 1/a). Parameters per layer:
    h·(in + 1) + h. Meta: a. Init: PyTorch default for W, b (the paper's variance correction is
    not applied). Exposes "g" = z. Source: Liu Ziyin, Hartwig, Ueda 2020, arXiv:2006.08195.
    """

    TAGS = ("peers", "periodic")
    OPTIONS = {"a_init": validate.positive}
    META = ("a",)
    EPS = 1e-9

    def __init__(self, in_features, width, a_init=0.5, generator=None):
        super().__init__(in_features, width)
        self.W = _lin(in_features, width, generator)
        self.a = nn.Parameter(torch.full((width,), float(a_init)))

    def terms(self, x):
        z = self.W(x)
        a = unit(self.a, z)
        return {"out": z + sin(a * z) ** 2 / (a + self.EPS), "g": z}


class FAN(Neuron):
    """Peer: FAN layer, y = [cos(p) ‖ sin(p) ‖ GELU(Wḡ·x + bḡ)], p = Wp·x + bp (exact GELU).

    Wp: in → d_p with d_p = int(width·p_ratio), `p_ratio` in (0, 0.5), default 0.25 (FANLayer.py);
    Wḡ: in → width − 2·d_p; cos and sin share Wp. The Wp bias is on (FANLayer.py's default
    `use_p_bias=True`). Below width 1/p_ratio, d_p = 0 and the layer is a GELU layer, as in the
    reference. Parameters per layer: d_p·(in + 1) + (h − 2·d_p)·(in + 1), about 0.75× an MLP
    layer's. Init: PyTorch default. Used here as RichMLP's hidden layer (no separate input
    embedding, unlike the paper's experiments). Exposes "g" = p. Source: Dong et al., "FAN:
    Fourier Analysis Networks", arXiv:2410.02675, FANLayer.py.
    """

    TAGS = ("peers", "periodic")
    OPTIONS = {"p_ratio": validate.declared(validate.real, low=0, high=0.5, what="a share in (0, 0.5) (cos and sin "
                                                                                "each take p_ratio of the width)")}
    SINE = "Wp"

    def __init__(self, in_features, width, p_ratio=0.25, generator=None):
        super().__init__(in_features, width)
        self.p_ratio = float(p_ratio)
        self.d_p = int(width * self.p_ratio)
        self.Wp = _lin(in_features, self.d_p, generator)
        self.Wgbar = _lin(in_features, width - 2 * self.d_p, generator)

    def terms(self, x):
        p = self.Wp(x)
        out = torch.cat((cos(p), sin(p), F.gelu(self.Wgbar(x))), dim=-1)
        return {"out": out, "g": p}


# The registry, in order: the study's 14 (its table's order), then the published peers.
REGISTRY = {}


def register(name, cls):
    """Register neuron class `cls` (a `Neuron` declaring its OPTIONS and TAGS) under id `name`."""
    if not (isinstance(cls, type) and issubclass(cls, Neuron)):
        raise ValueError(f"register takes a Neuron subclass, got {cls!r}")
    if not cls.TAGS:
        raise ValueError(f"{cls.__name__} declares no TAGS (give at least 'study' or 'peers')")
    if name in REGISTRY:
        raise ValueError(f"arch {name!r} is already registered ({REGISTRY[name].__name__})")
    REGISTRY[name] = cls
    return cls


def unregister(name):
    """Remove the neuron registered under `name` (for tests that register a throwaway one)."""
    get(name)
    del REGISTRY[name]


for _name, _cls in {"vanilla": Vanilla, "singlu": SinGLU, "v1": V1, "v4-lowrank": V4LowRank, "v4-shared": V4Shared,
                    "v6": V6, "v7": V7, "v8": V8, "v9": V9, "v10": V10, "v11": V11, "v12": V12, "v13": V13,
                    "v15": V15, "bilinear": Bilinear, "swiglu": SwiGLU, "geglu": GEGLU, "siren": Siren,
                    "snake": Snake, "fan": FAN}.items():
    register(_name, _cls)


def tags(arch):
    """The families neuron `arch` declares (its TAGS)."""
    return tuple(get(arch).TAGS)


def available(*tags_, exclude=()):
    """The registered neuron ids carrying every tag of `tags_` and none of `exclude`, in registration
    order: "study" (the study's 14, in its order; the default), "peers" (the published peers),
    "all" (study, then peers), or a family ("adaptive", "glu", "periodic")."""
    valid = ("all", *dict.fromkeys(t for c in REGISTRY.values() for t in c.TAGS))
    want = {validate.choice("group", t, valid) for t in (tags_ or ("study",))} - {"all"}
    drop = {validate.choice("exclude", t, valid) for t in exclude}
    return [a for a, c in REGISTRY.items() if want <= set(c.TAGS) and not drop & set(c.TAGS)]


def get(name):
    """The neuron class registered under `name`; ValueError listing the valid ids otherwise."""
    if not isinstance(name, str) or name not in REGISTRY:
        raise ValueError(f"unknown arch {name!r}; valid choices: {', '.join(REGISTRY)}")
    return REGISTRY[name]
