"""Neural-network modules, as in ``torch.nn``: containers, layers, activations, losses, 1-D
convolution, recurrent cells and layers (recurrent/, one file per cell kind), attention, seq2seq,
``functional``, ``init``, ``utils``."""

from . import functional, init, utils
from .activation import GELU, LeakyReLU, LogSigmoid, ReLU, Sigmoid, SiLU, Softplus, Tanh
from .attention import MultiheadAttention
from .conv import Conv1d
from .decoder_attention import AdditiveAttention, LuongAttention
from .layers import Dropout, Embedding, LayerNorm, Linear
from .loss import BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, NLLLoss
from .module import Module, ModuleList, Parameter, Sequential
from .recurrent import GRU, LSTM, MGU, RNN, GRUCell, LSTMCell, MGUCell, RNNCell

__all__ = ["Module", "Parameter", "Sequential", "ModuleList", "Linear", "Embedding", "Dropout",
           "LayerNorm", "functional", "init", "utils", "RNNCell", "LSTMCell", "GRUCell",
           "MGUCell", "RNN", "LSTM", "GRU", "MGU", "MultiheadAttention", "AdditiveAttention",
           "LuongAttention", "ReLU", "Tanh", "Sigmoid", "GELU", "SiLU", "LeakyReLU", "Softplus",
           "LogSigmoid", "Conv1d", "CrossEntropyLoss", "NLLLoss", "MSELoss", "BCEWithLogitsLoss"]
