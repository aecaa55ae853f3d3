"""Movement primitives: Reshape, Permute, Expand, GetItem/ScatterAdd (each the other's
backward) and Cat/Split (likewise)."""

from __future__ import annotations

from .. import backend
from ..autograd import Function

# ---- movement ---------------------------------------------------------------------------------


class Reshape(Function):
    name = "reshape"
    saves_inputs = False

    def forward(self, x, shape=None):
        return x.reshape(shape)

    def backward(self, g):
        return g.reshape(self.parents[0].shape)


class Permute(Function):
    name = "permute"
    saves_inputs = False

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
    saves_inputs = False

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
    saves_inputs = False

    def forward(self, x, index=None):
        self.index = index
        if not _is_basic(index):
            # integer arrays are saved for backward (slices are not): as in PyTorch, such a
            # node refuses a second backward once freed
            self.saved = index
        return x[index]

    def backward(self, g):
        return ScatterAdd.apply(g, shape=self.parents[0].shape, index=self.index)


class ScatterAdd(Function):
    """zeros(shape) with ``g`` added at ``index``; repeated indices add up (the backward of
    GetItem, and its own backward is GetItem)."""

    name = "scatter_add"
    saves_inputs = False

    def forward(self, g, shape=None, index=None):
        self.index = index
        out = self.xp.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            self.saved = index  # as GetItem: saved integer arrays make a freed node refuse
            self.xp.add.at(out, index, g)
        return out

    def backward(self, g):
        return GetItem.apply(g, index=self.index)


class Cat(Function):
    name = "cat"
    saves_inputs = False

    def forward(self, *xs, axis=0):
        self.axis = axis
        return self.xp.concatenate(xs, axis=axis)

    def backward(self, g):
        sizes = [p.shape[self.axis] for p in self.parents]
        return Split.apply(g, sizes=sizes, axis=self.axis)


class Split(Function):
    """Several outputs: pieces of ``sizes`` along ``axis``. Its backward is Cat."""

    name = "split"
    saves_inputs = False

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


class Clone(Function):
    """A copy with its own memory (``Tensor.clone``): writing to it leaves the original, and
    whatever saved the original, untouched; the gradient passes unchanged."""

    name = "clone"
    saves_inputs = False

    def forward(self, x):
        return x.copy()

    def backward(self, g):
        return g


class ToDevice(Function):
    """A copy to another device (CPU <-> GPU); the gradient is copied back."""

    name = "to"
    saves_inputs = False

    def forward(self, x, device=None):
        self.source = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, g):
        return g.to(self.source)
