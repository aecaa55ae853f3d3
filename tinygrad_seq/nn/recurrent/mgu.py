"""The minimal gated unit (Zhou, Wu, Zhang & Zhou 2016): one gate where the GRU has two.

    f  = s(W_if x + b_if + W_hf h + b_hf)
    n  = tanh(W_in x + b_in + W_hn (f * h) + b_hn)
    h' = (1 - f) * h + f * n

Parameters in PyTorch's layout, blocks (f, n): weight_ih (2H, I), weight_hh (2H, H), bias_ih
and bias_hh (2H). The step is composed from primitives (no fused op): layers always unroll,
and every gate shows in a drawing. Its kind, its layer ``nn.MGU`` and its cell ``nn.MGUCell``.
"""

from __future__ import annotations

from .cell import RecurrentCell
from .kind import CellKind
from .layer import RecurrentLayer


class MGUKind(CellKind):
    name, title, description = "mgu", "MGU", "minimal gated unit"
    states, gates = ("h",), ("f", "n")
    equations = "gates f, n\nn = tanh(W_in x_t + W_hn (f*h_t-1))\nh_t = (1-f)*h_t-1 + f*n"

    def step(self, xw, state, weights, options, fused):
        h = state[0]
        size = h.shape[-1]
        xw_f, xw_n = xw.chunk(2, dim=-1)  # x W_ih^T + b_ih + b_hh, blocks (f, n): (B, H) each
        w_f, w_n = weights.hh_t[:, :size], weights.hh_t[:, size:]  # (H, H) each
        f = (xw_f + h @ w_f).sigmoid()
        n = (xw_n + (f * h) @ w_n).tanh()
        return ((1 - f) * h + f * n,)


KIND = MGUKind()


class MGU(RecurrentLayer):
    """MGU layer, with RNN's signature (no options of its own)."""

    kind = KIND


class MGUCell(RecurrentCell):
    """One MGU step: ``h' = cell(x, h)``."""

    kind = KIND

    def forward(self, x, h=None):
        return super().forward(x, h)


KIND.layer, KIND.cell = MGU, MGUCell
