"""Every differentiable op passes a float64 numerical gradient check over random shapes,
including broadcasting and size-1 axes (tier 1 of the test plan)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import axis_for, broadcast_pairs, leaf, nonscalar_shapes, seeds, shapes
from hypothesis import given
from hypothesis import strategies as st

import tinygrad_seq as ts
from tinygrad_seq import ops

BINARY = {
    "add": (lambda a, b: a + b, {}),
    "sub": (lambda a, b: a - b, {}),
    "mul": (lambda a, b: a * b, {}),
    "div": (lambda a, b: a / b, {"away_from_zero": True}),
    "pow": (lambda a, b: a ** b, {"positive": True}),
    "maximum": (lambda a, b: ts.maximum(a, b), {}),
    "minimum": (lambda a, b: ts.minimum(a, b), {}),
    "where": (lambda a, b: ts.where(a.detach() > 0, a, b), {}),
}


@pytest.mark.parametrize("name", sorted(BINARY))
@given(pair=broadcast_pairs, seed=seeds)
def test_binary_ops_broadcast(name, pair, seed):
    fn, kw = BINARY[name]
    shape_a, shape_b = pair.input_shapes
    a = leaf(shape_a, seed, positive=kw.get("positive", False))
    b = leaf(shape_b, seed + 1, away_from_zero=kw.get("away_from_zero", False))
    assert ts.gradcheck(fn, [a, b])


UNARY = {
    "neg": (lambda x: -x, {}),
    "exp": (lambda x: x.exp(), {}),
    "log": (lambda x: x.log(), {"positive": True}),
    "sqrt": (lambda x: x.sqrt(), {"positive": True}),
    "tanh": (lambda x: x.tanh(), {}),
    "sigmoid": (lambda x: x.sigmoid(), {}),
    "relu": (lambda x: x.relu(), {"away_from_zero": True}),
    "abs": (lambda x: x.abs(), {"away_from_zero": True}),
    "clip": (lambda x: x.clip(-0.7, 0.8), {}),
    "pow_scalar": (lambda x: x ** 3, {}),
    "rpow": (lambda x: 2.0 ** x, {}),
    "rsub_rdiv": (lambda x: 1 - 2 / x, {"away_from_zero": True}),
    "square": (lambda x: x.square(), {}),
    "cast": (lambda x: x.float().double(), {}),
    "dropout_eval": (lambda x: ts.dropout(x, 0.5, training=False), {}),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@given(shape=shapes, seed=seeds)
def test_unary_ops(name, shape, seed):
    fn, kw = UNARY[name]
    x = leaf(shape, seed, **kw)
    if name == "cast":  # a float32 round trip is exact only to float32 precision
        assert ts.gradcheck(fn, [x], atol=1e-6, rtol=1e-4, eps=1e-3)
    else:
        assert ts.gradcheck(fn, [x])


REDUCTIONS = {
    "sum": lambda x, ax, k: x.sum(ax, keepdims=k),
    "mean": lambda x, ax, k: x.mean(dim=ax, keepdim=k),
    "var": lambda x, ax, k: x.var(ax, keepdims=k, correction=0),
    "amax": lambda x, ax, k: x.amax(ax, keepdims=k),
    "amin": lambda x, ax, k: x.amin(ax, keepdims=k),
}


@pytest.mark.parametrize("name", sorted(REDUCTIONS))
@given(shape=shapes, seed=seeds, data=st.data(), keep=st.booleans())
def test_reductions(name, shape, seed, data, keep):
    axis = axis_for(data, shape)
    x = leaf(shape, seed)
    assert ts.gradcheck(lambda t: REDUCTIONS[name](t, axis, keep), [x])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_unbiased_var_and_std(shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    shape = shape[:axis] + (max(shape[axis], 2),) + shape[axis + 1:]
    x = leaf(shape, seed)
    assert ts.gradcheck(lambda t: t.var(axis) + t.std(axis), [x])


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_softmax_family(name, shape, seed, data):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    x = leaf(shape, seed)
    assert ts.gradcheck(lambda t: getattr(t, name)(axis), [x])


@given(seed=seeds, batch=st.sampled_from([(), (2,), (1, 3), (2, 1)]),
       n=st.integers(1, 3), k=st.integers(1, 3), m=st.integers(1, 3),
       rhs_batch=st.sampled_from([(), (1,), "same"]))
def test_matmul(seed, batch, n, k, m, rhs_batch):
    rb = batch if rhs_batch == "same" else rhs_batch
    a, b = leaf(batch + (n, k), seed), leaf(rb + (k, m), seed + 1)
    assert ts.gradcheck(lambda x, y: x @ y, [a, b])


@given(seed=seeds, k=st.integers(1, 4), m=st.integers(1, 3))
def test_matmul_vectors(seed, k, m):
    v, w, mat = leaf((k,), seed), leaf((k,), seed + 1), leaf((k, m), seed + 2)
    assert ts.gradcheck(lambda a, b, c: (a @ c).sum() + a @ b + (c.T @ b).sum(), [v, w, mat])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_movement(shape, seed, data):
    x = leaf(shape, seed)
    perm = data.draw(st.permutations(range(len(shape))))
    extra = data.draw(st.integers(1, 3))

    def fn(t):
        out = t.permute(*perm).reshape(-1).reshape(t.shape[::-1])  # permute, reshape, .T
        out = out.T.unsqueeze(0).expand(extra, *t.shape).flatten(1)
        return out.squeeze() if out.ndim else out

    assert ts.gradcheck(fn, [x])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_getitem(shape, seed, data):
    x = leaf(shape, seed)
    n = shape[0]
    kind = data.draw(st.sampled_from(["int", "slice", "repeat", "mask", "tuple"]))
    if kind == "int":
        index = data.draw(st.integers(-n, n - 1))
    elif kind == "slice":
        start = data.draw(st.integers(0, n - 1))
        index = slice(start, None, data.draw(st.integers(1, 2)))
    elif kind == "repeat":  # repeated indices: the gradient must scatter-add
        index = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=6)))
    elif kind == "mask":
        index = x.detach() > 0
    else:
        index = (slice(None), 0) if len(shape) > 1 else (0,)
    assert ts.gradcheck(lambda t: t[index], [x])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data(), count=st.integers(1, 3))
def test_cat_stack(shape, seed, data, count):
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    xs = [leaf(shape, seed + i) for i in range(count)]
    assert ts.gradcheck(lambda *t: ts.cat(t, axis), xs)
    assert ts.gradcheck(lambda *t: ts.stack(t, axis), xs)


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_split_chunk(shape, seed, data):
    axis = data.draw(st.integers(0, len(shape) - 1))
    x = leaf(shape, seed)
    size = data.draw(st.integers(1, shape[axis]))
    chunks = data.draw(st.integers(1, shape[axis]))
    assert ts.gradcheck(lambda t: t.split(size, axis), [x])
    # only some pieces used: the others get a zero gradient
    assert ts.gradcheck(lambda t: t.chunk(chunks, axis)[0] * 2, [x])


@given(shape=nonscalar_shapes, seed=seeds)
def test_masked_fill(shape, seed):
    x = leaf(shape, seed)
    mask = leaf(shape, seed + 7).detach() > 0
    assert ts.gradcheck(lambda t: t.masked_fill(mask, -1.5), [x])


@given(seed=seeds, rows=st.integers(1, 5), dim=st.integers(1, 3),
       idx=st.lists(st.integers(0, 4), min_size=1, max_size=8))
def test_embedding_repeated_indices(seed, rows, dim, idx):
    w = leaf((rows, dim), seed)
    indices = ts.tensor([i % rows for i in idx])
    assert ts.gradcheck(lambda t: ts.embedding(indices, t), [w])


@pytest.mark.parametrize("expr", [
    lambda x: (x ** 3).sum(),
    lambda x: (x.tanh() * x.sigmoid()).sum(),
    lambda x: x.softmax(-1)[..., 0].sum(),
    lambda x: x.log_softmax(-1).sum() + (x.exp() * x).mean(),
    lambda x: ((x @ x.T).relu() + x.abs().sqrt().sum()).sum(),
])
@given(seed=seeds)
def test_second_derivatives(expr, seed):
    x = leaf((2, 3), seed, away_from_zero=True)
    assert ts.gradcheck(lambda t: ts.grad(expr(t), t, create_graph=True)[0], [x])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_scatter_add(shape, seed, data):
    """GetItem's backward, with repeated indices, as an op of its own (its backward is GetItem)."""
    n = shape[0]
    index = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=5)))
    g = leaf((len(index),) + shape[1:], seed)
    assert ts.gradcheck(lambda t: ops.ScatterAdd.apply(t, shape=shape, index=index), [g])
