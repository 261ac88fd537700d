"""Trigonometric functions for elementwise bodies (see `scalar_math` for why they exist).

sin/cos/tan reduce their argument exactly for every finite input: |x| <= pi/4 is used as is,
larger |x| go through a Payne-Hanek reduction in 64-bit integer arithmetic against 1280 bits
of 2/pi, then a Taylor polynomial on [-pi/4, pi/4]. atan/atan2 reduce to [0, tan(pi/8)] and
use a Taylor series; asin/acos (f64 only: the f32 math ops are accurate) go through atan2.
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .mlir import arith_d, ir, math_d
from .scalar_math import (_PI, F, _bits_of, _int_const, _is64, or_, poly, sel, widened)

_SIN = [float(Fraction((-1) ** n, math.factorial(2 * n + 1))) for n in range(10)]
_COS = [float(Fraction((-1) ** n, math.factorial(2 * n))) for n in range(10)]

# 2/pi as a bit string after 64 zero bits, in 64-bit words (most significant bit first).
_TWO_OVER_PI_WORDS = []


def _two_over_pi_words():
    if not _TWO_OVER_PI_WORDS:
        nbits = 21 * 64 - 64
        t = (2 * (1 << nbits) * _PI.denominator) // _PI.numerator  # floor(2/pi * 2^nbits)
        for k in range(21):
            w = (t >> (nbits - 64 * (k - 1) - 64)) & ((1 << 64) - 1) if k else 0
            _TWO_OVER_PI_WORDS.append(w - (1 << 64) if w >= 1 << 63 else w)
    return _TWO_OVER_PI_WORDS


def _mul_64x64(a, b):
    """(low, high) 64-bit words of the unsigned 128-bit product a * b, from 32-bit halves
    (arith.mului_extended does not legalize on llvm-cpu for every vector shape)."""
    i64 = a.type
    c32, mask = _int_const(i64, 32), _int_const(i64, 0xFFFFFFFF)
    a0, a1 = arith_d.andi(a, mask), arith_d.shrui(a, c32)
    b0, b1 = arith_d.andi(b, mask), arith_d.shrui(b, c32)
    p00, p01 = arith_d.muli(a0, b0), arith_d.muli(a0, b1)
    p10, p11 = arith_d.muli(a1, b0), arith_d.muli(a1, b1)
    mid = arith_d.addi(arith_d.addi(arith_d.shrui(p00, c32), arith_d.andi(p01, mask)),
                       arith_d.andi(p10, mask))
    lo = arith_d.ori(arith_d.shli(mid, c32), arith_d.andi(p00, mask))
    hi = arith_d.addi(arith_d.addi(p11, arith_d.shrui(p01, c32)),
                      arith_d.addi(arith_d.shrui(p10, c32), arith_d.shrui(mid, c32)))
    return lo, hi


def _reduce_large(x: F):
    """Payne-Hanek: (r, q) with |x| = r + q*pi/2 (mod 2pi), |r| <= pi/4, for |x| >= pi/4.

    |x| = m * 2^e exactly (m a 53- or 24-bit integer). Only the 192 bits of 2/pi around
    2^-e matter for x * 2/pi mod 4; their product with m in 64-bit words gives the
    quadrant and 128 fraction bits, so the result is accurate for every finite x."""
    w = _bits_of(x.t)
    mant, bias = (52, 1023) if w == 64 else (23, 127)
    i64 = ir.IntegerType.get_signless(64)

    def c(k):
        return _int_const(i64, k)

    bits = arith_d.bitcast(ir.IntegerType.get_signless(w), x.abs().v)
    if w != 64:
        bits = arith_d.extui(i64, bits)
    expo = arith_d.andi(arith_d.shrui(bits, c(mant)), c(0x7FF if w == 64 else 0xFF))
    m = arith_d.ori(arith_d.andi(bits, c((1 << mant) - 1)), c(1 << mant))
    # First bit needed: weight 2^-(e-1) of 2/pi, e = expo - bias - mant; 64 pad bits.
    j0 = arith_d.maxsi(arith_d.subi(expo, c(bias + mant + 2 - 64)), c(0))
    q = arith_d.shrui(j0, c(6))
    sh = arith_d.andi(j0, c(63))
    words = _two_over_pi_words()

    def word(idx):
        v = c(words[0])
        for k in range(1, len(words)):
            v = arith_d.select(arith_d.cmpi(arith_d.CmpIPredicate.eq, idx, c(k)), c(words[k]), v)
        return v

    raw = [word(arith_d.addi(q, c(k))) for k in range(4)]
    no_shift = arith_d.cmpi(arith_d.CmpIPredicate.eq, sh, c(0))
    back = arith_d.subi(c(64), arith_d.select(no_shift, c(1), sh))
    win = [arith_d.select(no_shift, raw[k], arith_d.ori(arith_d.shli(raw[k], sh),
                                                        arith_d.shrui(raw[k + 1], back)))
           for k in range(3)]
    (l0, h0), (l1, h1), (l2, h2) = [_mul_64x64(m, wk) for wk in win]
    w1 = arith_d.addi(h2, l1)
    carry = arith_d.extui(i64, arith_d.cmpi(arith_d.CmpIPredicate.ult, w1, h2))
    w2 = arith_d.addi(arith_d.addi(h1, l0), carry)
    f_hi = arith_d.ori(arith_d.shli(w2, c(2)), arith_d.shrui(w1, c(62)))
    f_lo = arith_d.ori(arith_d.shli(w1, c(2)), arith_d.shrui(l2, c(62)))
    # A fraction >= 1/2 reads as negative: round to the next quadrant.
    quad = arith_d.shrui(w2, c(62))
    up = arith_d.cmpi(arith_d.CmpIPredicate.slt, f_hi, c(0))
    quad = arith_d.andi(arith_d.addi(quad, arith_d.extui(i64, up)), c(3))
    frac = F(arith_d.sitofp(x.t, f_hi)) * 2.0 ** -64
    if w == 64:  # f32 needs no more than the 64 bits of f_hi (2^-128 is no f32 normal)
        frac = frac + F(arith_d.uitofp(x.t, f_lo)) * 2.0 ** -128
    pio2_hi = float(_PI / 2) if w == 64 else float(np.float32(float(_PI / 2)))
    r = frac * pio2_hi + frac * float(_PI / 2 - Fraction(pio2_hi))
    neg = x < 0.0
    r = sel(neg, -r, r)
    quad = arith_d.select(neg, arith_d.andi(arith_d.subi(c(4), quad), c(3)), quad)
    return r, F(arith_d.uitofp(x.t, quad))


def _reduce_pio2(x: F):
    """(r, q): x = r + k*pi/2 with |r| <= pi/4 and q = k mod 4 as a float in {0,1,2,3}."""
    r, q = _reduce_large(x)
    small = x.abs() <= math.pi / 4
    r = sel(x.abs().eq(math.inf), math.nan, r)  # sin(inf) is NaN; NaN passes through `small`
    return sel(or_(small, x.isnan()), x, r), sel(small, 0.0, q)


def _sin_cos_kernels(r: F):
    n = 9 if _is64(r.t) else 5
    r2 = r * r
    s = r * poly(r2, _SIN[:n])
    c = poly(r2, _COS[:n + 1])
    return s, c


def _tiny(x: F) -> float:
    return 2.0 ** (-27 if _is64(x.t) else -12)


@widened
def sin(v):
    x = F(v)
    r, q = _reduce_pio2(x)
    s, c = _sin_cos_kernels(r)
    out = sel(q.eq(0.0), s, sel(q.eq(1.0), c, sel(q.eq(2.0), -s, -c)))
    return sel(x.abs() < _tiny(x), x, out).v


@widened
def cos(v):
    x = F(v)
    r, q = _reduce_pio2(x)
    s, c = _sin_cos_kernels(r)
    return sel(q.eq(0.0), c, sel(q.eq(1.0), -s, sel(q.eq(2.0), -c, s))).v


@widened
def tan(v):
    x = F(v)
    r, q = _reduce_pio2(x)
    s, c = _sin_cos_kernels(r)
    odd = or_(q.eq(1.0), q.eq(3.0))
    out = sel(odd, -c / s, s / c)
    return sel(x.abs() < _tiny(x), x, out).v


def _atan_unit(t: F) -> F:
    """atan(t) for t in [0, 1]: shift by pi/4 above tan(pi/8), then a Taylor series."""
    shift = t > math.tan(math.pi / 8)
    u = sel(shift, (t - 1.0) / (t + 1.0), t)
    n = 21 if _is64(t.t) else 10
    a = u * poly(u * u, [(-1.0) ** k / (2 * k + 1) for k in range(n)])
    return sel(shift, a + float(_PI / 4), a)


@widened
def atan(v):
    x = F(v)
    a = x.abs()
    inv = a > 1.0
    r = _atan_unit(sel(inv, 1.0 / a, a))
    r = sel(inv, float(_PI / 2) - r, r)
    return r.copysign(x).v


@widened
def atan2(vy, vx):
    y, x = F(vy), F(vx)
    ay, ax = y.abs(), x.abs()
    num, den = ay.min(ax), ay.max(ax)
    t = sel(num.eq(den), 1.0, num / den)
    t = sel(den.eq(0.0), 0.0, t)
    r = _atan_unit(t)
    r = sel(ay > ax, float(_PI / 2) - r, r)
    r = sel(x.signbit(), float(_PI) - r, r)
    r = r.copysign(y)
    return sel(or_(x.isnan(), y.isnan()), math.nan, r).v


def asin(v):
    if not _is64(v.type):
        return math_d.asin(v)
    x = F(v)
    return atan2(v, ((1.0 - x) * (1.0 + x)).sqrt().v)


def acos(v):
    if not _is64(v.type):
        return math_d.acos(v)
    x = F(v)
    return (F(atan2((1.0 - x).sqrt().v, (1.0 + x).sqrt().v)) * 2.0).v
