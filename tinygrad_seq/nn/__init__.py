"""Neural-network modules, as in ``torch.nn``: containers, layers, recurrent cells and layers,
``functional``, ``init`` and ``utils``."""

from . import functional, init, utils
from .attention import MultiheadAttention
from .cells import GRUCell, LSTMCell, RNNCell
from .decoder_attention import AdditiveAttention, LuongAttention
from .layers import Dropout, Embedding, LayerNorm, Linear
from .module import Module, ModuleList, Parameter, Sequential
from .rnn import GRU, LSTM, RNN

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Embedding", "Dropout",
           "LayerNorm", "functional", "init", "utils", "RNNCell", "LSTMCell", "GRUCell", "RNN",
           "LSTM", "GRU", "MultiheadAttention", "AdditiveAttention", "LuongAttention"]
