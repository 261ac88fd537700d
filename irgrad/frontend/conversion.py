"""Tensor dtype and device conversions: to, type, type_as, float/double/long/..., cpu/cuda."""
from __future__ import annotations

from ..ir import dtypes as dt
from ..ir.ops.common import cast
from .device import device as Device, device_name
from .tensor import Tensor


def _convert(self: Tensor, dtype=None, device=None) -> Tensor:
    out = self
    if dtype is not None:
        d = dt.as_dtype(dtype)
        if d is not out.dtype:
            out = Tensor._from_node(cast(out.node, d))
    if device is not None:
        name = device_name(device)
        if name != (out.node.device or "cpu"):
            from .creation import from_host
            moved = from_host(out.detach().numpy(), out.dtype, name)
            if out.requires_grad:
                moved.requires_grad_(True)
            out = moved
    return out


def to(self, *args, dtype=None, device=None, non_blocking=False, copy=False, memory_format=None):
    for a in args:
        if isinstance(a, Tensor):
            dtype, device = a.dtype, a.device
        elif isinstance(a, (dt.DType, type)) or (isinstance(a, str) and a.split(":")[0] not in
                                                 ("cpu", "cuda", "rocm", "vulkan")):
            dtype = a
        elif a is not None:
            device = a
    return _convert(self, dtype, device)


def type_(self, dtype=None, non_blocking=False):
    if dtype is None:
        return f"irgrad.{self.dtype.name}"
    return _convert(self, dtype)


def type_as(self, other):
    return _convert(self, other.dtype)


def _to_dtype(d):
    def method(self, memory_format=None):
        return _convert(self, d)
    return method


def install():
    Tensor.to = to
    Tensor.type = type_
    Tensor.type_as = type_as
    for name, d in (("float", dt.float32), ("double", dt.float64), ("half", dt.float16),
                    ("bfloat16", dt.bfloat16), ("long", dt.int64), ("int", dt.int32),
                    ("short", dt.int16), ("char", dt.int8), ("byte", dt.uint8),
                    ("bool", dt.bool_)):
        setattr(Tensor, name, _to_dtype(d))
    Tensor.cpu = lambda self, memory_format=None: _convert(self, device="cpu")
    Tensor.cuda = lambda self, device=None, non_blocking=False: _convert(self, device="cuda")
