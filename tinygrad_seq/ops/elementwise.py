"""Elementwise primitives: binary ops (inputs broadcast), unary ops, casts and Where."""

from __future__ import annotations

from .. import kernels
from ..autograd import Function, ShapeError

# ---- elementwise binary (inputs broadcast) ----------------------------------------------------


class Add(Function):
    name, broadcasting = "add", True
    saves_inputs = False

    def forward(self, a, b):
        return a + b

    def backward(self, g):
        return g, g


class Sub(Function):
    name, broadcasting = "sub", True
    saves_inputs = False

    def forward(self, a, b):
        return a - b

    def backward(self, g):
        return g, -g


class Mul(Function):
    name, broadcasting = "mul", True

    def forward(self, a, b):
        return a * b

    def backward(self, g):
        a, b = self.parents
        na, nb = self.needs_grad
        return (g * b if na else None), (g * a if nb else None)


class Div(Function):
    name, broadcasting = "div", True

    def forward(self, a, b):
        return a / b

    def backward(self, g):
        a, b = self.parents
        ga = g / b
        return ga, (-ga * a / b if self.needs_grad[1] else None)


class Pow(Function):
    name, broadcasting = "pow", True

    def forward(self, a, b):
        if a.dtype.kind in "iu" and b.dtype.kind in "iu" and (b < 0).any():
            raise ValueError("integers to negative integer powers are not allowed (make the "
                             "base floating point, e.g. x.float() ** -1)")
        self.saved = out = a ** b
        return out

    def backward(self, g):
        a, b = self.parents
        ga = gb = None
        if self.needs_grad[0]:
            # b * a^(b-1), taken as 0 where b == 0: the derivative of a^0 is 0, also at a == 0
            # and a == +-inf (PyTorch's rule), without evaluating 0^-1 or 0 * inf
            at_zero = b == 0
            slope = b * a ** Where.apply(at_zero, b.new_ones(()), b - 1)
            ga = g * Where.apply(at_zero, b.new_zeros(()), slope)  # 0, not 0 * inf, at a = inf
        if self.needs_grad[1]:
            # d(a^b)/db = a^b log a, taken as 0 where a == 0 and b >= 0 (PyTorch's rule)
            zero_base = (a == 0) & (b >= 0)
            safe = Where.apply(zero_base, a.new_ones(()), a)
            gb = g * self.output(self.saved) * safe.log()
        return ga, gb


class Maximum(Function):
    """Elementwise max; at ties the gradient is shared equally, and where either is NaN (the
    result is NaN) both get all of it (PyTorch's rule: each side loses the gradient only where
    it is strictly smaller)."""

    name, broadcasting = "maximum", True

    def forward(self, a, b):
        return self.xp.maximum(a, b)

    def backward(self, g):
        a, b = self.parents
        share = 1 - (a == b).astype(g.dtype) * 0.5
        return g * (share * (1 - (a < b).astype(g.dtype))), \
            g * (share * (1 - (a > b).astype(g.dtype)))


class Minimum(Maximum):
    name = "minimum"

    def forward(self, a, b):
        return self.xp.minimum(a, b)

    def backward(self, g):
        gb, ga = super().backward(g)  # min(a, b) = max(b, a) with the roles swapped
        return ga, gb


class MatMul(Function):
    """(..., n, k) @ (..., k, m) with batch dimensions broadcast; 1-D operands are handled by
    Tensor.matmul, which lifts them to matrices."""

    name = "matmul"

    def forward(self, a, b):
        if a.ndim < 2 or b.ndim < 2 or a.shape[-1] != b.shape[-2]:
            raise ShapeError(f"matmul: {tuple(a.shape)} @ {tuple(b.shape)}: inner sizes "
                             f"{a.shape[-1]} and {b.shape[-2 if b.ndim > 1 else -1]} differ")
        return kernels.matmul(self.xp, a, b)

    def backward(self, g):
        a, b = self.parents
        na, nb = self.needs_grad
        return (g @ b.mT if na else None), (a.mT @ g if nb else None)


class Linear(Function):
    """x W^T + b for x (N, K), W (F, K) and b (F) (or no b): one product that starts from the
    bias (kernels.linear), rather than a MatMul and then an Add over the whole output."""

    name = "linear"

    def forward(self, x, w, b=None):
        if x.ndim != 2 or w.ndim != 2 or x.shape[1] != w.shape[1] or \
                (b is not None and b.shape != (w.shape[0],)):
            raise ShapeError(f"linear: input {tuple(x.shape)}, weight {tuple(w.shape)} and bias "
                             f"{None if b is None else tuple(b.shape)} do not fit "
                             f"(N, K), (F, K), (F,)")
        return kernels.linear(self.xp, x, w, b)

    def backward(self, g):
        x, w = self.parents[0], self.parents[1]
        gx = g @ w if self.needs_grad[0] else None
        gw = g.T @ x if self.needs_grad[1] else None
        gb = g.sum(0) if len(self.parents) > 2 and self.needs_grad[2] else None
        return gx, gw, gb


# ---- elementwise unary ------------------------------------------------------------------------


class Neg(Function):
    name = "neg"
    saves_inputs = False

    def forward(self, x):
        return -x

    def backward(self, g):
        return -g


class Exp(Function):
    name = "exp"
    saves_inputs = False

    def forward(self, x):
        self.saved = out = self.xp.exp(x)
        return out

    def backward(self, g):
        return g * self.output(self.saved)


class Log(Function):
    name = "log"

    def forward(self, x):
        return self.xp.log(x)

    def backward(self, g):
        return g / self.parents[0]


class Sqrt(Function):
    name = "sqrt"
    saves_inputs = False

    def forward(self, x):
        self.saved = out = self.xp.sqrt(x)
        return out

    def backward(self, g):
        return g / (self.output(self.saved) * 2)


class Tanh(Function):
    name = "tanh"
    saves_inputs = False

    def forward(self, x):
        self.saved = out = self.xp.tanh(x)
        return out

    def backward(self, g):
        y = self.output(self.saved)
        return g * (1 - y * y)


class Sigmoid(Function):
    """A primitive rather than 1/(1+exp(-x)): that composition overflows exp for x << 0, and
    every gate of every recurrent cell calls this."""

    name = "sigmoid"
    saves_inputs = False

    def forward(self, x):
        xp = self.xp
        e = xp.exp(-xp.abs(x))  # never overflows
        self.saved = out = xp.where(x >= 0, 1 / (1 + e), e / (1 + e)).astype(x.dtype, copy=False)
        return out

    def backward(self, g):
        y = self.output(self.saved)
        return g * y * (1 - y)


class Relu(Function):
    name = "relu"

    def forward(self, x):
        return self.xp.maximum(x, 0)

    def backward(self, g):
        return g * (self.parents[0] > 0).astype(g.dtype)


class Abs(Function):
    name = "abs"

    def forward(self, x):
        return self.xp.abs(x)

    def backward(self, g):
        return g * self.parents[0].sign()


class Sin(Function):
    name = "sin"

    def forward(self, x):
        return self.xp.sin(x)

    def backward(self, g):
        return g * self.parents[0].cos()


class Cos(Function):
    name = "cos"

    def forward(self, x):
        return self.xp.cos(x)

    def backward(self, g):
        return -g * self.parents[0].sin()


class _Step(Function):
    """A piecewise-constant function: its derivative is 0 wherever it exists, and PyTorch
    gives 0 everywhere (also at the jumps), so gradients flow on as zeros, not as an error."""

    saves_inputs = False

    def backward(self, g):
        return g.new_zeros(g.shape)


class Floor(_Step):
    name = "floor"

    def forward(self, x):
        return self.xp.floor(x)


class Ceil(_Step):
    name = "ceil"

    def forward(self, x):
        return self.xp.ceil(x)


class Round(_Step):
    """Half to even, as PyTorch and NumPy; ``decimals`` rounds to that many places."""

    name = "round"

    def forward(self, x, decimals=0):
        return self.xp.round(x, decimals)


class Clip(Function):
    """clamp(x, lo, hi); the gradient passes where lo <= x <= hi (PyTorch's rule)."""

    name = "clip"

    def forward(self, x, lo=None, hi=None):
        self.lo, self.hi = lo, hi
        return self.xp.clip(x, lo, hi)

    def backward(self, g):
        x = self.parents[0].data
        keep = self.xp.ones(x.shape, dtype=bool)
        if self.lo is not None:
            keep &= x >= self.lo
        if self.hi is not None:
            keep &= x <= self.hi
        return g * g._wrap(keep.astype(g.dtype))


class Cast(Function):
    name = "cast"
    saves_inputs = False

    def forward(self, x, dtype=None):
        return x.astype(dtype)

    def backward(self, g):
        return g.astype(self.parents[0].dtype)


# ---- selection -------------------------------------------------------------------------------


class Where(Function):
    name, broadcasting = "where", True

    def forward(self, cond, a, b):
        return self.xp.where(cond, a, b)

    def backward(self, g):
        cond, a, b = self.parents
        zero = g.new_zeros(())
        ga = Where.apply(cond, g, zero) if self.needs_grad[1] else None
        gb = Where.apply(cond, zero, g) if self.needs_grad[2] else None
        return None, ga, gb
