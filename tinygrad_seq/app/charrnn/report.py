"""The page a training run leaves in its folder: ``report.html``, the interactive graph viewer
(viz/html.py) showing the trained model unrolled over a real snippet of validation text,
coloured by its gradients, and below it the loss curves, the gradient flow over time measured
on a real batch, and the samples step by step."""

from __future__ import annotations

import base64
import html
import math
import os
import shutil

from ...autograd import record_grad_norms
from ...nn import functional as F
from ...tensor import Tensor

GRAPH_STEPS = 6  # characters of the unrolled picture: enough to see the recurrence


def gradient_flow(model, corpus, steps=64, batch=8):
    """||dL/dh_t|| for t = 0 .. steps-1 of the first layer, for the loss of the last
    character only, on a real validation batch: how far back a prediction reaches."""
    n = min(steps, len(corpus.val) // batch - 1)
    data = corpus.val[:batch * (n + 1)].reshape(batch, n + 1).T  # (n + 1, B)
    device = next(iter(model.parameters())).device
    x, y = Tensor(data[:-1], device=device), Tensor(data[-1], device=device)
    logits, _ = model(x)
    loss = F.cross_entropy(logits[-1], y)
    with record_grad_norms():
        loss.backward()
    model.zero_grad()
    from ...viz.graph import capture  # the graph walk drawings use; viz loads on first use
    first = [op.fn for op in capture(loss, unroll=False).ops()
             if getattr(op.fn, "step_norms", None) is not None and op.tags.get("layer") == 0]
    return list(first[0].step_norms.h) if first else []


def _flow_svg(norms):
    """A small log-scale bar chart, drawn by hand (no plotting library needed)."""
    positive = [v for v in norms if v and v > 0]
    if not positive:
        return "<p>(no gradient reached the recurrent layer)</p>"
    lo, hi = math.log10(min(positive)), math.log10(max(positive))
    span, width, height = max(hi - lo, 1e-9), 6, 120
    bars = []
    for t, v in enumerate(norms):
        h = 4 if not v or v <= 0 else 4 + (math.log10(v) - lo) / span * (height - 8)
        bars.append(f'<rect x="{t * width}" y="{height - h:.1f}" width="{width - 1}" '
                    f'height="{h:.1f}" fill="#4575b4"><title>t = {t}: {v:.3e}</title></rect>')
    return (f'<svg width="{len(norms) * width}" height="{height}" role="img">'
            f'{"".join(bars)}</svg><p>||dL/dh_t|| from {min(positive):.2e} to '
            f'{max(positive):.2e} (log scale), t = 0 ... {len(norms) - 1}, for the loss of the '
            f'last character only</p>')


def write_report(run, out, log):
    """report.html in ``out``; needs Graphviz's dot (skipped, said so, without it)."""
    if shutil.which("dot") is None:
        log("(no Graphviz dot program: report.html is not written)")
        return None
    from ...viz.dot import render  # viz is imported on first use
    model, corpus, config = run.model, run.corpus, run.config
    flow = gradient_flow(model, corpus, steps=config.seq_len)
    snippet = corpus.val[:GRAPH_STEPS + 1]
    device = next(iter(model.parameters())).device
    logits, _ = model(Tensor(snippet[:-1, None], device=device))
    loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                           Tensor(snippet[1:], device=device))
    sections = ["<style>#ts-appendix{padding:0 1em}#ts-appendix pre{white-space:pre-wrap;"
                "background:#f6f6f6;padding:.5em}</style>",
                f"<h2>{html.escape(config.model.upper())}, hidden {config.hidden} x "
                f"{config.layers}: the graph above is the trained model on "
                f"{html.escape(repr(corpus.decode(snippet[:-1].tolist())))}</h2>"]
    if run.history:
        step, train, val = run.history[-1]
        sections.append(f"<p>step {step}: train loss {train:.3f}, validation {val:.3f} "
                        f"({val / math.log(2):.2f} bits per character)</p>")
    curve = os.path.join(out, "loss.png")
    if os.path.exists(curve):
        with open(curve, "rb") as f:
            data = base64.b64encode(f.read()).decode("ascii")
        sections.append(f'<h2>Loss</h2><img alt="loss curves" src="data:image/png;base64,'
                        f'{data}">')
    sections.append("<h2>Gradient flow over time</h2>" + _flow_svg(flow))
    sections.append("<h2>Samples by step</h2>" + "".join(
        f"<h3>step {s}</h3><pre>{html.escape(text)}</pre>" for s, text in run.samples))
    path = render(loss, path=os.path.join(out, "report.html"), params=model, grads=True,
                  appendix="\n".join(sections))
    model.zero_grad()
    log(f"report: {path}")
    return path

