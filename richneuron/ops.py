"""sin, cos and tanh for the neurons, evaluated by NumPy's SIMD ufuncs on the CPU.

Why. The sine is the inner loop of every periodic neuron, and torch 2.13's CPU kernels for it are
slow: on our 2-core machine (float32, 5×512×48 activations, one thread) `torch.sin` takes
128 µs, `np.sin` 48 µs; `torch.tanh` 260 µs, `np.tanh` 20 µs (`python -m richneuron.bench`
measures both rates on the machine at hand). Both libraries are accurate to about one ulp
(max |error| vs float64 ≈ 6e-8 in float32), so the choice changes rounding only.

How. Each op is a `torch.autograd.Function` whose forward fills a fresh tensor through the
ufunc's `out=` (no copy) and whose backward is written with these same differentiable ops, so
second derivatives work too. Anything NumPy cannot take as is falls back to torch's own op:
tensors off the CPU, dtypes other than float32/float64, and tensors inside torch.func transforms
(vmap, grad), whose wrapped tensors have no NumPy view. `use_numpy(False)` switches to torch's
ops everywhere (the benchmark counts transcendental evaluations that way; tests compare both).
"""
from contextlib import contextmanager
from torch.autograd.function import once_differentiable
from contextvars import ContextVar

import numpy as np
import torch

__all__ = ["sin", "cos", "tanh", "sin_mul", "fusable", "sin_glu_layer", "dual_phase_layer", "use_numpy",
           "is_transformed"]

_DTYPES = (torch.float32, torch.float64)
_ENABLED = ContextVar("richneuron_ops_numpy", default=True)   # per thread/context: cells may run in threads


@contextmanager
def use_numpy(enabled=True):
    """Within the block, the ops use NumPy's kernels (True) or torch's own (False)."""
    token = _ENABLED.set(bool(enabled))
    try:
        yield
    finally:
        _ENABLED.reset(token)


def is_transformed(t):
    """True for a tensor wrapped by a torch.func transform (vmap, grad): it has no NumPy view and
    must not be stored."""
    return torch._C._functorch.is_functorch_wrapped_tensor(t)


def _numpy_ok(x):
    return _ENABLED.get() and x.device.type == "cpu" and x.dtype in _DTYPES and not is_transformed(x)


def _ufunc(fn, x):
    x = x.detach().contiguous()
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    fn(x.numpy(), out=out.numpy())
    return out


def _op(name, ufunc, fallback, derivative, of_output=False):
    """The elementwise op `name`: NumPy's `ufunc` under autograd where `_numpy_ok`, else torch's
    `fallback`. Backward is grad · derivative(x), or derivative(y) when `of_output` (tanh's
    1 − y² needs only its output); `derivative` uses these ops, so it is differentiable too."""

    def forward(ctx, x):
        y = _ufunc(ufunc, x)
        ctx.save_for_backward(y if of_output else x)
        return y

    def backward(ctx, grad):
        (saved,) = ctx.saved_tensors
        return grad * derivative(saved)

    fn = type(f"_{name.capitalize()}", (torch.autograd.Function,),
              {"forward": staticmethod(forward), "backward": staticmethod(backward)})

    def op(x):
        return fn.apply(x) if _numpy_ok(x) else fallback(x)

    op.__name__ = op.__qualname__ = name
    op.__doc__ = f"{name}(x), elementwise; NumPy's kernel where it applies (see the module docstring)."
    return op


sin = _op("sin", np.sin, torch.sin, lambda x: cos(x))
cos = _op("cos", np.cos, torch.cos, lambda x: -sin(x))
tanh = _op("tanh", np.tanh, torch.tanh, lambda y: 1 - y * y, of_output=True)


class _SinMul(torch.autograd.Function):
    """sin(u) ⊙ v with its analytic backward: ∂/∂u = (grad·v)·cos(u), ∂/∂v = grad·sin(u). It keeps
    u, v and sin(u) (what the plain expression's two autograd nodes keep) and computes cos(u) in
    the backward, in the plain expression's rounding order, so the two agree bit for bit; it saves
    one autograd node and the temporaries between them."""

    @staticmethod
    def forward(ctx, u, v):
        s = _ufunc(np.sin, u)
        ctx.save_for_backward(u, v, s)
        return s * v

    @staticmethod
    def backward(ctx, grad):
        u, v, s = ctx.saved_tensors
        if torch.is_grad_enabled():                  # a double backward: differentiable ops only
            return grad * v * cos(u), grad * sin(u)
        gu = torch.mul(grad, v).mul_(cos(u)) if ctx.needs_input_grad[0] else None
        gv = grad * s if ctx.needs_input_grad[1] else None
        return gu, gv


def sin_mul(u, v):
    """sin(u) ⊙ v (u and v of one shape, or broadcasting to it): the sine-gated product of the
    GLU-shaped neurons, as one autograd node with an analytic backward where NumPy's kernel
    applies (see the module docstring), else the plain expression with torch's sine."""
    if _numpy_ok(u) and u.shape == v.shape and v.dtype == u.dtype and not is_transformed(v):
        return _SinMul.apply(u, v)
    return sin(u) * v


# Whole stacked layers as one autograd node each
# ------------------------------------------------
# A stacked layer's matrices that read the same input (Wg, Wv, and v15's Wφ) run as batched
# products whose bias is added in place to the product's output (no copy of the bias into the
# output first); the gradients of the input accumulate into one tensor inside the products
# (`baddbmm_`), not by separate additions. The elementwise work between runs with analytic
# backwards that keep only what they need, on contiguous tensors (one product's output each:
# slices of one product against concatenated weights were measured slower, their short rows
# defeat the vectorised elementwise loops). Stacked weights only (the engine's case, see
# `neurons.Linear`); one model keeps the plain expression, the reference they are tested against.
# First derivatives only (`once_differentiable`): training needs no more.


def fusable(*tensors):
    """True where the fused layers below apply: NumPy's kernels on (see `use_numpy`), every tensor
    on the CPU, float32/float64 of one dtype, outside torch.func transforms."""
    return all(_numpy_ok(t) for t in tensors) and len({t.dtype for t in tensors}) == 1


def _batched(x, k):
    return x.expand(k, *x.shape) if x.dim() == 2 else x


def _affine(x, w, b):
    """x·wᵀ + b for stacked w (K, O, in), b (K, O), x (N, in) shared by the replicas or (K, N, in):
    (K, N, O), one batched product, then the bias added in place."""
    return torch.bmm(_batched(x, w.shape[0]), w.transpose(1, 2)).add_(b.unsqueeze(1))


def _affine_backward(needs_x, x, ws, gys, as_autograd=False):
    """Gradients (x, then (w, b) for each) of the products `_affine(x, w, b)` for w in `ws`,
    given their outputs' gradients `gys`: the input's gradient accumulates inside the products
    (`baddbmm_`), or, `as_autograd`, is the sum of separate products as autograd forms it (for two
    products bit for bit the same whatever the order: a + b == b + a)."""
    gx = None
    if needs_x:
        gx = torch.bmm(gys[0], ws[0])
        for w, gy in zip(ws[1:], gys[1:]):
            if as_autograd:
                gx.add_(torch.bmm(gy, w))
            else:
                gx.baddbmm_(gy, w)
        if x.dim() == 2:                     # the shared input: its gradient sums over replicas
            gx = gx.sum(0)
    xt = _batched(x, ws[0].shape[0]).transpose(1, 2)
    out = [gx]
    for gy in gys:                           # ∂w = (xᵀ·gy)ᵀ, as autograd computes it
        out += [torch.bmm(xt, gy).transpose(1, 2), gy.sum(1)]
    return out


def _np(t):
    return t.detach().numpy()


def _sine(fn, x):
    """fn(x) (np.sin or np.cos) of a contiguous tensor into a fresh one."""
    out = torch.empty_like(x)
    fn(_np(x), out=_np(out))
    return out


class _SinGLULayer(torch.autograd.Function):
    """SinGLU's stacked layer y = sin(ω·g) ⊙ v, g = x·Wgᵀ + bg, v = x·Wvᵀ + bv."""

    @staticmethod
    def forward(ctx, x, wg, bg, wv, bv, omega):
        g, v = _affine(x, wg, bg), _affine(x, wv, bv)
        u = g if omega is None else g * omega
        s = _sine(np.sin, u)
        ctx.save_for_backward(x, wg, wv, u, v, s)
        ctx.omega = omega
        return s * v

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, wg, wv, u, v, s = ctx.saved_tensors
        gg = torch.mul(grad, v).mul_(_sine(np.cos, u))          # (grad·v)·cos(u), as sin_mul
        if ctx.omega is not None:
            gg.mul_(ctx.omega)
        gv = grad * s
        # the input's gradient summed as autograd sums it: SinGLU's numbers stay those of the plain
        # expression at every shape (accumulating inside the product rounds differently at some)
        return (*_affine_backward(ctx.needs_input_grad[0], x, (wg, wv), (gg, gv), as_autograd=True), None)


def sin_glu_layer(x, wg, bg, wv, bv, omega=None):
    """SinGLU's stacked layer sin(ω·(x·Wgᵀ + bg)) ⊙ (x·Wvᵀ + bv) as one autograd node: weights
    (K, h, in), biases (K, h), x (N, in) or (K, N, in), ω None (every ω is 1) or (K, 1, 1)."""
    return _SinGLULayer.apply(x, wg, bg, wv, bv, omega)


def _dot_to(u, w, shape):
    """Σ u·w over the axes where `shape` ((K, 1, 1) or per unit (K, 1, h)) is 1. (A batched
    product (K, 1, M)·(K, M, 1) avoids the temporary but was measured 6× slower.)"""
    return (u * w).sum_to_size(shape)


class _DualPhaseLayer(torch.autograd.Function):
    """v15's stacked layer y = sin(p1) ⊙ (1 + α·sin(p2)) ⊙ v, p1 = ω·g + β·φ, p2 = 2ω·g + γ·φ,
    g, φ, v = x·Wᵀ + b for W = Wg, Wφ, Wv. Backward, with c = y/v = sin(p1)·m,
    m = 1 + α·sin(p2), r = grad·v:
    ∂v = grad·c, ∂p1 = r·m·cos(p1), ∂p2 = r·sin(p1)·α·cos(p2), ∂α = Σ r·sin(p1)·sin(p2),
    ∂g = ω·(∂p1 + 2·∂p2), ∂φ = β·∂p1 + γ·∂p2, ∂β = Σ ∂p1·φ, ∂γ = Σ ∂p2·φ."""

    @staticmethod
    def forward(ctx, x, wg, bg, wphi, bphi, wv, bv, a, b, c, omega):
        g, phi, v = _affine(x, wg, bg), _affine(x, wphi, bphi), _affine(x, wv, bv)
        if omega is not None:
            g.mul_(omega)                                             # ω·g
        p1 = torch.addcmul(g, b, phi)                                 # ω·g + β·φ
        p2 = g.mul_(2).addcmul_(c, phi)                               # 2ω·g + γ·φ, in g's memory
        s1, s2 = _sine(np.sin, p1), _sine(np.sin, p2)
        m = torch.addcmul(torch.ones((), dtype=s2.dtype), s2, a)      # 1 + α·sin(p2)
        core = s1 * m
        ctx.save_for_backward(x, wg, wphi, wv, a, b, c, phi, v, p1, p2, s1, s2, m, core)
        ctx.omega = omega
        return core * v

    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        x, wg, wphi, wv, a, b, c, phi, v, p1, p2, s1, s2, m, core = ctx.saved_tensors
        gv = grad * core
        r = grad * v
        q = r * s1                                                    # r·sin(p1)
        ga = _dot_to(q, s2, a.shape)
        q.mul_(_sine(np.cos, p2))                                     # ∂p2 / α
        gp1 = r.mul_(m).mul_(_sine(np.cos, p1))                       # r·m·cos(p1)
        gc = _dot_to(q, phi, c.shape).mul_(a)                         # Σ ∂p2·φ = α·Σ (∂p2/α)·φ
        gb = _dot_to(gp1, phi, b.shape)
        gphi = torch.mul(gp1, b).addcmul_(q, c * a)                   # β·∂p1 + γ·∂p2
        gg = gp1.addcmul_(q, 2 * a)                                   # ∂p1 + 2·∂p2
        if ctx.omega is not None:
            gg.mul_(ctx.omega)
        gx, gwg, gbg, gwphi, gbphi, gwv, gbv = _affine_backward(ctx.needs_input_grad[0], x, (wg, wphi, wv),
                                                                 (gg, gphi, gv))
        return gx, gwg, gbg, gwphi, gbphi, gwv, gbv, ga, gb, gc, None


def dual_phase_layer(x, wg, bg, wphi, bphi, wv, bv, a, b, c, omega=None):
    """v15's stacked layer as one autograd node (see `_DualPhaseLayer`): weights (K, h, in),
    biases (K, h), α, β, γ (K, 1, 1) or per unit (K, 1, h), x (N, in) or (K, N, in), ω None
    (every ω is 1) or (K, 1, 1)."""
    return _DualPhaseLayer.apply(x, wg, bg, wphi, bphi, wv, bv, a, b, c, omega)
