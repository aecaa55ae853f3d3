"""Packed sequences, as ``torch.nn.utils.rnn`` (reached as ``ts.nn.utils.rnn``).

A ``PackedSequence`` holds a batch of variable-length sequences without padding: ``data``
(sum of lengths, *) lists the sequences' step-0 rows, then their step-1 rows, and so on,
longest sequence first; ``batch_sizes`` (T,) says how many sequences are still running at each
step; ``sorted_indices`` (None when the caller sorted them) gives, for each position of that
longest-first order, the sequence's place in the caller's batch, and ``unsorted_indices`` the
inverse. For lengths [2, 1, 3] and enforce_sorted=False: sorted_indices [2, 0, 1],
batch_sizes [3, 2, 1], data rows (t=0: s2 s0 s1), (t=1: s2 s0), (t=2: s2).

Packing and unpacking are each one gather (an integer index, so ``GetItem``), which keeps the
gradient flowing between the padded tensor and ``data``. The recurrent layers take a
PackedSequence by unpacking it to padded + lengths, running their ``lengths=`` path and packing
the output back in the same order (layer.py).
"""

from __future__ import annotations

from collections import namedtuple

import numpy

from ..autograd import ShapeError
from ..tensor import Tensor
from ..tensor.functions import cat, stack

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence",
           "pad_packed_sequence", "pad_sequence", "unpad_sequence", "pack_sequence",
           "unpack_sequence"]

_Fields = namedtuple("PackedSequence", "data batch_sizes sorted_indices unsorted_indices")


class PackedSequence(_Fields):
    """``(data, batch_sizes, sorted_indices, unsorted_indices)`` (see the module docstring);
    made by ``pack_padded_sequence`` and ``pack_sequence``. ``batch_sizes`` is an int64 tensor
    on the CPU, the indices int64 tensors on ``data``'s device (or None)."""

    __slots__ = ()

    def __new__(cls, data, batch_sizes=None, sorted_indices=None, unsorted_indices=None):
        if batch_sizes is None:  # PyTorch also takes (data, batch_sizes) as the first argument
            data, batch_sizes = data
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def to(self, *args, **kwargs):
        """``data`` converted (``Tensor.to``); the indices follow it to its device."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        indices = [None if t is None else t.to(data.device)
                   for t in (self.sorted_indices, self.unsorted_indices)]
        return type(self)(data, self.batch_sizes, *indices)

    def float(self):
        return self.to(dtype=numpy.float32)

    def double(self):
        return self.to(dtype=numpy.float64)


def invert_permutation(permutation):
    """The inverse of a 1-D permutation tensor (None for None)."""
    if permutation is None:
        return None
    p = permutation.data
    inverse = permutation.xp.empty_like(p)
    inverse[p] = permutation.xp.arange(p.shape[0], dtype=p.dtype)
    return Tensor._wrap(inverse)


# ---- packing ------------------------------------------------------------------------------------
def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch, input (T, B, *) or (B, T, *) with ``batch_first``; sequence b
    has its first ``lengths[b]`` steps. With ``enforce_sorted`` the lengths must already be in
    decreasing order; otherwise the batch is sorted here (and ``sorted_indices`` records how)."""
    return _pack(input, lengths, batch_first, enforce_sorted, "pack_padded_sequence")


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of (L_b, *) tensors: ``pad_sequence`` then ``pack_padded_sequence``."""
    sequences = _sequences(sequences, "pack_sequence")
    return _pack(pad_sequence(sequences), [s.shape[0] for s in sequences], False,
                 enforce_sorted, "pack_sequence")


def _pack(input, lengths, batch_first, enforce_sorted, who):
    if not isinstance(input, Tensor) or input.ndim < 2:
        raise TypeError(f"{who}: input must be a tensor of at least 2 dimensions (time and "
                        f"batch), got {_describe(input)}")
    steps, batch = (input.shape[1], input.shape[0]) if batch_first else input.shape[:2]
    lens = _lengths(lengths, who)
    if lens.shape[0] != batch or batch == 0:
        raise ShapeError(f"{who}: expected {batch} lengths (one per sequence of the batch), "
                         f"got {lens.shape[0]}" + (" (an empty batch)" if batch == 0 else ""))
    if lens.min() <= 0:
        raise RuntimeError(f"{who}: every length must be at least 1, but found a length of "
                           f"{lens.min()} (PyTorch: length of all samples has to be greater "
                           f"than 0)")
    if lens.max() > steps:
        raise RuntimeError(f"{who}: a length of {lens.max()} is longer than the padded "
                           f"input's {steps} steps")
    if enforce_sorted:
        if (numpy.diff(lens) > 0).any():
            raise RuntimeError(f"{who}: `lengths` array must be sorted in decreasing order "
                               f"when `enforce_sorted` is True (got {lens.tolist()}); pass "
                               f"enforce_sorted=False to pack unsorted sequences")
        order = None
    else:
        order = numpy.argsort(-lens, kind="stable")  # PyTorch's stable descending sort
    batch_sizes = (lens[None, :] > numpy.arange(lens.max())[:, None]).sum(1)  # (T',)
    rows = _rows(batch_sizes, order, batch, steps, batch_first)
    data = input.reshape(batch * steps, *input.shape[2:])[input.xp.asarray(rows)]  # (N, *)
    sorted_indices = None if order is None else Tensor._wrap(input.xp.asarray(order))
    return PackedSequence(data, Tensor._wrap(batch_sizes.astype(numpy.int64)), sorted_indices)


def _rows(batch_sizes, order, batch, steps, batch_first):
    """Where each packed row sits in the padded tensor flattened to (B*T or T*B, *): step t
    of the sequence at sorted position j is the caller's sequence ``order[j]``."""
    order = numpy.arange(batch) if order is None else order
    t = numpy.arange(len(batch_sizes))[:, None]
    running = numpy.arange(batch)[None, :] < batch_sizes[:, None]  # (T', B) in sorted order
    flat = order[None, :] * steps + t if batch_first else t * batch + order[None, :]
    return flat[running]  # row-major: step by step, longest sequence first


def packed_like(padded, packed):
    """``padded`` (T, B, *), in the caller's batch order, packed with the lengths and order of
    ``packed``: how a recurrent layer returns its output for a packed input."""
    batch_sizes, order = _batch_sizes(packed), _order(packed.sorted_indices)
    steps, batch = padded.shape[:2]
    rows = _rows(batch_sizes, order, batch, steps, False)
    data = padded.reshape(steps * batch, *padded.shape[2:])[padded.xp.asarray(rows)]
    return PackedSequence(data, packed.batch_sizes, packed.sorted_indices,
                          packed.unsorted_indices)


# ---- unpacking ----------------------------------------------------------------------------------
def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """(padded, lengths): the packed batch as (T, B, *) (or (B, T, *)), T the longest length
    or ``total_length``, padded with ``padding_value``, in the caller's batch order; lengths
    an int64 tensor (B,)."""
    who = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"{who}: expected a PackedSequence, got {_describe(sequence)}")
    batch_sizes, data = _batch_sizes(sequence), sequence.data
    steps = len(batch_sizes)
    if total_length is not None:
        if total_length < steps:
            raise ValueError(f"{who}: Expected total_length to be at least the length of the "
                             f"longest sequence in input, but got total_length={total_length} "
                             f"and max sequence length being {steps}")
        steps = total_length
    batch = int(batch_sizes[0])
    lengths = (batch_sizes[None, :] > numpy.arange(batch)[:, None]).sum(1)  # by sorted position
    unsorted = sequence.unsorted_indices
    at = numpy.arange(batch) if unsorted is None else _order(unsorted)  # b's sorted position
    starts = numpy.concatenate([[0], numpy.cumsum(batch_sizes)[:-1]])  # first row of each step
    t = numpy.arange(steps)[:, None]
    rows = numpy.where(t < lengths[at][None, :], starts[numpy.minimum(t, len(starts) - 1)]
                       + at[None, :], data.shape[0])  # (T, B); row N is the padding row below
    fill = Tensor._wrap(data.xp.full((1, *data.shape[1:]), padding_value, dtype=data.dtype))
    padded = cat([data, fill])[data.xp.asarray(rows.T if batch_first else rows)]
    return padded, Tensor._wrap(lengths[at].astype(numpy.int64))


def unpack_sequence(packed_sequences):
    """The packed batch as a list of (L_b, *) tensors, in the caller's order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


# ---- padding ------------------------------------------------------------------------------------
def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Stack (L_b, *) tensors into (T, B, *) (or (B, T, *)), T the longest L_b, each padded
    with ``padding_value`` after its steps (before them with ``padding_side="left"``)."""
    who = "pad_sequence"
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"{who}: Expected padding_side to be one of left or right, but got "
                           f"{padding_side}.")
    sequences = _sequences(sequences, who)
    rest = sequences[0].shape[1:]
    for k, s in enumerate(sequences):
        if s.shape[1:] != rest:
            raise ShapeError(f"{who}: every sequence must have the trailing shape {rest} of "
                             f"the first, but sequence {k} has shape {tuple(s.shape)}")
    steps, padded = max(s.shape[0] for s in sequences), []
    for s in sequences:
        if s.shape[0] == steps:
            padded.append(s)
            continue
        fill = Tensor._wrap(s.xp.full((steps - s.shape[0], *rest), padding_value, dtype=s.dtype))
        pieces = [s, fill] if padding_side == "right" else [fill, s]
        padded.append(cat(pieces))  # an empty sequence too: it still gets its (empty) grad
    return stack(padded, 0 if batch_first else 1)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The padded batch as a list of (L_b, *) tensors (the inverse of ``pad_sequence``)."""
    lens = _lengths(lengths, "unpad_sequence")
    if batch_first:
        return [padded_sequences[b, :n] for b, n in enumerate(lens.tolist())]
    return [padded_sequences[:n, b] for b, n in enumerate(lens.tolist())]


# ---- arguments ----------------------------------------------------------------------------------
def _sequences(sequences, who):
    if isinstance(sequences, Tensor):  # PyTorch iterates over a tensor's first dimension
        sequences = [sequences[k] for k in range(sequences.shape[0])]
    try:
        sequences = list(sequences)
    except TypeError:
        raise TypeError(f"{who}: expected a list of tensors, got "
                        f"{type(sequences).__name__}") from None
    if not sequences:
        raise RuntimeError(f"{who}: received an empty list of sequences")
    for k, s in enumerate(sequences):
        if not isinstance(s, Tensor) or s.ndim < 1:
            raise TypeError(f"{who}: sequence {k} must be a tensor of at least 1 dimension "
                            f"(its steps), got {_describe(s)}")
    return sequences


def _lengths(lengths, who):
    """Lengths (a list, an array or a tensor) as a 1-D int64 host array."""
    if isinstance(lengths, Tensor):
        lengths = lengths.numpy()
    lens = numpy.asarray(lengths)
    if lens.ndim != 1 or (lens.size and lens.dtype.kind not in "iu"):
        raise TypeError(f"{who}: lengths must be a 1-D list or tensor of integers, got "
                        f"{lens.dtype} of shape {lens.shape}")
    return lens.astype(numpy.int64)


def _batch_sizes(packed):
    return numpy.asarray(packed.batch_sizes.numpy(), dtype=numpy.int64)


def _order(indices):
    return None if indices is None else numpy.asarray(indices.numpy(), dtype=numpy.int64)


def _describe(x):
    return f"shape {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__
