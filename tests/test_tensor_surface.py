"""The tensor surface PyTorch users reach for (pow, norm, clone, t, flip, roll, repeat, gather,
scatter, cumsum, prod, sort, topk, masked_select, logsumexp, tril/triu, sin/cos, rounding,
einsum, ...): values and every gradient against PyTorch, and a float64 numerical gradient check
over random shapes for each differentiable one."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import leaf, nonscalar_shapes, seeds, torch
from hypothesis import given
from hypothesis import strategies as st
from test_parity_torch import A, B, C, check, r

import tinygrad_seq as ts

IDX = np.array([[0, 2], [3, 3], [1, 0]])  # (3, 2) into the 4 columns of A, a repeat in row 1
UNIQUE = np.array([[0, 2], [3, 1], [1, 0]])  # no repeats within a row
ROWS = np.array([[0, 1, 2, 0], [2, 2, 1, 0]])  # (2, 4) into the 3 rows of A
Z = A.copy()
Z[0, 1] = 0.0  # one zero in row 0
Z[1, :2] = 0.0  # two zeros in row 1
MASK = A > 0
R3 = r(2, 3, 4)

SURFACE = {
    "pow": (lambda lib, a: a.pow(3) + (a * a + 0.5).pow(a), [A]),
    "norm": (lambda lib, a: a.norm(), [A]),
    "norm_dim": (lambda lib, a: a.norm(dim=1, keepdim=True), [A]),
    "norm_p1": (lambda lib, a: a.norm(p=1, dim=0), [A]),
    "norm_p3": (lambda lib, a: a.norm(p=3), [A]),
    "norm_inf": (lambda lib, a: a.norm(p=float("inf"), dim=1), [A]),
    "clone": (lambda lib, a: a.clone() * a, [A]),
    "t": (lambda lib, a: a.t() @ a, [A]),
    "flip": (lambda lib, a: a.flip(0, 1) * a, [A]),
    "flip_list": (lambda lib, a: a.flip([1]) * a, [A]),
    "roll": (lambda lib, a: a.roll(2, 1) * a, [A]),
    "roll_dims": (lambda lib, a: a.roll((1, -1), (0, 1)) * a, [A]),
    "roll_flat": (lambda lib, a: a.roll(5) * a, [A]),
    "repeat": (lambda lib, a: a.repeat(2, 1, 3), [A]),
    "gather": (lambda lib, a: a.gather(1, C(lib, IDX)), [A]),
    "gather_rows": (lambda lib, a: a.gather(0, C(lib, ROWS)), [A]),
    "scatter": (lambda lib, a, b: a.scatter(1, C(lib, UNIQUE), b), [A, r(3, 2)]),
    "scatter_number": (lambda lib, a: a.scatter(1, C(lib, UNIQUE), 0.5), [A]),
    "scatter_add": (lambda lib, a, b: a.scatter_add(1, C(lib, IDX), b), [A, r(3, 2)]),
    "scatter_add_rows": (lambda lib, a, b: a.scatter_add(0, C(lib, ROWS), b), [A, r(2, 4)]),
    "cumsum": (lambda lib, a: a.cumsum(1) * a.cumsum(0), [A]),
    "prod": (lambda lib, a: a.prod(1), [A]),
    "prod_keepdim": (lambda lib, a: a.prod(0, keepdim=True), [A]),
    "prod_all": (lambda lib, a: a.prod(), [A]),
    "prod_zeros": (lambda lib, a: a.prod(1), [Z]),
    "prod_zeros_all": (lambda lib, a: a.prod(), [Z]),
    "sort": (lambda lib, a: a.sort(1), [A]),
    "sort_descending": (lambda lib, a: a.sort(0, descending=True), [A]),
    "argsort": (lambda lib, a: (a * 2, a.argsort(1), a.argsort(0, descending=True)), [A]),
    "topk": (lambda lib, a: a.topk(2, dim=1), [A]),
    "topk_smallest": (lambda lib, a: a.topk(2, dim=0, largest=False), [A]),
    "masked_select": (lambda lib, a: a.masked_select(C(lib, MASK)), [A]),
    "masked_select_broadcast": (lambda lib, a: a.masked_select(C(lib, MASK[0])), [A]),
    "logsumexp": (lambda lib, a: a.logsumexp(1), [A]),
    "logsumexp_dims": (lambda lib, a: a.logsumexp((0, 2), keepdim=True), [R3]),
    "tril_triu": (lambda lib, a: a.tril() * 2 + a.triu(1) + a.tril(-1) * 3, [A]),
    "tril_batched": (lambda lib, a: a.triu(-1), [R3]),
    "sin_cos": (lambda lib, a: a.sin() * a.cos(), [A]),
    "rounding": (lambda lib, a: (a * 3).floor() + (a * 3).ceil() + (a * 3).round() + a, [A]),
    "round_decimals": (lambda lib, a: (a * 3).round(decimals=1) + a, [A]),
}

EINSUM = {
    "matmul": ("ij,kj->ik", [A, B]),
    "batched": ("bij,bjk->bik", [R3, r(2, 4, 5)]),
    "dot": ("i,i->", [A[0], B[0]]),
    "outer": ("i,j->ij", [A[0], B[:, 0]]),
    "sum_rows": ("ij->j", [A]),
    "transpose": ("ij->ji", [A]),
    "matvec": ("ij,j->i", [A, B[0]]),
    "implicit": ("ij,jk", [A, B.T]),
    "own_letters": ("ij,k->k", [A, B[0]]),
    "spaces": ("b i j, b j -> b i", [R3, r(2, 4)]),
}


@pytest.mark.parametrize("name", SURFACE)
def test_against_torch(name):
    fn, arrays = SURFACE[name]
    check(fn, *arrays)


@pytest.mark.parametrize("name", EINSUM)
def test_einsum_against_torch(name):
    spec, arrays = EINSUM[name]
    check(lambda lib, *xs: lib.einsum(spec, *xs), *arrays)


# ---- float64 numerical gradients over random shapes ------------------------------------------

ANY_SHAPE = {
    "norm": (lambda x: x.norm(), {"away_from_zero": True}),
    "pow": (lambda x: x.pow(2), {}),
    "clone": (lambda x: x.clone() * x, {}),
    "flip": (lambda x: x.flip(0) * x, {}),
    "roll": (lambda x: x.roll(1, 0) * x, {}),
    "repeat": (lambda x: x.repeat(2, *([1] * (x.ndim - 1))), {}),
    "cumsum": (lambda x: x.cumsum(-1) * x, {}),
    "prod": (lambda x: x.prod(0), {}),
    "logsumexp": (lambda x: x.logsumexp(-1), {}),
    "sort": (lambda x: x.sort(-1).values * x, {}),
    "topk": (lambda x: x.topk(1, dim=-1).values, {}),
    "sin_cos": (lambda x: x.sin() + x.cos() * x, {}),
    "einsum_sum": (lambda x: ts.einsum("abc"[:x.ndim] + "->", x), {}),
    "t": (lambda x: x.t() * 2 if x.ndim <= 2 else x.sum(), {}),
    "scatter": (lambda x: x.scatter(-1, ts.zeros(x.shape[:-1] + (1,), dtype=ts.int64),
                                    x[..., :1] * 3), {}),
    "masked_select": (lambda x: x.masked_select(x > 0) * 2, {"away_from_zero": True}),
    "tril_triu": (lambda x: (x.tril(-1) + x.triu() * 2) if x.ndim >= 2 else x * 1, {}),
}


@pytest.mark.parametrize("name", sorted(ANY_SHAPE))
@given(shape=nonscalar_shapes, seed=seeds)
def test_gradcheck(name, shape, seed):
    fn, kw = ANY_SHAPE[name]
    assert ts.gradcheck(fn, [leaf(shape, seed, **kw)])


@given(n=st.integers(1, 4), k=st.integers(1, 4), m=st.integers(1, 4), seed=seeds)
def test_gradcheck_einsum_contraction(n, k, m, seed):
    a, b = leaf((n, k), seed), leaf((m, k), seed + 1)
    assert ts.gradcheck(lambda a, b: ts.einsum("nk,mk->nm", a, b), [a, b])


@given(shape=nonscalar_shapes, seed=seeds, data=st.data())
def test_gradcheck_gather_scatter(shape, seed, data):
    x = leaf(shape, seed)
    index = np.random.default_rng(seed).integers(0, shape[-1], shape)
    src = leaf(shape, seed + 1)
    assert ts.gradcheck(lambda x: x.gather(-1, ts.tensor(index)), [x])
    assert ts.gradcheck(lambda x, s: x.scatter_add(-1, ts.tensor(index), s), [x, src])


# ---- values without gradients ----------------------------------------------------------------

INT = np.array([[5, -3, 12], [7, 0, 1]])


@pytest.mark.parametrize("op", ["&", "|", "^", "<<", ">>"])
def test_bitwise_on_integers(op):
    other = np.array([[1, 2, 3], [2, 1, 0]])
    f = {"&": lambda a, b: a & b, "|": lambda a, b: a | b, "^": lambda a, b: a ^ b,
         "<<": lambda a, b: a << b, ">>": lambda a, b: a >> b}[op]
    ours = f(ts.tensor(INT), ts.tensor(other))
    theirs = f(torch.tensor(INT), torch.tensor(other))
    assert ours.dtype == np.int64
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    np.testing.assert_array_equal(f(ts.tensor(INT), 3).numpy(), f(torch.tensor(INT), 3).numpy())
    np.testing.assert_array_equal(f(3, ts.tensor(other)).numpy(),
                                  f(3, torch.tensor(other)).numpy())  # the number first


def test_bitwise_on_bools_is_logical_and_floats_are_refused():
    a, b = np.array([True, False, True]), np.array([True, True, False])
    for op in ("__and__", "__or__", "__xor__"):
        np.testing.assert_array_equal(getattr(ts.tensor(a), op)(ts.tensor(b)).numpy(),
                                      getattr(torch.tensor(a), op)(torch.tensor(b)).numpy())
    np.testing.assert_array_equal((~ts.tensor(INT)).numpy(), (~torch.tensor(INT)).numpy())
    with pytest.raises(TypeError, match=r"&: needs integer or bool tensors, got float32"):
        ts.tensor([1.0]) & ts.tensor([2.0])
    with pytest.raises(TypeError, match=r"<<: needs integer tensors, got bool"):
        ts.tensor([True]) << 1


@pytest.mark.parametrize("dim", [None, 0, 1, -1])
@pytest.mark.parametrize("keepdim", [False, True])
def test_any_all_isnan_isinf_isfinite(dim, keepdim):
    x = np.array([[0.0, np.nan, 1.0], [np.inf, -np.inf, 0.0]])
    for name in ("any", "all"):
        kw = {} if dim is None else {"dim": dim, "keepdim": keepdim}
        ours = getattr(ts.tensor(x != 0), name)(**kw)
        theirs = getattr(torch.tensor(x != 0), name)(**kw)
        assert ours.dtype == np.bool_
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())
    for name in ("isnan", "isinf", "isfinite"):
        np.testing.assert_array_equal(getattr(ts.tensor(x), name)().numpy(),
                                      getattr(torch.tensor(x), name)().numpy())


def test_sort_is_stable_and_puts_nan_last():
    x = np.array([3.0, 1.0, np.nan, 3.0, 1.0, 2.0])
    for descending in (False, True):
        ours = ts.tensor(x).sort(descending=descending, stable=True)
        theirs = torch.tensor(x).sort(descending=descending, stable=True)
        np.testing.assert_array_equal(ours.indices.numpy(), theirs.indices.numpy())
        np.testing.assert_array_equal(ours.values.numpy(), theirs.values.numpy())


def test_linspace_bool_dtype_and_free_functions():
    np.testing.assert_allclose(ts.linspace(-1, 2, 7).numpy(), torch.linspace(-1, 2, 7).numpy(),
                               rtol=1e-6)
    assert ts.linspace(0, 1, 5).dtype == np.float32
    assert ts.linspace(0, 1, 5, dtype=ts.float64).dtype == np.float64
    assert ts.zeros(3, dtype=ts.bool).dtype == np.bool_ and ts.bool is ts.bool_
    assert ts.tensor([0.0, 2.0]).bool().numpy().tolist() == [False, True]
    x = ts.tensor(A)
    for name in ("sin", "cos", "tril", "cumsum", "isnan", "flip"):
        args = {"cumsum": (1,), "flip": ((0,),)}.get(name, ())
        np.testing.assert_array_equal(getattr(ts, name)(x, *args).numpy(),
                                      getattr(x, name)(*args).numpy())


def test_integer_tensors_meet_floating_functions_as_float32():
    i = np.array([1, 4, 9])
    for name in ("exp", "sqrt", "log", "tanh", "sigmoid", "sin", "cos"):
        ours, theirs = getattr(ts.tensor(i), name)(), getattr(torch.tensor(i), name)()
        assert ours.dtype == np.float32 and str(theirs.dtype) == "torch.float32", name
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6)
    mixed = ts.tensor(i).maximum(ts.tensor([2.0, 2.0, 2.0]))
    twos = torch.tensor([2.0, 2.0, 2.0])
    assert mixed.dtype == torch.maximum(torch.tensor(i), twos).numpy().dtype == np.float32
    assert ts.tensor(i).maximum(ts.tensor([2, 5, 2])).dtype == np.int64
    assert ts.tensor(i).cumsum(0).dtype == np.int64 and ts.tensor(i).prod().item() == 36


# ---- errors name the op and the problem --------------------------------------------------------

def test_errors():
    x = ts.tensor(A)
    with pytest.raises(IndexError, match="gather: index 4 is out of range for dimension 1 of "
                                         "size 4"):
        x.gather(1, ts.tensor([[4]]))
    with pytest.raises(IndexError, match="gather: index -1"):
        x.gather(1, ts.tensor([[-1]]))
    with pytest.raises(TypeError, match="gather: index must be an integer tensor"):
        x.gather(1, ts.tensor([[0.0]]))
    with pytest.raises(ValueError, match="gather: index has 1 dimensions but the tensor has 2"):
        x.gather(1, ts.tensor([0]))
    with pytest.raises(IndexError, match="topk: k=5 is out of range for dimension 1 of size 4"):
        x.topk(5)
    with pytest.raises(ValueError, match="t: expects a tensor of at most 2 dimensions"):
        ts.tensor(R3).t()
    with pytest.raises(ValueError, match="repeat: 1 repeat counts for a tensor of 2"):
        x.repeat(2)
    with pytest.raises(ValueError, match="einsum: operand 1 has shape \\(3, 4\\), but 'j' "
                                         "names 1 dimensions"):
        ts.einsum("ij,j->i", x, x)
    with pytest.raises(ValueError, match="dimension 'j' has size 4 in one operand and 3"):
        ts.einsum("ij,jk->ik", x, x)
    with pytest.raises(ValueError, match="a letter repeats within operand 0"):
        ts.einsum("ii->i", ts.tensor(np.eye(3)))
    with pytest.raises(ValueError, match="'...' is not supported"):
        ts.einsum("...i->...", x)
    with pytest.raises(ValueError, match="norm: p must be a number"):
        x.norm(p="nuc")
    with pytest.raises(ValueError, match="masked_select: mask shape \\(2,\\) does not broadcast"):
        x.masked_select(ts.tensor([True, False]))


def test_free_functions_with_pytorch_names():
    x = A
    for name, args, kw in (("pow", (2,), {}), ("clone", (), {}), ("t", (), {}),
                           ("floor", (), {}), ("ceil", (), {}), ("round", (), {}),
                           ("scatter_add", (1, IDX, r(3, 2)), {}),
                           ("scatter", (1, UNIQUE, r(3, 2)), {})):
        ours = getattr(ts, name)(ts.tensor(x), *(ts.tensor(a) if isinstance(a, np.ndarray)
                                                 else a for a in args), **kw)
        theirs = getattr(torch, name)(torch.tensor(x), *(torch.tensor(a) if isinstance(
            a, np.ndarray) else a for a in args), **kw)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), err_msg=name)
    for name in ("any", "all"):
        for kw in ({}, {"dim": 1}):
            np.testing.assert_array_equal(getattr(ts, name)(ts.tensor(x > 0), **kw).numpy(),
                                          getattr(torch, name)(torch.tensor(x > 0), **kw).numpy())


def test_to_takes_a_dtype_as_pytorch():
    x = ts.tensor(A, requires_grad=True)
    assert x.to(ts.float32).dtype == np.float32 and x.to("cpu").dtype == np.float64
    y = x.to("cpu", ts.float32)
    y.sum().backward()
    assert y.dtype == np.float32 and x.grad.dtype == np.float64
