"""The ``tinygrad-seq`` command. Errors are one line on stderr and exit status 2."""

from __future__ import annotations

import argparse
import sys


def _parser():
    p = argparse.ArgumentParser(prog="tinygrad-seq", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    bench = sub.add_parser("bench", help="benchmarks side by side with PyTorch")
    bench.add_argument("names", nargs="*", help="which benchmarks (default: all)")
    bench.add_argument("--json", action="store_true", help="machine-readable output")
    return p


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
    except (ValueError, TypeError, RuntimeError, OSError) as e:
        print(f"tinygrad-seq: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
