"""Draw the autograd graph with Graphviz: ``draw(*roots, ...)`` -> ``graphviz.Digraph`` and
``render(*roots, path=...)`` -> a file (svg, png, pdf, dot, or an interactive html page).

What the picture shows (graph.py captures it, shown.py picks what is shown, drawing.py builds
the DOT text; this module is the entry point):
  * every recurrent layer as its time steps, the default layers included (``unroll=False``:
    one 3-d box per layer direction instead);
  * ops as rounded boxes, fused cells (``lstm_cell``, ``gru_cell``) as orange boxes;
    shape-only ops (reshape, transpose, slices, split, the stack of step outputs) folded into
    edges (``simplify=False`` shows every primitive);
  * parameters (blue, named by module path) drawn once, with an edge to each step that uses
    them; leaves (green), inputs without grad (dashed; a layer's initial states say h_0,
    c_0; a tensor cut off by ``detach()`` says so, with a red dashed edge from where it was
    cut when that is drawn too), outputs (red double octagon), with a legend;
  * ``group="time"``: one cluster per layer (and direction) holding one per time step;
  * ``collapse=(first, last)``: the middle steps of each layer as one "... x N steps" node;
  * ``grads=True``: nodes and edges coloured by the norm of the gradient reaching them, on
    one fixed log scale (the same colour means the same norm in every picture); leaves and
    parameters show their gradient's norm, and each edge from a shared weight the norm of
    that step's contribution to the weight's gradient (the sum over steps is its gradient);
  * ``values=True``: each node's value (small tensors in full, else min / mean / max), and
    the gradients of leaves and parameters;
  * ``memory=True``: what the graph keeps alive for backward, per node, per step and in all;
  * ``expand=True``: each fused cell opened into its pointwise ops, so a student sees inside.
"""

from __future__ import annotations

import os
import warnings

import graphviz  # a dependency; ts.viz itself is imported on first use

from . import graph as G
from . import html, shown
from .drawing import _Drawing
from .style import _write

RANKDIRS = ("BT", "LR", "TB", "RL")
FORMATS = ("svg", "png", "pdf", "dot", "html")


def draw(*roots, params=None, show="ops", rankdir=None, group="time", collapse=None,
         grads=False, max_nodes=5000, expand=False, unroll=True, simplify=True, values=False,
         memory=False):
    """The graph behind ``roots`` as a ``graphviz.Digraph`` (``.source`` is the DOT text;
    ``.render()`` or ``render(...)`` makes a picture).

    params: a Module, a dict name -> tensor or tensors (``model.parameters()``), to label
        weights by name.
    show: "ops" (op nodes), "tensors" (tensor nodes) or "both".
    rankdir: where the graph flows: "BT" (inputs at the bottom, the loss on top: each
        layer's steps climb a column), "LR", "TB", "RL"; None (the default, in the API and
        the command line alike) picks "BT", or "LR" when the graph has several
        ``graph_tags(module=...)`` parts, so an encoder's steps make one row and a
        decoder's another.
    group: "time" puts each layer / direction / time step in its own cluster (inside one per
        ``ts.graph_tags(module=name)`` block, to keep an encoder and a decoder apart); None
        does not.
    collapse: (first, last) or k: keep the first and last steps of each layer, fold the rest.
    grads: colour by gradient norm; uses norms recorded by a backward run inside
        ``ts.autograd.record_grad_norms()``, or runs one (leaving ``.grad`` alone).
    max_nodes: warn past this many nodes. expand: open fused cells into their pointwise ops.
    unroll: draw each whole-sequence layer node (the default ``nn.LSTM``, ``nn.GRU``,
        ``nn.RNN``) as its time steps, exactly as an ``unroll=True`` layer records them;
        False draws it as one box.
    simplify: fold shape-only ops into edges (False: every primitive).
    values: show values (and leaves' gradients). memory: show bytes saved for backward.
    """
    return _draw(roots, dict(params=params, show=show, rankdir=rankdir, group=group,
                             collapse=collapse, grads=grads, max_nodes=max_nodes, expand=expand,
                             unroll=unroll, simplify=simplify, values=values,
                             memory=memory)).dot


_DEFAULTS = dict(params=None, show="ops", rankdir=None, group="time", collapse=None,
                 grads=False, max_nodes=5000, expand=False, unroll=True, simplify=True,
                 values=False, memory=False)


def _draw(roots, options):
    unknown = sorted(set(options) - set(_DEFAULTS))
    if unknown:
        raise TypeError(f"draw: unknown option {unknown[0]!r}; the options are "
                        f"{', '.join(_DEFAULTS)}")
    o = {**_DEFAULTS, **options}
    if not roots:
        raise ValueError("draw: give at least one tensor to draw the graph of")
    if o["rankdir"] is not None and o["rankdir"] not in RANKDIRS:
        raise ValueError(f"draw: rankdir must be one of {RANKDIRS}, got {o['rankdir']!r}")
    if o["group"] not in ("time", None):
        raise ValueError(f"draw: group must be 'time' or None, got {o['group']!r}")
    first_last = shown.collapse_arg(o["collapse"])
    graph = G.capture(*roots, params=o["params"], unroll=o["unroll"])
    if o["grads"] and not G.has_grad_norms(graph):
        G.compute_grad_norms(graph, roots)
    nodes, edges = shown.project(graph, o["show"])
    if o["simplify"] and o["show"] != "tensors":
        nodes, edges = shown.simplify(nodes, edges)
    into, folded = shown.collapse_steps(nodes, edges, *first_last) if first_last else ({}, [])
    d = _Drawing(graph, o, into)
    d.build(nodes, edges, folded, o["show"])
    if d.count > o["max_nodes"]:
        warnings.warn(f"draw: {d.count} nodes is more than max_nodes={o['max_nodes']}: the "
                      f"picture will be slow to lay out and hard to read. Pass "
                      f"collapse=(first, last) to draw only the first and last time steps of "
                      f"each layer.", stacklevel=3)
    return d


def render(*roots, path, format=None, appendix="", **draw_options):
    """Draw and write to ``path``; ``format`` is svg, png, pdf, dot or html (default: from the
    path's suffix, else svg). Returns the path written. ``appendix``: HTML placed below the
    graph of an html page (a report's sections). Without Graphviz's ``dot`` program the DOT
    source is written next to ``path`` and a RuntimeError says where and how to install it."""
    path = os.fspath(path)
    stem, suffix = os.path.splitext(path)
    fmt = (format or suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS}, got {fmt!r}")
    if not suffix:
        path = f"{path}.{fmt}"
    drawing = _draw(roots, draw_options)
    dot = drawing.dot
    if fmt == "dot":
        _write(path, dot.source)
        return path
    try:
        data = dot.pipe(format="svg" if fmt == "html" else fmt)
    except graphviz.ExecutableNotFound:
        source = stem + ".dot"
        _write(source, dot.source)
        raise RuntimeError(
            f"render: Graphviz's `dot` program was not found, so {path} was not made; the "
            f"graph's DOT source is in {source}. Install Graphviz (apt-get install graphviz, "
            f"brew install graphviz, or see https://graphviz.org/download/), then run "
            f"`dot -T{fmt} {source} -o {path}` or call render again.") from None
    if fmt == "html":  # one offline page around the SVG: pan, zoom, fold clusters, hover
        data = html.page(data.decode("utf-8"), title=os.path.basename(stem),
                         clusters=drawing.cluster_info(), appendix=appendix).encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    return path
