"""Tools for working on tinygrad_seq itself (never imported by the library): ``python -m
tinygrad_seq.dev.imports`` checks that no module imports back up the layers."""
