"""Benchmarks measured side by side with PyTorch (when installed) in one run (``tinygrad-seq
bench``): tiny ops (ops.py), recurrent layers and the char-LM (recurrent.py), attention
(attention.py); how they are timed is timing.py's.
"""

from __future__ import annotations

import json
import statistics

from . import attention, limits, ops, recurrent
from .busy import competitor, slowdowns
from .timing import torch_module

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


def markdown(results):
    """One Markdown table of every benchmark (for the README): a row per measured phase, with
    the unit named, both sides and ours / pytorch."""
    lines = ["| benchmark | measured | tinygrad_seq | PyTorch | ratio |",
             "|---|---|---:|---:|---:|"]
    for bench, res in results.items():
        ours, theirs = res["tinygrad_seq"], res.get("pytorch")
        unit, unit_name = next((u for key, u in UNITS.items() if bench.startswith(key)),
                               (1e-3, "ms"))
        for phase, value in ours.items():
            scale = 1.0 if phase.endswith("MB") else unit
            name = "" if phase.endswith("MB") or unit_name in phase else f" ({unit_name})"
            if theirs and phase in theirs:
                t, ratio = f"{theirs[phase] / scale:.2f}", f"{value / theirs[phase]:.2f}x"
            else:
                t, ratio = "", ""
            lines.append(f"| {bench} | {phase}{name} | {value / scale:.2f} | {t} | {ratio} |")
    return "\n".join(lines)


def cell_kernels() -> str:
    """Which implementation runs the recurrent cells' pointwise maths on the CPU."""
    from ...kernels import host
    why = host.why_not()
    return "compiled (kernels/src/host.cpp)" if why is None else f"NumPy reference ({why})"


def measure(names, runs=1):
    """The named benchmarks, run ``runs`` times over; with several runs each side's figure is
    the median over runs, and ``ratios`` (returned too) holds each run's ours / pytorch."""
    every = []
    for _ in range(runs):
        results = {}
        for name in names:
            results.update(BENCHMARKS[name]())
        every.append(results)
    first = every[0]
    combined = {bench: {side: {phase: statistics.median(r[bench][side][phase] for r in every)
                               for phase in phases}
                        for side, phases in sides.items()}
                for bench, sides in first.items()}
    ratios = {bench: {phase: [r[bench]["tinygrad_seq"][phase] / r[bench]["pytorch"][phase]
                              for r in every]
                      for phase in sides["tinygrad_seq"] if phase in sides.get("pytorch", {})}
              for bench, sides in first.items()}
    return combined, ratios


def by_run(ratios):
    lines = ["ours / pytorch in each run:"]
    for bench, phases in ratios.items():
        for phase, values in phases.items():
            lines.append(f"  {bench}: {phase}: " + ", ".join(f"{v:.2f}x" for v in values))
    return "\n".join(lines)


def machine() -> str:
    """What the timings ran on: the compiled kernels, the threads and the measured peak."""
    from ...kernels import loops
    why = loops.why_not()
    threads = f"{loops.get_num_threads()} threads" if why is None else f"NumPy ({why})"
    return (f"CPU cell kernels: {cell_kernels()}; time loops and products: {threads}; peak "
            f"{limits.peak_flops() / 1e9:.0f} GFLOP/s (float32 GEMM)")


def main(names=None, as_json=False, as_markdown=False, busy=False, runs=1):
    """Run the named benchmarks (all by default) ``runs`` times and print the tables of
    medians (or JSON, or one Markdown table). ``busy``: measure them again beside a competing
    CPU-bound process and print each side's slowdown (busy.py)."""
    names = names or list(BENCHMARKS)
    results, ratios = measure(names, runs)
    slow = None
    if busy:
        with competitor():
            busy_results, _ = measure(names, runs)
        slow = slowdowns(results, busy_results)
        results = {"quiet": results, "busy": busy_results, "slowdown": slow}
    if as_json:
        print(json.dumps({"machine": machine(), **results}, indent=2))
        return results
    if torch_module() is None:
        print("(PyTorch is not installed: no side-by-side figures; pip install torch==2.13.0)")
    print(machine())
    if busy:
        print("quiet machine:\n" + report(results["quiet"]))
        print("\nbusy machine (one competing CPU-bound process):\n" + report(results["busy"]))
        print("\nslowdown, busy over quiet (1.00x = unaffected):")
        for bench, sides in slow.items():
            for phase in sides.get("tinygrad_seq", {}):
                row = "  ".join(f"{side} {sides[side][phase]:.2f}x" for side in sides
                                if phase in sides[side])
                print(f"  {bench}: {phase}: {row}")
        return results
    print(markdown(results) if as_markdown else report(results))
    if runs > 1:
        print(by_run(ratios))
    return results


if __name__ == "__main__":
    main()
