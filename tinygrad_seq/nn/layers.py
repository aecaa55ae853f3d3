"""Feed-forward layers: Linear, Embedding, Dropout, LayerNorm (PyTorch's parameters and
initialisation), and the functions behind two of them, ``embedding`` and ``layer_norm``
(``nn.functional`` re-exports them; they live here because nn.functional imports attention,
which imports this module)."""

from __future__ import annotations

import math

from ..autograd import ShapeError, no_grad
from ..tensor import Tensor, creation, functions
from ..tensor.functions import dropout, padding_index
from . import init
from .module import Module, Parameter


def _check_features(layer, x, expected):
    if x.ndim == 0 or x.shape[-1] != expected:
        raise ShapeError(f"{layer}: expected input with last dimension {expected}, got shape "
                         f"{tuple(x.shape)}")


class Linear(Module):
    """y = x W^T + b, with W of shape (out_features, in_features)."""

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        if in_features <= 0 or out_features <= 0:
            raise ValueError(f"Linear: sizes must be positive, got {in_features}, {out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype))
        self.bias = Parameter(creation.empty(out_features, dtype=dtype)) if bias else None
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))  # = U(-1/sqrt(fan_in), 1/sqrt(fan_in))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        _check_features("Linear", x, self.in_features)
        return functions.linear(x, self.weight, self.bias, "Linear")

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


def _renorm_(weight, idx, max_norm, norm_type):
    """PyTorch's embedding_renorm_: each row looked up whose norm exceeds max_norm is scaled,
    in place and outside the graph, to norm max_norm (divided by norm + 1e-7, as PyTorch)."""
    xp = weight.xp
    rows = xp.unique(idx.reshape(-1))
    w = weight.data[rows]
    if norm_type == float("inf"):
        norms = xp.abs(w).max(axis=1)
    else:
        norms = (xp.abs(w) ** norm_type).sum(axis=1) ** (1.0 / norm_type)
    scale = xp.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0).astype(w.dtype)
    with no_grad():  # a write the next backward sees (version counter), as in PyTorch
        weight[rows] = w * scale[:, None]


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False, *, _who="embedding"):
    """Rows of ``weight`` (num_embeddings, dim) picked by integer ``input``: shape
    (*input.shape, dim). The row at ``padding_idx`` gets no gradient. With ``max_norm``, the
    rows looked up are first renormalised in place to norm <= max_norm (``norm_type``-norm);
    with ``scale_grad_by_freq`` each row's gradient is divided by how often the batch uses it.
    ``sparse`` gradients are not supported (the gradient is always a dense array)."""
    if sparse:
        raise ValueError(f"{_who}: sparse=True is not supported; gradients are dense arrays")
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        shape = tuple(weight.shape) if isinstance(weight, Tensor) else type(weight).__name__
        raise ShapeError(f"{_who}: weight must be a 2-D tensor (num_embeddings, dim), got "
                         f"{shape}")
    idx = input.data if isinstance(input, Tensor) else weight.xp.asarray(input)
    if max_norm is not None:
        # checked first: the renormalisation must not write rows for indices out of range
        functions.check_indices(idx, weight.shape[0], _who)
        _renorm_(weight, idx, max_norm, norm_type)
    out = functions.embedding(idx, weight, padding_idx, _who)
    if scale_grad_by_freq and out.requires_grad:
        xp = weight.xp
        _, inverse, counts = xp.unique(idx.reshape(-1), return_inverse=True, return_counts=True)
        s = (1.0 / counts[inverse]).reshape(idx.shape + (1,)).astype(weight.dtype)
        # the value stays out; the gradient is scaled by 1/count (a constant keeps the rest)
        out = out * Tensor._wrap(s) + Tensor._wrap(out.data * (1 - s))
    return out


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors, ``weight`` ~ N(0, 1) with the row at
    ``padding_idx`` set to zero (it gets no gradient). ``max_norm``, ``norm_type`` and
    ``scale_grad_by_freq`` as in ``embedding``. Indices must lie in [0, num_embeddings)."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, max_norm=None,
                 norm_type=2.0, scale_grad_by_freq=False, sparse=False, _weight=None,
                 _freeze=False, device=None, dtype=None):
        if num_embeddings <= 0 or embedding_dim <= 0:
            raise ValueError(f"Embedding: sizes must be positive, got {num_embeddings}, "
                             f"{embedding_dim}")
        if sparse:
            raise ValueError("Embedding: sparse=True is not supported; gradients are dense")
        padding_idx = padding_index(padding_idx, num_embeddings, "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx, self.max_norm, self.norm_type = padding_idx, max_norm, norm_type
        self.scale_grad_by_freq, self.sparse = scale_grad_by_freq, sparse
        if _weight is None:
            self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype,
                                                   device=device), requires_grad=not _freeze)
            self.reset_parameters()
        else:
            if tuple(_weight.shape) != (num_embeddings, embedding_dim):
                raise ShapeError(f"Embedding: weight shape {tuple(_weight.shape)} does not "
                                 f"match ({num_embeddings}, {embedding_dim})")
            self.weight = Parameter(_weight, requires_grad=not _freeze)

    def reset_parameters(self):
        init.normal_(self.weight)
        if self.padding_idx is not None:
            self.weight.data[self.padding_idx] = 0

    @classmethod
    def from_pretrained(cls, embeddings, freeze=True, padding_idx=None, max_norm=None,
                        norm_type=2.0, scale_grad_by_freq=False, sparse=False):
        """An Embedding holding ``embeddings`` (a 2-D tensor or array, used as given: the
        padding row is not zeroed). ``freeze=True`` keeps the weight out of training
        (requires_grad False)."""
        t = embeddings if isinstance(embeddings, Tensor) else creation.tensor(embeddings)
        if t.ndim != 2:
            raise ShapeError(f"Embedding.from_pretrained: embeddings must be 2-D "
                             f"(num_embeddings, dim), got shape {tuple(t.shape)}")
        return cls(t.shape[0], t.shape[1], padding_idx, max_norm, norm_type,
                   scale_grad_by_freq, sparse, _weight=t, _freeze=freeze)

    def forward(self, indices):
        return embedding(indices, self.weight, self.padding_idx, self.max_norm, self.norm_type,
                         self.scale_grad_by_freq, _who="Embedding")

    def extra_repr(self):
        s = f"{self.num_embeddings}, {self.embedding_dim}"
        if self.padding_idx is not None:
            s += f", padding_idx={self.padding_idx}"
        if self.max_norm is not None:
            s += f", max_norm={self.max_norm}"
        if self.norm_type != 2:
            s += f", norm_type={self.norm_type}"
        if self.scale_grad_by_freq:
            s += f", scale_grad_by_freq={self.scale_grad_by_freq}"
        return s


class Dropout(Module):
    def __init__(self, p=0.5):
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


def _normalized_shape(shape):
    return (shape,) if isinstance(shape, int) else tuple(shape)


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5, *, _who="layer_norm"):
    """(x - mean) / sqrt(var + eps) * weight + bias over the last len(normalized_shape)
    dimensions (the biased variance, as PyTorch)."""
    shape = _normalized_shape(normalized_shape)
    n = len(shape)
    if not isinstance(input, Tensor) or input.dtype.kind != "f":
        raise TypeError(f"{_who}: input must be a floating-point Tensor, got "
                        f"{getattr(input, 'dtype', type(input).__name__)}")
    if n == 0 or tuple(input.shape[input.ndim - n:]) != shape or input.ndim < n:
        raise ShapeError(f"{_who}: expected input ending in {shape}, got shape "
                         f"{tuple(input.shape)}")
    for what, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ShapeError(f"{_who}: {what} must have the normalized shape {shape}, got "
                             f"{tuple(t.shape)}")
    axes = tuple(range(input.ndim - n, input.ndim))
    mean = input.mean(axes, keepdims=True)
    var = input.var(axes, keepdims=True, correction=0)
    y = (input - mean) / (var + eps).sqrt()
    if weight is not None:
        y = y * weight
    return y + bias if bias is not None else y


class LayerNorm(Module):
    """Normalise over the last ``len(normalized_shape)`` dimensions, then scale by ``weight``
    (ones) and shift by ``bias`` (zeros; none with bias=False)."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, bias=True,
                 device=None, dtype=None):
        shape = _normalized_shape(normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.elementwise_affine = elementwise_affine
        self.weight = self.bias = None
        if elementwise_affine:
            self.weight = Parameter(creation.ones(shape, dtype=dtype, device=device))
            if bias:
                self.bias = Parameter(creation.zeros(shape, dtype=dtype, device=device))

    def forward(self, x):
        return layer_norm(x, self.normalized_shape, self.weight, self.bias, self.eps,
                          _who="LayerNorm")

    def extra_repr(self):
        return (f"{self.normalized_shape}, eps={self.eps}, "
                f"elementwise_affine={self.elementwise_affine}")
