"""A character-level LSTM language model trained with truncated BPTT, then sampled.

    python examples/03_char_lm.py path/to/text.txt [--minutes 2]

Without a path it trains on this file's own source. The hidden state is carried across
chunks and detached (docs/bptt.md).
"""

import argparse
import pathlib
import time

import numpy as np

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.data import batchify, bptt_chunks
from tinygrad_seq.nn import functional as F


class CharLM(nn.Module):
    def __init__(self, vocab, hidden=256, layers=2):
        self.embed = nn.Embedding(vocab, 64)
        self.lstm = nn.LSTM(64, hidden, num_layers=layers, dropout=0.1)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x, state=None):  # x (T, B) token ids
        out, state = self.lstm(self.embed(x), state)
        return self.head(out), state  # (T, B, V) logits


@ts.no_grad()
def sample(model, chars, length=300, temperature=0.8, seed=0):
    rng = np.random.default_rng(seed)
    model.eval()
    token, state, text = ts.tensor([[0]]), None, []
    for _ in range(length):
        logits, state = model(token, state)
        p = (logits[-1, 0] / temperature).softmax().numpy().astype(np.float64)
        token = ts.tensor([[rng.choice(len(p), p=p / p.sum())]])
        text.append(chars[token.item()])
    model.train()
    return "".join(text)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", nargs="?", default=__file__)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--seq-len", type=int, default=64)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    text = pathlib.Path(args.path).read_text(encoding="utf-8")
    chars = sorted(set(text))
    ids = np.searchsorted(np.array(chars), np.array(list(text)))  # char -> index in chars
    ts.manual_seed(0)
    model = CharLM(len(chars))
    opt = ts.optim.Adam(model.parameters(), lr=2e-3)
    data = batchify(ids, args.batch)
    start, seen, step = time.time(), 0, 0
    while time.time() - start < args.minutes * 60:
        state = None
        for x, y in bptt_chunks(data, args.seq_len):
            logits, state = model(x, state)
            loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            state = tuple(s.detach() for s in state)
            seen, step = seen + x.numel(), step + 1
            if step % 50 == 0:
                rate = seen / (time.time() - start)
                print(f"step {step:5d}  loss {loss.item():.3f}  {rate:,.0f} chars/s")
            if time.time() - start > args.minutes * 60:
                break
    print("\n" + sample(model, chars))


if __name__ == "__main__":
    main()
