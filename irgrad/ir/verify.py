"""Structural checks on a graph: topological order, types agree with the shape rules."""
from __future__ import annotations


class VerifyError(AssertionError):
    pass


def verify(graph) -> None:
    seen = set()
    input_ids = {id(n) for n in graph.inputs}
    for n in graph.nodes:
        if id(n) not in input_ids:
            for x in n.inputs:
                if id(x) not in seen:
                    raise VerifyError(f"{n} uses {x} before it is defined")
            dtype, shape = n.opdef.infer(n.inputs, n.attrs)
            if dtype is not n.dtype or tuple(shape) != n.shape:
                raise VerifyError(f"{n}: recorded type {n.dtype}{list(n.shape)} but the rule "
                                  f"gives {dtype}{list(shape)}")
        seen.add(id(n))
    for o in graph.outputs:
        if id(o) not in seen:
            raise VerifyError(f"output {o} is not in the graph")
