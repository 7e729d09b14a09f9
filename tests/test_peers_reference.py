"""Each published peer against a transcription of its authors' code: the same output with the same
weights (float64), and the same initial-weight distributions as the authors' initialisation.

Transcribed from: SIREN, vsitzmann/siren modules.py (FCBlock, Sine, sine_init,
first_layer_sine_init; outermost_linear=True); GLU variants, Mesh-TensorFlow ops.py (`gelu`,
tanh approximation) and the paper's FFN_GEGLU/FFN_SwiGLU/FFN_Bilinear; Snake, the Snake authors'
and BigVGAN's `x + 1/(a + 1e-9)·sin²(a·x)`; FAN, FANLayer.py (cos ‖ sin ‖ GELU, nn.GELU exact).
"""
import math

import numpy as np
import pytest
import torch
from scipy import stats

from richneuron import build_model

D = torch.float64


def mtf_gelu(x):            # mesh_tensorflow/ops.py
    cdf = 0.5 * (1.0 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x * x * x)))
    return x * cdf


def ref_layer(arch, p, x, omega=30.0):
    """The authors' layer with weights `p` (name -> tensor), written from their code."""
    lin = lambda name: x @ p[name + ".weight"].T + p[name + ".bias"]
    if arch == "siren":                                   # Sine()(BatchLinear(x)): sin(30·(xWᵀ + b))
        return torch.sin(omega * lin("W"))
    if arch in ("bilinear", "swiglu", "geglu"):           # act(x W) * (x V), plus our biases
        act = {"bilinear": lambda z: z, "swiglu": lambda z: z * torch.sigmoid(z), "geglu": mtf_gelu}[arch]
        return act(lin("Wg")) * lin("Wv")
    if arch == "snake":
        z, a = lin("W"), p["a"]
        return z + 1.0 / (a + 1e-9) * torch.pow(torch.sin(z * a), 2)
    if arch == "fan":
        pp = lin("Wp")
        return torch.cat((torch.cos(pp), torch.sin(pp), torch.nn.functional.gelu(lin("Wgbar"))), dim=-1)
    raise KeyError(arch)


@pytest.mark.parametrize("arch", ["bilinear", "swiglu", "geglu", "siren", "snake", "fan"])
def test_peer_network_output_equals_the_reference_layers(arch):
    model = build_model(arch, 3, 2, width=24, depth=2, seed=0).to(D)
    with torch.no_grad():
        for q in model.parameters():                      # move every weight off its init value
            q.add_(0.1 * torch.randn(q.shape, generator=torch.Generator().manual_seed(q.numel()), dtype=D))
    x = torch.rand(50, 3, generator=torch.Generator().manual_seed(1), dtype=D) * 2 - 1
    h = x
    for i in range(2):
        p = {k.split(".", 2)[2]: v for k, v in model.state_dict().items() if k.startswith(f"layers.{i}.")}
        h = ref_layer(arch, p, h)
    want = h @ model.head.weight.T + model.head.bias      # outermost linear
    torch.testing.assert_close(model(x).detach(), want.detach(), rtol=1e-12, atol=1e-12)


def test_geglu_uses_the_tanh_gelu_and_its_gap_to_the_exact_one_is_the_documented_size():
    z = torch.linspace(-6, 6, 200001, dtype=D)
    gap = (mtf_gelu(z) - torch.nn.functional.gelu(z)).abs().max().item()
    assert 4.5e-4 < gap < 4.8e-4                           # README: ≤ 4.7e-4 per unit
    layer = build_model("geglu", 3, 1, width=8, depth=1, seed=0).layers[0].to(D)
    x = torch.randn(20, 3, dtype=D)
    g, v = layer.Wg(x), layer.Wv(x)
    torch.testing.assert_close(layer(x), mtf_gelu(g) * v, rtol=1e-14, atol=1e-14)


def _ref_siren_init(in_f, width, out_f, depth, seed, omega=30.0):
    """FCBlock(nonlinearity='sine', outermost_linear=True): nn.Linear defaults, then sine_init on
    every layer (the outermost linear included), then first_layer_sine_init on the first."""
    torch.manual_seed(seed)
    dims = [in_f] + [width] * depth + [out_f]
    layers = [torch.nn.Linear(i, o).double() for i, o in zip(dims[:-1], dims[1:])]
    with torch.no_grad():
        for lay in layers:
            n = lay.weight.size(-1)
            lay.weight.uniform_(-np.sqrt(6 / n) / omega, np.sqrt(6 / n) / omega)
        layers[0].weight.uniform_(-1 / in_f, 1 / in_f)
    return layers


def test_siren_initial_weights_follow_the_reference_distribution_layer_by_layer():
    ours = build_model("siren", 2, 3, width=256, depth=3, seed=0)
    ref = _ref_siren_init(2, 256, 3, 3, seed=1)
    mine = [lay.W for lay in ours.layers] + [ours.head]
    for k, (a, b) in enumerate(zip(mine, ref)):
        for what in ("weight", "bias"):
            x = getattr(a, what).detach().double().flatten().numpy()
            y = getattr(b, what).detach().flatten().numpy()
            assert stats.ks_2samp(x, y).pvalue > 1e-3, (k, what)       # same distribution
    head_bound = math.sqrt(6 / 256) / 30
    assert ours.head.weight.abs().max() <= head_bound and ours.head.weight.abs().max() > 0.9 * head_bound
    default = build_model("siren", 2, 3, width=256, depth=3, seed=0, init="default")
    assert default.head.weight.abs().max() > 0.9 / math.sqrt(256)         # init="default": PyTorch's


@pytest.mark.parametrize("arch", ["bilinear", "swiglu", "geglu", "snake", "fan"])
def test_default_init_peers_draw_pytorch_linear_init(arch):
    """Their authors' code uses its framework's default dense init; ours is nn.Linear's, U(±1/√in)."""
    m = build_model(arch, 4, 1, width=400, depth=1, seed=0)
    for name, w in m.layers[0].named_parameters():
        if name == "a":                                    # Snake's a: the constant a_init
            assert torch.equal(w, torch.full_like(w, 0.5))
            continue
        x = w.detach().flatten().numpy()
        assert stats.kstest(x, stats.uniform(loc=-0.5, scale=1.0).cdf).pvalue > 1e-3, name   # 1/√4
