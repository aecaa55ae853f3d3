"""Benchmarks measured side by side with PyTorch (when installed) in one run.

Method: each side runs in warm blocks (several calls of one side, then several of the other),
never alternating call by call: NumPy's and PyTorch's thread pools spin after each call, and
interleaving single calls slows PyTorch down, which would flatter us. We report the median
over all calls of each side, after warm-up.
"""

from __future__ import annotations

import gc
import json
import statistics
import time

import tinygrad_seq as ts


def _torch():
    try:
        import torch
    except ImportError:
        return None
    return torch


def alternate_blocks(sides, rounds=5, block=3, warmup=1):
    """Time each zero-argument callable in ``sides`` (name -> fn returning a dict of
    seconds per phase) in alternating warm blocks; median seconds per phase per side."""
    samples = {name: [] for name in sides}
    for fn in sides.values():
        for _ in range(warmup):
            fn()
    for _ in range(rounds):
        for name, fn in sides.items():
            for _ in range(block):
                gc.collect()  # start every call from the same heap state, for both sides
                samples[name].append(fn())
    return {name: {phase: statistics.median(s[phase] for s in runs) for phase in runs[0]}
            for name, runs in samples.items()}


def tiny_ops(n=10_000):
    """n tiny (4x4) additions recorded for autograd, then one backward through all of them."""
    def chain(lib):
        def run():
            x = lib.randn(4, 4, requires_grad=True)
            y = x
            t0 = time.perf_counter()
            for _ in range(n):
                y = y + x
            t1 = time.perf_counter()
            y.sum().backward()
            t2 = time.perf_counter()
            return {"forward": (t1 - t0) / n, "backward": (t2 - t1) / n, "total": (t2 - t0) / n}
        return run

    sides = {"tinygrad_seq": chain(ts)}
    torch = _torch()
    if torch is not None:
        sides["pytorch"] = chain(torch)
    return alternate_blocks(sides)


def _rnn_step(lib, kind, batch, steps, inputs, hidden):
    """One training step: forward, backward of mean(out**2), plain SGD update."""
    model = getattr(lib.nn, kind)(inputs, hidden)
    x = lib.randn(steps, batch, inputs)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)

    def run():
        t0 = time.perf_counter()
        out, _ = model(x)
        loss = (out * out).mean()
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        return {"forward": t1 - t0, "backward+step": t2 - t1, "total": t2 - t0}
    return run


def rnn_step(kinds=("LSTM", "GRU", "RNN"), batch=32, steps=64, inputs=128, hidden=256):
    """Training step of each recurrent layer at the size of the issue's benchmark."""
    torch = _torch()
    results = {}
    for kind in kinds:
        sides = {"tinygrad_seq": _rnn_step(ts, kind, batch, steps, inputs, hidden)}
        if torch is not None:
            sides["pytorch"] = _rnn_step(torch, kind, batch, steps, inputs, hidden)
        results[f"{kind.lower()}-step B={batch} T={steps} I={inputs} H={hidden}"] = \
            alternate_blocks(sides)
    return results


def attention():
    from .bench_attention import mha, sdpa  # it builds on this module's helpers
    return {"sdpa fwd+bwd B=32 heads=4 T=64 D=64": sdpa(),
            "mha fwd+bwd B=32 heads=4 T=64 E=256": mha()}


BENCHMARKS = {"tiny-ops": lambda: {"tiny-ops": tiny_ops()}, "rnn-step": rnn_step,
              "attention": attention}
UNITS = {"tiny-ops": (1e-6, "us per op")}


def report(results):
    lines = []
    for bench, res in results.items():
        ours = res["tinygrad_seq"]
        theirs = res.get("pytorch")
        unit, unit_name = UNITS.get(bench, (1e-3, "ms"))
        lines.append(f"{bench} (median, {unit_name})")
        lines.append(f"  {'phase':<14}{'tinygrad_seq':>14}{'pytorch':>12}{'ratio':>8}")
        for phase, value in ours.items():
            t = theirs[phase] / unit if theirs else float("nan")
            ratio = value / theirs[phase] if theirs else float("nan")
            lines.append(f"  {phase:<14}{value / unit:>14.2f}{t:>12.2f}{ratio:>7.2f}x")
    return "\n".join(lines)


def main(names=None, as_json=False):
    names = names or list(BENCHMARKS)
    results = {}
    for name in names:
        results.update(BENCHMARKS[name]())
    if _torch() is None and not as_json:
        print("(PyTorch is not installed: no side-by-side figures; pip install torch==2.13.0)")
    print(json.dumps(results, indent=2) if as_json else report(results))
    return results


if __name__ == "__main__":
    main()
