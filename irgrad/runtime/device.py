"""Runtime devices: one IREE HAL device, VM instance and HAL module per irgrad device name.

Devices are created once per process, on first use. Creating a device whose hardware or
driver is absent raises `RuntimeError("device not available: ...")` for every driver (IREE
raises RuntimeError for cuda/hip and ValueError for vulkan).
"""
from __future__ import annotations

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
        # One timeline orders all graphs on this device: graph k waits for value k-1 and
        # signals k, so Python can record step n+1 while step n still runs.
        self.timeline = hal.create_semaphore(0)
        self.submitted = 0
        self.completed = 0
        self._lock = threading.Lock()

    def next_fences(self):
        """(wait fence, signal fence, signal value) for the next graph on this device."""
        with self._lock:
            value = self.submitted + 1
            self.submitted = value
        return (rt.HalFence.create_at(self.timeline, value - 1),
                rt.HalFence.create_at(self.timeline, value), value)

    def wait(self, value: int) -> None:
        """Block until the graph that signals `value` has finished."""
        if value <= self.completed:
            return
        rt.HalFence.create_at(self.timeline, value).wait()
        self.completed = max(self.completed, value)

    def synchronize(self) -> None:
        self.wait(self.submitted)

    def __repr__(self):
        return f"Device({self.name})"


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
