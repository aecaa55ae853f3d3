"""Every implementation of the kernel interface (tinygrad_seq/kernels/) against the reference:
every function, float32 and float64, random shapes (hidden sizes that are not multiples of the
vector width exercise the loop tails), extreme inputs, in-place and strided-view layouts.

The implementations: ``reference`` itself (on the in-place and strided layouts the others get,
checked against its own plain, out-of-place answer), ``host`` (src/host.cpp compiled for this
CPU), ``cuda`` (the CUDA kernels on CuPy arrays, where a GPU is) and ``cuda-on-cpu`` (the same
CUDA sources and launch shapes, run on the CPU by tests/cuda_emulation.py). The expected answer is
always the reference on NumPy arrays with fresh, contiguous outputs. An implementation that
cannot run here skips, saying why."""

from __future__ import annotations

import inspect
import tracemalloc

import cuda_emulation
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tinygrad_seq as ts
from tinygrad_seq import backend, kernels
from tinygrad_seq.kernels import host, interface, reference
from tinygrad_seq.kernels.compiled import CompiledCells

# float32: libm's, libmvec's and CUDA's tanh differ from NumPy's by a few units in the last
# place; and a pre-activation such as gi_n + r * gh_n, of size ~scale, is rounded differently
# (the compilers fuse the multiply-add, NumPy does not), by up to a few eps * scale
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
DTYPES = st.sampled_from([np.float32, np.float64])
SIZES = dict(batch=st.integers(1, 5), hidden=st.integers(1, 37), scale=st.sampled_from([1, 30]))
# the number of examples is the profile's (tests/conftest.py: 25, or 300 when thorough)
PROPERTY = settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


class Implementation:
    """One implementation and the arrays it takes: ``array`` makes one from a NumPy array,
    ``numpy`` brings one back."""

    def __init__(self, name, folder=None):
        self.name = name
        if name == "reference":
            self.cells, self.xp = reference, np
        elif name == "host":
            if host.library() is None:
                pytest.skip(f"compiled CPU kernels unavailable: {host.why_not()}")
            self.cells, self.xp = host.HOST, np
        elif name == "cuda-on-cpu":
            if cuda_emulation.why_not() is not None:
                pytest.skip(cuda_emulation.why_not())
            self.cells = CompiledCells(cuda_emulation.EmulatedLauncher(folder))
            self.xp = np
        else:
            if ts.cuda.why_not() is not None:
                pytest.skip(ts.cuda.why_not())
            self.cells, self.xp = kernels.cuda.CUDA, backend.load_cupy()

    def array(self, a):
        return None if a is None else self.xp.asarray(a).copy()

    def numpy(self, a):
        return backend.to_numpy(a)


@pytest.fixture(scope="session")
def emulation_folder(tmp_path_factory):
    return tmp_path_factory.mktemp("cuda_emulation")


@pytest.fixture(params=["reference", "host", "cuda", "cuda-on-cpu"])
def impl(request, emulation_folder):
    return Implementation(request.param, emulation_folder)


def inputs(rng, shape, dtype, scale=1.0):
    """Random normal values times ``scale``; the first few saturate tanh and sigmoid."""
    x = rng.standard_normal(shape) * scale
    x.flat[:4] = [1e4, -1e4, 88.0, -710.0][: x.size]
    return x.astype(dtype)


def plain(rng, shape, dtype):
    """States and incoming gradients: O(1) values (an error in a gate activation is multiplied
    by them, so huge states would make float32's last-place differences look large)."""
    return rng.standard_normal(shape).astype(dtype)


def agree(impl, got, expected, dtype, scale=1):
    tol = dict(TOL[dtype])
    if dtype == np.float32:
        tol["atol"] *= scale  # ~8 eps times the inputs' size (see TOL)
    for a, b in zip(got, expected):
        a = impl.numpy(a)
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, **tol)


def test_every_implementation_provides_the_interface(impl):
    for name in interface.FUNCTIONS:
        wanted = inspect.signature(getattr(interface.CellKernels, name))
        wanted = wanted.replace(parameters=list(wanted.parameters.values())[1:])  # no self
        got = inspect.signature(getattr(impl.cells, name))
        assert list(got.parameters) == list(wanted.parameters), (impl.name, name)
        assert [p.default for p in got.parameters.values()] == \
            [p.default for p in wanted.parameters.values()], (impl.name, name)


class Layout:
    """Arrays for one call, on the implementation's array module. With ``padded``, each is a
    view into a wider buffer (a different padding per array, so no two share a row stride,
    and the padding is NaN, so a read past a row shows), as the sequence ops pass views of
    their (T + 1, B, .) buffers. Outputs start as NaN: an element left unwritten shows too."""

    def __init__(self, impl, padded):
        self.impl, self.padded, self.count = impl, padded, 0

    def __call__(self, a):
        if a is None:
            return None
        out = self.empty(a.shape, a.dtype)
        out[...] = self.impl.xp.asarray(a)
        return out

    def empty(self, shape, dtype):
        xp = self.impl.xp
        if not self.padded or len(shape) != 2:
            return xp.full(shape, np.nan, dtype=dtype)
        self.count += 1
        wide = xp.full((shape[0], shape[1] + self.count), np.nan, dtype=dtype)
        return wide[:, self.count:]


PADDED = st.booleans()


@PROPERTY
@given(dtype=DTYPES, rec=st.booleans(), in_place=st.booleans(), padded=PADDED,
       seed=st.integers(0, 99), **SIZES)
def test_lstm_forward(impl, dtype, rec, in_place, padded, seed, batch, hidden, scale):
    rng = np.random.default_rng(seed)
    gates, c = inputs(rng, (batch, 4 * hidden), dtype, scale), plain(rng, (batch, hidden), dtype)
    r = plain(rng, (batch, 4 * hidden), dtype) if rec else None
    expected = [np.empty_like(gates)] + [np.empty_like(c) for _ in range(3)]
    reference.lstm_cell_forward(np, gates, c, *expected, r)
    lay = Layout(impl, padded)
    g = lay(gates)
    outs = [g if in_place else lay.empty(g.shape, dtype)] + \
        [lay.empty(c.shape, dtype) for _ in range(3)]
    impl.cells.lstm_cell_forward(impl.xp, g, lay(c), *outs, lay(r))
    agree(impl, outs, expected, dtype, scale)
    if not in_place:
        np.testing.assert_array_equal(impl.numpy(g), gates)  # the input is left alone


@PROPERTY
@given(dtype=DTYPES, missing=st.sampled_from([None, "dh", "dc"]), padded=PADDED,
       seed=st.integers(0, 99), **SIZES)
def test_lstm_backward(impl, dtype, missing, padded, seed, batch, hidden, scale):
    rng = np.random.default_rng(seed)
    act = rng.uniform(0, 1, (batch, 4 * hidden)).astype(dtype)
    act[:, 2 * hidden:3 * hidden] = 2 * act[:, 2 * hidden:3 * hidden] - 1  # tanh's range
    c, tc = plain(rng, (batch, hidden), dtype) * scale, np.tanh(plain(rng, (batch, hidden), dtype))
    dh, dc = (None if missing == name else plain(rng, (batch, hidden), dtype)
              for name in ("dh", "dc"))
    expected = [np.empty_like(act), np.empty_like(c)]
    reference.lstm_cell_backward(np, act, c, tc, dh, dc, *expected)
    lay = Layout(impl, padded)
    outs = [lay.empty(a.shape, dtype) for a in expected]
    impl.cells.lstm_cell_backward(impl.xp, *map(lay, (act, c, tc, dh, dc)), *outs)
    agree(impl, outs, expected, dtype, scale)


@PROPERTY
@given(dtype=DTYPES, in_place=st.booleans(), padded=PADDED, seed=st.integers(0, 99), **SIZES)
def test_gru_forward(impl, dtype, in_place, padded, seed, batch, hidden, scale):
    rng = np.random.default_rng(seed)
    gi, gh = (inputs(rng, (batch, 3 * hidden), dtype, scale) for _ in range(2))
    h = plain(rng, (batch, hidden), dtype)
    expected = [np.empty((batch, 2 * hidden), dtype), np.empty_like(h), np.empty_like(h)]
    reference.gru_cell_forward(np, gi, gh, h, *expected)
    lay = Layout(impl, padded)
    g = lay(gi)
    if in_place:  # the sequence op's layout: r, z and n written over gi's blocks
        rz, n = g[:, :2 * hidden], g[:, 2 * hidden:]
    else:
        rz, n = lay.empty((batch, 2 * hidden), dtype), lay.empty((batch, hidden), dtype)
    outs = [rz, n, lay.empty((batch, hidden), dtype)]
    impl.cells.gru_cell_forward(impl.xp, g, lay(gh), lay(h), *outs)
    agree(impl, outs, expected, dtype, scale)
    if not in_place:
        np.testing.assert_array_equal(impl.numpy(g), gi)


@PROPERTY
@given(dtype=DTYPES, views=st.booleans(), padded=PADDED, seed=st.integers(0, 99), **SIZES)
def test_gru_backward(impl, dtype, views, padded, seed, batch, hidden, scale):
    """``views``: r, z, n and gh_n as strided blocks of (B, 3H) buffers, as the sequence op
    passes them (the CUDA kernels take them as they are, with no copy)."""
    rng = np.random.default_rng(seed)
    act = rng.uniform(0, 1, (batch, 3 * hidden)).astype(dtype)
    act[:, 2 * hidden:] = 2 * act[:, 2 * hidden:] - 1
    gh = inputs(rng, (batch, 3 * hidden), dtype, scale)
    h, dh = plain(rng, (batch, hidden), dtype), plain(rng, (batch, hidden), dtype)
    wide = (batch, 3 * hidden)
    rz, n, ghn = (np.ascontiguousarray(a) for a in
                  (act[:, :2 * hidden], act[:, 2 * hidden:], gh[:, 2 * hidden:]))
    expected = [np.empty(wide, dtype), np.empty(wide, dtype), np.empty_like(h)]
    reference.gru_cell_backward(np, rz, n, ghn, h, dh, *expected)
    lay = Layout(impl, padded)
    if views:
        act_d, gh_d = lay(act), lay(gh)
        parts = act_d[:, :2 * hidden], act_d[:, 2 * hidden:], gh_d[:, 2 * hidden:]
    else:
        parts = tuple(map(lay, (rz, n, ghn)))
    outs = [lay.empty(wide, dtype), lay.empty(wide, dtype), lay.empty(h.shape, dtype)]
    impl.cells.gru_cell_backward(impl.xp, *parts, lay(h), lay(dh), *outs)
    agree(impl, outs, expected, dtype, scale)


@PROPERTY
@given(dtype=DTYPES, relu=st.booleans(), rec=st.booleans(), padded=PADDED,
       seed=st.integers(0, 99), **SIZES)
def test_rnn_forward_and_backward(impl, dtype, relu, rec, padded, seed, batch, hidden, scale):
    rng = np.random.default_rng(seed)
    pre, dh = inputs(rng, (batch, hidden), dtype, scale), plain(rng, (batch, hidden), dtype)
    r = plain(rng, (batch, hidden), dtype) if rec else None
    expected = np.empty_like(pre)
    reference.rnn_cell_forward(np, pre, expected, relu, r)
    lay = Layout(impl, padded)
    got = lay.empty(pre.shape, dtype)
    impl.cells.rnn_cell_forward(impl.xp, lay(pre), got, relu, lay(r))
    agree(impl, [got], [expected], dtype, scale)
    d_expected = np.empty_like(pre)
    reference.rnn_cell_backward(np, expected, dh, d_expected, relu)
    d_got = lay.empty(pre.shape, dtype)
    impl.cells.rnn_cell_backward(impl.xp, lay(expected), lay(dh), d_got, relu)
    agree(impl, [d_got], [d_expected], dtype, scale)


@PROPERTY
@given(dtype=DTYPES, shape=st.sampled_from([(7,), (4, 7), (2, 3, 65), (5, 1), (3, 300)]),
       seed=st.integers(0, 99))
def test_log_softmax_forward_and_backward(impl, dtype, shape, seed):
    """(3, 300): more columns than a GPU block has threads."""
    rng = np.random.default_rng(seed)
    x, g = inputs(rng, shape, dtype, 50.0), plain(rng, shape, dtype)
    expected = reference.log_softmax(np, x, -1)
    out = impl.numpy(impl.cells.log_softmax(impl.xp, impl.array(x), -1))
    assert out.shape == shape and np.isfinite(out).all()
    # float32: both directions sum a row in another order than NumPy
    tol = TOL[dtype] if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out, expected, **tol)
    grad = impl.cells.log_softmax_backward(impl.xp, impl.array(g), impl.array(expected), -1)
    np.testing.assert_allclose(impl.numpy(grad),
                               reference.log_softmax_backward(np, g, expected, -1), **tol)


@PROPERTY
@given(dtype=DTYPES, shape=st.sampled_from([(7,), (4, 7), (2, 3, 65), (5, 1), (3, 300)]),
       seed=st.integers(0, 99))
def test_softmax_forward_and_backward(impl, dtype, shape, seed):
    rng = np.random.default_rng(seed)
    x, g = inputs(rng, shape, dtype, 50.0), plain(rng, shape, dtype)
    expected = reference.softmax(np, x, -1)
    out = impl.numpy(impl.cells.softmax(impl.xp, impl.array(x), -1))
    assert out.shape == shape and np.isfinite(out).all()
    tol = TOL[dtype] if dtype == np.float64 else dict(rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out, expected, **tol)
    np.testing.assert_allclose(out.sum(-1), 1.0, rtol=1e-5 if dtype == np.float32 else 1e-12)
    grad = impl.cells.softmax_backward(impl.xp, impl.array(g), impl.array(expected), -1)
    np.testing.assert_allclose(impl.numpy(grad),
                               reference.softmax_backward(np, g, expected, -1), **tol)


# ---- what the compiled kernels refuse goes to the reference ---------------------------------


@pytest.fixture
def compiled():
    return Implementation("host").cells


def test_calls_the_kernels_do_not_cover_go_to_the_reference(compiled):
    """Other axes, strided columns, integer or 1-D arrays: the NumPy reference answers."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    np.testing.assert_array_equal(compiled.log_softmax(np, x, 0), reference.log_softmax(np, x, 0))
    gates = rng.standard_normal((3, 8))
    c = rng.standard_normal((3, 4))[:, ::2]  # columns not contiguous
    outs = [[np.empty((3, 8))] + [np.empty((3, 2)) for _ in range(3)] for _ in range(2)]
    reference.lstm_cell_forward(np, gates, c, *outs[0])
    compiled.lstm_cell_forward(np, gates, c, *outs[1])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    pre = rng.standard_normal(5)
    h1, h2 = np.empty(5), np.empty(5)
    reference.rnn_cell_forward(np, pre, h1)
    compiled.rnn_cell_forward(np, pre, h2)
    np.testing.assert_array_equal(h1, h2)


def test_mismatched_or_read_only_arrays_never_reach_the_kernels(compiled):
    """Outputs too narrow, inputs NumPy would broadcast, read-only outputs, outputs whose rows
    overlap: the reference answers (broadcasting or raising as NumPy does), nothing is written
    out of bounds."""
    rng = np.random.default_rng(1)
    h = rng.standard_normal((2, 6)).astype(np.float32)
    with pytest.raises(ValueError):
        compiled.rnn_cell_backward(np, h, h, np.zeros((2, 1), np.float32))
    read_only = np.broadcast_to(np.zeros(6, np.float32), (2, 6))
    with pytest.raises(ValueError, match="read-only"):
        compiled.rnn_cell_backward(np, h, h, read_only)
    overlapping = np.lib.stride_tricks.as_strided(np.zeros(9, np.float32), (2, 6), (12, 4))
    assert compiled._arguments([overlapping], [6], (0,)) is None
    narrow = rng.standard_normal((2, 1)).astype(np.float32)  # broadcast along the row
    got, ref = np.empty_like(h), np.empty_like(h)
    compiled.rnn_cell_forward(np, h, got, rec=narrow)
    reference.rnn_cell_forward(np, h, ref, rec=narrow)
    np.testing.assert_array_equal(got, ref)
    c = rng.standard_normal((2, 3)).astype(np.float32)
    outs = [np.empty((2, 12), np.float32), np.empty_like(c), np.empty_like(c),
            np.empty((2, 1), np.float32)]  # h too narrow
    with pytest.raises(ValueError):
        compiled.lstm_cell_forward(np, rng.standard_normal((2, 12)).astype(np.float32), c,
                                   *outs)


def test_gru_backward_takes_the_sequence_ops_strided_views_without_a_copy():
    """The GRU sequence op passes r, z, n and gh's n block as views of its (B, 3H) buffers.
    The code both compiled implementations share hands the kernel their pointers and row
    strides as they are: no copy and no allocation per step (the CUDA kernels once had a
    (B, 3H) buffer zero-filled every step to rebuild a layout). A launcher that only records
    shows it without a GPU."""
    calls = []

    class Recording:
        array_type = np.ndarray
        pointer = staticmethod(host.HostLauncher.pointer)

        @staticmethod
        def writeable(a):
            return True

        @staticmethod
        def run(name, dtype, args, ints):
            calls.append((name, args, ints))

    batch, hidden = 64, 128
    act, gh = np.random.default_rng(0).random((2, batch, 3 * hidden))
    h, dh = np.ones((2, batch, hidden))
    outs = [np.empty((batch, 3 * hidden)), np.empty((batch, 3 * hidden)), np.empty_like(h)]
    views = act[:, :2 * hidden], act[:, 2 * hidden:], gh[:, 2 * hidden:]
    cells = CompiledCells(Recording)
    tracemalloc.start()
    cells.gru_cell_backward(np, *views, h, dh, *outs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 4096  # a (B, 3H) copy would be 196,608 bytes
    ((name, args, ints),) = calls
    assert name == "gru_cell_backward" and ints == (batch, hidden)
    pointer = Recording.pointer
    assert args[4:6] == [pointer(gh) + 2 * hidden * 8, 3 * hidden]  # gh_n: gh's own memory
    assert args[0:4] == [pointer(act), 3 * hidden, pointer(act) + 2 * hidden * 8, 3 * hidden]


def test_relu_propagates_nan_and_inf_like_numpy(impl):
    pre = np.array([[np.nan, 1.0, -1.0, np.inf]], np.float32)
    dh = np.array([[1.0, np.inf, np.inf, 1.0]], np.float32)
    for fn, args in (("rnn_cell_forward", (pre,)), ("rnn_cell_backward", (pre, dh))):
        got, ref = impl.xp.empty_like(impl.array(pre)), np.empty_like(pre)
        with np.errstate(invalid="ignore"):
            getattr(impl.cells, fn)(impl.xp, *map(impl.array, args), got, True)
            getattr(reference, fn)(np, *args, ref, True)
        np.testing.assert_array_equal(impl.numpy(got), ref)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("dtype", [ts.float32, ts.float64])
def test_layers_agree_with_the_reference(kind, dtype, monkeypatch, compiled):
    """A whole layer (2 layers, bidirectional, variable lengths) forward and backward through
    the compiled kernels and through the NumPy reference: outputs and every gradient."""
    def run():
        ts.manual_seed(3)
        layer = getattr(ts.nn, kind)(5, 7, num_layers=2, bidirectional=True).to(dtype=dtype)
        x = ts.randn(6, 3, 5, dtype=dtype, requires_grad=True)
        out, _ = layer(x, lengths=[6, 4, 1])
        (out * out).sum().backward()
        return [out.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]

    assert kernels.implementation(np) is compiled
    with_kernels = run()
    monkeypatch.setattr(host, "cells", lambda: reference)
    reference_run = run()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == ts.float32 else dict(rtol=1e-11, atol=1e-12)
    for a, b in zip(with_kernels, reference_run):
        np.testing.assert_allclose(a, b, **tol)
