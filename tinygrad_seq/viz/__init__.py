"""Drawing the autograd graph: unrolled computation graphs, gradient flow, the rolled cell."""
