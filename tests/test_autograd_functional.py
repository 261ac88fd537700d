"""autograd.functional (vjp, jvp, jacobian, hessian, vhp, hvp) and gradcheck vs torch."""
import numpy as np
import pytest
import torch

import irgrad
from irgrad.autograd import functional as F


def f_vec(lib):
    return lambda x, y: (lib.tanh(x * y) * x, (x.exp() * y).sum())


def f_scalar(lib):
    return lambda x, y: (x.exp() * y * y).sum() + (x * x * y).sum()


def data():
    rng = np.random.default_rng(0)
    return [rng.uniform(0.2, 0.9, size=(3,)).astype(np.float32) for _ in range(2)]


def both(arrays):
    return ([irgrad.tensor(a) for a in arrays], [torch.tensor(a) for a in arrays])


def flat(x):
    if isinstance(x, (tuple, list)):
        return [t for y in x for t in flat(y)]
    return [x]


def test_functional_matches_torch():
    arrays = data()
    (ix, iy), (tx, ty) = both(arrays)
    v_out = [np.ones(3, np.float32) * 0.5, np.array(2.0, np.float32)]
    v_in = [np.array([1.0, -1.0, 0.5], np.float32), np.array([0.3, 0.2, 0.1], np.float32)]
    ours, theirs = [], []
    for lib, mod, xs, res in ((irgrad, F, (ix, iy), ours),
                              (torch, torch.autograd.functional, (tx, ty), theirs)):
        fv, fs = f_vec(lib), f_scalar(lib)
        res.append(mod.vjp(fv, xs, tuple(lib.tensor(v) for v in v_out)))
        res.append(mod.jvp(fv, xs, tuple(lib.tensor(v) for v in v_in)))
        res.append(mod.jacobian(fv, xs))
        res.append(mod.hessian(fs, xs))
        res.append(mod.vhp(fs, xs, tuple(lib.tensor(v) for v in v_in)))
        res.append(mod.hvp(fs, xs, tuple(lib.tensor(v) for v in v_in)))
        res.append(mod.jacobian(lambda a: a.exp() * 2.0, xs[0]))
        res.append(mod.hessian(lambda a: (a * a * a).sum(), xs[0]))
    got, want = flat(ours), flat(theirs)
    assert len(got) == len(want)
    irgrad.realize(*got)
    for a, b in zip(got, want):
        assert tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-4, atol=1e-5)
        assert not a.requires_grad


def test_functional_create_graph_and_errors():
    x = irgrad.tensor([0.5, 1.0], requires_grad=True)
    _, j = F.vjp(lambda a: (a * a).sum(), x, create_graph=True)
    assert j.requires_grad
    g, = irgrad.autograd.grad(j.sum(), x)
    np.testing.assert_allclose(g.numpy(), [2.0, 2.0])
    with pytest.raises(RuntimeError, match="v can only be None"):
        F.vjp(lambda a: a * 2.0, x)
    with pytest.raises(TypeError, match="must be either a Tensor or a tuple of Tensors"):
        F.jacobian(lambda a: a, [x])


def test_gradcheck_and_gradgradcheck():
    rng = np.random.default_rng(1)
    x = irgrad.tensor(rng.uniform(0.2, 0.9, size=2), dtype=irgrad.float64, requires_grad=True)
    w = irgrad.tensor(rng.uniform(0.2, 0.9, size=2), dtype=irgrad.float64, requires_grad=True)

    def f(a, b):
        return (a.exp() * b).tanh()

    assert irgrad.autograd.gradcheck(f, (x, w))
    assert irgrad.autograd.gradgradcheck(f, (x, w))

    class WrongExp(irgrad.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a.exp()

        @staticmethod
        def backward(ctx, g):
            return g * 2.0

    with pytest.raises(irgrad.autograd.GradcheckError, match="Jacobian mismatch for output 0 "
                                                             "with respect to input 0"):
        irgrad.autograd.gradcheck(WrongExp.apply, (x,))
    assert not irgrad.autograd.gradcheck(WrongExp.apply, (x,), raise_exception=False)
