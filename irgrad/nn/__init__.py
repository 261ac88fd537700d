"""irgrad.nn: PyTorch's neural-network API (modules, functional, init, utils) on irgrad.

Layers keep PyTorch's parameter names, layouts and default initialization, so a PyTorch
model's `state_dict` loads unchanged and computes the same outputs.
"""
from .modules import *  # noqa: F401,F403
from .modules import __all__ as _modules_all
from .modules.parameter import Parameter
from . import functional, init, utils  # noqa: F401

__all__ = [*_modules_all, "Parameter", "functional", "init", "utils"]
