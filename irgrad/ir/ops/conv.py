"""Convolutions: three primitives closed under differentiation. The public functions
(conv1d/2d/3d, conv_transpose1d/2d/3d, unfold/fold) are in `conv_api.py`; pooling primitives
in `pool.py` and pooling functions in `pool_api.py`; this module gathers their EXPORTS.

The three primitives are the three faces of one trilinear form
`sum x[n, c, p*s + k*d - lo] * w[o, c, k] * y[n, o, p]` (channels split into groups):

- `conv(x, w)` computes y (the forward convolution, cross-correlation as in PyTorch);
- `conv_input_grad(y, w)` computes x (the transposed convolution);
- `conv_weight_grad(x, y)` computes w.

The gradient of each is the other two, so every order of derivative stays in the family.
All three share the attributes `stride`, `dilation`, `padding` (one (lo, hi) pair per spatial
dim; hi may be negative, meaning trailing input is never read) and `groups`; the sizes satisfy
`P = (S + lo + hi - d*(K-1) - 1) // s + 1`.

Lowering: channels are split into (group, channel-in-group) with exact expand_shapes, the
input is padded with tensor.pad to exactly the extent the windows read, and
- `conv` is one `linalg.generic` in the layout IREE compiles as a convolution
  (`direct_conv`: x (N, G, C, *X), w (G, F, C, *K), window maps `p*s + k*d`);
- `conv_input_grad` spreads y by the stride (a strided insert_slice) and runs `direct_conv`
  with the flipped filter whose channel roles swap (a small gather);
- `conv_weight_grad` is one `linalg.batch_matmul` of y against an im2col copy of x.
No map has a negative coefficient: IREE's tiling mishandles those once ops are fused.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..node import make
from ..opdef import defop

# ---- lowering helpers shared with pool.py ----------------------------------------------------


def fill_value(dtype, kind):
    """The padding value: 0, or the lowest value of the dtype for max pooling."""
    if kind == 0:
        return 0
    if dtype.category == dt.FLOAT:
        return float("-inf")
    if not dtype.is_signed:
        return 0
    return -(1 << (dtype.bits - 1))


def pad(L, x, shape, dtype, lo, hi, value=0):
    """Pad every dim of `x` by lo/hi elements; a negative amount crops instead."""
    cut_lo, cut_hi = [max(0, -v) for v in lo], [max(0, -v) for v in hi]
    shape = tuple(shape)
    if any(cut_lo) or any(cut_hi):
        kept = [max(0, s - a - b) for s, a, b in zip(shape, cut_lo, cut_hi)]
        if 0 not in kept:
            x = L.tensor.extract_slice(L.tensor_type(kept, dtype), x, [], [], [], cut_lo, kept,
                                       [1] * len(kept))
        shape = tuple(kept)
    lo = [max(0, v) for v in lo]
    hi = [max(0, v) for v in hi]
    if not any(lo) and not any(hi):
        return x, shape
    out_shape = tuple(s + a + b for s, a, b in zip(shape, lo, hi))
    if 0 in shape:
        return L.full(out_shape, dtype, value), out_shape
    # tensor.pad rather than fill + insert_slice: IREE then places the producer's result in
    # the padded buffer itself, where an insert_slice chain next to the channel reshapes was
    # miscompiled ("slice along dimension 3 runs out-of-bounds").
    op = L.tensor.PadOp(L.tensor_type(out_shape, dtype), x, [], [], lo, hi)
    block = op.regions[0].blocks.append(*[L.ir.IndexType.get()] * len(shape))
    with L.ir.InsertionPoint(block):
        L.tensor.YieldOp(L.scalar(dtype).const(value))
    return op.result, out_shape


def read_hi(S, K, s, d, lo, P):
    """The hi padding after which a window scan reads exactly the padded input.

    Windows read p*s + k*d for p < P, k < K; padding (or cropping) the input to exactly that
    extent matters: when IREE folds a unit output dim away, p*s + k*d becomes a plain k,
    whose range must then equal the input's size."""
    return [max(0, (p - 1) * st + (k - 1) * dd + 1) - n - a
            for n, k, st, dd, a, p in zip(S, K, s, d, lo, P)]


def spread(L, g, gshape, dtype, lead, sizes, offsets, strides, value=0):
    """A tensor of spatial `sizes` holding g[..., p] at offsets + p*strides (cropped to fit).

    The first `lead` dims are copied whole; this builds the stride-dilated, padded input of a
    transposed convolution.
    """
    P = gshape[lead:]
    if all(st == 1 for st in strides):  # a plain pad (or crop): keep to tensor.pad
        hi = [T - n - off for n, T, off in zip(P, sizes, offsets)]
        return pad(L, g, gshape, dtype, [0] * lead + list(offsets), [0] * lead + hi, value)[0]
    lo_p, counts = [], []
    for n, T, off, s in zip(P, sizes, offsets, strides):
        first = 0 if off >= 0 else (-off + s - 1) // s
        last = min(n - 1, (T - 1 - off) // s) if T - 1 - off >= 0 else -1
        lo_p.append(first)
        counts.append(max(0, last - first + 1))
    out_shape = tuple(gshape[:lead]) + tuple(sizes)
    dest = L.full(out_shape, dtype, value)
    if 0 in counts or 0 in gshape[:lead]:
        return dest
    src = g
    if any(lo_p) or tuple(counts) != tuple(P):
        sub_shape = list(gshape[:lead]) + counts
        src = L.tensor.extract_slice(L.tensor_type(sub_shape, dtype), g, [], [], [],
                                     [0] * lead + lo_p, sub_shape, [1] * len(gshape))
    sub_shape = list(gshape[:lead]) + counts
    offs = [0] * lead + [o + f * s for o, f, s in zip(offsets, lo_p, strides)]
    return L.tensor.insert_slice(src, dest, [], [], [], offs, sub_shape,
                                 [1] * lead + list(strides))


def split_dim(L, x, shape, dtype, dim, G):
    """(.., C, ..) -> (.., G, C // G, ..) at `dim`, as one exact tensor.expand_shape (a
    collapse-everything-then-expand reshape confuses IREE's reshape propagation here)."""
    out = tuple(shape[:dim]) + (G, shape[dim] // G) + tuple(shape[dim + 1:])
    reassoc = [[i] for i in range(dim)] + [[dim, dim + 1]] + [[i + 1] for i in
                                                              range(dim + 1, len(shape))]
    return L.tensor.expand_shape(L.tensor_type(out, dtype), x, reassoc, [], list(out)), out


def merge_dim(L, x, shape, dtype, dim):
    """The inverse of split_dim: (.., G, Cg, ..) -> (.., G * Cg, ..)."""
    out = tuple(shape[:dim]) + (shape[dim] * shape[dim + 1],) + tuple(shape[dim + 2:])
    reassoc = [[i] for i in range(dim)] + [[dim, dim + 1]] + [[i + 1] for i in
                                                              range(dim + 1, len(out))]
    return L.tensor.collapse_shape(L.tensor_type(out, dtype), x, reassoc)


def accumulate_dtype(dtype):
    return dt.float32 if dtype in (dt.float16, dt.bfloat16) else dtype


def convert(L, value, shape, src, dst):
    if src is dst:
        return value
    from .linalg import _convert
    return _convert(L, value, shape, src, dst)


def window_expr(L, p_dim, k_dim, s, d):
    """The affine expression p*s + k*d over loop dims p_dim, k_dim."""
    return L.dim(p_dim) * s + L.dim(k_dim) * d


def flip_kernel(L, w, shape, dtype, r, G):
    """w (G*Og, Cg, *K) -> (G, Cg, Og, *K) reversed along the kernel dims, as a gather
    (tensor.extract at K-1-k): the filter of the transposed convolution.

    An affine map with a negative coefficient would be simpler, but once IREE fuses such a
    producer into the convolution that consumes it, its tiling verifier rejects the slice.
    """
    Og, Cg, K = shape[0] // G, shape[1], tuple(shape[2:])
    out_shape = (G, Cg, Og) + K
    R = len(out_shape)

    def body(o):
        g, c, f = (L.loop_index(i) for i in range(3))
        row = L.arith.addi(L.arith.muli(g, L.index_const(Og)), f)
        idx = [row, c] + [L.arith.subi(L.index_const(K[i] - 1), L.loop_index(3 + i))
                          for i in range(r)]
        return L.tensor.extract(w, idx)

    return L.generic([], [L.empty(out_shape, dtype)], [L.identity_map(R)], ["parallel"] * R,
                     body)


# ---- the conv primitives --------------------------------------------------------------------


def out_size(S, K, s, d, lo, hi):
    return (S + lo + hi - d * (K - 1) - 1) // s + 1


def _geometry(attrs, r):
    s, d, pads = attrs["stride"], attrs["dilation"], attrs["padding"]
    if len(s) != r or len(d) != r or len(pads) != r:
        raise TypeError(f"internal: conv attrs do not match {r} spatial dims: {attrs}")
    return s, d, [p[0] for p in pads], [p[1] for p in pads]


def _check_channels(x_c, w, y_c, G):
    if w.shape[0] % G or x_c != w.shape[1] * G or y_c != w.shape[0]:
        raise TypeError(f"internal: conv channels x={x_c} w={w.shape} y={y_c} groups={G}")


def _conv_rule(inputs, attrs):
    x, w = inputs
    r = x.ndim - 2
    s, d, lo, hi = _geometry(attrs, r)
    _check_channels(x.shape[1], w, w.shape[0], attrs["groups"])
    P = [out_size(S, K, *a) for S, K, a in zip(x.shape[2:], w.shape[2:], zip(s, d, lo, hi))]
    if x.dtype is not w.dtype or w.ndim != x.ndim or min(P, default=1) < 0:
        raise TypeError("internal: bad conv operands")
    return x.dtype, (x.shape[0], w.shape[0]) + tuple(P)


def _input_grad_rule(inputs, attrs):
    y, w = inputs
    S = tuple(attrs["size"])
    r = len(S)
    s, d, lo, hi = _geometry(attrs, r)
    G = attrs["groups"]
    _check_channels(w.shape[1] * G, w, y.shape[1], G)
    P = tuple(out_size(a, K, *b) for a, K, b in zip(S, w.shape[2:], zip(s, d, lo, hi)))
    if P != y.shape[2:] or y.dtype is not w.dtype:
        raise TypeError(f"internal: conv_input_grad sizes {y.shape} vs {P}")
    return y.dtype, (y.shape[0], w.shape[1] * G) + S


def _weight_grad_rule(inputs, attrs):
    x, y = inputs
    K = tuple(attrs["kernel"])
    r = len(K)
    s, d, lo, hi = _geometry(attrs, r)
    G = attrs["groups"]
    if x.shape[1] % G or y.shape[1] % G or x.dtype is not y.dtype:
        raise TypeError("internal: conv_weight_grad channels")
    P = tuple(out_size(a, k, *b) for a, k, b in zip(x.shape[2:], K, zip(s, d, lo, hi)))
    if P != y.shape[2:] or x.shape[0] != y.shape[0]:
        raise TypeError(f"internal: conv_weight_grad sizes {y.shape} vs {P}")
    return x.dtype, (y.shape[1], x.shape[1] // G) + K


def direct_conv(L, xv, x_shape, wv, w_shape, s, d, out_spatial, dtype):
    """The one convolution kernel: x (N, G, C, *X), w (G, F, C, *K) -> (N, G, F, *P) with
    out[n, g, f, p] = sum_{c, k} x[n, g, c, p*s + k*d] * w[g, f, c, k].

    Every convolution the three primitives need is brought to this layout first (batch,
    group, channel; filter out-channel before in-channel): IREE compiles a generic in this
    layout as a convolution, while the same arithmetic over permuted operands (a filter
    indexed (c, f), or batch summed away) ran 20-40x slower."""
    r = len(out_spatial)
    out_shape = (x_shape[0], x_shape[1], w_shape[1]) + tuple(out_spatial)
    # loop dims: n, g, f, p_1..p_r | c, k_1..k_r
    R = 4 + 2 * r
    P0, C, K0 = 3, 3 + r, 4 + r
    x_map = [L.dim(0), L.dim(1), L.dim(C)] + [window_expr(L, P0 + i, K0 + i, s[i], d[i])
                                              for i in range(r)]
    w_map = [L.dim(1), L.dim(2), L.dim(C)] + [L.dim(K0 + i) for i in range(r)]
    y_map = [L.dim(i) for i in range(3 + r)]
    S = L.scalar(dtype)
    out = L.generic([xv, wv], [L.full(out_shape, dtype, 0)],
                    [L.affine_map(R, m) for m in (x_map, w_map, y_map)],
                    ["parallel"] * (3 + r) + ["reduction"] * (1 + r),
                    lambda a, b, o: S.add(o, S.mul(a, b)))
    return out, out_shape


def transpose(L, x, shape, dtype, perm):
    """out[i] = x[perm applied]: out dim j is x dim perm[j] (a copy, projected maps only)."""
    R = len(shape)
    out_shape = tuple(shape[p] for p in perm)
    in_map = [None] * R
    for j, p in enumerate(perm):
        in_map[p] = L.dim(j)
    return L.generic([x], [L.empty(out_shape, dtype)], [L.affine_map(R, in_map),
                                                         L.identity_map(R)],
                     ["parallel"] * R, lambda v, o: v), out_shape


def _zero_size_safe(lower):
    """IREE 3.13's compiler dies (SIGFPE) on convolutions and im2col matmuls whose summed
    dimensions are empty (a batch of 0): an empty input sums to zeros, built directly."""
    def wrapped(L, node, ops):
        if node.numel == 0:
            return L.empty(node.shape, node.dtype)
        if any(x.numel == 0 for x in node.inputs):
            return L.full(node.shape, node.dtype, 0)
        return lower(L, node, ops)
    wrapped.__name__ = lower.__name__
    wrapped.__doc__ = lower.__doc__
    return wrapped


@_zero_size_safe
def _conv_lower(L, node, ops):
    x, w = node.inputs
    r = x.ndim - 2
    s, d, lo, hi = _geometry(node.attrs, r)
    G = node.attrs["groups"]
    acc = accumulate_dtype(node.dtype)
    xv = convert(L, ops[0], x.shape, x.dtype, acc)
    wv = convert(L, ops[1], w.shape, w.dtype, acc)
    hi = read_hi(x.shape[2:], w.shape[2:], s, d, lo, node.shape[2:])
    xv, xp_shape = pad(L, xv, x.shape, acc, [0, 0] + lo, [0, 0] + hi)
    xv, xs = split_dim(L, xv, xp_shape, acc, 1, G)
    wv, ws = split_dim(L, wv, w.shape, acc, 0, G)
    out, ys = direct_conv(L, xv, xs, wv, ws, s, d, node.shape[2:], acc)
    out = merge_dim(L, out, ys, acc, 1)
    return convert(L, out, node.shape, acc, node.dtype)


@_zero_size_safe
def _input_grad_lower(L, node, ops):
    """x[i] = sum_{o, j} y_spread[i + j*d] * w[o, c, K-1-j]: y spread by the stride and
    padded, correlated with the flipped filter whose in/out channels swap."""
    y, w = node.inputs
    Ssz = tuple(node.attrs["size"])
    r = len(Ssz)
    s, d, lo, hi = _geometry(node.attrs, r)
    G = node.attrs["groups"]
    K = w.shape[2:]
    acc = accumulate_dtype(node.dtype)
    yv = convert(L, ops[0], y.shape, y.dtype, acc)
    wv = convert(L, ops[1], w.shape, w.dtype, acc)
    T = [Ssz[i] + d[i] * (K[i] - 1) for i in range(r)]
    off = [d[i] * (K[i] - 1) - lo[i] for i in range(r)]
    yv = spread(L, yv, y.shape, acc, 2, T, off, s)
    yv, ys = split_dim(L, yv, (y.shape[0], y.shape[1]) + tuple(T), acc, 1, G)
    wv = flip_kernel(L, wv, w.shape, acc, r, G)  # (G, Cg, Og, *K)
    ws = (G, w.shape[1], w.shape[0] // G) + tuple(K)
    out, xs = direct_conv(L, yv, ys, wv, ws, (1,) * r, d, Ssz, acc)
    out = merge_dim(L, out, xs, acc, 1)
    return convert(L, out, node.shape, acc, node.dtype)


@_zero_size_safe
def _weight_grad_lower(L, node, ops):
    """w[o, c, k] = sum_{n, p} y[n, o, p] * x[n, c, p*s + k*d], as one batched matmul (batch:
    group) of y laid out (G, Og, N*P) with the im2col copy of x laid out (G, N*P, Cg*K).

    A direct generic (or the same sum as a convolution with y as a huge filter) ran about
    30x slower: IREE tiles convolutions over their output, which is only the small kernel."""
    x, y = node.inputs
    K = tuple(node.attrs["kernel"])
    r = len(K)
    s, d, lo, hi = _geometry(node.attrs, r)
    G = node.attrs["groups"]
    acc = accumulate_dtype(node.dtype)
    xv = convert(L, ops[0], x.shape, x.dtype, acc)
    yv = convert(L, ops[1], y.shape, y.dtype, acc)
    P = tuple(y.shape[2:])
    N, Cg, Og = x.shape[0], x.shape[1] // G, y.shape[1] // G
    hi = read_hi(x.shape[2:], K, s, d, lo, P)
    xv, xp_shape = pad(L, xv, x.shape, acc, [0, 0] + lo, [0, 0] + hi)
    xv, xs = split_dim(L, xv, xp_shape, acc, 1, G)          # (N, G, Cg, *X)
    # im2col: col[g, n, p.., c, k..] = x[n, g, c, p*s + k*d]
    col_shape = (G, N) + P + (Cg,) + K
    R = len(col_shape)
    p0, c_dim, k0 = 2, 2 + r, 3 + r
    x_map = [L.dim(1), L.dim(0), L.dim(c_dim)] + [window_expr(L, p0 + i, k0 + i, s[i], d[i])
                                                  for i in range(r)]
    col = L.generic([xv], [L.empty(col_shape, acc)], [L.affine_map(R, x_map),
                                                       L.identity_map(R)],
                    ["parallel"] * R, lambda v, o: v)
    npix, ck = N * _prod(P), Cg * _prod(K)
    col = L.tensor.collapse_shape(L.tensor_type((G, npix, ck), acc), col,
                                  [[0], list(range(1, 2 + r)), list(range(2 + r, R))])
    yv, ys = split_dim(L, yv, y.shape, acc, 1, G)           # (N, G, Og, *P)
    yv, ys = transpose(L, yv, ys, acc, [1, 2, 0] + list(range(3, 3 + r)))  # (G, Og, N, *P)
    yv = L.tensor.collapse_shape(L.tensor_type((G, Og, npix), acc), yv,
                                 [[0], [1], list(range(2, 3 + r))])
    init = L.full((G, Og, ck), acc, 0)
    R3 = 4  # batch_matmul loops: g, o, ck | npix
    maps = [L.affine_map(R3, [L.dim(0), L.dim(1), L.dim(3)]),
            L.affine_map(R3, [L.dim(0), L.dim(3), L.dim(2)]),
            L.affine_map(R3, [L.dim(0), L.dim(1), L.dim(2)])]
    out = L.linalg.batch_matmul(yv, col, outs=[init], indexing_maps=maps)
    out = L.tensor.collapse_shape(L.tensor_type((G * Og, ck), acc), out, [[0, 1], [2]])
    out = L.tensor.expand_shape(L.tensor_type(node.shape, acc), out,
                                [[0], list(range(1, 2 + r))], [], list(node.shape))
    return convert(L, out, node.shape, acc, node.dtype)


def _prod(xs):
    n = 1
    for v in xs:
        n *= v
    return n


# NumPy references: one loop over kernel offsets, each a strided slice of the padded input.

def _ref_windows(xp, K, s, d, P):
    """Yield (k, view) where view[..., p] = xp[..., p*s + k*d] over the spatial dims."""
    r = len(K)
    for k in np.ndindex(*K):
        idx = tuple(slice(k[i] * d[i], k[i] * d[i] + (P[i] - 1) * s[i] + 1, s[i]) if P[i] > 0
                    else slice(0, 0) for i in range(r))
        yield k, (Ellipsis,) + idx


def _ref_pad(x, lo, hi, value=0):
    lo = [max(0, v) for v in lo]
    hi = [max(0, v) for v in hi]
    lead = x.ndim - len(lo)
    return np.pad(x, [(0, 0)] * lead + list(zip(lo, hi)), constant_values=value)


def _ref_conv(x, w, stride, dilation, padding, groups):
    dtype = x.dtype
    x, w = x.astype(np.float64) if dtype.kind == "f" else x, \
        w.astype(np.float64) if dtype.kind == "f" else w
    lo, hi = [p[0] for p in padding], [p[1] for p in padding]
    K = w.shape[2:]
    P = [out_size(a, k, *b) for a, k, b in zip(x.shape[2:], K, zip(stride, dilation, lo, hi))]
    xp = _ref_pad(x, lo, hi)
    N, C = x.shape[:2]
    G, O = groups, w.shape[0]
    out = np.zeros((N, G, O // G) + tuple(P), dtype=x.dtype)
    xg = xp.reshape((N, G, C // G) + xp.shape[2:])
    wg = w.reshape((G, O // G) + w.shape[1:])
    for k, view in _ref_windows(xp, K, stride, dilation, P):
        out += np.einsum("ngc...,goc->ngo...", xg[view], wg[(Ellipsis,) + k])
    return out.reshape((N, O) + tuple(P)).astype(dtype)


def _ref_input_grad(y, w, stride, dilation, padding, groups, size):
    dtype = y.dtype
    yy = y.astype(np.float64) if dtype.kind == "f" else y
    ww = w.astype(np.float64) if dtype.kind == "f" else w
    lo, hi = [p[0] for p in padding], [p[1] for p in padding]
    K = w.shape[2:]
    N, O = y.shape[:2]
    G = groups
    Cg = w.shape[1]
    ext = [max(0, a) for a in hi]
    xp = np.zeros((N, G, Cg) + tuple(S + max(0, a) + b for S, a, b in zip(size, lo, ext)),
                  dtype=yy.dtype)
    yg = yy.reshape((N, G, O // G) + y.shape[2:])
    wg = ww.reshape((G, O // G) + w.shape[1:])
    for k, view in _ref_windows(xp, K, stride, dilation, y.shape[2:]):
        xp[view] += np.einsum("ngo...,goc->ngc...", yg, wg[(Ellipsis,) + k])
    crop = tuple(slice(max(0, a), max(0, a) + S) for a, S in zip(lo, size))
    return xp[(Ellipsis,) + crop].reshape((N, G * Cg) + tuple(size)).astype(dtype)


def _ref_weight_grad(x, y, stride, dilation, padding, groups, kernel):
    dtype = x.dtype
    x = x.astype(np.float64) if dtype.kind == "f" else x
    y = y.astype(np.float64) if dtype.kind == "f" else y
    lo, hi = [p[0] for p in padding], [p[1] for p in padding]
    xp = _ref_pad(x, lo, hi)
    N, C = x.shape[:2]
    G, O = groups, y.shape[1]
    xg = xp.reshape((N, G, C // G) + xp.shape[2:])
    yg = y.reshape((N, G, O // G) + y.shape[2:])
    out = np.zeros((G, O // G, C // G) + tuple(kernel), dtype=x.dtype)
    flat = lambda t: t.reshape(t.shape[:3] + (int(np.prod(t.shape[3:])),))  # noqa: E731
    for k, view in _ref_windows(xp, kernel, stride, dilation, y.shape[2:]):
        out[(Ellipsis,) + k] = np.einsum("ngcp,ngop->goc", flat(xg[view]), flat(yg))
    return out.reshape((O, C // G) + tuple(kernel)).astype(dtype)


def _same_attrs(n):
    a = n.attrs
    return {k: a[k] for k in ("stride", "dilation", "padding", "groups")}


def _conv_grad(g, n):
    x, w = n.inputs
    a = _same_attrs(n)
    return (make("conv_input_grad", (g, w), size=x.shape[2:], **a),
            make("conv_weight_grad", (x, g), kernel=w.shape[2:], **a))


def _input_grad_grad(g, n):
    y, w = n.inputs
    a = _same_attrs(n)
    return (make("conv", (g, w), **a), make("conv_weight_grad", (g, y), kernel=w.shape[2:], **a))


def _weight_grad_grad(g, n):
    x, y = n.inputs
    a = _same_attrs(n)
    return (make("conv_input_grad", (y, g), size=x.shape[2:], **a), make("conv", (x, g), **a))


def _conv_cases():
    """(x shape, w shape, attrs) covering strides, dilation, asymmetric/negative pads, groups."""
    return [((2, 3, 7, 6), (4, 3, 3, 2), dict(stride=(1, 1), dilation=(1, 1),
                                              padding=((0, 0), (0, 0)), groups=1)),
            ((1, 4, 8, 7), (6, 2, 3, 3), dict(stride=(2, 3), dilation=(1, 2),
                                              padding=((1, 1), (2, 1)), groups=2)),
            ((2, 2, 9), (3, 2, 4), dict(stride=(2,), dilation=(2,), padding=((3, -1),),
                                        groups=1)),
            ((1, 3, 5, 5), (3, 1, 2, 2), dict(stride=(1, 1), dilation=(1, 1),
                                              padding=((0, 1), (1, 0)), groups=3)),
            ((0, 2, 5), (2, 2, 3), dict(stride=(1,), dilation=(1,), padding=((1, 1),),
                                        groups=1))]


def _samples(kind):
    def samples(rng):
        out = []
        for xs, ws, a in _conv_cases():
            x = rng.standard_normal(xs).astype(np.float32)
            w = rng.standard_normal(ws).astype(np.float32)
            y = _ref_conv(x, w, **a)
            yy = rng.standard_normal(y.shape).astype(np.float32)
            if kind == "conv":
                out.append(([x, w], a))
            elif kind == "input":
                out.append(([yy, w], dict(a, size=xs[2:])))
            else:
                out.append(([x, yy], dict(a, kernel=ws[2:])))
        if kind == "conv":
            xs, ws, a = _conv_cases()[0]
            out.append(([rng.integers(-3, 4, xs), rng.integers(-3, 4, ws)], a))
            out.append(([rng.standard_normal(xs), rng.standard_normal(ws)], a))
        return out
    return samples


_GEOM = "attrs: stride, dilation, padding ((lo, hi) per spatial dim), groups"
defop("conv", infer=_conv_rule, reference=_ref_conv, lower=_conv_lower, grad=_conv_grad,
      samples=_samples("conv"), doc="N-d cross-correlation y = conv(x, w); " + _GEOM)
defop("conv_input_grad", infer=_input_grad_rule, reference=_ref_input_grad,
      lower=_input_grad_lower, grad=_input_grad_grad, samples=_samples("input"),
      doc="Transposed convolution x = conv^T(y, w); attrs size (x's spatial size), " + _GEOM)
defop("conv_weight_grad", infer=_weight_grad_rule, reference=_ref_weight_grad,
      lower=_weight_grad_lower, grad=_weight_grad_grad, samples=_samples("weight"),
      doc="Weight gradient w = conv_w(x, y); attrs kernel (w's spatial size), " + _GEOM)


# The pooling primitives and the public functions live in sibling modules (split by purpose);
# importing them here registers the primitives with this family.
from . import pool  # noqa: E402,F401  (registers the pooling primitives)
from .conv_api import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,  # noqa: E402
                       conv_transpose3d, fold, unfold)
from .pool_api import (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,  # noqa
                       adaptive_max_pool2d, avg_pool1d, avg_pool2d, max_pool1d,
                       max_pool1d_with_indices, max_pool2d, max_pool2d_with_indices)

# torch.<name> exists for these; the rest are nn.functional only (see FUNCTIONAL).
EXPORTS = [(f.__name__, f, "f") for f in (
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, max_pool1d,
    max_pool2d, avg_pool1d, adaptive_avg_pool1d, adaptive_max_pool1d, max_pool1d_with_indices)]

# Node functions for irgrad.nn.functional (same names and signatures as torch's).
FUNCTIONAL = [(f.__name__, f) for f in (
    conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, conv_transpose3d, unfold, fold,
    max_pool1d, max_pool2d, max_pool1d_with_indices, max_pool2d_with_indices, avg_pool1d,
    avg_pool2d, adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_max_pool1d,
    adaptive_max_pool2d)]
