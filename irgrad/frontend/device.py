"""`irgrad.device`: a device name as PyTorch spells it (type and optional index)."""
from __future__ import annotations

from ..lowering.targets import TARGETS


class device:
    __slots__ = ("type", "index")

    def __init__(self, spec="cpu", index=None):
        if isinstance(spec, device):
            spec, index = spec.type, spec.index if index is None else index
        spec = str(spec)
        if ":" in spec:
            spec, idx = spec.split(":", 1)
            index = int(idx)
        if spec not in TARGETS:
            raise RuntimeError(f"Expected one of {', '.join(TARGETS)} device type at start of "
                               f"device string: {spec}")
        self.type, self.index = spec, index

    def __eq__(self, other):
        if isinstance(other, str):
            other = device(other)
        return isinstance(other, device) and self.type == other.type and \
            (self.index or 0) == (other.index or 0)

    def __hash__(self):
        return hash((self.type, self.index or 0))

    def __repr__(self):
        idx = f", index={self.index}" if self.index is not None else ""
        return f"device(type='{self.type}'{idx})"

    def __str__(self):
        return self.type if self.index is None else f"{self.type}:{self.index}"


def device_name(spec) -> str:
    """The runtime device name ("cpu", "cuda", ...) for any device spelling (None: cpu)."""
    if spec is None:
        return "cpu"
    return device(spec).type
