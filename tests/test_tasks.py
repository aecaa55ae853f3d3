"""tinygrad_seq.data.vocab and tinygrad_seq.data.tasks: vocabularies, padding, and synthetic
seq2seq tasks whose targets are checked independently of how they were generated."""

from __future__ import annotations

import datetime
import doctest
import re

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq.data import tasks as tasks_module
from tinygrad_seq.data import vocab as vocab_module
from tinygrad_seq.data.tasks import (
    DATE_FORMATS,
    TASKS,
    AdditionTask,
    CopyTask,
    DateTask,
    ReverseTask,
    accuracy_by_length,
    exact_match,
    make_task,
)
from tinygrad_seq.data.vocab import BOS, EOS, PAD, UNK, UnknownSymbolError, Vocab, pad_batch

ALL_TASKS = [ReverseTask(), CopyTask(), AdditionTask(), DateTask()]
ids = pytest.mark.parametrize("task", ALL_TASKS, ids=lambda t: t.name)


def samples(task, n=300, seed=0):
    rng = np.random.default_rng(seed)
    return [task.sample(rng) for _ in range(n)]


@pytest.mark.parametrize("module", [vocab_module, tasks_module], ids=lambda m: m.__name__)
def test_docstring_examples_hold(module):
    assert doctest.testmod(module).failed == 0


# ---- Vocab ------------------------------------------------------------------------------------


def test_specials_have_fixed_ids_before_the_symbols():
    v = Vocab("xyz")
    assert (PAD, BOS, EOS, UNK) == (0, 1, 2, 3) == (v.pad, v.bos, v.eos, v.unk)
    assert len(v) == 7 and v.encode("xyz") == [4, 5, 6]
    assert v.tokens(range(7)) == ["<pad>", "<bos>", "<eos>", "<unk>", "x", "y", "z"]


@pytest.mark.parametrize("symbols,text", [("0123456789", "9081726354"),
                                          (["the", "th", "e", " ", "a"], "the ath e a")])
def test_encode_decode_round_trip(symbols, text):
    v = Vocab(symbols)
    encoded = v.encode(text, bos=True, eos=True, strict=True)
    assert encoded[0] == BOS and encoded[-1] == EOS and UNK not in encoded
    assert v.decode(encoded) == text
    assert v.decode(np.array(encoded)) == text
    assert v.decode(ts.Tensor(np.array(encoded + [PAD, PAD]))) == text
    assert v.decode_batch(np.array([encoded, encoded])) == [text, text]


def test_multi_character_symbols_match_longest_first_and_lists_are_pre_split():
    v = Vocab(["a", "ab", "abc"])
    assert v.split("abcaba") == ["abc", "ab", "a"]
    assert v.encode(["ab", "a"]) == v.encode("aba") == [5, 4]


def test_unknown_symbols_map_to_unk_or_raise_naming_symbol_and_position():
    v = Vocab("ab")
    assert v.encode("a?b") == [4, UNK, 5]
    with pytest.raises(KeyError, match=r"'\?' at position 1 of 'a\?b'"):
        v.encode("a?b", strict=True)
    with pytest.raises(UnknownSymbolError) as info:
        Vocab(["ab", "c"]).encode("abcxab", strict=True)
    assert (info.value.symbol, info.value.position) == ("x", 3)


def test_decode_stops_at_eos_strips_specials_and_shows_unknown_ids():
    v = Vocab("ab")
    assert v.decode([BOS, 4, PAD, 5, EOS, 4]) == "ab"
    assert v.decode([BOS, 4, EOS, 5], stop_at_eos=False) == "ab"
    assert v.decode([BOS, 4, EOS], strip_special=False) == "<bos>a"
    assert v.decode([4, UNK, 99, -1]) == "a<unk><unk><unk>"  # a hit on a target is impossible
    assert v.tokens(np.array([BOS, 5, EOS, PAD])) == ["<bos>", "b", "<eos>", "<pad>"]
    assert v.decode(np.array([4.0, 5.0])) == "ab"  # integral floats are ids too
    with pytest.raises(TypeError, match="integer ids"):
        v.decode(np.array([4.5]))
    with pytest.raises(ValueError, match="decode_batch"):
        v.decode(np.zeros((2, 3), np.int64))


def test_vocab_rejects_duplicates_special_names_and_non_strings():
    with pytest.raises(ValueError, match="'l' appears twice"):
        Vocab("hello")
    with pytest.raises(ValueError, match="special"):
        Vocab(["a", "<eos>"])
    with pytest.raises(TypeError):
        Vocab(["a", ""])


def test_vocab_dict_round_trip_through_a_checkpoint(tmp_path):
    v = Vocab(["ab", "c", "-"])
    ts.save({"vocab": v.to_dict()}, tmp_path / "ckpt.npz")
    restored = Vocab.from_dict(ts.load(tmp_path / "ckpt.npz")["vocab"])
    assert restored == v and restored.encode("abc-") == v.encode("abc-")
    with pytest.raises(ValueError, match="specials"):
        Vocab.from_dict({"specials": ["<s>"], "symbols": ["a"]})


def test_pad_batch():
    ids, lengths = pad_batch([[5, 6, 7], [], np.array([8])])
    np.testing.assert_array_equal(ids, [[5, 6, 7], [0, 0, 0], [8, 0, 0]])
    np.testing.assert_array_equal(lengths, [3, 0, 1])
    assert ids.dtype == lengths.dtype == np.int64
    ids, _ = pad_batch([[5], [6, 7]], pad=-1)
    np.testing.assert_array_equal(ids, [[5, -1], [6, 7]])
    ids, lengths = pad_batch([])
    assert ids.shape == (0, 0) and lengths.shape == (0,)


# ---- targets are right --------------------------------------------------------------------


def test_reverse_task():
    for source, target in samples(ReverseTask(min_len=2, max_len=4, alphabet="xyz")):
        assert 2 <= len(source) <= 4 and set(source) <= set("xyz")
        assert target == "".join(reversed(source))
    lengths = {len(s) for s, _ in samples(ReverseTask())}
    assert lengths == set(range(5, 13))


def test_copy_task():
    task = CopyTask(length=6, delay=15)
    for source, target in samples(task):
        assert len(target) == 6 and set(target) <= set("abcdefgh")
        assert source == target + "-" * 15
    with pytest.raises(ValueError, match="filler"):
        CopyTask(alphabet="ab-")


def test_addition_task():
    seen_digits = set()
    for source, target in samples(AdditionTask(max_digits=3), n=500):
        a, b = source.split("+")
        assert int(a) + int(b) == int(target) and str(int(target)) == target
        for operand in (a, b):
            assert operand == str(int(operand)), "no leading zeros"
            seen_digits.add(len(operand))
    assert seen_digits == {1, 2, 3}


def parse_date(style, text):
    """Parse a rendered date back with strptime, independently of the formatting code."""
    patterns = {"day_month_year": "%d %B %Y", "month_day_year": "%B %d, %Y",
                "mon_day_year": "%b %d, %Y", "MON_day_year": "%b %d, %Y",
                "day_mon_year": "%d %b %Y", "us_short": "%m/%d/%y", "us_long": "%m/%d/%Y",
                "european": "%d.%m.%Y", "weekday_long": "%A, %B %d, %Y",
                "weekday_short": "%a, %d %b %Y", "ordinal": "%d of %B %Y"}
    assert set(patterns) == set(DATE_FORMATS), "a new format needs a parser here"
    if style == "ordinal":
        text = re.sub(r"^(\d+)(st|nd|rd|th)", r"\1", text)
    date = datetime.datetime.strptime(text, patterns[style]).date()
    if style == "us_short" and date.year > 2049:  # strptime pivots %y at 69, the task at 50
        date = date.replace(year=date.year - 100)
    return date


@pytest.mark.parametrize("style", sorted(DATE_FORMATS))
def test_every_date_format_parses_back_to_the_iso_target(style):
    task = DateTask(formats=[style])
    for source, target in samples(task, n=200):
        date = datetime.date.fromisoformat(target)
        assert datetime.date(1950, 1, 1) <= date <= datetime.date(2049, 12, 31)
        assert parse_date(style, source) == date, source
        if style.startswith("weekday"):  # 2026-11-23 was a Monday: count days from it
            weekday = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday",
                       "Sunday")[(date - datetime.date(2026, 11, 23)).days % 7]
            assert source.startswith(weekday[:3] + ("," if style == "weekday_short" else "")), \
                source
            assert style == "weekday_short" or source.startswith(weekday + ", ")


def test_date_task_mixes_formats_over_the_whole_range():
    pairs = samples(DateTask(), n=2000)
    shapes = {re.sub(r"\d", "9", re.sub(r"[A-Za-z]+", "A", s)) for s, _ in pairs}
    assert len(shapes) >= 8, shapes
    years = [int(t[:4]) for _, t in pairs]
    assert min(years) < 1960 and max(years) > 2040
    assert set("".join(t for _, t in pairs)) <= set("0123456789-")
    one_day = DateTask(start=datetime.date(2000, 2, 29), end=datetime.date(2000, 2, 29))
    assert {t for _, t in samples(one_day, n=20)} == {"2000-02-29"}
    with pytest.raises(ValueError, match="choose from"):
        DateTask(formats=["iso"])


def test_ordinal_suffixes():
    for day, text in [(1, "1st"), (2, "2nd"), (3, "3rd"), (4, "4th"), (11, "11th"),
                      (12, "12th"), (13, "13th"), (21, "21st"), (22, "22nd"), (23, "23rd"),
                      (31, "31st")]:
        assert DATE_FORMATS["ordinal"](datetime.date(2001, 1, day)).startswith(text + " of ")


# ---- shared Task machinery ---------------------------------------------------------------


@ids
def test_sampled_strings_are_in_the_vocabularies(task):
    for source, target in samples(task, n=200):
        task.src_vocab.encode(source, strict=True)
        task.tgt_vocab.encode(target, strict=True)
        assert len(target) <= task.max_target_len


@ids
def test_same_seed_same_batch_other_seed_other_batch(task):
    a, b = task.batch(16, np.random.default_rng(7)), task.batch(16, 7)
    c = task.batch(16, np.random.default_rng(8))
    assert a.sources == b.sources and a.targets == b.targets
    np.testing.assert_array_equal(a.tgt_out, b.tgt_out)
    assert a.sources != c.sources
    assert task.heldout(20, seed=3) == task.heldout(20, seed=3) != task.heldout(20, seed=4)


@ids
def test_batch_layout(task):
    batch = task.batch(32, np.random.default_rng(0))
    assert len(batch) == 32
    for name in ("src", "src_lengths", "tgt_in", "tgt_out", "tgt_lengths"):
        assert getattr(batch, name).dtype == np.int64, name
    assert batch.src.shape == (32, batch.src_lengths.max())
    assert batch.tgt_in.shape == batch.tgt_out.shape == (32, batch.tgt_lengths.max())
    for b, (source, target) in enumerate(zip(batch.sources, batch.targets)):
        s, t = batch.src_lengths[b], batch.tgt_lengths[b]
        assert s == len(source) and t == len(target) + 1
        assert task.src_vocab.decode(batch.src[b]) == source
        assert (batch.src[b, s:] == PAD).all()
        assert batch.tgt_in[b, 0] == BOS and batch.tgt_out[b, t - 1] == EOS
        np.testing.assert_array_equal(batch.tgt_in[b, 1:t], batch.tgt_out[b, :t - 1])
        assert (batch.tgt_in[b, t:] == PAD).all() and (batch.tgt_out[b, t:] == PAD).all()
        assert task.tgt_vocab.decode(batch.tgt_out[b]) == target
        assert task.tgt_vocab.decode(batch.tgt_in[b]) == target


def test_exclude_is_never_sampled():
    task = ReverseTask(min_len=1, max_len=2, alphabet="01")  # 6 possible sources
    excluded = {"0", "1", "00", "01", "10"}
    assert set(task.batch(50, 0, exclude=excluded).sources) == {"11"}
    with pytest.raises(RuntimeError, match="excluded"):
        task.batch(1, 0, exclude=excluded | {"11"})


@ids
def test_heldout_is_distinct_and_disjoint_from_training_batches(task):
    held = task.heldout(100, seed=0)
    sources = {s for s, _ in held}
    assert len(held) == len(sources) == 100
    rng = np.random.default_rng(0)  # the held-out seed: unfiltered, it would repeat them
    for _ in range(5):
        assert not sources & set(task.batch(64, rng, exclude=sources).sources)


def test_heldout_too_large_for_the_task_raises():
    with pytest.raises(ValueError, match="only 6 distinct"):
        ReverseTask(min_len=1, max_len=2, alphabet="01").heldout(7, seed=0)


def test_batches_from_keeps_order_and_makes_the_last_batch_smaller():
    task = AdditionTask()
    pairs = task.heldout(10, seed=1) + [("1+x", "2")]  # a hand-written pair, off-vocabulary
    batches = task.batches_from(pairs, 4)
    assert [len(b) for b in batches] == [4, 4, 3]
    assert [p for b in batches for p in zip(b.sources, b.targets)] == pairs
    assert batches[-1].src[-1, 2] == UNK
    with pytest.raises(ValueError):
        task.batches_from(pairs, 0)


def test_make_task():
    assert set(TASKS) == {"reverse", "copy", "addition", "dates"}
    for name, cls in TASKS.items():
        task = make_task(name)
        assert isinstance(task, cls) and task.name == name
    source, _ = make_task("reverse", min_len=20, max_len=20).sample(np.random.default_rng(0))
    assert len(source) == 20
    with pytest.raises(ValueError, match="unknown task 'sort'.*addition, copy, dates, reverse"):
        make_task("sort")
    with pytest.raises(TypeError):
        make_task("copy", lenght=3)


# ---- scoring -------------------------------------------------------------------------------


def test_exact_match_and_accuracy_by_length():
    assert exact_match(["ab", "c", "d"], ["ab", "c", "e"]) == pytest.approx(2 / 3)
    got = accuracy_by_length(["xyz", "a", "bc", "de"], ["zyx", "a", "cb", "??"],
                             ["zyx", "b", "cb", "ed"])
    assert got == {1: 0.0, 2: 0.5, 3: 1.0} and list(got) == [1, 2, 3]
    with pytest.raises(ValueError, match="equal length"):
        exact_match(["a"], ["a", "b"])
    with pytest.raises(ValueError, match="empty"):
        exact_match([], [])
