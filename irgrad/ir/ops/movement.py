"""Shape and layout primitives: reshape, expand, permute, slice, slice_scatter, cat, flip,
diagonal, diagonal_scatter, clone; and the basic public shape functions built on them.

Every other shape op (squeeze, transpose, split, narrow, select, roll, pad, repeat, ...) is a
composite of these, in `movement_compose.py`, so its gradient comes for free. A slice is
strided (start, step, count per dim) so one node covers any basic-indexing result, and its
write-back twin `slice_scatter` is what in-place ops on views lower to.
"""
from __future__ import annotations

import operator

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import make
from ..opdef import defop
from ..shapes import normalize_dim, normalize_dims, numel, shape_str
from .common import unary_rule
from .grads import sum_to


def _f32(rng, shape):
    return rng.normal(size=shape).astype(np.float32)


def zeros_node(shape, dtype, device=None):
    from .source import full
    return full(tuple(shape), 0, dtype, device=device or "cpu")


def size_args(shape, what="size"):
    """f(2, 3), f((2, 3)), f([2, 3]) or f(Size) -> tuple of Python ints."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    out = []
    for s in shape:
        if isinstance(s, bool) or not hasattr(s, "__index__"):
            fail(TypeError, f"{what} must be tuple of ints, but found element of type "
                            f"{type(s).__name__} at pos {len(out)}")
        out.append(operator.index(s))
    return tuple(out)


# ---- reshape -------------------------------------------------------------------------------

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
      samples=lambda rng: [([_f32(rng, (3, 4))], {"shape": (2, 6)}),
                           ([_f32(rng, (2, 3, 4))], {"shape": (24,)}),
                           ([_f32(rng, (1,))], {"shape": ()}),
                           ([_f32(rng, ())], {"shape": (1, 1)}),
                           ([_f32(rng, (0, 3))], {"shape": (3, 0)}),
                           ([np.arange(6)], {"shape": (3, 2)})])


def infer_shape(shape, total):
    """Resolve one -1 in a requested shape, with PyTorch's messages."""
    shape = list(shape)
    neg = [i for i, s in enumerate(shape) if s == -1]
    if len(neg) > 1:
        fail(RuntimeError, "only one dimension can be inferred")
    for i, s in enumerate(shape):
        if s < -1:
            fail(RuntimeError, f"invalid shape dimension {s}")
    if neg:
        known = numel([s for s in shape if s != -1])
        if known == 0 or total % known:
            fail(RuntimeError, f"shape '{shape_str(shape)}' is invalid for input of size {total}")
        shape[neg[0]] = total // known
    elif numel(shape) != total:
        fail(RuntimeError, f"shape '{shape_str(shape)}' is invalid for input of size {total}")
    return tuple(shape)


def reshape(x, shape):
    shape = infer_shape(shape, x.numel)
    if tuple(shape) == x.shape:
        return x
    return make("reshape", (x,), shape=tuple(shape))


# ---- expand --------------------------------------------------------------------------------

def _expand_rule(inputs, attrs):
    x, shape = inputs[0], attrs["shape"]
    if len(shape) < x.ndim:
        fail(RuntimeError, f"expand({x.dtype.name}{{{shape_str(x.shape)}}}, size="
                           f"{shape_str(shape)}): the number of sizes provided ({len(shape)}) "
                           f"must be greater or equal to the number of dimensions in the tensor"
                           f" ({x.ndim})")
    lead = len(shape) - x.ndim
    for i, s in enumerate(shape[:lead]):
        if s < 0:
            fail(RuntimeError, f"The expanded size of the tensor ({s}) isn't allowed in a "
                               f"leading, non-existing dimension {i}")
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
      samples=lambda rng: [([_f32(rng, (3, 1))], {"shape": (3, 4)}),
                           ([_f32(rng, (4,))], {"shape": (2, 3, 4)}),
                           ([_f32(rng, ())], {"shape": (2, 2)}),
                           ([np.array([[True], [False]])], {"shape": (2, 3)})])


def expand(x, shape):
    shape = tuple(shape)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if (s == -1 and i >= lead) else s
                  for i, s in enumerate(shape))
    if shape == x.shape:
        return x
    return make("expand", (x,), shape=shape)


# ---- permute -------------------------------------------------------------------------------

def inverse_perm(perm):
    inv = [0] * len(perm)
    for j, p in enumerate(perm):
        inv[p] = j
    return tuple(inv)


def _permute_lower(L, n, ops):
    perm = n.attrs["perm"]
    R = len(perm)
    inv = inverse_perm(perm)
    in_map = L.affine_map(R, [L.dim(inv[i]) for i in range(R)])
    return L.generic([ops[0]], [L.empty(n.shape, n.dtype)], [in_map, L.identity_map(R)],
                     ["parallel"] * R, lambda v, o: v)


defop("permute",
      infer=lambda inputs, attrs: (inputs[0].dtype,
                                   tuple(inputs[0].shape[p] for p in attrs["perm"])),
      reference=lambda x, perm: np.transpose(x, perm).copy(),
      lower=_permute_lower,
      grad=lambda g, n: (permute(g, inverse_perm(n.attrs["perm"])),),
      samples=lambda rng: [([_f32(rng, (3, 4))], {"perm": (1, 0)}),
                           ([_f32(rng, (2, 3, 4))], {"perm": (2, 0, 1)}),
                           ([_f32(rng, (0, 3))], {"perm": (1, 0)}),
                           ([np.arange(24).reshape(2, 3, 4)], {"perm": (1, 2, 0)})])


def permute(x, *dims):
    dims = size_args(dims, "permute(): argument 'dims'")
    if len(dims) != x.ndim:
        fail(RuntimeError, "permute(sparse_coo): number of dimensions in the tensor input does "
                           "not match the length of the desired ordering of dimensions i.e. "
                           f"input.dim() = {x.ndim} is not equal to len(dims) = {len(dims)}")
    perm = tuple(normalize_dim(d, x.ndim) for d in dims)
    if len(set(perm)) != len(perm):
        fail(RuntimeError, "permute(): duplicate dims are not allowed.")
    if perm == tuple(range(x.ndim)):
        return x
    return make("permute", (x,), perm=perm)


# ---- strided slice and its write-back ------------------------------------------------------

def _slice_index(starts, steps, shape):
    return tuple(slice(s, s + (n - 1) * st + 1 if n else s, st)
                 for s, st, n in zip(starts, steps, shape))


def _slice_rule(inputs, attrs):
    x = inputs[0]
    starts, steps, shape = attrs["starts"], attrs["steps"], attrs["shape"]
    if not (len(starts) == len(steps) == len(shape) == x.ndim):
        raise TypeError("internal: slice attrs must cover every dim")
    for s, st, n, size in zip(starts, steps, shape, x.shape):
        if st < 1 or s < 0 or n < 0 or (n and s + (n - 1) * st >= size):
            raise TypeError(f"internal: slice {s}:{n}:{st} outside a dim of size {size}")
    return x.dtype, tuple(shape)


def _slice_lower(L, n, ops):
    a = n.attrs
    return L.tensor.extract_slice(L.tensor_type(n.shape, n.dtype), ops[0], [], [], [],
                                  list(a["starts"]), list(a["shape"]), list(a["steps"]))


defop("slice", infer=_slice_rule,
      reference=lambda x, starts, steps, shape: x[_slice_index(starts, steps, shape)].copy(),
      lower=_slice_lower,
      grad=lambda g, n: (slice_scatter_node(zeros_node(n.inputs[0].shape, g.dtype, g.device), g,
                                            n.attrs["starts"], n.attrs["steps"]),),
      samples=lambda rng: [
          ([_f32(rng, (5, 6))], {"starts": (1, 0), "steps": (1, 2), "shape": (3, 3)}),
          ([_f32(rng, (4, 3, 5))], {"starts": (3, 0, 4), "steps": (1, 1, 3), "shape": (1, 3, 1)}),
          ([_f32(rng, (4,))], {"starts": (2,), "steps": (1,), "shape": (0,)}),
          ([np.arange(12).reshape(3, 4)], {"starts": (0, 1), "steps": (2, 2), "shape": (2, 2)})],
      doc="x[starts + steps * i] for i in ranges of `shape` (a strided window of every dim).")


def _slice_scatter_rule(inputs, attrs):
    base, src = inputs
    if base.dtype is not src.dtype:
        raise TypeError("internal: slice_scatter operands must share a dtype")
    _slice_rule([base], dict(attrs, shape=src.shape))
    return base.dtype, base.shape


def _slice_scatter_ref(base, src, starts, steps):
    out = np.array(base)
    out[_slice_index(starts, steps, src.shape)] = src
    return out


def _slice_scatter_lower(L, n, ops):
    a, src = n.attrs, n.inputs[1]
    if src.numel == 0:
        return ops[0]
    return L.tensor.insert_slice(ops[1], ops[0], [], [], [], list(a["starts"]),
                                 list(src.shape), list(a["steps"]))


def _slice_scatter_grad(g, n):
    src = n.inputs[1]
    starts, steps = n.attrs["starts"], n.attrs["steps"]
    return (slice_scatter_node(g, zeros_node(src.shape, g.dtype, g.device), starts, steps),
            slice_node(g, starts, steps, src.shape))


defop("slice_scatter", infer=_slice_scatter_rule, reference=_slice_scatter_ref,
      lower=_slice_scatter_lower, grad=_slice_scatter_grad,
      samples=lambda rng: [
          ([_f32(rng, (5, 6)), _f32(rng, (3, 3))], {"starts": (1, 0), "steps": (1, 2)}),
          ([_f32(rng, (4, 3)), _f32(rng, (0, 3))], {"starts": (1, 0), "steps": (1, 1)}),
          ([_f32(rng, ()), _f32(rng, ())], {"starts": (), "steps": ()}),
          ([np.arange(12).reshape(3, 4), -np.arange(2).reshape(1, 2)],
           {"starts": (2, 1), "steps": (1, 2)})],
      doc="base with its strided window (starts, steps, src.shape) replaced by src.")


def slice_node(x, starts, steps, shape):
    starts, steps, shape = tuple(starts), tuple(steps), tuple(shape)
    if shape == x.shape and all(s == 0 for s in starts):
        return x
    return make("slice", (x,), starts=starts, steps=steps, shape=shape)


def slice_scatter_node(base, src, starts, steps):
    starts, steps = tuple(starts), tuple(steps)
    if src.shape == base.shape and all(s == 0 for s in starts) and src.dtype is base.dtype:
        return src
    return make("slice_scatter", (base, src), starts=starts, steps=steps)


def slice_dim(x, dim, start, stop, step=1):
    """x[..., start:stop:step, ...] along one dim, with already-clamped bounds."""
    n = max(0, (stop - start + step - 1) // step)
    starts = [0] * x.ndim
    steps = [1] * x.ndim
    shape = list(x.shape)
    starts[dim], steps[dim], shape[dim] = (start if n else 0), step, n
    return slice_node(x, starts, steps, shape)


def slice_scatter_dim(base, src, dim, start, step=1):
    starts = [0] * base.ndim
    steps = [1] * base.ndim
    starts[dim], steps[dim] = (start if src.shape[dim] else 0), step
    return slice_scatter_node(base, src, starts, steps)


# ---- cat -----------------------------------------------------------------------------------

def _cat_rule(inputs, attrs):
    dim = attrs["dim"]
    first = inputs[0]
    for x in inputs[1:]:
        if x.dtype is not first.dtype or x.ndim != first.ndim:
            raise TypeError("internal: cat operands must share dtype and rank")
    shape = list(first.shape)
    shape[dim] = sum(x.shape[dim] for x in inputs)
    return first.dtype, tuple(shape)


def _cat_lower(L, n, ops):
    dim = n.attrs["dim"]
    R = len(n.shape)
    out = L.empty(n.shape, n.dtype)
    off = 0
    for x, v in zip(n.inputs, ops):
        if x.numel:
            offs = [0] * R
            offs[dim] = off
            out = L.tensor.insert_slice(v, out, [], [], [], offs, list(x.shape), [1] * R)
        off += x.shape[dim]
    return out


def _cat_grad(g, n):
    dim, out, off = n.attrs["dim"], [], 0
    for x in n.inputs:
        out.append(slice_dim(g, dim, off, off + x.shape[dim]))
        off += x.shape[dim]
    return tuple(out)


defop("cat", infer=_cat_rule,
      reference=lambda *xs, dim: np.concatenate(xs, axis=dim),
      lower=_cat_lower, grad=_cat_grad,
      samples=lambda rng: [([_f32(rng, (2, 3)), _f32(rng, (2, 1)), _f32(rng, (2, 2))], {"dim": 1}),
                           ([_f32(rng, (2, 3)), _f32(rng, (0, 3)), _f32(rng, (1, 3))], {"dim": 0}),
                           ([_f32(rng, (4,))], {"dim": 0}),
                           ([np.arange(3), np.arange(2)], {"dim": 0})],
      doc="Concatenation along attrs['dim'] of operands of one dtype and rank.")


def cat(tensors, dim=0):
    from .common import promote
    tensors = list(tensors)
    if not tensors:
        fail(ValueError, "torch.cat(): expected a non-empty list of Tensors")
    # PyTorch skips legacy empty 1-D tensors of shape [0] when other operands have more dims.
    real = [t for t in tensors if not (t.ndim == 1 and t.shape[0] == 0)]
    if not real:
        real = tensors[:1]
    ref = real[0]
    if ref.ndim == 0:
        fail(RuntimeError, "zero-dimensional tensor (at position 0) cannot be concatenated")
    d = normalize_dim(dim, ref.ndim)
    for i, t in enumerate(tensors):
        if t.ndim == 1 and t.shape[0] == 0 and t is not ref:
            continue
        if t.ndim == 0:
            fail(RuntimeError, f"zero-dimensional tensor (at position {i}) cannot be "
                               f"concatenated")
        if t.ndim != ref.ndim:
            fail(RuntimeError, f"Tensors must have same number of dimensions: got {ref.ndim} "
                               f"and {t.ndim}")
        for k in range(ref.ndim):
            if k != d and t.shape[k] != ref.shape[k]:
                fail(RuntimeError, f"Sizes of tensors must match except in dimension {d}. "
                                   f"Expected size {ref.shape[k]} but got size {t.shape[k]} "
                                   f"for tensor number {i} in the list.")
    dtype, _ = promote(*tensors) if len(tensors) > 1 else (tensors[0].dtype, None)
    from .common import cast
    parts = [cast(t, dtype) for t in real]
    if len(parts) == 1:
        return parts[0]
    return make("cat", parts, dim=d)


# ---- flip ----------------------------------------------------------------------------------

def materialized(L, value):
    """The value behind an IREE optimization barrier, so its producer stays out of the
    consumer's dispatch: IREE 3.13 miscompiles data-dependent reads (`tensor.extract` in a
    generic body) of a fused strided or collapsed slice (an unrealized i64->index cast reaches
    LLVM)."""
    barrier = getattr(L, "barrier", None)
    if barrier is not None:
        return barrier(value)
    return L.ir.Operation.create("util.optimization_barrier", results=[value.type],
                                 operands=[value]).result


def remap_lower(L, n, src, coords_of):
    """A generic over the result that reads `src` at coordinates computed from the loop
    indices (linalg's verifier rejects maps such as size-1-i or i+j as operand maps)."""
    R = len(n.shape)
    if n.numel == 0:
        return L.empty(n.shape, n.dtype)
    src = materialized(L, src)
    return L.generic([], [L.empty(n.shape, n.dtype)], [L.identity_map(R)], ["parallel"] * R,
                     lambda o: L.tensor.extract(src, coords_of([L.loop_index(i)
                                                                for i in range(R)])))


def _flip_lower(L, n, ops):
    dims = n.attrs["dims"]
    return remap_lower(L, n, ops[0], lambda q: [
        L.arith.subi(L.index_const(n.shape[i] - 1), v) if i in dims else v
        for i, v in enumerate(q)])


defop("flip", infer=unary_rule,
      reference=lambda x, dims: np.flip(x, dims).copy(),
      lower=_flip_lower,
      grad=lambda g, n: (make("flip", (g,), dims=n.attrs["dims"]),),
      samples=lambda rng: [([_f32(rng, (3, 4))], {"dims": (1,)}),
                           ([_f32(rng, (2, 3, 4))], {"dims": (0, 2)}),
                           ([_f32(rng, (0, 2))], {"dims": (0,)}),
                           ([np.arange(5)], {"dims": (0,)})])


def flip(x, *dims):
    dims = size_args(dims, "flip(): argument 'dims'") if dims else ()
    dims = tuple(d for d in normalize_dims(dims, x.ndim) if x.shape[d] > 1) if dims else ()
    if not dims:
        return x
    return make("flip", (x,), dims=dims)


# ---- diagonal and its write-back -----------------------------------------------------------

def diag_len(s1, s2, offset):
    n = min(s1, s2 - offset) if offset >= 0 else min(s1 + offset, s2)
    return max(n, 0)


def _diagonal_rule(inputs, attrs):
    x = inputs[0]
    off, d1, d2 = attrs["offset"], attrs["dim1"], attrs["dim2"]
    rest = tuple(s for i, s in enumerate(x.shape) if i not in (d1, d2))
    return x.dtype, rest + (diag_len(x.shape[d1], x.shape[d2], off),)


def _diagonal_ref(x, offset, dim1, dim2):
    return np.diagonal(x, offset, dim1, dim2).copy()


def _diagonal_lower(L, n, ops):
    x = n.inputs[0]
    off, d1, d2 = n.attrs["offset"], n.attrs["dim1"], n.attrs["dim2"]

    def coords(q):
        k, rest = q[-1], iter(q[:-1])
        out = []
        for i in range(x.ndim):
            if i in (d1, d2):
                shift = max(-off, 0) if i == d1 else max(off, 0)
                out.append(L.arith.addi(k, L.index_const(shift)) if shift else k)
            else:
                out.append(next(rest))
        return out

    return remap_lower(L, n, ops[0], coords)


def _diag_attrs(n):
    return n.attrs["offset"], n.attrs["dim1"], n.attrs["dim2"]


defop("diagonal", infer=_diagonal_rule, reference=_diagonal_ref, lower=_diagonal_lower,
      grad=lambda g, n: (make("diagonal_scatter",
                              (zeros_node(n.inputs[0].shape, g.dtype, g.device), g),
                              **n.attrs),),
      samples=lambda rng: [([_f32(rng, (3, 4))], {"offset": 0, "dim1": 0, "dim2": 1}),
                           ([_f32(rng, (3, 4))], {"offset": 2, "dim1": 0, "dim2": 1}),
                           ([_f32(rng, (2, 4, 3))], {"offset": -1, "dim1": 2, "dim2": 1}),
                           ([_f32(rng, (2, 2))], {"offset": 5, "dim1": 0, "dim2": 1}),
                           ([np.arange(9).reshape(3, 3)], {"offset": 1, "dim1": 1, "dim2": 0})],
      doc="The (offset) diagonal of dims dim1, dim2, appended as the last dim.")


def _diagonal_scatter_rule(inputs, attrs):
    base, src = inputs
    _, shape = _diagonal_rule([base], attrs)
    if src.shape != shape or src.dtype is not base.dtype:
        raise TypeError("internal: diagonal_scatter src must match the diagonal")
    return base.dtype, base.shape


def _diagonal_scatter_ref(base, src, offset, dim1, dim2):
    out = np.array(base)
    view = np.diagonal(out, offset, dim1, dim2)
    view.setflags(write=True)
    view[...] = src
    return out


def _diagonal_scatter_lower(L, n, ops):
    base, src = n.inputs
    off, d1, d2 = _diag_attrs(n)
    R = base.ndim
    if src.numel == 0:
        return ops[0]
    S = L.scalar(dt.int64)
    n_diag = src.shape[-1]
    others = [i for i in range(R) if i not in (d1, d2)]
    src_value = materialized(L, ops[1])

    def body(b, o):
        i = L.index_cast(L.loop_index(d1), dt.int64)
        j = L.index_cast(L.loop_index(d2), dt.int64)
        on = S.cmp("eq", S.sub(j, i), S.const(off))
        k = i if off >= 0 else j
        k = S.min(S.max(k, S.const(0)), S.const(n_diag - 1))
        coords = [L.loop_index(d) for d in others] + [L.index_cast(k)]
        return S.select(on, L.tensor.extract(src_value, coords), b)

    return L.generic([ops[0]], [L.empty(n.shape, n.dtype)],
                     [L.identity_map(R), L.identity_map(R)], ["parallel"] * R, body)


defop("diagonal_scatter", infer=_diagonal_scatter_rule, reference=_diagonal_scatter_ref,
      lower=_diagonal_scatter_lower,
      grad=lambda g, n: (make("diagonal_scatter",
                              (g, zeros_node(n.inputs[1].shape, g.dtype, g.device)), **n.attrs),
                         make("diagonal", (g,), **n.attrs)),
      samples=lambda rng: [([_f32(rng, (3, 4)), _f32(rng, (3,))],
                            {"offset": 0, "dim1": 0, "dim2": 1}),
                           ([_f32(rng, (3, 4)), _f32(rng, (2,))],
                            {"offset": 2, "dim1": 0, "dim2": 1}),
                           ([_f32(rng, (2, 4, 3)), _f32(rng, (2, 2))],
                            {"offset": -1, "dim1": 2, "dim2": 1}),
                           ([np.arange(9).reshape(3, 3), -np.arange(2)],
                            {"offset": 1, "dim1": 1, "dim2": 0})],
      doc="base with its (offset, dim1, dim2) diagonal replaced by src.")


def _diag_dims(x, offset, dim1, dim2):
    d1, d2 = normalize_dim(dim1, x.ndim), normalize_dim(dim2, x.ndim)
    if d1 == d2:
        fail(RuntimeError, f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return int(offset), d1, d2


def diagonal(x, offset=0, dim1=0, dim2=1):
    off, d1, d2 = _diag_dims(x, offset, dim1, dim2)
    return make("diagonal", (x,), offset=off, dim1=d1, dim2=d2)


def diagonal_scatter(input, src, offset=0, dim1=0, dim2=1):
    from .common import cast
    off, d1, d2 = _diag_dims(input, offset, dim1, dim2)
    expected = _diagonal_rule([input], {"offset": off, "dim1": d1, "dim2": d2})[1]
    if src.shape != expected:
        fail(RuntimeError, f"expected src to have a size equal to the diagonal of the input. "
                           f"Got {shape_str(src.shape)} for a diagonal of size "
                           f"{shape_str(expected)}")
    return make("diagonal_scatter", (input, cast(src, input.dtype)), offset=off, dim1=d1,
                dim2=d2)


# ---- clone ---------------------------------------------------------------------------------

defop("clone", infer=unary_rule, reference=lambda x: x.copy(), scalar=lambda S, x: x,
      grad=lambda g, n: (g,),
      samples=lambda rng: [([_f32(rng, (2, 3))], {}), ([np.arange(4)], {})],
      doc="A copy: a new node where the result must not alias its input's history.")


def clone(x, memory_format=None):
    # Nodes are immutable, so a copy only needs a node of its own when autograd can tell the
    # difference (a clone of a leaf is not a leaf).
    if x.requires_grad:
        return make("clone", (x,))
    return x


def contiguous(x, memory_format=None):
    return x


# The public dim functions (transpose, squeeze, flatten, ...) and the composite shape ops
# (split, narrow, roll, pad, repeat, ...) live beside this file; their public forms join this
# family's table.
from .movement_dims import EXPORTS  # noqa: E402
from .movement_dims import (T, broadcast_to, expand_as, flatten, movedim, mT,  # noqa: E402,F401
                            squeeze, t, transpose, unflatten, unsqueeze, view_as)
from .movement_compose import EXPORTS as _COMPOSE_EXPORTS  # noqa: E402

EXPORTS = EXPORTS + _COMPOSE_EXPORTS
