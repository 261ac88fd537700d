"""Math for elementwise bodies that IREE's llvm-cpu backend cannot link or gets wrong.

llvm-cpu links no libm: in f64 it has no `sin cos tan tanh atan atan2 asin acos log2 log10
erf erfc cbrt fmod`, and its f64 `expm1 log1p sinh asinh atanh` are naive expansions that
return 0 for tiny arguments; in f32 `log10 erfc` are missing, `sin cos tan` lose all relative
accuracy near their zeros, `sinh asinh atanh` are naive too and `atan atan2` are good to only
~4e-6. The functions here build those from arith ops and the math ops that do work (`exp`,
`log`, `sqrt`, `floor`, `roundeven`, `copysign`, f32 `expm1 log1p erf asin acos`).

Every algorithm here aims at the precision of its type (f64 ~1e-16, f32 ~1e-7); f16 and bf16
are computed in f32. Known limits, all documented where they arise:
- erfc for 0.5 < x < 1.5 (f64) / 1 (f32) is 1 - erf(x): relative error up to ~40 ulps;
- f64 pow is exp(y * log|x|) (integer exponents below 1024: repeated squaring): relative error
  ~|y log x| ulps, as in most vector libraries; f32 pow computes in f64 (exact to 1 ulp);
- denormal inputs may be flushed to zero by the CPU.
Polynomials are Taylor series with enough terms for the type's precision on the reduced
range (coefficients derived here from exact fractions, not copied tables).
"""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from .mlir import arith_d, ir, math_d, scf_d



def _machin_pi(bits: int) -> Fraction:
    """pi to about `bits` bits: Machin's formula 16 atan(1/5) - 4 atan(1/239), in integers."""
    one = 1 << (bits + 16)

    def atan_inv(n):
        total, term, k, sign = 0, one // n, 1, 1
        while term:
            total += sign * (term // k)
            term //= n * n
            k, sign = k + 2, -sign
        return total

    return Fraction(16 * atan_inv(5) - 4 * atan_inv(239), one)


# pi to 1400 bits: the source of every pi-derived constant below, including the 2/pi bits
# that the large-argument reduction of sin/cos/tan needs.
_PI = _machin_pi(1400)


def _bits_of(t) -> int:
    return ir.FloatType(t).width


def _is64(t) -> bool:
    return _bits_of(t) == 64


class F:
    """A float scalar being built: arithmetic operators emit arith/math ops of its type."""

    __slots__ = ("v", "t")

    def __init__(self, v):
        self.v = v
        self.t = v.type

    def c(self, x):
        if isinstance(x, F):
            return x.v
        return arith_d.constant(self.t, ir.FloatAttr.get(self.t, float(x)))

    def __add__(self, o):
        return F(arith_d.addf(self.v, self.c(o)))

    def __radd__(self, o):
        return F(arith_d.addf(self.c(o), self.v))

    def __sub__(self, o):
        return F(arith_d.subf(self.v, self.c(o)))

    def __rsub__(self, o):
        return F(arith_d.subf(self.c(o), self.v))

    def __mul__(self, o):
        return F(arith_d.mulf(self.v, self.c(o)))

    def __rmul__(self, o):
        return F(arith_d.mulf(self.c(o), self.v))

    def __truediv__(self, o):
        return F(arith_d.divf(self.v, self.c(o)))

    def __rtruediv__(self, o):
        return F(arith_d.divf(self.c(o), self.v))

    def __neg__(self):
        return F(arith_d.negf(self.v))

    def _cmp(self, pred, o):
        return arith_d.cmpf(getattr(arith_d.CmpFPredicate, pred), self.v, self.c(o))

    def __lt__(self, o):
        return self._cmp("OLT", o)

    def __le__(self, o):
        return self._cmp("OLE", o)

    def __gt__(self, o):
        return self._cmp("OGT", o)

    def __ge__(self, o):
        return self._cmp("OGE", o)

    def eq(self, o):
        return self._cmp("OEQ", o)

    def ne(self, o):
        return self._cmp("UNE", o)

    def isnan(self):
        return arith_d.cmpf(arith_d.CmpFPredicate.UNO, self.v, self.v)

    def abs(self):
        return F(math_d.absf(self.v))

    def floor(self):
        return F(math_d.floor(self.v))

    def trunc(self):
        return F(math_d.trunc(self.v))

    def rint(self):
        return F(math_d.roundeven(self.v))

    def sqrt(self):
        return F(math_d.sqrt(self.v))

    def exp(self):
        return F(math_d.exp(self.v))

    def log(self):
        return F(math_d.log(self.v))

    def copysign(self, o):
        return F(math_d.copysign(self.v, self.c(o)))

    def max(self, o):
        return F(arith_d.maximumf(self.v, self.c(o)))

    def min(self, o):
        return F(arith_d.minimumf(self.v, self.c(o)))

    def signbit(self):
        w = _bits_of(self.t)
        it = ir.IntegerType.get_signless(w)
        bits = arith_d.bitcast(it, self.v)
        return arith_d.cmpi(arith_d.CmpIPredicate.slt, bits,
                            arith_d.constant(it, ir.IntegerAttr.get(it, 0)))


def sel(c, a, b) -> F:
    """select(c, a, b) where a or b may be Python numbers (constants of the other's type)."""
    ref = a if isinstance(a, F) else b
    return F(arith_d.select(c, ref.c(a), ref.c(b)))


def and_(*cs):
    r = cs[0]
    for c in cs[1:]:
        r = arith_d.andi(r, c)
    return r


def or_(*cs):
    r = cs[0]
    for c in cs[1:]:
        r = arith_d.ori(r, c)
    return r


def not_(c):
    return arith_d.xori(c, arith_d.constant(c.type, ir.IntegerAttr.get(c.type, 1)))


def poly(x: F, coeffs) -> F:
    """c0 + c1 x + c2 x^2 + ... by Horner's rule."""
    acc = x.c(coeffs[-1])
    acc = F(acc)
    for c in reversed(coeffs[:-1]):
        acc = acc * x + c
    return acc


def widened(fn):
    """Run `fn` in f32 for f16/bf16 arguments and round the result back."""
    def wrapper(*args):
        t = args[0].type
        if _bits_of(t) >= 32:
            return fn(*args)
        f32 = ir.F32Type.get()
        r = fn(*[arith_d.extf(f32, a) for a in args])
        return arith_d.truncf(t, r)
    wrapper.__name__ = fn.__name__
    return wrapper


_SIN = [float(Fraction((-1) ** n, math.factorial(2 * n + 1))) for n in range(10)]
_COS = [float(Fraction((-1) ** n, math.factorial(2 * n))) for n in range(10)]
_LN2 = math.log(2.0)
_INV_LN2 = 1.0 / math.log(2.0)
_INV_LN10 = 1.0 / math.log(10.0)
_LOG10_2 = math.log10(2.0)


# ---- exponentials and logarithms ------------------------------------------------------------

def expm1(v):
    if not _is64(v.type):
        return math_d.expm1(v)
    x = F(v)
    # |x| < 0.5: Taylor to x^16 (next term < 1e-19 relative); elsewhere exp(x) - 1 loses at
    # most ~2 ulps because |exp(x) - 1| > 0.39.
    small = poly(x, [float(Fraction(1, math.factorial(n + 1))) for n in range(16)]) * x
    big = x.exp() - 1.0
    return sel(x.abs() < 0.5, small, big).v


def log1p(v):
    if not _is64(v.type):
        return math_d.log1p(v)
    x = F(v)
    u = 1.0 + x
    # Goldberg's correction: log(u) * x / (u - 1) cancels the rounding of 1 + x.
    r = u.log() * (x / (u - 1.0))
    r = sel(u.eq(1.0), x, r)
    return sel(u.eq(math.inf), u, r).v


@widened
def sinh(v):
    x = F(v)
    a = x.abs()
    t = F(expm1(a.v))
    r = (t + t / (t + 1.0)) * 0.5
    # Past exp's overflow sinh is still finite: exp(a/2)^2 / 2 in two halves.
    h = (a * 0.5).exp()
    r = sel(a > (700.0 if _is64(v.type) else 88.0), (h * 0.5) * h, r)
    return r.copysign(x).v


@widened
def cosh(v):
    a = F(v).abs()
    e = a.exp()
    r = e * 0.5 + 0.5 / e
    h = (a * 0.5).exp()
    return sel(a > (700.0 if _is64(v.type) else 88.0), (h * 0.5) * h, r).v


def tanh(v):
    if not _is64(v.type):
        return math_d.tanh(v)
    x = F(v)
    t = F(expm1((x.abs() * -2.0).v))
    return (-t / (t + 2.0)).copysign(x).v


@widened
def asinh(v):
    x = F(v)
    a = x.abs()
    big = (a.log() + _LN2)
    r = F(log1p((a + a * a / (1.0 + (1.0 + a * a).sqrt())).v))
    return sel(a > 2.0 ** (28 if _is64(v.type) else 12), big, r).copysign(x).v


@widened
def acosh(v):
    x = F(v)
    t = x - 1.0
    r = F(log1p((t + (t * 2.0 + t * t).sqrt()).v))
    big = x.log() + _LN2
    r = sel(x > 2.0 ** (28 if _is64(v.type) else 12), big, r)
    return sel(x < 1.0, math.nan, r).v


@widened
def atanh(v):
    x = F(v)
    a = x.abs()
    r = F(log1p((a * 2.0 / (1.0 - a)).v)) * 0.5
    return r.copysign(x).v


def _frexp(x: F):
    """(e, m) with x = m * 2^e, m in [sqrt(1/2), sqrt(2)), for finite positive normal x."""
    w = _bits_of(x.t)
    mant = 52 if w == 64 else 23
    bias = 1023 if w == 64 else 127
    it = ir.IntegerType.get_signless(w)

    def ic(k):
        return arith_d.constant(it, ir.IntegerAttr.get(it, k))

    bits = arith_d.bitcast(it, x.v)
    e = arith_d.subi(arith_d.andi(arith_d.shrui(bits, ic(mant)), ic((1 << (w - mant - 1)) - 1)),
                     ic(bias))
    m = F(arith_d.bitcast(x.t, arith_d.ori(arith_d.andi(bits, ic((1 << mant) - 1)),
                                            ic(bias << mant))))
    ef = F(arith_d.sitofp(x.t, e))
    hi = m > math.sqrt(2.0)
    return sel(hi, ef + 1.0, ef), sel(hi, m * 0.5, m)


def _log_special(x: F, r: F) -> F:
    """log-family results at 0, negatives, inf and nan."""
    r = sel(x.eq(0.0), -math.inf, r)
    r = sel(x.eq(math.inf), math.inf, r)
    return sel(or_(x < 0.0, x.isnan()), math.nan, r)


@widened
def log2(v):
    if not _is64(v.type):
        return math_d.log2(v)
    x = F(v)
    e, m = _frexp(x)
    return _log_special(x, e + m.log() * _INV_LN2).v


@widened
def log10(v):
    x = F(v)
    e, m = _frexp(x)
    return _log_special(x, e * _LOG10_2 + m.log() * _INV_LN10).v


@widened
def cbrt(v):
    x = F(v)
    a = x.abs()
    y = (a.log() * (1.0 / 3.0)).exp()
    y = y - (y - a / (y * y)) * (1.0 / 3.0)  # one Newton step from exp/log's estimate
    y = y.copysign(x)
    return sel(or_(x.eq(0.0), a.eq(math.inf), x.isnan()), x, y).v


# ---- trigonometry ----------------------------------------------------------------------------

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


# ---- error function -----------------------------------------------------------------------------

def _exp_neg_square(x: F) -> F:
    """exp(-x*x) without the error of rounding x*x: split x into hi + lo, hi*hi exact."""
    w = _bits_of(x.t)
    it = ir.IntegerType.get_signless(w)
    keep = 27 if w == 64 else 12
    mask = ~((1 << keep) - 1) & ((1 << w) - 1)
    if mask >= 1 << (w - 1):
        mask -= 1 << w
    hi = F(arith_d.bitcast(x.t, arith_d.andi(arith_d.bitcast(it, x.v),
                                             arith_d.constant(it, ir.IntegerAttr.get(it, mask)))))
    lo = x - hi
    return (-(hi * hi)).exp() * (-(lo * (hi + x))).exp()


def _erf_parts(a: F):
    """(erf(a), erfc(a)) for a >= 0 (or nan): a positive series below the switch point, the
    continued fraction above (1.5 with 100 terms for f64, 1.0 with 60 terms for f32)."""
    is64 = _is64(a.t)
    switch = 1.5 if is64 else 1.0
    small = a.min(switch)
    big = a.max(switch).min(40.0)  # erfc(40) is 0 in every type; keeps inf out of exp
    # erf(a) = 2/sqrt(pi) a exp(-a^2) sum (2a^2)^n / (2n+1)!!  (all terms positive)
    n = 32 if is64 else 14
    z = small * small * 2.0
    s = small.c(1.0)
    s = F(s)
    for k in range(n, 0, -1):
        s = s * (z * (1.0 / (2 * k + 1))) + 1.0
    two_over_sqrtpi = float(2 / Fraction(math.sqrt(math.pi)))
    erf_s = s * small * _exp_neg_square(small) * two_over_sqrtpi
    # erfc(a) = exp(-a^2)/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))
    f = big
    for k in range(100 if is64 else 60, 0, -1):
        f = big + (k * 0.5) / f
    erfc_c = _exp_neg_square(big) / (f * math.sqrt(math.pi))
    use_cf = a >= switch
    return sel(use_cf, 1.0 - erfc_c, erf_s), sel(use_cf, erfc_c, 1.0 - erf_s)


def erf(v):
    if not _is64(v.type):
        return math_d.copysign(math_d.erf(v), v)  # the native one loses erf(-0.0) = -0.0
    x = F(v)
    e, _ = _erf_parts(x.abs())
    return e.copysign(x).v


@widened
def erfc(v):
    x = F(v)
    _, c = _erf_parts(x.abs())
    return sel(x.signbit(), 2.0 - c, c).v


@widened
def erfinv(v):
    y = F(v)
    ay = y.abs()
    # Winitzki's closed form (error ~2e-3) as the start, then Halley steps on erf/erfc.
    w = ((1.0 - ay) * (1.0 + ay)).log()
    aw = 0.147
    b = w * 0.5 + 2.0 / (math.pi * aw)
    x = ((b * b - w * (1.0 / aw)).sqrt() - b).sqrt()
    tail = ay > 0.5
    for _ in range(3 if _is64(v.type) else 2):
        e, c = _erf_parts(x)
        f = sel(tail, (1.0 - ay) - c, e - ay)
        d = _exp_neg_square(x) * float(2 / Fraction(math.sqrt(math.pi)))
        u = f / d
        x = x - u / (1.0 + x * u)
    x = sel(ay.eq(1.0), math.inf, x)
    x = sel(or_(ay > 1.0, y.isnan()), math.nan, x)
    return sel(ay.eq(0.0), y, x.copysign(y)).v


# ---- powers and remainders ----------------------------------------------------------------------

def _pow_magnitude(x: F, y: F) -> F:
    """|x|^y for the generic case. In f64, integer exponents below 1024 multiply by squaring
    (exact whenever the result is representable, e.g. 3.0**20); others use exp(y log|x|),
    whose relative error is ~|y log x| ulps."""
    ax = x.abs()
    r = (y * ax.log()).exp()
    if not _is64(x.t):
        return r
    n = y.abs()
    acc, base, rest = F(x.c(1.0)), ax, n
    for _ in range(10):
        half = (rest * 0.5).floor()
        acc = sel((rest - half * 2.0).eq(1.0), acc * base, acc)
        base, rest = base * base, half
    acc = sel(y < 0.0, 1.0 / acc, acc)
    return sel(and_(n.floor().eq(n), n <= 1023.0), acc, r)


@widened
def powf(vx, vy):
    """C99/PyTorch pow for floats, with the standard special cases. f32 computes in f64 and
    rounds once, so exactly representable powers (2.0**100) come out exact."""
    if not _is64(vx.type):
        f64 = ir.F64Type.get()
        return arith_d.truncf(vx.type, powf(arith_d.extf(f64, vx), arith_d.extf(f64, vy)))
    x, y = F(vx), F(vy)
    ax = x.abs()
    r = _pow_magnitude(x, y)
    y_int = y.floor().eq(y)
    half = y * 0.5
    y_odd = and_(y_int, half.floor().ne(half))
    r = sel(and_(x.signbit(), y_odd), -r, r)
    r = sel(and_(x < 0.0, not_(y_int), ax.ne(math.inf), y.abs().ne(math.inf)), math.nan, r)
    r = sel(and_(ax.eq(1.0), y.abs().eq(math.inf)), 1.0, r)
    r = sel(or_(x.isnan(), y.isnan()), math.nan, r)
    return sel(or_(y.eq(0.0), x.eq(1.0)), 1.0, r).v


def _int_const(it, k):
    return arith_d.constant(it, ir.IntegerAttr.get(it, k))


def _fmod_loop(r0: F, b: F) -> F:
    """fmod(r0, b) for r0 >= 0 finite and b > 0 finite, b >= 2^-900 (so that no step's
    intermediate is a denormal that the CPU could flush)."""
    i64 = ir.IntegerType.get_signless(64)
    f64 = r0.t

    def exponent(x: F):
        bits = arith_d.bitcast(i64, x.v)
        return arith_d.andi(arith_d.shrui(bits, _int_const(i64, 52)), _int_const(i64, 0x7FF))

    # The head of B keeps 26 significant bits: q (< 2^26) times head or tail is exact.
    mask = (~((1 << 27) - 1) & ((1 << 64) - 1)) - (1 << 64)
    while_op = scf_d.WhileOp([f64], [r0.v])
    before = while_op.before.blocks.append(f64)
    with ir.InsertionPoint(before):
        cur = F(before.arguments[0])
        scf_d.ConditionOp(cur >= b, [cur.v])
    after = while_op.after.blocks.append(f64)
    with ir.InsertionPoint(after):
        r = F(after.arguments[0])
        gap = arith_d.subi(exponent(r), exponent(b))
        k = arith_d.maxsi(arith_d.subi(gap, _int_const(i64, 25)), _int_const(i64, 0))
        k1 = arith_d.shrui(k, _int_const(i64, 1))
        B = b * _pow2(f64, k1) * _pow2(f64, arith_d.subi(k, k1))  # B <= r, r / B < 2^26
        q = (r / B).trunc()  # exact or one too large, never too small
        hi = F(arith_d.bitcast(f64, arith_d.andi(arith_d.bitcast(i64, B.v),
                                                 _int_const(i64, mask))))
        ph = q * B
        pl = (q * hi - ph) + q * (B - hi)  # q * B == ph + pl exactly
        t = (r - ph) - pl  # exact: Sterbenz, then a representable result
        scf_d.YieldOp([sel(t < 0.0, t + B, t).v])
    return F(while_op.results[0])


def fmod(va, vb):
    """C fmod, exact. f64 has no libm fmod to call: a loop takes up to 26 quotient bits per
    step, with the product q * B split exactly (Dekker), so every step is exact; f32/f16 use
    arith.remf."""
    if not _is64(va.type):
        return arith_d.remf(va, vb)
    a, b = F(va), F(vb)
    B0, r0 = b.abs(), a.abs()
    invalid = or_(r0.isnan(), B0.isnan(), B0.eq(0.0), r0.eq(math.inf))
    r0 = sel(invalid, 0.0, r0)
    B0 = sel(invalid, 1.0, B0)
    # A tiny divisor: reduce by B0 * 2^200 first (a multiple of B0), then finish on both
    # scaled by 2^200, so the loop never works on denormals.
    tiny = B0 < 2.0 ** -900
    big_b = sel(tiny, B0 * 2.0 ** 200, B0)
    r1 = _fmod_loop(r0, big_b)
    r2 = _fmod_loop(sel(tiny, r1 * 2.0 ** 200, 0.0), big_b) * 2.0 ** -200
    res = sel(tiny, r2, r1)
    res = sel(invalid, math.nan, res)
    return res.copysign(a).v


def _pow2(t, k):
    """2^k as a float of type t, for an integer value k in the type's normal exponent range."""
    w = _bits_of(t)
    mant, bias = (52, 1023) if w == 64 else (23, 127)
    it = ir.IntegerType.get_signless(w)
    return F(arith_d.bitcast(t, arith_d.shli(arith_d.addi(k, _int_const(it, bias)),
                                             _int_const(it, mant))))


@widened
def exp2(v):
    """2^x = 2^n * exp((x - n) ln 2) with n = rint(x): exact for integer x, ~1 ulp elsewhere
    (exp(x ln 2) would lose |x| ulps to the rounding of x ln 2)."""
    x = F(v)
    w = _bits_of(x.t)
    it = ir.IntegerType.get_signless(w)
    lim = 2044.0 if w == 64 else 252.0
    n = x.max(-lim).min(lim).rint()
    e = ((x - n) * _LN2).exp()
    ni = arith_d.fptosi(it, sel(x.isnan(), 0.0, n).v)
    k1 = arith_d.divsi(ni, _int_const(it, 2))
    r = e * _pow2(x.t, k1) * _pow2(x.t, arith_d.subi(ni, k1))
    return sel(x.isnan(), x, r).v


@widened
def hypot(va, vb):
    """sqrt(a^2 + b^2) without overflow or underflow: scale by the larger magnitude."""
    a, b = F(va).abs(), F(vb).abs()
    hi, lo = a.max(b), a.min(b)
    r = lo / hi
    out = hi * (1.0 + r * r).sqrt()
    out = sel(hi.eq(0.0), 0.0, out)
    out = sel(or_(a.isnan(), b.isnan()), math.nan, out)
    return sel(or_(a.eq(math.inf), b.eq(math.inf)), math.inf, out).v
