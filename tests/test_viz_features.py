"""The features of ``ts.viz.draw`` that make a drawing readable: shape-only ops folded into edges,
values, bytes saved for backward, truncated-BPTT cuts, initial states, the absolute colour
scale, gradient norms (and each step's share of a shared weight's), the seq2seq attention
edges, and the options' checks. The DOT source is parsed with regexes; expected numbers are
derived independently (numpy on the tensors, a hand-written BPTT). Only the HTML test calls
Graphviz's `dot`, and it skips without it."""

import colorsys
import math
import re
import shutil

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.viz import graph as G
from tinygrad_seq.viz.dot import draw, render
from tinygrad_seq.viz.memory import Memory
from tinygrad_seq.viz.style import _Scale

NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$', re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", re.M)
ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
# what the shape-only ops are called, by their op names and their PyTorch aliases
SHAPE_NAMES = {"reshape", "view", "permute", "transpose", "squeeze", "unsqueeze", "expand",
               "getitem", "split", "chunk", "cat", "stack"}


# ---- parsing the DOT source -------------------------------------------------------------------

def attrs(text):
    """{name: value} of a DOT attribute list; a repeated name keeps its last value (as dot)."""
    return {k: v[1:-1] if v.startswith('"') else v for k, v in ATTR.findall(text or "")}


def parse(src):
    """({node id: (label lines, attrs)}, [(tail, head, attrs)]), the legend left out."""
    nodes = {i: (label.split("\\n"), attrs(rest)) for i, label, rest in NODE.findall(src)
             if not i.startswith("legend_")}
    edges = [(a, b, attrs(rest)) for a, b, rest in EDGE.findall(src)]
    return nodes, edges


def first(nodes):
    """{node id: the first line of its label}."""
    return {i: lines[0] for i, (lines, _) in nodes.items()}


def named(nodes, name):
    return [i for i, (lines, _) in nodes.items() if lines[0] == name]


def leaves(nodes):
    """The user's leaves that require grad (their tooltips say so)."""
    return [i for i, (_, a) in nodes.items() if a.get("tooltip", "").startswith("leaf:")]


def step_of(nodes, i):
    m = re.search(r"step=(\d+)", nodes[i][1].get("tooltip", ""))
    return None if m is None else int(m.group(1))


def cluster_members(src):
    """{node id: [the clusters it is drawn in, outermost first]}."""
    stack, found = [], {}
    for line in src.splitlines():
        m = re.match(r"\s*subgraph (\w+) \{", line)
        if m:
            stack.append(m.group(1))
        elif line.strip() == "}":
            if stack:
                stack.pop()
        else:
            m = re.match(r'\s*(\w+) \[label=', line)
            if m:
                found[m.group(1)] = list(stack)
    return found


def graph_label(src):
    m = re.search(r'^\s*graph \[[^\n]*?label="([^"]*)"', src, re.M)
    return None if m is None else m.group(1)


def to_bytes(text):
    number, unit = text.split()
    return float(number) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[unit]


def grad_norm_in(lines):
    got = [float(s.split("= ")[1]) for s in lines if s.startswith("|g| = ")]
    assert len(got) == 1, lines
    return got[0]


def triple(text):
    m = re.fullmatch(r"(?:= |grad )?min (\S+) / mean (\S+) / max (\S+)", text)
    assert m is not None, text
    return [float(v) for v in m.groups()]


# ---- models -----------------------------------------------------------------------------------

def lstm(steps=5, batch=2, **kw):
    ts.manual_seed(0)
    layer = nn.LSTM(3, 4, **kw)
    x = ts.randn(steps, batch, 3)
    out, state = layer(x)
    return layer, x, out, state


def numpy_rnn(layer, x):
    """A hand-written forward and BPTT of ``nn.RNN(3, H)`` (tanh) for loss = out.sum(), in
    float64: the gradients and each step's contribution to dW_hh."""
    w_ih, w_hh = layer.weight_ih_l0.numpy(), layer.weight_hh_l0.numpy()
    b = layer.bias_ih_l0.numpy() + layer.bias_hh_l0.numpy()
    xs = x.numpy()
    hs = [np.zeros((xs.shape[1], w_hh.shape[0]))]
    for x_t in xs:
        hs.append(np.tanh(x_t @ w_ih.T + b + hs[-1] @ w_hh.T))
    d_w_ih, d_b, d_x = np.zeros_like(w_ih), np.zeros_like(b), np.zeros_like(xs)
    shares, carried = [None] * len(xs), np.zeros_like(hs[0])
    for t in reversed(range(len(xs))):
        d_pre = (1 + carried) * (1 - hs[t + 1] ** 2)
        shares[t] = d_pre.T @ hs[t]  # dL/dW_hh from step t alone
        d_w_ih += d_pre.T @ xs[t]
        d_b += d_pre.sum(0)
        d_x[t] = d_pre @ w_ih
        carried = d_pre @ w_hh
    return dict(w_ih=d_w_ih, w_hh=sum(shares), b=d_b, x=d_x, shares=shares)


def rnn_with_grads(steps=5):
    ts.manual_seed(0)
    layer = nn.RNN(3, 4, dtype="float64")
    x = ts.randn(steps, 2, 3, dtype="float64", requires_grad=True)
    out, _ = layer(x)
    loss = out.sum()
    with ts.autograd.record_grad_norms():
        loss.backward()
    return layer, x, loss


# ---- 1. shape-only ops folded into edges ------------------------------------------------------

def feeds(nodes, edges, tail, head):
    """Whether ``tail`` reaches ``head`` directly or through one tensor node (show="both")."""
    out = {}
    for a, b, _ in edges:
        out.setdefault(a, set()).add(b)
    if head in out.get(tail, ()):
        return True
    tensors = {i for i, (lines, _) in nodes.items() if re.match(r"\(|scalar", lines[0])}
    return any(head in out.get(m, ()) for m in out.get(tail, ()) & tensors)


@pytest.mark.parametrize("show", ["ops", "both"])
def test_simplify_folds_shape_only_ops_into_edges(show):
    layer, _, out, _ = lstm()
    loss = out.sum()
    nodes, edges = parse(draw(loss, params=layer, show=show).source)
    labels = set(first(nodes).values())
    assert not labels & SHAPE_NAMES, labels & SHAPE_NAMES
    # every step's cell still reaches the consumer of the stacked output
    cells, (total,) = named(nodes, "lstm_cell"), named(nodes, "sum")
    assert len(cells) == 5
    assert all(feeds(nodes, edges, c, total) for c in cells)

    raw_nodes, raw_edges = parse(draw(loss, params=layer, show=show, simplify=False).source)
    raw = set(first(raw_nodes).values())
    assert {"reshape", "permute", "split", "cat"} <= raw
    cells, (total,) = named(raw_nodes, "lstm_cell"), named(raw_nodes, "sum")
    assert not any(feeds(raw_nodes, raw_edges, c, total) for c in cells)  # through the stack
    assert len(raw_nodes) > len(nodes)


@pytest.mark.parametrize("show", ["ops", "both"])
def test_a_cat_read_by_a_selection_is_not_folded(show):
    layer, _, out, _ = lstm()
    nodes, edges = parse(draw(out[-1].sum(), params=layer, show=show).source)
    labels = first(nodes)
    (cat,), (total,), cells = named(nodes, "cat"), named(nodes, "sum"), named(nodes, "lstm_cell")
    assert "getitem" not in labels.values()
    assert len(cells) == 5 and all(feeds(nodes, edges, c, cat) for c in cells)
    assert not any(feeds(nodes, edges, c, total) for c in cells)
    # the sum reads the cat (or its output tensor) and nothing else
    into_sum = [a for a, b, _ in edges if b == total]
    assert len(into_sum) == 1 and feeds(nodes, edges, cat, total)


# ---- 2. values --------------------------------------------------------------------------------

def test_values_scalar_big_tensor_and_parameter_gradients():
    layer, x, out, _ = lstm()
    loss = out.sum()
    plain = parse(draw(loss, params=layer, values=True).source)[0]
    assert not any(s.startswith("grad ") for lines, _ in plain.values() for s in lines)
    loss.backward(retain_graph=True)
    nodes, _ = parse(draw(loss, params=layer, values=True).source)
    value = f"= {float(loss.item()):.4g}"
    (total,), (output,) = named(nodes, "sum"), named(nodes, "output")
    assert value in nodes[total][0] and value in nodes[output][0]

    def check(lines_prefix, lines, array):
        (text,) = [s for s in lines if s.startswith(lines_prefix)]
        want = [array.min(), array.mean(), array.max()]
        assert triple(text) == pytest.approx(want, rel=1e-2, abs=1e-6)

    # the input projection x W_ih^T, (T*B, 4H): min / mean / max, as numpy has them
    projection = x.numpy().reshape(10, 3) @ layer.weight_ih_l0.numpy().T
    (proj,) = [i for i in named(nodes, "matmul")
               if "(10, 16)" in nodes[i][1]["tooltip"]]
    check("= min", nodes[proj][0], projection)
    for name in ("weight_ih_l0", "weight_hh_l0"):
        (node,) = named(nodes, name)
        p = getattr(layer, name)
        check("= min", nodes[node][0], p.numpy())
        check("grad min", nodes[node][0], p.grad.numpy())


def test_values_small_tensor_in_full_with_its_gradient():
    w = ts.tensor([0.5, -1.25, 2.0], requires_grad=True, dtype="float64")
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    nodes, _ = parse(draw(loss, values=True).source)
    (leaf,) = leaves(nodes)
    a = np.array([0.5, -1.25, 2.0])
    assert f"= [{', '.join(f'{v:.3g}' for v in a)}]" in nodes[leaf][0]
    assert f"grad [{', '.join(f'{v:.3g}' for v in 2 * a)}]" in nodes[leaf][0]


# ---- 3. memory --------------------------------------------------------------------------------

def _root(a):
    while isinstance(getattr(a, "base", None), np.ndarray):
        a = a.base
    return a


def independent_bytes(layer, loss):
    """What the default LSTM's graph keeps for backward, from the whole-sequence node's own
    ``saved`` (each buffer once; the leaves' and parameters' data not counted) and the sum."""
    fn = loss._ctx.parents[0]._ctx
    assert fn.name == "lstm"
    leaves = {id(_root(p.data)) for p in list(fn.parents) + list(layer.parameters())}
    seen, sequence = set(leaves), 0
    for a in fn.saved:
        if isinstance(a, np.ndarray) and id(_root(a)) not in seen:
            seen.add(id(_root(a)))
            sequence += _root(a).nbytes
    total_fn = loss._ctx
    extra = [a for a in (total_fn.saved if isinstance(total_fn.saved, tuple)
                         else (total_fn.saved,)) if isinstance(a, np.ndarray)]
    others = sum(_root(a).nbytes for a in extra + [loss.data] if id(_root(a)) not in seen)
    return sequence, others


def test_memory_total_grows_with_the_sequence_length():
    totals, labels = [], []
    for steps in (5, 10, 20):
        layer, _, out, _ = lstm(steps)
        loss = out.sum()
        src = draw(loss, params=layer, memory=True).source
        label = graph_label(src)
        m = re.fullmatch(r"saved for backward: ([\d.]+ [KMG]?B) in all", label)
        assert m is not None, label
        labels.append(to_bytes(m.group(1)))
        totals.append(Memory(G.capture(loss, params=layer)).total)
        assert labels[-1] == pytest.approx(totals[-1], abs=0.06 * 1024)
        steps_saved = re.findall(r'label="t = (\d+)  \(saved ([\d.]+ [KMG]?B)\)"', src)
        assert sorted(int(t) for t, _ in steps_saved) == list(range(steps))
        sequence, _ = independent_bytes(layer, loss)
        for _, text in steps_saved:  # the node's buffers shared evenly among its steps
            assert to_bytes(text) == pytest.approx(sequence / steps, abs=0.5)
    assert labels[0] < labels[1] < labels[2] and totals[0] < totals[1] < totals[2]
    (a, b, c) = totals
    assert c - b == pytest.approx(2 * (b - a), rel=0.05)  # linear in T
    assert "saved for backward" not in draw(loss).source


def test_memory_total_is_the_sequence_nodes_saved_buffers_plus_the_rest():
    layer, _, out, _ = lstm()
    loss = out.sum()
    graph = G.capture(loss, unroll=True)
    assert len(graph.sequences) == 1 and graph.sequences[0][0].name == "lstm"
    sequence, others = independent_bytes(layer, loss)
    assert sequence > 0
    total = Memory(graph).total
    assert sequence <= total < 3 * sequence
    assert total == pytest.approx(sequence + others)
    # drawn as one box, it keeps the same: the replay's own tensors cost nothing
    assert Memory(G.capture(loss, unroll=False)).total == pytest.approx(total)


# ---- 4. truncated BPTT ------------------------------------------------------------------------

def cut_edges(edges):
    return [(a, b, e) for a, b, e in edges if e.get("label") == "detach"]


def check_cut(both_src, second_src, last_step, strict_tail=True):
    nodes, edges = parse(both_src)
    cut = [i for i, (lines, _) in nodes.items() if lines[0].startswith("detached")]
    assert cut and all(nodes[i][0][0] == f"detached after t = {last_step}" for i in cut)
    red = cut_edges(edges)
    assert sorted(b for _, b, _ in red) == sorted(cut)
    for tail, _, e in red:
        assert e["style"] == "dashed" and e["color"] == "#c62828"
        assert tail in nodes and tail not in cut
        if strict_tail:  # from where it was cut: chunk 1's last step
            assert step_of(nodes, tail) == last_step
    nodes, edges = parse(second_src)
    assert [i for i, (lines, _) in nodes.items() if lines[0].startswith("detached")]
    assert not cut_edges(edges)


def test_detach_between_chunks_of_a_hand_stepped_cell():
    ts.manual_seed(0)
    cell, xs, h = nn.RNNCell(3, 4), ts.randn(6, 2, 3), None
    for t in range(3):
        with ts.graph_tags(step=t):
            h = cell(xs[t], h)
    loss1, h = h.sum(), h.detach()
    for t in range(3, 6):
        with ts.graph_tags(step=t):
            h = cell(xs[t], h)
    loss2 = h.sum()
    check_cut(draw(loss1, loss2, params=cell).source, draw(loss2, params=cell).source, 2)


@pytest.mark.parametrize("kind", ["LSTM", "RNN"])
def test_detach_between_chunks_of_a_layer(kind):
    ts.manual_seed(0)
    layer, xs = getattr(nn, kind)(3, 4), ts.randn(6, 2, 3)
    out1, state = layer(xs[:3])
    loss1 = out1.sum()
    state = tuple(s.detach() for s in state) if kind == "LSTM" else state.detach()
    out2, _ = layer(xs[3:], state)
    loss2 = out2.sum()
    check_cut(draw(loss1, loss2, params=layer).source, draw(loss2, params=layer).source, 2,
              strict_tail=False)


# ---- 5. initial states ------------------------------------------------------------------------

@pytest.mark.parametrize("kind,layers,bidirectional", [
    ("LSTM", 1, False), ("LSTM", 2, True), ("GRU", 2, True), ("RNN", 1, False)])
def test_one_initial_state_per_layer_direction(kind, layers, bidirectional):
    ts.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, num_layers=layers, bidirectional=bidirectional)
    out, _ = layer(ts.randn(5, 2, 3))
    nodes, _ = parse(draw(out.sum(), params=layer).source)
    count = layers * (2 if bidirectional else 1)
    assert len(named(nodes, "h_0")) == count
    assert len(named(nodes, "c_0")) == (count if kind == "LSTM" else 0)


# ---- 6. the colour scale ----------------------------------------------------------------------

def hue(colour):
    return colorsys.rgb_to_hsv(*(int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0]


def test_colour_scale_is_fixed_and_runs_from_blue_to_red():
    a, b = _Scale(), _Scale()
    decades = [10.0 ** d for d in range(_Scale.LOW, _Scale.HIGH + 1)]
    assert [a.colour(x) for x in decades] == [b.colour(x) for x in decades]
    assert a.colour(1e-8) != a.colour(1e4)
    hues = [hue(a.colour(x)) for x in decades]
    assert all(h1 > h2 for h1, h2 in zip(hues, hues[1:]))  # blue (~0.66) down to red (~0)
    assert hues[0] > 0.6 and hues[-1] < 0.05
    fine = [hue(a.colour(10.0 ** e)) for e in np.linspace(-9, 5, 141)]
    assert all(h2 <= h1 + 0.01 for h1, h2 in zip(fine, fine[1:]))
    assert a.colour(1e-12) == a.colour(1e-8) and a.colour(1e9) == a.colour(1e4)
    assert a.colour(0) not in {a.colour(x) for x in decades}  # no gradient: not "small"


def _fill(nodes, i):
    return nodes[i][1]["fillcolor"]


def test_same_gradient_norm_same_colour_in_any_graph():
    c = np.array([0.108, 0.144])  # |c| = 0.18: the gradient reaching x
    norm = float(np.linalg.norm(c))

    def leaf_fill(loss, x):
        nodes, _ = parse(draw(loss, grads=True).source)
        (leaf,) = [i for i in leaves(nodes) if nodes[i][0][0] == "(2,) float64"]
        assert grad_norm_in(nodes[leaf][0]) == pytest.approx(norm, rel=5e-3)
        return nodes, _fill(nodes, leaf)

    x = ts.tensor([1.0, 2.0], dtype="float64", requires_grad=True)
    small_nodes, small = leaf_fill((x * ts.tensor(c)).sum(), x)
    assert small == _Scale().colour(norm)
    # in this graph 0.18 is the smallest norm: a relative scale would paint it the bottom colour
    assert small not in (_Scale().colour(1e-8), "#313695")
    assert len(small_nodes) <= 6

    layer, _, out, _ = lstm()
    y = ts.randn(50, dtype="float64", requires_grad=True)
    big = (x * ts.tensor(c)).sum() + out.sum() * 100 + (y * 1000).sum()
    big_nodes, large = leaf_fill(big, x)
    assert len(big_nodes) > 5 * len(small_nodes)
    assert large == small


# ---- 7. gradient norms ------------------------------------------------------------------------

def test_grads_show_parameters_and_leaves_gradient_norms():
    layer, x, loss = rnn_with_grads()
    ref = numpy_rnn(layer, x)
    np.testing.assert_allclose(layer.weight_hh_l0.grad.numpy(), ref["w_hh"], rtol=1e-9)
    np.testing.assert_allclose(x.grad.numpy(), ref["x"], rtol=1e-9, atol=1e-12)
    nodes, _ = parse(draw(loss, params=layer, grads=True).source)
    want = {"weight_ih_l0": ref["w_ih"], "weight_hh_l0": ref["w_hh"], "bias_ih_l0": ref["b"],
            "bias_hh_l0": ref["b"]}
    for name, g in want.items():
        (node,) = named(nodes, name)
        assert grad_norm_in(nodes[node][0]) == pytest.approx(np.linalg.norm(g), rel=5e-3)
    (leaf,) = leaves(nodes)
    assert nodes[leaf][0][0] == "(5, 2, 3) float64"
    assert grad_norm_in(nodes[leaf][0]) == pytest.approx(np.linalg.norm(ref["x"]), rel=5e-3)


def test_per_step_shares_of_a_shared_weight_sum_to_its_gradient():
    layer, x, loss = rnn_with_grads()
    ref = numpy_rnn(layer, x)
    # the shares' vector sum is the gradient; the recorded norms are theirs
    np.testing.assert_allclose(sum(ref["shares"]), layer.weight_hh_l0.grad.numpy(), rtol=1e-9)
    graph = G.capture(loss, params=layer)
    G.attach_step_norms(graph)
    ((fn, _),) = graph.sequences
    norms = [float(np.linalg.norm(s)) for s in ref["shares"]]
    assert fn.step_norms.w_hh == pytest.approx(norms, rel=1e-9, abs=1e-12)
    assert norms[0] == 0 and all(n > 0 for n in norms[1:])  # h_0 = 0: step 0 adds nothing


def test_each_edge_from_a_shared_weight_carries_its_steps_share():
    layer, x, loss = rnn_with_grads()
    norms = [float(np.linalg.norm(s)) for s in numpy_rnn(layer, x)["shares"]]
    nodes, edges = parse(draw(loss, params=layer, grads=True).source)
    (w,) = named(nodes, "weight_hh_l0")
    got = {step_of(nodes, b): e.get("xlabel") for a, b, e in edges if a == w}
    assert sorted(got) == list(range(5))
    want = {t: "0" if v == 0 else f"{v:.2e}" for t, v in enumerate(norms)}
    assert {t: float(v) for t, v in got.items()} == pytest.approx(
        {t: float(v) for t, v in want.items()}, rel=6e-3, abs=1e-12)


# ---- 8. seq2seq attention ---------------------------------------------------------------------

def test_seq2seq_attention_edges_clusters_and_rankdir():
    model, loss = ts.viz.demo_model("seq2seq", 4, 1)
    src = draw(loss, params=model).source
    assert re.search(r"^\s*graph \[[^\n]*\brankdir=LR\b", src, re.M)
    assert "subgraph cluster_encoder {" in src and "subgraph cluster_decoder {" in src
    nodes, edges = parse(src)
    where = cluster_members(src)
    purple = [(a, b, e) for a, b, e in edges if e.get("color") == "#6a3d9a"]
    by_head = {}
    for a, b, e in purple:
        by_head.setdefault(b, []).append((a, float(e["xlabel"]), float(e["penwidth"])))
    assert len(by_head) == 4  # one context matmul per decoder step
    weights, widths = [], []
    for head, reads in by_head.items():
        assert nodes[head][0][0] == "matmul" and "cluster_decoder" in where[head]
        assert len(reads) == 4 and len({a for a, _, _ in reads}) == 4
        assert all("cluster_encoder" in where[a] for a, _, _ in reads)
        assert sum(w for _, w, _ in reads) == pytest.approx(1.0, abs=0.02)
        weights += [w for _, w, _ in reads]
        widths += [p for _, _, p in reads]
    slope, offset = np.polyfit(weights, widths, 1)  # the width is an affine map of the weight
    assert slope > 0
    assert np.abs(np.array(widths) - (slope * np.array(weights) + offset)).max() < 0.05
    assert re.search(r"^\s*graph \[[^\n]*\brankdir=BT\b", draw(
        loss, params=model, rankdir="BT").source, re.M)
    layer, _, out, _ = lstm()  # one module: inputs at the bottom
    assert re.search(r"\brankdir=BT\b", draw(out.sum(), params=layer).source)


# ---- 9. options -------------------------------------------------------------------------------

def test_unroll_false_with_grads():
    layer, x, loss = rnn_with_grads()
    ref = numpy_rnn(layer, x)
    nodes, _ = parse(draw(loss, params=layer, unroll=False, grads=True).source)
    (box,) = [i for i, (lines, _) in nodes.items()
              if lines[0] == "rnn (whole sequence, 5 steps)"]
    assert any(s.startswith("|g|") for s in nodes[box][0]) and "fillcolor" in nodes[box][1]
    (w,) = named(nodes, "weight_hh_l0")
    assert grad_norm_in(nodes[w][0]) == pytest.approx(np.linalg.norm(ref["w_hh"]), rel=5e-3)
    assert not [i for i in nodes if step_of(nodes, i) is not None]


def test_unroll_false_with_grads_computed_by_draw():
    ts.manual_seed(0)
    layer = nn.RNN(3, 4, dtype="float64")
    x = ts.randn(5, 2, 3, dtype="float64")
    out, _ = layer(x)
    loss = out.sum()
    nodes, _ = parse(draw(loss, params=layer, unroll=False, grads=True).source)
    assert layer.weight_hh_l0.grad is None  # draw's own pass leaves .grad alone
    want = math.sqrt((numpy_rnn(layer, x)["w_hh"] ** 2).sum())
    (w,) = named(nodes, "weight_hh_l0")
    assert grad_norm_in(nodes[w][0]) == pytest.approx(want, rel=5e-3)


def test_unknown_option_is_a_type_error_naming_it(tmp_path):
    layer, _, out, _ = lstm(2)
    with pytest.raises(TypeError, match="colour"):
        draw(out.sum(), colour=True)
    with pytest.raises(TypeError, match="'colour'"):
        render(out.sum(), path=tmp_path / "g.dot", colour=True)
    assert not (tmp_path / "g.dot").exists()


# ---- 10. the HTML page ------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_render_html_page(tmp_path):
    layer, _, out, _ = lstm(3)
    path = ts.viz.render(out.sum(), params=layer, path=tmp_path / "g.html")
    text = open(path, encoding="utf-8").read()
    assert path.endswith("g.html")
    assert "<svg" in text and 'id="ts-clusters"' in text
    assert "cluster_l0_t2" in text and "weight_hh_l0" in text
