"""Public node-level forms of the elementwise binary primitives (see `elementwise.py`).

They parse PyTorch's arguments, apply its type promotion (Python scalars included), raise its
errors at record time, and pick the primitive. `irgrad.ir.ops.elementwise` re-exports every
name here, which is where other op families import them from.
"""
from __future__ import annotations

import math

from ...errors import fail
from .. import dtypes as dt
from ..node import Node, make
from .common import Number, cast, promote, result_dtype, to_node

__all__ = ["add", "sub", "mul", "div", "neg", "true_divide", "floor_divide", "remainder",
           "fmod", "pow", "float_power", "maximum", "minimum", "fmax", "fmin", "atan2",
           "hypot", "copysign", "lerp", "xlogy", "clamp", "clamp_min", "clamp_max", "lt", "le",
           "gt", "ge", "eq", "ne", "equal", "isclose", "allclose", "where", "realize_value"]


def _tname(d: dt.DType) -> str:
    """PyTorch's scalar-type name in its kernel messages (Long, Float, Bool, ...)."""
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}[d.name]


def _cname(d: dt.DType) -> str:
    """The C++ type name PyTorch prints in dtype-mismatch messages (float, double, ...)."""
    return {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int"}.get(d.name, d.name)


def not_implemented(kernel: str, d: dt.DType):
    fail(NotImplementedError, f'"{kernel}" not implemented for \'{_tname(d)}\'')


def _check_operand(x, fn_name, position=2, name="other"):
    if not isinstance(x, (Node,) + Number):
        fail(TypeError, f"{fn_name}(): argument '{name}' (position {position}) must be Tensor, "
                        f"not {type(x).__name__}")


def _tensor_arg(x, fn_name, position=2, name="other"):
    if not isinstance(x, Node):
        fail(TypeError, f"{fn_name}(): argument '{name}' (position {position}) must be Tensor, "
                        f"not {type(x).__name__}")


def realize_value(node: Node):
    """The host value of a 0-d node, realizing it now (for ops that return Python values)."""
    from ..state import eager_hook
    if node.data is None:
        eager_hook[0](node)
    return node.data.to_numpy().reshape(()).item()


# ---- arithmetic ----------------------------------------------------------------------------

def _alpha_check(d, alpha):
    if d.category != dt.FLOAT and isinstance(alpha, float):
        fail(RuntimeError, "For integral input tensors, argument alpha must not be a floating "
                           "point number.")
    if d.category == dt.BOOL and not isinstance(alpha, bool) and alpha not in (0, 1):
        fail(RuntimeError, "Boolean alpha only supported for Boolean results.")


def add(a, b, alpha=1):
    _check_operand(a, "add", 1, "input")
    _check_operand(b, "add")
    d, (x, y) = promote(a, b)
    if alpha != 1:
        _alpha_check(d, alpha)
        y = mul(y, alpha)
    return make("add", (x, y))


def _is_bool_operand(v) -> bool:
    """A bool tensor, or a Python bool (torch treats `t - True` as a bool operand too)."""
    if isinstance(v, bool):
        return True
    return getattr(v, "dtype", None) is dt.bool_


def sub(a, b, alpha=1):
    _check_operand(a, "sub", 1, "input")
    _check_operand(b, "sub")
    d, (x, y) = promote(a, b)
    if d.category == dt.BOOL:
        fail(RuntimeError, "Subtraction, the `-` operator, with two bool tensors is not "
                           "supported. Use the `^` or `logical_xor()` operator instead.")
    if any(_is_bool_operand(v) for v in (a, b)):
        fail(RuntimeError, "Subtraction, the `-` operator, with a bool tensor is not "
                           "supported. If you are trying to invert a mask, use the `~` or "
                           "`logical_not()` operator instead.")
    if alpha != 1:
        _alpha_check(d, alpha)
        y = mul(y, alpha)
    return make("sub", (x, y))


def mul(a, b):
    _check_operand(a, "mul", 1, "input")
    _check_operand(b, "mul")
    _, (x, y) = promote(a, b)
    return make("mul", (x, y))


def neg(x):
    if isinstance(x, Node) and x.dtype is dt.bool_:
        fail(RuntimeError, "Negation, the `-` operator, on a bool tensor is not supported. If "
                           "you are trying to invert a mask, use the `~` or `logical_not()` "
                           "operator instead.")
    return make("neg", (to_node(x, result_dtype(x)),))


def _zero_scalar_check(b, d):
    if d.category != dt.FLOAT and isinstance(b, Number) and not isinstance(b, bool) and b == 0:
        fail(RuntimeError, "ZeroDivisionError")


def div(a, b, rounding_mode=None):
    """True division, or rounded toward zero ('trunc') or toward -inf ('floor')."""
    _check_operand(a, "div", 1, "input")
    _check_operand(b, "div")
    if rounding_mode is None:
        _, (x, y) = promote(a, b, floating=True)
        return make("div", (x, y))
    if rounding_mode not in ("trunc", "floor"):
        fail(RuntimeError, f"div expected rounding_mode to be one of None, 'trunc', or 'floor' "
                           f"but found '{rounding_mode}'")
    d, (x, y) = promote(a, b)
    if d.category == dt.BOOL:
        not_implemented(f"div_{rounding_mode}_cpu", d)
    _zero_scalar_check(b, d)
    if rounding_mode == "floor":
        return make("floordiv", (x, y))
    if d.category != dt.FLOAT:
        return make("div", (x, y))
    from .unary import trunc
    return trunc(make("div", (x, y)))


def true_divide(a, b):
    return div(a, b)


def floor_divide(a, b):
    return div(a, b, rounding_mode="floor")


def remainder(a, b):
    """Python's %: the result takes the divisor's sign."""
    _check_operand(a, "remainder", 1, "input")
    _check_operand(b, "remainder")
    d, (x, y) = promote(a, b)
    if d.category == dt.BOOL:
        not_implemented("remainder_cpu", d)
    _zero_scalar_check(b, d)
    return make("remainder", (x, y))


def fmod(a, b):
    """C's fmod: the result takes the dividend's sign."""
    _check_operand(a, "fmod", 1, "input")
    _check_operand(b, "fmod")
    d, (x, y) = promote(a, b)
    if d.category == dt.BOOL:
        not_implemented("fmod_cpu", d)
    _zero_scalar_check(b, d)
    return make("fmod", (x, y))


def pow(a, b):  # noqa: A001 - PyTorch's name
    """a ** b. Exponents 2, 3, 0.5, -0.5, -1, -2 take PyTorch's exact shortcuts."""
    _check_operand(a, "pow", 1, "input")
    _check_operand(b, "pow", 2, "exponent")
    if not isinstance(a, Node) and not isinstance(b, Node):
        fail(TypeError, "pow() received an invalid combination of arguments: two numbers")
    d = result_dtype(a, b)
    if d.category == dt.BOOL:
        if isinstance(a, Node) and isinstance(b, bool):  # torch: x ** True = x, x ** False = 1
            x = to_node(a, d)
            return x if b else eq(x, x)
        not_implemented("pow", d)
    if isinstance(b, Number) and not isinstance(b, bool):
        if d.category != dt.FLOAT and b < 0:
            fail(RuntimeError, "Integers to negative integer powers are not allowed.")
        x = to_node(a, d)
        if b == 1:
            return x
        if b == 2:
            return mul(x, x)
        if b == 3:
            return mul(mul(x, x), x)
        if d.category == dt.FLOAT:
            from . import unary
            if b == 0.5:
                return unary.sqrt(x)
            if b == -0.5:
                return unary.rsqrt(x)
            if b == -1:
                return unary.reciprocal(x)
            if b == -2:
                return unary.reciprocal(mul(x, x))
    _, (x, y) = promote(a, b)
    return make("pow", (x, y))


def float_power(a, b):
    """pow computed in float64 (PyTorch's float_power always returns double)."""
    return pow(to_node(a, dt.float64) if isinstance(a, Node) else float(a),
               to_node(b, dt.float64) if isinstance(b, Node) else float(b))


# ---- min/max and clamping ------------------------------------------------------------------

def _binary(op, floating=False):
    def fn(a, b):
        _check_operand(a, op, 1, "input")
        _check_operand(b, op)
        _, (x, y) = promote(a, b, floating=floating)
        return make(op, (x, y))
    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op} with PyTorch's type promotion."
    return fn


maximum = _binary("maximum")
minimum = _binary("minimum")
fmax = _binary("fmax")
fmin = _binary("fmin")
atan2 = _binary("atan2", floating=True)
copysign = _binary("copysign", floating=True)


def hypot(a, b):
    _tensor_arg(a, "hypot", 1, "input")
    _tensor_arg(b, "hypot")
    d, (x, y) = promote(a, b)
    if d.category != dt.FLOAT:
        not_implemented("hypot_cpu", d)
    return make("hypot", (x, y))


def clamp(x, min=None, max=None):  # noqa: A002 - PyTorch's names
    """Clamp into [min, max]; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        fail(RuntimeError, "torch.clamp: At least one of 'min' or 'max' must not be None")
    present = [v for v in (x, min, max) if v is not None]
    d, _ = promote(*present)
    out = to_node(x, d)
    if min is not None:
        out = make("clamp_min", (out, to_node(min, d)))
    if max is not None:
        out = make("clamp_max", (out, to_node(max, d)))
    return out


def clamp_min(x, min):  # noqa: A002
    return clamp(x, min=min)


def clamp_max(x, max):  # noqa: A002
    return clamp(x, max=max)


# ---- composites ------------------------------------------------------------------------------

def lerp(start, end, weight):
    """start + weight * (end - start), PyTorch's two-sided formula for accuracy near 1."""
    _tensor_arg(start, "lerp", 1, "input")
    _tensor_arg(end, "lerp", 2, "end")
    for what, t in (("end", end), ("weight", weight)):
        if isinstance(t, Node) and t.dtype is not start.dtype:
            fail(RuntimeError, f"expected dtype {_cname(start.dtype)} for `{what}` but got "
                               f"dtype {_cname(t.dtype)}")
    if start.dtype.category != dt.FLOAT:
        not_implemented("lerp_kernel_scalar" if isinstance(weight, Number)
                        else "lerp_kernel_tensor", start.dtype)
    _, (s, e, w) = promote(start, end, weight)
    from .unary import abs as abs_
    diff = sub(e, s)
    return where(lt(abs_(w), 0.5), add(s, mul(w, diff)), sub(e, mul(diff, sub(1.0, w))))


def xlogy(a, b):
    """a * log(b), 0 where a == 0 unless b is NaN."""
    _, (x, y) = promote(a, b, floating=True)
    return make("xlogy", (x, y))


# ---- comparison ------------------------------------------------------------------------------

def _compare(op):
    def fn(a, b):
        # Unsupported operands (None, strings, lists) make Python's operators fall back, so
        # `t == None` is False and `t < None` raises TypeError, as with PyTorch tensors.
        if not isinstance(a, (Node,) + Number) or not isinstance(b, (Node,) + Number):
            return NotImplemented
        _, (x, y) = promote(a, b)
        return make(op, (x, y))
    fn.__name__ = op
    fn.__doc__ = f"Elementwise {op} comparison (bool result) with PyTorch's promotion."
    return fn


lt, le, gt, ge, eq, ne = (_compare(o) for o in ("lt", "le", "gt", "ge", "eq", "ne"))


def where(cond, a, b):
    if isinstance(cond, Node) and cond.dtype is not dt.bool_:
        fail(RuntimeError, f"where expected condition to be a boolean tensor, but got a tensor "
                           f"with dtype {_tname(cond.dtype)}")
    _, (x, y) = promote(a, b)
    return make("where", (to_node(cond, dt.bool_), x, y))


def _all_true(mask: Node) -> bool:
    from .reduce import sum as reduce_sum
    if mask.numel == 0:
        return True
    bad = reduce_sum(cast(eq(mask, False), dt.int64))
    return realize_value(bad) == 0


def equal(a, b) -> bool:
    """True if both tensors have the same shape and elements."""
    _tensor_arg(a, "equal", 1, "input")
    _tensor_arg(b, "equal")
    if a.shape != b.shape:
        return False
    return _all_true(eq(a, b))


def isclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False):
    """|a - b| <= atol + rtol * |b| elementwise (PyTorch's formula, infinities equal)."""
    _tensor_arg(a, "isclose", 1, "input")
    _tensor_arg(b, "isclose")
    if a.dtype is not b.dtype:
        fail(RuntimeError, f"{_tname(a.dtype)} did not match {_tname(b.dtype)}")
    if rtol < 0:
        fail(RuntimeError, f"rtol must be greater than or equal to zero, but got {rtol}")
    if atol < 0:
        fail(RuntimeError, f"atol must be greater than or equal to zero, but got {atol}")
    from .logical import logical_and, logical_or
    close = eq(a, b)
    if equal_nan and a.dtype.category == dt.FLOAT:
        close = logical_or(close, logical_and(ne(a, a), ne(b, b)))
    if rtol == 0 and atol == 0:
        return close
    x, y = a, b
    if a.dtype is dt.bool_:
        x, y = cast(a, dt.get_default_dtype()), cast(b, dt.get_default_dtype())
    from .unary import abs as abs_
    allowed = add(atol, abs_(mul(y, rtol)))
    actual = abs_(sub(x, y))
    finite = lt(actual, math.inf) if actual.dtype.category == dt.FLOAT else eq(actual, actual)
    return logical_or(close, logical_and(finite, le(actual, allowed)))


def allclose(a, b, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
    return _all_true(isclose(a, b, rtol, atol, equal_nan))


def _public(fn, name, tensor_args=(0, 1)):
    """PyTorch's stricter function signature over a lenient node-level function: the listed
    positions must be tensors (internal callers may pass numbers anywhere)."""
    names = ("input", "other")

    def public(*args, **kwargs):
        for k in tensor_args:
            if k < len(args):
                _tensor_arg(args[k], name, k + 1, names[k])
        return fn(*args, **kwargs)
    public.__name__ = name
    public.__doc__ = fn.__doc__
    return public


def _where_method(self, condition, y):
    """Tensor.where(condition, y) == where(condition, self, y)."""
    return where(condition, self, y)


_BOTH = {name: _public(fn, name) for name, fn in (
    ("maximum", maximum), ("minimum", minimum), ("fmax", fmax), ("fmin", fmin),
    ("atan2", atan2), ("arctan2", atan2))}
_FIRST = {name: _public(fn, name, (0,)) for name, fn in (
    ("copysign", copysign), ("fmod", fmod), ("lt", lt), ("le", le), ("gt", gt), ("ge", ge),
    ("eq", eq), ("ne", ne), ("less", lt), ("less_equal", le), ("greater", gt),
    ("greater_equal", ge), ("not_equal", ne))}

EXPORTS = [
    ("add", add, "fmi"), ("sub", sub, "fmi"), ("subtract", sub, "fmi"), ("mul", mul, "fmi"),
    ("multiply", mul, "fmi"), ("div", div, "fmi"), ("divide", div, "fmi"),
    ("true_divide", true_divide, "fmi"), ("floor_divide", floor_divide, "fmi"),
    ("remainder", remainder, "fmi"), ("pow", pow, "fmi"), ("float_power", float_power, "fmi"),
    ("neg", neg, "fmi"), ("negative", neg, "fmi"), ("hypot", hypot, "fmi"),
    ("lerp", lerp, "fmi"), ("xlogy", xlogy, "fmi"), ("clamp", clamp, "fmi"),
    ("clip", clamp, "fmi"), ("clamp_min", clamp_min, "fmi"), ("clamp_max", clamp_max, "fmi"),
    ("equal", equal, "fm"), ("isclose", isclose, "fm"), ("allclose", allclose, "fm"),
    ("where", where, "f"), ("where", _where_method, "m"),
] + [(name, fn, "fmi" if "atan2" in name else "fm") for name, fn in _BOTH.items()] + [
    (name, fn, "fmi") for name, fn in _FIRST.items()]
