"""In-place writes and freed graphs never give a silently wrong gradient: backward refuses a
value written after an op saved it (version counters, autograd/versions.py), and a node that
needs its saved values refuses a second backward once they are freed. Each case is checked
against PyTorch: where PyTorch refuses, we refuse; where it runs, we run and agree."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import tinygrad_seq as ts

X = np.array([0.5, 1.0, 2.0])
W = np.array([1.0, -2.0, 3.0])


def _leaves(lib):
    return (lib.tensor(X, requires_grad=True), lib.tensor(W, requires_grad=True))


def _write_saved_output(lib, x, w):
    y = x.exp()
    with lib.no_grad():
        y[0] = 100.0
    return y.sum()


def _write_through_a_view(lib, x, w):
    y = x.tanh()
    with lib.no_grad():
        y[0:2].zero_()
    return y.sum()


def _write_other_factor(lib, x, w):
    y = x * w
    with lib.no_grad():
        w[0] = 100.0
    return y.sum()


def _step_between_backwards(lib, x, w):
    loss = (x * w).tanh().sum()
    loss.backward(retain_graph=True)
    lib.optim.SGD([w], lr=0.1).step()
    return loss


@pytest.mark.parametrize("case", [_write_saved_output, _write_through_a_view,
                                  _write_other_factor, _step_between_backwards])
def test_backward_refuses_values_written_after_they_were_saved(case):
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        case(torch, *_leaves(torch)).backward()
    with pytest.raises(RuntimeError) as e:
        case(ts, *_leaves(ts)).backward()
    message = str(e.value)
    assert "modified by an in-place operation" in message
    assert "shape (3,)" in message and "saved at version 0, now at version 1" in message


def test_the_message_names_the_op_that_saved_the_value():
    x, w = _leaves(ts)
    with pytest.raises(RuntimeError, match="that 'exp' saved for backward"):
        _write_saved_output(ts, x, w).backward()
    x, w = _leaves(ts)
    with pytest.raises(RuntimeError, match="that 'mul' saved for backward"):
        _write_other_factor(ts, x, w).backward()


def test_in_place_on_a_tensor_that_requires_grad_is_refused_outside_no_grad():
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        torch.tensor(X, requires_grad=True).zero_()
    with pytest.raises(RuntimeError, match="zero_: in-place change to a leaf tensor that "
                                           r"requires grad \(shape \(3,\)\)"):
        ts.tensor(X, requires_grad=True).zero_()
    y = ts.tensor(X, requires_grad=True).tanh()
    with pytest.raises(RuntimeError, match="zero_: in-place change to a tensor that requires"):
        y.zero_()
    with pytest.raises(RuntimeError, match="setitem: in-place change"):
        y[0] = 1.0


def test_writes_before_an_op_uses_the_value_are_fine():
    for lib in (torch, ts):
        x, w = _leaves(lib)
        with lib.no_grad():
            w[0] = 100.0
        (x * w).sum().backward()
        np.testing.assert_allclose(np.asarray(x.grad.detach() if lib is torch else x.grad),
                                   [100.0, -2.0, 3.0])


def test_writes_to_values_no_op_saved_are_fine():
    # add keeps no values (its backward needs only shapes), so writing its input is harmless
    grads = []
    for lib in (torch, ts):
        x, w = _leaves(lib)
        y = (x + w).sum()
        with lib.no_grad():
            w[0] = 100.0
        y.backward()
        grads.append(np.asarray(x.grad.detach() if lib is torch else x.grad))
    np.testing.assert_array_equal(grads[0], grads[1])


def test_training_loops_stay_legal():
    lstm, head = ts.nn.LSTM(3, 4), ts.nn.Linear(4, 1)
    params = [*lstm.parameters(), *head.parameters()]
    opt = ts.optim.Adam(params, lr=0.01)
    state = None
    for _ in range(3):
        out, state = lstm(ts.randn(5, 2, 3), state)
        state = tuple(s.detach() for s in state)
        loss = (head(out) ** 2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert all(p._version == 3 for p in params)


# ---- a second backward: refused exactly where PyTorch refuses -----------------------------

SECOND_BACKWARD = {  # name: (f(lib, a, b), does PyTorch allow a second backward?)
    "add": (lambda lib, a, b: a + b, True),
    "sub": (lambda lib, a, b: a - b, True),
    "neg": (lambda lib, a, b: -a, True),
    "sum": (lambda lib, a, b: a.sum(), True),
    "reshape": (lambda lib, a, b: a.reshape(3, 1), True),
    "index": (lambda lib, a, b: a[1:], True),
    "cat": (lambda lib, a, b: lib.cat([a, b]), True),
    "mul": (lambda lib, a, b: a * b, False),
    "div": (lambda lib, a, b: a / b, False),
    "matmul": (lambda lib, a, b: a @ b, False),
    "exp": (lambda lib, a, b: a.exp(), False),
    "tanh": (lambda lib, a, b: a.tanh(), False),
    "sigmoid": (lambda lib, a, b: a.sigmoid(), False),
    "log": (lambda lib, a, b: a.log(), False),
    "relu": (lambda lib, a, b: a.relu(), False),
    "max": (lambda lib, a, b: a.max(), False),
    "softmax": (lambda lib, a, b: a.softmax(dim=0), False),
    "mean": (lambda lib, a, b: a.mean(), True),  # PyTorch's MeanBackward saves only sizes
    "int_index": (lambda lib, a, b: a[1], True),
    "index_tensor": (lambda lib, a, b: a[lib.tensor([1, 0, 1])], False),  # saves the indices
    "bool_mask": (lambda lib, a, b: a[a > 0], False),
    "masked_select": (lambda lib, a, b: a.masked_select(a > 0), False),
    "max_dim": (lambda lib, a, b: a.max(0).values, False),
    "sort": (lambda lib, a, b: a.sort(0).values, False),
    "topk": (lambda lib, a, b: a.topk(2, dim=0).values, False),
    "gather": (lambda lib, a, b: a.gather(0, lib.tensor([2, 0])), False),
    "scatter_add": (lambda lib, a, b: a.scatter_add(0, lib.tensor([2, 2]), a[:2]), False),
    "scale_by_number": (lambda lib, a, b: a * 2, False),  # the number is saved, as a tensor
}


@pytest.mark.parametrize("name", SECOND_BACKWARD)
def test_second_backward_without_retain_graph(name):
    f, allowed = SECOND_BACKWARD[name]
    outcomes = []
    for lib in (torch, ts):
        a, b = _leaves(lib)
        y = f(lib, a, b).sum()
        y.backward()
        try:
            y.backward()
            outcomes.append(np.asarray(a.grad.detach() if lib is torch else a.grad))
        except RuntimeError as e:
            assert "backward through the graph a second time" in str(e)
            outcomes.append(None)
    assert (outcomes[0] is not None) == allowed  # the table above says what PyTorch does
    assert (outcomes[1] is not None) == allowed
    if allowed:
        np.testing.assert_allclose(outcomes[1], outcomes[0])


def test_retain_graph_lets_every_op_run_again():
    for name, (f, _) in SECOND_BACKWARD.items():
        a, b = _leaves(ts)
        y = f(ts, a, b).sum()
        y.backward(retain_graph=True)
        first = a.grad.numpy().copy()
        y.backward()
        np.testing.assert_allclose(a.grad.numpy(), 2 * first, err_msg=name)
