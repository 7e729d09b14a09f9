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
from contextvars import ContextVar

import numpy as np
import torch

__all__ = ["sin", "cos", "tanh", "sin_mul", "use_numpy", "is_transformed"]

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
