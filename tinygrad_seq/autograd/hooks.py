"""Tensor hooks: functions that see (and may replace) the gradient flowing into a tensor, and
``retain_grad``. They are how a user watches gradient flow over the time steps of an unrolled
recurrence. The backward pass (engine.py, ``run_backward``) calls ``run_hooks`` and
``store_retained``."""

from __future__ import annotations

import weakref


class RemovableHandle:
    """Returned by ``register_hook``; ``handle.remove()`` takes the hook off again."""

    __slots__ = ("_hooks", "_hook")

    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)


def register_hook(t, hook):
    if not t.requires_grad:
        raise RuntimeError("register_hook: the tensor does not require grad, so no gradient "
                           "will ever flow into it")
    if t._ctx is None:
        if t._hooks is None:
            t._hooks = []
        hooks = t._hooks
    else:
        fn = t._ctx
        if fn.out_hooks is None:
            fn.out_hooks = {}
        hooks = fn.out_hooks.setdefault(t._idx, [])
    hooks.append(hook)
    return RemovableHandle(hooks, hook)


def retain_grad(t):
    """Keep the gradient of a non-leaf tensor in ``.grad`` (leaves always keep theirs). It is
    stored after the tensor's hooks have run, as in PyTorch."""
    fn = t._ctx
    if fn is None:
        return
    if fn.retained is None:
        fn.retained = {}
    fn.retained[t._idx] = weakref.ref(t)  # a strong ref from the node would make a cycle


def store_retained(retained, grads):
    for i, ref in retained.items():
        owner, g = ref(), grads[i]
        if owner is not None and g is not None:
            if not g.requires_grad:  # may be a read-only broadcast view shared with the graph
                g = g._wrap(g.data.copy())
            owner.grad = g if owner.grad is None else owner.grad + g


def run_hooks(hooks, grads):
    grads = list(grads)
    for i, fns in hooks.items():
        if grads[i] is None:
            continue
        for hook in list(fns):
            new = hook(grads[i])
            if new is not None:
                grads[i] = new
    return grads
