"""`tinygrad-seq demo vanishing`: the files it promises, and a measurement that means something
(a gated cell really learns the adding problem; chance is what answering the mean scores)."""

import pytest

from tinygrad_seq.app import vanishing
from tinygrad_seq.app.cli import main


def test_demo_writes_table_plot_and_gradient_flow(tmp_path, capsys):
    out = tmp_path / "v"
    assert main(["demo", "vanishing", "--lengths", "4,8", "--iterations", "3", "--hidden", "4",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    lines = [line for line in printed.splitlines() if line.startswith("|")]
    assert lines[0] == "| sequence length | RNN | LSTM | GRU | chance (always 1.0) |"
    assert [line.split("|")[1].strip() for line in lines[2:]] == ["4", "8"]
    assert (out / "accuracy.md").read_text().strip() == "\n".join(lines)
    for name in ("accuracy.png", "gradient_flow.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_a_gated_cell_learns_what_chance_cannot():
    config = vanishing.Config(iterations=300, hidden=16)
    assert vanishing.accuracy("gru", 10, config) > 0.95
    assert vanishing.chance(10, config) < 0.25


def test_chance_is_the_score_of_answering_the_mean():
    config = vanishing.Config(heldout=5000)
    # the sum of two U(0, 1) has density 1 - |y - 1| near 1: P(|y - 1| < 0.1) = 0.19
    assert vanishing.chance(10, config) == pytest.approx(0.19, abs=0.02)


def test_bad_lengths_name_the_option(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "vanishing", "--lengths", "10,1"])
    assert e.value.code == 2
    assert "argument --lengths: each length must be at least 2, got 1" in capsys.readouterr().err


def test_plot_accuracy_checks_its_scores():
    from tinygrad_seq.viz.plots import plot_accuracy
    with pytest.raises(ValueError, match="'lstm' has 1 scores for 2 lengths"):
        plot_accuracy([10, 20], {"lstm": [0.5]})
    with pytest.raises(ValueError, match="unknown cell kind 'cnn'"):
        plot_accuracy([10], {"cnn": [0.5]})
