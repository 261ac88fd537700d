"""default_collate and default_convert, computed on the host.

Samples are stacked with NumPy and each batch leaf becomes ONE device tensor (one host to
device copy), never a graph of per-sample ops. `_collate(batch, make)` takes the function
that turns (host array, dtype) into the result: a Tensor in the main process, or a
`HostArray` inside a worker process, which ships it through shared memory without touching
the device.
"""
from __future__ import annotations

import collections.abc as abc

import numpy as np

from ...ir import dtypes as dt

__all__ = ["default_collate", "default_convert", "HostArray"]

ERR = ("default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; "
       "found {}")


class HostArray:
    """A batch leaf that is still a host array (worker side): values plus irgrad dtype."""

    __slots__ = ("array", "dtype", "device")

    def __init__(self, array, dtype, device="cpu"):
        self.array, self.dtype, self.device = array, dtype, device


def to_tensor(array, dtype, device="cpu"):
    from ...frontend.creation import from_host
    return from_host(np.ascontiguousarray(array), dtype, device)


def to_host(array, dtype, device="cpu"):
    return HostArray(np.ascontiguousarray(array), dtype, device)


def _np_dtype_ok(a: np.ndarray) -> bool:
    return a.dtype.char not in "SaUOV"


def _tensor_hosts(batch):
    """Host arrays of a list of irgrad Tensors, realizing the pending ones in one graph."""
    from ...frontend.realize import realize_nodes
    nodes = [t.detach().node for t in batch]
    realize_nodes([n for n in nodes if n.data is None], "default_collate")
    return [n.data.to_numpy() for n in nodes]


def _stack(arrays, elem_desc):
    shape = arrays[0].shape
    for i, a in enumerate(arrays):
        if a.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got "
                               f"{list(shape)} at entry 0 and {list(a.shape)} at entry {i}")
    return np.stack(arrays) if arrays else np.empty((0,))


def _is_namedtuple(x) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")


def _collate(batch, make):
    from ...frontend.tensor import Tensor
    elem = batch[0]
    if isinstance(elem, Tensor):
        hosts = _tensor_hosts(batch)
        d = elem.dtype
        for t in batch[1:]:
            d = dt.promote_types(d, t.dtype)
        return make(_stack([h.astype(dt.numpy_dtype(d), copy=False) for h in hosts], elem),
                    d, elem.node.device or "cpu")
    if isinstance(elem, HostArray):
        return make(_stack([h.array for h in batch], elem), elem.dtype, elem.device)
    if isinstance(elem, np.ndarray):
        if not _np_dtype_ok(elem):
            raise TypeError(ERR.format(elem.dtype))
        arrays = [np.asarray(b) for b in batch]
        return make(_stack(arrays, elem), dt.from_numpy(arrays[0].dtype))
    if isinstance(elem, np.generic):
        if not _np_dtype_ok(np.asarray(elem)):
            raise TypeError(ERR.format(np.asarray(elem).dtype))
        a = np.asarray(batch)
        return make(a, dt.from_numpy(a.dtype))
    if isinstance(elem, bool):
        return make(np.asarray(batch, dtype=np.bool_), dt.bool_)
    if isinstance(elem, float):
        return make(np.asarray(batch, dtype=np.float64), dt.float64)
    if isinstance(elem, int):
        return make(np.asarray(batch, dtype=np.int64), dt.int64)
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, abc.Mapping):
        out = {k: _collate([d[k] for d in batch], make) for k in elem}
        try:
            return type(elem)(out)
        except TypeError:
            return out
    if _is_namedtuple(elem):
        return type(elem)(*(_collate(list(s), make) for s in zip(*batch)))
    if isinstance(elem, abc.Sequence):
        it = iter(batch)
        size = len(next(it))
        if not all(len(e) == size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [_collate(list(s), make) for s in transposed]
        try:
            return type(elem)([_collate(list(s), make) for s in transposed])
        except TypeError:
            return [_collate(list(s), make) for s in transposed]
    raise TypeError(ERR.format(type(elem)))


def default_collate(batch):
    """Stack a list of samples into a batch, as torch.utils.data.default_collate does."""
    return _collate(batch, to_tensor)


def _convert(data, make):
    from ...frontend.tensor import Tensor
    if isinstance(data, Tensor):
        return data
    if isinstance(data, np.ndarray):
        if not _np_dtype_ok(data):
            return data
        return make(data, dt.from_numpy(data.dtype))
    if isinstance(data, np.generic):
        a = np.asarray(data)
        return make(a, dt.from_numpy(a.dtype)) if _np_dtype_ok(a) else data
    if isinstance(data, abc.Mapping):
        out = {k: _convert(v, make) for k, v in data.items()}
        try:
            return type(data)(out)
        except TypeError:
            return out
    if _is_namedtuple(data):
        return type(data)(*(_convert(d, make) for d in data))
    if isinstance(data, tuple):
        return [_convert(d, make) for d in data]
    if isinstance(data, abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            return type(data)([_convert(d, make) for d in data])
        except TypeError:
            return [_convert(d, make) for d in data]
    return data


def default_convert(data):
    """Convert NumPy arrays inside `data` to tensors (the collate used when batch_size=None)."""
    return _convert(data, to_tensor)
