"""The kernel layer: the recurrent cells' pointwise maths (and log-softmax), behind one
interface with one implementation per backend.

    interface.py   CellKernels: the functions and signatures every implementation provides
    reference.py   the definition, on any array module (NumPy, CuPy)
    compiled.py    the Python side shared by the two compiled implementations
    host.py        src/host.cpp built for this CPU (NumPy arrays)
    loops.py       its whole time loops of the recurrent layers, its threaded matrix products
                   and the thread policy (blas.py finds the BLAS they call)
    cuda.py        src/*.cu built by NVRTC (CuPy arrays)
    sources.py     reading src/, which ships inside the wheel
    src/           cell_math.cuh (the per-element bodies, shared), host.cpp (with pool.h,
                   gemm.h, time_loops.h), lstm.cu, gru.cu, rnn.cu, log_softmax.cu

The fused ops call ``implementation(xp)`` and nothing else: that lookup is the only place an
implementation is chosen, and op bodies never ask which one they got.
"""

from __future__ import annotations

import numpy

from . import cuda, host, loops, reference
from .interface import FUNCTIONS, CellKernels

__all__ = ["implementation", "matmul", "linear", "CellKernels", "FUNCTIONS", "reference", "host",
           "cuda", "loops"]


def implementation(xp) -> CellKernels:
    """The cell maths for arrays of module ``xp``: for NumPy the compiled CPU kernels (the
    reference where they cannot be built: ``host.why_not()`` says why), for CuPy the CUDA
    kernels."""
    if xp is numpy:
        return host.cells()
    return cuda.CUDA


def matmul(xp, a, b, out=None):
    """``a @ b`` for arrays of module ``xp``: NumPy's large products split across the engine's
    threads (loops.py), CuPy's as CuPy does them."""
    if xp is numpy:
        return loops.matmul(a, b, out)
    return xp.matmul(a, b, out=out)


def linear(xp, x, w, bias=None):
    """x (N, K) w^T (w: (F, K), as PyTorch stores it) + bias (F): on the CPU the bias is
    written first and the product added to it, in one pass of the threaded product."""
    if bias is None:
        return matmul(xp, x, w.T)
    if xp is numpy:
        out = numpy.empty((x.shape[0], w.shape[0]), dtype=numpy.result_type(x, w))
        out[...] = bias
        return loops.matmul(x, w.T, out, accumulate=True)
    return xp.matmul(x, w.T) + bias
