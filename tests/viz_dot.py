"""Reading ts.viz's DOT source back (nodes, edges, their attributes and clusters) and the small
models the drawing tests draw, for tests/test_viz_features.py and tests/test_viz_gradients.py.
Expected numbers come from numpy, never from the drawing code."""

import re

import numpy as np

import tinygrad_seq as ts
from tinygrad_seq import nn

NODE = re.compile(r'^\s*(\w+) \[label="((?:[^"\\]|\\.)*)"(.*)\]$', re.M)
EDGE = re.compile(r"^\s*(\w+) -> (\w+)(?: \[(.*)\])?$", re.M)
ATTR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|[^\s\]]+)')
# what the shape-only ops are called, by their op names and their PyTorch aliases
SHAPE_NAMES = {"reshape", "view", "permute", "transpose", "squeeze", "unsqueeze", "expand",
               "getitem", "split", "chunk", "cat", "stack"}


# ---- parsing the DOT source -------------------------------------------------------------------

def attrs(text):
    """{name: value} of a DOT attribute list; a repeated name keeps its last value (as dot)."""
    return {k: v[1:-1] if v.startswith('"') else v for k, v in ATTR.findall(text or "")}


def parse(src):
    """({node id: (label lines, attrs)}, [(tail, head, attrs)]), the legend left out."""
    nodes = {i: (label.split("\\n"), attrs(rest)) for i, label, rest in NODE.findall(src)
             if not i.startswith("legend_")}
    edges = [(a, b, attrs(rest)) for a, b, rest in EDGE.findall(src)]
    return nodes, edges


def first(nodes):
    """{node id: the first line of its label}."""
    return {i: lines[0] for i, (lines, _) in nodes.items()}


def named(nodes, name):
    return [i for i, (lines, _) in nodes.items() if lines[0] == name]


def leaves(nodes):
    """The user's leaves that require grad (their tooltips say so)."""
    return [i for i, (_, a) in nodes.items() if a.get("tooltip", "").startswith("leaf:")]


def step_of(nodes, i):
    m = re.search(r"step=(\d+)", nodes[i][1].get("tooltip", ""))
    return None if m is None else int(m.group(1))


def cluster_members(src):
    """{node id: [the clusters it is drawn in, outermost first]}."""
    stack, found = [], {}
    for line in src.splitlines():
        m = re.match(r"\s*subgraph (\w+) \{", line)
        if m:
            stack.append(m.group(1))
        elif line.strip() == "}":
            if stack:
                stack.pop()
        else:
            m = re.match(r'\s*(\w+) \[label=', line)
            if m:
                found[m.group(1)] = list(stack)
    return found


def graph_label(src):
    m = re.search(r'^\s*graph \[[^\n]*?label="([^"]*)"', src, re.M)
    return None if m is None else m.group(1)


def to_bytes(text):
    number, unit = text.split()
    return float(number) * {"B": 1, "KB": 1024, "MB": 1024 ** 2, "GB": 1024 ** 3}[unit]


def grad_norm_in(lines):
    got = [float(s.split("= ")[1]) for s in lines if s.startswith("|g| = ")]
    assert len(got) == 1, lines
    return got[0]


def triple(text):
    m = re.fullmatch(r"(?:= |grad )?min (\S+) / mean (\S+) / max (\S+)", text)
    assert m is not None, text
    return [float(v) for v in m.groups()]


# ---- models -----------------------------------------------------------------------------------

def lstm(steps=5, batch=2, **kw):
    ts.manual_seed(0)
    layer = nn.LSTM(3, 4, **kw)
    x = ts.randn(steps, batch, 3)
    out, state = layer(x)
    return layer, x, out, state


def numpy_rnn(layer, x):
    """A hand-written forward and BPTT of ``nn.RNN(3, H)`` (tanh) for loss = out.sum(), in
    float64: the gradients and each step's contribution to dW_hh."""
    w_ih, w_hh = layer.weight_ih_l0.numpy(), layer.weight_hh_l0.numpy()
    b = layer.bias_ih_l0.numpy() + layer.bias_hh_l0.numpy()
    xs = x.numpy()
    hs = [np.zeros((xs.shape[1], w_hh.shape[0]))]
    for x_t in xs:
        hs.append(np.tanh(x_t @ w_ih.T + b + hs[-1] @ w_hh.T))
    d_w_ih, d_b, d_x = np.zeros_like(w_ih), np.zeros_like(b), np.zeros_like(xs)
    shares, carried = [None] * len(xs), np.zeros_like(hs[0])
    for t in reversed(range(len(xs))):
        d_pre = (1 + carried) * (1 - hs[t + 1] ** 2)
        shares[t] = d_pre.T @ hs[t]  # dL/dW_hh from step t alone
        d_w_ih += d_pre.T @ xs[t]
        d_b += d_pre.sum(0)
        d_x[t] = d_pre @ w_ih
        carried = d_pre @ w_hh
    return dict(w_ih=d_w_ih, w_hh=sum(shares), b=d_b, x=d_x, shares=shares)


def rnn_with_grads(steps=5):
    ts.manual_seed(0)
    layer = nn.RNN(3, 4, dtype="float64")
    x = ts.randn(steps, 2, 3, dtype="float64", requires_grad=True)
    out, _ = layer(x)
    loss = out.sum()
    with ts.autograd.record_grad_norms():
        loss.backward()
    return layer, x, loss
