"""Every differentiable op of the registry, differentiated through the engine, against float64
finite differences: first order (the gradient graph) and second order (the engine run again
on the gradient graph it built), on the registry's own samples.

Values are computed by the NumPy graph interpreter (the graph's semantics; that each op
lowers like its reference is test_registry's job), so hundreds of cases need no compile; one
compiled batch then checks that second-order graphs also compile and agree.
"""
import zlib

import numpy as np
import pytest

import irgrad
from irgrad.errors import CompileError
from irgrad.frontend.creation import from_host
from irgrad.frontend.tensor import Tensor
from irgrad.ir import dtypes as dt
from irgrad.ir.graph import Graph
from irgrad.ir.interpret import interpret
from irgrad.ir.node import make
from irgrad.ir.opdef import REGISTRY

EPS, ATOL, RTOL = 1e-6, 1e-5, 1e-3
# The engine refuses to differentiate through this op at all (it marks a gradient that has
# no derivative); its own rule is still checked by test_registry.
RAISES_AT_FIRST_ORDER = {"once_differentiable"}


def _cases():
    for name in sorted(REGISTRY):
        op = REGISTRY[name]
        if not op.differentiable or op.grad is None or op.samples is None:
            continue
        rng = np.random.default_rng(zlib.crc32(name.encode()))
        for i, (arrays, attrs) in enumerate(op.samples(rng)):
            arrays = [np.asarray(a) for a in arrays]
            arrays = [a.astype(np.float64) if a.dtype == np.float32 else a for a in arrays]
            if any(a.dtype == np.float64 and a.size for a in arrays):
                yield name, i, arrays, attrs


def _leaves(arrays, shifts=None, eps=0.0):
    out = []
    for k, a in enumerate(arrays):
        if a.dtype == np.float64 and a.size:
            if shifts is not None:
                a = a + eps * shifts[k]
            out.append(from_host(a, dt.float64, requires_grad=True))
        else:
            out.append(from_host(a, dt.from_numpy(a.dtype)))
    return out


def _apply(name, leaves, attrs):
    return Tensor._from_node(make(name, [t.node for t in leaves], **attrs))


def _dot(tensors, arrays):
    """sum_k <tensors[k], arrays[k]> as a graph (None entries count as zero)."""
    total = None
    for t, a in zip(tensors, arrays):
        if t is None:
            continue
        term = (t * from_host(a, dt.float64)).sum()
        total = term if total is None else total + term
    return total


class Case:
    def __init__(self, name, i, arrays, attrs):
        self.name, self.label, self.arrays, self.attrs = name, f"{name}[{i}]", arrays, attrs
        rng = np.random.default_rng(zlib.crc32(self.label.encode()))
        self.diff = [k for k, a in enumerate(arrays) if a.dtype == np.float64 and a.size]
        self.leaves = _leaves(arrays)
        self.out = _apply(name, self.leaves, attrs)
        self.ok = self.out.dtype is dt.float64 and self.out.requires_grad
        if not self.ok:
            return
        shape = tuple(self.out.shape)
        self.v_arr = rng.standard_normal(shape)
        self.dirs = {k: rng.standard_normal(arrays[k].shape) for k in self.diff}
        self.dv = rng.standard_normal(shape)
        self.u = {k: rng.standard_normal(arrays[k].shape) for k in self.diff}

    def first_order(self):
        self.v = from_host(self.v_arr, dt.float64, requires_grad=True)
        xs = [self.leaves[k] for k in self.diff]
        self.g1 = irgrad.autograd.grad(self.out, xs, self.v, create_graph=True,
                                       allow_unused=True)
        # Like test_registry: inputs without a gradient (a sign, a condition) are not
        # perturbed; the function may be discontinuous in them.
        for k, g in zip(self.diff, self.g1):
            if g is None:
                self.dirs[k] = np.zeros_like(self.dirs[k])
        fd = []
        for sign in (1.0, -1.0):
            pert = [a + sign * EPS * self.dirs[k] if k in self.dirs else a
                    for k, a in enumerate(self.arrays)]
            ref = REGISTRY[self.name].reference(*pert, **self.attrs)
            fd.append(np.sum(self.v_arr * ref))
        self.fd1 = (fd[0] - fd[1]) / (2 * EPS)

    def second_order(self):
        self.s = _dot(self.g1, [self.u[k] for k in self.diff])
        if self.s is None or not self.s.requires_grad:
            self.g2 = None
            return
        xs = [self.leaves[k] for k in self.diff]
        self.g2 = irgrad.autograd.grad(self.s, xs + [self.v], allow_unused=True)
        self.s_pm = []
        for sign in (1.0, -1.0):
            shifts = {k: sign * self.dirs[k] for k in self.diff}
            leaves = _leaves(self.arrays, shifts, EPS)
            out = _apply(self.name, leaves, self.attrs)
            v = from_host(self.v_arr + sign * EPS * self.dv, dt.float64, requires_grad=True)
            g1 = irgrad.autograd.grad(out, [leaves[k] for k in self.diff], v,
                                      allow_unused=True)
            self.s_pm.append(_dot(g1, [self.u[k] for k in self.diff]))

    def nodes(self):
        ns = [g.node for g in self.g1 if g is not None]
        if self.g2 is not None:
            ns += [g.node for g in self.g2 if g is not None]
            ns += [s.node for s in self.s_pm if s is not None]
        return ns


def _evaluate(nodes):
    graph = Graph.cut(nodes)
    values = interpret(graph, [n.data.to_numpy() for n in graph.inputs])
    return {id(n): v for n, v in zip(graph.outputs, values)}


def _analytic(grads, dirs_list, values):
    total = 0.0
    for g, d in zip(grads, dirs_list):
        if g is not None:
            total += float(np.sum(values[id(g.node)] * d))
    return total


@pytest.fixture(scope="module")
def checked_cases():
    cases, raised = [], []
    for name, i, arrays, attrs in _cases():
        c = Case(name, i, arrays, attrs)
        if not c.ok:
            continue
        if name in RAISES_AT_FIRST_ORDER:
            with pytest.raises(RuntimeError, match="derivative"):
                c.first_order()
            raised.append(c.label)
            continue
        c.first_order()
        if not REGISTRY[name].second_order:
            c.s = _dot(c.g1, [c.u[k] for k in c.diff])
            if c.s is not None and c.s.requires_grad:
                with pytest.raises(RuntimeError, match="not implemented"):
                    irgrad.autograd.grad(c.s, [c.leaves[k] for k in c.diff],
                                         allow_unused=True)
            raised.append(c.label)
            c.g2 = None
            cases.append(c)
            continue
        c.second_order()
        cases.append(c)
    nodes = [n for c in cases for n in c.nodes()]
    values = _evaluate(nodes) if nodes else {}
    return cases, values, raised


def test_first_order_matches_finite_differences(checked_cases):
    cases, values, _ = checked_cases
    bad = []
    for c in cases:
        got = _analytic(c.g1, [c.dirs[k] for k in c.diff], values)
        if not np.isclose(got, c.fd1, rtol=RTOL, atol=ATOL):
            bad.append(f"{c.label}: engine {got:.8g} vs numeric {c.fd1:.8g}")
    assert len(cases) > 20
    assert not bad, "first-order gradients disagree:\n" + "\n".join(bad)


def test_second_order_matches_finite_differences(checked_cases):
    cases, values, _ = checked_cases
    bad, n = [], 0
    for c in cases:
        if c.g2 is None:
            continue
        n += 1
        got = _analytic(c.g2, [c.dirs[k] for k in c.diff] + [c.dv], values)
        s_p, s_m = (0.0 if s is None else float(values[id(s.node)]) for s in c.s_pm)
        fd = (s_p - s_m) / (2 * EPS)
        if not np.isclose(got, fd, rtol=RTOL, atol=ATOL):
            bad.append(f"{c.label}: engine {got:.8g} vs numeric {fd:.8g}")
    assert n > 20
    assert not bad, "second-order gradients disagree:\n" + "\n".join(bad)


def test_second_order_graphs_compile_and_agree(checked_cases):
    """One sample per op: the compiled second-order graph equals the interpreter's value."""
    cases, values, _ = checked_cases
    picked, seen = [], set()
    for c in cases:
        if c.g2 is not None and c.name not in seen:
            seen.add(c.name)
            picked += [g for g in c.g2 if g is not None]
    # Several ops per graph, and op by op when a batch fails, so a failure names the op.
    by_op, problems = {}, []
    for c in cases:
        if c.g2 is not None and c.name in seen and c.name not in by_op:
            by_op[c.name] = [g for g in c.g2 if g is not None]
    names = sorted(by_op)
    for i in range(0, len(names), 8):
        chunk = names[i:i + 8]
        try:
            irgrad.realize(*[g for n in chunk for g in by_op[n]])
        except CompileError:
            for n in chunk:
                try:
                    irgrad.realize(*by_op[n])
                except CompileError as e:
                    problems.append(f"{n}: {str(e).splitlines()[1][:200]}")
                    picked = [g for g in picked if all(g is not h for h in by_op[n])]
    assert not problems, "second-order graphs fail to compile:\n" + "\n".join(problems)
    for g in picked:
        np.testing.assert_allclose(g.detach().numpy(), values[id(g.node)], rtol=1e-9,
                                   atol=1e-9)


def test_op_without_second_derivative_raises():
    """An op that claims no second derivative: first order works, second order raises."""
    from irgrad.ir.opdef import defop
    from irgrad.ir.ops.common import unary_rule
    from irgrad.ir.ops.elementwise import mul

    name = "test_cube_first_order_only"
    defop(name, infer=unary_rule, reference=lambda x: x ** 3,
          scalar=lambda S, x: S.mul(x, S.mul(x, x)),
          grad=lambda g, n: (mul(g, mul(3.0, mul(n.inputs[0], n.inputs[0]))),),
          second_order=False)
    try:
        x = irgrad.tensor([1.0, 2.0], requires_grad=True)
        y = Tensor._from_node(make(name, (x.node,)))
        g, = irgrad.autograd.grad(y.sum(), x, create_graph=True)
        assert g.grad_fn.name() == "OnceDifferentiableBackward0"
        np.testing.assert_allclose(g.detach().numpy(), [3.0, 12.0])
        with pytest.raises(RuntimeError, match="the derivative for TestCubeFirstOrderOnly"
                                               "Backward0 is not implemented"):
            irgrad.autograd.grad(g.sum(), x)
        # Without create_graph nothing is marked and first order is unaffected.
        g2, = irgrad.autograd.grad(Tensor._from_node(make(name, (x.node,))).sum(), x)
        assert not g2.requires_grad
    finally:
        del REGISTRY[name]
