"""Shared test helpers: PyTorch as the oracle, hypothesis strategies for shapes and float64
inputs."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import tinygrad_seq as ts

TORCH_MISSING = ("PyTorch is not installed; it is the oracle of the parity tests "
                 "(pip install torch==2.13.0, a CPU build)")


class Oracle:
    """A module of PyTorch, imported at its first use inside a test: without PyTorch that test
    skips, saying why, and every test that does not touch it still runs. Use it as the module:
    ``torch.tensor(...)``, ``TF.cross_entropy(...)``."""

    def __init__(self, name):
        self._name = name

    def __getattr__(self, attr):
        if attr.startswith("_"):  # pytest's collection probes objects for its own markers
            raise AttributeError(attr)
        try:
            module = importlib.import_module(self._name)
        except ImportError:
            pytest.skip(TORCH_MISSING)
        return getattr(module, attr)

    def __repr__(self):
        return f"<oracle {self._name}>"


torch = Oracle("torch")
TF = Oracle("torch.nn.functional")

# small shapes keep finite differences cheap; size-1 axes exercise broadcasting
shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
nonscalar_shapes = hnp.array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=4)
broadcast_pairs = hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3,
                                                     min_side=1, max_side=4)
seeds = st.integers(0, 2**32 - 1)


def leaf(shape, seed, positive=False, away_from_zero=False):
    """A float64 leaf tensor of random normal values that requires grad."""
    a = np.random.default_rng(seed).standard_normal(shape)
    if positive:
        a = np.abs(a) + 0.5
    if away_from_zero:
        a = np.where(a >= 0, a + 0.5, a - 0.5)
    return ts.tensor(a, dtype=ts.float64, requires_grad=True)


def axis_for(data, shape):
    """A hypothesis-drawn axis argument (None, an int, or a tuple) valid for ``shape``."""
    if len(shape) == 0:
        return None
    choice = data.draw(st.sampled_from(["none", "int", "tuple"]))
    if choice == "none":
        return None
    if choice == "int":
        return data.draw(st.integers(-len(shape), len(shape) - 1))
    return tuple(sorted(data.draw(st.sets(st.integers(0, len(shape) - 1), min_size=1))))
