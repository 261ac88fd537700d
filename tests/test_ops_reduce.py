"""Reductions, scans and sorting against PyTorch: values, dtypes, shapes, errors, gradients.

Every case runs the same function on torch tensors and on irgrad tensors. Lazy cases are
realized together (one compile per test); eager mode runs a small subset op by op.
The helpers here (`check_cases`, `check_grads`, `check_errors`) are shared with
test_ops_composite.py.
"""
import numpy as np
import pytest
import torch

import irgrad

RNG = np.random.default_rng(1234)


def f32(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, size=shape).astype(np.float32)


def distinct(*shape, scale=7.0):
    """Float32 values without ties (so tie conventions never decide a gradient)."""
    n = int(np.prod(shape))
    return (RNG.permutation(n).reshape(shape) / scale - n / (2 * scale)).astype(np.float32)


def ints(*shape, low=-5, high=6, dtype=np.int64):
    return RNG.integers(low, high, size=shape).astype(dtype)


def _flat(r):
    if isinstance(r, (tuple, list)):
        return [y for x in r for y in _flat(x)]
    return [r]


def _torch_dtype_name(t):
    return str(t.dtype).replace("torch.", "")


def _host(t):
    if isinstance(t, torch.Tensor):
        t = t.detach()
        return (t.float() if t.dtype == torch.bfloat16 else t).numpy()
    return t.detach().numpy()


def compare(label, got, exp, rtol=1e-4, atol=1e-5):
    assert isinstance(got, irgrad.Tensor), f"{label}: got {type(got).__name__}"
    assert tuple(got.shape) == tuple(exp.shape), f"{label}: shape {tuple(got.shape)} != " \
                                                 f"{tuple(exp.shape)}"
    assert got.dtype.name == _torch_dtype_name(exp), \
        f"{label}: dtype {got.dtype.name} != {_torch_dtype_name(exp)}"
    g, e = _host(got), _host(exp)
    if exp.dtype.is_floating_point:
        np.testing.assert_allclose(g, e, rtol=rtol, atol=atol, equal_nan=True, err_msg=label)
    else:
        np.testing.assert_array_equal(g, e, err_msg=label)


def _inputs(lib, arrays, requires_grad=False):
    out = []
    for a in arrays:
        if not isinstance(a, np.ndarray):
            out.append(a)
            continue
        rg = requires_grad and a.dtype.kind == "f"
        if lib is torch:
            out.append(torch.tensor(a, requires_grad=rg))
        else:
            out.append(irgrad.tensor(a, requires_grad=rg))
    return out


def check_cases(cases, libs=None, rtol=1e-4, atol=1e-5):
    """cases: [(label, fn(lib, ns, *tensors), arrays)]; `libs` maps each lib to its `ns`
    (a namespace such as torch.nn.functional). Realizes every irgrad result in one call."""
    libs = libs or {torch: torch, irgrad: irgrad}
    results = []
    for label, fn, arrays in cases:
        exp = _flat(fn(torch, libs[torch], *_inputs(torch, arrays)))
        got = _flat(fn(irgrad, libs[irgrad], *_inputs(irgrad, arrays)))
        assert len(got) == len(exp), f"{label}: {len(got)} results, torch gives {len(exp)}"
        results.append((label, got, exp))
    irgrad.realize([t for _, got, _ in results for t in got])
    for label, got, exp in results:
        for i, (g, e) in enumerate(zip(got, exp)):
            compare(f"{label}[{i}]", g, e, rtol, atol)


def check_grads(cases, libs=None, rtol=1e-3, atol=1e-4):
    """Gradients of sum(out * w) with respect to every float input, against torch."""
    libs = libs or {torch: torch, irgrad: irgrad}
    results = []
    for label, fn, arrays in cases:
        per_lib = {}
        for lib in (torch, irgrad):
            ins = _inputs(lib, arrays, requires_grad=True)
            out = _flat(fn(lib, libs[lib], *ins))[0]
            w = np.random.default_rng(len(label)).uniform(0.5, 1.5, size=tuple(out.shape))
            w = w.astype(np.float32 if out.dtype in (torch.float32, irgrad.float32) else
                         np.float64)
            wt = torch.tensor(w) if lib is torch else irgrad.tensor(w)
            loss = (out * wt).sum()
            leaves = [t for t in ins if hasattr(t, "requires_grad") and t.requires_grad]
            per_lib[lib] = (lib.autograd.grad(loss, leaves), leaves)
        results.append((label, per_lib[irgrad][0], per_lib[torch][0]))
    irgrad.realize([g for _, gs, _ in results for g in gs])
    for label, got, exp in results:
        for i, (g, e) in enumerate(zip(got, exp)):
            compare(f"{label} grad {i}", g, e, rtol, atol)


def check_errors(cases, libs=None):
    """Bad calls raise PyTorch's exception class (and message, where given)."""
    libs = libs or {torch: torch, irgrad: irgrad}
    for label, fn, arrays, message in cases:
        with pytest.raises(Exception) as te:
            fn(torch, libs[torch], *_inputs(torch, arrays))
        with pytest.raises(type(te.value)) as ie:
            fn(irgrad, libs[irgrad], *_inputs(irgrad, arrays))
        if message:
            assert message in str(ie.value), f"{label}: {ie.value!r}"
            assert message in str(te.value), f"{label}: torch says {te.value!r}"


X = f32(3, 4, 5)
XD = distinct(3, 4, 5)
X64 = RNG.normal(size=(4, 6))
XI = ints(3, 4)
XU8 = ints(2, 7, low=0, high=255, dtype=np.uint8)
XB = RNG.random((3, 4)) > 0.5
XE = np.zeros((0, 3), np.float32)
X0 = np.array(1.5, np.float32)
TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, -1.0, 5.0]], np.float32)
NANS = np.array([[1.0, np.nan, 3.0, np.nan], [np.inf, 1.0, np.inf, -np.inf],
                 [0.5, -0.5, 2.0, 1.0]], np.float32)
ZEROS = np.array([[1.5, 0.0, -2.0, 0.7], [0.0, 1.1, 0.0, -0.9], [1.2, -0.8, 1.3, 0.6]],
                 np.float32)

REDUCE_CASES = [
    ("sum all", lambda L, F, x: L.sum(x), [X]),
    ("sum dim", lambda L, F, x: x.sum(1), [X]),
    ("sum dims keepdim", lambda L, F, x: L.sum(x, (0, 2), keepdim=True), [X]),
    ("sum neg dim list", lambda L, F, x: x.sum([-1, 0]), [X]),
    ("sum dtype", lambda L, F, x: L.sum(x, 1, dtype=L.float64), [X]),
    ("sum int", lambda L, F, x: x.sum(0), [XI]),
    ("sum bool", lambda L, F, x: x.sum(), [XB]),
    ("sum uint8", lambda L, F, x: x.sum(1), [XU8]),
    ("sum empty", lambda L, F, x: (x.sum(0), x.sum()), [XE]),
    ("sum 0-d", lambda L, F, x: (x.sum(), x.sum(0), x.sum(-1, keepdim=True)), [X0]),
    ("sum dim=None keepdim", lambda L, F, x: L.sum(x, dim=None, keepdim=True), [X]),
    ("sum f64", lambda L, F, x: x.sum(1), [X64]),
    ("sum f16", lambda L, F, x: x.half().sum(1).float(), [X]),
    ("nansum", lambda L, F, x: (L.nansum(x), L.nansum(x, 1)), [NANS]),
    ("nansum int", lambda L, F, x: L.nansum(x, 0), [XI]),
    ("mean", lambda L, F, x: (x.mean(), x.mean(1), x.mean((0, 2), True)), [X]),
    ("mean int dtype", lambda L, F, x: x.mean(dtype=L.float64), [XI]),
    ("mean empty", lambda L, F, x: (x.mean(), x.mean(0)), [XE]),
    ("nanmean", lambda L, F, x: (L.nanmean(x), L.nanmean(x, 1)), [NANS]),
    ("prod", lambda L, F, x: (x.prod(), x.prod(1), x.prod(0, True)), [ZEROS]),
    ("prod int", lambda L, F, x: (x.prod(1), x.prod(dtype=L.float64)), [ints(2, 5, low=1, high=4)]),
    ("prod empty", lambda L, F, x: x.prod(0), [XE]),
    ("amax/amin", lambda L, F, x: (x.amax(), x.amax((0, 2)), x.amin(1, True)), [X]),
    ("amax ties nan", lambda L, F, x: (x.amax(1), x.amin(1)), [NANS]),
    ("amax int uint8 bool", lambda L, F, a, b, c: (a.amax(1), b.amin(1), c.amax(0)), [XI, XU8, XB]),
    ("amax empty kept", lambda L, F, x: x.amax(1), [XE]),
    ("max/min all", lambda L, F, x: (x.max(), x.min()), [X]),
    ("max dim", lambda L, F, x: L.max(x, 1), [XD]),
    ("min dim keepdim", lambda L, F, x: x.min(dim=2, keepdim=True), [XD]),
    ("max dim ties", lambda L, F, x: (x.max(1), x.min(1), x.max(0)), [TIES]),
    ("max dim nan", lambda L, F, x: (x.max(1), x.min(1)), [NANS]),
    ("max int", lambda L, F, x: (x.max(0), x.min(1), x.max()), [XI]),
    ("max binary", lambda L, F, a, b: (L.max(a, b), b.min(a)), [f32(3, 4), f32(4)]),
    ("max 0-d dim", lambda L, F, x: L.max(x, 0), [X0]),
    ("argmax", lambda L, F, x: (x.argmax(), x.argmax(1), x.argmin(2, True),
                                L.argmax(x, keepdim=True)), [X]),
    ("argmax ties nan", lambda L, F, a, b: (a.argmax(1), a.argmin(1), b.argmax(1),
                                            b.argmin(1), b.argmax(), a.argmin()),
     [TIES, NANS]),
    ("argmax int uint8", lambda L, F, a, b: (a.argmax(0), b.argmin(1)), [XI, XU8]),
    ("argmax 0-d", lambda L, F, x: (x.argmax(), x.argmin(0)), [X0]),
    ("argmax empty kept", lambda L, F, x: x.argmax(1), [XE]),
    ("logsumexp", lambda L, F, x: (L.logsumexp(x, 1), x.logsumexp((0, 2), True)), [X]),
    ("logsumexp big", lambda L, F, x: L.logsumexp(x * 100, 1), [X]),
    ("logsumexp inf", lambda L, F, x: L.logsumexp(x, 1),
     [np.array([[-np.inf, -np.inf], [np.inf, 1.0], [np.nan, np.inf]], np.float32)]),
    ("logsumexp int empty", lambda L, F, a, b: (L.logsumexp(a, 1), L.logsumexp(b, 0)), [XI, XE]),
    ("all/any", lambda L, F, x: (x.all(), x.any(1), L.all(x, 0, keepdim=True)), [XB]),
    ("all/any float int", lambda L, F, a, b: (a.all(1), a.any(), b.any(0), b.all()),
     [ZEROS, XI]),
    ("all/any uint8 empty", lambda L, F, a, b: (a.all(1), a.any(), b.all(), b.any(0)), [XU8, XE]),
    ("count_nonzero", lambda L, F, x: (L.count_nonzero(x), L.count_nonzero(x, 1),
                                       L.count_nonzero(x, (0, 1))), [ZEROS]),
    ("aminmax", lambda L, F, x: (L.aminmax(x), L.aminmax(x, dim=1, keepdim=True)), [X]),
]

SCAN_CASES = [
    ("cumsum", lambda L, F, x: (x.cumsum(0), L.cumsum(x, 2), x.cumsum(-2)), [X]),
    ("cumsum long", lambda L, F, x: L.cumsum(x, 1), [f32(3, 300)]),
    ("cumsum dtype int bool", lambda L, F, a, b: (L.cumsum(a, 1), b.cumsum(0),
                                                  a.cumsum(1, dtype=L.float32)), [XI, XB]),
    ("cumsum 0-d empty", lambda L, F, a, b: (a.cumsum(0), b.cumsum(0), b.cumsum(1)), [X0, XE]),
    ("cumprod", lambda L, F, x: (x.cumprod(1), L.cumprod(x, 0)), [ZEROS]),
    ("cumprod int", lambda L, F, x: x.cumprod(1), [ints(3, 9, low=-2, high=3)]),
    ("logcumsumexp", lambda L, F, x: (L.logcumsumexp(x, 1), x.logcumsumexp(0)), [X]),
    ("logcumsumexp inf", lambda L, F, x: L.logcumsumexp(x, 0),
     [np.array([-1000.0, 0.0, -np.inf, 80.0, np.inf, 1.0, np.nan, 2.0], np.float32)]),
    ("cummax/cummin", lambda L, F, x: (L.cummax(x, 1), x.cummin(1), x.cummax(0)), [TIES]),
    ("cummax nan", lambda L, F, x: (x.cummax(1), x.cummin(1)), [NANS]),
    ("cummax int", lambda L, F, x: (x.cummax(0), x.cummin(1)), [XI]),
]

SORT_CASES = [
    ("sort", lambda L, F, x: (L.sort(x), x.sort(0, True), x.sort(dim=1, descending=False)), [XD]),
    ("sort ties nan stable", lambda L, F, x: (x.sort(dim=1, stable=True),
                                              L.sort(x, dim=1, descending=True, stable=True),
                                              x.argsort(dim=1, stable=True)), [NANS]),
    ("sort ties", lambda L, F, x: (L.sort(x, stable=True), L.sort(x, dim=0, descending=True,
                                                                  stable=True)),
     [TIES]),
    ("sort long", lambda L, F, x: L.sort(x, stable=True), [np.round(f32(2, 1000), 2)]),
    ("sort int bool", lambda L, F, a, b: (L.sort(a, stable=True), L.sort(b, dim=0, stable=True),
                                          L.sort(a, dim=0, descending=True, stable=True)),
     [XI, XB]),
    ("sort uint8", lambda L, F, x: L.sort(x, dim=1, stable=True), [XU8]),
    ("sort 0-d empty", lambda L, F, a, b: (L.sort(a), L.sort(b, 0), b.sort(1)), [X0, XE]),
    ("argsort", lambda L, F, x: (L.argsort(x, 1), x.argsort(0, True)), [XD]),
    ("msort", lambda L, F, x: L.msort(x), [XD]),
    ("topk", lambda L, F, x: (L.topk(x, 3), x.topk(2, 0, False), x.topk(4, dim=1)), [XD]),
    ("topk nan", lambda L, F, x: (x.topk(2, 1), x.topk(1, 1, largest=False)), [NANS]),
    ("topk k=0 full", lambda L, F, x: (x.topk(0), x.topk(5, -1)), [XD]),
    ("kthvalue", lambda L, F, x: (L.kthvalue(x, 2), x.kthvalue(3, 0, True)), [XD]),
]


def test_reductions_lazy():
    check_cases(REDUCE_CASES)


def test_scans_lazy():
    check_cases(SCAN_CASES)


def test_sorting_lazy():
    check_cases(SORT_CASES)


def test_eager_subset():
    picked = ("sum dims keepdim", "max dim ties", "argmax ties nan", "cumsum", "sort ties nan stable",
              "topk", "logsumexp")
    cases = [c for c in REDUCE_CASES + SCAN_CASES + SORT_CASES if c[0] in picked]
    with irgrad.eager():
        for label, fn, arrays in cases:
            got = _flat(fn(irgrad, irgrad, *_inputs(irgrad, arrays)))
            assert all(t.node.data is not None for t in got), f"{label}: not run eagerly"
            exp = _flat(fn(torch, torch, *_inputs(torch, arrays)))
            for i, (g, e) in enumerate(zip(got, exp)):
                compare(f"{label} (eager)[{i}]", g, e)


def test_gradients():
    check_grads([
        ("sum", lambda L, F, x: x.sum((0, 2), keepdim=True), [X]),
        ("mean", lambda L, F, x: x.mean(1), [X]),
        ("nansum", lambda L, F, x: L.nansum(x, 1), [NANS[2:]]),
        ("prod zeros", lambda L, F, x: x.prod(1), [ZEROS]),
        ("prod all one zero", lambda L, F, x: x.prod(), [ZEROS[2:] * np.float32(0) + ZEROS[:1]]),
        ("prod no zeros", lambda L, F, x: x.prod(0), [ZEROS[2:]]),
        ("amax ties", lambda L, F, x: x.amax(1), [TIES]),
        ("amin all ties", lambda L, F, x: x.amin(), [TIES]),
        ("max all ties", lambda L, F, x: x.max(), [TIES]),
        ("max dim ties", lambda L, F, x: x.max(1).values, [TIES]),
        ("min dim keepdim", lambda L, F, x: x.min(0, keepdim=True)[0], [TIES]),
        ("logsumexp", lambda L, F, x: L.logsumexp(x, (0, 2)), [X]),
        ("cumsum", lambda L, F, x: x.cumsum(1), [X]),
        ("cumprod zeros", lambda L, F, x: x.cumprod(1), [ZEROS]),
        ("cumprod", lambda L, F, x: x.cumprod(0), [f32(6, 3, low=0.5, high=1.5)]),
        ("logcumsumexp", lambda L, F, x: L.logcumsumexp(x, 2), [X]),
        ("logcumsumexp wide", lambda L, F, x: L.logcumsumexp(x, 0),
         [np.array([-1000.0, 0.0, 50.0, -30.0, 49.0], np.float32)]),
        ("logcumsumexp reverse-scan grad", lambda L, F, x: L.logcumsumexp(x.flip(1), 1), [X]),
        ("cummax", lambda L, F, x: L.cummax(x, 1).values, [TIES]),
        ("sort", lambda L, F, x: L.sort(x, 1, descending=True).values, [XD]),
        ("topk", lambda L, F, x: L.topk(x, 2, 0).values, [XD]),
        ("kthvalue", lambda L, F, x: L.kthvalue(x, 2, 2).values, [XD]),
        ("msort", lambda L, F, x: L.msort(x), [XD]),
    ])


def test_second_order_sort_and_prod():
    x = irgrad.tensor(distinct(4, 5), requires_grad=True)
    tx = torch.tensor(x.detach().numpy(), requires_grad=True)
    outs = []
    for lib, t in ((irgrad, x), (torch, tx)):
        y = (lib.sort(t, 1).values ** 3).sum() + t.prod(1).sum()
        (g,) = lib.autograd.grad(y, [t], create_graph=True)
        (gg,) = lib.autograd.grad((g * g).sum(), [t])
        outs.append(gg)
    irgrad.realize(outs[0])
    compare("second order", outs[0], outs[1], rtol=1e-3, atol=1e-3)


def test_errors():
    check_errors([
        ("sum dim range", lambda L, F, x: x.sum(dim=2), [f32(2, 3)],
         "Dimension out of range (expected to be in range of [-2, 1], but got 2)"),
        ("sum dup dims", lambda L, F, x: x.sum((0, 0)), [f32(2, 3)],
         "dim 0 appears multiple times in the list of dims"),
        ("mean int", lambda L, F, x: x.mean(), [XI],
         "mean(): could not infer output dtype. Input dtype must be either a floating point or "
         "complex dtype. Got: Long"),
        ("mean int dtype", lambda L, F, x: x.mean(dtype=L.int64), [X], "Optional dtype"),
        ("nanmean int", lambda L, F, x: L.nanmean(x), [XI], "nanmean()"),
        ("amax empty", lambda L, F, x: x.amax(0), [XE],
         "amax(): Expected reduction dim 0 to have non-zero size."),
        ("max empty", lambda L, F, x: x.max(), [XE], "max(): Expected reduction dim to be"),
        ("max dim empty", lambda L, F, x: x.max(0), [XE], None),
        ("argmax empty", lambda L, F, x: x.argmax(), [XE], None),
        ("argmax bool", lambda L, F, x: x.argmax(), [XB], "argmax(): does not support bool input"),
        ("aminmax empty", lambda L, F, x: L.aminmax(x), [XE], "aminmax()"),
        ("prod tuple dim", lambda L, F, x: L.prod(x, (0, 1)), [X], None),
        ("cumsum dim", lambda L, F, x: x.cumsum(2), [f32(2, 3)], "Dimension out of range"),
        ("logcumsumexp int", lambda L, F, x: L.logcumsumexp(x, 0), [XI], "not implemented"),
        ("topk k", lambda L, F, x: x.topk(6), [f32(5)], "selected index k out of range"),
        ("topk neg", lambda L, F, x: x.topk(-1), [f32(5)], "selected index k out of range"),
        ("kthvalue k", lambda L, F, x: x.kthvalue(4), [f32(3)], "kthvalue(): selected number k"),
        ("sort dim", lambda L, F, x: x.sort(3), [f32(2, 3)], "Dimension out of range"),
    ])


def test_return_types_unpack_and_print():
    x = irgrad.tensor(TIES)
    values, indices = x.max(1)
    r = x.sort(1)
    assert r.values is r[0] and r.indices is r[1]
    assert "irgrad.return_types.sort(" in repr(r)
    assert isinstance(values, irgrad.Tensor) and indices.dtype == irgrad.int64
