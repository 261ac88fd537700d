"""Custom `autograd.Function`s, checked against the same Function written for torch."""
import numpy as np
import pytest
import torch

import irgrad


def make_functions(lib):
    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            r = a.exp()
            ctx.save_for_backward(r)  # an output: higher orders go through this Function
            return r

        @staticmethod
        def backward(ctx, g):
            r, = ctx.saved_tensors
            return g * r

    class MulAdd(lib.autograd.Function):
        """Two outputs, a non-tensor argument, saved inputs, needs_input_grad."""

        @staticmethod
        def forward(ctx, a, b, k):
            ctx.k = k
            ctx.save_for_backward(a, b)
            return a * b * k, a + b

        @staticmethod
        def backward(ctx, g1, g2):
            a, b = ctx.saved_tensors
            ga = g1 * b * ctx.k + g2 if ctx.needs_input_grad[0] else None
            gb = g1 * a * ctx.k + g2 if ctx.needs_input_grad[1] else None
            return ga, gb, None

    class Cube(lib.autograd.Function):
        """forward without ctx + setup_context, as in recent PyTorch."""

        @staticmethod
        def forward(a):
            return a * a * a

        @staticmethod
        def setup_context(ctx, inputs, output):
            ctx.save_for_backward(inputs[0])

        @staticmethod
        def backward(ctx, g):
            a, = ctx.saved_tensors
            return g * 3.0 * a * a

    class SortLike(lib.autograd.Function):
        """A non-differentiable second output."""

        @staticmethod
        def forward(ctx, a):
            idx = (a > 0).long()
            ctx.mark_non_differentiable(idx)
            return a * 2.0, idx

        @staticmethod
        def backward(ctx, g, gidx):
            return g * 2.0

    return Exp, MulAdd, Cube, SortLike


IR = make_functions(irgrad)
TH = make_functions(torch)


def pair(shape, seed, low=-1.0, high=1.0):
    a = np.random.default_rng(seed).uniform(low, high, size=shape).astype(np.float32)
    return irgrad.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def close(a, b, rtol=1e-4):
    a = a.detach().numpy() if isinstance(a, irgrad.Tensor) else a
    b = b.detach().numpy() if isinstance(b, torch.Tensor) else b
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-5)


def test_functions_match_torch_first_and_second_order():
    x, tx = pair((4,), 0)
    w, tw = pair((4,), 1)
    res = []
    for lib, (Exp, MulAdd, Cube, SortLike), a, b in ((irgrad, IR, x, w), (torch, TH, tx, tw)):
        p, q = MulAdd.apply(a, b, 3.0)
        s, idx = SortLike.apply(Cube.apply(a))
        y = (Exp.apply(a) * p).sum() + (q * q).sum() + (s * b).sum()
        g = lib.autograd.grad(y, [a, b], create_graph=True)
        gg = lib.autograd.grad(g[0].sum() + (g[1] * g[1]).sum(), [a, b])
        res.append((y, g[0], g[1], gg[0], gg[1], idx))
    irgrad.realize(*res[0][:5])
    for ours, theirs in zip(*res):
        close(ours, theirs)
    assert not res[0][5].requires_grad and res[0][5].dtype == irgrad.int64
    assert res[0][0].grad_fn.name() == "AddBackward0"


def test_grad_fn_and_needs_input_grad():
    Exp, MulAdd, _, _ = IR
    x, _ = pair((3,), 2)
    y = Exp.apply(x)
    assert y.grad_fn.name() == "ExpBackward" and y.requires_grad and not y.is_leaf
    nf = y.grad_fn.next_functions
    assert len(nf) == 1 and nf[0][0].variable is x
    seen = []

    class Probe(irgrad.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, c):
            seen.append(ctx.needs_input_grad)
            return a + b

        @staticmethod
        def backward(ctx, g):
            return g, g, None

    Probe.apply(x, irgrad.tensor([1.0, 2.0, 3.0]), 5).sum().backward()
    assert seen == [(True, False, False)]
    close(x.grad, np.ones(3))


def test_no_grad_apply_and_inputs_without_grad():
    Exp = IR[0]
    with irgrad.no_grad():
        x, _ = pair((2,), 3)
        y = Exp.apply(x)
    assert not y.requires_grad and y.grad_fn is None
    z = Exp.apply(irgrad.tensor([0.0, 1.0]))
    assert not z.requires_grad
    close(z, np.exp([0.0, 1.0]))


def test_materialize_grads_and_unused_output():
    seen = []

    class Two(irgrad.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a * 2.0, a * 3.0

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1 is None, g2 is None))
            return g1 * 2.0 + g2 * 3.0

    x, _ = pair((3,), 4)
    p, q = Two.apply(x)
    p.sum().backward()
    assert seen == [(False, False)]
    close(x.grad, np.full(3, 2.0))

    class Lazy(Two):
        @staticmethod
        def forward(ctx, a):
            ctx.set_materialize_grads(False)
            return a * 2.0, a * 3.0

        @staticmethod
        def backward(ctx, g1, g2):
            seen.append((g1 is None, g2 is None))
            return g1 * 2.0

    x.grad = None
    p, q = Lazy.apply(x)
    p.sum().backward()
    assert seen[-1] == (False, True)


def test_returning_an_input_and_once_differentiable():
    class Ident(irgrad.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        @irgrad.autograd.once_differentiable
        def backward(ctx, g):
            return g * 2.0

    x, _ = pair((3,), 5)
    y = Ident.apply(x)
    assert y is not x and x.is_leaf and y.requires_grad
    g, = irgrad.autograd.grad((y * y).sum(), x, create_graph=True)
    close(g, 4.0 * x.detach().numpy())
    with pytest.raises(RuntimeError, match="derivative for IdentBackward is not implemented"):
        irgrad.autograd.grad(g.sum(), x)


def test_function_in_a_training_step_compiles_once():
    """A Function's forward and backward are ordinary lazy nodes: no extra graphs."""
    from irgrad.frontend import realize as realize_mod
    Exp = IR[0]
    w, _ = pair((4,), 6)
    counts = []
    for seed in (7, 8, 9):
        xb = irgrad.tensor(np.random.default_rng(seed).normal(size=(4,)).astype(np.float32))
        loss = (Exp.apply(w * xb) * xb).sum()
        loss.backward()
        before = realize_mod.counters["realizations"]
        irgrad.realize(loss, w.grad)
        assert realize_mod.counters["realizations"] == before + 1
        counts.append(realize_mod.counters["compiles"])
        w.grad = None
    assert counts[1] == counts[2]


def test_function_eager_mode():
    Exp = IR[0]
    x, tx = pair((3,), 10)
    with irgrad.eager():
        y = Exp.apply(x)
        assert y.node.data is not None
        y.backward(irgrad.ones(3))
        assert x.grad.node.data is not None
    TH[0].apply(tx).backward(torch.ones(3))
    close(x.grad, tx.grad)
