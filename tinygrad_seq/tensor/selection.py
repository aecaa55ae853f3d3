"""Tensor methods that pick, reorder or repeat elements: gather/scatter, sort/topk, flip/roll,
repeat, masked_select, tril/triu. A mixin of Tensor like shape.py. None of them is a new
primitive: each is an index (GetItem, whose backward scatters the gradient back), a
ScatterAdd, a Where or a Cat, so their gradients come from those ops.
"""

from __future__ import annotations

import collections
import numbers

import numpy

from .. import ops
from ..autograd import ShapeError

SortResult = collections.namedtuple("SortResult", ["values", "indices"])


class SelectionMethods:
    __slots__ = ()

    # ---- along one axis by index tensors -----------------------------------------------------
    def _grid(self, index, axis, op):
        """The NumPy index that reads ``self`` at ``index`` along ``axis`` and at the same
        position elsewhere (``index``'s shape: PyTorch's gather/scatter addressing)."""
        index = index.data if hasattr(index, "data") else self.xp.asarray(index)
        if index.dtype.kind not in "iu":
            raise TypeError(f"{op}: index must be an integer tensor, got {index.dtype}")
        if index.ndim != self.ndim:
            raise ShapeError(f"{op}: index has {index.ndim} dimensions but the tensor has "
                             f"{self.ndim} (shape {tuple(self.shape)})")
        n = self.shape[axis]
        bad = index[(index < 0) | (index >= n)]  # PyTorch refuses negative ones here too
        if bad.size:
            raise IndexError(f"{op}: index {int(bad[0])} is out of range for dimension {axis} "
                             f"of size {n}")
        for d, (m, k) in enumerate(zip(index.shape, self.shape)):
            if d != axis and m > k:
                raise ShapeError(f"{op}: index shape {tuple(index.shape)} exceeds the tensor's "
                                 f"shape {tuple(self.shape)} in dimension {d}")
        grid = [self.xp.arange(m).reshape([-1 if i == d else 1 for i in range(index.ndim)])
                for d, m in enumerate(index.shape)]
        grid[axis] = index
        return tuple(grid)

    def gather(self, dim, index):
        """out[i][j] = self[index[i][j]][j] for dim 0 (and so on): PyTorch's gather."""
        axis = self._axis(dim, None, "gather")
        return self[self._grid(index, axis, "gather")]

    def scatter_add(self, dim, index, src):
        """A copy of self with ``src`` added at ``index`` along ``dim`` (repeats add up)."""
        axis = self._axis(dim, None, "scatter_add")
        src = self._operand(src)
        grid = self._grid(index, axis, "scatter_add")
        picked = src[tuple(slice(0, n) for n in grid_shape(grid))]
        return self + ops.ScatterAdd.apply(picked, shape=self.shape, index=grid)

    def scatter(self, dim, index, src):
        """A copy of self with the positions ``index`` addresses replaced by ``src`` (a
        tensor or a number). Where an index repeats, which value wins is unspecified, as in
        PyTorch."""
        axis = self._axis(dim, None, "scatter")
        grid = self._grid(index, axis, "scatter")
        shape = grid_shape(grid)
        if isinstance(src, numbers.Number):
            src = self._wrap(self.xp.full(shape, src, dtype=self.dtype))
        picked = src[tuple(slice(0, n) for n in shape)]
        hit = self.xp.zeros(self.shape, dtype=bool)
        hit[grid] = True
        # one writer per position (the last), so repeated indices do not add up
        winner = self.xp.zeros(self.shape, dtype=numpy.int64) - 1
        order = self.xp.arange(int(numpy.prod(shape))).reshape(shape)
        winner[grid] = order
        keep = self._wrap((winner[grid] == order).astype(picked.dtype))
        placed = ops.ScatterAdd.apply(picked * keep, shape=self.shape, index=grid)
        return self.masked_fill(self._wrap(hit), 0) + placed

    # ---- ordering ----------------------------------------------------------------------------
    def sort(self, dim=-1, descending=False, stable=False):
        """``(values, indices)`` sorted along ``dim``; ties keep their order (stable)."""
        indices = self.argsort(dim, descending, stable)
        return SortResult(self.gather(dim, indices), indices)

    def argsort(self, dim=-1, descending=False, stable=False):
        axis = self._axis(dim, None, "argsort") if self.ndim else None
        if self.ndim == 0:
            return self._wrap(self.xp.zeros((), dtype=numpy.int64))
        keys = self.data
        if descending:
            # reverse, sort stably, map back: ties stay in their original order
            flipped = self.xp.flip(keys, axis)
            idx = self.xp.argsort(flipped, axis=axis, kind="stable")
            idx = self.xp.flip(idx, axis)
            idx = keys.shape[axis] - 1 - idx
        else:
            idx = self.xp.argsort(keys, axis=axis, kind="stable")
        return self._wrap(idx.astype(numpy.int64))

    def topk(self, k, dim=-1, largest=True, sorted=True):
        """The ``k`` largest (or smallest) along ``dim``, as ``(values, indices)``."""
        axis = self._axis(dim, None, "topk")
        if not 0 <= k <= self.shape[axis]:
            raise IndexError(f"topk: k={k} is out of range for dimension {axis} of size "
                             f"{self.shape[axis]}")
        order = self.argsort(axis, descending=largest)
        indices = order[tuple(slice(0, k) if i == axis else slice(None)
                              for i in range(self.ndim))]
        return SortResult(self.gather(axis, indices), indices)

    # ---- reordering and repeating ------------------------------------------------------------
    def flip(self, *dims):
        axes = self._axes(_dims(dims), None, "flip")
        return self[tuple(slice(None, None, -1) if i in axes else slice(None)
                          for i in range(self.ndim))]

    def roll(self, shifts, dims=None):
        """Elements shifted along ``dims`` (wrapping round); without dims, over the flattened
        tensor and reshaped back, as PyTorch."""
        if dims is None:
            return self.flatten().roll(shifts, 0).reshape(self.shape)
        shifts = (shifts,) if isinstance(shifts, numbers.Integral) else tuple(shifts)
        dims = (dims,) if isinstance(dims, numbers.Integral) else tuple(dims)
        if len(shifts) != len(dims):
            raise ValueError(f"roll: {len(shifts)} shifts for {len(dims)} dims")
        out = self
        for shift, dim in zip(shifts, dims):
            axis = self._axis(dim, None, "roll")
            n = self.shape[axis]
            if n:
                idx = self.xp.roll(self.xp.arange(n), shift)
                out = out[(slice(None),) * axis + (idx,)]
        return out

    def repeat(self, *sizes):
        """The tensor tiled ``sizes`` times along each axis (PyTorch's repeat, NumPy's tile):
        an expand along new axes, then a reshape."""
        sizes = _dims(sizes)
        if len(sizes) < self.ndim:
            raise ShapeError(f"repeat: {len(sizes)} repeat counts for a tensor of {self.ndim} "
                             f"dimensions (shape {tuple(self.shape)})")
        shape = (1,) * (len(sizes) - self.ndim) + tuple(self.shape)
        spread = self.reshape(tuple(d for n in shape for d in (1, n)))
        tiled = spread.expand(tuple(d for r, n in zip(sizes, shape) for d in (r, n)))
        return tiled.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    # ---- masks -------------------------------------------------------------------------------
    def masked_select(self, mask):
        """The elements where ``mask`` (broadcast with self) is True, as a 1-D tensor."""
        mask = mask.data if hasattr(mask, "data") else self.xp.asarray(mask)
        if mask.dtype != numpy.bool_:
            raise TypeError(f"masked_select: the mask must be a bool tensor, got {mask.dtype}")
        try:
            shape = numpy.broadcast_shapes(tuple(self.shape), tuple(mask.shape))
        except ValueError:
            raise ShapeError(f"masked_select: mask shape {tuple(mask.shape)} does not "
                             f"broadcast with shape {tuple(self.shape)}") from None
        return self.expand(shape)[self._wrap(self.xp.broadcast_to(mask, shape))]

    def tril(self, diagonal=0):
        return self._triangle(diagonal, lower=True)

    def triu(self, diagonal=0):
        return self._triangle(diagonal, lower=False)

    def _triangle(self, diagonal, lower):
        if self.ndim < 2:
            raise ShapeError(f"{'tril' if lower else 'triu'}: needs at least 2 dimensions, got "
                             f"shape {tuple(self.shape)}")
        n, m = self.shape[-2:]
        rows, cols = self.xp.arange(n)[:, None], self.xp.arange(m)[None, :]
        keep = cols - rows <= diagonal if lower else cols - rows >= diagonal
        return self.masked_fill(self._wrap(~keep), 0)  # Where: exact zeros, even next to inf


def grid_shape(grid):
    """The shape an index tuple of broadcastable integer arrays addresses."""
    return numpy.broadcast_shapes(*(tuple(g.shape) for g in grid))


def _dims(dims):
    """Accept f(0, 1), f((0, 1)) and f([0, 1])."""
    if len(dims) == 1 and isinstance(dims[0], (tuple, list)):
        return tuple(dims[0])
    return tuple(dims)
