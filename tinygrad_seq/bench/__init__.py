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


from . import attention, ops, recurrent  # noqa: E402  (they build on the helpers above)

BENCHMARKS = {"tiny-ops": ops.tiny_ops, "rnn-step": recurrent.training_step,
              "rnn-inference": recurrent.inference, "char-lm": recurrent.char_lm,
              "long-lstm": recurrent.long_sequence, "attention": attention.attention}
UNITS = {"tiny-ops": (1e-6, "us per op"), "char-lm": (1.0, "characters per second")}


def report(results):
    """A table per benchmark: a column per side (tinygrad_seq, pytorch, and the GEMM-bound
    time where measured), and ours / pytorch. Rows are phases (times) or quantities."""
    lines = []
    for bench, res in results.items():
        ours, theirs = res["tinygrad_seq"], res.get("pytorch")
        others = [side for side in res if side not in ("tinygrad_seq", "pytorch")]
        unit, unit_name = next((u for key, u in UNITS.items() if bench.startswith(key)),
                               (1e-3, "ms"))
        lines.append(f"{bench} (median, {unit_name} unless named)")
        head = f"  {'':<24}{'tinygrad_seq':>14}{'pytorch':>12}{'ratio':>8}"
        lines.append(head + "".join(f"{side:>14}" for side in others))
        for phase, value in ours.items():
            scale = 1.0 if phase.endswith("MB") else unit
            t = theirs[phase] / scale if theirs else float("nan")
            ratio = value / theirs[phase] if theirs else float("nan")
            row = f"  {phase:<24}{value / scale:>14.2f}{t:>12.2f}{ratio:>7.2f}x"
            lines.append(row + "".join(
                f"{res[side][phase] / scale:>14.2f}" if phase in res[side] else f"{'':>14}"
                for side in others))
    return "\n".join(lines)


def cell_kernels() -> str:
    """Which implementation runs the recurrent cells' pointwise maths on the CPU."""
    from .. import host_kernels
    why = host_kernels.why_not()
    return "compiled (kernels/host.cpp)" if why is None else f"NumPy reference ({why})"


def main(names=None, as_json=False):
    """Run the named benchmarks (all by default) and print the table (or JSON)."""
    names = names or list(BENCHMARKS)
    results = {}
    for name in names:
        results.update(BENCHMARKS[name]())
    if as_json:
        print(json.dumps({"cpu cell kernels": cell_kernels(), **results}, indent=2))
        return results
    if _torch() is None:
        print("(PyTorch is not installed: no side-by-side figures; pip install torch==2.13.0)")
    print(f"CPU cell kernels: {cell_kernels()}")
    print(report(results))
    return results


if __name__ == "__main__":
    main()
