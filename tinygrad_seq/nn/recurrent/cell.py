"""Cell modules (``nn.RNNCell``, ``nn.LSTMCell``, ``nn.GRUCell``, ``nn.MGUCell``): one time step,
stateless, ``cell(x, state) -> state``, for any cell kind (kind.py).

Parameters ``weight_ih`` (G*H, I), ``weight_hh`` (G*H, H), ``bias_ih``, ``bias_hh`` (G*H) and
the kind's extra ones, initialised U(-1/sqrt(H), 1/sqrt(H)) as in PyTorch. The step is the
same ``kind.step`` an unrolled layer runs, so a cell and one step of a layer record the same
graph.
"""

from __future__ import annotations

import math

from ...autograd import ShapeError
from ...tensor import creation
from .. import init
from ..module import Module, Parameter
from .kind import StepWeights, changed, check_floating, check_sizes


class RecurrentCell(Module):
    """One step of the subclass's ``kind``. The state is one tensor (B, H) for a kind with one
    state (``forward(x, h)``), a tuple (h, c) for the LSTM (``forward(x, state)``); ``None`` (or
    None parts) start from zeros."""

    kind = None  # a CellKind

    def __init__(self, input_size, hidden_size, bias=True, fused=True, dtype=None, **options):
        name = type(self).__name__
        check_sizes(name, input_size, hidden_size)
        options = self.kind.check(name, options)
        self.input_size, self.hidden_size, self.fused = input_size, hidden_size, fused
        for key, value in options.items():
            setattr(self, key, value)
        g = len(self.kind.gate_names(options)) * hidden_size
        self.weight_ih = Parameter(creation.empty(g, input_size, dtype=dtype))
        self.weight_hh = Parameter(creation.empty(g, hidden_size, dtype=dtype))
        self.bias_ih = Parameter(creation.empty(g, dtype=dtype)) if bias else None
        self.bias_hh = Parameter(creation.empty(g, dtype=dtype)) if bias else None
        for key, shape in self.kind.extra_parameters(hidden_size, options).items():
            setattr(self, key, Parameter(creation.empty(*shape, dtype=dtype)))
        bound = 1 / math.sqrt(hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def options(self) -> dict:
        return {key: getattr(self, key) for key in self.kind.options}

    def forward(self, x, state=None):
        kind, options = self.kind, self.options()
        x, squeeze = self._input(x)
        state = self._state(state, x)
        xw = x @ self.weight_ih.T
        if self.bias_ih is not None:
            xw = xw + (self.bias_ih + self.bias_hh if kind.fold_hidden_bias else self.bias_ih)
        extra = {k: getattr(self, k) for k in kind.extra_parameters(self.hidden_size, options)}
        weights = StepWeights(self.weight_hh.T, None if kind.fold_hidden_bias else self.bias_hh,
                              extra)
        new = kind.step(xw, state, weights, options, self.fused)
        return kind.output(tuple(s.squeeze(0) for s in new) if squeeze else new)

    def _input(self, x):
        """Accept (B, I) or unbatched (I,); return (B, I) and whether to squeeze back."""
        check_floating(type(self).__name__, "input", x)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{type(self).__name__}: expected input of shape (batch, "
                             f"{self.input_size}) or ({self.input_size},), got {tuple(x.shape)}")
        return (x.unsqueeze(0), True) if x.ndim == 1 else (x, False)

    def _state(self, state, x):
        """The state as a tuple of (B, H) tensors, zeros where not given."""
        names = self.kind.states
        if state is None:
            parts = (None,) * len(names)
        elif len(names) == 1:
            parts = (state,)
        elif isinstance(state, (tuple, list)) and len(state) == len(names):
            parts = tuple(state)
        else:
            raise TypeError(f"{type(self).__name__}: the state must be a tuple "
                            f"({', '.join(names)})")
        out = []
        for what, s in zip(names, parts):
            if s is None:
                out.append(x.new_zeros((x.shape[0], self.hidden_size)))
                continue
            check_floating(type(self).__name__, what, s)
            s = s.unsqueeze(0) if s.ndim == 1 else s
            if tuple(s.shape) != (x.shape[0], self.hidden_size):
                raise ShapeError(f"{type(self).__name__}: {what} should have shape "
                                 f"({x.shape[0]}, {self.hidden_size}), got {tuple(s.shape)}")
            out.append(s)
        return tuple(out)

    def extra_repr(self):
        bias = ", bias=False" if self.bias_ih is None else ""
        return f"{self.input_size}, {self.hidden_size}{bias}" + \
            changed(self, self.kind.options.items())
