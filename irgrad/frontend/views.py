"""View-making tensor ops with PyTorch's aliasing: the results share their base's data.

Each function here returns a Tensor made by `Tensor._make_view(node, fn, scatter, strides)`:
`fn` re-derives the view's node from its base's node (so an in-place op on the base shows
through), `scatter` writes a new value of the view back into the base (so an in-place op on
the view changes the base and its other views), and `strides` are PyTorch's strides of the
view, which decide whether `view()` is allowed and whether `reshape()` aliases or copies.
"""
from __future__ import annotations

from ..errors import fail
from ..ir.node import make
from ..ir.ops import movement as M
from ..ir.ops import movement_compose as MC
from ..ir.ops import movement_dims as MD
from ..ir.shapes import normalize_dim, numel
from .tensor import Tensor

_VIEW_STRIDE_ERROR = ("view size is not compatible with input tensor's size and stride (at "
                      "least one dimension spans across two contiguous subspaces). Use "
                      ".reshape(...) instead.")


# ---- strides -------------------------------------------------------------------------------

def view_strides(old_shape, old_strides, new_shape):
    """The strides a view of shape `new_shape` would have, or None when the layout cannot be
    viewed that way (PyTorch's rule: dims may merge only within contiguous chunks)."""
    old_shape, new_shape = tuple(old_shape), tuple(new_shape)
    if not old_shape:
        return (1,) * len(new_shape)
    if numel(old_shape) == 0:
        if old_shape == new_shape:
            return tuple(old_strides)
        out, acc = [], 1
        for s in reversed(new_shape):
            out.append(acc)
            acc *= max(s, 1)
        return tuple(reversed(out))
    new = [0] * len(new_shape)
    view_d = len(new_shape) - 1
    chunk_base = old_strides[-1]
    tensor_numel = view_numel = 1
    for tensor_d in range(len(old_shape) - 1, -1, -1):
        tensor_numel *= old_shape[tensor_d]
        # A chunk ends where the next-outer dim does not continue this one contiguously.
        if tensor_d == 0 or (old_shape[tensor_d - 1] != 1 and
                             old_strides[tensor_d - 1] != tensor_numel * chunk_base):
            while view_d >= 0 and (view_numel < tensor_numel or new_shape[view_d] == 1):
                new[view_d] = view_numel * chunk_base
                view_numel *= new_shape[view_d]
                view_d -= 1
            if view_numel != tensor_numel:
                return None
            if tensor_d > 0:
                chunk_base = old_strides[tensor_d - 1]
                tensor_numel = view_numel = 1
    if view_d != -1:
        return None
    return tuple(new)


# ---- the view kinds ------------------------------------------------------------------------

def reshape_view(t: Tensor, shape, strides) -> Tensor:
    shape = tuple(shape)

    def fn(b):
        return M.reshape(b, shape)

    def scatter(b, v):
        return M.reshape(v, b.shape)

    return t._make_view(fn(t.node), fn, scatter, strides)


def permute_view(t: Tensor, perm) -> Tensor:
    perm = tuple(perm)
    inv = M.inverse_perm(perm)
    st = t.stride()

    def fn(b):
        return M.permute(b, perm)

    def scatter(b, v):
        return M.permute(v, inv)

    return t._make_view(fn(t.node), fn, scatter, tuple(st[p] for p in perm))


def slice_view(t: Tensor, starts, steps, sizes, out_shape=None, strides=None) -> Tensor:
    """A strided window of every dim, then a reshape to `out_shape` (dropping selected dims
    and inserting new ones); `strides` are the final view's strides."""
    starts, steps, sizes = tuple(starts), tuple(steps), tuple(sizes)
    out_shape = sizes if out_shape is None else tuple(out_shape)
    if strides is None:
        st = t.stride()
        strides = tuple(s * k for s, k in zip(st, steps))

    def fn(b):
        return M.reshape(M.slice_node(b, starts, steps, sizes), out_shape)

    def scatter(b, v):
        return M.slice_scatter_node(b, M.reshape(v, sizes), starts, steps)

    return t._make_view(fn(t.node), fn, scatter, strides)


def expand_view(t: Tensor, shape) -> Tensor:
    node = M.expand(t.node, shape)
    shape = node.shape
    lead = len(shape) - t.ndim
    st = t.stride()
    strides = tuple(0 if i < lead or (t.shape[i - lead] == 1 and s != 1) else st[i - lead]
                    for i, s in enumerate(shape))
    aliased = any(s != 1 for s in shape[:lead]) or any(
        a == 1 and b != 1 for a, b in zip(t.shape, shape[lead:]))

    def fn(b):
        return M.expand(b, shape)

    def scatter(b, v):
        if aliased:
            fail(RuntimeError, "unsupported operation: more than one element of the written-to "
                               "tensor refers to a single memory location. Please clone() the "
                               "tensor before performing the operation.")
        return M.reshape(v, b.shape)

    return t._make_view(node, fn, scatter, strides)


def diagonal_view(t: Tensor, offset=0, dim1=0, dim2=1) -> Tensor:
    node = M.diagonal(t.node, offset, dim1, dim2)
    attrs = dict(node.attrs)
    d1, d2 = attrs["dim1"], attrs["dim2"]
    st = t.stride()
    strides = tuple(s for i, s in enumerate(st) if i not in (d1, d2)) + (st[d1] + st[d2],)

    def fn(b):
        return make("diagonal", (b,), **attrs)

    def scatter(b, v):
        return make("diagonal_scatter", (b, v), **attrs)

    return t._make_view(node, fn, scatter, strides)


def dim_slice_view(t: Tensor, d, start, stop, step=1) -> Tensor:
    n = max(0, (stop - start + step - 1) // step)
    starts, steps, sizes = [0] * t.ndim, [1] * t.ndim, list(t.shape)
    starts[d], steps[d], sizes[d] = (start if n else 0), step, n
    return slice_view(t, starts, steps, sizes)


def select_view(t: Tensor, d, i) -> Tensor:
    starts, steps, sizes = [0] * t.ndim, [1] * t.ndim, list(t.shape)
    starts[d], sizes[d] = i, 1
    st = t.stride()
    return slice_view(t, starts, steps, sizes, t.shape[:d] + t.shape[d + 1:],
                      st[:d] + st[d + 1:])


# ---- public view functions (methods and irgrad.* functions) --------------------------------

def _target(t, shape_args, what):
    return M.infer_shape(M.size_args(shape_args, what), t.numel())


def view(self, *shape):
    from ..ir import dtypes as dt
    if len(shape) == 1 and isinstance(shape[0], (dt.DType, type)):
        fail(NotImplementedError, "Tensor.view(dtype) is not supported by irgrad")
    shape = _target(self, shape, "view(): argument 'size'")
    strides = view_strides(self.shape, self.stride(), shape)
    if strides is None:
        fail(RuntimeError, _VIEW_STRIDE_ERROR)
    return reshape_view(self, shape, strides)


def _reshape_to(self, shape):
    strides = view_strides(self.shape, self.stride(), shape)
    if strides is None:  # PyTorch copies when the layout cannot be viewed
        return Tensor._from_node(M.reshape(self.node, shape))
    return reshape_view(self, shape, strides)


def reshape(self, *shape):
    return _reshape_to(self, _target(self, shape, "reshape(): argument 'shape'"))


def view_as(self, other):
    return view(self, other.shape)


def reshape_as(self, other):
    return _reshape_to(self, tuple(other.shape))


def flatten(self, start_dim=0, end_dim=-1):
    if self.ndim and normalize_dim(start_dim, self.ndim) == normalize_dim(end_dim, self.ndim):
        return self
    return _reshape_to(self, MD.flatten(self.node, start_dim, end_dim).shape)


def unflatten(self, dim, sizes):
    return _reshape_to(self, MD.unflatten(self.node, dim, sizes).shape)


def squeeze(self, dim=None):
    shape = MD.squeeze(self.node, dim).shape
    return reshape_view(self, shape, view_strides(self.shape, self.stride(), shape))


def unsqueeze(self, dim):
    d = normalize_dim(dim, self.ndim + 1)
    st = self.stride()
    new = 1 if d >= self.ndim else self.shape[d] * st[d]
    return reshape_view(self, self.shape[:d] + (1,) + tuple(self.shape[d:]),
                        st[:d] + (new,) + st[d:])


def _perm_of(node, result):
    return result.attrs["perm"] if result is not node else tuple(range(node.ndim))


def permute(self, *dims):
    n = self.node
    return permute_view(self, _perm_of(n, M.permute(n, *dims)))


def transpose(self, dim0, dim1):
    n = self.node
    return permute_view(self, _perm_of(n, MD.transpose(n, dim0, dim1)))


def t(self):
    n = self.node
    return permute_view(self, _perm_of(n, MD.t(n)))


def movedim(self, source, destination):
    n = self.node
    return permute_view(self, _perm_of(n, MD.movedim(n, source, destination)))


def T(self):
    return permute_view(self, tuple(range(self.ndim - 1, -1, -1)))


def mT(self):
    n = self.node
    return permute_view(self, _perm_of(n, MD.mT(n)))


def expand(self, *sizes):
    return expand_view(self, M.size_args(sizes, "expand(): argument 'size'"))


def expand_as(self, other):
    return expand_view(self, tuple(other.shape))


def broadcast_to(self, size):
    return expand_view(self, M.size_args((size,), "broadcast_to(): argument 'size'"))


def diagonal(self, offset=0, dim1=0, dim2=1):
    return diagonal_view(self, offset, dim1, dim2)


def narrow(self, dim, start, length):
    MC.narrow(self.node, dim, start, length)  # checks the arguments like PyTorch
    d = normalize_dim(dim, self.ndim)
    s = MC._int(start)
    s = s + self.shape[d] if s < 0 else s
    return dim_slice_view(self, d, s, s + MC._int(length))


def select(self, dim, index):
    d, i = MC._select_index(self.node, dim, index)
    return select_view(self, d, i)


def _pieces(self, d, sizes):
    out, off = [], 0
    for s in sizes:
        out.append(dim_slice_view(self, d, off, off + s))
        off += s
    return tuple(out)


def _piece_sizes(parts, d):
    return [p.shape[d] for p in parts]


def split(self, split_size_or_sections, dim=0):
    parts = MC.split(self.node, split_size_or_sections, dim)
    d = normalize_dim(dim, self.ndim)
    return _pieces(self, d, _piece_sizes(parts, d))


def split_with_sizes(self, split_sizes, dim=0):
    return split(self, list(split_sizes), dim)


def chunk(self, chunks, dim=0):
    parts = MC.chunk(self.node, chunks, dim)
    d = normalize_dim(dim, self.ndim)
    if self.shape[d] == 0:
        return tuple(dim_slice_view(self, d, 0, 0) for _ in parts)
    return _pieces(self, d, _piece_sizes(parts, d))


def tensor_split(self, indices_or_sections, dim=0):
    if isinstance(indices_or_sections, Tensor):
        indices_or_sections = indices_or_sections.tolist() if indices_or_sections.ndim \
            else int(indices_or_sections.item())
    parts = MC.tensor_split(self.node, indices_or_sections, dim)
    d = normalize_dim(dim, self.ndim)
    return _pieces(self, d, _piece_sizes(parts, d))


def unbind(self, dim=0):
    if self.ndim == 0:
        fail(IndexError, "Dimension specified as 0 but tensor has no dimensions")
    d = normalize_dim(dim, self.ndim)
    return tuple(select_view(self, d, i) for i in range(self.shape[d]))


def contiguous(self, memory_format=None):
    if self.is_contiguous():
        return self
    return Tensor._from_node(self.node)  # a copy: no longer aliases the base


def clone(self, memory_format=None):
    return Tensor._from_node(M.clone(self.node))


# name -> (function, also a top-level irgrad function)
VIEW_OPS = {
    "view": (view, False), "view_as": (view_as, False), "reshape": (reshape, True),
    "reshape_as": (reshape_as, False), "flatten": (flatten, True),
    "unflatten": (unflatten, True), "squeeze": (squeeze, True),
    "unsqueeze": (unsqueeze, True), "permute": (permute, True),
    "transpose": (transpose, True), "swapaxes": (transpose, True),
    "swapdims": (transpose, True), "t": (t, True), "movedim": (movedim, True),
    "moveaxis": (movedim, True), "expand": (expand, False), "expand_as": (expand_as, False),
    "broadcast_to": (broadcast_to, True), "diagonal": (diagonal, True),
    "narrow": (narrow, True), "select": (select, True), "split": (split, True),
    "split_with_sizes": (split_with_sizes, True), "chunk": (chunk, True),
    "tensor_split": (tensor_split, True), "unbind": (unbind, True),
    "contiguous": (contiguous, False), "clone": (clone, True),
}
PROPERTIES = {"T": T, "mT": mT}
