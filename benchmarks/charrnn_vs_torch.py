"""The char-RNN job against the same loop in PyTorch: validation loss after N steps and
characters per second, side by side, same weights at the start, same batches, same split.

    python benchmarks/charrnn_vs_torch.py [--text ../shared/data/tinyshakespeare.txt]
        [--steps 2000] [--hidden 256] [--batch-size 32] [--seq-len 64]

Both runs start from our initialisation (PyTorch's, as our layers follow it), copied into the
PyTorch model; they read the same chunks in the same order (truncated BPTT, state carried and
detached), use Adam (lr 2e-3) and clip the gradient norm at 5, without dropout so the two are
deterministic. PyTorch is an oracle here, never a dependency.
"""

from __future__ import annotations

import argparse
import math
import time

from tinygrad_seq.app.charrnn import Corpus, TrainConfig, load_text
from tinygrad_seq.app.charrnn.job import _Run, validation_loss


def torch_run(ours, corpus, steps, lr, clip, log_every):
    import torch
    torch.manual_seed(0)
    cfg = ours.config

    class Model(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.embed = torch.nn.Embedding(len(corpus.chars), ours.model.embed.weight.shape[1])
            self.rnn = getattr(torch.nn, cfg.model.upper())(self.embed.embedding_dim,
                                                            cfg.hidden, cfg.layers)
            self.head = torch.nn.Linear(cfg.hidden, len(corpus.chars))

        def forward(self, x, state=None):
            out, state = self.rnn(self.embed(x), state)
            return self.head(out), state

    model = Model()
    model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in
                           ours.model.state_dict().items()})
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    data, state, position = torch.tensor(ours.data), None, 0
    start = time.perf_counter()
    for step in range(1, steps + 1):
        if position >= data.shape[0] - 1:
            position, state = 0, None
        end = min(position + cfg.seq_len, data.shape[0] - 1)
        x, y = data[position:end], data[position + 1:end + 1]
        position = end
        logits, state = model(x, state)
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                                 y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        state = tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()
        if step % log_every == 0:
            print(f"  torch step {step}: train {loss.item():.3f}", flush=True)
    seconds = time.perf_counter() - start
    val = torch.tensor(corpus.val)
    with torch.no_grad():
        total, count, state = 0.0, 0, None
        vdata = val[:len(val) // 16 * 16].reshape(16, -1).T
        for s in range(0, vdata.shape[0] - 1, 256):
            e = min(s + 256, vdata.shape[0] - 1)
            logits, state = model(vdata[s:e], state)
            y = vdata[s + 1:e + 1]
            total += torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), y.reshape(-1)).item() * y.numel()
            count += y.numel()
    return total / count, seconds


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--text", default="../shared/data/tinyshakespeare.txt")
    p.add_argument("--model", default="lstm")
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--hidden", type=int, default=256)
    p.add_argument("--layers", type=int, default=1)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--seq-len", type=int, default=64)
    p.add_argument("--log-every", type=int, default=250)
    args = p.parse_args()
    text, source = load_text(args.text, limit=10**9)
    corpus = Corpus(text, val_fraction=0.1)
    config = TrainConfig(text=args.text, model=args.model, hidden=args.hidden,
                         layers=args.layers, seq_len=args.seq_len, batch_size=args.batch_size,
                         steps=args.steps)
    ours = _Run(config, corpus)
    print(f"{len(text):,} characters from {source}, {len(corpus.chars)} distinct; "
          f"{args.model} hidden {args.hidden} x {args.layers}, {args.steps} steps of "
          f"{args.batch_size} x {args.seq_len}", flush=True)
    theirs = torch_run(ours, corpus, args.steps, config.lr, config.clip, args.log_every)
    start = time.perf_counter()
    while ours.step < args.steps:
        loss = ours.train_step()
        if ours.step % args.log_every == 0:
            print(f"  ours  step {ours.step}: train {loss:.3f}", flush=True)
    seconds = time.perf_counter() - start
    val = validation_loss(ours.model, corpus, batch=16)
    chars = args.steps * args.batch_size * args.seq_len
    print(f"{'':12} {'val loss':>9} {'bits/char':>10} {'chars/s':>9}")
    for name, (v, s) in (("tinygrad_seq", (val, seconds)), ("pytorch", theirs)):
        print(f"{name:12} {v:>9.4f} {v / math.log(2):>10.3f} {chars / s:>9,.0f}")
    print(f"val loss ratio (ours / pytorch): {val / theirs[0]:.4f}; "
          f"speed ratio (ours / pytorch): {theirs[1] / seconds:.2f}x")


if __name__ == "__main__":
    main()
