"""`Parameter`: a Tensor subclass that a Module registers as a learnable weight.

A Parameter is a leaf that requires grad. In a lazy framework its value is often pending: a
freshly initialized weight is a random-fill graph, and an optimizer's in-place update under
`no_grad` is a graph over the previous value and its gradient. A pending Parameter keeps that
value graph until a grad-recording op needs it as a leaf; then every pending Parameter is
realized together, in ONE graph (one compile for a whole model's initialization), and each
is rebound to a fresh leaf node that shares the realized buffer. Under `no_grad` the pending
value is used as is, so an optimizer can realize its updates together with the loss.

Device buffers are immutable (in-place ops rebind a tensor to a new node), so sharing a
realized buffer between two leaves is as good as copying it.
"""
from __future__ import annotations

import weakref

from ...ir import dtypes as dt
from ...ir.node import leaf
from ...ir.state import state
from ...frontend.tensor import Tensor



class _PendingSet:
    """Parameters with a pending value, held weakly and keyed by identity (a WeakSet would
    compare Parameters with ==, which is elementwise on tensors)."""

    def __init__(self):
        self._d = {}

    def add(self, p):
        key = id(p)
        if key not in self._d:
            self._d[key] = weakref.ref(p, lambda _r, k=key, d=self._d: d.pop(k, None))

    def __iter__(self):
        return iter([p for p in (r() for r in list(self._d.values())) if p is not None])

    def clear(self):
        self._d.clear()


# Parameters whose value is a pending (unrealized or non-leaf) node.
_pending = _PendingSet()


def _needs_leaf(p: "Parameter") -> bool:
    n = p._n
    return p._rg and not (n.op == "buffer" and n.requires_grad)


def materialize(params=()) -> None:
    """Realize the given Parameters and every other pending one in one graph; rebind each
    to a leaf that requires grad."""
    todo = {id(p): p for p in list(_pending)}
    for p in params:
        todo.setdefault(id(p), p)
    todo = [p for p in todo.values() if _needs_leaf(p)]
    _pending.clear()
    if not todo:
        return
    nodes = [p._n for p in todo if p._n.data is None]
    if nodes:
        from ...frontend.realize import realize_nodes
        realize_nodes(nodes, "parameters")
    for p in todo:
        n = p._n
        # Go through Tensor.requires_grad_ so that whatever the core does for a new leaf
        # that requires grad happens here too. `_rg` is cleared meanwhile so that `node`
        # does not re-enter this function.
        p._n = leaf(n.dtype, n.shape, n.data, requires_grad=False, device=n.device)
        p._rg = False
        try:
            Tensor.requires_grad_(p, True)
        finally:
            p._rg = True


def pending_parameters() -> list:
    """Parameters whose value is still a pending graph (for an optimizer that wants to
    realize them together with the loss)."""
    return [p for p in list(_pending) if p._n.data is None]


class Parameter(Tensor):
    """A Tensor that is a module parameter: `isinstance(p, nn.Parameter)` holds, it is a
    leaf, and it requires grad unless made with `requires_grad=False`."""

    __slots__ = ("_rg",)

    def __new__(cls, data=None, requires_grad=True):
        if data is None:
            from ...frontend.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            from ...errors import fail
            fail(TypeError, f"Parameter(): data must be a Tensor, got {type(data).__name__}")
        self = object.__new__(cls)
        self._init(data._n if isinstance(data, Parameter) else data.node)
        self._is_param = True
        self._rg = False
        self._set_value(self._n, bool(requires_grad))
        return self

    def __init__(self, data=None, requires_grad=True):
        pass  # everything happens in __new__ (Tensor.__init__ would rebuild the data)

    # ---- the value ----------------------------------------------------------------------
    def _set_value(self, node, requires_grad=None):
        """Make `node` (any value node of this shape) the parameter's value."""
        rg = self._rg if requires_grad is None else requires_grad
        if rg and node.dtype.category != dt.FLOAT:
            from ...errors import fail
            fail(RuntimeError, "Only Tensors of floating point and complex dtype can require "
                               "gradients")
        if node.requires_grad:
            from ...ir.ops.autograd_ops import detach
            node = detach(node)
        self._rg = rg
        if node.data is not None:
            self._n = leaf(node.dtype, node.shape, node.data, requires_grad=False,
                           device=node.device)
            if rg:
                self._rg = False
                try:
                    Tensor.requires_grad_(self, True)
                finally:
                    self._rg = True
        else:
            self._n = node
            if rg:
                _pending.add(self)
        self._view = None

    @property
    def node(self):
        if self._rg and state.grad_enabled and _needs_leaf(self):
            materialize((self,))
        return self._n

    def _assign(self, new, op_name="in-place op"):
        out = Tensor._assign(self, new, op_name)
        if self._rg:
            _pending.add(self)
        # An in-place update (an optimizer step) rides along with the next realization, so
        # reading the loss afterwards computes the new weights in the same graph.
        from ...frontend import realize
        want = getattr(realize, "want", None)
        if want is not None and self._n.data is None:
            want(self._n)
        return out

    @property
    def data(self):
        return self.detach()

    @data.setter
    def data(self, other):
        self._set_value(other._n if isinstance(other, Parameter) else other.node)
        self._version += 1

    # ---- autograd attributes --------------------------------------------------------------
    @property
    def requires_grad(self) -> bool:
        return self._rg

    @requires_grad.setter
    def requires_grad(self, value):
        self.requires_grad_(value)

    def requires_grad_(self, requires_grad: bool = True):
        requires_grad = bool(requires_grad)
        if requires_grad != self._rg:
            n = self._n
            if n.op == "buffer" and n.requires_grad:
                n = leaf(n.dtype, n.shape, n.data, requires_grad=False, device=n.device)
            self._set_value(n, requires_grad)
        return self

    @property
    def is_leaf(self) -> bool:
        return True

    @property
    def grad_fn(self):
        return None

    # ---- Python protocol --------------------------------------------------------------------
    def __repr__(self):
        return "Parameter containing:\n" + Tensor.__repr__(self)

    __str__ = __repr__

    def __deepcopy__(self, memo):
        if id(self) in memo:
            return memo[id(self)]
        n = self._n
        value = Tensor._from_node(leaf(n.dtype, n.shape, n.data, device=n.device)
                                  if n.data is not None else n)
        result = type(self)(value, self._rg)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, proto):
        return (Parameter, (self.detach(), self._rg))


def is_parameter(x) -> bool:
    return isinstance(x, Parameter)
