"""The same LSTM training step on the CPU and, when there is one, on a GPU through CuPy.

    python examples/05_gpu_quickstart.py [--device auto|cpu|cuda] [--steps 20]

With --device auto (the default) it uses a GPU if CuPy finds one and otherwise says why not
and runs on the CPU, so it works on any machine. A seed gives the same initial weights on
every device (random numbers are drawn on the host), so the losses of the two runs agree to
float32 rounding: the GPU changes where the arithmetic happens, not what it computes.
Install the GPU extra with  pip install -e ".[gpu]"  (it needs a CUDA driver).
"""

import argparse
import sys
import time

import numpy as np

import tinygrad_seq as ts
from tinygrad_seq import nn
from tinygrad_seq.nn import functional as F


class Tagger(nn.Module):
    """An LSTM that reads a random token sequence and predicts the previous token at each step."""

    def __init__(self, vocab=32, hidden=256):
        self.embed = nn.Embedding(vocab, 64)
        self.lstm = nn.LSTM(64, hidden)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):  # x (T, B) token ids
        out, _ = self.lstm(self.embed(x))
        return self.head(out)  # (T, B, vocab)


def pick_device(wanted):
    if wanted == "cpu" or ts.cuda.is_available():
        return "cpu" if wanted == "cpu" else "cuda"
    if wanted == "cuda":
        sys.exit(f"--device cuda: {ts.cuda.why_not()}")
    print(f"no GPU, so the CPU only: {ts.cuda.why_not()}")
    return "cpu"


def train(device, steps, batch=32, length=64, seed=0):
    """Train on `device`; returns the losses and the median seconds per step."""
    ts.manual_seed(seed)
    model = Tagger().to(device)  # the weights move; the optimizer is made after the move
    opt = ts.optim.Adam(model.parameters(), lr=3e-3)
    rng = np.random.default_rng(seed)
    losses, times = [], []
    for _ in range(steps):
        tokens = rng.integers(0, 32, (length + 1, batch))
        x = ts.tensor(tokens[1:], device=device)  # data goes where the model is
        y = ts.tensor(tokens[:-1], device=device)
        start = time.perf_counter()
        loss = F.cross_entropy(model(x).reshape(-1, 32), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())  # .item() copies to the host, which waits for the GPU
        times.append(time.perf_counter() - start)
    return losses, float(np.median(times[len(times) // 4:]))  # after warm-up (kernel compiles)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    device = pick_device(args.device)

    x = ts.randn(3, 4, device=device, requires_grad=True)
    (x @ x.T).tanh().sum().backward()
    print(f"a tensor on {x.device}: its gradient lives there too ({x.grad.device})")

    cpu_losses, cpu_step = train("cpu", args.steps)
    print(f"cpu : loss {cpu_losses[0]:.4f} -> {cpu_losses[-1]:.4f}, {cpu_step * 1e3:.1f} ms/step")
    if device != "cpu":
        gpu_losses, gpu_step = train(device, args.steps)
        gap = max(abs(a - b) for a, b in zip(cpu_losses, gpu_losses))
        print(f"{device}: loss {gpu_losses[0]:.4f} -> {gpu_losses[-1]:.4f}, "
              f"{gpu_step * 1e3:.1f} ms/step ({cpu_step / gpu_step:.1f}x the CPU)")
        print(f"largest difference between the two loss curves: {gap:.2e}")


if __name__ == "__main__":
    main()
