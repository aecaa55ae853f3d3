"""A busy machine for ``tinygrad-seq bench --busy``: a competing CPU-bound process, pinned to
one core where the system lets a process choose (Linux), runs while the benchmarks are
measured again, so each side's slowdown over its quiet time can be compared."""

from __future__ import annotations

import contextlib
import subprocess
import sys
import time

_SPIN = """
import os
try:
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
except (AttributeError, OSError):
    pass
while True:
    pass
"""


@contextlib.contextmanager
def competitor():
    """One spinning process for the duration of the block."""
    process = subprocess.Popen([sys.executable, "-c", _SPIN])
    try:
        time.sleep(0.5)  # let it start spinning
        yield process
    finally:
        process.kill()
        process.wait()


def slowdowns(quiet, busy):
    """Per benchmark, phase and side: busy / quiet (for rates, quiet / busy), so that above 1
    is always slower."""
    out = {}
    for bench, sides in quiet.items():
        for side, phases in sides.items():
            for phase, value in phases.items():
                other = busy[bench][side].get(phase)
                if other and value and not phase.endswith("MB"):
                    rate = "per second" in phase
                    out.setdefault(bench, {}).setdefault(side, {})[phase] = (
                        value / other if rate else other / value)
    return out
