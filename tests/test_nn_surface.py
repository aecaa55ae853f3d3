"""The nn surface PyTorch users reach for: activation functions and modules, F.pad, conv1d and
Conv1d (dilated, causal), layer_norm, normalize, Embedding.from_pretrained / max_norm /
scale_grad_by_freq, and the loss modules. Values and every gradient against PyTorch on the same
inputs and weights; a float64 numerical gradient check over random shapes for each function."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import leaf, nonscalar_shapes, seeds, torch
from hypothesis import given
from hypothesis import strategies as st
from test_parity_torch import A, check, r

import tinygrad_seq as ts

EXTREME = np.array([[-np.inf, -50.0, -20.5, -1.0, 0.0], [1e-8, 1.0, 19.9, 20.1, np.inf]])


def F(lib):
    return lib.nn.functional


ACTIVATIONS = {
    "gelu": lambda lib, x: F(lib).gelu(x),
    "gelu_tanh": lambda lib, x: F(lib).gelu(x, approximate="tanh"),
    "silu": lambda lib, x: F(lib).silu(x),
    "leaky_relu": lambda lib, x: F(lib).leaky_relu(x, 0.2),
    "softplus": lambda lib, x: F(lib).softplus(x),
    "softplus_beta": lambda lib, x: F(lib).softplus(x, beta=2.0, threshold=5.0),
    "logsigmoid": lambda lib, x: F(lib).logsigmoid(x),
    "ReLU": lambda lib, x: lib.nn.ReLU()(x),
    "Tanh": lambda lib, x: lib.nn.Tanh()(x),
    "Sigmoid": lambda lib, x: lib.nn.Sigmoid()(x),
    "GELU": lambda lib, x: lib.nn.GELU("tanh")(x),
    "SiLU": lambda lib, x: lib.nn.SiLU()(x),
    "LeakyReLU": lambda lib, x: lib.nn.LeakyReLU(0.1)(x),
    "Softplus": lambda lib, x: lib.nn.Softplus(beta=0.5)(x),
    "LogSigmoid": lambda lib, x: lib.nn.LogSigmoid()(x),
}


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_activation_against_torch(name):
    check(ACTIVATIONS[name], A * 4)
    check(ACTIVATIONS[name], A.astype(np.float32), tol={"rtol": 2e-6, "atol": 1e-7})


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("name", [n for n in ACTIVATIONS if n[0].islower()])
def test_activation_at_extremes(name):
    x = EXTREME.copy()
    if name.startswith("gelu") or name == "silu":  # torch: nan gradients at +-inf there too
        x = x[:, 1:-1]
    check(ACTIVATIONS[name], x)


def test_activation_modules_print_as_torch():
    for ours, theirs in ((ts.nn.GELU("tanh"), torch.nn.GELU("tanh")),
                         (ts.nn.LeakyReLU(0.1, inplace=True), torch.nn.LeakyReLU(0.1, True)),
                         (ts.nn.Softplus(2.0, 5.0), torch.nn.Softplus(2.0, 5.0)),
                         (ts.nn.ReLU(), torch.nn.ReLU()), (ts.nn.Tanh(), torch.nn.Tanh())):
        assert repr(ours) == repr(theirs)


def test_erf_against_math_erf():
    import math
    x = np.concatenate([np.linspace(-7, 7, 2001), [0.0, -0.0, 1e-300, 0.84375, 1.25, 6.0]])
    ours = ts.erf(ts.tensor(x)).numpy() if hasattr(ts, "erf") else \
        F(ts).erf(ts.tensor(x)).numpy()
    ref = np.array([math.erf(v) for v in x])
    np.testing.assert_allclose(ours, ref, rtol=4e-16, atol=0)


ANY_SHAPE = {
    "erf": lambda x: F(ts).erf(x),
    "gelu": lambda x: F(ts).gelu(x),
    "gelu_tanh": lambda x: F(ts).gelu(x, approximate="tanh"),
    "silu": lambda x: F(ts).silu(x),
    "softplus": lambda x: F(ts).softplus(x, beta=1.5),
    "logsigmoid": lambda x: F(ts).logsigmoid(x),
    "leaky_relu": lambda x: F(ts).leaky_relu(x, 0.3),
    "normalize": lambda x: F(ts).normalize(x, dim=-1),
    "layer_norm": lambda x: F(ts).layer_norm(x, x.shape[-1:]),
    "pad_replicate": lambda x: F(ts).pad(x, (1, 1), mode="replicate") * 2,
}


@pytest.mark.parametrize("name", sorted(ANY_SHAPE))
@given(shape=nonscalar_shapes, seed=seeds)
def test_gradcheck(name, shape, seed):
    kw = {"away_from_zero": True} if name == "leaky_relu" else {}
    if name == "layer_norm" and shape[-1] == 1:
        shape = shape[:-1] + (2,)  # one element: the variance is 0 and the gradient is 0/0
    assert ts.gradcheck(ANY_SHAPE[name], [leaf(shape, seed, **kw)])


# ---- pad and convolution -----------------------------------------------------------------------

PADS = {
    "constant": lambda lib, x: F(lib).pad(x, (2, 1), value=0.5),
    "constant_2d": lambda lib, x: F(lib).pad(x, (1, 0, 0, 2)),
    "crop": lambda lib, x: F(lib).pad(x, (-1, 2)),
    "reflect": lambda lib, x: F(lib).pad(x, (2, 3), mode="reflect"),
    "replicate": lambda lib, x: F(lib).pad(x, (3, 1), mode="replicate"),
    "circular": lambda lib, x: F(lib).pad(x, (2, 2), mode="circular"),
}


@pytest.mark.parametrize("name", PADS)
def test_pad_against_torch(name):
    check(PADS[name], r(2, 3, 5))


CONVS = {  # (stride, padding, dilation, groups)
    "plain": (1, 0, 1, 1), "padded": (1, 2, 1, 1), "strided": (2, 1, 1, 1),
    "dilated": (1, 0, 3, 1), "grouped": (1, 1, 2, 2), "same": (1, "same", 2, 1),
    "valid": (1, "valid", 1, 1), "all": (3, 2, 2, 2),
}


@pytest.mark.parametrize("name", CONVS)
def test_conv1d_against_torch(name):
    stride, padding, dilation, groups = CONVS[name]
    check(lambda lib, x, w, b: F(lib).conv1d(x, w, b, stride, padding, dilation, groups),
          r(2, 4, 11), r(6, 4 // groups, 3, seed=1), r(6, seed=2))


@pytest.mark.parametrize("mode", ["zeros", "reflect", "replicate", "circular"])
def test_conv1d_module_loads_torch_weights(mode):
    ref = torch.nn.Conv1d(4, 6, 3, padding=2, dilation=2, padding_mode=mode).double()
    ours = ts.nn.Conv1d(4, 6, 3, padding=2, dilation=2, padding_mode=mode, dtype=ts.float64)
    assert [k for k, _ in ours.named_parameters()] == list(ref.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    assert repr(ours) == repr(ref)
    x = r(2, 4, 9)
    tx, ox = torch.tensor(x, requires_grad=True), ts.tensor(x, requires_grad=True)
    g = r(2, 6, 9, seed=3)
    ref(tx).backward(torch.tensor(g))
    out = ours(ox)
    out.backward(ts.tensor(g))
    np.testing.assert_allclose(out.numpy(), ref(tx).detach().numpy(), rtol=1e-10)
    np.testing.assert_allclose(ox.grad.numpy(), tx.grad.numpy(), rtol=1e-10)
    for (name, p), q in zip(ours.named_parameters(), ref.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, err_msg=name)


@pytest.mark.parametrize("dilation", [1, 2, 4])
def test_causal_conv1d_is_torch_left_padding_and_sees_no_future(dilation):
    ours = ts.nn.Conv1d(3, 5, 3, dilation=dilation, causal=True, dtype=ts.float64)
    w, b = ours.weight.numpy(), ours.bias.numpy()
    x = r(2, 3, 12)
    theirs = torch.nn.functional.conv1d(
        torch.nn.functional.pad(torch.tensor(x), (dilation * 2, 0)), torch.tensor(w),
        torch.tensor(b), dilation=dilation)
    y = ours(ts.tensor(x)).numpy()
    assert y.shape == (2, 5, 12)
    np.testing.assert_allclose(y, theirs.numpy(), rtol=1e-10)
    changed = x.copy()
    changed[:, :, 7:] += 1.0  # the future of t = 6
    np.testing.assert_array_equal(ours(ts.tensor(changed)).numpy()[:, :, :7], y[:, :, :7])


@pytest.mark.parametrize("bad, message", [
    (lambda: ts.nn.Conv1d(4, 6, 3, groups=4), r"Conv1d: in_channels \(4\) and out_channels"),
    (lambda: ts.nn.Conv1d(2, 2, 3)(ts.zeros(1, 3, 5)), r"Conv1d: expected input \(N, 2, L\)"),
    (lambda: ts.nn.Conv1d(2, 2, 3, padding=1, causal=True), "causal=True sets the padding"),
    (lambda: F(ts).conv1d(ts.zeros(1, 2, 2), ts.zeros(1, 2, 3)), "shorter than the kernel"),
    (lambda: F(ts).pad(ts.zeros(2, 3), (4, 0), mode="reflect"), "needs pad amounts <= 2"),
    (lambda: F(ts).pad(ts.zeros(2, 3), (1,)), "pad must be a tuple of an even number"),
])
def test_conv_and_pad_errors(bad, message):
    with pytest.raises((ValueError, TypeError)) as e:
        bad()
    assert e.match(message)


# ---- normalisation -----------------------------------------------------------------------------

def test_layer_norm_against_torch():
    check(lambda lib, x, w, b: F(lib).layer_norm(x, (4,), w, b, eps=1e-3),
          r(2, 3, 4), r(4, seed=1), r(4, seed=2))
    check(lambda lib, x: F(lib).layer_norm(x, (3, 4)), r(2, 3, 4))
    check(lambda lib, x: lib.nn.LayerNorm(4, bias=False, dtype=lib.float64)(x), r(3, 4))


@pytest.mark.parametrize("p, dim", [(2.0, 1), (1.0, 0), (3.0, -1)])
def test_normalize_against_torch(p, dim):
    x = r(3, 4)
    x[1] = 0.0  # a zero vector: divided by eps, gradient as torch
    check(lambda lib, x: F(lib).normalize(x, p=p, dim=dim), x)


# ---- embeddings --------------------------------------------------------------------------------

IDX = np.array([[0, 3, 3], [1, 0, 4]])


def _embedding_pair(**kw):
    table = r(5, 3) * 3
    ref = torch.nn.Embedding.from_pretrained(torch.tensor(table), freeze=False, **kw)
    ours = ts.nn.Embedding.from_pretrained(ts.tensor(table), freeze=False, **kw)
    return ours, ref


@pytest.mark.parametrize("kw", [{}, {"padding_idx": 3}, {"max_norm": 1.5},
                                {"max_norm": 2.0, "norm_type": 1.0},
                                {"max_norm": 1.0, "norm_type": float("inf")},
                                {"scale_grad_by_freq": True}])
def test_embedding_from_pretrained_against_torch(kw):
    ours, ref = _embedding_pair(**kw)
    g = r(2, 3, 3, seed=4)
    out, tout = ours(ts.tensor(IDX)), ref(torch.tensor(IDX))
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-12)
    # max_norm renormalised the looked-up rows in place, in both
    np.testing.assert_allclose(ours.weight.numpy(), ref.weight.detach().numpy(), rtol=1e-12)
    out.backward(ts.tensor(g))
    tout.backward(torch.tensor(g))
    np.testing.assert_allclose(ours.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-12)


def test_frozen_pretrained_embedding_gets_no_gradient():
    table = r(4, 2)
    ours = ts.nn.Embedding.from_pretrained(ts.tensor(table))
    assert not ours.weight.requires_grad and list(ours.parameters()) == [ours.weight]
    assert not torch.nn.Embedding.from_pretrained(torch.tensor(table)).weight.requires_grad
    with pytest.raises(ValueError, match="2-D"):
        ts.nn.Embedding.from_pretrained(ts.zeros(3))


# ---- loss modules ------------------------------------------------------------------------------

LOGITS, LABELS = r(4, 5), np.array([1, 0, 4, 2])
LOSSES = {
    "CrossEntropyLoss": (lambda lib: lib.nn.CrossEntropyLoss(label_smoothing=0.1), LABELS),
    "CrossEntropyLoss_weight": (lambda lib: lib.nn.CrossEntropyLoss(
        weight=lib.tensor(np.arange(1.0, 6.0)), ignore_index=4, reduction="sum"), LABELS),
    "NLLLoss": (lambda lib: lib.nn.NLLLoss(reduction="none"), LABELS),
    "MSELoss": (lambda lib: lib.nn.MSELoss(), r(4, 5, seed=5)),
    "BCEWithLogitsLoss": (lambda lib: lib.nn.BCEWithLogitsLoss(
        pos_weight=lib.tensor(np.full(5, 2.0))), np.abs(r(4, 5, seed=6)) % 1),
}


@pytest.mark.parametrize("name", LOSSES)
def test_loss_modules_against_torch(name):
    make, target = LOSSES[name]
    check(lambda lib, x: make(lib)(x, lib.tensor(target)), LOGITS)
    assert repr(make(ts)) == repr(make(torch))


def test_loss_modules_check_their_options():
    with pytest.raises(ValueError, match="MSELoss: unknown reduction 'avg'"):
        ts.nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="CrossEntropyLoss: label_smoothing must be in"):
        ts.nn.CrossEntropyLoss(label_smoothing=2.0)


@given(n=st.integers(1, 4), c=st.integers(2, 5), seed=seeds)
def test_gradcheck_loss_modules(n, c, seed):
    target = np.random.default_rng(seed).integers(0, c, n)
    x = leaf((n, c), seed)
    assert ts.gradcheck(lambda x: ts.nn.CrossEntropyLoss()(x, ts.tensor(target)), [x])
    assert ts.gradcheck(lambda x: ts.nn.BCEWithLogitsLoss()(x, ts.tensor(np.full((n, c), 0.3))),
                        [x])


# ---- the Linear primitive ----------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (1, 4)])
@pytest.mark.parametrize("bias", [True, False])
def test_linear_against_torch(shape, bias):
    arrays = [r(*shape), r(3, 4, seed=1)] + ([r(3, seed=2)] if bias else [])
    check(lambda lib, x, w, *b: F(lib).linear(x, w, *b), *arrays)


def test_large_linear_takes_the_threaded_product_and_matches_torch():
    """Big enough for kernels.linear's bias-first product on the engine's threads."""
    check(lambda lib, x, w, b: F(lib).linear(x, w, b), r(300, 64), r(80, 64, seed=1),
          r(80, seed=2))
    check(lambda lib, x, w, b: lib.nn.functional.linear(x, w, b), r(300, 64, dtype=np.float32),
          r(80, 64, seed=1, dtype=np.float32), r(80, seed=2, dtype=np.float32),
          tol={"rtol": 2e-4, "atol": 2e-4})  # float32 sums over 300 rows


@given(rows=st.integers(1, 5), k=st.integers(1, 4), f=st.integers(1, 4), seed=seeds,
       bias=st.booleans())
def test_gradcheck_linear(rows, k, f, seed, bias):
    leaves = [leaf((rows, k), seed), leaf((f, k), seed + 1)] + ([leaf((f,), seed + 2)]
                                                                if bias else [])
    assert ts.gradcheck(lambda *xs: F(ts).linear(*xs), leaves)


def test_linear_refuses_what_does_not_fit():
    with pytest.raises(ValueError, match=r"linear: input shape \(2, 3\) and weight shape "
                                         r"\(4, 5\) do not match"):
        F(ts).linear(ts.zeros(2, 3), ts.zeros(4, 5))
    with pytest.raises(ValueError, match=r"linear: .* bias \(3,\) do not fit"):
        F(ts).linear(ts.zeros(2, 5), ts.zeros(4, 5), ts.zeros(3))
