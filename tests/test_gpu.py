"""The CuPy backend on a GPU: the custom kernels against their NumPy references (forward and
backward, 1e-6 relative in float32), layers on both devices, mixed devices, saving on GPU and
loading on CPU. Every test skips, saying why, where no GPU can be used; run the whole suite on
a GPU with ``pytest --device cuda``."""

from __future__ import annotations

import numpy as np
import pytest

import tinygrad_seq as ts
from tinygrad_seq import kernels, nn
from tinygrad_seq.ops import cellmath

F32 = dict(rtol=1e-6, atol=1e-6)


def _pair(cuda, rng, shape, scale=1.0):
    a = (rng.standard_normal(shape) * scale).astype(np.float32)
    return a, cuda.asarray(a)


@pytest.mark.parametrize("scale", [1.0, 30.0])
def test_lstm_kernels_match_reference(cuda, scale):
    rng = np.random.default_rng(0)
    batch, hidden = 17, 33
    gates, gates_d = _pair(cuda, rng, (batch, 4 * hidden), scale)
    c, c_d = _pair(cuda, rng, (batch, hidden))
    ref = [np.empty((batch, 4 * hidden), np.float32)] + \
        [np.empty((batch, hidden), np.float32) for _ in range(3)]
    got = [cuda.empty(a.shape, np.float32) for a in ref]
    cellmath.lstm_cell_forward(np, gates, c, *ref)
    kernels.CudaCells.lstm_cell_forward(cuda, gates_d, c_d, *got)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.get(), b, **F32)
    dh, dh_d = _pair(cuda, rng, (batch, hidden))
    ref_b = [np.empty((batch, 4 * hidden), np.float32), np.empty((batch, hidden), np.float32)]
    got_b = [cuda.empty(a.shape, np.float32) for a in ref_b]
    act, _, tc, _ = ref
    cellmath.lstm_cell_backward(np, act, c, tc, dh, None, *ref_b)
    kernels.CudaCells.lstm_cell_backward(cuda, *[cuda.asarray(a) for a in (act, c, tc)],
                                         dh_d, None, *got_b)
    for a, b in zip(got_b, ref_b):
        np.testing.assert_allclose(a.get(), b, **F32)


def test_gru_kernels_match_reference(cuda):
    rng = np.random.default_rng(1)
    batch, hidden = 9, 21
    gi, gi_d = _pair(cuda, rng, (batch, 3 * hidden), 3.0)
    gh, gh_d = _pair(cuda, rng, (batch, 3 * hidden), 3.0)
    h, h_d = _pair(cuda, rng, (batch, hidden))
    ref = [np.empty((batch, 2 * hidden), np.float32), np.empty((batch, hidden), np.float32),
           np.empty((batch, hidden), np.float32)]
    got = [cuda.empty(a.shape, np.float32) for a in ref]
    cellmath.gru_cell_forward(np, gi, gh, h, *ref)
    kernels.CudaCells.gru_cell_forward(cuda, gi_d, gh_d, h_d, *got)
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.get(), b, **F32)
    dh, dh_d = _pair(cuda, rng, (batch, hidden))
    ref_b = [np.empty((batch, 3 * hidden), np.float32), np.empty((batch, 3 * hidden),
                                                                 np.float32),
             np.empty((batch, hidden), np.float32)]
    got_b = [cuda.empty(a.shape, np.float32) for a in ref_b]
    rz, n, _ = ref
    ghn = np.ascontiguousarray(gh[:, 2 * hidden:])
    cellmath.gru_cell_backward(np, rz, n, ghn, h, dh, *ref_b)
    kernels.CudaCells.gru_cell_backward(cuda, cuda.asarray(rz), cuda.asarray(n),
                                        cuda.asarray(ghn), h_d, dh_d, *got_b)
    for a, b in zip(got_b, ref_b):
        np.testing.assert_allclose(a.get(), b, **F32)


def test_log_softmax_kernel_matches_reference(cuda):
    rng = np.random.default_rng(2)
    x, x_d = _pair(cuda, rng, (37, 1000), 20.0)
    ref = cellmath.log_softmax(np, x, -1)
    np.testing.assert_allclose(kernels.CudaCells.log_softmax(cuda, x_d, -1).get(), ref,
                               rtol=1e-5, atol=1e-4)
    g, g_d = _pair(cuda, rng, (37, 1000))
    np.testing.assert_allclose(
        kernels.CudaCells.log_softmax_backward(cuda, g_d, cuda.asarray(ref), -1).get(),
        cellmath.log_softmax_backward(np, g, ref, -1), rtol=1e-5, atol=1e-5)


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
