"""Elementwise binary primitives (arithmetic, division, powers, min/max, comparison, selection,
casts) and their public PyTorch-style forms.

Each primitive broadcasts implicitly (the lowering builds broadcasting index maps) and takes
operands of one dtype: the public functions promote and cast first, following PyTorch's
type promotion (Python scalars included). Unary math lives in `unary.py` and bitwise/logical
ops in `logical.py`; `exp`, `log` and `tanh` are re-exported here for the gradient rules.

Integer division by zero: PyTorch's CPU kernels raise `RuntimeError: ZeroDivisionError`. A
Python-scalar zero divisor raises the same here when the op is recorded; a tensor divisor
holding zeros cannot be checked without running the graph, so there `x // 0`, `x % 0`,
`fmod(x, 0)` and trunc division by 0 give 0 (NumPy's convention) and never trap.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..node import Node, make
from ..opdef import defop
from .common import (_arr, binary_rule, binary_samples, cast, compare_rule, np_dtype_of,
                     unary_rule, unary_samples)
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


def zeros_of(n: Node) -> Node:
    """A zero tensor shaped like `n` (the gradient of piecewise-constant ops)."""
    from .source import full
    return full(n.shape, 0, n.dtype, n.device or "cpu")


# ---- references for integer division (zero divisor -> 0, never a trap) --------------------

def _safe(b):
    return np.where(b == 0, np.ones_like(b), b)


def _div_ref(a, b):
    if a.dtype.kind == "f":
        return np.true_divide(a, b).astype(a.dtype)
    with np.errstate(all="ignore"):
        q = np.floor_divide(a, _safe(b))
        r = a - q * _safe(b)
        q = np.where((r != 0) & ((a < 0) != (_safe(b) < 0)), q + 1, q)
        return np.where(b == 0, 0, q).astype(a.dtype)


def _int_or_float(fn):
    def ref(a, b):
        with np.errstate(all="ignore"):
            return np.asarray(fn(a, b)).astype(a.dtype)
    return ref


def _pow_ref(a, b):
    if a.dtype.kind == "f":
        with np.errstate(all="ignore"):
            return np.power(a, b).astype(a.dtype)
    with np.errstate(all="ignore"):
        pos = np.power(a, np.maximum(b, 0)).astype(a.dtype)
    if a.dtype.kind == "u" or a.dtype == np.bool_:
        return pos
    neg = np.where(a == 1, 1, np.where(a == -1, np.where(b % 2 != 0, -1, 1), 0))
    return np.where(b < 0, neg, pos).astype(a.dtype)


def _div_samples(positive_rhs=False):
    def samples(rng):
        def r(shape, d=np.float32):
            return _arr(rng, shape, d)
        rhs = (lambda s: rng.uniform(0.3, 2.0, s).astype(np.float32)) if positive_rhs else \
            (lambda s: (rng.uniform(0.3, 2.0, s) * rng.choice([-1, 1], s)).astype(np.float32))
        return [([r((3, 4)) * 3, rhs((3, 4))], {}),
                ([r((2, 1, 3)) * 3, rhs((4, 3))], {}),
                ([r(()) * 3, rhs((5,))], {}),
                ([r((0, 3)), rhs((1, 3))], {}),
                ([np.array([7, -7, 7, -7, 5, 0, -9]), np.array([2, 2, -2, -2, 0, 3, 4])], {}),
                ([np.array([7, 200, 5], np.uint8), np.array([2, 0, 7], np.uint8)], {})]
    return samples


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


_BIN = binary_samples(dtypes=(np.float32, np.int64, np.float64))


def _bool_samples(rng):
    return [([rng.random((3,)) > 0.5, rng.random((2, 3)) > 0.5], {})]


def _with_bool(samples):
    return lambda rng: samples(rng) + _bool_samples(rng)


defop("add", infer=binary_rule, reference=np.add, scalar=lambda S, a, b: S.add(a, b),
      grad=_grad_add, samples=_with_bool(_BIN))
defop("sub", infer=binary_rule, reference=np.subtract, scalar=lambda S, a, b: S.sub(a, b),
      grad=_grad_sub, samples=_BIN)
defop("mul", infer=binary_rule, reference=np.multiply, scalar=lambda S, a, b: S.mul(a, b),
      grad=_grad_mul, samples=_with_bool(_BIN))
defop("div", infer=binary_rule, reference=_div_ref, scalar=lambda S, a, b: S.div(a, b),
      grad=_grad_div, samples=_div_samples(),
      doc="True division on floats; integer division truncates (x / 0 -> 0).")
defop("neg", infer=unary_rule, reference=np.negative, scalar=lambda S, x: S.neg(x),
      grad=lambda g, n: (neg(g),), samples=unary_samples(dtypes=(np.float32, np.int64)))


def _grad_zero(g, n):
    return tuple(zeros_of(x) for x in n.inputs)


def _grad_remainder(g, n):
    a, b = n.inputs
    return sum_to(g, a.shape), sum_to(neg(mul(g, make("floordiv", (a, b)))), b.shape)


def _grad_fmod(g, n):
    from .unary import trunc
    a, b = n.inputs
    return sum_to(g, a.shape), sum_to(neg(mul(g, trunc(div(a, b)))), b.shape)


defop("floordiv", infer=binary_rule, reference=_int_or_float(np.floor_divide),
      scalar=lambda S, a, b: S.floordiv(a, b), grad=_grad_zero, samples=_div_samples(),
      doc="Python's // (floats by CPython's algorithm); integer x // 0 -> 0.")
defop("remainder", infer=binary_rule, reference=_int_or_float(np.remainder),
      scalar=lambda S, a, b: S.remainder(a, b), grad=_grad_remainder,
      samples=_div_samples(), doc="Python's %: the sign of the divisor; integer x % 0 -> 0.")
defop("fmod", infer=binary_rule, reference=_int_or_float(np.fmod),
      scalar=lambda S, a, b: S.fmod(a, b), grad=_grad_fmod, samples=_div_samples(),
      doc="C's fmod: the sign of the dividend; integer fmod(x, 0) -> 0.")


def _grad_pow(g, n):
    from .logical import logical_and
    from .unary import log
    a, b = n.inputs
    ga = where(eq(b, 0.0), 0.0, mul(g, mul(b, make("pow", (a, sub(b, 1.0))))))
    gb = mul(g, where(logical_and(eq(a, 0.0), ge(b, 0.0)), 0.0, mul(n, log(a))))
    return sum_to(ga, a.shape), sum_to(gb, b.shape)


def _pow_samples(rng):
    pos = lambda s: rng.uniform(0.3, 2.0, s).astype(np.float32)  # noqa: E731
    return [([pos((3, 4)), rng.uniform(-2, 2, (3, 4)).astype(np.float32)], {}),
            ([pos((2, 1, 3)), rng.uniform(-2, 2, (4, 3)).astype(np.float32)], {}),
            ([pos(()), rng.uniform(-2, 2, (5,)).astype(np.float32)], {}),
            ([pos((0, 3)), pos((1, 3))], {}),
            ([rng.uniform(0.5, 2, (4,)), np.array([3.0, 2.0, -1.0, 0.5])], {}),
            ([np.array([2, -3, 5, 1, -1, -1, 0, 2, 3]),
              np.array([10, 3, 0, -4, -3, -2, -1, 63, 41])], {}),
            ([np.array([3, 2, 0], np.uint8), np.array([2, 9, 0], np.uint8)], {})]


defop("pow", infer=binary_rule, reference=_pow_ref, scalar=lambda S, a, b: S.pow(a, b),
      grad=_grad_pow, samples=_pow_samples,
      doc="C99 pow on floats; integer powers by squaring (negative exponents as PyTorch).")

# ---- min/max family -------------------------------------------------------------------------


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


def _grad_fmax_fmin(cmp):
    def rule(g, n):
        a, b = n.inputs
        # PyTorch: the gradient goes to `a` where it won (ties included) or `b` is NaN.
        from .logical import logical_or
        to_a = logical_or(cmp(a, b), ne(b, b))
        return sum_to(where(to_a, g, 0.0), a.shape), sum_to(where(to_a, 0.0, g), b.shape)
    return rule


def _nan_samples(rng):
    return [([np.array([1.0, np.nan, np.nan, -2.0], np.float32),
              np.array([np.nan, 3.0, np.nan, -1.0], np.float32)], {})]


_BIN_ALL = _with_bool(binary_samples(dtypes=(np.float32, np.int64, np.uint8)))
defop("maximum", infer=binary_rule, reference=np.maximum, scalar=lambda S, a, b: S.max(a, b),
      grad=_grad_maximum, samples=_BIN_ALL)
defop("minimum", infer=binary_rule, reference=np.minimum, scalar=lambda S, a, b: S.min(a, b),
      grad=_grad_minimum, samples=_BIN_ALL)
defop("fmax", infer=binary_rule, reference=np.fmax, scalar=lambda S, a, b: S.fmax(a, b),
      grad=_grad_fmax_fmin(lambda a, b: ge(a, b)),
      samples=_BIN)
defop("fmin", infer=binary_rule, reference=np.fmin, scalar=lambda S, a, b: S.fmin(a, b),
      grad=_grad_fmax_fmin(lambda a, b: le(a, b)),
      samples=_BIN)


def _grad_clamp(keep, other):
    def rule(g, n):
        x, bound = n.inputs
        return (sum_to(where(keep(x, bound), g, 0.0), x.shape),
                sum_to(where(other(x, bound), g, 0.0), bound.shape))
    return rule


# clamp_min/clamp_max compute maximum/minimum; only their gradients differ: PyTorch passes
# the whole gradient to x where min <= x (resp. x <= max), bounds included.
defop("clamp_min", infer=binary_rule, reference=np.maximum, scalar=lambda S, a, b: S.max(a, b),
      grad=_grad_clamp(lambda x, b: ge(x, b), lambda x, b: lt(x, b)),
      samples=_BIN)
defop("clamp_max", infer=binary_rule, reference=np.minimum, scalar=lambda S, a, b: S.min(a, b),
      grad=_grad_clamp(lambda x, b: le(x, b), lambda x, b: gt(x, b)),
      samples=_BIN)

# ---- two-argument float functions ------------------------------------------------------------


def _grad_atan2(g, n):
    a, b = n.inputs
    den = add(mul(a, a), mul(b, b))
    return sum_to(div(mul(g, b), den), a.shape), sum_to(neg(div(mul(g, a), den)), b.shape)


def _grad_hypot(g, n):
    a, b = n.inputs
    return sum_to(mul(g, div(a, n)), a.shape), sum_to(mul(g, div(b, n)), b.shape)


def _grad_copysign(g, n):
    a, b = n.inputs
    return sum_to(mul(g, where(eq(a, 0.0), 0.0, div(n, a))), a.shape), zeros_of(b)


def _float_bin_samples(rng):
    r = lambda s, d=np.float32: rng.uniform(-2, 2, s).astype(d)  # noqa: E731
    return [([r((3, 4)), r((3, 4))], {}), ([r((2, 1, 3)), r((4, 3))], {}),
            ([r(()), r((5,))], {}), ([r((0, 3)), r((1, 3))], {}),
            ([r((4,), np.float64), r((4,), np.float64)], {})]


defop("atan2", infer=binary_rule, reference=np.arctan2, scalar=lambda S, a, b: S.atan2(a, b),
      grad=_grad_atan2, samples=_float_bin_samples)
defop("hypot", infer=binary_rule, reference=np.hypot, scalar=lambda S, a, b: S.hypot(a, b),
      grad=_grad_hypot, samples=_float_bin_samples)
defop("copysign", infer=binary_rule, reference=np.copysign,
      scalar=lambda S, a, b: S.copysign(a, b), grad=_grad_copysign,
      # (signed zeros are tested in tests/test_ops_elementwise.py: as registry samples they
      # would put finite differences across copysign's jump)
      samples=_float_bin_samples)

def _xlogy_ref(a, b):
    with np.errstate(all="ignore"):
        return np.where((a == 0) & ~np.isnan(b), 0, a * np.log(b)).astype(a.dtype)


def _grad_xlogy(g, n):
    from .logical import logical_and
    a, b = n.inputs
    ga = where(logical_and(eq(a, 0.0), le(b, 0.0)), 0.0, xlogy(g, b))
    return sum_to(ga, a.shape), sum_to(div(mul(g, a), b), b.shape)


def _xlogy_samples(rng):
    pos = lambda s: rng.uniform(0.2, 2.0, s)  # noqa: E731
    return [([rng.uniform(-2, 2, (3, 4)).astype(np.float32), pos((3, 4)).astype(np.float32)], {}),
            ([rng.uniform(-2, 2, (2, 1, 3)), pos((4, 3))], {}),
            ([np.float32(1.5), pos((5,)).astype(np.float32)], {})]


defop("xlogy", infer=binary_rule, reference=_xlogy_ref, grad=_grad_xlogy,
      scalar=lambda S, a, b: S.xlogy(a, b), samples=_xlogy_samples,
      doc="a * log(b), 0 where a == 0 unless b is NaN.")

# ---- comparison and selection ---------------------------------------------------------------

_CMP = lambda rng: _BIN_ALL(rng) + _nan_samples(rng)  # noqa: E731
for _name, _np in (("lt", np.less), ("le", np.less_equal), ("gt", np.greater),
                   ("ge", np.greater_equal), ("eq", np.equal), ("ne", np.not_equal)):
    defop(_name, infer=compare_rule, reference=_np, differentiable=False, samples=_CMP,
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

from .elementwise_api import *  # noqa: E402,F401,F403  (the public node-level functions)
from .elementwise_api import EXPORTS  # noqa: E402,F401
from .unary import exp, log, tanh  # noqa: E402,F401  (moved; importable from here as before)
