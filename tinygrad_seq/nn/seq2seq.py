"""Sequence to sequence: an RNN encoder, an RNN decoder with optional attention, and the
teacher-forcing schedules used to train them.

The model follows the lecture's path. Without attention the decoder sees the source only
through the encoder's final state, a fixed-length vector (Sutskever et al. 2014). With
attention every decoder step scores all encoder outputs and reads a weighted average of them
(Bahdanau et al. 2014, with the "additive" score; Luong et al. 2015 with "dot", "general",
"concat"). The decoder is Luong's: the attentional vector h~ = tanh(W_c [context; h]) gives
the logits and, with input feeding, is also fed to the next step's input.

Token ids follow tinygrad_seq.data.vocab: PAD = 0, BOS = 1, EOS = 2.
"""

from __future__ import annotations

import math

import numpy

from ..autograd import ShapeError, graph_tags
from ..tensor import Tensor
from ..tensor.functions import cat, stack
from .decoder_attention import AdditiveAttention, LuongAttention
from .layers import Embedding, Linear
from .module import Module
from .recurrent import KINDS

PAD, BOS, EOS = 0, 1, 2
ATTENTION = ("additive", "dot", "general", "concat")


def _cell(name):
    """The sequence layer of the cell kind ``name`` (nn/recurrent: rnn, lstm, gru, ...)."""
    if name not in KINDS:
        raise ValueError(f"unknown cell {name!r}; choose from {', '.join(KINDS)}")
    return KINDS[name].layer


class Encoder(Module):
    """Embedding + a recurrent layer (any cell kind) over the source, batch first.

    forward(src (B, S) ids, lengths (B,)) -> outputs (B, S, D*H), final state (L*D, B, H)
    (an (h, c) pair for LSTM). Padded positions get zero outputs and do not touch the state.
    """

    def __init__(self, vocab_size, embed_size, hidden_size, cell="gru", num_layers=1,
                 bidirectional=False, dropout=0.0):
        self.embed = Embedding(vocab_size, embed_size, padding_idx=PAD)
        self.rnn = _cell(cell)(embed_size, hidden_size, num_layers, batch_first=True,
                               dropout=dropout, bidirectional=bidirectional)
        self.output_size = hidden_size * (2 if bidirectional else 1)

    def forward(self, src, lengths=None):
        src = src if isinstance(src, Tensor) else Tensor(numpy.asarray(src))
        if src.ndim != 2:
            raise ShapeError(f"Encoder: expected source ids of shape (batch, length), got "
                             f"{tuple(src.shape)}")
        if src.shape[1] == 0:
            raise ShapeError("Encoder: empty source sequence (length 0)")
        return self.rnn(self.embed(src), lengths=lengths)


class Decoder(Module):
    """Embedding + a recurrent layer (any cell kind), one step at a time, with optional
    attention.

    step(tokens (B,), state, memory, memory_mask, feed) -> logits (B, V), state, feed,
    attention weights (B, S) or None. ``memory`` are the encoder outputs (B, S, C),
    ``memory_mask`` (B, S) is True at padding, ``feed`` the previous attentional vector
    (input feeding) or None at the first step.
    """

    def __init__(self, vocab_size, embed_size, hidden_size, context_size, cell="gru",
                 num_layers=1, attention=None, input_feeding=True, dropout=0.0):
        if attention is not None and attention not in ATTENTION:
            raise ValueError(f"Decoder: unknown attention {attention!r}; choose from "
                             f"{', '.join(ATTENTION)} or None")
        self.hidden_size, self.attention_kind = hidden_size, attention
        self.input_feeding = bool(input_feeding and attention)
        self.embed = Embedding(vocab_size, embed_size, padding_idx=PAD)
        in_size = embed_size + (hidden_size if self.input_feeding else 0)
        self.rnn = _cell(cell)(in_size, hidden_size, num_layers, dropout=dropout)
        if attention == "additive":
            self.attn = AdditiveAttention(hidden_size, context_size, hidden_size)
        elif attention is not None:
            self.attn = LuongAttention(hidden_size, context_size, score=attention,
                                       hidden_size=hidden_size)
        if attention is not None:
            self.combine = Linear(context_size + hidden_size, hidden_size, bias=False)
        self.out = Linear(hidden_size, vocab_size)

    def step(self, tokens, state, memory=None, memory_mask=None, feed=None):
        x = self.embed(tokens)  # (B, E)
        if self.input_feeding:
            feed = feed if feed is not None else x.new_zeros((x.shape[0], self.hidden_size))
            x = cat([x, feed], dim=1)
        out, state = self.rnn(x.unsqueeze(0), state)  # one step: (1, B, H)
        h = out[0]
        weights = None
        if self.attention_kind is not None:
            context, weights = self.attn(h, memory, key_padding_mask=memory_mask)
            h = self.combine(cat([context, h], dim=1)).tanh()  # the attentional vector h~
        return self.out(h), state, h, weights


class Seq2Seq(Module):
    """Encoder + decoder. ``forward(src, src_lengths, tgt_in, teacher_forcing=1.0)`` returns
    logits (B, T, V) and the attention weights (B, T, S) (None without attention).

    A bidirectional encoder's outputs are [forward; backward] (2H wide), so the decoder is made
    2H wide and starts from the two directions' final states side by side; every attention
    score (``dot`` included) then compares vectors of one size.

    At each step the decoder's input is the true previous token (teacher forcing) with
    probability ``teacher_forcing``, otherwise its own previous prediction (scheduled
    sampling, Bengio et al. 2015), chosen per sequence and per step.
    """

    def __init__(self, src_vocab, tgt_vocab, embed_size=64, hidden_size=128, cell="gru",
                 num_layers=1, bidirectional=True, attention="dot", input_feeding=True,
                 dropout=0.0):
        self.encoder = Encoder(src_vocab, embed_size, hidden_size, cell, num_layers,
                               bidirectional, dropout)
        size = self.encoder.output_size
        self.decoder = Decoder(tgt_vocab, embed_size, size, size, cell, num_layers, attention,
                               input_feeding, dropout)
        self.num_layers, self.directions = num_layers, 2 if bidirectional else 1

    def encode(self, src, src_lengths=None):
        """Encoder outputs (B, S, C), padding mask (B, S) and the decoder's first state."""
        memory, state = self.encoder(src, src_lengths)
        batch, steps = memory.shape[0], memory.shape[1]
        lengths = numpy.full(batch, steps) if src_lengths is None else numpy.asarray(
            src_lengths.numpy() if isinstance(src_lengths, Tensor) else src_lengths)
        mask = Tensor(numpy.arange(steps)[None, :] >= lengths[:, None])
        return memory, mask, self._join_directions(state)

    def _join_directions(self, state):
        """(L*D, B, H) -> (L, B, D*H): each layer's directions side by side."""
        if self.directions == 1:
            return state

        def join(s):
            return stack([cat([s[2 * k], s[2 * k + 1]], dim=1) for k in range(self.num_layers)])

        return tuple(join(s) for s in state) if isinstance(state, tuple) else join(state)

    def forward(self, src, src_lengths, tgt_in, teacher_forcing=1.0, rng=None):
        with graph_tags(module="encoder"):
            memory, mask, state = self.encode(src, src_lengths)
        tgt_in = tgt_in if isinstance(tgt_in, Tensor) else Tensor(numpy.asarray(tgt_in))
        steps = tgt_in.shape[1]
        rng = rng if rng is not None else numpy.random.default_rng()
        logits, weights, feed, prev = [], [], None, None
        for t in range(steps):
            tokens = tgt_in[:, t]
            if prev is not None and teacher_forcing < 1.0:
                own = rng.random(tokens.shape[0]) >= teacher_forcing  # use the prediction
                tokens = Tensor(numpy.where(own, prev, tokens.numpy()))
            with graph_tags(module="decoder", step=t):  # drawings group the steps
                out, state, feed, w = self.decoder.step(tokens, state, memory, mask, feed)
            logits.append(out)
            weights.append(w)
            prev = out.numpy().argmax(-1)
        attention = stack(weights, 1) if weights[0] is not None else None
        return stack(logits, 1), attention


class TeacherForcing:
    """Scheduled-sampling schedules (Bengio et al. 2015): the probability of feeding the true
    previous token at training step i.

        constant          eps_i = k
        linear            eps_i = max(minimum, k - c * i)
        exponential       eps_i = k ** i                      (k < 1)
        inverse_sigmoid   eps_i = k / (k + exp(i / k))        (k >= 1)
    """

    def __init__(self, kind="constant", k=1.0, c=0.0, minimum=0.0):
        if kind not in ("constant", "linear", "exponential", "inverse_sigmoid"):
            raise ValueError(f"TeacherForcing: unknown schedule {kind!r}; choose constant, "
                             f"linear, exponential or inverse_sigmoid")
        if kind == "exponential" and not 0 < k < 1:
            raise ValueError(f"TeacherForcing: exponential decay needs 0 < k < 1, got {k}")
        if kind == "inverse_sigmoid" and k < 1:
            raise ValueError(f"TeacherForcing: inverse_sigmoid decay needs k >= 1, got {k}")
        self.kind, self.k, self.c, self.minimum = kind, k, c, minimum

    def __call__(self, i):
        if self.kind == "constant":
            return self.k
        if self.kind == "linear":
            return max(self.minimum, self.k - self.c * i)
        if self.kind == "exponential":
            return max(self.minimum, self.k ** i)
        return max(self.minimum, self.k / (self.k + math.exp(min(i / self.k, 700))))
