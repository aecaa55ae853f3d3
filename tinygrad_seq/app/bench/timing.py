"""How the benchmarks time: each side runs in warm blocks (several calls of one side, then
several of the other), never alternating call by call: NumPy's and PyTorch's thread pools spin
after each call, and interleaving single calls slows PyTorch down, which would flatter us. We
report the median over all calls of each side, after warm-up.
"""

from __future__ import annotations

import gc
import statistics


def torch_module():
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
