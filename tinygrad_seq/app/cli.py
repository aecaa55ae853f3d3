"""The ``tinygrad-seq`` command. Errors are one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import os
import sys

from ..nn.recurrent import KINDS


def _schedule(text):
    """'constant:1.0', 'linear:1.0:0.0005', 'exponential:0.999', 'inverse_sigmoid:500'."""
    from ..nn.seq2seq import TeacherForcing
    kind, *numbers = text.split(":")
    try:
        values = [float(n) for n in numbers]
    except ValueError:
        raise argparse.ArgumentTypeError(f"bad teacher-forcing schedule {text!r}") from None
    names = {"constant": ["k"], "linear": ["k", "c", "minimum"], "exponential": ["k", "minimum"],
             "inverse_sigmoid": ["k", "minimum"]}
    if kind not in names or len(values) > len(names[kind]):
        raise argparse.ArgumentTypeError(
            f"bad teacher-forcing schedule {text!r}: use constant:K, linear:K:C[:MIN], "
            f"exponential:K[:MIN] or inverse_sigmoid:K[:MIN]")
    try:
        return TeacherForcing(kind, **dict(zip(names[kind], values)))
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _at_least(minimum):
    """An argparse type: an integer of at least ``minimum``; argparse's error then names the
    option itself ("argument --steps: must be at least 1, got 0"), not the code it feeds."""
    def count(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value
    return count


def _positive(text):
    """An argparse type: a float above zero (a learning rate, a temperature)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {value}")
    return value


def _lengths(text):
    """An argparse type: comma-separated sequence lengths of at least 2 ("10,25,50")."""
    try:
        values = tuple(int(n) for n in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") \
            from None
    if min(values) < 2:
        raise argparse.ArgumentTypeError(f"each length must be at least 2, got {min(values)}")
    return values


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad option is one line (which option, what is wrong), not a usage
    block; every subcommand's parser is one of these too."""

    def error(self, message):
        self.exit(2, f"tinygrad-seq: error: {message}\n")


def _parser():
    p = _Parser(prog="tinygrad-seq", description=__doc__)
    p.add_argument("--version", action="version", version=f"tinygrad-seq {_version()}")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="versions, BLAS, compiled kernels, GPU, Graphviz, Chromium")
    bench = sub.add_parser("bench", help="benchmarks side by side with PyTorch")
    bench.add_argument("names", nargs="*", help="which benchmarks (default: all)")
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    bench.add_argument("--runs", type=_at_least(1), default=1,
                       help="run everything this many times; print medians and each run's "
                            "ratios")
    bench.add_argument("--busy", action="store_true",
                       help="measure again beside a competing CPU-bound process and print the "
                            "slowdowns")
    bench.add_argument("--markdown", action="store_true",
                       help="one Markdown table (the README's)")

    train = sub.add_parser("train", help="train a seq2seq model on a synthetic task",
                           formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    train.add_argument("--task", default="reverse", help="which synthetic task",
                       choices=["reverse", "copy", "addition", "dates"])
    train.add_argument("--cell", default="gru", choices=list(KINDS), help="recurrent cell")
    train.add_argument("--attention", default="dot", help="attention score",
                       choices=["none", "additive", "dot", "general", "concat"])
    train.add_argument("--steps", type=_at_least(1), default=2000, help="optimizer steps")
    train.add_argument("--batch", type=_at_least(1), default=64, help="examples per step")
    train.add_argument("--hidden", type=_at_least(1), default=128, help="hidden size")
    train.add_argument("--layers", type=_at_least(1), default=1, help="encoder/decoder layers")
    train.add_argument("--lr", type=_positive, default=3e-3, help="Adam's learning rate")
    train.add_argument("--unidirectional", action="store_true",
                       help="encoder reads forwards only")
    train.add_argument("--teacher-forcing", type=_schedule, default=None,
                       help="schedule, e.g. linear:1.0:0.0005 (default constant:1.0)")
    train.add_argument("--decode", default="greedy", choices=["greedy", "beam"],
                       help="how held-out examples are decoded")
    train.add_argument("--beam", type=_at_least(1), default=5, help="beam width")
    train.add_argument("--heldout", type=_at_least(1), default=1000,
                       help="held-out examples scored at the end")
    train.add_argument("--seed", type=int, default=0, help="seeds data, weights and sampling")
    train.add_argument("--device", default="cpu", help="cpu or cuda (needs the gpu extra)")
    train.add_argument("--save", help="write a checkpoint (config and weights) here (.npz)")
    train.add_argument("--plot", help="write the training curve (loss per step) here (.png/.svg)")
    train.add_argument("--attention-plot",
                       help="write the attention heatmap of one held-out example here")

    graph = sub.add_parser("graph", help="render the unrolled computation graph of a model")
    graph.add_argument("--model", default="rnn", choices=[*KINDS, "seq2seq"])
    graph.add_argument("--steps", type=_at_least(1), default=4)
    graph.add_argument("--layers", type=_at_least(1), default=1)
    graph.add_argument("--bidirectional", action="store_true")
    graph.add_argument("--hidden", type=_at_least(1), default=8)
    graph.add_argument("--collapse", type=_at_least(1), help="keep the first and last K steps")
    graph.add_argument("--grads", action="store_true",
                       help="colour each step by the gradient norm reaching it")
    graph.add_argument("--expand", action="store_true", help="open fused cells into their ops")
    graph.add_argument("--rolled", action="store_true",
                       help="draw each layer direction as one box, not as its time steps")
    graph.add_argument("--values", action="store_true",
                       help="show each node's value (and the parameters' gradients)")
    graph.add_argument("--memory", action="store_true",
                       help="show the bytes kept for backward, per node, per step, in all")
    graph.add_argument("--no-simplify", action="store_true",
                       help="draw the shape-only ops (reshape, transpose, split, ...) too")
    graph.add_argument("--html", action="store_true",
                       help="write an interactive page (pan, zoom, fold steps, hover)")
    graph.add_argument("-o", "--output", required=True,
                       help="out.svg, .png, .pdf, .dot or .html")

    translate = sub.add_parser("translate", help="run a model saved by train --save")
    translate.add_argument("checkpoint")
    translate.add_argument("text", nargs="+", help="one or more source strings")
    translate.add_argument("--decode", default="greedy", choices=["greedy", "beam"])
    translate.add_argument("--beam", type=_at_least(1), default=5)
    translate.add_argument("--device", default="cpu", help="cpu or cuda")

    char = sub.add_parser("charrnn", help="the main job: a character-level language model")
    jobs = char.add_subparsers(dest="job", required=True)
    ctrain = jobs.add_parser("train", help="train on a text (default: Python's own source)",
                             formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    from .charrnn import TrainConfig
    defaults = TrainConfig()
    ctrain.add_argument("--text", default=None, help="a UTF-8 file or folder (default: the "
                        "Python standard library's source)")
    ctrain.add_argument("--model", default=defaults.model, choices=list(KINDS))
    for name, kind in (("hidden", int), ("layers", int), ("dropout", float), ("seq_len", int),
                       ("batch_size", int), ("lr", float), ("steps", int), ("clip", float),
                       ("eval_every", int), ("seed", int), ("temperature", float),
                       ("sample_length", int)):
        ctrain.add_argument("--" + name.replace("_", "-"), type=kind,
                            default=getattr(defaults, name), help=name.replace("_", " "))
    ctrain.add_argument("--prime", default=defaults.prime, help="how samples start")
    ctrain.add_argument("--out", default=defaults.out, help="folder for the checkpoint")
    ctrain.add_argument("--device", default="cpu", help="cpu or cuda (needs the gpu extra)")
    ctrain.add_argument("--resume", action="store_true",
                        help="continue the checkpoint in --out (bit for bit)")
    csample = jobs.add_parser("sample", help="text from a checkpoint",
                              formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    csample.add_argument("checkpoint")
    csample.add_argument("--prime", default="def ")
    csample.add_argument("--length", type=_at_least(1), default=500)
    csample.add_argument("--temperature", type=_positive, default=0.8)
    csample.add_argument("--seed", type=int, default=0)
    csample.add_argument("--device", default="cpu", help="cpu or cuda")

    demo = sub.add_parser("demo", help="measured demonstrations of the lecture's claims")
    demos = demo.add_subparsers(dest="demo", required=True)
    vanish = demos.add_parser("vanishing", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
                              help="RNN, LSTM and GRU on the adding problem at growing lengths")
    from .vanishing import Config
    config = Config()
    vanish.add_argument("--lengths", type=_lengths, default=",".join(map(str, config.lengths)),
                        help="sequence lengths, comma-separated")
    vanish.add_argument("--iterations", type=_at_least(1), default=config.iterations,
                        help="training steps per model and length")
    vanish.add_argument("--hidden", type=_at_least(1), default=config.hidden, help="hidden size")
    vanish.add_argument("--seed", type=int, default=config.seed, help="seeds data and weights")
    vanish.add_argument("--out", default="vanishing",
                        help="folder for accuracy.md, accuracy.png and gradient_flow.png")

    flow = sub.add_parser("gradflow", help="plot ||dL/dh_t|| over time for RNN, LSTM and GRU")
    flow.add_argument("--steps", type=_at_least(1), default=100)
    flow.add_argument("-o", "--output", required=True, help="flow.png, .svg or .pdf")
    return p


def _train(args):
    from .. import serialization
    from ..backend import set_default_device
    from .training import train_task
    set_default_device(args.device)  # the model, its batches and decoding all follow it
    result = train_task(args.task, None if args.attention == "none" else args.attention,
                        args.cell, args.steps, args.batch, args.hidden, layers=args.layers,
                        bidirectional=not args.unidirectional, lr=args.lr,
                        teacher_forcing=args.teacher_forcing, heldout=args.heldout,
                        seed=args.seed, method=args.decode, beam_width=args.beam, log=print,
                        progress=sys.stderr.isatty())  # a bar for people, not for logs
    print(f"exact match on {args.heldout} held-out examples: {result.accuracy:.1%} "
          f"({result.seconds:.0f} s)")
    print("by source length: " + ", ".join(f"{k}: {v:.1%}" for k, v in
                                            sorted(result.by_length.items())))
    for src, pred, tgt in result.examples:
        print(f"  {src!r} -> {pred!r}" + ("" if pred == tgt else f"   (expected {tgt!r})"))
    if args.save:
        from .training import checkpoint
        serialization.save(checkpoint(result, args.task, result.config), args.save)
        print(f"saved {args.save} (tinygrad-seq translate {args.save} \"...\" uses it)")
    if args.plot:
        from ..viz.plots import plot_losses
        plot_losses(result.losses, path=args.plot, title=f"{args.task}: training loss")
        print(f"saved {args.plot}")
    if args.attention_plot:
        _plot_one_attention(result, args.attention_plot)
        print(f"saved {args.attention_plot}")


def _plot_one_attention(result, path):
    from ..nn.decoding import greedy
    from ..tensor import Tensor
    from ..viz.plots import plot_attention
    source = result.examples[0][0]
    batch = result.task.batches_from([(source, "")], 1)[0]
    hyp = greedy(result.model, Tensor(batch.src), batch.src_lengths,
                 result.task.max_target_len + 2)[0][0]
    if hyp.attention is None:
        raise ValueError("--attention-plot needs a model with attention (--attention none "
                         "has no weights to plot)")
    vocab = result.task.tgt_vocab
    outputs = vocab.tokens(hyp.tokens) + (["<eos>"] if len(hyp.attention) > len(hyp.tokens)
                                           else [])
    plot_attention(hyp.attention, result.task.src_vocab.tokens(batch.src[0][:len(source)]),
                   outputs, path=path, title=f"{source!r} -> {vocab.decode(hyp.tokens)!r}")


def _graph(args):
    from ..autograd import record_grad_norms
    from ..viz import render
    from ..viz.demo import demo_model
    model, loss = demo_model(args.model, args.steps, args.layers, args.bidirectional,
                             args.hidden)
    if args.grads:
        with record_grad_norms():
            loss.backward(retain_graph=True)
    collapse = (args.collapse, args.collapse) if args.collapse else None
    path = args.output
    if args.html and not path.endswith(".html"):
        path = os.path.splitext(path)[0] + ".html"
    # the API's defaults (layout included): the command draws what draw() draws
    path = render(loss, path=path, params=model, collapse=collapse, grads=args.grads,
                  expand=args.expand, unroll=not args.rolled, values=args.values,
                  memory=args.memory, simplify=not args.no_simplify)
    print(f"wrote {path} ({os.path.getsize(path) / 1024:.1f} KB)")


def _version():
    from importlib import metadata
    try:
        return metadata.version("tinygrad-seq")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def _info():
    import platform
    import shutil

    import numpy

    from .. import backend
    from ..kernels import blas as cblas
    from ..kernels import host, loops
    print(f"tinygrad-seq {_version()}, Python {platform.python_version()}, "
          f"NumPy {numpy.__version__}")
    try:  # NumPy >= 1.25 describes its build as a dict
        blas = numpy.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    except TypeError:
        blas = {}
    found = cblas.find()
    print(f"BLAS: {blas.get('name', 'unknown')} {blas.get('version', '')}".rstrip()
          + (f"; called directly from {found.path}" if found else f"; {cblas.why_not()}"))
    why = host.why_not()
    print("CPU cell kernels: " + ("compiled (kernels/src/host.cpp)" if why is None
                                   else f"NumPy reference ({why})"))
    why = loops.why_not()
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print("time loops and matrix products: " + (
        f"compiled, {loops.get_num_threads()} threads of {cores} cores (ts.set_num_threads or "
        f"TINYGRAD_SEQ_NUM_THREADS; NumPy's BLAS held at 1)" if why is None
        else f"NumPy ({why})"))
    problem = backend.gpu_problem()
    print("GPU: " + ("CuPy and a GPU found" if problem is None else f"none ({problem})"))
    for program, use in (("dot", "Graphviz, renders drawings"),
                         ("chromium", "runs the interactive page's browser test")):
        found = shutil.which(program)
        print(f"{program}: {found or 'not found'} ({use})")


def _charrnn(args):
    import dataclasses

    from . import charrnn
    if args.job == "sample":
        print(charrnn.sample(args.checkpoint, args.prime, args.length, args.temperature,
                             args.seed, args.device))
        return
    fields = {f.name for f in dataclasses.fields(charrnn.TrainConfig)}
    config = charrnn.TrainConfig(**{k: v for k, v in vars(args).items() if k in fields})
    charrnn.train(config, resume=args.resume, progress=sys.stderr.isatty())


def _vanishing(args):
    from . import vanishing
    config = vanishing.Config(lengths=args.lengths, iterations=args.iterations,
                              hidden=args.hidden, seed=args.seed)
    results = vanishing.run(config, out=args.out, progress=sys.stderr.isatty())
    print(vanishing.table(config, results))
    print(f"wrote {', '.join(os.path.join(args.out, f) for f in vanishing.FILES)}")


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "info":
            _info()
        elif args.command == "bench":
            from . import bench
            unknown = [n for n in args.names if n not in bench.BENCHMARKS]
            if unknown:
                raise ValueError(f"unknown benchmark {unknown[0]!r}; choose from "
                                 f"{', '.join(bench.BENCHMARKS)}")
            bench.main(args.names, as_json=args.json, as_markdown=args.markdown, busy=args.busy,
                       runs=args.runs)
        elif args.command == "train":
            _train(args)
        elif args.command == "graph":
            _graph(args)
        elif args.command == "translate":
            from .training import load_model, predict
            if not os.path.exists(args.checkpoint):
                raise ValueError(f"{args.checkpoint}: no such checkpoint")
            from ..backend import set_default_device
            set_default_device(args.device)
            model, task = load_model(args.checkpoint)
            for source, out in zip(args.text, predict(model, task, args.text, args.decode,
                                                      args.beam)):
                print(f"{source} -> {out}")
        elif args.command == "charrnn":
            _charrnn(args)
        elif args.command == "demo":
            _vanishing(args)
        elif args.command == "gradflow":
            from ..viz.plots import gradient_flow
            gradient_flow(steps=args.steps, path=args.output)
            print(f"wrote {args.output}")
    except (ValueError, TypeError, RuntimeError, OSError, KeyError) as e:
        print(f"tinygrad-seq: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
