"""The Tensor and the ways to make one: ``Tensor`` (core.py, with its methods in maths.py and
shape.py), the factories (creation.py: ``ts.tensor``, ``ts.zeros``, ``ts.randn``, ...) and the
free-function spellings (functions.py: ``ts.cat``, ``ts.stack``, ``ts.where``, ...). Built on
autograd (nodes, backward) and ops (the primitives the methods call)."""

from .core import Tensor

__all__ = ["Tensor"]
