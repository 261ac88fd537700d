"""Tensors in shared memory, and how tensors travel between processes.

`Tensor.share_memory_()` copies the tensor's values into a `multiprocessing.shared_memory`
segment and rebinds the tensor to a device buffer that IREE imports from that memory without
copying (CPU only). A child process that receives the tensor (inherited through fork, or
sent through an `irgrad.multiprocessing` Queue/Pipe) maps the same segment, so each
process's graphs read the latest values. An optimizer step on a shared parameter writes its
new values back into the segment (Hogwild); other in-place ops rebind the tensor to private
memory, as any lazy op does.

Tensors sent through multiprocessing are reduced to plain data: a shared tensor to its
segment name, dtype and shape; any other tensor to a NumPy array of its values. Device
handles never cross a process boundary. The segment is unlinked when the process that
created it exits.
"""
from __future__ import annotations

import atexit
import os
import threading

import numpy as np

from ..ir import dtypes as dt
from ..ir.node import leaf
from ..frontend.tensor import Tensor
from ..runtime.buffer import Buffer, _element_type, _from_bf16_bits, _to_bf16_bits

__all__ = ["share_memory_", "is_shared", "write_shared"]

_lock = threading.Lock()
_by_buffer = {}      # id(Buffer) -> _Storage, for every shared buffer of this process
_segments = {}       # segment name -> SharedMemory mapped by this process
_owned = []          # (pid, segment) this process created, unlinked when it exits


def _storage_dtype(d: dt.DType) -> np.dtype:
    """How the device stores `d`: bfloat16 as its 16-bit pattern, bool as one byte."""
    if d is dt.bfloat16:
        return np.dtype(np.uint16)
    if d is dt.bool_:
        return np.dtype(np.int8)
    return d.np


def _to_storage(values: np.ndarray, d: dt.DType) -> np.ndarray:
    if d is dt.bfloat16:
        return _to_bf16_bits(values)
    return np.asarray(values).astype(_storage_dtype(d), copy=False)


def _from_storage(raw: np.ndarray, d: dt.DType) -> np.ndarray:
    if d is dt.bfloat16:
        return _from_bf16_bits(raw)
    if d is dt.bool_:
        return raw.astype(np.bool_)
    return raw.copy()


class SharedBuffer(Buffer):
    """A device buffer whose memory is a shared-memory segment (never cached on the host,
    since other processes may change it)."""

    __slots__ = ("array",)

    def to_numpy(self) -> np.ndarray:
        self.wait()
        return _from_storage(self.array, self.dtype)


class _Storage:
    __slots__ = ("name", "array", "buffer")

    def __init__(self, name, array, buffer):
        self.name, self.array, self.buffer = name, array, buffer


def _import(device_name: str, array: np.ndarray, d: dt.DType, shape) -> SharedBuffer:
    import iree.runtime as rt
    from ..runtime import device as devices
    dev = devices.get(device_name)
    hal = dev.allocator.import_host_allocation(
        array, rt.MemoryType.HOST_LOCAL | rt.MemoryType.DEVICE_VISIBLE, rt.BufferUsage.DEFAULT)
    view = rt.HalBufferView(hal, list(shape), _element_type(d))
    buf = SharedBuffer(dev, view, d, tuple(shape))
    buf.array = array
    return buf


def _map(name: str, create_size: int | None = None):
    from multiprocessing import shared_memory
    with _lock:
        shm = _segments.get(name)
        if shm is None:
            if create_size is not None:
                shm = shared_memory.SharedMemory(create=True, size=max(create_size, 1))
                _owned.append((os.getpid(), shm))
            else:
                shm = shared_memory.SharedMemory(name=name)
            _segments[shm.name] = shm
        return shm


def _register(name, array, buf):
    _by_buffer[id(buf)] = _Storage(name, array, buf)


def storage_of(t: Tensor):
    data = t.node.data
    return _by_buffer.get(id(data)) if data is not None else None


def is_shared(self: Tensor) -> bool:
    """True when the tensor's values live in a shared-memory segment."""
    return storage_of(self) is not None


def _rebind(t: Tensor, node) -> None:
    try:
        from ..nn.modules.parameter import Parameter
    except ImportError:
        Parameter = None
    if Parameter is not None and isinstance(t, Parameter):
        t.data = Tensor._from_node(node)  # a Parameter makes its own leaf on this buffer
        return
    t._n = node
    t._view = None
    t._version += 1


def share_memory_(self: Tensor) -> Tensor:
    """Move the values into shared memory (CPU tensors), so child processes see updates."""
    if is_shared(self):
        return self
    n = self.node
    device = n.device or "cpu"
    if device != "cpu":
        raise RuntimeError(f"share_memory_: only CPU tensors can be shared, not {device}")
    values = Tensor._from_node(n).detach()
    host = values.node
    if host.data is None:
        from ..frontend.realize import realize_nodes
        realize_nodes([host], "share_memory_")
    raw = _to_storage(host.data.to_numpy(), n.dtype)
    shm = _map(None, create_size=raw.nbytes)
    array = np.ndarray(raw.shape, raw.dtype, buffer=shm.buf)
    array[...] = raw
    buf = _import(device, array, n.dtype, n.shape)
    _register(shm.name, array, buf)
    _rebind(self, leaf(n.dtype, n.shape, buf, requires_grad=n.requires_grad, device=device))
    return self


def write_shared(t: Tensor, node) -> bool:
    """Write the realized `node` into `t`'s shared segment; False if `t` is not shared."""
    st = storage_of(t)
    if st is None:
        return False
    st.array[...] = _to_storage(node.data.to_numpy(), node.dtype)
    t._version += 1
    return True


# ---- pickling for multiprocessing ----------------------------------------------------------------

def _rebuild_shared(name, dtype_name, shape, requires_grad, device):
    d = dt.from_name(dtype_name)
    shm = _map(name)
    sdt = _storage_dtype(d)
    array = np.ndarray(tuple(shape), sdt, buffer=shm.buf)
    buf = None
    for st in _by_buffer.values():     # one buffer per segment and process
        if st.name == name:
            buf = st.buffer
            break
    if buf is None:
        buf = _import(device, array, d, shape)
        _register(name, array, buf)
    t = Tensor._from_node(leaf(d, tuple(shape), buf, requires_grad=requires_grad, device=device))
    return t


def _rebuild_values(values, dtype_name, requires_grad, device):
    from ..frontend.creation import from_host
    t = from_host(values, dt.from_name(dtype_name), device)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _rebuild_parameter(t, requires_grad):
    from ..nn import Parameter
    return Parameter(t, requires_grad=requires_grad)


def reduce_tensor(t: Tensor):
    n = t.node
    device = n.device or "cpu"
    st = storage_of(t)
    if st is not None:
        rebuilt = (_rebuild_shared, (st.name, n.dtype.name, tuple(n.shape), n.requires_grad,
                                     device))
    else:
        host = Tensor._from_node(n).detach().node
        if host.data is None:
            from ..frontend.realize import realize_nodes
            realize_nodes([host], "pickling a tensor")
        rebuilt = (_rebuild_values, (host.data.to_numpy(), n.dtype.name, n.requires_grad,
                                     device))
    if getattr(t, "_is_param", False):
        return (_rebuild_parameter, (_Rebuilt(*rebuilt), bool(t.requires_grad)))
    return rebuilt


class _Rebuilt:
    """Pickles as the result of calling fn(*args) (nesting a rebuild inside another)."""

    def __init__(self, fn, args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def install_reducers() -> None:
    from multiprocessing.reduction import ForkingPickler
    ForkingPickler.register(Tensor, reduce_tensor)
    try:
        from ..nn.modules.parameter import Parameter
        ForkingPickler.register(Parameter, reduce_tensor)
    except ImportError:
        pass


@atexit.register
def _release_all():
    for pid, shm in list(_owned):
        if pid != os.getpid():
            continue  # inherited through fork: the creator unlinks it
        try:
            shm.unlink()
        except (FileNotFoundError, OSError):
            pass
    _owned.clear()
