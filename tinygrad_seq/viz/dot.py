"""Draw the autograd graph with Graphviz: ``draw(*roots, ...)`` -> ``graphviz.Digraph`` and
``render(*roots, path=...)`` -> a file.

What the picture shows (graph.py captures it; this module only decides how it looks):
  * ops as rounded boxes, fused cells (``lstm_cell``, ``gru_cell``) as orange boxes, a
    whole-sequence layer node (``lstm``/``gru``/``rnn`` without a step tag) as a 3-d box;
  * parameters (blue, named by module path), leaves (green), inputs without grad (dashed),
    intermediate tensors (white) and outputs (red double octagon), with a legend;
  * ``group="time"``: one cluster per layer (and direction) holding one cluster per time step,
    read from the ``ts.graph_tags`` every unrolled layer puts on its nodes; parameters stay
    outside, drawn once, with an edge to each step that uses them;
  * ``collapse=(first, last)``: the middle steps of each layer as one "... x N steps" node;
  * ``grads=True``: nodes and edges coloured by the norm of the gradient reaching them (log
    scale, blue = vanishing, red = exploding), with a colour bar;
  * ``expand=True``: each fused cell opened into its pointwise ops, so a student sees inside.
"""

from __future__ import annotations

import os
import re
import warnings

import graphviz  # a dependency; ts.viz itself is imported on first use

from . import graph as G
from . import html
from .style import (
    _CLUSTER,
    _LEGEND,
    _LOOKS,
    _STYLE,
    _attrs,
    _fmt,
    _look,
    _norm_text,
    _q,
    _Scale,
    _shape,
    _write,
)

RANKDIRS = ("BT", "LR", "TB", "RL")
FORMATS = ("svg", "png", "pdf", "dot", "html")



def draw(*roots, params=None, show="ops", rankdir="BT", group="time", collapse=None,
         grads=False, max_nodes=5000, expand=False, unroll=True):
    """The graph behind ``roots`` as a ``graphviz.Digraph`` (``.source`` is the DOT text;
    ``.render()`` or ``render(...)`` makes a picture).

    params: a Module or a dict name -> tensor, to label weights by name.
    show: "ops" (op nodes), "tensors" (tensor nodes) or "both".
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
    """
    return _draw(roots, params=params, show=show, rankdir=rankdir, group=group,
                 collapse=collapse, grads=grads, max_nodes=max_nodes, expand=expand,
                 unroll=unroll).dot


def _draw(roots, params, show, rankdir, group, collapse, grads, max_nodes, expand, unroll):
    if not roots:
        raise ValueError("draw: give at least one tensor to draw the graph of")
    if rankdir not in RANKDIRS:
        raise ValueError(f"draw: rankdir must be one of {RANKDIRS}, got {rankdir!r}")
    if group not in ("time", None):
        raise ValueError(f"draw: group must be 'time' or None, got {group!r}")
    first_last = G.collapse_arg(collapse)
    graph = G.capture(*roots, params=params, unroll=unroll)
    if grads and not G.has_grad_norms(graph):
        G.compute_grad_norms(graph, roots)
    nodes, edges = G.project(graph, show)
    into, folded = G.collapse_steps(nodes, edges, *first_last) if first_last else ({}, [])
    d = _Drawing(graph, rankdir, group == "time", grads, expand, into)
    d.build(nodes, edges, folded, show)
    if d.count > max_nodes:
        warnings.warn(f"draw: {d.count} nodes is more than max_nodes={max_nodes}: the picture "
                      f"will be slow to lay out and hard to read. Pass collapse=(first, last) "
                      f"to draw only the first and last time steps of each layer.",
                      stacklevel=3)
    return d


def render(*roots, path, format=None, **draw_options):
    """Draw and write to ``path``; ``format`` is svg, png, pdf or dot (default: from the path's
    suffix, else svg). Returns the path written. Without Graphviz's ``dot`` program the DOT
    source is written next to ``path`` and a RuntimeError says where and how to install it."""
    path = os.fspath(path)
    stem, suffix = os.path.splitext(path)
    fmt = (format or suffix.lstrip(".") or "svg").lower()
    if fmt not in FORMATS:
        raise ValueError(f"render: format must be one of {FORMATS}, got {fmt!r}")
    if not suffix:
        path = f"{path}.{fmt}"
    drawing = _draw(roots, **{**_DEFAULTS, **draw_options})
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
                         clusters=drawing.cluster_info()).encode("utf-8")
    with open(path, "wb") as f:
        f.write(data)
    return path


_DEFAULTS = dict(params=None, show="ops", rankdir="BT", group="time", collapse=None,
                 grads=False, max_nodes=5000, expand=False, unroll=True)


class _Drawing:
    def __init__(self, graph, rankdir, by_time, grads, expand, into):
        self.graph, self.by_time, self.grads = graph, by_time, grads
        self.expand, self.into, self.count, self.kinds = expand, into, 0, set()
        self.dot = graphviz.Digraph("autograd", graph_attr=dict(
            rankdir=rankdir, fontname="Helvetica", newrank="true", nodesep="0.25",
            ranksep="0.35", tooltip="autograd graph"), node_attr=dict(
            fontname="Helvetica", fontsize="10", height="0.3"), edge_attr=dict(
            color="#777777", arrowsize="0.6"))
        self.clusters, self.parent, self.depth = {}, {}, {}  # by cluster name
        self.members = {}  # cluster name -> ids of the nodes drawn directly inside it
        self.labelloc = "b" if rankdir == "BT" else "t"  # BT flips the page: "b" reads as top
        self.expanded = {}  # op node id -> template name
        # a direction level only for layers that have two (bidirectional)
        dirs = {}
        for n in graph.nodes:
            if "direction" in n.tags:
                dirs.setdefault(G.group_key(n.tags)[:2], set()).add(n.tags["direction"])
        self.bidirectional = {key for key, ds in dirs.items() if len(ds) > 1}
        self.scale = None
        if grads:
            norms = [x for n in graph.nodes if n.kind == G.OP for x in (n.grad_norms or ())
                     if x is not None]
            self.scale = _Scale(norms) if norms else None

    # ---- clusters -----------------------------------------------------------------------------
    def _cluster(self, name, parent, label, look):
        if name not in self.clusters:
            self.clusters[name] = graphviz.Digraph(name, graph_attr=dict(
                label=label, labelloc=self.labelloc, **look))
            self.parent[name] = parent
            self.depth[name] = 0 if parent is None else self.depth[parent] + 1
        return name

    def _place(self, tags, extra=None):
        """The cluster a node with these tags goes in (None: top level)."""
        if not self.by_time:
            return None
        module, layer, d = G.group_key(tags)
        name, where, step = "cluster", None, tags.get("step")
        if module is not None:  # ts.graph_tags(module="encoder") around a call of a model part
            name += "_" + re.sub(r"\W", "_", str(module))
            where = self._cluster(name, where, str(module), _CLUSTER["module"])
        if layer is not None:
            name += f"_l{layer}"
            where = self._cluster(name, where, f"layer {layer}", _CLUSTER["layer"])
        if d is not None and (module, layer) in self.bidirectional:
            name += f"_d{d}"
            label = "forward (direction 0)" if d == 0 else f"reverse (direction {d})"
            where = self._cluster(name, where, label, _CLUSTER["direction"])
        if extra is not None:
            return self._cluster(f"{name}_{extra[0]}", where, extra[1], _CLUSTER["step"])
        if step is not None:
            where = self._cluster(f"{name}_t{step}", where, f"t = {step}", _CLUSTER["step"])
        return where

    def _target(self, cluster):
        return self.dot if cluster is None else self.clusters[cluster]

    def _node(self, cluster, id, label, look, **attrs):
        # DOT lines written directly: graphviz's per-attribute quoting costs seconds on the
        # 100,000-node graphs this must handle (ids here are plain [a-z0-9_] names)
        self.count += 1
        if cluster is not None:
            self.members.setdefault(cluster, []).append(id)
        extra = f" {_attrs(attrs)}" if attrs else ""
        self._target(cluster).body.append(f"\t{id} [label={_q(label)} {_LOOKS[look]}{extra}]\n")

    def cluster_info(self):
        """{cluster name: {"label", "parent", "nodes"}} for the HTML page's folding."""
        return {name: dict(label=c.graph_attr.get("label", ""), parent=self.parent[name],
                           nodes=self.members.get(name, []))
                for name, c in self.clusters.items()}

    # ---- nodes --------------------------------------------------------------------------------
    def _grad_look(self, norm, attrs):
        if self.scale is not None and norm is not None:
            fill = self.scale.colour(norm)
            attrs.update(fillcolor=fill, fontcolor=self.scale.font(fill), style="filled,rounded",
                         penwidth="1.5")
        return attrs

    def _op(self, n, cluster):
        name, attrs = n.name, {}
        shapes = [self.graph.by_id[o] for o in n.outputs if o is not None]
        out = ", ".join(f"{_shape(t.shape)} {t.dtype}" for t in shapes[:3])
        tip = [f"{name} -> {out}" + (" ..." if len(shapes) > 3 else "")]
        if n.tags:
            tip.append(", ".join(f"{k}={v}" for k, v in n.tags.items()))
        look, label = _look(n), name
        if look == "sequence":
            label = f"{name} (whole sequence, {self.graph.by_id[n.inputs[0]].shape[0]} steps)"
            tip.append("one node for all steps, as drawn with unroll=False; the default "
                       "draws every step")
        norms = [x for x in (n.grad_norms or ()) if x is not None]
        if norms and self.grads:
            label += "\\n" + _norm_text(name, n.grad_norms)
            tip.append("grad norm = " + " / ".join(f"{x:.6e}" for x in norms[:4]))
            self._grad_look(max(norms), attrs)
        if self.expand and name in G.CELL_TEMPLATES:
            return self._template(n, cluster, tip)
        self._node(cluster, n.id, label, look, tooltip="\\n".join(tip), **attrs)

    def _template(self, n, cluster, tip):
        box = self._cluster(f"cluster_x_{n.id}", cluster, f"{n.name} (expanded)",
                            _CLUSTER["expand"])
        outs = dict(zip(G.TEMPLATE_OUTPUTS[n.name], n.grad_norms or ()))
        for key, text, inputs in G.CELL_TEMPLATES[n.name]:
            attrs = {}
            if self.grads and outs.get(key) is not None:  # the cell's outputs carry its norms
                text += f"\\n|g| = {_fmt(outs[key])}"
                self._grad_look(outs[key], attrs)
            self._node(box, f"{n.id}_{key}", text, "op", fontsize="9",
                       tooltip="\\n".join(tip), **attrs)
            for src in inputs:
                if not src.startswith("in"):
                    self.dot.edge(f"{n.id}_{src}", f"{n.id}_{key}")
        self.expanded[n.id] = n.name

    def _tensor(self, n, cluster, show):
        look, attrs = n.kind, {}
        text = f"{_shape(n.shape)} {n.dtype}"
        label = {G.PARAM: f"{n.name}\\n{text}", G.OUTPUT: f"output\\n{text}"}.get(n.kind, text)
        if n.producer is not None and show == "tensors":
            label = f"{n.name}\\n{label}"  # the op that made it, since ops are not drawn
        tip = f"{n.kind}: {n.name} {text}"
        norm = self.graph.grad_norm(n) if self.grads else None
        if norm is not None:
            label += f"\\n|g| = {_fmt(norm)}"
            tip += f"\\ngrad norm = {norm:.6e}"
            self._grad_look(norm, attrs)
            attrs["style"] = "filled"
        self._node(cluster, n.id, label, look, tooltip=tip, **attrs)

    def _folded(self, c):
        label = f"... x {c.steps} steps\\n(t = {c.lo} ... {c.hi}, {len(c.members)} nodes)"
        norms = [x for n in c.members if n.kind == G.OP for x in (n.grad_norms or ())
                 if x is not None]
        if self.grads and norms:
            label += f"\\n|g| {_fmt(min(norms))} ... {_fmt(max(norms))}"
        where = self._place(c.tags, ("tmid", f"t = {c.lo} ... {c.hi}"))
        self._node(where, c.id, label, "collapsed",
                   tooltip=f"{c.steps} time steps drawn as one node; change collapse= to see more")

    # ---- edges --------------------------------------------------------------------------------
    def _end(self, node_id, index, tail):
        c = self.into.get(node_id)
        if c is not None:
            return c.id
        name = self.expanded.get(node_id)
        if name is None or index is None:
            return node_id
        if tail:
            return f"{node_id}_{G.TEMPLATE_OUTPUTS[name][index]}"
        src = f"in{index}"
        return next(f"{node_id}_{k}" for k, _, ins in G.CELL_TEMPLATES[name] if src in ins)

    def _edge_norm(self, src, index, dst):
        """The gradient reaching the edge's tail (what one edge carries is not recorded), or 0
        when its head got none: nothing flows back along that edge."""
        if self.scale is None:
            return None
        if src.kind != G.OP:
            norm = self.graph.grad_norm(src)
        else:
            norm = src.grad_norms[index] if src.grad_norms else None
        head = dst.grad_norms if dst.kind == G.OP else [self.graph.grad_norm(dst)]
        if norm and head and all(x == 0 for x in head):
            return 0.0
        return norm

    def _edges(self, edges):
        by_id, merged, plain = self.graph.by_id, {}, []
        for e in edges:
            tail, head = self._end(e.src, e.src_index, True), self._end(e.dst, e.dst_index, False)
            if tail == head:
                continue  # both ends folded into the same collapsed node
            if e.src in self.into or e.dst in self.into:
                merged[(tail, head)] = merged.get((tail, head), 0) + 1
                continue
            attrs, src = {}, by_id[e.src]
            names = G.OUTPUT_NAMES.get(src.name) if src.kind == G.OP else None
            if names and e.src_index is not None and src.id not in self.expanded:
                attrs.update(taillabel=names[e.src_index], fontsize="8", fontcolor="#555555")
            norm = self._edge_norm(src, e.src_index, by_id[e.dst])
            if norm is not None:
                attrs.update(color=self.scale.colour(norm), penwidth="2")
            plain.append((tail, head, attrs))
        body = self.dot.body
        for tail, head, attrs in plain:
            body.append(f"\t{tail} -> {head} [{_attrs(attrs)}]\n" if attrs
                        else f"\t{tail} -> {head}\n")
        for (tail, head), k in merged.items():
            count = f' label="x{k}" fontsize=8' if k > 1 else ""
            body.append(f"\t{tail} -> {head} [style=dashed{count}]\n")

    # ---- the whole picture --------------------------------------------------------------------
    def build(self, nodes, edges, folded, show):
        consumers = {}
        for e in edges:
            consumers.setdefault(e.src, []).append(e.dst)
        by_id = self.graph.by_id
        for n in nodes:
            if n.id in self.into:
                continue
            if n.kind == G.OP:
                self.kinds.add("op" if self.expand and n.name in G.CELL_TEMPLATES else _look(n))
                self._op(n, self._place(n.tags))
                continue
            self.kinds.add(n.kind)
            where = None
            if n.kind == G.TENSOR:
                where = self._place(n.tags)
            elif n.kind in (G.LEAF, G.CONST) and self.by_time:
                # an input used by one step only (x_t) sits in that step's cluster
                places = {self._place(by_id[c].tags) if c not in self.into else None
                          for c in consumers.get(n.id, ())}
                where = places.pop() if len(places) == 1 else None
            self._tensor(n, where, show)
        for c in folded:
            self.kinds.add("collapsed")
            self._folded(c)
        self._edges(edges)
        self._legend()
        # attach clusters deepest first, so a parent's copy includes its children
        for name in sorted(self.clusters, key=lambda n: -self.depth[n]):
            self._target(self.parent[name]).subgraph(self.clusters[name])

    def _legend(self):
        legend = graphviz.Digraph("cluster_legend", graph_attr=dict(
            label="legend", style="rounded", color="#999999", fontsize="11"))
        for look, text in _LEGEND:
            if look in self.kinds:
                legend.node(f"legend_{look}", text, **{**_STYLE[look], "fontsize": "9"})
        if self.scale is not None:
            legend.node("legend_grads", self.scale.bar(), shape="plaintext", fontsize="9")
        self.dot.subgraph(legend)
