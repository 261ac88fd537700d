"""Tensor factories against PyTorch: dtype inference, shapes, values, requires_grad, device.

Factories that compute in the graph (full, arange, linspace, eye) are collected first and
realized together with one `irgrad.realize` call, so the whole file costs a few compiles.
"""
import numpy as np
import pytest
import torch

import irgrad


def tname(d) -> str:
    return str(d).replace("torch.", "")


def iname(d) -> str:
    return str(d).replace("irgrad.", "")


def check(got, want, label, rtol=1e-6, atol=1e-6):
    assert iname(got.dtype) == tname(want.dtype), f"{label}: dtype {got.dtype} vs {want.dtype}"
    assert tuple(got.shape) == tuple(want.shape), f"{label}: shape {got.shape} vs {want.shape}"
    g, w = got.detach().numpy(), want.detach().numpy()
    if want.dtype.is_floating_point:
        np.testing.assert_allclose(g.astype(np.float64), w.astype(np.float64), rtol=rtol,
                                   atol=atol, err_msg=label)
    else:
        np.testing.assert_array_equal(g, w, err_msg=label)


# ---- tensor(): dtype inference from Python and NumPy data ---------------------------------

DATA = [
    ("float list", [1.5, -2.0, 3.25]),
    ("int list", [1, -2, 3]),
    ("bool list", [True, False, True]),
    ("mixed int/float", [1, 2.5]),
    ("mixed bool/int", [True, 2]),
    ("nested", [[1, 2, 3], [4, 5, 6]]),
    ("nested float", [[1.0], [2.0]]),
    ("deep", [[[1], [2]], [[3], [4]]]),
    ("scalar float", 2.5),
    ("scalar int", 7),
    ("scalar bool", True),
    ("big int", 2 ** 40),
    ("empty", []),
    ("empty nested", [[]]),
    ("tuple", (1.0, 2.0)),
    ("np float64 array", np.array([1.5, 2.5])),
    ("np float32 array", np.array([1.5, 2.5], dtype=np.float32)),
    ("np float16 array", np.array([1.5, 2.5], dtype=np.float16)),
    ("np int32 array", np.array([[1, 2]], dtype=np.int32)),
    ("np uint8 array", np.array([1, 255], dtype=np.uint8)),
    ("np int8 array", np.array([-1, 5], dtype=np.int8)),
    ("np bool array", np.array([True, False])),
    ("np float64 scalar", np.float64(1.25)),
    ("np int32 scalar", np.int32(3)),
    ("list of np scalars", [np.float32(1.0), 2]),
    ("list of np mixed ints", [np.uint8(1), np.int8(-1)]),
    ("np 0-d array", np.array(3.5)),
    ("np non-contiguous", np.arange(12.0).reshape(3, 4)[:, ::2]),
]


@pytest.mark.parametrize("label,data", DATA, ids=[d[0] for d in DATA])
def test_tensor_infers_dtype_like_torch(label, data):
    want = torch.tensor(data)
    got = irgrad.tensor(data)
    check(got, want, label)
    assert got.is_leaf and not got.requires_grad


def test_tensor_explicit_dtype_and_truncation():
    for data, dtype in [([1.7, -1.7, 2.5], "int64"), ([0.0, 2.0, 0.5, -0.2], "bool"),
                        ([1, 2], "float64"), ([300, -1], "uint8"), ([1.5], "float16"),
                        (np.array([1.9, -2.9]), "int32"), ([True, False], "float32")]:
        want = torch.tensor(data, dtype=getattr(torch, dtype)) if dtype != "uint8" else \
            torch.tensor(np.array(data).astype(np.uint8))
        got = irgrad.tensor(data, dtype=getattr(irgrad, dtype)) if dtype != "uint8" else \
            irgrad.tensor(np.array(data).astype(np.uint8))
        check(got, want, f"{data} as {dtype}")


def test_python_types_as_dtype():
    for pytype in (float, int, bool):
        assert iname(irgrad.zeros(2, dtype=pytype).dtype) == tname(
            torch.zeros(2, dtype=pytype).dtype)


def test_tensor_of_tensors_and_copy():
    a = irgrad.tensor([1.0, 2.0], dtype=irgrad.float64)
    b = irgrad.tensor(a)
    check(b, torch.tensor([1.0, 2.0], dtype=torch.float64), "copy")
    c = irgrad.tensor([irgrad.tensor(1, dtype=irgrad.int32), 2])
    check(c, torch.tensor([torch.tensor(1, dtype=torch.int32), 2]), "list of tensors")


def test_tensor_errors_match_torch():
    cases = [lambda m: m.tensor([[1, 2], [3]]),
             lambda m: m.tensor([1, 2], requires_grad=True),
             lambda m: m.tensor("abc"), lambda m: m.tensor(["abc"]),
             lambda m: m.tensor([object()])]
    for case in cases:
        with pytest.raises(Exception) as want:
            case(torch)
        with pytest.raises(want.type):
            case(irgrad)


def test_requires_grad_and_device():
    t = irgrad.tensor([1.0, 2.0], requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad_fn is None
    for dev in ("cpu", irgrad.device("cpu"), None):
        u = irgrad.tensor([1], device=dev)
        assert str(u.device) == "cpu" and u.device == irgrad.device("cpu")
        assert u.device.type == torch.tensor([1], device=None if dev is None else "cpu").device.type
    z = irgrad.zeros(2, 3, requires_grad=True)  # realized at once: a leaf that holds data
    assert z.requires_grad and z.is_leaf
    check(z, torch.zeros(2, 3, requires_grad=True), "zeros requires_grad")


def test_from_numpy_and_as_tensor():
    for a in (np.arange(6.0).reshape(2, 3), np.arange(6, dtype=np.int32),
              np.array([True, False]), np.array(2.5, dtype=np.float32),
              np.arange(10.0)[::3]):
        check(irgrad.from_numpy(a), torch.from_numpy(a.copy()), f"from_numpy {a}")
        check(irgrad.as_tensor(a), torch.as_tensor(a), f"as_tensor {a}")
    with pytest.raises(TypeError):
        irgrad.from_numpy([1, 2])
    t = irgrad.tensor([1.0, 2.0])
    assert irgrad.as_tensor(t) is t
    check(irgrad.as_tensor(t, dtype=irgrad.float64), torch.as_tensor(torch.tensor([1.0, 2.0]),
                                                                     dtype=torch.float64), "as")
    check(irgrad.as_tensor([1, 2], dtype=irgrad.float16),
          torch.as_tensor([1, 2], dtype=torch.float16), "as_tensor list")


# ---- graph-computed factories: one realization for all of them ---------------------------

def factory_cases(m):
    """The same factory calls against module `m` (torch or irgrad)."""
    like_src = m.tensor([[1.0, 2.0, 3.0]], dtype=m.float64)
    int_src = m.tensor([1, 2])
    return [
        ("zeros", m.zeros(2, 3)), ("zeros tuple", m.zeros((2, 3))), ("zeros list", m.zeros([4])),
        ("zeros 0-d", m.zeros(())), ("zeros empty", m.zeros(0, 3)),
        ("zeros int", m.zeros(3, dtype=m.int64)), ("zeros bool", m.zeros(2, dtype=m.bool)),
        ("ones", m.ones(2, 2)), ("ones f16", m.ones(3, dtype=m.float16)),
        ("ones int32", m.ones(1, 2, dtype=m.int32)), ("ones size", m.ones(m.Size([2, 1]))),
        ("empty shape", m.zeros_like(m.empty(2, 5))),
        ("full float", m.full((2, 2), 1.5)), ("full int", m.full((3,), 7)),
        ("full bool", m.full((2,), True)), ("full dtype", m.full((2,), 3, dtype=m.float64)),
        ("full neg", m.full([1, 2], -2.25)),
        ("zeros_like", m.zeros_like(like_src)), ("ones_like", m.ones_like(int_src)),
        ("full_like", m.full_like(like_src, 4.5)),
        ("full_like int", m.full_like(int_src, 3)),
        ("ones_like dtype", m.ones_like(int_src, dtype=m.float32)),
        ("empty_like shape", m.zeros_like(m.empty_like(like_src))),
        ("arange int", m.arange(5)), ("arange start", m.arange(2, 9)),
        ("arange step", m.arange(1, 10, 3)), ("arange neg step", m.arange(5, 0, -1)),
        ("arange neg float step", m.arange(-1.0, -3.0, -0.5)),
        ("arange float", m.arange(0, 1, 0.1)), ("arange float end", m.arange(2.5)),
        ("arange empty", m.arange(0)), ("arange empty range", m.arange(3, 3)),
        ("arange dtype", m.arange(4, dtype=m.float32)),
        ("arange float->int", m.arange(1.5, 4.5, 1, dtype=m.int64)),
        ("arange f64", m.arange(0, 2, 0.25, dtype=m.float64)),
        ("linspace", m.linspace(-1, 1, 5)), ("linspace 1", m.linspace(0, 1, 1)),
        ("linspace 0", m.linspace(0, 1, 0)), ("linspace long", m.linspace(0, 3, 100)),
        ("linspace int", m.linspace(0, 10, 5, dtype=m.int64)),
        ("linspace int neg", m.linspace(-1, 1, 5, dtype=m.int64)),
        ("linspace f64", m.linspace(2, -3, 7, dtype=m.float64)),
        ("eye", m.eye(3)), ("eye rect", m.eye(2, 4)), ("eye int", m.eye(3, 2, dtype=m.int64)),
        ("eye bool", m.eye(2, dtype=m.bool)), ("eye 0", m.eye(0)),
    ]


def test_graph_factories_match_torch():
    got = factory_cases(irgrad)
    want = factory_cases(torch)
    irgrad.realize(*[t for _, t in got])  # one compile for all of them
    for (label, g), (_, w) in zip(got, want):
        check(g, w, label, rtol=1e-6, atol=1e-6)


def test_factory_errors_match_torch():
    cases = [lambda m: m.arange(0, 1, 0), lambda m: m.arange(0, 5, -1),
             lambda m: m.arange(1, 2.5, 0.5, dtype=m.int64), lambda m: m.linspace(0, 1, -1),
             lambda m: m.zeros(-1), lambda m: m.ones(2, dtype=m.int64).requires_grad_()]
    for i, case in enumerate(cases):
        with pytest.raises(Exception) as want:
            case(torch)
        with pytest.raises(want.type) as got:
            case(irgrad)
        w_words = {w for w in str(want.value).split() if any(c.isdigit() for c in w)}
        for word in w_words:
            assert word.strip(".,:") in str(got.value), (i, str(got.value), str(want.value))


def test_set_default_dtype():
    assert irgrad.get_default_dtype() is irgrad.float32
    old = torch.get_default_dtype()
    irgrad.set_default_dtype(irgrad.float64)
    torch.set_default_dtype(torch.float64)
    try:
        pairs = [(irgrad.tensor([1.5]), torch.tensor([1.5])),
                 (irgrad.tensor([]), torch.tensor([])),
                 (irgrad.tensor([1, 2]), torch.tensor([1, 2])),
                 (irgrad.zeros(2), torch.zeros(2)),
                 (irgrad.full((1,), 2.0), torch.full((1,), 2.0)),
                 (irgrad.arange(0.5), torch.arange(0.5)),
                 (irgrad.linspace(0, 1, 3), torch.linspace(0, 1, 3)),
                 (irgrad.tensor([1, 2]) * 0.5, torch.tensor([1, 2]) * 0.5)]
        for g, w in pairs:
            assert iname(g.dtype) == tname(w.dtype), (g.dtype, w.dtype)
        assert irgrad.get_default_dtype() is irgrad.float64
        with pytest.raises(TypeError):
            irgrad.set_default_dtype(irgrad.int64)
    finally:
        irgrad.set_default_dtype(irgrad.float32)
        torch.set_default_dtype(old)
    assert irgrad.tensor([1.5]).dtype is irgrad.float32
