"""Regenerate every picture in README.md and docs/ from the library's current defaults.

    python docs/pictures.py            # writes docs/img/*, docs/graph.html

Each picture is made the way the docs say a user makes it (the default layers, ``ts.viz``'s
defaults), so the pictures cannot drift from what the code draws. Needs Graphviz's ``dot``;
the screenshot of the interactive page needs Debian's Chromium (skipped without it); the
gradient-flow plot needs matplotlib (the ``viz`` extra).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import tinygrad_seq as ts
from tinygrad_seq import nn

HERE = os.path.dirname(os.path.abspath(__file__))
IMG = os.path.join(HERE, "img")


def _report(path):
    size = os.path.getsize(path) / 1024
    print(f"{os.path.relpath(path, os.path.dirname(HERE))}  {size:.0f} KB")


def _png_size(svg_source_path):
    """The pixel size Graphviz rasterises a drawing to (96 dpi), for the README's width."""
    with tempfile.TemporaryDirectory() as tmp:
        png = os.path.join(tmp, "x.png")
        subprocess.run(["dot", "-Tpng", svg_source_path, "-o", png], check=True)
        with open(png, "rb") as f:
            head = f.read(24)
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def unrolled_lstm():
    model, loss = ts.viz.demo_model("lstm", steps=4, layers=2)  # the README's picture
    path = ts.viz.render(loss, path=os.path.join(IMG, "lstm_unrolled.svg"), params=model)
    _report(path)
    dot = ts.viz.render(loss, path=os.path.join(IMG, "lstm_unrolled.dot"), params=model)
    width, height = _png_size(dot)
    os.remove(dot)
    print(f"  rasterised at 96 dpi: {width} x {height} px")
    page = ts.viz.render(loss, path=os.path.join(HERE, "graph.html"), params=model,
                         grads=True, memory=True)
    _report(page)
    return page


def screenshot(page):
    chromium = shutil.which("chromium")
    if chromium is None:
        print("  (no chromium: the page's screenshot is not remade)")
        return
    out = os.path.join(IMG, "graph_page.png")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--no-first-run", "--disable-sync", f"--user-data-dir={profile}",
                        "--hide-scrollbars", "--window-size=1200,900",
                        f"--screenshot={out}", "--virtual-time-budget=3000",
                        "file://" + os.path.abspath(page)],
                       check=True, capture_output=True, timeout=120)
    _report(out)


def others():
    model, loss = ts.viz.demo_model("gru", steps=200)
    _report(ts.viz.render(loss, path=os.path.join(IMG, "gru_collapsed.svg"), params=model,
                          collapse=2))
    model, loss = ts.viz.demo_model("lstm", steps=2)
    _report(ts.viz.render(loss, path=os.path.join(IMG, "lstm_expanded.svg"), params=model,
                          expand=True))
    ts.manual_seed(0)
    rnn = nn.RNN(4, 8)
    out, _ = rnn(ts.randn(12, 1, 4))
    loss = out[-1].sum()
    with ts.viz.record_grad_norms():
        loss.backward()
    _report(ts.viz.render(loss, path=os.path.join(IMG, "rnn_grads.svg"), params=rnn,
                          grads=True))
    ts.manual_seed(0)
    rnn = nn.RNN(2, 2)
    out, _ = rnn(ts.randn(3, 1, 2))
    loss = (out ** 2).mean()
    loss.backward(retain_graph=True)
    _report(ts.viz.render(loss, path=os.path.join(IMG, "rnn_values.svg"), params=rnn,
                          values=True, grads=True))
    ts.manual_seed(0)
    lstm = nn.LSTM(3, 4)
    out, _ = lstm(ts.randn(6, 2, 3))
    _report(ts.viz.render(out.sum(), path=os.path.join(IMG, "lstm_memory.svg"), params=lstm,
                          memory=True))
    ts.manual_seed(0)
    rnn, xs = nn.RNN(3, 4), ts.randn(6, 1, 3)
    out1, h = rnn(xs[:3])
    out2, _ = rnn(xs[3:], h.detach())  # truncated BPTT: the second chunk starts from a cut
    _report(ts.viz.render(out1.sum(), out2.sum(), path=os.path.join(IMG, "bptt_cut.svg"),
                          params=rnn))
    model, loss = ts.viz.demo_model("seq2seq", steps=4)
    _report(ts.viz.render(loss, path=os.path.join(IMG, "seq2seq_attention.svg"),
                          params=model))
    model, _ = ts.viz.demo_model("lstm", steps=3)
    _report(ts.viz.draw_rolled(model).render(os.path.join(IMG, "lstm_rolled"), format="svg",
                                             cleanup=True))
    model, loss = ts.viz.demo_model("mgu", steps=3)
    _report(ts.viz.render(loss, path=os.path.join(IMG, "mgu_unrolled.svg"), params=model))
    try:
        flow = os.path.join(IMG, "gradient_flow.png")
        ts.viz.gradient_flow(path=flow)
        _report(flow)
    except ImportError as e:
        print(f"  (gradient_flow.png not remade: {e})")


def main():
    if shutil.which("dot") is None:
        sys.exit("docs/pictures.py: Graphviz's dot program is needed (apt-get install graphviz)")
    os.makedirs(IMG, exist_ok=True)
    screenshot(unrolled_lstm())
    others()


if __name__ == "__main__":
    main()
