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


BENCHMARKS = {"tiny-ops": tiny_ops}


def report(results, unit=1e-6, unit_name="us"):
    lines = []
    for bench, res in results.items():
        ours = res["tinygrad_seq"]
        theirs = res.get("pytorch")
        lines.append(f"{bench} (median per op, {unit_name})")
        lines.append(f"  {'phase':<10}{'tinygrad_seq':>14}{'pytorch':>12}{'ratio':>8}")
        for phase, value in ours.items():
            t = theirs[phase] / unit if theirs else float("nan")
            ratio = value / theirs[phase] if theirs else float("nan")
            lines.append(f"  {phase:<10}{value / unit:>14.2f}{t:>12.2f}{ratio:>7.2f}x")
    return "\n".join(lines)


def main(names=None, as_json=False):
    names = names or list(BENCHMARKS)
    results = {name: BENCHMARKS[name]() for name in names}
    if _torch() is None and not as_json:
        print("(PyTorch is not installed: no side-by-side figures; pip install torch==2.13.0)")
    print(json.dumps(results, indent=2) if as_json else report(results))
    return results


if __name__ == "__main__":
    main()
