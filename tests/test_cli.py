"""The tinygrad-seq command: jobs run end to end; mistakes are one line and exit status 2."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

import tinygrad_seq as ts
from tinygrad_seq.app.cli import main


def test_train_runs_end_to_end_and_saves(tmp_path, capsys):
    path = tmp_path / "model.npz"
    code = main(["train", "--task", "addition", "--steps", "3", "--batch", "4", "--hidden", "8",
                 "--heldout", "5", "--decode", "beam", "--beam", "2", "--save", str(path)])
    out = capsys.readouterr().out
    assert code == 0
    assert "exact match on 5 held-out examples" in out and "by source length" in out
    state = ts.load(path)
    assert "decoder.out.weight" in state["model"] and state["task"] == "addition"
    assert main(["translate", str(path), "12+3", "4+5"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split(" -> ")[0] for line in lines] == ["12+3", "4+5"]


def test_translate_refuses_another_checkpoint(tmp_path, capsys):
    other = tmp_path / "other.npz"
    ts.save({"w": ts.zeros(2)}, other)
    assert main(["translate", str(other), "abc"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a seq2seq checkpoint" in err


def test_teacher_forcing_schedule_option(capsys):
    code = main(["train", "--task", "reverse", "--steps", "2", "--batch", "2", "--hidden", "4",
                 "--heldout", "2", "--teacher-forcing", "linear:1.0:0.5"])
    assert code == 0


@pytest.mark.parametrize("argv, message", [
    (["train", "--teacher-forcing", "cubic:1"], "bad teacher-forcing schedule"),
    (["train", "--teacher-forcing", "exponential:2"], "exponential decay needs 0 < k < 1"),
    (["train", "--task", "sort"], "invalid choice: 'sort'"),
    (["train", "--steps", "0"], "argument --steps: must be at least 1, got 0"),
    (["train", "--lr", "-1"], "argument --lr: must be positive, got -1"),
    (["train", "--device", "tpu"], "unknown device 'tpu'"),
    (["graph", "--hidden", "0"], "argument --hidden: must be at least 1, got 0"),
    (["gradflow", "--steps", "0"], "argument --steps: must be at least 1, got 0"),
    (["translate", "m.npz", "abc", "--beam", "0"], "argument --beam: must be at least 1"),
    (["charrnn", "sample", "x.npz", "--temperature", "0"], "--temperature: must be positive"),
    (["charrnn", "sample", "x.npz", "--length", "0"], "argument --length: must be at least 1"),
])
def test_bad_options_exit_2_with_one_line(argv, message, capsys):
    # argparse errors exit via SystemExit, the command's own checks return 2: both are status 2
    try:
        code = main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1, err


def test_runtime_errors_are_one_line(capsys, tmp_path):
    code = main(["train", "--steps", "1", "--batch", "2", "--hidden", "4", "--heldout", "2",
                 "--save", str(tmp_path / "missing" / "dir" / "m.npz")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.startswith("tinygrad-seq: error:") and err.count("\n") == 1


def test_unknown_benchmark(capsys):
    assert main(["bench", "nothing"]) == 2
    assert "unknown benchmark 'nothing'" in capsys.readouterr().err


def test_console_script_is_installed():
    out = subprocess.run([sys.executable, "-m", "tinygrad_seq", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "train" in out and "bench" in out


def test_graph_draws_the_default_layers_steps_and_its_options(tmp_path, capsys):
    path = tmp_path / "lstm.dot"
    assert main(["graph", "--model", "lstm", "--layers", "2", "--steps", "3", "-o",
                 str(path)]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"wrote {path} (") and out.rstrip().endswith("KB)")
    dot = path.read_text()
    assert dot.count('label="lstm_cell"') == 6 and "reshape" not in dot
    assert main(["graph", "--model", "lstm", "--rolled", "-o", str(path)]) == 0
    assert "whole sequence" in path.read_text()
    assert main(["graph", "--model", "gru", "--values", "--memory", "--grads",
                 "--no-simplify", "-o", str(path)]) == 0
    dot = path.read_text()
    assert "saved for backward" in dot and "min " in dot and "|g|" in dot and "reshape" in dot


def test_graph_html_writes_the_interactive_page(tmp_path, capsys):
    if shutil.which("dot") is None:
        pytest.skip("Graphviz's dot program is not installed")
    assert main(["graph", "--model", "rnn", "--html", "-o", str(tmp_path / "g.svg")]) == 0
    page = tmp_path / "g.html"
    assert f"wrote {page}" in capsys.readouterr().out
    assert 'id="ts-clusters"' in page.read_text()


def test_info_names_what_this_machine_has(capsys):
    assert main(["info"]) == 0
    out = capsys.readouterr().out
    for line in ("tinygrad-seq ", "BLAS:", "CPU cell kernels:", "GPU:", "dot:", "chromium:"):
        assert line in out


def test_a_bad_option_is_one_line_without_the_usage_block(capsys):
    with pytest.raises(SystemExit) as e:
        main(["charrnn", "train", "--steps", "many"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--steps" in err and "usage" not in err


def test_bench_markdown_table_names_units_and_ratios():
    from tinygrad_seq.app.bench import markdown
    results = {"rnn-step LSTM": {"tinygrad_seq": {"forward": 0.003, "peak MB": 12.0},
                                 "pytorch": {"forward": 0.002, "peak MB": 24.0}},
               "char-lm": {"tinygrad_seq": {"throughput": 40000.0}}}
    assert markdown(results).splitlines() == [
        "| benchmark | measured | tinygrad_seq | PyTorch | ratio |",
        "|---|---|---:|---:|---:|",
        "| rnn-step LSTM | forward (ms) | 3.00 | 2.00 | 1.50x |",
        "| rnn-step LSTM | peak MB | 12.00 | 24.00 | 0.50x |",
        "| char-lm | throughput (characters per second) | 40000.00 |  |  |"]
