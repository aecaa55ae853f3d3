"""Parity with PyTorch: the same expression on the same inputs gives the same values and the same
gradient for every input (float64 to ~1e-10, float32 to ~1e-5).

Each case is ``fn(lib, *xs)`` written once and run with ``lib`` = tinygrad_seq and ``lib`` = torch;
every input array becomes a leaf that requires grad, constants (indices, masks) live in the case.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import TF, torch

import tinygrad_seq as ts

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
LOOSE = {"rtol": 1e-5, "atol": 1e-6}  # float32


def r(*shape, seed=0, positive=False, dtype=np.float64):
    a = np.random.default_rng(seed + 7 * len(shape) + sum(shape)).standard_normal(shape)
    return (np.abs(a) + 0.5 if positive else a).astype(dtype)


def _run(lib, fn, arrays):
    xs = [lib.tensor(a, requires_grad=True) for a in arrays]
    out = fn(lib, *xs)
    return xs, list(out) if isinstance(out, (tuple, list)) else [out]


def check(fn, *arrays, tol=TIGHT, seed=1):
    """Compare forward values (shape, dtype, numbers), then backward with the same random
    upstream gradients, then every input's ``.grad``."""
    xs, outs = _run(ts, fn, arrays)
    txs, touts = _run(torch, fn, arrays)
    assert len(outs) == len(touts)
    rng = np.random.default_rng(seed)
    roots, troots, gs = [], [], []
    for o, t in zip(outs, touts):
        ref = t.detach().numpy()
        assert tuple(o.shape) == ref.shape and o.dtype == ref.dtype
        np.testing.assert_allclose(o.numpy(), ref, **tol)
        if t.requires_grad:
            gs.append(rng.standard_normal(ref.shape).astype(ref.dtype))
            roots.append(o)
            troots.append(t)
    if len(roots) == 1:
        roots[0].backward(ts.tensor(gs[0]))
    else:
        sum((o * ts.tensor(g)).sum() for o, g in zip(roots, gs)).backward()
    torch.autograd.backward(troots, [torch.tensor(g) for g in gs])
    for i, (x, tx) in enumerate(zip(xs, txs)):
        if tx.grad is None:
            assert x.grad is None, f"input {i}: torch has no gradient, we have one"
            continue
        assert x.grad is not None, f"input {i}: no gradient"
        assert x.grad.dtype == x.dtype
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), **tol,
                                   err_msg=f"gradient of input {i}")


def C(lib, a):
    """A constant (no grad) in ``lib``: index arrays, masks."""
    return lib.tensor(a)


# ---- elementwise ------------------------------------------------------------------------------

A, B, P = r(3, 4), r(3, 4, seed=1), r(3, 4, positive=True)
TIE = np.array([[-1.0, 0.0, 0.5, 2.0], [1.0, -0.5, 0.0, 3.0]])  # hits clamp bounds and zero
TIE_B = np.array([[-1.0, 0.0, 1.0, 2.0], [0.0, -0.5, 0.5, 3.0]])  # equal to TIE in 5 places

UNARY = {
    "neg": lambda lib, x: -x,
    "exp": lambda lib, x: lib.exp(x),
    "tanh": lambda lib, x: lib.tanh(x),
    "sigmoid": lambda lib, x: lib.sigmoid(x),
    "relu": lambda lib, x: lib.relu(x),
    "abs": lambda lib, x: lib.abs(x),
    "clamp": lambda lib, x: lib.clamp(x, -0.5, 0.5),
    "clamp_min": lambda lib, x: x.clamp(min=0.0),
    "clamp_max": lambda lib, x: x.clamp(max=0.5),
    "square": lambda lib, x: x * x,
    "pow_int": lambda lib, x: x ** 3,
    "rsub_rdiv": lambda lib, x: (2.0 - x) / (1.5 + x * x),
    "rpow": lambda lib, x: 2.0 ** x,
}
POSITIVE = {
    "log": lambda lib, x: lib.log(x),
    "sqrt": lambda lib, x: lib.sqrt(x),
    "pow_frac": lambda lib, x: x ** 1.5,
    "pow_neg": lambda lib, x: x ** -2.0,
    "rdiv": lambda lib, x: 1.0 / x,
}
BINARY = {
    "add": lambda lib, a, b: a + b,
    "sub": lambda lib, a, b: a - b,
    "mul": lambda lib, a, b: a * b,
    "div": lambda lib, a, b: a / b,
    "maximum": lambda lib, a, b: lib.maximum(a, b),
    "minimum": lambda lib, a, b: lib.minimum(a, b),
}


@pytest.mark.parametrize("name", UNARY)
@pytest.mark.parametrize("x", [A, TIE], ids=["random", "ties"])
def test_unary(name, x):
    check(UNARY[name], x)


@pytest.mark.parametrize("name", POSITIVE)
def test_unary_positive_domain(name):
    check(POSITIVE[name], P)


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("shapes", [((3, 4), (3, 4)), ((3, 1, 4), (5, 1)), ((4,), (2, 3, 1)),
                                    ((), (2, 3))], ids=str)
def test_binary_broadcast(name, shapes):
    a, b = r(*shapes[0]), r(*shapes[1], seed=3, positive=name == "div")
    check(BINARY[name], a, b)


@pytest.mark.parametrize("name", ["maximum", "minimum"])
def test_binary_ties_share_gradient(name):
    check(BINARY[name], TIE, TIE_B)


def test_pow_tensor_exponent():
    check(lambda lib, a, b: a ** b, P, B)


@pytest.mark.parametrize("case", [
    "zero_exp", "base0",
])
def test_pow_at_zero_base(case):
    x = np.array([0.0, 0.0, 2.0])
    if case == "zero_exp":
        check(lambda lib, a: a ** 0.0, x)
    else:
        check(lambda lib, a, b: a ** b, x, np.array([0.0, 2.0, 1.5]))


# ---- matmul -----------------------------------------------------------------------------------

@pytest.mark.parametrize("shapes", [((3, 4), (4, 5)), ((2, 1, 3, 4), (5, 4, 2)), ((4,), (4, 5)),
                                    ((3, 4), (4,)), ((4,), (4,)), ((2, 3, 4), (4,))], ids=str)
def test_matmul(shapes):
    check(lambda lib, a, b: a @ b, r(*shapes[0]), r(*shapes[1], seed=2))


# ---- reductions -------------------------------------------------------------------------------

X3 = r(2, 3, 4)
TIES3 = np.random.default_rng(0).integers(0, 3, (2, 3, 4)).astype(float)  # ties on every axis
REDUCE = {
    "sum": lambda lib, x: x.sum(),
    "sum_dim": lambda lib, x: x.sum(dim=1),
    "sum_dims_keep": lambda lib, x: x.sum(dim=(0, 2), keepdim=True),
    "mean": lambda lib, x: x.mean(),
    "mean_dim": lambda lib, x: x.mean(dim=-1, keepdim=True),
    "mean_dims": lambda lib, x: x.mean(dim=(0, 1)),
    "var": lambda lib, x: x.var(),
    "var_dim": lambda lib, x: x.var(dim=1),
    "var_c0": lambda lib, x: x.var(dim=(0, 2), keepdim=True, correction=0),
    "var_unbiased_false": lambda lib, x: x.var(dim=2, unbiased=False),
    "amax_dim": lambda lib, x: x.amax(dim=1),
    "amax_dims_keep": lambda lib, x: x.amax(dim=(0, 2), keepdim=True),
    "amin_dim": lambda lib, x: x.amin(dim=-1),
    "max_full": lambda lib, x: x.max(),
    "min_full": lambda lib, x: x.min(),
}
DIM_REDUCE = {
    "max_dim": lambda lib, x: tuple(x.max(dim=1)),
    "max_dim_keep": lambda lib, x: tuple(x.max(dim=-1, keepdim=True)),
    "min_dim": lambda lib, x: tuple(x.min(dim=0)),
    "min_dim_keep": lambda lib, x: tuple(x.min(dim=2, keepdim=True)),
}




@pytest.mark.parametrize("name, data", [(n, d) for n in REDUCE for d in ("random", "ties")]
                         + [(n, "random") for n in DIM_REDUCE]
                         + [(n, "ties") for n in DIM_REDUCE])
def test_reduce(name, data):
    check({**REDUCE, **DIM_REDUCE}[name], X3 if data == "random" else TIES3)


@pytest.mark.parametrize("x", [
    X3, np.ones((2, 3, 4)) * X3[:1]], ids=["random", "zero_variance"])
def test_std(x):
    check(lambda lib, t: t.std(dim=0) + t.std(dim=(1, 2), keepdim=True), x)


@pytest.mark.parametrize("fname", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("scale", [1.0, 1e4], ids=["normal", "extreme"])
def test_softmax(fname, dim, scale):
    check(lambda lib, x: getattr(lib, fname)(x, dim=dim), X3 * scale)


# ---- shapes and indexing ----------------------------------------------------------------------

SHAPE = {
    "reshape": lambda lib, x: x.reshape(4, -1),
    "view": lambda lib, x: x.view(-1),
    "flatten": lambda lib, x: x.flatten(),
    "flatten_1": lambda lib, x: x.flatten(1),
    "flatten_0_1": lambda lib, x: x.flatten(0, 1),
    "transpose": lambda lib, x: x.transpose(0, 2),
    "permute": lambda lib, x: x.permute(2, 0, 1),
    "T_2d": lambda lib, x: x[0].T,
    "unsqueeze": lambda lib, x: x.unsqueeze(-1).unsqueeze(0),
    "squeeze": lambda lib, x: x[:, :1].squeeze(),
    "squeeze_dim": lambda lib, x: x[:, :1].squeeze(1),
    "squeeze_noop": lambda lib, x: x.squeeze(0),
    "expand": lambda lib, x: x[:, :1].expand(3, -1, 2, 4),
    "expand_as": lambda lib, x: x.sum(0).expand_as(x),
}
I_REP = np.array([1, 0, 1, 1])
MASK = X3[0] > 0
INDEX = {
    "slices": lambda lib, x: x[1:, ::2, 1:3],
    "int_ellipsis": lambda lib, x: x[..., -1],
    "none": lambda lib, x: x[None, :, 1],
    "repeated": lambda lib, x: x[C(lib, I_REP)],
    "repeated_axis1": lambda lib, x: x[:, C(lib, np.array([2, 2, 0]))],
    "pairs": lambda lib, x: x[C(lib, I_REP), C(lib, np.array([2, 2, 0, 2]))],
    "array_and_slice": lambda lib, x: x[C(lib, I_REP), 1:],
    "bool_mask": lambda lib, x: x[:, C(lib, MASK)],
    "bool_mask_leading": lambda lib, x: x[C(lib, X3 > 0)],
}


@pytest.mark.parametrize("name", [*SHAPE, *INDEX])
def test_shape_and_getitem(name):
    check({**SHAPE, **INDEX}[name], X3)


def test_getitem_negative_step_is_flip():
    # torch has no negative steps; x[::-1, :, ::-2] is flip plus a positive-step slice
    def fn(lib, x):
        return x[::-1, :, ::-2] if lib is ts else x.flip(0, 2)[:, :, ::2]
    check(fn, X3)


JOIN = {
    "cat": lambda lib, a, b: lib.cat([a, b, a], dim=1),
    "cat_last": lambda lib, a, b: lib.cat([a, b], dim=-1),
    "stack": lambda lib, a, b: lib.stack([a, b], dim=0),
    "stack_last": lambda lib, a, b: lib.stack([a, b, a], dim=-1),
    "split": lambda lib, a, b: a.split(2, dim=1) + (b,),
    "split_sizes": lambda lib, a, b: a.split([1, 3], dim=-1),
    "split_one_used": lambda lib, a, b: a.split(1, dim=0)[1] * b,
    "chunk_uneven": lambda lib, a, b: lib.cat([a, b], dim=0).chunk(3, dim=0),
    "chunk": lambda lib, a, b: b.chunk(2, dim=1),
}
COND = A > 0.2
SELECT = {
    "where": lambda lib, a, b: lib.where(C(lib, COND), a, b),
    "where_broadcast": lambda lib, a, b: lib.where(C(lib, COND), a, b[0]),
    "where_scalar": lambda lib, a, b: lib.where(C(lib, COND), a * b, 0.0),
    "masked_fill": lambda lib, a, b: a.masked_fill(C(lib, COND), -1.5) * b,
    "masked_fill_row": lambda lib, a, b: a.masked_fill(C(lib, COND[:1]), 0.0) + b,
}


@pytest.mark.parametrize("name", [*JOIN, *SELECT])
def test_join_split_where(name):
    check({**JOIN, **SELECT}[name], A, B)


# ---- embedding and dropout --------------------------------------------------------------------

TOKENS = np.array([[3, 1, 3, 0], [2, 3, 3, 4]])


@pytest.mark.parametrize("padding_idx", [
    None, 0, 3, -2])
def test_embedding(padding_idx):
    def fn(lib, w):
        if lib is ts:
            return ts.embedding(TOKENS, w, padding_idx=padding_idx)
        return TF.embedding(torch.tensor(TOKENS), w, padding_idx=padding_idx)
    check(fn, r(5, 3))


@pytest.mark.parametrize("p, training", [(0.0, True), (0.5, False), (0.9, False)])
def test_dropout_identity(p, training):
    def fn(lib, x):
        d = ts.dropout if lib is ts else TF.dropout
        return d(x, p=p, training=training) * 2
    check(fn, A)


# ---- float32 ----------------------------------------------------------------------------------

A32, B32 = r(4, 5, dtype=np.float32), r(5, 3, seed=1, dtype=np.float32)
FLOAT32 = {
    "tanh_matmul": lambda lib, a, b: lib.tanh(a @ b),
    "sigmoid_extreme": lambda lib, a, b: lib.sigmoid(a * 50.0) @ b,
    "div_exp": lambda lib, a, b: lib.exp(a) / (1.0 + b.abs().sum()),
    "log_softmax_extreme": lambda lib, a, b: lib.log_softmax(a * 1e4, dim=0) @ b,
    "softmax_var": lambda lib, a, b: lib.softmax(a @ b, dim=1).var(dim=0),
    "relu_max": lambda lib, a, b: lib.relu(a).amax(dim=1) * b.mean(),
    "sqrt_log": lambda lib, a, b: lib.sqrt(a * a + 1.0) + lib.log(b * b + 1.0).mean(),
}


@pytest.mark.parametrize("name", FLOAT32)
def test_float32(name):
    check(FLOAT32[name], A32, B32, tol=LOOSE)


# ---- composite expressions --------------------------------------------------------------------

TARGET = np.array([2, 0, 1, 2, 1])


def mlp_nll(lib, x, w1, b1, w2, b2):
    h = lib.tanh(x @ w1 + b1)  # (N, H)
    logp = lib.log_softmax(h @ w2 + b2, dim=1)  # (N, K)
    return -logp[C(lib, np.arange(5)), C(lib, TARGET)].mean()


def lstm_cell(lib, x, h, c, w, u, b):
    gates = x @ w + h @ u + b  # (N, 4H), PyTorch's gate order i, f, g, o
    i, f, g, o = gates.chunk(4, dim=1)
    c2 = lib.sigmoid(f) * c + lib.sigmoid(i) * lib.tanh(g)
    return lib.sigmoid(o) * lib.tanh(c2), c2


def attention(lib, q, k, v):
    s = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])  # (B, T, T)
    causal = C(lib, np.triu(np.ones((4, 4), dtype=bool), 1))
    return lib.softmax(s.masked_fill(causal, float("-inf")), dim=-1) @ v


def test_mlp_nll():
    check(mlp_nll, r(5, 4), r(4, 6, seed=1), r(6, seed=2), r(6, 3, seed=3), r(3, seed=4))


def test_lstm_cell():
    check(lstm_cell, r(2, 3), r(2, 4, seed=1), r(2, 4, seed=2), r(3, 16, seed=3),
          r(4, 16, seed=4), r(16, seed=5))


def test_attention():
    check(attention, r(2, 4, 3), r(2, 4, 3, seed=1), r(2, 4, 5, seed=2))
