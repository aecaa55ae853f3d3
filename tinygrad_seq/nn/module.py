"""Module and Parameter: the containers that hold weights, as in PyTorch.

Parameters and submodules are discovered by walking instance attributes (in assignment order),
so a module is written exactly like a PyTorch one: assign ``self.fc = Linear(...)`` or
``self.w = Parameter(...)`` in ``__init__`` and define ``forward``. State-dict keys are the
attribute paths (``encoder.rnn.weight_hh_l0``), so weights move to and from PyTorch unchanged.
"""

from __future__ import annotations

import collections
import os

import numpy

from .. import backend
from ..autograd import ShapeError
from ..tensor import Tensor


class Parameter(Tensor):
    """A tensor that is a module's weight: it always requires grad and is found by
    ``Module.parameters()``."""

    __slots__ = ()

    def __init__(self, data, requires_grad=True):
        super().__init__(data.data if isinstance(data, Tensor) else data,
                         requires_grad=requires_grad,
                         dtype=None if not isinstance(data, Tensor) else data.dtype,
                         device=None if not isinstance(data, Tensor) else data.device)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


class Module:
    """Base class of every layer and model. Subclasses define ``forward``; calling the module
    calls it."""

    training = True

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        return self.forward(*args, **kwargs)

    # ---- walking the tree (loops with an explicit stack, like every walk in this project) ---
    def _items(self):
        """(name, Parameter | Module) pairs held directly by this module, in order."""
        for name, value in vars(self).items():
            if isinstance(value, (Parameter, Module)):
                yield name, value

    def named_modules(self, prefix=""):
        stack = [(prefix, self)]
        seen = set()
        while stack:
            name, mod = stack.pop()
            if id(mod) in seen:
                continue
            seen.add(id(mod))
            yield name, mod
            children = [(f"{name}.{n}" if name else n, m) for n, m in mod._items()
                        if isinstance(m, Module)]
            stack.extend(reversed(children))

    def modules(self):
        return (m for _, m in self.named_modules())

    def named_children(self):
        return ((n, m) for n, m in self._items() if isinstance(m, Module))

    def children(self):
        return (m for _, m in self.named_children())

    def named_parameters(self, prefix="", recurse=True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mname, mod in mods:
            for n, p in mod._items():
                if isinstance(p, Parameter) and id(p) not in seen:
                    seen.add(id(p))
                    yield (f"{mname}.{n}" if mname else n), p

    def parameters(self, recurse=True):
        return (p for _, p in self.named_parameters(recurse=recurse))

    def apply(self, fn):
        for m in list(self.modules()):
            fn(m)
        return self

    # ---- modes and gradients ------------------------------------------------------------------
    def train(self, mode=True):
        for m in self.modules():
            m.training = bool(mode)
        return self

    def eval(self):
        return self.train(False)

    def zero_grad(self, set_to_none=True):
        for p in self.parameters():
            if set_to_none or p.grad is None:
                p.grad = None
            else:
                p.grad.data[...] = 0

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad = bool(requires_grad)
        return self

    def to(self, device=None, dtype=None):
        """Move (and/or cast) every parameter in place; returns self."""
        if device is not None:
            device = backend.parse_device(device)
            backend.module_for(device)
        for p in self.parameters():
            data = p.data
            if device is not None:
                data = backend.to_device(data, device)
            if dtype is not None and data.dtype.kind == "f":
                data = data.astype(dtype)
            p.data = data
            if p.grad is not None:
                p.grad = None
        return self

    def double(self):
        return self.to(dtype=numpy.float64)

    def float(self):
        return self.to(dtype=numpy.float32)

    # ---- state dicts --------------------------------------------------------------------------
    def state_dict(self):
        """Parameter name -> tensor (sharing the data, detached from any graph)."""
        return collections.OrderedDict((n, p.detach()) for n, p in self.named_parameters())

    def load_state_dict(self, state_dict, strict=True):
        """Copy values into the parameters. Values may be tensors or arrays (NumPy, CuPy, or
        PyTorch's ``.numpy()``); each keeps its parameter's dtype and device. With ``strict``,
        a missing or unexpected key is an error; a shape mismatch always is."""
        if isinstance(state_dict, (str, bytes, os.PathLike)):
            raise TypeError(f"load_state_dict: expected a state dict, got the path "
                            f"{os.fsdecode(state_dict)!r}; load the file first: "
                            f"model.load_state_dict(ts.load({os.fsdecode(state_dict)!r}))")
        if not hasattr(state_dict, "items"):
            raise TypeError(f"load_state_dict: expected a state dict (name -> tensor), got "
                            f"{type(state_dict).__name__}")
        own = dict(self.named_parameters())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys {missing}")
            if unexpected:
                parts.append(f"unexpected keys {unexpected}")
            raise KeyError(f"load_state_dict for {type(self).__name__}: " + "; ".join(parts))
        for name, value in state_dict.items():
            if name not in own:
                continue
            p = own[name]
            arr = value.data if isinstance(value, Tensor) else value
            arr = backend.to_device(arr, p.device) if backend.is_array(arr) else \
                p.xp.asarray(arr)  # a list, or another library's array
            if tuple(arr.shape) != tuple(p.shape):
                raise ShapeError(f"load_state_dict for {type(self).__name__}: key '{name}' has "
                                 f"shape {tuple(arr.shape)} in the checkpoint but "
                                 f"{tuple(p.shape)} in the model")
            p.data = arr.astype(p.dtype, copy=True)
        return collections.namedtuple("IncompatibleKeys", "missing_keys unexpected_keys")(
            missing, unexpected)

    # ---- printing -----------------------------------------------------------------------------
    def extra_repr(self):
        return ""

    def __repr__(self):
        children = list(self.named_children())
        head = f"{type(self).__name__}({self.extra_repr()}"
        if not children:
            return head + ")"
        lines = [head]
        for name, child in children:
            body = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        return "\n".join(lines) + "\n)"


class Sequential(Module):
    """Modules applied one after the other."""

    def __init__(self, *modules):
        for i, m in enumerate(modules):
            setattr(self, str(i), m)

    def __getitem__(self, i):
        return list(self.children())[i]

    def __len__(self):
        return len(list(self.children()))

    def __iter__(self):
        return iter(list(self.children()))

    def forward(self, x):
        for m in self.children():
            x = m(x)
        return x


class ModuleList(Module):
    """A list of modules whose parameters the parent finds (names ``0``, ``1``, ...)."""

    def __init__(self, modules=()):
        self._n = 0
        for m in modules:
            self.append(m)

    def append(self, module):
        if not isinstance(module, Module):
            raise TypeError(f"ModuleList holds modules, got {type(module).__name__}")
        setattr(self, str(self._n), module)
        self._n += 1
        return self

    def __getitem__(self, i):
        return list(self.children())[i]

    def __len__(self):
        return self._n

    def __iter__(self):
        return iter(list(self.children()))
