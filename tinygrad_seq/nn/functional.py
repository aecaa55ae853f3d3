"""``torch.nn.functional`` for tinygrad_seq: losses and helpers composed from Tensor ops.

Nothing here is a primitive: each loss is a short composition of log_softmax, GetItem (integer
array indexing picks the target log-probabilities, so the backward is a scatter-add into the
picked positions only), Relu, Exp, Log, Where and the arithmetic ops, so autograd derives every
gradient, including second derivatives. Non-differentiable values (masks, index grids, the
validation of targets) are computed on raw ``xp`` arrays.

Shapes follow PyTorch: the class axis is 1 for inputs (N, C) and (N, C, d1, ...) and 0 for an
unbatched input (C,); class-index targets have the input's shape without the class axis.
"""

from __future__ import annotations

import warnings

import numpy

from ..autograd import ShapeError
from ..tensor import Tensor, functions
from ..tensor.functions import where
from .activation import erf, gelu, leaky_relu, logsigmoid, silu, softplus  # noqa: F401
from .attention import scaled_dot_product_attention  # noqa: F401  (PyTorch's place for it)
from .conv import conv1d, pad  # noqa: F401
from .layers import embedding, layer_norm  # noqa: F401  (beside their modules: see layers.py)

_REDUCTIONS = ("mean", "sum", "none")


# ---- helpers ----------------------------------------------------------------------------------


def _check_reduction(op, reduction):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{op}: unknown reduction {reduction!r}; use 'mean', 'sum' or 'none'")


def _check_float(op, what, t):
    if not isinstance(t, Tensor):
        raise TypeError(f"{op}: {what} must be a Tensor, got {type(t).__name__}")
    if t.dtype.kind != "f":
        raise TypeError(f"{op}: {what} must be floating point, got {t.dtype}")


def _as_tensor(x, like):
    """A Tensor for ``x`` (kept as is when it already is one), on ``like``'s backend."""
    return x if isinstance(x, Tensor) else Tensor._wrap(like.xp.asarray(x))


def _constant(array):
    return Tensor._wrap(array)


def _safe_div(total, denom):
    """total / denom, but nan (with zero gradients, as PyTorch gives) where denom == 0.

    Dividing by a zero denominator would also give nan, but its backward multiplies 0 by inf
    and spreads nan into every gradient; this divides by 1 there and adds a constant nan."""
    zero = (denom == 0).data
    xp = denom.xp
    safe = denom + _constant(zero.astype(denom.dtype))  # 1 where denom is 0, denom elsewhere
    nan = _constant(xp.where(zero, numpy.nan, 0.0).astype(denom.dtype))
    return total / safe + nan


def _reduce(loss, reduction):
    """'none': the elementwise loss; 'sum': sum_i loss_i; 'mean': sum_i loss_i / n (nan for
    an empty loss, as in PyTorch)."""
    if reduction == "none":
        return loss
    total = loss.sum()
    if reduction == "sum":
        return total
    return _safe_div(total, _constant(loss.xp.asarray(loss.numel(), dtype=loss.dtype)))


def _class_axis(op, input):
    _check_float(op, "input", input)
    if input.ndim == 0:
        raise ShapeError(f"{op}: input must have a class axis: shape (C,), (N, C) or "
                         f"(N, C, d1, ...); got a 0-d tensor")
    return 0 if input.ndim == 1 else 1


def _class_weight(op, weight, input, n_classes):
    """The per-class weight as a tensor of the input's dtype, or None."""
    if weight is None:
        return None
    weight = _as_tensor(weight, input)
    if tuple(weight.shape) != (n_classes,):
        raise ShapeError(f"{op}: weight must have shape ({n_classes},), one entry per class of "
                         f"input shape {tuple(input.shape)}; got {tuple(weight.shape)}")
    return weight.astype(input.dtype)


def _class_targets(op, input, target, ignore_index):
    """Check class-index targets: integer dtype, the input's shape without the class axis, and
    every value in [0, C) or equal to ``ignore_index``. Returns the target array."""
    tgt = target.data if isinstance(target, Tensor) else input.xp.asarray(target)
    cax = 0 if input.ndim == 1 else 1
    expected = tuple(input.shape[:cax]) + tuple(input.shape[cax + 1:])
    if tgt.dtype.kind not in "iu":
        hint = (f" (probability targets must be floating point with the input's shape "
                f"{tuple(input.shape)})" if op == "cross_entropy" else "")
        raise TypeError(f"{op}: class-index targets must be integers, got {tgt.dtype} target of "
                        f"shape {tuple(tgt.shape)}{hint}")
    if tuple(tgt.shape) != expected:
        raise ShapeError(f"{op}: target shape {tuple(tgt.shape)} does not match input shape "
                         f"{tuple(input.shape)}: class-index targets need shape {expected} "
                         f"(the input without its class axis {cax})")
    n = input.shape[cax]
    bad = ((tgt < 0) | (tgt >= n)) & (tgt != ignore_index)
    if bad.any():
        value = int(tgt[bad].reshape(-1)[0])
        raise IndexError(f"{op}: target value {value} is out of range for {n} classes "
                         f"(expected 0 <= target < {n}, or ignore_index={ignore_index})")
    return tgt


def _pick(logp, tgt, cax):
    """logp[n, tgt[n, d...], d...] for every target position: a GetItem with integer arrays
    (one grid per non-class axis, broadcast against the target), shaped like the target."""
    xp = logp.xp
    nd = tgt.ndim
    index = [xp.arange(size).reshape([-1 if i == k else 1 for i in range(nd)])
             for k, size in enumerate(tgt.shape)]
    index.insert(cax, tgt)
    return logp[tuple(index)]


def _nll(op, logp, target, weight, ignore_index, reduction, label_smoothing):
    """The negative log-likelihood of class-index targets, shared by nll_loss and cross_entropy.

    With m_i = [t_i != ignore_index] and w_i = weight[t_i] * m_i (or m_i without weights),

        l_i = (1 - eps) * (-w_i * logp[i, t_i]) + (eps / C) * m_i * (-sum_c weight_c logp[i, c])

    'mean' divides sum_i l_i by sum_i w_i (PyTorch's weighted mean; nan when every target is
    ignored), 'sum' sums, 'none' returns l (0 at ignored positions)."""
    cax = 0 if logp.ndim == 1 else 1
    n = logp.shape[cax]
    weight = _class_weight(op, weight, logp, n)
    tgt = _class_targets(op, logp, target, ignore_index)
    xp = logp.xp
    keep = tgt != ignore_index
    safe = xp.where(keep, tgt, 0)  # ignored positions pick class 0, then get weight 0
    mask = _constant(keep.astype(logp.dtype))
    w = mask if weight is None else weight[safe] * mask  # (N, d1, ...)
    # ignored positions are selected away, not multiplied by 0: their logits may be nan or inf
    # (padding), and 0 * nan would poison the sum, as it does not in PyTorch
    kept = _constant(keep)
    loss = -where(kept, _pick(logp, safe, cax) * w, 0.0)
    if label_smoothing:
        wl = logp if weight is None else logp * weight.reshape((n,) + (1,) * (logp.ndim - cax - 1))
        smooth = -where(kept, wl.sum(cax), 0.0)  # -sum_c weight_c logp_c, 0 where ignored
        loss = loss * (1 - label_smoothing) + smooth * (label_smoothing / n)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return _safe_div(loss.sum(), w.sum())


# ---- losses -----------------------------------------------------------------------------------


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood of class indices given log-probabilities ``input``:
    l_i = -weight[t_i] * input[i, t_i], reduced as in cross_entropy."""
    _check_reduction("nll_loss", reduction)
    _class_axis("nll_loss", input)
    return _nll("nll_loss", input, target, weight, ignore_index, reduction, 0.0)


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean",
                  label_smoothing=0.0):
    """Cross entropy between logits ``input`` and ``target``: nll_loss(log_softmax(input)).

    ``target`` holds class indices (integers, the input's shape without the class axis) or
    class probabilities (floating point, the input's shape). For probabilities q,

        l_i = -sum_c weight_c * q'[i, c] * log_softmax(input)[i, c],  q' = (1 - eps) q + eps / C

    and 'mean' divides by the number of rows (numel / C), as PyTorch does; ``ignore_index`` does
    not apply to probabilities. For class indices see ``_nll``: label smoothing mixes in the
    uniform distribution over the C classes."""
    op = "cross_entropy"
    _check_reduction(op, reduction)
    cax = _class_axis(op, input)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{op}: label_smoothing must be in [0, 1], got {label_smoothing}")
    logp = input.log_softmax(dim=cax)
    tshape = tuple(target.shape) if hasattr(target, "shape") else None
    if tshape != tuple(input.shape):  # PyTorch's rule: the input's shape means probabilities
        return _nll(op, logp, target, weight, ignore_index, reduction, label_smoothing)
    target = _as_tensor(target, input)
    if target.dtype.kind != "f":
        raise TypeError(f"{op}: a target of the input's shape {tshape} holds class "
                        f"probabilities and must be floating point, got {target.dtype} (class "
                        f"indices have the input's shape without the class axis {cax})")
    n = input.shape[cax]
    q = target.astype(input.dtype)
    if label_smoothing:
        q = q * (1 - label_smoothing) + label_smoothing / n
    weight = _class_weight(op, weight, input, n)
    if weight is not None:
        logp = logp * weight.reshape((n,) + (1,) * (input.ndim - cax - 1))
    loss = -(logp * q).sum(cax)  # (N, d1, ...)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    rows = _constant(input.xp.asarray(input.numel() // max(n, 1), dtype=input.dtype))
    return _safe_div(loss.sum(), rows)


def mse_loss(input, target, reduction="mean"):
    """Mean squared error: l_i = (input_i - target_i)^2, reduced. Both must have one shape
    (PyTorch only warns and broadcasts; a silent broadcast is almost always a bug)."""
    _check_reduction("mse_loss", reduction)
    _check_float("mse_loss", "input", input)
    target = _as_tensor(target, input)
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(f"mse_loss: target shape {tuple(target.shape)} does not match input "
                         f"shape {tuple(input.shape)}")
    d = input - target.astype(input.dtype)
    return _reduce(d * d, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean",
                                     pos_weight=None):
    """Binary cross entropy of logits x against targets t in [0, 1], without forming sigmoid:

        l = weight * [(1 - t) x - (1 + (pos_weight - 1) t) logsigmoid(x)]

    logsigmoid(x) = min(x, 0) - log1p(exp(-|x|)) (activation.py): no exp overflows, and its
    gradient 1 - sigmoid(x) stays finite at x = +-inf, so dl/dx = (1 - t) - c sigmoid(-x) there
    too (0 or -pos_weight * t at -inf, as PyTorch), where the value itself may be inf - inf."""
    op = "binary_cross_entropy_with_logits"
    _check_reduction(op, reduction)
    _check_float(op, "input", input)
    target = _as_tensor(target, input)
    if target.dtype.kind != "f":
        raise TypeError(f"{op}: target must be floating point (probabilities in [0, 1]), got "
                        f"{target.dtype}")
    if tuple(target.shape) != tuple(input.shape):
        raise ShapeError(f"{op}: target shape {tuple(target.shape)} does not match input shape "
                         f"{tuple(input.shape)}")
    x, t = input, target.astype(input.dtype)
    log_p = logsigmoid(x)  # log sigmoid(x) = -softplus(-x)
    if pos_weight is not None:
        pw = _as_tensor(pos_weight, input).astype(input.dtype)
        log_p = log_p * ((pw - 1) * t + 1)
    loss = (1 - t) * x - log_p
    if weight is not None:
        loss = loss * _as_tensor(weight, input).astype(input.dtype)
    return _reduce(loss, reduction)


# ---- activations and layers -------------------------------------------------------------------


def _softmax_dim(op, input, dim):
    """PyTorch's legacy choice when ``dim`` is omitted (0 for 0-, 1- and 3-d inputs, else 1),
    with PyTorch's deprecation warning."""
    if dim is not None:
        return dim
    warnings.warn(f"{op}: implicit dimension choice is deprecated; pass dim=", stacklevel=3)
    return 0 if input.ndim in (0, 1, 3) else 1


def softmax(input, dim=None, dtype=None):
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) along ``dim`` (Softmax primitive)."""
    x = input if dtype is None else input.astype(dtype)
    return x.softmax(dim=_softmax_dim("softmax", input, dim))


def log_softmax(input, dim=None, dtype=None):
    """log_softmax(x)_i = x_i - log sum_j exp(x_j) along ``dim`` (LogSoftmax primitive)."""
    x = input if dtype is None else input.astype(dtype)
    return x.log_softmax(dim=_softmax_dim("log_softmax", input, dim))


def relu(input):
    return input.relu()


def sigmoid(input):
    return input.sigmoid()


def tanh(input):
    return input.tanh()


def dropout(input, p=0.5, training=True, inplace=False):
    """Inverted dropout (see tinygrad_seq.tensor.functions.dropout); ``inplace`` is not supported
    because an in-place write would corrupt the graph."""
    if inplace:
        raise ValueError("dropout: inplace=True is not supported; use the returned tensor")
    return functions.dropout(input, p, training)


def linear(input, weight, bias=None):
    """y = x W^T + b, with W of shape (out_features, in_features) (one Linear op)."""
    return functions.linear(input, weight, bias)


def normalize(input, p=2.0, dim=1, eps=1e-12):
    """v / max(||v||_p, eps) for each vector v along ``dim`` (PyTorch's default: dim 1, the
    feature axis of a batch)."""
    _check_float("normalize", "input", input)
    if input.ndim == 0 or not -input.ndim <= dim < input.ndim:
        raise ShapeError(f"normalize: dim {dim} is out of range for input shape "
                         f"{tuple(input.shape)}")
    return input / input.norm(p, dim, keepdim=True).clip(min=eps)


def one_hot(tensor, num_classes=-1):
    """int64 tensor of shape (*tensor.shape, num_classes) with a 1 at each index; with
    num_classes=-1 the count is max + 1. Not differentiable (the result is integers)."""
    idx = tensor.data if isinstance(tensor, Tensor) else numpy.asarray(tensor)
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected an integer tensor of class indices, got {idx.dtype}")
    if num_classes == -1:
        if idx.size == 0:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass it")
        num_classes = int(idx.max()) + 1
    if num_classes < 0:
        raise ValueError(f"one_hot: num_classes must be -1 or >= 0, got {num_classes}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {int(idx.min())}")
    if idx.size and idx.max() >= num_classes:
        raise ValueError(f"one_hot: class value {int(idx.max())} is out of range for "
                         f"num_classes={num_classes}")
    xp = tensor.xp if isinstance(tensor, Tensor) else numpy
    return Tensor._wrap((idx[..., None] == xp.arange(num_classes)).astype(numpy.int64))
