"""The LSTM and the lecture's variants (peephole, coupled gates). Its kind, the step's maths
(``lstm_step``), its layer ``nn.LSTM`` and its cell ``nn.LSTMCell``."""

from __future__ import annotations

from ... import ops
from .cell import RecurrentCell
from .kind import CellKind
from .layer import RecurrentLayer


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


class LSTMKind(CellKind):
    name, title, description = "lstm", "LSTM", "LSTM"
    states, gates, forget_gate = ("h", "c"), ("i", "f", "g", "o"), "f"
    options = {"peephole": False, "coupled": False}
    equations = "gates i, f, g, o\nc_t = f*c_t-1 + i*g,  h_t = o*tanh(c_t)"
    cell_op, sequence_op = ops.LSTMCell, ops.LSTMSequence
    projection = True  # h = W_hr (o * tanh(c)) (Sak et al. 2014); c keeps the hidden size
    template = (
        ("chunk", "chunk 4\\n(i, f, g, o)", ("in0",)),
        ("i", "sigmoid\\ni", ("chunk",)), ("f", "sigmoid\\nf", ("chunk",)),
        ("g", "tanh\\ng", ("chunk",)), ("o", "sigmoid\\no", ("chunk",)),
        ("fc", "mul\\nf * c", ("f", "in1")), ("ig", "mul\\ni * g", ("i", "g")),
        ("c", "add\\nc' = f*c + i*g", ("fc", "ig")), ("tc", "tanh\\ntanh(c')", ("c",)),
        ("h", "mul\\nh' = o * tanh(c')", ("o", "tc")))

    def gate_names(self, options):
        return ("f", "g", "o") if options["coupled"] else self.gates

    def extra_parameters(self, hidden, options):
        return {"weight_peephole": (3, hidden)} if options["peephole"] else {}

    def step(self, xw, state, weights, options, fused):
        h, c = state
        return lstm_step(xw + h @ weights.hh_t, c, fused, weights.extra.get("weight_peephole"),
                         options["coupled"])

    def sequence(self, x, state, params, options, reverse, keep):
        if options["peephole"] or options["coupled"]:
            return None  # the variants run the composed step
        return ops.LSTMSequence.apply(x, *state, *params, reverse=reverse, keep=keep)


KIND = LSTMKind()


class LSTM(RecurrentLayer):
    """LSTM layer; the step is ``lstm_step`` (options ``peephole=True``, ``coupled=True`` for the
    lecture's variants; ``residual=True``, for any layer, adds skip connections between
    layers). ``proj_size=P`` (0 < P < hidden_size) projects each step's h to P, as PyTorch's
    LSTM: h = W_hr (o * tanh(c)), with ``weight_hr_l{k}`` (P, H); h_0, h_n and each direction's
    output then have size P, and c keeps H."""

    kind = KIND


class LSTMCell(RecurrentCell):
    """One LSTM step: ``(h', c') = cell(x, (h, c))``; equations in ``lstm_step``."""

    kind = KIND


KIND.layer, KIND.cell = LSTM, LSTMCell
