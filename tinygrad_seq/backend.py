"""The array backend: which module (``xp``, numpy or cupy) does the array work, and on which
device. It is the one place that knows there is more than one kind of array.

Op bodies never ask "is this cupy?"; they call ``xp.tanh(...)`` on the module that owns their
arrays (Chainer's ``get_array_module``). Everything else that must tell the backends apart asks
here: ``get_array_module`` (which module), ``to_numpy`` (a host copy), ``is_array``, devices and
moving arrays between them. CuPy is imported the first time a user asks for ``"cuda"``, never
at import time; a new backend costs this module plus one kernels file (kernels/).
"""

from __future__ import annotations

import numpy

_cupy = None  # the cupy module once a "cuda" device has been asked for

GPU_INSTALL_HINT = (
    'install the GPU extra: pip install -e ".[gpu]" (cupy-cuda12x; use cupy-cuda13x for CUDA 13 '
    "drivers) on a machine with an NVIDIA GPU"
)


# ---- which module -----------------------------------------------------------------------------


def get_array_module(array):
    """numpy, or cupy for a cupy array."""
    if _cupy is not None and isinstance(array, _cupy.ndarray):
        return _cupy
    return numpy


def common_module(op: str, tensors):
    """The module of an op's input arrays (``tensors`` have ``.data``); inputs on different
    devices are an error that names the op and both devices. This runs for every op of every
    time step, so the case with no GPU loaded returns at once."""
    if _cupy is None:  # no array can live on a GPU before CuPy is loaded
        return numpy
    devices = {device_of(t.data) for t in tensors}
    if len(devices) > 1:
        a, b = sorted(devices)
        raise RuntimeError(f"{op}: inputs are on different devices, {a} and {b}; move them "
                           f"to one device with .to(device)")
    return get_array_module(tensors[0].data)


def is_array(value) -> bool:
    """Whether ``value`` is an array of some backend (not a list, scalar or tensor)."""
    return isinstance(value, numpy.ndarray) or get_array_module(value) is not numpy


def to_numpy(array):
    """A NumPy array for ``array``: the array itself when it is one, a host copy of a GPU array,
    else whatever ``numpy.asarray`` makes of it (lists, scalars, other libraries' arrays)."""
    if isinstance(array, numpy.ndarray):
        return array
    if get_array_module(array) is not numpy:
        return array.get()
    return numpy.asarray(array)


# ---- devices ----------------------------------------------------------------------------------


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
    problem = gpu_problem()
    if problem is not None:
        raise RuntimeError(f"device {device!r} cannot be used: {problem}")
    return _cupy


def load_cupy():
    """The cupy module, imported on first use; RuntimeError with the install hint without it."""
    global _cupy
    if _cupy is None:
        try:
            import cupy
        except ImportError:
            raise RuntimeError(f"CuPy is not installed: {GPU_INSTALL_HINT}") from None
        _cupy = cupy
        if _seed is not None:  # manual_seed ran before CuPy was loaded
            cupy.random.seed(_seed)
    return _cupy


def gpu_problem() -> str | None:
    """None when a CUDA device can be used, else what is missing and how to fix it (never
    raises; ``ts.cuda.why_not``)."""
    try:
        cupy = load_cupy()
    except RuntimeError as e:
        return str(e)
    try:
        count = cupy.cuda.runtime.getDeviceCount()
    except Exception as e:  # noqa: BLE001  (CuPy raises several kinds when no driver is found)
        return f"CuPy is installed but found no usable CUDA device or driver: {e}"
    return None if count > 0 else "CuPy is installed but there is no CUDA device"


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
        return to_numpy(array)
    cupy = load_cupy()
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
