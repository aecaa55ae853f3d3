"""CharRNN: characters in, the next character's logits out. Embedding -> a recurrent layer
of any cell kind (nn/recurrent/) -> Linear. Built from its config alone, so a checkpoint
rebuilds it."""

from __future__ import annotations

from ... import nn
from ...nn.recurrent import kind as cell_kind


class CharRNN(nn.Module):
    """(T, B) character ids, state -> (T, B, V) logits, new state."""

    def __init__(self, vocab_size, model="lstm", hidden=256, layers=1, dropout=0.0,
                 embed=None):
        self.config = dict(vocab_size=vocab_size, model=model, hidden=hidden, layers=layers,
                           dropout=dropout, embed=embed)
        embed = embed or min(64, hidden)
        self.embed = nn.Embedding(vocab_size, embed)
        self.rnn = cell_kind(model).layer(embed, hidden, num_layers=layers, dropout=dropout)
        self.head = nn.Linear(hidden, vocab_size)

    def forward(self, x, state=None):
        out, state = self.rnn(self.embed(x), state)  # (T, B, H)
        return self.head(out), state
