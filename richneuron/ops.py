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

import numpy as np
import torch

__all__ = ["sin", "cos", "tanh", "use_numpy"]

_DTYPES = (torch.float32, torch.float64)
_ENABLED = [True]


@contextmanager
def use_numpy(enabled=True):
    """Within the block, the ops use NumPy's kernels (True) or torch's own (False)."""
    old, _ENABLED[0] = _ENABLED[0], bool(enabled)
    try:
        yield
    finally:
        _ENABLED[0] = old


def _numpy_ok(x):
    return (_ENABLED[0] and x.device.type == "cpu" and x.dtype in _DTYPES
            and not torch._C._functorch.is_functorch_wrapped_tensor(x))


def _ufunc(fn, x):
    x = x.detach().contiguous()
    out = torch.empty_like(x, memory_format=torch.contiguous_format)
    fn(x.numpy(), out=out.numpy())
    return out


class _Sin(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _ufunc(np.sin, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * cos(x)


class _Cos(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _ufunc(np.cos, x)

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return -grad * sin(x)


class _Tanh(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        y = _ufunc(np.tanh, x)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        (y,) = ctx.saved_tensors
        return grad * (1 - y * y)


def sin(x):
    """sin(x), elementwise; NumPy's kernel where it applies (see the module docstring)."""
    return _Sin.apply(x) if _numpy_ok(x) else torch.sin(x)


def cos(x):
    """cos(x), elementwise; NumPy's kernel where it applies."""
    return _Cos.apply(x) if _numpy_ok(x) else torch.cos(x)


def tanh(x):
    """tanh(x), elementwise; NumPy's kernel where it applies."""
    return _Tanh.apply(x) if _numpy_ok(x) else torch.tanh(x)
