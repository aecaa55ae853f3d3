"""The Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu). Its kind, its layer
``nn.RNN`` and its cell ``nn.RNNCell``."""

from __future__ import annotations

from ... import ops
from .cell import RecurrentCell
from .kind import CellKind
from .layer import RecurrentLayer


class RNNKind(CellKind):
    name, title, description = "rnn", "RNN", "vanilla RNN (tanh)"
    states, gates = ("h",), ("h",)
    options = {"nonlinearity": "tanh"}
    equations = "h_t = tanh(W_ih x_t + b_ih + W_hh h_t-1 + b_hh)"
    sequence_op = ops.RNNSequence

    def validate(self, who, options):
        if options["nonlinearity"] not in ("tanh", "relu"):
            raise ValueError(f"{who}: nonlinearity must be 'tanh' or 'relu', got "
                             f"{options['nonlinearity']!r}")

    def step(self, xw, state, weights, options, fused):
        pre = xw + state[0] @ weights.hh_t
        return (pre.tanh() if options["nonlinearity"] == "tanh" else pre.relu(),)

    def sequence(self, x, state, params, options, reverse, keep):
        return ops.RNNSequence.apply(x, state[0], *params, reverse=reverse, keep=keep,
                                     relu=options["nonlinearity"] == "relu")


KIND = RNNKind()


class RNN(RecurrentLayer):
    """Elman RNN layer: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    kind = KIND

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, **options):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, nonlinearity=nonlinearity, **options)


class RNNCell(RecurrentCell):
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh) (or relu)."""

    kind = KIND

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", dtype=None,
                 **options):
        super().__init__(input_size, hidden_size, bias, dtype=dtype, nonlinearity=nonlinearity,
                         **options)

    def forward(self, x, h=None):
        return super().forward(x, h)


KIND.layer, KIND.cell = RNN, RNNCell
