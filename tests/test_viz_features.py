"""The features of ``ts.viz.draw`` that make a drawing readable: shape-only ops folded into edges,
values, bytes saved for backward, truncated-BPTT cuts and initial states. The DOT source is
parsed with regexes (viz_dot.py); expected numbers are derived independently (numpy on the
tensors). tests/test_viz_gradients.py has the colours, gradients, seq2seq and options."""

import re

import numpy as np
import pytest
from viz_dot import (
    SHAPE_NAMES,
    first,
    graph_label,
    leaves,
    lstm,
    named,
    parse,
    step_of,
    to_bytes,
    triple,
)

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.viz import graph as G
from tinygrad_seq.viz.dot import draw
from tinygrad_seq.viz.memory import Memory

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
