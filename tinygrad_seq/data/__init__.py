"""Data for the examples and tests: synthetic sequence tasks, vocabularies, batching, and
language-model chunking. Nothing here downloads anything."""

from .lm import batchify, bptt_chunks
from .synthetic import adding_problem
from .tasks import (
                    TASKS,
                    AdditionTask,
                    Batch,
                    CopyTask,
                    DateTask,
                    ReverseTask,
                    Task,
                    accuracy_by_length,
                    exact_match,
                    make_task,
)
from .vocab import BOS, EOS, PAD, UNK, UnknownSymbolError, Vocab, pad_batch

__all__ = ["adding_problem", "batchify", "bptt_chunks", "Vocab", "PAD", "BOS", "EOS", "UNK",
           "pad_batch", "UnknownSymbolError", "Batch", "Task", "ReverseTask", "CopyTask",
           "AdditionTask", "DateTask", "TASKS", "make_task", "exact_match",
           "accuracy_by_length"]
