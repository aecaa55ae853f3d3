"""The compiled CPU kernels (kernels/host.cpp through tinygrad_seq/host_kernels.py) against
the NumPy reference (ops/cellmath.py): every function, float32 and float64, random shapes
(hidden sizes that are not multiples of the vector width exercise the loop tails), extreme
inputs, in-place and strided-view layouts, and whole recurrent layers. Also how the library is
built, cached, disabled and reported when it cannot be."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_seq as ts
from tinygrad_seq import host_kernels, kernels
from tinygrad_seq.host_kernels import HostCells
from tinygrad_seq.ops import cellmath

pytestmark = pytest.mark.skipif(host_kernels.library() is None,
                                reason=f"CPU kernels unavailable: {host_kernels.why_not()}")

# float32: libm's and libmvec's tanh differ from NumPy's by a few units in the last place
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}
DTYPES = st.sampled_from([np.float32, np.float64])
SIZES = dict(batch=st.integers(1, 5), hidden=st.integers(1, 37), scale=st.sampled_from([1, 30]))


def inputs(rng, shape, dtype, scale=1.0):
    """Random normal values times ``scale``; the first few saturate tanh and sigmoid."""
    x = rng.standard_normal(shape) * scale
    x.flat[:4] = [1e4, -1e4, 88.0, -710.0][: x.size]
    return x.astype(dtype)


def plain(rng, shape, dtype):
    """States and incoming gradients: O(1) values (an error in a gate activation is multiplied
    by them, so huge states would make float32's last-place differences look large)."""
    return rng.standard_normal(shape).astype(dtype)


def agree(got, ref, dtype):
    for a, b in zip(got, ref):
        assert np.isfinite(a).all()
        np.testing.assert_allclose(a, b, **TOL[dtype])


def run_both(fn, make_args):
    """Call cellmath's and HostCells' ``fn`` on separate copies of the same arguments; return
    both argument lists (the outputs are written into them)."""
    ref, got = make_args(), make_args()
    getattr(cellmath, fn)(np, *ref)
    getattr(HostCells, fn)(np, *got)
    return got, ref


@settings(max_examples=25, deadline=None)
@given(dtype=DTYPES, rec=st.booleans(), in_place=st.booleans(), seed=st.integers(0, 99), **SIZES)
def test_lstm_forward(dtype, rec, in_place, seed, batch, hidden, scale):
    rng = np.random.default_rng(seed)
    gates, c = inputs(rng, (batch, 4 * hidden), dtype, scale), plain(rng, (batch, hidden), dtype)
    r = plain(rng, (batch, 4 * hidden), dtype) if rec else None

    def args():
        g = gates.copy()
        act = g if in_place else np.empty_like(g)
        return [g, c, act, *(np.empty_like(c) for _ in range(3)), r]

    got, ref = run_both("lstm_cell_forward", args)
    agree(got[2:6], ref[2:6], dtype)
    if not in_place:
        np.testing.assert_array_equal(got[0], gates)  # the input is left alone


@settings(max_examples=25, deadline=None)
@given(dtype=DTYPES, missing=st.sampled_from([None, "dh", "dc"]), seed=st.integers(0, 99),
       **SIZES)
def test_lstm_backward(dtype, missing, seed, batch, hidden, scale):
    rng = np.random.default_rng(seed)
    act = rng.uniform(0, 1, (batch, 4 * hidden)).astype(dtype)
    act[:, 2 * hidden:3 * hidden] = 2 * act[:, 2 * hidden:3 * hidden] - 1  # tanh's range
    c, tc = plain(rng, (batch, hidden), dtype) * scale, np.tanh(plain(rng, (batch, hidden), dtype))
    dh, dc = (None if missing == name else plain(rng, (batch, hidden), dtype)
              for name in ("dh", "dc"))
    got, ref = run_both("lstm_cell_backward", lambda: [act, c, tc, dh, dc,
                                                       np.empty_like(act), np.empty_like(c)])
    agree(got[5:], ref[5:], dtype)


@settings(max_examples=25, deadline=None)
@given(dtype=DTYPES, in_place=st.booleans(), seed=st.integers(0, 99), **SIZES)
def test_gru_forward(dtype, in_place, seed, batch, hidden, scale):
    rng = np.random.default_rng(seed)
    gi, gh = (inputs(rng, (batch, 3 * hidden), dtype, scale) for _ in range(2))
    h = plain(rng, (batch, hidden), dtype)

    def args():
        g = gi.copy()
        if in_place:  # the sequence op's layout: r, z and n written over gi's blocks
            rz, n = g[:, :2 * hidden], g[:, 2 * hidden:]
        else:
            rz, n = np.empty((batch, 2 * hidden), dtype), np.empty_like(h)
        return [g, gh, h, rz, n, np.empty_like(h)]

    got, ref = run_both("gru_cell_forward", args)
    agree(got[3:], ref[3:], dtype)
    if not in_place:
        np.testing.assert_array_equal(got[0], gi)


@settings(max_examples=25, deadline=None)
@given(dtype=DTYPES, views=st.booleans(), seed=st.integers(0, 99), **SIZES)
def test_gru_backward(dtype, views, seed, batch, hidden, scale):
    """``views``: r, z, n and gh_n as strided blocks of (B, 3H) buffers, as the sequence op
    passes them."""
    rng = np.random.default_rng(seed)
    act = rng.uniform(0, 1, (batch, 3 * hidden)).astype(dtype)
    act[:, 2 * hidden:] = 2 * act[:, 2 * hidden:] - 1
    gh = inputs(rng, (batch, 3 * hidden), dtype, scale)
    h, dh = plain(rng, (batch, hidden), dtype), plain(rng, (batch, hidden), dtype)
    rz, n, ghn = act[:, :2 * hidden], act[:, 2 * hidden:], gh[:, 2 * hidden:]
    if not views:
        rz, n, ghn = (np.ascontiguousarray(a) for a in (rz, n, ghn))
    wide = (batch, 3 * hidden)
    got, ref = run_both("gru_cell_backward", lambda: [rz, n, ghn, h, dh, np.empty(wide, dtype),
                                                      np.empty(wide, dtype), np.empty_like(h)])
    agree(got[5:], ref[5:], dtype)


@settings(max_examples=25, deadline=None)
@given(dtype=DTYPES, relu=st.booleans(), rec=st.booleans(), seed=st.integers(0, 99), **SIZES)
def test_rnn_forward_and_backward(dtype, relu, rec, seed, batch, hidden, scale):
    rng = np.random.default_rng(seed)
    pre, dh = inputs(rng, (batch, hidden), dtype, scale), plain(rng, (batch, hidden), dtype)
    r = plain(rng, (batch, hidden), dtype) if rec else None
    got, ref = run_both("rnn_cell_forward", lambda: [pre, np.empty_like(pre), relu, r])
    agree(got[1:2], ref[1:2], dtype)
    h = ref[1]
    got, ref = run_both("rnn_cell_backward", lambda: [h, dh, np.empty_like(h), relu])
    agree(got[2:3], ref[2:3], dtype)


@settings(max_examples=25, deadline=None)
@given(dtype=DTYPES, shape=st.sampled_from([(7,), (4, 7), (2, 3, 65), (5, 1)]),
       seed=st.integers(0, 99))
def test_log_softmax_forward_and_backward(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    x, g = inputs(rng, shape, dtype, 50.0), plain(rng, shape, dtype)
    out, ref = HostCells.log_softmax(np, x, -1), cellmath.log_softmax(np, x, -1)
    assert out.shape == shape and np.isfinite(out).all()
    # float32: both directions sum a row (here up to 65 terms) in another order than NumPy
    tol = TOL[dtype] if dtype == np.float64 else dict(rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(out, ref, **tol)
    np.testing.assert_allclose(HostCells.log_softmax_backward(np, g, ref, -1),
                               cellmath.log_softmax_backward(np, g, ref, -1), **tol)


def test_calls_the_kernels_do_not_cover_go_to_the_reference():
    """Other axes, strided columns, integer or 1-D arrays: the NumPy reference answers."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((4, 6))
    np.testing.assert_array_equal(HostCells.log_softmax(np, x, 0), cellmath.log_softmax(np, x, 0))
    gates = rng.standard_normal((3, 8))
    c = rng.standard_normal((3, 4))[:, ::2]  # columns not contiguous
    outs = [[np.empty((3, 8))] + [np.empty((3, 2)) for _ in range(3)] for _ in range(2)]
    cellmath.lstm_cell_forward(np, gates, c, *outs[0])
    HostCells.lstm_cell_forward(np, gates, c, *outs[1])
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)
    pre = rng.standard_normal(5)
    h1, h2 = np.empty(5), np.empty(5)
    cellmath.rnn_cell_forward(np, pre, h1)
    HostCells.rnn_cell_forward(np, pre, h2)
    np.testing.assert_array_equal(h1, h2)


def test_mismatched_or_read_only_arrays_never_reach_the_kernels():
    """Outputs too narrow, inputs NumPy would broadcast, read-only outputs: the reference
    answers (broadcasting or raising as NumPy does), nothing is written out of bounds."""
    rng = np.random.default_rng(1)
    h = rng.standard_normal((2, 6)).astype(np.float32)
    with pytest.raises(ValueError):
        HostCells.rnn_cell_backward(np, h, h, np.zeros((2, 1), np.float32))
    read_only = np.broadcast_to(np.zeros(6, np.float32), (2, 6))
    with pytest.raises(ValueError, match="read-only"):
        HostCells.rnn_cell_backward(np, h, h, read_only)
    narrow = rng.standard_normal((2, 1)).astype(np.float32)  # broadcast along the row
    got, ref = np.empty_like(h), np.empty_like(h)
    HostCells.rnn_cell_forward(np, h, got, rec=narrow)
    cellmath.rnn_cell_forward(np, h, ref, rec=narrow)
    np.testing.assert_array_equal(got, ref)
    c = rng.standard_normal((2, 3)).astype(np.float32)
    outs = [np.empty((2, 12), np.float32), np.empty_like(c), np.empty_like(c),
            np.empty((2, 1), np.float32)]  # h too narrow
    with pytest.raises(ValueError):
        HostCells.lstm_cell_forward(np, rng.standard_normal((2, 12)).astype(np.float32), c,
                                    *outs)


def test_relu_propagates_nan_and_inf_like_numpy():
    pre = np.array([[np.nan, 1.0, -1.0, np.inf]], np.float32)
    dh = np.array([[1.0, np.inf, np.inf, 1.0]], np.float32)
    for fn, args in (("rnn_cell_forward", (pre,)), ("rnn_cell_backward", (pre, dh))):
        got, ref = np.empty_like(pre), np.empty_like(pre)
        with np.errstate(invalid="ignore"):
            getattr(HostCells, fn)(np, *args, got, True)
            getattr(cellmath, fn)(np, *args, ref, True)
        np.testing.assert_array_equal(got, ref)


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
@pytest.mark.parametrize("dtype", [ts.float32, ts.float64])
def test_layers_agree_with_the_reference(kind, dtype, monkeypatch):
    """A whole layer (2 layers, bidirectional, variable lengths) forward and backward through
    the kernels and through the NumPy reference: outputs and every gradient."""
    def run():
        ts.manual_seed(3)
        layer = getattr(ts.nn, kind)(5, 7, num_layers=2, bidirectional=True).to(dtype=dtype)
        x = ts.randn(6, 3, 5, dtype=dtype, requires_grad=True)
        out, _ = layer(x, lengths=[6, 4, 1])
        (out * out).sum().backward()
        return [out.numpy(), x.grad.numpy()] + [p.grad.numpy() for p in layer.parameters()]

    with_kernels = run()
    monkeypatch.setattr(host_kernels, "cells", lambda: cellmath)
    reference = run()
    tol = dict(rtol=1e-5, atol=1e-6) if dtype == ts.float32 else dict(rtol=1e-11, atol=1e-12)
    for a, b in zip(with_kernels, reference):
        np.testing.assert_allclose(a, b, **tol)


def test_build_is_cached_per_source(tmp_path, monkeypatch):
    first = host_kernels.build(tmp_path)
    assert first.is_file() and host_kernels.build(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no scratch files left
    source = kernels.source(host_kernels.SOURCE)
    monkeypatch.setattr(kernels, "source", lambda name: source + "\n// changed\n")
    assert host_kernels.build(tmp_path) != first


def test_compile_error_shows_the_compiler_message(tmp_path, monkeypatch):
    monkeypatch.setattr(kernels, "source", lambda name: "this is not C++;")
    with pytest.raises(RuntimeError, match=r"kernels/host.cpp failed to compile:(.|\n)*error"):
        host_kernels.build(tmp_path)


def test_no_compiler_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(host_kernels, "compiler", lambda: None)
    with pytest.raises(RuntimeError, match="no C.. compiler found"):
        host_kernels.build(tmp_path)


def test_an_unwritable_cache_falls_back_to_a_temporary_folder(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the cache "folder" is a file: it cannot be created
    probe = "from tinygrad_seq import host_kernels; print(host_kernels.why_not())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin",
                                          "TINYGRAD_SEQ_CACHE": str(blocked / "cache")})
    assert out.stdout.strip() == "None", out.stderr


@pytest.mark.parametrize("env, expect", [({"TINYGRAD_SEQ_HOST_KERNELS": "0"}, "disabled"),
                                         ({"CXX": "no-such-compiler"}, "no C++ compiler")])
def test_without_kernels_numpy_arrays_use_the_reference(env, expect, tmp_path):
    probe = ("import numpy, tinygrad_seq as ts; from tinygrad_seq import kernels, host_kernels;"
             "from tinygrad_seq.ops import cellmath;"
             "print(kernels.implementation(numpy) is cellmath); print(host_kernels.why_not());"
             "print(ts.nn.LSTM(3, 4)(ts.randn(2, 1, 3))[0].shape)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "TINYGRAD_SEQ_CACHE": str(tmp_path), **env},
                         check=True).stdout.splitlines()
    assert out[0] == "True" and expect in out[1] and out[2] == "(2, 1, 4)"
