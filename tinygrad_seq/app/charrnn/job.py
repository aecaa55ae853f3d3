"""Training a CharRNN with truncated BPTT, and sampling it.

The training stream is cut into ``batch_size`` columns and walked ``seq_len`` characters at a
time; the state is carried from one chunk to the next and detached (docs/bptt.md), and reset
when the walk wraps around. Every ``eval_every`` steps: the validation loss, a sample, and a
checkpoint, written atomically to ``out/checkpoint.npz`` (also at the end and on Ctrl-C). A
checkpoint holds everything the next step depends on (weights, optimizer moments, the carried
state, where the walk is, the random generator), so ``resume`` continues bit for bit: 2 x 50
steps with a resume in between give the same weights as 100 steps.
"""

from __future__ import annotations

import dataclasses
import math
import os
import time

import numpy

from ... import backend, optim, serialization
from ...autograd import no_grad
from ...data import batchify
from ...nn import functional as F
from ...nn.utils import clip_grad_norm_
from ...tensor import Tensor
from .corpus import Corpus, load_text
from .model import CharRNN

KIND = "tinygrad-seq charrnn"  # what a checkpoint of this job says it is
CHECKPOINT = "checkpoint.npz"


@dataclasses.dataclass
class TrainConfig:
    """Every option of ``charrnn train`` (the command line shows these defaults)."""

    text: str | None = None  # a file or folder; None: the Python standard library's source
    model: str = "lstm"
    hidden: int = 256
    layers: int = 1
    dropout: float = 0.0
    seq_len: int = 64
    batch_size: int = 32
    lr: float = 2e-3
    steps: int = 2000
    clip: float = 5.0
    eval_every: int = 200
    seed: int = 0
    prime: str = "def "
    temperature: float = 0.8
    sample_length: int = 200
    out: str = "charrnn"
    device: str = "cpu"

    def check(self):
        for name in ("hidden", "layers", "seq_len", "batch_size", "steps", "eval_every",
                     "sample_length"):
            if getattr(self, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be at least 1, got "
                                 f"{getattr(self, name)}")
        for name in ("lr", "clip", "temperature"):
            if not getattr(self, name) > 0:
                raise ValueError(f"--{name} must be positive, got {getattr(self, name)}")
        if not 0 <= self.dropout < 1:
            raise ValueError(f"--dropout must be in [0, 1), got {self.dropout}")


class _Run:
    """A model, its optimizer, the data and where training stands: what a checkpoint holds."""

    def __init__(self, config, corpus):
        self.config, self.corpus = config, corpus
        backend.manual_seed(config.seed)
        self.model = CharRNN(len(corpus.chars), config.model, config.hidden, config.layers,
                             config.dropout).to(config.device)
        self.opt = optim.Adam(self.model.parameters(), lr=config.lr)
        self.data = batchify(corpus.train, config.batch_size)  # (N, B)
        if self.data.shape[0] < 2:
            raise ValueError(f"--batch-size {config.batch_size} leaves fewer than 2 characters "
                             f"per column of the {len(corpus.train)}-character training text")
        self.step, self.position, self.state, self.history = 0, 0, None, []
        self.samples = []  # (step, text) at each evaluation

    def chunk(self):
        """The next (input, target) chunk; the state resets when the walk wraps around."""
        start = self.position
        if start >= self.data.shape[0] - 1:
            start, self.state = 0, None
        end = min(start + self.config.seq_len, self.data.shape[0] - 1)
        self.position = end
        device = self.config.device
        return (Tensor(self.data[start:end], device=device),
                Tensor(self.data[start + 1:end + 1], device=device))

    def train_step(self):
        x, y = self.chunk()
        logits, state = self.model(x, self.state)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        self.opt.zero_grad()
        loss.backward()
        clip_grad_norm_(self.model.parameters(), self.config.clip)
        self.opt.step()
        self.state = tuple(s.detach() for s in state) if isinstance(state, tuple) \
            else state.detach()
        self.step += 1
        return float(loss.item())

    # ---- checkpoints ------------------------------------------------------------------------
    def save(self, path):
        state = self.state if isinstance(self.state, tuple) or self.state is None \
            else (self.state,)
        serialization.save(dict(
            kind=KIND, config=dataclasses.asdict(self.config), chars=self.corpus.chars,
            model=self.model.state_dict(), optimizer=self.opt.state_dict(), step=self.step,
            position=self.position, state=None if state is None else list(state),
            rng=_rng_state(), history=self.history, samples=self.samples), path)

    def restore(self, ckpt):
        self.model.load_state_dict(ckpt["model"])
        self.opt.load_state_dict(ckpt["optimizer"])
        self.step, self.position = ckpt["step"], ckpt["position"]
        self.history = [tuple(h) for h in ckpt["history"]]
        self.samples = [tuple(s) for s in ckpt["samples"]]
        state = ckpt["state"]
        if state is not None:
            state = tuple(Tensor(numpy.asarray(s), device=self.config.device) for s in state)
            self.state = state if len(state) > 1 else state[0]
        backend.rng().bit_generator.state = _decode_rng(ckpt["rng"])


def _rng_state():
    # JSON-able: the generator's 128-bit integers as decimal strings
    s = backend.rng().bit_generator.state
    return dict(bit_generator=s["bit_generator"], state=str(s["state"]["state"]),
                inc=str(s["state"]["inc"]), has_uint32=s["has_uint32"], uinteger=s["uinteger"])


def _decode_rng(d):
    return dict(bit_generator=d["bit_generator"], has_uint32=d["has_uint32"],
                uinteger=d["uinteger"], state=dict(state=int(d["state"]), inc=int(d["inc"])))


def load_checkpoint(path):
    """A checkpoint of this job, or a one-line error saying why ``path`` is not one."""
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such checkpoint")
    ckpt = serialization.load(path)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != KIND:
        held = ckpt.get("kind", "a state dict") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(f"{path} is not a charrnn checkpoint (it holds {held})")
    return ckpt


def _device(model):
    return backend.device_of(next(iter(model.parameters())).data)


@no_grad()
def validation_loss(model, corpus, seq_len=256, batch=16):
    model.eval()
    device = _device(model)
    data = batchify(corpus.val, min(batch, max(len(corpus.val) // 2, 1)))
    total, count, state = 0.0, 0, None
    for start in range(0, data.shape[0] - 1, seq_len):
        end = min(start + seq_len, data.shape[0] - 1)
        logits, state = model(Tensor(data[start:end], device=device), state)
        y = Tensor(data[start + 1:end + 1], device=device)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1))
        total, count = total + float(loss.item()) * y.numel(), count + y.numel()
    model.train()
    return total / max(count, 1)


def train(config: TrainConfig, resume=False, log=print, progress=False, report=True):
    """Train (or continue the checkpoint in ``config.out``); returns the final _Run.
    ``progress``: a tqdm bar with the loss, bits per character and characters per second;
    ``report``: write report.html (graph, loss curves, gradient flow, samples) at the end."""
    config.check()
    path = os.path.join(config.out, CHECKPOINT)
    ckpt = load_checkpoint(path) if resume else None
    if ckpt is not None:
        config = dataclasses.replace(TrainConfig(**ckpt["config"]), steps=config.steps,
                                     device=config.device)
    text, source = load_text(config.text)
    corpus = Corpus(text, chars=None if ckpt is None else ckpt["chars"])
    run = _Run(config, corpus)
    if ckpt is not None:
        run.restore(ckpt)
        log(f"resumed {path} at step {run.step}")
    os.makedirs(config.out, exist_ok=True)
    log(f"{len(text):,} characters from {source}; {len(corpus.chars)} distinct; "
        f"{sum(p.numel() for p in run.model.parameters()):,} parameters")
    start, chars, losses = time.perf_counter(), 0, []
    bar = _progress(run.step, config.steps) if progress else None
    if bar is not None:
        log = bar.write  # lines above the bar, not through it
    try:
        while run.step < config.steps:
            losses.append(run.train_step())
            chars += config.seq_len * config.batch_size
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}",
                                bpc=f"{losses[-1] / math.log(2):.2f}",
                                chars_s=f"{chars / (time.perf_counter() - start):,.0f}",
                                refresh=False)
            if run.step % config.eval_every == 0 or run.step == config.steps:
                val = validation_loss(run.model, corpus)
                train_loss = sum(losses) / len(losses)
                run.history.append((run.step, train_loss, val))
                speed = chars / (time.perf_counter() - start)
                log(f"step {run.step}: train {train_loss:.3f} ({train_loss / math.log(2):.2f} "
                    f"bits/char), val {val:.3f}, {speed:,.0f} chars/s")
                text = sample_text(run.model, corpus, config.prime, config.sample_length,
                                   config.temperature, seed=run.step)
                run.samples.append((run.step, text))
                log("  " + repr(text))
                run.save(path)
                losses = []
    except KeyboardInterrupt:
        run.save(path)
        log(f"interrupted: saved {path} at step {run.step}")
        raise
    finally:
        if bar is not None:
            bar.close()
    if run.history:
        _plot_history(run.history, os.path.join(config.out, "loss.png"), log)
    if report:
        from .report import write_report
        write_report(run, config.out, log)
    return run


def _progress(done, total):
    from tqdm import tqdm  # a dependency, imported when a bar is wanted
    return tqdm(total=total, initial=done, unit="step", dynamic_ncols=True)


def _plot_history(history, path, log):
    try:
        import matplotlib
    except ImportError:
        log("(no matplotlib, the viz extra: the loss curves are not drawn)")
        return
    matplotlib.use("Agg")
    from matplotlib import pyplot
    steps, train_loss, val = zip(*history)
    fig, ax = pyplot.subplots(figsize=(6, 3.5))
    ax.plot(steps, train_loss, label="train")
    ax.plot(steps, val, label="validation")
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats per character)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    pyplot.close(fig)
    log(f"loss curves: {path}")


@no_grad()
def sample_text(model, corpus, prime="", length=200, temperature=0.8, seed=0):
    """``prime`` followed by ``length`` characters drawn from the model (its own generator:
    sampling never moves the training's random state)."""
    rng = numpy.random.default_rng(seed)
    was = model.training
    model.eval()
    device = _device(model)
    ids = corpus.encode(prime) or [int(rng.integers(len(corpus.chars)))]
    logits, state = model(Tensor(numpy.array(ids, dtype=numpy.int64)[:, None], device=device))
    out = []
    for _ in range(length):
        p = (logits[-1, 0] / temperature).softmax(-1).numpy().astype(numpy.float64)
        token = int(rng.choice(len(p), p=p / p.sum()))
        out.append(token)
        logits, state = model(Tensor(numpy.array([[token]], dtype=numpy.int64), device=device),
                              state)
    model.train(was)
    return prime + corpus.decode(out)


def sample(checkpoint, prime="", length=500, temperature=0.8, seed=0, device="cpu"):
    """Text from a saved model: rebuilt from the checkpoint's config alone."""
    ckpt = load_checkpoint(checkpoint)
    config = ckpt["config"]
    corpus = Corpus(ckpt["chars"] * 2, chars=ckpt["chars"])  # the characters, no text needed
    model = CharRNN(len(ckpt["chars"]), config["model"], config["hidden"], config["layers"],
                    config["dropout"])
    model.load_state_dict(ckpt["model"])
    model.to(device)
    return sample_text(model, corpus, prime, length, temperature, seed)
