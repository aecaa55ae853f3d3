"""Custom CUDA kernels: loading ``kernels/*.cu`` and running them on CuPy arrays.

The fused ops call ``implementation(xp)`` for their pointwise maths and get, for NumPy arrays,
the compiled CPU kernels of host_kernels.py (or the NumPy reference, ops/cellmath.py, where
they cannot be built), and for CuPy arrays ``CudaCells``, whose functions have the same
signatures and run the kernels of lstm.cu, gru.cu and log_softmax.cu. That dictionary lookup
is the only place the backend is chosen; op bodies never ask.

Kernel sources ship inside the wheel (package ``tinygrad_seq._kernels``, mapped to the
repository's kernels/ folder); ``source(name)`` finds them in an installed or an editable
copy, and ``kernel(file, name)`` compiles once per (file, name) and remembers the result.
"""

from __future__ import annotations

import functools
import importlib.resources
import pathlib
import re

import numpy

from .ops import cellmath

THREADS = 256
_SUFFIX = {numpy.dtype(numpy.float32): "f32", numpy.dtype(numpy.float64): "f64"}


def kernel_dir() -> pathlib.Path:
    """The folder holding the .cu sources: inside the installed package, else the checkout's."""
    try:
        shipped = importlib.resources.files("tinygrad_seq._kernels")
        if shipped.joinpath("lstm.cu").is_file():
            return pathlib.Path(str(shipped))
    except ModuleNotFoundError:
        pass
    return pathlib.Path(__file__).resolve().parent.parent / "kernels"


def source(name: str) -> str:
    """The source of ``kernels/<name>``, with local ``#include "..."`` headers inlined (so NVRTC
    needs no include path)."""
    folder = kernel_dir()
    path = folder / name
    if not path.is_file():
        raise FileNotFoundError(f"kernel source {name} not found in {folder}")
    text = path.read_text()

    def inline(match):
        return (folder / match.group(1)).read_text().replace("#pragma once", "")

    return re.sub(r'#include "([^"]+)"', inline, text)


@functools.cache
def kernel(file: str, name: str):
    """The compiled kernel ``name`` of ``kernels/<file>`` (compiled on first use)."""
    from . import backend
    cupy = backend._load_cupy()
    module = cupy.RawModule(code=source(file), options=("-std=c++17",))
    try:
        return module.get_function(name)
    except cupy.cuda.compiler.CompileException as e:
        raise RuntimeError(f"CUDA kernel {name} ({file}) failed to compile:\n{e}") from None


def _run(xp, file, name, inputs, outputs, batch, hidden):
    """Launch ``name`` (the variant for the outputs' dtype) with one thread per (batch, unit)
    element. The kernels read and write row-major memory: inputs are made contiguous, and an
    output that is a strided view is written through a temporary."""
    inputs = [xp.ascontiguousarray(a) for a in inputs]
    temps = [o if o.flags.c_contiguous else xp.empty(o.shape, o.dtype) for o in outputs]
    fn = kernel(file, f"{name}_{_SUFFIX[numpy.dtype(outputs[0].dtype)]}")
    blocks = max(1, (batch * hidden + THREADS - 1) // THREADS)
    fn((blocks,), (THREADS,), (*inputs, *temps, numpy.int32(batch), numpy.int32(hidden)))
    for o, tmp in zip(outputs, temps):
        if o is not tmp:
            o[...] = tmp


class CudaCells:
    """The functions of ops/cellmath.py, run by this project's CUDA kernels."""

    @staticmethod
    def lstm_cell_forward(xp, gates, c, act, c_new, tc, h, rec=None):
        if rec is not None:  # the kernel reads and writes each element in one thread
            xp.add(gates, rec, out=act)
            gates = act
        _run(xp, "lstm.cu", "lstm_forward", [gates, c], [act, c_new, tc, h], *c.shape)

    @staticmethod
    def lstm_cell_backward(xp, act, c, tc, dh, dc, d_gates, d_c):
        # an output that got no gradient: zeros (the kernel also accepts null pointers)
        dh = xp.zeros_like(c) if dh is None else dh
        dc = xp.zeros_like(c) if dc is None else dc
        _run(xp, "lstm.cu", "lstm_backward", [act, c, tc, dh, dc], [d_gates, d_c], *c.shape)

    @staticmethod
    def gru_cell_forward(xp, gi, gh, h, rz, n_out, h_new):
        _run(xp, "gru.cu", "gru_forward", [gi, gh, h], [rz, n_out, h_new], *h.shape)

    @staticmethod
    def gru_cell_backward(xp, rz, n, ghn, h, dh_new, d_gi, d_gh, d_h):
        # the kernel reads gh_n from a (B, 3H) layout: rebuild one around the saved slice
        batch, hidden = h.shape
        gh = xp.zeros((batch, 3 * hidden), dtype=h.dtype)
        gh[:, 2 * hidden:] = ghn
        _run(xp, "gru.cu", "gru_backward", [rz, n, gh, h, dh_new], [d_gi, d_gh, d_h], batch,
             hidden)

    @staticmethod
    def rnn_cell_forward(xp, pre, h, relu=False, rec=None):
        cellmath.rnn_cell_forward(xp, pre, h, relu, rec)  # one ufunc: CuPy's own kernel suffices

    @staticmethod
    def rnn_cell_backward(xp, h, dh, d_pre, relu=False):
        cellmath.rnn_cell_backward(xp, h, dh, d_pre, relu)

    @staticmethod
    def log_softmax(xp, x, axis):
        if axis not in (-1, x.ndim - 1):  # the kernel reduces rows; other axes: CuPy ufuncs
            return cellmath.log_softmax(xp, x, axis)
        x = xp.ascontiguousarray(x)
        return _row_kernel("log_softmax_forward", [x], xp.empty_like(x))

    @staticmethod
    def log_softmax_backward(xp, g, out, axis):
        if axis not in (-1, out.ndim - 1):
            return cellmath.log_softmax_backward(xp, g, out, axis)
        g, out = xp.ascontiguousarray(g), xp.ascontiguousarray(out)
        return _row_kernel("log_softmax_backward", [g, out], xp.empty_like(g))


def _row_kernel(name, inputs, result):
    """Launch ``name`` of log_softmax.cu with one block per row of the last axis; it writes
    ``result``, which is returned."""
    cols = result.shape[-1]
    kernel("log_softmax.cu", f"{name}_{_SUFFIX[result.dtype]}")(
        (max(1, result.size // max(cols, 1)),), (THREADS,), (*inputs, result, numpy.int32(cols)))
    return result


def implementation(xp):
    """The cell maths for arrays of module ``xp``: for NumPy the compiled CPU kernels
    (host_kernels.py; the NumPy reference where they cannot be built), for CuPy the CUDA
    kernels."""
    if xp is numpy:
        from . import host_kernels  # it imports this module for the sources
        return host_kernels.cells()
    return CudaCells
