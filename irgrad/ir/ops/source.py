"""Source ops: nodes with no tensor inputs (buffers, constants, fills, ranges, identity).

`buffer` stands for a realized value and is always a graph input; `const` is a 0-d scalar
that consuming kernels inline. `full`, `arange`, `linspace` and `eye` compute their values in
the graph, so `zeros(n)` never ships a host array to the device.
"""
from __future__ import annotations

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import make
from ..opdef import defop
from .common import np_dtype_of


def _no_lowering(L, node, operands):
    raise RuntimeError("internal: a buffer node is always a graph input")


defop("buffer", infer=lambda inputs, attrs: (None, None), reference=lambda: None,
      lower=_no_lowering, differentiable=False, is_source=True,
      doc="A realized value; always an input of the graphs that use it.")


def _const_lower(L, node, operands):
    L.scalar_consts[id(node)] = node.attrs["value"]
    return L.full((), node.dtype, node.attrs["value"])


defop("const",
      infer=lambda inputs, attrs: (attrs["dtype"], ()),
      reference=lambda value, dtype: np.array(value, dtype=np_dtype_of(dtype)),
      lower=_const_lower, differentiable=False, is_source=True,
      samples=lambda rng: [([], {"value": 2.5, "dtype": dt.float32}),
                           ([], {"value": -3, "dtype": dt.int64}),
                           ([], {"value": True, "dtype": dt.bool_})],
      doc="A 0-d constant; consumers inline it as a scalar.")


defop("full",
      infer=lambda inputs, attrs: (attrs["dtype"], attrs["shape"]),
      reference=lambda shape, value, dtype, device=None: np.full(shape, value,
                                                                 np_dtype_of(dtype)),
      lower=lambda L, node, ops: L.full(node.shape, node.dtype, node.attrs["value"]),
      differentiable=False,
      samples=lambda rng: [([], {"shape": (2, 3), "value": 1.5, "dtype": dt.float32}),
                           ([], {"shape": (0, 4), "value": 0.0, "dtype": dt.float32}),
                           ([], {"shape": (), "value": 7, "dtype": dt.int64})],
      doc="A tensor filled with one value.")


def full(shape, value, dtype, device="cpu"):
    if dtype.category == dt.FLOAT:
        value = float(value)
    elif dtype.category == dt.BOOL:
        value = bool(value)
    else:
        value = int(value)
    return make("full", (), shape=tuple(shape), value=value, dtype=dtype, device=device)


def _arange_lower(L, node, operands):
    start, step = node.attrs["start"], node.attrs["step"]
    n = node.shape[0]
    S = L.scalar(node.dtype)

    def body(out):
        i = L.index_cast(L.loop_index(0), dt.int64)
        if node.dtype.category == dt.FLOAT:
            fi = S.cast(i, dt.int64, dt.float64)
            v = L.arith.addf(L.arith.mulf(fi, S.const(step, dt.float64)),
                             S.const(start, dt.float64))
            return S.cast(v, dt.float64, node.dtype)
        v = L.arith.addi(L.arith.muli(i, S.const(step, dt.int64)), S.const(start, dt.int64))
        return S.cast(v, dt.int64, node.dtype)

    return L.generic([], [L.empty((n,), node.dtype)], [L.identity_map(1)], ["parallel"], body)


defop("arange",
      infer=lambda inputs, attrs: (attrs["dtype"], (attrs["length"],)),
      reference=lambda start, step, length, dtype, device=None: (
          start + step * np.arange(length, dtype=np.float64)).astype(np_dtype_of(dtype))
      if dtype.category == dt.FLOAT else
      (int(start) + int(step) * np.arange(length, dtype=np.int64)).astype(np_dtype_of(dtype)),
      lower=_arange_lower, differentiable=False,
      samples=lambda rng: [([], {"start": 0, "step": 1, "length": 5, "dtype": dt.int64}),
                           ([], {"start": 0.5, "step": 0.25, "length": 7,
                                 "dtype": dt.float32}),
                           ([], {"start": 3, "step": -2, "length": 0, "dtype": dt.int64})],
      doc="start + step * i for i in range(length), computed in float64/int64.")


def arange(start, end=None, step=1, dtype=None, device="cpu"):
    if end is None:
        start, end = 0, start
    for v in (start, end, step):
        if not isinstance(v, (int, float, np.integer, np.floating)) or isinstance(v, bool):
            fail(TypeError, f"arange(): argument must be a number, not {type(v).__name__}")
    if step == 0:
        fail(RuntimeError, "step must be nonzero")
    if (end - start) * step < 0:
        fail(RuntimeError, "upper bound and lower bound inconsistent with step sign")
    if dtype is None:
        is_float = any(isinstance(v, (float, np.floating)) for v in (start, end, step))
        dtype = dt.get_default_dtype() if is_float else dt.int64
    length = max(0, int(np.ceil((end - start) / step)))
    if dtype.category != dt.FLOAT:
        start, step = int(start), int(step)
    else:
        start, step = float(start), float(step)
    return make("arange", (), start=start, step=step, length=length, dtype=dtype,
                device=device)


def _linspace_ref(start, end, step, steps, dtype, device=None):
    i = np.arange(steps, dtype=np.float64)
    half = steps // 2
    v = np.where(i < half, start + step * i, end - step * (steps - 1 - i))
    return v.astype(np_dtype_of(dtype))


def _linspace_lower(L, node, operands):
    a = node.attrs
    steps = node.shape[0]
    S = L.scalar(dt.float64)

    def body(out):
        i = S.cast(L.index_cast(L.loop_index(0), dt.int64), dt.int64, dt.float64)
        lo = S.add(S.const(a["start"]), S.mul(S.const(a["step"]), i))
        hi = S.sub(S.const(a["end"]), S.mul(S.const(a["step"]), S.sub(S.const(steps - 1), i)))
        v = S.select(S.cmp("lt", i, S.const(steps // 2)), lo, hi)
        return S.cast(v, dt.float64, node.dtype)

    return L.generic([], [L.empty((steps,), node.dtype)], [L.identity_map(1)], ["parallel"],
                     body)


defop("linspace",
      infer=lambda inputs, attrs: (attrs["dtype"], (attrs["steps"],)),
      reference=_linspace_ref, lower=_linspace_lower, differentiable=False,
      samples=lambda rng: [([], {"start": -1.0, "end": 2.0, "step": 0.75, "steps": 5,
                                 "dtype": dt.float32})],
      doc="steps values from start to end; symmetric evaluation like PyTorch's kernel.")


def linspace(start, end, step, steps, dtype, device="cpu"):
    return make("linspace", (), start=start, end=end, step=step, steps=steps, dtype=dtype,
                device=device)


def _eye_lower(L, node, operands):
    S = L.scalar(dt.int64)

    def body(out):
        i = L.index_cast(L.loop_index(0), dt.int64)
        j = L.index_cast(L.loop_index(1), dt.int64)
        return S.cast(S.cmp("eq", i, j), dt.bool_, node.dtype)

    return L.generic([], [L.empty(node.shape, node.dtype)], [L.identity_map(2)],
                     ["parallel", "parallel"], body)


defop("eye",
      infer=lambda inputs, attrs: (attrs["dtype"], (attrs["n"], attrs["m"])),
      reference=lambda n, m, dtype, device=None: np.eye(n, m, dtype=np_dtype_of(dtype)),
      lower=_eye_lower, differentiable=False,
      samples=lambda rng: [([], {"n": 3, "m": 4, "dtype": dt.float32}),
                           ([], {"n": 2, "m": 2, "dtype": dt.int64})],
      doc="Ones on the main diagonal.")


def eye(n, m, dtype, device="cpu"):
    return make("eye", (), n=n, m=m, dtype=dtype, device=device)
