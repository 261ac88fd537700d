"""Device-resident buffers: a HAL buffer view with its irgrad dtype and shape.

Values stay on the device between graphs; `to_numpy()` is the only way back to the host and
happens only when the user asks for values.
"""
from __future__ import annotations

import numpy as np
import iree.runtime as rt

from ..ir import dtypes as dt

_USAGE = rt.BufferUsage.DEFAULT
_MEM = rt.MemoryType.DEVICE_LOCAL


def _element_type(d: dt.DType):
    if d is dt.bool_:
        return rt.HalElementType.BOOL_8
    if d is dt.uint8:
        return rt.HalElementType.UINT_8
    if d is dt.bfloat16:
        return rt.HalElementType.BFLOAT_16
    return rt.array_interop.map_dtype_to_element_type(d.np)


class Buffer:
    """One tensor's storage on a device."""

    __slots__ = ("device", "view", "dtype", "shape", "_host", "ready", "origin")

    def __init__(self, device, view, dtype: dt.DType, shape: tuple, ready=None,
                 origin=None):
        self.device, self.view, self.dtype, self.shape = device, view, dtype, tuple(shape)
        self._host = None
        # The fence after which the contents are valid (None: valid now), and
        # the user site of the op that produced them, for errors surfacing at wait time.
        self.ready, self.origin = ready, origin

    def wait(self) -> None:
        if self.ready is not None:
            try:
                self.device.wait(self.ready)
                self.ready = None
            except RuntimeError as e:
                from ..errors import RuntimeFailure
                where = f" (op recorded at {self.origin})" if self.origin else ""
                raise RuntimeFailure(f"a compiled graph failed while running{where}: {e}",
                                     self.origin) from None

    @classmethod
    def from_numpy(cls, device, array: np.ndarray, dtype: dt.DType) -> "Buffer":
        host = np.asarray(array, dtype=dt.numpy_dtype(dtype), order="C")
        if dtype is dt.bfloat16:
            host = _to_bf16_bits(host)
        elif dtype is dt.bool_:
            host = host.view(np.int8)
        view = device.allocator.allocate_buffer_copy(
            memory_type=_MEM, allowed_usage=_USAGE, device=device.hal, buffer=host,
            element_type=_element_type(dtype))
        return cls(device, view, dtype, array.shape)

    def to_numpy(self) -> np.ndarray:
        """A fresh host copy of the values."""
        if self._host is None:
            self.wait()
            d = self.dtype
            raw = {dt.bool_: np.int8, dt.bfloat16: np.uint16}.get(d, None)
            raw_np = np.dtype(raw) if raw is not None else d.np
            if self.view.get_buffer().byte_length() == 0 or 0 in self.shape:
                host = np.empty(self.shape, raw_np)
            else:
                mapped = self.view.map()
                host = np.array(mapped.asarray(self.shape, raw_np), copy=True)
            if d is dt.bool_:
                host = host.astype(np.bool_)
            elif d is dt.bfloat16:
                host = _from_bf16_bits(host)
            self._host = host
        return self._host.copy()

    @property
    def nbytes(self) -> int:
        n = self.dtype.itemsize
        for s in self.shape:
            n *= s
        return n

    def __repr__(self):
        return f"Buffer({self.dtype.name}{list(self.shape)} on {self.device.name})"


def _to_bf16_bits(a: np.ndarray) -> np.ndarray:
    bits = np.asarray(a, np.float32, order="C").view(np.uint32)
    rounded = bits + 0x7FFF + ((bits >> 16) & 1)  # round to nearest even
    return (rounded >> 16).astype(np.uint16)


def _from_bf16_bits(a: np.ndarray) -> np.ndarray:
    return (a.astype(np.uint32) << 16).view(np.float32)


def round_bf16(a: np.ndarray) -> np.ndarray:
    """Round float32 values to the nearest bfloat16 (kept as float32)."""
    return _from_bf16_bits(_to_bf16_bits(a))
