"""Padding and 1-D convolution: ``functional.pad``, ``functional.conv1d`` and ``Conv1d``.

conv1d is a composition, so autograd derives the gradients of input, weight and bias:

    pad    zeros (or reflect/replicate/circular edges) joined on with Cat
    im2col one strided slice per kernel tap j, x[..., j*d : j*d + (L_out-1)*s + 1 : s],
           stacked: (N, C, k, L_out). A loop over the k taps, never over output positions;
           each slice is a view, and its backward a strided add into the input's gradient
    matmul (G, C_out/G, C_in/G * k) @ (G, C_in/G * k, N * L_out): one product per group

    y[n, o, t] = b[o] + sum_{c, j} W[o, c, j] * x_pad[n, g(o) * C_in/G + c, t * s + j * d]

Causal convolution for sequences (the output at t sees inputs <= t only) pads
``dilation * (kernel_size - 1)`` zeros on the left and none on the right: ``Conv1d(...,
causal=True)``, or functionally ``conv1d(pad(x, (d * (k - 1), 0)), w, b, dilation=d)``.
"""

from __future__ import annotations

import math
import numbers

from ..autograd import ShapeError
from ..tensor import Tensor, creation
from ..tensor.functions import cat, stack
from . import init
from .module import Module, Parameter

_MODES = ("constant", "reflect", "replicate", "circular")
_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _is_int(v):
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


# ---- pad ----------------------------------------------------------------------------------------


def pad(input, pad, mode="constant", value=None):
    """Pad the trailing dimensions: ``pad = (left_last, right_last, left_2nd_last, ...)``, as
    PyTorch's tuple. ``mode``: 'constant' (``value``, default 0; negative amounts crop),
    'reflect' (mirror without repeating the edge), 'replicate' (repeat the edge) or 'circular'
    (wrap round). Unlike PyTorch, every mode works on any number of trailing dimensions."""
    op = "pad"
    if not isinstance(input, Tensor):
        raise TypeError(f"{op}: input must be a Tensor, got {type(input).__name__}")
    amounts = tuple(pad) if isinstance(pad, (tuple, list)) else None
    if amounts is None or not all(_is_int(p) for p in amounts) or len(amounts) % 2:
        raise ValueError(f"{op}: pad must be a tuple of an even number of ints (left, right "
                         f"for the last dimension, then the one before, ...), got {pad!r}")
    if len(amounts) // 2 > input.ndim:
        raise ShapeError(f"{op}: pad {amounts} covers {len(amounts) // 2} dimensions, but the "
                         f"input has shape {tuple(input.shape)}")
    if mode not in _MODES:
        raise ValueError(f"{op}: unknown mode {mode!r}; use one of {', '.join(_MODES)}")
    if mode != "constant" and value is not None:
        raise ValueError(f"{op}: mode {mode!r} takes no value (got value={value})")
    x = input
    for i in range(len(amounts) // 2):
        dim = x.ndim - 1 - i
        left, right = amounts[2 * i], amounts[2 * i + 1]
        size = x.shape[dim]
        if size + left + right < 0 or (mode != "constant" and min(left, right) < 0):
            raise ShapeError(f"{op}: pad {(left, right)} of dimension {dim} (size {size}) of "
                             f"input shape {tuple(input.shape)} leaves nothing: amounts below "
                             f"0 crop, and only mode 'constant' crops")
        limit = size - 1 if mode == "reflect" else size
        if mode != "constant" and max(left, right) > limit:
            raise ShapeError(f"{op}: mode {mode!r} needs pad amounts <= {limit} for dimension "
                             f"{dim} of input shape {tuple(input.shape)}, got {(left, right)}")
        x = _pad_dim(x, dim, left, right, mode, 0.0 if value is None else value)
    return x


def _pad_dim(x, dim, left, right, mode, value):
    def take(start, stop):
        return x[(slice(None),) * dim + (slice(start, stop),)]

    if left < 0 or right < 0:  # crop first ('constant' only)
        x = take(max(-left, 0), x.shape[dim] - max(-right, 0))
        left, right = max(left, 0), max(right, 0)
    if not (left or right):
        return x
    size = x.shape[dim]
    if mode == "constant":
        def block(n):
            shape = x.shape[:dim] + (n,) + x.shape[dim + 1:]
            return Tensor._wrap(x.xp.full(shape, value, dtype=x.dtype))
        before, after = block(left), block(right)
    elif mode == "reflect":
        before, after = take(1, left + 1).flip(dim), take(size - 1 - right, size - 1).flip(dim)
    elif mode == "replicate":
        def edge(start, n):
            return take(start, start + 1).expand(x.shape[:dim] + (n,) + x.shape[dim + 1:])
        before, after = edge(0, left), edge(size - 1, right)
    else:  # circular
        before, after = take(size - left, size), take(0, right)
    parts = ([before] if left else []) + [x] + ([after] if right else [])
    return cat(parts, dim)


# ---- conv1d -------------------------------------------------------------------------------------


def _single(op, name, v, minimum):
    """An int, or a 1-tuple of one, >= minimum."""
    if isinstance(v, (tuple, list)) and len(v) == 1:
        v = v[0]
    if not _is_int(v) or v < minimum:
        raise ValueError(f"{op}: {name} must be an int >= {minimum} (or a 1-tuple), got {v!r}")
    return int(v)


def _same_padding(dilation, kernel_size):
    """PyTorch's 'same': the total d*(k-1), the odd one extra on the right."""
    total = dilation * (kernel_size - 1)
    return total // 2, total - total // 2


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """1-D cross-correlation over (N, C_in, L) or unbatched (C_in, L) input with weight
    (C_out, C_in / groups, k) and bias (C_out,): output (N, C_out, L_out), with

        L_out = floor((L + 2 * padding - dilation * (k - 1) - 1) / stride) + 1.

    ``padding``: an int (zeros on both sides), 'valid' (0) or 'same' (the output keeps L;
    stride 1 only)."""
    op = "conv1d"
    for what, t in (("input", input), ("weight", weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"{op}: {what} must be a Tensor, got {type(t).__name__}")
    if input.ndim not in (2, 3) or weight.ndim != 3:
        raise ShapeError(f"{op}: expected input (N, C_in, L) or (C_in, L) and weight "
                         f"(C_out, C_in/groups, k); got input {tuple(input.shape)} and weight "
                         f"{tuple(weight.shape)}")
    stride = _single(op, "stride", stride, 1)
    dilation = _single(op, "dilation", dilation, 1)
    groups = _single(op, "groups", groups, 1)
    c_out, c_group, k = weight.shape
    c_in = input.shape[-2]
    if c_in != c_group * groups or c_out % groups:
        raise ShapeError(f"{op}: input {tuple(input.shape)} has {c_in} channels and weight "
                         f"{tuple(weight.shape)} with groups={groups} expects {c_group * groups}"
                         f" (and C_out={c_out} divisible by groups)")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ShapeError(f"{op}: bias must have shape ({c_out},) for weight "
                         f"{tuple(weight.shape)}, got {tuple(bias.shape)}")
    if padding == "same":
        if stride != 1:
            raise ValueError(f"{op}: padding='same' is not supported for strided convolutions "
                             f"(stride={stride})")
        left, right = _same_padding(dilation, k)
    elif padding == "valid":
        left = right = 0
    elif isinstance(padding, str):
        raise ValueError(f"{op}: padding must be an int, 'same' or 'valid', got {padding!r}")
    else:
        left = right = _single(op, "padding", padding, 0)
    x = input if input.ndim == 3 else input.unsqueeze(0)  # (N, C_in, L)
    if left or right:
        x = pad(x, (left, right))
    n, _, length = x.shape
    span = dilation * (k - 1) + 1
    if length < span:
        raise ShapeError(f"{op}: input {tuple(input.shape)} padded to length {length} is "
                         f"shorter than the kernel's reach dilation*(k-1)+1 = {span}")
    l_out = (length - span) // stride + 1
    reach = (l_out - 1) * stride + 1
    taps = [x[:, :, j * dilation: j * dilation + reach: stride] for j in range(k)]
    cols = stack(taps, 2)  # (N, C_in, k, L_out)
    cols = cols.reshape(n, groups, c_group * k, l_out).permute(1, 2, 0, 3)
    cols = cols.reshape(groups, c_group * k, n * l_out)  # (G, C_in/G * k, N * L_out)
    w = weight.reshape(groups, c_out // groups, c_group * k)
    y = (w @ cols).reshape(groups, c_out // groups, n, l_out)  # (G, C_out/G, N, L_out)
    y = y.permute(2, 0, 1, 3).reshape(n, c_out, l_out)  # (N, C_out, L_out)
    if bias is not None:
        y = y + bias.reshape(c_out, 1)
    return y if input.ndim == 3 else y.reshape(c_out, l_out)


class Conv1d(Module):
    """1-D convolution over (N, C_in, L) or (C_in, L) (see ``functional.conv1d``), with
    PyTorch's parameters: ``weight`` (C_out, C_in / groups, kernel_size) and ``bias``
    (C_out,), both U(-1/sqrt(fan_in), 1/sqrt(fan_in)) with fan_in = C_in / groups * k, so a
    PyTorch state_dict loads unchanged.

    ``padding_mode``: 'zeros', 'reflect', 'replicate' or 'circular' (what fills the padding).

    ``causal=True`` (not in PyTorch) makes the convolution causal, as sequence models need:
    ``dilation * (kernel_size - 1)`` padding on the left only, so with stride 1 the output
    has the input's length and y[..., t] depends on x[..., :t + 1] alone. Stacking such layers
    with dilations 1, 2, 4, ... gives a receptive field that doubles per layer (WaveNet, TCN).
    It adds no parameters: the weights are those of the plain Conv1d."""

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None, *, causal=False):
        op = "Conv1d"
        k = _single(op, "kernel_size", kernel_size, 1)
        stride = _single(op, "stride", stride, 1)
        dilation = _single(op, "dilation", dilation, 1)
        groups = _single(op, "groups", groups, 1)
        if in_channels <= 0 or out_channels <= 0:
            raise ValueError(f"{op}: channel counts must be positive, got {in_channels}, "
                             f"{out_channels}")
        if in_channels % groups or out_channels % groups:
            raise ValueError(f"{op}: in_channels ({in_channels}) and out_channels "
                             f"({out_channels}) must be divisible by groups ({groups})")
        if padding_mode not in _PADDING_MODES:
            raise ValueError(f"{op}: padding_mode must be one of {', '.join(_PADDING_MODES)}, "
                             f"got {padding_mode!r}")
        if isinstance(padding, str):
            if padding not in ("same", "valid"):
                raise ValueError(f"{op}: padding must be an int, 'same' or 'valid', got "
                                 f"{padding!r}")
            if padding == "same" and stride != 1:
                raise ValueError(f"{op}: padding='same' is not supported for strided "
                                 f"convolutions (stride={stride})")
            self.padding = padding
        else:
            self.padding = (_single(op, "padding", padding, 0),)
        if causal and self.padding not in ((0,), "valid"):
            raise ValueError(f"{op}: causal=True sets the padding itself (dilation*(k-1) on the "
                             f"left); leave padding at 0, got {padding!r}")
        self.in_channels, self.out_channels = in_channels, out_channels
        self.kernel_size, self.stride, self.dilation = (k,), (stride,), (dilation,)
        self.groups, self.padding_mode, self.causal = groups, padding_mode, bool(causal)
        shape = (out_channels, in_channels // groups, k)
        self.weight = Parameter(creation.empty(*shape, dtype=dtype, device=device))
        self.bias = (Parameter(creation.empty(out_channels, dtype=dtype, device=device))
                     if bias else None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_channels // self.groups * self.kernel_size[0])
            init.uniform_(self.bias, -bound, bound)

    def _padding(self):
        """(left, right) amounts of padding."""
        k, d = self.kernel_size[0], self.dilation[0]
        if self.causal:
            return d * (k - 1), 0
        if self.padding == "same":
            return _same_padding(d, k)
        if self.padding == "valid":
            return 0, 0
        return self.padding[0], self.padding[0]

    def forward(self, input):
        if not isinstance(input, Tensor) or input.ndim not in (2, 3) or \
                input.shape[-2] != self.in_channels:
            shape = tuple(input.shape) if isinstance(input, Tensor) else type(input).__name__
            raise ShapeError(f"Conv1d: expected input (N, {self.in_channels}, L) or "
                             f"({self.in_channels}, L), got {shape}")
        left, right = self._padding()
        x = input
        if left or right:
            mode = "constant" if self.padding_mode == "zeros" else self.padding_mode
            x = pad(input, (left, right), mode)
        return conv1d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def extra_repr(self):
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,):
            s += f", padding={self.padding}"  # (p,) or 'same'/'valid' unquoted, as PyTorch
        if self.dilation != (1,):
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode}"
        if self.causal:
            s += ", causal=True"
        return s
