"""How one drawing is built: ``_Drawing`` turns the nodes and edges a drawing shows (shown.py)
into Graphviz DOT text: clusters per layer / direction / step, node labels and looks, edges with
their gradient colours, the seq2seq layout and the legend. dot.py's ``draw`` and ``render``
make one; style.py and labels.py say how things look and read."""

from __future__ import annotations

import re

import graphviz  # a dependency; ts.viz itself is imported on first use

from ..backend import to_numpy
from . import graph as G
from . import shown
from .labels import note_text, tensor_lines, value_text
from .memory import Memory, fmt_bytes
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
)

LARGE = 300  # nodes; past this, Graphviz is asked for a faster, rougher placement


class _Drawing:
    def __init__(self, graph, options, into):
        self.graph, self.by_time, self.grads = graph, options["group"] == "time", options["grads"]
        self.expand, self.values = options["expand"], options["values"]
        self.into, self.count, self.kinds = into, 0, set()
        modules = {n.tags["module"] for n in graph.nodes if "module" in n.tags}
        rankdir = options["rankdir"] or ("LR" if len(modules) > 1 else "BT")
        self.dot = graphviz.Digraph("autograd", graph_attr=dict(
            rankdir=rankdir, fontname="Helvetica", newrank="true", nodesep="0.2",
            ranksep="0.3", tooltip="autograd graph"), node_attr=dict(
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
                dirs.setdefault(shown.group_key(n.tags)[:2], set()).add(n.tags["direction"])
        self.bidirectional = {key for key, ds in dirs.items() if len(ds) > 1}
        # modules whose own code tags steps (outside any layer): a decoder run step by step
        self.stepped = {n.tags["module"] for n in graph.nodes
                        if "module" in n.tags and "step" in n.tags and "layer" not in n.tags}
        self.scale = _Scale() if self.grads else None
        self.memory = Memory(graph) if options["memory"] else None

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
        module, layer, d = shown.group_key(tags)
        name, where, step = "cluster", None, tags.get("step")
        if module is not None:  # ts.graph_tags(module="encoder") around a call of a model part
            name += "_" + re.sub(r"\W", "_", str(module))
            where = self._cluster(name, where, str(module), _CLUSTER["module"])
        if module in self.stepped and step is not None and extra is None:
            # a decoder steps itself (module=..., step=t around each step): the step's cluster
            # holds all of it, the recurrent layer's one step included
            name += f"_t{step}"
            where = self._cluster(name, where, f"t = {step}", _CLUSTER["step"])
            step = None
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
        value = None if not shapes or shapes[0].tensor is None else value_text(
            shapes[0].tensor.data)
        if value is not None and self.values:
            label += f"\\n= {value}"
        norms = [x for x in (n.grad_norms or ()) if x is not None]
        if norms and self.grads:
            label += "\\n" + _norm_text(name, n.grad_norms)
            tip.append("grad norm = " + " / ".join(f"{x:.6e}" for x in norms[:4]))
            self._grad_look(max(norms), attrs)
        if value is not None:
            tip.append(f"value {value}")
        if self.memory is not None:
            saved = self.memory.per_op.get(n.id, 0)
            tip.append(f"saved for backward: {fmt_bytes(saved)}")
            if saved:
                label += f"\\nsaved {fmt_bytes(saved)}"
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
        title = {G.PARAM: n.name, G.OUTPUT: "output"}.get(n.kind)
        if n.producer is not None and show == "tensors":
            title = n.name  # the op that made it, since ops are not drawn
        note = note_text(n)
        if note is not None:
            title, look = note, ("cut" if not isinstance(n.note, str) else look)
        norm = self.graph.grad_norm(n) if self.grads else None
        value = None if n.tensor is None else value_text(n.tensor.data)
        lines = tensor_lines(n, title, norm, value if self.values else None)
        tip = [f"{n.kind}: {n.name} {_shape(n.shape)} {n.dtype}"]
        if value is not None:
            tip.append(f"value {value}")
        if norm is not None:
            tip.append(f"grad norm = {norm:.6e}")
            self._grad_look(norm, attrs)
            attrs["style"] = "filled"
        self.kinds.add(look)
        self._node(cluster, n.id, "\\n".join(lines), look, tooltip="\\n".join(tip), **attrs)

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

    def _edge_norm(self, src, index, dst, dst_index):
        """The gradient reaching the edge's tail, or 0 when its head got none: nothing flows
        back along that edge. An edge from a leaf or a parameter shows what it carried itself
        (``input_norms``): one step's share of a shared weight's gradient."""
        if self.scale is None:
            return None
        if src.kind != G.OP:
            norm = self.graph.grad_norm(src)
            carried = dst.fn.input_norms if dst.kind == G.OP else None
            if carried and dst_index is not None and len(carried) > dst_index:
                if carried[dst_index] is not None:
                    return carried[dst_index]
        else:
            norm = src.grad_norms[index] if src.grad_norms else None
        head = dst.grad_norms if dst.kind == G.OP else [self.graph.grad_norm(dst)]
        if norm and head and all(x == 0 for x in head):
            return 0.0
        return norm

    def _edges(self, edges):
        by_id, merged, plain, reading = self.graph.by_id, {}, [], {}
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
            dst = by_id[e.dst]
            if src.tags.get("module") != dst.tags.get("module") and (
                    "module" in src.tags and "module" in dst.tags):
                # encoder and decoder keep rows of their own; the edges between them are
                # pale but for the attention weights drawn below
                attrs.update(constraint="false", color="#d0d0d0")
            weights = self.attention.get((e.dst, e.dst_index))
            if weights is not None:  # a context vector reading the encoder's states
                k = reading[(e.dst, e.dst_index)] = reading.get((e.dst, e.dst_index), -1) + 1
                w = float(weights[k % len(weights)])
                attrs.update(color="#6a3d9a", penwidth=f"{0.3 + 5 * w:.2f}", xlabel=f"{w:.2f}",
                             fontsize="8", fontcolor="#6a3d9a")
            norm = self._edge_norm(src, e.src_index, dst, e.dst_index)
            if norm is not None:
                attrs.update(color=self.scale.colour(norm), penwidth="2")
                if src.kind == G.PARAM and self.fanout.get(src.id, 0) > 1:
                    # one step's share of a shared weight's gradient (they sum to it)
                    attrs.update(xlabel=_fmt(norm), fontsize="7", fontcolor="#555555")
            plain.append((tail, head, attrs))
        body = self.dot.body
        for tail, head, attrs in plain:
            body.append(f"\t{tail} -> {head} [{_attrs(attrs)}]\n" if attrs
                        else f"\t{tail} -> {head}\n")
        for (tail, head), k in merged.items():
            count = f' label="x{k}" fontsize=8' if k > 1 else ""
            body.append(f"\t{tail} -> {head} [style=dashed{count}]\n")
        for tail, head in self._step_order():
            body.append(f"\t{tail} -> {head} [style=invis]\n")
        for src, cut in self.graph.cuts:  # detach(): drawn from where the graph was cut
            if src is not None and src in self.drawn and cut in self.drawn:
                body.append(f'\t{src} -> {cut} [style=dashed color="#c62828" penwidth=1.5 '
                            f'arrowhead=tee label="detach" fontsize=8 fontcolor="#c62828" '
                            f'constraint=false]\n')

    # ---- the whole picture --------------------------------------------------------------------
    def build(self, nodes, edges, folded, show):
        consumers = {}
        for e in edges:
            consumers.setdefault(e.src, []).append(e.dst)
        self.fanout = {k: len(v) for k, v in consumers.items()}
        self.attention = self._attention(nodes, edges)
        self.drawn = {n.id for n in nodes if n.id not in self.into}
        by_id = self.graph.by_id
        for n in nodes:
            if n.id in self.into:
                continue
            if n.kind == G.OP:
                self.kinds.add("op" if self.expand and n.name in G.CELL_TEMPLATES else _look(n))
                self._op(n, self._place(n.tags))
                continue
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
        if self.memory is not None:
            self._memory_labels()
        if self.count > LARGE:
            # Graphviz's network simplex (node placement) grows fastest with the unrolled
            # steps: bounding its iterations turns minutes into seconds at 100 steps
            self.dot.graph_attr.update(nslimit="2", nslimit1="2")
        self._legend()
        # attach clusters deepest first, so a parent's copy includes its children
        for name in sorted(self.clusters, key=lambda n: -self.depth[n]):
            self._target(self.parent[name]).subgraph(self.clusters[name])

    def _step_order(self):
        """Invisible edges from the last node of each step of a self-stepping module (a
        decoder) to every node of the next: a step's work that does not wait for the one
        before (embedding the next token) would otherwise be laid out beside it, and the
        steps would stack instead of making a row."""
        members, last = {}, {}
        for n in self.graph.nodes:
            tags = n.tags
            if n.id in self.drawn and n.id not in self.into and tags.get("module") in \
                    self.stepped and "step" in tags:
                key = (tags["module"], tags["step"])
                members.setdefault(key, []).append(n.id)
                last[key] = n.id
        return [(last[(m, t)], head) for (m, t) in last for head in members.get((m, t + 1), ())]

    def _attention(self, nodes, edges):
        """{(matmul node id, 1): attention weights (S,)} for each drawn matmul of softmax
        weights with states read from S (or a multiple of S) edges: the context vector of an
        attention step, whose edges from the encoder's states are drawn as thick as the weight
        (averaged over the batch) that step put on them."""
        by_id, found = self.graph.by_id, {}
        count = {}
        for e in edges:
            count[(e.dst, e.dst_index)] = count.get((e.dst, e.dst_index), 0) + 1
        for n in nodes:
            if n.kind != G.OP or n.name != "matmul" or len(n.inputs) != 2:
                continue
            t = by_id[n.inputs[0]]
            while t.producer is not None and by_id[t.producer[0]].name in shown.SHAPE_OPS:
                t = by_id[by_id[t.producer[0]].inputs[0]]  # back through reshapes
            if t.producer is None or by_id[t.producer[0]].name != "softmax" or t.tensor is None:
                continue
            w = to_numpy(t.tensor.data)
            w = w.reshape(-1, w.shape[-1]).mean(axis=0)
            reads = count.get((n.id, 1), 0)
            if reads > 1 and reads % len(w) == 0:
                found[(n.id, 1)] = w
        return found

    def _memory_labels(self):
        """Each cluster's label and the picture's title say what their nodes keep for
        backward: a step's bytes grow nothing; the total grows with T."""
        per, total = self.memory.per_op, {}
        for name in sorted(self.clusters, key=lambda n: -self.depth[n]):
            own = sum(per.get(i, 0) for i in self.members.get(name, ()))
            total[name] = total.get(name, 0) + own
            if self.parent[name] is not None:
                total[self.parent[name]] = total.get(self.parent[name], 0) + total[name]
            attrs = self.clusters[name].graph_attr
            attrs["label"] = f"{attrs['label']}  (saved {fmt_bytes(total[name])})"
        freed = " (some nodes already freed by backward)" if self.memory.freed else ""
        self.dot.graph_attr.update(label=f"saved for backward: {fmt_bytes(self.memory.total)} "
                                         f"in all{freed}", labelloc="t", fontsize="14")

    def _legend(self):
        legend = graphviz.Digraph("cluster_legend", graph_attr=dict(
            label="legend", style="rounded", color="#999999", fontsize="11"))
        entries = []
        for look, text in _LEGEND:
            if look in self.kinds:
                legend.node(f"legend_{look}", text, **{**_STYLE[look], "fontsize": "9"})
                entries.append(f"legend_{look}")
        if self.scale is not None:
            legend.node("legend_grads", self.scale.bar(), shape="plaintext", fontsize="9")
            entries.append("legend_grads")
        for a, b in zip(entries, entries[1:]):  # one column, not a row as wide as the picture
            legend.edge(a, b, style="invis")
        self.dot.subgraph(legend)
