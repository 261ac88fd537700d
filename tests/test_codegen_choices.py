"""Per-graph compile choices and the fast run path: data tiling for large matmuls only,
fusion barriers that do not make IREE wait on the host, and gathers whose indices are known
at record time compiling without a run-time bounds assert."""
import numpy as np
import pytest
import torch

import irgrad
from irgrad.ir.graph import Graph
from irgrad.lowering import codegen_choice
from irgrad.lowering.builder import Lowerer
from irgrad.lowering.compile import compile_graph
from irgrad.passes.pipeline import optimize


def _graph(*tensors):
    return optimize(Graph.cut([t.node for t in tensors]))


def test_contraction_sides_of_transposed_and_batched_specs():
    a, b = irgrad.randn(7, 5, 3), irgrad.randn(7, 5, 4)
    node = irgrad.einsum("bki,bkj->bij", a, b).node
    # einsum may record a permuted contract; the sides do not depend on the layout
    contract = [n for n in Graph.cut([node]).nodes if n.op == "contract"][0]
    assert sorted(codegen_choice.contraction_sides(contract)[:2]) == [3, 4]
    assert codegen_choice.contraction_sides(contract)[2] == 5


@pytest.mark.parametrize("m,n,k,want", [(128, 512, 784, True), (512, 784, 128, True),
                                        (1, 32, 16, False), (32, 512, 512, False),
                                        (64, 64, 64, False), (256, 256, 256, True)])
def test_data_tiling_only_for_large_matmuls(m, n, k, want, monkeypatch):
    monkeypatch.delenv("IRGRAD_DATA_TILING", raising=False)
    x, w = irgrad.randn(m, k), irgrad.randn(n, k)
    g = _graph(x @ w.t())
    assert codegen_choice.wants_data_tiling(g) is want
    assert ("--iree-opt-data-tiling" in codegen_choice.codegen_flags(g, "cpu")) is want
    assert codegen_choice.codegen_flags(g, "cuda") == ()


def test_data_tiling_override(monkeypatch):
    g = _graph(irgrad.randn(2, 3) @ irgrad.randn(3, 2))
    monkeypatch.setenv("IRGRAD_DATA_TILING", "1")
    assert codegen_choice.codegen_flags(g, "cpu") == codegen_choice.DATA_TILING_FLAGS
    monkeypatch.setenv("IRGRAD_DATA_TILING", "0")
    big = _graph(irgrad.randn(256, 256) @ irgrad.randn(256, 256))
    assert codegen_choice.codegen_flags(big, "cpu") == ()


def test_data_tiled_train_step_matches_torch():
    """A step large enough to get data tiling computes what torch computes."""
    rng = np.random.default_rng(0)
    xh = rng.standard_normal((128, 96)).astype(np.float32)
    wh = (rng.standard_normal((512, 96)) * 0.1).astype(np.float32)
    yh = rng.integers(0, 512, size=128)
    outs = []
    for lib in (irgrad, torch):
        w = lib.tensor(wh, requires_grad=True)
        loss = lib.nn.functional.cross_entropy(lib.tensor(xh) @ w.t(), lib.tensor(yh))
        loss.backward()
        outs.append((loss, w.grad))
    g = Graph.cut([outs[0][0].node, outs[0][1].node])
    assert codegen_choice.wants_data_tiling(optimize(g))
    np.testing.assert_allclose(outs[0][0].item(), outs[1][0].item(), rtol=1e-5)
    np.testing.assert_allclose(outs[0][1].numpy(), outs[1][1].numpy(), rtol=1e-4, atol=1e-6)


def _awaits_on_host(vmfb: bytes) -> bool:
    # The VM imports hal.fence.await only when a function waits for the device mid-call.
    return b"fence.await" in vmfb


def test_fusion_barrier_does_not_wait_on_the_host(monkeypatch):
    x = irgrad.randn(16, 10)
    idx = irgrad.tensor(np.arange(16) % 10)
    # Known index values: checked at record time, so the graph needs no run-time assert.
    y = (x * 2.0).gather(1, idx.reshape(16, 1)).sum()
    g = _graph(y)
    assert all(n.attrs.get("check", 0) == 0 for n in g.nodes if n.op == "gather")
    vmfb, text = compile_graph(g)
    assert "compute_barrier" in text
    assert not _awaits_on_host(vmfb)

    # Control: the optimization barrier used before does make the call wait mid-graph.
    from irgrad.lowering.mlir import util_d
    monkeypatch.setattr(Lowerer, "barrier",
                        lambda self, v: util_d.optimization_barrier([v.type], [v]))
    vmfb_old, _ = compile_graph(g)
    assert _awaits_on_host(vmfb_old)


def test_gathers_from_fused_strided_and_reshaped_slices_match_torch():
    """The case the fusion barrier exists for: IREE 3.13 fails to compile a data-dependent
    read of a fused strided or collapsed slice."""
    x = np.arange(60, dtype=np.float32).reshape(6, 10)
    i = np.array([[0, 2, 1], [3, 1, 0]])
    results = []
    for lib in (irgrad, torch):
        X, I = lib.tensor(x), lib.tensor(i)
        a = (X * 2)[::2, 1::3]
        b = (X + 1).reshape(10, 6)[:, :3]
        j = (I + 1) % 3
        results.append([lib.gather(a, 1, j[:, :2]), lib.gather(b, 0, j % 3), a.flip(0),
                        lib.take(b, j), a[j[0]], b.index_select(0, j[1])])
    irgrad.realize(*results[0])
    for got, want in zip(*results):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_index_known_through_reshape_is_checked_when_recorded():
    x = irgrad.randn(4, 3)
    bad = irgrad.tensor(np.array([0, 1, 5, 2]))
    with pytest.raises(RuntimeError):
        x.gather(1, bad.reshape(4, 1))
    ok = irgrad.tensor(np.array([0, 1, 2, 2]))
    node = x.gather(1, ok.reshape(4, 1)).node
    assert node.attrs["check"] == 0
