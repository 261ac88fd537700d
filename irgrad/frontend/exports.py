"""Attach the op families' public functions to `irgrad` and to `Tensor`.

Each op family module lists `EXPORTS = [(name, node_fn, where), ...]` where `where` holds
"f" (a function `irgrad.name`), "m" (a method `Tensor.name`) and "i" (an in-place method
`Tensor.name_`). Node functions take Nodes and Python values; the wrappers built here turn
Tensors into Nodes on the way in and Nodes into Tensors on the way out, so the families never
see a Tensor and the frontend never re-implements an op.
"""
from __future__ import annotations

import functools

from ..ir.node import Node
from .tensor import Tensor


def unwrap(a):
    if isinstance(a, Tensor):
        return a.node
    t = type(a)
    if t is list:
        return [unwrap(x) for x in a]
    if t is tuple:
        return tuple(unwrap(x) for x in a)
    return a


def wrap(r):
    if isinstance(r, Node):
        return Tensor._from_node(r)
    if isinstance(r, tuple):
        if hasattr(r, "_fields"):
            return type(r)(*(wrap(x) for x in r))
        return tuple(wrap(x) for x in r)
    if isinstance(r, list):
        return [wrap(x) for x in r]
    return r


def as_function(fn, name=None):
    @functools.wraps(fn)
    def op(*args, **kwargs):
        out = kwargs.pop("out", None)
        r = wrap(fn(*unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()}))
        if out is not None:
            out._assign(r.node)
            return out
        return r
    op.__name__ = name or fn.__name__
    op.__qualname__ = op.__name__
    return op


def as_method(fn, name=None):
    @functools.wraps(fn)
    def method(self, *args, **kwargs):
        return wrap(fn(self.node, *unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()}))
    method.__name__ = name or fn.__name__
    return method


def as_inplace(fn, name):
    def method(self, *args, **kwargs):
        r = fn(self.node, *unwrap(args), **{k: unwrap(v) for k, v in kwargs.items()})
        return self._assign(r, name)
    method.__name__ = name
    method.__doc__ = f"In-place form of {fn.__name__}."
    return method


def install(namespace: dict, modules) -> None:
    for mod in modules:
        for name, fn, where in getattr(mod, "EXPORTS", ()):
            if "f" in where:
                namespace[name] = as_function(fn, name)
            if "m" in where:
                setattr(Tensor, name, as_method(fn, name))
            if "i" in where:
                setattr(Tensor, name + "_", as_inplace(fn, name + "_"))


def _swap(fn):
    return lambda a, b: fn(b, a)


def install_dunders(ops) -> None:
    """Python operators; `ops` maps a name (add, sub, ...) to its node function."""
    binary = {"add": "add", "sub": "sub", "mul": "mul", "truediv": "div",
              "floordiv": "floor_divide", "mod": "remainder", "pow": "pow",
              "matmul": "matmul", "and": "bitwise_and", "or": "bitwise_or",
              "xor": "bitwise_xor", "lshift": "bitwise_left_shift",
              "rshift": "bitwise_right_shift"}
    for dunder, name in binary.items():
        fn = ops.get(name)
        if fn is None:
            continue
        setattr(Tensor, f"__{dunder}__", as_method(fn, f"__{dunder}__"))
        setattr(Tensor, f"__r{dunder}__", as_method(_swap(fn), f"__r{dunder}__"))
        setattr(Tensor, f"__i{dunder}__", as_inplace(fn, f"__i{dunder}__"))
    compare = {"lt": "lt", "le": "le", "gt": "gt", "ge": "ge", "eq": "eq", "ne": "ne"}
    for dunder, name in compare.items():
        if name in ops:
            setattr(Tensor, f"__{dunder}__", as_method(ops[name], f"__{dunder}__"))
    unary = {"neg": "neg", "abs": "abs", "invert": "bitwise_not", "pos": "positive"}
    for dunder, name in unary.items():
        if name in ops:
            setattr(Tensor, f"__{dunder}__", as_method(ops[name], f"__{dunder}__"))
