"""Autograd in five minutes: record a graph, walk it, run backward, check it numerically.

    python examples/01_autograd.py
"""

import numpy as np

import tinygrad_seq as ts

# A tiny recurrence h_t = tanh(w * h_{t-1} + x_t): the same weight w is used at every step.
w = ts.tensor(0.8, dtype=ts.float64, requires_grad=True)
xs = ts.tensor([0.5, -1.0, 2.0], dtype=ts.float64)
h = ts.tensor(0.0, dtype=ts.float64)
for t in range(3):
    h = (w * h + xs[t]).tanh()
loss = h * h

# The graph: every tensor made by an op points at its node; each node lists its inputs in order.
print("the recorded graph, from the loss back to the leaves:")
stack, seen = [(loss, 0)], set()
while stack:  # a loop, not recursion: the engine walks graphs the same way
    tensor, depth = stack.pop()
    node = tensor.grad_fn
    label = node.name if node is not None else ("w (parameter)" if tensor is w else "leaf")
    print("  " * depth + f"{label}  shape={tuple(tensor.shape)}")
    if node is not None and id(node) not in seen:
        seen.add(id(node))
        stack.extend((p, depth + 1) for p in reversed(node.parents) if p.requires_grad)

# Backward: dloss/dw sums the contributions of all three time steps (BPTT).
loss.backward()
print(f"\nloss = {loss.item():.6f}   dloss/dw = {w.grad.item():.6f}")


# The same derivative by central finite differences.
def loss_at(wv):
    hv = 0.0
    for xv in (0.5, -1.0, 2.0):
        hv = np.tanh(wv * hv + xv)
    return hv * hv


eps = 1e-6
print(f"finite differences:          {(loss_at(0.8 + eps) - loss_at(0.8 - eps)) / (2 * eps):.6f}")

# ts.gradcheck does that for every element of every input.
print("gradcheck:", ts.gradcheck(lambda w: (w * xs).tanh().sum() ** 2, [w]))

# Second derivatives: differentiate the gradient itself.
(g,) = ts.grad(w ** 3, w, create_graph=True)
(g2,) = ts.grad(g, w)
print(f"d/dw w^3 = {g.item():.3f},  d2/dw2 w^3 = {g2.item():.3f}  (3w^2 and 6w at w = 0.8)")
