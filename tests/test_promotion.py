"""Result dtypes of binary ops against PyTorch over every pair of dtypes and operand kinds.

Operand kinds: tensors with dims, 0-d tensors, Python scalars (bool/int/float) and NumPy
scalars, on either side. Dtypes are checked for every combination (no compile needed:
types are known when an op is recorded); values are checked on a few representative mixes
in one batched realization (each output costs a dispatch to compile, so not all 2000).
"""
import functools

import numpy as np
import pytest
import torch

import irgrad

DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16",
          "float32", "float64"]
OPS = ["add", "mul", "div", "lt", "eq", "maximum"]
SCALARS = [True, 3, 1.5, np.float64(1.5), np.int64(2)]


def values(dtype, shape, seed):
    """Small exact values (no overflow, no zero divisors) for `dtype`."""
    r = np.random.default_rng(seed)
    if dtype == "bool":
        return np.ones(shape, bool) if seed % 2 else (r.random(shape) > 0.3)
    return r.integers(1, 4, size=shape).astype(np.float64) * (0.5 if "float" in dtype else 1)


@functools.lru_cache(maxsize=None)
def pair(dtype, shape, seed):
    a = values(dtype, shape, seed)
    return (torch.tensor(a, dtype=getattr(torch, dtype)),
            irgrad.tensor(a, dtype=getattr(irgrad, dtype)))


def call(mod, op, a, b):
    return getattr(mod, op)(a, b)


def tname(d):
    return str(d).replace("torch.", "")


def iname(d):
    return str(d).replace("irgrad.", "")


SHAPES = {"tensor": (3,), "0d": ()}
KINDS = [("tensor", "tensor"), ("tensor", "0d"), ("0d", "tensor"), ("0d", "0d")]


def all_cases(ops=OPS):
    """(label, torch result, irgrad result) for every op, dtype pair and kind."""
    out = []
    for op in ops:
        for i, da in enumerate(DTYPES):
            for j, db in enumerate(DTYPES):
                for ka, kb in KINDS:
                    ta, ia = pair(da, SHAPES[ka], 2 * i)
                    tb, ib = pair(db, SHAPES[kb], 2 * j + 1)  # odd seed: no zero divisors
                    label = f"{op}({da} {ka}, {db} {kb})"
                    out.append((label, outcome(torch, op, ta, tb), outcome(irgrad, op, ia, ib)))
            for s in SCALARS if op not in NO_SCALARS else ():
                for kind in ("tensor", "0d"):
                    ta, ia = pair(da, SHAPES[kind], i)
                    label = f"{op}({da} {kind}, {type(s).__name__} {s})"
                    out.append((label, outcome(torch, op, ta, s), outcome(irgrad, op, ia, s)))
                    if op in ("add", "mul"):
                        out.append(("r" + label, outcome(torch, op, s, ta),
                                    outcome(irgrad, op, s, ia)))
    return out


def outcome(mod, op, a, b):
    """The result's (dtype, shape), or the exception class the call raised."""
    try:
        r = call(mod, op, a, b)
    except Exception as e:  # noqa: BLE001 - compared against torch's class
        return ("raises", type(e).__name__)
    name = tname(r.dtype) if mod is torch else iname(r.dtype)
    return (name, tuple(r.shape))


# Ops whose torch form takes no Python scalar operand.
NO_SCALARS = {"maximum", "minimum", "atan2"}
MORE_OPS = ["sub", "pow", "floor_divide", "remainder", "ne", "ge", "minimum", "atan2",
            "bitwise_and", "logical_and", "fmod"]


@pytest.mark.parametrize("ops", [OPS, MORE_OPS], ids=["core", "more"])
def test_result_dtypes_match_torch(ops):
    bad = [f"{label}: torch {t}, irgrad {g}" for label, t, g in all_cases(ops) if t != g]
    assert not bad, f"{len(bad)} mismatches:\n" + "\n".join(bad[:60])


def test_promote_types_and_operators():
    for a in DTYPES:
        for b in DTYPES:
            want = torch.promote_types(getattr(torch, a), getattr(torch, b))
            assert iname(irgrad.promote_types(getattr(irgrad, a), getattr(irgrad, b))) == \
                tname(want), (a, b)
    tx, x = pair("int32", (3,), 0)
    for fn in (lambda v: v + 1.5, lambda v: 2 * v, lambda v: v / 2, lambda v: 1.5 < v,
               lambda v: v == 2, lambda v: v * True, lambda v: -v, lambda v: v - 1):
        assert iname(fn(x).dtype) == tname(fn(tx).dtype)


VALUE_CASES = [  # (op, a dtype, a kind, b dtype or Python scalar, b kind)
    ("add", "bool", "tensor", "bool", "tensor"), ("mul", "bool", "tensor", "bool", "0d"),
    ("add", "uint8", "tensor", "int8", "tensor"), ("add", "int32", "tensor", 1.5, None),
    ("mul", "uint8", "tensor", True, None), ("add", "int8", "tensor", "int64", "0d"),
    ("add", "float16", "tensor", "bfloat16", "tensor"), ("div", "int64", "tensor", "int32", "0d"),
    ("div", "bool", "tensor", 2, None), ("lt", "int32", "tensor", 1.5, None),
    ("eq", "float16", "0d", "float64", "tensor"), ("add", "int32", "tensor", "float64", "0d"),
    ("maximum", "uint8", "tensor", "bfloat16", "tensor"), ("lt", "bool", "tensor", "int16", "0d"),
]


def test_result_values_match_torch():
    """Operands are converted to the promoted dtype before the op runs (one compile)."""
    cases = []
    for op, da, ka, b, kb in VALUE_CASES:
        ta, ia = pair(da, SHAPES[ka], 0)
        tb, ib = pair(b, SHAPES[kb], 1) if kb else (b, b)
        cases.append((f"{op}({da} {ka}, {b} {kb})", call(torch, op, ta, tb),
                      call(irgrad, op, ia, ib)))
    irgrad.realize(*[g for _, _, g in cases])
    for label, t, g in cases:
        want = (t.float() if t.dtype == torch.bfloat16 else t).numpy()
        assert iname(g.dtype) == tname(t.dtype), label
        np.testing.assert_allclose(g.numpy().astype(np.float64), want.astype(np.float64),
                                   rtol=1e-3, atol=1e-3, err_msg=label)


@pytest.mark.parametrize("default", ["float64", "float16"])
def test_promotion_follows_default_dtype(default):
    old = torch.get_default_dtype()
    torch.set_default_dtype(getattr(torch, default))
    irgrad.set_default_dtype(getattr(irgrad, default))
    try:
        for da in DTYPES:
            ta, ia = pair(da, (2,), 0)
            for s in (1.5, 2, True):
                assert iname(irgrad.add(ia, s).dtype) == tname(torch.add(ta, s).dtype), (da, s)
            assert iname(irgrad.div(ia, ia).dtype) == tname(torch.div(ta, ta).dtype), da
    finally:
        irgrad.set_default_dtype(irgrad.float32)
        torch.set_default_dtype(old)
