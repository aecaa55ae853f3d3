"""The primitive ops: one small class each.

The classes live in elementwise.py, reduce.py, movement.py, einsum.py, fused.py (one recurrent
step) and sequence.py (a whole recurrent sequence); the cells' pointwise maths is the kernel layer's
(the ``kernels`` package: one interface, a reference and compiled implementations).
``forward`` works on raw backend arrays (``self.xp`` is numpy or cupy) and may keep what
``backward`` needs in ``self.saved``. ``backward`` receives the output gradient as a Tensor and
returns one gradient per input, written with Tensor operations so that the same formula serves
first and (with ``create_graph=True``) second derivatives. Broadcast inputs get gradients of the
broadcast shape; the engine sums them back (autograd/engine.py, ``_fit``), so no op undoes
broadcasting itself.

Everything else (mean, var, std, stack, chunk, masked_fill, dropout, ...) is composed from
these in the tensor package (maths.py, shape.py, functions.py) and in nn; docs/primitives.md
lists them and says why each one is a primitive.
"""

from .einsum import Einsum
from .elementwise import (
                          Abs,
                          Add,
                          Cast,
                          Ceil,
                          Clip,
                          Cos,
                          Div,
                          Exp,
                          Floor,
                          Linear,
                          Log,
                          MatMul,
                          Maximum,
                          Minimum,
                          Mul,
                          Neg,
                          Pow,
                          Relu,
                          Round,
                          Sigmoid,
                          Sin,
                          Sqrt,
                          Sub,
                          Tanh,
                          Where,
)
from .fused import GRUCell, LSTMCell
from .movement import Cat, Clone, Expand, GetItem, Permute, Reshape, ScatterAdd, Split, ToDevice
from .reduce import CumSum, LogSoftmax, Max, Min, Prod, Softmax, Sum
from .sequence import GRUSequence, LSTMSequence, RNNSequence
from .special import Erf

__all__ = ["Abs", "Add", "Cast", "Clip", "Div", "Exp", "Log", "MatMul", "Maximum", "Minimum",
           "Mul", "Neg", "Pow", "Relu", "Sigmoid", "Sqrt", "Sub", "Tanh", "Where", "Cat", "Expand",
           "GetItem", "Permute", "Reshape", "ScatterAdd", "Split", "LogSoftmax", "Max", "Min",
           "Softmax", "Sum", "LSTMCell", "GRUCell",
           "LSTMSequence", "GRUSequence", "RNNSequence", "ToDevice", "Sin", "Cos", "Floor",
           "Ceil", "Round", "Clone", "CumSum", "Prod", "Einsum",
           "Erf", "Linear"]
