"""The CuPy backend on a GPU: layers on both devices, mixed devices, moving tensors, saving on
GPU and loading on CPU. The CUDA kernels themselves are checked against the reference with the
other implementations (tests/test_kernels.py, its ``cuda`` cases). Every test skips, saying
why, where no GPU can be used; run the whole suite on a GPU with ``pytest --device cuda``."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import nn


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_layer_on_gpu_equals_cpu(cuda, kind):
    ts.manual_seed(0)
    cpu = getattr(nn, kind)(6, 8, num_layers=2, bidirectional=True)
    gpu = getattr(nn, kind)(6, 8, num_layers=2, bidirectional=True).to("cuda")
    gpu.load_state_dict(cpu.state_dict())
    x = np.random.default_rng(0).standard_normal((7, 3, 6)).astype(np.float32)
    results = []
    for model, device in ((cpu, "cpu"), (gpu, "cuda")):
        xt = ts.tensor(x, device=device, requires_grad=True)
        out, _ = model(xt, lengths=[7, 3, 5])
        (out * out).sum().backward()
        results.append([out.numpy(), xt.grad.numpy()] + [p.grad.numpy()
                                                         for p in model.parameters()])
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_mixed_devices_name_both(cuda):
    with pytest.raises(RuntimeError, match="cpu and cuda:0"):
        ts.randn(3) + ts.randn(3, device="cuda")


def test_to_device_is_differentiable(cuda):
    x = ts.randn(3, requires_grad=True)
    (x.to("cuda") * 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2.0)
    assert x.grad.device == "cpu"


def test_trained_on_gpu_loads_on_cpu(cuda, tmp_path):
    model = nn.GRU(4, 5).to("cuda")
    opt = ts.optim.Adam(model.parameters())
    out, _ = model(ts.randn(3, 2, 4, device="cuda"))
    out.sum().backward()
    opt.step()
    ts.save({"model": model.state_dict(), "optim": opt.state_dict()}, tmp_path / "gpu.npz")
    cpu = nn.GRU(4, 5)
    cpu.load_state_dict(ts.load(tmp_path / "gpu.npz")["model"])
    np.testing.assert_allclose(cpu.weight_hh_l0.numpy(), model.weight_hh_l0.numpy())


def test_out_of_memory_surfaces_cupys_message(cuda):
    with pytest.raises(Exception, match="(?i)out of memory|allocat"):
        ts.zeros(1 << 40, device="cuda")
