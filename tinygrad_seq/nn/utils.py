"""Gradient clipping, as in ``torch.nn.utils``: ``clip_grad_norm_`` and ``clip_grad_value_``.

Both work in place on the gradient arrays (``p.grad.data``) of the parameters that have one,
with the array module that owns them; nothing is recorded for autograd.

``utils.rnn`` is ``torch.nn.utils.rnn``: packed sequences (rnn_utils.py).
"""

from __future__ import annotations

import math

from .. import backend
from ..tensor import Tensor
from . import rnn_utils as rnn

__all__ = ["clip_grad_norm_", "clip_grad_value_", "rnn"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad.data for p in parameters if p.grad is not None]


def _vector_norm(a, norm_type):
    """The ``norm_type`` norm of ``a`` flattened, as a 0-d array (``torch.linalg.vector_norm``)."""
    xp = backend.get_array_module(a)
    a = xp.abs(a.ravel())
    if a.size == 0:
        return xp.zeros((), dtype=a.dtype)
    if norm_type == math.inf:
        out = a.max()
    elif norm_type == -math.inf:
        out = a.min()
    elif norm_type == 0:
        out = (a != 0).sum().astype(a.dtype)
    elif norm_type == 1:
        out = a.sum()
    elif norm_type == 2:
        out = xp.sqrt((a * a).sum())
    else:
        out = (a**norm_type).sum() ** (1.0 / norm_type)
    return xp.asarray(out)


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients together so that their joint norm is at most ``max_norm``::

        total = norm([norm(g, p) for g in grads], p)        (p = norm_type; inf allowed)
        g = g * min(1, max_norm / (total + 1e-6))

    Returns ``total`` (the norm before clipping) as a 0-d Tensor; 0.0 when no parameter has a
    gradient. ``error_if_nonfinite`` raises instead of scaling by a nan or inf norm."""
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(0.0)
    device = backend.device_of(grads[0])
    xp = backend.get_array_module(grads[0])
    norms = [backend.to_device(_vector_norm(g, norm_type), device) for g in grads]
    total = _vector_norm(xp.stack(norms), norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(f"clip_grad_norm_: the total norm of order {norm_type} of the "
                           f"gradients is {float(total)}, so they cannot be clipped; pass "
                           f"error_if_nonfinite=False to scale by it anyway")
    # always multiply (by exactly 1.0 when under the limit): testing first would make a GPU
    # wait for the norm, and a nan norm must still reach the grads, as in PyTorch
    coef = xp.minimum(float(max_norm) / (total + 1e-6), 1.0)
    for g in grads:
        g *= backend.to_device(coef, backend.device_of(g)).astype(g.dtype)
    return Tensor._wrap(total)


def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient element into ``[-clip_value, clip_value]``."""
    clip_value = float(clip_value)
    for g in _grads(parameters):
        backend.get_array_module(g).clip(g, -clip_value, clip_value, out=g)
