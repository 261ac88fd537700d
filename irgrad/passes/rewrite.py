"""The rule driver: rebuild a graph bottom-up, applying local rewrite rules to a fixed point.

A rule is `rule(node) -> Node | None`: guard first, return None when it does not apply.
Rewritten nodes are pass-local (`node.rebuild`), so user graphs are never changed. Identical
rebuilt nodes are shared through a pass-local table (CSE). Each node is rewritten at most
`STEP_CAP` times, and the driver counts rule hits for the pass log.
"""
from __future__ import annotations

from collections import Counter

from ..ir.graph import Graph
from ..ir.node import rebuild

STEP_CAP = 16


class Rewriter:
    def __init__(self, name: str, rules):
        self.name, self.rules = name, list(rules)
        self.hits: Counter = Counter()

    def __call__(self, graph: Graph) -> Graph:
        input_ids = {id(n) for n in graph.inputs}
        mapping: dict = {}
        table: dict = {}
        for n in graph.nodes:
            if id(n) in input_ids:
                mapping[id(n)] = n
                continue
            ins = tuple(mapping[id(x)] for x in n.inputs)
            cur = n if all(a is b for a, b in zip(ins, n.inputs)) else rebuild(n, ins)
            for _ in range(STEP_CAP):
                if id(cur) in input_ids:  # rewritten to a graph input: nothing to rewrite
                    break
                for rule in self.rules:
                    new = rule(cur)
                    if new is not None and new is not cur:
                        self.hits[rule.__name__] += 1
                        cur = new
                        break
                else:
                    break
            key = (cur.op, cur.akey, tuple(map(id, cur.inputs))) if cur.inputs else None
            if key is not None:
                cur = table.setdefault(key, cur)
            mapping[id(n)] = cur
        outputs = [mapping[id(o)] for o in graph.outputs]
        return rebuild_graph(graph.inputs, outputs)


def rebuild_graph(inputs, outputs) -> Graph:
    """A graph over explicit inputs (all kept, in order, even if now unused) and outputs."""
    from ..ir.node import walk

    input_ids = {id(n) for n in inputs}
    order = walk(outputs, stop=lambda n: id(n) in input_ids)
    nodes = list(inputs) + [n for n in order if id(n) not in input_ids]
    return Graph.from_parts(nodes, inputs, outputs)
