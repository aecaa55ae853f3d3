"""Whole-sequence recurrent primitives: one graph node for one direction of one layer.

Forward: the input projections of all T steps are one GEMM; each step then does only
h W_hh^T (into a preallocated buffer) and the pointwise cell (kernels/) writing into
preallocated (T, B, .) buffers. Backward is hand-written BPTT: per step the pointwise backward
and dh W_hh; then the weight gradients of all steps are two large GEMMs
(dG^T X and dG^T H_prev) and the input gradient one more (dG W_ih).

Variable lengths: ``keep`` (T, B, 1) bool says which sequences are still running. At a padded
step the state passes through unchanged, the output is zero, and no gradient enters the cell.
Outputs: (outputs (T, B, H), h_n (B, H)) and c_n for the LSTM.
"""

from __future__ import annotations

from .. import kernels
from ..autograd import Function


def _steps(count, reverse):
    return range(count - 1, -1, -1) if reverse else range(count)


def _project(x, w_ih, bias):
    """x (T, B, I) @ w_ih^T (+ bias): (T, B, G), a new buffer."""
    steps, batch, size = x.shape
    out = x.reshape(steps * batch, size) @ _c_order(w_ih.T, steps)
    if bias is not None:
        out += bias
    return out.reshape(steps, batch, -1)


def _c_order(w, steps):
    # BLAS runs these small GEMMs ~30% faster with a C-ordered right operand than with a
    # transposed view; one copy per forward pays for itself within a few steps, but not for
    # the single step a decoder runs at a time
    return w.copy(order="C") if steps >= 4 else w


class _Sequence(Function):
    """Shared plumbing: masking, previous states, and the big GEMMs of the backward."""

    double_backward = False  # the backward is array code, not recorded ops

    def carry(self, t, new, prev, states):
        """The state after step t: ``new`` where the sequence runs, else ``prev``."""
        if self.keep is None:
            return new
        self.xp.copyto(states[t], self.xp.where(self.keep[t], new, prev))
        return states[t]

    def into_cell(self, t, d_state, d_out):
        """Gradient reaching the cell's output at step t, from the state and the output."""
        d = d_state if d_out is None else d_state + d_out[t]
        return d if self.keep is None else d * self.keep[t]

    def past_cell(self, t, d_state):
        """The part of the state's gradient that skips a padded step's cell."""
        return None if self.keep is None else d_state * ~self.keep[t]

    def states(self, first, steps, dtype):
        """One (T + 1, B, H) buffer seen two ways: (after, before), where after[t] is the
        state after step t and before[t] the state step t started from; ``first`` fills the
        slot the first step run reads. The backward gets the previous states without a copy."""
        buf = self.xp.empty((steps + 1, *first.shape), dtype=dtype)
        if self.reverse:
            buf[steps] = first
            return buf[:-1], buf[1:]
        buf[0] = first
        return buf[1:], buf[:-1]

    def input_and_weight_grads(self, d_in, x, h_prev, w_ih, d_hidden=None):
        """The gradients of x and of the weights, from those of the input-side pre-activations
        of all steps (``d_in``) and of the hidden side (``d_hidden``; the same array except for
        the GRU): dx, dW_ih, dW_hh as three GEMMs over all steps, then (db_ih, db_hh) when the
        layer has biases."""
        steps, batch, size = x.shape
        g_in = d_in.reshape(steps * batch, -1)
        g_hid = g_in if d_hidden is None else d_hidden.reshape(steps * batch, -1)
        dx = (g_in @ w_ih).reshape(x.shape) if self.needs_grad[0] else None
        d_w_ih = g_in.T @ x.reshape(steps * batch, size)
        d_w_hh = g_hid.T @ h_prev.reshape(steps * batch, -1)
        if not self.has_bias:
            return dx, d_w_ih, d_w_hh, ()
        db_ih = g_in.sum(axis=0)
        return dx, d_w_ih, d_w_hh, (db_ih, db_ih if d_hidden is None else g_hid.sum(axis=0))

    def wrap_all(self, ref, grads):
        return tuple(None if a is None else ref._wrap(a) for a in grads)


class LSTMSequence(_Sequence):
    """(x, h0, c0, W_ih, W_hh[, b_ih, b_hh]) -> (outputs, h_n, c_n)."""

    name = "lstm"

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, keep=None):
        xp = self.xp
        cells = kernels.implementation(xp)
        self.reverse, self.keep, self.has_bias = reverse, keep, b_ih is not None
        steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[-1]
        # the projections become the gate pre-activations, then, in place, their activations
        gates = _project(x, w_ih, None if b_ih is None else b_ih + b_hh)
        (hs, h_prev), (cs, c_prev) = (self.states(s, steps, x.dtype) for s in (h0, c0))
        tc = xp.empty((steps, batch, hidden), dtype=x.dtype)
        # with lengths, the cell writes the outputs, and the carried states go to hs and cs
        h_new, c_new = (hs, cs) if keep is None else (xp.empty_like(hs), xp.empty_like(cs))
        tmp, w_hh_t = xp.empty((batch, 4 * hidden), dtype=x.dtype), _c_order(w_hh.T, steps)
        h, c = h0, c0
        for t in _steps(steps, reverse):
            xp.matmul(h, w_hh_t, out=tmp)
            g = gates[t]
            cells.lstm_cell_forward(xp, g, c, g, c_new[t], tc[t], h_new[t], rec=tmp)
            h, c = self.carry(t, h_new[t], h, hs), self.carry(t, c_new[t], c, cs)
        self.saved = (x, h0, c0, w_ih, w_hh, gates, tc, h_prev, c_prev)
        out = h_new if keep is None else h_new * keep
        return out, h.copy(), c.copy()

    def backward(self, d_out, d_hn, d_cn):
        xp = self.xp
        cells = kernels.implementation(xp)
        x, h0, c0, w_ih, w_hh, act, tc, h_prev, c_prev = self.saved
        ref = next(g for g in (d_out, d_hn, d_cn) if g is not None)
        d_out = None if d_out is None else d_out.data
        dh = xp.zeros_like(h0) if d_hn is None else d_hn.data.copy()
        dc = xp.zeros_like(c0) if d_cn is None else d_cn.data.copy()
        d_gates, dc_cell = xp.empty_like(act), xp.empty_like(c0)
        for t in _steps(x.shape[0], not self.reverse):
            cells.lstm_cell_backward(xp, act[t], c_prev[t], tc[t], self.into_cell(t, dh, d_out),
                                     self.into_cell(t, dc, None), d_gates[t], dc_cell)
            skip_h, skip_c = self.past_cell(t, dh), self.past_cell(t, dc)
            dh = d_gates[t] @ w_hh
            dc = dc_cell.copy()
            if skip_h is not None:
                dh += skip_h
                dc += skip_c
        dx, d_w_ih, d_w_hh, biases = self.input_and_weight_grads(d_gates, x, h_prev, w_ih)
        grads = (dx, dh, dc, d_w_ih, d_w_hh, *biases)
        return self.wrap_all(ref, grads)


class GRUSequence(_Sequence):
    """(x, h0, W_ih, W_hh[, b_ih, b_hh]) -> (outputs, h_n), PyTorch's GRU (reset after the
    hidden matmul)."""

    name = "gru"

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, keep=None):
        xp = self.xp
        cells = kernels.implementation(xp)
        self.reverse, self.keep, self.has_bias = reverse, keep, b_ih is not None
        steps, hidden = x.shape[0], h0.shape[-1]
        gi = _project(x, w_ih, b_ih)
        gh = xp.empty_like(gi)
        # the gates r, z and the candidate n are written over the projections, in place
        rz, n = gi[:, :, :2 * hidden], gi[:, :, 2 * hidden:]
        hs, h_prev = self.states(h0, steps, x.dtype)
        h_new = hs if keep is None else xp.empty_like(hs)
        w_hh_t = _c_order(w_hh.T, steps)
        h = h0
        for t in _steps(steps, reverse):
            xp.matmul(h, w_hh_t, out=gh[t])
            if b_hh is not None:
                gh[t] += b_hh
            cells.gru_cell_forward(xp, gi[t], gh[t], h, rz[t], n[t], h_new[t])
            h = self.carry(t, h_new[t], h, hs)
        self.saved = (x, h0, w_ih, w_hh, gh, rz, n, h_prev)
        return (h_new if keep is None else h_new * keep), h.copy()

    def backward(self, d_out, d_hn):
        xp = self.xp
        cells = kernels.implementation(xp)
        x, h0, w_ih, w_hh, gh, rz, n, h_prev = self.saved
        hidden = h0.shape[-1]
        ref = d_out if d_out is not None else d_hn
        d_out = None if d_out is None else d_out.data
        dh = xp.zeros_like(h0) if d_hn is None else d_hn.data.copy()
        d_gi, d_gh, dh_cell = xp.empty_like(gh), xp.empty_like(gh), xp.empty_like(h0)
        for t in _steps(x.shape[0], not self.reverse):
            cells.gru_cell_backward(xp, rz[t], n[t], gh[t][:, 2 * hidden:], h_prev[t],
                              self.into_cell(t, dh, d_out), d_gi[t], d_gh[t], dh_cell)
            skip = self.past_cell(t, dh)
            dh = d_gh[t] @ w_hh
            dh += dh_cell
            if skip is not None:
                dh += skip
        dx, d_w_ih, d_w_hh, biases = self.input_and_weight_grads(d_gi, x, h_prev, w_ih, d_gh)
        grads = (dx, dh, d_w_ih, d_w_hh, *biases)
        return self.wrap_all(ref, grads)


class RNNSequence(_Sequence):
    """(x, h0, W_ih, W_hh[, b_ih, b_hh]) -> (outputs, h_n), h' = tanh or relu of
    x W_ih^T + b_ih + h W_hh^T + b_hh."""

    name = "rnn"

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, keep=None,
                relu=False):
        xp = self.xp
        cells = kernels.implementation(xp)
        self.reverse, self.keep, self.has_bias, self.relu = reverse, keep, b_ih is not None, relu
        steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[-1]
        pre = _project(x, w_ih, None if b_ih is None else b_ih + b_hh)
        hs, h_prev = self.states(h0, steps, x.dtype)
        h_new = hs if keep is None else xp.empty_like(hs)
        tmp, w_hh_t = xp.empty((batch, hidden), dtype=x.dtype), _c_order(w_hh.T, steps)
        h = h0
        for t in _steps(steps, reverse):
            xp.matmul(h, w_hh_t, out=tmp)
            cells.rnn_cell_forward(xp, pre[t], h_new[t], relu, rec=tmp)
            h = self.carry(t, h_new[t], h, hs)
        self.saved = (x, h0, w_ih, w_hh, h_new, h_prev)
        return (h_new if keep is None else h_new * keep), h.copy()

    def backward(self, d_out, d_hn):
        xp = self.xp
        cells = kernels.implementation(xp)
        x, h0, w_ih, w_hh, h_new, h_prev = self.saved
        ref = d_out if d_out is not None else d_hn
        d_out = None if d_out is None else d_out.data
        dh = xp.zeros_like(h0) if d_hn is None else d_hn.data.copy()
        d_pre = xp.empty_like(h_new)
        for t in _steps(x.shape[0], not self.reverse):
            cells.rnn_cell_backward(xp, h_new[t], self.into_cell(t, dh, d_out), d_pre[t], self.relu)
            skip = self.past_cell(t, dh)
            dh = d_pre[t] @ w_hh
            if skip is not None:
                dh += skip
        dx, d_w_ih, d_w_hh, biases = self.input_and_weight_grads(d_pre, x, h_prev, w_ih)
        grads = (dx, dh, d_w_ih, d_w_hh, *biases)
        return self.wrap_all(ref, grads)
