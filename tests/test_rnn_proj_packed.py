"""LSTM projections (``proj_size``) and packed sequences (``nn.utils.rnn``) against PyTorch on
identical weights, in float64: outputs, final states, and the gradients of the input (through
the packing), the initial state and every parameter."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import torch

import tinygrad_seq as ts
from tinygrad_seq import nn

R = nn.utils.rnn
TOL = dict(rtol=1e-9, atol=1e-11)
# PyTorch's CPU LSTM says once that oneDNN has no projections; it is not about our code
pytestmark = pytest.mark.filterwarnings("ignore:LSTM with projections")


def make_pair(kind, **kw):
    torch.manual_seed(0)
    ref = getattr(torch.nn, kind)(**kw).double()
    ours = getattr(nn, kind)(**kw).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    return ours, ref


def close(a, b, what):
    a = a.numpy() if isinstance(a, ts.Tensor) else np.asarray(a)
    np.testing.assert_allclose(a, b.detach().numpy(), err_msg=what, **TOL)


def backward_and_compare(ours, ref, outs, leaves):
    """``outs``: [(ours, torch)] results, compared; then the same random upstream gradients
    go back through both, and ``leaves`` [(ours, torch, what)] and every parameter are
    compared by gradient."""
    for i, (a, b) in enumerate(outs):
        close(a, b, f"result {i}")
    rng = np.random.default_rng(1)
    grads = [rng.standard_normal(tuple(b.shape)) for _, b in outs]
    sum((a * ts.tensor(g)).sum() for (a, _), g in zip(outs, grads)).backward()
    sum((b * torch.tensor(g)).sum() for (_, b), g in zip(outs, grads)).backward()
    for a, b, what in leaves:
        close(a.grad, b.grad, f"gradient of {what}")
    theirs = dict(ref.named_parameters())
    for name, p in ours.named_parameters():
        close(p.grad, theirs[name].grad, f"gradient of {name}")


def states(rng, kind, layers, directions, batch, hidden, proj=0):
    """Random initial states, as (ours, torch) leaf pairs: [h_0] or [h_0, c_0]."""
    sizes = [proj or hidden] + ([hidden] if kind == "LSTM" else [])
    arrays = [rng.standard_normal((layers * directions, batch, n)) for n in sizes]
    return [(ts.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True))
            for a in arrays]


def hx(pairs, side):
    parts = [p[side] for p in pairs]
    return tuple(parts) if len(parts) == 2 else parts[0]


def finals(result):
    return list(result) if isinstance(result, tuple) else [result]


# ---- proj_size ----------------------------------------------------------------------------------
GRID = list(itertools.product([1, 2], [False, True], [False, True], [None, [5, 2, 6, 1]]))


@pytest.mark.parametrize("layers, bidirectional, batch_first, lengths", GRID,
                         ids=lambda v: str(v).replace(" ", ""))
def test_projected_lstm_matches_pytorch(layers, bidirectional, batch_first, lengths):
    ours, ref = make_pair("LSTM", input_size=3, hidden_size=5, proj_size=2, num_layers=layers,
                          bidirectional=bidirectional, batch_first=batch_first)
    rng = np.random.default_rng(0)
    steps, batch, d = 6, 4, 2 if bidirectional else 1
    x = rng.standard_normal((batch, steps, 3) if batch_first else (steps, batch, 3))
    sx, tx = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    init = states(rng, "LSTM", layers, d, batch, 5, proj=2)
    if lengths is None:
        s_out, s_state = ours(sx, hx(init, 0))
        t_out, t_state = ref(tx, hx(init, 1))
    else:
        s_out, s_state = ours(sx, hx(init, 0), lengths=lengths)
        packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first,
                                                         enforce_sorted=False)
        t_out, t_state = ref(packed, hx(init, 1))
        t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first, total_length=steps)
    assert s_out.shape == (*x.shape[:2], d * 2)
    assert s_state[0].shape == (layers * d, batch, 2)
    assert s_state[1].shape == (layers * d, batch, 5)
    backward_and_compare(ours, ref, [(s_out, t_out)] + list(zip(s_state, t_state)),
                         [(sx, tx, "input"), (init[0][0], init[0][1], "h_0"),
                          (init[1][0], init[1][1], "c_0")])


def test_projected_lstm_unbatched_matches_pytorch():
    ours, ref = make_pair("LSTM", input_size=3, hidden_size=4, proj_size=3, num_layers=2)
    x = np.random.default_rng(0).standard_normal((5, 3))
    sx, tx = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    s_out, (s_h, s_c) = ours(sx)
    t_out, (t_h, t_c) = ref(tx)
    assert s_out.shape == (5, 3) and s_h.shape == (2, 3) and s_c.shape == (2, 4)
    backward_and_compare(ours, ref, [(s_out, t_out), (s_h, t_h), (s_c, t_c)], [(sx, tx, "x")])


def test_projected_lstm_state_dict_is_pytorchs_and_loads_unchanged():
    kw = dict(input_size=3, hidden_size=6, proj_size=2, num_layers=2, bidirectional=True)
    ref, ours = torch.nn.LSTM(**kw), nn.LSTM(**kw)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
           [(k, tuple(v.shape)) for k, v in ref.state_dict().items()]
    assert list(ours.state_dict()) == ref._flat_weights_names
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    bound = 1 / np.sqrt(6)  # U(-1/sqrt(H), 1/sqrt(H)) for every parameter, weight_hr too
    for name, p in ours.named_parameters():
        assert np.abs(p.numpy()).max() <= bound, name
    fresh = nn.LSTM(**kw)
    assert all(0.5 * bound < np.abs(p.numpy()).max() <= bound for p in fresh.parameters())
    assert repr(ours) == repr(ref)
    assert ours.proj_size == 2 and nn.GRU(3, 4).proj_size == 0


def test_projected_lstm_without_bias_matches_pytorch():
    ours, ref = make_pair("LSTM", input_size=2, hidden_size=4, proj_size=1, bias=False)
    assert list(ours.state_dict()) == ["weight_ih_l0", "weight_hh_l0", "weight_hr_l0"]
    x = np.random.default_rng(4).standard_normal((3, 2, 2))
    sx, tx = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    s_out, s_state = ours(sx)
    t_out, t_state = ref(tx)
    backward_and_compare(ours, ref, [(s_out, t_out)] + list(zip(s_state, t_state)),
                         [(sx, tx, "x")])


def test_projected_lstm_agrees_across_its_three_implementations():
    x = ts.randn(5, 2, 3, dtype=ts.float64)
    results = []
    for opts in (dict(), dict(unroll=True), dict(fused=False)):
        ts.manual_seed(0)
        m = nn.LSTM(3, 4, proj_size=2, num_layers=2, bidirectional=True, **opts).double()
        out, (h, c) = m(x, lengths=[5, 3])
        (out.sum() + h.sum() + c.sum()).backward()
        results.append([out.numpy(), h.numpy(), c.numpy()] +
                       [p.grad.numpy() for p in m.parameters()])
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("kind", ["RNN", "GRU", "MGU"])
def test_proj_size_only_for_lstm(kind):
    for size in (2, 0):  # PyTorch refuses the argument itself, even 0
        with pytest.raises(ValueError, match=f"{kind}: proj_size argument is only supported "
                                             f"for LSTM"):
            getattr(nn, kind)(3, 4, proj_size=size)


def test_proj_size_values_and_cells():
    with pytest.raises(ValueError, match="LSTM: proj_size has to be smaller than hidden_size"):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="LSTM: proj_size should be a positive integer"):
        nn.LSTM(3, 4, proj_size=-1)
    with pytest.raises(TypeError, match="LSTM: proj_size must be an integer"):
        nn.LSTM(3, 4, proj_size=2.0)
    with pytest.raises(TypeError, match="LSTMCell: unknown option 'proj_size'"):
        nn.LSTMCell(3, 4, proj_size=2)  # PyTorch's LSTMCell has no projection either
    assert nn.LSTM(3, 4, 1, True, False, 0.0, False, 2).proj_size == 2  # PyTorch's position
    assert not hasattr(nn.LSTM(3, 4, proj_size=0), "weight_hr_l0")


def test_projected_lstm_initial_state_shapes_are_checked():
    m = nn.LSTM(3, 5, proj_size=2, num_layers=2)
    x = ts.randn(4, 3, 3)
    with pytest.raises(ts.ShapeError, match=r"h_0 should have shape \(2, 3, 2\)"):
        m(x, (ts.zeros(2, 3, 5), ts.zeros(2, 3, 5)))
    with pytest.raises(ts.ShapeError, match=r"c_0 should have shape \(2, 3, 5\)"):
        m(x, (ts.zeros(2, 3, 2), ts.zeros(2, 3, 2)))


def test_projected_lstm_is_drawn():
    m = nn.LSTM(3, 5, proj_size=2, num_layers=2, bidirectional=True, batch_first=True)
    x = ts.randn(2, 4, 3, requires_grad=True)
    out, (h, c) = m(x, lengths=[4, 2])
    loss = out.sum() + h.sum() + c.sum()
    for options in (dict(), dict(expand=True), dict(grads=True), dict(show="both", values=True),
                    dict(memory=True), dict(unroll=False), dict(params=m)):
        assert "digraph" in ts.viz.draw(loss, **options).source
    assert "weight_hr_l1_reverse" in ts.viz.draw_rolled(m).source


# ---- packed sequences through the layers -------------------------------------------------------
PACKED = list(itertools.product([("LSTM", {}), ("GRU", {}), ("RNN", {"nonlinearity": "relu"}),
                                 ("LSTM", {"proj_size": 2})], [True, False], [False, True]))


@pytest.mark.parametrize("kind, enforce_sorted, bidirectional", PACKED,
                         ids=lambda v: str(v).replace(" ", ""))
def test_packed_input_matches_pytorch(kind, enforce_sorted, bidirectional):
    name, extra = kind
    ours, ref = make_pair(name, input_size=3, hidden_size=4, num_layers=2,
                          bidirectional=bidirectional, **extra)
    rng = np.random.default_rng(2)
    lengths = [7, 5, 2, 1] if enforce_sorted else [5, 2, 7, 1]
    x = rng.standard_normal((7, 4, 3))
    sx, tx = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    init = states(rng, name, 2, 2 if bidirectional else 1, 4, 4, extra.get("proj_size", 0))
    s_packed = R.pack_padded_sequence(sx, lengths, enforce_sorted=enforce_sorted)
    t_packed = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, enforce_sorted=enforce_sorted)
    s_out, s_h = ours(s_packed, hx(init, 0))
    t_out, t_h = ref(t_packed, hx(init, 1))
    assert isinstance(s_out, R.PackedSequence)
    for a, b in zip(s_out[1:], t_out[1:]):  # batch_sizes, sorted and unsorted indices
        assert (a is None and b is None) or a.numpy().tolist() == b.numpy().tolist()
    leaves = [(sx, tx, "input")] + [(a, b, f"initial state {i}") for i, (a, b) in enumerate(init)]
    backward_and_compare(ours, ref, [(s_out.data, t_out.data)] +
                         list(zip(finals(s_h), finals(t_h))), leaves)


def test_packed_sequence_of_leaves_and_batch_first_layer():
    """pack_sequence of separate leaves into a batch_first GRU (packed data ignores the
    layout, as in PyTorch): every sequence gets its gradient."""
    ours, ref = make_pair("GRU", input_size=2, hidden_size=3, batch_first=True)
    rng = np.random.default_rng(5)
    arrays = [rng.standard_normal((n, 2)) for n in (3, 6, 1)]
    s_seqs = [ts.tensor(a, requires_grad=True) for a in arrays]
    t_seqs = [torch.tensor(a, requires_grad=True) for a in arrays]
    s_out, s_h = ours(R.pack_sequence(s_seqs, enforce_sorted=False))
    t_out, t_h = ref(torch.nn.utils.rnn.pack_sequence(t_seqs, enforce_sorted=False))
    s_pad, s_len = R.pad_packed_sequence(s_out, batch_first=True, padding_value=-2.0)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(t_out, True, -2.0)
    assert s_len.numpy().tolist() == t_len.tolist() == [3, 6, 1]
    backward_and_compare(ours, ref, [(s_pad, t_pad), (s_h, t_h)],
                         [(a, b, f"sequence {k}") for k, (a, b) in enumerate(zip(s_seqs, t_seqs))])


def test_mgu_packed_equals_lengths():
    m = nn.MGU(3, 4, num_layers=2, bidirectional=True).double()
    x = ts.randn(6, 3, 3, dtype=ts.float64)
    out, h = m(x, lengths=[4, 6, 2])
    p_out, p_h = m(R.pack_padded_sequence(x, [4, 6, 2], enforce_sorted=False))
    padded, _ = R.pad_packed_sequence(p_out, total_length=6)
    np.testing.assert_allclose(padded.numpy(), out.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(p_h.numpy(), h.numpy(), rtol=1e-12, atol=1e-14)


def test_packed_input_refuses_lengths():
    m = nn.GRU(2, 3)
    packed = R.pack_sequence([ts.randn(3, 2), ts.randn(2, 2)])
    with pytest.raises(TypeError, match="GRU: a PackedSequence carries its own lengths"):
        m(packed, lengths=[3, 2])


# ---- the utilities against PyTorch -------------------------------------------------------------
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_and_pad_round_trip_matches_pytorch(batch_first, enforce_sorted):
    rng = np.random.default_rng(3)
    lengths = [6, 4, 4, 1] if enforce_sorted else [4, 6, 1, 4]  # ties keep their order
    x = rng.standard_normal((4, 6, 2, 3) if batch_first else (6, 4, 2, 3))
    sx, tx = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    sp = R.pack_padded_sequence(sx, ts.tensor(lengths), batch_first, enforce_sorted)
    tp = torch.nn.utils.rnn.pack_padded_sequence(tx, lengths, batch_first, enforce_sorted)
    data, batch_sizes, sorted_indices, unsorted_indices = sp  # a namedtuple, as PyTorch's
    close(data, tp.data, "packed data")
    assert batch_sizes.dtype == np.int64 and batch_sizes.numpy().tolist() == tp.batch_sizes.tolist()
    for a, b in ((sorted_indices, tp.sorted_indices), (unsorted_indices, tp.unsorted_indices)):
        assert (a is None and b is None) or a.numpy().tolist() == b.tolist()
    s_pad, s_len = R.pad_packed_sequence(sp, batch_first, padding_value=9.0, total_length=8)
    t_pad, t_len = torch.nn.utils.rnn.pad_packed_sequence(tp, batch_first, 9.0, 8)
    assert s_len.dtype == np.int64 and s_len.numpy().tolist() == t_len.tolist() == lengths
    g = rng.standard_normal(tuple(t_pad.shape))
    (s_pad * ts.tensor(g)).sum().backward()
    (t_pad * torch.tensor(g)).sum().backward()
    close(s_pad, t_pad, "padded")
    close(sx.grad, tx.grad, "input gradient")


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
def test_pad_sequence_matches_pytorch(batch_first, side):
    rng = np.random.default_rng(6)
    arrays = [rng.standard_normal((n, 2)) for n in (2, 5, 0, 3)]
    s_seqs = [ts.tensor(a, requires_grad=True) for a in arrays]
    t_seqs = [torch.tensor(a, requires_grad=True) for a in arrays]
    s = R.pad_sequence(s_seqs, batch_first, -1.5, side)
    t = torch.nn.utils.rnn.pad_sequence(t_seqs, batch_first, -1.5, side)
    g = rng.standard_normal(tuple(t.shape))
    (s * ts.tensor(g)).sum().backward()
    (t * torch.tensor(g)).sum().backward()
    close(s, t, "padded")
    for a, b in zip(s_seqs, t_seqs):
        close(a.grad, b.grad, "sequence gradient")
    lengths = ts.tensor([len(a) for a in arrays])
    if side == "right":
        for a, b in zip(R.unpad_sequence(s, lengths, batch_first), arrays):
            np.testing.assert_array_equal(a.numpy(), b)


def test_pack_sequence_and_unpack_sequence_match_pytorch():
    arrays = [np.arange(n * 2, dtype=np.float64).reshape(n, 2) + 10 * n for n in (2, 4, 3)]
    sp = R.pack_sequence([ts.tensor(a) for a in arrays], enforce_sorted=False)
    tp = torch.nn.utils.rnn.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=False)
    close(sp.data, tp.data, "data")
    assert sp.sorted_indices.numpy().tolist() == tp.sorted_indices.tolist()
    for a, b in zip(R.unpack_sequence(sp), arrays):
        np.testing.assert_array_equal(a.numpy(), b)
    assert R.invert_permutation(ts.tensor([2, 0, 1])).numpy().tolist() == [1, 2, 0]
    assert sp.float().data.dtype == np.float32 and R.invert_permutation(None) is None


def test_integer_data_packs_too():
    """Labels pack like inputs (PyTorch's note), and keep their dtype."""
    labels = ts.tensor([[1, 2, 0], [3, 0, 0], [4, 5, 6]])
    packed = R.pack_padded_sequence(labels, [2, 1, 3], batch_first=True, enforce_sorted=False)
    assert packed.data.numpy().tolist() == [4, 1, 3, 5, 2, 6]
    assert packed.batch_sizes.numpy().tolist() == [3, 2, 1]
    assert packed.sorted_indices.numpy().tolist() == [2, 0, 1]
    assert packed.unsorted_indices.numpy().tolist() == [1, 2, 0]
    padded, lengths = R.pad_packed_sequence(packed, batch_first=True)
    assert padded.numpy().tolist() == labels.numpy().tolist() and padded.dtype == np.int64


# ---- errors -------------------------------------------------------------------------------------
def test_packing_errors_name_the_function():
    x = ts.randn(4, 3, 2)
    with pytest.raises(RuntimeError, match=r"pack_padded_sequence: `lengths` array must be "
                                           r"sorted in decreasing order.*enforce_sorted=False"):
        R.pack_padded_sequence(x, [3, 4, 2])
    with pytest.raises(RuntimeError, match=r"pack_sequence: `lengths` array must be sorted"):
        R.pack_sequence([ts.randn(2, 1), ts.randn(3, 1)])
    for bad in ([4, 0, 2], [4, -1, 2]):
        with pytest.raises(RuntimeError, match="pack_padded_sequence: every length must be at "
                                               "least 1"):
            R.pack_padded_sequence(x, bad, enforce_sorted=False)
    with pytest.raises(RuntimeError, match="pack_padded_sequence: a length of 5 is longer than "
                                           "the padded input's 4 steps"):
        R.pack_padded_sequence(x, [5, 3, 2])
    with pytest.raises(ts.ShapeError, match="pack_padded_sequence: expected 3 lengths"):
        R.pack_padded_sequence(x, [4, 3])
    with pytest.raises(TypeError, match="pack_padded_sequence: lengths must be"):
        R.pack_padded_sequence(x, [4.5, 3, 2])
    packed = R.pack_padded_sequence(x, [4, 3, 2])
    with pytest.raises(ValueError, match="pad_packed_sequence: Expected total_length to be at "
                                         "least.*total_length=2 and max sequence length being 4"):
        R.pad_packed_sequence(packed, total_length=2)
    with pytest.raises(TypeError, match="pad_packed_sequence: expected a PackedSequence"):
        R.pad_packed_sequence(x)
    with pytest.raises(RuntimeError, match="pad_sequence: received an empty list"):
        R.pad_sequence([])
    with pytest.raises(RuntimeError, match="pad_sequence: Expected padding_side"):
        R.pad_sequence([ts.randn(2)], padding_side="middle")
    with pytest.raises(ts.ShapeError, match=r"pad_sequence: .* sequence 1 has shape \(2, 3\)"):
        R.pad_sequence([ts.randn(2, 2), ts.randn(2, 3)])
