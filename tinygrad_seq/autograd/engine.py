"""The backward pass: Kahn-ordered, iterative (no recursion), with gradient sums per node.

``run_backward`` counts, for every node reachable from the roots, how many graph edges lead
into it, then processes nodes in that order with an explicit work list: a node runs its
``backward`` only once the gradients from all its consumers have been summed. Broadcasting is
undone once, here (``_fit``), for every op. ``grad`` is ``torch.autograd.grad``.

Like the nodes, the engine knows nothing of ``Tensor``: new gradient tensors are made with
the ``_wrap`` of a tensor already in hand.
"""

from __future__ import annotations

from . import versions
from .function import _FREED, ShapeError, _mode, set_grad_enabled
from .hooks import run_hooks, store_retained


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


def _norm(g):
    return None if g is None else float((g.data * g.data).sum()) ** 0.5


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
            if grads is None:  # every consumer sent None: nothing flows, but parents still wait
                in_grads = (None,) * len(fn.parents)
            else:
                if fn.out_hooks:
                    grads = run_hooks(fn.out_hooks, grads)
                if fn.retained:
                    store_retained(fn.retained, grads)
                if _mode.record_norms:
                    fn.grad_norms = [_norm(g) for g in grads]
                if wanted is not None:
                    for i, g in enumerate(grads):
                        if (fn, i) in wanted:
                            wanted[(fn, i)] = g
                _check_runnable(fn, create_graph)
                if fn.clock != _mode.clock:  # something was written in place since fn was made
                    versions.check(fn)
                in_grads = fn.backward(*grads) if fn.n_out > 1 else fn.backward(grads[0])
                if type(in_grads) is not tuple:
                    in_grads = (in_grads,)
            carried = [] if _mode.record_norms else None
            for p, need, g in zip(fn.parents, fn.needs_grad, in_grads):
                if need and g is not None:
                    gd, pd = g.data, p.data
                    if gd.shape != pd.shape or gd.dtype is not pd.dtype:
                        g = _fit(g, p)
                    sums.deliver(p, g)
                if carried is not None:  # what this edge carried, broadcasting undone
                    carried.append(_norm(g) if need else None)
                c = p._ctx  # one consumer less for the parent's node
                if c is not None:
                    deps[c] -= 1
                    if deps[c] == 0:
                        ready.append(c)
            if carried is not None:
                fn.input_norms = carried
            if not retain_graph and (fn.saved is not None or fn.saves_inputs):
                fn.saved = _FREED  # nodes that keep no values can run again, as in PyTorch
        return _finish_leaves(sums, wanted, create_graph)


def _check_runnable(fn, create_graph):
    if fn.saved is _FREED:
        raise RuntimeError(
            f"backward: trying to backward through the graph a second time; the first backward "
            f"freed what '{fn.name}' saved. Pass retain_graph=True to the first backward() if "
            f"you need to run it again.")
    if create_graph and not fn.double_backward:
        raise RuntimeError(
            f"backward: '{fn.name}' is a fused op whose backward cannot itself be "
            f"differentiated (create_graph=True); build the model with fused=False")


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
        total = a._wrap(a.data + b.data)
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
            t.grad = g if private else g._wrap(g.data.copy(order="K"))  # K: no transposing
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
            g = out._wrap(out.xp.ones_like(out.data))
        else:
            if getattr(g, "_wrap", None) is not out._wrap:  # not a tensor: an array, a list, ...
                g = out._wrap(out.xp.asarray(g, dtype=out.dtype))
            if tuple(g.shape) != tuple(out.shape):
                raise ShapeError(f"{who}: gradient has shape {tuple(g.shape)} but the output has "
                                 f"shape {tuple(out.shape)}")
        result.append(g)
    return result


