"""The reverse-mode engine: a reverse walk over the IR that builds backward nodes.

Nothing runs here. Starting from the output nodes and their incoming gradients, the engine
visits the nodes that require grad in reverse topological order (one iterative walk, no
recursion), hands each node's accumulated gradient to its op's rule
(`OpDef.grad(g, node)`), and sums the contributions flowing into every input with an `add`
node. The result is more lazy graph: forward, backward and whatever consumes the gradients
(an optimizer's update) realize together as one compiled graph.

The engine works on Nodes only. The frontend (frontend/autograd_api.py) maps the user's
Tensors to nodes and back, and supplies tensor hooks as node-level callables.

PyTorch's autograd errors need two facts that a functional IR does not track by itself:

- *Saved values.* A rule "saves" the inputs or the output of its node when the gradient
  graph it builds refers to them. The engine finds them by walking the rule's result down
  to the incoming gradient and the forward graph (`_saved_by`).
- *Freed graphs and in-place changes.* After a backward without `retain_graph`, nodes with
  saved values join `ir.node.freed`; a second walk through them raises (recording the op
  again unfreezes it). In-place ops log the node a Tensor held before the change
  (`record_modification`); a saved node modified after its consumer was recorded raises
  the version-counter error.
"""
from __future__ import annotations

import weakref

from .. import errors
from ..ir import node as node_mod
from ..ir.node import make, walk
from ..ir.ops.autograd_ops import NO_ANOMALY, nonfinite_code, once_differentiable
from ..ir.state import state

FREED_MESSAGE = (
    "Trying to backward through the graph a second time (or directly access saved tensors "
    "after they have already been freed). Saved intermediate values of the graph are freed "
    "when you call .backward() or autograd.grad(). Specify retain_graph=True if you need to "
    "backward through the graph a second time or if you need to access saved tensors after "
    "calling backward.")

# node -> (weakref to the Tensor that held it, its version then, its version after, mark,
#          uids of the nodes the in-place op itself recorded)
_modified: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()
_OWNED_WALK_CAP = 64
# custom_function node -> the call record of the user Function (autograd/function.py)
custom_calls: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()

_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
               "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor",
               "bool": "BoolTensor"}


def new_mark() -> int:
    """A uid below every node created from now on."""
    return next(node_mod._leaf_ids)


def record_modification(old_node, tensor, old_version: int, new_version: int,
                        new_node=None) -> None:
    """An in-place op replaced `old_node` by `new_node` as the value of `tensor`.

    The nodes the in-place op recorded itself (between `new_node` and `old_node`) may use
    the old value: that is the op, not a later change, so they are exempt from the check
    (`x.clamp_(0, 1)` is fine; PyTorch's in-place formulas save what they need).
    """
    owned = set()
    if new_node is not None:
        stack, budget = [new_node], _OWNED_WALK_CAP
        while stack and budget:
            x = stack.pop()
            budget -= 1
            if x.uid > old_node.uid and x.uid not in owned:
                owned.add(x.uid)
                stack.extend(x.inputs)
    _modified[old_node] = (weakref.ref(tensor), old_version, new_version, new_mark(), owned)


def op_title(node) -> str:
    """`mul` -> `Mul`, `custom_function` -> the user Function's class name."""
    if node.op == "custom_function":
        return node.attrs.get("name", "CustomFunction")
    return "".join(p.capitalize() for p in node.op.split("_"))


def backward_name(node) -> str:
    """PyTorch's name for the backward of `node` (`MulBackward0`, `MyFnBackward`)."""
    from .graph_fn import grad_fn_name
    return grad_fn_name(node)


def type_description(node) -> str:
    shape = ", ".join(str(s) for s in node.shape)
    return f"torch.{_TYPE_NAMES.get(node.dtype.name, 'Tensor')} [{shape}]"


def _check_versions(n, saved):
    for s in saved:
        info = _modified.get(s)
        if info is None or info[3] < n.uid or n.uid in info[4]:
            continue
        ref, old_version, new_version, _, _ = info
        t = ref()
        now = t._version if t is not None else new_version
        what = type_description(s)
        if s.requires_grad and s.op != "buffer":
            what += f"], which is output 0 of {op_title(s)},"
        else:
            what += "]"
        site = f" It is needed by {backward_name(n)} (recorded at {n.site})." if n.site else ""
        errors.fail(RuntimeError,
                    "one of the variables needed for gradient computation has been modified "
                    f"by an inplace operation: [{what} is at version {now}; expected version "
                    f"{old_version} instead.{site} Hint: enable anomaly detection to find the "
                    "operation that failed to compute its gradient, with "
                    "irgrad.autograd.set_detect_anomaly(True, check_nan=False).")


def _saved_by(n, outs, g, forward_ids):
    """The nodes among `n` and its inputs that the gradient graph `outs` of `n` refers to.

    The walk covers what the rule built: it stops at the incoming gradient `g`, at nodes of
    the forward graph and at realized values (a rule's result may be an interned node from an
    earlier backward, so "new" cannot be told by uid). A cap bounds pathological rules.
    """
    cand = {id(n): n}
    for i in n.inputs:
        cand[id(i)] = i
    found, seen, stack = [], {id(g)}, list(outs)
    budget = _SAVED_WALK_CAP
    while stack and budget:
        x = stack.pop()
        if id(x) in seen:
            continue
        seen.add(id(x))
        budget -= 1
        if id(x) in cand:
            found.append(x)
        elif id(x) not in forward_ids and x.data is None:
            stack.extend(x.inputs)
    return found


_SAVED_WALK_CAP = 512


class _Group:
    """The pending outputs of one user Function call during a walk."""

    __slots__ = ("call", "grads", "remaining", "members")

    def __init__(self, call):
        self.call, self.grads, self.remaining, self.members = call, {}, 0, {}


def _accumulate(grads, node, g):
    prev = grads.get(id(node))
    grads[id(node)] = g if prev is None else make("add", (prev, g))


def _check_grad(n, i, inp, gi, name):
    if gi.shape != inp.shape or gi.dtype is not inp.dtype:
        name = name if name is not None else backward_name(n)
        shape = ", ".join(str(s) for s in gi.shape)
        want = ", ".join(str(s) for s in inp.shape)
        raise RuntimeError(f"Function {name} returned an invalid gradient at index {i} - got "
                           f"[{shape}] ({gi.dtype.name}) but expected shape compatible with "
                           f"[{want}] ({inp.dtype.name})")


class Result:
    """What a walk produced: captured gradients (node id -> node) and, in anomaly mode, the
    check node with the (node, input index, gradient) list its codes refer to."""

    __slots__ = ("grads", "anomaly", "checks")

    def __init__(self):
        self.grads, self.anomaly, self.checks = {}, None, []


def run_backward(roots, root_grads, *, capture, retain_graph: bool, create_graph: bool,
                 hooks=None, prune=None, realize=None, anomaly: bool = False):
    """Build the gradient graph of `roots` (Nodes) seeded with `root_grads` (Nodes).

    capture: node ids whose final gradient (after hooks) the caller wants.
    hooks: node id -> list of callables `g_node -> node or None`, applied when the node's
        gradient is complete, before capture and before the node's own rule.
    prune: None, or node ids: visit only nodes with a path to one of them (autograd.grad,
        backward(inputs=...)).
    realize: in eager mode, a function that realizes a list of nodes; each rule's outputs are
        realized right after the rule ran (so eager backward still runs op by op).
    anomaly: build one int64 check node (`Result.anomaly`) locating the first non-finite
        value that a backward op produced; `Result.checks` lists (node, input index).
    """
    hooks = hooks or {}
    res = Result()
    order = walk(list(roots), stop=lambda n: not n.requires_grad)
    needed = None
    if prune is not None:
        needed = set()
        for n in order:
            if n.requires_grad and (id(n) in prune or any(id(i) in needed for i in n.inputs)):
                needed.add(id(n))
    forward_ids = {id(n) for n in order}
    frozen = {id(n) for n in order if n in node_mod.freed} if node_mod.freed else set()
    groups = {}
    for n in order:
        if n.op == "custom_function" and n.requires_grad and (needed is None or id(n) in needed):
            call = custom_calls.get(n)
            if call is not None:
                grp = groups.get(id(call))
                if grp is None:
                    grp = groups[id(call)] = _Group(call)
                grp.remaining += 1
                grp.members[n.attrs["index"]] = n

    grads = {}
    for r, g in zip(roots, root_grads):
        _accumulate(grads, r, g)
    to_free, calls_to_free = [], []
    eager = state.eager and realize is not None
    prev_grad, prev_eager = state.grad_enabled, state.eager
    state.grad_enabled, state.eager = bool(create_graph), False
    try:
        for n in reversed(order):
            if not n.requires_grad or (needed is not None and id(n) not in needed):
                continue
            g = grads.pop(id(n), None)
            call = custom_calls.get(n) if n.op == "custom_function" else None
            if g is not None:
                for fn in hooks.get(id(n), ()):
                    state.eager = prev_eager
                    try:
                        out = fn(g)
                    finally:
                        state.eager = False
                    if out is not None:
                        g = out
                if id(n) in capture:
                    res.grads[id(n)] = g
            if n.op == "buffer":
                continue
            if call is not None:
                grp = groups[id(call)]
                if g is not None:
                    grp.grads[n.attrs["index"]] = g
                grp.remaining -= 1
                if grp.remaining == 0:
                    outs = call.run(grp.grads, grp.members, create_graph)
                    _propagate(n, _live(n.inputs[1:], outs, needed, 0), call.name, grads,
                               res if anomaly else None, eager and realize)
                    calls_to_free.append(call)
                continue
            if g is None:
                continue
            if n.op == "once_differentiable":
                errors.fail(RuntimeError, f"the derivative for {n.attrs['what']} is not "
                                          "implemented: it is the gradient of an op that has no "
                                          "second derivative (or of a Function marked "
                                          "@once_differentiable)")
            rule_out = n.opdef.grad(g, n)
            if len(rule_out) != len(n.inputs):
                raise RuntimeError(f"function {backward_name(n)} returned an incorrect number "
                                   f"of gradients (expected {len(n.inputs)}, got "
                                   f"{len(rule_out)})")
            items = _live(n.inputs, rule_out, needed, 0)
            saved = _saved_by(n, [gi for _, _, gi in items], g, forward_ids)
            if saved:
                if id(n) in frozen:
                    errors.fail(RuntimeError, FREED_MESSAGE)
                _check_versions(n, saved)
                to_free.append(n)
            if create_graph and not n.opdef.second_order:
                extra = tuple(i for i in n.inputs if i.requires_grad)
                items = [(k, inp, once_differentiable(gi, backward_name(n), extra))
                         for k, inp, gi in items]
            _propagate(n, items, None, grads, res if anomaly else None, eager and realize)
        if anomaly and res.checks:
            # NaN codes (k) sort before inf codes (K + k): PyTorch reports NaN, so a NaN
            # anywhere names the first op that produced one; infinities come second.
            code, K = None, len(res.checks)
            for k, (_, _, gi) in enumerate(res.checks):
                c = nonfinite_code(gi, k, K + k)
                code = c if code is None else make("minimum", (code, c))
            res.anomaly = code
    finally:
        state.grad_enabled, state.eager = prev_grad, prev_eager
    if not retain_graph:
        for n in to_free:
            node_mod.freed.add(n)
        for call in calls_to_free:
            call.release()
    return res


def decode_anomaly(res, code: int):
    """(backward name, input index, 'nan' or 'inf', forward site) for a check's value."""
    if code >= NO_ANOMALY:
        return None
    K = len(res.checks)
    n, k, _ = res.checks[code % K]
    name = custom_calls[n].name if n.op == "custom_function" and n in custom_calls \
        else backward_name(n)
    return name, k, ("nan" if code < K else "inf"), n.site


def _live(inputs, outs, needed, offset):
    """[(index, input, grad)] for the gradients that flow somewhere."""
    return [(k + offset, inp, gi) for k, (inp, gi) in enumerate(zip(inputs, outs))
            if gi is not None and inp.requires_grad and (needed is None or id(inp) in needed)]


def _propagate(n, items, name, grads, res, realize):
    """Accumulate the gradients `items` [(index, input, grad)] of `n` into its inputs."""
    for k, inp, gi in items:
        _check_grad(n, k, inp, gi, name)
    if realize and items:
        realize([gi for _, _, gi in items])
    for k, inp, gi in items:
        if res is not None:
            res.checks.append((n, k, gi))
        _accumulate(grads, inp, gi)
