"""Every example runs as the README writes it (from any folder, no files beside it), here with
settings small enough for the suite; each is a short script of one idea."""

import pathlib
import subprocess
import sys

import pytest

EXAMPLES = pathlib.Path(__file__).resolve().parent.parent / "examples"
SMALL = {"01_autograd.py": [], "02_adding_problem.py": ["--steps", "5", "--iterations", "3"],
         "03_char_lm.py": ["--minutes", "0.02"], "04_attention_vs_bottleneck.py": ["--steps", "5"],
         "05_gpu_quickstart.py": ["--steps", "3"]}


def test_every_example_is_listed_here():
    assert sorted(p.name for p in EXAMPLES.glob("*.py")) == sorted(SMALL)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_example_runs(name, tmp_path):
    script = EXAMPLES / name
    assert len(script.read_text().splitlines()) < 150
    done = subprocess.run([sys.executable, str(script), *SMALL[name]], cwd=tmp_path,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip()  # each says what it found
