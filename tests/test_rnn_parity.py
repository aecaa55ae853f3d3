"""Recurrent cells and layers against PyTorch on identical weights: outputs, final states, and
the gradients of the input, the initial state and every parameter."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import torch

import tinygrad_seq as ts
from tinygrad_seq import nn

KINDS = [("RNN", "tanh"), ("RNN", "relu"), ("LSTM", None), ("GRU", None)]
TOL = {np.float64: dict(rtol=1e-9, atol=1e-11), np.float32: dict(rtol=2e-4, atol=2e-5)}


def make_pair(kind, nonlin, dtype, **kw):
    torch.manual_seed(0)
    extra = {"nonlinearity": nonlin} if nonlin else {}
    ref = getattr(torch.nn, kind)(**kw, **extra)
    ref = ref.double() if dtype == np.float64 else ref
    ours = getattr(nn, kind)(**kw, **extra)
    ours = ours.double() if dtype == np.float64 else ours
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return ours, ref


def close(a, b, dtype, what):
    b = b.detach().numpy() if hasattr(b, "detach") else b
    np.testing.assert_allclose(np.asarray(a), b, err_msg=what, **TOL[dtype])


def compare_layer(ours, ref, x, states, dtype, lengths=None):
    """Run both, back-propagate the same random upstream gradients, compare everything."""
    lstm = isinstance(ours, nn.LSTM)
    sx = ts.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    s_states = [ts.tensor(s, requires_grad=True) for s in states]
    t_states = [torch.tensor(s, requires_grad=True) for s in states]
    s_hx = None if not states else (tuple(s_states) if lstm else s_states[0])
    t_hx = None if not states else (tuple(t_states) if lstm else t_states[0])
    if lengths is None:
        s_out, s_h = ours(sx, s_hx)
        t_out, t_h = ref(tx, t_hx)
    else:
        s_out, s_h = ours(sx, s_hx, lengths=lengths)
        packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, ours.batch_first,
                                                         enforce_sorted=False)
        t_out, t_h = ref(packed, t_hx)
        steps = x.shape[1 if ours.batch_first else 0]
        t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, ours.batch_first,
                                                          total_length=steps)
    s_finals = list(s_h) if lstm else [s_h]
    t_finals = list(t_h) if lstm else [t_h]
    close(s_out.numpy(), t_out, dtype, "output")
    for i, (a, b) in enumerate(zip(s_finals, t_finals)):
        close(a.numpy(), b, dtype, f"final state {i}")
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(t.shape).astype(dtype) for t in [t_out] + t_finals]
    s_loss = sum((o * ts.tensor(g)).sum() for o, g in zip([s_out] + s_finals, grads))
    t_loss = sum((o * torch.tensor(g)).sum() for o, g in zip([t_out] + t_finals, grads))
    s_loss.backward()
    t_loss.backward()
    close(sx.grad.numpy(), tx.grad, dtype, "input gradient")
    for i, (a, b) in enumerate(zip(s_states, t_states)):
        close(a.grad.numpy(), b.grad, dtype, f"initial state {i} gradient")
    ref_params = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad.numpy(), ref_params[name].grad, dtype, f"gradient of {name}")


GRID = list(itertools.product(KINDS, [1, 2], [False, True], [False, True],
                              [np.float64, np.float32]))


@pytest.mark.parametrize("kind, layers, bidirectional, batch_first, dtype", GRID,
                         ids=lambda v: getattr(v, "__name__", str(v)))
def test_layer_matches_pytorch(kind, layers, bidirectional, batch_first, dtype):
    ours, ref = make_pair(kind[0], kind[1], dtype, input_size=3, hidden_size=5,
                          num_layers=layers, bidirectional=bidirectional,
                          batch_first=batch_first)
    rng = np.random.default_rng(0)
    steps, batch = 6, 4
    x = rng.standard_normal((batch, steps, 3) if batch_first else (steps, batch, 3)).astype(dtype)
    shape = (layers * (2 if bidirectional else 1), batch, 5)
    states = [rng.standard_normal(shape).astype(dtype)
              for _ in range(2 if kind[0] == "LSTM" else 1)]
    compare_layer(ours, ref, x, states, dtype)


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_variable_lengths_match_packed_sequences(kind, bidirectional, batch_first):
    ours, ref = make_pair(kind[0], kind[1], np.float64, input_size=3, hidden_size=4,
                          num_layers=2, bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(2)
    lengths = [5, 2, 7, 1]
    x = rng.standard_normal((4, 7, 3) if batch_first else (7, 4, 3))
    compare_layer(ours, ref, x, [], np.float64, lengths=lengths)


def test_padded_steps_change_nothing():
    """Whatever sits in the padding, outputs and h_n are those of the unpadded sequence."""
    m = nn.GRU(2, 3, batch_first=True).double()
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, 6, 2))
    full_out, full_h = m(ts.tensor(x[:, :4]))
    noisy = x.copy()
    noisy[:, 4:] = 1e3
    out, h = m(ts.tensor(noisy, requires_grad=True), lengths=[4])
    np.testing.assert_allclose(out.numpy()[:, :4], full_out.numpy())
    np.testing.assert_array_equal(out.numpy()[:, 4:], 0)
    np.testing.assert_allclose(h.numpy(), full_h.numpy())


@pytest.mark.parametrize("kind", KINDS, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cells_match_pytorch(kind, dtype):
    name = kind[0] + "Cell"
    torch.manual_seed(0)
    extra = {"nonlinearity": kind[1]} if kind[1] else {}
    ref = getattr(torch.nn, name)(3, 4, **extra)
    ref = ref.double() if dtype == np.float64 else ref
    ours = getattr(nn, name)(3, 4, **extra)
    ours = ours.double() if dtype == np.float64 else ours
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3)).astype(dtype)
    states = [rng.standard_normal((2, 4)).astype(dtype) for _ in range(2 if "LSTM" in name else 1)]
    sx, tx = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ss = [ts.tensor(s, requires_grad=True) for s in states]
    tt = [torch.tensor(s, requires_grad=True) for s in states]
    s_out = ours(sx, tuple(ss) if len(ss) == 2 else ss[0])
    t_out = ref(tx, tuple(tt) if len(tt) == 2 else tt[0])
    s_out = s_out if isinstance(s_out, tuple) else (s_out,)
    t_out = t_out if isinstance(t_out, tuple) else (t_out,)
    for a, b in zip(s_out, t_out):
        close(a.numpy(), b, dtype, "cell output")
    sum(o.sum() * (i + 1) for i, o in enumerate(s_out)).backward()
    sum(o.sum() * (i + 1) for i, o in enumerate(t_out)).backward()
    close(sx.grad.numpy(), tx.grad, dtype, "input gradient")
    for a, b in zip(ss, tt):
        close(a.grad.numpy(), b.grad, dtype, "state gradient")
    ref_params = dict(ref.named_parameters())
    for n, p in ours.named_parameters():
        close(p.grad.numpy(), ref_params[n].grad, dtype, n)


def test_unbatched_input_matches_pytorch():
    ours, ref = make_pair("LSTM", None, np.float64, input_size=3, hidden_size=4)
    x = np.random.default_rng(0).standard_normal((5, 3))
    s_out, (s_h, s_c) = ours(ts.tensor(x))
    t_out, (t_h, t_c) = ref(torch.tensor(x))
    close(s_out.numpy(), t_out, np.float64, "output")
    close(s_h.numpy(), t_h, np.float64, "h_n")
    assert s_h.shape == (1, 4)


def test_dropout_between_layers_only_in_training():
    m = nn.LSTM(3, 4, num_layers=2, dropout=0.5)
    x = ts.randn(5, 2, 3)
    m.eval()
    a, _ = m(x)
    b, _ = m(x)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    m.train()
    ts.manual_seed(0)
    c, _ = m(x)
    assert not np.allclose(a.numpy(), c.numpy())


def test_parameter_names_and_shapes_are_pytorchs():
    for kind in ("RNN", "LSTM", "GRU"):
        ref = getattr(torch.nn, kind)(3, 5, num_layers=2, bidirectional=True)
        ours = getattr(nn, kind)(3, 5, num_layers=2, bidirectional=True)
        assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
               [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]


def test_default_initialisation_range():
    m = nn.GRU(3, 16)
    bound = 1 / 4
    for p in m.parameters():
        assert np.abs(p.numpy()).max() <= bound
        assert np.abs(p.numpy()).max() > 0.8 * bound
