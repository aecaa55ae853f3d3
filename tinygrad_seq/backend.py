"""The array backend seam: which module (``xp``) does the array work for a tensor.

Op bodies never ask "is this cupy?"; they call ``xp.tanh(...)`` on the module that owns their
arrays (Chainer's ``get_array_module``). NumPy is the only backend today. CuPy is imported the
first time a user asks for ``"cuda"``, never at import time.
"""

from __future__ import annotations

import numpy

_cupy = None  # the cupy module once a "cuda" device has been asked for

GPU_INSTALL_HINT = (
    'install the GPU extra: pip install -e ".[gpu]" (cupy-cuda12x; use cupy-cuda13x for CUDA 13 '
    "drivers) on a machine with an NVIDIA GPU"
)


def get_array_module(array):
    """numpy, or cupy for a cupy array."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return numpy


def parse_device(device) -> str:
    """Normalise a device spelling ("cpu", "cuda", "cuda:0"; None: the default device) or raise
    a clear error."""
    if device is None:
        return _default_device
    name = str(device)
    if name == "cpu":
        return "cpu"
    if name == "cuda" or name.startswith("cuda:"):
        return name if name != "cuda" else "cuda:0"
    raise ValueError(f"unknown device {device!r}: use 'cpu' or 'cuda'")


def module_for(device: str):
    """The array module for a (parsed) device; importing cupy happens here, on first use, and
    a machine without a usable GPU gets an error that says which part is missing."""
    if device == "cpu":
        return numpy
    cupy = _load_cupy()
    from .cuda import why_not
    problem = why_not()
    if problem is not None:
        raise RuntimeError(f"device {device!r}: {problem}")
    return cupy


def _load_cupy():
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError:
            raise RuntimeError(f"device 'cuda' needs CuPy, which is not installed: "
                               f"{GPU_INSTALL_HINT}") from None
        _cupy = cupy
        if _seed is not None:  # manual_seed ran before CuPy was loaded
            cupy.random.seed(_seed)
    return _cupy


def device_of(array) -> str:
    xp = get_array_module(array)
    if xp is numpy:
        return "cpu"
    return f"cuda:{array.device.id}"


def to_device(array, device: str):
    """Copy an array to a (parsed) device; a no-op when it is already there."""
    if device_of(array) == device:
        return array
    if device == "cpu":
        return array.get()
    cupy = _load_cupy()
    with cupy.cuda.Device(int(device.split(":")[1])):
        return cupy.asarray(array)


# ---- random numbers: one generator per backend, seeded together by manual_seed --------------

# Random numbers are drawn on the host and copied to the device, so a seed gives the same
# initial weights and dropout masks on the CPU and on a GPU.
_rng = numpy.random.default_rng()
_seed = None


def rng():
    return _rng


def manual_seed(seed: int) -> None:
    """Seed every random stream tinygrad_seq uses (randn, rand, dropout, init), and CuPy's."""
    global _rng, _seed
    _rng, _seed = numpy.random.default_rng(seed), seed
    if _cupy is not None:
        _cupy.random.seed(seed)


# ---- the default device of new tensors ---------------------------------------------------------

_default_device = "cpu"


def set_default_device(device) -> None:
    """Where ``ts.tensor``, ``ts.zeros``, ``ts.randn``, ... put new tensors when no device is
    given (the test suite uses it to run everything on a GPU: ``pytest --device cuda``)."""
    global _default_device
    device = parse_device(device)
    module_for(device)
    _default_device = device


def default_device() -> str:
    return _default_device
