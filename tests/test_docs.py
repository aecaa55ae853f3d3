"""The documentation's code runs: every ```python block of each page, in order, in one
namespace; where a ```text block follows, it is exactly what the code printed."""

from __future__ import annotations

import contextlib
import io
import pathlib
import re

import pytest

DOCS = pathlib.Path(__file__).resolve().parent.parent / "docs"
BLOCK = re.compile(r"```python\n(.*?)```(?:\s*```text\n(.*?)```)?", re.S)


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_doc_snippets_run_and_print_what_they_say(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace = {"__name__": "__docs__"}
    for i, (code, expected) in enumerate(BLOCK.findall((DOCS / page).read_text())):
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            exec(compile(code, f"{page} block {i}", "exec"), namespace)
        if expected:
            assert out.getvalue().strip() == expected.strip(), f"{page}, block {i}"
