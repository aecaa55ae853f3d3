"""Version counters: a backward pass refuses arrays that were written in place after an op
saved them, instead of computing a wrong gradient from the new values.

PyTorch keeps a counter per tensor (shared by its views); an in-place write bumps it, a saved
tensor remembers it. Here the counter belongs to the memory itself, the root array of a
NumPy/CuPy view chain, so a write through any view (or through ``.data`` of a tensor that
shares memory) counts. Writes are rare and recording nodes is the engine's hot path, so the
work is on the write side:

- every in-place write (``bump``) advances one global clock and notes, for the root array it
  touched, how many writes it has had and when the recent ones happened;
- every recorded node keeps only the clock at its creation (``Function.apply``: one integer);
- before a node runs backward, the engine asks ``check`` only if the clock moved since the node
  was made; then the arrays the node reads in backward (what it saved, and its inputs when it
  ``saves_inputs``) must not have been written since.

Entries disappear with their arrays (a weakref finalizer), so a reused ``id`` never inherits
an old count.
"""

from __future__ import annotations

import collections
import weakref

from .function import _mode

_RECENT = 64  # write times kept per array: enough to tell how many came after a saved node
_writes = {}  # id(root array) -> _Entry


class _Entry:
    __slots__ = ("count", "times")

    def __init__(self):
        self.count = 0
        self.times = collections.deque(maxlen=_RECENT)


def _root(array):
    """The array that owns the memory of ``array`` (the end of its chain of views)."""
    while isinstance(array.base, type(array)):
        array = array.base
    return array


def bump(array) -> None:
    """Record an in-place write to ``array`` (and so to every view of its memory)."""
    root = _root(array)
    _mode.clock += 1
    entry = _writes.get(id(root))
    if entry is None:
        entry = _writes[id(root)] = _Entry()
        try:
            weakref.finalize(root, _writes.pop, id(root), None)
        except TypeError:  # an array type without weak references: its entry stays
            pass
    entry.count += 1
    entry.times.append(_mode.clock)


def version(array) -> int:
    """How many in-place writes the memory of ``array`` has had (``Tensor._version``)."""
    entry = _writes.get(id(_root(array)))
    return 0 if entry is None else entry.count


def check(fn) -> None:
    """Raise if an array ``fn`` reads in backward was written after ``fn`` was recorded."""
    saved = fn.saved if isinstance(fn.saved, (tuple, list)) else (fn.saved,)
    arrays = [a for a in saved if hasattr(a, "base")]  # arrays; not None, not numbers
    if fn.saves_inputs:
        arrays += [p.data for p in fn.parents]
    for array in arrays:
        entry = _writes.get(id(_root(array)))
        if entry is None or entry.times[-1] <= fn.clock:
            continue
        later = sum(1 for t in entry.times if t > fn.clock)
        raise RuntimeError(
            f"backward: a tensor of shape {tuple(array.shape)} that '{fn.name}' saved for "
            f"backward has been modified by an in-place operation since (saved at version "
            f"{entry.count - later}, now at version {entry.count}), so its gradient would be "
            f"wrong. Write to a copy (.clone()) instead, or make the change before '{fn.name}' "
            f"uses the tensor.")

