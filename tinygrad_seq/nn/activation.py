"""Activation functions and their modules, as ``torch.nn.functional`` and ``torch.nn``.

Each function is a composition of Tensor ops (erf is the Erf primitive, ops/special.py), so
autograd derives every gradient, second derivatives included. The functions are re-exported
by ``nn.functional``; the modules (ReLU, Tanh, Sigmoid, GELU, SiLU, LeakyReLU, Softplus,
LogSigmoid) hold only their constructor arguments and print them as PyTorch does.
"""

from __future__ import annotations

import math

from .. import ops
from ..tensor import Tensor
from .module import Module

_SQRT_2_OVER_PI = math.sqrt(2 / math.pi)


def _check_input(op, x):
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(x).__name__}")
    if x.dtype.kind != "f":
        raise TypeError(f"{op}: input must be floating point, got {x.dtype} (shape "
                        f"{tuple(x.shape)})")


def erf(x):
    """The error function erf(x) = 2/sqrt(pi) int_0^x exp(-t^2) dt (Erf primitive)."""
    return ops.Erf.apply(x)


def _log1p(u):
    """log(1 + u) for u >= 0, accurate also where 1 + u rounds (Goldberg's trick: with
    w = 1 + u, log(w) * u / (w - 1) cancels the rounding of w; w - 1 is exact).

    Where w == 1 the answer is u itself; the other branch sees a denominator of 1 there, so
    neither branch makes a 0/0 whose nan the gradient of where() would multiply by 0."""
    w = u + 1
    d = w - 1
    tiny = Tensor._wrap(d.data == 0)
    return u._select(tiny, u, w.log() * u / d.masked_fill(tiny, 1.0))


def _softplus_exact(y):
    """log(1 + exp(y)) = max(y, 0) + log1p(exp(-|y|)): no exp overflows, finite at y = +-inf.
    Maximum shares the gradient 1/2 at the tie y = 0 and |y|' = sign(0) = 0 there, which
    makes the gradient sigmoid(0) = 1/2 exactly."""
    return y.maximum(0.0) + _log1p((-y.abs()).exp())


def gelu(input, approximate="none"):
    """GELU(x) = x * Phi(x) = x/2 * (1 + erf(x / sqrt(2)))   (approximate='none'), or
    x/2 * (1 + tanh(sqrt(2/pi) * (x + 0.044715 x^3)))        (approximate='tanh')."""
    _check_input("gelu", input)
    x = input
    if approximate == "none":
        return x * 0.5 * (erf(x * (1 / math.sqrt(2))) + 1)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * _SQRT_2_OVER_PI
        return x * 0.5 * (inner.tanh() + 1)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def silu(input, inplace=False):
    """SiLU(x) = x * sigmoid(x) (also called swish)."""
    _check_input("silu", input)
    return input * input.sigmoid()


def leaky_relu(input, negative_slope=0.01, inplace=False):
    """x where x > 0, else negative_slope * x (the gradient at 0 is negative_slope, as in
    PyTorch)."""
    _check_input("leaky_relu", input)
    return input._select(input > 0, input, input * negative_slope)


def softplus(input, beta=1.0, threshold=20.0):
    """softplus(x) = log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
    (PyTorch's linear region: there the two differ by less than exp(-threshold))."""
    _check_input("softplus", input)
    if beta == 0:
        raise ValueError("softplus: beta must be non-zero")
    y = input * beta
    soft = _softplus_exact(y) if beta == 1 else _softplus_exact(y) / beta
    return input._select(y > threshold, input, soft)


def logsigmoid(input):
    """log sigmoid(x) = min(x, 0) - log1p(exp(-|x|)): finite for every finite x, -inf at
    -inf, and accurate where the result is tiny (x >> 0, where it is -exp(-x))."""
    _check_input("logsigmoid", input)
    return input.minimum(0.0) - _log1p((-input.abs()).exp())


# ---- modules ----------------------------------------------------------------------------------
# ``inplace=True`` (PyTorch's option of overwriting the input) is accepted so that PyTorch code
# ports unchanged, and the result is a new tensor: overwriting a tensor the graph may still
# need would corrupt the gradients. Only the aliasing differs, never the values.


class _Inplace(Module):
    def __init__(self, inplace=False):
        self.inplace = inplace

    def extra_repr(self):
        return "inplace=True" if self.inplace else ""


class ReLU(_Inplace):
    """max(x, 0)."""

    def forward(self, input):
        return input.relu()


class Tanh(Module):
    def forward(self, input):
        return input.tanh()


class Sigmoid(Module):
    def forward(self, input):
        return input.sigmoid()


class SiLU(_Inplace):
    """x * sigmoid(x)."""

    def forward(self, input):
        return silu(input)


class GELU(Module):
    """x * Phi(x); ``approximate='tanh'`` uses the tanh formula (see functional.gelu)."""

    def __init__(self, approximate="none"):
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def forward(self, input):
        return gelu(input, approximate=self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class LeakyReLU(Module):
    def __init__(self, negative_slope=0.01, inplace=False):
        self.negative_slope, self.inplace = negative_slope, inplace

    def forward(self, input):
        return leaky_relu(input, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}" + (", inplace=True" if self.inplace
                                                          else "")


class Softplus(Module):
    def __init__(self, beta=1.0, threshold=20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, input):
        return softplus(input, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class LogSigmoid(Module):
    def forward(self, input):
        return logsigmoid(input)
