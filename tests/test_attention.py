"""Attention: parity with PyTorch (values and every gradient, float64), float64 gradient checks,
masks, and the errors bad input gives. Only the parity tests need torch (the ``torch`` fixture
skips them without it)."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import leaf, seeds
from helpers import torch as oracle_torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tinygrad_seq as ts
from tinygrad_seq.autograd import ShapeError
from tinygrad_seq.nn import AdditiveAttention, LuongAttention, MultiheadAttention
from tinygrad_seq.nn.attention import scaled_dot_product_attention as sdpa

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
small = settings(max_examples=8, deadline=None)


@pytest.fixture
def torch():
    return oracle_torch  # skips the test at its first use where PyTorch is missing


def r(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def bool_mask(shape, seed=0, p=0.6):
    """A random bool mask whose first key is always True (so no row is fully masked)."""
    m = np.random.default_rng(seed).random(shape) < p
    m[..., 0] = True
    return m


def compare(torch, build, seed=1):
    """``build(lib)`` -> (outputs, {name: leaf}). Compares outputs, then (after backward of
    sum(out * g) with the same random g on both sides) the gradient of every leaf."""
    got = {}
    for lib in (ts, torch):
        outs, leaves = build(lib)
        outs = [o for o in outs if o is not None]
        rng = np.random.default_rng(seed)
        gs = [lib.tensor(rng.standard_normal(tuple(o.shape))) for o in outs]
        sum((o * g).sum() for o, g in zip(outs, gs)).backward()
        got[lib] = ([o.detach().numpy() for o in outs],
                    {n: None if t.grad is None else t.grad.numpy() for n, t in leaves.items()})
    (ours, our_grads), (theirs, their_grads) = got[ts], got[torch]
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, **TIGHT)
    assert our_grads.keys() == their_grads.keys()
    for name, g in their_grads.items():
        assert (g is None) == (our_grads[name] is None), name
        if g is not None:
            np.testing.assert_allclose(our_grads[name], g, **TIGHT, err_msg=name)


# ---- scaled dot-product attention: parity -----------------------------------------------------

DEAD = bool_mask((4, 6), seed=3)
DEAD[2] = False  # query 2 may attend to nothing
FLOAT = np.where(bool_mask((4, 6), seed=4), r(4, 6, seed=5), -np.inf)
SDPA_CASES = {  # q shape, k shape, v shape, mask (array or None), keyword arguments
    "plain": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7), None, {}),
    "bool": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), bool_mask((4, 6)), {}),
    "bool_dead_row": ((2, 4, 5), (2, 6, 5), (2, 6, 3), DEAD, {}),
    "float": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 2), FLOAT, {}),
    "broadcast_bool": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), bool_mask((2, 1, 4, 6)), {}),
    "broadcast_float": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), r(1, 6, seed=6), {}),
    "causal": ((2, 3, 5, 4), (2, 3, 5, 4), (2, 3, 5, 4), None, {"is_causal": True}),
    "causal_L<S": ((2, 4, 3), (2, 6, 3), (2, 6, 5), None, {"is_causal": True}),
    "causal_L>S": ((2, 6, 3), (2, 4, 3), (2, 4, 5), None, {"is_causal": True}),
    "scale": ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 5), None, {"scale": 0.3}),
    "unbatched": ((4, 5), (6, 5), (6, 7), bool_mask((4, 6)), {}),
    "extra_batch": ((2, 2, 3, 4, 5), (2, 2, 3, 6, 5), (2, 2, 3, 6, 5), r(4, 6, seed=7), {}),
    "key_batch_broadcast": ((2, 3, 4, 5), (1, 3, 6, 5), (1, 3, 6, 5), None, {}),
}


@pytest.mark.parametrize("name", SDPA_CASES)
def test_sdpa_parity(torch, name):
    qs, ks, vs, mask, kw = SDPA_CASES[name]

    def build(lib):
        q, k, v = (lib.tensor(r(*s, seed=i), requires_grad=True) for i, s in enumerate((qs, ks,
                                                                                         vs)))
        f = sdpa if lib is ts else \
            torch.nn.functional.scaled_dot_product_attention
        m = None if mask is None else lib.tensor(mask)
        return [f(q, k, v, attn_mask=m, **kw)], {"q": q, "k": k, "v": v}

    compare(torch, build)


def test_sdpa_float_mask_gradient(torch):
    def build(lib):
        q, k, v, m = (lib.tensor(r(*s, seed=i), requires_grad=True)
                      for i, s in enumerate(((2, 4, 3), (2, 5, 3), (2, 5, 2), (4, 5))))
        f = sdpa if lib is ts else \
            torch.nn.functional.scaled_dot_product_attention
        return [f(q, k, v, attn_mask=m)], {"q": q, "k": k, "v": v, "mask": m}

    compare(torch, build)


# ---- multi-head attention: parity -------------------------------------------------------------

E, H, L, S, B = 8, 2, 3, 5, 4
KPM = np.zeros((B, S), bool)
KPM[1, -2:] = KPM[3, 1] = True
AM2 = ~bool_mask((L, S), seed=8)  # MultiheadAttention: True = may NOT attend
AM3 = np.where(bool_mask((B * H, L, S), seed=9), r(B * H, L, S, seed=10), -np.inf)
CAUSAL = np.triu(np.ones((L, L), bool), 1)
MHA_CASES = {  # constructor keywords, forward keywords (mask arrays), self-attention
    "plain": ({}, {}, False),
    "self": ({}, {}, True),
    "batch_first": ({"batch_first": True}, {}, False),
    "kpm_bool": ({}, {"key_padding_mask": KPM}, False),
    "kpm_float": ({"batch_first": True}, {"key_padding_mask": np.where(KPM, -2.0, 0.5)}, False),
    "attn2d": ({}, {"attn_mask": AM2}, False),
    "attn3d_float": ({}, {"attn_mask": AM3}, False),
    "both_masks": ({"batch_first": True}, {"attn_mask": AM2, "key_padding_mask": KPM}, False),
    "kdim_vdim": ({"kdim": 3, "vdim": 6}, {"key_padding_mask": KPM}, False),
    "no_bias": ({"bias": False}, {"attn_mask": CAUSAL}, True),
    "causal": ({}, {"attn_mask": CAUSAL, "is_causal": True}, True),
    "unbatched": ({}, {"key_padding_mask": KPM[1], "attn_mask": ~bool_mask((H, L, S))}, False),
}
WEIGHTS = {"avg": {}, "per_head": {"average_attn_weights": False},
           "none": {"need_weights": False}}


def _mha_inputs(ckw, self_attn, unbatched):
    def shape(n, f):
        return (n, f) if unbatched else (B, n, f) if ckw.get("batch_first") else (n, B, f)

    src = L if self_attn else S
    shapes = [shape(L, E), shape(src, ckw.get("kdim", E)), shape(src, ckw.get("vdim", E))]
    return [r(*s, seed=20 + i) for i, s in enumerate(shapes)]


@pytest.mark.parametrize("weights", WEIGHTS)
@pytest.mark.parametrize("name", MHA_CASES)
def test_mha_parity(torch, name, weights):
    ckw, fkw, self_attn = MHA_CASES[name]
    mha_parity(torch, ckw, fkw, self_attn, weights, name == "unbatched")


def mha_parity(torch, ckw, fkw, self_attn, weights, unbatched=False):
    """torch's MultiheadAttention(E, H, **ckw) and ours with its weights, called with the
    masks ``fkw``: outputs, weights and every gradient compared (test_attention_bias_kv.py too)."""
    arrays = _mha_inputs(ckw, self_attn, unbatched)
    theirs = torch.nn.MultiheadAttention(E, H, **ckw).double()
    ours = MultiheadAttention(E, H, dtype=ts.float64, **ckw)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})

    def build(lib):
        mha = ours if lib is ts else theirs
        xs = [lib.tensor(a, requires_grad=True) for a in arrays[:1 if self_attn else 3]]
        q, k, v = xs * 3 if self_attn else xs
        masks = {key: lib.tensor(m) for key, m in fkw.items() if key != "is_causal"}
        out, w = mha(q, k, v, is_causal=fkw.get("is_causal", False), **masks, **WEIGHTS[weights])
        leaves = dict(mha.named_parameters())
        leaves.update({f"input{i}": x for i, x in enumerate(xs)})
        return [out, w], leaves

    compare(torch, build)


def test_mha_fully_masked_rows_like_torch(torch):
    """nan with need_weights (PyTorch's plain softmax), 0 without (its safe softmax)."""
    theirs = torch.nn.MultiheadAttention(E, H, batch_first=True).double()
    ours = MultiheadAttention(E, H, batch_first=True, dtype=ts.float64)
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    x, kpm = r(2, 3, E), np.array([[True] * 3, [False, True, False]])
    for need in (True, False):
        with np.errstate(invalid="ignore"):  # nan rows, on purpose
            a = ours(ts.tensor(x), ts.tensor(x), ts.tensor(x), key_padding_mask=ts.tensor(kpm),
                     need_weights=need)[0].numpy()
        t = torch.tensor(x, requires_grad=True)  # requires_grad: PyTorch's slow path, as ours
        b = theirs(t, t, t, key_padding_mask=torch.tensor(kpm), need_weights=need)[0]
        np.testing.assert_allclose(a, b.detach().numpy(), **TIGHT)
        assert np.isnan(a[0]).all() == need and np.isfinite(a[1]).all()


def test_mha_state_dict_keys_and_init(torch):
    for kw in ({}, {"kdim": 3}, {"bias": False}):
        ours = MultiheadAttention(E, H, **kw)
        assert list(ours.state_dict()) == list(torch.nn.MultiheadAttention(E, H, **kw)
                                               .state_dict())
    m = MultiheadAttention(E, H)
    assert not m.in_proj_bias.numpy().any() and not m.out_proj.bias.numpy().any()
    assert np.abs(m.in_proj_weight.numpy()).max() <= np.sqrt(6 / (E + 3 * E))


def test_mha_dropout_only_in_training():
    ts.manual_seed(0)
    m = MultiheadAttention(E, H, dropout=0.5, batch_first=True)
    x = ts.tensor(r(2, 3, E).astype(np.float32))
    w_train = m(x, x, x)[1].numpy()
    m.eval()
    w_eval = m(x, x, x)[1].numpy()
    np.testing.assert_allclose(w_eval.sum(-1), 1, rtol=1e-6)
    assert not np.allclose(w_train, w_eval)


# ---- gradient checks (float64, no torch) ------------------------------------------------------


@pytest.mark.parametrize("kind", ["none", "bool", "float", "causal"])
@small
@given(seed=seeds, b=st.integers(1, 2), lq=st.integers(1, 3), s=st.integers(1, 3),
       e=st.integers(1, 3), ev=st.integers(1, 2))
def test_sdpa_gradcheck(seed, b, lq, s, e, ev, kind):
    q, k, v = leaf((b, lq, e), seed), leaf((b, s, e), seed + 1), leaf((b, s, ev), seed + 2)
    rng = np.random.default_rng(seed)
    mask = {"none": None, "causal": None, "float": leaf((lq, s), seed + 3),
            "bool": ts.tensor(rng.random((b, 1, s)) < 0.6)}[kind]  # may mask whole rows
    assert ts.gradcheck(lambda *xs: sdpa(
        *xs[:3], attn_mask=mask, is_causal=kind == "causal"),
        [q, k, v] + ([mask] if kind == "float" else []))


def _seq2seq_module(name, dq, dk, seed):
    ts.manual_seed(seed)
    if name == "additive":
        return AdditiveAttention(dq, dk, 3).double()
    score = name.split("_")[1]
    return LuongAttention(dq, dq if score == "dot" else dk, score, hidden_size=2).double()


SEQ2SEQ = ["additive", "luong_dot", "luong_general", "luong_concat"]


@pytest.mark.parametrize("name", SEQ2SEQ)
@small
@given(seed=seeds, b=st.integers(1, 2), tq=st.sampled_from([None, 1, 2]), tk=st.integers(1, 3),
       masked=st.booleans())
def test_seq2seq_attention_gradcheck(seed, name, b, tq, tk, masked):
    dq, dk, dv = 2, 3, 2
    m = _seq2seq_module(name, dq, dk, seed % 1000)
    dk = m.key_size
    q = leaf((b, dq) if tq is None else (b, tq, dq), seed)
    keys, values = leaf((b, tk, dk), seed + 1), leaf((b, tk, dv), seed + 2)
    kpm = ts.tensor(np.random.default_rng(seed).random((b, tk)) < 0.4) if masked else None
    params = list(m.parameters())
    assert ts.gradcheck(lambda *xs: m(xs[0], xs[1], xs[2], key_padding_mask=kpm),
                        [q, keys, values, *params])


# ---- masks ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", SEQ2SEQ)
def test_seq2seq_masked_keys_get_exactly_zero(name):
    m = _seq2seq_module(name, 4, 5, 0)
    keys = ts.tensor(r(3, 4, m.key_size) * 30)  # large scores: softmax must still give exact 0
    kpm = np.array([[False, False, True, True], [False] * 4, [True] * 4])
    for q in (ts.tensor(r(3, 4, seed=1)), ts.tensor(r(3, 2, 4, seed=1))):
        ctx, w = m(q, keys, key_padding_mask=ts.tensor(kpm))
        w = w.numpy() if q.ndim == 3 else w.numpy()[:, None]
        assert tuple(ctx.shape) == tuple(q.shape[:-1]) + (m.key_size,)
        assert (w[0, :, 2:] == 0).all() and (w[2] == 0).all()  # all padding: weights 0
        np.testing.assert_allclose(w[:2].sum(-1), 1, rtol=1e-12)
        assert (ctx.numpy()[2] == 0).all()


def test_sdpa_fully_masked_row_gives_zero_output_and_gradient():
    q, k, v = leaf((3, 2), 0), leaf((4, 2), 1), leaf((4, 3), 2)
    mask = ts.tensor(np.array([[True, False, True, False], [False] * 4, [True] * 4]))
    out = sdpa(q, k, v, attn_mask=mask)
    out.sum().backward()
    assert (out.numpy()[1] == 0).all() and (q.grad.numpy()[1] == 0).all()
    assert np.isfinite(k.grad.numpy()).all() and np.isfinite(out.numpy()).all()


def test_sdpa_dropout_changes_weights_only_when_asked():
    q, k, v = (ts.tensor(r(2, 3, 4, seed=i)) for i in range(3))
    base = sdpa(q, k, v).numpy()
    ts.manual_seed(1)
    assert not np.allclose(sdpa(q, k, v, dropout_p=0.5).numpy(), base)


# ---- errors -----------------------------------------------------------------------------------


def _sdpa(q=(2, 4, 8), k=(2, 5, 8), v=(2, 5, 6), **kw):
    sdpa(*(ts.zeros(*s) for s in (q, k, v)), **kw)


def _mha(q=(3, 2, 8), k=(5, 2, 8), v=(5, 2, 8), **kw):
    MultiheadAttention(8, 2)(*(ts.zeros(*s) for s in (q, k, v)), **kw)


def _luong(q=(2, 4), k=(2, 5, 4), v=None, kpm=None):
    LuongAttention(4, 4)(ts.zeros(*q), ts.zeros(*k), None if v is None else ts.zeros(*v),
                         None if kpm is None else ts.tensor(kpm))


ERRORS = {
    "heads": (lambda: MultiheadAttention(10, 3), ValueError, "10 is not divisible by.* 3"),
    "dot_sizes": (lambda: LuongAttention(4, 5), ValueError, "query_size == key_size"),
    "concat_hidden": (lambda: LuongAttention(4, 5, "concat"), ValueError, "hidden_size"),
    "score": (lambda: LuongAttention(4, 4, "cosine"), ValueError, "unknown score"),
    "sdpa_mask": (lambda: _sdpa(attn_mask=ts.ones(4, 4, dtype=ts.bool_)), ShapeError,
                  r"\(4, 4\).*\(2, 4, 5\)"),
    "sdpa_mask_dims": (lambda: _sdpa(attn_mask=ts.ones(3, 2, 4, 5)), ShapeError, r"\(3, 2, 4, 5\)"),
    "sdpa_mask_dtype": (lambda: _sdpa(attn_mask=ts.ones(4, 5, dtype=ts.int64)), TypeError, "int"),
    "sdpa_batch": (lambda: _sdpa(k=(3, 5, 8), v=(3, 5, 6)), ShapeError,
                   r"\(2, 4, 8\).*\(3, 5, 8\)"),
    "sdpa_features": (lambda: _sdpa(k=(2, 5, 7)), ShapeError, r"\(2, 4, 8\).*\(2, 5, 7\)"),
    "sdpa_lengths": (lambda: _sdpa(v=(2, 4, 6)), ShapeError, "sequence lengths"),
    "sdpa_empty": (lambda: _sdpa(k=(2, 0, 8), v=(2, 0, 6)), ShapeError, "empty key"),
    "sdpa_causal_mask": (lambda: _sdpa(attn_mask=ts.ones(4, 5), is_causal=True), ValueError,
                         "not both"),
    "mha_batch": (lambda: _mha(k=(5, 3, 8), v=(5, 3, 8)), ShapeError, "batch sizes differ"),
    "mha_features": (lambda: _mha(q=(3, 2, 6)), ShapeError, "last dimension 8"),
    "mha_empty": (lambda: _mha(k=(0, 2, 8), v=(0, 2, 8)), ShapeError, "empty key"),
    "mha_kpm_shape": (lambda: _mha(key_padding_mask=ts.ones(5, 2, dtype=ts.bool_)), ShapeError,
                      r"\(5, 2\).*\(2, 5\)"),
    "mha_kpm_dtype": (lambda: _mha(key_padding_mask=ts.ones(2, 5, dtype=ts.int64)), TypeError,
                      "key_padding_mask"),
    "mha_attn_shape": (lambda: _mha(attn_mask=ts.ones(5, 3)), ShapeError, r"\(3, 5\)"),
    "mha_causal": (lambda: _mha(is_causal=True), ValueError, "attn_mask"),
    "luong_features": (lambda: _luong(q=(2, 3)), ShapeError, "last dimension 4"),
    "luong_batch": (lambda: _luong(k=(3, 5, 4)), ShapeError, r"\(2, 4\).*\(3, 5, 4\)"),
    "luong_empty": (lambda: _luong(k=(2, 0, 4)), ShapeError, "empty key"),
    "luong_values": (lambda: _luong(v=(2, 4, 3)), ShapeError, "lengths"),
    "luong_kpm_shape": (lambda: _luong(kpm=np.zeros((2, 4), bool)), ShapeError, r"\(2, 5\)"),
    "luong_kpm_dtype": (lambda: _luong(kpm=np.zeros((2, 5))), TypeError, "bool"),
}


@pytest.mark.parametrize("name", ERRORS)
def test_errors(name):
    fn, exc, match = ERRORS[name]
    with pytest.raises(exc, match=match):
        fn()
