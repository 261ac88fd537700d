"""Elementwise primitives (arithmetic, comparison, selection, casts) and their public forms.

Each primitive broadcasts implicitly (the lowering builds broadcasting index maps) and takes
operands of one dtype: the public functions promote and cast first, following PyTorch.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..node import Node, make
from ..opdef import defop
from .common import (binary_rule, binary_samples, cast, compare_rule, const, float_unary_rule,
                     np_dtype_of, promote, result_dtype, to_node, unary_rule, unary_samples)
from .grads import sum_to


def _cast_ref(x, dtype):
    if dtype.category == dt.BOOL:
        return x != 0
    if dtype.category == dt.INT and np.issubdtype(x.dtype, np.floating):
        x = np.trunc(x)
    with np.errstate(invalid="ignore"):
        return x.astype(np_dtype_of(dtype))


defop("cast",
      infer=lambda inputs, attrs: (attrs["dtype"], inputs[0].shape),
      reference=_cast_ref,
      scalar=lambda S, x: S.cast(x, S.dtype, S.out),
      grad=lambda g, n: (cast(g, n.inputs[0].dtype),),
      samples=lambda rng: [([rng.normal(size=(3, 4)).astype(np.float32)], {"dtype": dt.int64}),
                           ([rng.normal(size=(3,))], {"dtype": dt.float32}),
                           ([rng.normal(size=(4,)).astype(np.float32)], {"dtype": dt.float64}),
                           ([np.array([0, 2, -3])], {"dtype": dt.bool_}),
                           ([np.array([True, False])], {"dtype": dt.float32}),
                           ([np.array([300, -7], dtype=np.int64)], {"dtype": dt.uint8})],
      doc="Convert to attrs['dtype'] (float->int truncates toward zero).")

# ---- binary arithmetic --------------------------------------------------------------------


def _grad_add(g, n):
    a, b = n.inputs
    return sum_to(g, a.shape), sum_to(g, b.shape)


def _grad_sub(g, n):
    a, b = n.inputs
    return sum_to(g, a.shape), sum_to(neg(g), b.shape)


def _grad_mul(g, n):
    a, b = n.inputs
    return sum_to(mul(g, b), a.shape), sum_to(mul(g, a), b.shape)


def _grad_div(g, n):
    a, b = n.inputs
    ga = div(g, b)
    gb = neg(div(mul(ga, a), b))
    return sum_to(ga, a.shape), sum_to(gb, b.shape)


_BIN = binary_samples(dtypes=(np.float32, np.int64))
_BIN_F = binary_samples(positive_rhs=True)
defop("add", infer=binary_rule, reference=np.add, scalar=lambda S, a, b: S.add(a, b),
      grad=_grad_add, samples=_BIN)
defop("sub", infer=binary_rule, reference=np.subtract, scalar=lambda S, a, b: S.sub(a, b),
      grad=_grad_sub, samples=_BIN)
defop("mul", infer=binary_rule, reference=np.multiply, scalar=lambda S, a, b: S.mul(a, b),
      grad=_grad_mul, samples=_BIN)
defop("div", infer=binary_rule, reference=lambda a, b: np.true_divide(a, b).astype(a.dtype),
      scalar=lambda S, a, b: S.div(a, b), grad=_grad_div, samples=_BIN_F,
      doc="True division on floats; integer division truncates (public div casts first).")
defop("neg", infer=unary_rule, reference=np.negative, scalar=lambda S, x: S.neg(x),
      grad=lambda g, n: (neg(g),), samples=unary_samples(dtypes=(np.float32, np.int64)))
defop("exp", infer=float_unary_rule, reference=np.exp, scalar=lambda S, x: S.exp(x),
      grad=lambda g, n: (mul(g, n),), samples=unary_samples())
defop("log", infer=float_unary_rule, reference=np.log, scalar=lambda S, x: S.log(x),
      grad=lambda g, n: (div(g, n.inputs[0]),), samples=unary_samples(positive=True))
defop("tanh", infer=float_unary_rule, reference=np.tanh, scalar=lambda S, x: S.tanh(x),
      grad=lambda g, n: (mul(g, sub(1.0, mul(n, n))),), samples=unary_samples())


def _grad_maximum(g, n):
    a, b = n.inputs
    # Ties split the gradient evenly, as PyTorch does for maximum/minimum.
    ga = where(gt(a, b), g, where(eq(a, b), mul(g, 0.5), 0.0))
    gb = sub(g, ga)
    return sum_to(ga, a.shape), sum_to(gb, b.shape)


def _grad_minimum(g, n):
    a, b = n.inputs
    ga = where(lt(a, b), g, where(eq(a, b), mul(g, 0.5), 0.0))
    return sum_to(ga, a.shape), sum_to(sub(g, ga), b.shape)


defop("maximum", infer=binary_rule, reference=np.maximum, scalar=lambda S, a, b: S.max(a, b),
      grad=_grad_maximum, samples=_BIN)
defop("minimum", infer=binary_rule, reference=np.minimum, scalar=lambda S, a, b: S.min(a, b),
      grad=_grad_minimum, samples=_BIN)

# ---- comparison and selection ---------------------------------------------------------------

for _name, _np in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
    defop(_name, infer=compare_rule, reference=_np, differentiable=False, samples=_BIN,
          scalar=(lambda p: lambda S, a, b: S.cmp(p, a, b))(_name))


def _where_rule(inputs, attrs):
    c, a, b = inputs
    if c.dtype is not dt.bool_:
        raise TypeError("internal: where condition must be bool")
    d = a.dtype
    if b.dtype is not d:
        raise TypeError("internal: where branches must share a dtype")
    from ..shapes import broadcast_shapes
    return d, broadcast_shapes(c.shape, a.shape, b.shape)


def _grad_where(g, n):
    c, a, b = n.inputs
    zero = 0.0
    return None, sum_to(where(c, g, zero), a.shape), sum_to(where(c, zero, g), b.shape)


def _where_samples(rng):
    return [([rng.random((3, 4)) > 0.5, rng.normal(size=(3, 4)).astype(np.float32),
              rng.normal(size=(4,)).astype(np.float32)], {}),
            ([np.array(True), rng.normal(size=(2, 3)), rng.normal(size=(2, 1))], {}),
            ([rng.random((5,)) > 0.5, np.arange(5), -np.arange(5)], {})]


defop("where", infer=_where_rule, reference=np.where,
      scalar=lambda S, c, a, b: S.select(c, a, b), grad=_grad_where, samples=_where_samples)

# ---- public node-level functions -------------------------------------------------------------


def _binary(op):
    def fn(a, b):
        _, (x, y) = promote(a, b)
        return make(op, (x, y))
    fn.__name__ = op
    return fn


def add(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    _, (x, y) = promote(a, b)
    return make("add", (x, y))


def sub(a, b, alpha=1):
    if alpha != 1:
        b = mul(b, alpha)
    _, (x, y) = promote(a, b)
    return make("sub", (x, y))


mul = _binary("mul")
maximum = _binary("maximum")
minimum = _binary("minimum")


def div(a, b, rounding_mode=None):
    if rounding_mode is None:
        _, (x, y) = promote(a, b, floating=True)
        return make("div", (x, y))
    raise NotImplementedError("div rounding_mode is provided by the elementwise family")


def neg(x):
    return make("neg", (to_node(x, result_dtype(x)),))


def _float_unary(op):
    def fn(x):
        d = x.dtype if x.dtype.category == dt.FLOAT else dt.get_default_dtype()
        return make(op, (cast(x, d),))
    fn.__name__ = op
    return fn


exp = _float_unary("exp")
log = _float_unary("log")
tanh = _float_unary("tanh")


def _compare(op):
    def fn(a, b):
        _, (x, y) = promote(a, b)
        return make(op, (x, y))
    fn.__name__ = op
    return fn


lt, le, gt, ge, eq, ne = (_compare(o) for o in ("lt", "le", "gt", "ge", "eq", "ne"))


def where(cond, a, b):
    if isinstance(cond, Node) and cond.dtype is not dt.bool_:
        from ...errors import fail
        fail(RuntimeError, f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {cond.dtype.name.capitalize()}")
    _, (x, y) = promote(a, b)
    return make("where", (to_node(cond, dt.bool_), x, y))

EXPORTS = [
    ("add", add, "fmi"), ("sub", sub, "fmi"), ("mul", mul, "fmi"), ("div", div, "fmi"),
    ("neg", neg, "fmi"), ("exp", exp, "fmi"), ("log", log, "fmi"), ("tanh", tanh, "fmi"),
    ("maximum", maximum, "fm"), ("minimum", minimum, "fm"), ("where", where, "fm"),
    ("lt", lt, "fmi"), ("le", le, "fmi"), ("gt", gt, "fmi"), ("ge", ge, "fmi"),
    ("eq", eq, "fmi"), ("ne", ne, "fmi"),
]
