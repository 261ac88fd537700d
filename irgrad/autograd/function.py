"""`autograd.Function`: user-defined forward and backward, PyTorch-style.

How it fits a symbolic engine. `Function.apply` runs the user's `forward` on Tensors with
gradient recording off, so its body becomes ordinary lazy nodes. Each differentiable output
is then wrapped in one `custom_function` node whose value is that output and whose other
inputs are the Function's tensor arguments (the reverse walk reaches them through it). The
user's `backward` is Python code on Tensors, so it cannot be a gradient rule written once per
op: the node carries a *call record* (engine.custom_calls) and, when the reverse walk has
collected the gradients of all outputs of one call, the engine calls the user's `backward`
at graph-build time. Whatever it computes is recorded as lazy nodes too, so the result is
still one graph: forward, the user's backward and the optimizer step compile together.
Under `create_graph=True` the user's backward runs with gradient recording on, so second
derivatives go through it exactly as in PyTorch.

Saved tensors are kept as (node, version) pairs and outputs as markers, never as Tensors, so
a call record never keeps its own output nodes alive (no reference cycle through the
weak-keyed side table). Reading `ctx.saved_tensors` checks the version counters and whether
a backward without `retain_graph` already freed the call, and raises PyTorch's errors.
Attributes you set on `ctx` yourself are kept as given; store outputs with
`save_for_backward`, not as attributes, or the graph stays alive as long as the record.
"""
from __future__ import annotations

import functools
import weakref

from .. import errors
from ..ir import dtypes as dt
from ..ir.node import make
from ..ir.ops.autograd_ops import once_differentiable as _once_node
from ..ir.state import state
from . import engine


class FunctionCtx:
    """The `ctx` object handed to forward/setup_context and backward."""

    def __init__(self):
        self._saved = ()
        self._non_diff = set()
        self._dirty = ()
        self.materialize_grads = True
        self.needs_input_grad = ()
        self._freed = False
        self._members = None
        self._outputs = ()

    def save_for_backward(self, *tensors):
        from ..frontend.tensor import Tensor
        for t in tensors:
            if t is not None and not isinstance(t, Tensor):
                errors.fail(TypeError, "save_for_backward can only save variables, but "
                                       f"argument {tensors.index(t)} is of type "
                                       f"{type(t).__name__}")
        self._saved = tuple(None if t is None else (weakref.ref(t), t.node, t._version, None)
                            for t in tensors)

    def save_for_forward(self, *tensors):
        pass  # forward-mode AD is not provided

    def mark_non_differentiable(self, *tensors):
        self._non_diff.update(id(t) for t in tensors)

    def mark_dirty(self, *tensors):
        self._dirty = tensors

    def set_materialize_grads(self, value: bool):
        self.materialize_grads = bool(value)

    @property
    def saved_tensors(self):
        from ..frontend.tensor import Tensor
        if self._freed:
            errors.fail(RuntimeError, engine.FREED_MESSAGE)
        out = []
        for entry in self._saved:
            if entry is None:
                out.append(None)
                continue
            ref, node, version, index = entry
            t = ref()
            if t is not None and t._version != version:
                what = engine.type_description(node)
                if node.requires_grad and node.op != "buffer":
                    what += f"], which is output 0 of {engine.op_title(node)},"
                else:
                    what += "]"
                errors.fail(RuntimeError,
                            "one of the variables needed for gradient computation has been "
                            f"modified by an inplace operation: [{what} is at version "
                            f"{t._version}; expected version {version} instead. Hint: enable "
                            "anomaly detection to find the operation that failed to compute "
                            "its gradient, with irgrad.autograd.set_detect_anomaly(True, "
                            "check_nan=False).")
            if index is not None:  # an output: hand out the differentiable node if alive
                member = (self._members or {}).get(index)
                if member is None and index < len(self._outputs):
                    member = self._outputs[index]()
                node = member if member is not None else node
            if t is not None and t._n is node:
                out.append(t)
            else:
                out.append(Tensor._from_node(node))
        return tuple(out)

    saved_variables = saved_tensors


class _Call:
    """One `Function.apply`: what the engine needs to run the user's backward."""

    def __init__(self, cls, ctx, args, in_nodes, out_types):
        self.cls, self.ctx = cls, ctx
        self.name = f"{cls.__name__}Backward"
        self.tensor_pos = [i for i, a in enumerate(args) if _is_tensor(a)]
        self.n_args = len(args)
        self.in_nodes = in_nodes
        self.out_types = out_types

    def release(self):
        if self.ctx._saved:
            self.ctx._freed = True

    def run(self, grads: dict, members: dict, create_graph: bool):
        """Call the user's backward on the outputs' gradients; return the input gradients
        (nodes or None) in the order of the Function's tensor arguments."""
        from ..frontend.tensor import Tensor
        from ..ir.ops.source import full

        ctx = self.ctx
        gouts = []
        for i, (shape, dtype, device) in enumerate(self.out_types):
            g = grads.get(i)
            if g is None and ctx.materialize_grads and dtype is not None:
                g = full(shape, 0, dtype, device or "cpu")
            gouts.append(None if g is None else Tensor._from_node(g))
        ctx._members = members
        try:
            result = self.cls.backward(ctx, *gouts)
        finally:
            ctx._members = None
        if not isinstance(result, tuple):
            result = (result,)
        if len(result) != self.n_args:
            if len(result) < self.n_args or any(r is not None for r in result[self.n_args:]):
                errors.fail(RuntimeError, f"function {self.name} returned an incorrect number "
                                          f"of gradients (expected {self.n_args}, got "
                                          f"{len(result)})")
        tensor_pos = set(self.tensor_pos)
        for i, r in enumerate(result[:self.n_args]):
            if r is not None and i not in tensor_pos:
                errors.fail(RuntimeError, f"function {self.name} returned a gradient different "
                                          f"than None at position {i + 1}, but the "
                                          "corresponding forward input was not a Variable")
        once = getattr(self.cls.backward, "_once_differentiable", False)
        extra = tuple(n for n in self.in_nodes if n.requires_grad)
        outs = []
        for pos, inp in zip(self.tensor_pos, self.in_nodes):
            r = result[pos]
            if r is None or not inp.requires_grad:
                outs.append(None)
                continue
            if not isinstance(r, Tensor):
                errors.fail(TypeError, f"function {self.name} returned a gradient of type "
                                       f"{type(r).__name__} at position {pos}; expected a "
                                       "Tensor or None")
            g = _fit(r.node, inp, self.name, pos)
            if once and create_graph:
                g = _once_node(g, self.name, extra)
            outs.append(g)
        return outs


def _is_tensor(a) -> bool:
    from ..frontend.tensor import Tensor
    return isinstance(a, Tensor)


def _fit(g, inp, name, pos):
    """PyTorch accepts a gradient that sums (over broadcast dims) to the input's shape."""
    from ..ir.ops.common import cast
    from ..ir.ops.grads import sum_to
    from ..ir.shapes import shape_str

    if g.shape != inp.shape:
        ok = g.ndim >= inp.ndim and all(
            s == 1 or s == gs for s, gs in zip(inp.shape, g.shape[g.ndim - inp.ndim:]))
        if not ok:
            errors.fail(RuntimeError, f"Function {name} returned an invalid gradient at index "
                                      f"{pos} - got {shape_str(g.shape)} but expected shape "
                                      f"compatible with {shape_str(inp.shape)}")
        g = sum_to(g, inp.shape)
    if g.dtype is not inp.dtype:
        g = cast(g, inp.dtype)
    return g


class FunctionMeta(type):
    pass


class Function(metaclass=FunctionMeta):
    """Subclass with static `forward(ctx, *args)` and `backward(ctx, *grad_outputs)` (or
    `forward(*args)` plus `setup_context(ctx, inputs, output)`), then call `.apply`."""

    @staticmethod
    def forward(ctx, *args, **kwargs):
        raise NotImplementedError("You must implement the forward function for custom "
                                  "autograd.Function.")

    @staticmethod
    def setup_context(ctx, inputs, output):
        raise NotImplementedError("setup_context is not implemented.")

    @staticmethod
    def backward(ctx, *grad_outputs):
        raise NotImplementedError("You must implement either the backward or vjp method for "
                                  "your custom autograd.Function to use it with backward "
                                  "mode AD.")

    vjp = backward

    def __init__(self, *args, **kwargs):
        pass

    def __call__(self, *args, **kwargs):
        errors.fail(RuntimeError, "Legacy autograd function with non-static forward method is "
                                  "deprecated. Please use new-style autograd function with "
                                  "static forward method. (Example: "
                                  "https://pytorch.org/docs/stable/autograd.html"
                                  "#torch.autograd.Function)")

    @classmethod
    def apply(cls, *args, **kwargs):
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(_is_tensor(a) and a.requires_grad for a in args)
        in_nodes = [a.node for a in args if _is_tensor(a)]
        record = state.grad_enabled and any(ctx.needs_input_grad)
        split = cls.setup_context is not Function.setup_context
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            if split:
                output = cls.forward(*args, **kwargs)
                cls.setup_context(ctx, args, output)
            else:
                output = cls.forward(ctx, *args, **kwargs)
        finally:
            state.grad_enabled = prev
        if not record:
            return output
        return _wrap_outputs(cls, ctx, args, in_nodes, output)


def _wrap_outputs(cls, ctx, args, in_nodes, output):
    from ..frontend.tensor import Tensor

    single = not isinstance(output, tuple)
    outs = [output] if single else list(output)
    out_types = [(o.shape, o.dtype, o.node.device) if isinstance(o, Tensor) else ((), None, None)
                 for o in outs]
    call = _Call(cls, ctx, args, in_nodes, out_types)
    arg_ids = {id(a) for a in args}
    index_of = {}
    seen = set()
    refs = []
    for i, o in enumerate(outs):
        refs.append(lambda: None)
        if not isinstance(o, Tensor) or o.dtype.category != dt.FLOAT or id(o) in ctx._non_diff:
            continue
        f = make("custom_function", (o.node,) + tuple(in_nodes), name=cls.__name__, index=i)
        engine.custom_calls[f] = call
        refs[i] = weakref.ref(f)
        if id(o) in arg_ids or id(o) in seen:
            o = Tensor._from_node(f)
            outs[i] = o
        else:
            o._n = f
            o._view = None
        seen.add(id(o))
        index_of[id(o)] = i
    ctx._outputs = tuple(refs)
    # Saved outputs become markers (see the module docstring).
    saved = []
    for entry in ctx._saved:
        if entry is not None:
            ref, node, version, _ = entry
            t = ref()
            if t is not None and id(t) in index_of:
                entry = (ref, node, version, index_of[id(t)])
        saved.append(entry)
    ctx._saved = tuple(saved)
    return outs[0] if single else tuple(outs)


def once_differentiable(fn):
    """Decorator for a Function's backward that cannot itself be differentiated: it runs
    without recording, and a higher-order gradient through it raises."""
    @functools.wraps(fn)
    def wrapper(ctx, *args):
        prev = state.grad_enabled
        state.grad_enabled = False
        try:
            return fn(ctx, *args)
        finally:
            state.grad_enabled = prev
    wrapper._once_differentiable = True
    return wrapper


class InplaceFunction(Function):
    def __init__(self, inplace=False):
        self.inplace = inplace


class NestedIOFunction(Function):
    pass
