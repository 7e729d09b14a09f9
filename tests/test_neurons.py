"""Tests of richneuron.neurons: budgets, parameter counts, equations, gradients, init, repr.

Every expected value here is recomputed independently of the library: parameter counts from
hand formulas, layer outputs from the study's equations written with plain torch ops on the
layer's own weight tensors.
"""
import math

import pytest
import torch
from torch.func import functional_call

from richneuron import build_model, count_params, neurons

ARCHS = neurons.available()
SINE_ARCHS = [a for a in ARCHS if a != "vanilla"]
PEERS = neurons.available("peers")
ALL_ARCHS = neurons.available("all")
GLU_PEERS = ["bilinear", "swiglu", "geglu"]

EXPECTED_ARCHS = ["vanilla", "singlu", "v1", "v4-lowrank", "v4-shared", "v6", "v7", "v8", "v9",
                  "v10", "v11", "v12", "v13", "v15"]
EXPECTED_PEERS = ["bilinear", "swiglu", "geglu", "siren", "snake", "fan"]

TRIPLES = [(2, 1, 3000), (2, 1, 5000), (8, 4, 5000), (4, 1, 8000), (1, 1, 3000)]

# The Linear inside the sine, per arch (from the equations), for init="siren".
SINE_MATRIX = {"singlu": "Wg", "v1": "W2", "v4-lowrank": "B", "v4-shared": "W1", "v6": "Wg",
               "v7": "Wg", "v8": "Wg", "v9": "Wg", "v10": "Wg", "v11": "Wg", "v12": "Wg",
               "v13": "Wg", "v15": "Wg"}


# --------------------------------------------------------------------------- hand formulas

def lowrank_rank(i, h, rank=None, rank_fraction=0.25):
    return rank if rank is not None else max(1, math.floor(min(i, h) * rank_fraction))


def layer_params(arch, i, h, **opt):
    """Parameters of one hidden layer, from the per-layer formulas of the study's table."""
    ln = 2 * h if opt.get("layernorm", True) else 0
    if arch == "vanilla":
        return h * (i + 1)
    if arch == "singlu":
        return 2 * h * (i + 1)
    if arch == "v1":
        return 2 * h * (i + 1) + ln
    if arch == "v4-lowrank":
        r = lowrank_rank(i, h, opt.get("rank"), opt.get("rank_fraction", 0.25))
        return h * (i + 1) + r * i + h * (r + 1) + ln
    if arch == "v4-shared":
        return h * (i + 1) + h + ln
    if arch in ("v6", "v8"):
        return 4 * h * (i + 1)
    if arch == "v9":
        return 5 * h * (i + 1)
    if arch in ("v7", "v10", "v11", "v12", "v13"):
        return 3 * h * (i + 1)
    if arch == "v15":
        return 3 * h * (i + 1) + (3 * h if opt.get("per_unit") else 3)
    # published peers
    if arch in GLU_PEERS:
        return 2 * h * (i + 1)
    if arch == "siren":
        return h * (i + 1)
    if arch == "snake":
        return h * (i + 1) + h
    if arch == "fan":
        d_p = math.floor(h * opt.get("p_ratio", 0.25))
        return d_p * (i + 1) + (h - 2 * d_p) * (i + 1)
    raise AssertionError(f"no hand formula for {arch}")


def model_params(arch, i, o, h, depth, **opt):
    dims = [i] + [h] * depth
    return sum(layer_params(arch, a, h, **opt) for a in dims[:-1]) + h * o + o


# --------------------------------------------------------------------------- hand equations

def lin(x, L):
    y = x @ L.weight.T
    return y + L.bias if L.bias is not None else y


def layernorm(y, norm, eps=1e-5):
    mu = y.mean(-1, keepdim=True)
    var = ((y - mu) ** 2).mean(-1, keepdim=True)
    return (y - mu) / torch.sqrt(var + eps) * norm.weight + norm.bias


def hand_terms(arch, L, x, omega=2.5, omega_range=0.5):
    """The layer's output and exposed quantities, from the equations, with plain torch ops.

    ω (and v9's ω range) are the values the layer was built with, not read back from it.
    """
    w = omega
    if arch == "vanilla":
        return {"out": torch.clamp(x @ L.W.weight.T + L.W.bias, min=0)}
    if arch == "singlu":
        g, v = lin(x, L.Wg), lin(x, L.Wv)
        return {"out": torch.sin(w * g) * v, "g": g}
    if arch == "v1":
        a, g = lin(x, L.W1), lin(x, L.W2)                   # g = W2·x + b
        y = a * torch.sin(w * g) + a
        return {"out": layernorm(y, L.norm) if isinstance(L.norm, torch.nn.LayerNorm) else y,
                "g": g}
    if arch == "v4-lowrank":
        a = lin(x, L.W1)
        g = (x @ L.A.weight.T) @ L.B.weight.T + L.B.bias    # B·A·x + b, A without bias
        y = a * torch.sin(w * g) + a
        return {"out": layernorm(y, L.norm) if isinstance(L.norm, torch.nn.LayerNorm) else y,
                "g": g}
    if arch == "v4-shared":
        u = lin(x, L.W1)
        y = u * torch.sin(w * u + L.b) + u
        return {"out": layernorm(y, L.norm) if isinstance(L.norm, torch.nn.LayerNorm) else y,
                "g": u}
    if arch == "v6":
        g, v, l = lin(x, L.Wg), lin(x, L.Wv), lin(x, L.Wl)
        alpha = 1 / (1 + torch.exp(-lin(x, L.Walpha)))
        return {"out": alpha * (torch.sin(w * g) * v) + (1 - alpha) * l, "g": g, "alpha": alpha}
    if arch == "v7":
        g, v = lin(x, L.Wg), lin(x, L.Wv)
        om = w * torch.log(1 + torch.exp(lin(x, L.Womega))) / math.log(2)
        return {"out": torch.sin(om * g) * v, "g": g, "omega": om}
    if arch == "v8":
        g, v, phi = lin(x, L.Wg), lin(x, L.Wv), lin(x, L.Wphi)
        gate = 1 / (1 + torch.exp(-lin(x, L.Wa)))
        return {"out": gate * torch.sin(w * g + phi) * v, "g": g, "gate": gate, "phase": phi}
    if arch == "v9":
        g, v, phi = lin(x, L.Wg), lin(x, L.Wv), lin(x, L.Wphi)
        om = w * (1 + omega_range * torch.tanh(lin(x, L.Womega)))
        alpha = 1 / (1 + torch.exp(-lin(x, L.Walpha)))
        phase = math.pi * torch.tanh(phi)
        return {"out": alpha * torch.sin(om * g + phase) * v, "g": g, "omega": om,
                "phase": phase, "alpha": alpha}
    if arch in ("v10", "v11", "v12", "v13"):
        g, v, phi = lin(x, L.Wg), lin(x, L.Wv), lin(x, L.Wphi)
        t = torch.tanh(phi)
        if arch == "v10":
            out, phase = torch.sin(w * g + math.pi * t) * v, math.pi * t
        elif arch == "v11":
            out, phase = torch.sin(w * (g + 0.1 * t)) * v, 0.1 * w * t
        elif arch == "v12":
            out, phase = torch.sin(w * g * (1 + 0.2 * t)) * v, 0.2 * w * g * t
        else:
            out, phase = torch.sin(w * g + 0.1 * g * t) * v, 0.1 * g * t
        return {"out": out, "g": g, "phase": phase}
    if arch == "v15":
        g, v, phi = lin(x, L.Wg), lin(x, L.Wv), lin(x, L.Wphi)
        alpha, beta, gamma = L.a, L.b, L.c
        out = torch.sin(w * g + beta * phi) * (1 + alpha * torch.sin(2 * w * g + gamma * phi)) * v
        return {"out": out, "g": g, "phase": beta * phi}
    # published peers
    if arch in GLU_PEERS:
        g, v = lin(x, L.Wg), lin(x, L.Wv)
        if arch == "bilinear":
            gate = g
        elif arch == "swiglu":
            gate = g / (1 + torch.exp(-g))                          # Swish₁
        else:
            gate = 0.5 * g * (1 + torch.tanh(math.sqrt(2 / math.pi) * (g + 0.044715 * g ** 3)))  # mtf.gelu
        return {"out": gate * v, "g": g}
    if arch == "siren":
        g = lin(x, L.W)
        return {"out": torch.sin(w * g), "g": g}
    if arch == "snake":
        z = lin(x, L.W)
        return {"out": z + torch.sin(L.a * z) ** 2 / (L.a + 1e-9), "g": z}
    if arch == "fan":
        p = lin(x, L.Wp)
        gbar = lin(x, L.Wgbar)
        gelu = 0.5 * gbar * (1 + torch.erf(gbar / math.sqrt(2)))
        return {"out": torch.cat([torch.cos(p), torch.sin(p), gelu], dim=1), "g": p}
    raise AssertionError(f"no hand equation for {arch}")


def make_layer(arch, in_features=3, width=5, omega=2.5, seed=0, **opt):
    torch.manual_seed(seed)
    kw = dict(opt)
    if "omega" in neurons.get(arch).OPTIONS:
        kw["omega"] = omega
    return neurons.get(arch)(in_features=in_features, width=width, **kw)


def perturb_(layer, seed=1, scale=0.5):
    """Move every parameter off its init (LayerNorm affine, v15 α/β/γ included)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in layer.parameters():
            p.add_(scale * torch.randn(p.shape, generator=gen, dtype=p.dtype))
    return layer


# Variants: every arch with omega=2.5, plus non-default options.
VARIANTS = [(a, {}) for a in ARCHS] + [
    ("v1", {"layernorm": False}),
    ("v4-lowrank", {"layernorm": False}),
    ("v4-lowrank", {"rank": 2}),
    ("v4-shared", {"layernorm": False}),
    ("v9", {"omega_range": 0.3}),
    ("v15", {"per_unit": True}),
]
VARIANT_IDS = [a + ("" if not o else "-" + "-".join(f"{k}={v}" for k, v in o.items()))
               for a, o in VARIANTS]

# The published peers, plus non-default options (tested at in=3, width=8).
PEER_VARIANTS = [(a, {}) for a in PEERS] + [
    ("siren", {"init": "default"}),
    ("snake", {"a_init": 5.0}),
    ("fan", {"p_ratio": 0.4}),
]
PEER_VARIANT_IDS = [a + ("" if not o else "-" + "-".join(f"{k}={v}" for k, v in o.items()))
                    for a, o in PEER_VARIANTS]


# --------------------------------------------------------------------------- registry

def test_available_is_the_study_list():
    assert ARCHS == EXPECTED_ARCHS


def test_get_unknown_arch_lists_choices():
    with pytest.raises(ValueError) as e:
        neurons.get("v99")
    for a in EXPECTED_ARCHS + EXPECTED_PEERS:
        assert a in str(e.value)


def test_available_groups():
    assert neurons.available("study") == EXPECTED_ARCHS
    assert PEERS == EXPECTED_PEERS
    assert ALL_ARCHS == EXPECTED_ARCHS + EXPECTED_PEERS
    for a in EXPECTED_PEERS:
        assert neurons.get(a).__name__ in ("Bilinear", "SwiGLU", "GEGLU", "Siren", "Snake", "FAN")


def test_available_unknown_group_lists_choices():
    with pytest.raises(ValueError) as e:
        neurons.available("bogus")
    msg = str(e.value)
    assert "bogus" in msg and "study" in msg and "peers" in msg and "all" in msg


def test_parse_archs_groups():
    from richneuron.notebook import QUICK_ARCHS, parse_archs
    assert parse_archs("all") == EXPECTED_ARCHS
    assert parse_archs("all", group="peers") == EXPECTED_PEERS
    assert parse_archs("all", group="all") == EXPECTED_ARCHS + EXPECTED_PEERS
    assert parse_archs("all", quick=True, group="all") == list(QUICK_ARCHS)
    assert parse_archs("singlu, swiglu,fan") == ["singlu", "swiglu", "fan"]
    with pytest.raises(ValueError, match="group"):
        parse_archs("all", group="bogus")
    for bad in ("singlu,relu9", []):
        with pytest.raises(ValueError) as e:
            parse_archs(bad)
        assert "v15" in str(e.value) and "fan" in str(e.value)


# --------------------------------------------------------------------------- budgets

@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("triple", TRIPLES, ids=lambda t: "%d-%d-%d" % t)
@pytest.mark.parametrize("arch", ARCHS)
def test_budget_match_and_forward(arch, triple, depth):
    i, o, b = triple
    model = build_model(arch, i, o, budget=b, depth=depth, seed=0)
    n = count_params(model)
    assert abs(n - b) <= 0.05 * b, (arch, triple, depth, n)
    assert n == model_params(arch, i, o, model.width, depth)
    assert n == sum(p.numel() for p in model.parameters())
    x = torch.randn(7, i, generator=torch.Generator().manual_seed(0))
    y = model(x)
    assert y.shape == (7, o)
    assert y.dtype == torch.float32
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("triple", [(2, 1, 5000), (8, 4, 5000)], ids=lambda t: "%d-%d-%d" % t)
@pytest.mark.parametrize("arch", PEERS)
def test_peer_budget_match_and_forward(arch, triple, depth):
    i, o, b = triple
    model = build_model(arch, i, o, budget=b, depth=depth, seed=0)
    n = count_params(model)
    assert abs(n - b) <= 0.05 * b, (arch, triple, depth, n)
    assert n == model_params(arch, i, o, model.width, depth)
    y = model(torch.randn(7, i, generator=torch.Generator().manual_seed(0)))
    assert y.shape == (7, o) and torch.isfinite(y).all()


@pytest.mark.parametrize("triple", TRIPLES + [(3, 2, 20000)], ids=lambda t: "%d-%d-%d" % t)
@pytest.mark.parametrize("arch", GLU_PEERS)
def test_glu_peers_run_at_singlu_width(arch, triple):
    i, o, b = triple
    a, s = build_model(arch, i, o, budget=b, seed=0), build_model("singlu", i, o, budget=b, seed=0)
    assert a.width == s.width and count_params(a) == count_params(s)


# --------------------------------------------------------------------------- counts

def test_vanilla_count_example():
    # 2 -> 68 -> 68 -> 1: 68*3 + 68*69 + 69
    assert count_params(build_model("vanilla", 2, 1, width=68, depth=2, seed=0)) == 4965


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")   # fan, width < 4: d_p = 0
@pytest.mark.parametrize("depth", [1, 2, 3])
@pytest.mark.parametrize("dims", [(2, 1, 7), (8, 4, 12), (1, 3, 1), (5, 2, 40), (16, 2, 4)],
                         ids=lambda d: "%d-%d-w%d" % d)
@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_count_params_hand_formula(arch, dims, depth):
    i, o, h = dims
    model = build_model(arch, i, o, width=h, depth=depth, seed=0)
    assert count_params(model) == model_params(arch, i, o, h, depth)


@pytest.mark.parametrize("arch,opt", VARIANTS + PEER_VARIANTS, ids=VARIANT_IDS + PEER_VARIANT_IDS)
def test_layer_count_hand_formula_with_options(arch, opt):
    layer = make_layer(arch, in_features=6, width=9, **opt)
    assert count_params(layer) == layer_params(arch, 6, 9, **opt)


def test_count_params_ignores_frozen_parameters():
    model = build_model("singlu", 2, 1, width=4, depth=1, seed=0)
    model.layers[0].Wv.weight.requires_grad_(False)
    assert count_params(model) == model_params("singlu", 2, 1, 4, 1) - 4 * 2


# --------------------------------------------------------------------------- equations

@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("arch,opt", VARIANTS, ids=VARIANT_IDS)
def test_layer_matches_equation(arch, opt, dtype):
    layer = perturb_(make_layer(arch, **opt)).to(dtype)
    if arch == "v15":     # α, β, γ really left their init values (0.5, 1, 1)
        assert not torch.allclose(layer.a, torch.full_like(layer.a, 0.5))
        assert not torch.allclose(layer.b, torch.ones_like(layer.b))
        assert not torch.allclose(layer.c, torch.ones_like(layer.c))
    if isinstance(getattr(layer, "norm", None), torch.nn.LayerNorm):
        assert not torch.allclose(layer.norm.weight, torch.ones_like(layer.norm.weight))
        assert not torch.allclose(layer.norm.bias, torch.zeros_like(layer.norm.bias))
    x = 1.5 * torch.randn(11, 3, generator=torch.Generator().manual_seed(2), dtype=dtype)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        want = hand_terms(arch, layer, x, omega_range=opt.get("omega_range", 0.5))
        out = layer(x)
        got = layer.terms(x)
    assert out.shape == (11, 5) and out.dtype == dtype
    torch.testing.assert_close(out, want["out"], **tol)
    for k, v in want.items():
        assert k in got, f"{arch}: terms() lacks {k!r}"
        torch.testing.assert_close(got[k], v, **tol, msg=f"{arch}: term {k!r}")


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
@pytest.mark.parametrize("arch,opt", PEER_VARIANTS, ids=PEER_VARIANT_IDS)
def test_peer_layer_matches_equation(arch, opt, dtype):
    layer = perturb_(make_layer(arch, in_features=3, width=8, **opt)).to(dtype)
    if arch == "snake":   # a really left its init value
        assert not torch.allclose(layer.a, torch.full_like(layer.a, opt.get("a_init", 0.5)))
    x = 1.5 * torch.randn(11, 3, generator=torch.Generator().manual_seed(2), dtype=dtype)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5)
    with torch.no_grad():
        want = hand_terms(arch, layer, x)
        out = layer(x)
        got = layer.terms(x)
    assert out.shape == (11, 8) and out.dtype == dtype
    torch.testing.assert_close(out, want["out"], **tol)
    assert set(got) == set(want), arch
    for k, v in want.items():
        torch.testing.assert_close(got[k], v, **tol, msg=f"{arch}: term {k!r}")


def test_fan_branch_sizes():
    for width, ratio, d_p in ((8, 0.25, 2), (10, 0.3, 3), (68, 0.25, 17), (9, 0.49, 4)):
        layer = neurons.get("fan")(3, width, p_ratio=ratio)
        assert layer.Wp.out_features == d_p and layer.Wgbar.out_features == width - 2 * d_p
        assert layer(torch.randn(5, 3)).shape == (5, width)


# Which adaptive quantity each neuron must expose (the study's names).
EXPOSED = {"v6": {"alpha"}, "v7": {"omega"}, "v8": {"gate", "phase"},
           "v9": {"omega", "phase", "alpha"}, "v10": {"phase"}, "v11": {"phase"},
           "v12": {"phase"}, "v13": {"phase"}, "v15": {"phase"}}


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_terms_keys_and_last_record(arch):
    layer = perturb_(make_layer(arch))
    assert layer.last is None
    x = torch.randn(6, 3, generator=torch.Generator().manual_seed(3), requires_grad=True)
    t = layer.terms(x)
    assert "out" in t and EXPOSED.get(arch, set()) <= set(t)
    out = layer(x)
    assert out.requires_grad
    assert isinstance(layer.last, dict) and set(layer.last) == set(t)
    with torch.no_grad():
        want = hand_terms(arch, layer, x)
    for k, v in layer.last.items():
        assert not v.requires_grad and v.grad_fn is None, f"{arch}: last[{k!r}] not detached"
        torch.testing.assert_close(v, t[k].detach())
    for k in want:
        torch.testing.assert_close(layer.last[k], want[k], rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(layer.last["out"], out.detach())


def test_record_false_keeps_no_terms():
    layer = make_layer("v10")
    layer.record = False
    layer(torch.randn(4, 3))
    assert layer.last is None


def test_last_is_the_latest_call():
    layer = make_layer("v8")
    x1, x2 = torch.randn(4, 3), torch.randn(2, 3)
    layer(x1)
    y2 = layer(x2)
    assert layer.last["out"].shape == (2, 5)
    torch.testing.assert_close(layer.last["out"], y2.detach())


def test_functorch_transform_does_not_store_wrapped_tensors():
    layer = make_layer("v9")
    x = torch.randn(4, 3)
    y = layer(x)
    torch.func.vmap(layer)(torch.randn(2, 4, 3))
    torch.testing.assert_close(layer.last["out"], y.detach())   # untouched by the vmap call


# --------------------------------------------------------------------------- gradients

def _gradcheck(layer):
    names = [n for n, _ in layer.named_parameters()]
    params = [p.detach().clone().requires_grad_(True) for _, p in layer.named_parameters()]
    x = torch.randn(3, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    x.requires_grad_(True)

    def f(x, *ps):
        return functional_call(layer, dict(zip(names, ps)), (x,))

    assert torch.autograd.gradcheck(f, (x, *params), eps=1e-6, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("arch,opt", VARIANTS, ids=VARIANT_IDS)
def test_gradcheck_input_and_parameters(arch, opt):
    _gradcheck(perturb_(make_layer(arch, in_features=2, width=3, omega=1.7, **opt), scale=0.3).double())


@pytest.mark.parametrize("arch,opt", PEER_VARIANTS, ids=PEER_VARIANT_IDS)
def test_peer_gradcheck_input_and_parameters(arch, opt):
    # width 8 so that FAN has both branches (d_p = 2, GELU branch 4)
    _gradcheck(perturb_(make_layer(arch, in_features=2, width=8, omega=1.7, **opt), scale=0.3).double())


# --------------------------------------------------------------------------- init

@pytest.mark.parametrize("arch", SINE_ARCHS)
def test_siren_init_bounds_sine_matrix(arch):
    omega = 30.0
    torch.manual_seed(0)
    opt = {"rank": 4} if arch == "v4-lowrank" else {}
    layer = neurons.get(arch)(in_features=6, width=64, omega=omega, init="siren", **opt)
    sine = getattr(layer, SINE_MATRIX[arch])
    bound = math.sqrt(6.0 / sine.in_features) / omega
    w = sine.weight.detach().abs()
    assert w.max() <= bound
    assert w.max() > 0.8 * bound                  # uniform over the whole range
    # the other matrices keep PyTorch's default U(±1/√fan_in), well above the SIREN bound
    others = [m for n, m in layer.named_children()
              if isinstance(m, torch.nn.Linear) and n != SINE_MATRIX[arch]]
    for m in others:
        assert m.weight.detach().abs().max() > 2 * bound
        assert m.weight.detach().abs().max() <= 1 / math.sqrt(m.in_features)
    # and the default init leaves the sine matrix at the PyTorch default
    torch.manual_seed(0)
    d = getattr(neurons.get(arch)(in_features=6, width=64, omega=omega, **opt), SINE_MATRIX[arch])
    assert d.weight.detach().abs().max() > 2 * bound


@pytest.mark.parametrize("arch", SINE_ARCHS)
def test_siren_through_build_model_every_layer(arch):
    omega = 20.0
    model = build_model(arch, 3, 1, width=16, depth=2, seed=0, omega=omega, init="siren")
    for layer in model.layers:
        sine = getattr(layer, SINE_MATRIX[arch])
        assert sine.weight.detach().abs().max() <= math.sqrt(6.0 / sine.in_features) / omega


@pytest.mark.parametrize("arch", SINE_ARCHS)
def test_unknown_init_raises_listing_choices(arch):
    with pytest.raises(ValueError) as e:
        neurons.get(arch)(3, 5, init="xavier")
    msg = str(e.value)
    assert "xavier" in msg and "default" in msg and "siren" in msg


def test_default_init_is_pytorch_linear_default():
    layer = make_layer("singlu", in_features=4, width=200)
    for m in (layer.Wg, layer.Wv):
        b = 1 / math.sqrt(4)
        assert m.weight.abs().max() <= b and m.weight.abs().max() > 0.9 * b
        assert m.bias.abs().max() <= b


def test_v15_scalars_init():
    for per_unit, n in ((False, 1), (True, 5)):
        layer = make_layer("v15", per_unit=per_unit)
        assert layer.a.shape == layer.b.shape == layer.c.shape == (n,)
        assert torch.all(layer.a == 0.5) and torch.all(layer.b == 1) and torch.all(layer.c == 1)


def test_v9_omega_range_validated():
    with pytest.raises(ValueError):
        neurons.get("v9")(3, 5, omega_range=1.0)
    with pytest.raises(ValueError):
        neurons.get("v9")(3, 5, omega_range=-0.1)


def test_v9_omega_bounded():
    layer = perturb_(make_layer("v9", omega=2.0), scale=3.0)
    om = layer.terms(10 * torch.randn(200, 3))["omega"]
    assert om.min() >= 2.0 * 0.5 and om.max() <= 2.0 * 1.5


def test_v4_lowrank_rank_rule_and_validation():
    assert make_layer("v4-lowrank", in_features=8, width=20).rank == 2       # ⌊8·0.25⌋
    assert make_layer("v4-lowrank", in_features=2, width=20).rank == 1       # max(1, 0)
    assert make_layer("v4-lowrank", in_features=20, width=8).rank == 2       # ⌊min(20, 8)·0.25⌋
    assert make_layer("v4-lowrank", in_features=8, width=20, rank_fraction=0.5).rank == 4
    assert make_layer("v4-lowrank", in_features=8, width=20, rank=3).rank == 3
    with pytest.raises(ValueError):
        make_layer("v4-lowrank", rank=0)


@pytest.mark.parametrize("in_features,omega", [(6, 30.0), (2, 30.0), (64, 30.0), (6, 3.0)])
def test_siren_peer_init_bounds(in_features, omega):
    torch.manual_seed(0)
    layer = neurons.get("siren")(in_features, 256, omega=omega)
    assert float(layer.omega) == omega
    bound = math.sqrt(6.0 / in_features) / omega
    w = layer.W.weight.detach().abs()
    assert w.max() <= bound
    assert w.max() > 0.9 * bound and w.mean() > 0.4 * bound      # U(±bound), not all tiny
    b = layer.W.bias.detach().abs()                               # bias: PyTorch default
    assert b.max() <= 1 / math.sqrt(in_features) and b.max() > 0.9 / math.sqrt(in_features)
    torch.manual_seed(0)
    d = neurons.get("siren")(in_features, 256, omega=omega, init="default").W.weight.detach().abs()
    assert d.max() <= 1 / math.sqrt(in_features) and d.max() > 0.9 / math.sqrt(in_features)


def test_siren_peer_defaults_and_every_layer():
    """The reference's rules: first layer U(±1/in), every later layer U(±√(6/in)/ω0)."""
    assert float(neurons.get("siren")(3, 5).omega) == 30.0
    model = build_model("siren", 2, 1, width=32, depth=3, seed=0)
    first = model.layers[0].W.weight.detach().abs()
    assert first.max() <= 1 / 2 and first.max() > 0.45
    for layer in model.layers[1:]:
        bound = math.sqrt(6.0 / layer.in_features) / 30.0
        assert layer.W.weight.detach().abs().max() <= bound
        assert layer.W.weight.detach().abs().max() > 0.5 * bound
    plain = build_model("siren", 2, 1, width=32, depth=3, seed=0, init="default")
    assert plain.layers[0].W.weight.detach().abs().max() <= 1 / math.sqrt(2)
    with pytest.raises(ValueError, match="xavier"):
        neurons.get("siren")(3, 5, init="xavier")


def test_snake_a_init():
    assert torch.equal(neurons.get("snake")(3, 7).a.detach(), torch.full((7,), 0.5))
    layer = neurons.get("snake")(3, 7, a_init=5.0)
    assert layer.a.shape == (7,) and torch.all(layer.a == 5.0) and layer.a.requires_grad
    assert neurons.get("snake").META == ("a",)
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="a_init"):
            neurons.get("snake")(3, 7, a_init=bad)


@pytest.mark.parametrize("bad", [0.0, 0.5, 0.6, -0.1, float("nan")])
def test_fan_p_ratio_validated(bad):
    with pytest.raises(ValueError) as e:
        neurons.get("fan")(3, 8, p_ratio=bad)
    msg = str(e.value)
    assert "p_ratio" in msg and "(0, 0.5)" in msg and repr(bad) in msg
    with pytest.raises(ValueError, match="p_ratio"):
        build_model("fan", 2, 1, width=8, p_ratio=bad)


def test_peer_options_and_roles():
    assert {a: tuple(neurons.get(a).OPTIONS) for a in PEERS} == {
        "bilinear": (), "swiglu": (), "geglu": (), "siren": ("omega", "init"),
        "snake": ("a_init",), "fan": ("p_ratio",)}
    assert all(neurons.get(a).META == () for a in PEERS if a != "snake")


# --------------------------------------------------------------------------- repr

@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_extra_repr_shows_omega_and_params(arch):
    layer = make_layer(arch, in_features=3, width=5, omega=2.5)
    r = layer.extra_repr()
    assert "3 -> 5" in r
    assert f"params={layer_params(arch, 3, 5)}" in r
    if "omega" not in neurons.get(arch).OPTIONS:
        assert "omega" not in r
    else:
        assert "omega=2.5" in r
    assert f"params={layer_params(arch, 3, 5)}" in repr(layer)


@pytest.mark.parametrize("arch", ALL_ARCHS)
def test_stacked_run_equals_each_model_run(arch):
    """The stacked form the engine trains (parameters with a leading replica axis, distinct ω per
    replica) gives each replica exactly its own model's output and terms."""
    from torch.func import stack_module_state
    opts = {"omega": None} if "omega" in build_model(arch, 3, 2, width=6).layers[0].OPTIONS else {}
    models = [build_model(arch, 3, 2, width=6, seed=s, **({"omega": 0.5 + s} if opts else {}))
              for s in range(3)]
    for m in models:                                  # move per-unit / scalar parameters off init
        with torch.no_grad():
            for p in m.parameters():
                p.add_(0.1 * torch.randn_like(p))
    params, buffers = stack_module_state(models)
    x = torch.randn(7, 3)
    out, terms = functional_call(models[0], {**params, **buffers}, (x,), {"return_terms": True})
    assert out.shape == (3, 7, 2)
    for r, m in enumerate(models):
        ref_out, ref_terms = m(x, return_terms=True)
        torch.testing.assert_close(out[r], ref_out, rtol=1e-5, atol=1e-6)
        for t, rt in zip(terms, ref_terms):
            assert t.keys() == rt.keys()
            for key in t:
                torch.testing.assert_close(t[key][r], rt[key], rtol=1e-5, atol=1e-6)


def test_bilinear_depth2_network_trains_to_the_least_squares_degree4_polynomial():
    """(Wg·x + bg) ⊙ (Wv·x + bv) is quadratic in x, so two such layers and a linear head span the
    polynomials of degree ≤ 4: at SinGLU's width, training reaches the unique least-squares fit,
    whatever the seed. Reference: ordinary least squares on the 70 monomials of degree ≤ 4."""
    import itertools

    from richneuron import tasks
    from richneuron.engine import train_stack

    task = tasks.make("complex4d")
    x, y = task.x_train.double(), task.y_train.double()
    cols = [torch.ones(len(x), dtype=torch.float64)]
    for k in range(1, 5):
        cols += [x[:, list(c)].prod(1) for c in itertools.combinations_with_replacement(range(4), k)]
    a = torch.stack(cols, 1)
    ols = (a @ torch.linalg.lstsq(a, y).solution - y).pow(2).mean().item()
    nets = [build_model("bilinear", 4, 1, budget=5000, seed=s) for s in (0, 1)]
    _, summary, _ = train_stack(nets, task, 3000, 1e-3)
    assert summary["final_train_loss"] == pytest.approx([ols, ols], rel=2e-3)


def test_omega_one_skips_the_multiplication_without_changing_a_bit():
    # Reference: the equation with the multiplication by ω written out, forward and backward.
    from richneuron import ops
    for omega in (1.0, 2.5):
        layer = neurons.SinGLU(3, 5, omega=omega, generator=torch.Generator().manual_seed(0))
        x = torch.randn(7, 3, generator=torch.Generator().manual_seed(1), requires_grad=True)
        with ops.use_numpy(False):
            out = layer(x)
            (gx,) = torch.autograd.grad(out.square().sum(), x)
            x2 = x.detach().clone().requires_grad_()
            g = layer.Wg(x2)
            ref = torch.sin(torch.tensor(omega) * g) * layer.Wv(x2)
            (gx2,) = torch.autograd.grad(ref.square().sum(), x2)
        assert torch.equal(out, ref) and torch.equal(gx, gx2)
        skipped = layer.omega_times(g) is g
        assert skipped == (omega == 1.0)
    # a stacked ω sweep (one ω per replica) multiplies
    layer.omega = torch.tensor([1.0, 2.0]).view(2)
    act = torch.ones(2, 4, 5)
    assert torch.equal(layer.omega_times(act)[1], torch.full((4, 5), 2.0))


@pytest.mark.parametrize("arch,opt", [("singlu", {}), ("v15", {}), ("v15", {"per_unit": True})])
def test_fused_stacked_forward_equals_each_model(arch, opt):
    """A stacked layer that records nothing (as the engine trains it) runs its fused kernel
    (`Neuron.stacked`); output and parameter gradients equal each replica's own model run with
    the plain expression, with a distinct ω per replica."""
    from torch.func import stack_module_state
    models = [build_model(arch, 3, 2, width=6, seed=s, omega=0.5 + s, **opt) for s in range(3)]
    params, buffers = stack_module_state(models)
    stacked = build_model(arch, 3, 2, width=6, seed=0, **opt)
    for layer in stacked.layers:
        layer.record = False
    x = torch.randn(7, 3)
    out = functional_call(stacked, {**params, **buffers}, (x,))
    assert stacked.layers[0].stacked(x) is None              # its own (one-model) weights: plain path
    nodes, todo = set(), [out.grad_fn]
    while todo:
        f = todo.pop()
        if f is not None and f.name() not in nodes:
            nodes.add(f.name())
            todo += [g for g, _ in f.next_functions]
    assert {"_SinGLULayerBackward", "_DualPhaseLayerBackward"} & nodes     # the fused node ran
    grads = torch.autograd.grad(out.square().sum(), list(params.values()))
    for r, m in enumerate(models):
        ref = m(x)
        torch.testing.assert_close(out[r], ref, rtol=1e-5, atol=1e-6)
        ref_grads = torch.autograd.grad(ref.square().sum(), list(m.parameters()))
        for g, rg in zip(grads, ref_grads):
            torch.testing.assert_close(g[r], rg, rtol=1e-4, atol=1e-5)
