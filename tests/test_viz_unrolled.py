"""The default layers drawn as their time steps (nn/recurrent/replay.py): the same drawing as an
``unroll=True`` layer, the same gradient norms per step as the per-step graph (recorded by the
whole-sequence backward), and training left on the fast path."""

import math
import re

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.viz import graph as G
from tinygrad_seq.viz.dot import draw

NODE = re.compile(r"^\s*(\w+) \[label=", re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.M)
CASES = [("LSTM", {}), ("GRU", dict(num_layers=2, bidirectional=True)), ("RNN", {}),
         ("LSTM", dict(num_layers=2, bidirectional=True)), ("RNN", dict(bias=False))]


def build(kind, unroll, steps=5, lengths=None, dtype="float64", **kw):
    ts.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, unroll=unroll, dtype=dtype, **kw)
    out, state = layer(ts.randn(steps, 2, 3, dtype=dtype), lengths=lengths)
    h_n = state[0] if kind == "LSTM" else state
    return layer, (out ** 2).sum() + h_n.sum()


@pytest.mark.parametrize("kind,kw", CASES)
@pytest.mark.parametrize("lengths", [None, [5, 3]])
def test_default_drawing_is_the_unroll_true_drawing(kind, kw, lengths):
    sources = []
    for unroll in (False, True):
        layer, loss = build(kind, unroll, lengths=lengths, **kw)
        sources.append(draw(loss, params=layer).source)
    assert sources[0] == sources[1]  # same clusters, cells, edges, labels, in the same order
    dirs = 2 if kw.get("bidirectional") else 1
    steps = re.findall(r"subgraph (cluster_l\d+(?:_d\d)?_t\d+) \{", sources[0])
    assert len(set(steps)) == kw.get("num_layers", 1) * dirs * 5


@pytest.mark.parametrize("kind,kw", CASES[:3])
def test_unroll_false_draws_one_box_per_layer_direction(kind, kw):
    layer, loss = build(kind, False, **kw)
    src = draw(loss, params=layer, unroll=False).source
    boxes = src.count("(whole sequence, 5 steps)")
    assert boxes == kw.get("num_layers", 1) * (2 if kw.get("bidirectional") else 1)
    assert "_t0" not in src


def test_counts_grow_linearly_with_the_number_of_steps():
    counts = []
    for steps in (8, 16, 32):
        layer, loss = build("LSTM", False, steps=steps, num_layers=2, dtype="float32")
        src = draw(loss, params=layer).source
        counts.append((len(NODE.findall(src)), len(EDGE.findall(src))))
    (n1, e1), (n2, e2), (n3, e3) = counts
    assert n3 - n2 == 2 * (n2 - n1) and e3 - e2 == 2 * (e2 - e1)  # per step: a constant


def test_a_long_sequence_draws_collapsed():
    layer, loss = build("GRU", False, steps=400, dtype="float32")
    src = draw(loss, params=layer, collapse=2).source
    assert "... x 396 steps" in src and len(NODE.findall(src)) < 60


def _norms(kind, unroll, lengths, kw):
    layer, loss = build(kind, unroll, lengths=lengths, **kw)
    with ts.autograd.record_grad_norms():
        loss.backward()
    graph = G.capture(loss, params=layer)
    assert G.has_grad_norms(graph)
    return graph, [(n.name, n.tags, n.fn.grad_norms) for n in graph.ops()]


@pytest.mark.parametrize("kind,kw", CASES)
@pytest.mark.parametrize("lengths", [None, [5, 2]])
def test_step_norms_of_the_fast_path_equal_the_unrolled_graphs(kind, kw, lengths):
    fast_graph, fast = _norms(kind, False, lengths, kw)
    _, slow = _norms(kind, True, lengths, kw)
    assert len(fast) == len(slow)
    for (name, tags, a), (name2, tags2, b) in zip(fast, slow):
        assert (name, tags) == (name2, tags2)
        assert a is not None, f"{name} {tags}: no norm from the fast path"
        assert np.allclose([x or 0.0 for x in a], [x or 0.0 for x in b], rtol=1e-9, atol=0)
    # the whole-sequence nodes themselves hold them per step: ||dL/dh_t|| and ||dL/dc_t||
    for fn, trace in fast_graph.sequences:
        rec = fn.step_norms
        for t, (_, new, _, _) in enumerate(trace["cells"]):
            assert rec.h[t] == new[0]._ctx.grad_norms[new[0]._idx]
            if kind == "LSTM":
                assert rec.c[t] == new[1]._ctx.grad_norms[new[1]._idx]


def test_shared_weight_contributions_sum_to_its_gradient():
    layer, loss = build("RNN", False, steps=6)
    with ts.autograd.record_grad_norms():
        loss.backward()
    graph = G.capture(loss, params=layer)
    G.attach_step_norms(graph)
    (fn, trace), = graph.sequences
    parts = fn.step_norms.w_hh
    assert len(parts) == 6 and all(p > 0 for p in parts[1:])
    assert parts[0] == 0  # h_0 = 0: the first step adds nothing to dW_hh
    total = float(np.sqrt((layer.weight_hh_l0.grad.numpy() ** 2).sum()))
    assert math.isclose(fn.step_norms.totals["w_hh"], total, rel_tol=1e-9)
    assert total <= sum(parts) + 1e-12  # the triangle inequality: the sum of the steps' parts


def test_drawing_leaves_training_on_the_fast_path_and_grads_alone():
    layer, loss = build("LSTM", False)
    draw(loss, params=layer, grads=True)
    assert all(p.grad is None for p in layer.parameters())
    out, _ = layer(ts.randn(5, 2, 3, dtype="float64"))
    assert out._ctx.name == "cat" or out._ctx.name == "lstm"
    names = [n.name for n in G.capture(out.sum(), unroll=False).ops()]
    assert names.count("lstm") == 1 and "lstm_cell" not in names


def test_grads_true_colours_the_default_layers_cells():
    layer, loss = build("LSTM", False)
    src = draw(loss, params=layer, grads=True).source
    cells = [line for line in src.splitlines() if 'label="lstm_cell' in line]
    assert len(cells) == 5 and all("fillcolor" in c and "|g|" in c for c in cells)


def test_initial_states_are_labelled():
    layer, loss = build("LSTM", False)
    src = draw(loss, params=layer).source
    assert src.count('label="h_0') == 1 and src.count('label="c_0') == 1


# ---- what a review found: the replay must leave the caller's nodes alone, and agree --------

def _all_norms(graph):
    return [(n.name, n.tags, n.fn.grad_norms) for n in graph.ops()]


@pytest.mark.parametrize("kind", ["GRU", "LSTM"])
def test_a_layer_stepped_by_its_caller_keeps_the_callers_norms(kind):
    results = []
    for unroll in (False, True):
        ts.manual_seed(0)
        layer = getattr(nn, kind)(3, 4, unroll=unroll, dtype="float64")
        x, state = ts.randn(3, 2, 3, dtype="float64"), None
        for t in range(3):  # as a decoder does: one step per call, tagged by the caller
            with ts.graph_tags(step=t):
                out, state = layer(x[t:t + 1], state)
        h = state[0] if kind == "LSTM" else state
        loss = out.sum() + h.sum()
        with ts.autograd.record_grad_norms():
            loss.backward()
        graph = G.capture(loss, params=layer)
        G.attach_step_norms(graph)
        results.append(_all_norms(graph))
    for (name, tags, a), (_, _, b) in zip(*results):
        assert np.allclose([x or 0 for x in a], [x or 0 for x in b], rtol=1e-9), (name, tags)


@pytest.mark.parametrize("kind,kw", CASES)
def test_grads_drawing_is_the_unroll_true_drawing(kind, kw):
    sources = []
    for unroll in (False, True):
        layer, loss = build(kind, unroll, **kw)
        with ts.autograd.record_grad_norms():
            loss.backward()
        sources.append(draw(loss, params=layer, grads=True).source)
    assert sources[0] == sources[1]


def test_drawing_twice_gives_the_same_picture():
    layer, loss = build("LSTM", False)
    first = draw(loss, params=layer, grads=True).source
    assert draw(loss, params=layer, grads=True).source == first
    assert "weight_hh_l0\\n(16, 4) float64\\n|g| = " in first


def test_a_cut_from_a_freed_chunk_draws_with_grads():
    ts.manual_seed(0)
    layer, xs = nn.LSTM(3, 4), ts.randn(6, 2, 3)
    out1, state = layer(xs[:3])
    loss1 = out1.sum()
    loss1.backward()  # frees chunk 1's graph, which loss1 still holds
    out2, _ = layer(xs[3:], tuple(s.detach() for s in state))
    src = draw(out2.sum(), params=layer, grads=True, memory=True).source
    assert src.count('label="detached\\n(') == 2 and "already freed" not in src


def test_an_unbatched_detached_state_keeps_its_cut():
    ts.manual_seed(0)
    layer, xs = nn.RNN(3, 4), ts.randn(6, 3)
    out1, h = layer(xs[:3])
    out2, _ = layer(xs[3:], h.detach())
    src = draw(out1.sum(), out2.sum(), params=layer).source
    assert 'label="detached after t = 2' in src and 'label="detach"' in src


def test_a_detached_tensor_still_pickles():
    import pickle
    a = ts.randn(3, requires_grad=True)
    b = pickle.loads(pickle.dumps(ts.cat([a, a]).detach()))
    assert b.shape == (6,) and b._note.origins == ()


def test_an_edge_carries_its_gradient_with_broadcasting_undone():
    x = ts.randn(3, 4)
    b = ts.zeros(4, requires_grad=True)
    loss = (x + b).sum() + (x * 2 + b).sum()
    with ts.autograd.record_grad_norms():
        loss.backward()
    adds = [n.fn for n in G.capture(loss).ops() if n.name == "add" and n.fn.input_norms
            and len(n.fn.parents) == 2 and n.fn.parents[1] is b]
    assert len(adds) == 2 and all(f.input_norms[1] == pytest.approx(6.0) for f in adds)
