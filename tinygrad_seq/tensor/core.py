"""Tensor: a backend array plus what autograd needs (requires_grad, grad, the node that made it).

Every method wires to an op in ops/ (or composes a few); grep for a name finds its definition.
Composite methods say in a comment which primitives they use. The class is split over three
files: this one (data, attributes, conversion, autograd), maths.py (arithmetic, comparisons,
elementwise functions, reductions) and shape.py (shapes, indexing, selection); those two are
mixins that import nothing from here.
"""

from __future__ import annotations

import numbers
import weakref
from collections import namedtuple

import numpy

from .. import backend, ops
from ..autograd import ShapeError, engine, hooks, versions
from .maths import MathMethods
from .selection import SelectionMethods
from .shape import ShapeMethods

_new = object.__new__

class Cut(namedtuple("Cut", "origins tags index", defaults=(None,))):
    """Where ``detach()`` cut the graph: ``origins``, (weak reference to a node, output index)
    of what was detached (one per piece along the first axis when it was a stack, as a
    layer's h_n is), the tags of that node, and, for one piece of it (a layer's state split
    by layer), which."""

    __slots__ = ()

    def __reduce__(self):  # weak references do not pickle; a saved tensor forgets its graph
        return (Cut, ((), self.tags, self.index))


def _origins(t):
    """(weakref to the node, output index) that made t, one per piece when t is a stack; the
    nodes, not t, since t itself (h_n) usually dies when the user keeps only the detached
    copy, while the node that computed it lives on in the earlier chunk's graph."""
    fn = t._ctx
    parts = list(fn.parents) if fn.name == "cat" and len(fn.parents) == t.shape[0] else [t]
    found = []
    for p in parts:
        while p._ctx is not None and p._ctx.name in ("reshape", "cat") and len(
                p._ctx.parents) == 1:
            p = p._ctx.parents[0]  # back through unsqueeze
        found.append(None if p._ctx is None else (weakref.ref(p._ctx), p._idx))
    return tuple(found)


def _ragged(data):
    """Where nested lists stop being rectangular, in PyTorch's words, or None. Breadth first
    over one level at a time (no recursion)."""
    level, dim = [data], 0
    while level:
        seqs = [x for x in level if isinstance(x, (list, tuple))]
        if not seqs:
            return None
        if len(seqs) != len(level):
            return f"the elements along dim {dim - 1} mix numbers and sequences"
        expected = len(seqs[0])
        for x in seqs:
            if len(x) != expected:
                return f"expected sequence of length {expected} at dim {dim} (got {len(x)})"
        level, dim = [y for x in seqs for y in x], dim + 1
    return None


def as_array(data, dtype=None, device=None):
    """A fresh backend array for ``data`` (a Tensor, array, list or number) on ``device``.
    dtype rules follow PyTorch: Python floats become float32 (the default floating dtype),
    Python ints int64, bools bool; arrays keep their dtype."""
    device = backend.parse_device(device)
    xp = backend.module_for(device)
    dtype = None if dtype is None else numpy.dtype(dtype)
    if isinstance(data, Tensor):
        data = data.data
    from_python = not hasattr(data, "dtype")
    if from_python:
        try:
            arr = numpy.array(data, dtype=dtype)
        except (ValueError, TypeError):
            raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__}: "
                            f"{_ragged(data) or 'its elements are not numbers'}") from None
        if dtype is None and arr.dtype == numpy.float64:
            arr = arr.astype(numpy.float32)
        if arr.dtype == object:
            raise TypeError("tensor: data must be numbers (nested lists of equal length)")
    else:
        arr = data.astype(dtype) if dtype is not None else data.copy()
    if arr.dtype.kind in "USVO":  # strings, bytes, records: NumPy holds them, a tensor cannot
        what = {"U": "strings", "S": "bytes", "V": "records", "O": "objects"}[arr.dtype.kind]
        raise TypeError(f"tensor: data must be numbers or bools, got {what} "
                        f"({type(data).__name__} {str(data)[:40]!r})")
    if device != "cpu":
        return backend.to_device(arr, device)
    return xp.asarray(arr)


class Tensor(MathMethods, ShapeMethods, SelectionMethods):
    """An n-dimensional array that records the operations applied to it (when it or one of its
    inputs requires grad), so that ``backward()`` can compute gradients.

    Build one with ``ts.tensor(data)`` or a factory (``ts.zeros``, ``ts.randn``, ...). Shapes,
    broadcasting and indexing follow NumPy; names and keywords follow PyTorch (``dim=``,
    ``keepdim=``, ``.T``, ``.size()``)."""

    # _note (unset on most tensors; read with getattr): what a drawing should say of this
    # tensor: a layer's initial state ("h_0"), or where detach() cut the graph
    __slots__ = ("data", "requires_grad", "grad", "_ctx", "_idx", "_hooks", "_note",
                 "__weakref__")
    __array_priority__ = 1000  # numpy_array + tensor calls Tensor.__radd__

    def __init__(self, data, requires_grad=False, dtype=None, device=None):
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
        t.data = data
        t.requires_grad = requires_grad
        t.grad = t._hooks = None
        t._ctx = ctx
        t._idx = idx
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
        return backend.to_numpy(self.data)

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
        out = Tensor._wrap(self.data)
        if self._ctx is not None:  # a truncation point of BPTT: drawings mark the cut
            out._note = Cut(_origins(self), self._ctx.tags)
        return out

    def to(self, device=None, dtype=None):
        """``t.to("cuda")``, ``t.to(ts.float64)``, ``t.to("cpu", ts.float32)``, as PyTorch."""
        if dtype is None and not isinstance(device, str) and device is not None:
            try:
                dtype, device = numpy.dtype(device), None  # t.to(dtype)
            except TypeError:
                pass
        t = self
        if device is not None:
            device = backend.parse_device(device)
            backend.module_for(device)
            if device != self.device:
                t = ops.ToDevice.apply(self, device=device)  # differentiable, like PyTorch's
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

    def bool(self):
        return self._wrap(self.data.astype(numpy.bool_))  # not differentiable, as in PyTorch

    def int(self):
        return self.astype(numpy.int32)

    def clone(self):
        """A copy in new memory that stays in the graph (the gradient passes through)."""
        return ops.Clone.apply(self)

    def t(self):
        """The transpose of a matrix; 0-D and 1-D tensors come back as they are (PyTorch)."""
        if self.ndim > 2:
            raise ShapeError(f"t: expects a tensor of at most 2 dimensions, got shape "
                             f"{tuple(self.shape)}; use transpose(dim0, dim1) or mT")
        return self if self.ndim < 2 else self.transpose(0, 1)

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
        grads = engine._root_grads((self,), gradient if gradient is None else (gradient,),
                                     "backward")
        if inputs is None:
            engine.run_backward((self,), grads, retain_graph or create_graph, create_graph)
            return
        # only these tensors accumulate a gradient (PyTorch's backward(inputs=...))
        inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
        found = engine.run_backward((self,), grads, retain_graph or create_graph,
                                      create_graph, inputs)
        for t in inputs:
            g = found[id(t) if t._ctx is None else (t._ctx, t._idx)]
            if g is not None:
                g = g if create_graph else Tensor._wrap(g.data.copy())
                t.grad = g if t.grad is None else t.grad + g

    def register_hook(self, hook):
        """``hook(grad)`` runs when the gradient of this tensor is computed; returning a tensor
        replaces the gradient. Returns a handle with ``.remove()``."""
        return hooks.register_hook(self, hook)

    def retain_grad(self):
        hooks.retain_grad(self)
        return self

    # ---- operands ---------------------------------------------------------------------------
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

    def _axes(self, axis, dim, op):
        """Normalise ``axis`` (or its PyTorch spelling ``dim``) to a sorted tuple or None."""
        if dim is not None:
            axis = dim
        if axis is None:
            return None
        items = axis if isinstance(axis, (tuple, list)) else (axis,)
        out = []
        for a in items:
            if not -max(self.ndim, 1) <= a < max(self.ndim, 1):
                raise IndexError(f"{op}: axis {a} is out of range for a tensor of "
                                 f"{self.ndim} dimensions (shape {tuple(self.shape)})")
            out.append(a % max(self.ndim, 1))
        if self.ndim == 0:
            return ()  # PyTorch accepts dim 0 or -1 of a 0-d tensor: there is nothing to reduce
        return tuple(sorted(set(out)))

    def _axis(self, axis, dim, op):
        """One axis (``axis`` or ``dim``) as a non-negative int, for ops along one axis."""
        axes = self._axes(axis, dim, op)
        if axes is None or len(axes) != 1:
            raise IndexError(f"{op}: needs one dimension of a tensor of shape "
                             f"{tuple(self.shape)}, got {dim if dim is not None else axis!r}")
        return axes[0]

    # ---- new tensors like this one -----------------------------------------------------------
    def new_zeros(self, shape):
        return Tensor._wrap(self.xp.zeros(shape, dtype=self.dtype))

    def new_ones(self, shape):
        return Tensor._wrap(self.xp.ones(shape, dtype=self.dtype))

    def zero_(self):
        self._check_in_place("zero_")
        self.data[...] = 0
        versions.bump(self.data)
        return self

    @property
    def _version(self):
        """How many in-place writes this tensor's memory has had (PyTorch's ``_version``)."""
        return versions.version(self.data)

