"""viz/plots.py: the gradient-flow curves are the engine's real gradients, clipping bounds them,
figures carry the right labels and save, and matplotlib stays out of plain imports."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq.nn.decoding import Hypothesis
from tinygrad_seq.viz import plots

pytest.importorskip("matplotlib")

SMALL = {"hidden_size": 16, "input_size": 4, "batch": 4}


def panel(fig, title_start):
    (ax,) = [a for a in fig.axes if a.get_title().startswith(title_start)]
    return ax


def line(ax, gid):
    (found,) = [ln for ln in ax.lines if ln.get_gid() == gid]
    return np.asarray(found.get_ydata())


def retained_norms(kind, steps, **options):
    """||dL/dh_t|| through retain_grad, a different route from the hooks plots.py uses."""
    _, hs, loss = plots.unrolled_loss(kind, steps, **options)
    for h in hs:
        h.retain_grad()
    loss.backward()
    return np.array([np.linalg.norm(h.grad.numpy()) for h in hs])


# ---- the curves are real gradients ------------------------------------------------------------


def test_plotted_norms_equal_independently_captured_gradients():
    fig, norms = plots.gradient_flow(steps=30, **SMALL)
    ax = panel(fig, "Vanishing")
    for kind in ("rnn", "lstm", "gru"):
        expected = retained_norms(kind, 30, **SMALL)
        np.testing.assert_allclose(line(ax, kind), expected, rtol=1e-10)
        np.testing.assert_allclose(norms[kind], expected, rtol=1e-10)
        assert norms[kind][-1] == pytest.approx(1.0)  # the loss direction is normalised
    raw = line(panel(fig, "With gradient clipping"), "unclipped")
    np.testing.assert_allclose(raw, retained_norms("rnn", 30, weight_scale=5.0, **SMALL),
                               rtol=1e-10)


def test_rnn_norms_match_hand_written_bptt():
    # dL/dh_{t-1} = (dL/dh_t * (1 - h_t^2)) W_hh, in NumPy: the engine only seeds dL/dh_{T-1}
    cell, hs, loss = plots.unrolled_loss("rnn", 20, **SMALL)
    hs[-1].retain_grad()
    loss.backward()
    g, w_hh = hs[-1].grad.numpy(), cell.weight_hh.numpy()
    expected = [np.linalg.norm(g)]
    for t in range(19, 0, -1):
        h = hs[t].numpy()
        g = (g * (1 - h * h)) @ w_hh
        expected.append(np.linalg.norm(g))
    got = plots.gradient_norms("rnn", 20, **SMALL)
    np.testing.assert_allclose(got, expected[::-1], rtol=1e-9)


def test_lstm_gradient_decays_more_slowly_than_a_vanilla_rnn():
    ratio = {k: n[0] / n[-1] for k in ("rnn", "lstm")
             for n in [plots.gradient_norms(k, steps=50)]}
    assert ratio["lstm"] > 10 * ratio["rnn"], ratio
    # opening the forget gate (bias +1) is what makes the LSTM remember
    opened = plots.gradient_norms("lstm", steps=50, forget_bias=1.0)
    assert opened[0] / opened[-1] > 1e3 * ratio["lstm"]


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_clipping_bounds_every_norm(kind):
    raw = plots.gradient_norms(kind, steps=40, weight_scale=5.0)
    clipped = plots.gradient_norms(kind, steps=40, weight_scale=5.0, clip=0.5)
    assert clipped.max() <= 0.5 * (1 + 1e-12)
    assert raw.max() > 0.5  # so the clip did something


def test_clipping_tames_an_exploding_rnn_in_the_figure():
    fig, _ = plots.gradient_flow(kinds="rnn", steps=60, clip=3.0)
    ax = panel(fig, "With gradient clipping")
    assert line(ax, "unclipped").max() > 1e3
    assert line(ax, "clipped").max() <= 3.0 * (1 + 1e-12)
    assert line(ax, "max_norm")[0] == 3.0


def test_plots_leave_the_global_random_stream_alone():
    ts.manual_seed(3)
    expected = ts.randn(4).numpy()
    ts.manual_seed(3)
    plots.gradient_norms("gru", steps=3)
    np.testing.assert_array_equal(ts.randn(4).numpy(), expected)


# ---- saving and importing ---------------------------------------------------------------------


@pytest.mark.parametrize("ext, magic", [("png", b"\x89PNG"), ("svg", b"<?xml"), ("pdf", b"%PDF")])
def test_saving_writes_a_file(tmp_path, ext, magic):
    path = tmp_path / f"flow.{ext}"
    plots.gradient_flow(steps=8, path=path, **SMALL)
    assert path.read_bytes().startswith(magic)
    losses = tmp_path / f"losses.{ext}"
    plots.plot_losses([3.0, 2.0, 1.0], path=str(losses))
    assert losses.stat().st_size > 0


def test_an_unknown_format_fails_before_any_work(tmp_path):
    with pytest.raises(ValueError, match=r"\.png, \.svg or \.pdf"):
        plots.plot_losses([1.0], path=tmp_path / "curve.jpg")


def test_importing_does_not_import_matplotlib():
    code = ("import sys, tinygrad_seq, tinygrad_seq.viz.plots; "
            "print(sorted(m for m in sys.modules if m.startswith('matplotlib')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"


# ---- attention and losses ---------------------------------------------------------------------


def test_attention_heatmap_labels_and_values():
    weights = np.array([[0.1, 0.2, 0.7], [0.8, 0.1, 0.1]])
    hyp = Hypothesis(tokens=[7], score=-0.5, attention=weights)  # one token, then <eos>
    fig = plots.plot_attention(hyp.attention, ["a", "b", "c"], ["x", "<eos>"], title="demo")
    ax, colorbar = fig.axes
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["x", "<eos>"]
    np.testing.assert_array_equal(ax.images[0].get_array(), weights)
    assert ax.get_title() == "demo" and colorbar.get_ylabel() == "attention weight"


def test_attention_shape_mismatch_is_a_clear_error():
    with pytest.raises(ValueError, match=r"shape \(2, 3\).*2 output and 4 source"):
        plots.plot_attention(np.ones((2, 3)), list("abcd"), ["x", "y"])
    with pytest.raises(ValueError, match="without attention"):
        plots.plot_attention(None, ["a"], ["x"])


def test_loss_curve_has_raw_and_smoothed_lines():
    losses = np.linspace(3, 0.1, 200) + np.random.default_rng(0).uniform(0, 0.2, 200)
    ax = plots.plot_losses(losses, smooth=20, log_scale=True).axes[0]
    raw, avg = ax.lines
    np.testing.assert_array_equal(raw.get_ydata(), losses)
    assert len(avg.get_ydata()) == 200 and avg.get_linewidth() > raw.get_linewidth()
    assert ax.get_yscale() == "log"
    assert len(plots.plot_losses(losses, smooth=1).axes[0].lines) == 1
    flat = plots.plot_losses(np.full(30, 2.0), smooth=7).axes[0].lines[1].get_ydata()
    np.testing.assert_allclose(flat, 2.0)
    with pytest.raises(ValueError, match="non-empty 1-D"):
        plots.plot_losses([])


# ---- bad input --------------------------------------------------------------------------------


def test_unknown_kinds_and_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="unknown cell kind 'transformer'.*'rnn'"):
        plots.gradient_norms("transformer")
    with pytest.raises(ValueError, match="unknown cell kind"):
        plots.gradient_flow(kinds=("rnn", "lstmm"))
    with pytest.raises(ValueError, match="no forget gate"):
        plots.gradient_norms("gru", forget_bias=1.0)
    with pytest.raises(ValueError, match="clip must be"):
        plots.gradient_norms("rnn", clip=0)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        plots.gradient_norms("rnn", steps=0)
