"""Tensor construction, dtypes, attributes, conversions and the PyTorch spellings."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts


def test_dtype_defaults_follow_pytorch():
    assert ts.tensor([1.0, 2.0]).dtype == np.float32
    assert ts.tensor([1, 2]).dtype == np.int64
    assert ts.tensor([True]).dtype == np.bool_
    assert ts.tensor(np.zeros(2)).dtype == np.float64  # numpy arrays keep their dtype
    assert ts.tensor([1, 2], dtype=ts.float64).dtype == np.float64
    assert ts.zeros(2, 3).dtype == np.float32 and ts.randn(2).dtype == np.float32
    assert ts.arange(5).dtype == np.int64 and ts.arange(0.0, 1.0, 0.5).dtype == np.float32


def test_tensor_copies_its_data():
    a = np.ones(3)
    t = ts.tensor(a)
    a[0] = 5
    assert t[0].item() == 1.0


def test_factories_and_shapes():
    assert ts.zeros(2, 3).shape == (2, 3) and ts.zeros((2, 3)).shape == (2, 3)
    assert ts.ones(4).numpy().sum() == 4
    assert ts.full((2, 2), 7.0).numpy().tolist() == [[7.0, 7.0], [7.0, 7.0]]
    assert ts.eye(3).numpy().trace() == 3
    x = ts.randn(3, 4)
    assert ts.zeros_like(x).shape == (3, 4) and ts.ones_like(x).dtype == np.float32
    assert ts.full_like(x, 2.0).numpy().mean() == 2.0
    assert ts.randint(0, 5, size=(10,)).numpy().max() < 5
    assert ts.rand(100).numpy().min() >= 0


def test_manual_seed_makes_random_repeatable():
    ts.manual_seed(123)
    a = ts.randn(5).numpy()
    ts.manual_seed(123)
    np.testing.assert_array_equal(a, ts.randn(5).numpy())


def test_attributes_and_pytorch_spellings():
    x = ts.randn(2, 3, 4)
    assert x.ndim == 3 and x.dim() == 3 and x.size() == (2, 3, 4) and x.size(1) == 3
    assert x.numel() == 24 and len(x) == 2 and x.device == "cpu"
    assert x.T.shape == (4, 3, 2) and x.mT.shape == (2, 4, 3)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert x.sum(dim=1, keepdim=True).shape == (2, 1, 4)
    assert x.view(6, 4).shape == (6, 4) and x.flatten().shape == (24,)
    assert x.flatten(1).shape == (2, 12)
    values, indices = x.max(dim=2)
    assert values.shape == (2, 3) and indices.dtype == np.int64
    np.testing.assert_array_equal(indices.numpy(), x.numpy().argmax(2))


def test_conversions():
    x = ts.tensor([[1.5, 2.0]])
    assert x.tolist() == [[1.5, 2.0]]
    assert np.asarray(x).shape == (1, 2)
    assert x[0, 1].item() == 2.0 and float(x[0, 0]) == 1.5
    assert x.astype(ts.float64).dtype == np.float64 and x.double().dtype == np.float64
    assert x.long().dtype == np.int64
    assert x.to("cpu") is x


def test_repr_shows_grad_state():
    assert repr(ts.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    x = ts.tensor([1.0], requires_grad=True)
    assert "requires_grad=True" in repr(x)
    assert "grad_fn=<mul>" in repr(x * 2)
    assert "dtype=float64" in repr(ts.tensor([1.0], dtype=ts.float64))


def test_python_scalars_keep_tensor_dtype():
    x = ts.tensor([1.0, 2.0])
    assert (x * 2.5).dtype == np.float32 and (2 ** x).dtype == np.float32
    assert (ts.tensor([1, 2]) * 0.5).dtype == np.float32
    assert (ts.tensor([1, 2]) + 1).dtype == np.int64


def test_numpy_arrays_mix_in_on_either_side():
    x = ts.tensor([1.0, 2.0])
    np.testing.assert_allclose((x + np.array([1.0, 1.0])).numpy(), [2.0, 3.0])
    out = np.array([1.0, 1.0]) * x
    assert isinstance(out, ts.Tensor)


def test_comparisons_give_bool_tensors_without_graph():
    x = ts.tensor([1.0, -1.0], requires_grad=True)
    m = x > 0
    assert m.dtype == np.bool_ and not m.requires_grad
    assert (x == 1.0).tolist() == [True, False]
    assert (~m).tolist() == [False, True] and ((x > 0) | (x < 0)).all().item()


def test_indexing_forms():
    x = ts.arange(12).reshape(3, 4)
    assert x[1].tolist() == [4, 5, 6, 7]
    assert x[:, 1].tolist() == [1, 5, 9]
    assert x[ts.tensor([2, 0])][:, 0].tolist() == [8, 0]
    assert x[x > 9].tolist() == [10, 11]
    assert x[..., None].shape == (3, 4, 1)
    assert list(iter(ts.arange(3))) is not None and len(list(ts.arange(3))) == 3


def test_split_chunk_stack():
    x = ts.arange(10)
    assert [p.shape[0] for p in x.split(4)] == [4, 4, 2]
    assert [p.shape[0] for p in x.chunk(3)] == [4, 4, 2]
    assert [p.shape[0] for p in ts.split(x, [3, 7])] == [3, 7]
    assert ts.stack([x, x], dim=1).shape == (10, 2)


def test_dropout_scales_kept_units():
    ts.manual_seed(0)
    x = ts.ones(10_000)
    y = ts.dropout(x, 0.25).numpy()
    kept = y[y > 0]
    np.testing.assert_allclose(kept, 1 / 0.75)
    assert 0.2 < 1 - kept.size / y.size < 0.3


def test_embedding_padding_idx_gets_no_gradient():
    w = ts.randn(4, 2, requires_grad=True)
    out = ts.embedding(ts.tensor([0, 1, 1]), w, padding_idx=0)
    np.testing.assert_allclose(out.numpy(), w.numpy()[[0, 1, 1]])
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), [[0, 0], [2, 2], [0, 0], [0, 0]])


def test_var_default_is_bessel_corrected():
    x = ts.tensor([1.0, 2.0, 3.0, 4.0])
    assert x.var().item() == pytest.approx(np.var([1, 2, 3, 4], ddof=1))
    assert x.var(correction=0).item() == pytest.approx(np.var([1, 2, 3, 4]))
    assert x.std(unbiased=False).item() == pytest.approx(np.std([1, 2, 3, 4]))


def test_softmax_is_stable_for_large_inputs():
    x = ts.tensor([1e4, 0.0, -1e4])
    np.testing.assert_allclose(x.softmax().numpy(), [1, 0, 0])
    assert np.isfinite(x.log_softmax().numpy()).all()
    assert np.isfinite(ts.tensor([-1e4, 1e4]).sigmoid().numpy()).all()
