"""Benchmarks measured side by side with PyTorch (when installed) in one run (``tinygrad-seq
bench``): tiny ops (ops.py), recurrent layers and the char-LM (recurrent.py), attention
(attention.py); how they are timed is timing.py's.
"""

from __future__ import annotations

import json

from . import attention, ops, recurrent
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


def main(names=None, as_json=False, as_markdown=False):
    """Run the named benchmarks (all by default) and print the tables (or JSON, or one
    Markdown table)."""
    names = names or list(BENCHMARKS)
    results = {}
    for name in names:
        results.update(BENCHMARKS[name]())
    if as_json:
        print(json.dumps({"cpu cell kernels": cell_kernels(), **results}, indent=2))
        return results
    if torch_module() is None:
        print("(PyTorch is not installed: no side-by-side figures; pip install torch==2.13.0)")
    print(f"CPU cell kernels: {cell_kernels()}")
    print(markdown(results) if as_markdown else report(results))
    return results


if __name__ == "__main__":
    main()
