"""Vocabularies: symbols <-> integer ids, with four special tokens at fixed ids.

Every vocabulary starts with the same specials, so a model's padding, start and end logic never
depends on which task it was trained on::

    id  0      1      2      3      4 ...
        <pad>  <bos>  <eos>  <unk>  the symbols, in the order given

>>> vocab = Vocab("abc")
>>> len(vocab)
7
>>> vocab.encode("cab", bos=True, eos=True)
[1, 6, 4, 5, 2]
>>> vocab.decode([1, 6, 4, 5, 2, 0, 0])
'cab'
>>> vocab.tokens([1, 6, 4, 2, 0])
['<bos>', 'c', 'a', '<eos>', '<pad>']
"""

from __future__ import annotations

import numpy

from ..tensor import Tensor

PAD, BOS, EOS, UNK = 0, 1, 2, 3
SPECIALS = ("<pad>", "<bos>", "<eos>", "<unk>")


class UnknownSymbolError(KeyError):
    """``Vocab.encode(..., strict=True)`` met a symbol that is not in the vocabulary."""

    def __init__(self, symbol, position, text):
        super().__init__(f"symbol {symbol!r} at position {position} of {text!r} is not in the "
                         f"vocabulary")
        self.symbol, self.position = symbol, position

    def __str__(self):  # KeyError would show the message in quotes, like a missing dict key
        return self.args[0]


class Vocab:
    """Ids for a fixed list of symbols, after the specials PAD=0, BOS=1, EOS=2, UNK=3.

    ``symbols`` is a string (each character a symbol) or a list of strings (multi-character
    tokens allowed; ``encode`` then splits text greedily, longest symbol first).

    Unknown symbols encode to UNK, or raise ``UnknownSymbolError`` (a KeyError) naming the
    symbol and its position with ``strict=True``. Unknown ids at decode time (out of range, as
    from a model with a larger output layer) map to UNK too, shown as ``<unk>``.

    >>> words = Vocab(["ab", "a", "b"])
    >>> words.encode("aab?")
    [5, 4, 3]
    >>> words.tokens(words.encode("aab?"))
    ['a', 'ab', '<unk>']
    """

    pad, bos, eos, unk = PAD, BOS, EOS, UNK

    def __init__(self, symbols):
        symbols = list(symbols)
        for s in symbols:
            if not isinstance(s, str) or not s:
                raise TypeError(f"Vocab: symbols must be non-empty strings, got {s!r}")
            if s in SPECIALS:
                raise ValueError(f"Vocab: {s!r} is a special token's name and cannot be a symbol")
        if len(set(symbols)) != len(symbols):
            dup = next(s for i, s in enumerate(symbols) if s in symbols[:i])
            raise ValueError(f"Vocab: symbol {dup!r} appears twice; pass each symbol once "
                             f"(for a text's characters: Vocab(sorted(set(text))))")
        self.symbols = tuple(symbols)
        self._itos = SPECIALS + self.symbols
        self._stoi = {s: i for i, s in enumerate(self.symbols, start=len(SPECIALS))}
        self._longest = max((len(s) for s in symbols), default=1)

    def __len__(self):
        return len(self._itos)

    def __contains__(self, symbol):
        return symbol in self._stoi

    def __eq__(self, other):
        return isinstance(other, Vocab) and self.symbols == other.symbols

    def __hash__(self):
        return hash(self.symbols)

    def __repr__(self):
        shown = "".join(self.symbols) if self._longest == 1 else list(self.symbols)
        return f"Vocab({shown!r})"

    # ---- text -> ids ----------------------------------------------------------------------------

    def split(self, text):
        """``text`` as a list of symbols (unknown characters kept as one-character pieces).

        A list or tuple is taken as already split. With multi-character symbols the longest
        symbol that matches at each position wins.

        >>> Vocab(["ab", "a", "b"]).split("abba")
        ['ab', 'b', 'a']
        """
        if not isinstance(text, str):
            return list(text)
        if self._longest == 1:
            return list(text)
        pieces, i = [], 0
        while i < len(text):
            size = next((n for n in range(min(self._longest, len(text) - i), 0, -1)
                         if text[i:i + n] in self._stoi), 1)
            pieces.append(text[i:i + size])
            i += size
        return pieces

    def encode(self, text, bos=False, eos=False, strict=False):
        """Ids of ``text``'s symbols, optionally framed by BOS and EOS.

        Unknown symbols map to UNK; with ``strict=True`` they raise ``UnknownSymbolError``
        naming the symbol and its position (the character offset in a string, the index in a
        list).

        >>> Vocab("01").encode("0120")
        [4, 5, 3, 4]
        >>> Vocab("01").encode("0120", strict=True)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        tinygrad_seq.data.vocab.UnknownSymbolError: symbol '2' at position 2 of '0120' ...
        """
        ids = [BOS] if bos else []
        position = 0
        for piece in self.split(text):
            i = self._stoi.get(piece, UNK)
            if i == UNK and strict:
                raise UnknownSymbolError(piece, position, text)
            ids.append(i)
            position += len(piece) if isinstance(text, str) else 1
        if eos:
            ids.append(EOS)
        return ids

    # ---- ids -> text ----------------------------------------------------------------------------

    def tokens(self, ids):
        """One string per id, specials shown as ``<pad>``, ``<bos>``, ``<eos>``, ``<unk>``;
        nothing stripped (for attention-plot axis labels and debugging).

        >>> Vocab("xy").tokens([1, 5, 4, 2, 99])
        ['<bos>', 'y', 'x', '<eos>', '<unk>']
        """
        return [self._itos[i] if 0 <= i < len(self._itos) else SPECIALS[UNK]
                for i in _id_list(ids)]

    def decode(self, ids, stop_at_eos=True, strip_special=True):
        """The text of a 1-D sequence of ids (list, NumPy array or Tensor).

        ``stop_at_eos`` drops the first EOS and everything after it (a decoder's output past
        its end is noise). ``strip_special`` drops PAD, BOS and EOS but keeps UNK as ``<unk>``,
        so a prediction with an unknown id never equals a clean target by accident.

        >>> v = Vocab("ab")
        >>> v.decode([1, 4, 3, 5, 2, 4, 0])
        'a<unk>b'
        >>> v.decode([1, 4, 2, 5], stop_at_eos=False)
        'ab'
        >>> v.decode([1, 4, 2, 5], stop_at_eos=False, strip_special=False)
        '<bos>a<eos>b'
        """
        ids = _id_list(ids)
        if stop_at_eos and EOS in ids:
            ids = ids[:ids.index(EOS)]
        if strip_special:
            ids = [i for i in ids if i not in (PAD, BOS, EOS)]
        return "".join(self.tokens(ids))

    def decode_batch(self, ids, stop_at_eos=True, strip_special=True):
        """``decode`` for each row of a (B, T) array or Tensor: a list of B strings."""
        rows = _host(ids)
        if rows.ndim != 2:
            raise ValueError(f"decode_batch: expected (B, T) ids, got shape {rows.shape}")
        return [self.decode(row, stop_at_eos, strip_special) for row in rows]

    # ---- checkpoints ----------------------------------------------------------------------------

    def to_dict(self):
        """Plain lists of strings, storable with ``tinygrad_seq.save`` or as JSON.

        >>> Vocab("ab").to_dict()
        {'specials': ['<pad>', '<bos>', '<eos>', '<unk>'], 'symbols': ['a', 'b']}
        """
        return {"specials": list(SPECIALS), "symbols": list(self.symbols)}

    @classmethod
    def from_dict(cls, state):
        """The inverse of ``to_dict``; refuses a vocabulary saved with other special tokens,
        whose ids would silently mean something else here."""
        if list(state.get("specials", SPECIALS)) != list(SPECIALS):
            raise ValueError(f"Vocab.from_dict: saved specials {state['specials']} differ from "
                             f"this version's {list(SPECIALS)}")
        return cls(state["symbols"])


def _host(ids):
    """ids (list, NumPy array or Tensor) as an integer NumPy array on the host."""
    a = numpy.asarray(ids.numpy() if isinstance(ids, Tensor) else ids)
    if a.size and a.dtype.kind not in "iu":
        if a.dtype.kind != "f" or not numpy.array_equal(a, numpy.round(a)):
            raise TypeError(f"expected integer ids, got dtype {a.dtype}")
    return a.astype(numpy.int64)


def _id_list(ids):
    a = _host(ids)
    if a.ndim != 1:
        raise ValueError(f"expected a 1-D sequence of ids, got shape {a.shape} "
                         f"(decode_batch decodes (B, T) rows)")
    return a.tolist()


def pad_batch(sequences, pad=PAD):
    """Stack id sequences of different lengths into one array, padding on the right.

    Returns ids (B, T_max) int64 and lengths (B,) int64.

    >>> ids, lengths = pad_batch([[5, 6, 7], [8]])
    >>> ids
    array([[5, 6, 7],
           [8, 0, 0]])
    >>> lengths
    array([3, 1])
    """
    rows = [_host(s).reshape(-1) for s in sequences]
    lengths = numpy.array([len(r) for r in rows], dtype=numpy.int64)
    ids = numpy.full((len(rows), int(lengths.max(initial=0))), pad, dtype=numpy.int64)
    for b, row in enumerate(rows):
        ids[b, :len(row)] = row
    return ids, lengths
