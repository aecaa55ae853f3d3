"""Feed-forward layers: Linear, Embedding, Dropout, LayerNorm (PyTorch's parameters and
initialisation)."""

from __future__ import annotations

import math

from ..autograd import ShapeError
from ..tensor import creation
from ..tensor.functions import dropout, embedding, padding_index
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
        y = x @ self.weight.T
        return y + self.bias if self.bias is not None else y

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Embedding(Module):
    """A lookup table of ``num_embeddings`` vectors; the row at ``padding_idx`` starts at zero
    and gets no gradient."""

    def __init__(self, num_embeddings, embedding_dim, padding_idx=None, dtype=None):
        if num_embeddings <= 0 or embedding_dim <= 0:
            raise ValueError(f"Embedding: sizes must be positive, got {num_embeddings}, "
                             f"{embedding_dim}")
        padding_idx = padding_index(padding_idx, num_embeddings, "Embedding")
        self.num_embeddings, self.embedding_dim = num_embeddings, embedding_dim
        self.padding_idx = padding_idx
        self.weight = Parameter(creation.empty(num_embeddings, embedding_dim, dtype=dtype))
        init.normal_(self.weight)
        if padding_idx is not None:
            self.weight.data[padding_idx] = 0

    def forward(self, indices):
        return embedding(indices, self.weight, self.padding_idx)

    def extra_repr(self):
        pad = f", padding_idx={self.padding_idx}" if self.padding_idx is not None else ""
        return f"{self.num_embeddings}, {self.embedding_dim}{pad}"


class Dropout(Module):
    def __init__(self, p=0.5):
        if not 0 <= p < 1:
            raise ValueError(f"Dropout: p must be in [0, 1), got {p}")
        self.p = p

    def forward(self, x):
        return dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class LayerNorm(Module):
    """Normalise over the last ``len(normalized_shape)`` dimensions, then scale and shift."""

    def __init__(self, normalized_shape, eps=1e-5, elementwise_affine=True, dtype=None):
        shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(
            normalized_shape)
        self.normalized_shape, self.eps = shape, eps
        self.weight = Parameter(creation.ones(shape, dtype=dtype)) if elementwise_affine else None
        self.bias = Parameter(creation.zeros(shape, dtype=dtype)) if elementwise_affine else None

    def forward(self, x):
        n = len(self.normalized_shape)
        if tuple(x.shape[x.ndim - n:]) != self.normalized_shape:
            raise ShapeError(f"LayerNorm: expected input ending in {self.normalized_shape}, got "
                             f"shape {tuple(x.shape)}")
        axes = tuple(range(x.ndim - n, x.ndim))
        mean = x.mean(axes, keepdims=True)
        var = x.var(axes, keepdims=True, correction=0)
        y = (x - mean) / (var + self.eps).sqrt()
        return y * self.weight + self.bias if self.weight is not None else y

    def extra_repr(self):
        return f"{self.normalized_shape}, eps={self.eps}"
