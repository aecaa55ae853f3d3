"""MultiheadAttention's ``add_bias_kv`` and ``add_zero_attn``: parity with PyTorch on identical
weights (outputs, attention weights and every gradient, float64), state_dict names both ways,
initialisation, and float64 gradient checks. Only the parity tests need torch (the ``torch``
fixture skips them without it)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch as oracle_torch
from test_attention import TIGHT, WEIGHTS, mha_parity, r

import tinygrad_seq as ts
from tinygrad_seq.nn import MultiheadAttention

E, H, L, S, B = 8, 2, 3, 5, 4


@pytest.fixture
def torch():
    return oracle_torch  # skips the test at its first use where PyTorch is missing


# Masks with rows that hide every original key: the appended bias / zero key is never hidden,
# so no row is dead and both of PyTorch's paths (plain and safe softmax) stay finite.
KPM = np.zeros((B, S), bool)
KPM[1, -2:] = KPM[3, 1] = True
KPM[2] = True
AM_BOOL = np.random.default_rng(8).random((L, S)) < 0.4  # True = may NOT attend
AM_BOOL[1] = True
AM_FLOAT = np.where(np.random.default_rng(9).random((B * H, L, S)) < 0.7,
                    r(B * H, L, S, seed=10), -np.inf)
AM_FLOAT[3, 0] = -np.inf
CAUSAL = np.triu(np.ones((L, L), bool), 1)

FLAGS = {"bias_kv": {"add_bias_kv": True}, "zero_attn": {"add_zero_attn": True},
         "both": {"add_bias_kv": True, "add_zero_attn": True}}
MASKS = {"none": {}, "attn_bool": {"attn_mask": AM_BOOL}, "attn_float": {"attn_mask": AM_FLOAT},
         "kpm": {"key_padding_mask": KPM}}
# the other paths of our MultiheadAttention: constructor keywords, forward keywords, self-attention
EXTRA = {
    "kdim_vdim": ({"kdim": 3, "vdim": 6}, {"key_padding_mask": KPM}, False),
    "no_bias": ({"bias": False, "batch_first": True}, {"attn_mask": AM_BOOL}, False),
    "self": ({}, {"attn_mask": CAUSAL}, True),
    "causal_hint": ({"batch_first": True}, {"attn_mask": CAUSAL, "is_causal": True}, True),
    "both_masks": ({"batch_first": True}, {"attn_mask": AM_FLOAT, "key_padding_mask": KPM},
                   False),
    "kpm_float": ({}, {"key_padding_mask": np.where(KPM, -2.0, 0.5),
                       "attn_mask": np.where(AM_BOOL, -np.inf, r(L, S, seed=11))}, False),
    "unbatched": ({}, {"key_padding_mask": KPM[2], "attn_mask": AM_FLOAT[:H]}, False),
}


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("flags", FLAGS)
def testmha_parity(torch, flags, mask, batch_first, weights):
    mha_parity(torch, {**FLAGS[flags], "batch_first": batch_first}, MASKS[mask], False, weights)


# PyTorch deprecates (but still runs) a bool key_padding_mask beside a float attn_mask
@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask:UserWarning")
@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("flags", FLAGS)
@pytest.mark.parametrize("name", EXTRA)
def test_parity_other_paths(torch, name, flags, weights):
    ckw, fkw, self_attn = EXTRA[name]
    mha_parity(torch, {**FLAGS[flags], **ckw}, fkw, self_attn, weights, name == "unbatched")


# ---- parameters and state dicts ---------------------------------------------------------------

STATE_KW = [{}, {"add_bias_kv": True}, {"add_zero_attn": True},
            {"add_bias_kv": True, "add_zero_attn": True, "kdim": 3, "vdim": 6},
            {"add_bias_kv": True, "bias": False}]


@pytest.mark.parametrize("kw", STATE_KW)
def test_state_dict_keys_and_shapes_like_torch(torch, kw):
    ours = MultiheadAttention(E, H, **kw).state_dict()
    theirs = torch.nn.MultiheadAttention(E, H, **kw).state_dict()
    assert list(ours) == list(theirs)
    assert all(tuple(ours[k].shape) == tuple(theirs[k].shape) for k in ours)


def test_our_state_dict_loads_into_torch(torch):
    kw = {"add_bias_kv": True, "add_zero_attn": True, "batch_first": True}
    ts.manual_seed(3)
    ours = MultiheadAttention(E, H, dtype=ts.float64, **kw)
    theirs = torch.nn.MultiheadAttention(E, H, **kw).double()
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})
    x = r(B, L, E)
    a = ours(*[ts.tensor(x)] * 3, key_padding_mask=ts.tensor(KPM[:, :L]))
    t = torch.tensor(x, requires_grad=True)  # requires_grad: PyTorch's slow path, as ours
    b = theirs(t, t, t, key_padding_mask=torch.tensor(KPM[:, :L]))
    for u, w in zip(a, b):
        np.testing.assert_allclose(u.numpy(), w.detach().numpy(), **TIGHT)


def test_bias_kv_parameters_and_xavier_normal_init():
    assert MultiheadAttention(E, H).bias_k is None and MultiheadAttention(E, H).bias_v is None
    n = 1024  # fan_in = fan_out = n for a (1, 1, n) tensor: std sqrt(2 / 2n)
    ts.manual_seed(0)
    m = MultiheadAttention(n, 1, add_bias_kv=True, dtype=ts.float64)
    names = [k for k, _ in m.named_parameters()]
    assert names[-4:-2] == ["bias_k", "bias_v"] and m.bias_k.requires_grad
    k, v = m.bias_k.numpy(), m.bias_v.numpy()
    assert k.shape == v.shape == (1, 1, n) and not np.array_equal(k, v)
    for a in (k, v):
        assert abs(a.std() * np.sqrt(n) - 1) < 0.15 and abs(a.mean()) < 4 / np.sqrt(n)


# ---- behaviour without torch -----------------------------------------------------------------


def test_zero_attn_alone_catches_a_fully_padded_sequence():
    """Every real key hidden: all weight goes to the zero key, whose value is 0, so the output
    is out_proj's bias; finite on both of the softmax paths."""
    ts.manual_seed(1)
    m = MultiheadAttention(E, H, add_zero_attn=True, batch_first=True, dtype=ts.float64)
    ts.nn.init.normal_(m.out_proj.bias)
    x, kpm = ts.tensor(r(2, L, E)), ts.tensor(np.array([[True] * L, [False] * L]))
    for need in (True, False):
        out, w = m(x, x, x, key_padding_mask=kpm, need_weights=need)
        np.testing.assert_allclose(out.numpy()[0], np.broadcast_to(m.out_proj.bias.numpy(),
                                                                   (L, E)), **TIGHT)
        assert np.isfinite(out.numpy()).all()
    assert w is None
    w = m(x, x, x, key_padding_mask=kpm)[1].numpy()  # (2, L, L+1)
    assert w.shape == (2, L, L + 1) and (w[0, :, -1] == 1).all() and (w[1, :, -1] > 0).all()


@pytest.mark.parametrize("flags", FLAGS)
def test_gradcheck(flags):
    ts.manual_seed(2)
    m = MultiheadAttention(4, 2, kdim=3, dtype=ts.float64, **FLAGS[flags])
    rng = np.random.default_rng(0)
    q, k, v = (ts.tensor(rng.standard_normal(s), requires_grad=True)
               for s in ((2, 2, 4), (3, 2, 3), (3, 2, 4)))
    kpm = ts.tensor(np.array([[False, True, True], [True, True, True]]))
    am = ts.tensor(rng.standard_normal((2, 3)))
    assert ts.gradcheck(lambda *xs: m(*xs[:3], key_padding_mask=kpm, attn_mask=am,
                                      average_attn_weights=False),
                        [q, k, v, *m.parameters()])
