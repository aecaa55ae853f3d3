"""Attention for recurrent decoders: Bahdanau's additive score and Luong's dot, general and
concat scores. Each takes one decoder query (or several) and the encoder outputs and returns
(context, weights), weights exactly 0 on padded keys."""

from __future__ import annotations

import numpy

from ..autograd import ShapeError
from ..tensor import Tensor
from .attention import _INF, _as_mask, _shape, _softmax_rows
from .layers import Linear
from .module import Module


class _Seq2SeqAttention(Module):
    """Shared forward: scores (B, Tq, Tk) from ``self._score``, masked softmax over keys,
    context = weights @ values. A row whose keys are all padding gets weights 0, context 0."""

    def forward(self, query, keys, values=None, key_padding_mask=None):
        """query (B, Dq) for one decoder step or (B, Tq, Dq); keys (B, Tk, Dk); values
        (B, Tk, Dv), default keys; key_padding_mask (B, Tk) bool, True = padding. Returns
        (context, weights): (B, Dv) and (B, Tk), or (B, Tq, Dv) and (B, Tq, Tk)."""
        values = keys if values is None else values
        kpm = self._check(query, keys, values, key_padding_mask)
        single = query.ndim == 2
        q = query.unsqueeze(1) if single else query  # (B, Tq, Dq)
        scores = self._score(q, keys)  # (B, Tq, Tk)
        if kpm is not None:
            scores = scores.masked_fill(Tensor._wrap(kpm.data[:, None, :]), -_INF)
        w = _softmax_rows(scores, safe=kpm is not None)  # (B, Tq, Tk)
        context = w @ values  # (B, Tq, Dv)
        return (context.squeeze(1), w.squeeze(1)) if single else (context, w)

    def _check(self, query, keys, values, key_padding_mask):
        op = type(self).__name__
        if query.ndim not in (2, 3):
            raise ShapeError(f"{op}: query must be (B, Dq) or (B, Tq, Dq), got shape "
                             f"{_shape(query)}")
        for name, t in (("keys", keys), ("values", values)):
            if t.ndim != 3:
                raise ShapeError(f"{op}: {name} must be (B, Tk, features), got shape "
                                 f"{_shape(t)}")
        for name, t, n in (("query", query, self.query_size), ("keys", keys, self.key_size)):
            if t.shape[-1] != n:
                raise ShapeError(f"{op}: {name} has shape {_shape(t)}, expected last dimension "
                                 f"{n}")
        if query.shape[0] != keys.shape[0] or keys.shape[0] != values.shape[0]:
            raise ShapeError(f"{op}: batch sizes differ: query shape {_shape(query)}, keys shape "
                             f"{_shape(keys)}, values shape {_shape(values)}")
        if keys.shape[1] != values.shape[1]:
            raise ShapeError(f"{op}: keys shape {_shape(keys)} and values shape "
                             f"{_shape(values)} have different lengths Tk")
        if keys.shape[1] == 0:
            raise ShapeError(f"{op}: empty key sequence (keys shape {_shape(keys)})")
        if key_padding_mask is None:
            return None
        kpm = _as_mask(op, "key_padding_mask", key_padding_mask, keys)
        if kpm.dtype != numpy.bool_:
            raise TypeError(f"{op}: key_padding_mask must be bool (True = padding), got "
                            f"{kpm.dtype}")
        if _shape(kpm) != keys.shape[:2]:
            raise ShapeError(f"{op}: key_padding_mask has shape {_shape(kpm)}, expected "
                             f"{tuple(keys.shape[:2])} (batch, key length)")
        return kpm


class AdditiveAttention(_Seq2SeqAttention):
    """Bahdanau et al. (2014): score(q, k) = vᵀ tanh(W_q q + W_k k + b),
    a = softmax over keys of the scores, context = Σ_j a_j value_j.

    Parameters: ``query_proj`` (W_q, no bias), ``key_proj`` (W_k and b), ``v`` (hidden -> 1,
    no bias)."""

    def __init__(self, query_size, key_size, hidden_size, dtype=None):
        self.query_size, self.key_size, self.hidden_size = query_size, key_size, hidden_size
        self.query_proj = Linear(query_size, hidden_size, bias=False, dtype=dtype)
        self.key_proj = Linear(key_size, hidden_size, dtype=dtype)
        self.v = Linear(hidden_size, 1, bias=False, dtype=dtype)

    def _score(self, q, keys):
        e = self.query_proj(q).unsqueeze(2) + self.key_proj(keys).unsqueeze(1)  # (B, Tq, Tk, H)
        return self.v(e.tanh()).squeeze(-1)  # (B, Tq, Tk)

    def extra_repr(self):
        return f"query_size={self.query_size}, key_size={self.key_size}, " \
               f"hidden_size={self.hidden_size}"


class LuongAttention(_Seq2SeqAttention):
    """Luong et al. (2015), multiplicative scores of a query q and a key k:

        dot:     score(q, k) = qᵀ k                  (query_size == key_size)
        general: score(q, k) = qᵀ W k                (``W``: Linear(key_size, query_size))
        concat:  score(q, k) = vᵀ tanh(W [q; k])     (``W``: Linear(query_size + key_size,
                                                      hidden_size), ``v``: Linear(hidden, 1))

    with no biases; a = softmax over keys of the scores, context = Σ_j a_j value_j.
    ``hidden_size`` is used by "concat" only."""

    SCORES = ("dot", "general", "concat")

    def __init__(self, query_size, key_size, score="dot", hidden_size=None, dtype=None):
        if score not in self.SCORES:
            raise ValueError(f"LuongAttention: unknown score {score!r}; use 'dot', 'general' "
                             f"or 'concat'")
        if score == "dot" and query_size != key_size:
            raise ValueError(f"LuongAttention: the 'dot' score needs query_size == key_size, got "
                             f"{query_size} and {key_size}; use 'general' or 'concat'")
        if score == "concat" and hidden_size is None:
            raise ValueError("LuongAttention: the 'concat' score needs hidden_size")
        self.query_size, self.key_size, self.score = query_size, key_size, score
        self.hidden_size = hidden_size
        if score == "general":
            self.W = Linear(key_size, query_size, bias=False, dtype=dtype)
        elif score == "concat":
            self.W = Linear(query_size + key_size, hidden_size, bias=False, dtype=dtype)
            self.v = Linear(hidden_size, 1, bias=False, dtype=dtype)

    def _score(self, q, keys):
        if self.score == "dot":
            return q @ keys.mT  # (B, Tq, Tk)
        if self.score == "general":
            return q @ self.W(keys).mT  # (B, Tq, Dq) @ (B, Dq, Tk)
        # W [q; k] = W_q q + W_k k: no (B, Tq, Tk, Dq + Dk) concatenation needed
        w_q, w_k = self.W.weight.split([self.query_size, self.key_size], 1)
        e = (q @ w_q.T).unsqueeze(2) + (keys @ w_k.T).unsqueeze(1)  # (B, Tq, Tk, H)
        return self.v(e.tanh()).squeeze(-1)  # (B, Tq, Tk)

    def extra_repr(self):
        return f"query_size={self.query_size}, key_size={self.key_size}, score={self.score!r}"
