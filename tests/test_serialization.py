"""tinygrad_seq.serialization: round trips, atomic writes, and clear errors for bad files."""

from __future__ import annotations

import collections
import os
import pathlib

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq.nn import Linear
from tinygrad_seq.serialization import CheckpointError, load, save


def assert_same(a, b):
    """Structural equality: same container types, same keys (and key types), same arrays."""
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b) and [type(k) for k in a] == [type(k) for k in b]
        for k in a:
            assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            assert_same(x, y)
    elif isinstance(a, ts.Tensor):
        assert a.dtype == b.dtype and a.requires_grad == b.requires_grad
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    elif isinstance(a, (np.ndarray, np.generic)):
        assert a.dtype == b.dtype
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


def optimizer_like():
    return {
        "state": {0: {"step": 5, "exp_avg": ts.randn(3, 2), "exp_avg_sq": np.ones((3, 2))},
                  1: {"step": 5, "momentum_buffer": ts.zeros(2, dtype=ts.float64)}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1], "amsgrad": False,
                          "weight_decay": 0, "foreach": None, "name": "all",
                          "eps": float("nan"), "scale": np.float32(0.5)}],
    }


# ---- round trips ------------------------------------------------------------------------------


def test_linear_state_dict_round_trip(tmp_path):
    src = Linear(3, 2)
    save(src.state_dict(), tmp_path / "linear.npz")
    sd = load(tmp_path / "linear.npz")
    assert isinstance(sd, collections.OrderedDict) and list(sd) == ["weight", "bias"]
    assert all(isinstance(v, ts.Tensor) and v.device == "cpu" for v in sd.values())
    dst = Linear(3, 2)
    dst.load_state_dict(sd)
    x = ts.randn(4, 3)
    np.testing.assert_array_equal(dst(x).numpy(), src(x).numpy())
    assert_same(src.state_dict(), sd)


def test_nested_optimizer_state_keeps_int_keys_and_types(tmp_path):
    obj = optimizer_like()
    save(obj, tmp_path / "opt.npz")
    back = load(tmp_path / "opt.npz")
    assert_same(obj, back)
    assert list(back["state"]) == [0, 1]  # ints, not "0" and "1"
    assert isinstance(back["state"][0]["exp_avg"], ts.Tensor)
    assert isinstance(back["state"][0]["exp_avg_sq"], np.ndarray)


def test_dtypes_scalars_and_flags_survive(tmp_path):
    obj = [ts.tensor([1, 2], dtype=ts.int32), ts.tensor([True, False]),
           ts.randn(2, requires_grad=True), np.arange(3, dtype=np.uint8), np.int64(7),
           (None, True, 3, 2.5, "s", {(1, "a"): 2, None: 1, 2.5: "x"}), [], {}, np.zeros((0, 3))]
    save(obj, tmp_path / "misc.npz")
    assert_same(obj, load(tmp_path / "misc.npz"))


def test_bare_tensor_and_array(tmp_path):
    t = ts.randn(2, 2)
    save(t, tmp_path / "t.npz")
    assert_same(t, load(tmp_path / "t.npz"))


def test_str_and_pathlib_paths_and_no_added_suffix(tmp_path):
    save({"a": ts.ones(2)}, str(tmp_path / "ckpt"))
    assert os.listdir(tmp_path) == ["ckpt"]  # saved exactly where asked (numpy adds .npz)
    assert_same(load(pathlib.Path(tmp_path) / "ckpt"), {"a": ts.ones(2)})
    assert_same(load(str(tmp_path / "ckpt")), {"a": ts.ones(2)})


def test_gpu_like_arrays_are_copied_to_host(tmp_path, monkeypatch):
    class FakeCupyArray:  # stands in for cupy.ndarray: only .get() is used
        def get(self):
            return np.arange(4.0)

    class FakeCupy:  # what backend.py knows of CuPy once it is loaded: its array type
        ndarray = FakeCupyArray

    monkeypatch.setattr(ts.backend, "_cupy", FakeCupy)
    save({"x": FakeCupyArray()}, tmp_path / "gpu.npz")
    monkeypatch.undo()
    assert_same(load(tmp_path / "gpu.npz"), {"x": np.arange(4.0)})


def test_overwrite_replaces_previous(tmp_path):
    path = tmp_path / "c.npz"
    save({"v": 1}, path)
    save({"v": 2}, path)
    assert load(path) == {"v": 2}
    assert os.listdir(tmp_path) == ["c.npz"]


# ---- atomicity --------------------------------------------------------------------------------


@pytest.fixture
def previous(tmp_path):
    path = tmp_path / "model.npz"
    save({"weight": ts.ones(3), "step": 1}, path)
    return path, path.read_bytes()


def assert_previous_intact(path, data):
    assert path.read_bytes() == data
    assert load(path)["step"] == 1
    assert os.listdir(path.parent) == [path.name], "a temporary file was left behind"


def test_unserialisable_object_keeps_previous(previous):
    path, data = previous
    with pytest.raises(TypeError, match="cannot serialise an object of type object"):
        save({"weight": ts.zeros(3), "bad": object()}, path)
    assert_previous_intact(path, data)


def test_write_error_midway_keeps_previous(previous, monkeypatch):
    path, data = previous

    def failing_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")  # some bytes reach the temporary file first
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(np, "savez", failing_savez)
    with pytest.raises(OSError, match="No space left"):
        save({"weight": ts.zeros(3), "step": 2}, path)
    assert_previous_intact(path, data)


def test_interrupted_before_rename_keeps_previous(previous, monkeypatch):
    path, data = previous

    def interrupted(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save({"weight": ts.zeros(3), "step": 2}, path)
    monkeypatch.undo()
    assert_previous_intact(path, data)


def test_bad_structures_are_named(tmp_path):
    cyclic = {"a": []}
    cyclic["a"].append(cyclic)
    with pytest.raises(ValueError, match=r"circular reference at <root>\['a'\]\[0\]"):
        save(cyclic, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dtype object"):
        save({"o": np.array([1, "a"], dtype=object)}, tmp_path / "x.npz")
    with pytest.raises(TypeError, match="dict key"):
        save({frozenset(): 1}, tmp_path / "x.npz")
    assert os.listdir(tmp_path) == []


# ---- bad files --------------------------------------------------------------------------------


def test_missing_file_names_the_path(tmp_path):
    path = tmp_path / "nope.npz"
    with pytest.raises(FileNotFoundError, match="nope.npz"):
        load(path)


def expect_invalid(path):
    with pytest.raises(CheckpointError, match="not a valid tinygrad_seq checkpoint") as info:
        load(path)
    assert isinstance(info.value, ValueError)
    assert str(path) in str(info.value)
    err = info.value  # no zipfile/numpy traceback chained onto ours
    assert err.__cause__ is None and (err.__context__ is None or err.__suppress_context__)


@pytest.mark.parametrize("keep", [0.5, 0.9, 0.0])
def test_truncated_file(tmp_path, keep):
    path = tmp_path / "t.npz"
    save(optimizer_like(), path)
    data = path.read_bytes()
    path.write_bytes(data[:int(len(data) * keep)])
    expect_invalid(path)


@pytest.mark.parametrize("where", [b"__tinygrad_seq__", b"a0.npy"])
def test_corrupt_bytes(tmp_path, where):
    path = tmp_path / "c.npz"
    save({"w": np.arange(100.0)}, path)
    data = bytearray(path.read_bytes())
    start = data.index(where) + (200 if where == b"a0.npy" else 0)  # a name, or array data
    data[start:start + 40] = b"\xff" * 40
    path.write_bytes(bytes(data))
    expect_invalid(path)


def test_foreign_files(tmp_path):
    np.savez(tmp_path / "plain.npz", w=np.ones(3))
    expect_invalid(tmp_path / "plain.npz")
    np.save(tmp_path / "array.npy", np.ones(3))
    expect_invalid(tmp_path / "array.npy")
    (tmp_path / "text.npz").write_text("not a checkpoint at all")
    expect_invalid(tmp_path / "text.npz")


def test_unsupported_version(tmp_path):
    header = b'{"format": "tinygrad_seq", "version": 99, "root": null}'
    np.savez(tmp_path / "v99.npz", __tinygrad_seq__=np.frombuffer(header, dtype=np.uint8))
    with pytest.raises(CheckpointError, match="version 99"):
        load(tmp_path / "v99.npz")
