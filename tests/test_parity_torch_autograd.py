"""Parity with PyTorch for the autograd machinery itself: second derivatives (ts.grad with
create_graph=True against torch.autograd.grad) and tensor hooks / retain_grad."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch
from test_parity_torch import TIGHT, A, B, P

import tinygrad_seq as ts

# ---- second order -----------------------------------------------------------------------------

SECOND = {
    "tanh": (lambda lib, x: lib.tanh(x), [A]),
    "sigmoid_x": (lambda lib, x: lib.sigmoid(x) * x, [A]),
    "softmax": (lambda lib, x: lib.softmax(x, dim=1), [A]),
    "log_softmax": (lambda lib, x: lib.log_softmax(x, dim=0), [A]),
    "matmul": (lambda lib, a, b: a @ b, [A, B.T]),
    "tanh_matmul": (lambda lib, a, b: lib.tanh(a @ b) * a.sum(), [A, B.T]),
    "pow_div": (lambda lib, a, b: a ** 3 / b, [A, P]),
}


@pytest.mark.parametrize("name", SECOND)
def test_second_order(name):
    fn, arrays = SECOND[name]
    rng = np.random.default_rng(5)

    def run(lib, grad):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = fn(lib, *xs)
        g = lib.tensor(rng.standard_normal(tuple(y.shape)))
        gxs = grad(y, xs, grad_outputs=g, create_graph=True)
        w = [lib.tensor(rng.standard_normal(a.shape)) for a in arrays]
        sum((gx * wi).sum() for gx, wi in zip(gxs, w)).backward()
        return gxs, [x.grad for x in xs]

    first, second = run(ts, ts.grad)
    rng = np.random.default_rng(5)
    tfirst, tsecond = run(torch, torch.autograd.grad)
    for ours, ref in zip(first + tuple(second), tfirst + tuple(tsecond)):
        np.testing.assert_allclose(ours.numpy(), ref.detach().numpy(), **TIGHT)


# ---- hooks and retain_grad --------------------------------------------------------------------

def _hooked(lib, order):
    """h = x * y with a hook doubling its gradient and/or retain_grad, in the given order."""
    x, y = lib.tensor(A, requires_grad=True), lib.tensor(B, requires_grad=True)
    x.register_hook(lambda g: g * 3)  # a leaf hook scales what lands in x.grad
    h = x * y
    for step in order:
        if step == "hook":
            h.register_hook(lambda g: g * 2)
        else:
            h.retain_grad()
    out = lib.tanh(h) * h
    out.backward(lib.tensor(A * B))
    return [t.grad.numpy() for t in (x, y)] + ([h.grad.numpy()] if "retain" in order else [])


@pytest.mark.parametrize("order", [
    ("hook",), ("retain",), ("hook", "retain"), ("retain", "hook")], ids=str)
def test_hooks_and_retain_grad(order):
    for ours, ref in zip(_hooked(ts, order), _hooked(torch, order), strict=True):
        np.testing.assert_allclose(ours, ref, **TIGHT)
