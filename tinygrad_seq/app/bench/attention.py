"""Attention benchmarks, side by side with PyTorch (when installed), in float32: scaled
dot-product attention and MultiheadAttention, forward then backward of ``out.sum()``.

Results have the format of ``ops.tiny_ops`` (side -> phase -> median seconds);
``tinygrad-seq bench attention`` prints them.
"""

from __future__ import annotations

import time

import numpy

import tinygrad_seq as ts
from tinygrad_seq.nn.attention import MultiheadAttention, scaled_dot_product_attention

from .timing import alternate_blocks, torch_module


def _timed(forward, leaves):
    """A zero-argument run: ``forward()`` then backward of its sum, timed per phase."""
    def run():
        for x in leaves:
            x.grad = None
        t0 = time.perf_counter()
        loss = forward().sum()
        t1 = time.perf_counter()
        loss.backward()
        t2 = time.perf_counter()
        return {"forward": t1 - t0, "backward": t2 - t1, "total": t2 - t0}
    return run


def _sdpa_side(lib, attend, arrays):
    q, k, v = (lib.tensor(a, requires_grad=True) for a in arrays)
    return _timed(lambda: attend(q, k, v), [q, k, v])


def sdpa(batch=32, heads=4, steps=64, head_dim=64):
    """softmax(Q Kᵀ/√d) V forward + backward, Q, K, V of shape (batch, heads, steps, head_dim),
    against ``torch.nn.functional.scaled_dot_product_attention``."""
    rng = numpy.random.default_rng(0)
    arrays = [rng.standard_normal((batch, heads, steps, head_dim)).astype(numpy.float32)
              for _ in range(3)]
    sides = {"tinygrad_seq": _sdpa_side(ts, scaled_dot_product_attention, arrays)}
    torch = torch_module()
    if torch is not None:
        sides["pytorch"] = _sdpa_side(torch, torch.nn.functional.scaled_dot_product_attention,
                                      arrays)
    return alternate_blocks(sides)


def _mha_side(lib, mha, x):
    x = lib.tensor(x, requires_grad=True)
    return _timed(lambda: mha(x, x, x, need_weights=False)[0], [x, *mha.parameters()])


def mha(batch=32, heads=4, steps=64, embed=256):
    """Self-attention of a (batch, steps, embed) input through MultiheadAttention (batch_first,
    no weights returned), forward + backward, with PyTorch's weights copied into ours."""
    x = numpy.random.default_rng(1).standard_normal((batch, steps, embed)).astype(numpy.float32)
    ours = MultiheadAttention(embed, heads, batch_first=True)
    sides = {"tinygrad_seq": _mha_side(ts, ours, x)}
    torch = torch_module()
    if torch is not None:
        theirs = torch.nn.MultiheadAttention(embed, heads, batch_first=True)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        sides["pytorch"] = _mha_side(torch, theirs, x)
    return alternate_blocks(sides)



def attention():
    return {"sdpa fwd+bwd B=32 heads=4 T=64 D=64": sdpa(),
            "mha fwd+bwd B=32 heads=4 T=64 E=256": mha()}
