"""Decoding a Seq2Seq model: greedy, temperature sampling and beam search.

Every function returns, per source sequence, ``Hypothesis`` objects holding the output token
ids (without BOS/EOS), their log-probability score and the attention weights of every decoded
step, (steps, S), ready to be plotted as a source x output heatmap (None without attention).
"""

from __future__ import annotations

import dataclasses

import numpy

from ..autograd import no_grad
from ..tensor import Tensor
from .seq2seq import BOS, EOS


@dataclasses.dataclass
class Hypothesis:
    tokens: list
    score: float
    attention: numpy.ndarray | None


def _select(state, index):
    """Rows ``index`` of a decoder state (L, B, H), or of both parts of an LSTM state."""
    if isinstance(state, tuple):
        return tuple(s[:, index] for s in state)
    return state[:, index]


def _log_probs(logits):
    return logits.log_softmax(-1).numpy().astype(numpy.float64)


@no_grad()
def _step_by_step(model, src, src_lengths, max_len, choose):
    """Shared loop of greedy decoding and sampling; ``choose(log_probs) -> token ids``."""
    memory, mask, state = model.encode(src, src_lengths)
    batch = memory.shape[0]
    tokens = numpy.full(batch, BOS)
    done = numpy.zeros(batch, dtype=bool)
    outputs = [[] for _ in range(batch)]
    scores = numpy.zeros(batch)
    steps = [[] for _ in range(batch)]  # attention rows per sequence
    feed = None
    for _ in range(max_len):
        logits, state, feed, weights = model.decoder.step(Tensor(tokens), state, memory, mask,
                                                          feed)
        logp = _log_probs(logits)
        tokens = choose(logp)
        for b in numpy.flatnonzero(~done):
            scores[b] += logp[b, tokens[b]]
            if weights is not None:
                steps[b].append(weights.numpy()[b])
            if tokens[b] == EOS:
                done[b] = True
            else:
                outputs[b].append(int(tokens[b]))
        if done.all():
            break
    return [[Hypothesis(outputs[b], float(scores[b]),
                        numpy.array(steps[b]) if steps[b] else None)] for b in range(batch)]


def greedy(model, src, src_lengths=None, max_len=50):
    """The most likely token at every step."""
    return _step_by_step(model, src, src_lengths, max_len, lambda logp: logp.argmax(-1))


def sample(model, src, src_lengths=None, max_len=50, temperature=1.0, rng=None):
    """Tokens drawn from softmax(logits / temperature): low temperatures approach greedy,
    high ones flatten the distribution."""
    if temperature <= 0:
        raise ValueError(f"sample: temperature must be positive, got {temperature}")
    rng = rng if rng is not None else numpy.random.default_rng()

    def choose(logp):
        z = logp / temperature
        p = numpy.exp(z - z.max(-1, keepdims=True))
        p /= p.sum(-1, keepdims=True)
        return numpy.array([rng.choice(len(row), p=row) for row in p])

    return _step_by_step(model, src, src_lengths, max_len, choose)


def length_penalty(length, alpha):
    """GNMT's length normalisation (Wu et al. 2016): ((5 + length) / 6) ** alpha; alpha = 0
    ranks by raw log-probability, larger alpha favours longer outputs."""
    return ((5 + length) / 6) ** alpha


@no_grad()
def beam_search(model, src, src_lengths=None, beam_width=5, max_len=50, alpha=0.0, n_best=1):
    """Keep the ``beam_width`` most likely partial outputs at every step; a hypothesis ends at
    EOS, and the search stops once ``beam_width`` have ended (or at ``max_len``). Returns the
    ``n_best`` ended hypotheses per source, best first, ranked by score / length_penalty."""
    if beam_width < 1 or not 1 <= n_best <= beam_width:
        raise ValueError(f"beam_search: need beam_width >= 1 and 1 <= n_best <= beam_width, "
                         f"got beam_width={beam_width}, n_best={n_best}")
    memory, mask, state = model.encode(src, src_lengths)
    results = []
    for b in range(memory.shape[0]):
        results.append(_beam_one(model, memory[b:b + 1], mask[b:b + 1],
                                 _select(state, [b]), beam_width, max_len, alpha, n_best))
    return results


def _beam_one(model, memory, mask, state, width, max_len, alpha, n_best):
    alive = [([], 0.0, [])]  # (tokens, log-prob, attention rows)
    finished = []
    feed = None
    last = numpy.array([BOS])
    for _ in range(max_len):
        n = len(alive)
        rows = [0] * n
        logits, state, feed, weights = model.decoder.step(
            Tensor(last), state, memory[rows], mask[rows], feed)
        logp = _log_probs(logits)
        total = numpy.array([s for _, s, _ in alive])[:, None] + logp  # (n, V)
        # the best 2 * width continuations always hold width that do not end; an ending one
        # counts only when it ranks within the best width (so width 1 is exactly greedy)
        order = numpy.argsort(-total, axis=None, kind="stable")[:2 * width]
        keep, next_alive = [], []
        for rank, flat in enumerate(order):
            i, tok = divmod(int(flat), logp.shape[1])
            tokens, _, attn = alive[i]
            attn = attn + ([weights.numpy()[i]] if weights is not None else [])
            if tok == EOS:
                if rank < width:
                    finished.append((tokens, float(total[i, tok]), attn))
            elif len(next_alive) < width:
                next_alive.append((tokens + [tok], float(total[i, tok]), attn))
                keep.append(i)
        if len(finished) >= width or not next_alive:
            break
        alive = next_alive
        last = numpy.array([t[-1] for t, _, _ in alive])
        state, feed = _select(state, keep), (feed[keep] if feed is not None else None)
    if len(finished) < n_best:  # ran out of steps: the unfinished ones compete too
        finished += alive
    ranked = sorted(finished, key=lambda h: -h[1] / length_penalty(len(h[0]) + 1, alpha))
    return [Hypothesis(t, s, numpy.array(a) if a else None) for t, s, a in ranked[:n_best]]
