"""A whole-sequence node drawn as its time steps, without making training take the slow path.

Training runs one node per layer direction (ops/sequence.py). To draw that node unrolled, a
drawing calls ``replay(fn)``: ``unroll`` (layer.py, the very code ``unroll=True`` runs) runs
again on the node's own inputs under its tags, so the drawing has the same clusters, cells and
edges as the per-step graph. ``attach_norms`` then copies what the node's backward recorded
inside ``record_grad_norms`` (``fn.step_norms``) onto the replayed nodes, so the steps show
the gradients of the fast path. Nothing here runs during training.
"""

from __future__ import annotations

from ...autograd import enable_grad, graph_tags
from .layer import _BASE, unroll


def replay(fn):
    """(outputs, trace) of the per-step graph of the whole-sequence node ``fn`` (one whose
    ``unrolled`` the layer set): the same outputs as ``fn``'s, as new tensors."""
    u = fn.unrolled
    x, *rest = fn.parents
    count = len(u.kind.states)
    state, params = tuple(rest[:count]), dict(zip(_BASE, rest[count:]))
    # the layer and direction tags come from unroll itself, as on the per-step path
    tags = {k: v for k, v in (fn.tags or {}).items() if k not in ("layer", "direction")}
    trace = {}
    with enable_grad(), graph_tags(**tags):
        outputs = unroll(u.kind, u.options, True, x, u.layer, u.direction, params, state,
                         u.keep, trace)
    # the nodes the replay made (everything between its outputs and fn's inputs): a drawing
    # of memory charges fn's buffers to them, not what the replay itself allocated
    inputs, made, stack = {id(p) for p in fn.parents}, set(), [o._ctx for o in outputs]
    while stack:
        c = stack.pop()
        if c is None or id(c) in made:
            continue
        made.add(id(c))
        stack.extend(p._ctx for p in c.parents if id(p) not in inputs)
    trace["made"] = made
    return outputs, trace


def attach_norms(fn, trace):
    """Put ``fn.step_norms`` on the nodes of its replay (``trace``): each step's cell gets the
    norms of the gradients reaching its new state, the step's hidden-side ops (h W_hh^T, + b)
    and its input projection theirs, the matmul with W_hh^T the norm of that step's share of
    dW_hh (as ``input_norms``, what the edge from the shared weight carries), and the layer's
    projection, split, transposes and output stack their totals. Nodes no recorded norm
    describes keep None."""
    rec = fn.step_norms
    if rec is None:
        return
    w_hh_t, made = trace["w_hh_t"], trace["made"]
    for t, (xw_t, new, out_t, state) in enumerate(trace["cells"]):
        states = [rec.h[t]] + ([] if rec.c is None else [rec.c[t]])
        cell = new[0]._ctx
        cell.grad_norms = [None] * cell.n_out
        for s, norm in zip(new, states):
            cell.grad_norms[s._idx] = norm
        xw_t._ctx.grad_norms = [rec.pre[t]]  # x_t W_ih^T (+ b): a reshape of one split piece
        # the step's other ops lie between the cell and the previous step: h W_hh^T (+ b_hh)
        stack, seen = [cell], {id(cell), id(xw_t._ctx)}
        while stack:
            for p in stack.pop().parents:
                c = p._ctx
                if c is None or id(c) in seen or id(c) not in made or (
                        c.tags or {}).get("step") != cell.tags["step"]:
                    continue  # the caller's own nodes (a decoder's step tags) stay theirs
                seen.add(id(c))
                c.grad_norms = [rec.hidden[t]] * c.n_out
                if len(c.parents) == 2 and c.parents[1] is w_hh_t:
                    c.input_norms = [None, rec.w_hh[t]]
                elif c.name == "add" and c.parents[1]._ctx is None:  # + b_hh (the GRU's)
                    c.input_norms = [None, rec.hidden_bias[t]]
                stack.append(c)
        if out_t is not new[0]:  # padded batches: where(running, new, 0), where(running, new, s)
            out_t._ctx.grad_norms = [rec.out[t]]
            for s, carried in zip(state, rec.carried):
                s._ctx.grad_norms = [carried[t]]
    split = trace["xs"][0]._ctx  # split into steps (unsqueeze for a single step)
    split.grad_norms = list(rec.pre) if split.n_out == len(rec.pre) else [rec.pre[0]]
    xw = trace["xw"]._ctx  # x W_ih^T, or (x W_ih^T) + b
    project = xw if xw.name == "matmul" else xw.parents[0]._ctx
    for c in {split.parents[0]._ctx, xw, project}:
        c.grad_norms = [rec.totals["pre"]]
    for c, key in ((w_hh_t._ctx, "w_hh"), (project.parents[1]._ctx, "w_ih")):
        if c is not None:  # W^T: its gradient is dW^T, the sum over the steps
            c.grad_norms = c.input_norms = [rec.totals[key]]
    flat = project.parents[0]._ctx  # x reshaped to (T*B, I)
    if flat is not None and "x" in rec.totals:
        flat.grad_norms = [rec.totals["x"]]
    if "bias" in rec.totals and xw.name == "add":
        bias = xw.parents[1]._ctx  # b_ih + b_hh, when the kind folds them (LSTM, RNN)
        if bias is not None:
            bias.grad_norms = [rec.totals["bias"]]
    out = trace["output"]._ctx  # the stack: one unsqueeze per step, then cat
    if out is not None and fn.grad_norms:
        out.grad_norms = [fn.grad_norms[0]]
        for t, p in enumerate(out.parents):
            if p._ctx is not None and p._ctx.name == "reshape":
                p._ctx.grad_norms = [rec.out[t]]
