"""Counter-based random numbers: Philox-4x32-10 evaluated inside one `linalg.generic`.

Every element computes its own Philox block: the counter is (element index as two 32-bit
words, offset as two words) and the key is the 64-bit seed, so a value depends only on
(seed, offset, position) and is the same in lazy and eager mode, on any device, in any
fusion. The (seed, offset) pair arrives as a small int64[2] graph INPUT (`key`), never as an
attribute: the generator advances its offset on the host each call, so a training loop that
draws dropout masks reuses one compiled graph, and two draws are two different nodes.

Words become numbers as follows (all exact, so the NumPy reference reproduces them bit for
bit):
- uniform [0, 1): the top m bits of word 0 times 2^-m, m = the dtype's significand width
  (24 for float32, 11 float16, 8 bfloat16); float64 joins 27 + 26 bits of words 0 and 1.
- normal: Box-Muller, sqrt(-2 log(1 - u1)) * cos(2 pi u2), with u1, u2 uniform from words
  (0, 1) (words (0, 1) and (2, 3) for float64); float64 uses a polynomial cosine because
  llvm-cpu cannot link libm's double cos.
- randint: low + ((word0 << 32 | word1) mod (high - low)) in 64-bit unsigned arithmetic.
The streams are not bit-compatible with PyTorch's CPU generator (documented in docs).
"""
from __future__ import annotations

import math

import numpy as np

from .. import dtypes as dt
from ..node import make
from ..opdef import defop

M0, M1 = 0xD2511F53, 0xCD9E8D57
W0, W1 = 0x9E3779B9, 0xBB67AE85
MASK = 0xFFFFFFFF
ROUNDS = 10
_BITS = {"float32": 24, "float16": 11, "bfloat16": 8}


# ---- NumPy reference of the generator (the test oracle) -------------------------------------

def philox_np(n, seed: int, offset: int):
    """The four uint32 words (as uint64 arrays) for element indices 0..n-1 (or the uint64
    index array n): counter (idx lo, idx hi, offset lo, offset hi), key (seed lo, seed hi)."""
    idx = np.arange(n, dtype=np.uint64) if np.isscalar(n) else np.asarray(n, np.uint64)
    m = np.uint64(MASK)
    c0, c1 = idx & m, idx >> np.uint64(32)
    seed, offset = int(seed) & ((1 << 64) - 1), int(offset) & ((1 << 64) - 1)
    c2 = np.full(idx.shape, offset & MASK, np.uint64)
    c3 = np.full(idx.shape, offset >> 32, np.uint64)
    k0, k1 = seed & MASK, seed >> 32
    for _ in range(ROUNDS):
        p0 = c0 * np.uint64(M0)
        p1 = c2 * np.uint64(M1)
        c0, c1, c2, c3 = ((p1 >> np.uint64(32)) ^ c1 ^ np.uint64(k0), p1 & m,
                          (p0 >> np.uint64(32)) ^ c3 ^ np.uint64(k1), p0 & m)
        k0, k1 = (k0 + W0) & MASK, (k1 + W1) & MASK
    return c0, c1, c2, c3


def _np_uniform(w0, w1, dtype):
    if dtype is dt.float64:
        return (((w0 >> np.uint64(5)) << np.uint64(26)) | (w1 >> np.uint64(6))) * 2.0 ** -53
    m = _BITS[dtype.name]
    return ((w0 >> np.uint64(32 - m)).astype(np.float64) * 2.0 ** -m).astype(np.float32)


def _key_ints(key):
    k = np.asarray(key).astype(np.int64)
    return int(k[0]), int(k[1])


def _ref_uniform(key, shape, dtype, device=None):
    n = int(np.prod(shape))
    w = philox_np(n, *_key_ints(key))
    return _np_uniform(w[0], w[1], dtype).reshape(shape).astype(dt.numpy_dtype(dtype))


def _ref_normal(key, shape, dtype, device=None):
    n = int(np.prod(shape))
    w = philox_np(n, *_key_ints(key))
    if dtype is dt.float64:
        u1, u2 = _np_uniform(w[0], w[1], dtype), _np_uniform(w[2], w[3], dtype)
    else:  # float32 math for float32 and the half types (rounded at the end)
        u1, u2 = _np_uniform(w[0], w[1], dt.float32), _np_uniform(w[1], w[1], dt.float32)
    one = np.array(1, u1.dtype)
    z = np.sqrt(-2 * np.log(one - u1)) * np.cos(np.array(2 * math.pi, u1.dtype) * u2)
    return z.reshape(shape).astype(dt.numpy_dtype(dtype))


def _ref_randint(key, shape, low, high, dtype, device=None):
    n = int(np.prod(shape))
    w = philox_np(n, *_key_ints(key))
    r = (w[0] << np.uint64(32)) | w[1]
    span = np.uint64((high - low) & ((1 << 64) - 1))
    v = ((r % span) + np.uint64(low & ((1 << 64) - 1))).view(np.int64)
    return v.reshape(shape).astype(dt.numpy_dtype(dtype))


# ---- lowering -------------------------------------------------------------------------------

def _philox(L, key_seed, key_off, idx):
    """Emit Philox-4x32-10 on i32 values; idx, key_seed, key_off are i64 values."""
    S32, S64 = L.scalar(dt.int32), L.scalar(dt.int64)
    lo = lambda v: S64.cast(v, dt.int64, dt.int32)  # noqa: E731  (trunci)
    hi = lambda v: lo(L.arith.shrui(v, S64.const(32)))  # noqa: E731
    c0, c1, c2, c3 = lo(idx), hi(idx), lo(key_off), hi(key_off)
    k0, k1 = lo(key_seed), hi(key_seed)
    u64 = lambda v: L.arith.extui(L.element_type(dt.int64), v)  # noqa: E731
    m0, m1 = S64.const(M0), S64.const(M1)
    for r in range(ROUNDS):
        p0 = S64.mul(u64(c0), m0)
        p1 = S64.mul(u64(c2), m1)
        c0, c1, c2, c3 = (S32.xor(S32.xor(hi(p1), c1), k0), lo(p1),
                          S32.xor(S32.xor(hi(p0), c3), k1), lo(p0))
        if r + 1 < ROUNDS:
            k0 = S32.add(k0, S32.const(W0 - (1 << 32)))
            k1 = S32.add(k1, S32.const(W1 - (1 << 32)))
    return c0, c1, c2, c3


def _uniform_value(L, w0, w1, dtype):
    """Exact uniform [0, 1) of `dtype` (float32 for half types, truncated by the caller)."""
    S32, S64 = L.scalar(dt.int32), L.scalar(dt.int64)
    if dtype is dt.float64:
        a = L.arith.extui(L.element_type(dt.int64), L.arith.shrui(w0, S32.const(5)))
        b = L.arith.extui(L.element_type(dt.int64), L.arith.shrui(w1, S32.const(6)))
        v = L.arith.ori(L.arith.shli(a, S64.const(26)), b)
        f = L.arith.uitofp(L.element_type(dt.float64), v)
        return L.arith.mulf(f, L.scalar(dt.float64).const(2.0 ** -53))
    m = _BITS[dtype.name]
    f = L.arith.uitofp(L.element_type(dt.float32), L.arith.shrui(w0, S32.const(32 - m)))
    return L.arith.mulf(f, L.scalar(dt.float32).const(2.0 ** -m))


def _cos_2pi_f64(L, u):
    """cos(2 pi u) for u in [0, 1) in float64 by octant folding and Taylor series."""
    S = L.scalar(dt.float64)
    c = S.const
    v = S.select(S.cmp("lt", u, c(0.5)), u, S.sub(u, c(1.0)))
    a = S.select(S.cmp("lt", v, c(0.0)), S.neg(v), v)             # |v| in [0, 0.5]
    far = S.cmp("gt", a, c(0.25))
    b = S.select(far, S.sub(c(0.5), a), a)                          # [0, 0.25]
    sign = S.select(far, c(-1.0), c(1.0))
    swap = S.cmp("gt", b, c(0.125))
    x = S.mul(S.select(swap, S.sub(c(0.25), b), b), c(2 * math.pi))  # [0, pi/4]
    x2 = S.mul(x, x)
    cos_p, sin_p = c(0.0), c(0.0)
    for k in range(9, -1, -1):  # Horner in x^2; terms beyond x^18 are below 1e-18
        cos_p = S.add(S.mul(cos_p, x2), c((-1) ** k / math.factorial(2 * k)))
        sin_p = S.add(S.mul(sin_p, x2), c((-1) ** k / math.factorial(2 * k + 1)))
    return S.mul(sign, S.select(swap, S.mul(sin_p, x), cos_p))


def _normal_value(L, w, dtype):
    if dtype is dt.float64:
        S = L.scalar(dt.float64)
        u1, u2 = _uniform_value(L, w[0], w[1], dtype), _uniform_value(L, w[2], w[3], dtype)
        cos = _cos_2pi_f64(L, u2)
    else:
        S = L.scalar(dt.float32)
        u1, u2 = _uniform_value(L, w[0], w[1], dt.float32), _uniform_value(L, w[1], w[1],
                                                                           dt.float32)
        cos = S.cos(S.mul(S.const(2 * math.pi), u2))
    r = S.sqrt(S.mul(S.const(-2.0), S.log(S.sub(S.const(1.0), u1))))
    return S.mul(r, cos)


def _lower_random(kind):
    def lower(L, node, ops):
        shape, dtype = node.shape, node.dtype
        R = len(shape)
        S64 = L.scalar(dt.int64)
        key_maps = [L.affine_map(R, [L.cst(0)]), L.affine_map(R, [L.cst(1)])]

        def body(seed, off, out):
            idx = S64.const(0)
            for i in range(R):
                c = L.index_cast(L.loop_index(i), dt.int64)
                idx = S64.add(S64.mul(idx, S64.const(shape[i])), c) if i else c
            w = _philox(L, seed, off, idx)
            if kind == "uniform":
                v, src = _uniform_value(L, w[0], w[1], dtype), (
                    dt.float64 if dtype is dt.float64 else dt.float32)
            elif kind == "normal":
                v, src = _normal_value(L, w, dtype), (
                    dt.float64 if dtype is dt.float64 else dt.float32)
            else:
                r = L.arith.ori(L.arith.shli(L.arith.extui(L.element_type(dt.int64), w[0]),
                                             S64.const(32)),
                                L.arith.extui(L.element_type(dt.int64), w[1]))
                span = (node.attrs["high"] - node.attrs["low"]) & ((1 << 64) - 1)
                span = span - (1 << 64) if span >= 1 << 63 else span
                v = S64.add(L.arith.remui(r, S64.const(span)), S64.const(node.attrs["low"]))
                src = dt.int64
            return L.scalar(src).cast(v, src, dtype)

        return L.generic([ops[0], ops[0]], [L.empty(shape, dtype)],
                         key_maps + [L.identity_map(R)], ["parallel"] * R, body)
    return lower


# ---- primitives ------------------------------------------------------------------------------

def _rule(inputs, attrs):
    key = inputs[0]
    if key.dtype is not dt.int64 or key.shape != (2,):
        raise TypeError("internal: a random op's key must be int64[2] (seed, offset)")
    return attrs["dtype"], tuple(attrs["shape"])


def _keys(rng, n=3):
    return [np.array([int(rng.integers(-2 ** 62, 2 ** 62)), int(rng.integers(0, 2 ** 40))],
                     np.int64) for _ in range(n)]


def _float_samples(rng):
    k = _keys(rng)
    return [([k[0]], {"shape": (3, 5), "dtype": dt.float32}),
            ([k[1]], {"shape": (70,), "dtype": dt.float64}),
            ([k[2]], {"shape": (2, 0, 3), "dtype": dt.float32}),
            ([k[0]], {"shape": (), "dtype": dt.float32}),
            ([k[1]], {"shape": (4, 4), "dtype": dt.float16})]


def _int_samples(rng):
    k = _keys(rng)
    return [([k[0]], {"shape": (4, 6), "low": -5, "high": 17, "dtype": dt.int64}),
            ([k[1]], {"shape": (50,), "low": 0, "high": 2 ** 62 + 3, "dtype": dt.int64}),
            ([k[2]], {"shape": (7,), "low": 0, "high": 2, "dtype": dt.bool_}),
            ([k[0]], {"shape": (3,), "low": 3, "high": 250, "dtype": dt.uint8}),
            ([k[1]], {"shape": (5,), "low": -(2 ** 63), "high": 2 ** 63 - 1,
                      "dtype": dt.int64}),
            ([k[2]], {"shape": (5,), "low": -4, "high": 4, "dtype": dt.float32})]


defop("rand_uniform", infer=_rule, reference=_ref_uniform, lower=_lower_random("uniform"),
      differentiable=False, samples=_float_samples,
      doc="Uniform [0, 1) from key = int64[2] (seed, offset); attrs shape, dtype.")
defop("rand_normal", infer=_rule, reference=_ref_normal, lower=_lower_random("normal"),
      differentiable=False, samples=_float_samples,
      doc="Standard normal (Box-Muller) from key = (seed, offset); attrs shape, dtype.")
defop("rand_int", infer=_rule, reference=_ref_randint, lower=_lower_random("int"),
      differentiable=False, samples=_int_samples,
      doc="Integers in [low, high) from key = (seed, offset); attrs shape, low, high, dtype.")


# ---- node-level functions (the frontend supplies a fresh key per call) -----------------------

def uniform(key, shape, dtype, device="cpu"):
    return make("rand_uniform", (key,), shape=tuple(shape), dtype=dtype, device=device)


def normal(key, shape, dtype, device="cpu"):
    return make("rand_normal", (key,), shape=tuple(shape), dtype=dtype, device=device)


def randint(key, low, high, shape, dtype, device="cpu"):
    return make("rand_int", (key,), shape=tuple(shape), low=int(low), high=int(high),
                dtype=dtype, device=device)


EXPORTS: list = []  # the public API is in irgrad/frontend/random.py (it owns the generators)
