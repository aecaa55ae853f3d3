"""Recurrent benchmarks: RNN/LSTM/GRU training step and inference with the GEMM-bound time
beside them, character-level language-model throughput, and a 1,000-step LSTM step with its
peak memory.

The GEMM-bound time is what the matrix products of the same step cost alone through the
engine's threaded products (input projection of all steps in one GEMM, T recurrent products
forward and T backward, the weight gradients as one GEMM over all steps, the input gradient),
written into preallocated outputs; the flop-floor is the step's FLOP count over this CPU's
measured peak (limits.py), the physical limit.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time

import numpy

import tinygrad_seq as ts

from ...kernels import loops
from ...nn.recurrent import KINDS
from . import limits
from .timing import alternate_blocks, torch_module


def _libs():
    torch = torch_module()
    return {"tinygrad_seq": ts} | ({"pytorch": torch} if torch is not None else {})


def _step(lib, kind, batch, steps, inputs, hidden, train=True):
    model = getattr(lib.nn, kind)(inputs, hidden)
    x = lib.randn(steps, batch, inputs)
    opt = lib.optim.SGD(model.parameters(), lr=0.01)

    def run():
        t0 = time.perf_counter()
        if not train:
            with lib.no_grad():
                model(x)
            return {"forward": time.perf_counter() - t0}
        out, _ = model(x)
        loss = (out * out).mean()
        t1 = time.perf_counter()
        opt.zero_grad()
        loss.backward()
        opt.step()
        t2 = time.perf_counter()
        return {"forward": t1 - t0, "backward+step": t2 - t1, "total": t2 - t0}
    return run


def _gemm_bound(kind, batch, steps, inputs, hidden, train=True):
    """The step's matrix products alone, through the engine's threaded products
    (kernels.loops.matmul), into preallocated outputs."""
    g = len(KINDS[kind.lower()].gates) * hidden
    rng = numpy.random.default_rng(0)
    f32 = numpy.float32
    x = rng.standard_normal((steps * batch, inputs)).astype(f32)
    w_ih, w_hh = rng.standard_normal((g, inputs)).astype(f32), rng.standard_normal(
        (g, hidden)).astype(f32)
    w_ih_t, w_hh_t = numpy.ascontiguousarray(w_ih.T), numpy.ascontiguousarray(w_hh.T)
    h = rng.standard_normal((batch, hidden)).astype(f32)
    hs = rng.standard_normal((steps * batch, hidden)).astype(f32)
    proj, gates, dh = (numpy.empty((steps * batch, g), f32), numpy.empty((batch, g), f32),
                       numpy.empty((batch, hidden), f32))
    d_all = rng.standard_normal((steps * batch, g)).astype(f32)
    dw_ih, dw_hh, dx = (numpy.empty((g, inputs), f32), numpy.empty((g, hidden), f32),
                        numpy.empty((steps * batch, inputs), f32))
    mm = loops.matmul

    def run():
        t0 = time.perf_counter()
        mm(x, w_ih_t, proj)
        for _ in range(steps):
            mm(h, w_hh_t, gates)
        t1 = time.perf_counter()
        if not train:
            return {"forward": t1 - t0}
        for t in range(steps):
            mm(d_all[t * batch:(t + 1) * batch], w_hh, dh)
        mm(d_all.T, hs, dw_hh)
        mm(d_all.T, x, dw_ih)
        mm(d_all, w_ih, dx)
        t2 = time.perf_counter()
        return {"forward": t1 - t0, "backward+step": t2 - t1, "total": t2 - t0}
    return run


def _layers(train, kinds, batch, steps, inputs, hidden):
    results = {}
    for kind in kinds:
        sides = {name: _step(lib, kind, batch, steps, inputs, hidden, train)
                 for name, lib in _libs().items()}
        sides["gemm-bound"] = _gemm_bound(kind, batch, steps, inputs, hidden, train)
        what = "step" if train else "inference"
        timed = alternate_blocks(sides)
        timed["flop-floor"] = limits.floor(limits.recurrent_flops(kind, batch, steps, inputs,
                                                                  hidden, train))
        results[f"{kind.lower()}-{what} B={batch} T={steps} I={inputs} H={hidden}"] = timed
    return results


def training_step(kinds=("LSTM", "GRU", "RNN"), batch=32, steps=64, inputs=128, hidden=256):
    """Forward, backward of mean(out**2) and an SGD step, at the size of issue 3's benchmark."""
    return _layers(True, kinds, batch, steps, inputs, hidden)


def inference(kinds=("LSTM", "GRU", "RNN"), batch=32, steps=64, inputs=128, hidden=256):
    """The forward pass alone, recording no graph."""
    return _layers(False, kinds, batch, steps, inputs, hidden)


def _char_lm(lib, vocab, batch, steps, hidden):
    nn, F = lib.nn, lib.nn.functional
    embed, lstm, head = nn.Embedding(vocab, 64), nn.LSTM(64, hidden, 2), nn.Linear(hidden, vocab)
    params = [*embed.parameters(), *lstm.parameters(), *head.parameters()]
    opt = lib.optim.Adam(params, lr=1e-3)
    rng = numpy.random.default_rng(0)
    tokens = lib.tensor(rng.integers(0, vocab, (steps + 1, batch)))
    x, y = tokens[:-1], tokens[1:]

    def run():
        t0 = time.perf_counter()
        out, _ = lstm(embed(x))
        loss = F.cross_entropy(head(out).reshape(-1, vocab), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"characters per second": steps * batch / (time.perf_counter() - t0)}
    return run


def char_lm(vocab=65, batch=32, steps=64, hidden=256):
    """Training throughput of a character-level LM: Embedding, 2-layer LSTM, Linear,
    cross-entropy, Adam (higher is better; the ratio is ours / PyTorch's)."""
    sides = {name: _char_lm(lib, vocab, batch, steps, hidden) for name, lib in _libs().items()}
    timed = alternate_blocks(sides, rounds=3)
    flops = sum(limits.recurrent_flops("LSTM", batch, steps, size, hidden)["total"]
                for size in (64, hidden))  # the two layers
    flops += 3 * 2.0 * steps * batch * hidden * vocab  # the head: forward, dW, dx
    timed["flop-floor"] = {"characters per second": steps * batch / limits.floor(
        {"step": flops})["step"]}
    return {f"char-lm training B={batch} T={steps} H={hidden} (2 layers)": timed}


_CHILD = """
import json, resource, sys, time
from tinygrad_seq.app.bench.recurrent import _step
import {module} as lib
run = _step(lib, "LSTM", {batch}, {steps}, {inputs}, {hidden})
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
seconds = run()["total"]
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"total": seconds, "peak extra MB": (peak - before) / 1024}}))
"""


def long_sequence(batch=32, steps=1000, inputs=128, hidden=256):
    """One training step of an LSTM over 1,000 steps, and the peak memory it adds, each side in
    a fresh process (ru_maxrss after the step minus before it), so neither sees the other's
    heap. Its time is a single run, not a median."""
    results = {}
    for name, lib in _libs().items():
        code = _CHILD.format(module=lib.__name__, batch=batch, steps=steps, inputs=inputs,
                             hidden=hidden)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             check=True).stdout
        results[name] = json.loads(out.strip().splitlines()[-1])
    return {f"long-lstm T={steps} B={batch} I={inputs} H={hidden}": results}
