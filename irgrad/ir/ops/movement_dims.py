"""Public dim-rearranging functions over the movement primitives: reshape/view forms,
expand forms, transpose, t, mT, T, squeeze, unsqueeze, flatten, unflatten, movedim.

Node-level and copy-free in meaning: the frontend (`frontend/views.py`) wraps the ones that
PyTorch makes views so that they alias their base.
"""
from __future__ import annotations

from ...errors import fail
from .. import dtypes as dt
from ..shapes import normalize_dim, normalize_dims, numel, shape_str
from .movement import (cat, clone, contiguous, diagonal, diagonal_scatter, expand, flip,
                       permute, reshape, size_args)


def reshape_public(x, *shape):
    return reshape(x, size_args(shape, "reshape(): argument 'shape'"))


def view_as(x, other):
    return reshape(x, other.shape)


def expand_public(x, *sizes):
    return expand(x, size_args(sizes, "expand(): argument 'size'"))


def expand_as(x, other):
    return expand(x, other.shape)


def broadcast_to(x, size):
    return expand(x, size_args((size,), "broadcast_to(): argument 'size'"))


def transpose(x, dim0, dim1):
    if x.ndim == 0:
        normalize_dim(dim0, 0), normalize_dim(dim1, 0)
        return x
    a, b = normalize_dim(dim0, x.ndim), normalize_dim(dim1, x.ndim)
    perm = list(range(x.ndim))
    perm[a], perm[b] = perm[b], perm[a]
    return permute(x, perm)


def t(x):
    if x.ndim > 2:
        fail(RuntimeError, f"t() expects a tensor with <= 2 dimensions, but self is {x.ndim}D")
    return transpose(x, 0, 1) if x.ndim == 2 else x


def mT(x):
    if x.ndim < 2:
        fail(RuntimeError, "tensor.mT is only supported on matrices or batches of matrices. "
                           f"Got {x.ndim}-D tensor.")
    return transpose(x, -2, -1)


def T(x):
    return permute(x, tuple(range(x.ndim - 1, -1, -1)))


def squeeze(x, dim=None):
    if dim is None:
        dims = tuple(i for i, s in enumerate(x.shape) if s == 1)
    else:
        dims = normalize_dims(dim, x.ndim) if x.ndim else (normalize_dim(dim, 0)
                                                           if isinstance(dim, int) else ())
        if x.ndim == 0:
            return x
        dims = tuple(d for d in dims if x.shape[d] == 1)
    if not dims:
        return x
    return reshape(x, tuple(s for i, s in enumerate(x.shape) if i not in dims))


def unsqueeze(x, dim):
    d = normalize_dim(dim, x.ndim + 1)
    return reshape(x, x.shape[:d] + (1,) + x.shape[d:])


def flatten(x, start_dim=0, end_dim=-1):
    if x.ndim == 0:
        normalize_dim(start_dim, 0), normalize_dim(end_dim, 0)
        return reshape(x, (1,))
    s, e = normalize_dim(start_dim, x.ndim), normalize_dim(end_dim, x.ndim)
    if s > e:
        fail(RuntimeError, "flatten() has invalid args: start_dim cannot come after end_dim")
    return reshape(x, x.shape[:s] + (numel(x.shape[s:e + 1]),) + x.shape[e + 1:])


def unflatten(x, dim, sizes):
    d = normalize_dim(dim, x.ndim)
    sizes = size_args((sizes,), "unflatten(): argument 'sizes'")
    if not sizes:
        fail(RuntimeError, "unflatten: sizes must be non-empty")
    if sizes.count(-1) > 1:
        fail(RuntimeError, "only one dimension can be inferred")
    known = numel([s for s in sizes if s != -1])
    if -1 in sizes:
        if known == 0 or x.shape[d] % known:
            fail(RuntimeError, f"unflatten: Provided sizes {shape_str(sizes)} don't multiply up "
                               f"to the size of dim {dim} ({x.shape[d]}) in the input tensor")
        sizes = tuple(x.shape[d] // known if s == -1 else s for s in sizes)
    elif known != x.shape[d]:
        fail(RuntimeError, f"unflatten: Provided sizes {shape_str(sizes)} don't multiply up to "
                           f"the size of dim {dim} ({x.shape[d]}) in the input tensor")
    return reshape(x, x.shape[:d] + sizes + x.shape[d + 1:])


def movedim(x, source, destination):
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        fail(RuntimeError, f"movedim: Invalid source or destination dims: source "
                           f"({list(src)} dims) should contain the same number of dims as "
                           f"destination ({list(dst)} dims)")
    src = [normalize_dim(d, x.ndim) for d in src]
    dst = [normalize_dim(d, x.ndim) for d in dst]
    if len(set(src)) != len(src):
        fail(RuntimeError, "movedim: repeated dim in `source` " + str(list(src)))
    if len(set(dst)) != len(dst):
        fail(RuntimeError, "movedim: repeated dim in `destination` " + str(list(dst)))
    perm = [-1] * x.ndim
    for s, d in zip(src, dst):
        perm[d] = s
    rest = iter(i for i in range(x.ndim) if i not in src)
    perm = [p if p != -1 else next(rest) for p in perm]
    return permute(x, perm)


def view_public(x, *shape):
    if len(shape) == 1 and isinstance(shape[0], dt.DType):
        fail(NotImplementedError, "Tensor.view(dtype) is not supported by irgrad")
    return reshape(x, size_args(shape, "view(): argument 'size'"))


EXPORTS = [
    ("reshape", reshape_public, "fm"), ("view", view_public, "m"), ("view_as", view_as, "m"),
    ("reshape_as", view_as, "m"), ("expand", expand_public, "m"),
    ("expand_as", expand_as, "m"), ("broadcast_to", broadcast_to, "fm"),
    ("permute", permute, "fm"), ("transpose", transpose, "fm"), ("swapaxes", transpose, "fm"),
    ("swapdims", transpose, "fm"), ("t", t, "fm"), ("movedim", movedim, "fm"),
    ("moveaxis", movedim, "fm"), ("squeeze", squeeze, "fm"), ("unsqueeze", unsqueeze, "fm"),
    ("flatten", flatten, "fm"), ("unflatten", unflatten, "fm"), ("cat", cat, "f"),
    ("flip", flip, "fm"), ("diagonal", diagonal, "fm"),
    ("diagonal_scatter", diagonal_scatter, "fm"), ("clone", clone, "fm"),
    ("contiguous", contiguous, "m"),
]

