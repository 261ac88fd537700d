"""Pooling: max pooling primitives (values, argmax indices, and the scatter/gather pair that
routes gradients to the argmax), plus max/avg/adaptive pooling functions.

Pooling windows cover the trailing `len(kernel)` dims; every leading dim is a batch dim.
Window geometry attrs are those of the convolutions (`kernel`, `stride`, `dilation`,
`padding` as (lo, hi) pairs, hi extended for ceil_mode).

- `max_pool(x)`: window maxima (NaN propagates, as in PyTorch).
- `max_pool_indices(x)`: PyTorch's return_indices: the flat index into the unpadded spatial
  dims of the first maximum in row-major window order (the last NaN, if a window has NaN).
- `max_unpool(g, idx)`: sends each g[p] to idx[p] (summing where windows overlap): the
  gradient of max pooling. Lowered as a gather over window offsets from a stride-spread copy
  of g, so no scatter is needed.
- `pool_take(h, idx)`: h[idx[p]] per window: the adjoint of max_unpool (its gradient).

Average pooling is a convolution with a ones kernel (so its gradient is the transposed
convolution) divided by a divisor computed in the graph from `arange`; adaptive average
pooling contracts with two averaging matrices built the same way.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..node import make
from ..opdef import defop
from .conv import _ref_pad, _ref_windows, fill_value, out_size, pad, read_hi, spread

# ---- primitives ----------------------------------------------------------------------------


def _geom(attrs):
    K, s, d = attrs["kernel"], attrs["stride"], attrs["dilation"]
    lo = [p[0] for p in attrs["padding"]]
    hi = [p[1] for p in attrs["padding"]]
    return K, s, d, lo, hi


def _pool_shape(shape, attrs):
    K, s, d, lo, hi = _geom(attrs)
    r = len(K)
    if not (len(s) == len(d) == len(lo) == r <= len(shape)):
        raise TypeError(f"internal: pooling attrs {attrs} for shape {shape}")
    S = shape[len(shape) - r:]
    return tuple(shape[:len(shape) - r]) + tuple(
        out_size(S[i], K[i], s[i], d[i], lo[i], hi[i]) for i in range(r))


def _max_pool_rule(inputs, attrs):
    x = inputs[0]
    return x.dtype, _pool_shape(x.shape, attrs)


def _indices_rule(inputs, attrs):
    return dt.int64, _pool_shape(inputs[0].shape, attrs)


def _unpool_rule(inputs, attrs):
    g, idx = inputs
    size = tuple(attrs["size"])
    full = g.shape[:g.ndim - len(size)] + size
    if _pool_shape(full, attrs) != g.shape or idx.shape != g.shape or idx.dtype is not dt.int64:
        raise TypeError("internal: max_unpool operands do not match the pooling geometry")
    return g.dtype, full


def _take_rule(inputs, attrs):
    h, idx = inputs
    out = _pool_shape(h.shape, attrs)
    if idx.shape != out or idx.dtype is not dt.int64:
        raise TypeError("internal: pool_take index shape")
    return h.dtype, out


def _loops(L, nb, r):
    """Loop dims (batch b.., window position p.., window offset k..) and their maps."""
    R = nb + 2 * r
    b = [L.dim(i) for i in range(nb)]
    p = [L.dim(nb + i) for i in range(r)]
    k = [L.dim(nb + r + i) for i in range(r)]
    return R, b, p, k


def _positions(L, S64, nb, r, s, d, lo):
    """Inside a body: per spatial dim, the unpadded input coordinate p*s + k*d - lo (i64)."""
    out = []
    for i in range(r):
        p = L.index_cast(L.loop_index(nb + i), dt.int64)
        k = L.index_cast(L.loop_index(nb + r + i), dt.int64)
        out.append(S64.sub(S64.add(S64.mul(p, S64.const(s[i])), S64.mul(k, S64.const(d[i]))),
                           S64.const(lo[i])))
    return out


def _flat_valid(S64, pos, size):
    flat, ok = S64.const(0), None
    for c, n in zip(pos, size):
        flat = S64.add(S64.mul(flat, S64.const(n)), c)
        inside = S64.and_(S64.cmp("ge", c, S64.const(0)), S64.cmp("lt", c, S64.const(n)))
        ok = inside if ok is None else S64.and_(ok, inside)
    return flat, ok


def _windowed(L, node, xv, xshape, init, body, extra=(), extra_maps=()):
    """One reduction generic over (batch, window position, window offset)."""
    K, s, d, lo, hi = _geom(node.attrs)
    r = len(K)
    nb = len(xshape) - r
    hi = read_hi(xshape[nb:], K, s, d, lo, node.shape[nb:])
    xp, _ = pad(L, xv, xshape, node.inputs[0].dtype, [0] * nb + lo, [0] * nb + hi,
                fill_value(node.inputs[0].dtype, 1 if node.op != "pool_take" else 0))
    R, b, p, k = _loops(L, nb, r)
    x_map = b + [p[i] * s[i] + k[i] * d[i] for i in range(r)]
    # A dummy operand indexed by the window offsets alone lets linalg infer their range.
    dummy = L.empty(tuple(K), dt.int8)
    maps = [L.affine_map(R, x_map), L.affine_map(R, k)] + [L.affine_map(R, m(b, p, k))
                                                           for m in extra_maps]
    inits = list(init) if isinstance(init, (list, tuple)) else [init]
    maps += [L.affine_map(R, b + p)] * len(inits)
    return L.generic([xp, dummy] + list(extra), inits, maps,
                     ["parallel"] * (nb + r) + ["reduction"] * r, body)


def _max_pool_lower(L, node, ops):
    S = L.scalar(node.dtype)
    init = L.full(node.shape, node.dtype, fill_value(node.dtype, 1))
    return _windowed(L, node, ops[0], node.inputs[0].shape, init,
                     lambda v, _, acc: S.max(acc, v))


def _indices_lower(L, node, ops):
    """One two-output reduction (value, index) under a total order, so the result does not
    depend on the order in which the reduction visits the window: larger values win, equal
    values go to the smaller flat index, and NaN beats numbers with the larger index winning
    (PyTorch's kernel keeps the last NaN it meets). Positions in the padding never win."""
    x = node.inputs[0]
    K, s, d, lo, hi = _geom(node.attrs)
    r, nb = len(K), x.ndim - len(K)
    S, S64 = L.scalar(x.dtype), L.scalar(dt.int64)
    big = (1 << 63) - 1
    size = x.shape[nb:]
    is_float = x.dtype.category == dt.FLOAT

    def body(v, _, acc_v, acc_i):
        flat, ok = _flat_valid(S64, _positions(L, S64, nb, r, s, d, lo), size)
        better = S.or_(S.cmp("gt", v, acc_v),
                       S.and_(S.cmp("eq", v, acc_v), S64.cmp("lt", flat, acc_i)))
        if is_float:
            v_nan, a_nan = S.isnan(v), S.isnan(acc_v)
            nan_case = S.select(a_nan, S64.cmp("gt", flat, acc_i), S.const(True, dt.bool_))
            better = S.select(v_nan, nan_case, S.select(a_nan, S.const(False, dt.bool_),
                                                        better))
        take = S.and_(ok, better)
        return [S.select(take, v, acc_v), S64.select(take, flat, acc_i)]

    inits = [L.full(node.shape, x.dtype, fill_value(x.dtype, 1)),
             L.full(node.shape, dt.int64, big)]
    return _windowed(L, node, ops[0], x.shape, inits, body)[1]


def _unpool_lower(L, node, ops):
    g, idx = node.inputs
    K, s, d, lo, hi = _geom(node.attrs)
    size = tuple(node.attrs["size"])
    r, nb = len(K), g.ndim - len(K)
    T = [size[i] + d[i] * (K[i] - 1) for i in range(r)]
    off = [d[i] * (K[i] - 1) - lo[i] for i in range(r)]
    gs = spread(L, ops[0], g.shape, g.dtype, nb, T, off, s, 0)
    js = spread(L, ops[1], idx.shape, dt.int64, nb, T, off, s, -1)
    R = nb + 2 * r
    b = [L.dim(i) for i in range(nb)]
    i_ = [L.dim(nb + t) for t in range(r)]
    j = [L.dim(nb + r + t) for t in range(r)]
    win = b + [i_[t] + j[t] * d[t] for t in range(r)]
    maps = [L.affine_map(R, win), L.affine_map(R, win), L.affine_map(R, j),
            L.affine_map(R, b + i_)]
    S, S64 = L.scalar(g.dtype), L.scalar(dt.int64)

    def body(gv, jv, _, acc):
        flat = S64.const(0)
        for t in range(r):
            c = L.index_cast(L.loop_index(nb + t), dt.int64)
            flat = S64.add(S64.mul(flat, S64.const(size[t])), c)
        return S.add(acc, S.select(S64.cmp("eq", jv, flat), gv, S.const(0)))

    return L.generic([gs, js, L.empty(tuple(K), dt.int8)], [L.full(node.shape, g.dtype, 0)],
                     maps, ["parallel"] * (nb + r) + ["reduction"] * r, body)


def _take_lower(L, node, ops):
    h = node.inputs[0]
    K, s, d, lo, hi = _geom(node.attrs)
    r, nb = len(K), h.ndim - len(K)
    S, S64 = L.scalar(h.dtype), L.scalar(dt.int64)
    size = h.shape[nb:]

    def body(v, _, iv, acc):
        flat, ok = _flat_valid(S64, _positions(L, S64, nb, r, s, d, lo), size)
        take = S64.and_(ok, S64.cmp("eq", iv, flat))
        return S.add(acc, S.select(take, v, S.const(0)))

    return _windowed(L, node, ops[0], h.shape, L.full(node.shape, h.dtype, 0), body,
                     extra=[ops[1]], extra_maps=[lambda b, p, k: b + p])


# ---- NumPy references ------------------------------------------------------------------------

def _ref_max_pool(x, kernel, stride, dilation, padding):
    lo, hi = [p[0] for p in padding], [p[1] for p in padding]
    dtype = x.dtype
    fill = -np.inf if dtype.kind == "f" else np.iinfo(dtype).min
    xp = _ref_pad(x, lo, hi, fill)
    P = _pool_shape(x.shape, dict(kernel=kernel, stride=stride, dilation=dilation,
                                  padding=padding))[x.ndim - len(kernel):]
    out = np.full(x.shape[:x.ndim - len(kernel)] + P, fill, dtype=dtype)
    for _, view in _ref_windows(xp, kernel, stride, dilation, P):
        out = np.maximum(out, xp[view])
    return out


def _ref_indices(x, kernel, stride, dilation, padding):
    """PyTorch's loop: row-major over valid window elements, update on > or NaN."""
    r = len(kernel)
    lo = [p[0] for p in padding]
    attrs = dict(kernel=kernel, stride=stride, dilation=dilation, padding=padding)
    out_shape = _pool_shape(x.shape, attrs)
    lead, S, P = x.shape[:x.ndim - r], x.shape[x.ndim - r:], out_shape[x.ndim - r:]
    xf = x.reshape((-1,) + S)
    best = np.full((xf.shape[0],) + P, -np.inf)
    idx = np.full((xf.shape[0],) + P, -1, dtype=np.int64)
    for p in np.ndindex(*P):
        for k in np.ndindex(*kernel):
            pos = [p[i] * stride[i] + k[i] * dilation[i] - lo[i] for i in range(r)]
            if any(c < 0 or c >= n for c, n in zip(pos, S)):
                continue
            v = xf[(slice(None),) + tuple(pos)].astype(np.float64)
            flat = int(np.ravel_multi_index(pos, S))
            cur = best[(slice(None),) + p]
            upd = (v > cur) | np.isnan(v) | (idx[(slice(None),) + p] < 0)
            best[(slice(None),) + p] = np.where(upd, v, cur)
            idx[(slice(None),) + p] = np.where(upd, flat, idx[(slice(None),) + p])
    return idx.reshape(lead + P)


def _ref_unpool(g, idx, kernel, stride, dilation, padding, size):
    r = len(kernel)
    lead = g.shape[:g.ndim - r]
    n = int(np.prod(size))
    gf = g.reshape((-1, int(np.prod(g.shape[g.ndim - r:]))))
    jf = idx.reshape(gf.shape)
    out = np.zeros((gf.shape[0], n), dtype=np.float64 if g.dtype.kind == "f" else g.dtype)
    for row in range(gf.shape[0]):
        np.add.at(out[row], jf[row], gf[row])
    return out.reshape(lead + tuple(size)).astype(g.dtype)


def _ref_take(h, idx, kernel, stride, dilation, padding):
    r = len(kernel)
    hf = h.reshape((-1, int(np.prod(h.shape[h.ndim - r:]))))
    jf = idx.reshape((hf.shape[0], -1)) if hf.shape[0] else idx.reshape((0, 0))
    return np.take_along_axis(hf, jf, axis=1).reshape(idx.shape) if hf.shape[0] else \
        np.zeros(idx.shape, h.dtype)


# ---- gradients and samples -------------------------------------------------------------------

def _attrs(n):
    return {k: n.attrs[k] for k in ("kernel", "stride", "dilation", "padding")}


def _max_pool_grad(g, n):
    x = n.inputs[0]
    idx = make("max_pool_indices", (x,), **_attrs(n))
    return (make("max_unpool", (g, idx), size=x.shape[x.ndim - len(n.attrs["kernel"]):],
                 **_attrs(n)),)


def _unpool_grad(g, n):
    return (make("pool_take", (g, n.inputs[1]), **_attrs(n)), None)


def _take_grad(g, n):
    h = n.inputs[0]
    size = h.shape[h.ndim - len(n.attrs["kernel"]):]
    return (make("max_unpool", (g, n.inputs[1]), size=size, **_attrs(n)), None)


def _pool_cases():
    return [((2, 3, 6, 7), dict(kernel=(2, 2), stride=(2, 2), dilation=(1, 1),
                                padding=((0, 0), (0, -1)))),
            ((1, 2, 7, 6), dict(kernel=(3, 2), stride=(2, 1), dilation=(2, 1),
                                padding=((1, 1), (1, 1)))),
            ((2, 9), dict(kernel=(3,), stride=(2,), dilation=(1,), padding=((1, 2),))),
            ((3, 5, 5), dict(kernel=(3, 3), stride=(1, 1), dilation=(1, 1),
                             padding=((1, 1), (1, 1)))),
            ((0, 2, 4, 4), dict(kernel=(2, 2), stride=(2, 2), dilation=(1, 1),
                                padding=((0, 0), (0, 0))))]


def _distinct(rng, shape):
    """Values with no ties (so argmax is unique and finite differences are clean)."""
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) * 0.37 - n * 0.1).astype(np.float32)


def _samples(kind):
    def samples(rng):
        out = []
        for shape, a in _pool_cases():
            x = _distinct(rng, shape)
            if kind == "max":
                out.append(([x], a))
                continue
            if kind == "indices":
                out.append(([x], a))
                continue
            idx = _ref_indices(x, **a)
            g = rng.standard_normal(idx.shape).astype(np.float32)
            if kind == "unpool":
                out.append(([g, idx], dict(a, size=shape[len(shape) - len(a["kernel"]):])))
            else:
                out.append(([rng.standard_normal(shape).astype(np.float32), idx], a))
        if kind in ("max", "indices"):
            shape, a = _pool_cases()[0]
            xi = rng.integers(-3, 4, shape)  # ties: first maximum wins
            out.append(([xi], a))
            # float16 keeps this NaN case out of the float64 finite-difference check
            xn = rng.standard_normal((1, 1, 4, 4)).astype(np.float16)
            xn[0, 0, 0, 1] = xn[0, 0, 1, 0] = np.nan
            xn[0, 0, 3, 3] = -np.inf
            out.append(([xn], dict(kernel=(2, 2), stride=(1, 1), dilation=(1, 1),
                                   padding=((0, 0), (0, 0)))))
        return out
    return samples


defop("max_pool", infer=_max_pool_rule, reference=_ref_max_pool, lower=_max_pool_lower,
      grad=_max_pool_grad, samples=_samples("max"),
      doc="Window maxima over the trailing len(kernel) dims (NaN propagates).")
defop("max_pool_indices", infer=_indices_rule, reference=_ref_indices, lower=_indices_lower,
      differentiable=False, samples=_samples("indices"),
      doc="Flat spatial index of each window's first maximum (last NaN), like PyTorch.")
defop("max_unpool", infer=_unpool_rule, reference=_ref_unpool, lower=_unpool_lower,
      grad=_unpool_grad, samples=_samples("unpool"),
      doc="Sum g[p] into position idx[p] (idx inside window p): max pooling's gradient.")
defop("pool_take", infer=_take_rule, reference=_ref_take, lower=_take_lower, grad=_take_grad,
      samples=_samples("take"), doc="h[idx[p]] per window: the adjoint of max_unpool.")
