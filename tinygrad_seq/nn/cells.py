"""Recurrent cells: one time step, stateless ``cell(x, state) -> state``.

The step functions (``rnn_step``, ``lstm_step``, ``gru_step``) hold the maths once; the cell
modules here and the sequence layers in rnn.py both call them. ``fused=True`` runs the pointwise
part as one node (ops/fused.py); ``fused=False`` composes it from primitive ops, which is what
a graph drawing shows gate by gate, and what tests check the fused op against.
"""

from __future__ import annotations

import math

from .. import creation, ops
from ..autograd import ShapeError
from . import init
from .module import Module, Parameter

# ---- the maths of one step --------------------------------------------------------------------


def rnn_step(pre, nonlinearity):
    """h' = tanh(pre) or relu(pre), where pre = x W_ih^T + b_ih + h W_hh^T + b_hh."""
    return pre.tanh() if nonlinearity == "tanh" else pre.relu()


def lstm_step(gates, c, fused=True, peephole=None, coupled=False):
    """One LSTM step from its pre-activations.

    Standard (Hochreiter & Schmidhuber 1997, with a forget gate; gates in the order i, f, g, o):
        i = s(a_i), f = s(a_f), g = tanh(a_g), o = s(a_o)
        c' = f * c + i * g,   h' = o * tanh(c')
    Peephole (Gers & Schmidhuber 2000): the gates also see the cell, through the diagonal
    weights ``peephole`` (3, H) = (p_i, p_f, p_o):
        i = s(a_i + p_i * c), f = s(a_f + p_f * c), o = s(a_o + p_o * c')
    Coupled input and forget gates: no input gate (gates f, g, o), and c' = f * c + (1 - f) * g.
    Returns (h', c')."""
    if fused and peephole is None and not coupled:
        return ops.LSTMCell.apply(gates, c)
    if coupled:
        a_f, a_g, a_o = gates.chunk(3, dim=-1)
        a_i = None
    else:
        a_i, a_f, a_g, a_o = gates.chunk(4, dim=-1)
    if peephole is not None:
        p_i, p_f, p_o = peephole[0], peephole[1], peephole[2]
        a_f = a_f + p_f * c
        a_i = a_i + p_i * c if a_i is not None else None
    f, g = a_f.sigmoid(), a_g.tanh()
    i = 1 - f if coupled else a_i.sigmoid()
    c_new = f * c + i * g
    if peephole is not None:
        a_o = a_o + p_o * c_new
    return a_o.sigmoid() * c_new.tanh(), c_new


def gru_step(gi, h, w_hh_t, b_hh, fused=True, reset_after=True):
    """One GRU step. gi = x W_ih^T + b_ih (B, 3H), gates in the order r, z, n.

    reset_after=True (PyTorch, cuDNN): the reset gate scales the hidden matmul's output
        r = s(gi_r + gh_r), z = s(gi_z + gh_z), n = tanh(gi_n + r * gh_n),  gh = h W_hh^T + b_hh
    reset_after=False (Cho et al. 2014): it scales the state before the matmul
        n = tanh(gi_n + (r * h) W_hn^T + b_hn)
    and in both   h' = (1 - z) * n + z * h.   ``w_hh_t`` is W_hh^T, (H, 3H)."""
    hs = h.shape[-1]
    if reset_after:
        gh = h @ w_hh_t
        gh = gh + b_hh if b_hh is not None else gh
        if fused:
            return ops.GRUCell.apply(gi, gh, h)
        gi_r, gi_z, gi_n = gi.chunk(3, dim=-1)
        gh_r, gh_z, gh_n = gh.chunk(3, dim=-1)
        r, z = (gi_r + gh_r).sigmoid(), (gi_z + gh_z).sigmoid()
        n = (gi_n + r * gh_n).tanh()
    else:
        w_rz, w_n = w_hh_t[:, :2 * hs], w_hh_t[:, 2 * hs:]
        gh_rz = h @ w_rz
        hn_bias = None
        if b_hh is not None:
            gh_rz, hn_bias = gh_rz + b_hh[:2 * hs], b_hh[2 * hs:]
        gi_rz, gi_n = gi[:, :2 * hs], gi[:, 2 * hs:]
        r, z = (gi_rz + gh_rz).sigmoid().chunk(2, dim=-1)
        hn = (r * h) @ w_n
        n = (gi_n + (hn + hn_bias if hn_bias is not None else hn)).tanh()
    return (1 - z) * n + z * h


# ---- cell modules -----------------------------------------------------------------------------


def check_sizes(layer, input_size, hidden_size, **extra):
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    for name, value in extra.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{layer}: {name} must be at least 1, got {value!r}")


class _Cell(Module):
    """Parameters ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih``, ``bias_hh`` (G*H),
    initialised U(-1/sqrt(H), 1/sqrt(H)) as in PyTorch."""

    gates = 1

    def __init__(self, input_size, hidden_size, bias=True, fused=True, dtype=None):
        check_sizes(type(self).__name__, input_size, hidden_size)
        self.input_size, self.hidden_size, self.fused = input_size, hidden_size, fused
        g = self.gates * hidden_size
        self.weight_ih = Parameter(creation.empty(g, input_size, dtype=dtype))
        self.weight_hh = Parameter(creation.empty(g, hidden_size, dtype=dtype))
        self.bias_ih = Parameter(creation.empty(g, dtype=dtype)) if bias else None
        self.bias_hh = Parameter(creation.empty(g, dtype=dtype)) if bias else None
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def _input(self, x):
        """Accept (B, I) or unbatched (I,); return (B, I) and whether to squeeze back."""
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: expected input of shape (batch, "
                             f"{self.input_size}) or ({self.input_size},), got {tuple(x.shape)}")
        return (x.unsqueeze(0), True) if x.ndim == 1 else (x, False)

    def _state(self, s, x, what):
        if s is None:
            return x.new_zeros((x.shape[0], self.hidden_size))
        s = s.unsqueeze(0) if s.ndim == 1 else s
        if tuple(s.shape) != (x.shape[0], self.hidden_size):
            raise ShapeError(f"{type(self).__name__}: {what} should have shape "
                             f"({x.shape[0]}, {self.hidden_size}), got {tuple(s.shape)}")
        return s

    def _gates(self, x, h):
        pre = x @ self.weight_ih.T + h @ self.weight_hh.T
        if self.bias_ih is not None:
            pre = pre + (self.bias_ih + self.bias_hh)
        return pre

    def extra_repr(self):
        return f"{self.input_size}, {self.hidden_size}" + (
            ", bias=False" if self.bias_ih is None else "")


class RNNCell(_Cell):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNNCell: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        super().__init__(input_size, hidden_size, bias, dtype=dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x, h=None):
        x, squeeze = self._input(x)
        h = rnn_step(self._gates(x, self._state(h, x, "h")), self.nonlinearity)
        return h.squeeze(0) if squeeze else h


class LSTMCell(_Cell):
    """One LSTM step: ``(h', c') = cell(x, (h, c))``; equations in ``lstm_step``."""

    gates = 4

    def forward(self, x, state=None):
        x, squeeze = self._input(x)
        h, c = (None, None) if state is None else state
        h, c = self._state(h, x, "h"), self._state(c, x, "c")
        h, c = lstm_step(self._gates(x, h), c, self.fused)
        return (h.squeeze(0), c.squeeze(0)) if squeeze else (h, c)


class GRUCell(_Cell):
    """One GRU step: ``h' = cell(x, h)``; equations in ``gru_step``."""

    gates = 3

    def __init__(self, input_size, hidden_size, bias=True, fused=True, reset_after=True,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, fused, dtype)
        self.reset_after = reset_after

    def forward(self, x, h=None):
        x, squeeze = self._input(x)
        h = self._state(h, x, "h")
        gi = x @ self.weight_ih.T
        gi = gi + self.bias_ih if self.bias_ih is not None else gi
        h = gru_step(gi, h, self.weight_hh.T, self.bias_hh, self.fused, self.reset_after)
        return h.squeeze(0) if squeeze else h


__all__ = ["RNNCell", "LSTMCell", "GRUCell", "rnn_step", "lstm_step", "gru_step"]
