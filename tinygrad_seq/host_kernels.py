"""Compiled CPU kernels for the recurrent cells and log-softmax.

NumPy runs a cell's pointwise maths one whole-array operation at a time, each a pass over
memory with a temporary; kernels/host.cpp does the same maths (the per-element functions the
CUDA kernels share, kernels/cell_math.cuh) in one vectorised pass per step. It is compiled at
first use with the system's C++ compiler (``$CXX``, else c++, g++ or clang++), cached, and
called through ctypes.

``cells()`` gives what NumPy arrays use: ``HostCells`` when the library builds and loads, else
the NumPy reference, ops/cellmath.py, with the reason in ``why_not()``. HostCells has
cellmath's functions and signatures, and hands any call its kernels do not cover (other
dtypes, non-2-D or strided arrays) to cellmath. Set ``TINYGRAD_SEQ_HOST_KERNELS=0`` to use
the reference, and ``TINYGRAD_SEQ_CACHE`` to choose where the library is kept (default
``~/.cache/tinygrad_seq``). The file name holds a hash of the source, the compiler, the flags
and this CPU's features (the build targets this CPU), and is written atomically, so a changed
source, another machine sharing the home directory, or two processes compiling at once are
all safe.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import pathlib
import platform
import shutil
import subprocess
import tempfile
import warnings

import numpy

from . import kernels
from .ops import cellmath

SOURCE = "host.cpp"
_SUFFIX = kernels._SUFFIX  # the same dtype suffixes as the CUDA entry points
_INT, _PTR, _STRIDE = ctypes.c_int, ctypes.c_void_p, ctypes.c_int64
# entry point: how many (pointer, row stride) pairs, then how many ints (kernels/host.cpp)
_SIGNATURES = {"lstm_forward": (6, 2), "lstm_backward": (7, 2), "gru_forward": (4, 2),
               "gru_backward": (8, 2), "rnn_forward": (3, 3), "rnn_backward": (3, 3),
               "log_softmax": (2, 2), "log_softmax_grad": (3, 2)}


def compiler() -> str | None:
    """The C++ compiler to use: ``$CXX``, else the first of c++, g++, clang++ on the PATH."""
    if os.environ.get("CXX"):
        return shutil.which(os.environ["CXX"])
    return next((found for name in ("c++", "g++", "clang++") if (found := shutil.which(name))),
                None)


def _flag_sets():
    """Compiler flags, fastest first. -march=native: the library is built on, and for, the
    machine that runs it. Vector maths (glibc's libmvec) only where glibc on x86-64 has it."""
    base = ["-O3", "-std=c++17", "-fPIC", "-shared", "-fno-math-errno"]
    native = base + ["-march=native"]
    sets = [native, base]
    if platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64") and \
            platform.libc_ver()[0] == "glibc":
        # 512-bit vectors where the CPU has them: libmvec's AVX-512 tanh is twice its AVX2 one
        # --no-undefined: a glibc older than 2.35 lacks the vector tanh; fail here, not at load
        sets.insert(0, native + ["-mprefer-vector-width=512", "-DTS_VECTOR_MATH", "-lmvec",
                                 "-Wl,--no-undefined"])
    return sets


def _cpu_features() -> str:
    try:
        text = pathlib.Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor()
    return next((line for line in text.splitlines() if line.startswith(("flags", "Features"))),
                platform.processor())


def cache_dir() -> pathlib.Path:
    if os.environ.get("TINYGRAD_SEQ_CACHE"):
        return pathlib.Path(os.environ["TINYGRAD_SEQ_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache"
    return pathlib.Path(base) / "tinygrad_seq"


def build(folder: pathlib.Path | None = None) -> pathlib.Path:
    """Compile kernels/host.cpp into ``folder`` (default ``cache_dir()``) unless a build of
    the same source, compiler, flags and CPU is already there; return the library's path.
    Raises RuntimeError with the compiler's message when no flag set compiles."""
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++ or clang++)")
    source = kernels.source(SOURCE)  # the shared header inlined: no include path needed
    folder = pathlib.Path(folder or cache_dir())
    folder.mkdir(parents=True, exist_ok=True)
    errors, identity = [], [source, cxx, str(os.stat(cxx).st_mtime), _cpu_features()]
    for flags in _flag_sets():
        key = hashlib.sha256("\n".join(identity + flags).encode()).hexdigest()[:16]
        target = folder / f"host_kernels_{key}.so"
        if target.is_file():
            return target
        with tempfile.TemporaryDirectory(dir=folder) as scratch:
            src, out = pathlib.Path(scratch) / SOURCE, pathlib.Path(scratch) / target.name
            src.write_text(source)
            result = subprocess.run([cxx, str(src), "-o", str(out), *flags],
                                    capture_output=True, text=True)
            if result.returncode == 0:
                os.replace(out, target)  # atomic: a concurrent build loads a whole file
                return target
            errors.append(f"{cxx} {' '.join(flags)}: {result.stderr.strip()[-2000:]}")
    raise RuntimeError(f"kernels/{SOURCE} failed to compile:\n" + "\n".join(errors))


@functools.cache
def library():
    """The loaded library, or None (the reason is in ``why_not()``)."""
    global _why
    if os.environ.get("TINYGRAD_SEQ_HOST_KERNELS", "1") == "0":
        _why = "disabled by TINYGRAD_SEQ_HOST_KERNELS=0"
        return None
    try:
        try:
            path = build()
        except OSError:  # the cache folder cannot be written: build in a temporary one
            user = getattr(os, "getuid", lambda: "user")()
            path = build(pathlib.Path(tempfile.gettempdir()) / f"tinygrad_seq-{user}")
        lib = ctypes.CDLL(str(path))
    except (RuntimeError, OSError) as e:
        _why = str(e)
        if compiler() is not None:  # a compiler that fails is worth telling; none is not
            warnings.warn(f"tinygrad_seq: compiled CPU kernels unavailable, using NumPy: {e}",
                          RuntimeWarning, stacklevel=2)
        return None
    for name, (arrays, ints) in _SIGNATURES.items():
        for dtype, suffix in _SUFFIX.items():
            fn = _functions[name, dtype] = getattr(lib, f"{name}_{suffix}")
            fn.argtypes, fn.restype = [_PTR, _STRIDE] * arrays + [_INT] * ints, None
    _why = None
    return lib


_why: str | None = None
_functions = {}  # (entry point, dtype) -> the library's function


def why_not() -> str | None:
    """None when the compiled kernels are in use, else why not."""
    library()
    return _why


def cells():
    """The cell maths for NumPy arrays: HostCells, or the reference when it cannot load."""
    return HostCells if library() is not None else cellmath


def _pointer(a) -> int:
    # three times quicker than a.ctypes.data, which the per-step calls of a sequence feel; it
    # takes only writable C-contiguous arrays
    try:
        return ctypes.addressof(ctypes.c_char.from_buffer(a))
    except (TypeError, ValueError, BufferError):
        return a.ctypes.data


def _arguments(arrays, widths, writes):
    """(pointer, row stride in elements) for each array (None: a null pointer), or None when
    the kernels do not take these arrays. They take 2-D NumPy arrays of one float dtype, with
    contiguous rows, the same number of rows and exactly ``widths`` columns; the arrays at the
    indices ``writes`` must be writeable. Anything else goes to the NumPy reference, which
    broadcasts or raises as NumPy does."""
    first = arrays[0]
    if type(first) is not numpy.ndarray or first.ndim != 2 or first.dtype not in _SUFFIX:
        return None
    dtype, rows, item = first.dtype, first.shape[0], first.itemsize
    args = []
    for i, (a, width) in enumerate(zip(arrays, widths)):
        if a is None:
            args += (None, 0)
            continue
        if type(a) is not numpy.ndarray or a.ndim != 2 or a.dtype != dtype or \
                a.shape != (rows, width):
            return None
        along, across = a.strides
        if (across != item and width > 1) or along % item or \
                (i in writes and not a.flags.writeable):
            return None
        args += (_pointer(a), along // item)
    return args


def _run(name, dtype, args, *ints):
    if not _functions:  # HostCells used directly, before cells()
        library()
    _functions[name, dtype](*args, *ints)


def _same(a, b) -> bool:
    return a.shape == b.shape and a.strides == b.strides and _pointer(a) == _pointer(b)


class HostCells:
    """ops/cellmath.py's functions, run by kernels/host.cpp. Outputs must not overlap inputs,
    except where cellmath allows it (the activations written over the gates)."""

    @staticmethod
    def lstm_cell_forward(xp, gates, c, act, c_new, tc, h, rec=None):
        n = c.shape[-1]
        args = _arguments([act, rec, c, c_new, tc, h], [4 * n, 4 * n, n, n, n, n],
                          (0, 3, 4, 5))
        if args is None or gates.shape != act.shape:
            return cellmath.lstm_cell_forward(xp, gates, c, act, c_new, tc, h, rec)
        if gates is not act and not _same(gates, act):  # the kernel works in place
            numpy.copyto(act, gates)
        _run("lstm_forward", act.dtype, args, *c.shape)

    @staticmethod
    def lstm_cell_backward(xp, act, c, tc, dh, dc, d_gates, d_c):
        n = c.shape[-1]
        dh = numpy.zeros_like(c) if dh is None else dh
        dc = numpy.zeros_like(c) if dc is None else dc
        args = _arguments([act, c, tc, dh, dc, d_gates, d_c], [4 * n, n, n, n, n, 4 * n, n],
                          (5, 6))
        if args is None:
            return cellmath.lstm_cell_backward(xp, act, c, tc, dh, dc, d_gates, d_c)
        _run("lstm_backward", act.dtype, args, *c.shape)

    @staticmethod
    def gru_cell_forward(xp, gi, gh, h, rz, n_out, h_new):
        m = h.shape[-1]
        if _arguments([gi, gh, h, rz, n_out, h_new], [3 * m, 3 * m, m, 2 * m, m, m],
                      (3, 4, 5)) is None:
            return cellmath.gru_cell_forward(xp, gi, gh, h, rz, n_out, h_new)
        # the kernel writes r, z, n over gi: in place when rz and n_out are gi's own blocks
        in_place = _same(rz, gi[:, :2 * m]) and _same(n_out, gi[:, 2 * m:])
        work = gi if in_place else gi.copy()
        _run("gru_forward", h.dtype, _arguments([work, gh, h, h_new], [3 * m, 3 * m, m, m],
                                                (0, 3)), *h.shape)
        if not in_place:
            rz[...], n_out[...] = work[:, :2 * m], work[:, 2 * m:]

    @staticmethod
    def gru_cell_backward(xp, rz, n, ghn, h, dh_new, d_gi, d_gh, d_h):
        m = h.shape[-1]
        args = _arguments([rz, n, ghn, h, dh_new, d_gi, d_gh, d_h],
                          [2 * m, m, m, m, m, 3 * m, 3 * m, m], (5, 6, 7))
        if args is None:
            return cellmath.gru_cell_backward(xp, rz, n, ghn, h, dh_new, d_gi, d_gh, d_h)
        _run("gru_backward", h.dtype, args, *h.shape)

    @staticmethod
    def rnn_cell_forward(xp, pre, h, relu=False, rec=None):
        n = h.shape[-1]
        args = _arguments([pre, rec, h], [n, n, n], (2,))
        if args is None:
            return cellmath.rnn_cell_forward(xp, pre, h, relu, rec)
        _run("rnn_forward", h.dtype, args, *h.shape, int(relu))

    @staticmethod
    def rnn_cell_backward(xp, h, dh, d_pre, relu=False):
        n = h.shape[-1]
        args = _arguments([h, dh, d_pre], [n, n, n], (2,))
        if args is None:
            return cellmath.rnn_cell_backward(xp, h, dh, d_pre, relu)
        _run("rnn_backward", h.dtype, args, *h.shape, int(relu))

    @staticmethod
    def log_softmax(xp, x, axis):
        rows = _rows(x, axis)
        if rows is None:
            return cellmath.log_softmax(xp, x, axis)
        out = numpy.empty_like(rows)
        width = rows.shape[1]
        _run("log_softmax", rows.dtype, _arguments([rows, out], [width, width], (1,)),
             *rows.shape)
        return out.reshape(x.shape)

    @staticmethod
    def log_softmax_backward(xp, g, out, axis):
        g_rows, out_rows = _rows(g, axis), _rows(out, axis)
        if g_rows is None or out_rows is None:
            return cellmath.log_softmax_backward(xp, g, out, axis)
        dx = numpy.empty_like(g_rows)
        args = _arguments([g_rows, out_rows, dx], [dx.shape[1]] * 3, (2,))
        if args is None:
            return cellmath.log_softmax_backward(xp, g, out, axis)
        _run("log_softmax_grad", dx.dtype, args, *dx.shape)
        return dx.reshape(g.shape)


def _rows(x, axis):
    """x as a 2-D array of rows along ``axis`` when that axis is the last and the kernels take
    it (no copy for a contiguous x), else None."""
    if axis not in (-1, x.ndim - 1) or x.ndim == 0 or x.size == 0:
        return None
    rows = numpy.ascontiguousarray(x).reshape(-1, x.shape[-1])
    return rows if _arguments([rows], [rows.shape[1]], ()) is not None else None
