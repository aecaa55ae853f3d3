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

    def inline(match):
        return (SOURCE_DIR / match.group(1)).read_text().replace("#pragma once", "")

    return re.sub(r'#include "([^"]+)"', inline, path.read_text())
