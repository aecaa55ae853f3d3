"""Reduction primitives: Sum, Max/Min (amax/amin), and the numerically stable Softmax and
LogSoftmax."""

from __future__ import annotations

from .. import kernels
from ..autograd import Function, is_grad_enabled

# ---- reductions -------------------------------------------------------------------------------


def _kept_shape(shape, axis):
    """The shape a reduction over ``axis`` has with keepdims=True."""
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else n for i, n in enumerate(shape))


class Sum(Function):
    name = "sum"
    saves_inputs = False

    def forward(self, x, axis=None, keepdims=False):
        self.kept = _kept_shape(x.shape, axis)
        return x.sum(axis=axis, keepdims=keepdims)

    def backward(self, g):
        return g.reshape(self.kept).expand(self.parents[0].shape)


class Max(Function):
    """amax: at ties the gradient is split evenly between the maxima (PyTorch's amax rule); a
    NaN is the maximum (it propagates), and the gradient goes to the NaN elements."""

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
        hit = x.data == self.saved
        if hit.dtype.kind == "b" and x.data.dtype.kind == "f":  # a NaN maximum is the NaN
            hit |= self.xp.isnan(x.data) & self.xp.isnan(self.saved)
        hit = hit.astype(g.dtype)
        share = hit / hit.sum(axis=self.axis, keepdims=True)
        return g.reshape(self.kept) * g._wrap(share)


class Min(Max):
    name = "min"

    def reduce(self, x, axis):
        return x.min(axis=axis, keepdims=True)


class Softmax(Function):
    """exp(x - max) / sum(exp(x - max)) along ``axis``, from the kernel layer (one compiled pass
    per row on the CPU, kernels/src/log_softmax.cu on a GPU). The backward, y (g - sum(g y)),
    is the Tensor formula when it is being recorded (second derivatives), else the kernel's."""

    name = "softmax"
    saves_inputs = False

    def forward(self, x, axis=-1):
        self.axis = axis
        self.saved = out = kernels.implementation(self.xp).softmax(self.xp, x, axis)
        return out

    def backward(self, g):
        if not is_grad_enabled():
            dx = kernels.implementation(self.xp).softmax_backward(self.xp, g.data, self.saved,
                                                                  self.axis)
            return g._wrap(dx)
        s = self.output(self.saved)
        return s * (g - (g * s).sum(axis=self.axis, keepdims=True))


class LogSoftmax(Function):
    """Numerically stable log-softmax, from the kernel layer (``kernels``; on a GPU,
    kernels/src/log_softmax.cu). The backward is the Tensor formula when it is being recorded
    (second derivatives), else the fused array version."""

    name = "log_softmax"
    saves_inputs = False

    def forward(self, x, axis=-1):
        self.axis = axis
        self.saved = out = kernels.implementation(self.xp).log_softmax(self.xp, x, axis)
        return out

    def backward(self, g):
        if not is_grad_enabled():
            dx = kernels.implementation(self.xp).log_softmax_backward(self.xp, g.data,
                                                                      self.saved, self.axis)
            return g._wrap(dx)
        p = self.output(self.saved).exp()
        return g - p * g.sum(axis=self.axis, keepdims=True)


class CumSum(Function):
    """Running sum along ``axis``; its backward is the running sum of g taken from the end."""

    name = "cumsum"
    saves_inputs = False

    def forward(self, x, axis=0):
        self.axis = axis
        return self.xp.cumsum(x, axis=axis)

    def backward(self, g):
        return g.flip(self.axis).cumsum(self.axis).flip(self.axis)


class Prod(Function):
    """Product over ``axis`` (one axis, or all with None). d(prod)/dx_i is the product of the
    others, computed from running products on each side of i, so zeros in x give the exact
    gradient (prod / x_i would be 0/0 there)."""

    name = "prod"
    double_backward = False  # the gradient is array code (running products)

    def forward(self, x, axis=None, keepdims=False):
        self.axis, self.keepdims = axis, keepdims
        return x.prod(axis=axis, keepdims=keepdims)

    def backward(self, g):
        x = self.parents[0].data
        xp = self.xp
        flat = x.reshape(-1) if self.axis is None else xp.moveaxis(x, self.axis, -1)
        ones = xp.ones(flat.shape[:-1] + (1,), dtype=x.dtype)
        before = xp.cumprod(xp.concatenate([ones, flat[..., :-1]], axis=-1), axis=-1)
        after = xp.cumprod(xp.concatenate([ones, flat[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = before * after  # product of every element but the i-th
        if self.axis is None:
            others = others.reshape(x.shape)
            return g * g._wrap(others)
        others = xp.moveaxis(others, -1, self.axis)
        if not self.keepdims:
            g = g.unsqueeze(self.axis)
        return g * g._wrap(others)
