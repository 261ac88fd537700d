"""Helpers shared by the op families: operand conversion, type promotion, shape rules.

Node-level public functions take `Node`s and Python scalars; these helpers turn scalars into
`const` nodes of the promoted dtype, insert `cast` nodes, and give the standard shape rules
(`unary_rule`, `binary_rule`) that elementwise OpDefs use.
"""
from __future__ import annotations

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import Node, make
from ..shapes import broadcast_shapes

Number = (int, float, bool, np.integer, np.floating, np.bool_)


def is_node(x) -> bool:
    return isinstance(x, Node)


def operand_info(x):
    if isinstance(x, Node):
        return ("tensor", x.dtype, x.ndim)
    if isinstance(x, Number):
        return ("scalar", dt.scalar_dtype(x), 0)
    fail(TypeError, f"expected a Tensor or a number, got {type(x).__name__}")


def result_dtype(*xs) -> dt.DType:
    return dt.result_type([operand_info(x) for x in xs])


def const(value, dtype: dt.DType) -> Node:
    """A 0-d constant node (lowered as a scalar inside the consuming kernel)."""
    if dtype.category == dt.FLOAT:
        value = float(value)
    elif dtype.category == dt.BOOL:
        value = bool(value)
    else:
        value = int(value)
    return make("const", (), value=value, dtype=dtype)


def cast(x: Node, dtype: dt.DType) -> Node:
    if x.dtype is dtype:
        return x
    if x.op == "const" and not x.inputs:
        return const(x.attrs["value"], dtype)
    return make("cast", (x,), dtype=dtype)


def to_node(x, dtype: dt.DType) -> Node:
    """A node of `dtype` from a node (cast if needed) or a Python scalar (constant)."""
    if isinstance(x, Node):
        return cast(x, dtype)
    return const(x, dtype)


def promote(*xs, floating: bool = False):
    """Convert operands to their common dtype (a floating one if `floating`)."""
    d = result_dtype(*xs)
    if floating and d.category != dt.FLOAT:
        d = dt.get_default_dtype()
    return d, [to_node(x, d) for x in xs]


def same_dtype(inputs):
    d = inputs[0].dtype
    for x in inputs[1:]:
        if x.dtype is not d:
            raise TypeError(f"internal: operands of one elementwise op must share a dtype, "
                            f"got {d.name} and {x.dtype.name}")
    return d


def unary_rule(inputs, attrs):
    return inputs[0].dtype, inputs[0].shape


def binary_rule(inputs, attrs):
    return same_dtype(inputs), broadcast_shapes(*(x.shape for x in inputs))


def compare_rule(inputs, attrs):
    same_dtype(inputs)
    return dt.bool_, broadcast_shapes(*(x.shape for x in inputs))


def float_unary_rule(inputs, attrs):
    x = inputs[0]
    if x.dtype.category != dt.FLOAT:
        raise TypeError(f"internal: {x.dtype.name} operand where a float was required")
    return x.dtype, x.shape


def np_dtype_of(node_or_dtype):
    d = node_or_dtype.dtype if isinstance(node_or_dtype, Node) else node_or_dtype
    return dt.numpy_dtype(d)
