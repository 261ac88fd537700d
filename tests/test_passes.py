"""Passes preserve results: random-op-chain fuzzers (elementwise chains, and reductions of
elementwise chains over broadcast/expanded/permuted operands) compare the optimized graph,
the unoptimized graph and the NumPy interpreter; plus unit checks of each pass and dispatch
counts of fused kernels."""
import re

import numpy as np

import irgrad
from irgrad.frontend.creation import from_host
from irgrad.ir import dtypes as dt
from irgrad.ir.graph import Graph
from irgrad.ir.interpret import interpret
from irgrad.ir.ops import composite as C, elementwise as E, reduce as R, movement as M, unary as U
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
    assert len(_dispatches(graph)) == 1


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


# ---- reductions of elementwise chains ---------------------------------------------------------

def _dispatches(graph):
    """The dispatch functions IREE made of `graph` (their names, counted in the vmfb)."""
    vmfb, _ = compile_graph(graph)
    kinds: dict = {}
    for m in re.finditer(rb"main_dispatch_(\d+)_?([a-z]*)", bytes(vmfb)):
        if m.group(2) != b"embedded":  # the executable's ELF, not a dispatch
            kinds[m.group(1)] = m.group(2) or kinds.get(m.group(1), b"")
    return kinds


FLOAT_UNARY = [E.exp, E.neg, U.abs, E.tanh, lambda x: E.mul(x, x)]
INT_UNARY = [E.neg, U.abs, lambda x: E.mul(x, x)]
CHAIN_BINARY = [E.add, E.sub, E.mul, E.maximum, E.minimum]


def chain_operands(rng, shape, dtype):
    """Host arrays and the nodes a chain over `shape` may combine: the full tensor, and
    operands reaching `shape` by NumPy broadcasting, expand, permute and unit-dim reshape."""
    def arr(s):
        if dtype.category == dt.FLOAT:
            return rng.uniform(-1, 1, s).astype(dtype.np)
        return rng.integers(-3, 4, s).astype(dtype.np)

    R_ = len(shape)
    perm = tuple(rng.permutation(R_))
    arrays = [arr(shape), arr(shape[-1:]), arr(shape[:-1] + (1,)),
              arr(tuple(shape[p] for p in np.argsort(perm))), arr(shape[:1])]
    a, v, col, t, u = [from_host(x, dtype).node for x in arrays]
    ops = [a, v, col, M.expand(v, shape), M.permute(t, *perm),
           M.reshape(u, shape[:1] + (1,) * (R_ - 1)), M.expand(col, shape),
           # small computed operands, recomputed inside the kernel (fuse.CHEAP)
           E.where(E.gt(v, 0), v, E.neg(v)), E.sub(E.maximum(col, 0), M.permute(t, *perm))]
    return arrays, a, ops


def random_reduction(rng, x, operands, dtype):
    """A reduction (sum, mean, prod, amax, amin, logsumexp, softmax) of a random elementwise
    chain over x, with random dims and keepdim."""
    is_float = dtype.category == dt.FLOAT
    y = x
    for _ in range(int(rng.integers(1, 5))):
        if rng.random() < 0.4:
            ops = FLOAT_UNARY if is_float else INT_UNARY
            y = ops[rng.integers(len(ops))](y)
        else:
            other = operands[rng.integers(len(operands))]
            y = CHAIN_BINARY[rng.integers(len(CHAIN_BINARY))](y, other)
        if rng.random() < 0.6:  # else the chain may end in a product (IREE contract hazard)
            y = E.tanh(y) if is_float else E.minimum(E.maximum(y, -9), 9)
    ndim = x.ndim
    dims = tuple(int(d) for d in sorted(rng.choice(ndim, int(rng.integers(1, ndim + 1)),
                                                   replace=False)))
    keepdim = bool(rng.random() < 0.5)
    kinds = ["sum", "amax", "amin", "prod"] + (["mean", "logsumexp", "softmax"] * is_float)
    kind = kinds[rng.integers(len(kinds))]
    if kind == "prod":
        return R.prod(y, dims[0], keepdim)
    if kind == "softmax":
        return C.softmax(y, dims[0])
    if kind == "logsumexp":
        return R.logsumexp(y, dims, keepdim)
    return getattr(R, kind)(y, None if rng.random() < 0.2 else dims, keepdim)


TOLERANCE = {"float32": (1e-4, 1e-5), "float64": (1e-10, 1e-12), "float16": (1e-2, 1e-2)}


def test_fuzz_reductions_of_elementwise_chains():
    rng = np.random.default_rng(2024)
    arrays, outputs = [], []
    for dtype, shape in [(dt.float32, (3, 4, 5)), (dt.float32, (6, 7)), (dt.float64, (4, 3)),
                         (dt.float16, (5, 6)), (dt.int32, (3, 5)), (dt.int64, (2, 3, 4))]:
        host, x, operands = chain_operands(rng, shape, dtype)
        arrays += host
        outputs += [random_reduction(rng, x, operands, dtype) for _ in range(8)]
    # empty reductions (identity results), reductions of an expanded input, and products
    # whose factor misses some reduced dims (see fuse._contraction_hazard)
    e = from_host(np.zeros((0, 3), np.float32), dt.float32).node
    w = from_host(rng.uniform(-1, 1, (3,)).astype(np.float32), dt.float32).node
    p = from_host(rng.uniform(-1, 1, (2, 5)).astype(np.float32), dt.float32).node
    q = from_host(rng.uniform(-1, 1, (2, 3, 5)).astype(np.float32), dt.float32).node
    outputs += [R.sum(E.mul(e, w), 0), R.amax(E.exp(E.add(e, w)), 1),
                R.sum(M.expand(w, (4, 3)), 0), R.mean(E.mul(M.expand(w, (4, 3)), w)),
                R.sum(E.mul(M.reshape(p, (2, 1, 5)), q), (0, 1)),
                R.sum(E.mul(E.exp(M.reshape(p, (2, 1, 5))), q), (0, 1), True),
                R.sum(E.mul(M.permute(M.reshape(w, (3, 1, 1)), 1, 0, 2), q), (0, 1))]
    graph = Graph.cut(outputs)
    optimized = optimize(graph)
    verify(optimized)
    ops = [n.op for n in optimized.nodes]
    assert ops.count("fused_reduce") >= 30
    assert any("maps" in n.attrs for n in optimized.nodes if n.op == "fused_reduce")
    host = [n.data.to_numpy() for n in graph.inputs]
    expected = interpret(graph, host)
    plain = _run(graph, host)
    opt = _run(optimized, host)
    bad = []
    for k, (o, e, p, got) in enumerate(zip(graph.outputs, expected, plain, opt)):
        for label, value in (("plain", p), ("optimized", got)):
            if value.shape != e.shape or value.dtype != e.dtype:
                bad.append(f"{k} {label}: {value.dtype}{value.shape} vs {e.dtype}{e.shape}")
            elif o.dtype.category == dt.FLOAT:
                rtol, atol = TOLERANCE[o.dtype.name]
                if not np.allclose(value, e, rtol=rtol, atol=atol, equal_nan=True):
                    bad.append(f"{k} {label}: {value} vs {e}")
            elif not np.array_equal(value, e):
                bad.append(f"{k} {label}: {value} vs {e}")
    assert not bad, "\n".join(bad)


def test_reduction_joins_its_elementwise_producers():
    a = from_host(np.ones((4, 3), np.float32), dt.float32).node
    b = from_host(np.ones((3,), np.float32), dt.float32).node
    d = E.sub(a, M.expand(b, (4, 3)))
    s = R.sum(E.mul(d, d), 1)
    g = optimize(Graph.cut([s]))
    assert [n.op for n in g.nodes if n.inputs] == ["fused_reduce"]
    (k,) = [n for n in g.nodes if n.inputs]
    assert k.attrs["kind"] == "sum" and k.attrs["dims"] == (1,) and len(k.inputs) == 2
    # a producer needed elsewhere (here also an output) stays its own kernel
    g = optimize(Graph.cut([s, d]))
    assert sorted(n.op for n in g.nodes if n.inputs) == ["fused", "fused_reduce"]


def test_broadcasts_and_transposes_fold_into_index_maps():
    rng = np.random.default_rng(3)
    a = from_host(rng.uniform(-1, 1, (4, 3)).astype(np.float32), dt.float32)
    b = from_host(rng.uniform(-1, 1, (3, 4)).astype(np.float32), dt.float32)
    v = from_host(rng.uniform(-1, 1, (4,)).astype(np.float32), dt.float32)
    y = E.add(E.mul(a.node, M.permute(b.node, 1, 0)),
              M.expand(M.reshape(v.node, (4, 1)), (4, 3)))
    g = optimize(Graph.cut([y]))
    assert [n.op for n in g.nodes if n.inputs] == ["fused"]
    (k,) = [n for n in g.nodes if n.inputs]
    assert set(k.attrs["maps"]) == {None, (1, 0), (0,)}
    want = a.numpy() * b.numpy().T + v.numpy()[:, None]
    np.testing.assert_allclose(_run(g, [n.data.to_numpy() for n in g.inputs])[0], want,
                               rtol=1e-6)


def test_mean_of_squared_difference_is_one_kernel():
    rng = np.random.default_rng(5)
    xs, ys = (rng.uniform(-1, 1, (64, 48)).astype(np.float32) for _ in range(2))
    x, y = irgrad.tensor(xs), irgrad.tensor(ys)
    # Along a dim: the reduction kernel and the division after it are ONE dispatch.
    g = optimize(Graph.cut([(x - y).pow(2).mean(1).node]))
    assert [n.op for n in g.nodes if n.inputs and n.op != "const"] == ["fused_reduce", "div"]
    assert list(_dispatches(g).values()) == [b"reduction"]
    g = optimize(Graph.cut([(x - y).pow(2).sum(1).node]))
    assert list(_dispatches(g).values()) == [b"reduction"]
    # A 0-d sum of 3072 >= reduce.WIDE_SUM_MIN values accumulates in float64: its rounding
    # to float32 cannot join the dispatch of a root without parallel loops (see below).
    g = optimize(Graph.cut([(x - y).pow(2).sum().node]))
    assert sorted(_dispatches(g).values()) == [b"elementwise", b"reduction"]
    # Over every dim the result is 0-d, and IREE 3.13 never fuses a consumer into a
    # dispatch whose root has no parallel loop: the reduction is one kernel, and the
    # division of its one value by N a tiny second one.
    m = (x - y).pow(2).mean()
    g = optimize(Graph.cut([m.node]))
    assert [n.op for n in g.nodes if n.inputs and n.op != "const"] == ["fused_reduce", "div"]
    assert sorted(_dispatches(g).values()) == [b"elementwise", b"reduction"]
    np.testing.assert_allclose(m.item(), np.mean((xs - ys) ** 2), rtol=1e-5)


def test_softmax_and_logsumexp_kernels():
    rng = np.random.default_rng(6)
    xs = rng.uniform(-3, 3, (32, 24)).astype(np.float32)
    x = irgrad.tensor(xs)
    lse, sm = x.logsumexp(1), x.softmax(1)
    g = optimize(Graph.cut([lse.node]))
    # amax, then ONE kernel for sum(exp(x - shift(max))) (the row shift is recomputed in
    # it, see fuse.CHEAP), with log(.) + max fused after it by IREE: two dispatches
    assert [n.op for n in g.nodes if n.inputs] == ["amax", "fused_reduce", "fused", "reshape"]
    assert list(_dispatches(g).values()) == [b"reduction", b"reduction"]
    g = optimize(Graph.cut([sm.node]))
    assert len(_dispatches(g)) == 2  # amax; exp, sum and divide fused by IREE
    irgrad.realize(lse, sm)
    shifted = xs - xs.max(1, keepdims=True)
    np.testing.assert_allclose(lse.numpy(), np.log(np.exp(shifted).sum(1)) + xs.max(1),
                               rtol=1e-5)
    np.testing.assert_allclose(sm.numpy(), np.exp(shifted) / np.exp(shifted).sum(1,
                               keepdims=True), rtol=1e-5, atol=1e-7)
