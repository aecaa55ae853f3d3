"""Numerical gradient checking: analytic gradients against central finite differences."""

from __future__ import annotations

import numpy

from . import backend
from .autograd import grad
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by gradcheck; the message names the input, the element and both values."""


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, seed=0):
    """Check ``fn``'s gradients with respect to every input that requires grad.

    ``fn(*inputs)`` returns a tensor or a tuple of tensors. Rather than one backward pass per
    output element, the check differentiates the scalar ``sum(out * r)`` for fixed random
    weights ``r``: a wrong gradient anywhere shows up in it (with probability one), and the
    cost is one backward pass plus two forward passes per input element. Inputs must be float64:
    in float32 the finite differences themselves are too coarse.

    Returns True, or raises GradcheckError naming the worst element (returns False instead
    when ``raise_exception=False``).
    """
    inputs = tuple(inputs) if isinstance(inputs, (tuple, list)) else (inputs,)
    wrt = [i for i, t in enumerate(inputs) if isinstance(t, Tensor) and t.requires_grad]
    if not wrt:
        raise ValueError("gradcheck: no input requires grad")
    for i in wrt:
        if inputs[i].dtype != numpy.float64:
            raise TypeError(f"gradcheck: input {i} is {inputs[i].dtype}; finite differences "
                            f"need float64 (use .double())")
    rng = numpy.random.default_rng(seed)
    weights = None

    def scalar(record):
        nonlocal weights
        outs = fn(*inputs)
        outs = outs if isinstance(outs, (tuple, list)) else (outs,)
        outs = [o for o in outs if isinstance(o, Tensor) and o.dtype.kind == "f"]
        if weights is None:
            weights = [o.xp.asarray(rng.standard_normal(o.shape)) for o in outs]
        total = 0.0
        for o, w in zip(outs, weights):
            total = (o * Tensor._wrap(w)).sum() + total
        return total if record else float(total.item() if isinstance(total, Tensor) else total)

    loss = scalar(True)
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        raise ValueError("gradcheck: the outputs do not depend on any input that requires grad")
    analytic = grad(loss, [inputs[i] for i in wrt], allow_unused=True)
    worst = (0.0, None)
    for k, i in enumerate(wrt):
        x = inputs[i].data
        a = analytic[k].data if analytic[k] is not None else x * 0
        a = backend.to_numpy(a).reshape(x.shape)
        num = _numerical(lambda: scalar(False), x, eps)
        excess = numpy.abs(a - num) - (atol + rtol * numpy.abs(num))
        if excess.size and excess.max() > worst[0]:
            j = numpy.unravel_index(int(excess.argmax()), x.shape)
            worst = (excess.max(), (i, tuple(int(v) for v in j), a[j], num[j]))
    if worst[1] is None:
        return True
    i, j, av, nv = worst[1]
    msg = (f"gradcheck: gradient of input {i} (shape {tuple(inputs[i].shape)}) at index {j}: "
           f"analytic {av:.8g}, numerical {nv:.8g} (atol={atol}, rtol={rtol})")
    if raise_exception:
        raise GradcheckError(msg)
    return False


def _numerical(f, x, eps):
    """Central differences of the scalar ``f()`` with respect to every element of array ``x``,
    perturbed in place (element by element, so strided views work too). ``f`` runs with graph
    recording on: it may call ts.grad itself."""
    num = numpy.zeros(x.shape)
    for j in numpy.ndindex(*x.shape):
        orig = x[j].item()
        x[j] = orig + eps
        plus = f()
        x[j] = orig - eps
        minus = f()
        x[j] = orig
        num[j] = (plus - minus) / (2 * eps)
    return num
