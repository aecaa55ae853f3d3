"""Making tensors: ``ts.tensor`` and the factories (zeros, ones, randn, arange, ...).

dtype rules follow PyTorch: Python floats become float32 (the default floating dtype), Python
ints int64, bools bool; NumPy arrays keep their dtype.
"""

from __future__ import annotations

import numbers

import numpy

from .. import backend
from .core import Tensor
from .shape import _shape_arg

float32, float64 = numpy.dtype(numpy.float32), numpy.dtype(numpy.float64)
int32, int64 = numpy.dtype(numpy.int32), numpy.dtype(numpy.int64)
bool_ = numpy.dtype(numpy.bool_)


def tensor(data, requires_grad=False, dtype=None, device=None):
    """A new tensor holding a copy of ``data``."""
    return Tensor(data, requires_grad=requires_grad, dtype=dtype, device=device)


def _make(array, requires_grad, device=None):
    """Wrap a new array, moving it to ``device`` first (None: leave it where it is)."""
    if device is not None or backend.default_device() != "cpu":
        device = backend.parse_device(device)
        if device != "cpu":
            backend.module_for(device)
            array = backend.to_device(array, device)
    t = Tensor._wrap(array)
    return t.requires_grad_(True) if requires_grad else t


def _float(dtype):
    return float32 if dtype is None else numpy.dtype(dtype)


def _sizes(who, shape):
    """The factory's shape: ints >= 0, named in the error (NumPy's own says only 'negative
    dimensions are not allowed')."""
    shape = (shape,) if isinstance(shape, numbers.Integral) else _shape_arg(shape)
    for size in shape:
        if not isinstance(size, numbers.Integral) or isinstance(size, bool) or size < 0:
            raise ValueError(f"{who}: sizes must be non-negative integers, got shape "
                             f"{tuple(shape)}")
    return tuple(int(n) for n in shape)


def zeros(*shape, dtype=None, device=None, requires_grad=False):
    return _make(numpy.zeros(_sizes("zeros", shape), _float(dtype)), requires_grad, device)


def ones(*shape, dtype=None, device=None, requires_grad=False):
    return _make(numpy.ones(_sizes("ones", shape), _float(dtype)), requires_grad, device)


def full(shape, fill_value, dtype=None, device=None, requires_grad=False):
    if dtype is None and not isinstance(fill_value, float):
        dtype = bool_ if isinstance(fill_value, bool) else int64
    array = numpy.full(_sizes("full", shape), fill_value, _float(dtype))
    return _make(array, requires_grad, device)


def empty(*shape, dtype=None, device=None, requires_grad=False):
    """Zeros, in fact: an uninitialised array would make runs irreproducible."""
    return _make(numpy.zeros(_sizes("empty", shape), _float(dtype)), requires_grad, device)


def randn(*shape, dtype=None, device=None, requires_grad=False):
    """Standard normal samples from the generator that ``ts.manual_seed`` seeds."""
    arr = backend.rng().standard_normal(_sizes("randn", shape)).astype(_float(dtype))
    return _make(arr, requires_grad, device)


def rand(*shape, dtype=None, device=None, requires_grad=False):
    arr = backend.rng().random(_sizes("rand", shape)).astype(_float(dtype))
    return _make(arr, requires_grad, device)


def randint(low, high=None, size=(), dtype=None, device=None):
    if high is None:
        low, high = 0, low
    arr = backend.rng().integers(low, high, size=size).astype(dtype or int64)
    return _make(arr, False, device)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad=False):
    if end is None:
        start, end = 0, start
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    arr = numpy.arange(start, end, step)
    if dtype is not None:
        arr = arr.astype(dtype)
    elif arr.dtype == numpy.float64:
        arr = arr.astype(float32)
    return _make(arr, requires_grad, device)


def eye(n, m=None, dtype=None, device=None, requires_grad=False):
    return _make(numpy.eye(n, m, dtype=_float(dtype)), requires_grad, device)


def zeros_like(t, dtype=None, requires_grad=False):
    return _make(t.xp.zeros(t.shape, dtype or t.dtype), requires_grad, t.device)


def ones_like(t, dtype=None, requires_grad=False):
    return _make(t.xp.ones(t.shape, dtype or t.dtype), requires_grad, t.device)


def full_like(t, fill_value, dtype=None, requires_grad=False):
    return _make(t.xp.full(t.shape, fill_value, dtype or t.dtype), requires_grad, t.device)


def randn_like(t, dtype=None, requires_grad=False):
    return randn(*t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)


def rand_like(t, dtype=None, requires_grad=False):
    return rand(*t.shape, dtype=dtype or t.dtype, device=t.device, requires_grad=requires_grad)
