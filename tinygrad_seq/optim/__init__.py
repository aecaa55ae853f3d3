"""Optimizers and learning-rate schedules, as in ``torch.optim``: optimizers.py (SGD, Adam,
AdamW, RMSprop, Adagrad) and lr_scheduler.py (StepLR, ExponentialLR, CosineAnnealingLR,
LambdaLR), matching PyTorch step for step."""

from . import lr_scheduler
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
