"""The package's shape: its modules import only downward (no import cycle, no layer importing
one above it), and the test suite does not depend on PyTorch beyond the parity tests."""

from __future__ import annotations

import pathlib
import subprocess
import sys

import pytest

from tinygrad_seq.dev import imports

TESTS = pathlib.Path(__file__).resolve().parent


def test_no_import_cycles_and_no_upward_imports():
    edges = imports.graph()
    assert imports.cycles(edges) == []
    assert imports.upward(edges) == []
    assert imports.unplaced(edges) == []
    assert len(edges) > 50  # the walk found the package's modules


def write(root, files):
    for name, text in files.items():
        path = root / "tinygrad_seq" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root / "tinygrad_seq"


def test_the_checker_finds_a_cycle_and_an_upward_import(tmp_path):
    package = write(tmp_path, {
        "__init__.py": "", "backend.py": "from .ops import thing\n",
        "ops/__init__.py": "def f():\n    from .. import backend\n"})  # a lazy import counts
    edges = imports.graph(package)
    assert imports.cycles(edges) == [["tinygrad_seq.backend", "tinygrad_seq.ops"]]
    assert imports.upward(edges) == [("tinygrad_seq.backend", "tinygrad_seq.ops")]


@pytest.mark.parametrize("statement, target", [
    ("import tinygrad_seq.nn.layers", "tinygrad_seq.nn.layers"),
    ("from tinygrad_seq.nn import layers", "tinygrad_seq.nn.layers"),
    ("from .nn import layers", "tinygrad_seq.nn.layers"),
    ("from .nn.layers import Linear", "tinygrad_seq.nn.layers"),
    ("from .nn import Linear", "tinygrad_seq.nn"),
    ("from . import nn", "tinygrad_seq.nn"),
    ("from typing import TYPE_CHECKING\nif not TYPE_CHECKING:\n    from . import nn",
     "tinygrad_seq.nn"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    pass\nelse:\n"
     "    from . import nn", "tinygrad_seq.nn"),
])
def test_every_spelling_of_an_import_is_seen(tmp_path, statement, target):
    package = write(tmp_path, {"__init__.py": "", "backend.py": statement + "\n",
                               "nn/__init__.py": "", "nn/layers.py": "Linear = 1\n"})
    edges = imports.graph(package)
    assert target in edges["tinygrad_seq.backend"]
    assert "tinygrad_seq.nn" in edges["tinygrad_seq.backend"]  # nn/__init__ runs first


def test_type_checking_imports_do_not_count_and_a_new_module_needs_a_layer(tmp_path):
    package = write(tmp_path, {
        "__init__.py": "",
        "backend.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                      "    from . import nn\n",
        "nn/__init__.py": "", "extras.py": ""})
    edges = imports.graph(package)
    assert edges["tinygrad_seq.backend"] == set()
    assert imports.unplaced(edges) == ["tinygrad_seq.extras"]


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
