"""The lecture's experiment: seq2seq with and without attention on string reversal.

Without attention the decoder sees the source only through one fixed-length vector, the
encoder's final state, and accuracy "deteriorates rapidly as the length increases"; with
attention each output step looks back at all encoder outputs.

    python examples/04_attention_vs_bottleneck.py [--steps 2000]
"""

import argparse

from tinygrad_seq.app.training import train_task

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--cell", default="gru")
    args = parser.parse_args()
    results = {}
    for attention in ("dot", None):
        name = attention or "none"
        print(f"--- reversal of 5..12 digits, {args.cell}, attention: {name}")
        results[name] = train_task("reverse", attention=attention, cell=args.cell,
                                   steps=args.steps, log=print)
        print(f"exact match {results[name].accuracy:.1%} in {results[name].seconds:.0f} s")
    print("\nexact match by source length")
    print("length  " + "  ".join(f"{n:>6}" for n in results))
    for length in sorted(results["dot"].by_length):
        row = "  ".join(f"{r.by_length[length]:>6.1%}" for r in results.values())
        print(f"{length:>6}  {row}")
