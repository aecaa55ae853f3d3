"""Module, Parameter and the feed-forward layers: discovery, state dicts, modes, parity."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import tinygrad_seq as ts
from tinygrad_seq import nn


class Net(nn.Module):
    def __init__(self):
        self.emb = nn.Embedding(10, 4, padding_idx=0)
        self.rnn = nn.GRU(4, 6, batch_first=True)
        self.norm = nn.LayerNorm(6)
        self.heads = nn.ModuleList([nn.Linear(6, 3), nn.Linear(6, 2)])
        self.scale = nn.Parameter(ts.ones(1))
        self.drop = nn.Dropout(0.1)

    def forward(self, tokens):
        out, _ = self.rnn(self.emb(tokens))
        out = self.drop(self.norm(out)) * self.scale
        return [head(out) for head in self.heads]


def test_parameters_are_found_by_walking_attributes():
    names = [n for n, _ in Net().named_parameters()]
    # PyTorch's order: a module's own parameters, then its children's, depth first
    assert names == ["scale", "emb.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0",
                     "rnn.bias_ih_l0", "rnn.bias_hh_l0", "norm.weight", "norm.bias",
                     "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias"]
    assert [n for n, _ in Net().named_modules()][:3] == ["", "emb", "rnn"]
    assert len(list(Net().children())) == 5


def test_shared_parameter_listed_once():
    net = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 2))
    net[1].weight = net[0].weight
    assert len(list(net.parameters())) == 3


def test_train_eval_and_zero_grad():
    net = Net()
    net.eval()
    assert not net.drop.training and not net.rnn.training
    outs = net(ts.tensor([[1, 2, 0]]))
    sum(o.sum() for o in outs).backward()
    assert net.scale.grad is not None
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net.train()
    assert net.drop.training


def test_state_dict_round_trip_through_a_checkpoint(tmp_path):
    net = Net()
    opt = ts.optim.Adam(net.parameters(), lr=1e-2)
    sum(o.sum() for o in net(ts.tensor([[1, 2, 3]]))).backward()
    opt.step()
    ts.save({"model": net.state_dict(), "optim": opt.state_dict()}, tmp_path / "ckpt.npz")
    other = Net()
    other_opt = ts.optim.Adam(other.parameters(), lr=1e-2)
    ckpt = ts.load(tmp_path / "ckpt.npz")
    other.load_state_dict(ckpt["model"])
    other_opt.load_state_dict(ckpt["optim"])
    for (n, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items()):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=n)
    for model, o in ((net, opt), (other, other_opt)):  # both continue identically
        model.eval()  # no dropout draws: the two runs see the same computation
        o.zero_grad()
        sum(out.sum() for out in model(ts.tensor([[4, 5, 6]]))).backward()
        o.step()
    np.testing.assert_array_equal(net.rnn.weight_hh_l0.numpy(), other.rnn.weight_hh_l0.numpy())


def test_load_state_dict_errors_name_the_key():
    net = nn.Linear(3, 2)
    state = net.state_dict()
    with pytest.raises(KeyError, match=r"missing keys \['bias'\]"):
        net.load_state_dict({"weight": state["weight"]})
    with pytest.raises(KeyError, match=r"unexpected keys \['extra'\]"):
        net.load_state_dict({**state, "extra": np.zeros(1)})
    with pytest.raises(ts.ShapeError, match=r"key 'weight' has shape \(3, 3\) in the checkpoint "
                                            r"but \(2, 3\) in the model"):
        net.load_state_dict({"weight": np.zeros((3, 3)), "bias": np.zeros(2)})
    result = net.load_state_dict({"weight": np.ones((2, 3))}, strict=False)
    assert result.missing_keys == ["bias"] and net.weight.numpy().sum() == 6


def test_load_state_dict_keeps_parameter_dtype():
    net = nn.Linear(3, 2)
    net.load_state_dict({k: v.numpy().astype(np.float64) for k, v in net.state_dict().items()})
    assert net.weight.dtype == np.float32


def test_repr_looks_like_pytorch():
    text = repr(Net())
    assert "(rnn): GRU(4, 6, batch_first=True)" in text
    assert "(0): Linear(in_features=6, out_features=3, bias=True)" in text
    assert repr(nn.LSTM(3, 4, num_layers=2, bidirectional=True)) == \
        "LSTM(3, 4, num_layers=2, bidirectional=True)"


def test_to_and_double():
    net = nn.Linear(2, 2).double()
    assert net.weight.dtype == np.float64
    assert net.to("cpu") is net


def test_parameter_requires_grad():
    p = nn.Parameter(ts.zeros(2))
    assert p.requires_grad and p.is_leaf and "Parameter containing" in repr(p)




@pytest.mark.parametrize("make", [
    lambda lib: lib.nn.Linear(4, 3),
    lambda lib: lib.nn.Linear(4, 3, bias=False),
    lambda lib: lib.nn.LayerNorm(4),
    lambda lib: lib.nn.LayerNorm((2, 4), elementwise_affine=False),
], ids=["linear", "linear_nobias", "layernorm", "layernorm_2d_plain"])
def test_layers_match_pytorch(make):
    ref = make(torch).double()
    ours = make(ts).double()
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 2, 4))
    sx, tx = ts.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    so, to = ours(sx), ref(tx)
    np.testing.assert_allclose(so.numpy(), to.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = np.random.default_rng(1).standard_normal(so.shape)
    (so * ts.tensor(g)).sum().backward()
    (to * torch.tensor(g)).sum().backward()
    np.testing.assert_allclose(sx.grad.numpy(), tx.grad.numpy(), rtol=1e-9, atol=1e-12)
    refp = dict(ref.named_parameters())
    for n, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), refp[n].grad.numpy(), rtol=1e-9, atol=1e-12)


def test_embedding_module_matches_pytorch():
    ref = torch.nn.Embedding(6, 3, padding_idx=2).double()
    ours = nn.Embedding(6, 3, padding_idx=2).double()
    assert np.all(ours.weight.numpy()[2] == 0)
    ours.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    idx = np.array([[1, 2, 2], [5, 1, 0]])
    so, to = ours(ts.tensor(idx)), ref(torch.tensor(idx))
    np.testing.assert_allclose(so.numpy(), to.detach().numpy())
    so.sum().backward()
    to.sum().backward()
    np.testing.assert_allclose(ours.weight.grad.numpy(), ref.weight.grad.numpy())


def test_default_init_ranges_match_pytorch():
    lin = nn.Linear(64, 32)
    bound = 1 / 8
    assert np.abs(lin.weight.numpy()).max() <= bound and np.abs(lin.bias.numpy()).max() <= bound
    emb = nn.Embedding(1000, 16)
    assert abs(emb.weight.numpy().std() - 1) < 0.05


def test_init_functions():
    w = nn.Parameter(ts.zeros(64, 32))
    nn.init.orthogonal_(w)
    np.testing.assert_allclose(w.numpy().T @ w.numpy(), np.eye(32), atol=1e-5)
    nn.init.xavier_uniform_(w)
    assert np.abs(w.numpy()).max() <= np.sqrt(6 / 96)
    nn.init.kaiming_normal_(w, nonlinearity="relu")
    assert abs(w.numpy().std() - np.sqrt(2 / 32)) < 0.02
    nn.init.zeros_(w)
    assert not w.numpy().any()
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        nn.init.xavier_uniform_(nn.Parameter(ts.zeros(3)))


def test_layer_errors():
    with pytest.raises(ts.ShapeError, match=r"Linear: expected input with last dimension 4, got "
                                            r"shape \(2, 3\)"):
        nn.Linear(4, 2)(ts.randn(2, 3))
    with pytest.raises(ValueError, match="Linear: sizes must be positive"):
        nn.Linear(0, 2)
    with pytest.raises(IndexError, match="Embedding: padding_idx 7 is out of range"):
        nn.Embedding(3, 2, padding_idx=7)
    with pytest.raises(ts.ShapeError, match=r"LayerNorm: expected input ending in \(4,\)"):
        nn.LayerNorm(4)(ts.randn(2, 3))
    with pytest.raises(TypeError, match="ModuleList holds modules"):
        nn.ModuleList([3])
