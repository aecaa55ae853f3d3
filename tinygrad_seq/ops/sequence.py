"""Whole-sequence recurrent primitives: one graph node for one direction of one layer.

Forward: the input projections of all T steps are one GEMM; each step then does only
h W_hh^T (into a preallocated buffer) and the pointwise cell (kernels/) writing into
preallocated (T, B, .) buffers. Backward is hand-written BPTT: per step the pointwise backward
and dh W_hh; then the weight gradients of all steps are two large GEMMs
(dG^T X and dG^T H_prev) and the input gradient one more (dG W_ih).

On the CPU the whole time loop, forward and backward, runs compiled (kernels/loops.py: each
thread owns a slice of the hidden units, one barrier per step); the NumPy loops below are the
reference it agrees with, and run for CuPy arrays, variable lengths, and inside
``record_grad_norms``. The large GEMMs go through ``kernels.matmul`` (threaded on the CPU).

Variable lengths: ``keep`` (T, B, 1) bool says which sequences are still running. At a padded
step the state passes through unchanged, the output is zero, and no gradient enters the cell.
Outputs: (outputs (T, B, H), h_n (B, H)) and c_n for the LSTM.

Inside ``record_grad_norms`` the backward also records, per step, the norms the unrolled graph
would have recorded on its nodes (``fn.step_norms``, see ``StepNorms``), so a drawing of this
one node as its steps shows the same gradients as the per-step graph, at full speed.
"""

from __future__ import annotations

import functools

from .. import kernels
from ..autograd import Function, recording_grad_norms
from ..kernels import loops


def _steps(count, reverse):
    return range(count - 1, -1, -1) if reverse else range(count)


def _project(xp, x, w_ih, bias):
    """x (T, B, I) @ w_ih^T (+ bias): (T, B, G), a new buffer."""
    steps, batch, size = x.shape
    out = kernels.matmul(xp, x.reshape(steps * batch, size), _c_order(w_ih.T, steps))
    if bias is not None:
        out += bias
    return out.reshape(steps, batch, -1)


def _c_order(w, steps):
    # BLAS runs these small GEMMs ~30% faster with a C-ordered right operand than with a
    # transposed view; one copy per forward pays for itself within a few steps, but not for
    # the single step a decoder runs at a time
    return w.copy(order="C") if steps >= 4 else w


def _norm(a):
    return float((a * a).sum()) ** 0.5


class StepNorms:
    """Per-step gradient norms of one whole-sequence backward, indexed by time step t:
    ``h[t]`` (and ``c[t]``): the gradient reaching the cell's new state at step t (what the
    unrolled cell node records); ``pre[t]``: that reaching the step's input projection
    x_t W_ih^T (+ b); ``hidden[t]``: that reaching h_{t-1} W_hh^T (+ b_hh), the same as
    ``pre`` but for the GRU; ``w_hh[t]``: the norm of step t's contribution to dW_hh (the
    weight is shared by every step, so its gradient is the sum of these contributions);
    ``hidden_bias[t]``: step t's share of db_hh (for a step that adds b_hh itself, the GRU's);
    ``out[t]``: that reaching output t; ``carried[k][t]``: that reaching state k after step t
    from later steps and h_n; ``totals``: the norms of dW_ih, dW_hh, of all steps'
    pre-activation gradients, of the bias's gradient (when there are biases) and of the input's
    (when it needs one)."""

    def __init__(self, steps, states):
        self.h, self.pre, self.hidden, self.w_hh, self.out, self.hidden_bias = (
            [0.0] * steps for _ in range(6))
        self.c = [0.0] * steps if "c" in states else None
        self.carried = [[0.0] * steps for _ in states]  # into the state after step t, past
        self.totals = {}                                  # the output (padded batches only)

    def step(self, t, carried, d_out, states, pre, h_prev, hidden=None):
        hidden = pre if hidden is None else hidden
        self.h[t] = _norm(states[0])
        if self.c is not None:
            self.c[t] = None if states[1] is None else _norm(states[1])
        self.pre[t], self.hidden[t] = _norm(pre), _norm(hidden)
        self.w_hh[t] = _norm(hidden.T @ h_prev)
        self.hidden_bias[t] = _norm(hidden.sum(axis=0))
        self.out[t] = 0.0 if d_out is None else _norm(d_out[t])
        for k, d in enumerate(carried):
            self.carried[k][t] = None if d is None else _norm(d)

    def finish(self, dx, d_w_ih, d_w_hh, biases):
        self.totals = dict(w_ih=_norm(d_w_ih), w_hh=_norm(d_w_hh),
                           pre=sum(x * x for x in self.pre) ** 0.5)
        if dx is not None:
            self.totals["x"] = _norm(dx)
        if biases:
            self.totals["bias"] = _norm(biases[0])


class _Sequence(Function):
    """Shared plumbing: masking, previous states, and the big GEMMs of the backward."""

    double_backward = False  # the backward is array code, not recorded ops
    step_norms = None  # a StepNorms, from a backward inside record_grad_norms
    unrolled = None  # set by the layer: how to draw this node as its steps (nn/recurrent)

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
        return self.views(self.state_buffer(first, steps, dtype))

    def state_buffer(self, first, steps, dtype):
        """The (T + 1, B, H) buffer with ``first`` in the slot the first step reads."""
        buf = self.xp.empty((steps + 1, *first.shape), dtype=dtype)
        buf[steps if self.reverse else 0] = first
        return buf

    def views(self, buf):
        return (buf[:-1], buf[1:]) if self.reverse else (buf[1:], buf[:-1])

    def compiled(self, x, *weights):
        """The arrays to hand the compiled loops (contiguous), or None when they do not take
        this call: CuPy arrays, variable lengths, other dtypes."""
        if self.keep is not None:
            return None
        arrays = [None if a is None else self.xp.ascontiguousarray(a) for a in (x, *weights)]
        return arrays if loops.available(*arrays) else None

    def incoming(self, d_out, *finals):
        """The backward's gradients as arrays: d_out contiguous (or None), and each final
        state's gradient a fresh array (zeros when it received none), updated in place."""
        xp = self.xp
        d_out = None if d_out is None else xp.ascontiguousarray(d_out.data)
        return (d_out, *(xp.zeros_like(like) if g is None else g.data.copy(order="C")
                         for g, like in finals))

    def input_and_weight_grads(self, d_in, x, h_prev, w_ih, d_hidden=None):
        """The gradients of x and of the weights, from those of the input-side pre-activations
        of all steps (``d_in``) and of the hidden side (``d_hidden``; the same array except for
        the GRU): dx, dW_ih, dW_hh as three GEMMs over all steps, then (db_ih, db_hh) when the
        layer has biases."""
        steps, batch, size = x.shape
        g_in = d_in.reshape(steps * batch, -1)
        g_hid = g_in if d_hidden is None else d_hidden.reshape(steps * batch, -1)
        mm = functools.partial(kernels.matmul, self.xp)
        dx = mm(g_in, w_ih).reshape(x.shape) if self.needs_grad[0] else None
        d_w_ih = mm(g_in.T, x.reshape(steps * batch, size))
        d_w_hh = mm(g_hid.T, h_prev.reshape(steps * batch, -1))
        if not self.has_bias:
            return dx, d_w_ih, d_w_hh, ()
        db_ih = g_in.sum(axis=0)
        return dx, d_w_ih, d_w_hh, (db_ih, db_ih if d_hidden is None else g_hid.sum(axis=0))

    def norms(self, steps, states):
        """A StepNorms to fill (kept on the node as ``step_norms``) inside
        record_grad_norms, else None."""
        if not recording_grad_norms():
            return None
        self.step_norms = StepNorms(steps, states)
        return self.step_norms

    def wrap_all(self, ref, grads):
        return tuple(None if a is None else ref._wrap(a) for a in grads)


class LSTMSequence(_Sequence):
    """(x, h0, c0, W_ih, W_hh[, b_ih, b_hh]) -> (outputs, h_n, c_n)."""

    name = "lstm"
    saves_inputs = False

    def forward(self, x, h0, c0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, keep=None):
        xp = self.xp
        self.reverse, self.keep, self.has_bias = reverse, keep, b_ih is not None
        steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[-1]
        bias = None if b_ih is None else b_ih + b_hh
        tc = xp.empty((steps, batch, hidden), dtype=x.dtype)
        bufs = [self.state_buffer(s, steps, x.dtype) for s in (h0, c0)]
        (hs, h_prev), (cs, c_prev) = (self.views(b) for b in bufs)
        self.w_hh_c = xp.ascontiguousarray(w_hh)
        given = self.compiled(x, w_ih, bias, self.w_hh_c)
        self.looped = given is not None
        if self.looped:  # the input projections too, step by step (kernels/src/time_loops.h)
            act = xp.empty((steps, batch, 4 * hidden), dtype=x.dtype)
            loops.lstm_forward(*given, act, *bufs, tc, reverse)
            self.saved = (x, h0, c0, w_ih, w_hh, act, tc, h_prev, c_prev)
            self.c_buf = bufs[1]
            last = 0 if reverse else steps - 1
            return hs, hs[last].copy(), cs[last].copy()
        # the projections become the gate pre-activations, then, in place, their activations
        gates = _project(xp, x, w_ih, bias)
        self.saved = (x, h0, c0, w_ih, w_hh, gates, tc, h_prev, c_prev)
        cells = kernels.implementation(xp)
        # with lengths, the cell writes the outputs, and the carried states go to hs and cs
        h_new, c_new = (hs, cs) if keep is None else (xp.empty_like(hs), xp.empty_like(cs))
        tmp, w_hh_t = xp.empty((batch, 4 * hidden), dtype=x.dtype), _c_order(w_hh.T, steps)
        h, c = h0, c0
        for t in _steps(steps, reverse):
            kernels.matmul(xp, h, w_hh_t, out=tmp)
            g = gates[t]
            cells.lstm_cell_forward(xp, g, c, g, c_new[t], tc[t], h_new[t], rec=tmp)
            h, c = self.carry(t, h_new[t], h, hs), self.carry(t, c_new[t], c, cs)
        out = h_new if keep is None else h_new * keep
        return out, h.copy(), c.copy()

    def backward(self, d_out, d_hn, d_cn):
        xp = self.xp
        x, h0, c0, w_ih, w_hh, act, tc, h_prev, c_prev = self.saved
        ref = next(g for g in (d_out, d_hn, d_cn) if g is not None)
        d_out, dh, dc = self.incoming(d_out, (d_hn, h0), (d_cn, c0))
        d_gates = xp.empty_like(act)
        record = self.norms(x.shape[0], ("h", "c"))
        if self.looped and record is None:
            loops.lstm_backward(act, self.w_hh_c, self.c_buf, tc, d_out, dh, dc, d_gates,
                                self.reverse)
        else:
            self.steps_back(act, tc, h_prev, c_prev, d_out, d_cn is None, dh, dc, d_gates,
                            record)
        dx, d_w_ih, d_w_hh, biases = self.input_and_weight_grads(d_gates, x, h_prev, w_ih)
        if record:
            record.finish(dx, d_w_ih, d_w_hh, biases)
        return self.wrap_all(ref, (dx, dh, dc, d_w_ih, d_w_hh, *biases))

    def steps_back(self, act, tc, h_prev, c_prev, d_out, no_dc, dh, dc, d_gates, record):
        """The NumPy BPTT loop: d_gates written, dh and dc updated in place to h0's and c0's."""
        xp = self.xp
        cells = kernels.implementation(xp)
        dc_cell, steps = xp.empty_like(dc), act.shape[0]
        for t in _steps(steps, not self.reverse):
            into_h, into_c = self.into_cell(t, dh, d_out), self.into_cell(t, dc, None)
            cells.lstm_cell_backward(xp, act[t], c_prev[t], tc[t], into_h, into_c, d_gates[t],
                                     dc_cell)
            if record:  # c_n unused: no gradient at all reaches the last step's c (None)
                unused = no_dc and t == (0 if self.reverse else steps - 1)
                record.step(t, (dh, None if unused else dc), d_out,
                            (into_h, None if unused else into_c), d_gates[t], h_prev[t])
            skip_h, skip_c = self.past_cell(t, dh), self.past_cell(t, dc)
            kernels.matmul(xp, d_gates[t], self.w_hh_c, out=dh)
            dc[...] = dc_cell
            if skip_h is not None:
                dh += skip_h
                dc += skip_c


class GRUSequence(_Sequence):
    """(x, h0, W_ih, W_hh[, b_ih, b_hh]) -> (outputs, h_n), PyTorch's GRU (reset after the
    hidden matmul)."""

    name = "gru"
    saves_inputs = False

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, keep=None):
        xp = self.xp
        self.reverse, self.keep, self.has_bias = reverse, keep, b_ih is not None
        steps, hidden = x.shape[0], h0.shape[-1]
        buf = self.state_buffer(h0, steps, x.dtype)
        hs, h_prev = self.views(buf)
        self.w_hh_c = xp.ascontiguousarray(w_hh)
        given = self.compiled(x, w_ih, b_ih, self.w_hh_c, b_hh)
        self.looped = given is not None
        # the input projections (the loops compute them step by step instead), over which
        # the gates r, z and the candidate n are written in place
        gi = xp.empty((steps, x.shape[1], 3 * hidden), dtype=x.dtype) if self.looped else \
            _project(xp, x, w_ih, b_ih)
        gh = xp.empty_like(gi)
        rz, n = gi[:, :, :2 * hidden], gi[:, :, 2 * hidden:]
        self.saved = (x, h0, w_ih, w_hh, gh, rz, n, h_prev)
        if self.looped:
            loops.gru_forward(*given, gi, gh, buf, reverse)
            self.gi, self.h_buf = gi, buf
            return hs, hs[0 if reverse else steps - 1].copy()
        cells = kernels.implementation(xp)
        h_new = hs if keep is None else xp.empty_like(hs)
        w_hh_t = _c_order(w_hh.T, steps)
        h = h0
        for t in _steps(steps, reverse):
            kernels.matmul(xp, h, w_hh_t, out=gh[t])
            if b_hh is not None:
                gh[t] += b_hh
            cells.gru_cell_forward(xp, gi[t], gh[t], h, rz[t], n[t], h_new[t])
            h = self.carry(t, h_new[t], h, hs)
        return (h_new if keep is None else h_new * keep), h.copy()

    def backward(self, d_out, d_hn):
        xp = self.xp
        cells = kernels.implementation(xp)
        x, h0, w_ih, w_hh, gh, rz, n, h_prev = self.saved
        hidden = h0.shape[-1]
        ref = d_out if d_out is not None else d_hn
        d_out, dh = self.incoming(d_out, (d_hn, h0))
        d_gi, d_gh = xp.empty_like(gh), xp.empty_like(gh)
        record = self.norms(x.shape[0], ("h",))
        if self.looped and record is None:
            loops.gru_backward(self.gi, gh, self.w_hh_c, self.h_buf, d_out, dh, d_gi, d_gh,
                               self.reverse)
        else:
            dh_cell = xp.empty_like(h0)
            for t in _steps(x.shape[0], not self.reverse):
                into = self.into_cell(t, dh, d_out)
                cells.gru_cell_backward(xp, rz[t], n[t], gh[t][:, 2 * hidden:], h_prev[t], into,
                                        d_gi[t], d_gh[t], dh_cell)
                if record:
                    record.step(t, (dh,), d_out, (into,), d_gi[t], h_prev[t], d_gh[t])
                skip = self.past_cell(t, dh)
                dh = kernels.matmul(xp, d_gh[t], self.w_hh_c)
                dh += dh_cell
                if skip is not None:
                    dh += skip
        dx, d_w_ih, d_w_hh, biases = self.input_and_weight_grads(d_gi, x, h_prev, w_ih, d_gh)
        if record:
            record.finish(dx, d_w_ih, d_w_hh, biases)
        return self.wrap_all(ref, (dx, dh, d_w_ih, d_w_hh, *biases))


class RNNSequence(_Sequence):
    """(x, h0, W_ih, W_hh[, b_ih, b_hh]) -> (outputs, h_n), h' = tanh or relu of
    x W_ih^T + b_ih + h W_hh^T + b_hh."""

    name = "rnn"
    saves_inputs = False

    def forward(self, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, reverse=False, keep=None,
                relu=False):
        xp = self.xp
        self.reverse, self.keep, self.has_bias, self.relu = reverse, keep, b_ih is not None, relu
        steps, batch, hidden = x.shape[0], x.shape[1], h0.shape[-1]
        bias = None if b_ih is None else b_ih + b_hh
        buf = self.state_buffer(h0, steps, x.dtype)
        hs, h_prev = self.views(buf)
        self.w_hh_c = xp.ascontiguousarray(w_hh)
        given = self.compiled(x, w_ih, bias, self.w_hh_c)
        self.looped = given is not None
        self.saved = (x, h0, w_ih, w_hh, hs, h_prev)
        if self.looped:
            loops.rnn_forward(*given, buf, reverse, relu)
            self.h_buf = buf
            return hs, hs[0 if reverse else steps - 1].copy()
        pre = _project(xp, x, w_ih, bias)
        cells = kernels.implementation(xp)
        h_new = hs if keep is None else xp.empty_like(hs)
        self.saved = (x, h0, w_ih, w_hh, h_new, h_prev)
        tmp, w_hh_t = xp.empty((batch, hidden), dtype=x.dtype), _c_order(w_hh.T, steps)
        h = h0
        for t in _steps(steps, reverse):
            kernels.matmul(xp, h, w_hh_t, out=tmp)
            cells.rnn_cell_forward(xp, pre[t], h_new[t], relu, rec=tmp)
            h = self.carry(t, h_new[t], h, hs)
        return (h_new if keep is None else h_new * keep), h.copy()

    def backward(self, d_out, d_hn):
        xp = self.xp
        cells = kernels.implementation(xp)
        x, h0, w_ih, w_hh, h_new, h_prev = self.saved
        ref = d_out if d_out is not None else d_hn
        d_out, dh = self.incoming(d_out, (d_hn, h0))
        d_pre = xp.empty_like(h_new)
        record = self.norms(x.shape[0], ("h",))
        if self.looped and record is None:
            loops.rnn_backward(self.h_buf, self.w_hh_c, d_out, dh, d_pre, self.reverse,
                               self.relu)
        else:
            for t in _steps(x.shape[0], not self.reverse):
                into = self.into_cell(t, dh, d_out)
                cells.rnn_cell_backward(xp, h_new[t], into, d_pre[t], self.relu)
                if record:
                    record.step(t, (dh,), d_out, (into,), d_pre[t], h_prev[t])
                skip = self.past_cell(t, dh)
                dh = kernels.matmul(xp, d_pre[t], self.w_hh_c)
                if skip is not None:
                    dh += skip
        dx, d_w_ih, d_w_hh, biases = self.input_and_weight_grads(d_pre, x, h_prev, w_ih)
        if record:
            record.finish(dx, d_w_ih, d_w_hh, biases)
        return self.wrap_all(ref, (dx, dh, d_w_ih, d_w_hh, *biases))
