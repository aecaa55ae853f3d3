"""Encoder-decoder models, decoding and the teacher-forcing schedules."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq.nn.decoding import beam_search, greedy, length_penalty, sample
from tinygrad_seq.nn.seq2seq import BOS, EOS, Seq2Seq, TeacherForcing

SRC = np.array([[5, 6, 7, 8], [9, 5, 0, 0]])  # the second sequence is padded
LENGTHS = np.array([4, 2])


def model(attention="dot", cell="gru", bidirectional=True, seed=0):
    ts.manual_seed(seed)
    return Seq2Seq(12, 10, embed_size=8, hidden_size=16, cell=cell,
                   bidirectional=bidirectional, attention=attention).double()


@pytest.mark.parametrize("attention", [None, "additive", "dot", "general", "concat"])
@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_forward_shapes_and_attention_rows(attention, cell):
    m = model(attention, cell)
    tgt_in = np.array([[BOS, 3, 4], [BOS, 5, 6]])
    logits, weights = m(SRC, LENGTHS, tgt_in)
    assert logits.shape == (2, 3, 10)
    if attention is None:
        assert weights is None
        return
    w = weights.numpy()
    assert w.shape == (2, 3, 4)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=1e-12)
    assert (w[1, :, 2:] == 0).all()  # padding gets no attention
    logits.sum().backward()
    assert all(p.grad is not None for p in m.parameters())


def test_beam_width_one_equals_greedy():
    for seed in range(3):
        m = model(seed=seed)
        g = greedy(m, SRC, LENGTHS, max_len=8)
        b = beam_search(m, SRC, LENGTHS, beam_width=1, max_len=8)
        for hg, hb in zip(g, b):
            assert hg[0].tokens == hb[0].tokens
            assert hg[0].score == pytest.approx(hb[0].score)
            np.testing.assert_allclose(hg[0].attention, hb[0].attention)


def teacher_forced_log_prob(m, src, lengths, tokens):
    """log p(tokens + EOS | src) by scoring with teacher forcing."""
    tgt_in = np.array([[BOS] + tokens])
    logits, _ = m(src, lengths, tgt_in)
    logp = logits.log_softmax(-1).numpy()[0]
    return sum(logp[t, tok] for t, tok in enumerate(tokens + [EOS]))


def test_beam_scores_are_sequence_log_probabilities_and_sorted():
    m = model()
    m.eval()
    hyps = beam_search(m, SRC[:1], LENGTHS[:1], beam_width=4, n_best=3, max_len=6)[0]
    assert len(hyps) == 3
    assert [h.score for h in hyps] == sorted([h.score for h in hyps], reverse=True)
    for h in hyps:
        if len(h.tokens) < 6:  # ended with EOS
            assert h.score == pytest.approx(teacher_forced_log_prob(m, SRC[:1], [4], h.tokens))
    best_greedy = greedy(m, SRC[:1], LENGTHS[:1], max_len=6)[0][0]
    assert hyps[0].score >= best_greedy.score - 1e-9


def test_length_penalty():
    assert length_penalty(1, 0.0) == 1.0
    assert length_penalty(7, 1.0) == 2.0


def test_sampling_at_low_temperature_is_greedy():
    m = model()
    g = greedy(m, SRC, LENGTHS, max_len=8)
    s = sample(m, SRC, LENGTHS, max_len=8, temperature=1e-4, rng=np.random.default_rng(0))
    assert [h[0].tokens for h in g] == [h[0].tokens for h in s]
    with pytest.raises(ValueError, match="temperature must be positive"):
        sample(m, SRC, LENGTHS, temperature=0)


def test_attention_of_every_decoded_step_is_returned():
    m = model("additive")
    hyp = greedy(m, SRC, LENGTHS, max_len=5)[1][0]
    assert hyp.attention.shape == (len(hyp.tokens) + (1 if len(hyp.tokens) < 5 else 0), 4)
    np.testing.assert_allclose(hyp.attention[:, 2:], 0)


def test_scheduled_sampling_feeds_predictions():
    m = model()
    seen = []
    step = m.decoder.step

    def spy(tokens, *args):
        seen.append(tokens.numpy().copy())
        return step(tokens, *args)

    m.decoder.step = spy
    tgt_in = np.array([[BOS, 7, 7, 7], [BOS, 7, 7, 7]])
    m(SRC, LENGTHS, tgt_in, teacher_forcing=1.0)
    assert all((s == 7).all() for s in seen[1:])
    seen.clear()
    m(SRC, LENGTHS, tgt_in, teacher_forcing=0.0, rng=np.random.default_rng(0))
    preds = [s for s in seen[1:]]
    assert any((s != 7).any() for s in preds)  # own predictions were fed back


@pytest.mark.parametrize("kind, kwargs, values", [
    ("constant", {"k": 0.5}, [0.5, 0.5, 0.5]),
    ("linear", {"k": 1.0, "c": 0.25, "minimum": 0.3}, [1.0, 0.75, 0.3]),
    ("exponential", {"k": 0.5}, [1.0, 0.5, 0.0625]),
    ("inverse_sigmoid", {"k": 2.0}, [2 / 3, 2 / (2 + math.e), 2 / (2 + math.e ** 2)]),
])
def test_teacher_forcing_schedules(kind, kwargs, values):
    schedule = TeacherForcing(kind, **kwargs)
    steps = [0, 1, 4] if kind in ("linear", "exponential") else [0, 2, 4]
    assert [schedule(i) for i in steps] == pytest.approx(values)


def test_errors():
    with pytest.raises(ValueError, match="unknown attention 'luong'"):
        model("luong")
    with pytest.raises(ValueError, match="unknown cell 'tcn'"):
        model(cell="tcn")
    with pytest.raises(ts.ShapeError, match="empty source"):
        model().encode(np.zeros((2, 0), dtype=np.int64))
    with pytest.raises(ValueError, match="exponential decay needs 0 < k < 1"):
        TeacherForcing("exponential", k=1.5)
    with pytest.raises(ValueError, match="n_best"):
        beam_search(model(), SRC, LENGTHS, beam_width=2, n_best=3)


def test_short_reversal_is_learned_and_attention_helps_the_longest():
    from tinygrad_seq.app.training import train_task
    options = {"min_len": 3, "max_len": 5}
    kw = dict(steps=250, hidden_size=32, embed_size=16, heldout=200, lr=1e-2,
              task_options=options)
    with_attention = train_task("reverse", attention="dot", **kw)
    without = train_task("reverse", attention=None, **kw)
    assert with_attention.accuracy >= 0.95
    assert with_attention.by_length[5] > without.by_length[5]
