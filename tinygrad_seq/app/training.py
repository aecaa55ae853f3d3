"""Training and evaluating sequence-to-sequence models on the synthetic tasks in one call.

    from tinygrad_seq.app.training import train_task
    result = train_task("reverse", attention="dot", steps=3000)
    print(result.accuracy, result.by_length)

The same is ``tinygrad-seq train --task reverse`` on the command line.
"""

from __future__ import annotations

import dataclasses
import time

import numpy

from .. import optim
from ..autograd import no_grad
from ..backend import manual_seed
from ..data.tasks import accuracy_by_length, exact_match, make_task
from ..nn import functional as F
from ..nn.decoding import beam_search, greedy
from ..nn.seq2seq import PAD, Seq2Seq, TeacherForcing
from ..nn.utils import clip_grad_norm_
from ..tensor import Tensor


@dataclasses.dataclass
class Result:
    accuracy: float  # exact match on the held-out set
    by_length: dict  # source length -> exact match
    losses: list  # training loss per step
    model: Seq2Seq
    task: object
    seconds: float
    examples: list  # a few (source, prediction, target) triples
    config: dict = None  # the model's constructor arguments (Seq2Seq's keywords)


def loss_on(model, batch, teacher_forcing=1.0, rng=None):
    """Mean cross-entropy of the next target token, padding ignored."""
    logits, _ = model(Tensor(batch.src), batch.src_lengths, Tensor(batch.tgt_in),
                      teacher_forcing, rng)
    vocab = logits.shape[-1]
    return F.cross_entropy(logits.reshape(-1, vocab), Tensor(batch.tgt_out).reshape(-1),
                           ignore_index=PAD)


def train(model, task, steps=2000, batch_size=64, lr=3e-3, teacher_forcing=None, clip=1.0,
          seed=0, exclude=None, log=None, log_every=100, progress=False):
    """Adam on fresh random batches, the learning rate annealed to zero along a cosine (which
    settles the last few errors that a constant rate keeps bouncing around); returns the loss
    of every step. ``progress``: a tqdm bar with the loss (``log`` then writes above it)."""
    bar = None
    if progress:
        from tqdm import tqdm  # a dependency, imported when a bar is wanted
        bar = tqdm(total=steps, unit="step", dynamic_ncols=True)
        log = bar.write if log is not None else None
    try:
        return _train(model, task, steps, batch_size, lr, teacher_forcing, clip, seed, exclude,
                      log, log_every, bar)
    finally:
        if bar is not None:
            bar.close()


def _train(model, task, steps, batch_size, lr, teacher_forcing, clip, seed, exclude, log,
           log_every, bar):
    rng = numpy.random.default_rng(seed)
    schedule = teacher_forcing if teacher_forcing is not None else TeacherForcing()
    opt = optim.Adam(model.parameters(), lr=lr)
    anneal = optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    losses = []
    model.train()
    for step in range(steps):
        batch = task.batch(batch_size, rng, exclude=exclude)
        loss = loss_on(model, batch, schedule(step), rng)
        opt.zero_grad()
        loss.backward()
        if clip:
            clip_grad_norm_(model.parameters(), clip)
        opt.step()
        anneal.step()
        losses.append(loss.item())
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.4f}", refresh=False)
        if log is not None and (step + 1) % log_every == 0:
            recent = numpy.mean(losses[-log_every:])
            log(f"step {step + 1:5d}  loss {recent:.4f}  teacher forcing {schedule(step):.2f}")
    return losses


@no_grad()
def predict(model, task, sources, method="greedy", beam_width=5, batch_size=256):
    """Decoded strings for a list of source strings."""
    model.eval()
    out = []
    for start in range(0, len(sources), batch_size):
        chunk = sources[start:start + batch_size]
        batch = task.batches_from([(s, "") for s in chunk], len(chunk))[0]
        src, lengths = Tensor(batch.src), batch.src_lengths
        max_len = task.max_target_len + 2
        if method == "greedy":
            hyps = greedy(model, src, lengths, max_len)
        elif method == "beam":
            hyps = beam_search(model, src, lengths, beam_width, max_len)
        else:
            raise ValueError(f"predict: unknown method {method!r}; use 'greedy' or 'beam'")
        out += [task.tgt_vocab.decode(h[0].tokens) for h in hyps]
    return out


KIND = "tinygrad-seq seq2seq"  # what a checkpoint of ``tinygrad-seq train`` says it is


def checkpoint(result, name, config):
    """What ``train --save`` writes: the task's name, the model's constructor arguments and
    its weights, so ``translate`` rebuilds it from the file alone."""
    return dict(kind=KIND, task=name, config=config, model=result.model.state_dict())


def load_model(path):
    """(model, task) from a ``train --save`` checkpoint, or a one-line error."""
    from .. import serialization
    ckpt = serialization.load(path)
    if not isinstance(ckpt, dict) or ckpt.get("kind") != KIND:
        held = ckpt.get("kind", "a state dict") if isinstance(ckpt, dict) else type(ckpt).__name__
        raise ValueError(f"{path} is not a seq2seq checkpoint of tinygrad-seq train (it holds "
                         f"{held})")
    task = make_task(ckpt["task"])
    model = Seq2Seq(len(task.src_vocab), len(task.tgt_vocab), **ckpt["config"])
    model.load_state_dict(ckpt["model"])
    return model, task


def train_task(name, attention="dot", cell="gru", steps=2000, batch_size=64, hidden_size=128,
               embed_size=64, layers=1, bidirectional=True, lr=3e-3, teacher_forcing=None,
               heldout=1000, seed=0, method="greedy", beam_width=5, log=None,
               task_options=None, progress=False):
    """Build the task and a Seq2Seq model, train, and report exact match on held-out data."""
    manual_seed(seed)
    task = make_task(name, **(task_options or {}))
    pairs = task.heldout(heldout, seed=seed + 1)
    config = dict(embed_size=embed_size, hidden_size=hidden_size, cell=cell, num_layers=layers,
                  bidirectional=bidirectional, attention=attention)
    model = Seq2Seq(len(task.src_vocab), len(task.tgt_vocab), **config)
    start = time.time()
    losses = train(model, task, steps, batch_size, lr, teacher_forcing, seed=seed,
                   exclude={s for s, _ in pairs}, log=log, progress=progress)
    sources, targets = [s for s, _ in pairs], [t for _, t in pairs]
    predictions = predict(model, task, sources, method, beam_width)
    return Result(exact_match(predictions, targets),
                  accuracy_by_length(sources, predictions, targets), losses, model, task,
                  time.time() - start, list(zip(sources, predictions, targets))[:5], config)
