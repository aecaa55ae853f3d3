"""The text a char-RNN learns: any UTF-8 file or folder, or, with no download at all, the
Python standard library's own source (the lecture's LSTM wrote C; this one writes Python)."""

from __future__ import annotations

import os
import sysconfig

import numpy

MIN_CHARS = 1000  # fewer, and the validation split is too small to say anything
DEFAULT_CHARS = 2_000_000  # of the standard library: plenty for minutes of training


def _files(folder):
    """Every file under ``folder``, in a fixed order (the same corpus on every run)."""
    found = []
    for root, dirs, names in os.walk(folder):
        dirs.sort()
        found.extend(os.path.join(root, n) for n in sorted(names))
    return found


def _read(path):
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except UnicodeDecodeError as e:
        raise ValueError(f"--text: {path} is not UTF-8 text ({e.reason} at byte {e.start})") \
            from None


def load_text(path=None, limit=DEFAULT_CHARS):
    """(text, where it came from). ``path``: a file, or a folder whose files are joined in
    name order (``limit`` characters at most); None: the standard library's ``*.py`` files."""
    if path is None:
        folder = sysconfig.get_paths()["stdlib"]
        parts, size = [], 0
        for name in _files(folder):
            if name.endswith(".py") and "site-packages" not in name and "test" not in name:
                try:
                    text = _read(name)
                except (ValueError, OSError):
                    continue  # a stray non-UTF-8 file of the installation is not the user's
                parts.append(text)
                size += len(text)
                if size >= limit:
                    break
        text, source = "".join(parts)[:limit], f"the Python standard library ({folder})"
    elif os.path.isdir(path):
        names = _files(path)
        if not names:
            raise ValueError(f"--text: the folder {path} holds no files")
        text, source = "".join(_read(n) for n in names)[:limit], path
    elif os.path.isfile(path):
        text, source = _read(path)[:limit], path
    else:
        raise ValueError(f"--text: {path} does not exist")
    if len(text) < MIN_CHARS:
        raise ValueError(f"--text: {source} has {len(text)} characters; a char-RNN needs at "
                         f"least {MIN_CHARS}")
    return text, source


class Corpus:
    """The characters of a text as ids (``chars[i]`` is id i, sorted), split into training
    and validation streams (the last ``val_fraction`` of the text)."""

    def __init__(self, text, val_fraction=0.05, chars=None):
        self.chars = chars if chars is not None else "".join(sorted(set(text)))
        self.index = index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - set(index))
        if unknown:
            raise ValueError(f"the text has characters the model was not trained on: "
                             f"{''.join(unknown[:10])!r}")
        ids = numpy.fromiter((index[c] for c in text), dtype=numpy.int64, count=len(text))
        cut = len(ids) - max(int(len(ids) * val_fraction), 2)
        self.train, self.val = ids[:cut], ids[cut:]

    def encode(self, text):
        index = self.index
        missing = [c for c in text if c not in index]
        if missing:
            raise ValueError(f"--prime: the model knows no {missing[0]!r} (its characters come "
                             f"from the text it was trained on)")
        return [index[c] for c in text]

    def decode(self, ids):
        return "".join(self.chars[i] for i in ids)
