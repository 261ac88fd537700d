"""The IR node: an immutable, interned operation with its result type.

Structurally equal nodes are one object (hash-consing), so common subexpressions are shared
at construction. A node's identity key is (op, attrs, requires_grad, input identities); its
type (dtype, shape) follows from those through the op's shape rule, checked here, when the
op is recorded. Two side fields are not part of identity: `site` (the user's source line) and
`data` (the runtime buffer once the node has been realized).
"""
from __future__ import annotations

import itertools
import weakref

from .. import errors
from .dtypes import DType
from .state import GROWTH_WARN_STEPS, eager_hook, growth_warned, state, steps

_intern: "weakref.WeakValueDictionary[tuple, Node]" = weakref.WeakValueDictionary()
_leaf_ids = itertools.count()
# Nodes whose saved values a backward without retain_graph has "freed" (autograd/engine.py).
# Recording the same op again gives the user a fresh graph, so an intern hit unfreezes it.
freed: "weakref.WeakSet[Node]" = weakref.WeakSet()


from .opdef import REGISTRY as _REGISTRY  # noqa: E402  (opdef imports nothing from here)


def _canon(v):
    # Floats are keyed by bit pattern so 0.0/-0.0 and NaN attributes stay distinct and stable.
    if type(v) is float:
        return ("f", v.hex())
    if type(v) is tuple:
        return tuple(_canon(x) for x in v)
    return v


class Node:
    __slots__ = ("op", "opdef", "dtype", "shape", "inputs", "attrs", "akey", "requires_grad",
                 "device", "site", "data", "ikey", "uid", "epoch", "__weakref__")

    def __repr__(self):
        shape = ",".join(str(s) for s in self.shape)
        return f"<Node {self.op} {self.dtype.short}[{shape}] #{self.uid}>"

    @property
    def ndim(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        n = 1
        for s in self.shape:
            n *= s
        return n

    @property
    def is_leaf_value(self) -> bool:
        """True for nodes that only hold data (inputs to every graph that uses them)."""
        return self.opdef.is_source and not self.inputs and self.op == "buffer"

    def forget_history(self):
        """Drop the inputs of a realized node that no gradient will ever flow through."""
        if self.inputs and self.data is not None and not self.requires_grad:
            if _intern.get(self.ikey) is self:
                del _intern[self.ikey]
            self.inputs = ()


def _new(op, opdef, dtype, shape, inputs, attrs, akey, requires_grad, ikey, site, device):
    n = Node()
    n.device = device
    n.op, n.opdef, n.dtype, n.shape, n.inputs = op, opdef, dtype, shape, inputs
    n.attrs, n.akey, n.requires_grad, n.ikey = attrs, akey, requires_grad, ikey
    n.site, n.data, n.uid = site, None, next(_leaf_ids)
    n.epoch = steps[0]
    return n


def make(op: str, inputs=(), **attrs) -> Node:
    """Record one op: check it with its shape rule, intern it, and (in eager mode) run it."""
    opdef = _REGISTRY[op]
    inputs = tuple(inputs)
    device = attrs.get("device") if attrs else None
    requires_grad = False
    epoch = steps[0]
    for i in inputs:
        if i.data is None and i.epoch < epoch:
            epoch = i.epoch
        d = i.device
        if d is not None and d != device:
            if device is None:
                device = d
            else:
                errors.fail(RuntimeError, "Expected all tensors to be on the same device, but "
                                          f"found at least two devices, {device} and {d}!")
        if i.requires_grad:
            requires_grad = True
    dtype, shape = opdef.infer(inputs, attrs)
    if attrs:
        akey = tuple(sorted([(k, _canon(v)) for k, v in attrs.items()]))
    else:
        akey = ()
    requires_grad = (requires_grad and state.grad_enabled and opdef.differentiable
                     and dtype.category == 2)
    ikey = (op, akey, requires_grad, *map(id, inputs))
    node = None if opdef.unique else _intern.get(ikey)
    if node is None:
        node = _new(op, opdef, dtype, tuple(shape), inputs, attrs, akey, requires_grad, ikey,
                    errors.current_site(), device)
        node.epoch = epoch
        if steps[0] - epoch >= GROWTH_WARN_STEPS and not growth_warned[0]:
            _warn_growth(node)
        if not opdef.unique:
            _intern[ikey] = node
        if state.eager and not opdef.is_source and eager_hook[0] is not None:
            eager_hook[0](node)
    elif freed.data:  # the raw set: WeakSet.__len__ is slow on this hot path
        freed.discard(node)
    return node


def _warn_growth(node: Node) -> None:
    import warnings

    growth_warned[0] = True
    warnings.warn_explicit(
        f"irgrad: the pending (unrealized) graph keeps growing across training steps: the "
        f"{node.op} recorded here depends on values left unrealized for "
        f"{steps[0] - node.epoch} steps, so every step makes it bigger. Read it with "
        f".item()/irgrad.realize(...) each step, or .detach() what you carry over "
        f"(e.g. `total += loss.item()` instead of `total += loss`).",
        RuntimeWarning, node.site.file, node.site.line)


def leaf(dtype: DType, shape, data=None, requires_grad=False, device="cpu") -> Node:
    """A node that stands for a value (a realized buffer); every leaf is distinct."""
    uid = next(_leaf_ids)
    node = _new("buffer", _REGISTRY["buffer"], dtype, tuple(shape), (), {"uid": uid},
                (("uid", uid),), bool(requires_grad), ("buffer", uid), errors.current_site(),
                device)
    node.data = data
    return node


def walk(outputs, stop=None, stop_at_data: bool = False):
    """Topological order of the nodes reachable from `outputs`, without recursion.

    A node for which `stop(node)` holds (or, with `stop_at_data`, a node that holds data:
    the nodes of a graph cut) is yielded but its inputs are not visited.
    """
    order, seen = [], set()
    stack = [(n, False) for n in reversed(outputs)]
    pop, push, mark, emit = stack.pop, stack.append, seen.add, order.append
    while stack:
        node, expanded = pop()
        if expanded:
            emit(node)
            continue
        if id(node) in seen:
            continue
        mark(id(node))
        push((node, True))
        if not node.inputs or (stop_at_data and node.data is not None) or \
                (stop is not None and stop(node)):
            continue
        for inp in reversed(node.inputs):
            if id(inp) not in seen:
                push((inp, False))
    return order


def rebuild(node: Node, inputs, op: str | None = None, attrs: dict | None = None) -> Node:
    """A pass-local copy of `node` with new inputs (and optionally a new op/attrs).

    Not interned and never realized eagerly: passes build private graphs for the compiler
    without disturbing the user's nodes. The user's site is kept for error messages.
    """
    op = op or node.op
    attrs = node.attrs if attrs is None else attrs
    opdef = _REGISTRY[op]
    inputs = tuple(inputs)
    dtype, shape = opdef.infer(inputs, attrs)
    akey = tuple(sorted((k, _canon(v)) for k, v in attrs.items()))
    n = _new(op, opdef, dtype, tuple(shape), inputs, attrs, akey, False, None, node.site,
             node.device)
    return n
