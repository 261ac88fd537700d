"""Graph analyses on networkx: the dataflow graph, value liveness and peak live memory.

`dataflow(graph)` is the graph as a networkx DiGraph (an edge per producer -> consumer use,
node attributes op/bytes/position). `liveness(graph)` gives each value's live interval in
execution (topological) order: from the step that defines it to its last use, or to the end
for graph outputs; graph inputs are live from the start, since the caller holds them. From
the intervals, `peak_live_bytes` is the most memory the graph's values need at once when run
in that order: a measure of what fusion saves (a fused chain's intermediates never exist)
and what `IRGRAD_LOG=passes` reports after each pass.
"""
from __future__ import annotations

import networkx as nx


def value_bytes(node) -> int:
    n = node.dtype.itemsize
    for s in node.shape:
        n *= s
    return n


def dataflow(graph) -> "nx.DiGraph":
    """Nodes are positions in `graph.nodes`; an edge u -> v when v reads u."""
    g = nx.DiGraph()
    index = graph.index
    inputs = {id(n) for n in graph.inputs}
    for i, n in enumerate(graph.nodes):
        g.add_node(i, op="input" if id(n) in inputs else n.op, bytes=value_bytes(n))
    for i, n in enumerate(graph.nodes):
        if id(n) in inputs:
            continue
        for x in n.inputs:
            j = index.get(id(x))
            if j is not None:
                g.add_edge(j, i)
    return g


def liveness(graph) -> dict:
    """position -> (first step, last step) over steps 0..len(nodes)-1 in graph order."""
    g = dataflow(graph)
    end = len(graph.nodes) - 1
    outputs = {graph.index[id(o)] for o in graph.outputs}
    inputs = {graph.index[id(n)] for n in graph.inputs}
    intervals = {}
    for v in nx.topological_sort(g):
        start = 0 if v in inputs else v
        users = list(g.successors(v))
        last = max(users) if users else start
        if v in outputs:
            last = end
        intervals[v] = (start, last)
    return intervals


def peak_live_bytes(graph) -> int:
    """The largest total size of values live at one step (sweep over interval ends)."""
    if not graph.nodes:
        return 0
    delta = [0] * (len(graph.nodes) + 1)
    for v, (start, last) in liveness(graph).items():
        size = value_bytes(graph.nodes[v])
        delta[start] += size
        delta[last + 1] -= size
    peak = live = 0
    for d in delta:
        live += d
        peak = max(peak, live)
    return peak
