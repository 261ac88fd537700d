"""Convolution and pooling against PyTorch: values, dtypes, shapes and gradients (lazy, one
batched graph per test), max-pool indices and tie-breaking, second order, error messages, and
an eager subset."""
import numpy as np
import pytest
import torch

import irgrad
from irgrad.frontend.exports import as_function
from irgrad.ir.ops import conv

F = {name: as_function(fn, name) for name, fn in conv.FUNCTIONAL}
TF = torch.nn.functional
R = np.random.default_rng(99)


def f32(*s):
    return R.standard_normal(s).astype(np.float32)


def f64(*s):
    return R.standard_normal(s)


FORWARD = [
    ("conv2d", [(2, 4, 9, 8), (6, 2, 3, 3), (6,)], dict(stride=(2, 1), padding=1,
                                                        dilation=(1, 2), groups=2)),
    ("conv2d", [(1, 3, 7, 7), (4, 3, 4, 2)], dict(padding="same")),
    ("conv2d", [(1, 3, 7, 7), (4, 3, 3, 3)], dict(padding="valid", stride=3)),
    ("conv2d", [(3, 7, 6), (5, 3, 2, 2), (5,)], dict(padding=(0, 2))),
    ("conv2d", [(0, 3, 5, 5), (2, 3, 3, 3)], {}),
    ("conv2d", [(2, 4, 6, 6), (4, 1, 3, 3)], dict(groups=4, padding=1)),
    ("conv1d", [(3, 10), (5, 3, 3)], dict(padding=2, stride=3)),
    ("conv1d", [(2, 4, 11), (6, 2, 4), (6,)], dict(groups=2, dilation=3, padding="same")),
    ("conv3d", [(1, 2, 5, 4, 6), (3, 2, 2, 3, 2)], dict(stride=(1, 2, 1), padding=(1, 0, 1))),
    ("conv_transpose2d", [(2, 4, 5, 5), (4, 3, 3, 3), (6,)], dict(stride=2, padding=1,
                                                                  output_padding=1, groups=2)),
    ("conv_transpose2d", [(1, 4, 5, 5), (4, 3, 3, 3)], dict(dilation=2, stride=3,
                                                            output_padding=2)),
    ("conv_transpose2d", [(4, 5, 5), (4, 3, 3, 3)], {}),
    ("conv_transpose2d", [(1, 2, 4, 3), (2, 3, 3, 2)], dict(stride=(2, 3), padding=(2, 1))),
    ("conv_transpose1d", [(1, 4, 6), (4, 2, 3)], dict(dilation=2, output_padding=1,
                                                      padding=3)),
    ("max_pool2d", [(2, 3, 7, 6)], dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool2d", [(3, 7, 6)], dict(kernel_size=(2, 3), stride=(1, 2), dilation=(2, 1))),
    ("max_pool2d", [(1, 2, 8, 8)], dict(kernel_size=2)),
    ("max_pool1d", [(2, 3, 9)], dict(kernel_size=3, stride=2, ceil_mode=True)),
    ("max_pool1d", [(3, 9)], dict(kernel_size=2, padding=1)),
    ("avg_pool2d", [(2, 3, 7, 6)], dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("avg_pool2d", [(2, 3, 7, 6)], dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                        count_include_pad=False)),
    ("avg_pool2d", [(2, 3, 7, 6)], dict(kernel_size=2, divisor_override=3)),
    ("avg_pool2d", [(3, 5, 5)], dict(kernel_size=(3, 2), stride=(1, 2), padding=(1, 1))),
    ("avg_pool1d", [(2, 3, 9)], dict(kernel_size=3, padding=1, ceil_mode=True,
                                     count_include_pad=False)),
    ("adaptive_avg_pool2d", [(2, 3, 7, 5)], dict(output_size=(3, 2))),
    ("adaptive_avg_pool2d", [(2, 3, 7, 5)], dict(output_size=1)),
    ("adaptive_avg_pool2d", [(3, 7, 5)], dict(output_size=(None, 4))),
    ("adaptive_avg_pool1d", [(2, 3, 7)], dict(output_size=4)),
    ("adaptive_max_pool2d", [(2, 3, 8, 6)], dict(output_size=(4, 3))),
    ("adaptive_max_pool1d", [(2, 3, 8)], dict(output_size=2)),
    ("unfold", [(2, 3, 6, 5)], dict(kernel_size=(2, 3), padding=1, stride=(2, 1))),
    ("unfold", [(3, 6, 5)], dict(kernel_size=2, dilation=2)),
    ("fold", [(2, 12, 15)], dict(output_size=(5, 6), kernel_size=2, stride=(2, 1),
                                 padding=(1, 0))),
]


def _compare(label, y, ref, rtol=1e-4, atol=1e-4):
    assert tuple(y.shape) == tuple(ref.shape), f"{label}: {y.shape} vs {ref.shape}"
    assert y.dtype.name == str(ref.dtype).replace("torch.", ""), f"{label}: {y.dtype}"
    want = ref.detach().numpy()
    if want.dtype.kind == "f":
        np.testing.assert_allclose(y.numpy(), want, rtol=rtol, atol=atol, err_msg=label)
    else:
        np.testing.assert_array_equal(y.numpy(), want, err_msg=label)


def test_forward_against_torch():
    got = []
    for name, shapes, kw in FORWARD:
        arrays = [f32(*s) for s in shapes]
        y = F[name](*[irgrad.tensor(a) for a in arrays], **kw)
        ref = getattr(TF, name)(*[torch.tensor(a) for a in arrays], **kw)
        got.append((f"{name}{shapes}{kw}", y, ref))
    # other dtypes: float64, int64 (conv, max and avg pooling), float16
    xi, wi = R.integers(-3, 4, (2, 3, 6, 6)), R.integers(-3, 4, (4, 3, 3, 3))
    for label, fn, args, kw in [
            ("conv2d int64", "conv2d", (xi, wi), dict(padding=1)),
            ("conv2d f64", "conv2d", (f64(1, 2, 5, 5), f64(3, 2, 2, 2)), dict(stride=2)),
            ("max_pool2d int64", "max_pool2d", (xi,), dict(kernel_size=3, stride=2)),
            ("avg_pool2d int64", "avg_pool2d", (xi - 2,), dict(kernel_size=3, padding=1)),
            ("max_pool2d f16", "max_pool2d", (f32(1, 2, 6, 6).astype(np.float16),),
             dict(kernel_size=2))]:
        y = F[fn](*[irgrad.tensor(a) for a in args], **kw)
        ref = getattr(TF, fn)(*[torch.tensor(a) for a in args], **kw)
        got.append((label, y, ref))
    x16, w16 = f32(1, 3, 6, 6).astype(np.float16), f32(2, 3, 3, 3).astype(np.float16)
    y16 = F["conv2d"](irgrad.tensor(x16), irgrad.tensor(w16))
    ref16 = TF.conv2d(torch.tensor(x16).float(), torch.tensor(w16).float()).half()
    irgrad.realize(*[g[1] for g in got], y16)
    for label, y, ref in got:
        _compare(label, y, ref)
    _compare("conv2d f16", y16, ref16, rtol=1e-2, atol=1e-2)


def test_max_pool_indices_and_ties():
    x = f32(2, 3, 7, 6)
    x[0, 0, :2, :2] = 3.0  # a tie inside one window: PyTorch reports the first
    x[1, 2] = 1.0          # every window tied
    ints = R.integers(0, 3, (1, 2, 6, 6))
    nan = f32(1, 1, 4, 4)
    nan[0, 0, 0, 1] = nan[0, 0, 1, 0] = np.nan  # two NaNs in a window: the last one wins
    cases = [(x, dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
             (x, dict(kernel_size=2)), (x, dict(kernel_size=(2, 3), dilation=(2, 1))),
             (ints, dict(kernel_size=3, stride=1)), (nan, dict(kernel_size=2, stride=1))]
    got = []
    for a, kw in cases:
        yi = F["max_pool2d"](irgrad.tensor(a), return_indices=True, **kw)
        yt = TF.max_pool2d(torch.tensor(a), return_indices=True, **kw)
        got.append((yi, yt))
    y1 = F["max_pool1d"](irgrad.tensor(x[0]), 3, return_indices=True)
    t1 = TF.max_pool1d(torch.tensor(x[0]), 3, return_indices=True)
    irgrad.realize(*[t for g in got for t in g[0]], *y1)
    for (vi, ii), (vt, it) in got + [(y1, t1)]:
        np.testing.assert_array_equal(vi.numpy(), vt.numpy())
        np.testing.assert_array_equal(ii.numpy(), it.numpy())
        assert ii.dtype is irgrad.int64


GRADS = [
    ("conv2d", [(2, 4, 7, 6), (6, 2, 3, 3), (6,)], dict(stride=(2, 1), padding=1,
                                                        dilation=(1, 2), groups=2)),
    ("conv2d", [(1, 3, 6, 6), (2, 3, 4, 3)], dict(padding="same")),
    ("conv1d", [(2, 3, 10), (4, 3, 3)], dict(stride=3, padding=2)),
    ("conv_transpose2d", [(2, 4, 4, 5), (4, 3, 3, 3), (6,)], dict(stride=2, padding=1,
                                                                  output_padding=1, groups=2)),
    ("conv_transpose1d", [(1, 4, 6), (4, 2, 3)], dict(dilation=2, output_padding=1, padding=3)),
    ("max_pool2d", [(2, 3, 7, 6)], dict(kernel_size=3, stride=2, padding=1, ceil_mode=True)),
    ("max_pool2d", [(2, 3, 7, 6)], dict(kernel_size=(2, 3), dilation=(2, 1))),
    ("max_pool1d", [(2, 3, 9)], dict(kernel_size=3, stride=2)),
    ("avg_pool2d", [(2, 3, 7, 6)], dict(kernel_size=3, stride=2, padding=1, ceil_mode=True,
                                        count_include_pad=False)),
    ("avg_pool1d", [(2, 3, 9)], dict(kernel_size=2, ceil_mode=True)),
    ("adaptive_avg_pool2d", [(2, 3, 7, 5)], dict(output_size=(3, 2))),
    ("adaptive_max_pool2d", [(2, 3, 8, 6)], dict(output_size=(4, 3))),
    ("unfold", [(2, 3, 6, 5)], dict(kernel_size=(2, 3), padding=1, stride=(2, 1))),
    ("fold", [(2, 12, 15)], dict(output_size=(5, 6), kernel_size=2, stride=(2, 1),
                                 padding=(1, 0))),
]


def test_gradients_against_torch():
    todo = []
    for name, shapes, kw in GRADS:
        arrays = [f64(*s) for s in shapes]
        if name.startswith("max"):  # a tie: the gradient goes to the first maximum
            arrays[0].reshape(-1)[:2] = 5.0
        xi = [irgrad.tensor(a, requires_grad=True) for a in arrays]
        xt = [torch.tensor(a, requires_grad=True) for a in arrays]
        yi, yt = F[name](*xi, **kw), getattr(TF, name)(*xt, **kw)
        g = R.standard_normal(tuple(yt.shape))
        todo.append((name, irgrad.autograd.grad(yi, xi, irgrad.tensor(g)),
                     torch.autograd.grad(yt, xt, torch.tensor(g))))
    irgrad.realize(*[t for _, gi, _ in todo for t in gi])
    for name, gi, gt in todo:
        for k, (a, b) in enumerate(zip(gi, gt)):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-8,
                                       err_msg=f"{name} input {k}")


def test_second_order_conv_and_pool():
    x, w = f64(1, 2, 6, 6), f64(3, 2, 3, 3)
    res = []
    for mod, fn in ((irgrad, F), (torch, None)):
        xs = mod.tensor(x, requires_grad=True)
        ws = mod.tensor(w, requires_grad=True)
        conv2d = fn["conv2d"] if fn else TF.conv2d
        pool = fn["max_pool2d"] if fn else TF.max_pool2d
        y = pool(conv2d(xs, ws, stride=1, padding=1), 2)
        (gx,) = mod.autograd.grad((y * y).sum(), [xs], create_graph=True)
        gw, gx2 = mod.autograd.grad((gx * gx).sum(), [ws, xs])
        res.append((gw, gx2))
    irgrad.realize(*res[0])
    for a, b in zip(res[0], res[1]):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-8)


def _errors():
    r = f32
    c2 = lambda m: F["conv2d"] if m is irgrad else TF.conv2d  # noqa: E731
    fn = lambda m, name: F[name] if m is irgrad else getattr(TF, name)  # noqa: E731
    T = lambda m, a: m.tensor(a)  # noqa: E731
    return [
        ("case 8", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 3, 3, 3)))),
        ("groups channels", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)),
                                            groups=2)),
        ("groups divisible", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(6, 2, 3, 3)),
                                             groups=4)),
        ("stride length", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3)))),
        ("unbatched channels", lambda m: c2(m)(T(m, r(1, 4, 10)), T(m, r(8, 4, 3, 3)))),
        ("input rank", lambda m: c2(m)(T(m, r(4, 10)), T(m, r(8, 4, 3, 3)))),
        ("kernel too big", lambda m: c2(m)(T(m, r(1, 4, 2, 2)), T(m, r(8, 4, 3, 3)))),
        ("dilated kernel too big", lambda m: c2(m)(T(m, r(1, 1, 5, 5)), T(m, r(1, 1, 3, 3)),
                                                   dilation=3)),
        ("same strided", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)),
                                         padding="same", stride=2)),
        ("bad padding string", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)),
                                               padding="foo")),
        ("stride 0", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)), stride=0)),
        ("negative padding", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)),
                                             padding=-1)),
        ("dilation 0", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)),
                                       dilation=0)),
        ("groups 0", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)), groups=0)),
        ("bias size", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)),
                                      T(m, r(7)))),
        ("weight dtype", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, f64(8, 4, 3, 3)))),
        ("input dtype", lambda m: c2(m)(T(m, f64(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)))),
        ("bias dtype", lambda m: c2(m)(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3, 3)),
                                       T(m, f64(8)))),
        ("conv1d channels", lambda m: fn(m, "conv1d")(T(m, r(2, 4, 10)), T(m, r(8, 3, 3)))),
        ("conv1d rank", lambda m: fn(m, "conv1d")(T(m, r(1, 4, 10, 10)), T(m, r(8, 4, 3)))),
        ("transposed channels", lambda m: fn(m, "conv_transpose2d")(T(m, r(1, 4, 5, 5)),
                                                                    T(m, r(5, 3, 3, 3)))),
        ("output padding", lambda m: fn(m, "conv_transpose2d")(
            T(m, r(1, 4, 5, 5)), T(m, r(4, 3, 3, 3)), stride=2, output_padding=2)),
        ("transposed too small", lambda m: fn(m, "conv_transpose2d")(
            T(m, r(1, 4, 5, 5)), T(m, r(4, 3, 3, 3)), padding=5)),
        ("transposed bias", lambda m: fn(m, "conv_transpose2d")(
            T(m, r(1, 4, 5, 5)), T(m, r(4, 3, 3, 3)), T(m, r(4)))),
        ("transposed groups", lambda m: fn(m, "conv_transpose2d")(
            T(m, r(1, 4, 5, 5)), T(m, r(4, 3, 3, 3)), groups=3)),
        ("pool pad", lambda m: fn(m, "max_pool2d")(T(m, r(1, 2, 5, 5)), 3, padding=2)),
        ("pool stride 0", lambda m: fn(m, "max_pool2d")(T(m, r(1, 2, 5, 5)), 2, stride=0)),
        ("pool too small", lambda m: fn(m, "max_pool2d")(T(m, r(1, 2, 1, 1)), 2)),
        ("pool empty", lambda m: fn(m, "max_pool2d")(T(m, r(1, 2, 0, 5)), 2)),
        ("pool kernel tuple", lambda m: fn(m, "max_pool2d")(T(m, r(1, 1, 4, 4)), (2, 2, 2))),
        ("pool dilation 0", lambda m: fn(m, "max_pool2d")(T(m, r(1, 1, 4, 4)), 2,
                                                          dilation=0)),
        ("pool kernel 0", lambda m: fn(m, "max_pool2d")(T(m, r(1, 1, 5, 5)), 0, 1)),
        ("pool bool", lambda m: fn(m, "max_pool2d")(m.ones(1, 1, 4, 4, dtype=m.bool), 2)),
        ("avg int32", lambda m: fn(m, "avg_pool2d")(m.ones(1, 1, 4, 4, dtype=m.int32), 2)),
        ("avg divisor 0", lambda m: fn(m, "avg_pool2d")(T(m, r(1, 2, 5, 5)), 2,
                                                        divisor_override=0)),
        ("avg pad", lambda m: fn(m, "avg_pool2d")(T(m, r(1, 1, 5, 5)), 3, padding=2)),
        ("max_pool1d kernel", lambda m: fn(m, "max_pool1d")(T(m, r(2, 3, 9)), (3, 3))),
        ("adaptive long", lambda m: fn(m, "adaptive_avg_pool2d")(
            m.ones(1, 2, 5, 7, dtype=m.long), 3)),
        ("adaptive empty", lambda m: fn(m, "adaptive_avg_pool2d")(T(m, r(1, 2, 0, 7)), 3)),
        ("adaptive size", lambda m: fn(m, "adaptive_avg_pool2d")(T(m, r(1, 1, 4, 4)),
                                                                 (1, 2, 3))),
        ("adaptive negative", lambda m: fn(m, "adaptive_avg_pool2d")(T(m, r(1, 1, 4, 4)), -1)),
        ("adaptive rank", lambda m: fn(m, "adaptive_avg_pool2d")(T(m, r(4, 4)), 2)),
    ]


@pytest.mark.parametrize("label,fn", _errors(), ids=[e[0] for e in _errors()])
def test_errors_match_torch(label, fn):
    with pytest.raises(Exception) as want:
        fn(torch)
    with pytest.raises(Exception) as got:
        fn(irgrad)
    assert type(got.value) is type(want.value), f"{label}: {got.value!r} vs {want.value!r}"
    assert str(got.value) == str(want.value), f"{label}: {got.value} vs {want.value}"


def test_eager_subset():
    x, w = f32(1, 2, 6, 6), f32(3, 2, 3, 3)
    with irgrad.eager():
        y = F["conv2d"](irgrad.tensor(x), irgrad.tensor(w), padding=1)
        assert y.node.data is not None
        p = F["max_pool2d"](y, 2)
        assert p.node.data is not None
    ref = TF.max_pool2d(TF.conv2d(torch.tensor(x), torch.tensor(w), padding=1), 2)
    np.testing.assert_allclose(p.numpy(), ref.numpy(), rtol=1e-4, atol=1e-5)


def test_top_level_exports():
    for name in ("conv1d", "conv2d", "conv_transpose2d", "max_pool1d", "max_pool2d",
                 "avg_pool1d", "adaptive_avg_pool1d"):
        assert callable(getattr(irgrad, name)), name
