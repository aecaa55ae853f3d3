"""The kernel interface run by compiled kernels: what host.py (the CPU) and cuda.py (a GPU) have
in common, written once.

``CompiledCells(launcher)`` has the interface's functions (interface.py). Each checks its
arrays, turns them into the entry point's arguments (a pointer and a row stride in elements
per array, None for an absent one) and hands them to ``launcher.run``; the launcher knows
only how to point at its arrays and how to call a compiled function. Any call the kernels do
not cover goes to the reference (reference.py), which broadcasts or raises as NumPy does:
arrays of another type or dtype, not 2-D, with strided columns, of another width than the
kernel reads or writes, or an output that cannot be written row by row.
"""

from __future__ import annotations

import numpy

from . import reference

# entry points have one variant per dtype: name_f32, name_f64
SUFFIX = {numpy.dtype(numpy.float32): "f32", numpy.dtype(numpy.float64): "f64"}


class CompiledCells:
    """The interface's functions over ``launcher``, which provides ``array_type`` (the arrays
    it takes), ``pointer(a)``, ``writeable(a)`` and ``run(name, dtype, args, ints)``. Outputs
    must not overlap inputs, except where the reference allows it (activations written over
    the gates)."""

    def __init__(self, launcher):
        self.launcher = launcher

    # ---- arguments ----------------------------------------------------------------------------
    def _arguments(self, arrays, widths, writes):
        """[pointer, row stride, ...] for ``arrays`` (None: a null pointer), or None when the
        kernels do not take them: 2-D arrays of the launcher's type and one float dtype, with
        contiguous columns, the same number of rows and exactly ``widths`` columns; the arrays
        at the indices ``writes`` must be writeable with rows that do not overlap."""
        first, launcher = arrays[0], self.launcher
        if type(first) is not launcher.array_type or first.ndim != 2 or first.dtype not in SUFFIX:
            return None
        dtype, rows, item = first.dtype, first.shape[0], first.itemsize
        args = []
        for i, (a, width) in enumerate(zip(arrays, widths)):
            if a is None:
                args += (None, 0)
                continue
            if type(a) is not launcher.array_type or a.ndim != 2 or a.dtype != dtype or \
                    a.shape != (rows, width):
                return None
            along, across = a.strides
            if (across != item and width > 1) or along % item:
                return None
            if i in writes and ((rows > 1 and along < width * item) or not launcher.writeable(a)):
                return None
            args += (launcher.pointer(a), along // item)
        return args

    def _same(self, a, b) -> bool:
        return a.shape == b.shape and a.strides == b.strides and \
            self.launcher.pointer(a) == self.launcher.pointer(b)

    def _run(self, name, dtype, args, *ints):
        self.launcher.run(name, dtype, args, ints)

    # ---- the interface ------------------------------------------------------------------------
    def lstm_cell_forward(self, xp, gates, c, act, c_new, tc, h, rec=None):
        n = c.shape[-1]
        args = self._arguments([act, rec, c, c_new, tc, h], [4 * n, 4 * n, n, n, n, n],
                               (0, 3, 4, 5))
        if args is None or gates.shape != act.shape:
            return reference.lstm_cell_forward(xp, gates, c, act, c_new, tc, h, rec)
        if gates is not act and not self._same(gates, act):  # the kernel works in place
            xp.copyto(act, gates)
        self._run("lstm_cell_forward", act.dtype, args, *c.shape)

    def lstm_cell_backward(self, xp, act, c, tc, dh, dc, d_gates, d_c):
        n = c.shape[-1]
        dh = xp.zeros_like(c) if dh is None else dh
        dc = xp.zeros_like(c) if dc is None else dc
        args = self._arguments([act, c, tc, dh, dc, d_gates, d_c], [4 * n, n, n, n, n, 4 * n, n],
                               (5, 6))
        if args is None:
            return reference.lstm_cell_backward(xp, act, c, tc, dh, dc, d_gates, d_c)
        self._run("lstm_cell_backward", act.dtype, args, *c.shape)

    def gru_cell_forward(self, xp, gi, gh, h, rz, n_out, h_new):
        m = h.shape[-1]
        if self._arguments([gi, gh, h, rz, n_out, h_new], [3 * m, 3 * m, m, 2 * m, m, m],
                           (3, 4, 5)) is None:
            return reference.gru_cell_forward(xp, gi, gh, h, rz, n_out, h_new)
        # the kernel writes r, z, n over gi: in place when rz and n_out are gi's own blocks
        in_place = self._same(rz, gi[:, :2 * m]) and self._same(n_out, gi[:, 2 * m:])
        work = gi if in_place else gi.copy()
        self._run("gru_cell_forward", h.dtype,
                  self._arguments([work, gh, h, h_new], [3 * m, 3 * m, m, m], (0, 3)), *h.shape)
        if not in_place:
            rz[...], n_out[...] = work[:, :2 * m], work[:, 2 * m:]

    def gru_cell_backward(self, xp, rz, n, ghn, h, dh_new, d_gi, d_gh, d_h):
        m = h.shape[-1]
        args = self._arguments([rz, n, ghn, h, dh_new, d_gi, d_gh, d_h],
                               [2 * m, m, m, m, m, 3 * m, 3 * m, m], (5, 6, 7))
        if args is None:
            return reference.gru_cell_backward(xp, rz, n, ghn, h, dh_new, d_gi, d_gh, d_h)
        self._run("gru_cell_backward", h.dtype, args, *h.shape)

    def rnn_cell_forward(self, xp, pre, h, relu=False, rec=None):
        n = h.shape[-1]
        args = self._arguments([pre, rec, h], [n, n, n], (2,))
        if args is None:
            return reference.rnn_cell_forward(xp, pre, h, relu, rec)
        self._run("rnn_cell_forward", h.dtype, args, *h.shape, int(relu))

    def rnn_cell_backward(self, xp, h, dh, d_pre, relu=False):
        n = h.shape[-1]
        args = self._arguments([h, dh, d_pre], [n, n, n], (2,))
        if args is None:
            return reference.rnn_cell_backward(xp, h, dh, d_pre, relu)
        self._run("rnn_cell_backward", h.dtype, args, *h.shape, int(relu))

    def log_softmax(self, xp, x, axis):
        rows = self._rows(xp, x, axis)
        if rows is None:
            return reference.log_softmax(xp, x, axis)
        out = xp.empty_like(rows)
        width = rows.shape[1]
        self._run("log_softmax", rows.dtype,
                  self._arguments([rows, out], [width, width], (1,)), *rows.shape)
        return out.reshape(x.shape)

    def log_softmax_backward(self, xp, g, out, axis):
        g_rows, out_rows = self._rows(xp, g, axis), self._rows(xp, out, axis)
        if g_rows is None or out_rows is None:
            return reference.log_softmax_backward(xp, g, out, axis)
        dx = xp.empty_like(g_rows)
        args = self._arguments([g_rows, out_rows, dx], [dx.shape[1]] * 3, (2,))
        if args is None:
            return reference.log_softmax_backward(xp, g, out, axis)
        self._run("log_softmax_backward", dx.dtype, args, *dx.shape)
        return dx.reshape(g.shape)

    def softmax(self, xp, x, axis):
        rows = self._rows(xp, x, axis)
        if rows is None:
            return reference.softmax(xp, x, axis)
        out = xp.empty_like(rows)
        width = rows.shape[1]
        self._run("softmax", rows.dtype, self._arguments([rows, out], [width, width], (1,)),
                  *rows.shape)
        return out.reshape(x.shape)

    def softmax_backward(self, xp, g, y, axis):
        g_rows, y_rows = self._rows(xp, g, axis), self._rows(xp, y, axis)
        if g_rows is None or y_rows is None:
            return reference.softmax_backward(xp, g, y, axis)
        dx = xp.empty_like(g_rows)
        args = self._arguments([g_rows, y_rows, dx], [dx.shape[1]] * 3, (2,))
        if args is None:
            return reference.softmax_backward(xp, g, y, axis)
        self._run("softmax_backward", dx.dtype, args, *dx.shape)
        return dx.reshape(g.shape)

    def _rows(self, xp, x, axis):
        """x as a 2-D array of rows along ``axis`` when that axis is the last and the kernels
        take it (no copy for a contiguous x), else None."""
        if axis not in (-1, x.ndim - 1) or x.ndim == 0 or x.size == 0:
            return None
        if type(x) is not self.launcher.array_type:
            return None
        rows = xp.ascontiguousarray(x).reshape(-1, x.shape[-1])
        return rows if self._arguments([rows], [rows.shape[1]], ()) is not None else None
