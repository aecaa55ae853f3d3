"""The autograd engine, below every tensor: it records graph nodes and runs the backward pass.

- function.py: ``Function`` (one graph node per primitive op), grad mode, graph tags and the
  op errors (``ShapeError``);
- engine.py: the backward pass (Kahn order, a loop, never recursion) and ``grad``;
- hooks.py: tensor hooks and ``retain_grad``, which the engine runs;
- versions.py: version counters, so backward refuses values written in place after an op
  saved them.

Nothing here imports ``Tensor``: nodes and the engine make new tensors with the ``_wrap`` of
the tensors they were given. docs/autograd.md walks through a backward pass.
"""

from . import versions
from .engine import grad, run_backward
from .function import (
    Function,
    ShapeError,
    current_tags,
    enable_grad,
    graph_tags,
    is_grad_enabled,
    no_grad,
    record_grad_norms,
    recording_grad_norms,
    set_grad_enabled,
)

__all__ = ["Function", "ShapeError", "no_grad", "enable_grad", "set_grad_enabled",
           "is_grad_enabled", "graph_tags", "current_tags", "record_grad_norms",
           "recording_grad_norms", "grad", "run_backward", "versions"]
