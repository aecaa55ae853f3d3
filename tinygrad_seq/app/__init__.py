"""The application side, apart from the library: the ``tinygrad-seq`` command (cli.py), the
seq2seq training loop it runs (training.py) and the benchmarks against PyTorch (bench/)."""
