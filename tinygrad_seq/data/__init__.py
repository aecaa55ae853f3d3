"""Data for the examples and tests: synthetic sequence tasks and language-model batching.
Nothing here downloads anything."""

from .lm import batchify, bptt_chunks
from .synthetic import adding_problem

__all__ = ["adding_problem", "batchify", "bptt_chunks"]
