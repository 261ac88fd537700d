"""Reductions over dims with keepdim: sum (others join this family), and their public forms.

A reduction lowers to one linalg.generic whose reduced dims are `reduction` iterators and
whose output starts at the reduction's identity.
"""
from __future__ import annotations

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import make
from ..opdef import defop
from ..shapes import normalize_dims
from .common import cast


def reduced_shape(shape, dims, keepdim):
    if keepdim:
        return tuple(1 if i in dims else s for i, s in enumerate(shape))
    return tuple(s for i, s in enumerate(shape) if i not in dims)


def reduce_rule(inputs, attrs):
    x = inputs[0]
    return x.dtype, reduced_shape(x.shape, attrs["dims"], attrs["keepdim"])


def lower_reduction(L, node, operand, init, combine):
    """One generic: out[kept dims] = combine(out, x[all dims]) starting from `init`."""
    x = node.inputs[0]
    dims, keepdim = node.attrs["dims"], node.attrs["keepdim"]
    R = x.ndim
    out_exprs = []
    for i in range(R):
        if i in dims:
            if keepdim:
                out_exprs.append(L.cst(0))
        else:
            out_exprs.append(L.dim(i))
    init_t = L.full(node.shape, node.dtype, init)
    its = ["reduction" if i in dims else "parallel" for i in range(R)]
    S = L.scalar(node.dtype)
    return L.generic([operand], [init_t], [L.identity_map(R), L.affine_map(R, out_exprs)], its,
                     lambda v, acc: combine(S, acc, v))


def _grad_sum(g, n):
    from .movement import expand, reshape

    x = n.inputs[0]
    dims, keepdim = n.attrs["dims"], n.attrs["keepdim"]
    if not keepdim:
        g = reshape(g, reduced_shape(x.shape, dims, True))
    return (expand(g, x.shape),)


defop("sum", infer=reduce_rule,
      reference=lambda x, dims, keepdim: np.sum(x, axis=dims, keepdims=keepdim).astype(x.dtype),
      lower=lambda L, n, ops: lower_reduction(L, n, ops[0], 0, lambda S, a, v: S.add(a, v)),
      grad=_grad_sum,
      samples=lambda rng: [([rng.normal(size=(3, 4)).astype(np.float32)], {"dims": (1,), "keepdim": False}),
                           ([rng.normal(size=(2, 3, 4)).astype(np.float32)], {"dims": (0, 2), "keepdim": True}),
                           ([rng.normal(size=()).astype(np.float32)], {"dims": (), "keepdim": False}),
                           ([rng.normal(size=(0, 3)).astype(np.float32)], {"dims": (0,), "keepdim": False}),
                           ([np.arange(6).reshape(2, 3)], {"dims": (0, 1), "keepdim": False})])


def sum(x, dim=None, keepdim=False, dtype=None):
    dims = normalize_dims(dim, x.ndim) if dim is not None and dim != () else tuple(range(x.ndim))
    if dtype is not None:
        x = cast(x, dtype)
    elif x.dtype.category != dt.FLOAT:
        x = cast(x, dt.int64)  # PyTorch sums bool/int in int64
    return make("sum", (x,), dims=dims, keepdim=bool(keepdim))

EXPORTS = [("sum", sum, "fm")]
