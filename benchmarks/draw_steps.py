"""How long drawing a default nn.LSTM takes as the sequence grows: 10, 100 and 1,000 steps.

For each length: the forward (the whole-sequence node training runs), draw() building the DOT
source of every step (the replay through unroll() included), draw() with collapse=2, and
Graphviz laying out and writing the SVG (every step up to 100, collapsed beyond). Medians of
a few runs after a warm-up (one run for the layout); the machine is shared, so read them as
orders of magnitude.

    python benchmarks/draw_steps.py [--steps 10 100 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.viz.dot import draw, render


def median_seconds(fn, repeat):
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, nargs="+", default=[10, 100, 1000])
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    ts.manual_seed(0)
    layer = nn.LSTM(16, 32, num_layers=2)
    print(f"{'steps':>6} {'forward':>9} {'draw':>9} {'nodes':>7} {'collapsed':>10} "
          f"{'render':>9} {'svg KB':>8}")
    with tempfile.TemporaryDirectory() as tmp:
        for steps in args.steps:
            x = ts.randn(steps, 4, 16)
            forward = median_seconds(lambda x=x: layer(x), args.repeat)
            out, _ = layer(x)
            loss = out.sum()
            full = median_seconds(
                lambda loss=loss: draw(loss, params=layer, max_nodes=10**9), args.repeat)
            nodes = draw(loss, params=layer, max_nodes=10**9).source.count("[label=")
            collapsed = median_seconds(
                lambda loss=loss: draw(loss, params=layer, collapse=2), args.repeat)
            path = os.path.join(tmp, f"lstm{steps}.svg")
            options = dict(params=layer, path=path, collapse=None if steps <= 100 else 2)
            start = time.perf_counter()
            render(loss, **options)
            shown = time.perf_counter() - start
            size = os.path.getsize(path) / 1024
            what = "" if steps <= 100 else " (collapsed)"
            print(f"{steps:>6} {forward * 1e3:>7.1f}ms {full * 1e3:>7.0f}ms {nodes:>7} "
                  f"{collapsed * 1e3:>8.0f}ms {shown:>8.2f}s {size:>8.0f}{what}")


if __name__ == "__main__":
    main()
