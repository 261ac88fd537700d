"""Math for elementwise bodies that IREE's llvm-cpu backend cannot link or gets wrong.

llvm-cpu links no libm: in f64 it has no `sin cos tan tanh atan atan2 asin acos log2 log10
erf erfc cbrt fmod`, and its f64 `expm1 log1p sinh asinh atanh` are naive expansions that
return 0 for tiny arguments; in f32 `log10 erfc` are missing, `sin cos tan` lose all relative
accuracy near their zeros, `sinh asinh atanh` are naive too and `atan atan2` are good to only
~4e-6; f32 `exp2` and `pow` lose |x| ulps. The functions here (and the trigonometry in
`scalar_trig`) build those from arith ops and the math ops that do work (`exp`, `log`,
`sqrt`, `floor`, `roundeven`, `copysign`, f32 `expm1 log1p erf asin acos tanh`).

Every algorithm here aims at the precision of its type (f64 ~1e-16, f32 ~1e-7); f16 and bf16
are computed in f32. Known limits, all documented where they arise:
- erfc for 0.5 < x < 1.5 (f64) / 1 (f32) is 1 - erf(x): relative error up to ~40 ulps;
- f64 pow is exp(y * log|x|) (integer exponents below 1024: repeated squaring): relative error
  ~|y log x| ulps, as in most vector libraries; f32 pow computes in f64 (exact to 1 ulp);
- denormal inputs and results may be flushed to zero by the CPU.
Measured against mpmath/libm over wide ranges (tests/test_ops_elementwise.py checks it against
PyTorch): <= 2 ulps for sin cos tan atan atan2 asin acos sinh cosh tanh asinh acosh atanh
expm1 log1p exp2 log2 log10 erf hypot sigmoid in f64 and f32; fmod exact.
Polynomials are Taylor series with enough terms for the type's precision on the reduced
range (coefficients derived here from exact fractions, not copied tables).
"""
from __future__ import annotations

import math
from fractions import Fraction

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


from .scalar_trig import acos, asin, atan, atan2, cos, sin, tan  # noqa: E402,F401
