"""Per-op overhead: what every op of an unrolled graph pays on top of its array work."""

from __future__ import annotations

import time

import tinygrad_seq as ts

from .timing import alternate_blocks, torch_module


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
    torch = torch_module()
    if torch is not None:
        sides["pytorch"] = chain(torch)
    return {"tiny-ops": alternate_blocks(sides)}
