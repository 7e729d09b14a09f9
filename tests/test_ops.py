"""Tests of richneuron.ops: NumPy-backed sin/cos/tanh against torch's own kernels and float64
finite differences."""
import pytest
import torch

from richneuron import build_model, ops
from richneuron.train import train_stack
from richneuron import tasks

OPS = {"sin": (ops.sin, torch.sin), "cos": (ops.cos, torch.cos), "tanh": (ops.tanh, torch.tanh)}


def _x(*shape, dtype=torch.float32, seed=0):
    return 4 * torch.randn(*shape, dtype=dtype, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("name", OPS)
@pytest.mark.parametrize("dtype,tol", [(torch.float32, 2.5e-7), (torch.float64, 1e-15)])
def test_values_match_torch_within_rounding(name, dtype, tol):
    ours, ref = OPS[name]
    x = _x(5, 64, 48, dtype=dtype)
    exact = ref(x.double())
    assert (ours(x).double() - exact).abs().max() <= tol          # as accurate as torch's kernel
    assert (ref(x).double() - exact).abs().max() <= tol
    assert ours(x).dtype == dtype and ours(x).shape == x.shape


@pytest.mark.parametrize("name", OPS)
def test_non_contiguous_and_broadcast_views(name):
    ours, ref = OPS[name]
    x = _x(6, 8).t()                                              # non-contiguous
    torch.testing.assert_close(ours(x), ref(x), atol=2.5e-7, rtol=0)
    e = _x(1, 8).expand(4, 8)                                    # zero-stride view
    torch.testing.assert_close(ours(e), ref(e), atol=2.5e-7, rtol=0)


@pytest.mark.parametrize("name", OPS)
def test_gradcheck_and_gradgradcheck_float64(name):
    ours, _ = OPS[name]
    x = _x(3, 4, dtype=torch.float64).requires_grad_()
    assert torch.autograd.gradcheck(ours, (x,))
    assert torch.autograd.gradgradcheck(ours, (x,))


@pytest.mark.parametrize("name", OPS)
def test_gradient_equals_torch_autograd(name):
    ours, ref = OPS[name]
    x = _x(7, 5, dtype=torch.float64)
    a, b = x.clone().requires_grad_(), x.clone().requires_grad_()
    w = _x(7, 5, dtype=torch.float64, seed=1)
    (ours(a) * w).sum().backward()
    (ref(b) * w).sum().backward()
    torch.testing.assert_close(a.grad, b.grad, rtol=1e-13, atol=1e-13)


def test_fallbacks_use_torch_kernels():
    x16 = _x(4, 3).to(torch.bfloat16)                            # dtype NumPy does not take
    assert torch.equal(ops.sin(x16), torch.sin(x16))
    x = _x(4, 3)
    torch.testing.assert_close(torch.func.vmap(ops.sin)(x), torch.sin(x))      # inside a transform
    g = torch.func.grad(lambda t: ops.tanh(t).sum())(x)
    torch.testing.assert_close(g, 1 - torch.tanh(x) ** 2)
    with ops.use_numpy(False):
        assert torch.equal(ops.cos(x), torch.cos(x))
        assert ops.sin(x.requires_grad_()).grad_fn.name() == "SinBackward0"
    assert ops.sin(x).grad_fn.name() != "SinBackward0"            # switched back on after the block


def test_training_with_numpy_and_torch_kernels_agrees():
    """A SinGLU stack trained with either kernel ends at the same loss up to rounding drift."""
    task = tasks.make("nested2d")
    build = lambda: [build_model("singlu", task.in_dim, task.out_dim, budget=2000, seed=s) for s in range(3)]
    _, fast, _ = train_stack(build(), task, 200, 1e-3)
    with ops.use_numpy(False):
        _, slow, _ = train_stack(build(), task, 200, 1e-3)
    torch.testing.assert_close(torch.tensor(fast["final_train_loss"]), torch.tensor(slow["final_train_loss"]),
                               rtol=1e-3, atol=0)


def test_sin_mul_gradcheck_and_plain_expression():
    """The fused sin(u)·v: its analytic backward passes gradcheck in float64 (against finite
    differences) and equals autograd of the plain expression sin(u) * v, in float32 bit for bit
    (same kernels, same rounding order), including second derivatives."""
    g = torch.Generator().manual_seed(0)
    u = torch.randn(3, 5, 4, dtype=torch.float64, generator=g).requires_grad_()
    v = torch.randn(3, 5, 4, dtype=torch.float64, generator=g).requires_grad_()
    assert torch.autograd.gradcheck(ops.sin_mul, (u, v))
    assert torch.autograd.gradgradcheck(ops.sin_mul, (u, v))
    u32, v32 = (t.detach().float().requires_grad_() for t in (u, v))
    w = torch.randn(3, 5, 4, generator=g).float()
    fused = torch.autograd.grad((ops.sin_mul(u32, v32) * w).sum(), (u32, v32))
    plain = torch.autograd.grad((ops.sin(u32) * v32 * w).sum(), (u32, v32))
    assert all(torch.equal(a, b) for a, b in zip(fused, plain))
    assert torch.equal(ops.sin_mul(u32, v32), ops.sin(u32) * v32)


def _stacked_args(k, n, i, h, shared_x, units, gen, dtype=torch.float64):
    r = lambda *s: torch.randn(*s, dtype=dtype, generator=gen).requires_grad_()
    x = r(n, i).detach() if shared_x else r(k, n, i)
    lin = [t for _ in range(3) for t in (r(k, h, i), r(k, h))]
    return x, lin, [r(k, 1, units) for _ in range(3)]


@pytest.mark.parametrize("shared_x", [True, False])
@pytest.mark.parametrize("omega", [None, (1.5, 0.5)])
def test_fused_stacked_layers_gradcheck_float64(shared_x, omega):
    """The fused stacked layers' analytic backwards against float64 finite differences: input
    shared by the replicas (data, no gradient) or per replica, every ω 1 (None) or per replica,
    v15's α, β, γ one per layer or one per unit."""
    gen = torch.Generator().manual_seed(0)
    om = None if omega is None else torch.tensor(omega, dtype=torch.float64).reshape(2, 1, 1)
    for units in (1, 4):
        x, lin, abc = _stacked_args(2, 5, 3, 4, shared_x, units, gen)
        assert torch.autograd.gradcheck(ops.dual_phase_layer, (x, *lin, *abc, om))
    assert torch.autograd.gradcheck(ops.sin_glu_layer, (x, *lin[:4], om))


def test_fused_stacked_layers_equal_the_plain_expressions():
    """Values and gradients of the fused layers equal autograd of their equations written with
    plain ops (float32): SinGLU's bit for bit (same kernels, same rounding order), v15's within
    float32 rounding of its sines' arguments (up to |2ω·g + γ·φ| ≈ 40 here, ulp ≈ 4e-6)."""
    gen = torch.Generator().manual_seed(1)
    x, lin, abc = _stacked_args(3, 64, 5, 8, False, 8, gen, torch.float32)
    om = torch.tensor([1.0, 2.0, 0.5]).reshape(3, 1, 1)
    w = torch.randn(3, 64, 8, generator=gen)
    aff = lambda i: torch.baddbmm(lin[2 * i + 1].unsqueeze(1), x, lin[2 * i].transpose(1, 2))
    leaves = (x, *lin, *abc)

    def grads(out):
        return torch.autograd.grad((out * w).sum(), leaves, allow_unused=True)

    plain = ops.sin(om * aff(0)) * aff(1)
    fused = ops.sin_glu_layer(x, *lin[:4], om)
    assert torch.equal(fused, plain)
    assert all(a is None and b is None or torch.equal(a, b) for a, b in zip(grads(fused), grads(plain)))

    g, phi, v = aff(0), aff(1), aff(2)
    a, b, c = abc
    plain = ops.sin(om * g + b * phi) * (1 + a * ops.sin(2 * om * g + c * phi)) * v
    fused = ops.dual_phase_layer(*leaves, om)
    torch.testing.assert_close(fused, plain, rtol=0, atol=4e-5)
    for f, p in zip(grads(fused), grads(plain)):       # rounding: ≤ 2.5e-6 of the largest entry here
        torch.testing.assert_close(f, p, rtol=0, atol=5e-6 * float(p.abs().max()))
