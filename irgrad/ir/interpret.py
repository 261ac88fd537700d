"""A NumPy interpreter for graphs: runs every node through its op's reference.

Used as the oracle of the pass fuzzer and handy for debugging a suspected miscompile: the
interpreter and the compiled graph must agree.
"""
from __future__ import annotations

import numpy as np

from .dtypes import numpy_dtype


def interpret(graph, input_arrays):
    """Evaluate `graph` on host arrays given for `graph.inputs`; returns output arrays."""
    values = {id(n): np.asarray(a) for n, a in zip(graph.inputs, input_arrays)}
    for n in graph.nodes:
        if id(n) in values:
            continue
        args = [values[id(x)] for x in n.inputs]
        with np.errstate(all="ignore"):
            out = np.asarray(n.opdef.reference(*args, **n.attrs))
        values[id(n)] = out.astype(numpy_dtype(n.dtype), copy=False)
    return [values[id(o)] for o in graph.outputs]
