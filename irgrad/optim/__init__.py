"""`irgrad.optim`: PyTorch's optimizers and schedulers, with the update compiled into the
training step's graph (see optimizer.py)."""
from . import lr_scheduler
from .optimizer import Optimizer, realize_with_next_step
from .sgd import SGD
from .adam import Adam
from .adamw import AdamW
from .rmsprop import RMSprop

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "lr_scheduler",
           "realize_with_next_step"]
