"""The Tensor side of autograd: `backward`, `autograd.grad`, `.grad`, hooks, retain_grad.

The engine (autograd/engine.py) works on nodes. This module maps the user's Tensors to nodes
and back:

- *Leaves.* A leaf that requires grad is a Tensor whose node is a `buffer` with
  requires_grad=True. Every Tensor that becomes such a leaf (`requires_grad_`, hence
  `tensor(..., requires_grad=True)` and nn.Parameter) is registered, weakly. At backward time
  each registered Tensor's *current* node names the leaf it owns, so an optimizer that
  rebinds a parameter to a new leaf each step needs nothing more. Code that builds a
  requires-grad leaf by hand calls `register_leaf(tensor)`.
- *Nodes are captured at backward() time* (in-place ops rebind a Tensor's node): roots,
  `inputs=`, retain_grad tensors, leaf hooks. A hook on a non-leaf stays with the node the
  tensor held when the hook was registered, as in PyTorch.
- *In-place ops* are logged (`engine.record_modification`) with the Tensor's version before
  and after, for PyTorch's "modified by an inplace operation" error.

`install()` attaches the methods to Tensor and wraps `requires_grad_` (leaf registration) and
`_assign` (the in-place log); irgrad/__init__.py calls it once.
"""
from __future__ import annotations

import itertools
import weakref

from ..autograd import anomaly, engine
from ..errors import fail
from ..ir.node import make
from ..ir.ops.common import cast
from ..ir.ops.source import full
from ..ir.state import state
from .tensor import Tensor

_seq = itertools.count()


class _IdWeakDict:
    """Tensor -> value, holding Tensors weakly and keyed by identity. (WeakKeyDictionary and
    WeakSet compare keys with ==, which is elementwise on Tensors and fails as a bool.)"""

    def __init__(self):
        self._d = {}

    def __setitem__(self, t, value):
        key = id(t)
        self._d[key] = (weakref.ref(t, lambda _r, k=key, d=self._d: d.pop(k, None)), value)

    def add(self, t):
        self[t] = None

    def items(self):
        for r, value in list(self._d.values()):
            t = r()
            if t is not None:
                yield t, value

    def __iter__(self):
        return (t for t, _ in self.items())

    def __len__(self):
        return len(self._d)


_leaves = _IdWeakDict()   # Tensor -> registration sequence number
_hooked = _IdWeakDict()   # Tensors with hooks or retain_grad (used as a set)


def register_leaf(t: Tensor) -> None:
    """Make `t` the owner of the requires-grad leaf it holds (its `.grad` receives grads)."""
    _leaves[t] = next(_seq)


def _is_rg_leaf(n) -> bool:
    return n.op == "buffer" and n.requires_grad


def _leaf_owners() -> dict:
    """id(leaf node) -> the Tensor that owns it now (the latest registration wins)."""
    best = {}
    for t, seq in list(_leaves.items()):
        n = t._n
        if _is_rg_leaf(n):
            prev = best.get(id(n))
            if prev is None or prev[1] < seq:
                best[id(n)] = (t, seq)
    return {k: v[0] for k, v in best.items()}


def leaf_owner(node):
    return _leaf_owners().get(id(node))


# ---- hooks ---------------------------------------------------------------------------------

class RemovableHandle:
    _ids = itertools.count()

    def __init__(self, tensor, key):
        self._ref, self.id = weakref.ref(tensor), key

    def remove(self):
        t = self._ref()
        if t is not None and t._hooks:
            t._hooks.pop(self.id, None)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


def register_hook(self, hook):
    """Call `hook(grad)` when the gradient w.r.t. this tensor is computed; a returned Tensor
    replaces the gradient. Returns a handle with `.remove()`."""
    if not self.requires_grad:
        fail(RuntimeError, "cannot register a hook on a tensor that doesn't require gradient")
    return _add_hook(self, "grad", hook)


def register_post_accumulate_grad_hook(self, hook):
    """Call `hook(tensor)` after a leaf's `.grad` has been accumulated."""
    if not self.is_leaf:
        fail(RuntimeError, "post accumulate grad hooks cannot be registered on non-leaf "
                           "tensors")
    return _add_hook(self, "post", hook)


def _add_hook(t, kind, hook):
    if t._hooks is None:
        t._hooks = {}
    key = next(RemovableHandle._ids)
    t._hooks[key] = (kind, hook, t.node)
    _hooked.add(t)
    return RemovableHandle(t, key)


def _node_hook(fn):
    name = getattr(fn, "__name__", type(fn).__name__)

    def apply(g):
        out = fn(Tensor._from_node(g))
        if out is None:
            return None
        if not isinstance(out, Tensor):
            fail(TypeError, f"expected Variable, but hook returned '{type(out).__name__}'")
        n = out.node
        if n.shape != g.shape:
            fail(RuntimeError, f"hook '{name}' has changed the size of value")
        if n.dtype is not g.dtype:
            fail(RuntimeError, f"hook '{name}' has changed the type of value (was "
                               f"{engine.type_description(g).split(' ')[0]} got "
                               f"{engine.type_description(n).split(' ')[0]})")
        return n
    return apply


def retain_grad(self):
    """Populate `.grad` of this non-leaf tensor during backward (leaves always get it)."""
    if not self.requires_grad:
        fail(RuntimeError, "can't retain_grad on Tensor that has requires_grad=False")
    if self.is_leaf:
        return
    self._retains_grad = True
    _hooked.add(self)


def _retains_grad(self) -> bool:
    return bool(self._retains_grad) and not self.is_leaf


def _collect(include_retained=True):
    """(node hooks, post hooks by Tensor, retained Tensors) as of now."""
    hooks, post, retained = {}, [], []
    for t in list(_hooked):
        if t._hooks:
            leaf_now = _is_rg_leaf(t._n)
            for kind, fn, node in list(t._hooks.values()):
                if kind == "post":
                    post.append((t, fn))
                    continue
                key = id(t._n) if leaf_now else id(node)
                hooks.setdefault(key, []).append(_node_hook(fn))
        if include_retained and t._retains_grad and t.requires_grad and not t.is_leaf:
            retained.append(t)
    return hooks, post, retained


# ---- backward and grad ---------------------------------------------------------------------

def _as_list(x, what):
    if x is None:
        return []
    if isinstance(x, Tensor):
        return [x]
    return list(x)


def _shape_repr(shape):
    return f"torch.Size([{', '.join(str(s) for s in shape)}])"


def _root_grads(nodes, grads, create_graph):
    if len(grads) != len(nodes):
        fail(RuntimeError, f"grad can be implicitly created only for scalar outputs" if not grads
             else f"Mismatch in number of gradients: expected {len(nodes)} but got "
                  f"{len(grads)}")
    out = []
    for i, (n, g) in enumerate(zip(nodes, grads)):
        if not n.requires_grad:
            fail(RuntimeError, f"element {i} of tensors does not require grad and does not "
                               "have a grad_fn")
        if g is None:
            if n.numel != 1:
                fail(RuntimeError, "grad can be implicitly created only for scalar outputs")
            out.append(full(n.shape, 1, n.dtype, n.device or "cpu"))
            continue
        gn = g.node if isinstance(g, Tensor) else full(n.shape, g, n.dtype, n.device or "cpu")
        if gn.shape != n.shape:
            fail(RuntimeError, f"Mismatch in shape: grad_output[{i}] has a shape of "
                               f"{_shape_repr(gn.shape)} and output[{i}] has a shape of "
                               f"{_shape_repr(n.shape)}.")
        out.append(cast(gn, n.dtype) if gn.dtype is not n.dtype else gn)
    return out


def _run(roots, root_grads, capture, prune_to, retain_graph, create_graph, hooks):
    from .realize import realize_nodes
    res = engine.run_backward(roots, root_grads, capture=capture, prune=prune_to,
                              retain_graph=retain_graph, create_graph=create_graph,
                              hooks=hooks, realize=realize_nodes if state.eager else None,
                              anomaly=anomaly.is_anomaly_check_nan_enabled())
    if res.anomaly is not None:
        anomaly.raise_if_anomalous(res, realize_nodes)
    return res


def _accumulate(t, g, create_graph):
    """t.grad += g, lazily (a new Tensor under create_graph, else in place)."""
    prev = t.grad
    if prev is None:
        t.grad = Tensor._from_node(g)
        return
    if create_graph or prev.requires_grad:
        old = state.grad_enabled
        state.grad_enabled = bool(create_graph)
        try:
            t.grad = Tensor._from_node(make("add", (prev.node, cast(g, prev.dtype))))
        finally:
            state.grad_enabled = old
        return
    old = state.grad_enabled
    state.grad_enabled = False
    try:
        prev._n = make("add", (prev.node, cast(g, prev.dtype)))
    finally:
        state.grad_enabled = old
    prev._view = None
    prev._version += 1


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate d(tensors)/d(leaf) into each leaf's `.grad` (or into `inputs` only)."""
    tensors = _as_list(tensors, "tensors")
    if grad_tensors is None:
        grad_tensors = grad_variables
    grads = _as_list(grad_tensors, "grad_tensors") if grad_tensors is not None else \
        [None] * len(tensors)
    if inputs is not None:
        inputs = _as_list(inputs, "inputs")
        if not inputs:
            fail(RuntimeError, "`inputs` argument to `backward()` cannot be empty.")
    if retain_graph is None:
        retain_graph = create_graph
    roots = [t.node for t in tensors]
    root_grads = _root_grads(roots, grads, create_graph)
    hooks, post, retained = _collect()
    targets = {}
    prune_to = None
    if inputs is not None:
        for t in inputs:
            if not t.requires_grad:
                fail(RuntimeError, "One of the differentiated Tensors does not require grad")
            targets.setdefault(id(t.node), (t.node, []))[1].append(t)
        prune_to = set(targets)
    else:
        for key, t in _leaf_owners().items():
            targets[key] = (t._n, [t])
    for t in retained:
        n = t.node
        entry = targets.get(id(n))
        if entry is None:
            if prune_to is not None:
                continue
            targets[id(n)] = (n, [t])
        elif t not in entry[1]:
            entry[1].append(t)
    res = _run(roots, root_grads, set(targets), prune_to, retain_graph, create_graph, hooks)
    touched = []
    for key, (n, owners) in targets.items():
        g = res.grads.get(key)
        if g is None:
            continue
        for t in owners:
            _accumulate(t, g, create_graph)
            touched.append(t)
    if state.eager:
        from .realize import realize_nodes
        realize_nodes([t.grad.node for t in touched])
    else:
        from . import realize
        want = getattr(realize, "want", None)
        if want is not None:
            for n in roots:
                want(n)
    done = {id(t) for t in touched}
    for t, fn in post:
        if id(t) in done:
            fn(t)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """d(outputs)/d(inputs) as new Tensors (nothing is accumulated into `.grad`)."""
    single_input = isinstance(inputs, Tensor)
    outputs = _as_list(outputs, "outputs")
    inputs = _as_list(inputs, "inputs")
    if is_grads_batched:
        raise NotImplementedError("irgrad.autograd.grad: is_grads_batched is not supported")
    if materialize_grads and allow_unused is False:
        fail(ValueError, "Expected allow_unused to be True or not passed when "
                         "materialize_grads=True, but got: allow_unused=False.")
    if allow_unused is None:
        allow_unused = materialize_grads
    if retain_graph is None:
        retain_graph = create_graph
    grads = _as_list(grad_outputs, "grad_outputs") if grad_outputs is not None else \
        [None] * len(outputs)
    roots = [t.node for t in outputs]
    root_grads = _root_grads(roots, grads, create_graph)
    in_nodes = []
    for t in inputs:
        if not t.requires_grad:
            fail(RuntimeError, "One of the differentiated Tensors does not require grad")
        in_nodes.append(t.node)
    hooks, _, retained = _collect()
    capture = {id(n) for n in in_nodes}
    prune_to = set(capture)
    retained_nodes = [(t, t.node) for t in retained]
    capture.update(id(n) for _, n in retained_nodes)
    res = _run(roots, root_grads, capture, prune_to, retain_graph, create_graph, hooks)
    for t, n in retained_nodes:
        g = res.grads.get(id(n))
        if g is not None:
            _accumulate(t, g, create_graph)
    out = []
    for i, n in enumerate(in_nodes):
        g = res.grads.get(id(n))
        if g is None:
            if materialize_grads:
                g = full(n.shape, 0, n.dtype, n.device or "cpu")
            elif not allow_unused:
                fail(RuntimeError, f"The differentiated Tensor at index {i} appears to not have "
                                   "been used in the graph. Set allow_unused=True if this is "
                                   "the desired behavior.")
        out.append(None if g is None else Tensor._from_node(g))
    if state.eager:
        from .realize import realize_nodes
        realize_nodes([t.node for t in out if t is not None])
    return tuple(out)


def tensor_backward(self, gradient=None, retain_graph=None, create_graph=False, inputs=None):
    """Compute the gradient of this tensor w.r.t. the graph leaves (see autograd.backward)."""
    backward([self], None if gradient is None else [gradient], retain_graph, create_graph,
             inputs=inputs)


# ---- installation ----------------------------------------------------------------------------

def install() -> None:
    orig_requires_grad_ = Tensor.requires_grad_
    orig_assign = Tensor._assign

    def requires_grad_(self, requires_grad=True):
        before = self._n
        out = orig_requires_grad_(self, requires_grad)
        if requires_grad and self._n is not before and _is_rg_leaf(self._n):
            register_leaf(self)
        return out
    requires_grad_.__doc__ = orig_requires_grad_.__doc__

    def _assign(self, new, op_name="in-place op"):
        base = self._view[0] if self._view is not None else None
        old = self.node if self._view is not None else self._n
        v0 = self._version
        if base is not None:
            b_old, b_v0 = base._n, base._version
        out = orig_assign(self, new, op_name)
        engine.record_modification(old, self, v0, self._version, self._n)
        if base is not None:
            engine.record_modification(b_old, base, b_v0, base._version, base._n)
        return out

    Tensor.requires_grad_ = requires_grad_
    Tensor._assign = _assign
    Tensor.backward = tensor_backward
    Tensor.register_hook = register_hook
    Tensor.register_post_accumulate_grad_hook = register_post_accumulate_grad_hook
    Tensor.retain_grad = retain_grad
    Tensor.retains_grad = property(_retains_grad)
