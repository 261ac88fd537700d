"""A graph cut: the nodes needed for some outputs, stopping at nodes that hold data.

Nodes that already hold a buffer become the graph's numbered inputs (never constants), so
the same code on new data has the same `key`. The key is the canonical structure of the cut:
per node its op, attributes, type and the positions of its inputs; never values or ids.
"""
from __future__ import annotations

from .node import Node, walk


class Graph:
    __slots__ = ("nodes", "inputs", "outputs", "key", "_index")

    def __init__(self, nodes, inputs, outputs, key):
        self.nodes, self.inputs, self.outputs, self.key = nodes, inputs, outputs, key
        self._index = None

    @property
    def index(self) -> dict:
        """id(node) -> position in `nodes` (built on first use: the per-step path never
        needs it)."""
        if self._index is None:
            self._index = {id(n): i for i, n in enumerate(self.nodes)}
        return self._index

    @classmethod
    def cut(cls, outputs) -> "Graph":
        outputs = list(outputs)
        nodes = walk(outputs, stop_at_data=True)
        pos, inputs, key = {}, [], []
        add_input, add_key = inputs.append, key.append
        for i, n in enumerate(nodes):
            pos[id(n)] = i
            if n.data is not None:
                add_input(n)
                add_key((n.dtype.name, n.shape))
            else:
                add_key((n.op, n.akey, n.dtype.name, n.shape,
                         tuple([pos[id(x)] for x in n.inputs])))
        key.append(tuple([pos[id(o)] for o in outputs]))
        return cls(nodes, inputs, outputs, tuple(key))

    @classmethod
    def from_parts(cls, nodes, inputs, outputs) -> "Graph":
        """Build a graph from an explicit node list (used by passes)."""
        input_ids = {id(n) for n in inputs}
        pos, key = {}, []
        for i, n in enumerate(nodes):
            pos[id(n)] = i
            if id(n) in input_ids:
                key.append((n.dtype.name, n.shape))
            else:
                key.append((n.op, n.akey, n.dtype.name, n.shape,
                            tuple(pos[id(x)] for x in n.inputs)))
        key.append(tuple(pos[id(o)] for o in outputs))
        return cls(list(nodes), list(inputs), list(outputs), tuple(key))

    def is_input(self, node: Node) -> bool:
        return any(n is node for n in self.inputs)

    def __len__(self):
        return len(self.nodes)

    def compute_nodes(self):
        ids = {id(n) for n in self.inputs}
        return [n for n in self.nodes if id(n) not in ids]

    def __str__(self):
        from .printer import format_graph
        return format_graph(self)
