"""The CUDA kernels, checked without a GPU: every .cu compiles to PTX, alone and as the single
file NVRTC receives, and the wheel ships the sources where the loader finds them. The
per-element maths they share (kernels/cell_math.cuh) is compiled for the host and compared
with the NumPy reference by tests/test_host_kernels.py; the same kernels on a GPU are checked
by tests/test_gpu.py."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from tinygrad_seq import host_kernels, kernels

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
    for cu in SOURCES + [ROOT / "kernels" / "cell_math.cuh", ROOT / "kernels" / "host.cpp"]:
        assert f"tinygrad_seq/_kernels/{cu.name}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # an installed, non-editable copy
    probe = ("import tinygrad_seq, tinygrad_seq.kernels as k, tinygrad_seq.host_kernels as h; "
             "print(tinygrad_seq.__file__); print(k.kernel_dir()); "
             "print('namespace ts' in k.source('lstm.cu')); print(h.why_not())")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "TINYGRAD_SEQ_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env=env, cwd=tmp_path).stdout.split("\n")
    assert out[0].startswith(str(site)) and out[1].startswith(str(site)) and out[2] == "True"
    # the installed copy builds its CPU kernels from the shipped sources (None: no reason not to)
    assert out[3] == "None" if host_kernels.compiler() else "no C++ compiler" in out[3]
