"""`irgrad.backends`: the devices this machine can run (cpu always; cuda, rocm, vulkan when
their drivers and hardware are present)."""
from __future__ import annotations


def available() -> list:
    from .runtime import device as devices
    return devices.available()
