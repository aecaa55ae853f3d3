"""The CUDA kernels (kernels/src/*.cu) run on the CPU, so that a machine without a GPU checks
their indexing, strides and reductions, and the launch shapes kernels/cuda.py gives them.

The sources are compiled by the host compiler under a small emulation of CUDA's names:
``__global__`` and friends vanish, ``threadIdx`` and ``blockIdx`` are per-thread variables,
``__shared__`` memory is static, and ``__syncthreads`` is a barrier. A launch runs the grid's
blocks one after another; a per-row kernel (which synchronises) runs its block's threads as
real threads, an element-wise one (which never does) runs them in a loop. What this cannot
see: CuPy's argument passing, NVRTC's compiler, the device's maths library and real
concurrency between blocks; tests/test_kernels.py's ``cuda`` cases do that on a GPU.
"""

from __future__ import annotations

import ctypes
import functools
import pathlib
import re
import subprocess
import tempfile

import numpy as np

from tinygrad_seq.kernels import cuda, host, sources

_PRELUDE = r"""
#include <barrier>
#include <cmath>
#include <thread>
#include <vector>
struct ts_dim3 { unsigned x = 0, y = 0, z = 0; };
thread_local ts_dim3 threadIdx, blockIdx;
ts_dim3 blockDim;
static std::barrier<>* ts_block_barrier = nullptr;
inline void __syncthreads() { ts_block_barrier->arrive_and_wait(); }
#define __CUDACC__ 1
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static

template <typename... A>
void ts_launch(bool per_row, void (*kernel)(A...), unsigned grid, unsigned block, A... args) {
  blockDim.x = block;
  for (unsigned b = 0; b < grid; ++b) {
    if (!per_row) {
      for (unsigned t = 0; t < block; ++t) {
        blockIdx.x = b;
        threadIdx.x = t;
        kernel(args...);
      }
      continue;
    }
    std::barrier<> barrier(block);
    ts_block_barrier = &barrier;
    std::vector<std::thread> threads;
    for (unsigned t = 0; t < block; ++t)
      threads.emplace_back([&, t] { blockIdx.x = b; threadIdx.x = t; kernel(args...); });
    for (auto& thread : threads) thread.join();
  }
}
"""
_C_TYPES = {"idx": "long long", "int": "int"}
_SUFFIXES = {"f32": "float", "f64": "double"}


def entry_points(text):
    """{name: [parameter types, with T]} of the extern "C" functions that the INSTANTIATE
    (.cu) or EXPORT (host.cpp) macro of a kernel source defines; ts::idx is spelled idx."""
    text = re.sub(r"\\\n", " ", text)
    found = {}
    for name, params in re.findall(r'extern "C" (?:__global__ )?void (\w+)_##S\(([^)]*)\)', text):
        found[name] = [" ".join(p.split()[:-1]).replace("ts::idx", "idx")
                       for p in params.split(",")]
    return found


def signatures():
    """{entry point: [parameter types, with T]} of the CUDA kernels (the .cu sources)."""
    found = {}
    for cu in sorted(sources.SOURCE_DIR.glob("*.cu")):
        found.update(entry_points(cu.read_text()))
    return found


def program() -> str:
    """The .cu sources with the shared header once, then a C wrapper per entry point and dtype
    that launches it: ``emu_<name>_<suffix>(grid, block, <the kernel's arguments>)``."""
    header = (sources.SOURCE_DIR / "cell_math.cuh").read_text().replace("#pragma once", "")
    parts = [_PRELUDE, header]
    for cu in sorted(sources.SOURCE_DIR.glob("*.cu")):
        body = cu.read_text().replace('#include "cell_math.cuh"', "")
        parts.append(body + "\n#undef INSTANTIATE\n")
    for name, types in signatures().items():
        for suffix, scalar in _SUFFIXES.items():
            typed = [_C_TYPES.get(t, t.replace("T", scalar)) for t in types]
            params = ", ".join(f"{t} a{i}" for i, t in enumerate(typed))
            args = ", ".join(f"a{i}" for i in range(len(typed)))
            per_row = "true" if name in cuda.PER_ROW else "false"
            parts.append(f'extern "C" void emu_{name}_{suffix}(unsigned grid, unsigned block, '
                         f"{params}) {{ ts_launch({per_row}, {name}_{suffix}, grid, block, "
                         f"{args}); }}\n")
    return "\n".join(parts)


@functools.cache
def why_not() -> str | None:
    """None when the emulation can be built here (a C++ compiler with C++20's <barrier>), else
    why not. A compiler that has it but fails on the kernels is a test failure, not this."""
    cxx = host.compiler()
    if cxx is None:
        return "no C++ compiler to build the CUDA kernels for the CPU"
    with tempfile.TemporaryDirectory() as folder:
        probe = pathlib.Path(folder) / "probe.cpp"
        probe.write_text("#include <barrier>\nint main() { std::barrier<> b(1); "
                         "b.arrive_and_wait(); }\n")
        result = subprocess.run([cxx, "-std=c++20", "-pthread", str(probe), "-o",
                                 str(probe.with_suffix(""))], capture_output=True, text=True)
    if result.returncode != 0:
        return f"{cxx} has no C++20 <barrier>, which the CUDA emulation needs"
    return None


@functools.cache
def library(folder):
    """The emulated kernels, compiled into ``folder`` (a pathlib.Path)."""
    src, lib = folder / "cuda_emulation.cpp", folder / "cuda_emulation.so"
    src.write_text(program())
    result = subprocess.run([host.compiler(), "-std=c++20", "-O1", "-fPIC", "-shared", "-pthread",
                             str(src), "-o", str(lib)], capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"the CUDA emulation failed to compile:\n{result.stderr[-3000:]}")
    dll = ctypes.CDLL(str(lib))
    for name, (pointers, ints) in host.SIGNATURES.items():
        for suffix in _SUFFIXES:
            fn = getattr(dll, f"emu_{name}_{suffix}")
            fn.argtypes = [ctypes.c_uint, ctypes.c_uint] + \
                [ctypes.c_void_p, ctypes.c_int64] * pointers + [ctypes.c_int] * ints
            fn.restype = None
    return dll


class EmulatedLauncher:
    """kernels/compiled.py's launcher contract, over the emulated kernels and NumPy arrays,
    launched with the grid and block sizes kernels/cuda.py computes for a GPU."""

    array_type = np.ndarray
    pointer = staticmethod(host.HostLauncher.pointer)
    writeable = staticmethod(host.HostLauncher.writeable)

    def __init__(self, folder):
        self.dll = library(folder)

    def run(self, name, dtype, args, ints):
        shape = cuda.launch_shape(name, *ints[:2])
        if shape is None:
            return
        (grid,), (block,) = shape
        suffix = "f32" if np.dtype(dtype) == np.float32 else "f64"
        getattr(self.dll, f"emu_{name}_{suffix}")(grid, block, *args, *ints)
