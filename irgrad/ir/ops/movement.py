"""Shape and layout ops: reshape, expand (more join this family) and their public forms."""
from __future__ import annotations

import numpy as np

from ...errors import fail
from ..node import make
from ..opdef import defop
from ..shapes import numel, shape_str
from .grads import sum_to


def _reshape_rule(inputs, attrs):
    x = inputs[0]
    shape = attrs["shape"]
    if numel(shape) != x.numel:
        fail(RuntimeError, f"shape '{shape_str(shape)}' is invalid for input of size {x.numel}")
    return x.dtype, shape


defop("reshape", infer=_reshape_rule,
      reference=lambda x, shape: np.reshape(x, shape),
      lower=lambda L, n, ops: L.reshape(ops[0], n.inputs[0].shape, n.shape, n.dtype),
      grad=lambda g, n: (reshape(g, n.inputs[0].shape),),
      samples=lambda rng: [([rng.normal(size=(3, 4)).astype(np.float32)], {"shape": (2, 6)}),
                           ([rng.normal(size=(2, 3, 4)).astype(np.float32)], {"shape": (24,)}),
                           ([rng.normal(size=(1,)).astype(np.float32)], {"shape": ()}),
                           ([rng.normal(size=()).astype(np.float32)], {"shape": (1, 1)}),
                           ([np.arange(6)], {"shape": (3, 2)})])


def infer_shape(shape, total):
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        fail(RuntimeError, "only one dimension can be inferred")
    for s in shape:
        if s < -1:
            fail(RuntimeError, f"invalid shape dimension {s}")
    if neg:
        known = numel([s for s in shape if s != -1])
        if known == 0 or total % known:
            fail(RuntimeError, f"shape '{shape_str(shape)}' is invalid for input of size {total}")
        shape[neg[0]] = total // known
    return tuple(shape)


def reshape(x, shape):
    shape = infer_shape(shape, x.numel)
    if tuple(shape) == x.shape:
        return x
    return make("reshape", (x,), shape=tuple(shape))


def _expand_rule(inputs, attrs):
    x, shape = inputs[0], attrs["shape"]
    if len(shape) < x.ndim:
        fail(RuntimeError, f"expand(torch.FloatTensor{{{shape_str(x.shape)}}}, size="
                           f"{shape_str(shape)}): the number of sizes provided ({len(shape)}) "
                           f"must be greater or equal to the number of dimensions in the tensor"
                           f" ({x.ndim})")
    lead = len(shape) - x.ndim
    for i, s in enumerate(x.shape):
        if s != 1 and s != shape[lead + i]:
            fail(RuntimeError, f"The expanded size of the tensor ({shape[lead + i]}) must match "
                               f"the existing size ({s}) at non-singleton dimension {lead + i}."
                               f"  Target sizes: {shape_str(shape)}.  Tensor sizes: "
                               f"{shape_str(x.shape)}")
    return x.dtype, tuple(shape)


def _expand_lower(L, n, ops):
    x = n.inputs[0]
    R = len(n.shape)
    return L.generic([ops[0]], [L.empty(n.shape, n.dtype)],
                     [L.broadcast_map(x.shape, n.shape), L.identity_map(R)], ["parallel"] * R,
                     lambda v, o: v)


defop("expand", infer=_expand_rule,
      reference=lambda x, shape: np.broadcast_to(x, shape).copy(),
      lower=_expand_lower,
      grad=lambda g, n: (sum_to(g, n.inputs[0].shape),),
      samples=lambda rng: [([rng.normal(size=(3, 1)).astype(np.float32)], {"shape": (3, 4)}),
                           ([rng.normal(size=(4,)).astype(np.float32)], {"shape": (2, 3, 4)}),
                           ([rng.normal(size=()).astype(np.float32)], {"shape": (2, 2)})])


def expand(x, shape):
    shape = tuple(x.shape[i - (len(shape) - x.ndim)] if s == -1 else s
                  for i, s in enumerate(shape))
    if shape == x.shape:
        return x
    return make("expand", (x,), shape=shape)


def _reshape_public(x, *shape):
    from ..shapes import as_shape
    return reshape(x, infer_shape(_shape_args(shape), x.numel))


def _shape_args(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def _expand_public(x, *shape):
    return expand(x, _shape_args(shape))


EXPORTS = [("reshape", _reshape_public, "fm"), ("expand", _expand_public, "m")]
