"""The pointwise maths of the recurrent cells, forward and backward, written once on ``xp``
arrays with every output preallocated (``out=`` arguments), so that a whole-sequence op can
write straight into its buffers. This module is the reference implementation of the kernel
interface (interface.py): it runs on any array module, and the compiled kernels (host.py on
the CPU, cuda.py on a GPU) must agree with it (tests/test_kernels.py).

Shapes: B batch, H hidden. Gate blocks follow PyTorch: LSTM (i, f, g, o), GRU (r, z, n).
Sigmoid is 0.5 * tanh(x / 2) + 0.5: it never overflows, and for the LSTM one tanh over all
four blocks (scaled by 1/2, 1/2, 1, 1/2) serves the three sigmoids and the tanh at once. The
backward passes rebuild the activations' derivatives from the activations, so a forward saves
nothing it need not.
"""

from __future__ import annotations

_consts = {}


def _lstm_consts(xp, n, dtype):
    """Per-block scale s = (1/2, 1/2, 1, 1/2) and shift (1/2, 1/2, 0, 1/2): each gate's
    activation is s * tanh(s * a) + shift (sigmoid for i, f, o; tanh for g)."""
    key = (xp.__name__, n, dtype)
    if key not in _consts:
        scale = xp.full(4 * n, 0.5, dtype=dtype)
        scale[2 * n:3 * n] = 1
        shift = xp.full(4 * n, 0.5, dtype=dtype)
        shift[2 * n:3 * n] = 0
        _consts[key] = (scale, shift)
    return _consts[key]


def lstm_cell_forward(xp, gates, c, act, c_new, tc, h, rec=None):
    """c' = f * c + i * g,  h' = o * tanh(c').  In: gates (B, 4H), the pre-activations (plus
    ``rec``, the recurrent term h W_hh^T, when given), c (B, H). Out (written): act, the gate
    activations (B, 4H; it may be ``gates`` itself, overwritten in place), c_new,
    tc = tanh(c') and h. The backward needs only act, c and tc."""
    n = c.shape[-1]
    scale, shift = _lstm_consts(xp, n, gates.dtype)
    if rec is not None:
        xp.add(gates, rec, out=act)
        gates = act
    xp.multiply(gates, scale, out=act)
    xp.tanh(act, out=act)
    act *= scale
    act += shift
    i, f, g, o = act[:, :n], act[:, n:2 * n], act[:, 2 * n:3 * n], act[:, 3 * n:]
    xp.multiply(f, c, out=c_new)
    c_new += i * g
    xp.tanh(c_new, out=tc)
    xp.multiply(o, tc, out=h)


def lstm_cell_backward(xp, act, c, tc, dh, dc, d_gates, d_c):
    """From dh (B, H) and dc (B, H) (the gradients of h' and c'; None for zero) write the
    gradient of the gates into d_gates (B, 4H) and of the previous cell state into d_c. The
    activations' derivatives come from the activations: s' = s (1 - s), tanh' = 1 - g^2."""
    n = c.shape[-1]
    i, f, g, o = act[:, :n], act[:, n:2 * n], act[:, 2 * n:3 * n], act[:, 3 * n:]
    if dc is None:
        d_c[...] = 0
    else:
        d_c[...] = dc
    if dh is None:
        d_gates[:, 3 * n:] = 0
    else:
        d_c += dh * o * (1 - tc * tc)
        xp.multiply(dh, tc, out=d_gates[:, 3 * n:])  # output gate
    xp.multiply(d_c, g, out=d_gates[:, :n])  # input gate
    xp.multiply(d_c, c, out=d_gates[:, n:2 * n])  # forget gate
    xp.multiply(d_c, i, out=d_gates[:, 2 * n:3 * n])  # candidate
    slope = act * (1 - act)  # the sigmoid gates' derivative...
    slope[:, 2 * n:3 * n] = 1 - g * g  # ...and the candidate's tanh'
    d_gates *= slope
    d_c *= f


def gru_cell_forward(xp, gi, gh, h, rz, n_out, h_new):
    """PyTorch's GRU: r, z = sigmoid(gi + gh) on the first two blocks,
    n = tanh(gi_n + r * gh_n), h' = n + z * (h - n).  gi, gh (B, 3H), h (B, H).
    Out: rz (B, 2H), n_out (B, H), h_new (B, H); rz and n_out may be gi's own blocks (the
    sequence op overwrites its projections in place), so gi is read before it is written."""
    m = h.shape[-1]
    xp.add(gi[:, :2 * m], gh[:, :2 * m], out=rz)
    rz *= 0.5
    xp.tanh(rz, out=rz)
    rz *= 0.5
    rz += 0.5
    r, z = rz[:, :m], rz[:, m:]
    xp.add(gi[:, 2 * m:], r * gh[:, 2 * m:], out=n_out)
    xp.tanh(n_out, out=n_out)
    xp.subtract(h, n_out, out=h_new)
    h_new *= z
    h_new += n_out


def gru_cell_backward(xp, rz, n, ghn, h, dh_new, d_gi, d_gh, d_h):
    """From dh_new (B, H) write the gradients of gi and gh (B, 3H) and of h (B, H)."""
    m = h.shape[-1]
    r, z = rz[:, :m], rz[:, m:]
    dn = dh_new * (1 - z) * (1 - n * n)
    xp.multiply(dn * ghn, r * (1 - r), out=d_gi[:, :m])
    xp.multiply(dh_new * (h - n), z * (1 - z), out=d_gi[:, m:2 * m])
    d_gi[:, 2 * m:] = dn
    d_gh[:, :2 * m] = d_gi[:, :2 * m]
    xp.multiply(dn, r, out=d_gh[:, 2 * m:])
    xp.multiply(dh_new, z, out=d_h)


def rnn_cell_forward(xp, pre, h, relu=False, rec=None):
    """h' = tanh(pre) or relu(pre), written into h; ``pre`` plus ``rec`` (the recurrent term)
    when given."""
    if rec is not None:
        xp.add(pre, rec, out=h)
        pre = h
    if relu:
        xp.maximum(pre, 0, out=h)
    else:
        xp.tanh(pre, out=h)


def rnn_cell_backward(xp, h, dh, d_pre, relu=False):
    """d pre = dh * (1 - h^2) for tanh, dh * (h > 0) for relu, written into d_pre."""
    if relu:
        xp.multiply(dh, h > 0, out=d_pre)
    else:
        xp.multiply(dh, 1 - h * h, out=d_pre)


def log_softmax(xp, x, axis):
    """x - max - log(sum(exp(x - max))) along ``axis``: never overflows."""
    z = x - x.max(axis=axis, keepdims=True)
    return z - xp.log(xp.exp(z).sum(axis=axis, keepdims=True))


def log_softmax_backward(xp, g, out, axis):
    """d/dx of log_softmax: g - softmax * sum(g), with softmax = exp(out)."""
    return g - xp.exp(out) * g.sum(axis=axis, keepdims=True)


def softmax(xp, x, axis):
    """exp(x - max) / sum(exp(x - max)) along ``axis``: never overflows."""
    e = xp.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def softmax_backward(xp, g, y, axis):
    """d/dx of softmax, from y = softmax(x): y (g - sum(g y))."""
    return y * (g - (g * y).sum(axis=axis, keepdims=True))
