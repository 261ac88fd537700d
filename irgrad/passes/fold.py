"""Constant folding through the ops' NumPy references.

Splat propagation: an op whose inputs are all splats (0-d `const` or `full`) is evaluated by
its reference on broadcast views (no large arrays are allocated); when the result is again a
splat it becomes a `const` (0-d) or a `full`. Non-uniform results are left to the compiler,
so weights and data never get baked into a graph.

Beyond saving work, this is a correctness workaround: IREE 3.13 folds a reduction whose
input is a splat constant to the splat value itself, ignoring the element count
(`ones(3).sum()` came out as 1.0). Reductions of splats are therefore always folded here.
"""
from __future__ import annotations

import numpy as np

from ..ir.dtypes import numpy_dtype
from ..ir.node import rebuild
from .rewrite import Rewriter

_MAX_FOLD_ELEMENTS = 1 << 22  # references run on views, but some copy: stay bounded


def _splat(n):
    """(value, shape) when `n` is a splat constant, else None.

    A node holding data is a graph INPUT whatever its op: the cached executable is reused for
    every graph with the same key, and an input's key is only its type, so its current value
    must never be baked in (a realized `full` buffer that an in-place update later replaced
    with other values once got folded into a training step)."""
    if n.inputs or n.data is not None:
        return None
    if n.op == "const":
        return n.attrs["value"], ()
    if n.op == "full":
        return n.attrs["value"], n.shape
    return None


def fold_splats(n):
    if n.opdef.is_source or not n.inputs or n.opdef.unique or n.op in ("fused", "fused_reduce"):
        return None
    splats = [_splat(x) for x in n.inputs]
    if any(s is None for s in splats) or n.dtype.name == "bfloat16":
        return None
    if any(x.numel > _MAX_FOLD_ELEMENTS for x in n.inputs) or n.numel > _MAX_FOLD_ELEMENTS:
        return None
    args = [np.broadcast_to(np.array(v, dtype=numpy_dtype(x.dtype)), shape)
            for (v, shape), x in zip(splats, n.inputs)]
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(n.opdef.reference(*args, **n.attrs))
    except Exception:
        return None
    if value.shape != n.shape or value.dtype != numpy_dtype(n.dtype):
        return None
    flat = value.reshape(-1)
    if flat.size == 0:
        return None
    first = flat[0]
    same = np.all(flat == first) or (np.issubdtype(flat.dtype, np.floating)
                                     and np.all(np.isnan(flat)) and np.isnan(first))
    if not same:
        return None
    item = first.item()
    if n.shape == ():
        return rebuild(n, (), op="const", attrs={"value": item, "dtype": n.dtype})
    return rebuild(n, (), op="full", attrs={"shape": n.shape, "value": item, "dtype": n.dtype,
                                            "device": n.device})


fold = Rewriter("fold", [fold_splats])
