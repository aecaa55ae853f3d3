"""The CUDA kernels, checked without a GPU: every .cu compiles to PTX, the per-element maths
they share (kernels/cell_math.cuh) compiled for the host agrees element by element with the
NumPy reference, extreme inputs included, and the wheel ships the sources where the loader
finds them. The same kernels on a GPU are checked by tests/test_gpu.py."""

from __future__ import annotations

import ctypes
import pathlib
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinygrad_seq import kernels
from tinygrad_seq.ops import cellmath

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted((ROOT / "kernels").glob("*.cu"))
# atol: inputs reach 1e4, and a few outputs are differences of O(1) terms
TOL = {np.float32: dict(rtol=1e-6, atol=1e-6), np.float64: dict(rtol=1e-12, atol=1e-12)}


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (the CUDA toolkit) is not here")
@pytest.mark.parametrize("cu", SOURCES, ids=lambda p: p.name)
def test_kernel_compiles_to_ptx(cu, tmp_path):
    result = subprocess.run(["nvcc", "--ptx", "-std=c++17", str(cu), "-o",
                             str(tmp_path / "out.ptx")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc (the CUDA toolkit) is not here")
@pytest.mark.parametrize("cu", SOURCES, ids=lambda p: p.name)
def test_loader_source_compiles_as_one_file(cu, tmp_path):
    """What NVRTC receives at run time: the source with its header inlined, no include path."""
    single = tmp_path / cu.name
    single.write_text(kernels.source(cu.name))
    result = subprocess.run(["nvcc", "--ptx", "-std=c++17", str(single), "-o",
                             str(tmp_path / "out.ptx")], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def host(tmp_path_factory):
    """kernels/cell_math.cuh compiled for the host into a shared library."""
    compiler = shutil.which("g++") or shutil.which("c++")
    if compiler is None:
        pytest.skip("no C++ compiler to build the host harness")
    lib = tmp_path_factory.mktemp("harness") / "harness.so"
    subprocess.run([compiler, "-O2", "-shared", "-fPIC", "-std=c++17", "-I", str(ROOT / "kernels"),
                    str(ROOT / "tests" / "kernels" / "harness.cpp"), "-o", str(lib)], check=True)
    return ctypes.CDLL(str(lib))


def call(lib, name, dtype, *arrays_and_ints):
    args = [a.ctypes.data_as(ctypes.c_void_p) if isinstance(a, np.ndarray) else ctypes.c_int(a)
            for a in arrays_and_ints]
    getattr(lib, f"{name}_{'f32' if dtype == np.float32 else 'f64'}")(*args)


def agree(host, name, reference, dtype, inputs, out_shapes, batch, hidden, finite=False):
    """Run the NumPy reference and the host build on the same inputs into fresh outputs of
    ``out_shapes``; assert they agree (and are finite with ``finite``); return the reference's."""
    ref = [np.empty(shape, dtype) for shape in out_shapes]
    got = [np.empty_like(a) for a in ref]
    reference(np, *inputs, *ref)
    call(host, name, dtype, *inputs, *got, batch, hidden)
    for a, b in zip(got, ref):
        assert not finite or np.isfinite(a).all()
        np.testing.assert_allclose(a, b, **TOL[dtype])
    return ref


def inputs(rng, shape, dtype, scale):
    x = rng.standard_normal(shape) * scale
    x.flat[:4] = [1e4, -1e4, 88.0, -710.0][: x.size]  # saturate tanh/sigmoid: no inf, no NaN
    return x.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_lstm_matches_reference(host, dtype, scale):
    rng = np.random.default_rng(0)
    batch, hidden = 3, 5
    gates = inputs(rng, (batch, 4 * hidden), dtype, scale)
    c = inputs(rng, (batch, hidden), dtype, 1)
    wide, narrow = (batch, 4 * hidden), (batch, hidden)
    act, _, tc, _ = agree(host, "lstm_forward", cellmath.lstm_cell_forward, dtype, [gates, c],
                          [wide, narrow, narrow, narrow], batch, hidden, finite=True)
    dh, dc = inputs(rng, narrow, dtype, 1), inputs(rng, narrow, dtype, 1)
    agree(host, "lstm_backward", cellmath.lstm_cell_backward, dtype, [act, c, tc, dh, dc],
          [wide, narrow], batch, hidden)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_gru_matches_reference(host, dtype, scale):
    rng = np.random.default_rng(1)
    batch, hidden = 3, 5
    gi, gh = (inputs(rng, (batch, 3 * hidden), dtype, scale) for _ in range(2))
    h = inputs(rng, (batch, hidden), dtype, 1)
    wide, narrow = (batch, 3 * hidden), (batch, hidden)
    rz, n, _ = agree(host, "gru_forward", cellmath.gru_cell_forward, dtype, [gi, gh, h],
                     [(batch, 2 * hidden), narrow, narrow], batch, hidden, finite=True)
    ghn = np.ascontiguousarray(gh[:, 2 * hidden:])
    dh = inputs(rng, narrow, dtype, 1)
    agree(host, "gru_backward", cellmath.gru_cell_backward, dtype, [rz, n, ghn, h, dh],
          [wide, wide, narrow], batch, hidden)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_log_softmax_matches_reference(host, dtype):
    rng = np.random.default_rng(2)
    x = inputs(rng, (4, 7), dtype, 50.0)
    out = np.empty_like(x)
    call(host, "log_softmax", dtype, x, out, 4, 7)
    ref = cellmath.log_softmax(np, x, -1)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, ref, rtol=1e-5 if dtype == np.float32 else 1e-12,
                               atol=1e-4 if dtype == np.float32 else 1e-10)
    g = inputs(rng, (4, 7), dtype, 1.0)
    dx = np.empty_like(g)
    call(host, "log_softmax_grad", dtype, g, ref, dx, 4, 7)
    np.testing.assert_allclose(dx, cellmath.log_softmax_backward(np, g, ref, -1), **TOL[dtype])


def test_loader_inlines_the_shared_header():
    text = kernels.source("lstm.cu")
    assert '#include "cell_math.cuh"' not in text and "namespace ts" in text
    assert "INSTANTIATE(float, f32)" in text
    with pytest.raises(FileNotFoundError, match="nothing.cu"):
        kernels.source("nothing.cu")


def test_wheel_ships_kernels_and_installed_copy_finds_them(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(ROOT), "--no-deps", "-q", "-w",
                    str(tmp_path)], check=True, capture_output=True)
    wheel = next(tmp_path.glob("tinygrad_seq-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for cu in SOURCES + [ROOT / "kernels" / "cell_math.cuh"]:
        assert f"tinygrad_seq/_kernels/{cu.name}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # an installed, non-editable copy
    probe = ("import tinygrad_seq, tinygrad_seq.kernels as k; print(tinygrad_seq.__file__); "
             "print(k.kernel_dir()); print('namespace ts' in k.source('lstm.cu'))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
                         cwd=tmp_path).stdout.split("\n")
    assert out[0].startswith(str(site)) and out[1].startswith(str(site)) and out[2] == "True"


def test_lstm_forward_in_place_over_the_gates():
    """The sequence op writes the activations over its projections: same result."""
    rng = np.random.default_rng(4)
    gates, c = rng.standard_normal((3, 8)), rng.standard_normal((3, 2))
    outs = [np.empty((3, 8))] + [np.empty((3, 2)) for _ in range(3)]
    cellmath.lstm_cell_forward(np, gates, c, *outs)
    in_place = gates.copy()
    rest = [np.empty((3, 2)) for _ in range(3)]
    cellmath.lstm_cell_forward(np, in_place, c, in_place, *rest)
    for a, b in zip([in_place, *rest], outs):
        np.testing.assert_array_equal(a, b)


def test_gru_forward_in_place_over_the_projections():
    rng = np.random.default_rng(5)
    gi, gh = rng.standard_normal((3, 6)), rng.standard_normal((3, 6))
    h = rng.standard_normal((3, 2))
    outs = [np.empty((3, 4)), np.empty((3, 2)), np.empty((3, 2))]
    cellmath.gru_cell_forward(np, gi, gh, h, *outs)
    in_place, h_new = gi.copy(), np.empty((3, 2))
    cellmath.gru_cell_forward(np, in_place, gh, h, in_place[:, :4], in_place[:, 4:], h_new)
    for a, b in zip([in_place[:, :4], in_place[:, 4:], h_new], outs):
        np.testing.assert_array_equal(a, b)
