"""Reductions over dims: sum, prod, amax, amin, argmax, argmin and their public forms.

Primitives lower to one linalg.generic whose reduced dims are `reduction` iterators and
whose output starts at the reduction's identity (`lower_reduction`). Arg-reductions take two
passes (the extreme value, then the first index holding it), which keeps PyTorch's
first-index tie rule and NaN rule without a two-output kernel. The public functions add
PyTorch's argument parsing, dtype rules and errors; mean, logsumexp, all/any, max/min with a
dim and friends are built here from the primitives. Statistics and norms (var, std, norm,
vector_norm) are composites and live in composite.py.
"""
from __future__ import annotations

from collections import namedtuple

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import Node, make
from ..opdef import defop
from ..shapes import normalize_dim, normalize_dims
from .common import cast, const

def return_type(name: str, fields):
    """A torch.return_types.<name> look-alike: a named tuple printed like PyTorch's."""
    base = namedtuple(name, fields)

    def __repr__(self):
        body = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"irgrad.return_types.{name}(\n{body})"

    cls = type(name, (base,), {"__slots__": (), "__repr__": __repr__,
                               "__module__": "irgrad.return_types"})
    return cls


MaxResult = return_type("max", ["values", "indices"])
MinResult = return_type("min", ["values", "indices"])
AminmaxResult = return_type("aminmax", ["min", "max"])


def reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def reduce_rule(inputs, attrs):
    x = inputs[0]
    return x.dtype, reduced_shape(x.shape, attrs["dims"], attrs["keepdim"])


# Float sums reducing at least this many elements into each output accumulate in float64
# (then round once to their dtype) on the CPU. IREE adds a reduction sequentially per vector
# lane (a column sum: per output), so float32 rounding errors grow with the length: ~2e-6
# relative for a 4M-value sum or column sums over 2048 rows, 5e-5 for the 4M-value sum of
# x * x, where PyTorch's cascade sums stay near 1e-7. Shorter rows keep their own dtype
# (errors of a few ulps; no conversions). GPU targets keep the dtype's own accumulator (f64
# is slow or missing there).
WIDE_SUM_MIN = 2048
WIDE_SUM_DEVICES = (None, "cpu")


def sum_accumulator(dtype: dt.DType, reduced: int, device) -> dt.DType:
    """The dtype a sum of `reduced` elements per output accumulates in (reduced: the
    product of the reduced dims' sizes; device: the node's)."""
    if (dtype.category == dt.FLOAT and dtype is not dt.float64 and reduced >= WIDE_SUM_MIN
            and device in WIDE_SUM_DEVICES):
        return dt.float64
    return dtype


def round_result(L, acc_value, shape, acc: dt.DType, dtype: dt.DType):
    """A wide accumulator's tensor rounded once to the result dtype. IREE fuses this
    elementwise generic into the reduction's dispatch, except after a reduction to one value
    (no parallel loop), where it joins the consumer's dispatch or is a tiny one of its own."""
    if acc is dtype:
        return acc_value
    R = len(shape)
    S = L.scalar(acc)
    return L.generic([acc_value], [L.empty(shape, dtype)], [L.identity_map(R)] * 2,
                     ["parallel"] * R, lambda v, _out: S.cast(v, acc, dtype))


def lower_reduction(L, node, operand, init, combine, acc=None):
    """One generic: out[kept dims] = combine(out, x[all dims]) starting from `init`; with
    `acc` (a wider float dtype) the values are widened, combined in `acc` and the result
    rounded once to the node's dtype."""
    x = node.inputs[0]
    dims, keepdim = node.attrs["dims"], node.attrs["keepdim"]
    acc = acc or node.dtype
    R = x.ndim
    out_exprs = []
    for i in range(R):
        if i in dims:
            if keepdim:
                out_exprs.append(L.cst(0))
        else:
            out_exprs.append(L.dim(i))
    init_t = L.full(node.shape, acc, init)
    its = ["reduction" if i in dims else "parallel" for i in range(R)]
    S = L.scalar(acc)
    r = L.generic([operand], [init_t], [L.identity_map(R), L.affine_map(R, out_exprs)], its,
                  lambda v, a: combine(S, a, S.cast(v, x.dtype, acc)))
    return round_result(L, r, node.shape, acc, node.dtype)


def _lower_sum(L, node, operands):
    acc = sum_accumulator(node.dtype, count(node.inputs[0], node.attrs["dims"]), node.device)
    return lower_reduction(L, node, operands[0], 0, lambda S, a, v: S.add(a, v), acc)


def lowest(d: dt.DType):
    """The identity of max over `d` (-inf for floats)."""
    if d.category == dt.FLOAT:
        return float("-inf")
    if d.category == dt.BOOL:
        return False
    return int(np.iinfo(d.np).min)


def highest(d: dt.DType):
    if d.category == dt.FLOAT:
        return float("inf")
    if d.category == dt.BOOL:
        return True
    return int(np.iinfo(d.np).max)


def keep(g: Node, x: Node, dims) -> Node:
    """`g` (a reduction's result or gradient) reshaped to the keepdim shape of x over dims."""
    from .movement import reshape
    return reshape(g, reduced_shape(x.shape, dims, True))


def _grad_sum(g, n):
    from .movement import expand
    x = n.inputs[0]
    return (expand(keep(g, x, n.attrs["dims"]), x.shape),)


def _grad_prod(g, n):
    # d prod / d x_i = product of the other elements, as (product before i) * (product after
    # i) along the flattened reduced dims: exact with any number of zeros, no division, and
    # its own gradient (through cumprod) gives correct higher orders.
    from .elementwise import mul
    from .movement import inverse_perm, permute, reshape
    from .scan import exclusive_products
    x, dims = n.inputs[0], n.attrs["dims"]
    if not dims:
        return (g,)
    kept = [d for d in range(x.ndim) if d not in dims]
    perm = tuple(kept) + tuple(dims)
    moved = permute(x, *perm)
    flat = reshape(moved, tuple(x.shape[d] for d in kept) + (count(x, dims),))
    before, after = exclusive_products(flat, flat.ndim - 1)
    others = permute(reshape(mul(before, after), moved.shape), *inverse_perm(perm))
    return (mul(keep(g, x, dims), others),)


def _grad_extreme(g, n):
    # amax/amin: the gradient is shared evenly among the elements equal to the result.
    from .elementwise import div, eq, where
    x, dims = n.inputs[0], n.attrs["dims"]
    mask = eq(x, keep(n, x, dims))
    count = make("sum", (cast(mask, x.dtype),), dims=dims, keepdim=True)
    return (where(mask, div(keep(g, x, dims), count), 0.0),)


def _np_reduce(fn):
    def ref(x, dims, keepdim):
        return np.asarray(fn(x, axis=dims, keepdims=keepdim)).astype(x.dtype)
    return ref


def _f32(rng, shape, low=-2.0, high=2.0):
    return rng.uniform(low, high, size=shape).astype(np.float32)


def _reduce_samples(rng):
    return [([_f32(rng, (3, 4))], {"dims": (1,), "keepdim": False}),
            ([_f32(rng, (2, 3, 4))], {"dims": (0, 2), "keepdim": True}),
            ([_f32(rng, ())], {"dims": (), "keepdim": False}),
            ([_f32(rng, (0, 3))], {"dims": (0,), "keepdim": False}),
            ([_f32(rng, (2, 3))], {"dims": (0, 1), "keepdim": False}),
            ([np.arange(6).reshape(2, 3)], {"dims": (0, 1), "keepdim": False})]


def _prod_samples(rng):
    # Values near +-1 keep products well scaled; one row holds a zero, one row two zeros.
    x = rng.uniform(0.5, 1.5, size=(4, 5)) * rng.choice([-1, 1], size=(4, 5))
    x[1, 2] = 0.0
    x[2, 0] = x[2, 3] = 0.0
    return [([x.astype(np.float32)], {"dims": (1,), "keepdim": False}),
            ([x.astype(np.float32)], {"dims": (0, 1), "keepdim": True}),
            ([_f32(rng, (0, 3))], {"dims": (0,), "keepdim": False}),
            ([np.arange(1, 7).reshape(2, 3)], {"dims": (1,), "keepdim": False})]


def _extreme_samples(rng):
    # Distinct values so finite differences never straddle a tie (ties and NaN are checked
    # against PyTorch in tests/test_ops_reduce.py: their gradient is a convention).
    x = rng.permutation(24).reshape(2, 3, 4).astype(np.float32) / 7.0
    return [([x], {"dims": (2,), "keepdim": False}),
            ([x], {"dims": (0, 2), "keepdim": True}),
            ([x[0, 0, 0]], {"dims": (), "keepdim": False}),
            ([rng.integers(-5, 6, size=(3, 4))], {"dims": (1,), "keepdim": False}),
            ([rng.integers(0, 255, size=(5,)).astype(np.uint8)], {"dims": (0,), "keepdim": False}),
            ([rng.random((2, 3)) > 0.5], {"dims": (1,), "keepdim": False}),
            ([np.zeros((2, 0), np.float32)], {"dims": (1,), "keepdim": False})]


def _np_sum(x, dims, keepdim):
    """Float sums in float64, rounded once (what the wide accumulator computes)."""
    wide = x.astype(np.float64) if x.dtype.kind == "f" else x
    return np.asarray(np.sum(wide, axis=dims, keepdims=keepdim)).astype(x.dtype)


def _sum_samples(rng):
    # Reductions long enough for the float64 accumulator (rows, half columns, everything).
    wide = rng.uniform(0.5, 1.5, size=(3, WIDE_SUM_MIN + 5))
    return _reduce_samples(rng) + [
        ([wide.astype(np.float32)], {"dims": (1,), "keepdim": False}),
        ([wide.T.astype(np.float16)], {"dims": (0,), "keepdim": True}),
        ([rng.uniform(0.5, 1.5, size=(2, 3, 700)).astype(np.float32)],
         {"dims": (0, 1, 2), "keepdim": False})]


defop("sum", infer=reduce_rule, reference=_np_sum, lower=_lower_sum,
      grad=_grad_sum, samples=_sum_samples)
defop("prod", infer=reduce_rule, reference=_np_reduce(np.prod),
      lower=lambda L, n, ops: lower_reduction(L, n, ops[0], 1, lambda S, a, v: S.mul(a, v)),
      grad=_grad_prod, samples=_prod_samples)
def _np_extreme(fn, init):
    def ref(x, dims, keepdim):
        ident = init(dt.from_numpy(x.dtype))
        return np.asarray(fn(x, axis=dims, keepdims=keepdim, initial=ident)).astype(x.dtype)
    return ref


defop("amax", infer=reduce_rule, reference=_np_extreme(np.max, lowest),
      lower=lambda L, n, ops: lower_reduction(L, n, ops[0], lowest(n.dtype),
                                              lambda S, a, v: S.max(a, v)),
      grad=_grad_extreme, samples=_extreme_samples,
      doc="Max over dims; NaN propagates; the identity (-inf) fills empty reductions.")
defop("amin", infer=reduce_rule, reference=_np_extreme(np.min, highest),
      lower=lambda L, n, ops: lower_reduction(L, n, ops[0], highest(n.dtype),
                                              lambda S, a, v: S.min(a, v)),
      grad=_grad_extreme, samples=_extreme_samples)


# ---- argmax / argmin ----------------------------------------------------------------------

def _arg_rule(inputs, attrs):
    x = inputs[0]
    return dt.int64, reduced_shape(x.shape, (attrs["dim"],), attrs["keepdim"])


def _arg_reference(largest):
    def ref(x, dim, keepdim):
        if x.shape[dim] == 0:
            return np.zeros(reduced_shape(x.shape, (dim,), keepdim), np.int64)
        # NumPy's argmax/argmin return the first NaN like PyTorch, and the first tie.
        r = (np.argmax if largest else np.argmin)(x, axis=dim)
        if keepdim:
            r = np.expand_dims(r, dim)
        return np.asarray(r, np.int64)
    return ref


def _arg_lower(largest):
    def lower(L, n, ops):
        x = n.inputs[0]
        dim, R = n.attrs["dim"], x.ndim
        d = x.dtype
        S = L.scalar(d)
        ext = L.full(reduced_shape(x.shape, (dim,), True), d, lowest(d) if largest else highest(d))
        keep_map = L.affine_map(R, [L.cst(0) if i == dim else L.dim(i) for i in range(R)])
        its = ["reduction" if i == dim else "parallel" for i in range(R)]
        # Pass 1: the extreme value (NaN wins because maximumf/minimumf propagate it).
        ext = L.generic([ops[0]], [ext], [L.identity_map(R), keep_map], its,
                        lambda v, acc: S.max(acc, v) if largest else S.min(acc, v))
        # Pass 2: the smallest index holding it (a NaN matches itself through isnan).
        out_map = L.affine_map(R, [L.cst(0) if i == dim else L.dim(i) for i in range(R)
                                   if i != dim or n.attrs["keepdim"]])
        I = L.scalar(dt.int64)
        init = L.full(n.shape, dt.int64, x.shape[dim])

        def body(v, e, acc):
            hit = S.cmp("eq", v, e)
            if d.category == dt.FLOAT:
                hit = I.or_(hit, S.isnan(v))
            k = L.index_cast(L.loop_index(dim), dt.int64)
            return I.min(acc, I.select(hit, k, acc))

        return L.generic([ops[0], ext], [init], [L.identity_map(R), keep_map, out_map], its, body)
    return lower


def _arg_samples(rng):
    x = rng.permutation(24).reshape(2, 3, 4).astype(np.float32)
    ties = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0]], np.float32)
    nans = np.array([[1.0, np.nan, 3.0, np.nan], [np.inf, 1.0, np.inf, -np.inf]], np.float32)
    return [([x], {"dim": 2, "keepdim": False}),
            ([x], {"dim": 0, "keepdim": True}),
            ([ties], {"dim": 1, "keepdim": False}),
            ([nans], {"dim": 1, "keepdim": False}),
            ([rng.integers(-3, 3, size=(4, 5))], {"dim": 0, "keepdim": False}),
            ([rng.integers(0, 255, size=(6,)).astype(np.uint8)], {"dim": 0, "keepdim": True}),
            ([_f32(rng, (3, 0))], {"dim": 0, "keepdim": False})]


for _name, _largest in (("argmax", True), ("argmin", False)):
    defop(_name, infer=_arg_rule, reference=_arg_reference(_largest), lower=_arg_lower(_largest),
          differentiable=False, samples=_arg_samples,
          doc="Index of the first extreme along attrs['dim'] (first NaN if any).")


# ---- public functions ---------------------------------------------------------------------

def reduce_dims(x: Node, dim) -> tuple:
    """PyTorch's dim argument of reductions: None or () -> all dims; int or sequence."""
    if dim is None or (isinstance(dim, (tuple, list)) and len(dim) == 0):
        return tuple(range(x.ndim))
    dims = normalize_dims(dim if isinstance(dim, int) else tuple(dim), x.ndim)
    return tuple(d for d in dims if d < x.ndim)  # a 0-d tensor accepts dim 0 / -1


def _check_dtype_arg(dtype):
    return None if dtype is None else dt.as_dtype(dtype)


def _low_precision(d):
    return d is dt.float16 or d is dt.bfloat16


def reduce_op(op: str, x: Node, dims, keepdim=False) -> Node:
    """A reduction primitive; half-precision floats accumulate in float32 like PyTorch."""
    if _low_precision(x.dtype) and op in ("sum", "prod"):
        r = make(op, (cast(x, dt.float32),), dims=tuple(dims), keepdim=bool(keepdim))
        return cast(r, x.dtype)
    return make(op, (x,), dims=tuple(dims), keepdim=bool(keepdim))


def sum(x, dim=None, keepdim=False, dtype=None):
    dtype = _check_dtype_arg(dtype)
    if isinstance(dim, bool):  # torch.sum(x, False) is not a dim
        fail(TypeError, "sum(): argument 'dim' must be tuple of ints, not bool")
    dims = reduce_dims(x, dim)
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.category != dt.FLOAT:
        x = cast(x, dt.int64)  # PyTorch sums bool and integers in int64
    return reduce_op("sum", x, dims, keepdim)


def nansum(x, dim=None, keepdim=False, dtype=None):
    from .elementwise import ne, where
    if x.dtype.category == dt.FLOAT:
        x = where(ne(x, x), 0.0, x)
    return sum(x, dim, keepdim, dtype)


def _mean_dtype(x, dtype, name="mean"):
    dtype = _check_dtype_arg(dtype)
    if dtype is not None:
        if dtype.category != dt.FLOAT:
            fail(RuntimeError, f"{name}(): could not infer output dtype. Optional dtype must be "
                               f"either a floating point or complex dtype. Got: "
                               f"{_torch_name(dtype)}")
        return dtype
    if x.dtype.category != dt.FLOAT:
        fail(RuntimeError, f"{name}(): could not infer output dtype. Input dtype must be either "
                           f"a floating point or complex dtype. Got: {_torch_name(x.dtype)}")
    return x.dtype


def _torch_name(d: dt.DType) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}[d.name]


def count(x: Node, dims) -> int:
    n = 1
    for d in dims:
        n *= x.shape[d]
    return n


def mean(x, dim=None, keepdim=False, dtype=None):
    from .elementwise import div
    d = _mean_dtype(x, dtype)
    dims = reduce_dims(x, dim)
    x = cast(x, d)
    acc = dt.float32 if _low_precision(d) else d
    s = make("sum", (cast(x, acc),), dims=dims, keepdim=bool(keepdim))
    # 0/0 gives NaN for an empty reduction, as in PyTorch.
    return cast(div(s, const(float(count(x, dims)), acc)), d)


def nanmean(x, dim=None, keepdim=False, dtype=None):
    from .elementwise import div, eq
    if x.dtype.category != dt.FLOAT:
        fail(RuntimeError, f"nanmean(): expected input to have floating point or complex dtype "
                           f"but got {_torch_name(x.dtype)}")
    valid = sum(eq(x, x), dim, keepdim)
    total = nansum(x, dim, keepdim, dtype)
    return div(total, cast(valid, total.dtype))


def prod(x, dim=None, keepdim=False, dtype=None):
    dtype = _check_dtype_arg(dtype)
    if dim is None:
        dims = tuple(range(x.ndim))
    else:
        if not isinstance(dim, int) or isinstance(dim, bool):
            fail(TypeError, f"prod(): argument 'dim' must be int, not {type(dim).__name__}")
        dims = reduce_dims(x, dim)
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.category != dt.FLOAT:
        x = cast(x, dt.int64)
    return reduce_op("prod", x, dims, keepdim)


def _check_nonempty(name, x, dims):
    for d in dims:
        if x.shape[d] == 0:
            fail(IndexError, f"{name}(): Expected reduction dim {d} to have non-zero size.")


def amax(x, dim=(), keepdim=False):
    dims = reduce_dims(x, dim)
    _check_nonempty("amax", x, dims)
    return make("amax", (x,), dims=dims, keepdim=bool(keepdim))


def amin(x, dim=(), keepdim=False):
    dims = reduce_dims(x, dim)
    _check_nonempty("amin", x, dims)
    return make("amin", (x,), dims=dims, keepdim=bool(keepdim))


def aminmax(x, *, dim=None, keepdim=False):
    if dim is None:
        if x.numel == 0:
            fail(RuntimeError, "aminmax(): cannot compute aminmax over an empty dimension as the "
                               "operation has no identity.")
        dims = tuple(range(x.ndim))
    else:
        dims = reduce_dims(x, normalize_dim(dim, x.ndim))
        if dims and x.shape[dims[0]] == 0:
            fail(IndexError, f"aminmax(): Expected reduction dim {dims[0]} to have non-zero "
                             f"size.")
    return AminmaxResult(make("amin", (x,), dims=dims, keepdim=bool(keepdim)),
                         make("amax", (x,), dims=dims, keepdim=bool(keepdim)))


def _arg(op, x, dim, keepdim):
    from .movement import reshape
    if x.dtype is dt.bool_:
        fail(RuntimeError, f"{op}(): does not support bool input")
    if dim is None:
        if x.numel == 0:
            fail(IndexError, f"{op}(): Expected reduction dim to be specified for "
                             f"input.numel() == 0.")
        r = make(op, (reshape(x, (x.numel,)),), dim=0, keepdim=False)
        return reshape(r, (1,) * x.ndim) if keepdim else r
    d = normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        r = make(op, (reshape(x, (1,)),), dim=0, keepdim=False)
        return r
    _check_nonempty(op, x, (d,))
    return make(op, (x,), dim=d, keepdim=bool(keepdim))


def argmax(x, dim=None, keepdim=False):
    return _arg("argmax", x, dim, keepdim)


def argmin(x, dim=None, keepdim=False):
    return _arg("argmin", x, dim, keepdim)


def _extreme_with_dim(op, x, dim, keepdim, result):
    from .movement import reshape
    from .sort import take_along
    d = normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return result(x, make("full", (), shape=(), value=0, dtype=dt.int64, device=x.device))
    if x.shape[d] == 0:
        fail(IndexError, f"{op}(): Expected reduction dim {d} to have non-zero size.")
    idx = make("arg" + op, (x,), dim=d, keepdim=True)
    # Values read at the returned index, so the gradient flows to that element only.
    values = take_along(x, idx, d)
    if not keepdim:
        shape = reduced_shape(x.shape, (d,), False)
        values, idx = reshape(values, shape), reshape(idx, shape)
    return result(values, idx)


def _extreme(op, binary, result, x, dim=None, keepdim=False, other=None):
    if isinstance(dim, Node):
        dim, other = None, dim
    if other is not None:
        if not isinstance(other, Node):
            fail(TypeError, f"{op}(): argument 'other' must be Tensor, not "
                            f"{type(other).__name__}")
        return binary(x, other)
    if dim is None:
        if x.numel == 0:
            fail(RuntimeError, f"{op}(): Expected reduction dim to be specified for "
                               f"input.numel() == 0. Specify the reduction dim with the 'dim' "
                               f"argument.")
        # Without a dim, PyTorch shares the gradient among ties (like amax).
        return make("a" + op, (x,), dims=tuple(range(x.ndim)), keepdim=False)
    if isinstance(dim, float):
        fail(TypeError, f"{op}() received an invalid combination of arguments - got (Tensor, "
                        f"float)")
    return _extreme_with_dim(op, x, dim, keepdim, result)


def max(x, dim=None, keepdim=False, *, other=None):
    from .elementwise import maximum
    return _extreme("max", maximum, MaxResult, x, dim, keepdim, other)


def min(x, dim=None, keepdim=False, *, other=None):
    from .elementwise import minimum
    return _extreme("min", minimum, MinResult, x, dim, keepdim, other)


def logsumexp(x, dim, keepdim=False):
    from .autograd_ops import detach
    from .elementwise import add, eq, sub, where
    from .unary import exp, log
    from .movement import reshape
    if x.dtype.category != dt.FLOAT:
        x = cast(x, dt.get_default_dtype())
    dims = reduce_dims(x, dim)
    out_dtype = x.dtype
    if _low_precision(x.dtype):
        x = cast(x, dt.float32)
    # The max is a constant shift (detached: the gradient is exactly softmax). An infinite
    # max would turn x - m into NaN, so shift by 0 there, as PyTorch does; an empty
    # reduction gives amax's identity -inf and so log(0) = -inf.
    m = detach(make("amax", (x,), dims=dims, keepdim=True))
    shift = where(eq(m, float("inf")), 0.0, where(eq(m, float("-inf")), 0.0, m))
    s = log(make("sum", (exp(sub(x, shift)),), dims=dims, keepdim=True))
    r = add(s, m)
    r = r if keepdim else reshape(r, reduced_shape(x.shape, dims, False))
    return cast(r, out_dtype)


def _bool_reduce(op, x, dim, keepdim):
    from .elementwise import ne
    dims = reduce_dims(x, dim)
    b = x if x.dtype is dt.bool_ else ne(x, 0)
    r = make(op, (b,), dims=dims, keepdim=bool(keepdim))
    return cast(r, dt.uint8) if x.dtype is dt.uint8 else r


def all(x, dim=None, keepdim=False):
    return _bool_reduce("amin", x, dim, keepdim)


def any(x, dim=None, keepdim=False):
    return _bool_reduce("amax", x, dim, keepdim)


def count_nonzero(x, dim=None):
    from .elementwise import ne
    dims = reduce_dims(x, dim)
    return make("sum", (cast(ne(x, 0), dt.int64),), dims=dims, keepdim=False)


EXPORTS = [
    ("sum", sum, "fm"), ("nansum", nansum, "fm"), ("mean", mean, "fm"),
    ("nanmean", nanmean, "fm"), ("prod", prod, "fm"), ("amax", amax, "fm"),
    ("amin", amin, "fm"), ("aminmax", aminmax, "fm"), ("max", max, "fm"), ("min", min, "fm"),
    ("argmax", argmax, "fm"), ("argmin", argmin, "fm"), ("logsumexp", logsumexp, "fm"),
    ("all", all, "fm"), ("any", any, "fm"), ("count_nonzero", count_nonzero, "fm"),
]
