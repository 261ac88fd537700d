"""Passes preserve results: a random-op-chain fuzzer compares the optimized graph, the
unoptimized graph and the NumPy interpreter; plus unit checks of each pass."""
import numpy as np

import irgrad
from irgrad.frontend.creation import from_host
from irgrad.ir import dtypes as dt
from irgrad.ir.graph import Graph
from irgrad.ir.interpret import interpret
from irgrad.ir.ops import elementwise as E, reduce as R, movement as M
from irgrad.ir.verify import verify
from irgrad.lowering.compile import compile_graph
from irgrad.passes.fold import fold
from irgrad.passes.fuse import fuse_elementwise
from irgrad.passes.pipeline import optimize
from irgrad.passes.simplify import simplify
from irgrad.runtime import device as devices
from irgrad.runtime.executable import Executable

UNARY = [E.exp, E.tanh, E.neg, lambda x: E.log(E.add(E.mul(x, x), 1.0))]
BINARY = [E.add, E.sub, E.mul, E.maximum, E.minimum,
          lambda a, b: E.div(a, E.add(E.mul(b, b), 0.5))]


def random_chain(rng, inputs, n_ops):
    pool = list(inputs)
    for _ in range(n_ops):
        r = rng.random()
        x = pool[rng.integers(len(pool))]
        if r < 0.35:
            y = UNARY[rng.integers(len(UNARY))](x)
        elif r < 0.75:
            other = pool[rng.integers(len(pool))]
            y = BINARY[rng.integers(len(BINARY))](x, other)
        elif r < 0.85:
            y = E.add(E.mul(x, 1.0), 0.0)  # identities the simplifier removes
        elif r < 0.93 and x.ndim == 2:
            y = M.expand(R.sum(x, (1,), keepdim=True), x.shape)
        else:
            y = E.where(E.gt(x, 0.0), x, E.mul(x, 0.1))
        y = E.tanh(y)  # keep magnitudes bounded
        pool.append(y)
    return pool[len(inputs):]


def _run(graph, arrays):
    vmfb, _ = compile_graph(graph)
    exe = Executable(devices.get("cpu"), vmfb, [(o.dtype, o.shape) for o in graph.outputs],
                     len(graph.inputs))
    return [b.to_numpy() for b in exe([n.data for n in graph.inputs])]


def test_fuzz_optimized_vs_unoptimized_vs_interpreter():
    rng = np.random.default_rng(1234)
    arrays = [rng.uniform(-1, 1, (3, 5)).astype(np.float32),
              rng.uniform(-1, 1, (5,)).astype(np.float32),
              rng.uniform(-1, 1, (3, 1)).astype(np.float32)]
    inputs = [from_host(a, dt.float32).node for a in arrays]
    outputs = []
    for _ in range(12):  # twelve independent random chains, compiled together
        outputs += random_chain(rng, inputs, int(rng.integers(4, 12)))[-3:]
    graph = Graph.cut(outputs)
    optimized = optimize(graph)
    verify(optimized)
    assert len(optimized.nodes) < len(graph.nodes)
    host = [n.data.to_numpy() for n in graph.inputs]
    expected = interpret(graph, host)
    plain = _run(graph, host)
    opt = _run(optimized, host)
    divergences = 0
    for e, p, o in zip(expected, plain, opt):
        for got in (p, o):
            if got.shape != e.shape or not np.allclose(got, e, rtol=1e-4, atol=1e-5):
                divergences += 1
    assert divergences == 0


def test_each_pass_verifies_and_interprets_equal():
    rng = np.random.default_rng(7)
    a = rng.uniform(-1, 1, (4, 3)).astype(np.float32)
    x = from_host(a, dt.float32).node
    y = E.tanh(E.sub(E.mul(E.add(E.neg(E.neg(x)), 0.0), 1.0), E.exp(x)))
    z = R.sum(E.mul(y, 2.0), (0,))
    graph = Graph.cut([y, z])
    for p in (simplify, fold, fuse_elementwise):
        out = p(graph)
        verify(out)
        for e, g in zip(interpret(graph, [a]), interpret(out, [a])):
            np.testing.assert_allclose(g, e, rtol=1e-6)
        graph = out
    ops = [n.op for n in graph.nodes]
    assert "neg" not in ops and ops.count("fused") == 1


def test_fold_constants():
    from irgrad.ir.ops.common import const
    k = E.exp(E.add(const(1.0, dt.float32), const(2.0, dt.float32)))
    x = from_host(np.ones(3, np.float32), dt.float32).node
    y = E.mul(x, k)
    g = fold(Graph.cut([y]))
    consts = [n for n in g.nodes if n.op == "const"]
    assert len(consts) == 1 and np.isclose(consts[0].attrs["value"], np.exp(3.0), rtol=1e-6)


def test_elementwise_chain_is_one_dispatch():
    """tanh(x)*sigmoid-like(x) + x*0.5 compiles to a single dispatch."""
    x = irgrad.tensor(np.random.default_rng(0).uniform(-1, 1, (64, 64)).astype(np.float32))
    y = x.tanh() * (x.exp() / (x.exp() + 1.0)) + x * 0.5
    graph = optimize(Graph.cut([y.node]))
    vmfb, _ = compile_graph(graph)
    import re
    dispatches = set(re.findall(rb"main_dispatch_(\d+)", vmfb))
    assert len(dispatches) == 1


def test_realized_constant_inputs_are_never_folded():
    """A realized `full` is a graph input like any other buffer: the compiled graph is
    cached by structure and reused for other values (a BatchNorm running-stat bug)."""
    state = irgrad.zeros(4)
    irgrad.realize(state)  # a `full` node that now holds data
    for step in range(3):
        state = state * 0.5 + 1.0  # same structure every step: one cached executable
        irgrad.realize(state)
    # 0 -> 1 -> 1.5 -> 1.75
    np.testing.assert_allclose(state.numpy(), np.full(4, 1.75, np.float32))
