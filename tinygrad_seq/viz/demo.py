"""Small models whose unrolled graphs are worth looking at, for ``tinygrad-seq graph`` and the
documentation's pictures."""

from __future__ import annotations

import numpy

from ..backend import manual_seed
from ..nn.recurrent import KINDS
from ..nn.seq2seq import BOS, Seq2Seq
from ..tensor import Tensor
from ..tensor.creation import randn


def demo_model(kind="lstm", steps=4, layers=1, bidirectional=False, hidden=8, seed=0):
    """(model, loss) for a tiny model (a cell kind's layer, or "seq2seq") run over ``steps``
    steps, with the default layers (one whole-sequence node per layer direction, which
    drawings show as its steps); the loss is the sum of the last step's outputs."""
    if steps < 1 or layers < 1 or hidden < 1:
        raise ValueError(f"demo_model: steps, layers and hidden must be at least 1, got "
                         f"{steps}, {layers}, {hidden}")
    manual_seed(seed)
    if kind == "seq2seq":
        model = Seq2Seq(10, 10, embed_size=hidden, hidden_size=hidden, num_layers=layers,
                        bidirectional=bidirectional, attention="dot")
        rng = numpy.random.default_rng(seed)
        src = Tensor(rng.integers(4, 10, (1, steps)))
        tgt = Tensor(numpy.concatenate([[[BOS]], rng.integers(4, 10, (1, steps - 1))], 1))
        logits, _ = model(src, None, tgt)
        return model, logits.sum()
    if kind not in KINDS:
        raise ValueError(f"demo_model: unknown model {kind!r}; choose "
                         f"{', '.join(KINDS)} or seq2seq")
    model = KINDS[kind].layer(hidden, hidden, num_layers=layers, bidirectional=bidirectional)
    out, _ = model(randn(steps, 1, hidden))
    return model, out[-1].sum()
