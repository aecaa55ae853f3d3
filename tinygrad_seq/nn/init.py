"""Weight initialisation, in place, with PyTorch's names and formulas. Random draws come from the
generator that ``ts.manual_seed`` seeds."""

from __future__ import annotations

import math

import numpy

from .. import backend


def _fill(t, array):
    t.data = t.xp.asarray(array.astype(t.dtype))
    return t


def _fans(t):
    if t.ndim < 2:
        raise ValueError(f"init: fan in and fan out need a tensor of at least 2 dimensions, got "
                         f"shape {tuple(t.shape)}")
    receptive = int(numpy.prod(t.shape[2:])) if t.ndim > 2 else 1
    return t.shape[1] * receptive, t.shape[0] * receptive


def calculate_gain(nonlinearity, param=None):
    gains = {"linear": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3, "relu": math.sqrt(2.0)}
    if nonlinearity == "leaky_relu":
        slope = 0.01 if param is None else param
        return math.sqrt(2.0 / (1 + slope ** 2))
    if nonlinearity not in gains:
        raise ValueError(f"calculate_gain: unknown nonlinearity {nonlinearity!r}")
    return gains[nonlinearity]


def uniform_(t, a=0.0, b=1.0):
    return _fill(t, backend.rng().uniform(a, b, t.shape))


def normal_(t, mean=0.0, std=1.0):
    return _fill(t, backend.rng().normal(mean, std, t.shape))


def constant_(t, value):
    return _fill(t, numpy.full(t.shape, value))


def zeros_(t):
    return constant_(t, 0.0)


def ones_(t):
    return constant_(t, 1.0)


def xavier_uniform_(t, gain=1.0):
    fan_in, fan_out = _fans(t)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -bound, bound)


def xavier_normal_(t, gain=1.0):
    fan_in, fan_out = _fans(t)
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def _kaiming_std(t, a, mode, nonlinearity):
    fan_in, fan_out = _fans(t)
    fan = fan_in if mode == "fan_in" else fan_out
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    bound = math.sqrt(3.0) * _kaiming_std(t, a, mode, nonlinearity)
    return uniform_(t, -bound, bound)


def kaiming_normal_(t, a=0.0, mode="fan_in", nonlinearity="leaky_relu"):
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity))


def orthogonal_(t, gain=1.0):
    """A (semi-)orthogonal matrix (Saxe et al. 2013): QR of a Gaussian, signs fixed so the
    result is uniformly distributed."""
    if t.ndim < 2:
        raise ValueError(f"orthogonal_: needs at least 2 dimensions, got shape {tuple(t.shape)}")
    rows, cols = t.shape[0], int(numpy.prod(t.shape[1:]))
    flat = backend.rng().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = numpy.linalg.qr(flat)
    q *= numpy.sign(numpy.diag(r))
    if rows < cols:
        q = q.T
    return _fill(t, gain * q.reshape(t.shape))
