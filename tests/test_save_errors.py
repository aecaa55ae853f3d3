"""Saving and loading mistakes name the user's own path or object, and nothing is left behind:
a save into a missing or unwritable folder names that path (not the temporary file), and the
temporary files of saves killed mid-write are removed by the next save to the same path."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

import numpy as np
import pytest

import tinygrad_seq as ts


def test_missing_folder_names_the_users_path(tmp_path):
    target = tmp_path / "no" / "such" / "model.npz"
    with pytest.raises(FileNotFoundError, match=f"save: cannot write {target}"):
        ts.save({"w": ts.ones(2)}, target)
    assert not (tmp_path / "no").exists()


def test_unwritable_folder_names_the_users_path(tmp_path, monkeypatch):
    # (this machine's tests run as root, for whom no folder is unwritable: the refusal the OS
    # would give is simulated at the point it happens)
    def refuse(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(tmp_path / ".x.tmp"))

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    target = tmp_path / "model.npz"
    with pytest.raises(PermissionError) as e:
        ts.save({"w": ts.ones(2)}, target)
    assert str(target) in str(e.value) and ".tmp" not in str(e.value)
    assert "Permission denied" in str(e.value)


def _leftovers(folder):
    return sorted(n for n in os.listdir(folder) if n.endswith(".tmp"))


def test_saves_killed_midway_leave_nothing_after_the_next_save(tmp_path):
    target = tmp_path / "big.npz"
    script = textwrap.dedent(f"""
        import numpy, tinygrad_seq as ts
        big = {{"w": ts.tensor(numpy.ones((4096, 4096), numpy.float32))}}  # 64 MB a save
        print("ready", flush=True)
        while True:
            ts.save(big, {str(target)!r})
    """)
    for _ in range(3):
        proc = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE)
        assert proc.stdout.readline().strip() == b"ready"
        deadline = time.monotonic() + 20
        while not _leftovers(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.01)  # kill it while a temporary file exists: mid-save
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert _leftovers(tmp_path), "the killed saves should have left temporary files"
    ts.save({"w": ts.ones(3)}, target)
    assert _leftovers(tmp_path) == []
    np.testing.assert_array_equal(ts.load(target)["w"].numpy(), np.ones(3))


def test_a_live_writers_temporary_file_is_kept(tmp_path):
    live = tmp_path / f".m.npz.{os.getppid()}.abcdefgh.tmp"  # our parent is alive
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    stale = tmp_path / f".m.npz.{dead}.abcdefgh.tmp"
    live.write_bytes(b"x")
    stale.write_bytes(b"x")
    ts.save({"w": ts.ones(1)}, tmp_path / "m.npz")
    assert live.exists() and not stale.exists()


def test_load_state_dict_of_a_path_says_to_load_it_first(tmp_path):
    model = ts.nn.Linear(2, 2)
    path = tmp_path / "model.npz"
    ts.save(model.state_dict(), path)
    with pytest.raises(TypeError, match=r"got the path '.*model.npz'; load the file first: "
                                        r"model.load_state_dict\(ts.load\("):
        model.load_state_dict(str(path))
    with pytest.raises(TypeError, match="load_state_dict: expected a state dict"):
        model.load_state_dict(path)
    with pytest.raises(TypeError, match="got list"):
        model.load_state_dict([1, 2])
    model.load_state_dict(ts.load(path))


def test_draw_takes_model_parameters():
    pytest.importorskip("graphviz", reason="drawing needs the graphviz package")
    model = ts.nn.Linear(3, 2)
    y = model(ts.randn(4, 3)).sum()
    source = ts.viz.draw(y, params=model.parameters()).source
    assert "parameters[0]" in source and "parameters[1]" in source
    with pytest.raises(TypeError, match="draw: params must be a Module"):
        ts.viz.draw(y, params=3)
