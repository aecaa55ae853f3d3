"""Checkpoints: ``save(obj, path)`` and ``load(path)``, like ``torch.save`` / ``torch.load``.

A checkpoint is one ``.npz`` file (``numpy.savez``): every array under a generated key
(``a0``, ``a1``, ...) plus one entry, ``__tinygrad_seq__``, holding UTF-8 JSON that describes
the structure. Loading needs no pickle (``allow_pickle=False``), so a checkpoint from an
untrusted source cannot run code.

The structure may nest dicts (any scalar keys: an optimizer's state is keyed by ints, which come
back as ints), lists, tuples, None, bools, ints, floats, strings, Tensors, NumPy arrays and
NumPy scalars. Each non-JSON value is a tagged JSON object::

    {"$": "tensor", "key": "a0", "requires_grad": false}   {"$": "array", "key": "a1"}
    {"$": "scalar", "key": "a2"}   {"$": "list" | "tuple", "items": [...]}
    {"$": "dict" | "odict", "items": [[key, value], ...]}

Saving is atomic: the file is written to a temporary name in the target's directory, flushed
and fsynced, then renamed over the target with ``os.replace``; a save that fails at any point
leaves the previous checkpoint as it was and removes its temporary file. A process killed
mid-save cannot remove its own: the temporary name carries the writer's process id, and the
next save to the same path removes the leftovers of writers that are no longer running.
"""

from __future__ import annotations

import collections
import json
import os
import tempfile

import numpy

from . import backend
from .tensor import Tensor

HEADER = "__tinygrad_seq__"
FORMAT, VERSION = "tinygrad_seq", 1
_SCALARS = (type(None), bool, int, float, str)


class CheckpointError(ValueError):
    """The file is not a valid tinygrad_seq checkpoint (corrupt, truncated or foreign)."""


# ---- encoding ---------------------------------------------------------------------------------


class _Encoder:
    """Turns a structure into JSON-able nodes, collecting arrays in ``self.arrays``. Recursive:
    checkpoints are a few levels deep, unlike autograd graphs (which are walked with loops)."""

    def __init__(self):
        self.arrays = {}
        self.active = set()  # ids of the containers being encoded, to catch cycles

    def array(self, a, where):
        a = backend.to_numpy(a)  # a GPU array is copied to the host
        if a.dtype.hasobject:
            raise TypeError(f"save: the array at {where} has dtype object, which cannot be "
                            f"stored without pickle")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = a
        return key

    def encode(self, obj, where="<root>"):
        if isinstance(obj, numpy.generic):  # before float: numpy.float64 subclasses float
            return {"$": "scalar", "key": self.array(numpy.asarray(obj), where)}
        if type(obj) in _SCALARS:
            return obj
        for base in (bool, int, float, str):  # subclasses (IntEnum, ...) keep their value
            if isinstance(obj, base):
                return base(obj)
        if isinstance(obj, Tensor):
            return {"$": "tensor", "key": self.array(obj.data, where),
                    "requires_grad": bool(obj.requires_grad)}
        if backend.is_array(obj):
            return {"$": "array", "key": self.array(obj, where)}
        if not isinstance(obj, (dict, list, tuple)):
            raise TypeError(f"save: cannot serialise an object of type {type(obj).__name__} at "
                            f"{where}; supported: dict, list, tuple, None, bool, int, float, str, "
                            f"Tensor, numpy arrays and scalars")
        if id(obj) in self.active:
            raise ValueError(f"save: circular reference at {where}")
        self.active.add(id(obj))
        try:
            if isinstance(obj, dict):
                items = []
                for k, v in obj.items():
                    if not _is_key(k):
                        raise TypeError(f"save: dict key {k!r} at {where} has type "
                                        f"{type(k).__name__}; keys must be None, bool, int, "
                                        f"float, str or tuples of these")
                    items.append([self.encode(k, where), self.encode(v, f"{where}[{k!r}]")])
                kind = "odict" if isinstance(obj, collections.OrderedDict) else "dict"
                return {"$": kind, "items": items}
            return {"$": "tuple" if isinstance(obj, tuple) else "list",
                    "items": [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        finally:
            self.active.discard(id(obj))


def _is_key(k):
    if isinstance(k, tuple):
        return all(_is_key(x) for x in k)
    return isinstance(k, _SCALARS)


# ---- decoding ---------------------------------------------------------------------------------


def _decode(node, arrays):
    """The inverse of _Encoder.encode; a malformed node raises KeyError/TypeError/ValueError,
    which load reports as a corrupt checkpoint."""
    if isinstance(node, _SCALARS):
        return node
    if isinstance(node, list):  # JSON arrays only appear inside tagged nodes
        raise ValueError("bare JSON list in the structure")
    kind = node["$"]
    if kind in ("tensor", "array", "scalar"):
        a = arrays[node["key"]]
        if kind == "array":
            return a
        if kind == "scalar":
            return a[()]
        t = Tensor._wrap(a)
        return t.requires_grad_(True) if node.get("requires_grad") else t
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind in ("dict", "odict"):
        pairs = [(_decode(k, arrays), _decode(v, arrays)) for k, v in node["items"]]
        return collections.OrderedDict(pairs) if kind == "odict" else dict(pairs)
    raise ValueError(f"unknown node type {kind!r}")


# ---- save and load ----------------------------------------------------------------------------


def save(obj, path):
    """Write ``obj`` (a state dict or a nested structure, see the module docstring) to ``path``
    (str or os.PathLike), atomically. The path is used as given: no ``.npz`` is appended."""
    path = os.fspath(path)
    enc = _Encoder()
    root = enc.encode(obj)  # fails on unsupported objects before anything touches the disk
    header = json.dumps({"format": FORMAT, "version": VERSION, "root": root})
    arrays = dict(enc.arrays)
    arrays[HEADER] = numpy.frombuffer(header.encode("utf-8"), dtype=numpy.uint8)
    directory = os.path.dirname(os.path.abspath(path))
    prefix = f".{os.path.basename(path)}."
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"save: cannot write {path}: the folder {directory} does not "
                                f"exist")
    _remove_stale(directory, prefix)
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix=f"{prefix}{os.getpid()}.",
                                   suffix=".tmp")
    except OSError as e:  # name the user's path, not the temporary one
        raise type(e)(e.errno, f"save: cannot write {path}: {e.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            numpy.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the rename makes them visible
        # mkstemp makes the file private (0600); give it the mode the old file had, else 0644
        os.chmod(tmp, os.stat(path).st_mode & 0o7777 if os.path.exists(path) else 0o644)
        os.replace(tmp, path)
    except BaseException as e:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno is not None:
            raise type(e)(e.errno, f"save: cannot write {path}: {e.strerror}") from None
        raise
    _fsync_dir(directory)


def _remove_stale(directory, prefix):
    """Remove temporary files of earlier saves to this path whose writer has died (a killed
    process cannot clean up); a save in progress in a live process keeps its file."""
    try:
        names = [n for n in os.listdir(directory) if n.startswith(prefix) and n.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        pid = name[len(prefix):].split(".", 1)[0]
        if not pid.isdigit() or _alive(int(pid)):
            continue
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:
            pass  # another saver removed it first


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists but belongs to someone else
    return True


def _fsync_dir(directory):
    """Make the rename itself durable; not every platform can open a directory (Windows)."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)


def load(path):
    """Read a checkpoint written by ``save``: Tensors (on the CPU) where Tensors were saved,
    NumPy arrays where arrays were. A missing file raises FileNotFoundError; a corrupt,
    truncated or foreign file raises CheckpointError (a ValueError) naming the file."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: '{path}'")

    def invalid(why):
        return CheckpointError(f"load: '{path}' is not a valid tinygrad_seq checkpoint: {why}")

    try:
        with open(path, "rb") as f:
            magic = f.read(6)
            if not (magic.startswith(b"PK\x03\x04") or magic == b"\x93NUMPY"):
                # else numpy.load would suggest unpickling it with allow_pickle=True
                raise invalid("it is not an .npz (zip) archive" if magic else "it is empty")
            f.seek(0)
            npz = numpy.load(f, allow_pickle=False)
            if not hasattr(npz, "files"):  # a bare .npy array
                raise invalid("it is a single NumPy array, not an .npz archive")
            if HEADER not in npz.files:
                raise invalid(f"it is an .npz archive without the '{HEADER}' entry (saved by "
                              f"something other than tinygrad_seq.save?)")
            meta = json.loads(npz[HEADER].tobytes().decode("utf-8"))
            if not isinstance(meta, dict) or meta.get("format") != FORMAT:
                raise invalid("its header does not name the tinygrad_seq format")
            if meta.get("version") != VERSION:
                raise invalid(f"format version {meta.get('version')!r} is not supported "
                              f"(this tinygrad_seq reads version {VERSION})")
            arrays = {k: npz[k] for k in npz.files if k != HEADER}  # read while f is open
            return _decode(meta["root"], arrays)
    except CheckpointError:
        raise
    except (IsADirectoryError, PermissionError):
        raise
    except Exception as e:  # zipfile, zlib, numpy format and JSON errors all mean "corrupt"
        raise invalid(f"{type(e).__name__}: {e}") from None
