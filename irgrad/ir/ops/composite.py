"""Composite ops written from primitives: statistics (var, std), norms, softmax family,
normalization layers (layer_norm, group_norm, batch_norm, rms_norm), normalize and
cosine_similarity. Activations live in activation.py and join this family's EXPORTS.

Nothing here is an OpDef: each op is a small graph of primitives, so fusion and gradients
come from the primitives' rules. Numerics follow PyTorch's kernels: softmax and log_softmax
shift by the (detached) row max, half-precision inputs are computed in float32 and rounded
once, the 2-norm's gradient is 0 at the origin. `FUNCTIONAL` maps nn.functional names to the
node functions here (with F's signatures), for irgrad.nn.functional to wrap.
"""
from __future__ import annotations

import math

from ...errors import fail
from .. import dtypes as dt
from ..node import Node, make
from ..shapes import normalize_dim, shape_str
from .common import cast
from .reduce import _torch_name, count, reduce_dims, reduced_shape


def _hi(x: Node) -> Node:
    """Half-precision inputs are computed in float32 (PyTorch's accumulate type)."""
    return cast(x, dt.float32) if x.dtype in (dt.float16, dt.bfloat16) else x


def _sum(x, dims, keepdim=True):
    return make("sum", (x,), dims=tuple(dims), keepdim=keepdim)


# ---- var / std ----------------------------------------------------------------------------

def _correction(unbiased, correction):
    if correction is not None:
        if unbiased is not None:
            fail(TypeError, "var(): cannot pass both 'unbiased' and 'correction'")
        return correction
    return 1 if unbiased is None or unbiased else 0


def _var_mean(x, dim, unbiased, keepdim, correction, name):
    from .elementwise import div, mul, sub
    from .movement import reshape
    if isinstance(dim, bool):  # var(x, unbiased)
        dim, unbiased = None, dim
    if x.dtype.category != dt.FLOAT:
        fail(RuntimeError, f"{name} only support floating point and complex dtypes")
    c = _correction(unbiased, correction)
    dims = reduce_dims(x, dim)
    xf = _hi(x)
    n = count(x, dims)
    mean = div(_sum(xf, dims), float(n))
    d = sub(xf, mean)
    # Two passes (mean, then squared deviations) like PyTorch; N - correction <= 0 divides by
    # zero, giving inf or NaN as PyTorch does.
    var = div(_sum(mul(d, d), dims), float(max(0, n - c)))
    if not keepdim:
        shape = reduced_shape(x.shape, dims, False)
        var, mean = reshape(var, shape), reshape(mean, shape)
    return cast(var, x.dtype), cast(mean, x.dtype)



def var(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_mean(x, dim, unbiased, keepdim, correction, "std and var")[0]


def std(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    from .unary import sqrt
    return sqrt(var(x, dim, unbiased, keepdim, correction=correction))


def var_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    return _var_mean(x, dim, unbiased, keepdim, correction, "std and var")


def std_mean(x, dim=None, unbiased=None, keepdim=False, *, correction=None):
    from .unary import sqrt
    v, m = _var_mean(x, dim, unbiased, keepdim, correction, "std and var")
    return sqrt(v), m


# ---- norms --------------------------------------------------------------------------------

def _safe_sqrt(s):
    """sqrt whose gradient at 0 is 0 (PyTorch masks the 2-norm's gradient at the origin)."""
    from .elementwise import eq, where
    from .unary import sqrt
    zero = eq(s, 0.0)
    return where(zero, 0.0, sqrt(where(zero, 1.0, s)))


def _norm_dtype(x, dtype):
    if x.dtype.category != dt.FLOAT:
        fail(RuntimeError, f"linalg.vector_norm: Expected a floating point or complex tensor as "
                           f"input. Got {_torch_name(x.dtype)}")
    if dtype is None:
        return x
    dtype = dt.as_dtype(dtype)
    if dtype.category != dt.FLOAT:
        fail(RuntimeError, f"linalg.vector_norm: dtype should be floating point or complex, "
                           f"but got {_torch_name(dtype)}")
    if dt.promote_types(x.dtype, dtype) is not dtype:
        fail(RuntimeError, f"linalg.vector_norm: the dtype of the input "
                           f"({_torch_name(x.dtype)}) should be convertible without narrowing "
                           f"to the specified dtype ({_torch_name(dtype)})")
    return cast(x, dtype)


def vector_norm(x, ord=2, dim=None, keepdim=False, *, dtype=None):
    from .elementwise import mul, ne
    from .movement import reshape
    from .elementwise import pow as pow_
    from .unary import abs as abs_
    x = _norm_dtype(x, dtype)
    out_dtype = x.dtype
    dims = reduce_dims(x, dim)
    p = float(ord)
    if x.numel == 0 and (p < 0 or math.isinf(p)) and count(x, dims) == 0:
        what = "inf" if p == math.inf else "-inf" if p == -math.inf else f"{ord}"
        fail(RuntimeError, f"linalg.vector_norm cannot compute the {what} norm on an empty "
                           f"tensor because the operation does not have an identity")
    xf = _hi(x)
    if p == 2:
        r = _safe_sqrt(_sum(mul(xf, xf), dims))
    elif p == math.inf:
        r = make("amax", (abs_(xf),), dims=dims, keepdim=True)
    elif p == -math.inf:
        r = make("amin", (abs_(xf),), dims=dims, keepdim=True)
    elif p == 0:
        r = _sum(cast(ne(xf, 0.0), xf.dtype), dims)
    elif p == 1:
        r = _sum(abs_(xf), dims)
    else:
        r = pow_(_sum(pow_(abs_(xf), p), dims), 1.0 / p)
    if not keepdim:
        r = reshape(r, reduced_shape(x.shape, dims, False))
    return cast(r, out_dtype)


def norm(x, p="fro", dim=None, keepdim=False, dtype=None):
    if isinstance(p, str):
        if p == "nuc":
            fail(NotImplementedError, "norm(p='nuc') (nuclear norm) is not supported")
        if p != "fro":
            fail(RuntimeError, f"linalg.matrix_norm: Order {p} not supported.")
        p = 2
    if p is None:
        p = 2
    return vector_norm(x, p, dim, keepdim, dtype=dtype)


def dist(x, other, p=2):
    from .elementwise import sub
    return vector_norm(sub(x, other), p)


# ---- softmax family -----------------------------------------------------------------------

def softmax_dim(ndim: int, dim) -> int:
    """PyTorch's implicit softmax dim for dim=None (deprecated there, kept for scripts)."""
    if dim is None:
        dim = 0 if ndim in (0, 1, 3) else 1
    return normalize_dim(dim, ndim)


def _softmax_input(x, dim, dtype, stacklevel, name):
    if isinstance(stacklevel, dt.DType):  # torch.softmax(x, dim, dtype) passes it third
        dtype = stacklevel
    if dtype is not None:
        x = cast(x, dt.as_dtype(dtype))
    if x.dtype.category != dt.FLOAT:
        fail(NotImplementedError, f'"{name}_lastdim_kernel_impl" not implemented for '
                                  f"'{_torch_name(x.dtype)}'")
    d = softmax_dim(x.ndim, dim)
    dims = (d,) if x.ndim else ()
    return x, _hi(x), dims


def _shifted(xf, dims):
    from .autograd_ops import detach
    from .elementwise import sub
    # The shift is a constant for the gradient; a row of -inf gives NaN as in PyTorch.
    m = detach(make("amax", (xf,), dims=dims, keepdim=True))
    return sub(xf, m)


def softmax(x, dim=None, _stacklevel=3, dtype=None):
    from .elementwise import div
    from .unary import exp
    x, xf, dims = _softmax_input(x, dim, dtype, _stacklevel, "softmax")
    e = exp(_shifted(xf, dims))
    return cast(div(e, _sum(e, dims)), x.dtype)


def log_softmax(x, dim=None, _stacklevel=3, dtype=None):
    from .elementwise import sub
    from .unary import exp, log
    x, xf, dims = _softmax_input(x, dim, dtype, _stacklevel, "log_softmax")
    z = _shifted(xf, dims)
    return cast(sub(z, log(_sum(exp(z), dims))), x.dtype)


def softmin(x, dim=None, _stacklevel=3, dtype=None):
    from .elementwise import neg
    if isinstance(_stacklevel, dt.DType):
        dtype = _stacklevel
    if dtype is not None:
        x = cast(x, dt.as_dtype(dtype))
    return softmax(neg(x), dim)


# ---- normalization ------------------------------------------------------------------------

def _standardize(xf, dims, eps):
    """(x - mean) / sqrt(biased var + eps) over dims, with the stats (keepdim)."""
    from .elementwise import add, div, mul, sub
    from .unary import sqrt
    n = count(xf, dims)
    mean = div(_sum(xf, dims), float(n))
    d = sub(xf, mean)
    var = div(_sum(mul(d, d), dims), float(n))
    return div(d, sqrt(add(var, float(eps)))), mean, var


def _affine(y, weight, bias, shape):
    from .elementwise import add, mul
    from .movement import reshape
    if weight is not None:
        y = mul(y, reshape(_hi(weight), shape))
    if bias is not None:
        y = add(y, reshape(_hi(bias), shape))
    return y


def layer_norm(x, normalized_shape, weight=None, bias=None, eps=1e-5):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        fail(RuntimeError, f"Given normalized_shape={shape_str(shape)}, expected input with "
                           f"shape [*, {shape_str(shape)[1:-1]}], but got input of size"
                           f"{shape_str(x.shape)}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            fail(RuntimeError, f"Expected {name} to be of same shape as normalized_shape, but "
                               f"got {name} of shape {shape_str(t.shape)} and normalized_shape "
                               f"= {shape_str(shape)}")
    y, _, _ = _standardize(_hi(x), tuple(range(x.ndim - k, x.ndim)), eps)
    return cast(_affine(y, weight, bias, shape), x.dtype)


def rms_norm(x, normalized_shape, weight=None, eps=None):
    from .elementwise import add, div, mul
    from .unary import sqrt
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        fail(RuntimeError, f"Given normalized_shape={shape_str(shape)}, expected input with "
                           f"shape [*, {shape_str(shape)[1:-1]}], but got input of size"
                           f"{shape_str(x.shape)}")
    if eps is None:
        eps = dt.finfo_eps(x.dtype)
    xf = _hi(x)
    dims = tuple(range(x.ndim - k, x.ndim))
    ms = div(_sum(mul(xf, xf), dims), float(max(count(x, dims), 1)))
    y = div(xf, sqrt(add(ms, float(eps))))
    return cast(_affine(y, weight, None, shape), x.dtype)


def group_norm(x, num_groups, weight=None, bias=None, eps=1e-5):
    from .movement import reshape
    if x.ndim < 2:
        fail(RuntimeError, f"Expected at least 2 dimensions for input tensor but received "
                           f"{x.ndim}")
    N, C = x.shape[0], x.shape[1]
    if num_groups <= 0 or C % num_groups:
        fail(RuntimeError, f"Expected number of channels in input to be divisible by "
                           f"num_groups, but got input of shape {shape_str(x.shape)} and "
                           f"num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.ndim != 1 or t.shape[0] != C):
            fail(RuntimeError, f"Expected {name} to be a vector of size equal to the number of "
                               f"channels in input, but got {name} of shape "
                               f"{shape_str(t.shape)} and input of shape {shape_str(x.shape)}")
    g = reshape(_hi(x), (N, num_groups, x.numel // max(N * num_groups, 1)))
    y, _, _ = _standardize(g, (2,), eps)
    y = reshape(y, x.shape)
    return cast(_affine(y, weight, bias, (C,) + (1,) * (x.ndim - 2)), x.dtype)


def batch_norm_stats(x, running_mean, running_var, weight=None, bias=None, training=False,
                     momentum=0.1, eps=1e-5):
    """F.batch_norm's computation, returning (output, new_running_mean, new_running_var).

    Node functions cannot mutate: the caller (nn.functional.batch_norm, BatchNorm modules)
    assigns the new running statistics in place, as PyTorch's kernel does. They are None
    when the matching running tensor is None or when not training. The running variance uses
    the unbiased batch variance, the normalization the biased one, like PyTorch.
    """
    from .autograd_ops import detach
    from .elementwise import add, div, mul, sub
    from .movement import reshape
    from .unary import sqrt
    if x.ndim < 2:
        fail(ValueError, f"Expected 2D or 3D input (got {x.ndim}D input)")
    C = x.shape[1]
    shape = (C,) + (1,) * (x.ndim - 2)
    dims = (0,) + tuple(range(2, x.ndim))
    xf = _hi(x)
    new_mean = new_var = None
    if training:
        n = count(x, dims)
        if n <= 1:
            fail(ValueError, f"Expected more than 1 value per channel when training, got input "
                             f"size irgrad.Size({list(x.shape)})")
        y, mean, var = _standardize(xf, dims, eps)
        m = float(momentum if momentum is not None else 0.1)
        if running_mean is not None:
            bm = reshape(detach(mean), (C,))
            new_mean = cast(add(mul(_hi(running_mean), 1.0 - m), mul(bm, m)), running_mean.dtype)
        if running_var is not None:
            unbiased = mul(reshape(detach(var), (C,)), n / (n - 1))
            new_var = cast(add(mul(_hi(running_var), 1.0 - m), mul(unbiased, m)),
                           running_var.dtype)
    else:
        if running_mean is None or running_var is None:
            fail(RuntimeError, "running_mean and running_var must be defined in evaluation mode")
        mean = reshape(_hi(running_mean), shape)
        var = reshape(_hi(running_var), shape)
        y = div(sub(xf, mean), sqrt(add(var, float(eps))))
    return cast(_affine(y, weight, bias, shape), x.dtype), new_mean, new_var


def normalize(x, p=2.0, dim=1, eps=1e-12):
    from .elementwise import div, lt, where
    n = vector_norm(x, p, dim, keepdim=True)
    # clamp_min: the gradient reaches the norm only where it is not clamped (n >= eps).
    return div(x, where(lt(n, eps), eps, n))


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    from .autograd_ops import detach
    from .common import promote
    from .elementwise import add, div, lt, mul, sub, where
    from .movement import expand
    from ..shapes import broadcast_shapes
    _, (a, b) = promote(x1, x2, floating=True)
    shape = broadcast_shapes(a.shape, b.shape)
    a, b = expand(a, shape), expand(b, shape)
    d = normalize_dim(dim, len(shape))

    def unit(v):
        n = vector_norm(v, 2, d, keepdim=True)
        # PyTorch clamps the norms in place under no_grad: the value is clamped, the
        # gradient flows as if it were not.
        clamped = add(n, detach(sub(where(lt(n, eps), eps, n), n)))
        return div(v, clamped)

    return make("sum", (mul(unit(a), unit(b)),), dims=(d,), keepdim=False)


from .activation import EXPORTS as _ACTIVATION_EXPORTS, FUNCTIONAL as _ACTIVATION_F  # noqa: E402

FUNCTIONAL = dict(_ACTIVATION_F, softmax=softmax, log_softmax=log_softmax, softmin=softmin,
                  layer_norm=layer_norm, group_norm=group_norm, rms_norm=rms_norm,
                  batch_norm=batch_norm_stats, normalize=normalize,
                  cosine_similarity=cosine_similarity)

EXPORTS = [
    ("var", var, "fm"), ("std", std, "fm"), ("var_mean", var_mean, "f"),
    ("std_mean", std_mean, "f"), ("norm", norm, "fm"), ("dist", dist, "fm"),
    ("vector_norm", vector_norm, "f"),  # irgrad.linalg.vector_norm (wired by the lead)
    ("softmax", softmax, "fm"), ("log_softmax", log_softmax, "fm"),
    ("layer_norm", layer_norm, "f"), ("group_norm", group_norm, "f"),
    ("rms_norm", rms_norm, "f"), ("cosine_similarity", cosine_similarity, "f"),
] + _ACTIVATION_EXPORTS
