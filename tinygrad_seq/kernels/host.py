"""The kernel interface on the CPU: kernels/src/host.cpp compiled for this machine.

NumPy runs a cell's pointwise maths one whole-array operation at a time, each a pass over
memory with a temporary; host.cpp does the same maths (the per-element functions the CUDA
kernels share, src/cell_math.cuh) in one vectorised pass per step. It is compiled at first
use with the system's C++ compiler (``$CXX``, else c++, g++ or clang++), cached, and called
through ctypes.

``cells()`` gives what NumPy arrays use: ``HOST`` (compiled.py's functions over this module's
launcher) when the library builds and loads, else the NumPy reference (reference.py), with the
reason in ``why_not()``. Set ``TINYGRAD_SEQ_HOST_KERNELS=0`` to use the reference, and
``TINYGRAD_SEQ_CACHE`` to choose where the library is kept (default ``~/.cache/tinygrad_seq``).
The file name holds a hash of the source, the compiler, the flags and this CPU's features (the
build targets this CPU), and is written atomically, so a changed source, another machine
sharing the home directory, or two processes compiling at once are all safe.
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

from . import reference, sources
from .compiled import SUFFIX, CompiledCells

SOURCE = "host.cpp"
_INT, _PTR, _STRIDE = ctypes.c_int, ctypes.c_void_p, ctypes.c_int64
# entry point: how many (pointer, row stride) pairs, then how many ints (src/host.cpp; the
# CUDA kernels of the same names take the same)
SIGNATURES = {"lstm_cell_forward": (6, 2), "lstm_cell_backward": (7, 2),
              "gru_cell_forward": (4, 2), "gru_cell_backward": (8, 2),
              "rnn_cell_forward": (3, 3), "rnn_cell_backward": (3, 3),
              "log_softmax": (2, 2), "log_softmax_backward": (3, 2),
              "softmax": (2, 2), "softmax_backward": (3, 2)}


def compiler() -> str | None:
    """The C++ compiler to use: ``$CXX``, else the first of c++, g++, clang++ on the PATH."""
    if os.environ.get("CXX"):
        return shutil.which(os.environ["CXX"])
    return next((found for name in ("c++", "g++", "clang++") if (found := shutil.which(name))),
                None)


def _flag_sets():
    """Compiler flags, fastest first. -march=native: the library is built on, and for, the
    machine that runs it. Vector maths (glibc's libmvec) only where glibc on x86-64 has it."""
    base = ["-O3", "-std=c++17", "-fPIC", "-shared", "-fno-math-errno", "-pthread"]
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
    """Compile src/host.cpp into ``folder`` (default ``cache_dir()``) unless a build of
    the same source, compiler, flags and CPU is already there; return the library's path.
    Raises RuntimeError with the compiler's message when no flag set compiles."""
    cxx = compiler()
    if cxx is None:
        raise RuntimeError("no C++ compiler found (set CXX, or install g++ or clang++)")
    source = sources.source(SOURCE)  # the shared header inlined: no include path needed
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
    raise RuntimeError(f"kernels/src/{SOURCE} failed to compile:\n" + "\n".join(errors))


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
    for name, (arrays, ints) in SIGNATURES.items():
        for dtype, suffix in SUFFIX.items():
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
    """The cell maths for NumPy arrays: HOST, or the reference when it cannot load."""
    return HOST if library() is not None else reference


class HostLauncher:
    """How compiled.py calls the host library: NumPy arrays, pointers through ctypes."""

    array_type = numpy.ndarray

    @staticmethod
    def pointer(a) -> int:
        # three times quicker than a.ctypes.data, which the per-step calls of a sequence feel;
        # it takes only writable C-contiguous arrays
        try:
            return ctypes.addressof(ctypes.c_char.from_buffer(a))
        except (TypeError, ValueError, BufferError):
            return a.ctypes.data

    @staticmethod
    def writeable(a) -> bool:
        return a.flags.writeable

    @staticmethod
    def run(name, dtype, args, ints):
        if not _functions:  # HOST used directly, before cells()
            library()
        _functions[name, dtype](*args, *ints)


HOST = CompiledCells(HostLauncher)
