"""`irgrad.multiprocessing`: Python's multiprocessing, plus what tensors need.

Everything of `multiprocessing` is re-exported (Process, Queue, Pipe, Pool, get_context,
set_start_method, ...). On import this module: registers reducers so that tensors sent
between processes travel as plain data (a shared tensor as its segment name, any other
tensor as its values), never as device handles; adds `Tensor.share_memory_()` and
`Tensor.is_shared()`; and makes `os.fork()` safe after the device runtime was used (see
`_fork.py`). `spawn(fn, args, nprocs)` runs fn(i, *args) in several processes.
"""
from __future__ import annotations

import multiprocessing as _mp
from multiprocessing import *  # noqa: F401,F403

from . import _fork, _shared
from .spawn import (spawn, start_processes, ProcessContext, ProcessException,  # noqa: F401
                    ProcessRaisedException, ProcessExitedException)
from ._shared import share_memory_, is_shared  # noqa: F401

__all__ = list(getattr(_mp, "__all__", [])) + [
    "spawn", "start_processes", "ProcessContext", "ProcessException", "ProcessRaisedException",
    "ProcessExitedException", "get_sharing_strategy", "set_sharing_strategy",
    "get_all_sharing_strategies"]

_strategy = ["file_system"]


def get_all_sharing_strategies():
    return {"file_system"}


def get_sharing_strategy():
    return _strategy[0]


def set_sharing_strategy(new_strategy):
    if new_strategy not in get_all_sharing_strategies():
        raise ValueError(f"invalid sharing strategy {new_strategy!r}")
    _strategy[0] = new_strategy


def _install():
    from ..frontend.tensor import Tensor
    Tensor.share_memory_ = share_memory_
    Tensor.is_shared = is_shared
    _shared.install_reducers()
    _fork.install()


_install()
