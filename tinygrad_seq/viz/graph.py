"""The autograd graph behind some tensors, captured as plain data for drawing.

``capture(*roots, params=model)`` walks ``tensor._ctx -> fn.parents -> ...`` with a loop (an
explicit stack, never recursion: an unrolled RNN has 100,000+ nodes) and returns a ``Graph``:

* op nodes, one per ``Function`` (``name``, ``tags`` from ``ts.graph_tags``, ``grad_norms``);
* tensor nodes, one per tensor that is an op's input or a root: ``param`` (a module's weight,
  named by its path ``encoder.rnn.weight_hh_l0``), ``leaf`` (made by the user, requires grad),
  ``const`` (made by the user, no grad), ``tensor`` (an op's output used by another op) and
  ``output`` (the roots);
* edges ``tensor -> op`` (the op's operand index) and ``op -> tensor`` (the output index).

Nodes come in topological order (every node after its inputs) and operands in their order, so
the same graph always gives the same drawing; shown.py decides what of it a drawing shows.
This module only reads the graph, except ``compute_grad_norms``, which runs one backward pass
that records norms on the nodes and leaves ``.grad`` untouched.
"""

from __future__ import annotations

import weakref
from collections import namedtuple

from .. import autograd
from ..nn.module import Parameter
from ..nn.recurrent import KINDS
from ..nn.recurrent.replay import attach_norms, replay
from ..tensor import Tensor

OP, PARAM, LEAF, CONST, TENSOR, OUTPUT = "op", "param", "leaf", "const", "tensor", "output"
SHOWS = ("ops", "tensors", "both")

_NO_TAGS = {}  # shared by every untagged node; never mutated
_LEAF_NORMS = {}  # id(leaf) -> (weakref to it, its gradient's norm in draw's own pass)

# The cell kinds' primitives (nn/recurrent/, where each kind states these facts), by op name:
# the fused one-step ops, the whole-sequence ops, the names of their outputs (edge tail
# labels, gradient norms) and each fused op opened up into the pointwise ops a composed cell
# records: (node, label, inputs), "inK" being the fused op's K-th operand; TEMPLATE_OUTPUTS
# names the node that gives each output.
FUSED_OPS = {k.cell_op.name: k for k in KINDS.values() if k.cell_op is not None}
SEQUENCE_OPS = {k.sequence_op.name: k for k in KINDS.values() if k.sequence_op is not None}
OUTPUT_NAMES = {name: names for name, names in
                [(n, k.step_outputs()) for n, k in FUSED_OPS.items()] +
                [(n, k.sequence_outputs()) for n, k in SEQUENCE_OPS.items()] if len(names) > 1}
CELL_TEMPLATES = {n: k.template for n, k in FUSED_OPS.items() if k.template}
TEMPLATE_OUTPUTS = {n: k.states for n, k in FUSED_OPS.items()}

Edge = namedtuple("Edge", "src dst src_index dst_index")
Edge.__doc__ = "src -> dst; src_index: which output of an op, dst_index: which operand of an op"


class Node:
    """One node of a captured graph. Op nodes have ``fn``, ``inputs`` (tensor node ids, in
    operand order) and ``outputs`` (tensor node id or None, per output index); tensor nodes have
    ``shape``, ``dtype`` and, unless they are leaves, ``producer`` = (op node id, output index)."""

    __slots__ = ("id", "kind", "name", "shape", "dtype", "tags", "fn", "tensor", "producer",
                 "inputs", "outputs", "note")

    def __init__(self, id, kind, name="", shape=(), dtype="", tags=None):
        self.id, self.kind, self.name, self.shape, self.dtype = id, kind, name, shape, dtype
        self.tags = tags or _NO_TAGS
        self.fn = self.tensor = self.producer = self.note = None
        self.inputs, self.outputs = (), ()

    @property
    def grad_norms(self):
        """Op nodes: the norm of the gradient that reached each output in the last backward run
        inside ``ts.autograd.record_grad_norms()`` (None where none was recorded)."""
        return None if self.fn is None else self.fn.grad_norms

    def __repr__(self):
        return f"<{self.kind} {self.id} {self.name}>"


class Graph:
    """``nodes`` (topological order), ``edges`` (in order), ``by_id``, ``roots`` (node ids);
    ``sequences``: (whole-sequence fn, its replay's trace) for each node captured unrolled."""

    def __init__(self):
        self.nodes, self.edges, self.by_id, self.roots = [], [], {}, []
        self.sequences = []
        self.op_of = {}  # id(fn) -> its op node
        self.cuts = []  # (op node id of what was detached, or None if not drawn; the cut tensor)

    def add(self, node):
        self.nodes.append(node)
        self.by_id[node.id] = node
        return node

    def ops(self):
        return [n for n in self.nodes if n.kind == OP]

    def grad_norm(self, node):
        """The gradient norm that reached a tensor node (through its producer, or into a leaf's
        gradient) or an op's first output; None when unknown (no backward recorded norms)."""
        if node.kind == OP:
            norms = node.grad_norms
            return norms[0] if norms else None
        if node.producer is None:  # a leaf or parameter: the pass draw ran, else its .grad
            t = node.tensor
            if t is None or not t.requires_grad:
                return None
            known = _LEAF_NORMS.get(id(t))
            if known is not None and known[0]() is t:
                return known[1]
            return None if t.grad is None else float((t.grad.data ** 2).sum()) ** 0.5
        norms = self.by_id[node.producer[0]].grad_norms
        return norms[node.producer[1]] if norms else None


def param_names(params):
    """{id(tensor): name} from a Module (``named_parameters``), a dict name -> tensor, or any
    iterable of tensors (``model.parameters()``: named ``parameters[i]``, their order)."""
    if params is None:
        return {}
    if isinstance(params, dict):
        items = params.items()
    elif hasattr(params, "named_parameters"):
        items = params.named_parameters()
    else:
        try:
            items = [(f"parameters[{i}]", t) for i, t in enumerate(params)]
        except TypeError:
            items = [("", params)]
        if not all(hasattr(t, "_ctx") for _, t in items):
            raise TypeError(f"draw: params must be a Module, a dict of name -> tensor or "
                            f"tensors (model.parameters()), got {type(params).__name__}")
    return {id(t): name for name, t in items}


def capture(*roots, params=None, unroll=True):
    """The graph that produced ``roots`` (tensors), as a ``Graph``. ``unroll``: each
    whole-sequence node (``nn.LSTM`` and its kin by default) is captured as its time steps,
    the graph ``unroll=True`` layers record (replayed on the node's inputs, replay.py);
    False keeps it one node."""
    for r in roots:
        if not isinstance(r, Tensor):
            raise TypeError(f"capture: roots must be tensors, got {type(r).__name__}")
    names = param_names(params)
    g = Graph()
    op_of, tensor_of = g.op_of, {}  # id(fn) -> op node; tensor key -> tensor node
    dtypes = {}  # str(dtype) is slow enough to matter on 100,000 nodes
    replayed = {}  # id(whole-sequence fn) -> the outputs of its per-step graph

    def resolve(t):
        """t, or for an output of a whole-sequence node, the same output of its replay."""
        fn = t._ctx
        if not unroll or fn is None or getattr(fn, "unrolled", None) is None:
            return t
        return replayed_output(fn, t._idx)

    def replayed_output(fn, idx):
        outs = replayed.get(id(fn))
        if outs is None:
            outs, trace = replay(fn)
            replayed[id(fn)] = outs
            g.sequences.append((fn, trace))
        return outs[idx]

    def output_of(fn, idx):
        """The tensor this drawing shows as fn's output idx; a whole-sequence node not in the
        picture is not replayed for it (None)."""
        if unroll and getattr(fn, "unrolled", None) is not None:
            return replayed[id(fn)][idx] if id(fn) in replayed else None
        return Tensor._wrap(None, False, fn, idx)

    def tensor_node(t):
        fn = t._ctx
        key = id(t) if fn is None else (id(fn), t._idx)
        node = tensor_of.get(key)
        if node is not None:
            return node
        shape, dtype = t.data.shape, dtypes.get(t.data.dtype)
        if dtype is None:
            dtype = dtypes[t.data.dtype] = str(t.data.dtype)
        if fn is None:
            if id(t) in names or isinstance(t, Parameter):
                kind, name = PARAM, names.get(id(t), "parameter")
            else:
                kind, name = (LEAF, "leaf") if t.requires_grad else (CONST, "input")
            node = g.add(Node(f"t{len(g.nodes)}", kind, name, shape, dtype))
        else:
            op = op_of[id(fn)]  # post-order: the producer is already captured
            node = g.add(Node(f"t{len(g.nodes)}", TENSOR, op.name, shape, dtype, op.tags))
            node.producer = (op.id, t._idx)
            op.outputs[t._idx] = node.id
            g.edges.append(Edge(op.id, node.id, t._idx, None))
        node.tensor = t
        tensor_of[key] = node
        return node

    def add_op(fn, parents):
        inputs = [tensor_node(p).id for p in parents]
        op = g.add(Node(f"o{len(g.nodes)}", OP, fn.name, tags=fn.tags))
        op.fn, op.inputs, op.outputs = fn, inputs, [None] * fn.n_out
        op_of[id(fn)] = op
        for j, t in enumerate(inputs):
            g.edges.append(Edge(t, op.id, None, j))

    # iterative post-order walk: a node is added once all its parents' nodes are, in operand
    # order, which makes the node list topological and the drawing deterministic
    roots = [resolve(r) for r in roots]
    for root in roots:
        if root._ctx is None or id(root._ctx) in op_of:
            continue
        stack, seen = [[root._ctx, 0, [resolve(p) for p in root._ctx.parents]]], {id(root._ctx)}
        while stack:
            top = stack[-1]
            fn, i, parents = top
            while i < len(parents):
                c = parents[i]._ctx
                i += 1
                if c is not None and id(c) not in op_of and id(c) not in seen:
                    seen.add(id(c))
                    top[1] = i
                    stack.append([c, 0, [resolve(p) for p in c.parents]])
                    break
            else:
                stack.pop()
                add_op(fn, parents)
    for root in roots:
        node = tensor_node(root)
        if node.kind != PARAM:
            node.kind = OUTPUT
        if node.id not in g.roots:
            g.roots.append(node.id)
    for n in g.nodes:  # what the tensors say of themselves: h_0 of a layer, a detach cut
        if n.tensor is not None and n.producer is None:
            n.note = getattr(n.tensor, "_note", None)
            if n.note is not None and not isinstance(n.note, str):  # a Cut: find its source
                node = _cut_source(n.note, output_of, op_of)
                if node is not None:
                    n.note = n.note._replace(tags=node.tags)
                g.cuts.append((node.id if node is not None else None, n.id))
    return g


def _cut_source(cut, output_of, op_of):
    """The drawn op node that made what ``detach()`` cut off (for a piece of a layer's
    stacked state, h_n[k], the last step's cell of layer direction k), or None when that is
    not in the picture."""
    origins = cut.origins
    if not origins:
        return None
    origin = origins[cut.index if cut.index is not None and len(origins) > 1 else 0]
    fn = None if origin is None else origin[0]()
    if fn is None:
        return None
    t = output_of(fn, origin[1])
    return None if t is None or t._ctx is None else op_of.get(id(t._ctx))


def attach_step_norms(graph):
    """Copy what each whole-sequence node's backward recorded per step onto its replay."""
    for fn, trace in graph.sequences:
        attach_norms(fn, trace)


# ---- gradient norms ---------------------------------------------------------------------------

_FREED_HELP = ("draw(grads=True): the graph was already freed by a backward pass without "
               "retain_graph=True, so the gradient norms cannot be computed now. Call "
               "loss.backward() inside `with ts.autograd.record_grad_norms():` before drawing "
               "(or backward(retain_graph=True)).")


def has_grad_norms(graph):
    """Whether a backward from these roots recorded norms: the roots' own nodes run first in
    any backward from them, so they have norms exactly when such a pass ran (norms left on
    shared nodes by a backward from some other tensor do not count)."""
    attach_step_norms(graph)
    ops = [graph.by_id[graph.by_id[r].producer[0]] for r in graph.roots
           if graph.by_id[r].producer is not None]
    return bool(ops) and all(op.fn.grad_norms is not None for op in ops)


def _forget(key):
    return lambda _: _LEAF_NORMS.pop(key, None)


def compute_grad_norms(graph, roots):
    """Record ``fn.grad_norms`` on every node by running one backward pass from ``roots`` (seeded
    with ones) inside ``record_grad_norms``, and the norm of each leaf's and parameter's
    gradient (``Graph.grad_norm`` reads it). Asking for the leaves' gradients as ``inputs`` keeps
    their ``.grad`` as it was, and hooks and ``retain_grad`` are switched off for the pass,
    so drawing changes nothing the user can see."""
    fns = [op.fn for op in graph.ops()] + [fn for fn, _ in graph.sequences]
    if any(fn.freed for fn in fns):
        raise RuntimeError(_FREED_HELP)
    roots = [r for r in roots if r.requires_grad]
    if not roots:
        return
    leaves = [n.tensor for n in graph.nodes
              if n.producer is None and n.tensor is not None and n.tensor.requires_grad]
    ones = [Tensor._wrap(r.xp.ones_like(r.data)) for r in roots]
    hooked = [(fn, fn.out_hooks, fn.retained) for fn in fns if fn.out_hooks or fn.retained]
    leaf_hooks = [(t, t._hooks) for t in leaves if t._hooks]
    for fn, _, _ in hooked:
        fn.out_hooks = fn.retained = None
    for t, _ in leaf_hooks:
        t._hooks = None
    try:
        with autograd.record_grad_norms():
            got = autograd.run_backward(tuple(roots), ones, retain_graph=True,
                                        create_graph=False, inputs=leaves)
    except RuntimeError as e:
        for fn in fns:  # a half-finished pass must not look like recorded norms next time
            fn.grad_norms = None
        if "second time" in str(e):
            raise RuntimeError(_FREED_HELP) from e
        raise
    finally:
        for fn, hooks, retained in hooked:
            fn.out_hooks, fn.retained = hooks, retained
        for t, hooks in leaf_hooks:
            t._hooks = hooks
    for t in leaves:
        g = got.get(id(t))
        norm = None if g is None else float((g.data ** 2).sum()) ** 0.5
        # kept for this drawing and the next of these roots, which finds the norms recorded
        # and does not run this pass again (a dead tensor's entry goes with it)
        _LEAF_NORMS[id(t)] = (weakref.ref(t, _forget(id(t))), norm)
    attach_step_norms(graph)
