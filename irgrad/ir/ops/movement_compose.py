"""Composite shape ops built from the movement primitives: narrow, select, split, chunk,
unbind, stack, repeat, tile, repeat_interleave, roll, pad, diag, diag_embed, meshgrid and the
scatter forms of slicing. Their gradients follow from the primitives'.
"""
from __future__ import annotations

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import Node
from ..shapes import normalize_dim, shape_str
from .movement import (cat, diagonal, expand, flip, reshape, size_args, slice_dim,
                       slice_scatter_dim, zeros_node)
from .movement_dims import unsqueeze


def _int(v, what="argument"):
    if isinstance(v, Node):
        if v.numel != 1 or v.dtype.category == dt.FLOAT or v.data is None:
            fail(TypeError, f"{what} must be an int")
        return int(v.data.to_numpy().reshape(()))
    if isinstance(v, bool) or not hasattr(v, "__index__"):
        fail(TypeError, f"{what} must be int, not {type(v).__name__}")
    return int(v.__index__())


# ---- narrow, select and their scatters -----------------------------------------------------

def narrow(x, dim, start, length):
    if x.ndim == 0:
        fail(RuntimeError, "narrow() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, x.ndim)
    size = x.shape[d]
    start, length = _int(start, "start"), _int(length, "length")
    if start < -size or start > size:
        fail(IndexError, f"start out of range (expected to be in range of [{-size}, {size}], "
                         f"but got {start})")
    if start < 0:
        start += size
    if length < 0:
        fail(RuntimeError, "narrow(): length must be non-negative.")
    if start + length > size:
        fail(RuntimeError, f"start ({start}) + length ({length}) exceeds dimension size "
                           f"({size}).")
    return slice_dim(x, d, start, start + length)


def _select_index(x, dim, index):
    if x.ndim == 0:
        fail(IndexError, "select() cannot be applied to a 0-dim tensor.")
    d = normalize_dim(dim, x.ndim)
    i, size = _int(index, "index"), x.shape[d]
    if i < -size or i >= size:
        fail(IndexError, f"select(): index {i} out of range for tensor of size "
                         f"{shape_str(x.shape)} at dimension {dim}")
    return d, i + size if i < 0 else i


def select(x, dim, index):
    d, i = _select_index(x, dim, index)
    return reshape(slice_dim(x, d, i, i + 1), x.shape[:d] + x.shape[d + 1:])


def select_scatter(input, src, dim, index):
    from .common import cast
    d, i = _select_index(input, dim, index)
    expected = input.shape[:d] + input.shape[d + 1:]
    if src.shape != expected:
        fail(RuntimeError, f"expected src to have a size equal to the slice of self. src size "
                           f"= {shape_str(src.shape)}, slice size = {shape_str(expected)}")
    src = reshape(cast(src, input.dtype), input.shape[:d] + (1,) + input.shape[d + 1:])
    return slice_scatter_dim(input, src, d, i)


def slice_bounds(size, start, stop, step):
    """Python-slice bounds clamped like PyTorch (positive steps only)."""
    start = 0 if start is None else _int(start, "start")
    stop = size if stop is None else _int(stop, "end")
    if start < 0:
        start += size
    if stop < 0:
        stop += size
    start = min(max(start, 0), size)
    stop = min(max(stop, start), size)
    return start, stop


def slice_scatter(input, src, dim=0, start=None, end=None, step=1):
    from .common import cast
    d = normalize_dim(dim, input.ndim)
    step = _int(step, "step")
    if step <= 0:
        fail(RuntimeError, "slice step must be positive")
    s, e = slice_bounds(input.shape[d], start, end, step)
    n = max(0, (e - s + step - 1) // step)
    expected = input.shape[:d] + (n,) + input.shape[d + 1:]
    if src.shape != expected:
        fail(RuntimeError, f"expected src to have a size equal to the slice of self. src size "
                           f"= {shape_str(src.shape)}, slice size = {shape_str(expected)}")
    return slice_scatter_dim(input, cast(src, input.dtype), d, s, step)


def slice_along(x, dim=0, start=None, end=None, step=1):
    d = normalize_dim(dim, x.ndim)
    s, e = slice_bounds(x.shape[d], start, end, step)
    return slice_dim(x, d, s, e, step)


# ---- splitting -----------------------------------------------------------------------------

def split(x, split_size_or_sections, dim=0):
    if x.ndim == 0:
        fail(RuntimeError, "split expects at least a 1-dimensional tensor")
    d = normalize_dim(dim, x.ndim)
    size = x.shape[d]
    if isinstance(split_size_or_sections, (list, tuple)):
        sizes = [_int(s, "split_sizes") for s in split_size_or_sections]
        if sum(sizes) != size or any(s < 0 for s in sizes):
            fail(RuntimeError, f"split_with_sizes expects split_sizes to sum exactly to {size} "
                               f"(input tensor's size at dimension {d}), but got split_sizes="
                               f"{list(sizes)}")
    else:
        n = _int(split_size_or_sections, "split_size")
        if n < 0:
            fail(RuntimeError, f"split expects split_size be non-negative, but got "
                               f"split_size={n}")
        if n == 0:
            if size != 0:
                fail(RuntimeError, f"split_size can only be 0 if dimension size is 0, but got "
                                   f"dimension size of {size}")
            return (x,)
        sizes = [min(n, size - i) for i in range(0, size, n)] or [0]
    out, off = [], 0
    for s in sizes:
        out.append(slice_dim(x, d, off, off + s))
        off += s
    return tuple(out)


def split_with_sizes(x, split_sizes, dim=0):
    return split(x, list(split_sizes), dim)


def chunk(x, chunks, dim=0):
    chunks = _int(chunks, "chunks")
    if chunks <= 0:
        fail(RuntimeError, f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    if x.ndim == 0:
        fail(RuntimeError, "chunk expects at least a 1-dimensional tensor")
    d = normalize_dim(dim, x.ndim)
    size = x.shape[d]
    per = -(-size // chunks)
    if size == 0:
        return tuple(x for _ in range(chunks))
    return split(x, per, d)


def tensor_split(x, indices_or_sections, dim=0):
    if x.ndim == 0:
        fail(RuntimeError, "tensor_split expected at least a 1-dimensional tensor, but got a "
                           "tensor with 0 dims")
    d = normalize_dim(dim, x.ndim)
    size = x.shape[d]
    if isinstance(indices_or_sections, Node) and indices_or_sections.ndim == 1:
        if indices_or_sections.data is None:
            fail(RuntimeError, "tensor_split: index tensor values must be known")
        indices_or_sections = indices_or_sections.data.to_numpy().tolist()
    if isinstance(indices_or_sections, (list, tuple)):
        bounds = [0]
        for i in indices_or_sections:
            i = _int(i, "indices")
            bounds.append(min(max(i + size if i < 0 else i, 0), size))
        bounds.append(size)
        return tuple(slice_dim(x, d, a, max(a, b)) for a, b in zip(bounds, bounds[1:]))
    n = _int(indices_or_sections, "sections")
    if n <= 0:
        fail(RuntimeError, f"number of sections must be larger than 0, got {n}")
    base, extra = divmod(size, n)
    out, off = [], 0
    for i in range(n):
        s = base + (1 if i < extra else 0)
        out.append(slice_dim(x, d, off, off + s))
        off += s
    return tuple(out)


def unbind(x, dim=0):
    if x.ndim == 0:
        fail(IndexError, "Dimension specified as 0 but tensor has no dimensions")
    d = normalize_dim(dim, x.ndim)
    return tuple(select(x, d, i) for i in range(x.shape[d]))


# ---- joining -------------------------------------------------------------------------------

def stack(tensors, dim=0):
    tensors = list(tensors)
    if not tensors:
        fail(RuntimeError, "stack expects a non-empty TensorList")
    for i, t in enumerate(tensors[1:], 1):
        if t.shape != tensors[0].shape:
            fail(RuntimeError, f"stack expects each tensor to be equal size, but got "
                               f"{shape_str(tensors[0].shape)} at entry 0 and "
                               f"{shape_str(t.shape)} at entry {i}")
    d = normalize_dim(dim, tensors[0].ndim + 1)
    return cat([unsqueeze(t, d) for t in tensors], d)


def atleast_1d(*xs):
    xs = _tensor_args(xs)
    out = tuple(reshape(x, (1,)) if x.ndim == 0 else x for x in xs)
    return out[0] if len(out) == 1 else out


def atleast_2d(*xs):
    xs = _tensor_args(xs)
    out = tuple(reshape(x, (1,) * (2 - x.ndim) + x.shape) if x.ndim < 2 else x for x in xs)
    return out[0] if len(out) == 1 else out


def atleast_3d(*xs):
    xs = _tensor_args(xs)
    out = []
    for x in xs:
        if x.ndim == 0:
            x = reshape(x, (1, 1, 1))
        elif x.ndim == 1:
            x = reshape(x, (1, x.shape[0], 1))
        elif x.ndim == 2:
            x = reshape(x, x.shape + (1,))
        out.append(x)
    return out[0] if len(out) == 1 else tuple(out)


def _tensor_args(xs):
    if len(xs) == 1 and isinstance(xs[0], (list, tuple)):
        return tuple(xs[0])
    return xs


def hstack(tensors):
    ts = [atleast_1d(t) for t in tensors]
    return cat(ts, 0 if ts and ts[0].ndim == 1 else 1)


def vstack(tensors):
    return cat([atleast_2d(t) for t in tensors], 0)


def dstack(tensors):
    return cat([atleast_3d(t) for t in tensors], 2)


def column_stack(tensors):
    ts = [reshape(t, (t.numel, 1)) if t.ndim <= 1 else t for t in tensors]
    return cat(ts, 1)


def concatenate(tensors, axis=0):
    return cat(tensors, axis)


def concat(tensors, dim=0):
    return cat(tensors, dim)


# ---- repetition ----------------------------------------------------------------------------

def repeat(x, *sizes):
    reps = size_args(sizes, "repeat(): argument 'repeats'")
    if len(reps) < x.ndim:
        fail(RuntimeError, "Number of dimensions of repeat dims can not be smaller than number "
                           "of dimensions of tensor")
    if any(r < 0 for r in reps):
        fail(RuntimeError, f"Trying to create tensor with negative dimension {min(reps)}: "
                           f"{list(reps)}")
    shape = (1,) * (len(reps) - x.ndim) + x.shape
    inter, big = [], []
    for r, s in zip(reps, shape):
        inter += [1, s]
        big += [r, s]
    y = expand(reshape(x, tuple(inter)), tuple(big))
    return reshape(y, tuple(r * s for r, s in zip(reps, shape)))


def tile(x, dims):
    dims = size_args((dims,), "tile(): argument 'dims'")
    if len(dims) < x.ndim:
        dims = (1,) * (x.ndim - len(dims)) + dims
    return repeat(x, dims)


def repeat_interleave(x, repeats=None, dim=None, output_size=None):
    if repeats is None:  # repeat_interleave(repeats): indices repeated by their counts
        counts = _known_counts(x)
        from .source import arange
        return _from_host_int(np.repeat(np.arange(len(counts)), counts)) if counts.size else \
            arange(0, 0, 1, dt.int64)
    if dim is None:
        x = reshape(x, (x.numel,))
        d = 0
    else:
        d = normalize_dim(dim, x.ndim)
    if isinstance(repeats, Node) and repeats.numel != 1:
        counts = _known_counts(repeats)
        if counts.shape[0] != x.shape[d]:
            fail(RuntimeError, "repeats must have the same size as input along dim, but got "
                               f"repeats.size(0) = {counts.shape[0]} and input.size({d}) = "
                               f"{x.shape[d]}")
        from .index_compose import index_select
        idx = _from_host_int(np.repeat(np.arange(x.shape[d]), counts))
        return index_select(x, d, idx)
    r = _int(repeats, "repeats")
    if r < 0:
        fail(RuntimeError, "repeats can not be negative")
    y = unsqueeze(x, d + 1)
    y = expand(y, x.shape[:d + 1] + (r,) + x.shape[d + 1:])
    return reshape(y, x.shape[:d] + (x.shape[d] * r,) + x.shape[d + 1:])


def _known_counts(node):
    if node.data is None:
        fail(RuntimeError, "repeat_interleave: the repeats tensor must be realized (its values "
                           "decide the result's shape)")
    counts = node.data.to_numpy().reshape(-1).astype(np.int64)
    if (counts < 0).any():
        fail(RuntimeError, "repeats can not be negative")
    return counts


def _from_host_int(values):
    from ...runtime import device as devices
    from ...runtime.buffer import Buffer
    from ..node import leaf
    arr = np.ascontiguousarray(values, dtype=np.int64)
    return leaf(dt.int64, arr.shape, Buffer.from_numpy(devices.get("cpu"), arr, dt.int64))


# ---- roll, pad -----------------------------------------------------------------------------

def _roll_one(x, shift, d):
    size = x.shape[d]
    if size == 0:
        return x
    k = shift % size
    if k == 0:
        return x
    return cat([slice_dim(x, d, size - k, size), slice_dim(x, d, 0, size - k)], d)


def roll(x, shifts, dims=None):
    shifts = (shifts,) if not isinstance(shifts, (list, tuple)) else tuple(shifts)
    shifts = tuple(_int(s, "shifts") for s in shifts)
    if dims is None:
        if len(shifts) != 1:
            fail(RuntimeError, f"shifts and dimensions must align. shifts: {len(shifts)}, "
                               f"dims:0")
        return reshape(_roll_one(reshape(x, (x.numel,)), shifts[0], 0), x.shape)
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    if len(shifts) != len(dims):
        fail(RuntimeError, f"shifts and dimensions must align. shifts: {len(shifts)}, "
                           f"dims:{len(dims)}")
    for s, d in zip(shifts, dims):
        x = _roll_one(x, s, normalize_dim(d, x.ndim))
    return x


def pad(x, pad, mode="constant", value=None):
    pad = [_int(p, "pad") for p in pad]
    if len(pad) % 2:
        fail(RuntimeError, "Padding length must be divisible by 2")
    if len(pad) // 2 > x.ndim:
        fail(RuntimeError, f"Padding length should be less than or equal to two times the "
                           f"input dimension but got padding length {len(pad)} and input of "
                           f"dimension {x.ndim}")
    if mode not in ("constant", "reflect", "replicate", "circular"):
        fail(NotImplementedError, f"Unrecognised padding mode {mode}")
    if mode != "constant":
        if value not in (None, 0, 0.0):
            fail(RuntimeError, f"Padding mode \"{mode}\" doesn't take in value argument")
        k = len(pad) // 2
        if not (x.ndim in (k + 1, k + 2) and 1 <= k <= 3):
            fail(NotImplementedError, f"Padding size {len(pad)} is not supported for "
                                      f"{x.ndim}D input tensor.\nSupported combinations for "
                                      "non-constant padding:\n  - 2D or 3D input: padding size "
                                      "= 2 (pads last dimension)\n  - 3D or 4D input: padding "
                                      "size = 4 (pads last 2 dimensions)\n  - 4D or 5D input: "
                                      "padding size = 6 (pads last 3 dimensions)")
    for i in range(len(pad) // 2):
        d = x.ndim - 1 - i
        lo, hi = pad[2 * i], pad[2 * i + 1]
        x = _pad_dim(x, d, lo, hi, mode, 0 if value is None else value)
    return x


def _pad_dim(x, d, lo, hi, mode, value):
    # Negative padding crops first, in every mode.
    size = x.shape[d]
    if lo < 0 or hi < 0:
        s, e = max(-lo, 0), size - max(-hi, 0)
        if e < s:
            fail(RuntimeError, f"The input size {size}, plus negative padding {lo} and {hi} "
                               f"resulted in a negative output size, which is invalid. Check "
                               f"dimension {d} of your input.")
        x = slice_dim(x, d, s, e)
        lo, hi, size = max(lo, 0), max(hi, 0), e - s
    if lo == 0 and hi == 0:
        return x
    parts = []
    if mode == "constant":
        from .common import const
        shp = list(x.shape)
        if lo:
            shp[d] = lo
            parts.append(expand(const(value, x.dtype), tuple(shp)))
        parts.append(x)
        if hi:
            shp[d] = hi
            parts.append(expand(const(value, x.dtype), tuple(shp)))
        return cat(parts, d)
    if mode == "reflect":
        if lo >= size or hi >= size:
            fail(RuntimeError, f"Argument #4: Padding size should be less than the "
                               f"corresponding input dimension, but got: padding ({lo}, {hi}) at "
                               f"dimension {d} of input {shape_str(x.shape)}")
        left = flip(slice_dim(x, d, 1, lo + 1), d) if lo else None
        right = flip(slice_dim(x, d, size - 1 - hi, size - 1), d) if hi else None
    elif mode == "replicate":
        if size == 0:
            fail(RuntimeError, f"padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({lo}, {hi}) at dimension {d} of "
                               f"input {shape_str(x.shape)}")
        shp = list(x.shape)
        shp[d] = lo
        left = expand(slice_dim(x, d, 0, 1), tuple(shp)) if lo else None
        shp[d] = hi
        right = expand(slice_dim(x, d, size - 1, size), tuple(shp)) if hi else None
    else:
        if lo > size or hi > size:
            fail(RuntimeError, "Padding value causes wrapping around more than once.")
        left = slice_dim(x, d, size - lo, size) if lo else None
        right = slice_dim(x, d, 0, hi) if hi else None
    parts = [p for p in (left, x, right) if p is not None]
    return cat(parts, d)


def constant_pad_nd(x, pad_, value=0):
    return pad(x, pad_, "constant", value)


# ---- diagonals, grids ----------------------------------------------------------------------

def diag_embed(x, offset=0, dim1=-2, dim2=-1):
    from .movement import diagonal_scatter
    if x.ndim == 0:
        fail(IndexError, "Dimension out of range (expected to be in range of [-1, 0], but got "
                         f"{dim1})")
    R = x.ndim + 1
    d1, d2 = normalize_dim(dim1, R), normalize_dim(dim2, R)
    if d1 == d2:
        fail(RuntimeError, f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    n = x.shape[-1] + abs(offset)
    shape, rest = [], iter(x.shape[:-1])
    for i in range(R):
        shape.append(n if i in (d1, d2) else next(rest))
    base = zeros_node(shape, x.dtype, x.device)
    return diagonal_scatter(base, x, offset, d1, d2)


def diag(x, diagonal_=0):
    if x.ndim == 1:
        return diag_embed(x, diagonal_, 0, 1)
    if x.ndim == 2:
        return diagonal(x, diagonal_, 0, 1)
    fail(RuntimeError, f"diag(): Supports 1D or 2D tensors. Got {x.ndim}D")


def meshgrid(*tensors, indexing=None):
    ts = _tensor_args(tensors)
    if not ts:
        fail(RuntimeError, "meshgrid expects a non-empty TensorList")
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        fail(ValueError, f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but "
                         f"received: {indexing}")
    for t in ts:
        if t.dtype is not ts[0].dtype:
            fail(RuntimeError, "meshgrid expects all tensors to have the same dtype")
        if t.ndim > 1:
            fail(RuntimeError, f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list "
                               f"but got: {t}")
    ts = [reshape(t, (t.numel,)) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    order = list(range(len(ts)))
    if swap:
        order[0], order[1] = 1, 0
    shape = tuple(ts[i].numel for i in order)
    out = []
    for i, t in enumerate(ts):
        pos = order.index(i)
        view = [1] * len(ts)
        view[pos] = t.numel
        out.append(expand(reshape(t, tuple(view)), shape))
    return tuple(out)


def broadcast_tensors(*tensors):
    from ..shapes import broadcast_shapes
    ts = _tensor_args(tensors)
    shape = broadcast_shapes(*(t.shape for t in ts))
    return tuple(expand(t, shape) for t in ts)


def fliplr(x):
    if x.ndim < 2:
        fail(RuntimeError, "Input must be >= 2-d.")
    return flip(x, 1)


def flipud(x):
    if x.ndim < 1:
        fail(RuntimeError, "Input must be >= 1-d.")
    return flip(x, 0)


EXPORTS = [
    ("narrow", narrow, "fm"), ("select", select, "fm"), ("select_scatter", select_scatter, "fm"),
    ("slice_scatter", slice_scatter, "fm"), ("split", split, "fm"),
    ("split_with_sizes", split_with_sizes, "fm"), ("chunk", chunk, "fm"),
    ("tensor_split", tensor_split, "fm"), ("unbind", unbind, "fm"), ("stack", stack, "f"),
    ("hstack", hstack, "f"), ("vstack", vstack, "f"), ("row_stack", vstack, "f"),
    ("dstack", dstack, "f"), ("column_stack", column_stack, "f"),
    ("concat", concat, "f"), ("concatenate", concatenate, "f"),
    ("atleast_1d", atleast_1d, "f"), ("atleast_2d", atleast_2d, "f"),
    ("atleast_3d", atleast_3d, "f"), ("repeat", repeat, "m"), ("tile", tile, "fm"),
    ("repeat_interleave", repeat_interleave, "fm"), ("roll", roll, "fm"),
    ("pad", pad, ""), ("constant_pad_nd", constant_pad_nd, "f"),
    ("diag_embed", diag_embed, "fm"), ("diag", diag, "fm"), ("meshgrid", meshgrid, "f"),
    ("broadcast_tensors", broadcast_tensors, "f"), ("fliplr", fliplr, "fm"),
    ("flipud", flipud, "fm"),
]
