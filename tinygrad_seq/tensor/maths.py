"""Tensor methods for arithmetic, comparisons, elementwise functions and reductions.

A mixin of Tensor, split out of core.py to keep files small; every method wires to an op in
ops/ (or composes a few, saying which). Like shape.py it imports nothing of core.py: new
tensors come from ``self._wrap``.
"""

from __future__ import annotations

import collections
import numbers

import numpy

from .. import ops
from ..autograd import ShapeError

MaxResult = collections.namedtuple("MaxResult", ["values", "indices"])


class MathMethods:
    __slots__ = ()

    # ---- arithmetic ---------------------------------------------------------------------------
    def __add__(self, other):
        if other.__class__ is self.__class__ and other.data.dtype is self.data.dtype:
            return ops.Add.apply(self, other)  # the common case, without the promotion checks
        return ops.Add.apply(*self._pair(other))

    def __radd__(self, other):
        b, a = self._pair(other)
        return ops.Add.apply(a, b)

    def __sub__(self, other):
        a, b = self._pair(other)
        if a.dtype.kind == "b" and b.dtype.kind == "b":
            raise TypeError("sub: subtracting bool tensors is not supported; use ^ (xor)")
        return ops.Sub.apply(a, b)

    def __rsub__(self, other):
        b, a = self._pair(other)
        if a.dtype.kind == "b" and b.dtype.kind == "b":
            raise TypeError("sub: subtracting bool tensors is not supported; use ^ (xor)")
        return ops.Sub.apply(a, b)

    def __mul__(self, other):
        if other.__class__ is self.__class__ and other.data.dtype is self.data.dtype:
            return ops.Mul.apply(self, other)
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
        if self.dtype.kind == "b":
            raise TypeError("neg: negating a bool tensor is not supported; to invert a mask, "
                            "use ~")
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
        return self._wrap(op(self.data, self._operand(other).data))

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

    # bitwise on integers, logical on bools (the same ufuncs), as PyTorch; never differentiated
    def __invert__(self):
        return self._bitwise(None, self.xp.invert, "~")

    def __and__(self, other):
        return self._bitwise(other, self.xp.bitwise_and, "&")

    def __or__(self, other):
        return self._bitwise(other, self.xp.bitwise_or, "|")

    def __xor__(self, other):
        return self._bitwise(other, self.xp.bitwise_xor, "^")

    def __lshift__(self, other):
        return self._bitwise(other, self.xp.left_shift, "<<")

    def __rshift__(self, other):
        return self._bitwise(other, self.xp.right_shift, ">>")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__

    def __rlshift__(self, other):  # 1 << t
        return self._operand(other)._bitwise(self, self.xp.left_shift, "<<")

    def __rrshift__(self, other):
        return self._operand(other)._bitwise(self, self.xp.right_shift, ">>")

    def _bitwise(self, other, ufunc, symbol):
        operands = [self] if other is None else [self, self._operand(other)]
        kinds, wanted = ("iu", "integer") if symbol in ("<<", ">>") else ("biu", "integer or bool")
        for t in operands:
            if t.dtype.kind not in kinds:
                raise TypeError(f"{symbol}: needs {wanted} tensors, got {t.dtype}")
        return self._wrap(ufunc(*[t.data for t in operands]))

    def any(self, dim=None, keepdim=False):
        axes = self._axes(dim, None, "any")
        return self._wrap(self.xp.asarray(self.data.any(axis=axes, keepdims=keepdim)))

    def all(self, dim=None, keepdim=False):
        axes = self._axes(dim, None, "all")
        return self._wrap(self.xp.asarray(self.data.all(axis=axes, keepdims=keepdim)))

    def isnan(self):
        return self._wrap(self.xp.isnan(self.data))

    def isinf(self):
        return self._wrap(self.xp.isinf(self.data))

    def isfinite(self):
        return self._wrap(self.xp.isfinite(self.data))

    def sign(self):
        """Elementwise sign; a constant (no gradient flows through it)."""
        return self._wrap(self.data.copy() if self.dtype.kind == "b" else self.xp.sign(self.data))

    # ---- elementwise functions ----------------------------------------------------------------
    def exp(self):
        return ops.Exp.apply(self._floating())

    def log(self):
        return ops.Log.apply(self._floating())

    def sqrt(self):
        return ops.Sqrt.apply(self._floating())

    def tanh(self):
        return ops.Tanh.apply(self._floating())

    def sigmoid(self):
        return ops.Sigmoid.apply(self._floating())

    def relu(self):
        return ops.Relu.apply(self)

    def abs(self):
        return ops.Abs.apply(self)

    def clip(self, min=None, max=None):
        if min is None and max is None:
            raise ValueError("clip: give min, max or both")
        if hasattr(min, "data") or hasattr(max, "data"):
            # tensor bounds (broadcast): two Wheres, so the gradient goes to x inside the
            # bounds and to the bound that was taken outside them; max wins when min > max
            out = self if min is None else ops.Where.apply(self < min, *self._pair(min)[::-1])
            return out if max is None else ops.Where.apply(out > max, *out._pair(max)[::-1])
        return ops.Clip.apply(self, lo=min, hi=max)

    clamp = clip

    def maximum(self, other):
        return ops.Maximum.apply(*self._pair(other))

    def minimum(self, other):
        return ops.Minimum.apply(*self._pair(other))

    def square(self):
        return self * self

    def pow(self, exponent):
        return self ** exponent

    def sin(self):
        return ops.Sin.apply(self._floating())

    def cos(self):
        return ops.Cos.apply(self._floating())

    def floor(self):
        return ops.Floor.apply(self) if self.dtype.kind == "f" else self

    def ceil(self):
        return ops.Ceil.apply(self) if self.dtype.kind == "f" else self

    def round(self, decimals=0):
        return ops.Round.apply(self, decimals=decimals) if self.dtype.kind == "f" else self

    def _floating(self):
        """Integer and bool tensors meet floating functions as float32, as in PyTorch."""
        return self if self.dtype.kind in "fc" else self.astype(numpy.float32)

    def cumsum(self, dim, *, dtype=None):
        t = self if dtype is None else self.astype(dtype)
        if t.dtype.kind in "bu" or t.dtype == numpy.int32:
            t = t.astype(numpy.int64)  # PyTorch sums small integers as int64
        if t.ndim == 0:
            return t
        return ops.CumSum.apply(t, axis=self._axis(dim, None, "cumsum"))

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        t = self if dtype is None else self.astype(dtype)
        if t.dtype.kind == "b":
            t = t.astype(numpy.int64)
        axis = None if dim is None or t.ndim == 0 else self._axis(dim, None, "prod")
        return ops.Prod.apply(t, axis=axis, keepdims=keepdim and axis is not None)

    def logsumexp(self, dim, keepdim=False):
        """log(sum(exp(x))) along ``dim``, shifted by the maximum so it cannot overflow; an
        all -inf slice gives -inf, and +inf gives +inf, as in PyTorch."""
        axes = self._axes(dim, None, "logsumexp")
        x = self._floating()
        shift = x.amax(axes, keepdims=True).detach()
        shift = shift.masked_fill(shift.isinf(), 0.0)  # keep x - shift finite at infinities
        out = (x - shift).exp().sum(axes, keepdims=True).log() + shift
        return out if keepdim else out.squeeze(axes)

    def norm(self, p="fro", dim=None, keepdim=False):
        """The vector p-norm over ``dim`` (all elements by default): p = 2 ("fro"), 1, inf,
        -inf, 0 (the count of non-zeros) or any other number. At x = 0 the 2-norm's gradient
        is 0, PyTorch's subgradient, not 0/0."""
        axes = self._axes(dim, None, "norm")
        x = self._floating()
        if p in ("fro", 2):
            squares = (x * x).sum(axes, keepdim)
            zero = squares == 0
            return squares.masked_fill(zero, 1.0).sqrt().masked_fill(zero, 0.0)
        if p == float("inf"):
            return x.abs().amax(axes, keepdim)
        if p == float("-inf"):
            return x.abs().amin(axes, keepdim)
        if p == 0:
            return (x != 0).astype(x.dtype).sum(axes, keepdim)
        if p == 1:
            return x.abs().sum(axes, keepdim)
        if not isinstance(p, numbers.Real):
            raise ValueError(f"norm: p must be a number, 'fro', inf or -inf, got {p!r}")
        powered = (x.abs() ** p).sum(axes, keepdim)
        zero = powered == 0
        return (powered.masked_fill(zero, 1.0) ** (1.0 / p)).masked_fill(zero, 0.0)

    # ---- reductions ---------------------------------------------------------------------------
    def sum(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        keepdims = keepdim if keepdim is not None else keepdims
        return ops.Sum.apply(self, axis=self._axes(axis, dim, "sum"), keepdims=keepdims)

    def mean(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axes = self._axes(axis, dim, "mean")
        n = self.numel() if axes is None else int(numpy.prod([self.shape[a] for a in axes]))
        total = self.sum(axes, keepdims if keepdim is None else keepdim)
        if not n:
            return total * float("nan")  # the mean of nothing: nan, as PyTorch
        out = total / n  # Sum, Div
        if out._ctx is not None:
            # the Div reads only the count n, no tensor's value: a second backward may run it
            # again, as PyTorch's MeanBackward (which saves only sizes)
            out._ctx.saves_inputs = False
        return out

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
        return v.masked_fill(flat, 1.0).sqrt().masked_fill(flat, 0.0)  # Where, Sqrt

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
        if self.ndim == 0:  # dim 0 or -1 of a 0-d tensor: the value itself at index 0
            self._axes(axis, dim, "max")
            return MaxResult(self[()], self._wrap(self.xp.zeros((), dtype=numpy.int64)))
        ax = self._axis(axis, dim, "max")
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
        ax = axes[0] if axes else None
        return self._wrap(self.xp.asarray(self.data.argmax(axis=ax, keepdims=keep)))

    def argmin(self, axis=None, keepdims=False, *, dim=None, keepdim=None):
        axes = self._axes(axis, dim, "argmin")
        keep = keepdims if keepdim is None else keepdim
        ax = axes[0] if axes else None
        return self._wrap(self.xp.asarray(self.data.argmin(axis=ax, keepdims=keep)))

    def softmax(self, axis=-1, *, dim=None):
        return self._normalise(ops.Softmax, axis, dim, "softmax")

    def log_softmax(self, axis=-1, *, dim=None):
        return self._normalise(ops.LogSoftmax, axis, dim, "log_softmax")

    def _normalise(self, op, axis, dim, name):
        if self.dtype.kind != "f":
            raise TypeError(f"{name}: needs a floating tensor, got {self.dtype} (use .float())")
        if self.ndim == 0:  # PyTorch treats a 0-d tensor as one element along dim 0 or -1
            self._axes(axis, dim, name)
            return op.apply(self.reshape(1), axis=0).reshape(())
        return op.apply(self, axis=self._axis(axis, dim, name))

