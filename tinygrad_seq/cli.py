"""The ``tinygrad-seq`` command. Errors are one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys


def _schedule(text):
    """'constant:1.0', 'linear:1.0:0.0005', 'exponential:0.999', 'inverse_sigmoid:500'."""
    from .nn.seq2seq import TeacherForcing
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


def _parser():
    p = argparse.ArgumentParser(prog="tinygrad-seq", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="benchmarks side by side with PyTorch")
    bench.add_argument("names", nargs="*", help="which benchmarks (default: all)")
    bench.add_argument("--json", action="store_true", help="machine-readable output")

    train = sub.add_parser("train", help="train a seq2seq model on a synthetic task")
    train.add_argument("--task", default="reverse",
                       choices=["reverse", "copy", "addition", "dates"])
    train.add_argument("--cell", default="gru", choices=["rnn", "lstm", "gru"])
    train.add_argument("--attention", default="dot",
                       choices=["none", "additive", "dot", "general", "concat"])
    train.add_argument("--steps", type=int, default=2000)
    train.add_argument("--batch", type=int, default=64)
    train.add_argument("--hidden", type=int, default=128)
    train.add_argument("--layers", type=int, default=1)
    train.add_argument("--lr", type=float, default=3e-3)
    train.add_argument("--unidirectional", action="store_true",
                       help="encoder reads forwards only")
    train.add_argument("--teacher-forcing", type=_schedule, default=None,
                       help="schedule, e.g. linear:1.0:0.0005 (default constant:1.0)")
    train.add_argument("--decode", default="greedy", choices=["greedy", "beam"])
    train.add_argument("--beam", type=int, default=5, help="beam width")
    train.add_argument("--heldout", type=int, default=1000)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--save", help="write the trained model's state dict here (.npz)")
    return p


def _train(args):
    from . import serialization
    from .training import train_task
    result = train_task(args.task, None if args.attention == "none" else args.attention,
                        args.cell, args.steps, args.batch, args.hidden, layers=args.layers,
                        bidirectional=not args.unidirectional, lr=args.lr,
                        teacher_forcing=args.teacher_forcing, heldout=args.heldout,
                        seed=args.seed, method=args.decode, beam_width=args.beam, log=print)
    print(f"exact match on {args.heldout} held-out examples: {result.accuracy:.1%} "
          f"({result.seconds:.0f} s)")
    print("by source length: " + ", ".join(f"{k}: {v:.1%}" for k, v in
                                            sorted(result.by_length.items())))
    for src, pred, tgt in result.examples:
        print(f"  {src!r} -> {pred!r}" + ("" if pred == tgt else f"   (expected {tgt!r})"))
    if args.save:
        serialization.save(result.model.state_dict(), args.save)
        print(f"saved {args.save}")


def main(argv=None):
    args = _parser().parse_args(argv)
    try:
        if args.command == "bench":
            from . import bench
            unknown = [n for n in args.names if n not in bench.BENCHMARKS]
            if unknown:
                raise ValueError(f"unknown benchmark {unknown[0]!r}; choose from "
                                 f"{', '.join(bench.BENCHMARKS)}")
            bench.main(args.names, as_json=args.json)
        elif args.command == "train":
            _train(args)
    except (ValueError, TypeError, RuntimeError, OSError, KeyError) as e:
        print(f"tinygrad-seq: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
