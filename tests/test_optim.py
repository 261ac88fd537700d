"""irgrad.optim against torch.optim: same weights, gradients and hyperparameters give the
same parameters after several steps, for every optimizer and option; state_dict round trips;
schedulers match PyTorch's learning rates; a changing learning rate never recompiles.

Each parity case puts all option combinations of one optimizer into param groups of ONE
optimizer, so a step is one compiled graph (one compile per optimizer, not per option).
"""
import itertools
import math

import numpy as np
import pytest
import torch

import irgrad
from irgrad.frontend import realize

RTOL, ATOL = 2e-4, 1e-6
SHAPES = [(3, 4), (5,), ()]


def _groups(options, rng, dtype=np.float32, per_group=1):
    """Per option dict: the initial weights of its parameters (shapes cycle over SHAPES,
    so the options together cover a matrix, a vector and a 0-d parameter)."""
    out = []
    for i, opt in enumerate(options):
        shapes = [SHAPES[(i + j) % len(SHAPES)] for j in range(per_group)]
        out.append((opt, [rng.normal(size=s).astype(dtype) for s in shapes]))
    return out


def _run_both(cls_name, defaults, groups, rng, steps=4, dtype=np.float32):
    """Step irgrad's and torch's optimizer on identical data; return both parameter sets."""
    ig_groups, tc_groups, pairs = [], [], []
    for opt, ws in groups:
        ip = [irgrad.tensor(w, requires_grad=True) for w in ws]
        tp = [torch.nn.Parameter(torch.tensor(w)) for w in ws]
        ig_groups.append(dict(opt, params=ip))
        tc_groups.append(dict(opt, params=tp))
        pairs.extend(zip(ip, tp))
    ig = getattr(irgrad.optim, cls_name)(ig_groups, **defaults)
    tc = getattr(torch.optim, cls_name)(tc_groups, **defaults)
    for _ in range(steps):
        for ip, tp in pairs:
            g = rng.normal(size=tuple(tp.shape)).astype(dtype)
            ip.grad = irgrad.tensor(g)
            tp.grad = torch.tensor(g)
        ig.step()
        tc.step()
    return ig, tc, pairs


def _assert_params(pairs):
    for i, (ip, tp) in enumerate(pairs):
        np.testing.assert_allclose(ip.detach().numpy(), tp.detach().numpy(), rtol=RTOL,
                                   atol=ATOL, err_msg=f"parameter {i}")


def _combos(**axes):
    keys = list(axes)
    return [dict(zip(keys, vals)) for vals in itertools.product(*axes.values())]


SGD_OPTIONS = [o for o in _combos(momentum=[0.0, 0.9], dampening=[0.0, 0.3],
                                  nesterov=[False, True], weight_decay=[0.0, 0.05],
                                  maximize=[False, True])
               if not (o["nesterov"] and (o["momentum"] == 0 or o["dampening"] != 0))]
ADAM_OPTIONS = _combos(amsgrad=[False, True], weight_decay=[0.0, 0.1], maximize=[False, True],
                       betas=[(0.9, 0.999), (0.3, 0.8)])
RMSPROP_OPTIONS = _combos(centered=[False, True], momentum=[0.0, 0.5],
                          weight_decay=[0.0, 0.1], maximize=[False, True], alpha=[0.99, 0.6])


@pytest.mark.parametrize("cls_name,defaults,options", [
    ("SGD", dict(lr=0.05), SGD_OPTIONS),
    ("Adam", dict(lr=0.01, eps=1e-6), ADAM_OPTIONS),
    ("AdamW", dict(lr=0.01), ADAM_OPTIONS),
    ("RMSprop", dict(lr=0.01), RMSPROP_OPTIONS),
])
def test_parity_with_torch(cls_name, defaults, options, rng):
    before = realize.counters["compiles"]
    ig, tc, pairs = _run_both(cls_name, defaults, _groups(options, rng), rng, steps=4)
    _assert_params(pairs)
    # All option groups and steps run as one graph structure: one compile at most.
    assert realize.counters["compiles"] - before <= 1
    # The optimizer states agree too.
    isd, tsd = ig.state_dict(), tc.state_dict()
    assert isd["param_groups"] == tsd["param_groups"]
    assert sorted(isd["state"]) == sorted(tsd["state"])
    for k, st in tsd["state"].items():
        assert sorted(isd["state"][k]) == sorted(st), k
        for name, v in st.items():
            np.testing.assert_allclose(np.asarray(isd["state"][k][name].numpy()),
                                       v.numpy(), rtol=RTOL, atol=1e-6, err_msg=name)


def test_float64_params(rng):
    _, _, pairs = _run_both("Adam", dict(lr=0.01, amsgrad=True),
                            _groups([{}], rng, np.float64, per_group=3), rng, steps=3,
                            dtype=np.float64)
    for ip, tp in pairs:
        assert ip.dtype == irgrad.float64
        np.testing.assert_allclose(ip.detach().numpy(), tp.detach().numpy(), rtol=1e-10)


def test_eager_mode_matches(rng):
    with irgrad.eager():  # every op compiles on its own: keep it to one small parameter
        _, _, pairs = _run_both("SGD", dict(lr=0.1, momentum=0.9, nesterov=True),
                                [({}, [rng.normal(size=(3,)).astype(np.float32)])], rng,
                                steps=2)
    _assert_params(pairs)


def test_state_dict_round_trip_and_resume(rng, tmp_path):
    """Save after 2 steps, load into a fresh optimizer, continue: same as uninterrupted."""
    ws = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    gs = [[rng.normal(size=s).astype(np.float32) for s in SHAPES] for _ in range(4)]

    def make():
        ps = [irgrad.tensor(w, requires_grad=True) for w in ws]
        return ps, irgrad.optim.Adam([{"params": ps[:2]}, {"params": ps[2:], "lr": 0.02}],
                                     lr=0.01, amsgrad=True)

    def steps(ps, opt, seq):
        for g in seq:
            for p, gi in zip(ps, g):
                p.grad = irgrad.tensor(gi)
            opt.step()

    ps_a, opt_a = make()
    steps(ps_a, opt_a, gs)
    ps_b, opt_b = make()
    steps(ps_b, opt_b, gs[:2])
    irgrad.save({"params": ps_b, "optim": opt_b.state_dict()}, tmp_path / "ck.irg")
    ck = irgrad.load(tmp_path / "ck.irg")
    ps_c = [irgrad.tensor(p.detach().numpy(), requires_grad=True) for p in ck["params"]]
    opt_c = irgrad.optim.Adam([{"params": ps_c[:2]}, {"params": ps_c[2:]}], lr=0.5)
    opt_c.load_state_dict(ck["optim"])
    assert opt_c.param_groups[1]["lr"] == 0.02
    assert float(opt_c.state[ps_c[0]]["step"].item()) == 2.0
    steps(ps_c, opt_c, gs[2:])
    for a, c in zip(ps_a, ps_c):
        np.testing.assert_array_equal(a.detach().numpy(), c.detach().numpy())
    # The loaded dict is not aliased: stepping opt_c did not change ck's tensors.
    sd = opt_b.state_dict()["state"][0]["exp_avg"].numpy()
    np.testing.assert_array_equal(ck["optim"]["state"][0]["exp_avg"].numpy(), sd)


def test_load_torch_state_dict(rng):
    """A torch optimizer's state_dict (tensors converted) continues identically in irgrad."""
    ws = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    tp = [torch.nn.Parameter(torch.tensor(w)) for w in ws]
    tc = torch.optim.SGD(tp, lr=0.1, momentum=0.9, nesterov=True)
    for _ in range(2):
        for p in tp:
            p.grad = torch.tensor(rng.normal(size=tuple(p.shape)).astype(np.float32))
        tc.step()
    ip = [irgrad.tensor(p.detach().numpy(), requires_grad=True) for p in tp]
    ig = irgrad.optim.SGD(ip, lr=0.5)
    ig.load_state_dict(tc.state_dict())
    for _ in range(2):
        for a, b in zip(ip, tp):
            g = rng.normal(size=tuple(b.shape)).astype(np.float32)
            a.grad, b.grad = irgrad.tensor(g), torch.tensor(g)
        ig.step()
        tc.step()
    _assert_params(list(zip(ip, tp)))


def _scheduled_steps(make_sched, cls=irgrad.optim.SGD, steps=10, **kw):
    p = irgrad.tensor(np.ones((4, 3), np.float32), requires_grad=True)
    opt = cls([p], **kw)
    sched = make_sched(opt)
    g = irgrad.tensor(np.full((4, 3), 0.5, np.float32))
    p.grad = g
    opt.step()
    sched.step()
    before = realize.counters["compiles"]
    lrs = []
    for _ in range(steps):
        p.grad = g
        opt.step()
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    p.detach().numpy()
    return realize.counters["compiles"] - before, lrs, p


@pytest.mark.parametrize("cls,kw,make", [
    (irgrad.optim.SGD, dict(lr=0.1, momentum=0.9),
     lambda o: irgrad.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5)),
    (irgrad.optim.Adam, dict(lr=0.1),
     lambda o: irgrad.optim.lr_scheduler.CosineAnnealingLR(o, T_max=5)),
    (irgrad.optim.Adam, dict(lr=0.1),
     lambda o: irgrad.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=20)),
    (irgrad.optim.SGD, dict(lr=0.1, momentum=0.9),
     lambda o: irgrad.optim.lr_scheduler.OneCycleLR(o, max_lr=0.5, total_steps=20)),
])
def test_schedule_never_recompiles(cls, kw, make):
    compiles, lrs, _ = _scheduled_steps(make, cls, **kw)
    assert len(set(lrs)) > 3          # the schedule really changed the lr
    assert compiles == 0


def test_training_loop_compiles_once_and_matches_torch(rng):
    """A real loop (forward, backward, step, LR schedule, loss.item()) compiles its step
    graph once and tracks PyTorch's losses."""
    X = rng.normal(size=(16, 5)).astype(np.float32)
    Y = rng.normal(size=(16, 1)).astype(np.float32)
    W = rng.normal(size=(5, 1)).astype(np.float32)
    iw = irgrad.tensor(W, requires_grad=True)
    tw = torch.nn.Parameter(torch.tensor(W))
    io = irgrad.optim.SGD([iw], lr=0.05, momentum=0.9)
    to = torch.optim.SGD([tw], lr=0.05, momentum=0.9)
    isch = irgrad.optim.lr_scheduler.StepLR(io, 2, gamma=0.7)
    tsch = torch.optim.lr_scheduler.StepLR(to, 2, gamma=0.7)
    ix, iy, tx, ty = irgrad.tensor(X), irgrad.tensor(Y), torch.tensor(X), torch.tensor(Y)
    losses, compiles = [], []
    for step in range(8):
        c0 = realize.counters["compiles"]
        for opt, sch, w, x, y, out in ((io, isch, iw, ix, iy, "i"), (to, tsch, tw, tx, ty, "t")):
            opt.zero_grad()
            loss = ((x @ w - y) ** 2).mean()
            loss.backward()
            opt.step()
            sch.step()
            losses.append((out, step, loss.item()))
        compiles.append(realize.counters["compiles"] - c0)
    il = [v for o, _, v in losses if o == "i"]
    tl = [v for o, _, v in losses if o == "t"]
    np.testing.assert_allclose(il, tl, rtol=RTOL)
    assert sum(compiles[2:]) == 0, compiles


def test_lr_as_tensor(rng):
    p = irgrad.tensor(np.ones(3, np.float32), requires_grad=True)
    lr = irgrad.tensor(0.5)
    opt = irgrad.optim.SGD([p], lr=lr)
    p.grad = irgrad.tensor(np.array([1.0, 2.0, 3.0], np.float32))
    opt.step()
    np.testing.assert_allclose(p.detach().numpy(), [0.5, 0.0, -0.5])


def test_zero_grad_and_closure(rng):
    p = irgrad.tensor(np.ones(3, np.float32), requires_grad=True)
    opt = irgrad.optim.SGD([p], lr=0.1)
    p.grad = irgrad.tensor(np.ones(3, np.float32))
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), np.zeros(3))
    opt.zero_grad()
    assert p.grad is None

    def closure():
        opt.zero_grad()
        loss = (p * p).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert loss.item() == pytest.approx(3.0)
    np.testing.assert_allclose(p.detach().numpy(), np.full(3, 0.8), rtol=1e-6)
    assert p.is_leaf and p.requires_grad


def test_param_groups_and_errors():
    a = irgrad.tensor(np.ones(2, np.float32), requires_grad=True)
    b = irgrad.tensor(np.ones(2, np.float32), requires_grad=True)
    opt = irgrad.optim.SGD([a], lr=0.1)
    opt.add_param_group({"params": b, "momentum": 0.5})
    assert opt.param_groups[1]["lr"] == 0.1 and opt.param_groups[1]["momentum"] == 0.5
    cases = [
        (lambda: irgrad.optim.SGD([], lr=0.1), ValueError,
         "optimizer got an empty parameter list"),
        (lambda: irgrad.optim.SGD(a, lr=0.1), TypeError, "should be an iterable of Tensors"),
        (lambda: irgrad.optim.SGD([a], lr=-1), ValueError, "Invalid learning rate: -1"),
        (lambda: irgrad.optim.SGD([a], lr=0.1, nesterov=True), ValueError,
         "Nesterov momentum requires a momentum and zero dampening"),
        (lambda: irgrad.optim.Adam([a], betas=(1.0, 0.9)), ValueError,
         "Invalid beta parameter at index 0: 1.0"),
        (lambda: irgrad.optim.Adam([a], eps=-1), ValueError, "Invalid epsilon value: -1"),
        (lambda: irgrad.optim.RMSprop([a], alpha=-1), ValueError, "Invalid alpha value: -1"),
        (lambda: irgrad.optim.SGD([{"params": [a]}, {"params": [a]}], lr=0.1), ValueError,
         "some parameters appear in more than one parameter group"),
        (lambda: irgrad.optim.SGD([1.0], lr=0.1), TypeError,
         "optimizer can only optimize Tensors, but one of the params is float"),
        (lambda: irgrad.optim.SGD([a * 2], lr=0.1), ValueError,
         "can't optimize a non-leaf Tensor"),
        (lambda: opt.load_state_dict({"state": {}, "param_groups": []}), ValueError,
         "different number of parameter groups"),
    ]
    for fn, exc, msg in cases:
        with pytest.raises(exc, match=msg.replace("(", r"\(").replace(")", r"\)")):
            fn()
    # torch raises the same classes for these
    with pytest.raises(ValueError, match="empty parameter list"):
        torch.optim.SGD([], lr=0.1)


# ---- schedulers: learning rates equal PyTorch's at every step -----------------------------

def _lr_trace(mod, make, opt_name="SGD", steps=30, groups=2, **kw):
    params = [[mod.nn.Parameter(mod.zeros(2)) if mod is torch else
               irgrad.tensor(np.zeros(2, np.float32), requires_grad=True)]
              for _ in range(groups)]
    pgs = [{"params": ps, "lr": 0.1 * (i + 1)} for i, ps in enumerate(params)]
    opt = getattr(mod.optim, opt_name)(pgs, **kw)
    sched = make(mod.optim.lr_scheduler, opt)
    trace = []
    for epoch in range(steps):
        if isinstance(sched, mod.optim.lr_scheduler.ReduceLROnPlateau):
            sched.step(1.0 if epoch < 3 else 2.0)
        else:
            sched.step()
        mom = [g.get("momentum", g.get("betas", (None,))[0]) for g in opt.param_groups]
        trace.append((list(sched.get_last_lr()) if hasattr(sched, "get_last_lr") else None,
                      mom))
    return trace, sched


SCHEDULERS = [
    ("StepLR", lambda m, o: m.StepLR(o, step_size=3, gamma=0.5), {}),
    ("MultiStepLR", lambda m, o: m.MultiStepLR(o, milestones=[2, 5, 5, 9], gamma=0.3), {}),
    ("ExponentialLR", lambda m, o: m.ExponentialLR(o, gamma=0.9), {}),
    ("CosineAnnealingLR", lambda m, o: m.CosineAnnealingLR(o, T_max=7, eta_min=0.01), {}),
    ("LambdaLR", lambda m, o: m.LambdaLR(o, lambda e: 1.0 / (1 + e)), {}),
    ("MultiplicativeLR", lambda m, o: m.MultiplicativeLR(o, lambda e: 0.95), {}),
    ("LinearLR", lambda m, o: m.LinearLR(o, start_factor=0.25, total_iters=6), {}),
    ("ConstantLR", lambda m, o: m.ConstantLR(o, factor=0.5, total_iters=4), {}),
    ("PolynomialLR", lambda m, o: m.PolynomialLR(o, total_iters=8, power=2.0), {}),
    ("OneCycleLR-sgd", lambda m, o: m.OneCycleLR(o, max_lr=[1.0, 2.0], total_steps=31),
     dict(momentum=0.9)),
    ("OneCycleLR-adam-3phase-linear", lambda m, o: m.OneCycleLR(
        o, max_lr=1.0, epochs=4, steps_per_epoch=8, three_phase=True,
        anneal_strategy="linear"), "Adam"),
    ("SequentialLR", lambda m, o: m.SequentialLR(
        o, [m.LinearLR(o, start_factor=0.1, total_iters=3), m.ExponentialLR(o, gamma=0.8)],
        milestones=[4]), {}),
    ("ReduceLROnPlateau", lambda m, o: m.ReduceLROnPlateau(o, patience=2, factor=0.5), {}),
]


@pytest.mark.filterwarnings("ignore:Detected call of")
@pytest.mark.parametrize("name,make,kw", SCHEDULERS, ids=[s[0] for s in SCHEDULERS])
def test_scheduler_matches_torch(name, make, kw):
    opt_name = kw if isinstance(kw, str) else "SGD"
    kw = {} if isinstance(kw, str) else kw
    mine, isched = _lr_trace(irgrad, make, opt_name, **kw)
    ref, tsched = _lr_trace(torch, make, opt_name, **kw)
    for step, ((ilr, imom), (tlr, tmom)) in enumerate(zip(mine, ref)):
        np.testing.assert_allclose(ilr, tlr, rtol=1e-12, err_msg=f"{name} step {step}")
        assert imom == pytest.approx(tmom, rel=1e-12), (name, step)
    sd = isched.state_dict()
    assert "optimizer" not in sd and sd["last_epoch"] == tsched.state_dict()["last_epoch"]


def test_scheduler_state_dict_resume():
    def make(opt):
        return irgrad.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=10)
    p = irgrad.tensor(np.zeros(2, np.float32), requires_grad=True)
    opt = irgrad.optim.SGD([p], lr=1.0)
    s = make(opt)
    for _ in range(4):
        s.step()
    saved_opt, saved = opt.state_dict(), s.state_dict()
    tail = []
    for _ in range(4):
        s.step()
        tail.append(s.get_last_lr()[0])
    opt2 = irgrad.optim.SGD([p], lr=1.0)
    opt2.load_state_dict(saved_opt)
    s2 = make(opt2)
    s2.load_state_dict(saved)
    tail2 = []
    for _ in range(4):
        s2.step()
        tail2.append(s2.get_last_lr()[0])
    assert tail == tail2 and not math.isnan(tail[0])


def test_onecycle_errors():
    p = irgrad.tensor(np.zeros(2, np.float32), requires_grad=True)
    opt = irgrad.optim.SGD([p], lr=0.1, momentum=0.9)
    m = irgrad.optim.lr_scheduler
    with pytest.raises(ValueError, match="You must define either total_steps OR"):
        m.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(ValueError, match="Expected float between 0 and 1 pct_start"):
        m.OneCycleLR(opt, max_lr=1.0, total_steps=10, pct_start=1.5)
    s = m.OneCycleLR(opt, max_lr=1.0, total_steps=3)
    s.step()
    s.step()
    s.step()
    with pytest.raises(ValueError, match="Tried to step 4 times"):
        s.step()
