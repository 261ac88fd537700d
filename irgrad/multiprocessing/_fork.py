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
import threading

_stash = []          # the parent's runtime objects, kept alive in a child
_registered = [False]


def synchronize_devices() -> None:
    """Finish all queued device work of this process."""
    try:
        from ..runtime import device as devices
    except ImportError:
        return
    for dev in list(getattr(devices, "_devices", {}).values()):
        sync = getattr(dev, "synchronize", None)
        if sync is not None:
            try:
                sync()
            except Exception:
                pass


def reset_runtime_after_fork() -> None:
    """Give this (just forked) process its own device runtime and compiler worker."""
    from ..frontend import realize
    from ..lowering import worker_client
    from ..runtime import device as devices
    cache = getattr(realize, "_memory_cache", None)
    if cache:
        _stash.append(dict(cache))
        cache.clear()
    original = getattr(devices, "_irgrad_original_driver", None) or devices.driver

    def driver(name):
        d = original(name)
        return "local-sync" if d == "local-task" else d

    devices._irgrad_original_driver = original
    devices.driver = driver
    _stash.append(dict(devices._devices))
    devices._devices.clear()
    worker = getattr(worker_client, "WORKER", None)
    if worker is not None:
        _stash.append(getattr(worker, "_proc", None))
        worker._proc = None
        worker._lock = threading.Lock()


def install() -> None:
    if not _registered[0] and hasattr(os, "register_at_fork"):
        os.register_at_fork(before=synchronize_devices, after_in_child=reset_runtime_after_fork)
        _registered[0] = True
