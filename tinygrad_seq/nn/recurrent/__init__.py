"""Recurrent networks by cell kind. Each kind file holds everything about one kind: its facts
(a ``CellKind``: states, gates, options, equations, its fused and whole-sequence ops), the
maths of its step, its sequence layer and its cell module.

    kind.py    CellKind, the facts every kind states
    layer.py   RecurrentLayer: the sequence layer of any kind (stacks, directions, lengths)
    cell.py    RecurrentCell: the one-step module of any kind
    rnn.py, lstm.py, gru.py, mgu.py   the kinds

``KINDS`` lists them by name, for everything that offers a choice of cell (the command line,
seq2seq models, plots, drawings). Adding a kind: a file like mgu.py, and its line here (and
its names in nn/__init__.py).
"""

from . import gru, lstm, mgu, rnn
from .cell import RecurrentCell
from .gru import GRU, GRUCell
from .kind import CellKind
from .layer import RecurrentLayer
from .lstm import LSTM, LSTMCell
from .mgu import MGU, MGUCell
from .rnn import RNN, RNNCell

KINDS = {k.name: k for k in (rnn.KIND, lstm.KIND, gru.KIND, mgu.KIND)}


def kind(name: str) -> CellKind:
    """The kind called ``name`` ("rnn", "lstm", ...), or a ValueError listing them."""
    if name not in KINDS:
        raise ValueError(f"unknown cell kind {name!r}; choose from {', '.join(KINDS)}")
    return KINDS[name]


__all__ = ["KINDS", "kind", "CellKind", "RecurrentLayer", "RecurrentCell", "RNN", "LSTM", "GRU",
           "MGU", "RNNCell", "LSTMCell", "GRUCell", "MGUCell"]
