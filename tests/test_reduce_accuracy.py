"""Accuracy of long float reductions against PyTorch and float64.

IREE adds a reduction sequentially per vector lane (per output for column sums), so float32
errors grow with the length: 2e-6 relative for a 4M-value sum, 5e-5 for its sum of squares,
2e-6 for column sums over 2048 rows. Sums that reduce at least `reduce.WIDE_SUM_MIN` elements
into each output accumulate in float64 on the CPU and round once (plain and fused reductions
alike), which matches PyTorch's cascade summation (~1e-7). Shorter rows keep their float32
accumulator, and GPU targets keep theirs: both are checked on the emitted MLIR.
"""
import numpy as np
import pytest
import torch

import irgrad
from irgrad.frontend.creation import from_host
from irgrad.ir import dtypes as dt
from irgrad.ir.graph import Graph
from irgrad.ir.node import leaf
from irgrad.ir.ops import elementwise as E, reduce as R
from irgrad.ir.ops.common import cast
from irgrad.lowering.compile import _new_session
from irgrad.lowering.emit import emit_module
from irgrad.lowering.targets import compile_flags
from irgrad.passes.pipeline import optimize

N = 4 * 1024 * 1024
TOL = 1e-6  # PyTorch reaches ~1e-7 on these; float32 accumulation reaches 2e-7 to 5e-5


def rel_err(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    return float(np.max(np.abs(got - ref) / np.maximum(np.abs(ref), 1e-30)))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    # Positive values: rounding errors of a long sum then pile up in one direction.
    return (rng.random(N, dtype=np.float32), rng.random((2048, 2048), dtype=np.float32),
            rng.random((2048, 2048), dtype=np.float32))


def _cases(flat, a, b):
    """(label, fn(lib, flat, a, b), float64 reference); lib is irgrad or torch."""
    f, a64, b64 = flat.astype(np.float64), a.astype(np.float64), b.astype(np.float64)
    return [
        ("sum 4M", lambda L, x, a, b: x.sum(), f.sum()),
        ("mean 4M", lambda L, x, a, b: x.mean(), f.mean()),
        ("fused (x*x).sum() 4M", lambda L, x, a, b: (x * x).sum(), (f * f).sum()),
        ("norm 4M", lambda L, x, a, b: x.norm(), np.sqrt((f * f).sum())),
        ("logsumexp 4M", lambda L, x, a, b: L.logsumexp(x, 0),
         np.log(np.exp(f - f.max()).sum()) + f.max()),
        ("row sums 2048x2048", lambda L, x, a, b: a.sum(1), a64.sum(1)),
        ("column sums 2048x2048", lambda L, x, a, b: a.sum(0), a64.sum(0)),
        ("var 2048x2048", lambda L, x, a, b: a.var(), a64.var(ddof=1)),
        ("column var", lambda L, x, a, b: a.var(0), a64.var(0, ddof=1)),
        ("((a-b)**2).mean()", lambda L, x, a, b: ((a - b) ** 2).mean(),
         ((a64 - b64) ** 2).mean()),
        ("fused column sums of a*b", lambda L, x, a, b: (a * b).sum(0), (a64 * b64).sum(0)),
    ]


def test_long_float_sums_match_torch_accuracy(data):
    flat, a, b = data
    cases = _cases(flat, a, b)
    xi, ai, bi = (irgrad.tensor(v) for v in data)
    xt, at, bt = (torch.from_numpy(v) for v in data)
    outs = [fn(irgrad, xi, ai, bi) for _, fn, _ in cases]
    irgrad.realize(*outs)  # one graph, one compile
    report, bad = [], []
    for (label, fn, ref), out in zip(cases, outs):
        err = rel_err(out.numpy(), ref)
        torch_err = rel_err(fn(torch, xt, at, bt).numpy(), ref)
        report.append(f"{label}: irgrad {err:.2e}, torch {torch_err:.2e}")
        if err > TOL:
            bad.append(report[-1])
    assert not bad, "\n".join(bad)


def test_long_half_sums_round_once(data):
    """float16 rows widen to float32 (PyTorch's accumulate type) and, when long, further to
    float64: the result is the float64 sum rounded to half (<= half an ulp), like torch's."""
    a16 = data[1].astype(np.float16)
    ref = a16.astype(np.float64).sum(0)
    got = irgrad.tensor(a16).sum(0).numpy()
    assert got.dtype == np.float16
    half_ulp = 2.0 ** -11 * (1 + 1e-6)
    assert rel_err(got, ref) <= half_ulp
    assert rel_err(torch.from_numpy(a16).sum(0).numpy(), ref) <= half_ulp


def test_eager_long_sum(data):
    flat = data[0]
    with irgrad.eager():
        s = irgrad.tensor(flat).sum()
        assert s.node.data is not None
    assert rel_err(s.numpy(), flat.astype(np.float64).sum()) <= TOL


def _mlir(nodes, optimized=False, target="cpu"):
    g = Graph.cut(nodes)
    if optimized:
        g = optimize(g)
    module = emit_module(g, _new_session(compile_flags(target)).context)
    return module.operation.get_asm(enable_debug_info=False)


def test_only_long_reductions_widen():
    rng = np.random.default_rng(1)
    short = from_host(rng.random((4, R.WIDE_SUM_MIN - 1), dtype=np.float32), dt.float32).node
    long_ = from_host(rng.random((4, R.WIDE_SUM_MIN), dtype=np.float32), dt.float32).node
    for optimized in (False, True):  # plain `sum`, and `fused_reduce` with its producer
        assert "f64" not in _mlir([R.sum(E.mul(short, short), 1)], optimized)
        assert "f64" not in _mlir([R.mean(short, 1), R.sum(short, 0)], optimized)
        assert "f64" in _mlir([R.sum(E.mul(long_, long_), 1)], optimized)
        assert "f64" in _mlir([R.sum(long_, (0, 1))], optimized)
    # prod/amax/amin and integer sums keep their dtype whatever the length
    assert "f64" not in _mlir([R.prod(long_, 1), R.amax(long_, 1), R.amin(long_, 1),
                               R.sum(cast(long_, dt.int32), 1)])


def test_gpu_targets_keep_their_accumulator():
    # A node on a GPU device lowers with the dtype's own accumulator (f64 is slow or
    # missing there); the module is only emitted, never compiled or run.
    x = leaf(dt.float32, (4, 4 * R.WIDE_SUM_MIN), data=object(), device="cuda")
    s = R.sum(x, 1)
    assert s.device == "cuda"
    assert "f64" not in _mlir([s], target="cuda")
    assert "f64" in _mlir([R.sum(leaf(dt.float32, x.shape, data=object()), 1)])
