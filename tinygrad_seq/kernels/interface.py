"""The kernel interface: the functions every implementation of the recurrent cells' pointwise
maths provides, with these exact signatures.

Implementations:
  * reference.py: on ``xp`` arrays (NumPy or CuPy), the definition the others must agree with;
  * host.py: kernels/src/host.cpp compiled for this CPU, for NumPy arrays;
  * cuda.py: kernels/src/*.cu compiled by NVRTC, for CuPy arrays.
The two compiled ones share their entry points' names and argument lists (a pointer and a row
stride per array, then the batch and hidden sizes) and their per-element bodies
(src/cell_math.cuh); compiled.py holds the Python side they share. ``kernels.implementation``
picks one for an array module; a test checks that each provides exactly these functions.

Conventions: B batch, H hidden; gate blocks in PyTorch's order, LSTM (i, f, g, o) and GRU
(r, z, n). Every output is preallocated by the caller and written, never returned, except by
the (log-)softmax functions. ``None`` for an optional input means "absent" (no recurrent
term to add, an output that received no gradient).
"""

from __future__ import annotations

from typing import Protocol


class CellKernels(Protocol):
    def lstm_cell_forward(self, xp, gates, c, act, c_new, tc, h, rec=None) -> None:
        """gates (B, 4H) pre-activations (+ rec, the recurrent term, when given) and c (B, H)
        -> act (B, 4H) activations (may be ``gates`` itself, overwritten), c_new, tc =
        tanh(c_new), h (B, H)."""

    def lstm_cell_backward(self, xp, act, c, tc, dh, dc, d_gates, d_c) -> None:
        """From dh, dc (B, H; None for zero) -> d_gates (B, 4H), d_c (B, H)."""

    def gru_cell_forward(self, xp, gi, gh, h, rz, n_out, h_new) -> None:
        """gi, gh (B, 3H), h (B, H) -> rz (B, 2H), n_out, h_new (B, H); rz and n_out may be
        gi's own blocks."""

    def gru_cell_backward(self, xp, rz, n, ghn, h, dh_new, d_gi, d_gh, d_h) -> None:
        """From dh_new (B, H) -> d_gi, d_gh (B, 3H), d_h (B, H); ghn is gh's n block."""

    def rnn_cell_forward(self, xp, pre, h, relu=False, rec=None) -> None:
        """h = tanh(pre (+ rec)) or relu, (B, H)."""

    def rnn_cell_backward(self, xp, h, dh, d_pre, relu=False) -> None:
        """d_pre = dh * tanh' (or relu') from the output h, (B, H)."""

    def log_softmax(self, xp, x, axis):
        """Returns log_softmax(x) along ``axis`` (a new array)."""

    def log_softmax_backward(self, xp, g, out, axis):
        """Returns g - softmax * sum(g) along ``axis``, from out = log_softmax(x)."""

    def softmax(self, xp, x, axis):
        """Returns softmax(x) = exp(x - max) / sum(exp(x - max)) along ``axis`` (a new
        array)."""

    def softmax_backward(self, xp, g, y, axis):
        """Returns y * (g - sum(g * y)) along ``axis``, from y = softmax(x)."""


FUNCTIONS = tuple(name for name in vars(CellKernels) if not name.startswith("_"))
