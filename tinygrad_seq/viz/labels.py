"""The words and numbers in a drawing's labels and tooltips: values, gradients, what a tensor
says of itself (h_0, a detach cut). drawing.py decides where they go."""

from __future__ import annotations

from ..backend import to_numpy
from .style import _fmt, _shape

SMALL = 4  # tensors with this many numbers or fewer show them all


def value_text(array):
    """'0.125', '[0.1, -0.3, 0.5]' for a scalar or small tensor, else 'min / mean / max'."""
    a = to_numpy(array)
    if a.dtype.kind == "b":
        return f"{int(a.sum())} of {a.size} true"
    if a.size == 0:
        return "empty"
    if a.size == 1:
        return f"{a.reshape(()).item():.4g}"
    if a.size <= SMALL:
        return "[" + ", ".join(f"{v:.3g}" for v in a.reshape(-1).tolist()) + "]"
    return f"min {a.min():.3g} / mean {a.mean():.3g} / max {a.max():.3g}"


def note_text(node):
    """The first line of a leaf's label: its name, or what it says of itself (h_0, c_0, a cut
    of truncated BPTT)."""
    note = node.note
    if note is None:
        return None
    if isinstance(note, str):
        return note
    step = (note.tags or {}).get("step")
    where = f" after t = {step}" if step is not None else ""
    return f"detached{where}\\n(truncated BPTT: no gradient flows back past here)"


def tensor_lines(node, shown, grad_norm, value):
    """Label lines of a tensor node: what it is, its shape and dtype, its value (``value``:
    its value_text, None when values are not shown) and gradient."""
    lines = [f"{_shape(node.shape)} {node.dtype}"]
    if value is not None:
        lines.append("= " + value)
        grad = node.tensor.grad if node.producer is None else None
        if grad is not None:
            lines.append("grad " + value_text(grad.data))
    if grad_norm is not None:
        lines.append(f"|g| = {_fmt(grad_norm)}")
    return [shown, *lines] if shown else lines
