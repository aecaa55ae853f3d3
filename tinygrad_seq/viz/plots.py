"""Pictures for teaching: gradient flow through time, attention heatmaps, training curves.

    from tinygrad_seq.viz.plots import gradient_flow, plot_attention, plot_losses
    fig, norms = gradient_flow(path="gradient_flow.png")   # norms["lstm"][t] = ||dL/dh_t||

The gradient-flow curves are real gradients from the engine, captured with ``register_hook`` on
every hidden state of an unrolled cell, not a formula.

matplotlib is optional (``pip install "tinygrad_seq[viz]"``) and imported inside the functions,
so importing this module costs nothing. Each function returns a ``matplotlib.figure.Figure``
drawn on the non-interactive Agg canvas and not registered with pyplot: scripts and servers need
no display, and a notebook shows it when it is the cell's value. ``path=`` saves it as PNG, SVG
or PDF (chosen by the extension).
"""

from __future__ import annotations

import math
import os

import numpy

from .. import backend
from ..nn.recurrent import KINDS
from ..tensor import Tensor
from ..tensor.creation import float64

# the lecture's colours; another cell kind takes the next free one
COLORS = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}
_MORE_COLORS = ("tab:purple", "tab:orange", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
FORMATS = ("png", "svg", "pdf")
DEFAULT_CLIP = 10.0
GRAD = r"$\Vert\partial L/\partial h_t\Vert$"
GRAD0 = r"$\Vert\partial L/\partial h_0\Vert$"


# ---- gradient norms through time ---------------------------------------------------------------


def unrolled_loss(kind, steps=100, hidden_size=32, input_size=8, batch=8, seed=0,
                  weight_scale=1.0, forget_bias=0.0):
    """Run a freshly initialised cell for ``steps`` steps on random inputs x_t ~ N(0, 1) from
    h = 0, and take a loss at the last step only: L = sum_b h_{T-1}[b] . v, with v a fixed random
    direction scaled so that ||dL/dh_{T-1}|| = 1 (every other norm then reads as a ratio to it).

    Parameters are PyTorch's default U(-1/sqrt(H), 1/sqrt(H)), drawn from ``seed`` (not from the
    stream ``ts.manual_seed`` seeds, which is left where it was); ``weight_scale`` multiplies
    W_hh, and ``forget_bias`` is added to the LSTM's forget-gate bias (1.0 is the usual remedy for
    an LSTM that forgets too fast, Gers et al. 2000; Jozefowicz et al. 2015).
    Returns ``(cell, hs, loss)``: hs are the hidden states h_0 .. h_{T-1}, each (batch,
    hidden_size), to hook or ``retain_grad`` before ``loss.backward()``."""
    cell_kind = _cell_kind(kind)
    for name, value in (("steps", steps), ("hidden_size", hidden_size),
                        ("input_size", input_size), ("batch", batch)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"unrolled_loss: {name} must be a positive integer, got {value!r}")
    if forget_bias and cell_kind.forget_gate is None:
        raise ValueError(f"unrolled_loss: forget_bias is for a kind with a forget gate (the "
                         f"LSTM); {kind!r} has no forget gate")
    rng = numpy.random.default_rng(seed)
    stream = backend.rng().bit_generator
    saved = stream.state  # the constructor's init draws are overwritten below: give them back
    # float64: a 300-step vanishing curve passes 1e-38, where float32 would flush it to zero
    cell = cell_kind.cell(input_size, hidden_size, dtype=float64)
    stream.state = saved
    bound = 1 / math.sqrt(hidden_size)
    for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh):
        p.data = rng.uniform(-bound, bound, p.shape)
    cell.weight_hh.data = cell.weight_hh.data * weight_scale
    if forget_bias:
        cell.bias_ih.data[cell_kind.gate_slice(cell_kind.forget_gate, hidden_size)] += forget_bias
    xs = rng.standard_normal((steps, batch, input_size))  # (T, B, I)
    v = rng.standard_normal(hidden_size)
    v /= numpy.linalg.norm(v) * math.sqrt(batch)  # dL/dh_{T-1} is v on every row: norm 1
    hs, state = [], None
    for t in range(steps):
        state = cell(Tensor(xs[t]), state)
        hs.append(state[0] if len(cell_kind.states) > 1 else state)  # h: (B, H)
    return cell, hs, (hs[-1] * Tensor(v)).sum()


def gradient_norms(kind, steps=100, hidden_size=32, input_size=8, batch=8, seed=0, clip=None,
                   weight_scale=1.0, forget_bias=0.0):
    """||dL/dh_t|| for t = 0 .. steps-1 (a NumPy array), for one loss at the last step of an
    unrolled ``kind`` cell (a name in ``nn.recurrent.KINDS``: "rnn", "lstm", "gru", ...); see
    ``unrolled_loss`` for the set-up. The norm is over the whole (batch, hidden) gradient, and
    is 1 at t = steps-1 by construction.

    ``clip=max_norm`` clips the gradient through time: a hook on every h_t rescales the gradient
    flowing back through it to norm <= max_norm before it travels further back. This is the
    per-step variant of the norm clipping that Pascanu et al. (2013) discuss (they clip the
    whole parameter gradient once, as ``nn.utils.clip_grad_norm_`` does); per step, the picture
    shows directly how an exploding product of Jacobians is stopped. The returned norms are
    those after clipping (what flows on). For the LSTM only h's gradient is clipped; the part
    carried back by the cell state c is not."""
    if clip is not None and not clip > 0:
        raise ValueError(f"gradient_norms: clip must be a positive max_norm or None, got {clip!r}")
    _, hs, loss = unrolled_loss(kind, steps, hidden_size, input_size, batch, seed,
                                weight_scale, forget_bias)
    norms = numpy.zeros(steps)
    for t, h in enumerate(hs):
        if clip is not None:
            h.register_hook(_clipper(clip))  # registered first, so the recorder sees its result
        h.register_hook(_recorder(norms, t))
    loss.backward()
    return norms


def _norm(g):
    return float(numpy.linalg.norm(g.numpy()))


def _recorder(norms, t):
    def record(g):
        norms[t] = _norm(g)
    return record


def _clipper(max_norm):
    def clip(g):
        n = _norm(g)
        return g * (max_norm / n) if n > max_norm else None  # None keeps the gradient
    return clip


def _cell_kind(kind):
    if kind not in KINDS:
        raise ValueError(f"unknown cell kind {kind!r}; use one of {', '.join(map(repr, KINDS))}")
    return KINDS[kind]


def _colour(kind):
    others = [k for k in KINDS if k not in COLORS]
    return COLORS.get(kind) or _MORE_COLORS[others.index(kind) % len(_MORE_COLORS)]


def gradient_flow(kinds=("rnn", "lstm", "gru"), steps=100, clip=None, path=None,
                  explode_scale=5.0, **options):
    """The vanishing-gradient picture from real gradients: ||dL/dh_t|| against t, log scale, one
    curve per cell kind, for one loss at the last step (``gradient_norms``).

    A second panel, "with gradient clipping", shows a vanilla RNN whose W_hh is multiplied by
    ``explode_scale`` (large enough that the gradient explodes; at 3.0 the tanh units saturate
    and it barely grows), without and with per-step clipping to ``clip`` (default 10.0);
    ``clip=False`` leaves that panel out. ``options`` (hidden_size, input_size, batch, seed,
    weight_scale, forget_bias) go to ``gradient_norms``; forget_bias only to kinds with a
    forget gate (the LSTM).
    Returns ``(figure, {kind: norms})`` and saves to ``path`` when given."""
    kinds = (kinds,) if isinstance(kinds, str) else tuple(kinds)
    for kind in kinds:  # fail before any work
        _cell_kind(kind)
    max_norm = DEFAULT_CLIP if clip is None else clip
    if max_norm is not False and not max_norm > 0:
        raise ValueError(f"gradient_flow: clip must be a positive max_norm, None or False, got "
                         f"{clip!r}")
    _check_path(path)
    norms = {}
    for kind in kinds:
        opts = options if KINDS[kind].forget_gate else {k: v for k, v in options.items()
                                                        if k != "forget_bias"}
        norms[kind] = gradient_norms(kind, steps, **opts)

    panels = 1 if max_norm is False else 2
    fig = _figure(figsize=(6.4 * panels, 4.8))
    axes = fig.subplots(1, panels, squeeze=False)[0]
    ax = axes[0]
    t = numpy.arange(steps)
    for kind, n in norms.items():
        ax.plot(t, n, color=_colour(kind), lw=2, gid=kind,
                label=f"{KINDS[kind].description}: {GRAD0} = {n[0]:.1e}")
    for kind in kinds:
        if KINDS[kind].forget_gate is None or "forget_bias" in options:
            continue
        # from PyTorch's default init the forget gate sits near 0.5, so the cell-state path
        # halves the gradient every step too; the usual forget-gate bias (Jozefowicz et al.
        # 2015) opens the highway the lecture describes
        opened = gradient_norms(kind, steps, forget_bias=2.0, **options)
        ax.plot(t, opened, color=_colour(kind), lw=2, ls="--", gid=f"{kind}_forget_bias",
                label=f"{KINDS[kind].title}, forget-gate bias +2: {GRAD0} = {opened[0]:.1e}")
    scale = options.get("weight_scale", 1.0)
    _time_axes(ax, steps, "Vanishing gradients: one loss at the last step"
               + (" (default init)" if scale == 1.0 else f" ($W_{{hh}}$ ×{scale:g})"))
    ax.legend(loc="lower right")

    if panels == 2:
        ax = axes[1]
        base = {k: v for k, v in options.items() if k not in ("weight_scale", "forget_bias")}
        raw = gradient_norms("rnn", steps, weight_scale=explode_scale, **base)
        tamed = gradient_norms("rnn", steps, clip=max_norm, weight_scale=explode_scale, **base)
        ax.plot(t, raw, color="tab:red", lw=2, gid="unclipped", label="no clipping")
        ax.plot(t, tamed, color="black", lw=2, gid="clipped",
                label=f"clipped at every step to max_norm = {max_norm:g}")
        ax.axhline(max_norm, color="grey", ls="--", lw=1, gid="max_norm")
        _time_axes(ax, steps, f"With gradient clipping: vanilla RNN, $W_{{hh}}$ ×{explode_scale:g}")
        ax.legend(loc="upper right")
    _save(fig, path)
    return fig, norms


def _time_axes(ax, steps, title):
    last = steps - 1
    ax.set_yscale("log")
    ax.set_xlim(0, last)
    ax.set_xlabel(f"time step t (loss at t = T−1 = {last})")
    ax.set_ylabel(GRAD + " (log scale)")
    ax.set_title(title)
    ax.grid(True, which="major", alpha=0.3)
    # the same axis read the other way: how far the gradient has travelled back from the loss
    top = ax.secondary_xaxis("top", functions=(lambda x: last - x, lambda d: last - d))
    top.set_xlabel("steps back from the loss")


# ---- attention and training curves -------------------------------------------------------------


def plot_attention(weights, source_tokens, output_tokens, path=None, title=None):
    """Heatmap of attention weights (outputs, sources): source tokens along x, output tokens
    down y, colour 0 .. 1, with the value written in each cell when the matrix is small.

    ``weights`` is e.g. a ``Hypothesis.attention`` from nn.decoding, which has one row per
    decoded step, the final <eos> step included when it was produced: label it with
    ``tgt_vocab.tokens(h.tokens) + ["<eos>"]``."""
    if weights is None:
        raise ValueError("plot_attention: weights is None (a model without attention gives "
                         "Hypothesis.attention = None)")
    w = numpy.asarray(weights, dtype=float)
    src, out = [str(s) for s in source_tokens], [str(s) for s in output_tokens]
    if w.ndim != 2 or w.shape != (len(out), len(src)):
        raise ValueError(f"plot_attention: weights have shape {w.shape}, but {len(out)} output "
                         f"and {len(src)} source tokens need ({len(out)}, {len(src)}) = "
                         f"(outputs, sources); Hypothesis.attention has a row for the <eos> "
                         f"step too when one was produced")
    _check_path(path)
    fig = _figure(figsize=(max(4.0, 0.5 * len(src) + 2.5), max(3.0, 0.5 * len(out) + 1.8)))
    ax = fig.subplots()
    image = ax.imshow(w, cmap="Blues", vmin=0.0, vmax=1.0, aspect="equal")
    ax.set_xticks(range(len(src)), labels=src,
                  rotation=90 if max(map(len, src), default=0) > 2 else 0)
    ax.set_yticks(range(len(out)), labels=out)
    ax.set_xlabel("source token")
    ax.set_ylabel("output token")
    ax.set_title(title or "attention weights")
    if len(src) <= 12 and len(out) <= 12:  # numbers in the cells help a class read one row
        for (i, j), value in numpy.ndenumerate(w):
            ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8,
                    color="white" if value > 0.6 else "black")
    fig.colorbar(image, ax=ax, label="attention weight", shrink=0.9)
    _save(fig, path)
    return fig


def plot_losses(losses, path=None, smooth=50, title=None, log_scale=False):
    """Training curve: the loss of every step, light, and its moving average over ``smooth``
    steps (centred), bold (``smooth`` <= 1 draws the raw curve only). ``log_scale`` puts y on
    a log scale, which shows progress after the first drop."""
    y = numpy.asarray(losses, dtype=float)
    if y.ndim != 1 or y.size == 0:
        raise ValueError(f"plot_losses: expected a non-empty 1-D sequence of losses, got shape "
                         f"{y.shape}")
    _check_path(path)
    fig = _figure(figsize=(7.0, 4.2))
    ax = fig.subplots()
    x = numpy.arange(y.size)
    ax.plot(x, y, color="tab:blue", alpha=0.3, lw=0.8, label="loss per step")
    window = min(int(smooth or 0), y.size)
    if window > 1:
        ax.plot(x, _moving_average(y, window), color="tab:blue", lw=2.2,
                label=f"moving average ({window} steps)")
    if log_scale:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("loss" + (" (log scale)" if log_scale else ""))
    ax.set_title(title or "training loss")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper right")
    _save(fig, path)
    return fig


def plot_accuracy(lengths, accuracy, chance=None, path=None, title=None):
    """Accuracy against sequence length, one curve per cell kind (``accuracy`` maps a kind of
    ``nn.recurrent.KINDS`` to one score in [0, 1] per length), and a dashed ``chance`` curve
    (the score of learning nothing) when given."""
    lengths = list(lengths)
    for kind, scores in accuracy.items():
        _cell_kind(kind)
        if len(scores) != len(lengths):
            raise ValueError(f"plot_accuracy: {kind!r} has {len(scores)} scores for "
                             f"{len(lengths)} lengths")
    _check_path(path)
    fig = _figure(figsize=(6.4, 4.2))
    ax = fig.subplots()
    for kind, scores in accuracy.items():
        ax.plot(lengths, scores, "o-", color=_colour(kind), lw=2, gid=kind,
                label=KINDS[kind].description)
    if chance is not None:
        ax.plot(lengths, chance, "--", color="grey", gid="chance", label="chance")
    ax.set_xscale("log")
    ax.set_xticks(lengths, [str(n) for n in lengths])
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("sequence length (how far back the first value lies, at most)")
    ax.set_ylabel("held-out accuracy")
    ax.set_title(title or "accuracy against sequence length")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1))  # outside: the curves cross anywhere
    _save(fig, path)
    return fig


def _moving_average(y, window):
    """Mean over ``window`` steps centred on each step, the window narrowing symmetrically at
    the ends (a clamped window would draw flat segments there). Centred: a trailing window lags
    a falling loss and draws the average visibly above the raw curve."""
    csum = numpy.concatenate([[0.0], numpy.cumsum(y)])
    i = numpy.arange(y.size)
    half = numpy.minimum(numpy.minimum(i, y.size - 1 - i), window // 2)
    return (csum[i + half + 1] - csum[i - half]) / (2 * half + 1)


# ---- matplotlib plumbing ---------------------------------------------------------------------


def _figure(figsize):
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError('tinygrad_seq.viz.plots needs matplotlib: pip install '
                          '"tinygrad_seq[viz]" (or pip install matplotlib)') from None
    # a bare Figure on the Agg canvas: no pyplot state, no GUI, no figure kept alive by pyplot
    fig = Figure(figsize=figsize, layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _check_path(path):
    if path is not None and _extension(path) not in FORMATS:
        raise ValueError(f"cannot save a figure to {str(path)!r}: use a .png, .svg or .pdf path")


def _extension(path):
    return os.path.splitext(os.fspath(path))[1].lower().lstrip(".")


def _save(fig, path):
    if path is not None:
        # "tight" also keeps long tick labels and axis titles inside the saved image
        fig.savefig(path, format=_extension(path), dpi=150, bbox_inches="tight")


__all__ = ["gradient_norms", "unrolled_loss", "gradient_flow", "plot_attention", "plot_losses",
           "plot_accuracy"]
