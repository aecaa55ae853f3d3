"""The kernel sources, kernels/src/ (shipped inside the wheel as package data), read with their
local headers inlined, as both compilers receive them."""

from __future__ import annotations

import pathlib
import re

SOURCE_DIR = pathlib.Path(__file__).resolve().parent / "src"


def source(name: str) -> str:
    """The source of ``src/<name>``, with local ``#include "..."`` headers inlined (so neither
    NVRTC nor the host compiler needs an include path)."""
    path = SOURCE_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"kernel source {name} not found in {SOURCE_DIR}")

    seen = set()

    def inline(match):  # each header once, as its #pragma once asks
        if match.group(1) in seen:
            return ""
        seen.add(match.group(1))
        return (SOURCE_DIR / match.group(1)).read_text().replace("#pragma once", "")

    text, include = path.read_text(), re.compile(r'#include "([^"]+)"')
    while include.search(text):  # the first include each time: a header's own go before it
        text = include.sub(inline, text, count=1)
    return text
