"""Logical and bitwise primitives, the NaN/Inf predicates, and their public forms.

Bitwise ops work on integer and bool tensors (bool & bool stays bool); logical ops take any
dtype, treat nonzero as true and return bool. Shifts follow PyTorch: shifting by the bit
width or more (or by a negative amount) gives 0, or -1 for a right shift of a negative value.
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..node import Node, make
from ..opdef import defop
from .common import binary_rule, cast, promote, to_node, unary_rule
from .elementwise import eq, lt, ne
from .elementwise_api import _check_operand, _tensor_arg, not_implemented


def _int_samples(rng):
    i = lambda s, d=np.int64: rng.integers(-50, 50, s).astype(d)  # noqa: E731
    return [([i((3, 4)), i((3, 4))], {}), ([i((2, 1, 3)), i((4, 3))], {}),
            ([i(()), i((5,))], {}), ([i((0, 3)), i((1, 3))], {}),
            ([rng.integers(0, 255, (4,)).astype(np.uint8),
              rng.integers(0, 255, (4,)).astype(np.uint8)], {}),
            ([i((4,), np.int8), i((4,), np.int8)], {}),
            ([rng.random((3,)) > 0.5, rng.random((2, 3)) > 0.5], {})]


for _name, _np, _method in (("bitwise_and", np.bitwise_and, "and_"),
                            ("bitwise_or", np.bitwise_or, "or_"),
                            ("bitwise_xor", np.bitwise_xor, "xor")):
    defop(_name, infer=binary_rule, reference=_np, differentiable=False, samples=_int_samples,
          scalar=(lambda m: lambda S, a, b: getattr(S, m)(a, b))(_method))

defop("bitwise_not", infer=unary_rule, reference=np.invert, differentiable=False,
      scalar=lambda S, x: S.invert(x),
      samples=lambda rng: [(a[:1], {}) for a, _ in _int_samples(rng)])


def _shift_ref(left):
    def ref(a, b):
        bits = a.dtype.itemsize * 8
        oob = (b >= bits) | (b < 0)
        safe = np.where(oob, 0, b).astype(a.dtype)
        if left:
            return np.where(oob, 0, np.left_shift(a, safe)).astype(a.dtype)
        fill = np.where(a < 0, -1, 0) if a.dtype.kind == "i" else 0
        return np.where(oob, fill, np.right_shift(a, safe)).astype(a.dtype)
    return ref


def _shift_samples(rng):
    return [([rng.integers(-1000, 1000, (3, 4)), rng.integers(0, 12, (3, 4))], {}),
            ([np.array([1, -8, 5, -8, 3, 1]), np.array([63, 70, 64, -1, 0, 62])], {}),
            ([np.array([200, 7, 1], np.uint8), np.array([1, 8, 3], np.uint8)], {}),
            ([np.array([-128, 64, 1], np.int8), np.array([1, 1, 8], np.int8)], {}),
            ([np.array(5), rng.integers(0, 5, (2, 3))], {})]


defop("bitwise_left_shift", infer=binary_rule, reference=_shift_ref(True),
      differentiable=False, samples=_shift_samples, scalar=lambda S, a, b: S.shl(a, b))
defop("bitwise_right_shift", infer=binary_rule, reference=_shift_ref(False),
      differentiable=False, samples=_shift_samples, scalar=lambda S, a, b: S.shr(a, b))


def _signbit_samples(rng):
    return [([np.array([0.0, -0.0, 1.5, -2.0, np.inf, -np.inf], np.float32)], {}),
            ([rng.normal(size=(3, 4))], {}), ([np.zeros((0, 2), np.float32)], {}),
            ([np.array(-3)], {}), ([np.array([0, 200], np.uint8)], {}),
            ([np.array([True, False])], {})]


defop("signbit", infer=lambda inputs, attrs: (dt.bool_, inputs[0].shape),
      reference=lambda x: np.signbit(x) if x.dtype.kind == "f" else
      (x < 0 if x.dtype.kind == "i" else np.zeros(x.shape, bool)),
      differentiable=False, samples=_signbit_samples, scalar=lambda S, x: S.signbit(x))

# ---- public node-level functions ---------------------------------------------------------------


def _to_bool(x):
    return to_node(x, dt.bool_) if not isinstance(x, Node) else cast(x, dt.bool_)


def _logical(op):
    def fn(a, b):
        return make(op, (_to_bool(a), _to_bool(b)))
    return fn


def _logical_public(op, name):
    node_fn = _logical(op)

    def fn(a, b):
        _tensor_arg(a, name, 1, "input")
        _tensor_arg(b, name)
        return node_fn(a, b)
    fn.__name__ = name
    fn.__doc__ = f"Elementwise {name}: nonzero is true; the result is bool."
    return fn


logical_and = _logical("bitwise_and")
logical_or = _logical("bitwise_or")
logical_xor = _logical("bitwise_xor")


def logical_not(x):
    return make("bitwise_not", (_to_bool(x),))


def _bitwise(op, kernel):
    def fn(a, b):
        _check_operand(a, op, 1, "input")
        _check_operand(b, op)
        d, (x, y) = promote(a, b)
        if d.category == dt.FLOAT:
            not_implemented(kernel, d)
        return make(op, (x, y))
    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op} of integer or bool tensors."
    return fn


bitwise_and = _bitwise("bitwise_and", "bitwise_and_cpu")
bitwise_or = _bitwise("bitwise_or", "bitwise_or_cpu")
bitwise_xor = _bitwise("bitwise_xor", "bitwise_xor_cpu")


def _shift(op, kernel):
    def fn(a, b):
        _check_operand(a, op, 1, "input")
        _check_operand(b, op)
        d, (x, y) = promote(a, b)
        if d.category != dt.INT:
            not_implemented(kernel, d)
        return make(op, (x, y))
    fn.__name__ = op
    fn.__doc__ = ("Elementwise shift; by >= the bit width (or < 0) gives 0, or -1 for a "
                  "negative value shifted right.")
    return fn


bitwise_left_shift = _shift("bitwise_left_shift", "lshift_cpu")
bitwise_right_shift = _shift("bitwise_right_shift", "rshift_cpu")


def bitwise_not(x):
    if x.dtype.category == dt.FLOAT:
        not_implemented("bitwise_not_cpu", x.dtype)
    return make("bitwise_not", (x,))


def isnan(x):
    return ne(x, x)


def isinf(x):
    if x.dtype.category != dt.FLOAT:
        return ne(x, x)
    from .unary import abs as abs_
    return eq(abs_(x), math.inf)


def isposinf(x):
    return eq(x, math.inf) if x.dtype.category == dt.FLOAT else ne(x, x)


def isneginf(x):
    return eq(x, -math.inf) if x.dtype.category == dt.FLOAT else ne(x, x)


def isfinite(x):
    if x.dtype.category != dt.FLOAT:
        return eq(x, x)
    from .unary import abs as abs_
    return lt(abs_(x), math.inf)


def signbit(x):
    return make("signbit", (x,))


EXPORTS = [
    ("logical_and", _logical_public("bitwise_and", "logical_and"), "fmi"),
    ("logical_or", _logical_public("bitwise_or", "logical_or"), "fmi"),
    ("logical_xor", _logical_public("bitwise_xor", "logical_xor"), "fmi"),
    ("logical_not", logical_not, "fmi"),
    ("bitwise_and", bitwise_and, "fmi"), ("bitwise_or", bitwise_or, "fmi"),
    ("bitwise_xor", bitwise_xor, "fmi"), ("bitwise_not", bitwise_not, "fmi"),
    ("bitwise_left_shift", bitwise_left_shift, "fmi"),
    ("bitwise_right_shift", bitwise_right_shift, "fmi"),
    ("isnan", isnan, "fm"), ("isinf", isinf, "fm"), ("isposinf", isposinf, "fm"),
    ("isneginf", isneginf, "fm"), ("isfinite", isfinite, "fm"), ("signbit", signbit, "fm"),
]
