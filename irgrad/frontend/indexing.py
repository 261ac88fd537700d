"""Tensor indexing: `__getitem__`/`__setitem__` with PyTorch's rules, the data-dependent
indexing ops (boolean masks, nonzero, masked_select, masked_scatter, where(cond)), and
`install()`, which attaches them and the view-making ops of `views.py` to `Tensor` and
`irgrad`.

An index is applied in two steps, like PyTorch: the basic part (integers, slices, None,
Ellipsis, Python bools) makes a view; the index tensors then gather from that view, their
broadcast shape placed where the first one stood when they are adjacent, else first. Boolean
masks are data: they are realized and turned into integer index tensors.
"""
from __future__ import annotations

import operator

import numpy as np

from ..errors import fail
from ..ir import dtypes as dt
from ..ir.ops import index_compose as IC
from ..ir.ops import movement as M
from ..ir.ops.common import to_node
from ..ir.shapes import shape_str
from . import views as V
from .tensor import Tensor

_TORCH_NAME = IC._TORCH_NAMES
_BAD_INDEX = "tensors used as indices must be long, int, byte or bool tensors"


def _int_leaf(values) -> Tensor:
    from .creation import from_host
    return from_host(np.ascontiguousarray(values, dtype=np.int64), dt.int64)


def _host_mask(t: Tensor) -> np.ndarray:
    return t.detach()._host("boolean mask indexing") != 0


# ---- parsing an index ----------------------------------------------------------------------

def _as_tuple(index):
    if isinstance(index, tuple):
        return index
    if isinstance(index, list):
        # PyTorch (like old NumPy) reads a list holding slices, Ellipsis, None, tensors or
        # sequences as a tuple of indices; a flat list of numbers is one index tensor.
        if any(it is None or it is Ellipsis or isinstance(it, (slice, list, tuple, Tensor))
               for it in index):
            return tuple(index)
    return (index,)


def _classify(it):
    """One index item -> (kind, value): none, ellipsis, slice, int, bool, tensor, mask."""
    if it is None:
        return "none", None
    if it is Ellipsis:
        return "ellipsis", None
    if isinstance(it, slice):
        return "slice", it
    if isinstance(it, (bool, np.bool_)):
        return "bool", bool(it)
    if isinstance(it, Tensor):
        d = it.dtype
        if d is dt.bool_ or d is dt.uint8:
            return ("bool_tensor" if it.ndim == 0 else "mask"), it
        if d.category == dt.INT:
            return "tensor", it
        fail(IndexError, _BAD_INDEX)
    if isinstance(it, (int, np.integer)):
        return "int", int(it)
    if isinstance(it, (list, tuple, np.ndarray)):
        from .creation import tensor
        arr = np.asarray(it)
        if arr.dtype == object or arr.dtype.kind not in "biu":
            if arr.size == 0:
                arr = arr.astype(np.int64)
            else:
                fail(IndexError, _BAD_INDEX)
        return _classify(tensor(arr))
    if hasattr(it, "__index__"):
        return "int", int(it.__index__())
    fail(IndexError, "only integers, slices (`:`), ellipsis (`...`), None and long or byte "
                     f"Variables are valid indices (got {type(it).__name__})")


class _Plan:
    """The basic-indexing view (a strided slice, then dims dropped and inserted) and the
    index tensors that apply to that view's dims."""

    def __init__(self, t: Tensor, index):
        items = [_classify(it) for it in _as_tuple(index)]
        if t.ndim == 0 and any(k in ("int", "slice", "tensor") for k, _ in items):
            fail(IndexError, "invalid index of a 0-dim tensor. Use `tensor.item()` in Python or "
                             "`tensor.item<T>()` in C++ to convert a 0-dim tensor to a number")
        consumed = sum(1 if k in ("slice", "int", "tensor") else
                       v.ndim if k == "mask" else 0 for k, v in items)
        if consumed > t.ndim:
            fail(IndexError, f"too many indices for tensor of dimension {t.ndim}")
        fill = [("slice", slice(None))] * (t.ndim - consumed)
        if any(k == "ellipsis" for k, _ in items):
            # PyTorch: the first Ellipsis takes every unindexed dim, any later one none.
            i = [k for k, _ in items].index("ellipsis")
            items = items[:i] + fill + [it for it in items[i + 1:] if it[0] != "ellipsis"]
        else:
            items = items + fill
        shape, st = t.shape, t.stride()
        self.starts, self.steps, self.sizes = [0] * t.ndim, [1] * t.ndim, list(shape)
        self.out_shape, self.out_strides = [], []
        self.adv = []  # (dim of the view, index Tensor)
        d = 0
        for kind, v in items:
            if kind in ("none", "bool", "bool_tensor"):
                keep = True if kind == "none" else v if kind == "bool" else \
                    bool(_host_mask(v).reshape(()))
                self.out_shape.append(1)
                self.out_strides.append(None)
                if not keep:  # x[False]: a new dim of size 0
                    self.adv.append((len(self.out_shape) - 1, _int_leaf(np.zeros(0))))
            elif kind == "int":
                size = shape[d]
                if v < -size or v >= size:
                    fail(IndexError, f"index {v} is out of bounds for dimension {d} with size "
                                     f"{size}")
                self.starts[d], self.sizes[d] = v + size if v < 0 else v, 1
                d += 1
            elif kind == "slice":
                step = 1 if v.step is None else operator.index(v.step)
                if step <= 0:
                    fail(ValueError, "step must be greater than zero")
                start, stop = _slice_bounds(shape[d], v.start, v.stop)
                n = max(0, (stop - start + step - 1) // step)
                self.starts[d], self.steps[d], self.sizes[d] = (start if n else 0), step, n
                self.out_shape.append(n)
                self.out_strides.append(st[d] * step)
                d += 1
            elif kind == "tensor":
                self.out_shape.append(shape[d])
                self.out_strides.append(st[d])
                self.adv.append((len(self.out_shape) - 1, v))
                d += 1
            else:  # a boolean mask over v.ndim dims: its True positions, as index tensors
                k = v.ndim
                for j in range(k):
                    if v.shape[j] != shape[d + j]:
                        fail(IndexError, f"The shape of the mask {shape_str(v.shape)} at index "
                                         f"{j} does not match the shape of the indexed tensor "
                                         f"{shape_str(shape)} at index {d + j}")
                where = np.nonzero(_host_mask(v))
                for j in range(k):
                    self.out_shape.append(shape[d + j])
                    self.out_strides.append(st[d + j])
                    self.adv.append((len(self.out_shape) - 1, _int_leaf(where[j])))
                d += k
        # New dims take the stride PyTorch's unsqueeze would give them.
        nxt = 1
        for i in range(len(self.out_shape) - 1, -1, -1):
            if self.out_strides[i] is None:
                self.out_strides[i] = nxt
            nxt = self.out_strides[i] * max(self.out_shape[i], 1)
        self.identity = (tuple(self.out_shape) == tuple(shape) and
                         not any(self.starts) and all(s == 1 for s in self.steps))

    def view(self, t: Tensor) -> Tensor:
        """The basic part as a view of t (t itself when the basic part selects everything)."""
        if self.identity:
            return t
        return V.slice_view(t, self.starts, self.steps, self.sizes, self.out_shape,
                            self.out_strides)


def _slice_bounds(size, start, stop):
    from ..ir.ops.movement_compose import slice_bounds
    return slice_bounds(size, start, stop, 1)


# ---- __getitem__ / __setitem__ -------------------------------------------------------------

def getitem(self: Tensor, index):
    plan = _Plan(self, index)
    base = plan.view(self)
    if not plan.adv:
        if base is self:  # x[...] and x[:] are views too
            return V.slice_view(self, [0] * self.ndim, [1] * self.ndim, self.shape)
        return base
    dims = [d for d, _ in plan.adv]
    return Tensor._from_node(IC.advanced_index(base.node, dims, [i.node for _, i in plan.adv]))


def _value_node(value, dtype):
    if isinstance(value, Tensor):
        return value.node
    if isinstance(value, (list, tuple, np.ndarray)):
        from .creation import tensor
        return tensor(value, dtype=dtype).node
    return to_node(value, dtype)


def _strip_leading_ones(v, ndim):
    # PyTorch drops a value's leading size-1 dims beyond the destination's rank.
    while v.ndim > ndim and v.shape[0] == 1:
        v = M.reshape(v, v.shape[1:])
    return v


def setitem(self: Tensor, index, value):
    plan = _Plan(self, index)
    target = plan.view(self)
    v = _value_node(value, self.dtype)
    if not plan.adv:
        v = _strip_leading_ones(v, target.ndim)
        if v.ndim > target.ndim:
            fail(RuntimeError, f"expand(torch.FloatTensor{{{shape_str(v.shape)}}}, size="
                               f"{shape_str(target.shape)}): the number of sizes provided "
                               f"({target.ndim}) must be greater or equal to the number of "
                               f"dimensions in the tensor ({v.ndim})")
        target._assign(M.expand(to_node(v, self.dtype), target.shape), "__setitem__")
        return
    dims = [d for d, _ in plan.adv]
    if isinstance(value, Tensor) and value.dtype is not self.dtype:
        fail(RuntimeError, f"Index put requires the source and destination dtypes match, got "
                           f"{_TORCH_NAME[self.dtype.name]} for the destination and "
                           f"{_TORCH_NAME[value.dtype.name]} for the source.")
    from ..ir.shapes import broadcast_shapes
    res_ndim = target.ndim - len(dims) + len(broadcast_shapes(*(i.shape for _, i in plan.adv)))
    v = _strip_leading_ones(v, res_ndim)
    new = IC.advanced_index_put(target.node, dims, [i.node for _, i in plan.adv], v)
    target._assign(new, "__setitem__")


# ---- data-dependent ops --------------------------------------------------------------------

def nonzero(input: Tensor, *, as_tuple=False):
    a = np.asarray(input.detach()._host("nonzero"))
    if as_tuple:
        if a.ndim == 0:
            return (_int_leaf(np.nonzero(a.reshape(1))[0]),)
        return tuple(_int_leaf(i) for i in np.nonzero(a))
    return _int_leaf(np.argwhere(a).reshape(-1, a.ndim))


def argwhere(input: Tensor):
    return nonzero(input)


def _bool_mask(name, mask):
    if not isinstance(mask, Tensor) or mask.dtype is not dt.bool_:
        fail(RuntimeError, f"{name}: expected BoolTensor for mask")


def masked_select(input: Tensor, mask: Tensor):
    _bool_mask("masked_select", mask)
    from ..ir.shapes import broadcast_shapes
    shape = broadcast_shapes(tuple(input.shape), tuple(mask.shape))
    m = np.broadcast_to(_host_mask(mask), shape)
    x = M.expand(input.node, shape)
    flat = M.reshape(x, (x.numel,))
    pos = _int_leaf(np.flatnonzero(m))
    return Tensor._from_node(IC.index_node(flat, [pos.node], 0))


def _masked_scatter_node(input: Tensor, mask: Tensor, source: Tensor):
    _bool_mask("masked_scatter_", mask)
    if source.dtype is not input.dtype:
        fail(RuntimeError, f"masked_scatter_: expected self and source to have same dtypes but "
                           f"got {input.dtype.name} and {source.dtype.name}")
    m = np.broadcast_to(_host_mask(mask), tuple(input.shape))
    pos = np.flatnonzero(m)
    if pos.size > source.numel():
        fail(RuntimeError, "masked_scatter: expected source to have at least as many elements "
                           f"as ones in mask ({pos.size}), but got {source.numel()}")
    if pos.size == 0:
        return input.node
    src = M.reshape(source.node, (source.numel(),))
    src = M.slice_node(src, (0,), (1,), (pos.size,))
    return IC.put(input.node, _int_leaf(pos).node, src)


def masked_scatter(input: Tensor, mask: Tensor, source: Tensor):
    return Tensor._from_node(_masked_scatter_node(input, mask, source))


def masked_scatter_(self: Tensor, mask: Tensor, source: Tensor):
    return self._assign(_masked_scatter_node(self, mask, source), "masked_scatter_")


def _realize_counts(repeats):
    if isinstance(repeats, Tensor) and repeats.numel() != 1:
        repeats._realized("repeat_interleave")
    return repeats


# ---- install -------------------------------------------------------------------------------

def install(namespace=None) -> None:
    """Attach indexing, views and the data-dependent ops to Tensor and irgrad."""
    import irgrad
    ns = irgrad.__dict__ if namespace is None else namespace
    Tensor.__getitem__ = getitem
    Tensor.__setitem__ = setitem
    for name, (fn, top) in V.VIEW_OPS.items():
        setattr(Tensor, name, fn)
        if top:
            ns[name] = fn
    for name, fn in V.PROPERTIES.items():
        setattr(Tensor, name, property(fn))
    for name, fn in (("nonzero", nonzero), ("argwhere", argwhere),
                     ("masked_select", masked_select), ("masked_scatter", masked_scatter)):
        setattr(Tensor, name, fn)
        ns[name] = fn
    Tensor.masked_scatter_ = masked_scatter_
    _wrap_where(ns)
    _wrap_repeat_interleave(ns)


def _wrap_where(ns):
    elementwise_where = ns.get("where")

    def where(condition, input=None, other=None, *, out=None):
        if input is None and other is None:
            return nonzero(condition, as_tuple=True)
        return elementwise_where(condition, input, other) if out is None else \
            elementwise_where(condition, input, other, out=out)

    where.__doc__ = getattr(elementwise_where, "__doc__", None)
    if elementwise_where is not None:
        ns["where"] = where


def _wrap_repeat_interleave(ns):
    fn, method = ns.get("repeat_interleave"), getattr(Tensor, "repeat_interleave", None)
    if fn is not None:
        def repeat_interleave(input, repeats=None, dim=None, *, output_size=None):
            return fn(_realize_counts(input) if repeats is None else input,
                      _realize_counts(repeats), dim, output_size=output_size)
        ns["repeat_interleave"] = repeat_interleave
    if method is not None:
        def repeat_interleave_m(self, repeats=None, dim=None, *, output_size=None):
            return method(self, _realize_counts(repeats), dim, output_size=output_size)
        Tensor.repeat_interleave = repeat_interleave_m
