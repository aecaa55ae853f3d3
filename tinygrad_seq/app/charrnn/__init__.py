"""The main job: a character-level language model (Karpathy's char-RNN) trained on any text,
checkpointed, resumed bit for bit and sampled. ``tinygrad-seq charrnn train|sample``.

    corpus.py   the text (a file, a folder, or by default the Python standard library's own
                source) and its characters
    model.py    CharRNN: embedding, a recurrent layer of any cell kind, a linear head
    job.py      training with truncated BPTT, evaluation, checkpoints; sampling
"""

from .corpus import Corpus, load_text
from .job import TrainConfig, sample, train
from .model import CharRNN

__all__ = ["Corpus", "load_text", "CharRNN", "TrainConfig", "train", "sample"]
