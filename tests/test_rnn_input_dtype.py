"""An integer or bool input (or initial state) to a recurrent layer or cell is a TypeError that
names the layer and the dtype, not a NumPy message from deep inside a matmul, and not a quiet
float64 result."""

from __future__ import annotations

import re

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import nn

LAYERS = ["RNN", "LSTM", "GRU", "MGU"]
BAD = [ts.int64, ts.int32, ts.bool]
NUMPY_TEXT = re.compile(r"ufunc|numpy|cannot cast|casting|dtype\(", re.I)


def message(call, *args):
    with pytest.raises(TypeError) as info:
        call(*args)
    text = str(info.value)
    assert not NUMPY_TEXT.search(text), text
    return text


def bad(shape, dtype):
    return ts.tensor(np.ones(shape), dtype=dtype)


@pytest.mark.parametrize("name", LAYERS)
@pytest.mark.parametrize("dtype", BAD, ids=str)
def test_layer_input_must_be_floating(name, dtype):
    for layer in (getattr(nn, name)(3, 4), getattr(nn, name)(3, 4, unroll=True),
                  getattr(nn, name)(3, 4, batch_first=True, bidirectional=True)):
        for shape in ((5, 2, 3), (5, 3)):  # batched and unbatched
            text = message(layer, bad(shape, dtype))
            assert text == (f"{name}: input must be a floating-point tensor, got "
                            f"{np.dtype(dtype)}; convert it with .float()")


@pytest.mark.parametrize("name", [n + "Cell" for n in LAYERS])
@pytest.mark.parametrize("dtype", BAD, ids=str)
def test_cell_input_must_be_floating(name, dtype):
    cell = getattr(nn, name)(3, 4)
    for shape in ((2, 3), (3,)):
        text = message(cell, bad(shape, dtype))
        assert text.startswith(f"{name}: input must be a floating-point tensor, got "
                               f"{np.dtype(dtype)}")


def test_packed_integer_input_names_the_layer():
    packed = nn.utils.rnn.pack_sequence([bad((3, 2), ts.int64), bad((2, 2), ts.int64)])
    assert message(lambda: nn.GRU(2, 3)(packed)).startswith("GRU: input must be a "
                                                           "floating-point tensor, got int64")


def test_initial_state_must_be_floating():
    x = ts.randn(5, 2, 3)
    text = message(lambda: nn.LSTM(3, 4)(x, (bad((1, 2, 4), ts.int64), ts.zeros(1, 2, 4))))
    assert text.startswith("LSTM: h_0 must be a floating-point tensor, got int64")
    text = message(lambda: nn.LSTM(3, 4)(x, (ts.zeros(1, 2, 4), bad((1, 2, 4), ts.bool))))
    assert text.startswith("LSTM: c_0 must be a floating-point tensor, got bool")
    text = message(lambda: nn.GRU(3, 4)(x, bad((1, 2, 4), ts.int32)))
    assert text.startswith("GRU: h_0 must be a floating-point tensor, got int32")
    text = message(lambda: nn.GRUCell(3, 4)(ts.randn(2, 3), bad((2, 4), ts.int64)))
    assert text.startswith("GRUCell: h must be a floating-point tensor, got int64")
    text = message(lambda: nn.LSTMCell(3, 4)(ts.randn(2, 3), (ts.zeros(2, 4), bad((2, 4), int))))
    assert text.startswith("LSTMCell: c must be a floating-point tensor, got int64")


def test_non_tensors_are_named_too():
    assert message(lambda: nn.RNNCell(3, 4)(np.ones((2, 3)))) == \
        "RNNCell: input must be a tensor, got ndarray"
    assert message(lambda: nn.LSTM(3, 4)([[1.0, 2.0, 3.0]])) == \
        "LSTM: input must be a tensor, got list"
    assert message(lambda: nn.RNN(3, 4)(ts.randn(5, 2, 3), np.zeros((1, 2, 4)))) == \
        "RNN: h_0 must be a tensor, got ndarray"


@pytest.mark.parametrize("dtype", [ts.float32, ts.float64], ids=str)
def test_floating_inputs_still_run(dtype):
    for name in LAYERS:
        layer = getattr(nn, name)(3, 4)
        layer = layer.double() if dtype == ts.float64 else layer
        out, _ = layer(ts.randn(5, 2, 3, dtype=dtype))
        assert out.dtype == np.dtype(dtype)
        cell = getattr(nn, name + "Cell")(3, 4)
        cell = cell.double() if dtype == ts.float64 else cell
        result = cell(ts.randn(2, 3, dtype=dtype))
        assert (result[0] if isinstance(result, tuple) else result).dtype == np.dtype(dtype)
