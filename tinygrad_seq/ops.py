"""The primitive ops: one small class each.

``forward`` works on raw backend arrays (``self.xp`` is numpy or cupy) and may keep what
``backward`` needs in ``self.saved``. ``backward`` receives the output gradient as a Tensor and
returns one gradient per input, written with Tensor operations so that the same formula serves
first and (with ``create_graph=True``) second derivatives. Broadcast inputs get gradients of the
broadcast shape; the engine sums them back (autograd._fit), so no op undoes broadcasting itself.

Everything else (mean, var, softmax-free losses, stack, chunk, dropout, ...) is composed from
these in tensor.py; docs/primitives.md lists them and says why each one is a primitive.
"""

from __future__ import annotations

from .autograd import Function, ShapeError

# ---- elementwise binary (inputs broadcast) ----------------------------------------------------


class Add(Function):
    name, broadcasting = "add", True

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    name, broadcasting = "sub", True

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    name, broadcasting = "mul", True

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.parents
        na, nb = self.needs_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    name, broadcasting = "div", True

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.parents
        ga = g / b
        return ga, (-ga * a / b if self.needs_grad[1] else None)


class Pow(Function):
    name, broadcasting = "pow", True

    def forward(self, a, b):
        self.saved = out = a ** b
        return out

    def backward(self, g):
        a, b = self.parents
        ga = gb = None
        if self.needs_grad[0]:
            # b * a^(b-1) with the exponent 1 where b == 0: the derivative of a^0 is 0, also at
            # a == 0 (PyTorch's rule), without evaluating 0^-1
            ga = g * b * a ** Where.apply(b == 0, b.new_ones(()), b - 1)
        if self.needs_grad[1]:
            # d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch's rule)
            zero_base = (a == 0) & (b >= 0)
            safe = Where.apply(zero_base, a.new_ones(()), a)
            gb = g * self.output(self.saved) * safe.log()
        return ga, gb


class Maximum(Function):
    """Elementwise max; at ties the gradient is shared equally (PyTorch's rule)."""

    name, broadcasting = "maximum", True

    def forward(self, a, b):
        return self.xp.maximum(a, b)

    def backward(self, g):
        a, b = self.parents
        w = (a > b).astype(g.dtype) + (a == b).astype(g.dtype) * 0.5
        return g * w, g * (1 - w)


class Minimum(Maximum):
    name = "minimum"

    def forward(self, a, b):
        return self.xp.minimum(a, b)

    def backward(self, g):
        gb, ga = super().backward(g)  # min(a, b) = max(b, a) with the roles swapped
        return ga, gb


class MatMul(Function):
    """(..., n, k) @ (..., k, m) with batch dimensions broadcast; 1-D operands are handled by
    Tensor.matmul, which lifts them to matrices."""

    name = "matmul"

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ShapeError(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: inner sizes "
                             f"{a.shape[-1]} and {b.shape[-2 if b.ndim > 1 else -1]} differ")
        return a @ b

    def backward(self, g):
        a, b = self.parents
        na, nb = self.needs_grad
        return (g @ b.mT if na else None), (a.mT @ g if nb else None)


# ---- elementwise unary ------------------------------------------------------------------------


class Neg(Function):
    name = "neg"

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Exp(Function):
    name = "exp"

    def forward(self, x):
        self.saved = out = self.xp.exp(x)
        return out

    def backward(self, g):
        return g * self.output(self.saved)


class Log(Function):
    name = "log"

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, g):
        return g / self.parents[0]


class Sqrt(Function):
    name = "sqrt"

    def forward(self, x):
        self.saved = out = self.xp.sqrt(x)
        return out

    def backward(self, g):
        return g / (self.output(self.saved) * 2)


class Tanh(Function):
    name = "tanh"

    def forward(self, x):
        self.saved = out = self.xp.tanh(x)
        return out

    def backward(self, g):
        y = self.output(self.saved)
        return g * (1 - y * y)


class Sigmoid(Function):
    """A primitive rather than 1/(1+exp(-x)): that composition overflows exp for x << 0, and
    every gate of every recurrent cell calls this."""

    name = "sigmoid"

    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))  # never overflows
        self.saved = out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return out

    def backward(self, g):
        y = self.output(self.saved)
        return g * y * (1 - y)


class Relu(Function):
    name = "relu"

    def forward(self, x):
        return self.xp.maximum(x, 0)

    def backward(self, g):
        return g * (self.parents[0] > 0).astype(g.dtype)


class Abs(Function):
    name = "abs"

    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, g):
        return g * self.parents[0].sign()


class Clip(Function):
    """clamp(x, lo, hi); the gradient passes where lo <= x <= hi (PyTorch's rule)."""

    name = "clip"

    def forward(self, x, lo=None, hi=None):
        self.lo, self.hi = lo, hi
        return self.xp.clip(x, lo, hi)

    def backward(self, g):
        x = self.parents[0].data
        keep = self.xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            keep &= x >= self.lo
        if self.hi is not None:
            keep &= x <= self.hi
        return g * g._wrap(keep.astype(g.dtype))


class Cast(Function):
    name = "cast"

    def forward(self, x, dtype=None):
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.parents[0].dtype)


# ---- reductions -------------------------------------------------------------------------------


def _kept_shape(shape, axis):
    """The shape a reduction over ``axis`` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class Sum(Function):
    name = "sum"

    def forward(self, x, axis=None, keepdims=False):
        self.kept = _kept_shape(x.shape, axis)
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        return g.reshape(self.kept).expand(self.parents[0].shape)


class Max(Function):
    """amax: at ties the gradient is split evenly between the maxima (PyTorch's amax rule)."""

    name = "max"

    def forward(self, x, axis=None, keepdims=False):
        self.kept = _kept_shape(x.shape, axis)
        self.axis = axis
        out = self.reduce(x, axis)
        self.saved = out.reshape(self.kept)
        return out if keepdims else out.reshape([n for i, n in enumerate(out.shape)
                                                 if axis is not None and i not in axis])

    def reduce(self, x, axis):
        return x.max(axis=axis, keepdims=True)

    def backward(self, g):
        x = self.parents[0]
        hit = (x.data == self.saved).astype(g.dtype)
        share = hit / hit.sum(axis=self.axis, keepdims=True)
        return g.reshape(self.kept) * g._wrap(share)


class Min(Max):
    name = "min"

    def reduce(self, x, axis):
        return x.min(axis=axis, keepdims=True)


class Softmax(Function):
    name = "softmax"

    def forward(self, x, axis=-1):
        xp = self.xp
        self.axis = axis
        e = xp.exp(x - x.max(axis=axis, keepdims=True))
        self.saved = out = e / e.sum(axis=axis, keepdims=True)
        return out

    def backward(self, g):
        s = self.output(self.saved)
        return s * (g - (g * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    name = "log_softmax"

    def forward(self, x, axis=-1):
        xp = self.xp
        self.axis = axis
        z = x - x.max(axis=axis, keepdims=True)
        self.saved = out = z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
        return out

    def backward(self, g):
        p = self.output(self.saved).exp()
        return g - p * g.sum(axis=self.axis, keepdims=True)


# ---- movement ---------------------------------------------------------------------------------


class Reshape(Function):
    name = "reshape"

    def forward(self, x, shape=None):
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.parents[0].shape)


class Permute(Function):
    name = "permute"

    def forward(self, x, axes=None):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, g):
        inverse = [0] * len(self.axes)
        for i, a in enumerate(self.axes):
            inverse[a] = i
        return g.permute(*inverse)


class Expand(Function):
    name = "expand"

    def forward(self, x, shape=None):
        return self.xp.broadcast_to(x, shape)

    def backward(self, g):
        return g  # the engine sums it back to the input's shape


def _is_basic(index):
    """True when ``index`` only slices (no integer arrays), so no position repeats."""
    items = index if type(index) is tuple else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (int, slice)) for i in items)


class GetItem(Function):
    """x[index] with ints, slices, None, Ellipsis and integer arrays (boolean masks arrive
    already turned into integer arrays by Tensor.__getitem__)."""

    name = "getitem"

    def forward(self, x, index=None):
        self.index = index
        return x[index]

    def backward(self, g):
        return ScatterAdd.apply(g, shape=self.parents[0].shape, index=self.index)


class ScatterAdd(Function):
    """zeros(shape) with ``g`` added at ``index``; repeated indices add up (the backward of
    GetItem, and its own backward is GetItem)."""

    name = "scatter_add"

    def forward(self, g, shape=None, index=None):
        self.index = index
        out = self.xp.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            self.xp.add.at(out, index, g)
        return out

    def backward(self, g):
        return GetItem.apply(g, index=self.index)


class Cat(Function):
    name = "cat"

    def forward(self, *xs, axis=0):
        self.axis = axis
        return self.xp.concatenate(xs, axis=axis)

    def backward(self, g):
        sizes = [p.shape[self.axis] for p in self.parents]
        return Split.apply(g, sizes=sizes, axis=self.axis)


class Split(Function):
    """Several outputs: pieces of ``sizes`` along ``axis``. Its backward is Cat."""

    name = "split"

    def forward(self, x, sizes=None, axis=0):
        self.axis, self.sizes = axis, sizes
        bounds, start = [], 0
        for n in sizes[:-1]:
            start += n
            bounds.append(start)
        return tuple(self.xp.split(x, bounds, axis=axis))

    def backward(self, *gs):
        x = self.parents[0]
        pieces = []
        for g, n in zip(gs, self.sizes):
            if g is None:  # an output nobody used: its gradient is zero
                shape = list(x.shape)
                shape[self.axis] = n
                g = x.new_zeros(tuple(shape))
            pieces.append(g)
        return Cat.apply(*pieces, axis=self.axis)


class Where(Function):
    name = "where"

    def forward(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def backward(self, g):
        cond, a, b = self.parents
        zero = g.new_zeros(())
        ga = Where.apply(cond, g, zero) if self.needs_grad[1] else None
        gb = Where.apply(cond, zero, g) if self.needs_grad[2] else None
        return None, ga, gb
