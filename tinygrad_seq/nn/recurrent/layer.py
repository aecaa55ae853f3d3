"""Sequence layers (``nn.RNN``, ``nn.LSTM``, ``nn.GRU``, ``nn.MGU``): PyTorch's signature,
parameter names, gate order and initialisation, for any cell kind (kind.py).

Layout: input (T, B, I), or (B, T, I) with ``batch_first``, or unbatched (T, I). Returns
``output, h_n`` (``output, (h_n, c_n)`` for a kind with two states, the LSTM) with output
(T, B, D*H) and h_n (L*D, B, H), where D = 2 for bidirectional layers. Each direction of each
layer runs as
  * one whole-sequence node (``kind.sequence``, ops/sequence.py) by default: all input
    projections in one GEMM, a hand-written BPTT backward, the weight gradients as one GEMM
    over all steps; or
  * unrolled (``unroll=True``, ``fused=False`` for composed cells, and always for a kind or an
    option with no whole-sequence op): per step the kind's ``step``, each step's nodes tagged
    with (layer, direction, step) so drawings can group the unrolled graph.
Variable-length batches: ``lengths=`` (or a prefix ``mask=``) freezes each sequence's state after
its last step, zeroes the padded outputs (as pad_packed_sequence does) and lets no gradient
through padded steps; h_n is then each sequence's state at its own last step. A PackedSequence
input (nn/rnn_utils.py) is unpacked to padded + lengths, run so, and the output packed back.
Projections (``proj_size=P``, PyTorch's LSTM only): each step's h is projected,
h = W_hr (o * tanh(c)), so h, the output and the next layer's input have size P (c keeps H);
ops/sequence.py has no projection, so such a layer runs the per-step graph.
"""

from __future__ import annotations

import math

import numpy

from ...autograd import ShapeError, current_tags, graph_tags
from ...tensor import Tensor, creation
from ...tensor.functions import cat, dropout, stack, where
from .. import init
from ..module import Module, Parameter
from ..rnn_utils import PackedSequence, packed_like, pad_packed_sequence
from .kind import StepWeights, changed, check_floating, check_sizes

_BASE = ("weight_ih", "weight_hh", "bias_ih", "bias_hh")  # every kind's parameters
_PROJECTION = "weight_hr"  # (P, H), the layer's own (proj_size), not the kind's step's
_LAYER_DEFAULTS = (("bias", True), ("batch_first", False), ("dropout", 0.0),
                   ("bidirectional", False), ("unroll", False), ("residual", False))


def unroll(kind, options, fused, x, layer, d, params, state, keep, trace=None):
    """One direction of one layer as the per-step graph: every step's ops recorded and tagged
    (layer, direction, step). ``params`` holds weight_ih, weight_hh (and bias_ih, bias_hh, and
    the kind's extra parameters); returns (outputs (T, B, H), *final state). ``trace``, a dict,
    receives the tensors a drawing needs to find each step's nodes (replay.py)."""
    steps, batch = x.shape[0], x.shape[1]
    b_ih, b_hh, w_hr = params.get("bias_ih"), params.get("bias_hh"), params.get(_PROJECTION)
    with graph_tags(layer=layer, direction=d):
        w_hh_t = params["weight_hh"].T
        xw = x.reshape(steps * batch, x.shape[2]) @ params["weight_ih"].T  # all steps at once
        if b_ih is not None:
            xw = xw + (b_ih + b_hh if kind.fold_hidden_bias else b_ih)
        xs = xw.reshape(steps, batch, -1).split(1, 0) if steps > 1 else [xw.unsqueeze(0)]
        extra = {k: p for k, p in params.items() if k not in _BASE + (_PROJECTION,)}
        weights = StepWeights(w_hh_t, None if kind.fold_hidden_bias else b_hh, extra)
        w_hr_t = None if w_hr is None else w_hr.T  # (H, P)
    outs, cells = [None] * steps, [None] * steps
    offset = current_tags().get("step", 0)  # a caller running one step at a time tags it
    for t in (range(steps - 1, -1, -1) if d else range(steps)):
        with graph_tags(layer=layer, direction=d, step=offset + t):
            xw_t = xs[t].reshape(batch, -1)
            new = kind.step(xw_t, state, weights, options, fused)
            if w_hr_t is not None:  # h = W_hr (o * tanh(c)): (B, P); the cell state stays (B, H)
                new = (new[0] @ w_hr_t, *new[1:])
            if keep is None:
                outs[t], state = new[0], new
            else:  # padded steps: state unchanged, output zero, no gradient through them
                m = Tensor._wrap(keep[t])
                outs[t] = where(m, new[0], 0.0)
                state = tuple(where(m, n, s) for n, s in zip(new, state))
            cells[t] = (xw_t, new, outs[t], state)
    output = stack(outs)
    if trace is not None:
        trace.update(w_hh_t=w_hh_t, xw=xw, xs=xs, cells=cells, output=output)
    return (output, *state)


class Unrolling:
    """How to draw a whole-sequence node as the steps ``unroll`` records (replay.py): the
    layer's kind, options, layer and direction numbers and step mask (None: every sequence
    has all steps)."""

    __slots__ = ("kind", "options", "layer", "direction", "keep")

    def __init__(self, kind, options, layer, direction, keep):
        self.kind, self.options, self.layer = kind, options, layer
        self.direction, self.keep = direction, keep


class RecurrentLayer(Module):
    """A stack of ``num_layers`` recurrences of one cell kind (the subclass's ``kind``)."""

    kind = None  # a CellKind

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=None, *, fused=True, unroll=False,
                 residual=False, dtype=None, **options):
        name = type(self).__name__
        check_sizes(name, input_size, hidden_size, num_layers=num_layers)
        if not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be in [0, 1), got {dropout}")
        self.proj_size = self._check_projection(name, proj_size, hidden_size)
        options = self.kind.check(name, options)
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout = bias, batch_first, float(dropout)
        self.bidirectional, self.fused, self.unroll = bidirectional, fused, unroll
        self.residual = residual
        for key, value in options.items():  # PyTorch's attributes: rnn.nonlinearity, ...
            setattr(self, key, value)
        gates = len(self.kind.gate_names(options)) * hidden_size
        extra = self.kind.extra_parameters(hidden_size, options)
        out_size = self.proj_size or hidden_size  # of h, so of each direction's output
        for layer in range(num_layers):
            in_size = input_size if layer == 0 else out_size * self.directions
            for sfx in self._suffixes(layer):
                shapes = {"weight_ih": (gates, in_size), "weight_hh": (gates, out_size)}
                if bias:
                    shapes.update(bias_ih=(gates,), bias_hh=(gates,))
                if self.proj_size:  # after the biases: PyTorch's order, so state_dicts match
                    shapes[_PROJECTION] = (self.proj_size, hidden_size)
                for base, shape in {**shapes, **extra}.items():
                    setattr(self, base + sfx, Parameter(creation.empty(*shape, dtype=dtype)))
        self.reset_parameters()

    def _check_projection(self, name, proj_size, hidden_size):
        """proj_size as PyTorch checks it: 0 (None) for no projection; only for a kind whose h
        is not mixed into its own state (the LSTM's c), and smaller than hidden_size."""
        if proj_size is None:
            return 0
        if not self.kind.projection:  # PyTorch refuses it for RNN and GRU even when 0
            raise ValueError(f"{name}: proj_size argument is only supported for LSTM, not "
                             f"{self.kind.title}")
        if not isinstance(proj_size, int) or isinstance(proj_size, bool):
            raise TypeError(f"{name}: proj_size must be an integer, got {proj_size!r}")
        if proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to "
                             f"disable projections, got {proj_size}")
        if proj_size >= hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size "
                             f"({hidden_size}), got {proj_size}")
        return proj_size

    @property
    def directions(self):
        return 2 if self.bidirectional else 1

    def _suffixes(self, layer):
        return [f"_l{layer}"] + ([f"_l{layer}_reverse"] if self.bidirectional else [])

    def options(self) -> dict:
        """The kind's options as this layer has them (e.g. {"peephole": False, ...})."""
        return {key: getattr(self, key) for key in self.kind.options}

    def direction_parameters(self, layer, direction) -> dict:
        """{base name: parameter} of one layer direction: weight_ih, weight_hh, bias_ih,
        bias_hh (when the layer has biases), weight_hr (with proj_size) and the kind's extra
        parameters."""
        sfx = self._suffixes(layer)[direction]
        names = _BASE + (_PROJECTION,) + tuple(
            self.kind.extra_parameters(self.hidden_size, self.options()))
        return {n: getattr(self, n + sfx) for n in names if hasattr(self, n + sfx)}

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.hidden_size)
        for p in self.parameters():
            init.uniform_(p, -bound, bound)

    def flatten_parameters(self):
        """Nothing to do (PyTorch needs it for cuDNN); kept so PyTorch code runs unchanged."""

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, input, hx=None, lengths=None, mask=None):
        if isinstance(input, PackedSequence):
            if lengths is not None or mask is not None:
                raise TypeError(f"{type(self).__name__}: a PackedSequence carries its own "
                                f"lengths; pass no lengths= or mask= with it")
            # the caller's batch order throughout, so hx and h_n need no permuting
            padded, lengths = pad_packed_sequence(input)  # (T, B, I)
            output, state = self._forward(padded, hx, lengths, None, False)
            return packed_like(output, input), state
        return self._forward(input, hx, lengths, mask, self.batch_first)

    def _forward(self, input, hx, lengths, mask, batch_first):
        x, unbatched = self._check_input(input, batch_first)
        x = x.transpose(0, 1) if batch_first and not unbatched else x  # (T, B, I)
        steps, batch = x.shape[0], x.shape[1]
        initial = self._initial_state(hx, x, unbatched)  # per state, per layer direction
        keep = self._step_mask(lengths, mask, steps, batch, batch_first)
        finals = [[] for _ in self.kind.states]
        layer_in = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(self.directions):
                k = layer * self.directions + d
                out, *state = self._run(layer_in, layer, d, [s[k] for s in initial], keep)
                outs.append(out)
                for final, s in zip(finals, state):
                    final.append(s)
            out = cat(outs, dim=2) if len(outs) > 1 else outs[0]  # (T, B, D*H)
            if self.dropout and self.training and layer < self.num_layers - 1:
                out = dropout(out, self.dropout)
            if self.residual and layer > 0:
                out = out + layer_in
            layer_in = out
        output, state = layer_in, [stack(f) for f in finals]  # (L*D, B, H) each
        if unbatched:
            output, state = output.squeeze(1), [s.squeeze(1) for s in state]
        elif batch_first:
            output = output.transpose(0, 1)
        return output, self.kind.output(tuple(state))

    def _run(self, x, layer, d, state, keep):
        """One direction of one layer over all steps: (T, B, H) outputs, then the final state."""
        params = self.direction_parameters(layer, d)
        if self.fused and not self.unroll and not self.proj_size:
            weights = [params["weight_ih"], params["weight_hh"]]
            if "bias_ih" in params:
                weights += [params["bias_ih"], params["bias_hh"]]
            with graph_tags(layer=layer, direction=d):
                result = self.kind.sequence(x, state, weights, self.options(), bool(d), keep)
            if result is not None:
                node = result[0]._ctx
                if node is not None:  # drawings show the node as the steps unroll() records
                    node.unrolled = Unrolling(self.kind, self.options(), layer, d, keep)
                return result
        return self._unrolled(x, layer, d, params, tuple(state), keep)

    def _unrolled(self, x, layer, d, params, state, keep):
        """The per-step graph: every step's ops recorded and tagged (layer, direction, step)."""
        return unroll(self.kind, self.options(), self.fused, x, layer, d, params, state, keep)

    # ---- checking what comes in ---------------------------------------------------------------
    def _check_input(self, x, batch_first):
        name = type(self).__name__
        check_floating(name, "input", x)
        layout = "(batch, seq, features)" if batch_first else "(seq, batch, features)"
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
        """Per state name, the initial state of each layer direction (a list of (B, H))."""
        name, names = type(self).__name__, self.kind.states
        count = self.num_layers * self.directions
        sizes = [self.proj_size or self.hidden_size] + [self.hidden_size] * (len(names) - 1)
        given = (None,) * len(names)
        if hx is not None:
            if len(names) == 1:
                given = (hx,)
            elif not isinstance(hx, (tuple, list)) or len(hx) != len(names):
                raise TypeError(f"{name}: the initial state must be a tuple "
                                f"({', '.join(s + '_0' for s in names)})")
            else:
                given = tuple(hx)
        states = []
        for label, s, size in zip(names, given, sizes):
            shape = (count, x.shape[1], size)
            cut = getattr(s, "_note", None)  # a state detach()ed from an earlier chunk
            if s is None:
                s = x.new_zeros(shape)
            else:
                check_floating(name, f"{label}_0", s)
                s = s.unsqueeze(1) if unbatched and s.ndim == 2 else s
                if tuple(s.shape) != shape:
                    want = (shape[0], shape[2]) if unbatched else shape
                    got = tuple(s.shape[:1] + s.shape[2:]) if unbatched else tuple(s.shape)
                    raise ShapeError(f"{name}: {label}_0 should have shape {want}, got {got}")
            pieces = [s[k] for k in range(shape[0])]
            for k, piece in enumerate(pieces):
                if piece._ctx is None:  # not computed from anything: drawn as "h_0"
                    piece._note = f"{label}_0" if cut is None else cut._replace(index=k)
            states.append(pieces)
        return states

    def _step_mask(self, lengths, mask, steps, batch, batch_first):
        """(T, B, 1) bool array saying which sequences are still running at each step, or None
        when every sequence has all T steps."""
        name = type(self).__name__
        if mask is not None:
            m = numpy.asarray(mask.numpy() if isinstance(mask, Tensor) else mask, dtype=bool)
            m = m.T if batch_first else m
            if m.shape != (steps, batch):
                raise ShapeError(f"{name}: mask should have shape "
                                 f"{(batch, steps) if batch_first else (steps, batch)}, "
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
        if self.proj_size:  # where PyTorch's repr has it
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        return s + changed(self, _LAYER_DEFAULTS + tuple(self.kind.options.items()))

