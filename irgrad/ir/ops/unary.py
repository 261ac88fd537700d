"""Unary math primitives (abs, sqrt, exp/log family, trigonometry, sigmoid, erf, rounding,
relu) and their public PyTorch-style forms.

Float functions given an integer or bool tensor compute in the default float dtype, as
PyTorch does (`sqrt(int64) -> float32`). Rounding ops return integer inputs unchanged.
Gradients follow PyTorch's conventions: abs'(0) = 0, relu'(0) = 0, sign/floor/ceil/round/
trunc have zero gradient, sqrt'(0) = inf. The scalar bodies call `S`, whose fallbacks give
f64 (and accurate f32) versions of the functions llvm-cpu cannot link.
"""
from __future__ import annotations

import builtins
import math

import numpy as np

from .. import dtypes as dt
from ..node import Node, make
from ..opdef import defop
from .common import cast, float_unary_rule, unary_rule, unary_samples
from .elementwise import add, div, gt, mul, neg, sub, where, zeros_of
from .elementwise_api import not_implemented

_F = (np.float32, np.float64)


def _ufunc_ref(fn):
    def ref(x):
        with np.errstate(all="ignore"):
            return np.asarray(fn(x)).astype(x.dtype)
    return ref


def _samples(*makers):
    return lambda rng: [s for m in makers for s in m(rng)]


def _math(name, ref, grad, samples=None, scalar=None):
    defop(name, infer=float_unary_rule, reference=_ufunc_ref(ref), grad=grad,
          scalar=scalar or (lambda S, x: getattr(S, name)(x)),
          samples=samples or unary_samples(dtypes=_F))



# ---- exponentials and logarithms ----------------------------------------------------------------
_math("exp", np.exp, lambda g, n: (mul(g, n),),
      unary_samples(dtypes=_F))
_math("exp2", np.exp2, lambda g, n: (mul(g, mul(n, math.log(2.0))),),
      unary_samples(dtypes=_F))
_math("expm1", np.expm1, lambda g, n: (mul(g, add(n, 1.0)),),
      unary_samples(dtypes=_F))
_math("log", np.log, lambda g, n: (div(g, n.inputs[0]),),
      unary_samples(positive=True, dtypes=_F))
_math("log2", np.log2, lambda g, n: (div(g, mul(n.inputs[0], math.log(2.0))),),
      unary_samples(positive=True, dtypes=_F))
_math("log10", np.log10, lambda g, n: (div(g, mul(n.inputs[0], math.log(10.0))),),
      unary_samples(positive=True, dtypes=_F))
_math("log1p", np.log1p, lambda g, n: (div(g, add(n.inputs[0], 1.0)),),
      unary_samples(positive=True, dtypes=_F))


def _grad_sqrt(g, n):
    return (div(g, mul(n, 2.0)),)


_math("sqrt", np.sqrt, _grad_sqrt, unary_samples(positive=True, dtypes=_F))
_math("rsqrt", lambda x: 1 / np.sqrt(x), lambda g, n: (mul(g, mul(mul(n, mul(n, n)), -0.5)),),
      unary_samples(positive=True, dtypes=_F))
_math("reciprocal", lambda x: 1 / x, lambda g, n: (neg(mul(g, mul(n, n))),),
      unary_samples(positive=True, dtypes=_F), scalar=lambda S, x: S.div(S.const(1.0), x))

# ---- trigonometric and hyperbolic -----------------------------------------------------------------
_math("sin", np.sin, lambda g, n: (mul(g, cos(n.inputs[0])),),
      unary_samples(low=-4, high=4, dtypes=_F))
_math("cos", np.cos, lambda g, n: (neg(mul(g, sin(n.inputs[0]))),),
      unary_samples(low=-4, high=4, dtypes=_F))
_math("tan", np.tan, lambda g, n: (mul(g, add(mul(n, n), 1.0)),),
      unary_samples(low=-1.2, high=1.2, dtypes=_F))


def _grad_asin(g, n):
    x = n.inputs[0]
    return (mul(g, rsqrt(sub(1.0, mul(x, x)))),)


_UNIT = unary_samples(low=-0.9, high=0.9, dtypes=_F)
_math("asin", np.arcsin, _grad_asin,
      _UNIT)
_math("acos", np.arccos, lambda g, n: (neg(_grad_asin(g, n)[0]),),
      _UNIT)
_math("atan", np.arctan, lambda g, n: (div(g, add(mul(n.inputs[0], n.inputs[0]), 1.0)),),
      unary_samples(low=-4, high=4, dtypes=_F))
_math("sinh", np.sinh, lambda g, n: (mul(g, cosh(n.inputs[0])),),
      unary_samples(dtypes=_F))
_math("cosh", np.cosh, lambda g, n: (mul(g, sinh(n.inputs[0])),),
      unary_samples(dtypes=_F))
_math("tanh", np.tanh, lambda g, n: (mul(g, sub(1.0, mul(n, n))),),
      unary_samples(dtypes=_F))
_math("asinh", np.arcsinh, lambda g, n: (mul(g, rsqrt(add(mul(n.inputs[0], n.inputs[0]), 1.0))),),
      unary_samples(dtypes=_F))
_math("acosh", np.arccosh,
      lambda g, n: (mul(g, rsqrt(sub(mul(n.inputs[0], n.inputs[0]), 1.0))),),
      unary_samples(low=1.2, high=3.0, dtypes=_F))
_math("atanh", np.arctanh, lambda g, n: (div(g, sub(1.0, mul(n.inputs[0], n.inputs[0]))),),
      _UNIT)


def _sigmoid_ref(x):
    with np.errstate(over="ignore"):
        return (1 / (1 + np.exp(-x))).astype(x.dtype)


_math("sigmoid", _sigmoid_ref, lambda g, n: (mul(g, mul(n, sub(1.0, n))),),
      unary_samples(low=-4, high=4, dtypes=_F))

# ---- error function ------------------------------------------------------------------------------


def _erf_ref(fn):
    vec = np.vectorize(fn, otypes=[np.float64])
    return lambda x: vec(x.astype(np.float64)).astype(x.dtype) if x.size else x.copy()


def _erfinv_scalar(y):
    """erfinv by bisection on math.erf (the test oracle: slow and simple)."""
    if math.isnan(y) or builtins.abs(y) > 1:
        return math.nan
    if builtins.abs(y) == 1:
        return math.copysign(math.inf, y)
    lo, hi = -6.0, 6.0
    for _ in range(200):
        mid = (lo + hi) / 2
        if math.erf(mid) < y:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


_TWO_OVER_SQRTPI = 2 / math.sqrt(math.pi)
defop("erf", infer=float_unary_rule, reference=_erf_ref(math.erf), scalar=lambda S, x: S.erf(x),
      grad=lambda g, n: (mul(g, mul(exp(neg(mul(n.inputs[0], n.inputs[0]))),
                                    _TWO_OVER_SQRTPI)),),
      samples=unary_samples(dtypes=_F))
defop("erfc", infer=float_unary_rule, reference=_erf_ref(math.erfc),
      scalar=lambda S, x: S.erfc(x),
      grad=lambda g, n: (mul(g, mul(exp(neg(mul(n.inputs[0], n.inputs[0]))),
                                    -_TWO_OVER_SQRTPI)),),
      samples=unary_samples(low=-3, high=5, dtypes=_F))
defop("erfinv", infer=float_unary_rule, reference=_erf_ref(_erfinv_scalar),
      scalar=lambda S, x: S.erfinv(x),
      grad=lambda g, n: (mul(g, mul(exp(mul(n, n)), math.sqrt(math.pi) / 2)),),
      samples=_UNIT)

# ---- sign, abs, rounding, relu -----------------------------------------------------------------

_INTS = (np.float32, np.int64, np.float64)


def _int_unary(name, ref, grad, scalar, samples=None, differentiable=True):
    defop(name, infer=unary_rule, reference=_ufunc_ref(ref), grad=grad, scalar=scalar,
          samples=samples or unary_samples(dtypes=_INTS), differentiable=differentiable)


def _grad_abs(g, n):
    return (mul(g, sign(n.inputs[0])),)


def _zero_grad(g, n):
    return (zeros_of(n.inputs[0]),)


_int_unary("abs", np.abs, _grad_abs, lambda S, x: S.abs(x),
           _samples(unary_samples(dtypes=_INTS),
                    lambda rng: [([np.array([-128, 5, 0], np.int8)], {})]))
def _sign_ref(x):
    if x.dtype == np.bool_:
        return x.copy()
    return np.where(np.isnan(x), 0, np.sign(x)) if x.dtype.kind == "f" else np.sign(x)


_int_unary("sign", _sign_ref, _zero_grad, lambda S, x: S.sign(x),
           _samples(unary_samples(dtypes=_INTS),
                    lambda rng: [([np.array([True, False])], {}),
                                 ([np.array([0, 7], np.uint8)], {})]))
for _name, _fn, _math_op in (("floor", np.floor, "floor"), ("ceil", np.ceil, "ceil"),
                             ("trunc", np.trunc, "trunc"), ("round", np.round, "roundeven")):
    defop(_name, infer=float_unary_rule, reference=_ufunc_ref(_fn), grad=_zero_grad,
          scalar=(lambda m: lambda S, x: getattr(S, m)(x))(_math_op),
          samples=unary_samples(low=-4, high=4, dtypes=_F),
          doc="Rounds to an integral float (round: half to even); gradient zero.")


def _relu_ref(x):
    return np.where(np.isnan(x), x, np.maximum(x, 0)).astype(x.dtype) if x.dtype.kind == "f" \
        else np.maximum(x, 0).astype(x.dtype)


_int_unary("relu", _relu_ref, lambda g, n: (where(gt(n, 0), g, 0.0),),
           lambda S, x: S.relu(x),
           unary_samples(dtypes=_INTS))

# ---- public node-level functions -----------------------------------------------------------------


def _float_of(x: Node) -> Node:
    return x if x.dtype.category == dt.FLOAT else cast(x, dt.get_default_dtype())


def _float_unary(op):
    def fn(x):
        return make(op, (_float_of(x),))
    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op}; integer and bool inputs compute in the default float."
    return fn


(exp, exp2, expm1, log, log2, log10, log1p, sqrt, rsqrt, reciprocal, sin, cos, tan, asin, acos,
 atan, sinh, cosh, tanh, asinh, acosh, atanh, sigmoid, erf, erfc, erfinv) = (
    _float_unary(o) for o in ("exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt",
                              "rsqrt", "reciprocal", "sin", "cos", "tan", "asin", "acos", "atan",
                              "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "sigmoid",
                              "erf", "erfc", "erfinv"))


def abs(x):  # noqa: A001 - PyTorch's name
    if x.dtype is dt.bool_:
        not_implemented("abs_cpu", x.dtype)
    return make("abs", (x,))


def sign(x):
    return make("sign", (x,))


def _rounding(op, kernel):
    def fn(x, decimals=0):
        if x.dtype.category != dt.FLOAT:
            if x.dtype is dt.bool_ or decimals:
                not_implemented(kernel, x.dtype)
            return x
        if not decimals:
            return make(op, (x,))
        # PyTorch: nearbyint(x * 10^d) / 10^d, or nearbyint(x / 10^-d) * 10^-d for d < 0.
        scale = 10.0 ** builtins.abs(decimals)
        if decimals > 0:
            return div(make(op, (mul(x, scale),)), scale)
        return mul(make(op, (div(x, scale),)), scale)
    fn.__name__ = op
    return fn


round = _rounding("round", "round_vml_cpu")  # noqa: A001


def _simple_rounding(op, kernel):
    def fn(x):
        if x.dtype.category != dt.FLOAT:
            if x.dtype is dt.bool_:
                not_implemented(kernel, x.dtype)
            return x
        return make(op, (x,))
    fn.__name__ = op
    return fn


floor = _simple_rounding("floor", "floor_vml_cpu")
ceil = _simple_rounding("ceil", "ceil_vml_cpu")
trunc = _simple_rounding("trunc", "trunc_vml_cpu")


def frac(x):
    """x - trunc(x), sign of x kept."""
    if x.dtype.category != dt.FLOAT:
        not_implemented("frac_cpu", x.dtype)
    return sub(x, make("trunc", (x,)))


def relu(x):
    if x.dtype is dt.bool_:
        from ...errors import fail
        fail(RuntimeError, "Boolean inputs not supported for relu")
    return make("relu", (x,))


def square(x):
    from .elementwise import pow as pow_
    return pow_(x, 2)


def positive(x):
    if x.dtype is dt.bool_:
        from ...errors import fail
        fail(RuntimeError, "The `+` operator, on a bool tensor is not supported.")
    return x


def logit(x, eps=None):
    """log(x / (1 - x)), with x first clamped to [eps, 1 - eps] when eps is given."""
    x = _float_of(x)
    if eps is not None:
        from .elementwise import clamp
        x = clamp(x, eps, 1.0 - eps)
    return log(div(x, sub(1.0, x)))


def _finfo_max(d: dt.DType) -> float:
    if d is dt.bfloat16:
        return 3.3895313892515355e38
    return float(np.finfo(d.np).max)


def nan_to_num(x, nan=0.0, posinf=None, neginf=None):
    """Replace NaN, +inf and -inf by finite values (default: 0 and the dtype's extremes)."""
    if x.dtype.category != dt.FLOAT:
        return x
    big = _finfo_max(x.dtype)
    from .elementwise import eq, ne
    out = where(eq(x, math.inf), big if posinf is None else posinf, x)
    out = where(eq(x, -math.inf), -big if neginf is None else neginf, out)
    return where(ne(x, x), nan, out)


def deg2rad(x):
    return mul(_float_of(x), math.pi / 180.0)


def rad2deg(x):
    return mul(_float_of(x), 180.0 / math.pi)


EXPORTS = [(name, globals()[name], "fmi") for name in (
    "exp", "exp2", "expm1", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "reciprocal",
    "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
    "atanh", "sigmoid", "erf", "erfc", "erfinv", "abs", "sign", "round", "floor", "ceil",
    "trunc", "frac", "relu", "square", "logit", "nan_to_num", "deg2rad", "rad2deg")] + [
    ("sgn", sign, "fmi"), ("absolute", abs, "fmi"), ("fix", trunc, "fmi"),
    ("arcsin", asin, "fmi"), ("arccos", acos, "fmi"), ("arctan", atan, "fmi"),
    ("arcsinh", asinh, "fmi"), ("arccosh", acosh, "fmi"), ("arctanh", atanh, "fmi"),
    ("positive", positive, "fm")]
