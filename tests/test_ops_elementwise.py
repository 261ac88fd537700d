"""Elementwise ops (binary, unary, logical) against PyTorch.

Every public op runs on the same inputs in irgrad and torch: broadcasting, 0-d, empty,
transposed (non-contiguous) operands, int/bool/f64 inputs and Python scalars. Lazy mode
realizes all cases in one graph; eager mode runs a representative subset. Results must agree
in dtype, shape and values (f32: rtol 1e-4, atol 1e-5), and where torch raises, irgrad must
raise the same exception class when the op is recorded. Also: in-place forms, gradients and
their conventions (abs'(0) = 0, clamp at its bounds, sqrt'(0) = inf, ...), special values
(NaN, +-inf, -0) and the accuracy of the lowering's f64/f32 math fallbacks.
"""
import math
import operator as O

import numpy as np
import pytest
import torch

import irgrad

R = np.random.default_rng(1234)


def f32(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, shape).astype(np.float32)


def f64(*shape, lo=-2.0, hi=2.0):
    return R.uniform(lo, hi, shape)


def i64(*shape, lo=-6, hi=7, nonzero=False):
    a = R.integers(lo, hi, shape)
    return np.where(a == 0, 3, a) if nonzero else a


def bools(*shape):
    return R.random(shape) > 0.5


class Tr:
    """An input passed transposed (a non-contiguous view in torch): holds the transpose."""

    def __init__(self, arr):
        self.arr = np.ascontiguousarray(arr.T)


def to_lib(lib, v):
    if isinstance(v, Tr):
        return to_lib(lib, v.arr).T
    if isinstance(v, np.ndarray):
        return irgrad.tensor(v) if lib is irgrad else torch.from_numpy(v.copy())
    return v


def call(lib, fn, args, kwargs):
    f = getattr(lib, fn) if isinstance(fn, str) else fn
    return f(*[to_lib(lib, a) for a in args], **{k: to_lib(lib, v) for k, v in kwargs.items()})


def expect(label, fn, *args, **kwargs):
    """Run on torch now; return (label, torch result or exception, thunk for irgrad)."""
    try:
        want = call(torch, fn, args, kwargs)
    except Exception as e:  # torch rejects this input: irgrad must raise the same class
        want = e
    return label, want, lambda: call(irgrad, fn, args, kwargs)


def check(label, got, want, rtol=1e-4, atol=1e-5):
    if isinstance(want, torch.Tensor):
        assert isinstance(got, irgrad.Tensor), f"{label}: got {type(got).__name__}"
        assert got.dtype.name == str(want.dtype).replace("torch.", ""), \
            f"{label}: dtype {got.dtype.name} != {want.dtype}"
        assert tuple(got.shape) == tuple(want.shape), f"{label}: shape {got.shape} != {want.shape}"
        g, w = got.detach().numpy(), want.detach().numpy()
        if want.dtype.is_floating_point:
            if want.dtype == torch.float16:
                rtol, atol = max(rtol, 2e-3), max(atol, 1e-3)
            np.testing.assert_allclose(g, w, rtol=rtol, atol=atol, equal_nan=True, err_msg=label)
        else:
            np.testing.assert_array_equal(g, w, err_msg=label)
    else:
        assert got == want and type(got) is type(want), f"{label}: {got!r} != {want!r}"


def record(cases):
    """Record every case in irgrad; exceptions must match torch's class."""
    out = []
    for label, want, thunk in cases:
        if isinstance(want, Exception):
            try:
                thunk()
            except Exception as e:  # noqa: BLE001 - compared with torch's class below
                assert isinstance(e, type(want)), \
                    f"{label}: raised {type(e).__name__}: {e}; torch: {type(want).__name__}: {want}"
            else:
                pytest.fail(f"{label}: no error; torch raised {type(want).__name__}: {want}")
            continue
        out.append((label, thunk(), want))
    return out


def run_lazy(cases, **tol):
    recorded = record(cases)
    irgrad.realize(*[g for _, g, _ in recorded if isinstance(g, irgrad.Tensor)])
    for label, got, want in recorded:
        check(label, got, want, **tol)


# ---- the case table ------------------------------------------------------------------------

def binary_inputs(kind):
    """Operand pairs: broadcast with a transposed operand, scalar, 0-d, ints, mixed, bool."""
    pos = kind in ("pos", "div")
    lo = 0.3 if pos else -2.0
    rhs = (lambda *s: f32(*s, lo=0.5, hi=2.0) * np.where(bools(*s), 1, -1).astype(np.float32)) \
        if kind == "div" else (lambda *s: f32(*s, lo=lo))
    ints = (lambda *s: i64(*s, lo=0, hi=4)) if kind == "pos" else \
        (lambda *s: i64(*s, nonzero=kind == "div"))
    return [("bcast+T", f32(2, 1, 3, lo=lo), Tr(rhs(4, 3))),
            ("scalar", f32(3, 4, lo=lo), 1.5),
            ("int-scalar", f32(3, lo=lo), 2),
            ("0d", f32(lo=lo), rhs(5)),
            ("empty", f32(0, 3, lo=lo), rhs(1, 3)),
            ("i64", ints(5) if kind != "pos" else i64(5, lo=1, hi=5), ints(5)),
            ("i64+float-scalar", ints(4) if kind != "pos" else i64(4, lo=1, hi=5), 2.5),
            ("i64+f64", ints(3) if kind != "pos" else i64(3, lo=1, hi=5), f64(3, lo=lo)),
            ("f32+0d-f64", f32(3, lo=lo), f64(lo=lo)),
            ("bool", bools(4), bools(4) | (kind == "div"))]


BINARY = {  # function name -> input kind
    "add": "any", "sub": "any", "mul": "any", "div": "div", "true_divide": "div",
    "floor_divide": "div", "remainder": "div", "fmod": "div", "pow": "pos", "float_power": "pos",
    "atan2": "any", "hypot": "any", "copysign": "any", "maximum": "any", "minimum": "any",
    "fmax": "any", "fmin": "any", "xlogy": "pos", "lt": "any", "le": "any", "gt": "any",
    "ge": "any", "eq": "any", "ne": "any", "greater_equal": "any", "not_equal": "any",
    "logical_and": "any", "logical_or": "any", "logical_xor": "any", "bitwise_and": "any",
    "bitwise_or": "any", "bitwise_xor": "any", "bitwise_left_shift": "pos",
    "bitwise_right_shift": "pos",
}

UNARY = {  # function name -> input domain (lo, hi)
    "abs": (-2, 2), "neg": (-2, 2), "sign": (-2, 2), "sgn": (-2, 2), "reciprocal": (0.5, 2),
    "sqrt": (0.1, 3), "rsqrt": (0.1, 3), "square": (-2, 2), "exp": (-3, 3), "exp2": (-3, 3),
    "expm1": (-3, 3), "log": (0.1, 3), "log2": (0.1, 3), "log10": (0.1, 3), "log1p": (-0.5, 3),
    "sin": (-4, 4), "cos": (-4, 4), "tan": (-1.2, 1.2), "asin": (-0.9, 0.9),
    "acos": (-0.9, 0.9), "atan": (-4, 4), "sinh": (-3, 3), "cosh": (-3, 3), "tanh": (-3, 3),
    "asinh": (-3, 3), "acosh": (1.1, 4), "atanh": (-0.9, 0.9), "sigmoid": (-4, 4),
    "logit": (0.05, 0.95), "erf": (-3, 3), "erfc": (-3, 5), "erfinv": (-0.95, 0.95),
    "floor": (-3, 3), "ceil": (-3, 3), "round": (-3, 3), "trunc": (-3, 3), "frac": (-3, 3),
    "relu": (-2, 2), "nan_to_num": (-2, 2), "positive": (-2, 2), "deg2rad": (-4, 4),
    "rad2deg": (-2, 2), "isnan": (-2, 2), "isinf": (-2, 2), "isfinite": (-2, 2),
    "isposinf": (-2, 2), "isneginf": (-2, 2), "signbit": (-2, 2), "logical_not": (-2, 2),
    "bitwise_not": (-2, 2), "arcsin": (-0.9, 0.9), "absolute": (-2, 2), "fix": (-3, 3),
}


def unary_inputs(lo, hi):
    ilo, ihi = int(math.ceil(lo)), int(math.floor(hi)) + 1
    return [("T", Tr(f32(3, 4, lo=lo, hi=hi))), ("0d", f32(lo=lo, hi=hi)),
            ("empty", f32(0, 2, lo=lo, hi=hi)), ("f64", f64(5, lo=lo, hi=hi)),
            ("i64", R.integers(ilo, max(ihi, ilo + 1), 4)), ("bool", bools(3)),
            ("f16", f32(4, lo=lo, hi=hi).astype(np.float16))]


def table_cases():
    # Each case is one kernel to compile: the rarer variants run for every other op only.
    cases, rare = [], {"empty", "int-scalar", "f16", "f32+0d-f64"}
    for k, (fn, kind) in enumerate(BINARY.items()):
        for label, a, b in binary_inputs(kind):
            if label not in rare or k % 2 == 0:
                cases.append(expect(f"{fn}[{label}]", fn, a, b))
    for k, (fn, (lo, hi)) in enumerate(UNARY.items()):
        for label, a in unary_inputs(lo, hi):
            if label not in rare or k % 2 == 0:
                cases.append(expect(f"{fn}[{label}]", fn, a))
    x, y, w = f32(2, 3), Tr(f32(2, 3)), f32(2, 3, lo=0, hi=1)
    i, j = i64(2, 3), i64(3, nonzero=True)
    cases += [
        expect("add alpha", "add", x, y, alpha=2), expect("sub alpha", "sub", x, 3, alpha=0.5),
        expect("add int alpha", "add", i, j, alpha=3),
        expect("div trunc", "div", x, y, rounding_mode="trunc"),
        expect("div floor", "div", x, -0.7, rounding_mode="floor"),
        expect("div trunc int", "div", i, j, rounding_mode="trunc"),
        expect("div floor int", "div", i, j, rounding_mode="floor"),
        expect("where", "where", bools(2, 3), x, y), expect("where scalars", "where",
                                                             bools(3), 1.0, 0),
        expect("where int/float", "where", bools(2, 1), i, 0.5),
        expect("where method", lambda a, c, b: a.where(c, b), x, bools(3), 0.0),
        expect("lerp scalar w", "lerp", x, y, 0.3), expect("lerp tensor w", "lerp", x, y, w),
        expect("lerp w>0.5", "lerp", x, f32(3), 0.8),
        expect("clamp scalars", "clamp", x, -0.5, 0.5), expect("clamp min", "clamp", x, min=0.1),
        expect("clamp max T", "clamp", x, max=y), expect("clamp tensors", "clamp", x, f32(3), y),
        expect("clamp inverted", "clamp", x, 1.0, -1.0), expect("clamp int", "clamp", i, -2, 3),
        expect("clamp int float", "clamp", i, 0.5), expect("clip", "clip", x, -1, 1),
        expect("clamp_min", "clamp_min", x, 0.2), expect("clamp_max", "clamp_max", i, 1),
        expect("isclose", "isclose", x, torch_like(x, 1e-6)),
        expect("isclose nan", "isclose", np.array([np.nan, 1.0, np.inf]),
               np.array([np.nan, 1.0 + 1e-9, np.inf]), equal_nan=True),
        expect("isclose int", "isclose", i, i + 1, rtol=0, atol=1),
        expect("round decimals", "round", f32(5, lo=-50, hi=50), decimals=1),
        expect("round decimals<0", "round", f32(5, lo=-500, hi=500), decimals=-2),
        expect("nan_to_num args", "nan_to_num", np.array([np.nan, np.inf, -np.inf, 1.0]),
               nan=1.0, posinf=2.0, neginf=-3.0),
        expect("logit eps", "logit", f32(6, lo=0, hi=1), eps=0.2),
        expect("pow int", "pow", i64(6, lo=-3, hi=4), i64(6, lo=0, hi=9)),
        expect("pow int neg exp", "pow", np.array([1, -1, -1, 2, 0]), np.array([-3, -3, -2, -1, 4])),
        expect("pow scalar base", "pow", 2.5, x), expect("pow int scalar", "pow", i, 2),
        expect("pow 0.5", "pow", f32(4, lo=0, hi=2), 0.5), expect("pow -2", "pow", x, -2),
        expect("pow 3", "pow", x, 3), expect("pow -0.5", "pow", f32(4, lo=0.1, hi=2), -0.5),
        expect("float_power int", "float_power", i, 2),
    ]
    return cases


def torch_like(a, eps):
    return a + np.float32(eps)


OPERATORS = [O.add, O.sub, O.mul, O.truediv, O.floordiv, O.mod, O.pow, O.lt, O.le, O.gt,
             O.ge, O.eq, O.ne]
BIT_OPERATORS = [O.and_, O.or_, O.xor, O.lshift, O.rshift]


def operator_cases():
    cases = []
    a, b = f32(3, 4, lo=0.5, hi=2), f32(4, lo=0.5, hi=2)
    i, j = i64(3, 4, lo=1, hi=5), i64(4, lo=1, hi=4)
    for op in OPERATORS:
        n = op.__name__
        cases += [expect(f"{n} tensors", op, a, b), expect(f"{n} scalar", op, a, 2),
                  expect(f"r{n} scalar", op, 3, b), expect(f"{n} ints", op, i, j),
                  expect(f"r{n} float on int", op, 1.5, j)]
    for op in BIT_OPERATORS:
        n = op.__name__
        cases += [expect(f"{n} ints", op, i, j), expect(f"r{n} int", op, 5, j),
                  expect(f"{n} bools", op, bools(4), bools(4))]
    cases += [expect("neg op", O.neg, a), expect("abs op", abs, i - 3),
              expect("invert op", O.invert, i), expect("invert bool", O.invert, bools(3)),
              expect("pos op", O.pos, a)]
    return cases


def test_lazy_matches_torch():
    run_lazy(table_cases() + operator_cases())


EAGER_LABELS = {"add[bcast+T]", "floor_divide[i64]", "remainder[bcast+T]", "sin[f64]",
                "erfc[T]", "clamp tensors", "where int/float", "logical_and[bool]",
                "bitwise_left_shift[i64]", "pow int neg exp", "isclose nan", "xlogy[0d]",
                "expm1[f16]"}


def test_eager_matches_torch():
    cases = [c for c in table_cases() if c[0] in EAGER_LABELS]
    assert len(cases) == len(EAGER_LABELS)
    with irgrad.eager():
        for label, got, want in record(cases):
            assert got.node.data is not None, f"{label}: eager mode did not run the op"
            check(label, got, want)


def test_python_values():
    """Ops that return Python values, and comparisons with unsupported operands."""
    a, b = f32(3, 4), f32(3, 4)
    for lib_a, tor_a in ((irgrad.tensor(a), torch.from_numpy(a)),):
        assert irgrad.equal(lib_a, irgrad.tensor(a.copy())) is True
        assert irgrad.equal(lib_a, irgrad.tensor(b)) is torch.equal(tor_a, torch.from_numpy(b))
        assert irgrad.equal(lib_a, irgrad.tensor(a[:2])) is False
        assert irgrad.equal(irgrad.tensor([1, 2]), irgrad.tensor([1.0, 2.0])) is True
        assert irgrad.equal(irgrad.tensor([math.nan]), irgrad.tensor([math.nan])) is False
        assert irgrad.allclose(lib_a, irgrad.tensor(a + 1e-7)) is True
        assert lib_a.allclose(irgrad.tensor(a + 1e-2)) is False
        assert (lib_a == None) is False and (lib_a != None) is True  # noqa: E711
        assert (lib_a == "x") is False
        with pytest.raises(TypeError):
            lib_a < None  # noqa: B015
        with pytest.raises(TypeError):
            lib_a + "x"  # noqa: B015


# ---- errors ------------------------------------------------------------------------------------

def error_cases():
    x, i, b = f32(3), i64(3), bools(3)
    return [expect("sub bools", "sub", b, b), expect("neg bool", "neg", b),
            expect("int // 0", "floor_divide", i, 0), expect("int % 0", "remainder", i, 0),
            expect("fmod int 0", "fmod", i, 0), expect("trunc int 0", "div", i, 0,
                                                       rounding_mode="trunc"),
            expect("bad rounding", "div", x, 2, rounding_mode="round"),
            expect("int ** -1", "pow", i, -1), expect("bool ** bool", "pow", b, b),
            expect("clamp no bounds", "clamp", x), expect("float alpha int", "add", i, i, alpha=0.5),
            expect("broadcast", "add", f32(2, 3), f32(4)), expect("bitwise float", "bitwise_and", x, x),
            expect("shift float", "bitwise_left_shift", x, 1), expect("hypot int", "hypot", i, i),
            expect("where non-bool", "where", i, x, x), expect("maximum scalar", "maximum", x, 2),
            expect("isclose dtypes", "isclose", i, x), expect("abs bool", "abs", b),
            expect("relu bool", "relu", b), expect("frac int", "frac", i),
            expect("logical_and scalar", "logical_and", x, 1), expect("lerp int", "lerp", i, i, 0.5),
            expect("lerp dtypes", "lerp", x, x.astype(np.float64), 0.5),
            expect("floor bool", "floor", b), expect("round int decimals", "round", i, decimals=1),
            expect("positive bool", "positive", b), expect("remainder bools", "remainder", b, b),
            expect("isclose scalar", "isclose", x, 1.0)]


def test_errors_match_torch():
    cases = error_cases()
    assert all(isinstance(w, Exception) for _, w, _ in cases), \
        [label for label, w, _ in cases if not isinstance(w, Exception)]
    record(cases)


def test_inplace_matches_torch():
    a, b, i = f32(3, 4), f32(4), i64(3, 4, lo=1, hi=9)
    steps = [("add_", (b,), {}), ("add_", (b,), {"alpha": 2}), ("mul_", (2,), {}),
             ("sub_", (0.5,), {}), ("div_", (b,), {}), ("clamp_", (), {"min": -0.3, "max": 0.4}),
             ("pow_", (2,), {}), ("abs_", (), {}), ("sqrt_", (), {}), ("neg_", (), {}),
             ("exp_", (), {}), ("clamp_", (b,), {}), ("lt_", (0.5,), {}), ("sin_", (), {}),
             ("copysign_", (-1.0,), {}), ("lerp_", (b, 0.25), {})]
    int_steps = [("floor_divide_", (2,), {}), ("remainder_", (3,), {}), ("mul_", (3,), {}),
                 ("bitwise_and_", (6,), {}), ("clamp_", (), {"max": 5}), ("logical_not_", (), {})]
    results = []
    for arr, seq in ((a, steps), (i, int_steps)):
        got, want = irgrad.tensor(arr), torch.from_numpy(arr.copy())
        for name, args, kwargs in seq:
            r = getattr(got, name)(*[to_lib(irgrad, v) for v in args], **kwargs)
            getattr(want, name)(*[to_lib(torch, v) for v in args], **kwargs)
            assert r is got, name
        results.append((f"in-place {[s[0] for s in seq]}", got, want))
    x, t = irgrad.tensor(a), torch.from_numpy(a.copy())
    x += 1
    x *= irgrad.tensor(b)
    t += 1
    t *= torch.from_numpy(b)
    view, tview = x.T, t.T
    view.mul_(2)
    tview.mul_(2)
    results.append(("operators and views", x, t))
    out = irgrad.empty(3, 4)
    irgrad.add(irgrad.tensor(a), 1, out=out)
    results.append(("out=", out, torch.from_numpy(a) + 1))
    irgrad.realize(*[g for _, g, _ in results])
    for label, got, want in results:
        check(label, got, want)
    with pytest.raises(RuntimeError):  # result type Float can't be cast to Long
        irgrad.tensor(i).add_(0.5)
    with pytest.raises(RuntimeError):  # output shape doesn't match the broadcast shape
        irgrad.tensor(b).add_(irgrad.tensor(a))


def test_integer_division_by_zero_gives_zero():
    """Documented convention: a tensor divisor's zeros give 0 instead of trapping."""
    a = irgrad.tensor([7, -7, 0, -9223372036854775808])
    z = irgrad.tensor([0, 0, 0, -1])
    got = [a // z, a % z, irgrad.fmod(a, z), irgrad.div(a, z, rounding_mode="trunc")]
    irgrad.realize(*got)
    for g in got[:1] + got[3:]:
        assert g.tolist() == [0, 0, 0, -9223372036854775808]
    for g in got[1:3]:
        assert g.tolist() == [0, 0, 0, 0]


# ---- special values and the accuracy of the math fallbacks --------------------------------------

SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e30, -1e30, 0.5, -0.5,
                    1.0, -1.0, 2.0, -2.0, 3.5, 27.0, 100.0, -700.0, 700.0, 1e-7, 0.99999])
SPECIAL_UNARY = [f for f in UNARY if f not in ("logit", "bitwise_not")] + ["logit"]
SPECIAL_BINARY = ["add", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "atan2",
                  "hypot", "copysign", "maximum", "minimum", "fmax", "fmin", "xlogy", "lt", "eq",
                  "ne", "clamp_min", "clamp_max"]


def check_zero_signs(label, got, want):
    w = want.detach().numpy()
    if want.dtype.is_floating_point and w.size:
        g = got.numpy()
        zero = w == 0
        np.testing.assert_array_equal(np.signbit(g[zero]), np.signbit(w[zero]),
                                      err_msg=f"{label}: sign of zero")


def test_special_values_match_torch():
    cases = []
    a = np.repeat(SPECIAL, SPECIAL.size)
    b = np.tile(SPECIAL, SPECIAL.size)
    for dtype in (np.float64, np.float32):
        for fn in SPECIAL_UNARY:
            cases.append(expect(f"{fn}[{dtype.__name__} special]", fn, SPECIAL.astype(dtype)))
        with np.errstate(all="ignore"):  # torch's fmod is NaN where a / b overflows
            ok = ~(np.abs(a / b) > np.finfo(dtype).max) | ~np.isfinite(a) | (b == 0)
        for fn in SPECIAL_BINARY:
            keep = ok if fn in ("fmod", "remainder") else slice(None)
            cases.append(expect(f"{fn}[{dtype.__name__} special]", fn, a[keep].astype(dtype),
                                b[keep].astype(dtype)))
    recorded = record(cases)
    irgrad.realize(*[g for _, g, _ in recorded])
    for label, got, want in recorded:
        # Denormal results may be flushed to zero by the CPU: atol covers them.
        check(label, got, want, rtol=2e-6, atol=1e-300 if "float64" in label else 1e-37)
        if not label.startswith(("max", "min", "fmax", "fmin", "clamp")):
            # (which zero max(0.0, -0.0) returns depends on torch's SIMD path: not checked)
            check_zero_signs(label, got, want)


def wide(lo, hi, n=400, log=False):
    if log:
        v = 10 ** R.uniform(lo, hi, n)
        return np.concatenate([v, -v])
    return R.uniform(lo, hi, n)


ACCURACY = {  # function -> (inputs, f64 rtol); f32 uses rtol 2e-6
    "sin": ([wide(-10, 10), wide(-12, 300, log=True)], 4e-16),
    "cos": ([wide(-10, 10), wide(-12, 300, log=True)], 4e-16),
    "tan": ([wide(-10, 10), wide(-12, 300, log=True)], 6e-16),
    "atan": ([wide(-10, 10), wide(-12, 12, log=True)], 4e-16),
    "asin": ([wide(-1, 1), wide(-12, 0, log=True)], 6e-16),
    "acos": ([wide(-1, 1), wide(-12, 0, log=True)], 6e-16),
    "tanh": ([wide(-20, 20), wide(-12, 1.5, log=True)], 6e-16),
    "sinh": ([wide(-20, 20), wide(-12, 2.8, log=True)], 6e-16),
    "cosh": ([wide(-20, 20), wide(-12, 2.8, log=True)], 4e-16),
    "asinh": ([wide(-20, 20), wide(-12, 30, log=True)], 6e-16),
    "acosh": ([wide(1, 20), 1 + 10 ** R.uniform(-12, 30, 400)], 6e-16),
    "atanh": ([wide(-1, 1), wide(-12, -0.0001, log=True)], 6e-16),
    "expm1": ([wide(-20, 20), wide(-12, 2.8, log=True)], 4e-16),
    "log1p": ([wide(-0.99, 20), 10 ** R.uniform(-12, 30, 400)], 4e-16),
    "exp2": ([wide(-1000, 1000), wide(-10, 10)], 4e-16),
    "log2": ([10 ** R.uniform(-300, 300, 400), 2.0 ** np.arange(-100, 100)], 4e-16),
    "log10": ([10 ** R.uniform(-300, 300, 400), 10.0 ** np.arange(-20, 20)], 4e-16),
    "erf": ([wide(-6, 6), wide(-12, 1, log=True)], 8e-16),
    "erfc": ([wide(-6, 26), wide(-12, 1.4, log=True)], 1e-14),
    "erfinv": ([wide(-1, 1), 1 - 10 ** R.uniform(-15.5, -0.3, 200), wide(-12, -0.3, log=True)],
               4e-15),
    "sigmoid": ([wide(-40, 40)], 4e-16),
}
ACCURACY2 = {
    "atan2": ((wide(-12, 12, log=True), wide(-12, 12, log=True)[::-1]), 4e-16),
    "hypot": ((wide(-300, 300, log=True), wide(-300, 300, log=True)[::-1]), 4e-16),
    "pow": ((10 ** R.uniform(-5, 5, 800), R.uniform(-20, 20, 800)), 5e-14),
    "fmod": ((wide(-150, 150, log=True), wide(-150, 150, log=True)[::-1]), 0.0),
    "remainder": ((wide(-30, 30, log=True), wide(-30, 30, log=True)[::-1]), 0.0),
    "floor_divide": ((wide(-8, 8, log=True), wide(-8, 8, log=True)[::-1]), 0.0),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_math_accuracy(dtype):
    """The f64 fallbacks (no libm in llvm-cpu) and the f32 replacements are near-exact."""
    cases, tols = [], {}
    with np.errstate(over="ignore"):
        for fn, (parts, rtol) in ACCURACY.items():
            x = np.concatenate(parts).astype(dtype)
            x = x[np.isfinite(x) & (np.abs(x) >= np.finfo(dtype).tiny)]  # CPUs flush denormals
            cases.append(expect(fn, fn, x))
            tols[fn] = rtol
        for fn, ((a, b), rtol) in ACCURACY2.items():
            keep = np.isfinite(a.astype(dtype)) & np.isfinite(b.astype(dtype))
            # torch's own fmod gives NaN once a / b overflows: compare where it does not.
            keep &= np.abs(a / b) < np.finfo(dtype).max
            cases.append(expect(fn, fn, a.astype(dtype)[keep], b.astype(dtype)[keep]))
            tols[fn] = rtol
    recorded = record(cases)
    irgrad.realize(*[g for _, g, _ in recorded])
    for label, got, want in recorded:
        rtol = tols[label] if dtype == np.float64 else 2e-6
        tiny = np.finfo(dtype).tiny
        check(f"{label}[{dtype.__name__}]", got, want, rtol=rtol, atol=tiny * 4)


def test_f64_remainders_are_exact():
    """fmod/remainder are exact for any ratio (PyTorch's own CPU kernel returns NaN once
    a / b overflows; NumPy's libm result is the reference here)."""
    a, b = wide(-300, 300, log=True), wide(-300, 300, log=True)[::-1].copy()
    got = [irgrad.fmod(irgrad.tensor(a), irgrad.tensor(b)),
           irgrad.remainder(irgrad.tensor(a), irgrad.tensor(b))]
    irgrad.realize(*got)
    keep = np.abs(np.fmod(a, b)) >= np.finfo(np.float64).tiny
    np.testing.assert_array_equal(got[0].numpy()[keep], np.fmod(a, b)[keep])
    np.testing.assert_array_equal(got[1].numpy()[keep], np.remainder(a, b)[keep])


# ---- gradients ------------------------------------------------------------------------------

def _grad_cases():
    x = np.array([-1.5, -1.0, 0.0, 0.25, 1.0, 2.0])
    p = np.array([0.0, 0.5, 1.0, 2.0, 3.0])
    u = np.array([-0.7, -0.2, 0.0, 0.3, 0.8])
    big = np.array([1.2, 1.5, 2.0, 3.0])
    cases = [("abs at 0", lambda L, a: L.abs(a), [x]), ("relu at 0", lambda L, a: L.relu(a), [x]),
             ("sign", lambda L, a: L.sign(a), [x]), ("floor", lambda L, a: L.floor(a), [x]),
             ("round", lambda L, a: L.round(a, decimals=1), [x]),
             ("clamp at bounds", lambda L, a: L.clamp(a, -1.0, 1.0), [x]),
             ("clamp tensors", lambda L, a, lo, hi: L.clamp(a, lo, hi),
              [x, np.array([-1.5, 0.0, 0.0, 0.5, 3.0, 1.0]), np.array([1.0])]),
             ("clamp_min tie", lambda L, a, b: L.clamp_min(a, b), [x, np.array([0.0, -1.0, 0.0,
                                                                                  1.0, 1.0, 5.0])]),
             ("sqrt at 0", lambda L, a: L.sqrt(a), [p]),
             ("pow tensors", lambda L, a, b: L.pow(a, b), [p, np.array([2.0, 0.0, -1.0, 1.5,
                                                                         0.5])]),
             ("pow 2", lambda L, a: L.pow(a, 2), [x]), ("pow 0.5", lambda L, a: a ** 0.5, [p]),
             ("pow 0", lambda L, a: a ** 0, [x]), ("pow 3.5", lambda L, a: a ** 3.5, [p]),
             ("rpow", lambda L, a: 2.5 ** a, [x]), ("float_power", lambda L, a: L.float_power(a, 3),
                                                    [x]),
             ("maximum ties", lambda L, a, b: L.maximum(a, b), [x, np.array([0.0, -1.0, 0.0, 1.0,
                                                                             1.0, 3.0])]),
             ("minimum bcast", lambda L, a, b: L.minimum(a, b), [x.reshape(2, 3), u[:3]]),
             ("fmax nan ties", lambda L, a, b: L.fmax(a, b),
              [x, np.array([np.nan, -1.0, 0.0, 1.0, np.nan, 3.0])]),
             ("fmin", lambda L, a, b: L.fmin(a, b), [x, np.array([np.nan, -1.0, 0.5, 1.0, 1.0,
                                                                  0.0])]),
             ("atan2", lambda L, a, b: L.atan2(a, b), [x, x[::-1] + 0.1]),
             ("hypot", lambda L, a, b: L.hypot(a, b), [x, x[::-1] + 0.1]),
             ("copysign", lambda L, a, b: L.copysign(a, b), [x, -x[::-1]]),
             ("lerp", lambda L, a, b, w: L.lerp(a, b, w), [x, x[::-1], np.linspace(0, 1, 6)]),
             ("xlogy at 0", lambda L, a, b: L.xlogy(a, b), [x, p[[0, 1, 2, 3, 4, 4]] + 0.5]),
             ("remainder", lambda L, a, b: L.remainder(a, b), [x * 3, np.array([0.7, -0.7, 1.1,
                                                                                  2.0, -3.0, 4.0])]),
             ("fmod", lambda L, a, b: L.fmod(a, b), [x * 3, np.array([0.7, -0.7, 1.1, 2.0, -3.0,
                                                                      4.0])]),
             ("div floor", lambda L, a, b: L.div(a, b, rounding_mode="floor"), [x * 3, np.array([0.7, -0.7, 1.1, 2.0, -3.0,
                                                                          4.0])]),
             ("div bcast", lambda L, a, b: a / b, [x.reshape(3, 2), np.array([0.5, -2.0])]),
             ("sub rscalar", lambda L, a: 3 - a * 2, [x]),
             ("where", lambda L, a, b: L.where(a > 0, a, b), [x, x[::-1]]),
             ("logit eps", lambda L, a: L.logit(a, eps=0.2), [np.array([0.1, 0.2, 0.5, 0.9])]),
             ("nan_to_num", lambda L, a: L.nan_to_num(a), [np.array([np.nan, np.inf, 1.0])]),
             ("erfinv", lambda L, a: L.erfinv(a), [u]), ("erfc", lambda L, a: L.erfc(a), [x]),
             ("acosh", lambda L, a: L.acosh(a), [big]), ("sinc-ish", lambda L, a: L.sin(a) / a,
                                                        [big])]
    for fn in ("sigmoid", "tanh", "erf", "asin", "acos", "atan", "sinh", "cosh", "asinh",
               "atanh", "log2", "log10", "log1p", "expm1", "exp2", "rsqrt", "reciprocal",
               "tan", "sin", "cos", "exp", "log", "trunc", "ceil", "frac", "square", "deg2rad"):
        vals = u + 1.0 if fn in ("log2", "log10", "rsqrt", "reciprocal", "log") else u
        cases.append((fn, (lambda f: lambda L, a: getattr(L, f)(a))(fn), [vals]))
    return cases


def test_gradients_match_torch():
    got, want = [], []
    for label, fn, arrays in _grad_cases():
        grads = []
        for lib in (torch, irgrad):
            leaves = [lib.tensor(np.ascontiguousarray(a), requires_grad=True) for a in arrays]
            out = fn(lib, *leaves)
            g = np.linspace(-1.0, 2.0, max(out.numel(), 1)).reshape(tuple(out.shape))
            grads.append(lib.autograd.grad(out, leaves, grad_outputs=lib.tensor(g),
                                           allow_unused=True))
        want.append((label, grads[0]))
        got.append(grads[1])
    irgrad.realize(*[t for gs in got for t in gs if t is not None])
    for (label, w), g in zip(want, got):
        for k, (gi, wi) in enumerate(zip(g, w)):
            check(f"grad {label} input {k}", gi, wi, rtol=1e-10, atol=1e-12)
