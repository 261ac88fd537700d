"""`irgrad.cuda`: whether a CUDA device can run irgrad graphs on this machine."""
from __future__ import annotations


def is_available() -> bool:
    from .runtime import device as devices
    try:
        devices.get("cuda")
        return True
    except RuntimeError:
        return False


def device_count() -> int:
    return 1 if is_available() else 0


def synchronize(device=None) -> None:
    from .runtime import device as devices
    if is_available():
        devices.get("cuda").synchronize()
