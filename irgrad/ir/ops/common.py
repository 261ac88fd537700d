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
    if len(xs) == 2:  # the hot path: two operands, fast answers for common cases
        a, b = xs
        ta, tb = type(a) is Node, type(b) is Node
        if ta and tb and a.dtype is b.dtype and (not floating or a.dtype.category == dt.FLOAT):
            return a.dtype, [a, b]
        if ta and type(b) is float and a.dtype.category == dt.FLOAT:
            return a.dtype, [a, const(b, a.dtype)]
        if tb and type(a) is float and b.dtype.category == dt.FLOAT:
            return b.dtype, [const(a, b.dtype), b]
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
    a, b = inputs
    if a.dtype is not b.dtype:
        same_dtype(inputs)
    if a.shape == b.shape or not b.shape:
        return a.dtype, a.shape
    if not a.shape:
        return a.dtype, b.shape
    return a.dtype, broadcast_shapes(a.shape, b.shape)


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


# ---- standard samples for elementwise ops ------------------------------------------------

def _arr(rng, shape, dtype=np.float32, low=-2.0, high=2.0, positive=False):
    if np.dtype(dtype) == np.bool_:
        return rng.random(shape) > 0.5
    if np.issubdtype(dtype, np.integer):
        lo = 0 if positive else -5
        return rng.integers(lo if not np.dtype(dtype).kind == "u" else 0, 6, size=shape,
                            dtype=dtype)
    if positive:
        return rng.uniform(0.2, high if high > 0.2 else 2.0, size=shape).astype(dtype)
    return rng.uniform(low, high, size=shape).astype(dtype)


def unary_samples(positive=False, low=-2.0, high=2.0, dtypes=(np.float32,)):
    """Samples for a unary op: a matrix, a 0-d value, an empty tensor, other dtypes."""
    def samples(rng):
        out = [([_arr(rng, (3, 4), dtypes[0], low, high, positive)], {}),
               ([_arr(rng, (), dtypes[0], low, high, positive)], {}),
               ([_arr(rng, (0, 3), dtypes[0], low, high, positive)], {})]
        for d in dtypes[1:]:
            out.append(([_arr(rng, (5,), d, low, high, positive)], {}))
        return out
    return samples


def binary_samples(positive_rhs=False, dtypes=(np.float32,), low=-2.0, high=2.0):
    """Samples for a binary op: same shape, broadcasting both ways, 0-d, empty."""
    def samples(rng):
        d0 = dtypes[0]
        r = lambda shape, d=d0, pos=False: _arr(rng, shape, d, low, high, pos)  # noqa: E731
        out = [([r((3, 4)), r((3, 4), pos=positive_rhs)], {}),
               ([r((2, 1, 3)), r((4, 3), pos=positive_rhs)], {}),
               ([r(()), r((5,), pos=positive_rhs)], {}),
               ([r((0, 3)), r((1, 3), pos=positive_rhs)], {})]
        for d in dtypes[1:]:
            out.append(([r((4,), d), r((4,), d, pos=positive_rhs)], {}))
        return out
    return samples
