"""Activation functions written from primitives (part of the composite family).

gelu, silu, softplus, elu, celu, selu, leaky_relu, hardtanh, relu6, hardsigmoid, hardswish,
mish, logsigmoid, softsign, tanhshrink, hardshrink, softshrink, threshold, glu. Piecewise
functions are nested `where`s whose conditions follow PyTorch's backward kernels, so the
gradient at a breakpoint is PyTorch's (e.g. hardtanh passes no gradient at its limits).
Each takes nn.functional's arguments; `inplace` is accepted and left to the caller (a node
function cannot mutate), which is how irgrad.nn.functional wraps them.
"""
from __future__ import annotations

import math

from ...errors import fail
from .. import dtypes as dt
from ..node import Node
from ..shapes import normalize_dim
from .common import cast

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


def _float(x: Node) -> Node:
    return x if x.dtype.category == dt.FLOAT else cast(x, dt.get_default_dtype())


def _hi(x: Node) -> Node:
    return cast(x, dt.float32) if x.dtype in (dt.float16, dt.bfloat16) else x


def _back(y: Node, x: Node) -> Node:
    return cast(y, x.dtype) if x.dtype.category == dt.FLOAT else y


def gelu(x, approximate="none"):
    from .elementwise import add, mul
    from .unary import erf, tanh
    if approximate not in ("none", "tanh"):
        fail(RuntimeError, "approximate argument must be either none or tanh.")
    xf = _hi(_float(x))
    if approximate == "tanh":
        inner = mul(math.sqrt(2.0 / math.pi), add(xf, mul(0.044715, mul(xf, mul(xf, xf)))))
        y = mul(mul(xf, 0.5), add(1.0, tanh(inner)))
    else:
        y = mul(mul(xf, 0.5), add(1.0, erf(mul(xf, math.sqrt(0.5)))))
    return _back(y, x)


def silu(x, inplace=False):
    from .elementwise import mul
    from .unary import sigmoid
    xf = _hi(_float(x))
    return _back(mul(xf, sigmoid(xf)), x)


def softplus(x, beta=1.0, threshold=20.0):
    from .elementwise import div, gt, mul, where
    from .unary import exp, log1p
    xf = _hi(_float(x))
    bx = mul(xf, beta)
    # Above the threshold softplus is linear (and exp would overflow).
    y = where(gt(bx, threshold), xf, div(log1p(exp(bx)), beta))
    return _back(y, x)


def elu(x, alpha=1.0, inplace=False):
    from .elementwise import gt, mul, where
    from .unary import expm1
    xf = _hi(_float(x))
    return _back(where(gt(xf, 0.0), xf, mul(expm1(xf), alpha)), x)


def celu(x, alpha=1.0, inplace=False):
    from .elementwise import div, gt, mul, where
    from .unary import expm1
    if alpha == 0:
        fail(RuntimeError, "ZeroDivisionError")
    xf = _hi(_float(x))
    return _back(where(gt(xf, 0.0), xf, mul(expm1(div(xf, alpha)), alpha)), x)


def selu(x, inplace=False):
    from .elementwise import mul
    return mul(elu(x, SELU_ALPHA), SELU_SCALE)


def leaky_relu(x, negative_slope=0.01, inplace=False):
    from .elementwise import gt, mul, where
    return where(gt(x, 0), x, mul(x, negative_slope))


def hardtanh(x, min_val=-1.0, max_val=1.0, inplace=False):
    from .common import const
    from .elementwise import ge, le, where
    if min_val > max_val:
        fail(ValueError, "min_val cannot be greater than max_val")
    lo, hi = const(min_val, x.dtype), const(max_val, x.dtype)
    return where(le(x, min_val), lo, where(ge(x, max_val), hi, x))


def relu6(x, inplace=False):
    return hardtanh(x, 0.0, 6.0)


def hardsigmoid(x, inplace=False):
    from .elementwise import add, div, ge, le, where
    xf = _float(x)
    return where(le(xf, -3.0), 0.0, where(ge(xf, 3.0), 1.0, add(div(xf, 6.0), 0.5)))


def hardswish(x, inplace=False):
    from .elementwise import add, div, ge, le, mul, where
    xf = _float(x)
    return where(le(xf, -3.0), 0.0, where(ge(xf, 3.0), xf, div(mul(xf, add(xf, 3.0)), 6.0)))


def mish(x, inplace=False):
    from .elementwise import mul
    from .unary import tanh
    xf = _hi(_float(x))
    return _back(mul(xf, tanh(softplus(xf))), x)


def logsigmoid(x):
    from .elementwise import minimum, neg, sub
    from .unary import abs as abs_, exp, log1p
    xf = _hi(_float(x))
    # min(x, 0) - log1p(exp(-|x|)): no overflow on either side.
    return _back(sub(minimum(xf, 0.0), log1p(exp(neg(abs_(xf))))), x)


def softsign(x):
    from .elementwise import add, div
    from .unary import abs as abs_
    return div(x, add(abs_(x), 1))


def tanhshrink(x):
    from .elementwise import sub
    from .unary import tanh
    return sub(x, tanh(x))


def hardshrink(x, lambd=0.5):
    from .elementwise import gt, lt, where
    return where(gt(x, lambd), x, where(lt(x, -lambd), x, 0))


def softshrink(x, lambd=0.5):
    from .elementwise import add, gt, lt, sub, where
    if lambd < 0:
        fail(RuntimeError, f"lambda must be greater or equal to 0, but found to be {lambd}.")
    return where(gt(x, lambd), sub(x, lambd), where(lt(x, -lambd), add(x, lambd), 0))


def threshold(x, threshold, value, inplace=False):
    from .elementwise import gt, where
    return where(gt(x, threshold), x, value)


def glu(x, dim=-1):
    from .elementwise import mul
    from .movement import slice_dim
    from .unary import sigmoid
    if x.ndim == 0:
        fail(RuntimeError, "glu does not support scalars because halving size must be even")
    d = normalize_dim(dim, x.ndim)
    n = x.shape[d]
    if n % 2:
        fail(RuntimeError, f"Halving dimension must be even, but dimension {d} is size {n}")
    a, b = slice_dim(x, d, 0, n // 2), slice_dim(x, d, n // 2, n)
    return mul(a, sigmoid(b))


FUNCTIONAL = dict(gelu=gelu, silu=silu, softplus=softplus, elu=elu, celu=celu, selu=selu,
                  leaky_relu=leaky_relu, hardtanh=hardtanh, relu6=relu6,
                  hardsigmoid=hardsigmoid, hardswish=hardswish, mish=mish,
                  logsigmoid=logsigmoid, softsign=softsign, tanhshrink=tanhshrink,
                  hardshrink=hardshrink, softshrink=softshrink, threshold=threshold, glu=glu)

# Only the names PyTorch also has at top level (torch.selu, torch.celu, ...) or as methods.
EXPORTS = [("selu", selu, "f"), ("celu", celu, "f"), ("threshold", threshold, "f"),
           ("hardshrink", hardshrink, "fm")]
