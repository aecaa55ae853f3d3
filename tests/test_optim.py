"""Optimizers, lr schedules and gradient clipping against PyTorch, step for step.

Both libraries start from the same float64 weights and, at every step, get the same gradient
function of their *own* current weights (so a wrong update would compound, not hide); the
weights must agree after every step. At step 2 the second parameter has no gradient, so the
"skip params whose grad is None" path and per-parameter step counts are checked too.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from helpers import torch

import tinygrad_seq as ts
from tinygrad_seq import optim
from tinygrad_seq.nn import utils as nn_utils
from tinygrad_seq.optim import lr_scheduler

TIGHT = {"rtol": 1e-10, "atol": 1e-12}
SHAPES = [(3, 4), (4,)]
STEPS = 8

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.3, weight_decay=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, momentum=0.5, weight_decay=0.01, maximize=True)),
    ("Adam", {}),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.9), eps=1e-6, weight_decay=0.1)),
    ("Adam", dict(lr=0.01, amsgrad=True, maximize=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1, amsgrad=True)),
    ("RMSprop", {}),
    ("RMSprop", dict(centered=True, weight_decay=0.1)),
    ("RMSprop", dict(momentum=0.9, alpha=0.9)),
    ("RMSprop", dict(momentum=0.5, centered=True, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.1, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-6, maximize=True)),
]
NAMES = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def case_id(case):
    """A stable id (a function prints its address, which changes between runs: pytest-xdist's
    workers must collect the same ids)."""
    name, kw = case

    def shown(v):
        if callable(v):
            return "fn"
        return f"[{','.join(map(shown, v))}]" if isinstance(v, list) else str(v)

    return name + "".join(f"-{k}={shown(v)}" for k, v in kw.items())


def init_arrays(seed=0):
    return [np.random.default_rng(seed + i).standard_normal(s) for i, s in enumerate(SHAPES)]


def grad_of(w, k, i):
    if k == 2 and i == 1:
        return None
    return np.tanh(w) + 0.5 * np.random.default_rng(100 * k + i).standard_normal(w.shape)


def build(lib, name, arrays, kwargs, group_lrs=None):
    params = [lib.tensor(a.copy(), requires_grad=True) for a in arrays]
    cls = getattr(optim if lib is ts else torch.optim, name)
    spec = params if group_lrs is None else [
        {"params": [p], "lr": lr} for p, lr in zip(params, group_lrs)]
    return params, cls(spec, **kwargs)


def take_step(lib, params, opt, k):
    for i, p in enumerate(params):
        g = grad_of(p.detach().numpy(), k, i)
        p.grad = None if g is None else lib.tensor(g)
    opt.step()


def assert_same(ours, theirs):
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), **TIGHT)


# ---- update rules --------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_parity_step_by_step(case):
    name, kw = case
    ps, opt = build(ts, name, init_arrays(), kw)
    tps, topt = build(torch, name, init_arrays(), kw)
    for k in range(STEPS):
        take_step(ts, ps, opt, k)
        take_step(torch, tps, topt, k)
        assert_same(ps, tps)


@pytest.mark.parametrize("name", NAMES)
def test_two_param_groups(name):
    kw = {"lr": 0.5, "momentum": 0.9} if name == "SGD" else {}
    ps, opt = build(ts, name, init_arrays(), kw, group_lrs=[0.1, 0.01])
    tps, topt = build(torch, name, init_arrays(), kw, group_lrs=[0.1, 0.01])
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.01]
    for k in range(STEPS):
        take_step(ts, ps, opt, k)
        take_step(torch, tps, topt, k)
        assert_same(ps, tps)


def test_zero_grad():
    ps, opt = build(ts, "SGD", init_arrays(), {"lr": 0.1})
    take_step(ts, ps, opt, 0)
    opt.zero_grad(set_to_none=False)
    assert all(p.grad is not None and not p.grad.numpy().any() for p in ps)
    opt.zero_grad()
    assert all(p.grad is None for p in ps)


# ---- state dicts ---------------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_state_dict_round_trip(case):
    """Save after 3 steps, load into a fresh optimizer (other hyperparameters) over copies of
    the weights, take 3 more steps: the same weights as 6 uninterrupted steps."""
    name, kw = case
    ps, opt = build(ts, name, init_arrays(), kw)
    for k in range(3):
        take_step(ts, ps, opt, k)
    saved = opt.state_dict()
    ps2, opt2 = build(ts, name, [p.numpy() for p in ps], {"lr": 0.123})
    opt2.load_state_dict(saved)
    for k in range(3, 6):
        take_step(ts, ps, opt, k)
        take_step(ts, ps2, opt2, k)
        for a, b in zip(ps, ps2):
            np.testing.assert_array_equal(a.numpy(), b.numpy())


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_load_torch_state_dict_and_layout(case):
    """PyTorch's state dict (float tensors, step as a tensor) loads into ours and continues in
    step; ours has the same layout, state keys and hyperparameter names."""
    name, kw = case
    ps, opt = build(ts, name, init_arrays(), kw, group_lrs=[0.1, 0.01])
    tps, topt = build(torch, name, init_arrays(), kw, group_lrs=[0.1, 0.01])
    for k in range(3):
        take_step(ts, ps, opt, k)
        take_step(torch, tps, topt, k)
    tsd, sd = topt.state_dict(), opt.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0], [1]]
    assert all(set(g) <= set(tg) for g, tg in zip(sd["param_groups"], tsd["param_groups"]))
    assert {i: set(s) for i, s in sd["state"].items()} == {
        i: set(s) for i, s in tsd["state"].items()}
    ps, opt = build(ts, name, [p.detach().numpy() for p in tps], kw, group_lrs=[0.3, 0.3])
    opt.load_state_dict(tsd)
    for k in range(3, 6):
        take_step(ts, ps, opt, k)
        take_step(torch, tps, topt, k)
        assert_same(ps, tps)


def test_load_state_dict_mismatch():
    _, opt = build(ts, "Adam", init_arrays(), {})
    _, other = build(ts, "Adam", init_arrays(), {}, group_lrs=[0.1, 0.2])
    with pytest.raises(ValueError, match="2 parameter groups, this optimizer has 1"):
        opt.load_state_dict(other.state_dict())


# ---- lr schedules --------------------------------------------------------------------------

SCHEDULES = [
    ("StepLR", dict(step_size=3, gamma=0.5)),
    ("ExponentialLR", dict(gamma=0.9)),
    ("CosineAnnealingLR", dict(T_max=4, eta_min=0.001)),
    ("CosineAnnealingLR", dict(T_max=3)),
    ("LambdaLR", dict(lr_lambda=lambda e: 1 / (1 + e))),
    ("LambdaLR", dict(lr_lambda=[lambda e: 0.9**e, lambda e: 1 + e % 3])),
]


def make_schedule(lib, name, kw):
    params, opt = build(lib, "SGD", init_arrays(), {}, group_lrs=[0.1, 0.05])
    mod = lr_scheduler if lib is ts else torch.optim.lr_scheduler
    return opt, getattr(mod, name)(opt, **kw)


def lr_sequence(opt, sched, epochs):
    seq = []
    for _ in range(epochs):
        seq.append(sched.get_last_lr())
        assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
        opt.step()  # no grads: nothing moves, but torch wants the optimizer stepped first
        sched.step()
    return np.array(seq)


@pytest.mark.parametrize("case", SCHEDULES, ids=case_id)
def test_schedule_matches_torch(case):
    name, kw = case
    ours = lr_sequence(*make_schedule(ts, name, kw), 14)
    theirs = lr_sequence(*make_schedule(torch, name, kw), 14)
    np.testing.assert_allclose(ours, theirs, rtol=1e-13, atol=0)


@pytest.mark.parametrize("case", SCHEDULES, ids=case_id)
def test_schedule_state_dict_resumes(case):
    name, kw = case
    opt, sched = make_schedule(ts, name, kw)
    lr_sequence(opt, sched, 5)
    opt2, sched2 = make_schedule(ts, name, kw)
    opt2.load_state_dict(opt.state_dict())
    sched2.load_state_dict(sched.state_dict())
    np.testing.assert_array_equal(lr_sequence(opt2, sched2, 6), lr_sequence(opt, sched, 6))


# ---- gradient clipping ---------------------------------------------------------------------

def with_grads(lib, scale=1.0):
    params = [lib.tensor(a, requires_grad=True) for a in init_arrays() + [np.ones(2)]]
    for p, g in zip(params[:2], init_arrays(seed=5)):
        p.grad = lib.tensor(g * scale)
    return params  # the last one has no gradient and must be left alone


@pytest.mark.parametrize("norm_type", [2.0, 1, math.inf, 3])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm(norm_type, max_norm):
    ps, tps = with_grads(ts), with_grads(torch)
    total = nn_utils.clip_grad_norm_(ps, max_norm, norm_type)
    ttotal = torch.nn.utils.clip_grad_norm_(tps, max_norm, norm_type)
    assert isinstance(total, ts.Tensor) and total.shape == ()
    np.testing.assert_allclose(total.item(), ttotal.item(), **TIGHT)
    for p, tp in zip(ps[:2], tps[:2]):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), **TIGHT)
    assert ps[2].grad is None


def test_clip_grad_norm_single_tensor_empty_and_nonfinite():
    p, tp = with_grads(ts)[0], with_grads(torch)[0]
    np.testing.assert_allclose(nn_utils.clip_grad_norm_(p, 1.0).item(),
                               torch.nn.utils.clip_grad_norm_(tp, 1.0).item(), **TIGHT)
    np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), **TIGHT)
    assert nn_utils.clip_grad_norm_([ts.tensor([1.0])], 1.0).item() == 0.0
    bad = with_grads(ts)
    bad[0].grad.data[0, 0] = np.nan
    with pytest.raises(RuntimeError, match="non-finite|nan"):
        nn_utils.clip_grad_norm_(bad, 1.0, error_if_nonfinite=True)


def test_clip_grad_value():
    ps, tps = with_grads(ts, 3.0), with_grads(torch, 3.0)
    nn_utils.clip_grad_value_(ps, 0.7)
    torch.nn.utils.clip_grad_value_(tps, 0.7)
    for p, tp in zip(ps[:2], tps[:2]):
        np.testing.assert_array_equal(p.grad.numpy(), tp.grad.numpy())
    assert np.abs(ps[0].grad.numpy()).max() == 0.7


# ---- bad input -----------------------------------------------------------------------------

ERRORS = [
    (lambda p: optim.SGD(p, lr=-0.1), ValueError, r"SGD: invalid learning rate -0\.1"),
    (lambda p: optim.Adam(p, betas=(1.0, 0.999)), ValueError, r"Adam: invalid betas\[0\] 1\.0"),
    (lambda p: optim.AdamW(p, betas=(0.9, -0.1)), ValueError, r"AdamW: invalid betas\[1\]"),
    (lambda p: optim.Adam(p, eps=-1e-8), ValueError, "Adam: invalid eps"),
    (lambda p: optim.SGD(p, nesterov=True), ValueError, "SGD: nesterov=True needs momentum"),
    (lambda p: optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), ValueError,
     "dampening=0.1"),
    (lambda p: optim.RMSprop(p, alpha=-1), ValueError, "RMSprop: invalid alpha -1"),
    (lambda p: optim.Adagrad(p, lr_decay=-1), ValueError, "Adagrad: invalid lr_decay -1"),
    (lambda p: optim.SGD([{"params": p, "lr": -1}]), ValueError, "invalid learning rate -1"),
    (lambda p: optim.SGD([]), ValueError, "SGD: got an empty parameter list"),
    (lambda p: optim.Adam(p + [np.zeros(3)]), TypeError, "Adam: parameter 1 is a ndarray"),
    (lambda p: optim.SGD(p[0]), TypeError, "single Tensor"),
    (lambda p: optim.SGD(p + p), ValueError, "appears twice"),
    (lambda p: optim.SGD([{"params": p}, {"params": p}]), ValueError, "appears twice"),
    (lambda p: optim.SGD([p[0] * 2]), ValueError, "not a leaf"),
    (lambda p: lr_scheduler.StepLR(object(), 3), TypeError, "not an optimizer"),
    (lambda p: lr_scheduler.StepLR(optim.SGD(p), 0), ValueError, "step_size"),
    (lambda p: lr_scheduler.LambdaLR(optim.SGD(p), [abs, abs]), ValueError, "expected 1"),
]


@pytest.mark.parametrize("make, error, message", ERRORS)
def test_bad_input(make, error, message):
    with pytest.raises(error, match=message):
        make([ts.tensor([1.0, 2.0], requires_grad=True)])
