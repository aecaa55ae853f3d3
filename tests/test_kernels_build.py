"""How the kernels are built and shipped: the CPU library is compiled from kernels/src/host.cpp,
cached per source, compiler and CPU, built in a temporary folder when the cache cannot be
written, disabled or missing with the reason reported; every .cu compiles to PTX (alone and as
the single file NVRTC receives); the wheel ships the sources where the loader finds them.
What the kernels compute is tests/test_kernels.py's."""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys
import zipfile

import cuda_emulation
import pytest

from tinygrad_seq.kernels import host, sources

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = sorted(sources.SOURCE_DIR.glob("*.cu"))


def test_build_is_cached_per_source(tmp_path, monkeypatch):
    first = host.build(tmp_path)
    assert first.is_file() and host.build(tmp_path) == first
    assert [p.name for p in tmp_path.iterdir()] == [first.name]  # no scratch files left
    source = sources.source(host.SOURCE)
    monkeypatch.setattr(sources, "source", lambda name: source + "\n// changed\n")
    assert host.build(tmp_path) != first


def test_compile_error_shows_the_compiler_message(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "source", lambda name: "this is not C++;")
    with pytest.raises(RuntimeError, match=r"kernels/src/host.cpp failed to compile:(.|\n)*error"):
        host.build(tmp_path)


def test_no_compiler_is_named(tmp_path, monkeypatch):
    monkeypatch.setattr(host, "compiler", lambda: None)
    with pytest.raises(RuntimeError, match="no C.. compiler found"):
        host.build(tmp_path)


def test_an_unwritable_cache_falls_back_to_a_temporary_folder(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")  # the cache "folder" is a file: it cannot be created
    probe = "from tinygrad_seq.kernels import host; print(host.why_not())"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin",
                                          "TINYGRAD_SEQ_CACHE": str(blocked / "cache")})
    assert out.stdout.strip() == "None", out.stderr


@pytest.mark.parametrize("env, expect", [({"TINYGRAD_SEQ_HOST_KERNELS": "0"}, "disabled"),
                                         ({"CXX": "no-such-compiler"}, "no C++ compiler")])
def test_without_kernels_numpy_arrays_use_the_reference(env, expect, tmp_path):
    probe = ("import numpy, tinygrad_seq as ts; from tinygrad_seq import kernels;"
             "from tinygrad_seq.kernels import host, reference;"
             "print(kernels.implementation(numpy) is reference); print(host.why_not());"
             "print(ts.nn.LSTM(3, 4)(ts.randn(2, 1, 3))[0].shape)")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         env={"PATH": "/usr/bin:/bin", "TINYGRAD_SEQ_CACHE": str(tmp_path), **env},
                         check=True).stdout.splitlines()
    assert out[0] == "True" and expect in out[1] and out[2] == "(2, 1, 4)"


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
    single.write_text(sources.source(cu.name))
    result = subprocess.run(["nvcc", "--ptx", "-std=c++17", str(single), "-o",
                             str(tmp_path / "out.ptx")], capture_output=True, text=True,
                            cwd=tmp_path)
    assert result.returncode == 0, result.stderr


def test_loader_inlines_the_shared_header():
    text = sources.source("lstm.cu")
    assert '#include "cell_math.cuh"' not in text and "namespace ts" in text
    assert "INSTANTIATE(float, f32)" in text
    with pytest.raises(FileNotFoundError, match="nothing.cu"):
        sources.source("nothing.cu")


def test_wheel_ships_kernels_and_installed_copy_finds_them(tmp_path):
    pytest.importorskip("setuptools", reason="building the wheel offline needs setuptools")
    # built from a copy (setuptools writes build/ beside the sources), with the setuptools
    # already installed: no network needed
    tree = tmp_path / "tree"
    for name in ("pyproject.toml", "README.md"):
        tree.mkdir(exist_ok=True)
        shutil.copy(ROOT / name, tree / name)
    shutil.copytree(ROOT / "tinygrad_seq", tree / "tinygrad_seq",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so"))
    subprocess.run([sys.executable, "-m", "pip", "wheel", str(tree), "--no-deps",
                    "--no-build-isolation", "-q", "-w", str(tmp_path)], check=True,
                   capture_output=True)
    wheel = next(tmp_path.glob("tinygrad_seq-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for src in sorted(sources.SOURCE_DIR.iterdir()):
        assert f"tinygrad_seq/kernels/src/{src.name}" in names
    site = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(site)  # an installed, non-editable copy
    probe = ("import tinygrad_seq; from tinygrad_seq.kernels import host, sources; "
             "print(tinygrad_seq.__file__); print(sources.SOURCE_DIR); "
             "print('namespace ts' in sources.source('lstm.cu')); print(host.why_not())")
    env = {"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "TINYGRAD_SEQ_CACHE": str(tmp_path)}
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True, env=env, cwd=tmp_path).stdout.split("\n")
    assert out[0].startswith(str(site)) and out[1].startswith(str(site)) and out[2] == "True"
    # the installed copy builds its CPU kernels from the shipped sources (None: no reason not to)
    assert out[3] == "None" if host.compiler() else "no C++ compiler" in out[3]


def test_host_and_cuda_entry_points_take_the_same_arguments():
    host_side = cuda_emulation.entry_points((sources.SOURCE_DIR / "host.cpp").read_text())
    device_side = cuda_emulation.signatures()
    assert set(host_side) == set(device_side) == set(host.SIGNATURES)
    for name, types in host_side.items():
        assert device_side[name] == types, name
        pointers, ints = host.SIGNATURES[name]
        assert len(types) == 2 * pointers + ints, name  # what host.py declares to ctypes
