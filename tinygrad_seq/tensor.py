"""Tensor: a backend array plus what autograd needs (requires_grad, grad, the node that made it).

Every method wires to an op in ops.py (or composes a few); grep for a name finds its definition.
Composite methods say in a comment which primitives they use.
"""

from __future__ import annotations

import collections
import numbers

import numpy

from . import autograd, backend, ops
from .autograd import ShapeError

_new = object.__new__
MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])


class Tensor:
    """An n-dimensional array that records the operations applied to it (when it or one of its
    inputs requires grad), so that ``backward()`` can compute gradients.

    Build one with ``ts.tensor(data)`` or a factory (``ts.zeros``, ``ts.randn``, ...). Shapes,
    broadcasting and indexing follow NumPy; names and keywords follow PyTorch (``dim=``,
    ``keepdim=``, ``.T``, ``.size()``)."""

    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_idx", "_hooks", "__weakref__")
    __array_priority__ = 1000  # numpy_array + tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
        from .creation import as_array  # creation builds on Tensor; imported when first used
        self.data = as_array(data, dtype, device)
        self.grad = self._ctx = self._hooks = None
        self._idx = 0
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    @staticmethod
    def _wrap(data, requires_grad=False, ctx=None, idx=0):
        """The fast constructor the engine uses: no checks, no copies."""
        t = _new(Tensor)
        t.data, t.requires_grad, t.grad, t._ctx, t._idx, t._hooks = (
            data, requires_grad, None, ctx, idx, None)
        return t

    # ---- attributes ---------------------------------------------------------------------------
    @property
    def shape(self):
        return self.data.shape

    @property
    def ndim(self):
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self):
        return backend.device_of(self.data)

    @property
    def xp(self):
        return backend.get_array_module(self.data)

    @property
    def is_leaf(self):
        return self._ctx is None

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[dim]

    def dim(self):
        return self.ndim

    def numel(self):
        return int(self.data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ---- conversion ---------------------------------------------------------------------------
    def numpy(self):
        """The data as a NumPy array (shared with the tensor on the CPU, copied from a GPU)."""
        return self.data if self.xp is numpy else self.data.get()

    def __array__(self, dtype=None, copy=None):
        a = self.numpy()
        return a if dtype is None else a.astype(dtype, copy=False)

    def item(self):
        if self.data.size != 1:
            raise ValueError(f"item: only a one-element tensor converts to a Python scalar; "
                             f"got shape {tuple(self.shape)}")
        return self.data.reshape(()).item()

    def tolist(self):
        return self.numpy().tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor of shape {tuple(self.shape)} is "
                             f"ambiguous; use .any() or .all()")
        return bool(self.item())

    def __repr__(self):
        body = numpy.array2string(self.numpy(), separator=", ", prefix="tensor(")
        extra = []
        if self.dtype not in (numpy.float32, numpy.int64, numpy.bool_):
            extra.append(f"dtype={self.dtype}")
        if self.device != "cpu":
            extra.append(f"device='{self.device}'")
        if self._ctx is not None:
            extra.append(f"grad_fn=<{self._ctx.name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return f"tensor({body}{''.join(', ' + e for e in extra)})"

    __hash__ = object.__hash__  # == is elementwise, so identity hashing

    def detach(self):
        return Tensor._wrap(self.data)

    def to(self, device=None, dtype=None):
        t = self
        if device is not None:
            device = backend.parse_device(device)
            backend.module_for(device)
            if device != self.device:
                t = Tensor._wrap(backend.to_device(self.data, device), self.requires_grad)
        return t.astype(dtype) if dtype is not None else t

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    def astype(self, dtype):
        dtype = numpy.dtype(dtype)
        if dtype == self.dtype:
            return self
        return ops.Cast.apply(self, dtype=dtype)

    def float(self):
        return self.astype(numpy.float32)

    def double(self):
        return self.astype(numpy.float64)

    def long(self):
        return self.astype(numpy.int64)

    # ---- autograd -----------------------------------------------------------------------------
    def requires_grad_(self, requires_grad=True):
        if requires_grad and self.dtype.kind not in "fc":
            raise TypeError(f"requires_grad=True needs a floating-point tensor; this one is "
                            f"{self.dtype} (integer and bool tensors hold indices and masks)")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach()")
        self.requires_grad = bool(requires_grad)
        return self

    def backward(self, gradient=None, retain_graph=False, create_graph=False, inputs=None):
        """Compute d(self)/d(leaf) for every leaf that requires grad and add it to ``leaf.grad``.
        ``gradient`` is needed when ``self`` is not a scalar."""
        grads = autograd._root_grads((self,), gradient if gradient is None else (gradient,),
                                     "backward")
        autograd.run_backward((self,), grads, retain_graph or create_graph, create_graph)

    def register_hook(self, hook):
        """``hook(grad)`` runs when the gradient of this tensor is computed; returning a tensor
        replaces the gradient. Returns a handle with ``.remove()``."""
        return autograd.register_hook(self, hook)

    def retain_grad(self):
        autograd.retain_grad(self)
        return self

    # ---- arithmetic ---------------------------------------------------------------------------
    def _operand(self, other):
        """Turn a Python number or array into a constant tensor that mixes with this one.
        Python numbers take this tensor's dtype (as in PyTorch), except that a float meeting an
        integer tensor gives float32."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, numbers.Number):
            dtype = self.dtype
            if dtype.kind in "biu" and not isinstance(other, numbers.Integral):
                dtype = numpy.float32
            elif dtype.kind == "b" and not isinstance(other, bool):
                dtype = numpy.int64
            return Tensor._wrap(self.xp.asarray(other, dtype=dtype))
        return Tensor._wrap(self.xp.asarray(other))

    def _pair(self, other):
        """(self, other) as tensors of a common kind: PyTorch promotes an integer or bool tensor
        meeting a floating one to that float dtype (NumPy would pick float64)."""
        other = self._operand(other)
        da, db = self.data.dtype, other.data.dtype
        if da is db or da.kind == db.kind:
            return self, other
        if da.kind == "f" and db.kind in "biu":
            return self, other.astype(da)
        if db.kind == "f" and da.kind in "biu":
            return self.astype(db), other
        return self, other

    def __add__(self, other):
        return ops.Add.apply(*self._pair(other))

    def __radd__(self, other):
        b, a = self._pair(other)
        return ops.Add.apply(a, b)

    def __sub__(self, other):
        return ops.Sub.apply(*self._pair(other))

    def __rsub__(self, other):
        b, a = self._pair(other)
        return ops.Sub.apply(a, b)

    def __mul__(self, other):
        return ops.Mul.apply(*self._pair(other))

    def __rmul__(self, other):
        b, a = self._pair(other)
        return ops.Mul.apply(a, b)

    def __truediv__(self, other):
        a, b = self._pair(other)
        if a.dtype.kind != "f":  # true division of integers gives the default float dtype
            a, b = a.astype(numpy.float32), b.astype(numpy.float32)
        return ops.Div.apply(a, b)

    def __rtruediv__(self, other):
        b, a = self._pair(other)
        if a.dtype.kind != "f":
            a, b = a.astype(numpy.float32), b.astype(numpy.float32)
        return ops.Div.apply(a, b)

    def __pow__(self, other):
        return ops.Pow.apply(*self._pair(other))

    def __rpow__(self, other):
        b, a = self._pair(other)
        return ops.Pow.apply(a, b)

    def __neg__(self):
        return ops.Neg.apply(self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return self._operand(other).matmul(self)

    def matmul(self, other):
        """Matrix product with NumPy's rules; 1-D operands become a row or a column."""
        other = self._operand(other)
        a, b = self, other
        if a.ndim == 0 or b.ndim == 0:
            raise ShapeError(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: both operands need "
                             f"at least one dimension")
        out = ops.MatMul.apply(a.unsqueeze(0) if a.ndim == 1 else a,
                               b.unsqueeze(-1) if b.ndim == 1 else b)
        if b.ndim == 1:
            out = out.squeeze(-1)
        if a.ndim == 1:
            out = out.squeeze(-1 if b.ndim == 1 else -2)
        return out

    # comparisons give bool tensors and are never differentiated
    def _compare(self, other, op):
        return Tensor._wrap(op(self.data, self._operand(other).data))

    def __eq__(self, other):
        return self._compare(other, numpy.equal if self.xp is numpy else self.xp.equal)

    def __ne__(self, other):
        return self._compare(other, self.xp.not_equal)

    def __lt__(self, other):
        return self._compare(other, self.xp.less)

    def __le__(self, other):
        return self._compare(other, self.xp.less_equal)

    def __gt__(self, other):
        return self._compare(other, self.xp.greater)

    def __ge__(self, other):
        return self._compare(other, self.xp.greater_equal)

    def __invert__(self):
        return Tensor._wrap(~self.data)

    def __and__(self, other):
        return self._compare(other, self.xp.logical_and)

    def __or__(self, other):
        return self._compare(other, self.xp.logical_or)

    def any(self):
        return Tensor._wrap(self.data.any())

    def all(self):
        return Tensor._wrap(self.data.all())

    def sign(self):
        """Elementwise sign; a constant (no gradient flows through it)."""
        return Tensor._wrap(self.xp.sign(self.data))

    # ---- elementwise functions ----------------------------------------------------------------
    def exp(self):
        return ops.Exp.apply(self)

    def log(self):
        return ops.Log.apply(self)

    def sqrt(self):
        return ops.Sqrt.apply(self)

    def tanh(self):
        return ops.Tanh.apply(self)

    def sigmoid(self):
        return ops.Sigmoid.apply(self)

    def relu(self):
        return ops.Relu.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def clip(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clip: give min, max or both")
        return ops.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def maximum(self, other):
        return ops.Maximum.apply(self, self._operand(other))

    def minimum(self, other):
        return ops.Minimum.apply(self, self._operand(other))

    def square(self):
        return self * self

    # ---- reductions ---------------------------------------------------------------------------
    def _axes(self, axis, dim, op):
        """Normalise ``axis`` (or its PyTorch spelling ``dim``) to a sorted tuple or None."""
        if dim is not None:
            axis = dim
        if axis is None:
            return None
        items = axis if isinstance(axis, (tuple, list)) else (axis,)
        out = []
        for a in items:
            if not -self.ndim <= a < max(self.ndim, 1):
                raise IndexError(f"{op}: axis {a} is out of range for a tensor of "
                                 f"{self.ndim} dimensions (shape {tuple(self.shape)})")
            out.append(a % max(self.ndim, 1))
        return tuple(sorted(set(out)))

    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        keepdims = keepdim if keepdim is not None else keepdims
        return ops.Sum.apply(self, axis=self._axes(axis, dim, "sum"), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axes = self._axes(axis, dim, "mean")
        n = self.numel() if axes is None else int(numpy.prod([self.shape[a] for a in axes]))
        return self.sum(axes, keepdims if keepdim is None else keepdim) / max(n, 1)  # Sum, Div

    def var(self, axis=None, keepdims=False, *, dim=None, keepdim=None, correction=1,
            unbiased=None):
        """Variance with PyTorch's default ``correction=1`` (Bessel); ``correction=0`` or
        ``unbiased=False`` gives NumPy's population variance."""
        if unbiased is not None:
            correction = int(unbiased)
        axes = self._axes(axis, dim, "var")
        keep = keepdims if keepdim is None else keepdim
        n = self.numel() if axes is None else int(numpy.prod([self.shape[a] for a in axes]))
        d = self - self.mean(axes, keepdims=True)
        return (d * d).sum(axes, keep) / max(n - correction, 0)

    def std(self, axis=None, keepdims=False, *, dim=None, keepdim=None, correction=1,
            unbiased=None):
        """sqrt(var); where the variance is 0 the gradient is 0 (PyTorch's rule), not 0/0."""
        v = self.var(axis, keepdims, dim=dim, keepdim=keepdim, correction=correction,
                     unbiased=unbiased)
        flat = v == 0
        return where(flat, 0.0, where(flat, 1.0, v).sqrt())  # Where, Sqrt

    def amax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        keepdims = keepdim if keepdim is not None else keepdims
        return ops.Max.apply(self, axis=self._axes(axis, dim, "amax"), keepdims=keepdims)

    def amin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        keepdims = keepdim if keepdim is not None else keepdims
        return ops.Min.apply(self, axis=self._axes(axis, dim, "amin"), keepdims=keepdims)

    def max(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        """Like PyTorch: the maximum over everything (ties share the gradient), or
        ``(values, indices)`` along one axis (the gradient goes to the returned index)."""
        if axis is None and dim is None:
            return self.amax()
        return self._pick(self.argmax(axis, True, dim=dim), axis, dim, keepdims, keepdim)

    def min(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        if axis is None and dim is None:
            return self.amin()
        return self._pick(self.argmin(axis, True, dim=dim), axis, dim, keepdims, keepdim)

    def _pick(self, indices, axis, dim, keepdims, keepdim):
        """(values at ``indices`` along the axis, indices): a GetItem with index arrays."""
        ax = self._axes(axis, dim, "max")[0]
        grid = [self.xp.arange(n).reshape([-1 if i == k else 1 for i in range(self.ndim)])
                for k, n in enumerate(self.shape)]
        grid[ax] = indices.data
        values = self[tuple(grid)]  # (..., 1, ...) keeping the reduced axis
        if not (keepdims if keepdim is None else keepdim):
            values, indices = values.squeeze(ax), indices.squeeze(ax)
        return MaxResult(values, indices)

    def argmax(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axes = self._axes(axis, dim, "argmax")
        keep = keepdims if keepdim is None else keepdim
        ax = None if axes is None else axes[0]
        return Tensor._wrap(self.xp.asarray(self.data.argmax(axis=ax, keepdims=keep)))

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axes = self._axes(axis, dim, "argmin")
        keep = keepdims if keepdim is None else keepdim
        ax = None if axes is None else axes[0]
        return Tensor._wrap(self.xp.asarray(self.data.argmin(axis=ax, keepdims=keep)))

    def softmax(self, axis=-1, *, dim=None):
        return ops.Softmax.apply(self, axis=self._axes(axis, dim, "softmax")[0])

    def log_softmax(self, axis=-1, *, dim=None):
        return ops.LogSoftmax.apply(self, axis=self._axes(axis, dim, "log_softmax")[0])

    # ---- shape --------------------------------------------------------------------------------
    def reshape(self, *shape):
        shape = _shape_arg(shape)
        if tuple(shape) == self.shape:
            return self
        return ops.Reshape.apply(self, shape=shape)

    view = reshape

    def flatten(self, start_dim=0, end_dim=-1):
        if self.ndim == 0:
            return self.reshape(1)
        s, e = start_dim % self.ndim, end_dim % self.ndim
        return self.reshape(self.shape[:s] + (-1,) + self.shape[e + 1:])

    def permute(self, *axes):
        axes = tuple(a % max(self.ndim, 1) for a in _shape_arg(axes))
        if sorted(axes) != list(range(self.ndim)):
            raise ShapeError(f"permute: {axes} is not a permutation of the {self.ndim} axes of "
                             f"shape {tuple(self.shape)}")
        return ops.Permute.apply(self, axes=axes)

    def transpose(self, dim0=-2, dim1=-1):
        axes = list(range(self.ndim))
        d0, d1 = self._axes(dim0, None, "transpose")[0], self._axes(dim1, None, "transpose")[0]
        axes[d0], axes[d1] = axes[d1], axes[d0]
        return self.permute(*axes)

    def squeeze(self, axis=None, *, dim=None):
        axes = self._axes(axis, dim, "squeeze")
        if axes is None:
            axes = tuple(i for i, n in enumerate(self.shape) if n == 1)
        return self.reshape(tuple(n for i, n in enumerate(self.shape)
                                  if not (i in axes and n == 1)))

    def unsqueeze(self, axis=None, *, dim=None):
        axis = dim if dim is not None else axis
        if not -self.ndim - 1 <= axis <= self.ndim:
            raise IndexError(f"unsqueeze: axis {axis} is out of range for a tensor of "
                             f"{self.ndim} dimensions")
        axis = axis % (self.ndim + 1)
        return self.reshape(self.shape[:axis] + (1,) + self.shape[axis:])

    def expand(self, *shape):
        shape = _shape_arg(shape)
        lead = len(shape) - self.ndim
        shape = tuple(self.shape[i - lead] if n == -1 else n for i, n in enumerate(shape))
        if shape == self.shape:
            return self
        if lead < 0 or any(m != n and m != 1 for m, n in zip(self.shape, shape[lead:])):
            raise ShapeError(f"expand: cannot expand shape {tuple(self.shape)} to {shape}")
        return ops.Expand.apply(self, shape=shape)

    def expand_as(self, other):
        return self.expand(other.shape)

    def split(self, split_size, axis=0, *, dim=None):
        """Pieces of ``split_size`` along ``axis`` (an int size, or a list of sizes)."""
        axis = self._axes(axis, dim, "split")[0]
        n = self.shape[axis]
        if isinstance(split_size, numbers.Integral):
            if split_size <= 0:
                raise ValueError(f"split: split_size must be positive, got {split_size}")
            sizes = [split_size] * (n // split_size) + ([n % split_size] if n % split_size else [])
        else:
            sizes = list(split_size)
            if sum(sizes) != n:
                raise ShapeError(f"split: sizes {sizes} add up to {sum(sizes)}, but axis {axis} "
                                 f"has size {n}")
        return ops.Split.apply(self, sizes=sizes, axis=axis)

    def chunk(self, chunks, axis=0, *, dim=None):
        axis = self._axes(axis, dim, "chunk")[0]
        return self.split(-(-self.shape[axis] // chunks), axis)

    def __getitem__(self, index):
        return ops.GetItem.apply(self, index=_index_arg(index, self))

    def __setitem__(self, index, value):
        """In-place assignment, for tensors outside any graph (data preparation)."""
        if self.requires_grad and autograd.is_grad_enabled():
            raise RuntimeError("setitem: in-place assignment to a tensor that requires grad "
                               "would corrupt its gradient; do it under ts.no_grad()")
        value = value.data if isinstance(value, Tensor) else value
        self.data[_index_arg(index, self)] = value

    def masked_fill(self, mask, value):
        """Where ``mask`` is True, ``value``; elsewhere this tensor (Where)."""
        mask = mask if isinstance(mask, Tensor) else Tensor._wrap(self.xp.asarray(mask))
        if mask.dtype != numpy.bool_:
            raise TypeError(f"masked_fill: the mask must be a bool tensor, got {mask.dtype}")
        return ops.Where.apply(mask, self._operand(value), self)

    def where(self, condition, other):
        """PyTorch's ``x.where(cond, y)``: x where cond holds, else y."""
        return where(condition, self, other)

    # ---- new tensors like this one -----------------------------------------------------------
    def new_zeros(self, shape):
        return Tensor._wrap(self.xp.zeros(shape, dtype=self.dtype))

    def new_ones(self, shape):
        return Tensor._wrap(self.xp.ones(shape, dtype=self.dtype))

    def zero_(self):
        self.data[...] = 0
        return self


def _shape_arg(shape):
    """Accept both f(2, 3) and f((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _index_arg(index, t):
    """Tensor parts of an index become arrays; boolean masks become integer arrays (so that
    every op below sees NumPy's integer indexing only)."""
    items = index if type(index) is tuple else (index,)
    out = []
    for item in items:
        if isinstance(item, Tensor):
            item = item.data
        elif isinstance(item, list):
            item = t.xp.asarray(item)
        if hasattr(item, "dtype") and item.dtype == numpy.bool_:
            out.extend(item.nonzero())
        else:
            out.append(item)
    return tuple(out) if (type(index) is tuple or len(out) > 1) else out[0]


def where(condition, a, b):
    """``a`` where ``condition`` is True, else ``b`` (broadcast together)."""
    ref = a if isinstance(a, Tensor) else b if isinstance(b, Tensor) else None
    if ref is None:
        ref = Tensor._wrap(numpy.asarray(a))
    cond = condition if isinstance(condition, Tensor) else ref._operand(condition)
    if cond.dtype != numpy.bool_:
        raise TypeError(f"where: the condition must be a bool tensor, got {cond.dtype}")
    return ops.Where.apply(cond, ref._operand(a), ref._operand(b))
