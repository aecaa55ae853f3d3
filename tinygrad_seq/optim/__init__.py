"""Optimizers and learning-rate schedules, as in ``torch.optim``: optimizers.py (SGD, Adam,
AdamW, RMSprop, Adagrad) and lr_scheduler (StepLR, MultiStepLR, ExponentialLR,
CosineAnnealingLR, LambdaLR, LinearLR, SequentialLR from schedules.py; OneCycleLR,
CosineAnnealingWarmRestarts and ReduceLROnPlateau from schedules_cyclic.py), matching PyTorch
step for step."""

from . import lr_scheduler
from .optimizers import SGD, Adagrad, Adam, AdamW, Optimizer, RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler"]
