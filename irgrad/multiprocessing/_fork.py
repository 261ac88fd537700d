"""Making `os.fork()` safe for a process that has used irgrad's device runtime.

IREE's CPU driver runs work on a thread pool; a forked child has none of those threads, so
any graph it runs on the inherited device waits forever. Registered with
`os.register_at_fork`: before a fork, the parent finishes its queued device work (so no
buffer the child inherits is still being written); in the child, the device table and the
executable cache are emptied and the CPU device is re-created on IREE's synchronous driver,
and the compiler-worker client forgets the parent's compiler process. The parent's old
device objects are kept alive, never destroyed, in the child (destroying them would try to
join threads that do not exist there); buffers made by the parent stay readable.
"""
from __future__ import annotations

import os

_registered = [False]


def synchronize_devices() -> None:
    """Finish all queued device work of this process."""
    from ..runtime import device as devices
    devices.synchronize_all()


def reset_runtime_after_fork() -> None:
    """Give this (just forked) process its own device runtime and compiler worker."""
    from ..frontend import realize
    from ..lowering.worker_client import WORKER
    from ..runtime import device as devices
    realize.reset_after_fork()
    devices.reset_after_fork()
    WORKER.reset_after_fork()


def install() -> None:
    if not _registered[0] and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=synchronize_devices, after_in_child=reset_runtime_after_fork)
        _registered[0] = True
