"""MultiStepLR, LinearLR, SequentialLR, OneCycleLR, ReduceLROnPlateau and
CosineAnnealingWarmRestarts against PyTorch, step for step.

Each test drives one of our optimizers and one of PyTorch's (two param groups, float64 weights,
the same gradients) under the same schedule, and compares after every step the scheduler's
``get_last_lr()``, each group's lr, momentum and betas, and the weights: a schedule that wrote
a hyperparameter the optimizer then ignored would show up in the weights.
"""

from __future__ import annotations

import numpy as np
import pytest
from helpers import torch

import tinygrad_seq as ts
from tinygrad_seq import optim
from tinygrad_seq.optim import lr_scheduler

LR_TOL = {"rtol": 0, "atol": 0}  # the same arithmetic as PyTorch: the same floats
W_TOL = {"rtol": 1e-10, "atol": 1e-12}
SHAPES = [(3, 2), (4,)]
GROUP_LRS = [0.1, 0.05]


def build(lib, name="SGD", **kw):
    params = [lib.tensor(np.random.default_rng(i).standard_normal(s), requires_grad=True)
              for i, s in enumerate(SHAPES)]
    cls = getattr(optim if lib is ts else torch.optim, name)
    return params, cls([{"params": [p], "lr": lr} for p, lr in zip(params, GROUP_LRS)], **kw)


def sched_mod(lib):
    return lr_scheduler if lib is ts else torch.optim.lr_scheduler


def record(sched, opt, params):
    """What a step must agree on: lrs, the group hyperparameters a schedule may write, weights."""
    groups = opt.param_groups
    assert sched.get_last_lr() == [g["lr"] for g in groups]
    return {"last_lr": list(sched.get_last_lr()),
            "last_epoch": [sched.last_epoch],
            "lr": [g["lr"] for g in groups],
            "momentum": [g.get("momentum", 0.0) for g in groups],
            "betas": [list(g.get("betas", (0.0, 0.0))) for g in groups],
            "weights": [p.detach().numpy().copy() for p in params]}


def drive(lib, make, steps, name="SGD", opt_kw=None, step_args=None):
    """Run ``steps`` optimizer + scheduler steps; ``step_args(k)`` gives the scheduler's step
    arguments (a metric, an epoch) for step ``k``."""
    params, opt = build(lib, name, **(opt_kw or {}))
    sched = make(sched_mod(lib), opt)
    seen = [record(sched, opt, params)]
    for k in range(steps):
        for i, p in enumerate(params):
            w = p.detach().numpy()
            g = np.tanh(w) + 0.5 * np.random.default_rng(100 * k + i).standard_normal(w.shape)
            p.grad = lib.tensor(g)
        opt.step()
        sched.step(*(step_args(k) if step_args else ()))
        seen.append(record(sched, opt, params))
    return seen


def assert_parity(make, steps, name="SGD", opt_kw=None, step_args=None):
    ours = drive(ts, make, steps, name, opt_kw, step_args)
    theirs = drive(torch, make, steps, name, opt_kw, step_args)
    for k, (a, b) in enumerate(zip(ours, theirs)):
        for key in ("last_lr", "lr", "momentum", "betas", "last_epoch"):
            np.testing.assert_allclose(a[key], b[key], **LR_TOL, err_msg=f"{key} at step {k}")
        for wa, wb in zip(a["weights"], b["weights"]):
            np.testing.assert_allclose(wa, wb, **W_TOL, err_msg=f"weights at step {k}")
    return ours


# ---- MultiStepLR, LinearLR -------------------------------------------------------------------

@pytest.mark.parametrize("milestones", [[2, 5, 9], [3, 3, 7], [0, 4]])
def test_multistep(milestones):
    assert_parity(lambda m, opt: m.MultiStepLR(opt, milestones, gamma=0.5), 14)


@pytest.mark.parametrize("kw", [dict(), dict(start_factor=0.25, total_iters=4),
                                dict(start_factor=1.0, end_factor=0.1, total_iters=6),
                                dict(start_factor=0.5, end_factor=0.0, total_iters=3)])
def test_linear(kw):
    assert_parity(lambda m, opt: m.LinearLR(opt, **kw), 12)


# ---- SequentialLR ----------------------------------------------------------------------------

SEQUENCES = {
    "warmup-cosine": (lambda m, o: [m.LinearLR(o, start_factor=0.1, total_iters=3),
                                    m.CosineAnnealingLR(o, T_max=8, eta_min=1e-3)], [3]),
    "warmup-step-exp": (lambda m, o: [m.LinearLR(o, start_factor=0.2, total_iters=2),
                                      m.StepLR(o, step_size=2, gamma=0.5),
                                      m.ExponentialLR(o, gamma=0.9)], [2, 7]),
    "warmup-multistep": (lambda m, o: [m.LinearLR(o, start_factor=0.5, total_iters=4),
                                       m.MultiStepLR(o, [2, 5], gamma=0.3)], [5]),
    "warmup-lambda": (lambda m, o: [m.LinearLR(o, start_factor=0.25, total_iters=3),
                                    m.LambdaLR(o, lambda e: 1 / (1 + e))], [3]),
    "milestone-0": (lambda m, o: [m.ExponentialLR(o, gamma=0.5),
                                  m.CosineAnnealingLR(o, T_max=5)], [0]),
}


def sequential(key):
    schedulers, milestones = SEQUENCES[key]
    return lambda m, opt: m.SequentialLR(opt, schedulers(m, opt), milestones)


@pytest.mark.parametrize("key", SEQUENCES)
def test_sequential(key):
    assert_parity(sequential(key), 16)


@pytest.mark.filterwarnings("ignore:Detected call of")  # PyTorch's, on its own initial step
def test_sequential_nested():
    """A SequentialLR inside another (first only: PyTorch cannot restart one at a milestone)."""
    def make(m, opt):
        inner = m.SequentialLR(opt, [m.LinearLR(opt, start_factor=0.5, total_iters=2),
                                     m.StepLR(opt, 2, 0.5)], [2])
        return m.SequentialLR(opt, [inner, m.ExponentialLR(opt, gamma=0.8)], [6])
    assert_parity(make, 10)


# ---- OneCycleLR ------------------------------------------------------------------------------

ONE_CYCLE = [
    ("SGD", dict(momentum=0.9), dict(max_lr=1.0, total_steps=20)),
    ("SGD", {}, dict(max_lr=[0.5, 0.2], total_steps=17, anneal_strategy="linear")),
    ("SGD", dict(momentum=0.9, nesterov=True), dict(max_lr=0.3, epochs=3, steps_per_epoch=5,
                                                    three_phase=True)),
    ("Adam", {}, dict(max_lr=0.01, total_steps=25, pct_start=0.25, div_factor=10.0,
                      final_div_factor=100.0)),
    ("Adam", dict(betas=(0.8, 0.99)), dict(max_lr=0.02, total_steps=21, three_phase=True,
                                           anneal_strategy="linear", base_momentum=0.7,
                                           max_momentum=[0.9, 0.95])),
    ("AdamW", {}, dict(max_lr=0.01, total_steps=12, cycle_momentum=False)),
    ("RMSprop", dict(momentum=0.5), dict(max_lr=0.01, total_steps=10)),
]


def one_cycle_steps(kw):
    return kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"]


@pytest.mark.parametrize("case", ONE_CYCLE, ids=lambda c: f"{c[0]}-{'-'.join(c[2])}")
def test_one_cycle(case):
    name, opt_kw, kw = case
    steps = one_cycle_steps(kw)  # PyTorch allows reaching step total_steps, then raises
    assert_parity(lambda m, opt: m.OneCycleLR(opt, **kw), steps, name, opt_kw)


def test_one_cycle_stepping_past_the_end_raises_like_torch():
    for lib in (ts, torch):
        _, opt = build(lib)
        sched = sched_mod(lib).OneCycleLR(opt, max_lr=0.1, total_steps=4)
        for _ in range(4):
            opt.step()
            sched.step()
        match = "OneCycleLR: tried to step 5 times" if lib is ts else "Tried to step 5 times"
        with pytest.raises(ValueError, match=match):
            sched.step()


# ---- ReduceLROnPlateau -----------------------------------------------------------------------

LOSSES = [1.0, 0.9, 0.9, 0.95, 0.91, 0.9, 0.8999, 0.8, 0.81, 0.82, 0.83, 0.84, 0.7, 0.71,
          0.72, 0.73, 0.74, 0.75, 0.76, 0.77, 0.78, 0.79, 0.8, 0.81, 0.82, 0.83]
# exactly representable steps, so "improves by exactly the threshold" (not better) occurs
DYADIC = [1.0, 0.75, 0.5, 0.5, 0.25, 0.25, 0.0, -0.125, -0.25, -0.5, -0.5, -0.5, -0.75, -0.75,
          -0.875, -1.0, -1.0, -1.0, -1.0, -1.25]
PLATEAU = [
    (dict(patience=2), LOSSES),
    (dict(patience=1, threshold=0.05, threshold_mode="abs", cooldown=2), LOSSES),
    (dict(patience=0, factor=0.5, min_lr=[0.02, 0.001]), LOSSES),
    (dict(patience=1, factor=0.5, min_lr=0.03, eps=1e-3), LOSSES),
    (dict(patience=0, factor=0.5, eps=0.01), LOSSES),  # reductions under eps are skipped
    (dict(mode="max", patience=1, cooldown=1), [-x for x in LOSSES]),
    (dict(mode="max", threshold_mode="abs", threshold=0.01, patience=2, factor=0.2),
     [-x for x in LOSSES]),
    (dict(patience=0, threshold=0.25, threshold_mode="abs"), DYADIC),
    (dict(patience=0, threshold=0.5, threshold_mode="rel", factor=0.5), DYADIC[:7]),
    (dict(mode="max", patience=0, threshold=0.25, threshold_mode="abs"), [-x for x in DYADIC]),
    (dict(mode="max", patience=0, threshold=1.0, factor=0.5), [0.25, 0.5, 1.0, 2.0, 4.0, 9.0]),
]


def kw_id(kw):
    return "-".join(f"{k}={v}" for k, v in kw.items()) or "defaults"


@pytest.mark.parametrize("case", PLATEAU, ids=lambda c: kw_id(c[0]))
def test_reduce_on_plateau(case):
    kw, metrics = case
    seen = {}

    def make(m, opt):
        seen[m] = m.ReduceLROnPlateau(opt, **kw)
        return seen[m]

    assert_parity(make, len(metrics), step_args=lambda k: (metrics[k],))
    ours, theirs = seen[lr_scheduler], seen[torch.optim.lr_scheduler]
    for key in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch", "min_lrs"):
        assert getattr(ours, key) == getattr(theirs, key), key


def test_reduce_on_plateau_takes_a_tensor_metric():
    _, opt = build(ts)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0)
    sched.step(ts.tensor(1.0))
    sched.step(ts.tensor([2.0]))
    assert sched.get_last_lr() == [0.1 * 0.1, 0.05 * 0.1]


# ---- CosineAnnealingWarmRestarts -------------------------------------------------------------

@pytest.mark.parametrize("kw", [dict(T_0=3), dict(T_0=3, T_mult=2, eta_min=0.01),
                                dict(T_0=1, T_mult=3)])
def test_warm_restarts(kw):
    assert_parity(lambda m, opt: m.CosineAnnealingWarmRestarts(opt, **kw), 30)


@pytest.mark.parametrize("kw", [dict(T_0=3, T_mult=2, eta_min=0.01), dict(T_0=4)])
def test_warm_restarts_fractional_epochs(kw):
    """Stepping once per batch with ``epoch + batch / batches``, then jumping back and ahead,
    mixed with plain ``step()`` (None), which goes on from the floor of the last epoch."""
    epochs = [k / 4 for k in range(1, 60)] + [2.5, None, None, 0.0, 20.75, None, 9.0, 3.0, 21.0]
    assert_parity(lambda m, opt: m.CosineAnnealingWarmRestarts(opt, **kw), len(epochs),
                  step_args=lambda k: () if epochs[k] is None else (epochs[k],))


# ---- step(epoch): the closed forms -----------------------------------------------------------

CLOSED = {
    "StepLR": dict(step_size=3, gamma=0.5),
    "MultiStepLR": dict(milestones=[2, 5, 5], gamma=0.5),
    "ExponentialLR": dict(gamma=0.9),
    "CosineAnnealingLR": dict(T_max=4, eta_min=0.001),
    "LinearLR": dict(start_factor=0.25, total_iters=4),
}


@pytest.mark.parametrize("name", CLOSED)
def test_step_with_epoch_uses_the_closed_form(name):
    epochs = [3, 7, 1, 0, 5, 12]
    with pytest.warns(UserWarning, match="epoch"):
        assert_parity(lambda m, opt: getattr(m, name)(opt, **CLOSED[name]), len(epochs),
                      step_args=lambda k: (epochs[k],))


# ---- state dicts -----------------------------------------------------------------------------

RESUMABLE = {
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, [2, 4, 7], 0.5), None),
    "LinearLR": (lambda m, o: m.LinearLR(o, start_factor=0.2, total_iters=6), None),
    "SequentialLR": (sequential("warmup-step-exp"), None),
    "OneCycleLR": (lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=14), None),
    "OneCycleLR-Adam": (lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=14,
                                                  three_phase=True), None),
    "ReduceLROnPlateau": (lambda m, o: m.ReduceLROnPlateau(o, patience=1, cooldown=1),
                          lambda k: (LOSSES[k],)),
    "CosineAnnealingWarmRestarts": (lambda m, o: m.CosineAnnealingWarmRestarts(o, 2, 2), None),
}


def run_schedule(opt, sched, steps, step_args, start=0):
    lrs = []
    for k in range(start, start + steps):
        opt.step()
        sched.step(*(step_args(k) if step_args else ()))
        momenta = [g["betas"][0] if "betas" in g else g["momentum"] for g in opt.param_groups]
        lrs.append(sched.get_last_lr() + momenta)
    return lrs


@pytest.mark.parametrize("key", RESUMABLE)
@pytest.mark.parametrize("source", ["ts", "ts.save", "torch"])
def test_state_dict_resumes(key, source, tmp_path):
    """Save after 5 steps (ours, ours through a file, or PyTorch's state dicts), load into a
    fresh optimizer and scheduler, step on: the same lrs and momenta as the uninterrupted
    schedule."""
    make, step_args = RESUMABLE[key]
    name = "Adam" if key.endswith("Adam") else "SGD"
    lib = torch if source == "torch" else ts
    _, opt = build(lib, name)
    sched = make(sched_mod(lib), opt)
    run_schedule(opt, sched, 5, step_args)
    saved = {"opt": opt.state_dict(), "sched": sched.state_dict()}
    if source == "ts.save":
        ts.save(saved, tmp_path / "ckpt.npz")
        saved = ts.load(tmp_path / "ckpt.npz")
    _, opt2 = build(ts, name)
    sched2 = make(lr_scheduler, opt2)
    opt2.load_state_dict(saved["opt"])
    sched2.load_state_dict(saved["sched"])
    np.testing.assert_allclose(run_schedule(opt2, sched2, 6, step_args, 5),
                               run_schedule(opt, sched, 6, step_args, 5), **LR_TOL)


def test_multistep_closed_form_after_a_file_round_trip(tmp_path):
    _, opt = build(ts)
    sched = lr_scheduler.MultiStepLR(opt, [2, 5, 5], gamma=0.5)
    ts.save(sched.state_dict(), tmp_path / "s.npz")
    sched.load_state_dict(ts.load(tmp_path / "s.npz"))  # the Counter comes back as a dict
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(6)
    assert sched.get_last_lr() == [0.1 * 0.5**3, 0.05 * 0.5**3]


# ---- errors ----------------------------------------------------------------------------------

def opt_of(name="SGD", **kw):
    return build(ts, name, **kw)[1]


ERRORS = [
    (lambda o: lr_scheduler.MultiStepLR(o, [5, 2]), "MultiStepLR: milestones must be increasing"),
    (lambda o: lr_scheduler.MultiStepLR(o, [1.5]), "MultiStepLR: each milestone must be an int"),
    (lambda o: lr_scheduler.LinearLR(o, start_factor=0), "LinearLR: start_factor must be in"),
    (lambda o: lr_scheduler.LinearLR(o, end_factor=1.5), "LinearLR: end_factor must be in"),
    (lambda o: lr_scheduler.LinearLR(o, total_iters=0), "LinearLR: total_iters must be an int"),
    (lambda o: lr_scheduler.SequentialLR(o, [], []), "SequentialLR: expects at least one"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)] * 2, []),
     r"SequentialLR: expected 1 milestones \(one fewer than the 2 schedulers\), got 0"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2)] * 3, [4, 2]),
     "SequentialLR: milestones must be strictly increasing"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(opt_of(), 2)], []),
     r"SequentialLR: schedulers\[0\] \(StepLR\) schedules another optimizer"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.ReduceLROnPlateau(o)], []),
     r"SequentialLR: schedulers\[0\] is a ReduceLROnPlateau"),
    (lambda o: lr_scheduler.SequentialLR(o, [lr_scheduler.StepLR(o, 2), lr_scheduler.SequentialLR(
        o, [lr_scheduler.StepLR(o, 3)], [])], [2]), r"SequentialLR: schedulers\[1\] is a Seq"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1), "OneCycleLR: total_steps is missing"),
    (lambda o: lr_scheduler.OneCycleLR(o, max_lr=0.1, epochs=3),
     "OneCycleLR: total_steps is missing"),
    (lambda o: lr_scheduler.OneCycleLR(o, 0.1, total_steps=0),
     "OneCycleLR: total_steps must be an int >= 1, got 0"),
    (lambda o: lr_scheduler.OneCycleLR(o, 0.1, epochs=2, steps_per_epoch=0),
     "OneCycleLR: steps_per_epoch must be an int >= 1"),
    (lambda o: lr_scheduler.OneCycleLR(o, 0.1, 10, pct_start=1.5), "OneCycleLR: pct_start"),
    (lambda o: lr_scheduler.OneCycleLR(o, 0.1, 10, anneal_strategy="exp"),
     "OneCycleLR: anneal_strategy must be 'cos' or 'linear', got 'exp'"),
    (lambda o: lr_scheduler.OneCycleLR(o, [0.1, 0.2, 0.3], 10),
     "OneCycleLR: max_lr has 3 values, the optimizer has 2 param groups"),
    (lambda o: lr_scheduler.OneCycleLR(opt_of("Adagrad"), 0.1, 10),
     "OneCycleLR: cycle_momentum=True needs .* Adagrad has neither"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, factor=1.0), r"ReduceLROnPlateau: factor"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, mode="avg"), "ReduceLROnPlateau: mode must be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, threshold_mode="pct"),
     "ReduceLROnPlateau: threshold_mode must be"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, min_lr=[0.1]),
     "ReduceLROnPlateau: min_lr has 1 values, the optimizer has 2"),
    (lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=-1), "ReduceLROnPlateau: patience"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0),
     "CosineAnnealingWarmRestarts: T_0 must be an int >= 1, got 0"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2, T_mult=1.5),
     "CosineAnnealingWarmRestarts: T_mult must be an int >= 1"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 2, eta_min="0"),
     "CosineAnnealingWarmRestarts: eta_min must be a number"),
    (lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 2).step(-1),
     "CosineAnnealingWarmRestarts: epoch must be >= 0, got -1"),
]


@pytest.mark.parametrize("i", range(len(ERRORS)))
def test_bad_arguments_name_scheduler_and_argument(i):
    make, match = ERRORS[i]
    with pytest.raises(ValueError, match=match):
        make(opt_of())


@pytest.mark.parametrize("name", ["OneCycleLR", "ReduceLROnPlateau", "LinearLR"])
def test_not_an_optimizer(name):
    args = {"OneCycleLR": (0.1, 10)}.get(name, ())
    with pytest.raises(TypeError, match=f"{name}: list is not an optimizer"):
        getattr(lr_scheduler, name)([], *args)


def test_plateau_min_lrs_after_a_new_group():
    params, opt = build(ts)
    sched = lr_scheduler.ReduceLROnPlateau(opt, patience=0, min_lr=[0.0, 0.0])
    opt.add_param_group({"params": [ts.tensor([1.0], requires_grad=True)], "lr": 0.3})
    sched.step(1.0)
    with pytest.raises(RuntimeError, match="ReduceLROnPlateau: the optimizer now has 3"):
        sched.step(2.0)
