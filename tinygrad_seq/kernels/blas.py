"""The BLAS that NumPy itself uses, found as C function pointers, for the compiled time loops
(src/time_loop.h): each of their threads calls GEMM on its own slice, single-threaded.

Where it comes from (``find()``; ``why_not()`` says why nothing was found):

- ``TINYGRAD_SEQ_BLAS=/path/to/libopenblas.so``, when set: a CBLAS library to use instead;
- else NumPy's bundled OpenBLAS (the PyPI wheels ship it in ``numpy.libs`` or
  ``numpy/.dylibs``), looked up with ctypes in the library NumPy has already loaded: the
  symbols ``scipy_cblas_sgemm64_`` / ``scipy_cblas_dgemm64_`` (64-bit integers, the
  scipy-openblas build NumPy 2 bundles), ``scipy_cblas_sgemm`` (its 32-bit twin),
  ``cblas_sgemm64_`` (NumPy 1.x's ILP64 OpenBLAS), else plain ``cblas_sgemm`` (32-bit).

Without a usable CBLAS (a NumPy built against MKL or Accelerate, say) the layers keep the
NumPy time loop (ops/sequence.py), which is correct and only slower.

Threads: the loops run their own threads, and each of their GEMM calls must run on the
calling thread alone; ``set_threads(n)`` sets the BLAS's own thread count (OpenBLAS's
``openblas_set_num_threads``), which the loops lower to 1 while they run (kernels/loops.py).
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os

import numpy

# (sgemm symbol, dgemm symbol, set-threads symbol, get-threads symbol, 64-bit integers): the
# scipy-openblas builds NumPy 2 bundles (ILP64, and the 32-bit one SciPy bundles), the ILP64
# OpenBLAS NumPy 1.x wheels bundle (symbols suffixed 64_), and a plain CBLAS
_SYMBOLS = (
    ("scipy_cblas_sgemm64_", "scipy_cblas_dgemm64_", "scipy_openblas_set_num_threads64_",
     "scipy_openblas_get_num_threads64_", True),
    ("scipy_cblas_sgemm", "scipy_cblas_dgemm", "scipy_openblas_set_num_threads",
     "scipy_openblas_get_num_threads", False),
    ("cblas_sgemm64_", "cblas_dgemm64_", "openblas_set_num_threads64_",
     "openblas_get_num_threads64_", True),
    ("cblas_sgemm", "cblas_dgemm", "openblas_set_num_threads", "openblas_get_num_threads", False),
)


class Blas:
    """GEMM pointers (``gemm[dtype]``), whether they take 64-bit integers, and the library's
    thread controls (None where it has none)."""

    def __init__(self, path, lib, sgemm, dgemm, set_threads, get_threads, wide):
        self.path, self.lib, self.wide = path, lib, wide
        self.gemm = {numpy.dtype(numpy.float32): ctypes.cast(sgemm, ctypes.c_void_p).value,
                     numpy.dtype(numpy.float64): ctypes.cast(dgemm, ctypes.c_void_p).value}
        self._set, self._get = set_threads, get_threads

    def threads(self) -> int | None:
        return None if self._get is None else int(self._get())

    def set_threads(self, n: int) -> None:
        if self._set is not None:
            self._set(int(n))


def _candidates():
    if os.environ.get("TINYGRAD_SEQ_BLAS"):
        return [os.environ["TINYGRAD_SEQ_BLAS"]]
    root = os.path.dirname(os.path.dirname(numpy.__file__))
    found = []
    for folder in ("numpy.libs", os.path.join("numpy", ".dylibs")):
        found += sorted(glob.glob(os.path.join(root, folder, "*openblas*")))
    return found


def _load(path):
    lib = ctypes.CDLL(path)
    for sgemm, dgemm, set_name, get_name, wide in _SYMBOLS:
        if hasattr(lib, sgemm) and hasattr(lib, dgemm):
            set_threads = getattr(lib, set_name, None)
            get_threads = getattr(lib, get_name, None)
            if set_threads is not None:
                set_threads.argtypes, set_threads.restype = [ctypes.c_int], None
            if get_threads is not None:
                get_threads.argtypes, get_threads.restype = [], ctypes.c_int
            return Blas(path, lib, getattr(lib, sgemm), getattr(lib, dgemm), set_threads,
                        get_threads, wide)
    return None


_why: str | None = None


@functools.cache
def find() -> Blas | None:
    """The BLAS to call from the compiled loops, or None (the reason in ``why_not()``)."""
    global _why
    paths = _candidates()
    for path in paths:
        try:
            blas = _load(path)
        except OSError as e:
            _why = f"{path}: {e}"
            continue
        if blas is not None:
            _why = None
            return blas
        looked = ", ".join(names[0] for names in _SYMBOLS)
        _why = f"{path} exports no CBLAS sgemm/dgemm (looked for {looked})"
    if not paths:
        _why = ("NumPy's bundled OpenBLAS was not found (a NumPy built against another BLAS, "
                "e.g. conda's MKL or Apple's Accelerate); set TINYGRAD_SEQ_BLAS to a CBLAS "
                "library to use the compiled time loops")
    return None


def why_not() -> str | None:
    find()
    return _why
