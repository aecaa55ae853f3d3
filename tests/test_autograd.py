"""The engine itself: ordering, accumulation, freeing, grad modes, hooks, second order."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts


def test_chain_of_100000_nodes_backward_without_recursion():
    x = ts.tensor([1.0, 2.0], dtype=ts.float64, requires_grad=True)
    y = x
    for _ in range(100_000):
        y = y * 1.0 + 0.0  # 200,000 nodes
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


def test_diamond_sums_both_paths_before_backward():
    x = ts.tensor(3.0, dtype=ts.float64, requires_grad=True)
    a = x * x  # used twice below: d/dx (a + a*x) = 2x + 3x^2
    (a + a * x).backward()
    assert x.grad.item() == pytest.approx(2 * 3 + 3 * 9)


def test_gradients_accumulate_across_backward_calls():
    x = ts.tensor([1.0, -2.0], requires_grad=True)
    (x * 3).sum().backward()
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 6.0])


def test_same_gradient_array_is_not_shared_between_leaves():
    a = ts.tensor([1.0], requires_grad=True)
    b = ts.tensor([2.0], requires_grad=True)
    (a + b).sum().backward()
    a.grad.data *= 10  # an optimizer scaling one gradient in place must not touch the other
    assert b.grad.item() == 1.0


def test_second_backward_through_freed_graph_raises():
    x = ts.randn(3, requires_grad=True)
    y = x.tanh().sum()
    y.backward()
    with pytest.raises(RuntimeError, match="second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = ts.randn(3, requires_grad=True)
    y = x.tanh().sum()
    y.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first, rtol=1e-6)


def test_backward_frees_saved_arrays():
    x = ts.randn(3, requires_grad=True)
    y = x.exp()
    node = y.grad_fn
    assert node.saved is not None
    y.sum().backward()
    assert node.saved is not None and not isinstance(node.saved, np.ndarray)  # the freed marker


def test_no_grad_context_and_decorator():
    x = ts.randn(2, requires_grad=True)
    with ts.no_grad():
        y = x * 2
    assert not y.requires_grad and y.grad_fn is None

    @ts.no_grad()
    def f(t):
        return t * 2

    assert not f(x).requires_grad
    assert ts.is_grad_enabled()
    with ts.no_grad():
        with ts.enable_grad():
            assert (x * 2).requires_grad


def test_detach_and_requires_grad_():
    x = ts.randn(2, requires_grad=True)
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    z = ts.zeros(2).requires_grad_()
    assert z.requires_grad


def test_graph_records_op_names_and_inputs_in_order():
    a = ts.randn(2, requires_grad=True)
    b = ts.randn(2, requires_grad=True)
    y = a - b
    assert y.grad_fn.name == "sub"
    assert y.grad_fn.parents[0] is a and y.grad_fn.parents[1] is b


def test_hook_sees_and_replaces_gradient():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    h = x * 2
    seen = []
    h.register_hook(lambda g: seen.append(g.numpy().copy()))
    handle = h.register_hook(lambda g: g * 10)
    h.sum().backward()
    np.testing.assert_array_equal(seen[0], [1.0, 1.0])
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, 20.0])
    handle.remove()
    x.grad = None
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])


def test_hook_on_leaf_runs_before_accumulation():
    x = ts.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: g * 0.5)
    (x * 4).sum().backward()
    assert x.grad.item() == 2.0


def test_retain_grad_on_intermediate():
    x = ts.tensor([1.0, 2.0], requires_grad=True)
    h = (x * 3).retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 12.0])


def test_hook_observes_every_time_step_of_a_recurrence():
    # the use later issues make of hooks: gradient norm reaching each hidden state
    w = ts.tensor(0.5, dtype=ts.float64, requires_grad=True)
    h = ts.tensor(1.0, dtype=ts.float64)
    norms = {}
    for t in range(5):
        h = (h * w).tanh()
        h.register_hook(lambda g, t=t: norms.__setitem__(t, abs(g.item())))
    h.backward()
    assert sorted(norms) == list(range(5))
    assert all(norms[t] < norms[t + 1] for t in range(4))  # vanishing towards the start


def test_grad_function_does_not_touch_dot_grad():
    x = ts.randn(3, dtype=ts.float64, requires_grad=True)
    (gx,) = ts.grad((x ** 2).sum(), x)
    np.testing.assert_allclose(gx.numpy(), 2 * x.numpy())
    assert x.grad is None


def test_grad_of_intermediate_and_allow_unused():
    x = ts.randn(3, dtype=ts.float64, requires_grad=True)
    unused = ts.randn(3, dtype=ts.float64, requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    gh, gu = ts.grad(y, [h, unused], allow_unused=True)
    np.testing.assert_allclose(gh.numpy(), 2 * h.numpy())
    assert gu is None
    with pytest.raises(RuntimeError, match="not used"):
        ts.grad((x * 2).sum(), [x, unused])


def test_second_derivative_values():
    x = ts.tensor([0.3, -1.2], dtype=ts.float64, requires_grad=True)
    (g,) = ts.grad((x ** 3).sum(), x, create_graph=True)
    assert g.requires_grad
    g.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 6 * x.numpy())


def test_backward_create_graph_gives_differentiable_grad():
    x = ts.tensor([0.5], dtype=ts.float64, requires_grad=True)
    (x.tanh()).sum().backward(create_graph=True)
    gx = x.grad
    assert gx.requires_grad  # 1 - tanh^2, itself differentiable
    (g2,) = ts.grad(gx.sum(), x)
    t = np.tanh(0.5)
    np.testing.assert_allclose(g2.numpy(), [-2 * t * (1 - t * t)])


def test_non_scalar_backward_with_gradient():
    x = ts.randn(2, 3, requires_grad=True)
    (x * 2).backward(ts.ones(2, 3))
    np.testing.assert_allclose(x.grad.numpy(), np.full((2, 3), 2.0))


def test_unused_output_of_multi_output_op_gets_zero_gradient():
    x = ts.randn(4, 2, dtype=ts.float64, requires_grad=True)
    a, b = x.chunk(2)
    (a * 3).sum().backward()
    np.testing.assert_allclose(x.grad.numpy()[:2], 3.0)
    np.testing.assert_allclose(x.grad.numpy()[2:], 0.0)


def test_float32_stays_float32_and_grads_match_dtype():
    x = ts.randn(3, requires_grad=True)
    y = (x * 2.5 + 1).exp().sum()
    assert y.dtype == np.float32
    y.backward()
    assert x.grad.dtype == np.float32


def test_mixed_dtype_grad_is_cast_back_to_input_dtype():
    x = ts.randn(3, requires_grad=True)  # float32
    y = (x * np.ones(3)).sum()  # float64 numpy array promotes the result
    assert y.dtype == np.float64
    y.backward()
    assert x.grad.dtype == np.float32


def test_graph_tags_label_nodes():
    x = ts.randn(2, requires_grad=True)
    with ts.graph_tags(layer=0):
        with ts.graph_tags(step=3):
            y = x * 2
    z = y + 1
    assert y.grad_fn.tags == {"layer": 0, "step": 3}
    assert z.grad_fn.tags is None


def test_gradcheck_reports_worst_element():
    x = ts.randn(3, dtype=ts.float64, requires_grad=True)

    def wrong(t):  # drops the gradient of the first element
        return t[1:].sum() + t[:1].detach().sum() * 0 + t.detach()[0] * 2

    with pytest.raises(ts.GradcheckError, match=r"input 0 .*index \(0,\).*analytic 0"):
        ts.gradcheck(wrong, [x])
    assert ts.gradcheck(wrong, [x], raise_exception=False) is False


def test_gradcheck_refuses_float32():
    with pytest.raises(TypeError, match="float64"):
        ts.gradcheck(lambda t: t * 2, [ts.randn(2, requires_grad=True)])


def test_backward_inputs_accumulates_only_into_those():
    a = ts.tensor([1.0, 2.0], requires_grad=True)
    b = ts.tensor([3.0, 4.0], requires_grad=True)
    (a * b).sum().backward(inputs=[a])
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 4.0])
    assert b.grad is None


def test_a_node_that_receives_no_gradient_is_skipped():
    class Blocks(ts.autograd.Function):  # a custom op that declines to differentiate
        name = "blocks"

        def forward(self, x):
            return x * 1

        def backward(self, g):
            return None

    x = ts.tensor([1.0, 2.0], requires_grad=True)
    y = x * 2
    (Blocks.apply(y).sum() + (y * 3).sum()).backward()  # y still gets 3 via the other path
    np.testing.assert_array_equal(x.grad.numpy(), [6.0, 6.0])


def test_retained_grad_is_a_private_writable_copy():
    x = ts.randn(2, 3, requires_grad=True)
    h = (x * 2).retain_grad()
    h.sum().backward()  # the gradient of a sum is a broadcast view
    h.grad.zero_()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 2.0))


def test_second_backward_through_nodes_that_saved_nothing_is_allowed():
    a = ts.tensor([1.0], requires_grad=True)
    y = (a + a).sum()
    y.backward()
    y.backward()
    assert a.grad.item() == 4.0


def test_gradcheck_on_a_non_contiguous_input():
    w = ts.randn(3, 2, dtype=ts.float64)
    wt = ts.Tensor._wrap(w.data.T).requires_grad_()  # a strided view
    assert ts.gradcheck(lambda t: (t * t).sum(axis=0), [wt])


def test_record_grad_norms_only_inside_the_block():
    x = ts.tensor([3.0, 4.0], requires_grad=True)
    y = x * 2
    z = (y * 1.0).sum()
    with ts.autograd.record_grad_norms():
        z.backward(retain_graph=True)
    assert y.grad_fn.grad_norms == [pytest.approx(2 ** 0.5)]  # dz/dy = (1, 1)
    w = x * 3
    w.sum().backward()
    assert w.grad_fn.grad_norms is None
