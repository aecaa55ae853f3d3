"""Learning-rate schedules, as in ``torch.optim.lr_scheduler`` (``ts.optim.lr_scheduler``).

A scheduler rewrites ``group['lr']`` of its optimizer's param groups. Creating one performs the
first ``step`` (epoch 0); call ``scheduler.step()`` after ``optimizer.step()`` once per epoch
(``ReduceLROnPlateau.step(metric)`` after each validation). The base class and the fixed
schedules are in schedules.py; the cyclic and metric-driven ones in schedules_cyclic.py.
"""

from .schedules import (
    CosineAnnealingLR,
    ExponentialLR,
    LambdaLR,
    LinearLR,
    LRScheduler,
    MultiStepLR,
    SequentialLR,
    StepLR,
)
from .schedules_cyclic import CosineAnnealingWarmRestarts, OneCycleLR, ReduceLROnPlateau

__all__ = ["LRScheduler", "StepLR", "MultiStepLR", "ExponentialLR", "CosineAnnealingLR",
           "LambdaLR", "LinearLR", "SequentialLR", "OneCycleLR", "CosineAnnealingWarmRestarts",
           "ReduceLROnPlateau"]
