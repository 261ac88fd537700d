"""Tensor factories: tensor, as_tensor, from_numpy, zeros/ones/full/empty and *_like, arange,
linspace, eye.

Data from the host is copied to the device once and becomes a leaf node; fills and ranges are
computed in the graph.
"""
from __future__ import annotations

import numpy as np

from ..errors import fail
from ..ir import dtypes as dt
from ..ir.node import leaf
from ..ir.ops import source
from ..ir.shapes import as_shape
from ..runtime import device as devices
from ..runtime.buffer import Buffer
from .device import device_name
from .tensor import Tensor


def _infer_dtype(data):
    """PyTorch's dtype inference for (nested) Python data: promote over every element.

    Python floats count as the default dtype, ints as int64, bools as bool; tensors, NumPy
    arrays and NumPy scalars bring their own dtype. An empty sequence gets the default dtype.
    """
    stack, found = [data], None
    while stack:
        x = stack.pop()
        if isinstance(x, Tensor):
            d = x.dtype
        elif isinstance(x, (np.ndarray, np.generic)):
            d = dt.from_numpy(x.dtype)
        elif isinstance(x, (list, tuple)):
            stack.extend(x)
            continue
        elif isinstance(x, bool):
            d = dt.bool_
        elif isinstance(x, int):
            d = dt.int64
        elif isinstance(x, float):
            d = dt.get_default_dtype()
        elif isinstance(x, str):
            fail(ValueError, "too many dimensions 'str'")
        else:
            fail(RuntimeError, f"Could not infer dtype of {type(x).__name__}")
        found = d if found is None else dt.promote_types(found, d)
    return found or dt.get_default_dtype()


def _to_host_array(data):
    if isinstance(data, Tensor):
        return data.detach().numpy()
    if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in data):
        return np.array([_to_host_array(x) for x in data])
    return np.array(data)


def from_host(array: np.ndarray, dtype: dt.DType, device="cpu", requires_grad=False) -> Tensor:
    name = device_name(device)
    dev = devices.get(name)
    buf = Buffer.from_numpy(dev, np.asarray(array), dtype)
    t = Tensor._from_node(leaf(dtype, array.shape, buf, device=name))
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, device=None, requires_grad=False, pin_memory=False) -> Tensor:
    if dtype is not None:
        dtype = dt.as_dtype(dtype)
    if isinstance(data, str):
        fail(TypeError, "new(): invalid data type 'str'")
    if isinstance(data, np.ndarray):
        d = dtype or dt.from_numpy(data.dtype)
        arr = data
    elif isinstance(data, Tensor):
        d = dtype or data.dtype
        arr = data.detach().numpy()
    else:
        d = dtype or _infer_dtype(data)
        arr = _to_host_array(data)
    if arr.dtype == object:
        fail(ValueError, "expected a sequence of equal-length sequences (ragged nested list)")
    if d.category == dt.INT and arr.dtype.kind == "f":
        arr = np.trunc(arr)
    with np.errstate(over="ignore", invalid="ignore"):  # out-of-range -> inf, as in torch
        arr = np.asarray(arr).astype(dt.numpy_dtype(d))
    if requires_grad and d.category != dt.FLOAT:
        fail(RuntimeError, "Only Tensors of floating point and complex dtype can require "
                           "gradients")
    return from_host(arr, d, device, requires_grad)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    if isinstance(data, Tensor) and (dtype is None or dt.as_dtype(dtype) is data.dtype) and \
            (device is None or device_name(device) == (data.node.device or "cpu")):
        return data
    if isinstance(data, Tensor):
        out = data.to(dtype=dtype) if dtype is not None else data
        return out.to(device) if device is not None else out
    return tensor(data, dtype=dtype, device=device)


def from_numpy(array: np.ndarray) -> Tensor:
    if not isinstance(array, np.ndarray):
        fail(TypeError, f"expected np.ndarray (got {type(array).__name__})")
    return from_host(array, dt.from_numpy(array.dtype))


def _fill(shape, value, dtype, device, requires_grad):
    d = dt.as_dtype(dtype) if dtype is not None else (
        dt.scalar_dtype(value) if value is not None else dt.get_default_dtype())
    t = Tensor._from_node(source.full(as_shape(shape), 0 if value is None else value, d,
                                      device_name(device)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def zeros(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    return _fill(size, 0, dtype or dt.get_default_dtype(), device, requires_grad)


def ones(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    return _fill(size, 1, dtype or dt.get_default_dtype(), device, requires_grad)


def empty(*size, dtype=None, device=None, requires_grad=False, out=None, layout=None,
          memory_format=None, pin_memory=False):
    return _fill(size, 0, dtype or dt.get_default_dtype(), device, requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad=False, out=None, layout=None):
    if dtype is None:
        dtype = dt.scalar_dtype(fill_value)
    return _fill(size, fill_value, dtype, device, requires_grad)


def _like(fn):
    def like(input, *args, dtype=None, device=None, requires_grad=False, memory_format=None,
             layout=None):
        return fn(input.shape, *args, dtype=dtype or input.dtype,
                  device=device or input.device, requires_grad=requires_grad)
    like.__name__ = fn.__name__ + "_like"
    return like


zeros_like, ones_like, empty_like, full_like = (_like(f) for f in (zeros, ones, empty, full))


def arange(start, end=None, step=1, *, dtype=None, device=None, requires_grad=False, out=None,
           layout=None):
    if dtype is not None and dt.as_dtype(dtype).category != dt.FLOAT and \
            isinstance(step, (int, float, np.integer, np.floating)) and int(step) == 0:
        # PyTorch casts the step to an integer dtype before checking it.
        fail(ValueError, "step must be nonzero")
    t = Tensor._from_node(source.arange(start, end, step,
                                        dt.as_dtype(dtype) if dtype else None,
                                        device_name(device)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def linspace(start, end, steps, *, dtype=None, device=None, requires_grad=False, out=None):
    d = dt.as_dtype(dtype) if dtype else dt.get_default_dtype()
    if steps < 0:
        fail(RuntimeError, "number of steps must be non-negative")
    if steps == 1:  # PyTorch fills a one-step linspace with `start`, not `end`
        return full((1,), start, dtype=d, device=device, requires_grad=requires_grad)
    step = (end - start) / (steps - 1) if steps > 1 else 0.0
    t = Tensor._from_node(source.linspace(float(start), float(end), float(step), int(steps), d,
                                          device_name(device)))
    if requires_grad:
        t.requires_grad_(True)
    return t


def eye(n, m=None, *, dtype=None, device=None, requires_grad=False, out=None):
    d = dt.as_dtype(dtype) if dtype else dt.get_default_dtype()
    t = Tensor._from_node(source.eye(int(n), int(n if m is None else m), d, device_name(device)))
    if requires_grad:
        t.requires_grad_(True)
    return t
