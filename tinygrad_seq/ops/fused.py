"""Fused recurrent-cell primitives: the whole pointwise part of an LSTM or GRU step as one node.

A composed LSTM step is about twenty graph nodes (chunk, three sigmoids, tanh, products, sums);
the fused op is one, with a hand-written backward, and it is where compiled kernels plug in
(CUDA for CuPy arrays, a compiled CPU kernel later). The functions below are the reference
maths on ``xp`` arrays; the Function classes call them. The composed cells in nn/cells.py stay
for drawing graphs and for checking these (tests/test_fused.py).

Sigmoid here is 0.5 * tanh(x / 2) + 0.5: it never overflows, and one tanh over all four LSTM
gate blocks serves the three sigmoids and the tanh at once.
"""

from __future__ import annotations

from ..autograd import Function

# ---- reference maths (arrays in, arrays out) --------------------------------------------------


def lstm_forward(xp, gates, c):
    """gates (B, 4H) in PyTorch's order i, f, g, o; c (B, H) the previous cell state.

        i, f, o = sigmoid(.), g = tanh(.);  c' = f * c + i * g;  h' = o * tanh(c')

    Returns h', c' and what the backward needs: t = tanh(gates * s) with s = (1/2, 1/2, 1, 1/2)
    per block (so each gate's activation is a * t + b), and tanh(c')."""
    n = c.shape[-1]
    scale = xp.full(4 * n, 0.5, dtype=gates.dtype)
    scale[2 * n:3 * n] = 1.0
    t = xp.tanh(gates * scale)
    act = t * scale + (1 - scale)  # sigmoid blocks: t/2 + 1/2; the g block: t itself
    i, f, g, o = act[:, :n], act[:, n:2 * n], act[:, 2 * n:3 * n], act[:, 3 * n:]
    c_new = f * c + i * g
    tc = xp.tanh(c_new)
    return o * tc, c_new, (t, act, c, tc)


def lstm_backward(xp, saved, gh, gc):
    """Gradients of the gates (B, 4H) and of the previous cell state from those of h' and c'
    (either may be None: an output nobody used)."""
    t, act, c, tc = saved
    n = c.shape[-1]
    i, f, g, o = act[:, :n], act[:, n:2 * n], act[:, 2 * n:3 * n], act[:, 3 * n:]
    dc = xp.zeros_like(c) if gc is None else gc.copy()
    d_act = xp.empty_like(act)
    if gh is None:
        d_act[:, 3 * n:] = 0
    else:
        dc += gh * o * (1 - tc * tc)
        d_act[:, 3 * n:] = gh * tc  # output gate
    d_act[:, :n] = dc * g  # input gate
    d_act[:, n:2 * n] = dc * c  # forget gate
    d_act[:, 2 * n:3 * n] = dc * i  # candidate
    # d act / d gates = a * s * (1 - t^2): 1/4 (1 - t^2) = sigmoid' for the gates, 1 - t^2 = tanh'
    coef = xp.full(4 * n, 0.25, dtype=act.dtype)
    coef[2 * n:3 * n] = 1.0
    return d_act * coef * (1 - t * t), dc * f


def gru_forward(xp, gi, gh, h):
    """PyTorch's GRU step. gi = x W_ih^T + b_ih and gh = h W_hh^T + b_hh, both (B, 3H) in the
    order r, z, n; h (B, H) the previous state.

        r = sigmoid(gi_r + gh_r),  z = sigmoid(gi_z + gh_z),  n = tanh(gi_n + r * gh_n)
        h' = (1 - z) * n + z * h
    """
    m = h.shape[-1]
    rz = xp.tanh((gi[:, :2 * m] + gh[:, :2 * m]) * 0.5) * 0.5 + 0.5
    r, z = rz[:, :m], rz[:, m:]
    ghn = gh[:, 2 * m:]
    nn = xp.tanh(gi[:, 2 * m:] + r * ghn)
    return nn + z * (h - nn), (rz, nn, ghn, h)


def gru_backward(xp, saved, dh_new):
    """Gradients of gi, gh and h from that of h'."""
    rz, nn, ghn, h = saved
    m = h.shape[-1]
    r, z = rz[:, :m], rz[:, m:]
    dn = dh_new * (1 - z) * (1 - nn * nn)
    d_gi = xp.empty((rz.shape[0], 3 * m), dtype=rz.dtype)
    d_gi[:, :m] = dn * ghn * r * (1 - r)
    d_gi[:, m:2 * m] = dh_new * (h - nn) * z * (1 - z)
    d_gi[:, 2 * m:] = dn
    d_gh = d_gi.copy()
    d_gh[:, 2 * m:] = dn * r
    return d_gi, d_gh, dh_new * z


# ---- the graph nodes --------------------------------------------------------------------------


class LSTMCell(Function):
    """(gates, c) -> (h', c'): the pointwise part of one LSTM step, as one node."""

    name = "lstm_cell"
    double_backward = False  # the backward is array code, not recorded ops

    def forward(self, gates, c):
        h, c_new, self.saved = lstm_forward(self.xp, gates, c)
        return h, c_new

    def backward(self, gh, gc):
        wrap = (gh if gh is not None else gc)._wrap
        d_gates, d_c = lstm_backward(self.xp, self.saved, None if gh is None else gh.data,
                                     None if gc is None else gc.data)
        return wrap(d_gates), wrap(d_c)


class GRUCell(Function):
    """(gi, gh, h) -> h': the pointwise part of one GRU step, as one node."""

    name = "gru_cell"
    double_backward = False

    def forward(self, gi, gh, h):
        h_new, self.saved = gru_forward(self.xp, gi, gh, h)
        return h_new

    def backward(self, g):
        return tuple(g._wrap(a) for a in gru_backward(self.xp, self.saved, g.data))
