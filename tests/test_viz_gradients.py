"""The drawings' gradients and the rest of ``ts.viz.draw``'s options: the absolute colour scale,
gradient norms (and each step's share of a shared weight's, checked against a hand-written
BPTT), the seq2seq attention edges, the options' checks and the HTML page. Only the HTML test
calls Graphviz's `dot`, and it skips without it."""

import colorsys
import math
import re
import shutil

import numpy as np
import pytest
from viz_dot import (
    cluster_members,
    grad_norm_in,
    leaves,
    lstm,
    named,
    numpy_rnn,
    parse,
    rnn_with_grads,
    step_of,
)

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.viz import graph as G
from tinygrad_seq.viz.dot import draw, render
from tinygrad_seq.viz.style import _Scale

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
