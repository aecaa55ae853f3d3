"""``tinygrad-seq demo vanishing``: how far back can an RNN, an LSTM and a GRU remember?

Each is trained on the adding problem (``data.adding_problem``: the target is the sum of two
marked values, the first in the first half of the sequence) at increasing sequence lengths,
and scored on held-out sequences. The longer the sequence, the further back the first value
lies; a vanilla RNN's gradient to it passes through one tanh Jacobian per step and fades, the
gated cells' additive paths carry it. The table and plot are the measurement; the
gradient-flow figure (``viz.plots.gradient_flow``) shows the cause at initialisation.

Everything here is the measured outcome of a fixed seed and budget: a longer budget moves
every curve to the right, the ordering is what the lecture predicts.
"""

from __future__ import annotations

import dataclasses
import os

import numpy

from .. import nn
from ..autograd import no_grad
from ..backend import manual_seed
from ..data import adding_problem
from ..nn import functional as F
from ..nn.recurrent import KINDS as CELLS
from ..optim import Adam
from ..tensor import Tensor

KINDS = ("rnn", "lstm", "gru")
FILES = ("accuracy.md", "accuracy.png", "gradient_flow.png")
TOLERANCE = 0.1  # a prediction counts as right when within this of the true sum


@dataclasses.dataclass
class Config:
    lengths: tuple = (10, 25, 50, 100)
    kinds: tuple = KINDS
    iterations: int = 800
    hidden: int = 32
    batch: int = 32
    lr: float = 1e-2
    clip: float = 1.0
    heldout: int = 1000
    seed: int = 0


class _Regressor(nn.Module):
    def __init__(self, kind, hidden):
        self.rnn = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}[kind](2, hidden)
        self.out = nn.Linear(hidden, 1)

    def forward(self, x):  # x (T, B, 2) -> (B,), read at the last step
        out, _ = self.rnn(x)
        return self.out(out[-1])[:, 0]


def accuracy(kind, length, config):
    """Train one ``kind`` model on sequences of ``length`` steps; the fraction of held-out sums
    it predicts within TOLERANCE."""
    manual_seed(config.seed)
    rng = numpy.random.default_rng(config.seed)
    model = _Regressor(kind, config.hidden)
    opt = Adam(model.parameters(), lr=config.lr)
    for _ in range(config.iterations):
        x, y = adding_problem(length, config.batch, rng)
        loss = F.mse_loss(model(Tensor(x)), Tensor(y))
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), config.clip)
        opt.step()
    x, y = _heldout(length, config)
    with no_grad():
        return float((numpy.abs(model(Tensor(x)).numpy() - y) < TOLERANCE).mean())


def chance(length, config):
    """The score of always answering 1.0, the mean sum: what "learned nothing" scores."""
    _, y = _heldout(length, config)
    return float((numpy.abs(1.0 - y) < TOLERANCE).mean())


def _heldout(length, config):
    # its own stream, so every model is scored on the same sequences
    return adding_problem(length, config.heldout, numpy.random.default_rng(config.seed + 1))


def run(config, out=None, progress=False):
    """Train every kind at every length; returns {kind: [accuracy per length]} and, with
    ``out``, writes accuracy.md, accuracy.png and gradient_flow.png there."""
    from tqdm import tqdm
    pairs = [(k, n) for n in config.lengths for k in config.kinds]
    results = {k: [] for k in config.kinds}
    for kind, length in tqdm(pairs, desc="demo vanishing", disable=not progress):
        results[kind].append(accuracy(kind, length, config))
    if out is not None:
        os.makedirs(out, exist_ok=True)
        md, accuracy_png, flow_png = (os.path.join(out, f) for f in FILES)
        with open(md, "w", encoding="utf-8") as f:
            f.write(table(config, results) + "\n")
        from ..viz.plots import gradient_flow, plot_accuracy
        plot_accuracy(config.lengths, results, [chance(n, config) for n in config.lengths],
                      path=accuracy_png,
                      title=f"Adding problem, {config.iterations} iterations of batch "
                            f"{config.batch}, hidden {config.hidden}")
        gradient_flow(kinds=config.kinds, steps=max(config.lengths), clip=False,
                      path=flow_png)
    return results


def table(config, results):
    """A Markdown table: one row per sequence length, one column per kind, plus chance."""
    head = ["sequence length"] + [CELLS[k].title for k in config.kinds] + ["chance (always 1.0)"]
    rows = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for i, length in enumerate(config.lengths):
        cells = [str(length)] + [f"{results[k][i]:.1%}" for k in config.kinds]
        rows.append("| " + " | ".join(cells + [f"{chance(length, config):.1%}"]) + " |")
    return "\n".join(rows)
