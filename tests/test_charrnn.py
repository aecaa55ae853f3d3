"""The char-RNN job (app/charrnn/): a resume continues bit for bit, a checkpoint rebuilds its
model for sampling, bad text and bad options are one-line errors."""

import shutil

import numpy as np
import pytest

from tinygrad_seq import serialization
from tinygrad_seq.app.charrnn import Corpus, TrainConfig, load_text, sample, train
from tinygrad_seq.app.cli import main

TEXT = "".join(f"def f{i}(x):\n    return x * {i} + {i % 7}\n\n" for i in range(200))


def config(tmp_path, **kw):
    text = tmp_path / "text.py"
    text.write_text(TEXT)
    options = dict(text=str(text), model="lstm", hidden=16, layers=2, dropout=0.2, seq_len=12,
                   batch_size=4, steps=20, eval_every=10, sample_length=20,
                   out=str(tmp_path / "run"))
    return TrainConfig(**{**options, **kw})


def weights(run):
    return {k: v.numpy().copy() for k, v in run.model.state_dict().items()}


@pytest.mark.parametrize("model", ["lstm", "gru"])
def test_two_halves_with_a_resume_equal_one_run(tmp_path, model):
    whole = train(config(tmp_path, model=model, out=str(tmp_path / "a")), log=lambda *a: None)
    train(config(tmp_path, model=model, steps=10, out=str(tmp_path / "b")), log=lambda *a: None)
    resumed = train(config(tmp_path, model=model, steps=20, out=str(tmp_path / "b")),
                    resume=True, log=lambda *a: None)
    assert resumed.step == whole.step == 20
    a, b = weights(whole), weights(resumed)
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    assert resumed.history == whole.history  # the same losses at the same steps


def test_sample_rebuilds_the_model_from_the_checkpoint(tmp_path, capsys):
    run = train(config(tmp_path), log=lambda *a: None)
    path = tmp_path / "run" / "checkpoint.npz"
    text = sample(str(path), prime="def ", length=30, seed=1)
    assert text.startswith("def ") and len(text) == 34
    assert set(text) <= set(run.corpus.chars)
    assert sample(str(path), prime="def ", length=30, seed=1) == text  # seeded
    assert main(["charrnn", "sample", str(path), "--length", "5"]) == 0
    assert capsys.readouterr().out.startswith("def ")


def test_a_checkpoint_of_something_else_is_a_clear_error(tmp_path, capsys):
    other = tmp_path / "other.npz"
    serialization.save({"w": np.zeros(2)}, other)
    assert main(["charrnn", "sample", str(other)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "is not a charrnn checkpoint" in err


@pytest.mark.parametrize("content,message", [
    (b"\xff\xfe not utf-8" * 200, "is not UTF-8"), (b"short", "needs at least")])
def test_bad_text_is_one_line_exit_2(tmp_path, capsys, content, message):
    path = tmp_path / "bad.txt"
    path.write_bytes(content)
    assert main(["charrnn", "train", "--text", str(path), "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and str(path) in err


@pytest.mark.parametrize("argv,name", [(["--steps", "0"], "--steps"),
                                       (["--seq-len", "0"], "--seq-len"),
                                       (["--dropout", "1.5"], "--dropout")])
def test_options_are_checked_under_their_own_names(argv, name, capsys):
    assert main(["charrnn", "train", *argv]) == 2
    assert name in capsys.readouterr().err


def test_the_default_corpus_needs_no_download():
    text, source = load_text(None, limit=50_000)
    assert len(text) == 50_000 and "standard library" in source
    corpus = Corpus(text)
    assert corpus.decode(corpus.encode("def ")) == "def "
    assert len(corpus.train) + len(corpus.val) == len(text)


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz's dot program is not installed")
def test_a_run_leaves_its_report_and_loss_curves(tmp_path):
    run = train(config(tmp_path), log=lambda *a: None)
    folder = tmp_path / "run"
    page = (folder / "report.html").read_text()
    assert (folder / "loss.png").stat().st_size > 0
    for part in ('id="ts-clusters"', "Gradient flow over time", "Samples by step",
                 "step 10", "step 20", "data:image/png;base64,", 'label="lstm_cell'):
        assert part in page or part.replace('label="', "") in page
    assert len(run.samples) == 2 and all(p.grad is None for p in run.model.parameters())


def test_ctrl_c_leaves_a_checkpoint_that_resumes(tmp_path):
    seen = []

    def interrupt(line):  # the first evaluation's log line stands in for the user's Ctrl-C
        seen.append(line)
        if line.startswith("step 10"):
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(config(tmp_path), log=interrupt)
    ckpt = serialization.load(tmp_path / "run" / "checkpoint.npz")
    assert ckpt["step"] == 10 and any(s.startswith("interrupted: saved") for s in seen)
    whole = train(config(tmp_path, out=str(tmp_path / "whole")), log=lambda *a: None)
    resumed = train(config(tmp_path), resume=True, log=lambda *a: None)
    a, b = weights(whole), weights(resumed)
    assert all(np.array_equal(a[k], b[k]) for k in a)


def test_the_progress_bar_shows_loss_and_speed(tmp_path, capsys):
    train(config(tmp_path, steps=10), progress=True, report=False)
    err = capsys.readouterr().err
    assert "10/10" in err and "bpc=" in err and "chars_s=" in err
