"""The lecture's "circuit" picture of a recurrent layer, next to its unrolled form.

``draw_rolled(layer)`` draws, for each layer (and direction) of a recurrent layer of any cell
kind (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``, ``nn.MGU``, ...), a cell, or every such layer inside
a model:

* rolled: the cell once, input x_t below, output h_t above, and a delay node (z^-1) that feeds
  h_{t-1} (and c_{t-1} for an LSTM) back into the cell: the loop that makes it recurrent;
* unrolled: the same cell copied for three steps t-1, t, t+1, the state passed along from one
  copy to the next, and the weights drawn once with an edge to every copy: the same matrices
  are used at every step, which is why their gradients are sums over time.

It reads only the module's structure, parameter names and its cell kind's facts (equations,
state names: nn/recurrent/); nothing is run.
"""

from __future__ import annotations

import graphviz  # a dependency; ts.viz itself is imported on first use

from ..nn.module import Module
from ..nn.recurrent import RecurrentCell, RecurrentLayer

_STEPS = ("t-1", "t", "t+1")
_CELL = dict(shape="box", style="rounded,filled,bold", fillcolor="#ffdf99", color="#b07800",
             fontsize="11")
_DELAY = dict(shape="square", style="filled", fillcolor="#e8d5ff", color="#6a3d9a",
              fontsize="10", width="0.6", fixedsize="false")
_WEIGHTS = dict(shape="note", style="filled", fillcolor="#cfe2ff", color="#2a5db0",
                fontsize="9")
_VALUE = dict(shape="ellipse", fontsize="10", height="0.3")


def _layers(obj):
    """(path, module) for every recurrent layer or cell in ``obj``, in module order."""
    recurrent = (RecurrentLayer, RecurrentCell)
    if isinstance(obj, recurrent):
        return [("", obj)]
    if not isinstance(obj, Module):
        raise TypeError(f"draw_rolled: expected an RNN/LSTM/GRU layer, a cell or a Module "
                        f"holding them, got {type(obj).__name__}")
    found = [(name, m) for name, m in obj.named_modules() if isinstance(m, recurrent)]
    if not found:
        raise TypeError(f"draw_rolled: {type(obj).__name__} holds no recurrent layer or cell "
                        f"(nn.RNN, nn.LSTM, nn.GRU or their cells)")
    return found


def _weights(path, m, layer, d):
    """'name (shape)' lines for the parameters of one layer direction, by module path."""
    prefix = f"{path}." if path else ""
    if isinstance(m, RecurrentLayer):
        sfx = m._suffixes(layer)[d]
        params = {base + sfx: p for base, p in m.direction_parameters(layer, d).items()}
    else:
        params = dict(m.named_parameters())
    lines = [f"{prefix}{name}  {tuple(p.shape)}" for name, p in params.items()]
    return "\\l".join(lines) + "\\l"  # \l: left-justified lines


def draw_rolled(model_or_layer):
    """A ``graphviz.Digraph`` of each recurrent layer: rolled (cell + delay loop) and unrolled
    for three steps sharing the same weights."""
    dot = graphviz.Digraph("rolled", graph_attr=dict(rankdir="BT", fontname="Helvetica",
                                                     nodesep="0.4",
                                                     ranksep="0.45", compound="true"),
                           node_attr=dict(fontname="Helvetica"),
                           edge_attr=dict(color="#555555", arrowsize="0.7", fontsize="9"))
    for i, (path, m) in enumerate(_layers(model_or_layer)):
        title = f"{path}: {type(m).__name__}" if path else type(m).__name__
        rolled = graphviz.Digraph(f"cluster_rolled_{i}", graph_attr=dict(
            label=f"{title} (rolled: the circuit)", style="rounded", color="#444444",
            fontsize="13"))
        unrolled = graphviz.Digraph(f"cluster_unrolled_{i}", graph_attr=dict(
            label=f"{title} unrolled for 3 steps: the same weights at every step",
            style="rounded", color="#444444", fontsize="13"))
        _draw_layer(rolled, unrolled, f"m{i}", path, m)
        dot.subgraph(rolled)
        dot.subgraph(unrolled)
    return dot


def _draw_layer(rolled, unrolled, key, path, m):
    kind = m.kind
    layers = getattr(m, "num_layers", 1)
    directions = 2 if getattr(m, "bidirectional", False) else 1
    state = ", ".join(kind.states)
    equation = kind.equations.replace("\n", "\\n")
    below = [f"{key}_x"]  # what feeds each layer: x_t, then the layer below's h_t
    below_u = [[f"{key}_x_{s}"] for s in range(3)]
    rolled.node(f"{key}_x", "x_t", **_VALUE)
    for s, step in enumerate(_STEPS):
        unrolled.node(below_u[s][0], f"x_{step}", **_VALUE)
    for layer in range(layers):
        out = f"{key}_h{layer}"
        outs_u = [f"{key}_h{layer}_{s}" for s in range(3)]
        both = directions == 2
        label = f"h_t (layer {layer})" + (" = [forward; reverse]" if both else "")
        rolled.node(out, label, **_VALUE)
        for s, step in enumerate(_STEPS):
            unrolled.node(outs_u[s], f"h_{step}" + (f" (layer {layer})" if layers > 1 else ""),
                          **_VALUE)
        for d in range(directions):
            where = f"{layer}{'r' if d else ''}"
            name = f"{kind.title} cell" + (f", layer {layer}" if layers > 1 else "") + (
                ", reverse" if d else (", forward" if both else ""))
            weights = _weights(path, m, layer, d)
            # rolled: the cell once, with its state fed back through a delay
            cell, delay, w = f"{key}_c{where}", f"{key}_z{where}", f"{key}_w{where}"
            rolled.node(cell, f"{name}\\n{equation}", **_CELL)
            rolled.node(delay, "z^+1\\nadvance" if d else "z^-1\\ndelay", **_DELAY,
                        tooltip="holds the state for one step" + (
                            " (the reverse direction runs from the last step back)" if d else ""))
            rolled.node(w, weights, **_WEIGHTS)
            for src in below:
                rolled.edge(src, cell, minlen=str(1 + d))
                # the delay on the cell's rank, beside it, so the loop is short
                rolled.edge(src, delay, minlen=str(1 + d), style="invis")
            rolled.edge(cell, out)
            prev, now = ("t+1", "t") if d else ("t-1", "t")
            rolled.edge(cell, delay, label=", ".join(f"{v}_{now}" for v in state.split(", ")),
                        color="#6a3d9a", fontcolor="#6a3d9a", constraint="false")
            rolled.edge(delay, cell, label=", ".join(f"{v}_{prev}" for v in state.split(", ")),
                        color="#6a3d9a", fontcolor="#6a3d9a", penwidth="2", constraint="false")
            rolled.edge(w, cell, style="dashed", color="#2a5db0", arrowhead="empty")
            # unrolled: one copy of the cell per step, the weights once with a fan-out
            cells = [f"{key}_c{where}_{s}" for s in range(3)]
            uw = f"{key}_uw{where}"
            unrolled.node(uw, "shared weights\\l" + weights, **_WEIGHTS)
            row = graphviz.Digraph(f"row_{key}_{where}", graph_attr=dict(rank="same"))
            for s, step in enumerate(_STEPS):
                row.node(cells[s], f"{name}\\n{step}", **_CELL)
            for s in range(3):
                for src in below_u[s]:
                    # minlen: the reverse row one rank above the forward one, not mixed in it
                    unrolled.edge(src, cells[s], minlen=str(1 + d))
                unrolled.edge(cells[s], outs_u[s])
                unrolled.edge(uw, cells[s], style="dashed", color="#2a5db0", arrowhead="empty")
            # the copies side by side (rank=same), state edges declared t-1 -> t -> t+1 in
            # both directions so time reads left to right; the reverse direction's arrows
            # point back (dir=back): it runs from the last step to the first
            ends = [f"{key}_in{where}", f"{key}_out{where}"]
            for end in ends:
                row.node(end, "...", shape="plaintext", fontsize="12")
            chain = [ends[0]] + cells + [ends[1]]
            times = ("t-2",) + _STEPS + ("t+2",)
            for j, (a, b) in enumerate(zip(chain, chain[1:])):
                when = times[j + 1] if d else times[j]
                row.edge(a, b, label=", ".join(f"{v}_{when}" for v in state.split(", ")),
                         color="#6a3d9a", fontcolor="#6a3d9a", penwidth="2",
                         dir="back" if d else "forward")
            unrolled.subgraph(row)
        below = [out]
        below_u = [[o] for o in outs_u]
