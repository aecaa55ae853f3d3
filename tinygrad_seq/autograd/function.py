"""Graph nodes (``Function``), grad mode and graph tags: what recording a graph needs.

How the graph is recorded
    Every differentiable op is a ``Function`` subclass (the ``ops`` package).
    ``Op.apply(*tensors)`` runs ``forward`` on the raw backend arrays and, when grad mode is on
    and some input requires grad, keeps the node: ``fn.parents`` (the input tensors, in order)
    and whatever ``forward`` saved.
    The output tensor points back at its node through ``tensor._ctx`` (and ``tensor._idx`` for
    ops with several outputs). Nothing else is stored, so the graph is exactly the chain
    ``tensor -> _ctx -> parents -> _ctx ...``.

How backward runs (engine.py)
    ``run_backward`` counts, for every node reachable from the roots, how many edges lead into
    it, then processes nodes in Kahn order: a node runs its ``backward`` only when the gradients
    from all its consumers have been summed. It is a loop with an explicit work list, so a
    100,000-step chain needs no recursion. Backward formulas are written with Tensor operations,
    which record a graph of their own when ``create_graph=True`` (second derivatives) and are
    plain array work otherwise. Broadcasting is undone once, in the engine (``engine._fit``).

This module knows nothing of ``Tensor``: a node wraps its outputs with the type of its inputs
(``tensors[0]._wrap``), so the engine stack imports only downward (backend, autograd, kernels,
ops, tensor: each only those before it).
"""

from __future__ import annotations

import functools

import numpy

from .. import backend

__all__ = ["Function", "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled",
           "ShapeError", "graph_tags", "current_tags", "record_grad_norms",
           "recording_grad_norms"]


class ShapeError(ValueError, RuntimeError):
    """An op was given shapes it cannot combine; the message names the op and the shapes.
    A ValueError, and a RuntimeError as PyTorch raises for the same mistakes, so code written
    for either catches it."""


class _Mode:
    grad_enabled = True
    tags = None  # dict of labels (layer, step, ...) attached to nodes; see graph_tags
    record_norms = False  # see record_grad_norms
    clock = 0  # in-place writes so far (versions.py); each node keeps its value at creation


_mode = _Mode()
_new = object.__new__
_FREED = object()  # marks a node whose saved arrays were released by a backward pass
# needs_grad of two-input nodes: shared constant tuples, so recording a node allocates (and
# gives the garbage collector) one object less
_PAIRS = {False: {False: (False, False), True: (False, True)},
          True: {False: (True, False), True: (True, True)}}


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


def current_tags() -> dict:
    """The labels graph_tags blocks have set around this point (empty outside any)."""
    return dict(_mode.tags) if _mode.tags else {}


class record_grad_norms:
    """Inside this block every backward pass stores, on each node it runs, the norm of the
    gradient that reached each of the node's outputs: ``fn.grad_norms`` (a list, None for an
    output that got no gradient), and the norm of what it sent to each input:
    ``fn.input_norms`` (what one edge carries: a shared weight's per-step contribution).
    Whole-sequence nodes also store their per-step norms (``fn.step_norms``). Drawings read
    them to show where gradients vanish or explode; outside the block the engine does none of
    this work."""

    def __enter__(self):
        self.prev = _mode.record_norms
        _mode.record_norms = True
        return self

    def __exit__(self, *exc):
        _mode.record_norms = self.prev
        return False


def recording_grad_norms() -> bool:
    """Whether a backward pass running now should record norms (see record_grad_norms)."""
    return _mode.record_norms


class Function:
    """One primitive op: ``forward`` on backend arrays, ``backward`` returning one gradient per
    input (``None`` where that input needs none). Subclasses set ``name`` for drawings."""

    __slots__ = ("parents", "needs_grad", "saved", "xp", "clock", "__weakref__", "__dict__")
    name = "op"
    broadcasting = False  # elementwise binary ops: a ValueError means the shapes do not broadcast
    # whether backward reads the inputs' values (Mul, MatMul) rather than only their shapes
    # (Add, Reshape) or what forward saved (Exp): such inputs are checked for in-place writes
    # (versions.py) and, as in PyTorch, such a node cannot run a second backward once freed
    saves_inputs = True
    # set on the instance only when they differ (keeps the per-op cost of apply low)
    n_out = 1  # number of outputs
    out_hooks = None  # {output index: [hook, ...]}, from Tensor.register_hook
    retained = None  # {output index: weakref to the tensor}, from Tensor.retain_grad
    tags = None  # graph_tags labels active when the node was made
    double_backward = True  # False for fused ops whose backward is array code, not Tensor ops
    grad_norms = None  # set by a backward pass inside record_grad_norms
    input_norms = None  # likewise: the norm of the gradient sent to each input

    def forward(self, *arrays, **params):
        raise NotImplementedError

    def backward(self, *grads):
        raise NotImplementedError

    @classmethod
    def apply(cls, *tensors, **params):
        # the hot path of the whole engine: every op of every time step comes through here
        fn = _new(cls)
        fn.saved = None
        fn.xp = backend.common_module(cls.name, tensors)
        try:
            if len(tensors) == 2:
                a, b = tensors
                out = fn.forward(a.data, b.data, **params)
                record = _mode.grad_enabled and (a.requires_grad or b.requires_grad)
                needs = _PAIRS[a.requires_grad][b.requires_grad]
            else:
                out = fn.forward(*[t.data for t in tensors], **params)
                needs = tuple([t.requires_grad for t in tensors])
                record = _mode.grad_enabled and True in needs
        except ShapeError:
            raise
        except (ValueError, IndexError, TypeError) as e:
            raise _op_error(cls, tensors, e) from None
        if record:
            fn.parents = tensors
            fn.needs_grad = needs
            fn.clock = _mode.clock
            if _mode.tags is not None:
                fn.tags = _mode.tags
        else:
            fn = None  # nothing will run backward: drop the node and what forward saved
        if type(out) is tuple:
            if record:
                fn.n_out = len(out)
            wrap = tensors[0]._wrap  # the tensor type, without importing it
            return tuple([wrap(o, record, fn, i) for i, o in enumerate(out)])
        if out.__class__ is not numpy.ndarray and isinstance(out, numpy.generic):
            out = numpy.asarray(out)  # numpy returns scalars from 0-d maths; keep arrays
        return tensors[0]._wrap(out, record, fn, 0)

    def output(self, array, idx: int = 0):
        """This node's own output as a tensor for use inside ``backward``; when the backward is
        being recorded (create_graph) it is linked to this node, so second derivatives see it."""
        wrap = self.parents[0]._wrap  # backward runs on recorded nodes only: parents exist
        if _mode.grad_enabled:
            return wrap(array, True, self, idx)
        return wrap(array)

    @property
    def freed(self) -> bool:
        """Whether a backward pass released what this node saved (so it cannot run again)."""
        return self.saved is _FREED

    def __repr__(self):
        return f"<{self.name}>"


def _broadcast(shapes):
    try:
        numpy.broadcast_shapes(*shapes)
    except ValueError:
        return False
    return True


def _op_error(cls, tensors, err):
    shapes = [tuple(t.shape) for t in tensors]
    if isinstance(err, ValueError) and cls.broadcasting and not _broadcast(shapes):
        listed = ", ".join(str(s) for s in shapes[:-1]) + f" and {shapes[-1]}"
        return ShapeError(f"{cls.name}: shapes {listed} do not broadcast")
    shown = " and ".join(str(s) for s in shapes)
    kind = IndexError if isinstance(err, IndexError) else (
        TypeError if isinstance(err, TypeError) else ShapeError)
    return kind(f"{cls.name}: {err} (input shape{'s' if len(shapes) > 1 else ''} {shown})")

