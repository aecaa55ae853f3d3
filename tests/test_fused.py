"""The fused recurrent ops against their references: the per-step fused cells and the
whole-sequence ops are gradient-checked in float64, and agree with the composed cells."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import seeds
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as ts
from tinygrad_seq import nn, ops
from tinygrad_seq.nn.recurrent.lstm import lstm_step


def leaf(shape, rng):
    return ts.tensor(rng.standard_normal(shape), requires_grad=True)


@given(seed=seeds, batch=st.integers(1, 3), hidden=st.integers(1, 4))
def test_fused_lstm_cell_gradcheck(seed, batch, hidden):
    rng = np.random.default_rng(seed)
    gates, c = leaf((batch, 4 * hidden), rng), leaf((batch, hidden), rng)
    assert ts.gradcheck(lambda g, c: ops.LSTMCell.apply(g, c), [gates, c])


@given(seed=seeds, batch=st.integers(1, 3), hidden=st.integers(1, 4))
def test_fused_gru_cell_gradcheck(seed, batch, hidden):
    rng = np.random.default_rng(seed)
    gi, gh, h = leaf((batch, 3 * hidden), rng), leaf((batch, 3 * hidden), rng), \
        leaf((batch, hidden), rng)
    assert ts.gradcheck(lambda a, b, c: ops.GRUCell.apply(a, b, c), [gi, gh, h])


def test_fused_lstm_with_only_one_output_used():
    rng = np.random.default_rng(0)
    gates, c = leaf((2, 8), rng), leaf((2, 2), rng)
    assert ts.gradcheck(lambda g, c: ops.LSTMCell.apply(g, c)[0], [gates, c])
    assert ts.gradcheck(lambda g, c: ops.LSTMCell.apply(g, c)[1], [gates, c])


@pytest.mark.parametrize("kind", ["LSTM", "GRU"])
def test_fused_equals_composed_in_a_layer(kind):
    fused = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True).double()
    composed = getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, fused=False).double()
    composed.load_state_dict(fused.state_dict())
    x = np.random.default_rng(0).standard_normal((6, 2, 3))
    outs = []
    for m in (fused, composed):
        xt = ts.tensor(x, requires_grad=True)
        out, _ = m(xt)
        (out * out).sum().backward()
        outs.append([out.numpy(), xt.grad.numpy()] + [p.grad.numpy() for p in m.parameters()])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


def test_fused_cell_makes_one_node_per_step():
    c = ts.zeros(1, 2)
    gates = ts.randn(1, 8, requires_grad=True)
    h_f, _ = lstm_step(gates, c, fused=True)
    h_c, _ = lstm_step(gates, c, fused=False)
    assert h_f.grad_fn.name == "lstm_cell" and h_f.grad_fn.parents[0] is gates
    assert h_c.grad_fn.name == "mul"  # o * tanh(c'), the last of the composed ops


def test_fused_op_refuses_create_graph():
    gates = ts.randn(1, 8, dtype=ts.float64, requires_grad=True)
    h, _ = ops.LSTMCell.apply(gates, ts.zeros(1, 2, dtype=ts.float64))
    with pytest.raises(RuntimeError, match="lstm_cell.*fused=False"):
        ts.grad(h.sum(), gates, create_graph=True)


def _keep(lengths, steps):
    if lengths is None:
        return None
    return np.arange(steps)[:, None, None] < np.array(lengths)[None, :, None]


SEQ_CASES = [(False, None), (True, None), (False, [3, 1]), (True, [2, 3])]


@pytest.mark.parametrize("reverse, lengths", SEQ_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_lstm_sequence_gradcheck(reverse, lengths, bias):
    rng = np.random.default_rng(0)
    steps, batch, size, hidden = 3, 2, 2, 2
    args = [leaf((steps, batch, size), rng), leaf((batch, hidden), rng), leaf((batch, hidden), rng),
            leaf((4 * hidden, size), rng), leaf((4 * hidden, hidden), rng)]
    if bias:
        args += [leaf((4 * hidden,), rng), leaf((4 * hidden,), rng)]
    keep = _keep(lengths, steps)
    assert ts.gradcheck(lambda *a: ops.LSTMSequence.apply(*a, reverse=reverse, keep=keep), args)


@pytest.mark.parametrize("reverse, lengths", SEQ_CASES)
@pytest.mark.parametrize("kind", ["GRU", "RNN_TANH", "RNN_RELU"])
def test_gru_and_rnn_sequence_gradcheck(reverse, lengths, kind):
    rng = np.random.default_rng(1)
    steps, batch, size, hidden = 3, 2, 2, 2
    gates = 3 if kind == "GRU" else 1
    args = [leaf((steps, batch, size), rng), leaf((batch, hidden), rng),
            leaf((gates * hidden, size), rng), leaf((gates * hidden, hidden), rng),
            leaf((gates * hidden,), rng), leaf((gates * hidden,), rng)]
    keep = _keep(lengths, steps)
    if kind == "GRU":
        fn = lambda *a: ops.GRUSequence.apply(*a, reverse=reverse, keep=keep)  # noqa: E731
    else:
        relu = kind == "RNN_RELU"
        fn = lambda *a: ops.RNNSequence.apply(*a, reverse=reverse, keep=keep,  # noqa: E731
                                              relu=relu)
    assert ts.gradcheck(fn, args)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("lengths", [None, [6, 2, 4]])
def test_sequence_op_equals_unrolled_fused_and_composed(kind, lengths):
    """The three implementations of one layer: whole-sequence op (default), per-step fused
    cells (unroll=True) and composed cells (fused=False) agree in values and all gradients."""
    ts.manual_seed(0)
    models = [getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True).double(),
              getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, unroll=True).double(),
              getattr(nn, kind)(3, 4, num_layers=2, bidirectional=True, fused=False).double()]
    for m in models[1:]:
        m.load_state_dict(models[0].state_dict())
    x = np.random.default_rng(0).standard_normal((6, 3, 3))
    results = []
    for m in models:
        xt = ts.tensor(x, requires_grad=True)
        out, h = m(xt, lengths=lengths)
        h = h[0] if kind == "LSTM" else h
        ((out * out).sum() + (h * h * h).sum()).backward()
        results.append([out.numpy(), h.numpy(), xt.grad.numpy()]
                       + [p.grad.numpy() for p in m.parameters()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-11, atol=1e-12)


def test_sequence_op_is_one_node_per_layer_and_direction():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    out, _ = m(ts.randn(50, 2, 3))
    assert out.grad_fn.name == "cat"
    assert [p.grad_fn.name for p in out.grad_fn.parents] == ["lstm", "lstm"]


def test_only_final_state_used():
    m = nn.LSTM(3, 4).double()
    m2 = nn.LSTM(3, 4, unroll=True).double()
    m2.load_state_dict(m.state_dict())
    x = ts.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    for model in (m, m2):
        _, (h, c) = model(x)
        c.sum().backward()
    for a, b in zip(m.parameters(), m2.parameters()):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-11)


@given(seed=seeds, steps=st.integers(1, 3), batch=st.integers(1, 2), size=st.integers(1, 2),
       hidden=st.integers(1, 2), reverse=st.booleans(),
       kind=st.sampled_from(["lstm", "gru", "rnn"]))
def test_sequence_ops_gradcheck_over_shapes(seed, steps, batch, size, hidden, reverse, kind):
    rng = np.random.default_rng(seed)
    gates = {"lstm": 4, "gru": 3, "rnn": 1}[kind] * hidden
    states = [leaf((batch, hidden), rng) for _ in range(2 if kind == "lstm" else 1)]
    args = [leaf((steps, batch, size), rng), *states, leaf((gates, size), rng),
            leaf((gates, hidden), rng), leaf((gates,), rng), leaf((gates,), rng)]
    op = {"lstm": ops.LSTMSequence, "gru": ops.GRUSequence, "rnn": ops.RNNSequence}[kind]
    lengths = rng.integers(1, steps + 1, batch)
    keep = np.arange(steps)[:, None, None] < lengths[None, :, None]
    assert ts.gradcheck(lambda *a: op.apply(*a, reverse=reverse, keep=keep), args)
