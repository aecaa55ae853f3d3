"""Tensor methods for shapes, indexing and selection (reshape, permute, [], cat pieces,
masked_fill, where). A mixin of Tensor, split out of core.py to keep files small; it imports
nothing of core.py (core.py builds on it): new tensors come from ``self._wrap``."""

from __future__ import annotations

import numbers

import numpy

from .. import ops
from ..autograd import ShapeError, is_grad_enabled, versions


class ShapeMethods:
    __slots__ = ()

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
        d0, d1 = self._axis(dim0, None, "transpose"), self._axis(dim1, None, "transpose")
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
        axis = self._axis(axis, dim, "split")
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
        axis = self._axis(axis, dim, "chunk")
        return self.split(-(-self.shape[axis] // chunks), axis)

    def __getitem__(self, index):
        items = index if type(index) is tuple else (index,)
        if any(_is_int(i) for i in items) and any(_is_array(i) for i in items):
            # PyTorch applies integer indices first (as selects), then the index arrays, so
            # x[0, :, idx] keeps idx's dimension in place; NumPy would move it to the front
            first = tuple(i if _is_int(i) or i is Ellipsis else slice(None)
                          for i in items if i is not None)
            rest = tuple(i for i in items if not _is_int(i))
            return self[first][rest]
        return ops.GetItem.apply(self, index=_index_arg(index, self))

    def __setitem__(self, index, value):
        """In-place assignment, for tensors outside any graph (data preparation). A node that
        saved this tensor for backward will refuse to run (autograd/versions.py)."""
        self._check_in_place("setitem")
        value = value.data if _is_tensor(value) else value
        index = _index_arg(index, self)
        try:
            self.data[index] = value
        except ValueError:
            shape = numpy.shape(value)
            picked = tuple(self.data[index].shape)
            raise ShapeError(f"setitem: a value of shape {shape} cannot be written into a "
                             f"selection of shape {picked} (tensor shape {tuple(self.shape)}); "
                             f"the value must broadcast to the selection") from None
        versions.bump(self.data)

    def _check_in_place(self, op):
        if self.requires_grad and is_grad_enabled():
            kind = "a leaf tensor" if self._ctx is None else "a tensor"
            raise RuntimeError(f"{op}: in-place change to {kind} that requires grad (shape "
                               f"{tuple(self.shape)}) would corrupt its gradient; do it under "
                               f"ts.no_grad(), or on a copy (.clone())")

    def masked_fill(self, mask, value):
        """Where ``mask`` is True, ``value``; elsewhere this tensor (Where)."""
        mask = mask if _is_tensor(mask) else self._wrap(self.xp.asarray(mask))
        if mask.dtype != numpy.bool_:
            raise TypeError(f"masked_fill: the mask must be a bool tensor, got {mask.dtype}")
        try:
            numpy.broadcast_shapes(tuple(mask.shape), tuple(self.shape))
        except ValueError:
            raise ShapeError(f"masked_fill: mask shape {tuple(mask.shape)} does not broadcast "
                             f"to the tensor's shape {tuple(self.shape)}") from None
        return ops.Where.apply(mask, self._operand(value), self)

    def where(self, condition, other):
        """PyTorch's ``x.where(cond, y)``: x where cond holds, else y."""
        return self._select(condition, self, other)

    def _select(self, condition, a, b):
        """``a`` where ``condition`` is True, else ``b`` (broadcast together; numbers and arrays
        become tensors like this one). ``ts.where`` is this with the first tensor of a, b."""
        cond = condition if _is_tensor(condition) else self._operand(condition)
        if cond.dtype != numpy.bool_:
            raise TypeError(f"where: the condition must be a bool tensor, got {cond.dtype}")
        return ops.Where.apply(cond, self._operand(a), self._operand(b))


def _is_tensor(x):
    # every Tensor is a ShapeMethods (tensor/core.py builds on this mixin, so it cannot be
    # imported here)
    return isinstance(x, ShapeMethods)


def _shape_arg(shape):
    """Accept both f(2, 3) and f((2, 3))."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


def _is_int(item):
    return isinstance(item, numbers.Integral) and not isinstance(item, bool)


def _is_array(item):
    return _is_tensor(item) or isinstance(item, list) or hasattr(item, "dtype")


def _index_arg(index, t):
    """Tensor parts of an index become arrays; boolean masks become integer arrays (so that
    every op below sees NumPy's integer indexing only), after checking that each mask has the
    shape of the dimensions it indexes, as PyTorch does."""
    items = index if type(index) is tuple else (index,)
    out, dim = [], 0  # dim: the first dimension of t the next item indexes
    for item in items:
        if _is_tensor(item):
            item = item.data
        elif isinstance(item, list):
            item = t.xp.asarray(item)
        if hasattr(item, "dtype") and item.dtype == numpy.bool_:
            covered = tuple(t.shape[dim:dim + item.ndim])
            if dim >= 0 and tuple(item.shape) != covered:
                raise IndexError(f"index: a boolean mask of shape {tuple(item.shape)} does not "
                                 f"match the indexed tensor's shape {covered} at dimension {dim} "
                                 f"(tensor shape {tuple(t.shape)})")
            out.extend(item.nonzero())
            dim += item.ndim
        else:
            out.append(item)
            if item is Ellipsis:
                dim = -1  # positions after an ellipsis are counted from the end: not checked
            elif item is not None and dim >= 0:
                dim += 1
    return tuple(out) if (type(index) is tuple or len(out) > 1) else out[0]

