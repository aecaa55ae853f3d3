"""Recurrent layers beyond PyTorch parity: fused vs composed cells, the lecture's LSTM variants,
Cho's GRU, long BPTT, bad input."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import nn


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_peephole_lstm_equations():
    m = nn.LSTM(2, 3, peephole=True).double()
    assert m.weight_peephole_l0.shape == (3, 3)
    x = np.random.default_rng(0).standard_normal((4, 1, 2))
    out, (h_n, c_n) = m(ts.tensor(x))
    p = {n: v.numpy() for n, v in m.named_parameters()}
    h, c = np.zeros((1, 3)), np.zeros((1, 3))
    for t in range(4):
        a = x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        ai, af, ag, ao = np.split(a, 4, axis=1)
        pi, pf, po = p["weight_peephole_l0"]
        i, f = sigmoid(ai + pi * c), sigmoid(af + pf * c)
        c = f * c + i * np.tanh(ag)
        h = sigmoid(ao + po * c) * np.tanh(c)
        np.testing.assert_allclose(out.numpy()[t], h, rtol=1e-12)
    np.testing.assert_allclose(c_n.numpy()[0], c, rtol=1e-12)


def test_coupled_lstm_equations():
    m = nn.LSTM(2, 3, coupled=True).double()
    assert m.weight_ih_l0.shape == (9, 2)  # three gate blocks: f, g, o
    x = np.random.default_rng(1).standard_normal((4, 1, 2))
    out, _ = m(ts.tensor(x))
    p = {n: v.numpy() for n, v in m.named_parameters()}
    h, c = np.zeros((1, 3)), np.zeros((1, 3))
    for t in range(4):
        a = x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + h @ p["weight_hh_l0"].T + p["bias_hh_l0"]
        af, ag, ao = np.split(a, 3, axis=1)
        f = sigmoid(af)
        c = f * c + (1 - f) * np.tanh(ag)
        h = sigmoid(ao) * np.tanh(c)
    np.testing.assert_allclose(out.numpy()[-1], h, rtol=1e-12)


def test_gru_reset_before_matmul_equations():
    m = nn.GRU(2, 3, reset_after=False).double()
    x = np.random.default_rng(2).standard_normal((4, 1, 2))
    out, _ = m(ts.tensor(x))
    p = {n: v.numpy() for n, v in m.named_parameters()}
    w_hr, w_hz, w_hn = np.split(p["weight_hh_l0"], 3)
    b_hr, b_hz, b_hn = np.split(p["bias_hh_l0"], 3)
    h = np.zeros((1, 3))
    for t in range(4):
        gi = x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"]
        gr, gz, gn = np.split(gi, 3, axis=1)
        r, z = sigmoid(gr + h @ w_hr.T + b_hr), sigmoid(gz + h @ w_hz.T + b_hz)
        n = np.tanh(gn + (r * h) @ w_hn.T + b_hn)
        h = (1 - z) * n + z * h
    np.testing.assert_allclose(out.numpy()[-1], h, rtol=1e-12)


@pytest.mark.parametrize("options", [{"peephole": True}, {"coupled": True}, {"residual": True},
                                     {"peephole": True, "coupled": True, "residual": True}])
def test_lstm_variants_gradcheck(options):
    ts.manual_seed(0)
    m = nn.LSTM(4, 4, num_layers=2, bidirectional=False, **options).double()
    x = ts.tensor(np.random.default_rng(0).standard_normal((3, 2, 4)), requires_grad=True)
    params = list(m.parameters())

    def run(x, *ps):
        return m(x)[0]

    assert ts.gradcheck(run, [x] + params)


def test_gru_reset_before_gradcheck():
    ts.manual_seed(0)
    m = nn.GRU(2, 3, reset_after=False).double()
    x = ts.tensor(np.random.default_rng(0).standard_normal((3, 2, 2)), requires_grad=True)
    assert ts.gradcheck(lambda x, *ps: m(x)[0], [x] + list(m.parameters()))


def test_residual_adds_layer_input():
    m = nn.GRU(3, 3, num_layers=2, residual=True).double()
    plain = nn.GRU(3, 3, num_layers=2).double()
    plain.load_state_dict(m.state_dict())
    x = ts.tensor(np.random.default_rng(0).standard_normal((4, 1, 3)))
    first = nn.GRU(3, 3).double()
    first.load_state_dict({k: v for k, v in m.state_dict().items() if k.endswith("_l0")})
    layer0, _ = first(x)
    out_res, _ = m(x)
    out_plain, _ = plain(x)
    np.testing.assert_allclose(out_res.numpy(), out_plain.numpy() + layer0.numpy(), rtol=1e-12)


def test_bptt_over_5000_steps_gives_finite_gradients():
    ts.manual_seed(0)
    m = nn.LSTM(4, 8)
    x = ts.randn(5000, 2, 4)
    out, (h, c) = m(x)
    (h * h).sum().backward()
    grads = [p.grad.numpy() for p in m.parameters()]
    assert all(np.isfinite(g).all() for g in grads)
    assert any(np.abs(g).sum() > 0 for g in grads)


def test_gru_cell_reset_after_false_matches_layer():
    cell = nn.GRUCell(2, 3, reset_after=False).double()
    layer = nn.GRU(2, 3, reset_after=False).double()
    layer.load_state_dict({k + "_l0": v for k, v in cell.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((3, 1, 2))
    h = None
    for t in range(3):
        h = cell(ts.tensor(x[t]), h)
    out, _ = layer(ts.tensor(x))
    np.testing.assert_allclose(out.numpy()[-1], h.numpy(), rtol=1e-12)


# ---- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("kwargs, match", [
    ({"hidden_size": 0}, "hidden_size must be a positive integer"),
    ({"hidden_size": -3}, "hidden_size must be a positive integer"),
    ({"num_layers": 0}, "num_layers must be at least 1"),
    ({"dropout": 1.0}, r"dropout must be in \[0, 1\)"),
    ({"dropout": -0.1}, r"dropout must be in \[0, 1\)"),
])
def test_construction_errors(kwargs, match):
    args = {"input_size": 3, "hidden_size": 4, **kwargs}
    with pytest.raises(ValueError, match=match):
        nn.LSTM(**args)


def test_variants_only_for_lstm():
    with pytest.raises(TypeError, match="GRU: unknown option 'peephole'"):
        nn.GRU(3, 4, peephole=True)


def test_wrong_input_rank_and_features():
    m = nn.GRU(3, 4)
    with pytest.raises(ts.ShapeError, match=r"GRU: expected input \(seq, batch, features\) with "
                                            r"features = 3.*got shape \(5, 2, 7\)"):
        m(ts.randn(5, 2, 7))
    with pytest.raises(ts.ShapeError, match=r"got shape \(5,\)"):
        m(ts.randn(5))
    with pytest.raises(ts.ShapeError, match=r"batch, seq, features"):
        nn.GRU(3, 4, batch_first=True)(ts.randn(2, 5, 1))
    with pytest.raises(ts.ShapeError, match="empty input"):
        m(ts.randn(0, 2, 3))


def test_wrong_initial_state_says_which():
    m = nn.LSTM(3, 4, num_layers=2)
    x = ts.randn(5, 2, 3)
    good = ts.zeros(2, 2, 4)
    msg = r"LSTM: c_0 should have shape \(2, 2, 4\), got \(1, 2, 4\)"
    with pytest.raises(ts.ShapeError, match=msg):
        m(x, (good, ts.zeros(1, 2, 4)))
    with pytest.raises(ts.ShapeError, match=r"h_0 should have shape \(2, 2, 4\), got \(2, 3, 4\)"):
        m(x, (ts.zeros(2, 3, 4), good))
    with pytest.raises(TypeError, match=r"tuple \(h_0, c_0\)"):
        m(x, good)
    with pytest.raises(ts.ShapeError, match="RNNCell: h should have shape"):
        nn.RNNCell(3, 4)(ts.randn(2, 3), ts.zeros(3, 4))


def test_bad_lengths():
    m = nn.RNN(3, 4)
    x = ts.randn(5, 2, 3)
    msg = "lengths must be between 1 and the padded length 5, got 6"
    with pytest.raises(ValueError, match=msg):
        m(x, lengths=[6, 2])
    with pytest.raises(ValueError, match="got 0"):
        m(x, lengths=[0, 2])
    with pytest.raises(ts.ShapeError, match="lengths should be 2 integers"):
        m(x, lengths=[3, 2, 1])
    with pytest.raises(ValueError, match="prefix"):
        m(x, mask=np.array([[1, 1], [0, 1], [1, 1], [0, 0], [0, 0]], dtype=bool))


def test_mask_equals_lengths():
    m = nn.GRU(3, 4).double()
    x = ts.tensor(np.random.default_rng(0).standard_normal((5, 2, 3)))
    mask = np.arange(5)[:, None] < np.array([3, 5])
    a, ha = m(x, lengths=[3, 5])
    b, hb = m(x, mask=mask)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(ha.numpy(), hb.numpy())
