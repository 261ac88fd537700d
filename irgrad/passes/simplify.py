"""Algebraic simplification rules (guard first; None when a rule does not apply).

Only rewrites that are exact in IEEE arithmetic: x+0, x-0, x*1, x/1, neg(neg x), casts to
the same dtype, reshape of reshape, expand to the same shape. x*0 is NOT folded (inf*0 is
NaN).
"""
from __future__ import annotations

from ..ir.node import rebuild
from .rewrite import Rewriter


def _const_value(n):
    if n.data is not None:  # a graph input: its value varies between runs (see fold._splat)
        return None
    if n.op == "const" and not n.inputs:
        return n.attrs["value"]
    if n.op == "full":
        return n.attrs["value"]
    return None


def _is(n, value) -> bool:
    v = _const_value(n)
    return v is not None and v == value and not (isinstance(v, bool) and value is not v)


def _same_type(a, b) -> bool:
    return a.dtype is b.dtype and a.shape == b.shape


def add_zero(n):
    if n.op not in ("add", "sub") or len(n.inputs) != 2:
        return None
    a, b = n.inputs
    if _is(b, 0) and _same_type(a, n):
        return a
    if n.op == "add" and _is(a, 0) and _same_type(b, n):
        return b
    return None


def mul_one(n):
    if n.op not in ("mul", "div") or len(n.inputs) != 2:
        return None
    a, b = n.inputs
    if _is(b, 1) and _same_type(a, n):
        return a
    if n.op == "mul" and _is(a, 1) and _same_type(b, n):
        return b
    return None


def double_neg(n):
    # A realized inner node is a graph input (its inputs may be forgotten): keep it.
    if n.op == "neg" and n.inputs[0].op == "neg" and n.inputs[0].data is None:
        return n.inputs[0].inputs[0]
    return None


def noop_cast(n):
    if n.op == "cast" and n.inputs[0].dtype is n.dtype:
        return n.inputs[0]
    return None


def reshape_chain(n):
    if n.op != "reshape":
        return None
    x = n.inputs[0]
    if x.shape == n.shape:
        return x
    if x.op == "reshape" and x.data is None:  # a realized x is a graph input: keep it
        return rebuild(n, (x.inputs[0],))
    return None


def noop_expand(n):
    if n.op == "expand" and n.inputs[0].shape == n.shape:
        return n.inputs[0]
    return None


simplify = Rewriter("simplify", [add_zero, mul_one, double_neg, noop_cast, reshape_chain,
                                 noop_expand])
