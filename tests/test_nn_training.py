"""nn in a training loop: lazily initialized parameters realize in one graph, BatchNorm's
running statistics are updated lazily and ride along with the step's graph, a torch model
trained step by step agrees with irgrad's (loss, running stats, weights), later steps
compile nothing, and eager mode agrees."""
import numpy as np
import pytest
import torch

import irgrad
import irgrad.nn as nn
import irgrad.nn.functional as F
from irgrad.frontend.realize import counters


def model(m):
    return m.Sequential(m.Conv2d(2, 3, 3, padding=1), m.BatchNorm2d(3), m.ReLU(),
                        m.Flatten(), m.Linear(3 * 4 * 4, 4), m.BatchNorm1d(4, momentum=None))


def small_model(m):
    """For eager mode, where every distinct op is its own compile."""
    return m.Sequential(m.Flatten(), m.Linear(2 * 4 * 4, 4), m.BatchNorm1d(4, momentum=None))


def test_parameters_initialize_in_one_graph():
    irgrad.manual_seed(0)
    net = model(nn)
    params = list(net.parameters())
    assert all(p._n.data is None for p in params)  # nothing computed yet
    before = counters["realizations"]
    irgrad.realize(*params)
    assert counters["realizations"] - before == 1
    assert all(p._n.op == "buffer" and p._n.requires_grad for p in params)
    w = net[0].weight.detach().numpy()
    bound = 1 / np.sqrt(2 * 3 * 3)  # kaiming_uniform(a=sqrt(5)) gives 1/sqrt(fan_in)
    assert np.all(np.abs(w) <= bound) and w.std() > bound / 4
    np.testing.assert_array_equal(net[1].weight.detach().numpy(), np.ones(3))
    np.testing.assert_array_equal(net[1].bias.detach().numpy(), np.zeros(3))


def _torch_steps(make, x, y, sd, steps, lr):
    tm = make(torch.nn)
    tm.load_state_dict(sd)
    opt = torch.optim.SGD(tm.parameters(), lr=lr, momentum=0.9)
    losses = []
    for i in range(steps):
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(tm(torch.tensor(x[i])), torch.tensor(y[i]))
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return tm, losses


@pytest.mark.parametrize("eager", [False, True])
def test_training_steps_match_torch(eager):
    rng = np.random.default_rng(0)
    steps = 4 if not eager else 2
    x = rng.standard_normal((steps, 5, 2, 4, 4)).astype(np.float32)
    y = rng.integers(0, 4, (steps, 5))
    make = small_model if eager else model
    torch.manual_seed(0)
    sd = make(torch.nn).state_dict()
    tm, t_losses = _torch_steps(make, x, y, sd, steps, 0.1)

    net = make(nn)
    net.load_state_dict({k: irgrad.tensor(v.numpy()) for k, v in sd.items()})
    opt = irgrad.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    losses, compiles = [], []
    with irgrad.eager(eager):
        for i in range(steps):
            before = counters["compiles"]
            opt.zero_grad()
            loss = F.cross_entropy(net(irgrad.tensor(x[i])), irgrad.tensor(y[i]))
            loss.backward()
            opt.step()
            losses.append(loss.item())
            compiles.append(counters["compiles"] - before)
            # The running statistics rode along with the step: nothing chains across steps.
            bns = [m for m in net if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d))]
            assert all(b.running_mean._n.data is not None for b in bns)
            assert all(b.num_batches_tracked._n.data is not None for b in bns)
    np.testing.assert_allclose(losses, t_losses, rtol=2e-4, atol=1e-5)
    if not eager:
        assert compiles[2:] == [0] * (steps - 2), compiles
    isd = net.state_dict()
    for k, v in tm.state_dict().items():
        np.testing.assert_allclose(isd[k].numpy(), v.numpy(), rtol=2e-4, atol=2e-5,
                                   err_msg=k)


def test_batchnorm_eval_uses_running_stats_and_no_grad_forward():
    bn = nn.BatchNorm1d(3)
    x = irgrad.tensor(np.random.default_rng(1).standard_normal((6, 3)).astype(np.float32))
    bn(x)
    bn.eval()
    with irgrad.no_grad():
        out = bn(x)
    rm, rv = bn.running_mean.numpy(), bn.running_var.numpy()
    expected = (x.numpy() - rm) / np.sqrt(rv + 1e-5)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    assert int(bn.num_batches_tracked.item()) == 1


def test_clip_grad_norm_and_value_match_torch():
    rng = np.random.default_rng(2)
    grads = [rng.standard_normal(s).astype(np.float32) for s in [(3, 4), (4,), (2, 2)]]
    results = []
    for norm_type in (2.0, 1.0, float("inf"), 3.0):
        tp = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
        ip = [nn.Parameter(irgrad.zeros(*g.shape)) for g in grads]
        for t, i, g in zip(tp, ip, grads):
            t.grad = torch.tensor(g)
            i.grad = irgrad.tensor(g)
        tn = torch.nn.utils.clip_grad_norm_(tp, 1.5, norm_type)
        inorm = nn.utils.clip_grad_norm_(ip, 1.5, norm_type)
        results.append((tn.item(), inorm, [t.grad.numpy() for t in tp], [i.grad for i in ip]))
    tp = [torch.nn.Parameter(torch.zeros(g.shape)) for g in grads]
    ip = [nn.Parameter(irgrad.zeros(*g.shape)) for g in grads]
    for t, i, g in zip(tp, ip, grads):
        t.grad, i.grad = torch.tensor(g), irgrad.tensor(g)
    torch.nn.utils.clip_grad_value_(tp, 0.5)
    nn.utils.clip_grad_value_(ip, 0.5)
    irgrad.realize(*[x for r in results for x in [r[1]] + r[3]], *[i.grad for i in ip])
    for tn, inorm, tg, ig in results:
        np.testing.assert_allclose(inorm.item(), tn, rtol=1e-5)
        for a, b in zip(tg, ig):
            np.testing.assert_allclose(b.numpy(), a, rtol=1e-5, atol=1e-6)
    for t, i in zip(tp, ip):
        np.testing.assert_allclose(i.grad.numpy(), t.grad.numpy())
    vec = nn.utils.parameters_to_vector(ip)
    assert vec.shape == (12 + 4 + 4,)
