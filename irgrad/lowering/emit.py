"""Graph -> one MLIR `func.func @main` built with the bindings.

Graph inputs become function arguments and outputs its results. Each node is emitted under a
location naming the op and the user's source line, so compiler diagnostics point at it.
Elementwise ops go through the shared `linalg.generic` wrapper; structured ops call their own
`lower` facet with the `Lowerer` helpers.
"""
from __future__ import annotations

from .builder import Lowerer, tensor_type
from .mlir import func_d, ir


def node_location(node):
    site = node.site
    if site is None:
        return ir.Location.name(f"irgrad.{node.op}")
    return ir.Location.name(f"irgrad.{node.op}",
                            childLoc=ir.Location.file(site.file, site.line, 0))


def emit_module(graph, context, name: str = "main"):
    """Build the module for `graph` inside `context` (the compile session's)."""
    with context, ir.Location.unknown():
        module = ir.Module.create()
        in_types = [tensor_type(n.shape, n.dtype) for n in graph.inputs]
        out_types = [tensor_type(n.shape, n.dtype) for n in graph.outputs]
        with ir.InsertionPoint(module.body):
            fn = func_d.FuncOp(name, (in_types, out_types))
            block = fn.add_entry_block()
        values = {id(n): a for n, a in zip(graph.inputs, block.arguments)}
        L = Lowerer()
        with ir.InsertionPoint(block):
            for n in graph.nodes:
                if id(n) in values:
                    continue
                with node_location(n):
                    operands = [values[id(x)] for x in n.inputs]
                    if n.opdef.scalar is not None:
                        v = L.elementwise(n, operands)
                    else:
                        v = n.opdef.lower(L, n, operands)
                values[id(n)] = v
            func_d.ReturnOp([values[id(o)] for o in graph.outputs])
    return module
