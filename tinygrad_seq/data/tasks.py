"""Synthetic sequence-to-sequence tasks: generated on the fly, nothing to download.

Each task draws (source, target) string pairs from a NumPy ``Generator`` and turns them into
padded id arrays for an encoder-decoder (teacher forcing)::

    task = make_task("reverse")
    held = task.heldout(500, seed=0)                   # fixed evaluation pairs
    unseen = {source for source, _ in held}            # never train on them
    rng = numpy.random.default_rng(1)
    batch = task.batch(64, rng, exclude=unseen)
    # encoder reads batch.src (B, S); decoder reads batch.tgt_in (B, T), predicts batch.tgt_out
    for b in task.batches_from(held, 128): ...         # evaluation, in order

The batch layout, for source "123" and target "321" of ``ReverseTask``::

    src      1 2 3 PAD ...        src_lengths 3
    tgt_in   BOS 3 2 1 PAD ...    tgt_lengths 4    (the decoder's inputs)
    tgt_out  3 2 1 EOS PAD ...                     (what it must predict at each step)

>>> task = ReverseTask()
>>> task.sample(numpy.random.default_rng(0))
('65230001869', '96810003256')
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import numpy

from .vocab import Vocab, pad_batch

DIGITS = "0123456789"


@dataclass
class Batch:
    """Padded id arrays (int64, batch first) and the strings they came from."""

    src: numpy.ndarray  # (B, S) source ids, PAD-padded
    src_lengths: numpy.ndarray  # (B,)
    tgt_in: numpy.ndarray  # (B, T) BOS + target ids, PAD-padded
    tgt_out: numpy.ndarray  # (B, T) target ids + EOS, PAD-padded
    tgt_lengths: numpy.ndarray  # (B,) length of tgt_out, EOS included
    sources: list
    targets: list

    def __len__(self):
        return len(self.sources)


class Task:
    """The shared machinery; a task sets ``name``, the vocabularies and ``max_target_len`` (the
    longest target in symbols, without EOS: a greedy decoder needs ``max_target_len + 1`` steps)
    and defines ``sample``."""

    name = "task"
    src_vocab: Vocab
    tgt_vocab: Vocab
    max_target_len: int

    def sample(self, rng):
        """One (source, target) pair of strings drawn with ``rng`` (a numpy Generator)."""
        raise NotImplementedError

    def sample_excluding(self, rng, exclude=None, tries=10_000):
        """``sample``, drawing again while the source is in ``exclude``."""
        for _ in range(tries):
            source, target = self.sample(rng)
            if not exclude or source not in exclude:
                return source, target
        raise RuntimeError(f"{self.name}: {tries} samples in a row were all excluded; the "
                           f"excluded set covers (nearly) every source this task can produce")

    def batch(self, batch_size, rng, exclude=None):
        """A training ``Batch`` of fresh samples whose sources are not in ``exclude``."""
        rng = numpy.random.default_rng(rng)  # a Generator passes through; a seed makes one
        return self.collate([self.sample_excluding(rng, exclude) for _ in range(batch_size)])

    def heldout(self, n, seed):
        """A fixed list of ``n`` pairs with distinct sources: the same for the same seed.

        >>> AdditionTask(max_digits=1).heldout(3, seed=0)
        [('8+6', '14'), ('5+2', '7'), ('3+0', '3')]
        """
        rng = numpy.random.default_rng(seed)
        pairs, seen = [], set()
        for _ in range(100 * n + 1000):  # bounded: a small task may have fewer than n sources
            if len(pairs) == n:
                break
            source, target = self.sample(rng)
            if source not in seen:
                seen.add(source)
                pairs.append((source, target))
        if len(pairs) == n:
            return pairs
        raise ValueError(f"{self.name}: found only {len(pairs)} distinct sources, not {n}")

    def batches_from(self, pairs, batch_size):
        """``pairs`` cut into Batches of ``batch_size`` in order (the last may be smaller)."""
        if batch_size < 1:
            raise ValueError(f"batches_from: batch_size must be at least 1, got {batch_size}")
        pairs = list(pairs)
        return [self.collate(pairs[i:i + batch_size]) for i in range(0, len(pairs), batch_size)]

    def collate(self, pairs):
        """(source, target) string pairs -> ``Batch``. Symbols outside the vocabularies (in
        hand-written pairs) become UNK."""
        sources = [s for s, _ in pairs]
        targets = [t for _, t in pairs]
        src, src_lengths = pad_batch([self.src_vocab.encode(s) for s in sources])
        tgt_in, _ = pad_batch([self.tgt_vocab.encode(t, bos=True) for t in targets])
        tgt_out, tgt_lengths = pad_batch([self.tgt_vocab.encode(t, eos=True) for t in targets])
        return Batch(src, src_lengths, tgt_in, tgt_out, tgt_lengths, sources, targets)

    def __repr__(self):
        return f"{type(self).__name__}(src_vocab={len(self.src_vocab)}, " \
               f"tgt_vocab={len(self.tgt_vocab)}, max_target_len={self.max_target_len})"


def _random_string(rng, alphabet, length):
    return "".join(alphabet[i] for i in rng.integers(0, len(alphabet), length))


def _check_alphabet(alphabet, who):
    if not alphabet or any(not isinstance(c, str) or len(c) != 1 for c in alphabet):
        raise ValueError(f"{who}: alphabet must be a non-empty string of distinct characters")
    return "".join(alphabet)


class ReverseTask(Task):
    """Reverse a random string: "0123" -> "3210". Its length is uniform in [min_len, max_len].

    An encoder-decoder without attention must squeeze the whole string into one vector;
    attention can instead look straight at the matching source position.
    """

    name = "reverse"

    def __init__(self, min_len=5, max_len=12, alphabet=DIGITS):
        if not 1 <= min_len <= max_len:
            raise ValueError(f"ReverseTask: need 1 <= min_len <= max_len, got {min_len}, "
                             f"{max_len}")
        self.min_len, self.max_len = min_len, max_len
        self.alphabet = _check_alphabet(alphabet, "ReverseTask")
        self.src_vocab = self.tgt_vocab = Vocab(self.alphabet)
        self.max_target_len = max_len

    def sample(self, rng):
        source = _random_string(rng, self.alphabet, rng.integers(self.min_len, self.max_len + 1))
        return source, source[::-1]


class CopyTask(Task):
    """Copying with a long delay: ``length`` random symbols, then ``delay`` fillers ("-"); the
    target is the symbols. The gap tests how long a recurrent state keeps what it read.

    >>> CopyTask(length=3, delay=4).sample(numpy.random.default_rng(0))
    ('gfe----', 'gfe')
    """

    name = "copy"
    filler = "-"

    def __init__(self, length=10, delay=20, alphabet="abcdefgh"):
        if length < 1 or delay < 0:
            raise ValueError(f"CopyTask: need length >= 1 and delay >= 0, got {length}, {delay}")
        self.length, self.delay = length, delay
        self.alphabet = _check_alphabet(alphabet, "CopyTask")
        if self.filler in self.alphabet:
            raise ValueError(f"CopyTask: the filler {self.filler!r} cannot be in the alphabet")
        self.src_vocab = Vocab(self.alphabet + self.filler)
        self.tgt_vocab = Vocab(self.alphabet)
        self.max_target_len = length

    def sample(self, rng):
        symbols = _random_string(rng, self.alphabet, self.length)
        return symbols + self.filler * self.delay, symbols


class AdditionTask(Task):
    """Add two integers: "123+45" -> "168".

    Each operand first draws its digit count uniformly from 1..max_digits, then a value with
    exactly that many digits (no leading zeros; 0 is a one-digit number): drawing values
    uniformly would make short operands vanishingly rare.
    """

    name = "addition"

    def __init__(self, max_digits=3):
        if max_digits < 1:
            raise ValueError(f"AdditionTask: max_digits must be at least 1, got {max_digits}")
        self.max_digits = max_digits
        self.src_vocab = Vocab(DIGITS + "+")
        self.tgt_vocab = Vocab(DIGITS)
        self.max_target_len = max_digits + 1

    def _operand(self, rng):
        digits = int(rng.integers(1, self.max_digits + 1))
        low = 0 if digits == 1 else 10 ** (digits - 1)
        return int(rng.integers(low, 10 ** digits))

    def sample(self, rng):
        a, b = self._operand(rng), self._operand(rng)
        return f"{a}+{b}", str(a + b)


# English names written out: strftime's %B / %A follow the process locale.
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _ordinal(day):
    """1 -> "1st", 2 -> "2nd", 11 -> "11th", 23 -> "23rd"."""
    suffix = "th" if day in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _month(d):
    return MONTHS[d.month - 1]


def _mon(d):
    return MONTHS[d.month - 1][:3]


# Two-digit years are unambiguous only because the dates span 1950-2049: "50".."99" are 19xx,
# "00".."49" are 20xx. (strptime's %y pivots at 69, so parse them back with that rule.)
DATE_FORMATS = {
    "day_month_year": lambda d: f"{d.day} {_month(d)} {d.year}",  # 23 November 2026
    "month_day_year": lambda d: f"{_month(d)} {d.day}, {d.year}",  # November 23, 2026
    "mon_day_year": lambda d: f"{_mon(d)} {d.day}, {d.year}",  # Nov 23, 2026
    "MON_day_year": lambda d: f"{_mon(d).upper()} {d.day}, {d.year}",  # NOV 23, 2026
    "day_mon_year": lambda d: f"{d.day} {_mon(d)} {d.year}",  # 23 Nov 2026
    "us_short": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}",  # 11/23/26
    "us_long": lambda d: f"{d.month:02d}/{d.day:02d}/{d.year}",  # 11/23/2026
    "european": lambda d: f"{d.day:02d}.{d.month:02d}.{d.year}",  # 23.11.2026
    "weekday_long": lambda d: f"{WEEKDAYS[d.weekday()]}, {_month(d)} {d.day}, {d.year}",
    "weekday_short": lambda d: f"{WEEKDAYS[d.weekday()][:3]}, {d.day} {_mon(d)} {d.year}",
    "ordinal": lambda d: f"{_ordinal(d.day)} of {_month(d)} {d.year}",  # 23rd of November 2026
}


class DateTask(Task):
    """Date normalisation: "Monday, November 23, 2026", "23.11.2026", "11/23/26", ... ->
    "2026-11-23". Dates are uniform over [start, end]; the format is uniform over ``formats``
    (names in ``DATE_FORMATS``; all of them by default).

    The source vocabulary is every character any format can produce, whatever ``formats``
    selects, so models trained on different format subsets share one vocabulary.

    >>> task = DateTask()
    >>> [DATE_FORMATS[f](datetime.date(2026, 11, 23)) for f in ("weekday_long", "ordinal")]
    ['Monday, November 23, 2026', '23rd of November 2026']
    >>> task.sample(numpy.random.default_rng(3))
    ('25 February 2031', '2031-02-25')
    """

    name = "dates"

    def __init__(self, formats=None, start=datetime.date(1950, 1, 1),
                 end=datetime.date(2049, 12, 31)):
        self.formats = tuple(DATE_FORMATS) if formats is None else tuple(formats)
        unknown = [f for f in self.formats if f not in DATE_FORMATS]
        if unknown or not self.formats:
            raise ValueError(f"DateTask: unknown formats {unknown}; choose from "
                             f"{', '.join(DATE_FORMATS)}")
        if start > end:
            raise ValueError(f"DateTask: start {start} is after end {end}")
        self.start, self.days = start, (end - start).days + 1
        self.src_vocab = Vocab(_date_characters())
        self.tgt_vocab = Vocab(DIGITS + "-")
        self.max_target_len = 10  # YYYY-MM-DD

    def sample(self, rng):
        date = self.start + datetime.timedelta(days=int(rng.integers(self.days)))
        style = self.formats[int(rng.integers(len(self.formats)))]
        return DATE_FORMATS[style](date), date.isoformat()


def _date_characters():
    """Every character of every format, found by rendering one leap year: it has each month,
    weekday, day 1..31 (so every ordinal suffix) and, in the days and months, every digit."""
    first = datetime.date(2024, 1, 1)
    dates = [first + datetime.timedelta(days=i) for i in range(366)]
    return sorted({c for fmt in DATE_FORMATS.values() for d in dates for c in fmt(d)})


TASKS = {"reverse": ReverseTask, "copy": CopyTask, "addition": AdditionTask, "dates": DateTask}


def make_task(name, **options):
    """A task by name, its constructor given ``options``.

    >>> make_task("copy", length=4, delay=8).max_target_len
    4
    >>> make_task("sort")
    Traceback (most recent call last):
    ValueError: unknown task 'sort'; choose one of: addition, copy, dates, reverse
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; choose one of: {', '.join(sorted(TASKS))}")
    return TASKS[name](**options)


# ---- evaluation -----------------------------------------------------------------------------


def _check_same_length(**lists):
    sizes = {k: len(v) for k, v in lists.items()}
    if len(set(sizes.values())) != 1:
        raise ValueError(f"expected lists of equal length, got {sizes}")
    if not next(iter(sizes.values())):
        raise ValueError("cannot score an empty list of predictions")


def exact_match(predictions, targets):
    """The fraction of predictions equal to their target, whole string.

    >>> exact_match(["321", "54"], ["321", "543"])
    0.5
    """
    _check_same_length(predictions=predictions, targets=targets)
    return sum(p == t for p, t in zip(predictions, targets)) / len(targets)


def accuracy_by_length(sources, predictions, targets):
    """Exact-match accuracy per source length, lengths ascending: where a model breaks down.

    >>> accuracy_by_length(["12", "34", "567"], ["21", "00", "765"], ["21", "43", "765"])
    {2: 0.5, 3: 1.0}
    """
    _check_same_length(sources=sources, predictions=predictions, targets=targets)
    groups = {}
    for s, p, t in zip(sources, predictions, targets):
        groups.setdefault(len(s), []).append(p == t)
    return {n: sum(hits) / len(hits) for n, hits in sorted(groups.items())}
