"""Runtime devices: one IREE HAL device, VM instance and HAL module per irgrad device name.

Devices are created once per process, on first use. Creating a device whose hardware or
driver is absent raises `RuntimeError("device not available: ...")` for every driver (IREE
raises RuntimeError for cuda/hip and ValueError for vulkan).
"""
from __future__ import annotations

import atexit
import threading

import iree.runtime as rt

from ..lowering.targets import TARGETS, driver

_lock = threading.Lock()
_devices: dict = {}


class Device:
    """A realized device: the HAL device plus the VM pieces every module needs."""

    def __init__(self, name: str):
        self.name = name
        self.driver = driver(name)
        if _forked[0] and self.driver == "local-task":
            self.driver = "local-sync"
        try:
            hal = rt.get_device(self.driver, cache=False) if self.driver else None
        except (RuntimeError, ValueError) as e:
            raise RuntimeError(f"device not available: {name} ({self.driver}): {e}") from None
        self.hal = hal
        self.instance = rt.VmInstance()
        self.hal_module = rt.create_hal_module(self.instance, hal)
        self.allocator = hal.allocator
        # Runs are chained: each waits on the previous run's fence and signals a fence of
        # its own (a fresh semaphore). One shared timeline (wait k-1, signal k) broke when a
        # run without device work signalled ahead of an earlier one ("semaphore already
        # signaled past N"); per-run fences cannot be signalled out of order.
        self._lock = threading.Lock()
        self._last = None
        # Buffers of queued runs, kept alive until their run finishes.
        self._in_flight: list = []

    def next_fences(self):
        """(wait fence, signal fence) for the next graph run on this device."""
        with self._lock:
            self._release_finished()
            wait = self._last
            if wait is None:
                wait = rt.HalFence.create_at(self.hal.create_semaphore(1), 1)
            signal = rt.HalFence.create_at(self.hal.create_semaphore(0), 1)
            self._last = signal
        return wait, signal

    def retain(self, fence, objects) -> None:
        """Keep `objects` alive until the run that signals `fence` has finished."""
        with self._lock:
            self._in_flight.append((fence, objects))

    def _release_finished(self) -> None:
        # Runs finish in order, so drop the finished prefix.
        keep = self._in_flight
        i = 0
        while i < len(keep) and _signalled(keep[i][0]):
            i += 1
        if i:
            self._in_flight = keep[i:]

    def wait(self, fence) -> None:
        """Block until the run that signals `fence` has finished."""
        fence.wait()

    def synchronize(self) -> None:
        last = self._last
        if last is not None:
            last.wait()
        with self._lock:
            self._release_finished()

    def __repr__(self):
        return f"Device({self.name})"


def _signalled(fence) -> bool:
    """Whether a fence is reached, without blocking (a failed fence counts as done)."""
    try:
        return bool(fence.wait(timeout=0))
    except Exception:
        return True


def get(name: str = "cpu") -> Device:
    dev = _devices.get(name)
    if dev is None:
        with _lock:
            dev = _devices.get(name)
            if dev is None:
                if name not in TARGETS:
                    raise RuntimeError(f"Expected one of {', '.join(TARGETS)} device type at "
                                       f"start of device string: {name}")
                dev = Device(name)
                _devices[name] = dev
    return dev


_forked = [False]
_parent_devices: list = []  # the parent's devices, kept alive (never destroyed) in a child


def reset_after_fork() -> None:
    """In a freshly forked child: forget the parent's devices; new ones use a synchronous
    CPU driver (the parent's worker threads do not exist here, so its task queue would never
    run). The parent's objects are kept alive: destroying them would join absent threads."""
    _forked[0] = True
    _parent_devices.append(dict(_devices))
    _devices.clear()


def synchronize_all() -> None:
    """Finish all queued work on every device of this process (e.g. before a fork)."""
    for dev in list(_devices.values()):
        try:
            dev.synchronize()
        except Exception:
            pass


@atexit.register
def _shutdown() -> None:
    """Finish queued work and drop fences and in-flight references while the HAL devices
    still exist: left to interpreter teardown, they were freed after their device and the
    process segfaulted on exit."""
    import gc

    for dev in list(_devices.values()) + [d for t in _parent_devices for d in t.values()]:
        try:
            dev.synchronize()
        except Exception:
            pass
        dev._in_flight = []
        dev._last = None
    # Interpreter teardown frees module globals in no particular order, and a buffer or VM
    # context freed after its HAL device crashes the process. Free them now, in order:
    # every node's buffer, then the loaded executables; the devices go last.
    from ..ir.node import Node
    for obj in gc.get_objects():
        if type(obj) is Node and obj.data is not None:
            obj.data = None
    from ..frontend import realize
    realize._memory_cache.clear()
    realize._parent_executables.clear()
    gc.collect()


def available() -> list:
    """Names of the devices this machine can run on right now."""
    out = []
    for name in TARGETS:
        try:
            get(name)
            out.append(name)
        except RuntimeError:
            pass
    return out
