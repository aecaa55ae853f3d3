"""Optimizers, as in ``torch.optim``: SGD, Adam, AdamW, RMSprop, Adagrad (schedules live in
lr_scheduler.py, ``optim.lr_scheduler``).

An optimizer holds ``param_groups`` (a list of dicts: ``'params'`` plus that group's
hyperparameters) and ``state`` (a dict per parameter). Every update works in place on the raw
backend arrays ``p.data`` and ``p.grad.data`` with the operators and ``xp`` functions of the array
module that owns them, so one code path serves NumPy and CuPy and no graph is ever recorded.
Each update rule follows PyTorch's single-tensor implementation operation for operation, and the
state keys carry PyTorch's names, so ``state_dict()`` has PyTorch's layout.
"""

from __future__ import annotations

import copy
import numbers

import numpy

from .. import autograd, backend
from ..tensor import Tensor

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad"]


def _check(opt, label, value, low=0.0, high=None):
    """ValueError naming the optimizer and the value unless ``low <= value`` (``< high``)."""
    ok = isinstance(value, numbers.Real) and value >= low and (high is None or value < high)
    if not ok:
        bound = f">= {low}" if high is None else f"in [{low}, {high})"
        raise ValueError(f"{opt}: invalid {label} {value!r} (must be {bound})")


def _load_value(key, value, param):
    """A saved state entry made ready for ``param``: arrays (ours, CuPy's, or anything NumPy can
    read, e.g. a torch tensor) are copied to the parameter's dtype and device; ``step`` becomes
    an int (PyTorch saves it as a float tensor)."""
    if key == "step":
        return int(value)
    if isinstance(value, Tensor):
        value = value.data
    if hasattr(value, "shape"):
        if not backend.is_array(value):
            value = numpy.asarray(value)
        return backend.to_device(value, param.device).astype(param.dtype, copy=True)
    return copy.deepcopy(value)


class Optimizer:
    """Base class. Subclasses set ``defaults``, check a group in ``_check_group``, create a
    parameter's state in ``_init_state`` and apply one update in ``_update``; the base class owns
    the groups, the state, the loop over parameters (skipping those whose grad is None) and
    ``maximize`` (the gradient is negated before anything else, as in PyTorch)."""

    def __init__(self, params, defaults):
        name = type(self).__name__
        if isinstance(params, Tensor):
            raise TypeError(f"{name}: params must be an iterable of tensors or of dicts, "
                            f"got a single Tensor (wrap it in a list)")
        if callable(getattr(params, "parameters", None)):  # a Module (duck-typed: no nn import)
            kind = type(params).__name__
            raise TypeError(f"{name}: got the module {kind} itself; pass its parameters: "
                            f"{name}(model.parameters(), ...)")
        if not hasattr(params, "__iter__"):
            raise TypeError(f"{name}: params must be an iterable of tensors or of dicts, got "
                            f"{type(params).__name__}")
        self.defaults = dict(defaults)
        self.state = {}
        self.param_groups = []
        groups = list(params)
        if not groups:
            raise ValueError(f"{name}: got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            hyper = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} params, {hyper}")
        return "\n".join(lines + [")"])

    def add_param_group(self, param_group):
        """Add a dict with ``'params'`` and optional hyperparameter overrides."""
        name = type(self).__name__
        if not isinstance(param_group, dict) or "params" not in param_group:
            raise TypeError(f"{name}: a parameter group is a dict with a 'params' entry, "
                            f"got {type(param_group).__name__}")
        params = param_group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        if not params:
            raise ValueError(f"{name}: got an empty parameter list")
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: parameter {i} is a {type(p).__name__}, not a Tensor")
            if not p.is_leaf:
                raise ValueError(f"{name}: parameter {i} is not a leaf tensor (it was computed "
                                 f"from others); optimize the leaves it came from")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if len({id(p) for p in params}) != len(params) or seen & {id(p) for p in params}:
            raise ValueError(f"{name}: a parameter appears twice (in one group or in two)")
        group = {**self.defaults, **param_group, "params": params}
        self._check_group(group)
        self.param_groups.append(group)

    def zero_grad(self, set_to_none=True):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                elif p.grad.grad_fn is not None:
                    # a create_graph gradient: its arrays belong to a graph, so replace, not zero
                    p.grad = p.grad.new_zeros(p.grad.shape)
                else:
                    p.grad.data[...] = 0

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (optional) recomputes
        and returns the loss, with gradients enabled; ``step`` returns it."""
        loss = None
        if closure is not None:
            with autograd.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                grad = -p.grad.data if group.get("maximize", False) else p.grad.data
                state = self.state.setdefault(p, {})
                if not state:
                    self._init_state(state, p.data, group)
                self._update(p.data, grad, state, group)
                autograd.versions.bump(p.data)  # a graph still holding p sees the new version
        return loss

    def _check_group(self, group):
        _check(type(self).__name__, "learning rate", group["lr"])
        _check(type(self).__name__, "weight_decay", group.get("weight_decay", 0.0))

    def _init_state(self, state, param, group):
        pass

    def _update(self, param, grad, state, group):
        raise NotImplementedError

    # ---- saving and loading (PyTorch's layout: parameters are numbered across groups) -------
    def state_dict(self):
        """``{'state': {index: {...}}, 'param_groups': [{..., 'params': [indices]}]}``. State
        arrays are copies, so the dict is a snapshot that later steps do not change."""
        index, groups = {}, []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = [index.setdefault(id(p), len(index)) for p in group["params"]]
            groups.append(packed)
        state = {index[id(p)]: {k: v.copy() if backend.is_array(v) else v for k, v in s.items()}
                 for p, s in self.state.items() if s and id(p) in index}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by ``state_dict`` (ours or PyTorch's) into an
        optimizer over parameters of the same shapes, in the same groups."""
        name = type(self).__name__
        saved = state_dict["param_groups"]
        if len(saved) != len(self.param_groups):
            raise ValueError(f"{name}: the state dict has {len(saved)} parameter groups, this "
                             f"optimizer has {len(self.param_groups)}")
        by_index = {}
        for i, (s, own) in enumerate(zip(saved, self.param_groups)):
            if len(s["params"]) != len(own["params"]):
                raise ValueError(f"{name}: group {i} of the state dict has {len(s['params'])} "
                                 f"parameters, this optimizer's has {len(own['params'])}")
            by_index.update(zip(s["params"], own["params"]))
        self.state = {}
        for idx, s in state_dict["state"].items():
            p = by_index.get(idx)
            if p is not None:
                self.state[p] = {k: _load_value(k, v, p) for k, v in s.items()}
        self.param_groups = [
            {**{k: copy.deepcopy(v) for k, v in s.items() if k != "params"},
             "params": own["params"]} for s, own in zip(saved, self.param_groups)]


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as in ``torch.optim.SGD``::

        g = grad + weight_decay * p
        b = g                                     on the first step
        b = momentum * b + (1 - dampening) * g    afterwards
        g = g + momentum * b  (nesterov)   or   g = b
        p = p - lr * g
    """

    def __init__(self, params, lr=1e-3, momentum=0.0, dampening=0.0, weight_decay=0.0,
                 nesterov=False, maximize=False):
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening,
                                      weight_decay=weight_decay, nesterov=nesterov,
                                      maximize=maximize))

    def _check_group(self, group):
        super()._check_group(group)
        _check("SGD", "momentum", group["momentum"])
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"] != 0):
            raise ValueError(f"SGD: nesterov=True needs momentum > 0 and dampening == 0, got "
                             f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")

    def _update(self, param, grad, state, group):
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        momentum = group["momentum"]
        if momentum != 0:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = grad.copy()  # grad may be p.grad's own array
            else:
                buf *= momentum
                buf += (1 - group["dampening"]) * grad
            grad = grad + momentum * buf if group["nesterov"] else buf
        param -= group["lr"] * grad


class Adam(Optimizer):
    """Adam (Kingma & Ba), as in ``torch.optim.Adam``; ``t`` counts this parameter's steps::

        g = grad + weight_decay * p            (AdamW instead: p = p * (1 - lr * weight_decay))
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        v_max = max(v_max, v)                  (amsgrad; then v_max replaces v below)
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)
    """

    _decoupled = False  # AdamW decays the weights directly instead of adding to the gradient

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0,
                 amsgrad=False, maximize=False):
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps,
                                      weight_decay=weight_decay, amsgrad=amsgrad,
                                      maximize=maximize))

    def _check_group(self, group):
        super()._check_group(group)
        name = type(self).__name__
        _check(name, "eps", group["eps"])
        if len(group["betas"]) != 2:
            raise ValueError(f"{name}: betas must be a pair, got {group['betas']!r}")
        for i, beta in enumerate(group["betas"]):
            _check(name, f"betas[{i}]", beta, 0.0, 1.0)

    def _init_state(self, state, param, group):
        xp = backend.get_array_module(param)
        state["step"] = 0
        state["exp_avg"] = xp.zeros_like(param)
        state["exp_avg_sq"] = xp.zeros_like(param)
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        xp = backend.get_array_module(param)
        lr, wd, (beta1, beta2) = group["lr"], group["weight_decay"], group["betas"]
        state["step"] += 1
        t = state["step"]
        if wd != 0:
            if self._decoupled:
                param *= 1 - lr * wd
            else:
                grad = grad + wd * param
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (1 - beta1) * (grad - m)  # torch's lerp_: the same m, one rounding fewer
        v *= beta2
        v += (1 - beta2) * grad * grad
        if group["amsgrad"]:
            v = xp.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
        denom = xp.sqrt(v) / (1 - beta2**t) ** 0.5 + group["eps"]
        param -= lr / (1 - beta1**t) * m / denom


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter), as in ``torch.optim.AdamW``: the
    weights shrink by ``lr * weight_decay`` before the Adam step, and the gradient is untouched."""

    _decoupled = True

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, maximize=False):
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize)


class RMSprop(Optimizer):
    """RMSprop (Hinton), as in ``torch.optim.RMSprop``::

        g = grad + weight_decay * p
        s = alpha * s + (1 - alpha) * g**2
        a = alpha * a + (1 - alpha) * g            (centered)
        d = sqrt(s - a**2) + eps  (centered)   or   d = sqrt(s) + eps
        b = momentum * b + g / d;  p = p - lr * b  (momentum > 0)
        p = p - lr * g / d                         (otherwise)
    """

    def __init__(self, params, lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                 centered=False, maximize=False):
        super().__init__(params, dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay,
                                      momentum=momentum, centered=centered, maximize=maximize))

    def _check_group(self, group):
        super()._check_group(group)
        for key in ("alpha", "eps", "momentum"):
            _check("RMSprop", key, group[key])

    def _init_state(self, state, param, group):
        xp = backend.get_array_module(param)
        state["step"] = 0
        state["square_avg"] = xp.zeros_like(param)
        if group["momentum"] > 0:
            state["momentum_buffer"] = xp.zeros_like(param)
        if group["centered"]:
            state["grad_avg"] = xp.zeros_like(param)

    def _update(self, param, grad, state, group):
        xp = backend.get_array_module(param)
        alpha = group["alpha"]
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        square_avg = state["square_avg"]
        square_avg *= alpha
        square_avg += (1 - alpha) * grad * grad
        if group["centered"]:
            grad_avg = state["grad_avg"]
            grad_avg += (1 - alpha) * (grad - grad_avg)
            avg = xp.sqrt(square_avg - grad_avg * grad_avg) + group["eps"]
        else:
            avg = xp.sqrt(square_avg) + group["eps"]
        if group["momentum"] > 0:
            buf = state["momentum_buffer"]
            buf *= group["momentum"]
            buf += grad / avg
            param -= group["lr"] * buf
        else:
            param -= group["lr"] * grad / avg


class Adagrad(Optimizer):
    """Adagrad (Duchi et al.), as in ``torch.optim.Adagrad``; ``t`` counts this parameter's
    steps::

        g = grad + weight_decay * p
        s = s + g**2                      (s starts at initial_accumulator_value)
        p = p - lr / (1 + (t - 1) * lr_decay) * g / (sqrt(s) + eps)
    """

    def __init__(self, params, lr=1e-2, lr_decay=0.0, weight_decay=0.0,
                 initial_accumulator_value=0.0, eps=1e-10, maximize=False):
        super().__init__(params, dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay,
                                      initial_accumulator_value=initial_accumulator_value,
                                      eps=eps, maximize=maximize))
        # PyTorch creates Adagrad's state up front, so its state_dict lists every parameter
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(self.state.setdefault(p, {}), p.data, group)

    def _check_group(self, group):
        super()._check_group(group)
        for key in ("lr_decay", "initial_accumulator_value", "eps"):
            _check("Adagrad", key, group[key])

    def _init_state(self, state, param, group):
        xp = backend.get_array_module(param)
        state["step"] = 0
        state["sum"] = xp.full_like(param, group["initial_accumulator_value"])

    def _update(self, param, grad, state, group):
        xp = backend.get_array_module(param)
        state["step"] += 1
        if group["weight_decay"] != 0:
            grad = grad + group["weight_decay"] * param
        clr = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        state["sum"] += grad * grad
        param -= clr * grad / (xp.sqrt(state["sum"]) + group["eps"])
