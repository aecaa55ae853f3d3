"""What a recurrent cell kind (RNN, LSTM, GRU, MGU, ...) says about itself, in one place.

A ``CellKind`` is the single source of every fact about a kind that the rest of the package
reads: the layers and cells (layer.py, cell.py) run its ``step`` and ``sequence``; viz draws
its ``equations``, state and output names and the ``template`` of its fused op; the command
line, seq2seq models and plots list the registered kinds (``nn.recurrent.KINDS``). A kind file
(rnn.py, lstm.py, gru.py, mgu.py) holds the kind, its step's maths, its layer and its cell.

A step sees ``xw``, the input projection x W_ih^T + b_ih (+ b_hh when ``fold_hidden_bias``),
the state (a tuple, one tensor per name in ``states``) and ``StepWeights``; it returns the new
state, whose first tensor is the step's output.
"""

from __future__ import annotations

from collections import namedtuple

from ...tensor import Tensor

StepWeights = namedtuple("StepWeights", "hh_t bias_hh extra")
StepWeights.__doc__ = ("W_hh^T (H, G*H); b_hh, or None when folded into xw or absent; extra "
                       "parameters of the kind by name (e.g. weight_peephole)")

LAYER_OPTIONS = ("fused", "unroll", "residual", "dtype")  # what every recurrent layer takes


class CellKind:
    """The facts of one kind; subclasses set the attributes and write ``step``."""

    name = ""  # the lower-case spelling of configs and the command line: "lstm"
    title = ""  # the class-name spelling: "LSTM"
    description = ""  # a legend's words: "vanilla RNN (tanh)"
    states = ("h",)  # what a step carries; the first is its output
    gates = ()  # the row blocks of W_ih and W_hh, in order (PyTorch's for its kinds)
    forget_gate = None  # the gate whose bias opens the memory (Gers et al. 2000), if any
    options = {}  # the kind's own constructor options and their defaults
    fold_hidden_bias = True  # b_hh is added to the input projection; False: the step needs it
    equations = ""  # the step in plain text, lines split by "\n" (drawings, docs)
    cell_op = None  # the fused one-step primitive (ops), or None: steps are composed
    sequence_op = None  # the whole-sequence primitive (ops), or None: layers are unrolled
    # whether a layer may project h (proj_size, h = W_hr h): only where h is not mixed back
    # into the kind's own state, as the LSTM's c is kept apart (PyTorch allows only the LSTM)
    projection = False
    # the fused op drawn opened up: (node, label, inputs), "inK" being the op's K-th operand;
    # the nodes named like ``states`` give the outputs
    template = ()
    layer = cell = None  # the module classes, set by the kind's file

    # ---- options and parameters ---------------------------------------------------------------
    def check(self, who, given: dict) -> dict:
        """The kind's options from ``given`` (a constructor's keywords) with defaults filled
        in; an option of another kind, or a bad value, is a clear error naming ``who``."""
        unknown = [k for k in given if k not in self.options]
        if unknown:
            own = ", ".join(self.options) or "none"
            raise TypeError(f"{who}: unknown option {unknown[0]!r} (the {self.title} options are: "
                            f"{own}; every recurrent layer also takes "
                            f"{', '.join(LAYER_OPTIONS)})")
        options = {**self.options, **given}
        self.validate(who, options)
        return options

    def validate(self, who, options):
        """Raise ValueError for a bad option value (subclasses with options that have one)."""

    def gate_names(self, options) -> tuple:
        """The gate blocks under these options (the coupled LSTM has no input gate)."""
        return self.gates

    def gate_slice(self, gate, hidden, options=None) -> slice:
        """The rows of ``gate``'s block in W_ih, W_hh, b_ih and b_hh."""
        k = self.gate_names(options or self.options).index(gate)
        return slice(k * hidden, (k + 1) * hidden)

    def extra_parameters(self, hidden, options) -> dict:
        """Parameters beyond W_ih, W_hh, b_ih, b_hh: {name: shape}."""
        return {}

    # ---- computing ----------------------------------------------------------------------------
    def step(self, xw, state, weights, options, fused):
        """One step: the new state tuple (see the module docstring)."""
        raise NotImplementedError

    def sequence(self, x, state, params, options, reverse, keep):
        """All steps of one layer direction as one node: ``(outputs, *final state)``, or None
        when the kind has no whole-sequence op for these options (the layer then unrolls).
        ``params`` is [W_ih, W_hh] (+ [b_ih, b_hh]); x is (T, B, I)."""
        return None

    # ---- names ----------------------------------------------------------------------------------
    def output(self, state):
        """What a cell module returns for a state tuple: the tuple, or its one tensor."""
        return state if len(self.states) > 1 else state[0]

    def step_outputs(self) -> tuple:
        """Names of the fused op's outputs: h', c'."""
        return tuple(f"{s}'" for s in self.states)

    def sequence_outputs(self) -> tuple:
        """Names of the whole-sequence op's outputs: out, h_n, c_n."""
        return ("out",) + tuple(f"{s}_n" for s in self.states)

    def __repr__(self):
        return f"<cell kind {self.name}>"


def changed(module, defaults) -> str:
    """``, key=value`` for each of ``defaults`` (pairs) that ``module`` has changed: the end
    of a layer's or a cell's repr."""
    text = ""
    for key, default in defaults:
        value = getattr(module, key)
        if value != default:
            text += f", {key}={value!r}" if isinstance(value, str) else f", {key}={value}"
    return text


def check_floating(who, what, t):
    """A clear TypeError naming ``who`` unless ``t`` is a floating-point tensor: the cells'
    maths has no integer form, and NumPy would fail deep inside a matmul (or quietly compute
    in float64) instead."""
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}: {what} must be a tensor, got {type(t).__name__}")
    if t.dtype.kind != "f":
        raise TypeError(f"{who}: {what} must be a floating-point tensor, got {t.dtype}; convert "
                        f"it with .float()")


def check_sizes(layer, input_size, hidden_size, **extra):
    for name, value in (("input_size", input_size), ("hidden_size", hidden_size)):
        if not isinstance(value, int) or value <= 0:
            raise ValueError(f"{layer}: {name} must be a positive integer, got {value!r}")
    for name, value in extra.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{layer}: {name} must be at least 1, got {value!r}")
