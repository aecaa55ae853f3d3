"""The kernel interface on a GPU: kernels/src/*.cu compiled by NVRTC (through CuPy) at first use.

``CUDA`` has the interface's functions (compiled.py's, over this module's launcher) for CuPy
arrays. The kernels take the same arguments as the host library's functions of the same
names (a pointer and a row stride per array, then the sizes), and run the same per-element
bodies (src/cell_math.cuh), so row-strided views (a gate block of a (B, 3H) buffer) go
straight in, with no copy and no allocation. ``kernel(file, name)`` compiles once per
(file, name) and remembers the result.
"""

from __future__ import annotations

import functools

import numpy

from .. import backend
from . import sources
from .compiled import SUFFIX, CompiledCells

ELEMENT_THREADS = 256  # threads per block for the one-thread-per-element kernels
ROW_THREADS = 256  # log_softmax.cu's kThreads: one block per row
# entry point -> its source file and whether it runs one block per row
FILES = {"lstm_cell_forward": "lstm.cu", "lstm_cell_backward": "lstm.cu",
         "gru_cell_forward": "gru.cu", "gru_cell_backward": "gru.cu",
         "rnn_cell_forward": "rnn.cu", "rnn_cell_backward": "rnn.cu",
         "log_softmax": "log_softmax.cu", "log_softmax_backward": "log_softmax.cu",
         "softmax": "log_softmax.cu", "softmax_backward": "log_softmax.cu"}
PER_ROW = {"log_softmax", "log_softmax_backward", "softmax", "softmax_backward"}


@functools.cache
def kernel(file: str, name: str):
    """The compiled kernel ``name`` of ``src/<file>`` (compiled on first use)."""
    cupy = backend.load_cupy()
    module = cupy.RawModule(code=sources.source(file), options=("-std=c++17",))
    try:
        return module.get_function(name)
    except cupy.cuda.compiler.CompileException as e:
        raise RuntimeError(f"CUDA kernel {name} ({file}) failed to compile:\n{e}") from None


class CudaLauncher:
    """How compiled.py calls the CUDA kernels: CuPy arrays, pointers as 64-bit integers (0 for
    an absent array: CuPy turns None into an invalid address, not a null one)."""

    @property
    def array_type(self):
        return backend.load_cupy().ndarray

    @staticmethod
    def pointer(a) -> int:
        return a.data.ptr

    @staticmethod
    def writeable(a) -> bool:
        return True  # CuPy has no read-only arrays; overlapping rows are refused by compiled.py

    @staticmethod
    def run(name, dtype, args, ints):
        shape = launch_shape(name, ints[0], ints[1])
        if shape is None:
            return
        # args alternate pointer, row stride: as uint64 and int64, the C types' sizes
        values = [numpy.uint64(a or 0) if i % 2 == 0 else numpy.int64(a)
                  for i, a in enumerate(args)]
        values += [numpy.int32(v) for v in ints]
        kernel(FILES[name], f"{name}_{SUFFIX[numpy.dtype(dtype)]}")(*shape, tuple(values))


def launch_shape(name, rows, cols):
    """(grid, block) for an entry point over rows x cols: one block per row for the per-row
    kernels, else one thread per element; None when there is nothing to compute (CUDA refuses
    an empty grid)."""
    if rows * cols == 0:
        return None
    if name in PER_ROW:
        return (rows,), (ROW_THREADS,)
    return (-(-rows * cols // ELEMENT_THREADS),), (ELEMENT_THREADS,)


CUDA = CompiledCells(CudaLauncher())
