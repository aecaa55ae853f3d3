"""Sequence layers RNN, LSTM and GRU: PyTorch's signature, parameter names, gate order and
initialisation.

Layout: input (T, B, I), or (B, T, I) with ``batch_first``, or unbatched (T, I). Returns
``output, h_n`` (``output, (h_n, c_n)`` for LSTM) with output (T, B, D*H) and h_n (L*D, B, H),
where D = 2 for bidirectional layers. Each direction of each layer runs as
  * one whole-sequence node (ops/sequence.py) by default: all input projections in one GEMM,
    a hand-written BPTT backward, the weight gradients as one GEMM over all steps; or
  * unrolled (``unroll=True``, or ``fused=False`` for composed cells, and always for the LSTM
    variants): per step h W_hh^T plus the cell (nn/cells.py), each step's nodes tagged with
    (layer, direction, step) so drawings can group the unrolled graph.
Variable-length batches: ``lengths=`` (or a prefix ``mask=``) freezes each sequence's state after
its last step, zeroes the padded outputs (as pad_packed_sequence does) and lets no gradient
through padded steps; h_n is then each sequence's state at its own last step.
"""

from __future__ import annotations

import math

import numpy

from .. import creation, ops
from ..autograd import ShapeError, current_tags, graph_tags
from ..functions import cat, dropout, stack, where
from ..tensor import Tensor
from . import init
from .cells import check_sizes, gru_step, lstm_step, rnn_step
from .module import Module, Parameter


class RNNBase(Module):
    gates = 1
    kind = "RNN"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, nonlinearity="tanh", fused=True,
                 unroll=False, residual=False, peephole=False, coupled=False, reset_after=True,
                 dtype=None):
        name = type(self).__name__
        check_sizes(name, input_size, hidden_size, num_layers=num_layers)
        if not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', got "
                             f"{nonlinearity!r}")
        if (peephole or coupled) and self.kind != "LSTM":
            raise ValueError(f"{name}: peephole and coupled are LSTM variants")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.nonlinearity, self.fused = bidirectional, nonlinearity, fused
        self.residual, self.peephole, self.coupled = residual, peephole, coupled
        self.reset_after, self.unroll = reset_after, unroll
        gates = (3 if coupled else self.gates) * hidden_size
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else hidden_size * self.directions
            for sfx in self._suffixes(layer):
                setattr(self, "weight_ih" + sfx, Parameter(creation.empty(gates, in_size,
                                                                          dtype=dtype)))
                setattr(self, "weight_hh" + sfx, Parameter(creation.empty(gates, hidden_size,
                                                                          dtype=dtype)))
                if bias:
                    setattr(self, "bias_ih" + sfx, Parameter(creation.empty(gates, dtype=dtype)))
                    setattr(self, "bias_hh" + sfx, Parameter(creation.empty(gates, dtype=dtype)))
                if peephole:  # diagonal cell-to-gate weights (p_i, p_f, p_o)
                    setattr(self, "weight_peephole" + sfx,
                            Parameter(creation.empty(3, hidden_size, dtype=dtype)))
        self.reset_parameters()

    @property
    def directions(self):
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer):
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self):
        """Nothing to do (PyTorch needs it for cuDNN); kept so PyTorch code runs unchanged."""

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, input, hx=None, lengths=None, mask=None):
        x, unbatched = self._check_input(input)
        x = x.transpose(0, 1) if self.batch_first and not unbatched else x  # (T, B, I)
        steps, batch = x.shape[0], x.shape[1]
        h0, c0 = self._initial_state(hx, x, unbatched)
        keep = self._step_mask(lengths, mask, steps, batch)
        finals_h, finals_c = [], []
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d, sfx in enumerate(self._suffixes(layer)):
                k = layer * self.directions + d
                out, h, c = self._run(layer_in, layer, d, sfx, h0[k], c0[k] if c0 else None, keep)
                outs.append(out)
                finals_h.append(h)
                finals_c.append(c)
            out = cat(outs, dim=2) if len(outs) > 1 else outs[0]  # (T, B, D*H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                out = dropout(out, self.dropout)
            if self.residual and layer > 0:
                out = out + layer_in
            layer_in = out
        output, h_n = layer_in, stack(finals_h)
        c_n = stack(finals_c) if self.kind == "LSTM" else None
        if unbatched:
            output, h_n = output.squeeze(1), h_n.squeeze(1)
            c_n = c_n.squeeze(1) if c_n is not None else None
        elif self.batch_first:
            output = output.transpose(0, 1)
        return output, ((h_n, c_n) if self.kind == "LSTM" else h_n)

    def _run(self, x, layer, d, sfx, h, c, keep):
        """One direction of one layer over all steps: (T, B, H) outputs, final h and c."""
        w_ih, w_hh, b_ih, b_hh, _ = self._weights(sfx)
        weights = [w_ih, w_hh] + ([b_ih, b_hh] if b_ih is not None else [])
        if self._sequence_op:
            with graph_tags(layer=layer, direction=d):
                if self.kind == "LSTM":
                    return ops.LSTMSequence.apply(x, h, c, *weights, reverse=bool(d), keep=keep)
                if self.kind == "GRU":
                    out, h = ops.GRUSequence.apply(x, h, *weights, reverse=bool(d), keep=keep)
                else:
                    out, h = ops.RNNSequence.apply(x, h, *weights, reverse=bool(d), keep=keep,
                                                   relu=self.nonlinearity == "relu")
                return out, h, None
        return self._unrolled(x, layer, d, sfx, h, c, keep)

    def _weights(self, sfx):
        """W_ih, W_hh, b_ih, b_hh, peephole weights of one layer direction (None if absent)."""
        return (getattr(self, "weight_ih" + sfx), getattr(self, "weight_hh" + sfx),
                getattr(self, "bias_ih" + sfx, None), getattr(self, "bias_hh" + sfx, None),
                getattr(self, "weight_peephole" + sfx, None))

    @property
    def _sequence_op(self):
        """Whole-sequence op unless asked to unroll, or the cell has no fused form."""
        return not (self.unroll or not self.fused or self.peephole or self.coupled
                    or not self.reset_after)

    def _unrolled(self, x, layer, d, sfx, h, c, keep):
        """The per-step graph: every step's ops recorded and tagged (layer, direction, step)."""
        steps, batch = x.shape[0], x.shape[1]
        w_ih, w_hh, b_ih, b_hh, peephole = self._weights(sfx)
        with graph_tags(layer=layer, direction=d):
            xw = x.reshape(steps * batch, x.shape[2]) @ w_ih.T  # all input projections at once
            if b_ih is not None:
                # GRU keeps b_hh inside the step: its reset gate multiplies (h W_hh^T + b_hh)
                xw = xw + (b_ih if self.kind == "GRU" else b_ih + b_hh)
            xs = xw.reshape(steps, batch, -1).split(1, 0) if steps > 1 else [xw.unsqueeze(0)]
            w_hh_t = w_hh.T
        outs = [None] * steps
        offset = current_tags().get("step", 0)  # a caller running one step at a time tags it
        for t in (range(steps - 1, -1, -1) if d else range(steps)):
            with graph_tags(layer=layer, direction=d, step=offset + t):
                xt = xs[t].reshape(batch, -1)
                c_new = None
                if self.kind == "GRU":
                    h_new = gru_step(xt, h, w_hh_t, b_hh, self.fused, self.reset_after)
                elif self.kind == "LSTM":
                    h_new, c_new = lstm_step(xt + h @ w_hh_t, c, self.fused, peephole,
                                             self.coupled)
                else:
                    h_new = rnn_step(xt + h @ w_hh_t, self.nonlinearity)
                if keep is None:
                    outs[t], h, c = h_new, h_new, c_new
                else:  # padded steps: state unchanged, output zero, no gradient through them
                    m = Tensor._wrap(keep[t])
                    outs[t] = where(m, h_new, 0.0)
                    h = where(m, h_new, h)
                    c = where(m, c_new, c) if c_new is not None else None
        return stack(outs), h, c

    # ---- checking what comes in ---------------------------------------------------------------
    def _check_input(self, x):
        name = type(self).__name__
        if not isinstance(x, Tensor):
            raise TypeError(f"{name}: input must be a tensor, got {type(x).__name__}")
        layout = "(batch, seq, features)" if self.batch_first else "(seq, batch, features)"
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ShapeError(f"{name}: expected input {layout} with features = "
                             f"{self.input_size} (or unbatched (seq, {self.input_size})), got "
                             f"shape {tuple(x.shape)}")
        if x.shape[0] == 0 or (x.ndim == 3 and x.shape[1] == 0):
            raise ShapeError(f"{name}: empty input of shape {tuple(x.shape)}")
        if x.ndim == 2:
            return x.unsqueeze(1), True
        return x, False

    def _initial_state(self, hx, x, unbatched):
        name = type(self).__name__
        shape = (self.num_layers * self.directions, x.shape[1], self.hidden_size)
        parts = [("h_0", None), ("c_0", None)] if self.kind == "LSTM" else [("h_0", None)]
        if hx is not None:
            given = hx if self.kind == "LSTM" else (hx,)
            if self.kind == "LSTM" and (not isinstance(hx, (tuple, list)) or len(hx) != 2):
                raise TypeError(f"{name}: the initial state must be a tuple (h_0, c_0)")
            parts = [(label, s) for (label, _), s in zip(parts, given)]
        states = []
        for label, s in parts:
            if s is None:
                states.append(x.new_zeros(shape))
                continue
            s = s.unsqueeze(1) if unbatched and s.ndim == 2 else s
            if tuple(s.shape) != shape:
                want = (shape[0], shape[2]) if unbatched else shape
                got = tuple(s.shape[:1] + s.shape[2:]) if unbatched else tuple(s.shape)
                raise ShapeError(f"{name}: {label} should have shape {want}, got {got}")
            states.append(s)
        h0 = [states[0][k] for k in range(shape[0])]
        c0 = [states[1][k] for k in range(shape[0])] if self.kind == "LSTM" else None
        return h0, c0

    def _step_mask(self, lengths, mask, steps, batch):
        """(T, B, 1) bool array saying which sequences are still running at each step, or None
        when every sequence has all T steps."""
        name = type(self).__name__
        if mask is not None:
            m = numpy.asarray(mask.numpy() if isinstance(mask, Tensor) else mask, dtype=bool)
            m = m.T if self.batch_first else m
            if m.shape != (steps, batch):
                raise ShapeError(f"{name}: mask should have shape "
                                 f"{(batch, steps) if self.batch_first else (steps, batch)}, "
                                 f"got {m.shape}")
            lengths = m.sum(0)
            if not (m == (numpy.arange(steps)[:, None] < lengths)).all():
                raise ValueError(f"{name}: mask must be True for a prefix of each sequence "
                                 f"(padding at the end)")
        if lengths is None:
            return None
        lens = numpy.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)
        if lens.shape != (batch,) or lens.dtype.kind not in "iu":
            raise ShapeError(f"{name}: lengths should be {batch} integers (one per sequence), "
                             f"got {lens.dtype} of shape {lens.shape}")
        if lens.min() < 1 or lens.max() > steps:
            raise ValueError(f"{name}: lengths must be between 1 and the padded length {steps}, "
                             f"got {lens.min() if lens.min() < 1 else lens.max()}")
        if (lens == steps).all():
            return None
        running = numpy.arange(steps)[:, None, None] < lens[None, :, None]  # (T, B, 1)
        return self.weight_ih_l0.xp.asarray(running)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        for key, default in (("bias", True), ("batch_first", False), ("dropout", 0.0),
                             ("bidirectional", False), ("unroll", False), ("residual", False),
                             ("peephole", False), ("coupled", False), ("reset_after", True)):
            if getattr(self, key) != default:
                s += f", {key}={getattr(self, key)}"
        return s


class RNN(RNNBase):
    """Elman RNN: h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh) (or relu)."""

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, **options):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout,
                         bidirectional, nonlinearity=nonlinearity, **options)

    def extra_repr(self):
        s = super().extra_repr()
        return s + (", nonlinearity='relu'" if self.nonlinearity == "relu" else "")


class LSTM(RNNBase):
    """LSTM layer; the step is ``cells.lstm_step`` (options ``peephole=True``, ``coupled=True``
    for the lecture's variants, ``residual=True`` for skip connections between layers)."""

    gates, kind = 4, "LSTM"


class GRU(RNNBase):
    """GRU layer; the step is ``cells.gru_step`` (``reset_after=False`` for Cho et al.'s
    original form)."""

    gates, kind = 3, "GRU"
