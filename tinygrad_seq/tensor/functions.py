"""Free-function spellings of tensor operations: ``ts.cat``, ``ts.stack``, ``ts.exp(x)``, ...,
and the two compositions the sequence models lean on, ``dropout`` and ``embedding``."""

from __future__ import annotations

import numpy

from .. import backend, ops
from ..autograd import ShapeError
from .core import Tensor


def _axis(tensors, axis, dim, op, extra=0):
    axis = dim if dim is not None else axis
    nd = tensors[0].ndim + extra
    if not -nd <= axis < max(nd, 1):
        raise IndexError(f"{op}: axis {axis} is out of range for tensors of {tensors[0].ndim} "
                         f"dimensions")
    return axis % nd


def cat(tensors, axis=0, *, dim=None):
    """Join tensors along an existing axis."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty list of tensors")
    for i, t in enumerate(tensors):
        if t.ndim == 0:
            raise ShapeError(f"cat: zero-dimensional tensor (at position {i}) cannot be "
                             f"concatenated; stack makes a 1-D tensor of them")
    axis = _axis(tensors, axis, dim, "cat")
    first = tensors[0].shape
    for i, t in enumerate(tensors):
        if t.ndim != len(first) or any(a != b for k, (a, b) in enumerate(zip(t.shape, first))
                                       if k != axis):
            raise ShapeError(f"cat: tensor {i} has shape {tuple(t.shape)}, tensor 0 has "
                             f"{tuple(first)}; they must match except along axis {axis}")
    if len(tensors) == 1:
        return tensors[0]
    return ops.Cat.apply(*tensors, axis=axis)


def stack(tensors, axis=0, *, dim=None):
    """Join tensors along a new axis (unsqueeze each, then Cat)."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty list of tensors")
    axis = _axis(tensors, axis, dim, "stack", extra=1)
    for i, t in enumerate(tensors):
        if t.shape != tensors[0].shape:
            raise ShapeError(f"stack: tensor {i} has shape {tuple(t.shape)}, tensor 0 has "
                             f"{tuple(tensors[0].shape)}; all must be equal")
    return cat([t.unsqueeze(axis) for t in tensors], axis)


def where(condition, a, b):
    """``a`` where ``condition`` is True, else ``b`` (broadcast together)."""
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if ref is None:
        ref = Tensor._wrap(numpy.asarray(a))
    return ref._select(condition, a, b)


def split(t, split_size, axis=0, *, dim=None):
    return t.split(split_size, axis, dim=dim)


def chunk(t, chunks, axis=0, *, dim=None):
    return t.chunk(chunks, axis, dim=dim)


def maximum(a, b):
    return a.maximum(b)


def minimum(a, b):
    return a.minimum(b)


def matmul(a, b):
    return a.matmul(b)


def exp(x):
    return x.exp()


def log(x):
    return x.log()


def sqrt(x):
    return x.sqrt()


def tanh(x):
    return x.tanh()


def sigmoid(x):
    return x.sigmoid()


def relu(x):
    return x.relu()


def abs(x):  # noqa: A001  (PyTorch's name)
    return x.abs()


def clip(x, min=None, max=None):  # noqa: A002
    return x.clip(min, max)


clamp = clip


def softmax(x, axis=-1, *, dim=None):
    return x.softmax(axis, dim=dim)


def log_softmax(x, axis=-1, *, dim=None):
    return x.log_softmax(axis, dim=dim)


def dropout(x, p=0.5, training=True):
    """Zero each element with probability ``p`` and scale the rest by 1/(1-p) (inverted
    dropout, as in PyTorch), so that evaluation needs no rescaling. A Mul by a constant mask."""
    if not 0 <= p < 1:
        raise ValueError(f"dropout: p must be in [0, 1), got {p}")
    if not training or p == 0:
        return x
    keep = backend.rng().random(x.shape) >= p
    mask = x.xp.asarray(keep.astype(x.dtype) / (1 - p))
    return x * Tensor._wrap(mask)


def padding_index(padding_idx, n, who):
    """``padding_idx`` checked against ``n`` rows and made non-negative (negative counts from
    the end, as in PyTorch); None stays None."""
    if padding_idx is None:
        return None
    if not -n <= padding_idx < n:
        raise IndexError(f"{who}: padding_idx {padding_idx} is out of range for {n} embeddings")
    return padding_idx % n


def check_indices(idx, n, who):
    """Integer lookup indices in [0, n), or an error naming ``who``."""
    if idx.dtype.kind not in "iu":
        raise TypeError(f"{who}: indices must be integers, got {idx.dtype} (shape "
                        f"{tuple(idx.shape)})")
    if idx.size:
        low, high = int(idx.min()), int(idx.max())
        if low < 0 or high >= n:
            raise IndexError(f"{who}: index {low if low < 0 else high} is out of range for a "
                             f"table of {n} embeddings (expected 0 <= index < {n})")


def embedding(indices, weight, padding_idx=None, who="embedding"):
    """Rows of ``weight`` picked by integer ``indices`` (a GetItem; its backward scatter-adds,
    so a token used twice gets both gradients). Rows at ``padding_idx`` get no gradient.
    Indices must lie in [0, n): as in PyTorch, a negative index does not count from the end."""
    idx = indices.data if isinstance(indices, Tensor) else weight.xp.asarray(indices)
    n = weight.shape[0]
    check_indices(idx, n, who)
    padding_idx = padding_index(padding_idx, n, who)
    out = weight[idx]
    if padding_idx is not None and weight.requires_grad:
        keep = (idx != padding_idx)[..., None].astype(weight.dtype)
        # the padding rows' values, as a constant (not detach(): that would mark a BPTT cut)
        out = out * Tensor._wrap(keep) + Tensor._wrap(out.data * (1 - keep))
    return out


def linear(x, weight, bias=None, who="linear"):
    """y = x W^T + b, W (out_features, in_features), over any leading dimensions of x: one
    Linear op on x as a matrix (kernels.linear starts the product from the bias)."""
    if x.ndim == 0 or weight.ndim != 2 or x.shape[-1] != weight.shape[-1]:
        raise ShapeError(f"{who}: input shape {tuple(x.shape)} and weight shape "
                         f"{tuple(weight.shape)} do not match: the input's last dimension must "
                         f"equal the weight's in_features (its last dimension)")
    rows = x.reshape(-1, x.shape[-1]) if x.ndim != 2 else x
    parts = (rows, weight) if bias is None else (rows, weight, bias)
    y = ops.Linear.apply(*parts)
    return y if x.ndim == 2 else y.reshape(tuple(x.shape[:-1]) + (weight.shape[0],))


def einsum(equation, *operands):
    """Einstein summation over one or two tensors: ``ts.einsum("bij,bjk->bik", a, b)``, with
    an implicit output (the letters used once, in alphabetical order) when there is no
    "->". Each letter names one dimension; "..." and repeated letters within one operand (a
    diagonal) are not supported."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    spec = equation.replace(" ", "")
    lhs, arrow, output = spec.partition("->")
    inputs = lhs.split(",")
    if "." in spec:
        raise ValueError(f"einsum: {equation!r}: '...' is not supported; name every dimension")
    if len(inputs) != len(operands) or not 1 <= len(operands) <= 2:
        raise ValueError(f"einsum: {equation!r} names {len(inputs)} operand(s) and "
                         f"{len(operands)} were given; one or two are supported")
    sizes = {}
    for i, (letters, t) in enumerate(zip(inputs, operands)):
        if not letters.isalpha() and letters:
            raise ValueError(f"einsum: {equation!r}: subscripts must be letters")
        if len(set(letters)) != len(letters):
            raise ValueError(f"einsum: {equation!r}: a letter repeats within operand {i} (a "
                             f"diagonal), which is not supported")
        if len(letters) != t.ndim:
            raise ShapeError(f"einsum: operand {i} has shape {tuple(t.shape)}, but "
                             f"{letters!r} names {len(letters)} dimensions")
        for c, n in zip(letters, t.shape):
            if sizes.setdefault(c, n) != n:
                raise ShapeError(f"einsum: {equation!r}: dimension {c!r} has size {sizes[c]} "
                                 f"in one operand and {n} in another")
    used = "".join(inputs)
    if not arrow:
        output = "".join(sorted(c for c in set(used) if used.count(c) == 1))
    if len(set(output)) != len(output) or any(c not in sizes for c in output):
        raise ValueError(f"einsum: {equation!r}: each output letter must appear once, and in "
                         f"an operand")
    if len(operands) == 2:
        operands = operands[0]._pair(operands[1])
    return ops.Einsum.apply(*operands, inputs=tuple(inputs), output=output)


def linspace(start, end, steps, dtype=None, device=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end``, both included."""
    from .creation import _float, _make
    if steps < 0:
        raise ValueError(f"linspace: number of steps must be non-negative, got {steps}")
    arr = numpy.linspace(start, end, steps).astype(_float(dtype))
    return _make(arr, requires_grad, device)


def _method(name):
    def call(t, *args, **kwargs):
        return getattr(t, name)(*args, **kwargs)
    call.__name__ = name
    call.__doc__ = f"``ts.{name}(t, ...)`` is ``t.{name}(...)``."
    return call


# PyTorch's free-function spellings of the newer tensor methods
sin, cos, tril, triu, gather, cumsum, prod = (_method(n) for n in (
    "sin", "cos", "tril", "triu", "gather", "cumsum", "prod"))
logsumexp, isnan, isinf, isfinite, sort, argsort, topk, flip, roll, masked_select, norm = (
    _method(n) for n in ("logsumexp", "isnan", "isinf", "isfinite", "sort", "argsort", "topk",
                         "flip", "roll", "masked_select", "norm"))
clone, t, scatter, scatter_add, floor, ceil = (_method(n) for n in (
    "clone", "t", "scatter", "scatter_add", "floor", "ceil"))
# builtins' names, defined under other names here so this module keeps the builtins it uses;
# the package exports them as ts.pow, ts.any, ts.all, ts.round (PyTorch's spellings)
pow_, any_, all_, round_ = (_method(n) for n in ("pow", "any", "all", "round"))
