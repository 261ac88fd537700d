"""Indexing primitives: gather, scatter, index (advanced indexing), index_put, tri (tril/triu),
and the public functions built on them (index_select, index_add, masked_fill, take, ...,
in index_compose.py).

Gather-like ops lower to one linalg.generic over the result whose body reads the source with
`tensor.extract` at data-dependent coordinates. Scatter-like ops lower to one generic over the
destination with a reduction over the index positions: out[q] = combine over p of
(idx[p] == q) ? src[p] : nothing, so no two iterations write one element.

Index values decide errors that PyTorch raises at the call: when the index tensor holds data
(a leaf, or a realized value) they are checked when the op is recorded; otherwise the node
carries `check`, and its lowering asserts the bounds at run time, naming the user's line.
Out-of-range coordinates are clamped inside kernels so no read leaves its buffer.
"""
from __future__ import annotations

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import make
from ..opdef import defop
from ..shapes import broadcast_shapes
from .common import cast, unary_rule
from .movement import materialized, slice_node, slice_scatter_node, zeros_node

INT_INDEX = (dt.int64, dt.int32)
NO_CHECK, CHECK_WRAP, CHECK_NONNEG = 0, 1, 2


# Ops that only move or copy values: an index built from known values by these is known too
# (e.g. cross_entropy's target.reshape(n, 1)), so its bounds are checked when recorded, and
# the graph needs no run-time assert (an assert makes IREE wait for the device mid-graph).
_VALUE_MOVING = frozenset({"reshape", "expand", "permute", "slice", "flip", "clone", "cast"})
_MAX_KNOWN_DEPTH = 8


def known_values(node, _depth=0):
    """The values of an index node when they exist without running anything, else None."""
    if node.data is not None:
        return np.asarray(node.data.to_numpy())
    if node.op == "const" and not node.inputs:
        return np.asarray(node.attrs["value"])
    if node.op in _VALUE_MOVING and len(node.inputs) == 1 and _depth < _MAX_KNOWN_DEPTH:
        src = known_values(node.inputs[0], _depth + 1)
        if src is not None:
            out = node.opdef.reference(src, **node.attrs)
            return np.asarray(out)
    return None


def first_out_of_range(values, size, allow_negative):
    """The first (flat order) value outside the valid range, or None."""
    lo = -size if allow_negative else 0
    bad = (values < lo) | (values >= size)
    if not bad.any():
        return None
    return int(values.reshape(-1)[np.argmax(bad.reshape(-1))])


# ---- lowering helpers -----------------------------------------------------------------------

def _clamped(L, v, size, wrap):
    """An i64 index value -> a safe `index` coordinate in [0, size)."""
    S = L.scalar(dt.int64)
    if wrap:
        v = S.select(S.cmp("lt", v, S.const(0)), S.add(v, S.const(size)), v)
    v = S.min(S.max(v, S.const(0)), S.const(max(size - 1, 0)))
    return L.index_cast(v)


def _emit_check(L, node, idx_value, idx_node, size, wrap, what):
    """Assert at run time that every index lies in range (for values unknown at record time)."""
    S = L.scalar(dt.int64)
    lo = -size if wrap else 0

    def ok_of(v):
        return S.and_(S.cmp("ge", v, S.const(lo)), S.cmp("lt", v, S.const(size)))

    R = idx_node.ndim
    if R == 0:
        ok = ok_of(L.tensor.extract(idx_value, []))
    else:
        # Count the bad indices in i64: an i1 reduction's extracted value was not reliable.
        one, zero = S.const(1), S.const(0)
        red = L.generic([idx_value], [L.full((), dt.int64, 0)],
                        [L.identity_map(R), L.affine_map(R, [])], ["reduction"] * R,
                        lambda v, acc: S.add(acc, S.select(ok_of(v), zero, one)))
        ok = S.cmp("eq", L.tensor.extract(red, []), zero)
    site = f" (recorded at {node.site})" if node.site is not None else ""
    L.ir.Operation.create("cf.assert", operands=[ok],
                          attributes={"msg": L.ir.StringAttr.get(f"{what}{site}")})


def _int64(idx):
    return cast(idx, dt.int64)


def _check_mode(idx, size, allow_negative, raise_error):
    """Check known index values now (raising with `raise_error(value)`), else ask for a run-time
    check."""
    vals = known_values(idx)
    if vals is None:
        return CHECK_WRAP if allow_negative else CHECK_NONNEG
    bad = first_out_of_range(vals, size, allow_negative)
    if bad is not None:
        raise_error(bad)
    return NO_CHECK


# ---- gather --------------------------------------------------------------------------------

def _gather_rule(inputs, attrs):
    x, idx = inputs
    if idx.dtype is not dt.int64 or idx.ndim != x.ndim:
        raise TypeError("internal: gather takes an int64 index of the input's rank")
    return x.dtype, idx.shape


def _gather_ref(x, idx, dim, check=0):
    sl = tuple(slice(0, s) if d != dim else slice(None) for d, s in enumerate(idx.shape))
    size = x.shape[dim]
    safe = np.clip(idx, 0, max(size - 1, 0))
    vals = np.take_along_axis(x[sl], safe, axis=dim) if size else np.zeros(idx.shape, x.dtype)
    return np.where((idx >= 0) & (idx < size), vals, np.zeros((), x.dtype)).astype(x.dtype)


def _gather_lower(L, n, ops):
    x, idx = n.inputs
    dim, R = n.attrs["dim"], idx.ndim
    if n.attrs.get("check"):
        _emit_check(L, n, ops[1], idx, x.shape[dim], False,
                    f"gather: index out of bounds for dimension {dim} with size {x.shape[dim]}")
    if n.numel == 0:
        return L.empty(n.shape, n.dtype)
    src, size = materialized(L, ops[0]), x.shape[dim]
    S, S64 = L.scalar(n.dtype), L.scalar(dt.int64)

    def body(v, o):
        coords = [L.loop_index(d) if d != dim else _clamped(L, v, size, False)
                  for d in range(R)]
        inside = S64.and_(S64.cmp("ge", v, S64.const(0)), S64.cmp("lt", v, S64.const(size)))
        return S.select(inside, L.tensor.extract(src, coords), S.const(0))

    return L.generic([ops[1]], [L.empty(n.shape, n.dtype)], [L.identity_map(R)] * 2,
                     ["parallel"] * R, body)


def _gather_grad(g, n):
    x, idx = n.inputs
    return scatter_node(zeros_node(x.shape, g.dtype, g.device), n.attrs["dim"], idx, g, "add"), None


def _gather_samples(rng):
    return [([rng.normal(size=(3, 4)).astype(np.float32), rng.integers(0, 3, (2, 4))], {"dim": 0}),
            ([rng.normal(size=(3, 4)).astype(np.float32), rng.integers(0, 4, (3, 6))], {"dim": 1}),
            ([rng.normal(size=(2, 3, 4)).astype(np.float32), rng.integers(0, 3, (1, 2, 2))],
             {"dim": 1}),
            ([np.arange(5), np.array([4, 0, 0])], {"dim": 0}),
            ([rng.normal(size=(3, 2)).astype(np.float32), np.array([[-1, 2], [3, 0]])], {"dim": 0}),
            ([rng.normal(size=(3,)).astype(np.float32), np.zeros((0,), np.int64)], {"dim": 0})]


defop("gather", infer=_gather_rule, reference=_gather_ref, lower=_gather_lower,
      grad=_gather_grad, samples=_gather_samples,
      doc="out[p] = x[p with p[dim] = idx[p]] (0 where idx[p] is out of range); idx may be "
          "smaller than x off `dim`.")


# ---- scatter -------------------------------------------------------------------------------

SCATTER_REDUCE = ("none", "add", "multiply", "amax", "amin")


def _scatter_rule(inputs, attrs):
    x, idx, src = inputs
    dim = attrs["dim"]
    if attrs["reduce"] not in SCATTER_REDUCE:
        raise TypeError(f"internal: scatter reduce {attrs['reduce']!r}")
    if idx.dtype is not dt.int64 or idx.shape != src.shape or src.dtype is not x.dtype or \
            idx.ndim != x.ndim or any(a != b for d, (a, b) in enumerate(zip(idx.shape, x.shape))
                                      if d != dim):
        raise TypeError("internal: scatter operands must be normalized (see scatter_node)")
    return x.dtype, x.shape


def _combine(reduce, dtype):
    is_bool = dtype is dt.bool_

    def fn(S, acc, v):
        if reduce == "add":
            return S.or_(acc, v) if is_bool else S.add(acc, v)
        if reduce == "multiply":
            return S.and_(acc, v) if is_bool else S.mul(acc, v)
        if reduce == "amax":
            return S.max(acc, v)
        if reduce == "amin":
            return S.min(acc, v)
        return v
    return fn


def _scatter_ref(x, idx, src, dim, reduce, check=0):
    out = np.array(x)
    size = x.shape[dim]
    ops = {"add": np.add, "multiply": np.multiply, "amax": np.maximum, "amin": np.minimum}
    if x.dtype == np.bool_:
        ops.update(add=np.logical_or, multiply=np.logical_and)
    for p in np.ndindex(*idx.shape):
        i = int(idx[p])
        if not 0 <= i < size:
            continue
        q = p[:dim] + (i,) + p[dim + 1:]
        out[q] = src[p] if reduce == "none" else ops[reduce](out[q], src[p])
    return out


def _identity(reduce, dtype):
    if reduce == "multiply":
        return 1
    if reduce in ("amax", "amin"):
        if dtype.category == dt.FLOAT:
            return float("-inf") if reduce == "amax" else float("inf")
        if dtype is dt.bool_:
            return reduce == "amin"
        info = np.iinfo(dt.numpy_dtype(dtype))
        return int(info.min if reduce == "amax" else info.max)
    return 0


def lower_scatter_like(L, n, x_value, ins, in_maps, nred, reduce, match):
    """out[q] = combine(x[q], combine over matching p of src[p]); x's dims are the first
    iteration dims and `nred` reduction dims follow. `match(args)` gives (matched, src value).

    The reduction accumulates into fresh tensors (a value and a found flag) and one final
    elementwise op merges them with x: IREE mis-bufferizes a reduction whose init is an input
    that a fused consumer also reads."""
    R = len(n.shape)
    S = L.scalar(n.dtype)
    combine = _combine(reduce, n.dtype)
    out_map = L.affine_map(R + nred, [L.dim(d) for d in range(R)])
    acc0 = L.full(n.shape, n.dtype, _identity(reduce, n.dtype))
    found0 = L.full(n.shape, dt.bool_, False)

    def body(*args):
        acc, found = args[-2], args[-1]
        m, v = match(args[:-2])
        return S.select(m, combine(S, acc, v), acc), S.or_(found, m)

    acc, found = L.generic(ins, [acc0, found0], in_maps + [out_map, out_map],
                           ["parallel"] * R + ["reduction"] * nred, body)

    def merge(x, a, f, o):
        return S.select(f, a if reduce == "none" else combine(S, x, a), x)

    return L.generic([x_value, acc, found], [L.empty(n.shape, n.dtype)],
                     [L.identity_map(R)] * 4, ["parallel"] * R, merge)


def _scatter_lower(L, n, ops):
    x, idx, src = n.inputs
    dim, R = n.attrs["dim"], x.ndim
    if n.attrs.get("check"):
        _emit_check(L, n, ops[1], idx, x.shape[dim], False,
                    f"scatter: index out of bounds for dimension {dim} with size {x.shape[dim]}")
    if idx.numel == 0 or x.numel == 0:
        return ops[0]
    S64 = L.scalar(dt.int64)
    pmap = L.affine_map(R + 1, [L.dim(R) if d == dim else L.dim(d) for d in range(R)])

    def match(args):
        i, v = args
        return S64.cmp("eq", i, L.index_cast(L.loop_index(dim), dt.int64)), v

    return lower_scatter_like(L, n, ops[0], [ops[1], ops[2]], [pmap, pmap], 1,
                              n.attrs["reduce"], match)


def _scatter_grad(g, n):
    from .elementwise import div, eq, mul
    x, idx, src = n.inputs
    dim, reduce = n.attrs["dim"], n.attrs["reduce"]
    if reduce == "none":
        gx = scatter_node(g, dim, idx, zeros_node(src.shape, g.dtype, g.device), "none")
        return gx, None, gather_node(g, dim, idx)
    if reduce == "add":
        return g, None, gather_node(g, dim, idx)
    if reduce == "multiply":
        go = mul(g, n)
        return div(go, x), None, div(gather_node(go, dim, idx), src)
    # amax/amin: the gradient is shared evenly among the elements equal to the result.
    mx = cast(eq(x, n), g.dtype)
    ms = cast(eq(src, gather_node(n, dim, idx)), g.dtype)
    count = scatter_node(mx, dim, idx, ms, "add")
    share = div(g, count)
    return mul(share, mx), None, mul(gather_node(share, dim, idx), ms)


def _scatter_samples(rng):
    f = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    perm = np.stack([rng.permutation(4)[:3] for _ in range(2)], axis=1)  # distinct per column
    return [([f(4, 2), perm, f(3, 2)], {"dim": 0, "reduce": "none"}),
            ([f(3, 4), rng.integers(0, 4, (3, 5)), f(3, 5)], {"dim": 1, "reduce": "add"}),
            ([f(2, 3), rng.integers(0, 2, (4, 3)), f(4, 3)], {"dim": 0, "reduce": "add"}),
            ([rng.uniform(0.5, 2, (3, 2)).astype(np.float32), np.array([[0, 1], [2, 1]]),
              rng.uniform(0.5, 2, (2, 2)).astype(np.float32)], {"dim": 0, "reduce": "multiply"}),
            ([f(3, 2), np.array([[0, 1], [0, 2]]), f(2, 2)], {"dim": 0, "reduce": "amax"}),
            ([f(3, 2), np.array([[2, 1], [0, 1]]), f(2, 2)], {"dim": 0, "reduce": "amin"}),
            ([f(3, 2), np.array([[-1, 1], [0, -1]]), f(2, 2)], {"dim": 0, "reduce": "add"}),
            ([np.arange(4), np.array([3, 0]), np.array([10, 20])], {"dim": 0, "reduce": "none"}),
            ([f(2, 3), np.zeros((0, 3), np.int64), f(0, 3)], {"dim": 0, "reduce": "add"})]


defop("scatter", infer=_scatter_rule, reference=_scatter_ref, lower=_scatter_lower,
      grad=_scatter_grad, samples=_scatter_samples,
      doc="x with src[p] combined (attrs['reduce']) into x[p with p[dim] = idx[p]]; idx has "
          "src's shape and x's sizes off `dim`; out-of-range idx values write nothing.")


def gather_node(x, dim, idx, check=NO_CHECK):
    """gather on normalized operands (int64 idx of x's rank, no larger than x off `dim`)."""
    if idx.numel == 0:
        return zeros_node(idx.shape, x.dtype, x.device)
    return make("gather", (x, idx), dim=dim, check=check)


def scatter_node(x, dim, idx, src, reduce, check=NO_CHECK):
    """scatter with PyTorch's shape freedom: idx may be smaller than x off `dim` and src may be
    larger than idx. Pads idx (with -1, which writes nothing) and crops src to the form the
    primitive takes."""
    src = slice_node(src, (0,) * src.ndim, (1,) * src.ndim, idx.shape)
    full_shape = tuple(x.shape[d] if d != dim else idx.shape[d] for d in range(x.ndim))
    if idx.shape != full_shape:
        from .source import full
        starts, steps = (0,) * x.ndim, (1,) * x.ndim
        idx = slice_scatter_node(full(full_shape, -1, dt.int64, idx.device or "cpu"), idx,
                                 starts, steps)
        src = slice_scatter_node(zeros_node(full_shape, src.dtype, src.device), src,
                                 starts, steps)
    if idx.numel == 0:
        return x
    return make("scatter", (x, idx, src), dim=dim, reduce=reduce, check=check)


# ---- advanced indexing: index and index_put ------------------------------------------------

def _index_shape(x, idxs, start):
    B = broadcast_shapes(*(i.shape for i in idxs))
    return x.shape[:start] + B + x.shape[start + len(idxs):], B


def _index_rule(inputs, attrs):
    x, idxs = inputs[0], inputs[1:]
    if not idxs or any(i.dtype is not dt.int64 for i in idxs) or \
            attrs["start"] + len(idxs) > x.ndim:
        raise TypeError("internal: index takes int64 index tensors for consecutive dims")
    return x.dtype, _index_shape(x, idxs, attrs["start"])[0]


def _index_key(start, idxs):
    return (slice(None),) * start + tuple(idxs)


def _idx_maps(L, idxs, B, offset, ndims):
    """Broadcasting maps from the B dims of an iteration space (starting at `offset`)."""
    maps = []
    for i in idxs:
        exprs = []
        for t, s in enumerate(i.shape):
            pos = len(B) - i.ndim + t
            exprs.append(L.cst(0) if (s == 1 and B[pos] != 1) else L.dim(offset + pos))
        maps.append(L.affine_map(ndims, exprs))
    return maps


def _index_lower(L, n, ops):
    x, idxs = n.inputs[0], n.inputs[1:]
    start, k = n.attrs["start"], len(idxs)
    check = n.attrs.get("check", 0)
    if check:
        for j, (i, v) in enumerate(zip(idxs, ops[1:])):
            size = x.shape[start + j]
            _emit_check(L, n, v, i, size, check == CHECK_WRAP,
                        f"index out of bounds for dimension {j} with size {size}")
    if n.numel == 0:
        return L.empty(n.shape, n.dtype)
    _, B = _index_shape(x, idxs, start)
    R, nb, src = len(n.shape), len(B), materialized(L, ops[0])

    def body(*args):
        vals = args[:k]
        coords = [L.loop_index(d) for d in range(start)]
        coords += [_clamped(L, v, x.shape[start + j], True) for j, v in enumerate(vals)]
        coords += [L.loop_index(start + nb + t) for t in range(x.ndim - start - k)]
        return L.tensor.extract(src, coords)

    maps = _idx_maps(L, idxs, B, start, R) + [L.identity_map(R)]
    return L.generic(list(ops[1:]), [L.empty(n.shape, n.dtype)], maps, ["parallel"] * R, body)


def _index_grad(g, n):
    x, idxs = n.inputs[0], n.inputs[1:]
    gx = index_put_node(zeros_node(x.shape, g.dtype, g.device), g, idxs, n.attrs["start"], True)
    return (gx,) + (None,) * len(idxs)


def _index_samples(rng):
    f = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    return [([f(5, 3), np.array([4, -1, 0, 2])], {"start": 0}),
            ([f(3, 4, 5), np.array([[0], [2]]), np.array([1, -2, 3])], {"start": 1}),
            ([f(2, 3, 4), np.array(1), np.array([[0, 2], [1, 1]])], {"start": 0}),
            ([np.arange(12).reshape(3, 4), np.array([2, 0])], {"start": 1}),
            ([f(4, 2), np.zeros((0,), np.int64)], {"start": 0})]


defop("index", infer=_index_rule,
      reference=lambda x, *idxs, start, check=0: x[_index_key(start, idxs)],
      lower=_index_lower, grad=_index_grad, samples=_index_samples,
      doc="x[:, ..., idx_0, idx_1, ...] with the index tensors on consecutive dims from "
          "`start` (broadcast together; negative values wrap).")


def _index_put_rule(inputs, attrs):
    base, src, idxs = inputs[0], inputs[1], inputs[2:]
    dtype, shape = _index_rule([base] + list(idxs), attrs)
    if src.shape != shape or src.dtype is not base.dtype:
        raise TypeError("internal: index_put values must have the indexing result's shape")
    return base.dtype, base.shape


def _index_put_ref(base, src, *idxs, start, accumulate, check=0):
    out = np.array(base)
    key = _index_key(start, idxs)
    if accumulate:
        np.add.at(out, key, src)
    else:
        out[key] = src
    return out


def _index_put_lower(L, n, ops):
    base, src, idxs = n.inputs[0], n.inputs[1], n.inputs[2:]
    start, k = n.attrs["start"], len(idxs)
    check = n.attrs.get("check", 0)
    if check:
        for j, (i, v) in enumerate(zip(idxs, ops[2:])):
            size = base.shape[start + j]
            _emit_check(L, n, v, i, size, check == CHECK_WRAP,
                        f"index out of bounds for dimension {j} with size {size}")
    if src.numel == 0 or base.numel == 0:
        return ops[0]
    if base.dtype is dt.bool_:  # i1 storage: keep to plain linalg
        return _index_put_generic(L, n, ops)
    return _index_put_ext(L, n, ops)


def _transposed(L, value, shape, perm, dtype):
    """`value` (of `shape`) with its dims permuted by `perm`."""
    R = len(perm)
    if tuple(perm) == tuple(range(R)):
        return value
    inv = [0] * R
    for j, p in enumerate(perm):
        inv[p] = j
    in_map = L.affine_map(R, [L.dim(inv[i]) for i in range(R)])
    return L.generic([value], [L.empty([shape[p] for p in perm], dtype)],
                     [in_map, L.identity_map(R)], ["parallel"] * R, lambda v, o: v)


def _index_put_ext(L, n, ops):
    """index_put as one `iree_linalg_ext.scatter`: work proportional to the values written
    (the generic form costs base size x index count). The indexed dims are moved first,
    the index tensors stacked to [N, k] (wrapped, and clamped so no write leaves the buffer)."""
    base, src, idxs = n.inputs[0], n.inputs[1], n.inputs[2:]
    start, k, R, dtype = n.attrs["start"], len(idxs), n.inputs[0].ndim, n.dtype
    _, B = _index_shape(base, idxs, start)
    nb, count = len(B), 1
    for s in B:
        count *= s
    perm = list(range(start, start + k)) + list(range(start)) + list(range(start + k, R))
    orig = _transposed(L, ops[0], base.shape, perm, dtype)
    rest = tuple(base.shape[d] for d in perm[k:])
    sperm = list(range(start, start + nb)) + list(range(start)) + \
        list(range(start + nb, src.ndim))
    upd = _transposed(L, ops[1], src.shape, sperm, dtype)
    upd = L.reshape(upd, tuple(B) + rest, (count,) + rest, dtype)
    S64 = L.scalar(dt.int64)

    def stack(*args):
        which = L.index_cast(L.loop_index(nb), dt.int64)
        out = None
        for j, v in enumerate(args[:k]):
            size = base.shape[start + j]
            v = S64.select(S64.cmp("lt", v, S64.const(0)), S64.add(v, S64.const(size)), v)
            v = S64.min(S64.max(v, S64.const(0)), S64.const(size - 1))
            out = v if out is None else S64.select(S64.cmp("eq", which, S64.const(j)), v, out)
        return out

    idx = L.generic(list(ops[2:]), [L.empty(tuple(B) + (k,), dt.int64)],
                    _idx_maps(L, idxs, B, 0, nb + 1) + [L.identity_map(nb + 1)],
                    ["parallel"] * (nb + 1), stack)
    idx = L.reshape(idx, tuple(B) + (k,), (count, k), dt.int64)
    # Fused producers of the scatter's operands get staged on the stack (which overflows for
    # large updates): hand it materialized operands.
    upd, idx = materialized(L, upd), materialized(L, idx)
    ir = L.ir
    op = ir.Operation.create(
        "iree_linalg_ext.scatter", results=[orig.type], operands=[upd, idx, orig],
        attributes={"dimension_map": ir.DenseI64ArrayAttr.get(list(range(k))),
                    "unique_indices": ir.BoolAttr.get(False),
                    "operandSegmentSizes": ir.DenseI32ArrayAttr.get([2, 1])}, regions=1)
    et = L.element_type(dtype)
    block = op.regions[0].blocks.append(et, et)
    with ir.InsertionPoint(block):
        u, o = block.arguments
        v = L.scalar(dtype).add(o, u) if n.attrs["accumulate"] else u
        ir.Operation.create("iree_linalg_ext.yield", operands=[v])
    out = op.result
    inv = [0] * R
    for j, p in enumerate(perm):
        inv[p] = j
    return _transposed(L, out, [base.shape[d] for d in perm], inv, dtype)


def _index_put_generic(L, n, ops):
    """index_put as a generic over the base with a reduction over the index positions."""
    base, src, idxs = n.inputs[0], n.inputs[1], n.inputs[2:]
    start, k = n.attrs["start"], len(idxs)
    _, B = _index_shape(base, idxs, start)
    R, nb = base.ndim, len(B)
    N = R + nb
    src_map = L.affine_map(N, [L.dim(d) for d in range(start)] + [L.dim(R + t) for t in range(nb)]
                           + [L.dim(d) for d in range(start + k, R)])
    S64 = L.scalar(dt.int64)

    def match(args):
        v, vals = args[0], args[1:]
        m = None
        for j, iv in enumerate(vals):
            size = base.shape[start + j]
            iv = S64.select(S64.cmp("lt", iv, S64.const(0)), S64.add(iv, S64.const(size)), iv)
            e = S64.cmp("eq", iv, L.index_cast(L.loop_index(start + j), dt.int64))
            m = e if m is None else S64.and_(m, e)
        return m, v

    return lower_scatter_like(L, n, ops[0], [ops[1]] + list(ops[2:]),
                              [src_map] + _idx_maps(L, idxs, B, R, N), nb,
                              "add" if n.attrs["accumulate"] else "none", match)


def _index_put_grad(g, n):
    base, src, idxs = n.inputs[0], n.inputs[1], n.inputs[2:]
    start = n.attrs["start"]
    if n.attrs["accumulate"]:
        gb = g
    else:
        gb = index_put_node(g, zeros_node(src.shape, g.dtype, g.device), idxs, start, False)
    gs = make("index", (g,) + tuple(idxs), start=start, check=0)
    return (gb, gs) + (None,) * len(idxs)


def _index_put_samples(rng):
    f = lambda *s: rng.normal(size=s).astype(np.float32)  # noqa: E731
    return [([f(5, 3), f(3, 3), np.array([4, -2, 0])], {"start": 0, "accumulate": False}),
            ([f(5, 3), f(4, 3), np.array([1, 3, 1, 1])], {"start": 0, "accumulate": True}),
            ([f(3, 4, 5), f(2, 3, 5), np.array([[0], [2]]), np.array([1, -2, 3])],
             {"start": 0, "accumulate": True}),
            ([f(2, 4, 3), f(2, 2, 3), np.array([3, 0])], {"start": 1, "accumulate": False}),
            ([np.arange(6), np.array([7, 8]), np.array([5, 0])],
             {"start": 0, "accumulate": False}),
            ([f(4, 2), f(0, 2), np.zeros((0,), np.int64)], {"start": 0, "accumulate": True}),
            ([rng.random((3, 2)) > 0.5, np.array([[True, True]]), np.array([1])],
             {"start": 0, "accumulate": False})]


defop("index_put", infer=_index_put_rule, reference=_index_put_ref, lower=_index_put_lower,
      grad=_index_put_grad, samples=_index_put_samples,
      doc="base with values written (or added, attrs['accumulate']) at x[..., idx_0, ...].")


def index_node(x, idxs, start, check=NO_CHECK):
    idxs = tuple(idxs)
    return make("index", (x,) + idxs, start=start, check=check)


def index_put_node(base, src, idxs, start, accumulate, check=NO_CHECK):
    idxs = tuple(idxs)
    return make("index_put", (base, src) + idxs, start=start, accumulate=bool(accumulate),
                check=check)


# The public indexing functions (gather, scatter, index_select, masked_fill, take, ...) live
# beside this file; they join this family's table.
from .index_compose import EXPORTS  # noqa: E402,F401
