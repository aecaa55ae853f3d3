"""What a graph keeps alive for its backward pass, per node and per time step.

Until backward runs, the graph holds every intermediate tensor (each is an input of the node
that reads it) and whatever each node's ``forward`` saved. ``saved_bytes`` charges each
buffer once, to the first node (in topological order) that holds it: views (a reshape, a
split piece) cost nothing, the user's own leaves and parameters are not counted (they exist
without the graph). A whole-sequence layer drawn as its steps is charged what the fast path
really keeps: the node's saved buffers (gates, cell states, the previous states), shared
evenly among its step cells; what the replay made for the drawing costs nothing. So the
total is what training holds, and it grows with T.
"""

from __future__ import annotations

from ..backend import is_array


def _root(a):
    while getattr(a, "base", None) is not None and is_array(a.base):
        a = a.base
    return a


def _saved(fn):
    saved = fn.saved
    if saved is None or fn.freed:
        return []
    items = saved if isinstance(saved, (tuple, list)) else (saved,)
    return [a for a in items if is_array(a)]


class Memory:
    """``per_op`` {op node id: bytes}, ``total`` bytes, ``freed``: whether a backward already
    released some node's saved arrays (then only the intermediate tensors are counted)."""

    def __init__(self, graph):
        counted = {id(_root(n.tensor.data)) for n in graph.nodes
                   if n.producer is None and n.tensor is not None}
        self.per_op, self.freed = {}, False

        def new_bytes(arrays):
            total = 0
            for a in arrays:
                r = _root(a)
                if id(r) not in counted:
                    counted.add(id(r))
                    total += r.nbytes
            return total

        replayed = set()
        for fn, trace in graph.sequences:
            replayed |= trace["made"]
            self.freed |= fn.freed
            cells = [graph.op_of[id(new[0]._ctx)].id for _, new, _, _ in trace["cells"]
                     if id(new[0]._ctx) in graph.op_of]
            share = new_bytes(_saved(fn)) / max(len(cells), 1)
            for cell in cells:
                self.per_op[cell] = share
        for op in graph.ops():
            if id(op.fn) in replayed:
                self.per_op.setdefault(op.id, 0)
                continue
            self.freed |= op.fn.freed
            outs = [graph.by_id[o].tensor.data for o in op.outputs if o is not None]
            self.per_op[op.id] = new_bytes(_saved(op.fn) + outs)
        self.total = sum(self.per_op.values())


def fmt_bytes(n):
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
