"""The physical limits the benchmarks print beside their timings: the FLOP count of a
recurrent training step (the matrix products; the pointwise cell maths is under 2% of it)
and the peak FLOP/s of this CPU, measured as the best float32 GEMM the engine's threads reach.
A step cannot run faster than flops / peak: that is the "flop-floor" column.
"""

from __future__ import annotations

import functools
import time

import numpy

from ...kernels import loops
from ...nn.recurrent import KINDS


@functools.cache
def peak_flops(size=1024, repeats=7):
    """FLOP/s of the best of ``repeats`` (size x size) float32 products on the engine's
    threads (kernels.loops.matmul; NumPy's on one thread where the compiled code is absent)."""
    rng = numpy.random.default_rng(0)
    a, b = (rng.standard_normal((size, size)).astype(numpy.float32) for _ in range(2))
    out = numpy.empty((size, size), numpy.float32)
    loops.matmul(a, b, out)  # warm-up: threads started, pages touched
    best = min(_timed(lambda: loops.matmul(a, b, out)) for _ in range(repeats))
    return 2.0 * size ** 3 / best


def _timed(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def recurrent_flops(kind, batch, steps, inputs, hidden, train=True):
    """FLOPs of one layer's step, by phase: forward = the input and recurrent products of all
    steps, 2 T B G (I + H); backward = the recurrent product dh = d_pre W_hh, the weight
    gradients dW_ih, dW_hh and the input gradient, 2 T B G (2 H + 2 I)."""
    gates = len(KINDS[kind.lower()].gates) * hidden
    forward = 2.0 * steps * batch * gates * (inputs + hidden)
    if not train:
        return {"forward": forward}
    backward = 2.0 * steps * batch * gates * (2 * hidden + 2 * inputs)
    return {"forward": forward, "backward+step": backward, "total": forward + backward}


def floor(flops):
    """Seconds per phase at the measured peak."""
    peak = peak_flops()
    return {phase: f / peak for phase, f in flops.items()}
