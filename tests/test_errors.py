"""User mistakes get one clear error that names the op, the shapes, the axis or the device."""

from __future__ import annotations

import importlib.util
import types

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import backend


def test_matmul_inner_sizes():
    msg = r"matmul: \(3, 4\) @ \(5, 6\): inner sizes 4 and 5 differ"
    with pytest.raises(ts.ShapeError, match=msg):
        ts.randn(3, 4) @ ts.randn(5, 6)


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ts.ShapeError, match=r"add: shapes \(3, 4\) and \(5,\) do not broadcast"):
        ts.randn(3, 4) + ts.randn(5)
    with pytest.raises(ts.ShapeError, match=r"mul: shapes \(2,\) and \(3,\)"):
        ts.randn(2, requires_grad=True) * ts.randn(3)


def test_backward_on_non_scalar_needs_gradient():
    y = ts.randn(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"scalar output; got shape \(2, 3\).*gradient="):
        y.backward()


def test_backward_gradient_of_wrong_shape():
    y = ts.randn(2, 3, requires_grad=True) * 2
    with pytest.raises(ts.ShapeError, match=r"gradient has shape \(3,\).*\(2, 3\)"):
        y.backward(ts.ones(3))


def test_backward_without_any_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        (ts.randn(2) * 2).sum().backward()


def test_requires_grad_on_integer_tensor():
    with pytest.raises(TypeError, match="floating-point.*int64"):
        ts.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        ts.tensor([True]).requires_grad_()


def test_index_out_of_range_names_axis_and_size():
    msg = r"getitem: index 5 is out of bounds for axis 0 with size 3"
    with pytest.raises(IndexError, match=msg):
        ts.randn(3, 4)[5]
    with pytest.raises(IndexError, match=r"axis 1 with size 4"):
        ts.randn(3, 4)[:, 7]


def test_axis_out_of_range():
    with pytest.raises(IndexError, match=r"sum: axis 2 is out of range for a tensor of 2"):
        ts.randn(3, 4).sum(axis=2)
    with pytest.raises(IndexError, match="softmax: axis -3"):
        ts.randn(3, 4).softmax(-3)


def test_reshape_and_expand_and_permute():
    msg = r"reshape: cannot reshape array of size 12 into shape \(5,\)"
    with pytest.raises(ts.ShapeError, match=msg):
        ts.randn(3, 4).reshape(5)
    with pytest.raises(ts.ShapeError, match=r"expand: cannot expand shape \(3, 2\) to \(3, 4\)"):
        ts.randn(3, 2).expand(3, 4)
    with pytest.raises(ts.ShapeError, match=r"permute: \(0, 0\) is not a permutation"):
        ts.randn(3, 2).permute(0, 0)


def test_cat_and_stack_shapes():
    msg = r"cat: tensor 1 has shape \(2, 5\).*except along axis 0"
    with pytest.raises(ts.ShapeError, match=msg):
        ts.cat([ts.randn(2, 4), ts.randn(2, 5)])
    with pytest.raises(ts.ShapeError, match=r"stack: tensor 1 has shape \(3,\)"):
        ts.stack([ts.randn(2), ts.randn(3)])
    with pytest.raises(ValueError, match="non-empty"):
        ts.cat([])


def test_split_sizes_must_add_up():
    msg = r"split: sizes \[1, 1\] add up to 2, but axis 0 has size 3"
    with pytest.raises(ts.ShapeError, match=msg):
        ts.randn(3).split([1, 1])


def test_where_and_masked_fill_need_bool():
    with pytest.raises(TypeError, match="masked_fill: the mask must be a bool tensor"):
        ts.randn(3).masked_fill(ts.tensor([1, 0, 1]), 0.0)
    with pytest.raises(TypeError, match="where: the condition must be a bool"):
        ts.where(ts.tensor([1.0, 0.0]), ts.randn(2), ts.randn(2))


def test_embedding_index_out_of_range():
    with pytest.raises(IndexError,
                       match=r"embedding: index 9 is out of range for a table of 4 embeddings"):
        ts.embedding(ts.tensor([1, 9]), ts.randn(4, 3))
    with pytest.raises(TypeError, match="integers"):
        ts.embedding(ts.tensor([1.0]), ts.randn(4, 3))


def test_dropout_probability():
    with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\)"):
        ts.dropout(ts.randn(3), 1.0)


def test_item_and_bool_of_many_elements():
    with pytest.raises(ValueError, match=r"item: only a one-element tensor.*\(2,\)"):
        ts.randn(2).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(ts.randn(2))


def test_setitem_on_tensor_that_requires_grad():
    x = ts.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        x[0] = 1.0
    with ts.no_grad():
        x[0] = 1.0
    assert x[0].item() == 1.0


def test_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        ts.zeros(2, device="tpu")


@pytest.mark.skipif(importlib.util.find_spec("cupy") is not None,
                    reason="cupy is installed here, so 'cuda' does not fail for want of it")
def test_cuda_without_cupy_says_how_to_install():
    with pytest.raises(RuntimeError, match=r"CuPy.*pip install -e \"\.\[gpu\]\""):
        ts.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CuPy"):
        ts.zeros(2).to("cuda")


def test_mixed_devices_name_both(monkeypatch):
    class FakeGpuArray:  # stands in for a CuPy array on GPU 0; the real check needs a GPU
        device = types.SimpleNamespace(id=0)

    class FakeCupy:  # what backend.py knows of CuPy once it is loaded: its array type
        ndarray = FakeGpuArray

    monkeypatch.setattr(backend, "_cupy", FakeCupy)
    inputs = [ts.ones(2), types.SimpleNamespace(data=FakeGpuArray())]
    with pytest.raises(RuntimeError, match="add: inputs are on different devices, cpu and cuda:0"):
        backend.common_module("add", inputs)


def test_tensor_from_ragged_list():
    with pytest.raises(TypeError, match="cannot make a tensor from list"):
        ts.tensor([[1, 2], [3]])


def test_grad_error_messages():
    x = ts.randn(2)
    with pytest.raises(RuntimeError, match=r"grad: input 0 \(shape \(2,\)\) does not require grad"):
        ts.grad((x * 2).sum(), x)


def test_errors_do_not_show_numpy_frames():
    try:
        ts.randn(3, 4) + ts.randn(5)
    except ts.ShapeError as e:
        assert e.__cause__ is None and e.__suppress_context__
    assert np.isfinite(ts.randn(3).numpy()).all()
