"""repr/str of tensors against PyTorch's text (with 'torch.' read as 'irgrad.').

Covers the float formats (fixed 4 decimals, integers as `1.`, scientific for large, small or
widely spread values, nan/inf), other dtypes, 0-d and empty tensors, summarization of large
tensors, line wrapping, and the dtype/size/requires_grad/grad_fn suffixes.
"""
import numpy as np
import pytest
import torch

import irgrad

rng = np.random.default_rng(0)

FLOAT_CASES = [
    ("ints as floats", [1.0, 2.0, 3.0]),
    ("negative ints as floats", [[-1.0, 20.0], [300.0, -4.0]]),
    ("fixed", [1.5, -0.25, 3.125]),
    ("small -> sci", [1.5, 2e-5, 3.0]),
    ("large -> sci", [1e10, 1.0]),
    ("large ints -> sci", [1e9, 2e9]),
    ("wide ratio -> sci", [0.001, 123.5]),
    ("wide int ratio", [1.0, 1001.0]),
    ("under ratio", [0.5, 499.0]),
    ("nan inf", [np.nan, np.inf, 1.0]),
    ("nan zero", [np.nan, 0.0]),
    ("-inf", [-np.inf, 2.0]),
    ("neg zero", [-0.0, 1.0]),
    ("zeros", np.zeros((2, 3))),
    ("0-d", 3.5),
    ("0-d int-valued", 4.0),
    ("0-d tiny", 1e-7),
    ("0-d nan", np.nan),
    ("thirds wrap", np.arange(100.0).reshape(10, 10) / 3),
    ("summarized 1-d", np.arange(2000.0)),
    ("summarized 3-d", np.arange(5000.0).reshape(10, 10, 50) / 7),
    ("normal 3-d", rng.normal(size=(3, 4, 5))),
    ("normal 4-d", rng.normal(size=(2, 2, 2, 2))),
    ("mixed magnitudes", [123456.789, 1.0]),
    ("long row", rng.normal(size=(30,)) * 100),
    ("column", [[0.5], [1.5], [-2.5]]),
]


@pytest.mark.parametrize("label,data", FLOAT_CASES, ids=[c[0] for c in FLOAT_CASES])
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_float_repr(label, data, dtype):
    a = np.asarray(data, dtype=np.float64)
    want = repr(torch.tensor(a, dtype=getattr(torch, dtype))).replace("torch.", "irgrad.")
    got = irgrad.tensor(a, dtype=getattr(irgrad, dtype))
    assert repr(got) == want
    assert str(got) == want


OTHER_CASES = [
    ("int64", np.array([1, -2, 3])),
    ("int64 wide", np.array([[1, 2000], [-30000, 4]])),
    ("int32", np.array([5, 6], dtype=np.int32)),
    ("int16", np.array([5, -6], dtype=np.int16)),
    ("int8", np.array([[-128, 127]], dtype=np.int8)),
    ("uint8", np.array([0, 255], dtype=np.uint8)),
    ("bool", np.array([True, False])),
    ("bool 2-d", np.array([[True], [False]])),
    ("int 0-d", np.array(7)),
    ("bool 0-d", np.array(False)),
    ("int32 0-d", np.array(-3, dtype=np.int32)),
    ("int summarized", np.arange(3000).reshape(30, 100)),
    ("bool summarized", np.arange(1200) % 3 == 0),
]


@pytest.mark.parametrize("label,a", OTHER_CASES, ids=[c[0] for c in OTHER_CASES])
def test_int_bool_repr(label, a):
    want = repr(torch.from_numpy(a.copy())).replace("torch.", "irgrad.")
    assert repr(irgrad.tensor(a)) == want


EMPTY = [((0,), "float32"), ((0,), "int64"), ((0,), "bool"), ((0, 3), "float32"),
         ((2, 0), "int64"), ((0,), "float64"), ((1, 0, 2), "float16"), ((0,), "int32")]


@pytest.mark.parametrize("shape,dtype", EMPTY)
def test_empty_repr(shape, dtype):
    a = np.zeros(shape, dtype=np.dtype(dtype))
    want = repr(torch.from_numpy(a)).replace("torch.", "irgrad.")
    assert repr(irgrad.from_numpy(a)) == want


def test_bfloat16_repr():
    a = np.array([[1.0, 2.5], [-3.0, 1e-3]])
    want = repr(torch.tensor(a, dtype=torch.bfloat16)).replace("torch.", "irgrad.")
    assert repr(irgrad.tensor(a, dtype=irgrad.bfloat16)) == want


def test_requires_grad_and_grad_fn_suffixes():
    cases = [[1.0, 2.0], [[0.5, -1.5]], 2.0, np.arange(600.0).reshape(20, 30) / 7]
    for data in cases:
        a = np.asarray(data)
        want = repr(torch.tensor(a, dtype=torch.float32, requires_grad=True))
        got = irgrad.tensor(a, dtype=irgrad.float32, requires_grad=True)
        assert repr(got) == want.replace("torch.", "irgrad.")
    w = irgrad.tensor([1.0, -2.0], requires_grad=True)
    tw = torch.tensor([1.0, -2.0], requires_grad=True)
    outs = [(w * 2.0, tw * 2.0), (w + 1.0, tw + 1.0), (w * 3.0 - 1.0, tw * 3.0 - 1.0)]
    irgrad.realize(*[o for o, _ in outs])
    for o, t in outs:
        assert repr(o) == repr(t).replace("torch.", "irgrad.")
    d = irgrad.tensor([1.0, 2.0], dtype=irgrad.float64, requires_grad=True)
    td = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    assert repr(d) == repr(td).replace("torch.", "irgrad.")


def test_lazy_result_prints_like_torch():
    x = np.linspace(-2, 2, 8, dtype=np.float32).reshape(2, 4)
    got = (irgrad.tensor(x) * 0.5 + 1.0).tanh()
    want = (torch.tensor(x) * 0.5 + 1.0).tanh()
    assert repr(got) == repr(want).replace("torch.", "irgrad.")
    assert f"{irgrad.tensor(2.5):.2f}" == f"{torch.tensor(2.5):.2f}"


def test_default_dtype_changes_the_suffix():
    old = torch.get_default_dtype()
    try:
        irgrad.set_default_dtype(irgrad.float64)
        torch.set_default_dtype(torch.float64)
        for data, dtype in [([1.5], "float64"), ([1.5], "float32"), ([], "float64"),
                            ([], "float32")]:
            want = repr(torch.tensor(data, dtype=getattr(torch, dtype)))
            got = repr(irgrad.tensor(data, dtype=getattr(irgrad, dtype)))
            assert got == want.replace("torch.", "irgrad.")
    finally:
        irgrad.set_default_dtype(irgrad.float32)
        torch.set_default_dtype(old)
