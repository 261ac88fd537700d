"""The tri primitive (tril/triu) and the public indexing functions over the primitives: gather, scatter (add/reduce forms),
index_select/add/copy/fill/put, masked_fill, take, take_along_dim, put, and the advanced
indexing helpers that `Tensor.__getitem__`/`__setitem__` use.

Each function parses PyTorch's arguments, raises PyTorch's errors (checking index values now
when they are known), and reduces to a primitive of `index.py`.
"""
from __future__ import annotations

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import Node, make
from ..opdef import defop
from ..shapes import broadcast_shapes, normalize_dim, shape_str
from .common import cast, const, to_node, unary_rule
from .index import (CHECK_WRAP, INT_INDEX, NO_CHECK, _check_mode, _int64, gather_node,
                    index_node, index_put_node, known_values, first_out_of_range, scatter_node)
from .movement import expand, inverse_perm, permute, reshape, zeros_node

_C_NAMES = {"int64": "long int", "int32": "int", "int16": "short int", "int8": "signed char",
            "uint8": "unsigned char", "float32": "float", "float64": "double",
            "float16": "c10::Half", "bfloat16": "c10::BFloat16", "bool": "bool"}
_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
                "uint8": "Byte", "float32": "Float", "float64": "Double", "float16": "Half",
                "bfloat16": "BFloat16", "bool": "Bool"}


def _need_index(idx, msg, cls=RuntimeError):
    if not isinstance(idx, Node) or idx.dtype not in INT_INDEX:
        fail(cls, msg)


def _as1d(x):
    return reshape(x, (1,)) if x.ndim == 0 else x


def _oob(cls, dim, size):
    def raise_(v):
        fail(cls, f"index {v} is out of bounds for dimension {dim} with size {size}")
    return raise_


# ---- gather / scatter ----------------------------------------------------------------------

def gather(input, dim, index, *, sparse_grad=False):
    _need_index(index, "gather(): Expected dtype int32/int64 for index")
    x, idx = _as1d(input), _as1d(index)
    d = normalize_dim(dim, x.ndim)
    if idx.ndim != x.ndim:
        fail(RuntimeError, "Index tensor must have the same number of dimensions as input tensor")
    for k in range(x.ndim):
        if k != d and idx.shape[k] > x.shape[k]:
            fail(RuntimeError, f"Size does not match at dimension {k} expected index "
                               f"{shape_str(index.shape)} to be no larger than self "
                               f"{shape_str(input.shape)} apart from dimension {d}")
    check = _check_mode(index, x.shape[d], False, _oob(RuntimeError, d, x.shape[d]))
    return reshape(gather_node(x, d, _int64(idx), check), index.shape)


def _scatter(name, input, dim, index, src, reduce):
    _need_index(index, f"{name}(): Expected dtype int32/int64 for index")
    scalar = not isinstance(src, Node)
    x, idx = _as1d(input), _as1d(index)
    if not scalar:
        src = _as1d(src)
    d = normalize_dim(dim, x.ndim)
    if idx.ndim != x.ndim:
        fail(RuntimeError, "Index tensor must have the same number of dimensions as self tensor")
    if not scalar:
        if src.ndim != x.ndim:
            fail(RuntimeError, "Index tensor must have the same number of dimensions as src "
                               "tensor")
        if src.dtype is not x.dtype:
            fail(RuntimeError, f"{name}(): Expected self.dtype to be equal to src.dtype")
    for k in range(x.ndim):
        if (k != d and idx.shape[k] > x.shape[k]) or (not scalar and idx.shape[k] > src.shape[k]):
            tail = "" if scalar else f" and to be no larger size than src {shape_str(src.shape)}"
            fail(RuntimeError, f"Expected index {shape_str(idx.shape)} to be no larger than self "
                               f"{shape_str(x.shape)} apart from dimension {d}{tail}")
    if scalar:
        src = expand(const(src, x.dtype), idx.shape)
    check = _check_mode(index, x.shape[d], False, _oob(RuntimeError, d, x.shape[d]))
    out = scatter_node(x, d, _int64(idx), src, reduce, check)
    return reshape(out, input.shape)


def scatter(input, dim, index, src=None, *, value=None, reduce=None):
    if src is None:
        src = value
    if src is None:
        fail(TypeError, "scatter() missing required argument 'src' or 'value'")
    modes = {None: "none", "add": "add", "multiply": "multiply"}
    if reduce not in modes:
        fail(RuntimeError, "reduce argument must be either add or multiply.")
    return _scatter("scatter", input, dim, index, src, modes[reduce])


def scatter_add(input, dim, index, src):
    return _scatter("scatter_add", input, dim, index, src, "add")


def scatter_reduce(input, dim, index, src, reduce, *, include_self=True):
    from .elementwise import div
    kinds = {"sum": "add", "prod": "multiply", "amax": "amax", "amin": "amin", "mean": "add"}
    if reduce not in kinds:
        fail(RuntimeError, f"reduce argument must be either sum, prod, mean, amax or amin, got "
                           f"{reduce}")
    x = input
    if not include_self:
        ident = {"sum": 0, "mean": 0, "prod": 1}.get(reduce)
        if ident is None:
            if x.dtype.category == dt.FLOAT:
                ident = float("inf") if reduce == "amin" else float("-inf")
            else:
                ident = _int_limit(x.dtype, reduce == "amin")
        x = _scatter("scatter_reduce", x, dim, index, ident, "none")
    out = _scatter("scatter_reduce", x, dim, index, src, kinds[reduce])
    if reduce != "mean":
        return out
    ones = expand(const(1, x.dtype), x.shape)
    if not include_self:
        ones = _scatter("scatter_reduce", ones, dim, index, 0, "none")
    counts = _scatter("scatter_reduce", ones, dim, index, 1, "add")
    if x.dtype.category == dt.FLOAT:
        return div(out, counts)
    return make("div", (out, counts))


def _int_limit(d, maximum):
    if d is dt.bool_:
        return maximum
    info = np.iinfo(dt.numpy_dtype(d))
    return int(info.max if maximum else info.min)


# ---- index_* -------------------------------------------------------------------------------

def _vector_index(name, input, dim, index, cls=RuntimeError):
    _need_index(index, f"{name}(): Expected dtype int32/int64 for index")
    if index.ndim > 1:
        fail(IndexError, f"{name}(): Index is supposed to be a vector")
    x = _as1d(input)
    return x, normalize_dim(dim, x.ndim), reshape(index, (index.numel,))


def index_select(input, dim, index):
    _need_index(index, "index_select(): Expected dtype int32 or int64 for index")
    x, d, idx = _vector_index("index_select", input, dim, index)

    def raise_(v):
        fail(IndexError, "index out of range in self")
    check = _check_mode(idx, x.shape[d], False, raise_)
    out = index_node(x, [_int64(idx)], d, check)
    return reshape(out, ()) if input.ndim == 0 and out.numel == 1 else out


def _source_for(name, x, d, n, source, count_cls=RuntimeError, sep=": "):
    s = _as1d(source)
    if s.ndim != x.ndim or s.shape[d] != n:
        got = s.shape[d] if s.ndim == x.ndim else s.numel
        tail = f", for dim: {d}" if sep == ": " else ""
        fail(count_cls, f"{name}(): Number of indices ({n}) should be equal to source.size(dim)"
                        f"{sep}({got}){tail}")
    for k in range(x.ndim):
        if k != d and s.shape[k] != x.shape[k]:
            fail(RuntimeError, f"source tensor shape must match self tensor shape, excluding the "
                               f"specified dimension. Got self.shape = {shape_str(x.shape)} "
                               f"source.shape = {shape_str(s.shape)}")
    return cast(s, x.dtype)


def index_add(input, dim, index, source, *, alpha=1):
    from .elementwise import mul
    x, d, idx = _vector_index("index_add_", input, dim, index)
    src = _source_for("index_add_", x, d, idx.numel, source)
    if alpha != 1:
        src = cast(mul(src, alpha), x.dtype)
    check = _check_mode(idx, x.shape[d], False, _oob(RuntimeError, d, x.shape[d]))
    return reshape(index_put_node(x, src, [_int64(idx)], d, True, check), input.shape)


def index_copy(input, dim, index, source):
    x, d, idx = _vector_index("index_copy_", input, dim, index)
    src = _source_for("index_copy_", x, d, idx.numel, source, IndexError, " ")

    def raise_(v):
        fail(IndexError, f"index_copy_(): index {v} is out of bounds for dimension {d} with "
                         f"size {x.shape[d]}")
    check = _check_mode(idx, x.shape[d], False, raise_)
    return reshape(index_put_node(x, src, [_int64(idx)], d, False, check), input.shape)


def _scalar_value(name, value, dtype):
    if isinstance(value, Node):
        if value.ndim != 0:
            fail(RuntimeError, f"{name} only supports a 0-dimensional value tensor, but got "
                               f"tensor with {value.ndim} dimension(s).")
        return cast(value, dtype)
    return const(value, dtype)


def index_fill(input, dim, index, value):
    x, d, idx = _vector_index("index_fill_", input, dim, index)
    v = _scalar_value("index_fill_", value, x.dtype)
    shape = x.shape[:d] + (idx.numel,) + x.shape[d + 1:]
    check = _check_mode(idx, x.shape[d], True, _oob(IndexError, d, x.shape[d]))
    out = index_put_node(x, expand(v, shape), [_int64(idx)], d, False, check)
    return reshape(out, input.shape)


def masked_fill(input, mask, value):
    from .elementwise import where
    if not isinstance(mask, Node) or mask.dtype is not dt.bool_:
        got = _C_NAMES.get(mask.dtype.name, mask.dtype.name) if isinstance(mask, Node) else \
            type(mask).__name__
        fail(RuntimeError, f"masked_fill_ only supports boolean masks, but got mask with dtype "
                           f"{got}")
    v = _scalar_value("masked_fill_", value, input.dtype)
    return where(mask, v, input)


def _flat_check(index, n):
    def raise_(v):
        fail(IndexError, f"out of range: tried to access index {v} on a tensor of {n} elements.")
    return _check_mode(index, n, True, raise_)


def take(input, index):
    if not isinstance(index, Node) or index.dtype not in INT_INDEX:
        got = _TORCH_NAMES.get(index.dtype.name, "") if isinstance(index, Node) else ""
        fail(RuntimeError, f"take(): Expected a long tensor for index, but got {got}")
    n = input.numel
    check = _flat_check(index, n)
    if index.numel == 0:
        return zeros_node(index.shape, input.dtype, input.device)
    flat = reshape(input, (n,))
    return index_node(flat, [_int64(index)], 0, check)


def take_along_dim(input, indices, dim=None):
    _need_index(indices, "take_along_dim(): dtype of indices should be Long but got "
                         f"{_TORCH_NAMES.get(getattr(indices, 'dtype', dt.float32).name)}")
    if dim is None:
        return gather(reshape(input, (input.numel,)), 0, reshape(indices, (indices.numel,)))
    if input.ndim != indices.ndim:
        fail(RuntimeError, "torch.take_along_dim(): input and indices should have the same "
                           f"number of dimensions, but got {input.ndim} dimensions for input, "
                           f"and {indices.ndim} dimensions for indices")
    d = normalize_dim(dim, input.ndim)
    a = list(input.shape)
    b = list(indices.shape)
    a[d] = b[d] = 1
    common = list(broadcast_shapes(tuple(a), tuple(b)))
    xs, ids = list(common), list(common)
    xs[d], ids[d] = input.shape[d], indices.shape[d]
    return gather(expand(input, tuple(xs)), d, expand(indices, tuple(ids)))


def put(input, index, source, accumulate=False):
    _need_index(index, "put_(): Expected a long tensor for index, but got "
                       f"{_TORCH_NAMES.get(getattr(index, 'dtype', dt.float32).name)}")
    if index.numel != source.numel:
        fail(RuntimeError, f"put_(): Expected source and index to have the same number of "
                           f"elements, but got source.numel() = {source.numel}, index.numel() "
                           f"= {index.numel}")
    n, k = input.numel, index.numel
    check = _flat_check(index, n)
    if k == 0:
        return input
    flat = reshape(input, (n,))
    src = reshape(cast(source, input.dtype), (k,))
    out = index_put_node(flat, src, [reshape(_int64(index), (k,))], 0, accumulate, check)
    return reshape(out, input.shape)


# ---- advanced indexing (used by Tensor.__getitem__ / __setitem__ and index_put) -------------

def _advanced_prepare(x, dims, idxs):
    """Check and place index tensors: (node to index, start, int64 idxs, check, back-perm)."""
    idxs = list(idxs)
    try:
        broadcast_shapes(*(i.shape for i in idxs))
    except RuntimeError:
        fail(IndexError, "shape mismatch: indexing tensors could not be broadcast together "
                         "with shapes " + ", ".join(shape_str(i.shape) for i in idxs))
    check = NO_CHECK
    for j, (d, i) in enumerate(zip(dims, idxs)):
        size = x.shape[d]
        vals = known_values(i)
        if vals is None:
            check = CHECK_WRAP
            continue
        bad = first_out_of_range(vals, size, True)
        if bad is not None:
            fail(IndexError, f"index {bad} is out of bounds for dimension {j} with size {size}")
    dims = list(dims)
    if dims == list(range(dims[0], dims[0] + len(dims))):
        return x, dims[0], [_int64(i) for i in idxs], check, None
    # PyTorch puts the indexed dims first when the index tensors are not adjacent.
    perm = dims + [d for d in range(x.ndim) if d not in dims]
    return permute(x, perm), 0, [_int64(i) for i in idxs], check, perm


def advanced_index(x, dims, idxs):
    """x indexed by integer tensors at the given (distinct, increasing) dims."""
    y, start, idxs, check, _ = _advanced_prepare(x, dims, idxs)
    return index_node(y, idxs, start, check)


def advanced_index_put(x, dims, idxs, values, accumulate=False):
    """x with `values` written (or added) where `advanced_index(x, dims, idxs)` reads."""
    y, start, idxs, check, perm = _advanced_prepare(x, dims, idxs)
    B = broadcast_shapes(*(i.shape for i in idxs))
    shape = y.shape[:start] + B + y.shape[start + len(idxs):]
    v = to_node(values, x.dtype)
    try:
        v = expand(v, shape)
    except RuntimeError:
        fail(RuntimeError, f"shape mismatch: value tensor of shape {shape_str(v.shape)} cannot "
                           f"be broadcast to indexing result of shape {shape_str(shape)}")
    out = index_put_node(y, v, idxs, start, accumulate, check)
    return out if perm is None else permute(out, inverse_perm(perm))


def index_put(input, indices, values, accumulate=False):
    indices = list(indices)
    for i in indices:
        if not isinstance(i, Node) or i.dtype not in INT_INDEX:
            fail(IndexError, "tensors used as indices must be long, int, byte or bool tensors")
    if len(indices) > input.ndim:
        fail(IndexError, f"too many indices for tensor of dimension {input.ndim} (got "
                         f"{len(indices)})")
    if not indices:
        return expand(to_node(values, input.dtype), input.shape)
    return advanced_index_put(input, list(range(len(indices))), indices, values, accumulate)


# ---- tril / triu ---------------------------------------------------------------------------

def _tri_lower(L, n, ops):
    R, k, upper = len(n.shape), n.attrs["diagonal"], n.attrs["upper"]
    S, S64 = L.scalar(n.dtype), L.scalar(dt.int64)

    def body(v, o):
        i = L.index_cast(L.loop_index(R - 2), dt.int64)
        j = L.index_cast(L.loop_index(R - 1), dt.int64)
        d = S64.sub(j, i)
        keep = S64.cmp("ge", d, S64.const(k)) if upper else S64.cmp("le", d, S64.const(k))
        return S.select(keep, v, S.const(0))

    return L.generic([ops[0]], [L.empty(n.shape, n.dtype)], [L.identity_map(R)] * 2,
                     ["parallel"] * R, body)


def _tri_rule(inputs, attrs):
    if inputs[0].ndim < 2:
        raise TypeError("internal: tri needs a matrix")
    return unary_rule(inputs, attrs)


defop("tri", infer=_tri_rule,
      reference=lambda x, upper, diagonal: (np.triu if upper else np.tril)(x, diagonal),
      lower=_tri_lower,
      grad=lambda g, n: (make("tri", (g,), **n.attrs),),
      samples=lambda rng: [([rng.normal(size=(3, 4)).astype(np.float32)],
                            {"upper": False, "diagonal": 0}),
                           ([rng.normal(size=(2, 3, 4)).astype(np.float32)],
                            {"upper": True, "diagonal": 1}),
                           ([rng.normal(size=(4, 3)).astype(np.float32)],
                            {"upper": True, "diagonal": -2}),
                           ([np.arange(9).reshape(3, 3)], {"upper": False, "diagonal": -1}),
                           ([np.ones((3, 3), bool)], {"upper": True, "diagonal": 0})],
      doc="Keep the lower (upper=False: j - i <= diagonal) or upper triangle of the last two "
          "dims; zero elsewhere.")


def _tri(name, upper):
    def fn(x, diagonal=0):
        if x.ndim < 2:
            fail(RuntimeError, f"{name}: input tensor must have at least 2 dimensions")
        return make("tri", (x,), upper=upper, diagonal=int(diagonal))
    fn.__name__ = name
    return fn


tril, triu = _tri("tril", False), _tri("triu", True)


EXPORTS = [
    ("tril", tril, "fmi"), ("triu", triu, "fmi"),
    ("gather", gather, "fm"), ("scatter", scatter, "fmi"), ("scatter_add", scatter_add, "fmi"),
    ("scatter_reduce", scatter_reduce, "fmi"), ("index_select", index_select, "fm"),
    ("index_add", index_add, "fmi"), ("index_copy", index_copy, "fmi"),
    ("index_fill", index_fill, "fmi"), ("masked_fill", masked_fill, "fmi"),
    ("take", take, "fm"), ("take_along_dim", take_along_dim, "fm"), ("put", put, "fmi"),
    ("index_put", index_put, "fmi"),
]
