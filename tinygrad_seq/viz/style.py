"""How the drawings look: node and cluster styles, the legend's entries, and the log colour
scale of gradient norms. drawing.py decides what goes where; this module, how it looks."""

from __future__ import annotations

import math

from . import graph as G

# one table of node looks, so the drawing and its legend cannot disagree
_STYLE = {
    "op": dict(shape="box", style="rounded,filled", fillcolor="#eeeeee", color="#666666"),
    "fused": dict(shape="box", style="rounded,filled,bold", fillcolor="#ffdf99", color="#b07800"),
    "sequence": dict(shape="box3d", style="filled", fillcolor="#ffc966", color="#b07800"),
    G.PARAM: dict(shape="box", style="filled", fillcolor="#cfe2ff", color="#2a5db0"),
    G.LEAF: dict(shape="ellipse", style="filled", fillcolor="#d4efd4", color="#2e7d32"),
    G.CONST: dict(shape="ellipse", style="dashed", color="#888888"),
    G.TENSOR: dict(shape="ellipse", style="filled", fillcolor="#ffffff", color="#aaaaaa",
                   fontsize="9"),
    G.OUTPUT: dict(shape="doubleoctagon", style="filled", fillcolor="#f8c8c8", color="#b03030"),
    "collapsed": dict(shape="box", style="rounded,dashed,filled", fillcolor="#f3f3f3",
                      color="#555555", fontsize="12"),
    "cut": dict(shape="ellipse", style="dashed,bold", color="#c62828", fontcolor="#c62828"),
}
_LEGEND = (("op", "op"), ("fused", "fused cell"), ("sequence", "whole-sequence op"),
           (G.PARAM, "parameter"), (G.LEAF, "leaf (requires grad)"),
           (G.CONST, "input (no grad)"), (G.TENSOR, "intermediate tensor"),
           (G.OUTPUT, "output (root)"), ("collapsed", "collapsed steps"),
           ("cut", "detached (BPTT cut)"))
_CLUSTER = {"module": dict(style="rounded,bold", color="#222222", fontsize="16"),
            "layer": dict(style="rounded", color="#444444", fontsize="14"),
            "direction": dict(style="rounded,dashed", color="#777777", fontsize="12"),
            "step": dict(style="rounded,filled", color="#bbbbbb", fillcolor="#fafafa",
                         fontsize="11"),
            "expand": dict(style="rounded,filled", color="#b07800", fillcolor="#fff6e0",
                           fontsize="10")}
# ColorBrewer RdYlBu reversed: blue = small (vanishing) ... red = large (exploding)
_PALETTE = ("#313695", "#4575b4", "#74add1", "#abd9e9", "#e0f3f8", "#fee090", "#fdae61",
            "#f46d43", "#d73027")
_ZERO = "#d9d9d9"  # a gradient of exactly zero: no flow, not "small"


def _q(text):
    """A DOT quoted string. Backslash escapes are kept on purpose: labels use \\n breaks."""
    return '"' + str(text).replace('"', '\\"') + '"'


def _attrs(attrs):
    return " ".join(f"{k}={_q(v)}" for k, v in attrs.items())


_LOOKS = {look: _attrs(attrs) for look, attrs in _STYLE.items()}


def _write(path, text):
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def _shape(shape):
    return "scalar" if shape == () else str(tuple(shape))


def _fmt(norm):
    return "0" if norm == 0 else f"{norm:.2e}"


def _look(op):
    if op.name in G.SEQUENCE_OPS and "step" not in op.tags:
        return "sequence"  # one node for a whole layer direction (not unrolled)
    return "fused" if op.name in G.FUSED_OPS else "op"


def _norm_text(name, norms):
    """'|g| = ...' for a label: one norm, one per named output (h', c'), or the largest."""
    names = G.OUTPUT_NAMES.get(name)
    if len(norms) == 1:
        return f"|g| = {_fmt(norms[0])}"
    if names and len(names) == len(norms):
        return "|g| " + ", ".join(f"{k} {_fmt(x)}" for k, x in zip(names, norms)
                                  if x is not None)
    return f"|g| max = {_fmt(max(x for x in norms if x is not None))}"


class _Scale:
    """Maps a gradient norm to a colour on one fixed log scale, 10^LOW ... 10^HIGH (beyond it:
    the end colours), so the same colour means the same norm in every picture: blue = small
    (vanishing), pale yellow = around 10^-2 ... 1, red = large (exploding)."""

    LOW, HIGH = -8, 4  # decades

    def colour(self, norm):
        if norm <= 0:
            return _ZERO  # no gradient at all is not "small": grey, not the scale's blue
        x = (math.log10(norm) - self.LOW) / (self.HIGH - self.LOW)
        x = min(max(x, 0.0), 1.0)
        k = min(int(x * (len(_PALETTE) - 1)), len(_PALETTE) - 2)
        w = x * (len(_PALETTE) - 1) - k
        a, b = _PALETTE[k], _PALETTE[k + 1]
        rgb = [round(int(a[i:i + 2], 16) * (1 - w) + int(b[i:i + 2], 16) * w) for i in (1, 3, 5)]
        return "#" + "".join(f"{c:02x}" for c in rgb)

    def font(self, colour):
        r, g, b = (int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5))
        return "white" if 0.299 * r + 0.587 * g + 0.114 * b < 0.5 else "black"

    def bar(self):
        decades = range(self.LOW, self.HIGH + 1, 2)
        cells = "".join(f'<TD BGCOLOR="{self.colour(10.0 ** d)}" WIDTH="30" HEIGHT="14"></TD>'
                        for d in decades)
        ticks = "".join(f"<TD>1e{d}</TD>" for d in decades)
        n = len(decades)
        return (f'<<TABLE BORDER="0" CELLSPACING="0" CELLPADDING="2"><TR><TD COLSPAN="{n + 2}">'
                f'<B>|gradient| reaching each node</B> (fixed log scale)</TD></TR>'
                f'<TR><TD BGCOLOR="{_ZERO}" WIDTH="30" HEIGHT="14"></TD><TD></TD>{cells}</TR>'
                f'<TR><TD>0</TD><TD></TD>{ticks}</TR>'
                f'<TR><TD COLSPAN="2"></TD><TD COLSPAN="{n // 2}" ALIGN="LEFT">vanishing</TD>'
                f'<TD COLSPAN="{n - n // 2}" ALIGN="RIGHT">exploding</TD></TR></TABLE>>')
