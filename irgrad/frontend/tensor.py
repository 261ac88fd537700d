"""The Tensor handle: a node of the lazy graph plus the PyTorch-facing surface.

A Tensor points at a `Node`. In-place ops rebind it to a new node and bump its version; a
view remembers its base and how it was derived, so an in-place op on a view writes through
to the base and a view of a mutated base is re-derived. Public ops are attached from the op
families' EXPORTS tables (see `frontend/exports.py`), so this file holds only what belongs to
the handle itself: attributes, materialization, printing and the in-place machinery.
"""
from __future__ import annotations

import numpy as np

from .. import errors
from ..errors import fail
from ..ir import dtypes as dt
from ..ir.node import Node, leaf
from ..ir.state import state


class Size(tuple):
    """torch.Size: a tuple of ints with numel()."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self):
        return f"irgrad.Size({list(self)})"

    def __getitem__(self, item):
        r = tuple.__getitem__(self, item)
        return Size(r) if isinstance(item, slice) else r


class Tensor:
    __slots__ = ("_n", "_view", "_version", "grad", "_retains_grad", "_hooks", "_name",
                 "__weakref__", "_saved_versions", "_is_param", "_strides")

    def __init__(self, *args, **kwargs):
        # `irgrad.Tensor(data)` builds a float tensor like torch.Tensor(data) does.
        from .creation import tensor as make_tensor
        t = make_tensor(args[0] if len(args) == 1 else list(args), dtype=dt.get_default_dtype()) \
            if args else make_tensor([], dtype=dt.get_default_dtype())
        self._init(t._n)

    def _init(self, node: Node, view=None):
        self._n = node
        self._view = view
        self._version = 0
        self.grad = None
        self._retains_grad = False
        self._hooks = None
        self._name = None
        self._saved_versions = None
        self._is_param = False
        self._strides = None  # PyTorch's strides of a view; None: contiguous

    @classmethod
    def _from_node(cls, node: Node, view=None) -> "Tensor":
        t = object.__new__(cls)
        t._init(node, view)
        return t

    # ---- the node, with views kept in sync with their base ----------------------------
    @property
    def node(self) -> Node:
        v = self._view
        if v is not None:
            base, chain, base_version = v
            if base._version != base_version:
                n = base.node
                for fn, _ in chain:
                    n = fn(n)
                self._n = n
                self._view = (base, chain, base._version)
        return self._n

    # ---- attributes ---------------------------------------------------------------------
    @property
    def shape(self) -> Size:
        return Size(self._n.shape)

    def size(self, dim=None):
        if dim is None:
            return Size(self._n.shape)
        from ..ir.shapes import normalize_dim
        return self._n.shape[normalize_dim(dim, self._n.ndim)]

    @property
    def dtype(self):
        return self._n.dtype

    @property
    def device(self):
        from .device import device
        return device(self._n.device or "cpu")

    @property
    def ndim(self) -> int:
        return len(self._n.shape)

    def dim(self) -> int:
        return len(self._n.shape)

    ndimension = dim

    def numel(self) -> int:
        return self._n.numel

    nelement = numel

    def element_size(self) -> int:
        return self._n.dtype.itemsize

    @property
    def is_cuda(self) -> bool:
        return self._n.device == "cuda"

    @property
    def is_floating_point_(self):
        return self._n.dtype.category == dt.FLOAT

    def is_floating_point(self) -> bool:
        return self._n.dtype.category == dt.FLOAT

    def stride(self, dim=None):
        """PyTorch's strides: views keep the layout of the storage they alias."""
        st = self._strides
        if st is None:
            st = contiguous_strides(self._n.shape)
        if dim is None:
            return st
        from ..ir.shapes import normalize_dim
        return st[normalize_dim(dim, self._n.ndim)]

    def is_contiguous(self, memory_format=None) -> bool:
        return self._strides is None or is_contiguous_layout(self._n.shape, self._strides)

    @property
    def requires_grad(self) -> bool:
        return self.node.requires_grad

    @requires_grad.setter
    def requires_grad(self, value: bool):
        self.requires_grad_(value)

    @property
    def is_leaf(self) -> bool:
        n = self.node
        return not n.requires_grad or n.op == "buffer"

    @property
    def grad_fn(self):
        from ..autograd.graph_fn import grad_fn_of
        return grad_fn_of(self)

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        n = self.node
        if n.requires_grad == bool(requires_grad):
            return self
        if not self.is_leaf:
            fail(RuntimeError, "you can only change requires_grad flags of leaf variables. If "
                               "you want to use a computed variable in a subgraph that doesn't "
                               "require differentiation use var_no_grad = var.detach().")
        if requires_grad and n.dtype.category != dt.FLOAT:
            fail(RuntimeError, "only Tensors of floating point dtype can require gradients")
        if n.data is None:
            from .realize import realize_nodes
            realize_nodes([n], "requires_grad_")
        self._n = leaf(n.dtype, n.shape, n.data, requires_grad=bool(requires_grad),
                       device=n.device)
        self._view = None
        return self

    def detach(self) -> "Tensor":
        from ..ir.ops.autograd_ops import detach as detach_node
        return Tensor._from_node(detach_node(self.node))

    def detach_(self) -> "Tensor":
        from ..ir.ops.autograd_ops import detach as detach_node
        self._n = detach_node(self.node)
        self._view = None
        return self

    @property
    def data(self) -> "Tensor":
        return self.detach()

    @data.setter
    def data(self, other: "Tensor"):
        self._n = other.node
        self._view = None
        self._version += 1

    # ---- materialization ----------------------------------------------------------------
    def _realized(self, reason: str) -> Node:
        n = self.node
        if n.data is None:
            from .realize import realize_nodes
            realize_nodes([n], reason)
        return n

    def _host(self, reason: str) -> np.ndarray:
        return self._realized(reason).data.to_numpy()

    def numpy(self, *, force: bool = False) -> np.ndarray:
        if self.node.requires_grad and not force:
            fail(RuntimeError, "Can't call numpy() on Tensor that requires grad. Use "
                               "tensor.detach().numpy() instead.")
        return self._host("numpy()")

    def item(self):
        n = self.node
        if n.numel != 1:
            fail(RuntimeError, f"a Tensor with {n.numel} elements cannot be converted to Scalar")
        return self._host("item()").reshape(()).item()

    def tolist(self):
        return self._host("tolist()").tolist()

    def __bool__(self):
        n = self.node
        if n.numel != 1:
            fail(RuntimeError, f"Boolean value of Tensor with more than one value is ambiguous")
        return bool(self._host("bool()").reshape(()))

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.category == dt.FLOAT or self.numel() != 1:
            fail(TypeError, "only integer tensors of a single element can be converted to an "
                            "index")
        return int(self.item())

    def __complex__(self):
        return complex(self.item())

    def __array__(self, dtype=None, copy=None):
        a = self._host("__array__")
        return a.astype(dtype) if dtype is not None else a

    def __len__(self):
        if not self._n.shape:
            fail(TypeError, "len() of a 0-d tensor")
        return self._n.shape[0]

    def __iter__(self):
        if not self._n.shape:
            fail(TypeError, "iteration over a 0-d tensor")
        return (self[i] for i in range(self._n.shape[0]))

    def __hash__(self):
        return id(self)

    def __repr__(self):
        from .printing import tensor_repr
        return tensor_repr(self)

    __str__ = __repr__

    def __format__(self, spec):
        if self.dim() == 0 and spec:
            return format(self.item(), spec)
        return repr(self)

    # ---- in-place machinery -------------------------------------------------------------
    def _check_inplace_leaf(self, through_view=False):
        if state.grad_enabled and self._n.requires_grad and self._n.op == "buffer" \
                and self._view is None:
            what = "a view of a leaf Variable" if through_view else "a leaf Variable"
            fail(RuntimeError, f"{what} that requires grad is being used in an in-place "
                               "operation.")

    def _assign(self, new: Node, op_name: str = "in-place op") -> "Tensor":
        """Make this tensor hold `new` (an in-place op's result), writing through views."""
        from ..ir.ops.common import cast
        from ..ir.shapes import shape_str

        cur = self.node
        if new.shape != cur.shape:
            fail(RuntimeError, f"output with shape {shape_str(cur.shape)} doesn't match the "
                               f"broadcast shape {shape_str(new.shape)}")
        self._check_inplace_leaf()
        if new.dtype is not cur.dtype:
            if new.dtype.category > cur.dtype.category:
                fail(RuntimeError, f"result type {new.dtype.name.capitalize()} can't be cast to "
                                   f"the desired output type {cur.dtype.name.capitalize()}")
            new = cast(new, cur.dtype)
        v = self._view
        if v is not None:
            base, chain, _ = v
            base._check_inplace_leaf(through_view=True)
            # Re-derive every intermediate view from the base, then scatter back outward.
            inter = [base.node]
            for fn, _ in chain[:-1]:
                inter.append(fn(inter[-1]))
            val = new
            for (fn, scatter), src in zip(reversed(chain), reversed(inter)):
                val = scatter(src, val)
            base._n = val
            base._version += 1
            self._view = (base, chain, base._version)
        self._n = new
        self._version += 1
        return self

    def _make_view(self, node: Node, fn, scatter, strides=None) -> "Tensor":
        """A tensor that is a view of self: `fn(base_node)` derives it, `scatter` writes back.

        `strides` are the view's PyTorch strides (None: contiguous); they decide what
        `view()` accepts and whether `reshape()` aliases or copies."""
        v = self._view
        if v is not None:
            base, chain, _ = v
            chain = chain + ((fn, scatter),)
        else:
            base, chain = self, ((fn, scatter),)
        t = Tensor._from_node(node, (base, chain, base._version))
        if strides is not None and not is_contiguous_layout(node.shape, strides):
            t._strides = tuple(strides)
        return t

    @property
    def _base(self):
        return self._view[0] if self._view is not None else None

    def _is_view(self) -> bool:
        return self._view is not None


def contiguous_strides(shape) -> tuple:
    out, acc = [], 1
    for s in reversed(shape):
        out.append(acc)
        acc *= max(s, 1)
    return tuple(reversed(out))


def is_contiguous_layout(shape, strides) -> bool:
    """PyTorch's rule: size-1 dims are free and an empty tensor is contiguous."""
    if 0 in tuple(shape):
        return True
    expected = 1
    for s, st in zip(reversed(shape), reversed(strides)):
        if s != 1:
            if st != expected:
                return False
            expected *= s
    return True


def as_node(x):
    return x.node if isinstance(x, Tensor) else x
