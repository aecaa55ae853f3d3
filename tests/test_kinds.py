"""Cell kinds (nn/recurrent/): each states its facts in one place, the layers, cells, drawings,
command line, seq2seq models and plots read them, an option of another kind is an error, and
the kind added on top of the three, the minimal gated unit, works everywhere they do: checked
against an independent NumPy version of its equations, gradient-checked, drawn."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.app.cli import main
from tinygrad_seq.nn.recurrent import KINDS, RecurrentCell, RecurrentLayer
from tinygrad_seq.nn.seq2seq import Seq2Seq
from tinygrad_seq.viz import graph as G
from tinygrad_seq.viz.dot import draw
from tinygrad_seq.viz.plots import gradient_norms
from tinygrad_seq.viz.rolled import draw_rolled


def test_the_registry_lists_every_kind_with_its_modules():
    assert list(KINDS) == ["rnn", "lstm", "gru", "mgu"]
    for name, kind in KINDS.items():
        assert kind.name == name and kind.title and kind.equations and kind.gates
        assert issubclass(kind.layer, RecurrentLayer) and kind.layer.kind is kind
        assert issubclass(kind.cell, RecurrentCell) and kind.cell.kind is kind
        assert getattr(nn, kind.title) is kind.layer and getattr(nn, kind.title + "Cell") is \
            kind.cell
        layer = kind.layer(3, 5)
        assert layer.weight_ih_l0.shape == (len(kind.gates) * 5, 3)
        assert kind.sequence_outputs()[0] == "out" and len(kind.step_outputs()) == \
            len(kind.states)


@pytest.mark.parametrize("make, option", [
    (lambda: nn.LSTM(3, 4, reset_after=False), "reset_after"),
    (lambda: nn.LSTM(3, 4, nonlinearity="relu"), "nonlinearity"),
    (lambda: nn.GRU(3, 4, coupled=True), "coupled"),
    (lambda: nn.RNN(3, 4, peephole=True), "peephole"),
    (lambda: nn.MGU(3, 4, reset_after=True), "reset_after"),
    (lambda: nn.LSTMCell(3, 4, nonlinearity="tanh"), "nonlinearity"),
    (lambda: nn.GRUCell(3, 4, peephole=True), "peephole"),
    (lambda: nn.MGUCell(3, 4, coupled=True), "coupled"),
], ids=lambda v: v if isinstance(v, str) else "")
def test_an_option_of_another_kind_is_an_error(make, option):
    with pytest.raises(TypeError, match=rf"unknown option '{option}' \(the \w+ options are"):
        make()


def test_bad_option_values_and_the_kinds_own_options():
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNN(3, 4, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu'"):
        nn.RNNCell(3, 4, nonlinearity="sigmoid")
    assert nn.RNN(3, 4, 1, "relu").nonlinearity == "relu"  # PyTorch's positional order
    assert nn.LSTM(3, 4, peephole=True).weight_peephole_l0.shape == (3, 4)
    assert nn.LSTM(3, 4, coupled=True).weight_hh_l0.shape == (12, 4)  # gates f, g, o
    assert "reset_after=False" in repr(nn.GRU(3, 4, reset_after=False))
    cell = nn.LSTMCell(3, 4, peephole=True)  # a cell takes its kind's options too
    h, c = cell(ts.randn(2, 3))
    assert h.shape == (2, 4) and cell.weight_peephole.shape == (3, 4)


def test_fused_ops_and_templates_come_from_the_kinds():
    assert set(G.FUSED_OPS) == {"lstm_cell", "gru_cell"}
    assert set(G.SEQUENCE_OPS) == {"lstm", "gru", "rnn"}
    assert G.OUTPUT_NAMES["lstm"] == ("out", "h_n", "c_n")
    assert G.OUTPUT_NAMES["lstm_cell"] == ("h'", "c'")
    assert G.TEMPLATE_OUTPUTS["gru_cell"] == ("h",)


# ---- the minimal gated unit -------------------------------------------------------------------


def mgu_reference(x, h, w_ih, w_hh, b_ih, b_hh, reverse=False):
    """Zhou et al. (2016), written out in NumPy: (T, B, I) -> outputs (T, B, H), final h."""
    size = h.shape[-1]
    outs = [None] * len(x)
    for t in (range(len(x) - 1, -1, -1) if reverse else range(len(x))):
        gi = x[t] @ w_ih.T + b_ih
        f = 1 / (1 + np.exp(-(gi[:, :size] + h @ w_hh[:size].T + b_hh[:size])))
        n = np.tanh(gi[:, size:] + (f * h) @ w_hh[size:].T + b_hh[size:])
        h = (1 - f) * h + f * n
        outs[t] = h
    return np.stack(outs), h


def test_mgu_layer_equals_the_equations():
    ts.manual_seed(0)
    layer = nn.MGU(3, 5, num_layers=2, bidirectional=True).double()
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    out, h_n = layer(ts.tensor(x, dtype=ts.float64))
    layer_in, finals = x, []
    for k in range(2):
        outs = []
        for d, sfx in enumerate([f"_l{k}", f"_l{k}_reverse"]):
            p = {n: getattr(layer, n + sfx).numpy() for n in
                 ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
            o, h = mgu_reference(layer_in, np.zeros((2, 5)), p["weight_ih"], p["weight_hh"],
                                 p["bias_ih"], p["bias_hh"], reverse=bool(d))
            outs.append(o)
            finals.append(h)
        layer_in = np.concatenate(outs, axis=2)
    np.testing.assert_allclose(out.numpy(), layer_in, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(h_n.numpy(), np.stack(finals), rtol=1e-12, atol=1e-13)


def test_mgu_gradcheck_with_lengths_and_initial_state():
    ts.manual_seed(1)
    layer = nn.MGU(2, 3, batch_first=True).double()
    x = ts.randn(2, 4, 2, dtype=ts.float64, requires_grad=True)
    h0 = ts.randn(1, 2, 3, dtype=ts.float64, requires_grad=True)
    params = list(layer.parameters())
    assert ts.gradcheck(lambda x, h0, *_: layer(x, h0, lengths=[4, 2])[0], [x, h0, *params])
    cell = nn.MGUCell(2, 3).double()
    assert ts.gradcheck(lambda x, h, *_: cell(x, h), [x[:, 0], h0[0], *cell.parameters()])


def test_mgu_cell_is_one_step_of_the_layer_and_padding_freezes_the_state():
    ts.manual_seed(2)
    layer, cell = nn.MGU(3, 4), nn.MGUCell(3, 4)
    cell.load_state_dict({k[:-3]: v for k, v in layer.state_dict().items()})
    x = ts.randn(5, 2, 3)
    out, h_n = layer(x, lengths=[5, 3])
    h = None
    for t in range(3):
        h = cell(x[t], h)
    np.testing.assert_allclose(out[2].numpy(), h.numpy(), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(h_n[0, 1].numpy(), h[1].numpy(), rtol=1e-6, atol=1e-7)
    assert np.all(out[3:, 1].numpy() == 0)
    assert sorted(layer.state_dict()) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0",
                                          "weight_ih_l0"]


def test_mgu_is_drawn_unrolled_gate_by_gate_and_rolled():
    ts.manual_seed(3)
    layer = nn.MGU(3, 4)
    out, _ = layer(ts.randn(4, 1, 3))
    source = draw(out.sum(), params=layer).source
    for t in range(4):
        assert f'label="t = {t}"' in source
    assert "sigmoid" in source and "tanh" in source  # composed: every gate is a node
    assert "weight_hh_l0" in source
    rolled = draw_rolled(layer).source
    assert "MGU cell" in rolled and "(1-f)*h_t-1 + f*n" in rolled


def test_mgu_works_wherever_a_cell_kind_is_chosen(tmp_path):
    model = Seq2Seq(8, 8, embed_size=4, hidden_size=4, cell="mgu", attention="dot")
    logits, _ = model(ts.tensor([[4, 5, 6]]), None, ts.tensor([[1, 4]]))
    logits.sum().backward()
    assert model.encoder.rnn.weight_hh_l0.grad is not None
    norms = gradient_norms("mgu", steps=20, hidden_size=8, batch=2)
    assert norms.shape == (20,) and norms[-1] == pytest.approx(1.0)
    path = tmp_path / "mgu.dot"
    assert main(["graph", "--model", "mgu", "--steps", "3", "-o", str(path)]) == 0
    dot = path.read_text()
    assert "weight_hh_l0" in dot and all(f'label="t = {t}"' in dot for t in range(3))
