"""Synthetic sequence tasks with seedable generators."""

from __future__ import annotations

import numpy


def adding_problem(steps, batch, rng):
    """Hochreiter & Schmidhuber's (1997) adding problem, a long-range memory test.

    Each of ``steps`` inputs is (value ~ U(0, 1), marker); exactly two markers are 1, one in
    each half of the sequence, and the target is the sum of the two marked values. The answer
    depends on inputs up to ``steps`` steps back, which a vanilla RNN struggles to reach.
    Returns x (steps, batch, 2) float32 and y (batch,) float32.
    """
    x = numpy.zeros((steps, batch, 2), numpy.float32)
    x[:, :, 0] = rng.random((steps, batch))
    rows = numpy.arange(batch)
    first = rng.integers(0, steps // 2, batch)
    second = rng.integers(steps // 2, steps, batch)
    x[first, rows, 1] = 1
    x[second, rows, 1] = 1
    return x, x[first, rows, 0] + x[second, rows, 0]
