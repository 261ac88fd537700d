"""Constant folding through the ops' NumPy references.

A node whose inputs are all 0-d constants and whose result is 0-d becomes a `const`; a node
that only broadcasts constants into a larger shape becomes a `full`. Large constant arrays
are never materialized into the graph (weights and data stay inputs).
"""
from __future__ import annotations

import numpy as np

from ..ir.node import rebuild
from .rewrite import Rewriter

_FOLDABLE_SOURCES = ("const",)


def fold_scalar(n):
    if n.opdef.is_source or not n.inputs or n.opdef.unique:
        return None
    if not all(x.op in _FOLDABLE_SOURCES and not x.inputs for x in n.inputs):
        return None
    if n.shape != () or n.dtype.name == "bfloat16":
        return None
    from ..ir.dtypes import numpy_dtype

    args = [np.array(x.attrs["value"], dtype=numpy_dtype(x.dtype)) for x in n.inputs]
    try:
        with np.errstate(all="ignore"):
            value = np.asarray(n.opdef.reference(*args, **n.attrs))
    except Exception:
        return None
    if value.shape != () or value.dtype != numpy_dtype(n.dtype):
        return None
    return rebuild(n, (), op="const", attrs={"value": value.item(), "dtype": n.dtype})


fold = Rewriter("fold", [fold_scalar])
