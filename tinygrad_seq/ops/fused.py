"""Fused recurrent-cell primitives: the whole pointwise part of one LSTM or GRU step as one
graph node, with a hand-written backward (the maths is the kernel layer's: kernels/).

A composed LSTM step's pointwise part is ten nodes (chunk, three sigmoids, two tanh, products,
a sum); the fused op is one. The composed steps of the cell kinds (nn/recurrent/) stay for
drawing graphs gate by gate and for checking these (tests/test_fused.py). Whole sequences use
sequence.py instead.
"""

from __future__ import annotations

from .. import kernels
from ..autograd import Function


class LSTMCell(Function):
    """(gates (B, 4H), c (B, H)) -> (h', c'): the pointwise part of one LSTM step."""

    name = "lstm_cell"
    saves_inputs = False
    double_backward = False  # the backward is array code, not recorded ops

    def forward(self, gates, c):
        xp = self.xp
        act = xp.empty_like(gates)
        c_new, tc, h = xp.empty_like(c), xp.empty_like(c), xp.empty_like(c)
        kernels.implementation(xp).lstm_cell_forward(xp, gates, c, act, c_new, tc, h)
        self.saved = (act, c, tc)
        return h, c_new

    def backward(self, dh, dc):
        xp = self.xp
        act, c, tc = self.saved
        d_gates, d_c = xp.empty_like(act), xp.empty_like(c)
        kernels.implementation(xp).lstm_cell_backward(
            xp, act, c, tc, None if dh is None else dh.data, None if dc is None else dc.data,
            d_gates, d_c)
        wrap = (dh if dh is not None else dc)._wrap
        return wrap(d_gates), wrap(d_c)


class GRUCell(Function):
    """(gi (B, 3H), gh (B, 3H), h (B, H)) -> h': the pointwise part of one GRU step."""

    name = "gru_cell"
    saves_inputs = False
    double_backward = False

    def forward(self, gi, gh, h):
        xp = self.xp
        m = h.shape[-1]
        # r, z and n are written over a copy of gi, as the sequence op writes them over its
        # projections: the kernels then work in place, with no other buffer
        act = gi.copy()
        rz, n, h_new = act[:, :2 * m], act[:, 2 * m:], xp.empty_like(h)
        kernels.implementation(xp).gru_cell_forward(xp, act, gh, h, rz, n, h_new)
        self.saved = (rz, n, gh[:, 2 * m:], h)
        return h_new

    def backward(self, g):
        xp = self.xp
        rz, n, ghn, h = self.saved
        d_gi = xp.empty((h.shape[0], 3 * h.shape[1]), dtype=h.dtype)
        d_gh, d_h = xp.empty_like(d_gi), xp.empty_like(h)
        kernels.implementation(xp).gru_cell_backward(xp, rz, n, ghn, h, g.data, d_gi, d_gh, d_h)
        return g._wrap(d_gi), g._wrap(d_gh), g._wrap(d_h)
