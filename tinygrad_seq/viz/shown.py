"""What of a captured graph (graph.py) a drawing shows: ``project`` keeps ops, tensors or both,
``simplify`` folds the shape-only ops into edges and ``collapse_steps`` folds the middle time
steps of each layer into one node. Each takes and returns plain (nodes, edges) lists."""

from __future__ import annotations

import re
import warnings

from .graph import OP, OUTPUT, PARAM, SHOWS, TENSOR, Edge


def project(graph, show="ops"):
    """(nodes, edges) a drawing shows. ``ops``: op nodes plus leaves, parameters and outputs (an
    intermediate tensor becomes an edge producer -> consumer); ``tensors``: tensor nodes only (an
    op becomes edges from each input to each output); ``both``: everything."""
    if show not in SHOWS:
        raise ValueError(f"show must be one of {SHOWS}, got {show!r}")
    if show == "both":
        return list(graph.nodes), list(graph.edges)
    by_id, edges = graph.by_id, []
    if show == "ops":
        nodes = [n for n in graph.nodes if n.kind != TENSOR]
        for e in graph.edges:
            src, dst = by_id[e.src], by_id[e.dst]
            if dst.kind == TENSOR:
                continue
            if src.kind == TENSOR:
                edges.append(Edge(src.producer[0], e.dst, src.producer[1], e.dst_index))
            else:
                edges.append(e)
        return nodes, edges
    nodes = [n for n in graph.nodes if n.kind != OP]
    for op in graph.nodes:
        if op.kind == OP:
            for o in op.outputs:
                if o is not None:
                    edges.extend(Edge(t, o, None, j) for j, t in enumerate(op.inputs))
    return nodes, edges


SHAPE_OPS = ("reshape", "permute", "expand", "getitem", "cat", "split")  # move no numbers


def simplify(nodes, edges):
    """Fold the shape-only ops (reshape, view, permute, transpose, squeeze, unsqueeze, expand,
    slices, split, chunk, and the cat/stack of step outputs) into edges: each consumer of
    such an op gets an edge from every node the op read, through any chain of them. With
    show="both" their output tensors go too."""
    folded = {n.id for n in nodes if n.kind == OP and n.name in SHAPE_OPS}
    folded |= {n.id for n in nodes if n.kind == TENSOR and n.producer[0] in folded}
    if not folded:
        return nodes, edges
    # a cat read by a selection (out[-1], split) stays: folded, it would wire every input to
    # what reads only one of them
    after = {}
    for e in edges:
        after.setdefault(e.src, []).append(e.dst)
    selects = set()
    for n in reversed(nodes):  # consumers first
        outs = after.get(n.id, ())
        if n.kind != OP and n.id in folded:  # show="both": a folded op's output tensor
            if any(c in selects for c in outs):
                selects.add(n.id)
        elif n.kind == OP and n.name in SHAPE_OPS:
            if n.name in ("getitem", "split") or any(c in selects for c in outs):
                selects.add(n.id)
    folded -= {n.id for n in nodes if n.kind == OP and n.name == "cat"
               and any(c in selects for c in after.get(n.id, ()))}
    folded -= {n.id for n in nodes if n.kind == TENSOR and n.producer[0] not in folded}
    into = {}
    for e in edges:
        if e.dst in folded:
            into.setdefault(e.dst, []).append(e)
    sources = {}  # folded node id -> [(real source, its output index)], in operand order
    for n in nodes:  # topological: a folded node's folded inputs are resolved before it
        if n.id in folded:
            found = []
            for e in into.get(n.id, ()):
                found.extend(sources[e.src] if e.src in folded else [(e.src, e.src_index)])
            sources[n.id] = list(dict.fromkeys(found))
    kept, seen = [], set()
    for e in edges:
        if e.dst in folded:
            continue
        for src, index in sources[e.src] if e.src in folded else [(e.src, e.src_index)]:
            key = (src, index, e.dst, e.dst_index)
            if key not in seen:
                seen.add(key)
                kept.append(Edge(src, e.dst, index, e.dst_index))
    return [n for n in nodes if n.id not in folded], kept


GROUP_KEYS = ("module", "layer", "direction")  # tags that name one recurrence (its steps)


class Collapsed:
    """The middle steps of one recurrence (module, layer, direction), drawn as one node."""

    def __init__(self, key, steps):
        self.tags = {k: v for k, v in zip(GROUP_KEYS, key) if v is not None}
        self.id = "collapsed_" + "_".join(re.sub(r"\W", "_", str(v)) for v in key)
        self.lo, self.hi, self.steps = min(steps), max(steps), len(steps)
        self.members = []  # captured nodes folded into it


def group_key(tags):
    return tuple(tags.get(k) for k in GROUP_KEYS)  # (module, layer, direction)


def collapse_arg(collapse):
    """(first, last) from draw's ``collapse=`` (None, k or a pair of non-negative ints)."""
    if collapse is None:
        return None
    pair = (collapse, collapse) if isinstance(collapse, int) else tuple(collapse)
    if len(pair) != 2 or not all(isinstance(k, int) and k >= 0 for k in pair):
        raise ValueError(f"draw: collapse must be (first, last) or k, non-negative integers; "
                         f"got {collapse!r}")
    return pair


def collapse_steps(nodes, edges, first, last):
    """Fold the steps of each (layer, direction) between its first ``first`` and last ``last``
    steps into one node. Returns ({node id: Collapsed}, [Collapsed]); the node count of the
    drawing then grows with first + last, not with the number of steps."""
    steps = {}
    for n in nodes:
        if "step" in n.tags:
            steps.setdefault(group_key(n.tags), set()).add(n.tags["step"])
    if not steps:
        warnings.warn("draw: collapse= found no time-step tags; build the layer with "
                      "unroll=True or step it inside ts.graph_tags(step=t)", stacklevel=3)
    groups = {}
    for key, seen in steps.items():
        lo, hi = min(seen) + first, max(seen) - last
        middle = sorted(s for s in seen if lo <= s <= hi)
        if middle:
            groups[key] = Collapsed(key, middle)
    into, kept = {}, set()
    for n in nodes:
        if "step" in n.tags and n.kind not in (PARAM, OUTPUT):
            c = groups.get(group_key(n.tags))
            if c is not None and c.lo <= n.tags["step"] <= c.hi:
                into[n.id] = c
            else:
                kept.add(n.id)
    if not groups:
        return into, []
    ins, outs = {}, {}
    for e in edges:
        ins.setdefault(e.dst, []).append(e.src)
        outs.setdefault(e.src, []).append(e.dst)

    def fold(n, around):
        # an untagged node whose every neighbour on one side is in the same collapsed range
        # belongs to that range too (stack's per-step unsqueeze, split's per-step pieces)
        if n.id in into or n.id in kept or n.kind in (PARAM, OUTPUT):
            return
        near = {id(into.get(m)) for m in around.get(n.id, ())}
        if len(near) == 1:
            c = into.get(around[n.id][0])
            if c is not None:
                into[n.id] = c

    for n in nodes:
        fold(n, ins)
    for n in reversed(nodes):
        fold(n, outs)
    for n in nodes:
        c = into.get(n.id)
        if c is not None:
            c.members.append(n)
    return into, list(groups.values())
