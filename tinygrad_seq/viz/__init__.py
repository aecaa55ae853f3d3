"""Seeing the computation: unrolled graphs drawn with Graphviz, gradient flow over time,
attention maps and training curves.

    import tinygrad_seq as ts
    ts.viz.render(loss, path="graph.svg", params=model, group="time", collapse=(2, 2))
    ts.viz.gradient_flow(path="flow.png")

``ts.viz`` is imported on first use, never by ``import tinygrad_seq``: it brings graphviz's
Python package (a dependency; Graphviz's ``dot`` program renders), and matplotlib (the ``viz``
extra) inside the plotting functions. See docs/visualization.md.
"""

from ..autograd import record_grad_norms
from .demo import demo_model
from .dot import draw, render
from .plots import gradient_flow, gradient_norms, plot_attention, plot_losses, unrolled_loss
from .rolled import draw_rolled

__all__ = ["draw", "render", "draw_rolled", "gradient_flow", "gradient_norms", "plot_attention",
           "plot_losses", "unrolled_loss", "record_grad_norms", "demo_model"]
