"""tinygrad_seq.nn.functional against torch.nn.functional: values and input gradients in
float64, float64 gradchecks of every loss, and the errors bad inputs get."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from helpers import TF, torch

import tinygrad_seq as ts
from tinygrad_seq.autograd import ShapeError
from tinygrad_seq.nn import functional as F

RTOL, ATOL = 1e-10, 1e-12


def both(a, requires_grad=True):
    """The same float64 array as a tinygrad_seq and a torch tensor."""
    a = np.asarray(a, dtype=np.float64)
    return (ts.tensor(a, dtype=ts.float64, requires_grad=requires_grad),
            torch.tensor(a, requires_grad=requires_grad))


def close(ours, theirs):
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(np.asarray(ours.numpy()), theirs, rtol=RTOL, atol=ATOL,
                               equal_nan=True)


def check(out, ref, pairs, seed=0):
    """Compare values, then backpropagate one random upstream gradient through both (an explicit
    gradient also tests 'none' elementwise) and compare the gradient of every input pair."""
    close(out, ref)
    g = np.random.default_rng(seed).standard_normal(tuple(ref.shape))
    out.backward(ts.tensor(g, dtype=ts.float64))
    ref.backward(torch.tensor(g))
    for ours, theirs in pairs:
        assert ours.grad is not None and theirs.grad is not None
        close(ours.grad, theirs.grad)


def class_targets(rng, shape, n, ignore_index=None):
    t = np.asarray(rng.integers(0, n, shape))  # an array even for shape ()
    if ignore_index is not None and t.size:
        t.reshape(-1)[:: 2] = ignore_index  # every other position ignored
    return t


SHAPES = [(5, 4), (3, 4, 2), (2, 3, 2, 2), (4,)]
REDUCTIONS = ["mean", "sum", "none"]


# ---- cross_entropy and nll_loss ---------------------------------------------------------------


@pytest.mark.parametrize("shape,reduction,ignore,weighted,smoothing", itertools.product(
    SHAPES, REDUCTIONS, ["absent", "default", "in-range"], [False, True], [0.0, 0.1]))
def test_cross_entropy_class_targets(shape, reduction, ignore, weighted, smoothing):
    rng = np.random.default_rng([len(shape), REDUCTIONS.index(reduction), len(ignore)])
    n = shape[0] if len(shape) == 1 else shape[1]
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    index = {"absent": -100, "default": -100, "in-range": 2}[ignore]
    t = class_targets(rng, tshape, n, None if ignore == "absent" else index)
    x, tx = both(rng.standard_normal(shape) * 3)
    kw, tkw = {}, {}
    if weighted:
        w = rng.random(n) + 0.5
        kw["weight"], tkw["weight"] = ts.tensor(w, dtype=ts.float64), torch.tensor(w)
    out = F.cross_entropy(x, ts.tensor(t), ignore_index=index, reduction=reduction,
                          label_smoothing=smoothing, **kw)
    ref = TF.cross_entropy(tx, torch.tensor(t), ignore_index=index, reduction=reduction,
                           label_smoothing=smoothing, **tkw)
    check(out, ref, [(x, tx)])


@pytest.mark.parametrize("shape,reduction,weighted,smoothing", itertools.product(
    [(5, 4), (3, 4, 2), (4,)], REDUCTIONS, [False, True], [0.0, 0.1]))
def test_cross_entropy_probability_targets(shape, reduction, weighted, smoothing):
    rng = np.random.default_rng(len(shape) + 7 * weighted)
    cax = 0 if len(shape) == 1 else 1
    x, tx = both(rng.standard_normal(shape))
    p = rng.random(shape)
    q, tq = both(p / p.sum(axis=cax, keepdims=True))
    kw, tkw = {}, {}
    if weighted:
        w = rng.random(shape[cax]) + 0.5
        kw["weight"], tkw["weight"] = ts.tensor(w, dtype=ts.float64), torch.tensor(w)
    out = F.cross_entropy(x, q, reduction=reduction, label_smoothing=smoothing, **kw)
    ref = TF.cross_entropy(tx, tq, reduction=reduction, label_smoothing=smoothing, **tkw)
    check(out, ref, [(x, tx), (q, tq)])


@pytest.mark.parametrize("shape,reduction,ignore,weighted", itertools.product(
    SHAPES, REDUCTIONS, [None, -100, 1], [False, True]))
def test_nll_loss(shape, reduction, ignore, weighted):
    rng = np.random.default_rng(len(shape))
    n = shape[0] if len(shape) == 1 else shape[1]
    tshape = shape[:1] + shape[2:] if len(shape) > 1 else ()
    t = class_targets(rng, tshape, n, ignore)
    x, tx = both(rng.standard_normal(shape))
    kw, tkw = {}, {}
    if weighted:
        w = rng.random(n) + 0.5
        kw["weight"], tkw["weight"] = ts.tensor(w, dtype=ts.float64), torch.tensor(w)
    index = -100 if ignore is None else ignore
    out = F.nll_loss(x, ts.tensor(t), ignore_index=index, reduction=reduction, **kw)
    ref = TF.nll_loss(tx, torch.tensor(t), ignore_index=index, reduction=reduction, **tkw)
    check(out, ref, [(x, tx)])


@pytest.mark.parametrize("loss", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("weighted", [False, True])
def test_mean_with_every_target_ignored_is_nan_with_zero_gradient(loss, weighted):
    x, tx = both(np.random.default_rng(0).standard_normal((3, 4)))
    t = np.full(3, -100)
    kw = {"weight": ts.tensor(np.ones(4), dtype=ts.float64)} if weighted else {}
    tkw = {"weight": torch.ones(4, dtype=torch.float64)} if weighted else {}
    out = getattr(F, loss)(x, ts.tensor(t), **kw)
    ref = getattr(TF, loss)(tx, torch.tensor(t), **tkw)
    assert np.isnan(out.item()) and torch.isnan(ref)
    check(out, ref, [(x, tx)])
    assert not np.isnan(x.grad.numpy()).any()


def test_targets_are_gathered_with_getitem_not_a_one_hot_matmul():
    x = ts.randn(4, 5, requires_grad=True)
    out = F.cross_entropy(x, ts.tensor([0, 1, 2, 3]))
    names, stack, seen = set(), [out._ctx], set()
    while stack:  # iterative walk over the graph
        fn = stack.pop()
        if fn is None or id(fn) in seen:
            continue
        seen.add(id(fn))
        names.add(fn.name)
        stack.extend(p._ctx for p in fn.parents)
    assert "getitem" in names and "log_softmax" in names and "matmul" not in names


# ---- mse_loss, binary_cross_entropy_with_logits -----------------------------------------------


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(), (5,), (3, 4)])
def test_mse_loss(reduction, shape):
    rng = np.random.default_rng(len(shape))
    x, tx = both(rng.standard_normal(shape))
    y, ty = both(rng.standard_normal(shape))
    check(F.mse_loss(x, y, reduction=reduction), TF.mse_loss(tx, ty, reduction=reduction),
          [(x, tx), (y, ty)])


@pytest.mark.parametrize("reduction,weighted,pos_weighted", itertools.product(
    REDUCTIONS, [False, True], [False, True]))
def test_bce_with_logits(reduction, weighted, pos_weighted):
    rng = np.random.default_rng(3)
    logits = rng.standard_normal((4, 3)) * 4
    logits[0] = [1e3, -1e3, 0.0]  # extremes stay finite; 0 checks the kink of max(-x, 0)
    x, tx = both(logits)
    y, ty = both(rng.random((4, 3)))
    kw, tkw = {}, {}
    if weighted:
        w = rng.random((4, 3)) + 0.5
        kw["weight"], tkw["weight"] = ts.tensor(w, dtype=ts.float64), torch.tensor(w)
    if pos_weighted:
        pw = rng.random(3) * 3
        kw["pos_weight"], tkw["pos_weight"] = ts.tensor(pw, dtype=ts.float64), torch.tensor(pw)
    out = F.binary_cross_entropy_with_logits(x, y, reduction=reduction, **kw)
    ref = TF.binary_cross_entropy_with_logits(tx, ty, reduction=reduction, **tkw)
    check(out, ref, [(x, tx), (y, ty)])
    assert np.isfinite(out.numpy()).all() and np.isfinite(x.grad.numpy()).all()


def test_bce_with_logits_extremes_with_hard_targets():
    x, tx = both([1e3, -1e3, 1e3, -1e3])
    y = np.array([1.0, 0.0, 0.0, 1.0])
    out = F.binary_cross_entropy_with_logits(x, ts.tensor(y, dtype=ts.float64), reduction="none")
    ref = TF.binary_cross_entropy_with_logits(tx, torch.tensor(y), reduction="none")
    np.testing.assert_allclose(out.numpy(), [0.0, 0.0, 1e3, 1e3])
    check(out, ref, [(x, tx)])


# ---- activations, layers, one_hot ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_softmax_family(name, dim):
    x, tx = both(np.random.default_rng(dim + 5).standard_normal((3, 4)))
    check(getattr(F, name)(x, dim=dim), getattr(TF, name)(tx, dim=dim), [(x, tx)])


def test_softmax_dtype_argument():
    x = ts.randn(2, 3)
    assert F.softmax(x, dim=-1, dtype=ts.float64).dtype == np.float64


@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 4, 3)])
def test_linear(bias, shape):
    rng = np.random.default_rng(len(shape))
    x, tx = both(rng.standard_normal(shape))
    w, tw = both(rng.standard_normal((5, 3)))
    pairs = [(x, tx), (w, tw)]
    b = tb = None
    if bias:
        b, tb = both(rng.standard_normal(5))
        pairs.append((b, tb))
    check(F.linear(x, w, b), TF.linear(tx, tw, tb), pairs)


@pytest.mark.parametrize("num_classes", [-1, 6])
def test_one_hot(num_classes):
    t = np.array([[0, 3, 1], [2, 2, 0]])
    out = F.one_hot(ts.tensor(t), num_classes)
    ref = TF.one_hot(torch.tensor(t), num_classes)
    assert out.dtype == np.int64
    np.testing.assert_array_equal(out.numpy(), ref.numpy())


def test_embedding_matches_torch_with_padding_idx():
    rng = np.random.default_rng(1)
    w, tw = both(rng.standard_normal((6, 3)))
    idx = np.array([[1, 0, 5], [0, 0, 2]])
    check(F.embedding(ts.tensor(idx), w, padding_idx=0),
          TF.embedding(torch.tensor(idx), tw, padding_idx=0), [(w, tw)])


def test_dropout():
    x = ts.ones(2000)
    assert F.dropout(x, 0.5, training=False) is x and F.dropout(x, 0.0) is x
    ts.manual_seed(0)
    y = F.dropout(x, 0.25).numpy()
    assert set(np.unique(y)) <= {0.0, np.float32(1 / 0.75)}
    assert abs(y.mean() - 1) < 0.1  # inverted dropout keeps the expectation
    with pytest.raises(ValueError, match="inplace"):
        F.dropout(x, 0.5, inplace=True)


# ---- float64 gradchecks ---------------------------------------------------------------------


def leaf(shape, seed=0):
    return ts.tensor(np.random.default_rng(seed).standard_normal(shape), dtype=ts.float64,
                     requires_grad=True)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_gradcheck_losses(reduction):
    t = ts.tensor([[0, 2], [-100, 1], [3, 2]])  # (N, d1) with one ignored position
    w = ts.tensor([0.5, 1.0, 2.0, 1.5], dtype=ts.float64)
    x = leaf((3, 4, 2))
    ts.gradcheck(lambda x: F.cross_entropy(x, t, weight=w, reduction=reduction,
                                           label_smoothing=0.1), [x])
    ts.gradcheck(lambda x: F.nll_loss(x, t, weight=w, reduction=reduction), [x])
    q = leaf((3, 4, 2), 1)
    ts.gradcheck(lambda x, q: F.cross_entropy(x, q.softmax(dim=1), weight=w,
                                              reduction=reduction, label_smoothing=0.1), [x, q])
    y = leaf((3, 4, 2), 2)
    ts.gradcheck(lambda x, y: F.mse_loss(x, y, reduction=reduction), [x, y])
    pw = ts.tensor([0.5, 2.0], dtype=ts.float64)
    ts.gradcheck(lambda x, y: F.binary_cross_entropy_with_logits(
        x * 3, y.sigmoid(), weight=w.reshape(1, 4, 1), pos_weight=pw, reduction=reduction),
        [x, y])


# ---- errors ---------------------------------------------------------------------------------


LOSSES_WITH_CLASSES = [F.cross_entropy, F.nll_loss]


@pytest.mark.parametrize("loss", LOSSES_WITH_CLASSES)
@pytest.mark.parametrize("bad", [7, 4, -3])
def test_target_out_of_range_names_value_and_classes(loss, bad):
    with pytest.raises(IndexError, match=rf"target value {bad} .*4 classes"):
        loss(ts.randn(3, 4), ts.tensor([0, bad, 1]))


@pytest.mark.parametrize("loss", LOSSES_WITH_CLASSES)
def test_ignore_index_is_not_out_of_range(loss):
    loss(ts.randn(3, 4), ts.tensor([0, -7, 1]), ignore_index=-7)
    loss(ts.randn(3, 4), ts.tensor([0, 9, 1]), ignore_index=9)


@pytest.mark.parametrize("loss", LOSSES_WITH_CLASSES)
@pytest.mark.parametrize("xshape,tshape", [((5, 4), (3,)), ((2, 4, 3), (2, 4)),
                                           ((5, 4), (5, 1))])
def test_target_shape_mismatch_names_both_shapes(loss, xshape, tshape):
    with pytest.raises(ShapeError, match=rf"{tuple(tshape)}.*{tuple(xshape)}".replace(
            "(", r"\(").replace(")", r"\)")):
        loss(ts.randn(*xshape), ts.zeros(tshape, dtype=ts.int64))


@pytest.mark.parametrize("loss", LOSSES_WITH_CLASSES)
def test_float_class_targets_are_rejected(loss):
    with pytest.raises(TypeError, match="integers"):
        loss(ts.randn(5, 4), ts.tensor([0.0, 1.0, 2.0, 3.0, 1.0]))


def test_integer_probability_targets_are_rejected():
    with pytest.raises(TypeError, match="probabilities and must be floating point"):
        F.cross_entropy(ts.randn(5, 4), ts.zeros((5, 4), dtype=ts.int64))


@pytest.mark.parametrize("call", [
    lambda r: F.cross_entropy(ts.randn(3, 4), ts.tensor([0, 1, 2]), reduction=r),
    lambda r: F.nll_loss(ts.randn(3, 4), ts.tensor([0, 1, 2]), reduction=r),
    lambda r: F.mse_loss(ts.randn(3), ts.randn(3), reduction=r),
    lambda r: F.binary_cross_entropy_with_logits(ts.randn(3), ts.rand(3), reduction=r)])
def test_unknown_reduction_is_named(call):
    with pytest.raises(ValueError, match="unknown reduction 'average'"):
        call("average")


def test_other_bad_inputs():
    with pytest.raises(ShapeError, match=r"weight must have shape \(4,\).*\(3,\)"):
        F.cross_entropy(ts.randn(2, 4), ts.tensor([0, 1]), weight=ts.ones(3))
    with pytest.raises(ValueError, match="label_smoothing"):
        F.cross_entropy(ts.randn(2, 4), ts.tensor([0, 1]), label_smoothing=1.5)
    with pytest.raises(TypeError, match="floating point"):
        F.cross_entropy(ts.tensor([[1, 2]]), ts.tensor([0]))
    with pytest.raises(ShapeError, match=r"\(3,\).*\(4,\)"):
        F.mse_loss(ts.randn(4), ts.randn(3))
    with pytest.raises(ShapeError, match=r"\(2, 3\).*\(3,\)"):
        F.binary_cross_entropy_with_logits(ts.randn(3), ts.rand(2, 3))
    with pytest.raises(TypeError, match="floating point"):
        F.binary_cross_entropy_with_logits(ts.randn(3), ts.tensor([0, 1, 1]))
    with pytest.raises(ShapeError, match=r"\(2, 5\).*\(3, 4\)"):
        F.linear(ts.randn(2, 5), ts.randn(3, 4))


def test_one_hot_errors():
    with pytest.raises(ValueError, match="class value 5 .*num_classes=3"):
        F.one_hot(ts.tensor([0, 5]), 3)
    with pytest.raises(ValueError, match="non-negative, got -1"):
        F.one_hot(ts.tensor([0, -1]))
    with pytest.raises(TypeError, match="integer"):
        F.one_hot(ts.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match="empty"):
        F.one_hot(ts.zeros(0, dtype=ts.int64))
