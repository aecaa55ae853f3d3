"""The compiled time loops (kernels/loops.py, src/time_loops.h) against the NumPy loop of
ops/sequence.py they replace, and against PyTorch; which calls take them (the threaded matrix
product and the thread policy: test_matmul_threads.py).

A loop runs on more than one thread only when a step's products are large (``useful_threads``:
2 B G K >= 2e6 flops and 16 units a thread), so the random small shapes run on one thread and
the LARGE cases on 2 and 3; hidden sizes not a multiple of 16 and batches not a multiple of 6
exercise the step kernel's partial panel and tile remainders (src/step_gemm.h)."""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import functools
import subprocess
import sys

import numpy as np
import pytest
from helpers import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.kernels import loops

KINDS = [("LSTM", None), ("GRU", None), ("RNN", "tanh"), ("RNN", "relu")]
LOOPS = {"LSTM": "lstm", "GRU": "gru", "RNN": "rnn"}
ENTRY_POINTS = [f"{k}_{d}" for k in LOOPS.values() for d in ("forward", "backward")]
# the step kernel fuses multiply-adds and sums in another order than NumPy's BLAS
TOL = {np.float64: dict(rtol=1e-12, atol=1e-12), np.float32: dict(rtol=2e-5, atol=2e-5)}
TORCH_TOL = {np.float64: dict(rtol=1e-10, atol=1e-12), np.float32: dict(rtol=2e-4, atol=5e-5)}
INTO = [("out",), ("h_n",), ("c_n",), ("out", "h_n", "c_n")]  # which outputs get a gradient
PROPERTY = settings(deadline=None)


def needs_loops():
    if loops.why_not() is not None:
        pytest.skip(f"compiled time loops unavailable: {loops.why_not()}")


class Policy(loops._Threads):
    """The thread policy with the governor's drops off and its reports kept (used threads, wall
    ns, summed barrier waits ns, one per loop call): a test runs on the threads it sets,
    however busy the machine."""

    def __init__(self):
        super().__init__()
        self.reports = []

    def report(self, used, wall_ns, waited_ns):
        self.reports.append((used, wall_ns, waited_ns))


@contextlib.contextmanager
def engine(threads=None, compiled=True):
    """Yields (calls of each loop entry point, the Policy) with ``threads`` set through
    ts.set_num_threads on a fresh policy (the session's restored after), and with the compiled
    loops switched off (``available`` says no, as for CuPy arrays) unless ``compiled``."""
    calls, policy = collections.Counter(), Policy()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(loops, "_threads", policy)
        if threads is not None:
            ts.set_num_threads(threads)
        if not compiled:
            mp.setattr(loops, "available", lambda *arrays: False)
        for name in ENTRY_POINTS:
            real = getattr(loops, name)

            @functools.wraps(real)
            def spy(*args, _real=real, _name=name):
                calls[_name] += 1
                return _real(*args)
            mp.setattr(loops, name, spy)
        yield calls, policy


@dataclasses.dataclass(frozen=True)
class Case:
    """One layer configuration; ``arrays`` draws its weights, input, initial states and the
    incoming gradients from ``seed``, the same for every framework that runs it."""

    kind: str
    nonlinearity: str | None = None
    dtype: type = np.float64
    steps: int = 5
    batch: int = 3
    inputs: int = 4
    hidden: int = 6
    layers: int = 1
    bidirectional: bool = False
    batch_first: bool = False
    bias: bool = True
    given_state: bool = True
    into: tuple = ("out", "h_n", "c_n")
    seed: int = 0

    @property
    def states(self):
        return ("h_n", "c_n") if self.kind == "LSTM" else ("h_n",)

    def options(self):
        extra = {"nonlinearity": self.nonlinearity} if self.nonlinearity else {}
        return dict(input_size=self.inputs, hidden_size=self.hidden, num_layers=self.layers,
                    bias=self.bias, batch_first=self.batch_first,
                    bidirectional=self.bidirectional, **extra)

    def arrays(self, shapes):
        rng = np.random.default_rng(self.seed)
        bound = 1 / np.sqrt(self.hidden)
        params = {n: rng.uniform(-bound, bound, s).astype(self.dtype) for n, s in shapes.items()}
        tb = (self.batch, self.steps) if self.batch_first else (self.steps, self.batch)
        directions = 2 if self.bidirectional else 1
        state = (self.layers * directions, self.batch, self.hidden)
        x = rng.standard_normal((*tb, self.inputs)).astype(self.dtype)
        initial = [rng.standard_normal(state).astype(self.dtype) for _ in self.states]
        shapes = {"out": (*tb, directions * self.hidden), "h_n": state, "c_n": state}
        wanted = [k for k in ("out", *self.states) if k in self.into] or ["h_n"]
        grads = {k: rng.standard_normal(shapes[k]).astype(self.dtype) for k in wanted}
        return params, x, initial if self.given_state else [], grads


def run(case, lib=None):
    """Forward and backward through a layer of ``lib`` (tinygrad_seq, or torch): {name: array}
    of the outputs, final states and the gradients of input, initial states and parameters."""
    lib = lib or ts
    layer = getattr(lib.nn, case.kind)(**case.options())
    layer = layer.double() if case.dtype == np.float64 else layer
    shapes = {k: tuple(v.shape) for k, v in layer.state_dict().items()}
    params, x, initial, grads = case.arrays(shapes)
    layer.load_state_dict({k: lib.tensor(v) for k, v in params.items()})
    x = lib.tensor(x, requires_grad=True)
    initial = [lib.tensor(s, requires_grad=True) for s in initial]
    hx = (tuple(initial) if case.kind == "LSTM" else initial[0]) if initial else None
    out, finals = layer(x, hx)
    got = dict(zip(("out", *case.states), (out, *(finals if case.kind == "LSTM" else [finals]))))
    sum((got[k] * lib.tensor(g)).sum() for k, g in grads.items()).backward()
    got.update(d_input=x.grad, **{f"d_{s[0]}0": t.grad for s, t in zip(case.states, initial)})
    got.update({f"d_{n}": p.grad for n, p in layer.named_parameters()})
    return {k: None if v is None else np.array(v.detach().numpy()) for k, v in got.items()}


def agree(got, expected, tol):
    assert got.keys() == expected.keys()
    for name, a in got.items():
        assert (a is None) == (expected[name] is None), name
        if a is not None:
            assert a.dtype == expected[name].dtype, name
            assert np.isfinite(a).all(), name
            np.testing.assert_allclose(a, expected[name], err_msg=name, **tol)


def compare_paths(case, threads):
    """The compiled loops (checked taken, on each layer direction, forward and backward)
    against the NumPy loop, on ``threads`` threads; returns the thread reports."""
    needs_loops()
    with engine(threads) as (calls, policy):
        got = run(case)
    runs = case.layers * (2 if case.bidirectional else 1)
    name = LOOPS[case.kind]
    assert calls == {f"{name}_forward": runs, f"{name}_backward": runs}
    with engine(threads, compiled=False) as (calls, _):
        expected = run(case)
    assert not calls
    agree(got, expected, TOL[case.dtype])
    return policy.reports


# ---- the loops against the NumPy loop ---------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS, ids=str)
@PROPERTY
@given(dtype=st.sampled_from([np.float32, np.float64]),
       steps=st.integers(1, 6), batch=st.integers(1, 5), inputs=st.integers(1, 7),
       hidden=st.integers(1, 40), layers=st.integers(1, 2), bidirectional=st.booleans(),
       batch_first=st.booleans(), bias=st.booleans(), given_state=st.booleans(),
       into=st.sampled_from(INTO), threads=st.sampled_from([1, 2, 3]), seed=st.integers(0, 99))
def test_loops_match_the_numpy_loop(kind, dtype, threads, **sizes):
    compare_paths(Case(*kind, dtype, **sizes), threads)


# (kind, batch, hidden): each step's products large enough for 2 and 3 threads
LARGE = [("LSTM", None, 32, 128), ("LSTM", None, 29, 100), ("GRU", None, 32, 128),
         ("GRU", None, 35, 100), ("RNN", "tanh", 64, 128), ("RNN", "relu", 29, 200)]


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind, nonlinearity, batch, hidden", LARGE, ids=str)
def test_loops_on_several_threads_match_the_numpy_loop(kind, nonlinearity, batch, hidden,
                                                       dtype, threads):
    case = Case(kind, nonlinearity, dtype, steps=4, batch=batch, inputs=7, hidden=hidden,
                bidirectional=True, into=INTO[batch % 4], seed=batch)
    reports = compare_paths(case, threads)
    assert len(reports) == 4 and all(used == threads for used, _, _ in reports)
    # one thread never waits at its barrier: waits show the threads really ran
    assert all(waited > 0 for _, _, waited in reports), reports


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=["f32", "f64"])
@pytest.mark.parametrize("kind, nonlinearity, batch, hidden", LARGE[::2], ids=str)
def test_large_layers_match_pytorch(kind, nonlinearity, batch, hidden, dtype):
    needs_loops()
    case = Case(kind, nonlinearity, dtype, steps=5, batch=batch, inputs=7, hidden=hidden,
                layers=2, bidirectional=True, batch_first=True)
    with engine(2) as (calls, _):
        got = run(case)
    assert calls[f"{LOOPS[kind]}_backward"] == 4
    agree(got, run(case, torch), TORCH_TOL[dtype])


# ---- which calls take the loops ---------------------------------------------------------------

def test_a_plain_numpy_layer_takes_the_loops():
    needs_loops()
    with engine() as (calls, _):
        run(Case("LSTM", dtype=np.float32))
    assert calls == {"lstm_forward": 1, "lstm_backward": 1}


def test_lengths_keep_the_numpy_loop():
    m = nn.GRU(3, 20).double()
    x = ts.tensor(np.random.default_rng(0).standard_normal((5, 4, 3)), requires_grad=True)
    with engine() as (calls, _):
        out, h = m(x, lengths=[5, 2, 4, 1])
        (out.sum() + h.sum()).backward()
    assert not calls
    assert np.isfinite(x.grad.numpy()).all() and (out.numpy()[2:, 1] == 0).all()


def test_mixed_dtypes_keep_the_numpy_loop():
    m = nn.LSTM(3, 40)  # float32 weights, a float64 input: the NumPy loop promotes
    x = ts.tensor(np.random.default_rng(0).standard_normal((5, 4, 3)), requires_grad=True)
    with engine() as (calls, _):
        out, (h, c) = m(x)
        (out.sum() + c.sum()).backward()
    assert not calls
    assert out.dtype == np.float64 and x.grad.dtype == np.float64
    for a in (out, h, c, x.grad, m.weight_hh_l0.grad):
        assert np.isfinite(a.numpy()).all()


@pytest.mark.parametrize("kind", KINDS, ids=str)
def test_backward_inside_record_grad_norms_keeps_the_numpy_loop(kind):
    needs_loops()
    case = Case(*kind, steps=4, batch=3, hidden=20, bidirectional=True)
    with engine() as (calls, _), ts.autograd.record_grad_norms():
        got = run(case)
    # the NumPy BPTT reads what the compiled forward saved
    assert calls == {f"{LOOPS[kind[0]]}_forward": 2}
    with engine(compiled=False):
        agree(got, run(case), TOL[np.float64])


def test_a_float32_input_with_float64_weights_and_state_runs():
    needs_loops()
    probe = ("import numpy as np, tinygrad_seq as ts\n"
             "m = ts.nn.LSTM(7, 128).double()\n"
             "rng = np.random.default_rng(0)\n"
             "x = ts.tensor(rng.standard_normal((3, 32, 7)).astype(np.float32))\n"
             "h0 = ts.tensor(rng.standard_normal((1, 32, 128)))\n"
             "out, _ = m(x, (h0, h0))\n"
             "print(bool(np.isfinite(out.numpy()).all()))\n")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == "True", done.stderr[-500:]
