"""Each way kernels/blas.py finds a BLAS, and what follows from it: NumPy's bundled OpenBLAS
(64-bit integers), ``TINYGRAD_SEQ_BLAS`` naming a library (that one, a plain 32-bit CBLAS, one
without CBLAS, a missing file), and ``TINYGRAD_SEQ_HOST_KERNELS=0``. Without a BLAS or
compiled kernels the layers keep the NumPy loop and give the same numbers.

Each route runs in a fresh interpreter: ``blas.find()`` is cached per process and reads the
environment at its first call."""

from __future__ import annotations

import ctypes.util
import glob
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest

from tinygrad_seq.kernels import host

# an LSTM of 2 layers, both directions, forward and backward (saved to argv[1]), and one
# product large enough to be split across threads; then where the BLAS came from
PROBE = """
import json, sys
import numpy as np
import tinygrad_seq as ts
from tinygrad_seq.kernels import blas, loops

taken = []
real = loops.lstm_forward
def spy(*args):
    taken.append(1)
    return real(*args)
loops.lstm_forward = spy
rng = np.random.default_rng(0)
m = ts.nn.LSTM(5, 40, num_layers=2, bidirectional=True).double()
m.load_state_dict({k: rng.uniform(-0.2, 0.2, v.shape) for k, v in m.state_dict().items()})
x = ts.tensor(rng.standard_normal((6, 13, 5)), requires_grad=True)
out, (h, c) = m(x)
sum((t * ts.tensor(rng.standard_normal(t.shape))).sum() for t in (out, h, c)).backward()
a, b = rng.standard_normal((200, 210)), rng.standard_normal((210, 220))
np.savez(sys.argv[1], out=out.numpy(), h=h.numpy(), c=c.numpy(), dx=x.grad.numpy(),
         product=loops.matmul(a, b), **{n: p.grad.numpy() for n, p in m.named_parameters()})
found = blas.find()
shim = found is not None and hasattr(found.lib, "shim_calls")
print(json.dumps(dict(path=found and found.path, wide=found and bool(found.wide),
                      blas=blas.why_not(), loops=loops.why_not(), looped=len(taken),
                      threads=found and found.threads(),
                      calls=found.lib.shim_calls() if shim else None,
                      product=float(abs(loops.matmul(a, b) - a @ b).max()))))
"""

# a plain CBLAS with 32-bit integers (OpenBLAS's names), a naive loop that counts its calls
SHIM = r"""
#include <atomic>
static std::atomic<long> calls{0};
static int threads = 4;
template <typename T>
static void gemm(int order, int ta, int tb, int m, int n, int k, T alpha, const T* A, int lda,
                 const T* B, int ldb, T beta, T* C, int ldc) {
  ++calls;
  if (order != 101) __builtin_trap();  // the engine asks for row-major only
  for (int i = 0; i < m; ++i)
    for (int j = 0; j < n; ++j) {
      T s = 0;
      for (int p = 0; p < k; ++p)
        s += (ta == 112 ? A[p * lda + i] : A[i * lda + p]) *
             (tb == 112 ? B[j * ldb + p] : B[p * ldb + j]);
      C[i * ldc + j] = alpha * s + (beta == 0 ? T(0) : beta * C[i * ldc + j]);
    }
}
extern "C" {
long shim_calls() { return calls.load(); }
void openblas_set_num_threads(int n) { threads = n; }
int openblas_get_num_threads() { return threads; }
void cblas_sgemm(int o, int ta, int tb, int m, int n, int k, float al, const float* A, int lda,
                 const float* B, int ldb, float be, float* C, int ldc) {
  gemm<float>(o, ta, tb, m, n, k, al, A, lda, B, ldb, be, C, ldc);
}
void cblas_dgemm(int o, int ta, int tb, int m, int n, int k, double al, const double* A,
                 int lda, const double* B, int ldb, double be, double* C, int ldc) {
  gemm<double>(o, ta, tb, m, n, k, al, A, lda, B, ldb, be, C, ldc);
}
}
"""
SETTINGS = ("TINYGRAD_SEQ_BLAS", "TINYGRAD_SEQ_HOST_KERNELS", "TINYGRAD_SEQ_NUM_THREADS")


def route(folder, **env):
    """Runs PROBE with the TINYGRAD_SEQ_ settings ``env`` (no others): (its report, arrays)."""
    env = {k: v for k, v in os.environ.items() if k not in SETTINGS} | env
    saved = pathlib.Path(folder) / "arrays.npz"
    done = subprocess.run([sys.executable, "-c", PROBE, str(saved)], capture_output=True,
                          text=True, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    with np.load(saved) as arrays:
        return json.loads(done.stdout.splitlines()[-1]), dict(arrays)


def bundled():
    """NumPy's bundled OpenBLAS libraries (the PyPI wheels'), or a skip saying there are none."""
    root = os.path.dirname(os.path.dirname(np.__file__))
    found = [p for folder in ("numpy.libs", os.path.join("numpy", ".dylibs"))
             for p in glob.glob(os.path.join(root, folder, "*openblas*"))]
    if not found:
        pytest.skip("this NumPy bundles no OpenBLAS (built against another BLAS)")
    return found


def kernels_here():
    if host.why_not() is not None:
        pytest.skip(f"compiled CPU kernels unavailable: {host.why_not()}")


@pytest.fixture(scope="module")
def default(tmp_path_factory):
    return route(tmp_path_factory.mktemp("default"))


def same_numbers(arrays, expected):
    assert arrays.keys() == expected.keys()
    for name, a in arrays.items():
        np.testing.assert_allclose(a, expected[name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_default_is_numpys_bundled_openblas(default):
    libraries = bundled()
    report, _ = default
    assert report["path"] in libraries and report["blas"] is None
    kernels_here()
    assert report["loops"] is None and report["looped"] == 4
    assert report["threads"] == 1  # the engine's threads split the work, not the BLAS's
    assert report["product"] < 1e-10


def test_the_bundled_library_named_explicitly(default, tmp_path):
    bundled()
    kernels_here()
    expected, arrays = default
    report, got = route(tmp_path, TINYGRAD_SEQ_BLAS=expected["path"])
    assert report["path"] == expected["path"] and report["wide"] == expected["wide"]
    assert report["loops"] is None and report["looped"] == 4 and report["threads"] == 1
    same_numbers(got, arrays)


@pytest.fixture(scope="module")
def shim(tmp_path_factory):
    cxx = host.compiler()
    if cxx is None:
        pytest.skip("no C++ compiler to build a test CBLAS with")
    folder = tmp_path_factory.mktemp("shim")
    (folder / "shim.cpp").write_text(SHIM)
    library = folder / "libshimblas.so"
    subprocess.run([cxx, "-O2", "-std=c++17", "-shared", "-fPIC", str(folder / "shim.cpp"),
                    "-o", str(library)], check=True, capture_output=True)
    return str(library)


def test_a_32_bit_cblas(shim, default, tmp_path):
    kernels_here()
    report, got = route(tmp_path, TINYGRAD_SEQ_BLAS=shim)
    assert report["path"] == shim and report["wide"] is False and report["loops"] is None
    assert report["looped"] == 4 and report["threads"] == 1
    assert report["calls"] > 0 and report["product"] < 1e-10  # its GEMM did the product
    same_numbers(got, default[1])


def no_cblas():
    libraries = [("missing", "/no/such/dir/libopenblas.so")]
    for name in ("m", "c"):  # found, loaded, but without cblas_sgemm
        path = ctypes.util.find_library(name)
        libraries.append((f"lib{name}", path))
    return libraries


@pytest.mark.parametrize("name, path", no_cblas(), ids=[n for n, _ in no_cblas()])
def test_a_library_without_cblas_keeps_the_numpy_loop(name, path, default, tmp_path):
    if path is None:
        pytest.skip(f"ctypes.util.find_library finds no {name} here")
    report, got = route(tmp_path, TINYGRAD_SEQ_BLAS=path)
    assert report["path"] is None and path in report["blas"]
    assert report["loops"].startswith("no CBLAS to call") and path in report["loops"]
    assert report["looped"] == 0 and report["product"] < 1e-10  # NumPy's product
    same_numbers(got, default[1])


def test_without_compiled_kernels_the_numpy_loop_runs(default, tmp_path):
    report, got = route(tmp_path, TINYGRAD_SEQ_HOST_KERNELS="0")
    assert "TINYGRAD_SEQ_HOST_KERNELS=0" in report["loops"] and report["looped"] == 0
    same_numbers(got, default[1])
