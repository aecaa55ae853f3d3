"""The autograd engine: graph nodes (``Function``), grad mode, the backward pass and hooks.

How the graph is recorded
    Every differentiable op is a ``Function`` subclass (see ops.py). ``Op.apply(*tensors)`` runs
    ``forward`` on the raw backend arrays and, when grad mode is on and some input requires grad,
    keeps the node: ``fn.parents`` (the input tensors, in order) and whatever ``forward`` saved.
    The output tensor points back at its node through ``tensor._ctx`` (and ``tensor._idx`` for
    ops with several outputs). Nothing else is stored, so the graph is exactly the chain
    ``tensor -> _ctx -> parents -> _ctx ...``.

How backward runs
    ``run_backward`` counts, for every node reachable from the roots, how many edges lead into
    it, then processes nodes in Kahn order: a node runs its ``backward`` only when the gradients
    from all its consumers have been summed. It is a loop with an explicit work list, so a
    100,000-step chain needs no recursion. Backward formulas are written with Tensor operations,
    which record a graph of their own when ``create_graph=True`` (second derivatives) and are
    plain array work otherwise. Broadcasting is undone once, here, in ``_fit``.
"""

from __future__ import annotations

import functools

import numpy

from . import backend
from .hooks import run_hooks, store_retained

__all__ = ["Function", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "grad", "run_backward", "ShapeError", "graph_tags"]


class ShapeError(ValueError):
    """An op was given shapes it cannot combine; the message names the op and the shapes."""


class _Mode:
    grad_enabled = True
    tags = None  # dict of labels (layer, step, ...) attached to nodes; see graph_tags


_mode = _Mode()
_new = object.__new__
_FREED = object()  # marks a node whose saved arrays were released by a backward pass


def is_grad_enabled() -> bool:
    return _mode.grad_enabled


class set_grad_enabled:
    """Context manager and decorator that switches graph recording on or off."""

    def __init__(self, mode: bool = True):
        self.mode = bool(mode)

    def __enter__(self):
        self.prev = _mode.grad_enabled
        _mode.grad_enabled = self.mode
        return self

    def __exit__(self, *exc):
        _mode.grad_enabled = self.prev
        return False

    def __call__(self, func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with type(self)(self.mode):
                return func(*args, **kwargs)
        return wrapper


class no_grad(set_grad_enabled):
    """``with ts.no_grad():`` or ``@ts.no_grad()``: ops inside record no graph."""

    def __init__(self, mode: bool = False):
        super().__init__(False)


class enable_grad(set_grad_enabled):
    """Turns recording back on inside a ``no_grad`` block."""

    def __init__(self, mode: bool = True):
        super().__init__(True)


class graph_tags:
    """Labels every node created inside the block (e.g. ``layer=0, step=3``) so drawings can
    group the unrolled graph. Nested blocks merge their labels."""

    def __init__(self, **tags):
        self.tags = tags

    def __enter__(self):
        self.prev = _mode.tags
        _mode.tags = {**self.prev, **self.tags} if self.prev else dict(self.tags)
        return self

    def __exit__(self, *exc):
        _mode.tags = self.prev
        return False


class Function:
    """One primitive op: ``forward`` on backend arrays, ``backward`` returning one gradient per
    input (``None`` where that input needs none). Subclasses set ``name`` for drawings."""

    __slots__ = ("parents", "needs_grad", "saved", "xp", "__weakref__", "__dict__")
    name = "op"
    broadcasting = False  # elementwise binary ops: a ValueError means the shapes do not broadcast
    # set on the instance only when they differ (keeps the per-op cost of apply low)
    n_out = 1  # number of outputs
    out_hooks = None  # {output index: [hook, ...]}, from Tensor.register_hook
    retained = None  # {output index: weakref to the tensor}, from Tensor.retain_grad
    tags = None  # graph_tags labels active when the node was made
    double_backward = True  # False for fused ops whose backward is array code, not Tensor ops

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *tensors, **params):
        # the hot path of the whole engine: every op of every time step comes through here
        fn = _new(cls)
        fn.saved = None
        if backend._cupy is None:
            xp = numpy
        else:
            _check_same_device(cls.name, tensors)
            xp = backend.get_array_module(tensors[0].data)
        fn.xp = xp
        try:
            if len(tensors) == 2:
                a, b = tensors
                out = fn.forward(a.data, b.data, **params)
                needs = (a.requires_grad, b.requires_grad)
            else:
                out = fn.forward(*[t.data for t in tensors], **params)
                needs = tuple([t.requires_grad for t in tensors])
        except ShapeError:
            raise
        except (ValueError, IndexError, TypeError) as e:
            raise _op_error(cls, tensors, e) from None
        if _mode.grad_enabled and True in needs:
            fn.parents = tensors
            fn.needs_grad = needs
            if _mode.tags is not None:
                fn.tags = _mode.tags
            record = True
        else:
            fn = None  # nothing will run backward: drop the node and what forward saved
            record = False
        if type(out) is tuple:
            if record:
                fn.n_out = len(out)
            return tuple([Tensor._wrap(o, record, fn, i) for i, o in enumerate(out)])
        if out.__class__ is not numpy.ndarray and xp is numpy:
            out = numpy.asarray(out)  # numpy returns scalars from 0-d maths; keep arrays
        return Tensor._wrap(out, record, fn, 0)

    def output(self, array, idx: int = 0):
        """This node's own output as a tensor for use inside ``backward``; when the backward is
        being recorded (create_graph) it is linked to this node, so second derivatives see it."""
        if _mode.grad_enabled:
            return Tensor._wrap(array, True, self, idx)
        return Tensor._wrap(array)

    def __repr__(self):
        return f"<{self.name}>"


def _check_same_device(name, tensors):
    devices = {t.device for t in tensors}
    if len(devices) > 1:
        a, b = sorted(devices)
        raise RuntimeError(f"{name}: inputs are on different devices, {a} and {b}; move them "
                           f"to one device with .to(device)")


def _op_error(cls, tensors, err):
    shapes = [tuple(t.shape) for t in tensors]
    if isinstance(err, ValueError) and cls.broadcasting:
        return ShapeError(f"{cls.name}: shapes {shapes[0]} and {shapes[1]} do not broadcast")
    shown = " and ".join(str(s) for s in shapes)
    kind = IndexError if isinstance(err, IndexError) else (
        TypeError if isinstance(err, TypeError) else ShapeError)
    return kind(f"{cls.name}: {err} (input shape{'s' if len(shapes) > 1 else ''} {shown})")


# ---- the backward pass ------------------------------------------------------------------------

def _fit(g, like):
    """Undo broadcasting: sum ``g`` down to ``like``'s shape and cast to its dtype."""
    if g.data.shape != like.data.shape:
        shape = like.data.shape
        lead = g.ndim - len(shape)
        if lead:
            g = g.sum(axis=tuple(range(lead)))
        ones = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
        if ones:
            g = g.sum(axis=ones, keepdims=True)
    if g.data.dtype != like.data.dtype:
        g = g.astype(like.data.dtype)
    return g


def _count_edges(root_fns):
    """For every node reachable from the roots, how many graph edges lead into it."""
    deps = dict.fromkeys(root_fns, 0)
    stack = list(deps)
    while stack:
        fn = stack.pop()
        for p in fn.parents:
            c = p._ctx
            if c is None:
                continue
            if c in deps:
                deps[c] += 1
            else:
                deps[c] = 1
                stack.append(c)
    return deps


def run_backward(roots, root_grads, retain_graph=False, create_graph=False, inputs=None):
    """Back-propagate ``root_grads`` from ``roots``. Without ``inputs``, accumulate into ``.grad``
    of the leaves; with ``inputs``, return their gradients instead and leave ``.grad`` alone."""
    sums = _GradSums(create_graph)
    wanted = None
    if inputs is not None:
        wanted = {(id(t) if t._ctx is None else (t._ctx, t._idx)): None for t in inputs}
    with set_grad_enabled(create_graph):
        for t, g in zip(roots, root_grads):
            sums.deliver(t, g)
        deps = _count_edges(list(sums.pending))
        ready = [fn for fn in sums.pending if deps[fn] == 0]
        while ready:
            fn = ready.pop()
            grads = sums.take(fn)
            if grads is None:  # every consumer sent None: nothing flows through this node
                _release_parents(fn, deps, ready)
                continue
            if fn.out_hooks:
                grads = run_hooks(fn.out_hooks, grads)
            if fn.retained:
                store_retained(fn.retained, grads)
            if wanted is not None:
                for i, g in enumerate(grads):
                    if (fn, i) in wanted:
                        wanted[(fn, i)] = g
            if fn.saved is _FREED:
                raise RuntimeError(
                    f"backward: trying to backward through the graph a second time; the first "
                    f"backward freed what '{fn.name}' saved. Pass retain_graph=True to the first "
                    f"backward() if you need to run it again.")
            if create_graph and not fn.double_backward:
                raise RuntimeError(
                    f"backward: '{fn.name}' is a fused op whose backward cannot itself be "
                    f"differentiated (create_graph=True); build the model with fused=False")
            in_grads = fn.backward(*grads) if fn.n_out > 1 else fn.backward(grads[0])
            if type(in_grads) is not tuple:
                in_grads = (in_grads,)
            for p, need, g in zip(fn.parents, fn.needs_grad, in_grads):
                if need and g is not None:
                    sums.deliver(p, _fit(g, p))
            _release_parents(fn, deps, ready)
            if not retain_graph and fn.saved is not None:
                fn.saved = _FREED  # nodes that saved nothing can run again, as in PyTorch
        return _finish_leaves(sums, wanted, create_graph)


def _release_parents(fn, deps, ready):
    """``fn`` is done: each parent node has one consumer less to wait for."""
    for p in fn.parents:
        c = p._ctx
        if c is not None:
            deps[c] -= 1
            if deps[c] == 0:
                ready.append(c)


class _GradSums:
    """The gradients that have reached each tensor so far in one backward pass, summed.

    Without create_graph, sums are made in place in arrays this object allocated itself
    ("owned"), so a weight used at every time step costs one buffer, not one per step. A
    gradient handed to a node's backward may come back aliased (Add returns it for both
    inputs), so it stops being owned then."""

    def __init__(self, record):
        self.record = record
        self.pending = {}  # node -> list of summed output gradients
        self.leaves = {}  # id(leaf) -> [leaf, summed gradient]
        self.owned = set()  # ids of gradient tensors whose arrays only this object references

    def deliver(self, t, g):
        fn = t._ctx
        if fn is None:
            entry = self.leaves.get(id(t))
            if entry is None:
                self.leaves[id(t)] = [t, g]
            else:
                entry[1] = self._sum(entry[1], g)
            return
        slot = self.pending.get(fn)
        if slot is None:
            slot = self.pending[fn] = [None] * fn.n_out
        prev = slot[t._idx]
        slot[t._idx] = g if prev is None else self._sum(prev, g)

    def take(self, fn):
        grads = self.pending.pop(fn, None)
        if grads is None:
            return None
        for g in grads:
            self.owned.discard(id(g))
        return grads

    def _sum(self, a, b):
        if self.record:  # the backward itself is being differentiated: record the sum
            return a + b
        if id(a) in self.owned:
            a.data += b.data
            return a
        total = Tensor._wrap(a.data + b.data)
        self.owned.add(id(total))
        return total


def _finish_leaves(sums, wanted, create_graph):
    for t, g in sums.leaves.values():
        if t._hooks:
            for hook in list(t._hooks):
                new = hook(g)
                if new is not None:
                    g = new
        if wanted is not None:
            if id(t) in wanted:
                wanted[id(t)] = g
            continue
        if t.grad is None:
            # a gradient array may also reach other leaves (a + b), and users and optimizers
            # scale .grad in place: store a private copy unless this pass allocated it
            private = create_graph or id(g) in sums.owned
            t.grad = g if private else Tensor._wrap(g.data.copy())
        else:
            t.grad = t.grad + g
    return wanted


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         allow_unused=False):
    """Gradients of ``outputs`` with respect to ``inputs``, like ``torch.autograd.grad``:
    returned as a tuple, without touching any ``.grad``."""
    outputs = _as_tuple(outputs)
    single = not isinstance(inputs, (tuple, list))
    inputs = _as_tuple(inputs)
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) does not require grad")
    grad_outputs = _root_grads(outputs, grad_outputs, "grad")
    if retain_graph is None:
        retain_graph = create_graph
    wanted = run_backward(outputs, grad_outputs, retain_graph, create_graph, inputs)
    result = []
    for i, t in enumerate(inputs):
        g = wanted[id(t) if t._ctx is None else (t._ctx, t._idx)]
        if g is None and not allow_unused:
            raise RuntimeError(f"grad: input {i} (shape {tuple(t.shape)}) was not used to compute "
                               f"the outputs; pass allow_unused=True to get None for it")
        result.append(g)
    return tuple(result) if not single else (result[0],)


def _as_tuple(x):
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _root_grads(outputs, grads, who):
    grads = _as_tuple(grads) if grads is not None else (None,) * len(outputs)
    if len(grads) != len(outputs):
        raise ValueError(f"{who}: got {len(grads)} gradients for {len(outputs)} outputs")
    result = []
    for out, g in zip(outputs, grads):
        if not out.requires_grad:
            raise RuntimeError(f"{who}: the tensor (shape {tuple(out.shape)}) does not require "
                               f"grad and has no graph; did you forget requires_grad=True?")
        if g is None:
            if out.data.size != 1:
                raise RuntimeError(
                    f"{who}: gradient can be created implicitly only for a scalar output; got "
                    f"shape {tuple(out.shape)}. Pass gradient= a tensor of that shape.")
            g = Tensor._wrap(out.xp.ones_like(out.data))
        else:
            g = g if isinstance(g, Tensor) else Tensor._wrap(out.xp.asarray(g, dtype=out.dtype))
            if tuple(g.shape) != tuple(out.shape):
                raise ShapeError(f"{who}: gradient has shape {tuple(g.shape)} but the output has "
                                 f"shape {tuple(out.shape)}")
        result.append(g)
    return result


from .tensor import Tensor  # noqa: E402  (tensor.py builds on Function, defined above)
