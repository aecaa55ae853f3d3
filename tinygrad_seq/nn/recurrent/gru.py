"""The GRU, PyTorch's (reset after the hidden matmul) and Cho et al.'s original. Its kind, the
step's maths (``gru_step``), its layer ``nn.GRU`` and its cell ``nn.GRUCell``."""

from __future__ import annotations

from ... import ops
from .cell import RecurrentCell
from .kind import CellKind
from .layer import RecurrentLayer


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


class GRUKind(CellKind):
    name, title, description = "gru", "GRU", "GRU"
    states, gates = ("h",), ("r", "z", "n")
    options = {"reset_after": True}
    fold_hidden_bias = False  # the reset gate multiplies (h W_hh^T + b_hh)
    equations = "gates r, z, n\nh_t = (1-z)*n + z*h_t-1"
    cell_op, sequence_op = ops.GRUCell, ops.GRUSequence
    template = (
        ("gi", "chunk 3 (gi)\\nr, z, n", ("in0",)), ("gh", "chunk 3 (gh)\\nr, z, n", ("in1",)),
        ("ar", "add\\ngi_r + gh_r", ("gi", "gh")), ("r", "sigmoid\\nr", ("ar",)),
        ("az", "add\\ngi_z + gh_z", ("gi", "gh")), ("z", "sigmoid\\nz", ("az",)),
        ("rn", "mul\\nr * gh_n", ("r", "gh")), ("an", "add\\ngi_n + r*gh_n", ("gi", "rn")),
        ("n", "tanh\\nn", ("an",)), ("omz", "sub\\n1 - z", ("z",)),
        ("a", "mul\\n(1 - z) * n", ("omz", "n")), ("b", "mul\\nz * h", ("z", "in2")),
        ("h", "add\\nh' = (1-z)*n + z*h", ("a", "b")))

    def step(self, xw, state, weights, options, fused):
        return (gru_step(xw, state[0], weights.hh_t, weights.bias_hh, fused,
                         options["reset_after"]),)

    def sequence(self, x, state, params, options, reverse, keep):
        if not options["reset_after"]:
            return None  # Cho et al.'s form runs the composed step
        return ops.GRUSequence.apply(x, state[0], *params, reverse=reverse, keep=keep)


KIND = GRUKind()


class GRU(RecurrentLayer):
    """GRU layer; the step is ``gru_step`` (``reset_after=False`` for Cho et al.'s original
    form)."""

    kind = KIND


class GRUCell(RecurrentCell):
    """One GRU step: ``h' = cell(x, h)``; equations in ``gru_step``."""

    kind = KIND

    def __init__(self, input_size, hidden_size, bias=True, fused=True, reset_after=True,
                 dtype=None, **options):
        super().__init__(input_size, hidden_size, bias, fused, dtype, reset_after=reset_after,
                         **options)

    def forward(self, x, h=None):
        return super().forward(x, h)


KIND.layer, KIND.cell = GRU, GRUCell
