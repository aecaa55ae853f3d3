"""The package's shape: its modules import only downward (no import cycle, no layer importing
one above it), and the test suite does not depend on PyTorch beyond the parity tests."""

from __future__ import annotations

import pathlib
import subprocess
import sys

from tinygrad_seq.dev import imports

TESTS = pathlib.Path(__file__).resolve().parent


def test_no_import_cycles_and_no_upward_imports():
    edges = imports.graph()
    assert imports.cycles(edges) == []
    assert imports.upward(edges) == []
    assert len(edges) > 50  # the walk found the package's modules


def test_the_checker_finds_a_cycle_and_an_upward_import(tmp_path):
    package = tmp_path / "tinygrad_seq"
    (package / "ops").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "backend.py").write_text("from .ops import thing\n")
    (package / "ops" / "__init__.py").write_text("def f():\n    from .. import backend\n")
    edges = imports.graph(package)
    assert imports.cycles(edges) == [["tinygrad_seq.backend", "tinygrad_seq.ops"]]
    assert imports.upward(edges) == [("tinygrad_seq.backend", "tinygrad_seq.ops")]


def test_importing_the_package_imports_no_optional_or_heavy_package():
    probe = ("import sys, tinygrad_seq as ts; ts.nn.LSTM(2, 3); "
             "print([m for m in ('cupy', 'graphviz', 'matplotlib', 'tqdm', 'torch') "
             "if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


def collected(*options):
    out = subprocess.run([sys.executable, "-m", "pytest", "--collect-only", "-q", *options,
                          str(TESTS)], capture_output=True, text=True, cwd=TESTS.parent)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    return {line for line in lines if "::" in line}, lines[-1]  # the ids, and the summary


def test_without_torch_every_test_is_still_collected():
    """No test file skips as a whole when PyTorch is missing: the tests that need it skip one
    by one (saying why) when they touch it, and every other test runs."""
    with_torch, _ = collected()
    without, summary = collected("--without-torch")
    assert without == with_torch and len(without) > 1000
    assert "skipped" not in summary, summary  # no file skipped at import
