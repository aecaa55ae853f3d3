"""Per-op overhead: 10,000 tiny (4x4) additions with autograd, against PyTorch side by side.

    python benchmarks/tiny_ops.py          # prints the table and the ratio
"""

from tinygrad_seq.app.bench import main

if __name__ == "__main__":
    main(["tiny-ops"])
