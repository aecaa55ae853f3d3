"""Attention: scaled dot-product attention (Vaswani et al. 2017) and PyTorch's
MultiheadAttention. The two classic seq2seq scores, additive (Bahdanau et al. 2014) and
multiplicative (Luong et al. 2015), build on the helpers here, in decoder_attention.py.

Everything is composed from Tensor ops (MatMul, Softmax, Where, Add, Tanh, reshapes): no
primitive of its own, so autograd derives every gradient (second derivatives included). Masks
are constants built on raw arrays; nothing differentiable is computed outside the graph.

Masks, as in PyTorch: for ``scaled_dot_product_attention`` a bool ``attn_mask`` is True where
a query *may* attend; for ``MultiheadAttention`` a bool mask is True where it may *not* (it
becomes -inf). Float masks are added to the scores. ``key_padding_mask`` is True on padding.
"""

from __future__ import annotations

import math

import numpy

from ..autograd import ShapeError
from ..tensor import Tensor, creation
from ..tensor.functions import cat, dropout, linear
from . import init
from .layers import Linear
from .module import Module, Parameter

_INF = float("inf")


# ---- helpers ----------------------------------------------------------------------------------


def _shape(t):
    return tuple(t.shape)


def _as_mask(op, name, mask, like):
    """``mask`` as a Tensor on ``like``'s backend; bool or floating point, else TypeError."""
    if not isinstance(mask, Tensor):
        mask = Tensor._wrap(like.xp.asarray(mask))
    if mask.dtype != numpy.bool_ and mask.dtype.kind != "f":
        raise TypeError(f"{op}: {name} must be a bool or floating-point tensor, got {mask.dtype}")
    return mask


def _softmax_rows(scores, safe):
    """Softmax over the last axis. With ``safe``, a row whose scores are all -inf (every key
    masked) gets weights 0 and passes no gradient, instead of 0/0 = nan (PyTorch's
    ``_safe_softmax``, which ``F.scaled_dot_product_attention`` uses)."""
    if safe:
        dead = (scores.data == -_INF).all(axis=-1, keepdims=True)  # (..., L, 1), a constant
        if dead.any():
            dead = Tensor._wrap(dead)
            return scores.masked_fill(dead, 0.0).softmax(-1).masked_fill(dead, 0.0)
    return scores.softmax(-1)


def _attend(q, k, v, mask, scale, dropout_p, safe):
    """softmax(scale q kᵀ + mask) v; returns (output, weights after dropout).

    ``mask``: None, a bool tensor (True = may attend) or a float tensor added to the scores."""
    scores = (q * scale) @ k.mT  # (..., L, S)
    if mask is not None:
        scores = scores.masked_fill(~mask, -_INF) if mask.dtype == numpy.bool_ else scores + mask
    w = _softmax_rows(scores, safe and mask is not None)
    if dropout_p > 0:
        w = dropout(w, dropout_p)
    return w @ v, w  # (..., L, Ev), (..., L, S)


def _append_zeros(t, axis):
    """``t`` with one slice of zeros more at the end of ``axis``: a constant, so no gradient
    flows into it. Appended to an additive mask, the new column hides nothing (PyTorch's
    ``F.pad(mask, (0, 1))``); appended to keys and values, it is ``add_zero_attn``."""
    shape = tuple(1 if i == axis % t.ndim else n for i, n in enumerate(t.shape))
    return cat([t, Tensor._wrap(t.xp.zeros(shape, dtype=t.dtype))], axis=axis)


def _check_dropout(op, p):
    if not 0 <= p < 1:
        raise ValueError(f"{op}: dropout probability must be in [0, 1), got {p}")


# ---- scaled dot-product attention -------------------------------------------------------------


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None):
    """Attention(Q, K, V) = softmax(s Q Kᵀ + M) V, with s = ``scale`` (default 1/√E), as
    PyTorch's ``F.scaled_dot_product_attention``.

    Shapes: query (..., L, E), key (..., S, E), value (..., S, Ev) -> (..., L, Ev); the
    leading dimensions broadcast. ``attn_mask`` broadcasts to (..., L, S): bool means True =
    may attend (M = 0 there, -inf elsewhere), float is M itself. ``is_causal`` lets query i
    see keys j ≤ i (top-left aligned, as in PyTorch; not together with ``attn_mask``).
    ``dropout_p`` > 0 drops attention weights (always: this function has no eval mode).

    A query whose keys are all masked gets output 0 and gradient 0, as in PyTorch 2.13
    (whose softmax here is "safe": it returns 0, not nan, for an all -inf row)."""
    op = "scaled_dot_product_attention"
    for name, t in (("query", query), ("key", key), ("value", value)):
        if t.ndim < 2:
            raise ShapeError(f"{op}: {name} must have at least 2 dimensions (..., seq, "
                             f"features), got shape {_shape(t)}")
    if query.shape[-1] != key.shape[-1]:
        raise ShapeError(f"{op}: query shape {_shape(query)} and key shape {_shape(key)} have "
                         f"different feature sizes E ({query.shape[-1]} != {key.shape[-1]})")
    if key.shape[-2] != value.shape[-2]:
        raise ShapeError(f"{op}: key shape {_shape(key)} and value shape {_shape(value)} have "
                         f"different sequence lengths S")
    if key.shape[-2] == 0:
        raise ShapeError(f"{op}: empty key sequence (key shape {_shape(key)}): there is "
                         f"nothing to attend to")
    try:
        batch = tuple(numpy.broadcast_shapes(query.shape[:-2], key.shape[:-2], value.shape[:-2]))
    except ValueError:
        raise ShapeError(f"{op}: the batch dimensions of query {_shape(query)}, key "
                         f"{_shape(key)} and value {_shape(value)} do not broadcast") from None
    _check_dropout(op, dropout_p)
    L, S = query.shape[-2], key.shape[-2]
    mask = None
    if is_causal:
        if attn_mask is not None:
            raise ValueError(f"{op}: pass either attn_mask or is_causal=True, not both")
        mask = Tensor._wrap(query.xp.tril(query.xp.ones((L, S), dtype=bool)))  # (L, S)
    elif attn_mask is not None:
        mask = _as_mask(op, "attn_mask", attn_mask, query)
        scores_shape = batch + (L, S)
        try:
            fits = numpy.broadcast_shapes(mask.shape, scores_shape) == scores_shape
        except ValueError:
            fits = False
        if not fits:
            raise ShapeError(f"{op}: attn_mask shape {_shape(mask)} does not broadcast to the "
                             f"scores' shape {scores_shape} (batch + (L, S))")
        if mask.dtype != numpy.bool_:
            mask = mask.astype(query.dtype)
    scale = 1 / math.sqrt(query.shape[-1]) if scale is None else scale
    return _attend(query, key, value, mask, scale, dropout_p, safe=True)[0]


# ---- multi-head attention ---------------------------------------------------------------------


class MultiheadAttention(Module):
    """PyTorch's ``nn.MultiheadAttention``: MultiHead(Q, K, V) = [head_1; ...; head_h] W_Oᵀ + b_O
    with head_i = Attention(Q W_Qiᵀ + b_Qi, K W_Kiᵀ + b_Ki, V W_Viᵀ + b_Vi), each head of size
    embed_dim / num_heads.

    Parameters have PyTorch's names and shapes (``in_proj_weight`` (3E, E), or
    ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when kdim or vdim differ from E;
    ``in_proj_bias`` (3E); ``out_proj``), so a ``state_dict`` moves between the two unchanged.
    Layout: (L, B, E), or (B, L, E) with ``batch_first``, or unbatched (L, E).

    ``add_bias_kv`` learns one more key and value, ``bias_k`` and ``bias_v`` (1, 1, E), appended
    to every sequence after the projection; ``add_zero_attn`` then appends a zero key and value
    to every head. Each adds a key no mask hides, so the weights have S + 1 (or S + 2) columns.

    Fully masked query rows are nan with ``need_weights=True`` and 0 with
    ``need_weights=False``, as in PyTorch (its two paths use a plain and a "safe" softmax)."""

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, dtype=None):
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, "
                             f"got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} is not divisible by "
                             f"num_heads {num_heads}")
        _check_dropout("MultiheadAttention", dropout)
        self.embed_dim, self.num_heads = embed_dim, num_heads
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.dropout, self.batch_first = dropout, batch_first
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        E, empty = embed_dim, creation.empty
        # assignment order = PyTorch's state_dict order
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(empty(3 * E, E, dtype=dtype))
        else:
            self.q_proj_weight = Parameter(empty(E, E, dtype=dtype))
            self.k_proj_weight = Parameter(empty(E, self.kdim, dtype=dtype))
            self.v_proj_weight = Parameter(empty(E, self.vdim, dtype=dtype))
        self.in_proj_bias = Parameter(empty(3 * E, dtype=dtype)) if bias else None
        self.out_proj = Linear(E, E, bias=bias, dtype=dtype)
        if add_bias_kv:
            self.bias_k = Parameter(empty(1, 1, E, dtype=dtype))
            self.bias_v = Parameter(empty(1, 1, E, dtype=dtype))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self):
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _in_projection(self, query, key, value):
        """Q, K, V projections, each (B, ·, E); self-attention uses one (B·L, E) @ (E, 3E)
        (each a Linear op on the input as a matrix: one product that starts from the bias)."""
        E = self.embed_dim


        b = self.in_proj_bias.split(E) if self.in_proj_bias is not None else (None,) * 3
        if not self._qkv_same_embed_dim:
            ws = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        elif query is key and key is value:
            return linear(query, self.in_proj_weight, self.in_proj_bias).split(E, -1)
        else:
            ws = self.in_proj_weight.split(E)
        return tuple(linear(x, w, bb) for x, w, bb in zip((query, key, value), ws, b))

    def _check(self, query, key, value, key_padding_mask, attn_mask):
        """Validate the inputs; returns (key_padding_mask, attn_mask) as additive float masks."""
        op = "MultiheadAttention"
        if query.ndim not in (2, 3):
            raise ShapeError(f"{op}: query must be 3-D (batched) or 2-D (unbatched), got shape "
                             f"{_shape(query)}")
        for name, t in (("key", key), ("value", value)):
            if t.ndim != query.ndim:
                raise ShapeError(f"{op}: query has shape {_shape(query)} but {name} has shape "
                                 f"{_shape(t)}; both must be {query.ndim}-D")
        for name, t, n in (("query", query, self.embed_dim), ("key", key, self.kdim),
                           ("value", value, self.vdim)):
            if t.shape[-1] != n:
                raise ShapeError(f"{op}: {name} has shape {_shape(t)}, expected last dimension "
                                 f"{n}")
        seq, bat = (1, 0) if self.batch_first else (0, 1)
        if query.ndim == 3 and query.shape[bat] != key.shape[bat]:
            raise ShapeError(f"{op}: batch sizes differ: query shape {_shape(query)}, key shape "
                             f"{_shape(key)} (batch_first={self.batch_first})")
        if key.shape[:-1] != value.shape[:-1]:
            raise ShapeError(f"{op}: key shape {_shape(key)} and value shape {_shape(value)} "
                             f"differ in batch or sequence length")
        if query.ndim == 2:
            seq = 0
        S = key.shape[seq]
        if S == 0:
            raise ShapeError(f"{op}: empty key sequence (key shape {_shape(key)})")
        B, L = (query.shape[bat] if query.ndim == 3 else 1), query.shape[seq]
        wants = {"key_padding_mask": [(B, S) if query.ndim == 3 else (S,)],
                 "attn_mask": [(L, S), (B * self.num_heads, L, S)]}
        masks = []
        for name, mask in (("key_padding_mask", key_padding_mask), ("attn_mask", attn_mask)):
            if mask is not None:
                mask = _as_mask(op, name, mask, query)
                if _shape(mask) not in wants[name]:
                    raise ShapeError(f"{op}: {name} has shape {_shape(mask)}, expected "
                                     f"{' or '.join(map(str, wants[name]))} for query shape "
                                     f"{_shape(query)}, key shape {_shape(key)}")
                # PyTorch's canonical form: bool True (= masked) -> -inf, float added as is
                mask = Tensor._wrap(mask.xp.where(mask.data, -_INF, 0.0).astype(query.dtype)) \
                    if mask.dtype == numpy.bool_ else mask.astype(query.dtype)
            masks.append(mask)
        return masks

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """Returns (attn_output, attn_weights): output (L, B, E) / (B, L, E) / (L, E); weights
        (B, L, S) averaged over heads, (B, num_heads, L, S) with ``average_attn_weights=False``,
        or None when ``need_weights`` is False (S counts the keys ``add_bias_kv`` and
        ``add_zero_attn`` append). ``attn_mask``: (L, S) or (B·num_heads, L, S).
        ``is_causal`` is a hint that ``attn_mask`` is causal, as in PyTorch."""
        kpm, am = self._check(query, key, value, key_padding_mask, attn_mask)
        if is_causal and attn_mask is None:
            raise ValueError("MultiheadAttention: is_causal=True needs attn_mask as well (the "
                             "flag is only a hint that attn_mask is causal)")
        H, D = self.num_heads, self.head_dim
        batched = query.ndim == 3
        q, k, v = self._in_projection(*self._batch_major(query, key, value, batched))
        B, L = q.shape[0], q.shape[1]
        # PyTorch's order: bias_k/bias_v join the projected sequence, the heads split, the
        # zero key joins each head; every mask gets a column (0 = hidden by nothing) each time
        if self.bias_k is not None:
            k = cat([k, self.bias_k.expand(B, 1, self.embed_dim)], axis=1)  # (B, S+1, E)
            v = cat([v, self.bias_v.expand(B, 1, self.embed_dim)], axis=1)
            kpm, am = (None if m is None else _append_zeros(m, -1) for m in (kpm, am))
        q, k, v = (x.reshape(B, x.shape[1], H, D).permute(0, 2, 1, 3) for x in (q, k, v))
        if self.add_zero_attn:
            k, v = _append_zeros(k, 2), _append_zeros(v, 2)  # one key more: (B, H, S+1, D)
            kpm, am = (None if m is None else _append_zeros(m, -1) for m in (kpm, am))
        S = k.shape[2]
        # q (B, H, L, D), k and v (B, H, S, D)
        if is_causal and kpm is None and not need_weights:  # PyTorch trusts the hint here
            mask = Tensor._wrap(query.xp.tril(query.xp.ones((L, S), dtype=bool)))
        else:
            mask = am.reshape(B, H, L, S) if am is not None and am.ndim == 3 else am
            if kpm is not None:  # mask: None, (L, S) or (B, H, L, S); kpm (B, 1, 1, S)
                kpm = kpm.reshape(B, 1, 1, S)
                mask = kpm if mask is None else mask + kpm
        p = self.dropout if self.training else 0.0
        out, w = _attend(q, k, v, mask, 1 / math.sqrt(D), p, safe=not need_weights)
        out = out.permute(0, 2, 1, 3).reshape(B * L, self.embed_dim)  # (B·L, E)
        out = self.out_proj(out).reshape(B, L, self.embed_dim)  # (B, L, E)
        if not batched:
            out = out.squeeze(0)  # (L, E)
        elif not self.batch_first:
            out = out.transpose(0, 1)  # (L, B, E)
        if not need_weights:
            return out, None
        if average_attn_weights:
            w = w.mean(axis=1)  # (B, L, S)
        return out, (w if batched else w.squeeze(0))

    def _batch_major(self, query, key, value, batched):
        """The three inputs as (B, ·, features), keeping `query is key` for self-attention."""
        if batched and self.batch_first:
            return query, key, value
        move = (lambda x: x.unsqueeze(0)) if not batched else (lambda x: x.transpose(0, 1))
        q = move(query)
        k = q if key is query else move(key)
        return q, k, (k if value is key else move(value))

    def extra_repr(self):
        extra = "".join(f", {n}=True" for n, on in (("add_bias_kv", self.bias_k is not None),
                                                     ("add_zero_attn", self.add_zero_attn)) if on)
        return (f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, "
                f"batch_first={self.batch_first}{extra}")
