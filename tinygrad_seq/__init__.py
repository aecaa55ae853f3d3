"""tinygrad_seq: a from-scratch autograd engine for recurrent networks, attention and seq2seq.

``import tinygrad_seq as ts``; then ``ts.tensor``, ``ts.randn``, ``x.backward()`` and friends
work as in PyTorch. docs/autograd.md explains how the engine records the graph and runs backward.

The layers, each importing only those before it:
    backend     numpy or cupy, devices              (backend.py, cuda.py: ``ts.cuda``)
    autograd    graph nodes, the backward pass     (autograd/)
    kernels     the cells' pointwise maths          (kernels/: reference, CPU, CUDA)
    ops         the primitives                      (ops/)
    tensor      Tensor, factories, free functions   (tensor/), with gradcheck.py, serialization.py
    nn, optim   modules, cell kinds, optimizers     (nn/, optim/)
    data, viz   corpora and tasks; drawings         (data/, viz/: reads graphs, never changes them)
    app         the ``tinygrad-seq`` command        (app/: cli, training, bench)
``python -m tinygrad_seq.dev.imports`` checks that no module imports back up this list.
"""

from . import autograd, cuda, nn, optim
from .autograd import (
    ShapeError,
    enable_grad,
    grad,
    graph_tags,
    is_grad_enabled,
    no_grad,
    set_grad_enabled,
)
from .backend import default_device, manual_seed, set_default_device
from .gradcheck import GradcheckError, gradcheck
from .kernels.loops import get_num_threads, set_num_threads
from .serialization import CheckpointError, load, save
from .tensor import Tensor
from .tensor.creation import (
    arange,
    bool_,
    empty,
    eye,
    float32,
    float64,
    full,
    full_like,
    int32,
    int64,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randn,
    randn_like,
    tensor,
    zeros,
    zeros_like,
)
from .tensor.functions import (
    abs,
    all_,
    any_,
    argsort,
    cat,
    ceil,
    chunk,
    clamp,
    clip,
    clone,
    cos,
    cumsum,
    dropout,
    einsum,
    embedding,
    exp,
    flip,
    floor,
    gather,
    isfinite,
    isinf,
    isnan,
    linspace,
    log,
    log_softmax,
    logsumexp,
    masked_select,
    matmul,
    maximum,
    minimum,
    norm,
    pow_,
    prod,
    relu,
    roll,
    round_,
    scatter,
    scatter_add,
    sigmoid,
    sin,
    softmax,
    sort,
    split,
    sqrt,
    stack,
    t,
    tanh,
    topk,
    tril,
    triu,
    where,
)

bool = bool_  # noqa: A001  (ts.bool, as torch.bool; builtins' bool is not used here)
# PyTorch's free functions with builtins' names (nothing in this module uses the builtins)
pow, any, all, round = pow_, any_, all_, round_  # noqa: A001

__version__ = "0.1.0"


def __getattr__(name):
    # ts.viz is imported on first use: it brings graphviz's package (and matplotlib when a
    # plot is drawn), which plain `import tinygrad_seq` must not
    if name == "viz":
        import importlib
        return importlib.import_module(".viz", __name__)
    raise AttributeError(f"module 'tinygrad_seq' has no attribute {name!r}")

__all__ = [
    "Tensor", "tensor", "zeros", "ones", "full", "empty", "randn", "rand", "randint", "arange",
    "eye", "zeros_like", "ones_like", "full_like", "randn_like", "rand_like",
    "float32", "float64", "int32", "int64", "bool_",
    "cat", "stack", "split", "chunk", "where", "maximum", "minimum", "matmul", "exp", "log",
    "sqrt", "tanh", "sigmoid", "relu", "abs", "clip", "clamp", "softmax", "log_softmax",
    "dropout", "embedding", "argsort", "cos", "cumsum", "einsum", "flip", "gather", "isfinite",
    "isinf", "isnan", "linspace", "logsumexp", "masked_select", "norm", "prod", "roll", "sin",
    "sort", "topk", "tril", "triu", "bool", "pow", "any", "all", "round", "clone", "t",
    "scatter", "scatter_add", "floor", "ceil",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "grad", "graph_tags",
    "gradcheck", "GradcheckError", "save", "load", "CheckpointError", "ShapeError",
    "manual_seed", "set_default_device", "default_device", "autograd", "nn", "optim", "cuda",
    "set_num_threads", "get_num_threads",
]
