"""GPU benchmark (needs CuPy and an NVIDIA GPU): an LSTM layer's training step at batch 64,
128 steps, input and hidden 512, float32, side by side in one run:

  * tinygrad_seq on CuPy with this project's fused kernels (the whole-sequence op),
  * tinygrad_seq on CuPy with composed pointwise ops (fused=False),
  * PyTorch's nn.LSTM (cuDNN), when installed with CUDA.

It also times the pointwise part alone with CUDA events: the fused LSTM kernels (forward and
backward, 128 steps) against the same maths as separate CuPy element-wise ops (the reference,
tinygrad_seq/kernels/reference.py, run on CuPy arrays).

    python benchmarks/gpu_lstm.py
"""

import statistics
import time

import numpy as np

import tinygrad_seq as ts
from tinygrad_seq.kernels import cuda, reference

B, T, IN, H = 64, 128, 512, 512


def timed(fn, sync, repeats=10, warmup=3):
    for _ in range(warmup):
        fn()
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def training_step(model, x, opt):
    """forward, backward of mean(out**2), SGD: the same for both libraries."""
    def step():
        out, _ = model(x)
        loss = (out * out).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def ours(fused):
    model = ts.nn.LSTM(IN, H, fused=fused).to("cuda")
    x = ts.randn(T, B, IN, device="cuda")
    return training_step(model, x, ts.optim.SGD(model.parameters(), lr=0.01))


def pointwise(cupy, impl):
    """Forward and backward of the LSTM cell's pointwise part for T steps, on (B, 4H)."""
    rng = np.random.default_rng(0)
    gates = cupy.asarray(rng.standard_normal((B, 4 * H)).astype(np.float32))
    c = cupy.asarray(rng.standard_normal((B, H)).astype(np.float32))
    bufs = [cupy.empty((B, 4 * H), np.float32)] + [cupy.empty((B, H), np.float32)
                                                    for _ in range(3)]
    grads = [cupy.empty((B, 4 * H), np.float32), cupy.empty((B, H), np.float32)]

    def run():
        for _ in range(T):
            impl.lstm_cell_forward(cupy, gates, c, *bufs)
            act, _, tc, h = bufs
            impl.lstm_cell_backward(cupy, act, c, tc, h, c, *grads)
    return run


def main():
    if not ts.cuda.is_available():
        raise SystemExit(f"no GPU: {ts.cuda.why_not()}")
    cupy = ts.backend.load_cupy()
    sync = ts.cuda.synchronize
    rows = {"tinygrad_seq fused kernels": timed(ours(True), sync),
            "tinygrad_seq composed ops": timed(ours(False), sync, repeats=3)}
    try:
        import torch
        if torch.cuda.is_available():
            model = torch.nn.LSTM(IN, H).cuda()
            step = training_step(model, torch.randn(T, B, IN, device="cuda"),
                                 torch.optim.SGD(model.parameters(), lr=0.01))
            rows["pytorch nn.LSTM (cuDNN)"] = timed(step, torch.cuda.synchronize)
    except ImportError:
        pass
    print(f"LSTM training step, B={B} T={T} I={IN} H={H}, float32 (median ms)")
    for name, ms in rows.items():
        print(f"  {name:<30}{ms:>10.2f}")
    fused = timed(pointwise(cupy, cuda.CUDA), sync)
    composed = timed(pointwise(cupy, reference), sync)
    print(f"pointwise part only, {T} steps fwd+bwd: fused {fused:.2f} ms, composed "
          f"{composed:.2f} ms, {composed / fused:.1f}x")


if __name__ == "__main__":
    main()
