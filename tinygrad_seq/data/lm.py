"""Batching a long token stream for language modelling with truncated BPTT.

The stream is cut into ``batch`` parallel columns (``batchify``), and the columns are walked
``seq_len`` steps at a time (``bptt_chunks``). Carry the hidden state from one chunk to the
next and detach it, so each backward pass stops at the chunk boundary::

    data = batchify(tokens, batch=32)
    state = None
    for x, y in bptt_chunks(data, seq_len=64):
        out, state = model(x, state)
        loss = loss_fn(out, y)
        opt.zero_grad(); loss.backward(); opt.step()
        state = tuple(s.detach() for s in state)  # h (and c): keep the values, cut the graph

docs/bptt.md explains why.
"""

from __future__ import annotations

import numpy

from ..tensor import Tensor


def batchify(tokens, batch):
    """(N,) token ids -> (N // batch, batch) int64 columns, each a contiguous slice of the
    stream; the last ``N % batch`` tokens are dropped."""
    tokens = numpy.asarray(tokens.numpy() if isinstance(tokens, Tensor) else tokens)
    if tokens.ndim != 1:
        raise ValueError(f"batchify: expected a 1-D token stream, got shape {tokens.shape}")
    if batch < 1 or len(tokens) < batch:
        raise ValueError(f"batchify: cannot cut {len(tokens)} tokens into {batch} columns")
    n = len(tokens) // batch
    return tokens[:n * batch].reshape(batch, n).T.astype(numpy.int64)


def bptt_chunks(data, seq_len):
    """Yield (input, target) tensors of shape (T, batch), T <= seq_len, where the target is the
    input shifted by one step. ``data`` comes from ``batchify``."""
    data = numpy.asarray(data)
    if seq_len < 1:
        raise ValueError(f"bptt_chunks: seq_len must be at least 1, got {seq_len}")
    for start in range(0, data.shape[0] - 1, seq_len):
        end = min(start + seq_len, data.shape[0] - 1)
        yield Tensor(data[start:end]), Tensor(data[start + 1:end + 1])
