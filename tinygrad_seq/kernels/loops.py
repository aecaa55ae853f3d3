"""The compiled time loops of the recurrent layers and the engine's matrix products
(src/time_loops.h, src/gemm.h), with the thread policy they share.

``lstm_*``, ``gru_*``, ``rnn_*``: one direction of one layer over all steps, forward or BPTT
backward, each thread owning a slice of the hidden units (``available()`` says whether they can
run on given arrays, ``why_not()`` why they cannot run here at all: no compiled kernels, no
CBLAS). ops/sequence.py calls them for NumPy arrays without per-sequence lengths and keeps its
NumPy loop otherwise. ``matmul`` is ``a @ b`` with the large products split across the same
threads, each part one single-threaded BLAS call.

Threads. The engine runs its own threads and holds NumPy's BLAS at one thread (from the first
use of the compiled code on): a BLAS's idle threads keep spinning after each call, and beside
the engine's threads, or another process, that spinning takes the cores they need (on a busy
2-core machine it cost the char-LM 3-4x). ``ts.set_num_threads(n)`` (or
``TINYGRAD_SEQ_NUM_THREADS=n``, read at first use) sets how many; the default is the cores this
process may run on. When the machine is busy, a loop's threads wait at the per-step barrier
for one that lost its core; the loops report those waits and, when fewer threads would have
been faster (``_Threads``), the engine uses one thread fewer, trying the full count again every
50 calls.
"""

from __future__ import annotations

import ctypes
import functools
import numbers
import os
import warnings

import numpy

from . import blas, host

_P, _I, _L = ctypes.c_void_p, ctypes.c_int, ctypes.c_int64
_HEAD = [_P, _I, _I]  # gemm pointer, wide integers, threads
_ARGS = {
    "lstm_loop_forward": _HEAD + [_P] * 8 + [_I] * 5 + [_P],
    "lstm_loop_backward": _HEAD + [_P] * 8 + [_I] * 4 + [_P],
    "gru_loop_forward": _HEAD + [_P] * 8 + [_I] * 5 + [_P],
    "gru_loop_backward": _HEAD + [_P] * 8 + [_I] * 4 + [_P],
    "rnn_loop_forward": _HEAD + [_P] * 5 + [_I] * 6 + [_P],
    "rnn_loop_backward": _HEAD + [_P] * 5 + [_I] * 5 + [_P],
}
_GEMM = {"gemm_parallel": _HEAD + [_I, _I, _L, _L, _L, _P, _L, _P, _L, None, _P, _L],
         "gemm_batched": _HEAD + [_I, _I] + [_L] * 5 + [_P, _L, _L, _L] * 3}
_SUFFIX = {numpy.dtype(numpy.float32): "f32", numpy.dtype(numpy.float64): "f64"}
_SCALAR = {numpy.dtype(numpy.float32): ctypes.c_float, numpy.dtype(numpy.float64): ctypes.c_double}
PARALLEL_FLOPS = 4e6  # below this a product stays on one thread (src/gemm.h, kParallelFlops)


# ---- threads ----------------------------------------------------------------------------------

class _Threads:
    """How many threads the engine uses: ``wanted`` (set_num_threads, or the cores), and
    ``active``, lowered while the loops' threads wait at their barriers longer, all together,
    than the loop took: n threads busy n T - waits, so n - 1 threads would then be faster (on
    a busy machine a thread that lost its core keeps the others waiting)."""

    PROBE_EVERY = 50

    def __init__(self):
        self.wanted = None
        self.active = None
        self.calls_since_drop = 0

    def count(self) -> int:
        if self.wanted is None:
            self.wanted = self.active = _default_threads()
        if self.active < self.wanted:
            self.calls_since_drop += 1
            if self.calls_since_drop >= self.PROBE_EVERY:  # the machine may be quiet again
                self.active, self.calls_since_drop = self.wanted, 0
        return self.active

    def report(self, used, wall_ns, waited_ns):
        if used > 1 and waited_ns > wall_ns:
            self.active, self.calls_since_drop = max(1, used - 1), 0


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _default_threads() -> int:
    value = os.environ.get("TINYGRAD_SEQ_NUM_THREADS", "").strip()
    if not value:
        return _cores()
    if value.isdigit() and int(value) > 0:
        return int(value)
    # read at the first compiled call, deep inside some forward: a warning, not an error there
    warnings.warn(f"TINYGRAD_SEQ_NUM_THREADS={value!r} is not a positive integer; using "
                  f"{_cores()} threads (the cores this process may run on)", RuntimeWarning,
                  stacklevel=2)
    return _cores()


_threads = _Threads()


def get_num_threads() -> int:
    """The threads the engine's compiled code uses (``ts.get_num_threads``)."""
    if _threads.wanted is None:
        _threads.count()
    return _threads.wanted


def set_num_threads(n: int) -> None:
    """How many threads the compiled loops and matrix products use (``ts.set_num_threads``);
    NumPy's BLAS stays at one."""
    if not isinstance(n, numbers.Integral) or isinstance(n, (bool, numpy.bool_)) or n < 1:
        raise ValueError(f"set_num_threads: expected a positive integer, got {n!r}")
    _threads.wanted = _threads.active = int(n)
    _threads.calls_since_drop = 0


# ---- the library ------------------------------------------------------------------------------

@functools.cache
def _functions():
    lib, found = host.library(), blas.find()
    if lib is None or found is None:
        return None
    table = {}
    for name, args in {**_ARGS, **_GEMM}.items():
        for dtype, suffix in _SUFFIX.items():
            fn = getattr(lib, f"{name}_{suffix}")
            fn.argtypes = [_SCALAR[dtype] if a is None else a for a in args]
            fn.restype = None
            table[name, dtype] = fn
    found.set_threads(1)  # see the module's docstring: the engine's threads do the splitting
    return table


def why_not() -> str | None:
    """None when the compiled loops can run, else why not."""
    if host.library() is None:
        return f"no compiled kernels ({host.why_not()})"
    if blas.find() is None:
        return f"no CBLAS to call ({blas.why_not()})"
    return None


def available(*arrays) -> bool:
    """Whether the loops can run on these arrays: NumPy, C-contiguous, all of one dtype,
    float32 or float64 (None entries are skipped: absent optional inputs)."""
    arrays = [a for a in arrays if a is not None]
    dtype = arrays[0].dtype
    if dtype not in _SUFFIX or _functions() is None:
        return False
    return all(type(a) is numpy.ndarray and a.dtype == dtype and a.flags.c_contiguous
               for a in arrays)


def _pointer(a):
    return None if a is None else a.ctypes.data


def _loop(name, dtype, *args):
    found, stats = blas.find(), numpy.zeros(2, dtype=numpy.int64)
    threads = _threads.count()
    _functions()[name, dtype](found.gemm[dtype], int(found.wide), threads,
                              *[_pointer(a) if isinstance(a, numpy.ndarray) or a is None
                                else a for a in args], stats.ctypes.data)
    _threads.report(threads, int(stats[0]), int(stats[1]))


# ---- the loops (shapes: T steps, B rows, H units; see src/time_loops.h) ------------------------

def lstm_forward(x, w_ih, bias, w_hh, act, hs, cs, tc, reverse):
    """x (T, B, I), w_ih (4H, I), bias (4H) the summed biases or None, w_hh (4H, H); act
    (T, B, 4H) written: the gates' activations; hs, cs (T + 1, B, H) with h0, c0 in slot 0
    (reverse: T), the others written; tc (T, B, H) written: tanh(c)."""
    steps, batch, inputs = x.shape
    _loop("lstm_loop_forward", x.dtype, x, w_ih, bias, w_hh, act, hs, cs, tc, steps, batch,
          inputs, hs.shape[2], int(reverse))


def lstm_backward(act, w_hh, cs, tc, d_out, dh, dc, d_pre, reverse):
    """d_pre (T, B, 4H) written; dh, dc (B, H) in: the gradients of h_n and c_n, out: those of
    h0 and c0; d_out (T, B, H) or None."""
    steps, batch, hidden = tc.shape
    _loop("lstm_loop_backward", act.dtype, act, w_hh, cs, tc, d_out, dh, dc, d_pre, steps,
          batch, hidden, int(reverse))


def gru_forward(x, w_ih, b_ih, w_hh, b_hh, act, gh, hs, reverse):
    """act (T, B, 3H) written: r, z, n; gh (T, B, 3H) written: h W_hh^T + b_hh; b_ih, b_hh
    both or neither; hs as the LSTM's."""
    steps, batch, inputs = x.shape
    _loop("gru_loop_forward", x.dtype, x, w_ih, b_ih, w_hh, b_hh, act, gh, hs, steps, batch,
          inputs, hs.shape[2], int(reverse))


def gru_backward(act, gh, w_hh, hs, d_out, dh, d_gi, d_gh, reverse):
    """d_gi, d_gh (T, B, 3H) written (the gradients of the input and hidden sides'
    pre-activations); dh as the LSTM's."""
    steps, batch = act.shape[0], act.shape[1]
    _loop("gru_loop_backward", act.dtype, act, gh, w_hh, hs, d_out, dh, d_gi, d_gh, steps,
          batch, hs.shape[2], int(reverse))


def rnn_forward(x, w_ih, bias, w_hh, hs, reverse, relu):
    """bias (H) the summed biases or None; hs as the LSTM's."""
    steps, batch, inputs = x.shape
    _loop("rnn_loop_forward", x.dtype, x, w_ih, bias, w_hh, hs, steps, batch, inputs,
          hs.shape[2], int(reverse), int(relu))


def rnn_backward(hs, w_hh, d_out, dh, d_pre, reverse, relu):
    """d_pre (T, B, H) written; dh as the LSTM's."""
    steps, batch, hidden = d_pre.shape
    _loop("rnn_loop_backward", d_pre.dtype, hs, w_hh, d_out, dh, d_pre, steps, batch, hidden,
          int(reverse), int(relu))


# ---- matrix products --------------------------------------------------------------------------

def _layout(a):
    """(transposed, leading dimension) of the last two axes of ``a`` as a BLAS operand: rows
    contiguous (a C-ordered matrix, or rows of one), or columns contiguous (the transpose of
    one); None for any other strides."""
    rows, cols = a.shape[-2], a.shape[-1]
    s0, s1 = a.strides[-2] // a.itemsize, a.strides[-1] // a.itemsize
    if (s1 == 1 or cols == 1) and s0 >= max(cols, 1):
        return False, s0
    if (s0 == 1 or rows == 1) and s1 >= max(rows, 1):
        return True, s1
    if rows == 1 and cols == 1:
        return False, 1
    return None


def _batch_grid(operands, batch):
    """The batch axes ``batch`` of broadcast ``operands`` (their last two axes are matrices) as
    at most two axes, outer first: [(size, stride of each operand)], a stride 0 repeating the
    matrix; None when they do not collapse to two (NumPy does the product then). Size-1 axes
    drop out; an axis merges into the one inside it when, in every operand, it steps over all
    of it."""
    views = [numpy.broadcast_to(x, batch + x.shape[-2:]) for x in operands]
    axes = [(n, [v.strides[i] // v.itemsize for v in views]) for i, n in enumerate(batch)
            if n != 1]
    merged = []
    for n, strides in axes:
        if merged and all(o == s * n for o, s in zip(merged[-1][1], strides)):
            merged[-1] = (merged[-1][0] * n, strides)
        else:
            merged.append((n, strides))
    if len(merged) > 2:
        return None
    return [(1, [0] * len(operands))] * (2 - len(merged)) + merged


def _writable_result(out, a, b, shape):
    """Whether the BLAS may write the product straight into ``out``: exactly the result's
    shape and dtype, C-ordered, sharing no memory with the operands (NumPy handles the rest:
    casts, broadcasting errors, overlaps)."""
    return (type(out) is numpy.ndarray and out.dtype == a.dtype and out.shape == shape and
            out.flags.c_contiguous and out.flags.writeable and
            not numpy.may_share_memory(out, a) and not numpy.may_share_memory(out, b))


def _numpy_matmul(a, b, out):
    if a.ndim > 2 or b.ndim > 2:  # stacked products of transposed views leave BLAS's fast path
        a = a if a.flags.c_contiguous else numpy.ascontiguousarray(a)
        b = b if b.flags.c_contiguous else numpy.ascontiguousarray(b)
    return numpy.matmul(a, b, out=out)


def matmul(a, b, out=None, accumulate=False):
    """``a @ b`` (NumPy's rules), the large products split across the engine's threads (each
    part one single-threaded BLAS call); the others, and what the BLAS cannot take as it is,
    go to NumPy. ``accumulate``: add the product into ``out`` (a bias written there first
    costs no pass of its own)."""
    if accumulate and not (a.ndim == 2 and b.ndim == 2 and
                           _writable_result(out, a, b, (a.shape[0], b.shape[1]))):
        return _fallback(a, b, out, 1.0)
    return _matmul(a, b, out, 1.0 if accumulate else 0.0)


def _fallback(a, b, out, beta):
    """NumPy's product, into ``out`` or (beta 1) added to it."""
    if beta:
        out += _numpy_matmul(a, b, None)
        return out
    return _numpy_matmul(a, b, out)


def _matmul(a, b, out, beta):
    if type(a) is not numpy.ndarray or type(b) is not numpy.ndarray or a.dtype != b.dtype or \
            a.ndim < 2 or b.ndim < 2 or a.dtype not in _SUFFIX or _functions() is None:
        return _fallback(a, b, out, beta)
    m, k, n = a.shape[-2], a.shape[-1], b.shape[-1]
    batch_shape = numpy.broadcast_shapes(a.shape[:-2], b.shape[:-2])
    count = int(numpy.prod(batch_shape)) if batch_shape else 1
    if 2.0 * m * n * k * count < PARALLEL_FLOPS or b.shape[-2] != k or \
            (out is not None and not _writable_result(out, a, b, batch_shape + (m, n))):
        return _fallback(a, b, out, beta)
    la, lb = _layout(a), _layout(b)
    if la is None:  # e.g. a broadcast gradient (zero strides): a copy the BLAS can read
        a = numpy.ascontiguousarray(a)
        la = _layout(a)
    if lb is None:
        b = numpy.ascontiguousarray(b)
        lb = _layout(b)
    if out is None:
        out = numpy.empty(batch_shape + (m, n), dtype=a.dtype)
    found, threads = blas.find(), _threads.count()
    head = (found.gemm[a.dtype], int(found.wide), threads, int(la[0]), int(lb[0]))
    if not batch_shape:
        _functions()["gemm_parallel", a.dtype](*head, m, n, k, a.ctypes.data, la[1],
                                               b.ctypes.data, lb[1], beta, out.ctypes.data, n)
        return out
    grid = _batch_grid((a, b), batch_shape)
    if grid is None:
        return _fallback(a, b, out, beta)
    (outer, (sao, sbo)), (inner, (sai, sbi)) = grid
    _functions()["gemm_batched", a.dtype](*head, outer, inner, m, n, k, a.ctypes.data, la[1],
                                          sao, sai, b.ctypes.data, lb[1], sbo, sbi,
                                          out.ctypes.data, n, inner * m * n, m * n)
    return out
