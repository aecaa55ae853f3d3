"""Einsum, the one contraction primitive besides MatMul: one or two operands with an explicit
output ("ij,jk->ik", "bij,bjk->bik", "i,i->", "ij->j"); ``ts.einsum`` parses the user's
subscripts (implicit output, spaces) and checks them before they get here.

Its backward is einsum again: the gradient for one operand contracts the output gradient with
the other operand onto that operand's letters. A letter that only that operand has (summed
away on its own, "ij->j") cannot come out of that contraction, so the gradient is broadcast
along it afterwards.
"""

from __future__ import annotations

from ..autograd import Function


class Einsum(Function):
    name = "einsum"

    def forward(self, *xs, inputs=(), output=""):
        self.inputs, self.output_letters = inputs, output
        return self.xp.einsum(",".join(inputs) + "->" + output, *xs)

    def backward(self, g):
        grads = []
        for i, letters in enumerate(self.inputs):
            if not self.needs_grad[i]:
                grads.append(None)
                continue
            others = [j for j in range(len(self.inputs)) if j != i]
            known = set(self.output_letters).union(*(self.inputs[j] for j in others))
            target = "".join(c for c in letters if c in known)
            gi = Einsum.apply(g, *(self.parents[j] for j in others),
                              inputs=(self.output_letters, *(self.inputs[j] for j in others)),
                              output=target)
            if target != letters:  # letters only this operand had: broadcast along them
                shape = self.parents[i].shape
                gi = gi.reshape(tuple(n if c in known else 1 for c, n in zip(letters, shape)))
                gi = gi.expand(shape)
            grads.append(gi)
        return tuple(grads)
