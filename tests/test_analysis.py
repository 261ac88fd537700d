"""networkx analyses of graphs: dataflow edges, liveness, peak live memory (checked against a
reference-counting simulation of running the graph in order)."""
import numpy as np

import irgrad
from irgrad.ir.graph import Graph
from irgrad.passes.analysis import dataflow, liveness, peak_live_bytes, value_bytes
from irgrad.passes.pipeline import optimize


def _simulated_peak(graph) -> int:
    """Run the graph in order with reference counts: a value is allocated when defined (inputs
    up front), freed once its last reader has run, never freed if it is an output."""
    remaining = {}
    for n in graph.nodes:
        if graph.is_input(n):
            continue
        for x in set(map(id, n.inputs)):
            remaining[x] = remaining.get(x, 0) + 1
    outputs = {id(o) for o in graph.outputs}
    live = {id(n): value_bytes(n) for n in graph.inputs}
    peak = sum(live.values())
    for n in graph.nodes:
        if graph.is_input(n):
            continue
        live[id(n)] = value_bytes(n)
        peak = max(peak, sum(live.values()))
        for x in set(map(id, n.inputs)):
            remaining[x] -= 1
            if remaining[x] == 0 and x not in outputs and x in live:
                del live[x]
        if remaining.get(id(n), 0) == 0 and id(n) not in outputs:
            del live[id(n)]
    return peak


def _chain():
    rng = np.random.default_rng(0)
    x = irgrad.tensor(rng.standard_normal((64, 32)).astype(np.float32))
    w = irgrad.tensor(rng.standard_normal((32, 16)).astype(np.float32))
    h = (x.tanh() * x.sigmoid() + 1.0) @ w
    return [h.relu().sum(1), (h * 2.0).exp()]


def test_dataflow_edges_follow_inputs():
    g = Graph.cut([t.node for t in _chain()])
    d = dataflow(g)
    assert d.number_of_nodes() == len(g.nodes)
    for i, n in enumerate(g.nodes):
        if g.is_input(n):
            assert d.in_degree(i) == 0
        else:
            assert sorted(d.predecessors(i)) == sorted({g.index[id(x)] for x in n.inputs})


def test_liveness_intervals_cover_every_use():
    g = Graph.cut([t.node for t in _chain()])
    live = liveness(g)
    for i, n in enumerate(g.nodes):
        for x in n.inputs if not g.is_input(n) else ():
            start, last = live[g.index[id(x)]]
            assert start <= i <= last
    for o in g.outputs:
        assert live[g.index[id(o)]][1] == len(g.nodes) - 1


def test_peak_matches_simulation_and_fusion_lowers_it():
    raw = Graph.cut([t.node for t in _chain()])
    fused = optimize(raw)
    for g in (raw, fused):
        assert peak_live_bytes(g) == _simulated_peak(g)
    assert peak_live_bytes(fused) < peak_live_bytes(raw)


def test_passes_log_reports_peak_live_memory(capsys):
    from irgrad import logs
    logs.set_topics("passes")
    try:
        optimize(Graph.cut([t.node for t in _chain()]))
    finally:
        logs.set_topics(None)
    err = capsys.readouterr().err
    assert "[irgrad:passes] fuse:" in err and "peak live" in err
