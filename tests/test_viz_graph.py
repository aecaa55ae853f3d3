"""Graph drawings (tinygrad_seq.viz): structure of the DOT source, collapse, gradient colouring,
fused-cell expansion, rendering and the rolled circuit picture. Fast: nothing here lays out a
large graph; only the rendering tests call Graphviz's `dot`, and they skip without it."""

import math
import re
import shutil
import warnings

import pytest

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.viz import graph as G
from tinygrad_seq.viz.dot import draw, render
from tinygrad_seq.viz.rolled import draw_rolled

NODE = re.compile(r"^\s*(\w+) \[label=", re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)", re.M)
CLUSTER = re.compile(r"subgraph (cluster_\w+) \{")


def nodes(source):
    return [n for n in NODE.findall(source) if not n.startswith("legend_")]


def clusters(source):
    return CLUSTER.findall(source)


def run_layer(kind, steps, layers=1, bidirectional=False, batch=2, **options):
    ts.manual_seed(0)
    layer = getattr(nn, kind)(3, 4, num_layers=layers, bidirectional=bidirectional, **options)
    out, _ = layer(ts.randn(steps, batch, 3))
    return layer, out.sum()


class Encoder(nn.Module):
    def __init__(self, rnn):
        self.rnn = rnn


# ---- grouping by time ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("layers,bidirectional", [(1, False), (2, False), (2, True)])
def test_one_cluster_per_layer_direction_and_step(kind, layers, bidirectional):
    steps = 4
    layer, loss = run_layer(kind, steps, layers, bidirectional, unroll=True)
    src = draw(loss, params=layer, group="time").source
    names = clusters(src)
    dirs = 2 if bidirectional else 1
    step_clusters = [c for c in names if re.fullmatch(r"cluster_l\d+(_d\d)?_t\d+", c)]
    assert len(step_clusters) == len(set(step_clusters)) == layers * dirs * steps
    assert sorted(c for c in names if re.fullmatch(r"cluster_l\d+", c)) == [
        f"cluster_l{k}" for k in range(layers)]
    assert len([c for c in names if re.fullmatch(r"cluster_l\d+_d\d", c)]) == (
        layers * dirs if bidirectional else 0)
    for t in range(steps):
        assert src.count(f'label="t = {t}"') == layers * dirs
    # the fused cell is one node per step and direction
    cell = {"LSTM": "lstm_cell", "GRU": "gru_cell", "RNN": "tanh"}[kind]
    assert src.count(f'[label="{cell}"') == layers * dirs * steps


def test_module_tag_separates_two_recurrences_with_the_same_layer_numbers():
    ts.manual_seed(0)
    enc, dec = nn.GRU(3, 4, unroll=True), nn.GRU(4, 4, unroll=True)
    with ts.graph_tags(module="encoder"):
        out, h = enc(ts.randn(6, 1, 3))
    with ts.graph_tags(module="decoder"):
        out, _ = dec(out, h)
    src = draw(out.sum()).source
    for part in ("encoder", "decoder"):
        assert f"subgraph cluster_{part} {{" in src and re.search(f'label="?{part}[" ]', src)
        assert len([c for c in clusters(src) if c.startswith(f"cluster_{part}_l0_t")]) == 6
    assert draw(out.sum(), collapse=1).source.count("... x 4 steps") == 2


def test_parameters_named_by_module_path_and_drawn_once_outside_clusters():
    layer, loss = run_layer("LSTM", 5, unroll=True)
    model = Encoder(layer)
    src = draw(loss, params=model).source
    for name in ("rnn.weight_hh_l0", "rnn.weight_ih_l0", "rnn.bias_ih_l0", "rnn.bias_hh_l0"):
        assert src.count(f'label="{name}\\n') == 1
    # top-level lines have one tab; cluster members have more
    line = next(s for s in src.splitlines() if 'label="rnn.weight_hh_l0' in s)
    assert line.startswith("\t") and not line.startswith("\t\t")
    src = draw(loss, params={"W_hh": layer.weight_hh_l0}).source
    assert 'label="W_hh\\n(16, 4) float32"' in src


def test_node_and_edge_counts_grow_linearly_with_steps():
    counts = []
    for steps in (5, 10, 20):
        _, loss = run_layer("GRU", steps, unroll=True)
        src = draw(loss).source
        counts.append((len(nodes(src)), len(EDGE.findall(src))))
    (n5, e5), (n10, e10), (n20, e20) = counts
    assert n20 - n10 == 2 * (n10 - n5) and n10 > n5
    assert e20 - e10 == 2 * (e10 - e5) and e10 > e5


def test_deterministic_source():
    _, loss = run_layer("LSTM", 3, layers=2, unroll=True)
    assert draw(loss).source == draw(loss).source


@pytest.mark.parametrize("show", ["ops", "tensors", "both"])
def test_show_modes(show):
    layer, loss = run_layer("RNN", 3, unroll=True)
    src = draw(loss, params=layer, show=show).source
    assert "weight_hh_l0" in src
    has_ops = '[label="tanh"' in src
    assert has_ops == (show in ("ops", "both"))
    if show == "tensors":  # the op that made a tensor is named on it
        assert 'label="tanh\\n(2, 4) float32"' in src


# ---- collapse ---------------------------------------------------------------------------------

def test_collapse_bounds_the_node_count():
    sizes = []
    for steps in (50, 500):
        _, loss = run_layer("GRU", steps, batch=1, unroll=True)
        src = draw(loss, collapse=(2, 3)).source
        sizes.append((len(nodes(src)), len(EDGE.findall(src))))
        assert f"... x {steps - 5} steps" in src
        assert f'label="t = 2 ... {steps - 4}"' in src
        kept = {int(t) for t in re.findall(r'label="t = (\d+)"', src)}
        assert kept == {0, 1, steps - 3, steps - 2, steps - 1}
    assert sizes[0] == sizes[1]
    assert draw(loss, collapse=2).source == draw(loss, collapse=(2, 2)).source
    with pytest.raises(ValueError, match="collapse"):
        draw(loss, collapse=(1, -1))


def test_collapse_per_layer_and_direction():
    _, loss = run_layer("LSTM", 30, layers=2, bidirectional=True, batch=1, unroll=True)
    src = draw(loss, collapse=1).source
    assert src.count("... x 28 steps") == 4
    assert len(nodes(src)) < 200


def test_max_nodes_warns_and_suggests_collapse():
    _, loss = run_layer("RNN", 10, unroll=True)
    with pytest.warns(UserWarning, match="collapse="):
        draw(loss, max_nodes=20)


def test_100k_node_chain_builds_without_recursion():
    k = ts.tensor(0.5, requires_grad=True)
    h = ts.tensor(0.1, requires_grad=True)
    for _ in range(50_000):  # two ops a step: 100,000 op nodes
        h = (h * k).tanh()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        src = draw(h).source
    assert src.count('[label="tanh"') == 50_000 and src.count('[label="mul"') == 50_000
    drawn = [e for e in EDGE.findall(src) if not e[0].startswith("legend_")]
    assert len(drawn) == 150_001  # two operands per mul, one per tanh, the output


# ---- gradients --------------------------------------------------------------------------------

def rnn_cell_loop(steps=8):
    """An RNN stepped by hand with nn.RNNCell; every hidden state hooked for its gradient."""
    ts.manual_seed(1)
    cell = nn.RNNCell(3, 5)
    xs = ts.randn(steps, 2, 3)
    h, seen = None, {}

    def hook(t):
        def record(g):
            seen[t] = math.sqrt((g * g).sum().item())
            seen["calls"] = seen.get("calls", 0) + 1
        return record

    for t in range(steps):
        with ts.graph_tags(step=t):
            h = cell(xs[t], h)
        h.register_hook(hook(t))
    return cell, h.sum(), seen


def tanh_norms(src):
    """{step: grad norm} from the tooltips of the tanh nodes (each step's hidden state)."""
    found = re.findall(r'\[label="tanh\\n\|g\| = [^"]*"[^\]]*tooltip="tanh[^"]*step=(\d+)'
                       r'\\ngrad norm = ([0-9.e+-]+)(?:\\n[^"]*)?"', src)
    return {int(t): float(v) for t, v in found}


def test_grads_annotate_hidden_states_with_hook_norms():
    cell, loss, seen = rnn_cell_loop()
    with ts.autograd.record_grad_norms():
        loss.backward()
    src = draw(loss, params=cell, grads=True).source
    drawn = tanh_norms(src)
    assert seen.pop("calls") == 8
    assert sorted(drawn) == sorted(seen) == list(range(8))
    for t in seen:
        assert drawn[t] == pytest.approx(seen[t], rel=1e-5)
    assert "fillcolor=\"#" in src and "legend_grads" in src and "vanishing" in src
    assert seen[0] < seen[7]  # the gradient shrinks going back in time: colours must differ
    fills = dict(re.findall(r'step=(\d+)\\ngrad norm[^\]]*?fillcolor="(#\w+)"', src))
    assert len(set(fills.values())) > 1


def test_grads_computed_by_draw_match_hooks_and_leave_grad_alone():
    cell, loss, seen = rnn_cell_loop()
    loss.backward(retain_graph=True)  # hooks see the gradients; no norms recorded
    graph = G.capture(loss)
    assert not G.has_grad_norms(graph)
    cell.zero_grad()
    src = draw(loss, grads=True).source
    assert cell.weight_hh.grad is None  # draw's own backward does not touch .grad
    assert seen.pop("calls") == 8  # nor run the user's hooks a second time
    drawn = tanh_norms(src)
    for t in seen:
        assert drawn[t] == pytest.approx(seen[t], rel=1e-5)
    # the data model gives the same numbers
    tanhs = [n for n in G.capture(loss).ops() if n.name == "tanh"]
    assert sorted(n.grad_norms[0] for n in tanhs) == pytest.approx(sorted(seen.values()))


def test_grads_recomputed_for_a_new_root_over_recorded_nodes():
    layer, loss = run_layer("RNN", 4, unroll=True)
    out = loss.grad_fn.parents[0]
    with ts.autograd.record_grad_norms():
        loss.backward(retain_graph=True)
    doubled = out.sum() * 2  # shares every node but the last two with loss
    assert not G.has_grad_norms(G.capture(doubled))
    src = draw(doubled, grads=True).source
    assert re.search(r'label="mul\\n\|g\| = 1.00e\+00"', src)
    assert re.search(r'label="sum\\n\|g\| = 2.00e\+00"', src)


def test_grads_after_freed_backward_is_a_clear_error():
    _, loss, _ = rnn_cell_loop()
    loss.backward()
    with pytest.raises(RuntimeError, match="record_grad_norms"):
        draw(loss, grads=True)
    # nothing half-recorded is left behind
    assert not G.has_grad_norms(G.capture(loss))


def test_grads_on_an_unrolled_layer_colours_edges():
    layer, loss = run_layer("RNN", 6, unroll=True)
    src = draw(loss, params=layer, grads=True).source
    assert re.search(r'-> \w+ \[color="#\w+" penwidth="2"\]', src)


# ---- fused cells and whole-sequence nodes ------------------------------------------------------

@pytest.mark.parametrize("kind,cell,marker", [("LSTM", "lstm_cell", "h' = o * tanh(c')"),
                                              ("GRU", "gru_cell", "h' = (1-z)*n + z*h")])
def test_expand_opens_fused_cells_into_their_pointwise_ops(kind, cell, marker):
    steps = 3
    _, loss = run_layer(kind, steps, unroll=True)
    plain, expanded = draw(loss).source, draw(loss, expand=True).source
    assert plain.count(f'[label="{cell}"') == steps and marker not in plain
    assert expanded.count(f'[label="{cell}"') == 0
    assert expanded.count(f"{cell} (expanded)") == steps
    assert expanded.count(marker) == steps
    assert expanded.count("sigmoid") == steps * (3 if kind == "LSTM" else 2)
    size = len(G.CELL_TEMPLATES[cell])
    assert len(nodes(expanded)) == len(nodes(plain)) + steps * (size - 1)
    # every template node is reached: no dangling ends
    ends = {b for _, b in EDGE.findall(expanded)} | {a for a, _ in EDGE.findall(expanded)}
    assert all(n in ends for n in nodes(expanded))


def test_whole_sequence_node_label_and_hint():
    _, loss = run_layer("LSTM", 7)
    src = draw(loss, unroll=False).source
    assert 'label="lstm (whole sequence, 7 steps)"' in src
    assert "unroll=False" in src
    assert "cluster_l0_t" not in src  # no per-step clusters to draw


# ---- rendering --------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_render_svg(tmp_path):
    layer, loss = run_layer("LSTM", 3, unroll=True)
    path = render(loss, params=layer, path=tmp_path / "lstm.svg")
    text = open(path).read()
    assert path.endswith("lstm.svg") and "<svg" in text and "weight_hh_l0" in text
    assert "t = 2" in text


def test_render_dot_format_writes_source(tmp_path):
    _, loss = run_layer("RNN", 2, unroll=True)
    path = render(loss, path=tmp_path / "g", format="dot")
    assert path.endswith("g.dot")
    assert open(path).read().startswith("digraph")


def test_render_without_dot_writes_source_and_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no `dot` anywhere on PATH
    _, loss = run_layer("GRU", 2, unroll=True)
    target = tmp_path / "gru.png"
    with pytest.raises(RuntimeError) as err:
        render(loss, path=target)
    message = str(err.value)
    source = tmp_path / "gru.dot"
    assert str(source) in message and "apt-get install graphviz" in message
    assert "brew install graphviz" in message and "graphviz.org" in message
    assert source.read_text().startswith("digraph") and not target.exists()


# ---- the rolled picture -----------------------------------------------------------------------

def test_draw_rolled_lstm_has_delay_loop_and_parameter_names():
    src = draw_rolled(nn.LSTM(3, 4)).source
    assert "z^-1" in src and "delay" in src
    delay, cell = "m0_z0", "m0_c0"
    assert re.search(rf'{delay} -> {cell} \[label="h_t-1, c_t-1"', src)
    assert re.search(rf'{cell} -> {delay} \[label="h_t, c_t"', src)
    for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
        assert src.count(name) == 2  # rolled and unrolled, each drawn once
    assert "cluster_rolled_0" in src and "cluster_unrolled_0" in src
    # the unrolled form: three copies of the cell, the weights fanned out to each
    assert len(re.findall(r"m0_uw0 -> m0_c0_\d", src)) == 3
    for step in ("t-1", "t", "t+1"):
        assert f'"LSTM cell\\n{step}"' in src


def test_draw_rolled_stacked_bidirectional_and_models():
    src = draw_rolled(Encoder(nn.GRU(3, 4, num_layers=2, bidirectional=True))).source
    assert "rnn.weight_hh_l1_reverse" in src and "rnn.weight_ih_l0" in src
    assert src.count("z^-1") == 2 and src.count("z^+1") == 2  # reverse runs from the end
    assert "m0_h0 -> m0_c1" in src and "m0_h0 -> m0_c1r" in src  # layer 1 reads layer 0
    cell_src = draw_rolled(nn.RNNCell(3, 4)).source
    assert "weight_hh  (4, 4)" in cell_src and "z^-1" in cell_src
    with pytest.raises(TypeError, match="recurrent"):
        draw_rolled(nn.Linear(3, 4))
