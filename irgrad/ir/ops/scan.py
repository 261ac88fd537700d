"""Scans along a dim: cumsum, cumprod, logcumsumexp, cummax, cummin, and the helpers their
gradients use (shift_along, linrec: the linear recurrence y_i = a_i * y_prev + b_i).

Lowering: a log-step (Hillis-Steele) scan, ceil(log2 n) parallel linalg.generics where element
i combines itself with element i - 2^s (read with tensor.extract): O(n log n) work in log n
small dispatches instead of the O(n^2) of a masked reduction. The steps are unrolled: an
`scf.for` around them would keep one kernel, but IREE's stream partitioner then fails with
"circular dependency" when a value computed before the loop is also read after it.
`reverse=True` scans from the end (the gradient of cumsum is a reversed cumsum). cummax and
cummin scan *indices* (values are read from the input), so they return both like PyTorch.
"""
from __future__ import annotations

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import make
from ..opdef import defop
from ..shapes import normalize_dim
from .common import cast
from .reduce import return_type

CummaxResult = return_type("cummax", ["values", "indices"])
CumminResult = return_type("cummin", ["values", "indices"])


# ---- shared lowering helpers (sort.py uses them too) -------------------------------------

def loop_coords(L, rank):
    """Inside a generic body: the index values of all loop dims."""
    return [L.loop_index(i) for i in range(rank)]


def replace(coords, dim, value):
    out = list(coords)
    out[dim] = value
    return out


def partner(L, i, off: int, n: int, reverse: bool):
    """(index of the element `off` steps earlier in scan order, clamped; whether it exists)."""
    ar = L.arith
    if reverse:
        p = ar.addi(i, L.index_const(off))
        valid = ar.cmpi(ar.CmpIPredicate.slt, p, L.index_const(n))
    else:
        p = ar.subi(i, L.index_const(off))
        valid = ar.cmpi(ar.CmpIPredicate.sge, i, L.index_const(off))
    return ar.select(valid, p, i), valid


def scan_steps(L, x_val, shape, dtype, dim, reverse, combine):
    """Log-step inclusive scan of tensor `x_val` along `dim`.

    combine(earlier, later) -> value, where `earlier` comes first in scan order; elements
    whose partner falls outside the tensor keep their value.
    """
    n = shape[dim]
    R = len(shape)
    if n <= 1 or 0 in shape:
        return x_val
    cur = x_val
    for s in range((n - 1).bit_length()):
        def body(self_v, out, src=cur, off=1 << s):
            coords = loop_coords(L, R)
            at, valid = partner(L, coords[dim], off, n, reverse)
            other = L.tensor.extract(src, replace(coords, dim, at))
            return L.arith.select(valid, combine(other, self_v), self_v)

        cur = L.generic([cur], [L.empty(shape, dtype)], [L.identity_map(R)] * 2,
                        ["parallel"] * R, body)
    return cur


def _logaddexp(S, a, b):
    # max + log1p(exp(-|a - b|)); equal arguments (also both infinite) give a + log 2.
    hi, lo = S.max(a, b), S.min(a, b)
    d = S.select(S.cmp("eq", a, b), S.const(0.0), S.sub(lo, hi))
    return S.add(hi, S.log1p(S.exp(d)))


def _scan_lower(combine):
    def lower(L, n, ops):
        S = L.scalar(n.dtype)
        return scan_steps(L, ops[0], n.shape, n.dtype, n.attrs["dim"], n.attrs["reverse"],
                          lambda a, b: combine(S, a, b))
    return lower


def _scan_ref(fn):
    def ref(x, dim, reverse):
        if x.shape[dim] == 0:
            return x.copy()
        y = np.flip(x, dim) if reverse else x
        with np.errstate(all="ignore"):
            r = fn(y, dim)
        r = np.flip(r, dim) if reverse else r
        return np.ascontiguousarray(r).astype(x.dtype)
    return ref


def _lcse_ref(x, dim):
    x64 = x.astype(np.float64)
    return np.logaddexp.accumulate(x64, axis=dim)


def _scan_samples(rng):
    x = rng.uniform(-2.0, 2.0, size=(3, 37)).astype(np.float32)
    return [([x], {"dim": 1, "reverse": False}),
            ([x], {"dim": 1, "reverse": True}),
            ([rng.uniform(-2, 2, size=(4, 3, 2)).astype(np.float32)], {"dim": 0, "reverse": False}),
            ([rng.uniform(-2, 2, size=(5,)).astype(np.float32)], {"dim": 0, "reverse": True}),
            ([rng.uniform(-2, 2, size=(2, 1)).astype(np.float32)], {"dim": 1, "reverse": False}),
            ([np.zeros((2, 0), np.float32)], {"dim": 1, "reverse": False}),
            ([rng.integers(-3, 4, size=(2, 9))], {"dim": 1, "reverse": False})]


def _cumprod_samples(rng):
    x = (rng.uniform(0.6, 1.4, size=(3, 12)) * rng.choice([-1, 1], size=(3, 12))).astype(np.float32)
    z = x.copy()
    z[0, 4] = 0.0
    z[1, 2] = z[1, 7] = 0.0
    return [([x], {"dim": 1, "reverse": False}),
            ([z], {"dim": 1, "reverse": False}),
            ([z], {"dim": 1, "reverse": True}),
            ([x.T.copy()], {"dim": 0, "reverse": False}),
            ([rng.integers(-2, 3, size=(2, 6))], {"dim": 1, "reverse": False})]


def _lcse_samples(rng):
    # Infinite inputs are checked against PyTorch in tests (no finite differences there).
    x = rng.uniform(-3.0, 3.0, size=(3, 21)).astype(np.float32)
    wide = np.array([-1000.0, 0.0, -30.0, 5.0, 80.0, 1.0], np.float32)
    return [([x], {"dim": 1, "reverse": False}),
            ([x], {"dim": 1, "reverse": True}),
            ([x.T.copy()], {"dim": 0, "reverse": False}),
            ([wide], {"dim": 0, "reverse": False})]


def _grad_cumsum(g, n):
    return (make("cumsum", (g,), dim=n.attrs["dim"], reverse=not n.attrs["reverse"]),)


def _grad_cumprod(g, n):
    # d out_k / d x_i = out_{i-1} * prod_{i<j<=k} x_j, so grad_i = out_{i-1} * z_i with
    # z_i = g_i + x_{i+1} z_{i+1}: a linear recurrence run backwards. Exact with zeros, no
    # division, and differentiable again (PyTorch needs an O(n^2) path for that).
    from .elementwise import mul
    x, dim, rev = n.inputs[0], n.attrs["dim"], n.attrs["reverse"]
    step = 1 if rev else -1
    z = linrec(shift_along(x, dim, step, 0), g, dim, not rev)
    return (mul(z, shift_along(n, dim, -step, 1)),)


def _grad_lcse(g, n):
    # grad_k = sum_{i>=k} g_i exp(x_k - out_i) = exp(x_k - out_k) * R_k with
    # R_k = g_k + exp(out_k - out_{k+1}) R_{k+1}: every factor is <= 1 (out is monotone), so
    # nothing overflows, and the rule is smooth for higher orders.
    from .elementwise import eq, le, mul, sub, where
    from .unary import exp
    x, dim, rev = n.inputs[0], n.attrs["dim"], n.attrs["reverse"]
    step = 1 if rev else -1
    d = sub(n, shift_along(n, dim, step, 0))
    r = linrec(exp(where(le(d, 0.0), d, 0.0)), g, dim, not rev)
    # exp(-inf - (-inf)) would be NaN where the running sum is still empty.
    return (mul(where(eq(x, float("-inf")), 0.0, exp(sub(x, n))), r),)


def _scan_rule(inputs, attrs):
    x = inputs[0]
    return x.dtype, x.shape


defop("cumsum", infer=_scan_rule, reference=_scan_ref(lambda y, d: np.cumsum(y, axis=d)),
      lower=_scan_lower(lambda S, a, b: S.add(a, b)), grad=_grad_cumsum,
      samples=_scan_samples, doc="Inclusive prefix sum along attrs['dim'].")
defop("cumprod", infer=_scan_rule, reference=_scan_ref(lambda y, d: np.cumprod(y, axis=d)),
      lower=_scan_lower(lambda S, a, b: S.mul(a, b)), grad=_grad_cumprod,
      samples=_cumprod_samples, doc="Inclusive prefix product along attrs['dim'].")
defop("logcumsumexp", infer=_scan_rule, reference=_scan_ref(_lcse_ref),
      lower=_scan_lower(_logaddexp), grad=_grad_lcse, samples=_lcse_samples,
      doc="log(cumsum(exp(x))) computed stably with pairwise logaddexp.")


# ---- shift along a dim (exclusive scans are scans of shifted inputs) ----------------------

def _shift_lower(L, n, ops):
    dim, off = n.attrs["dim"], n.attrs["offset"]
    size, R = n.shape[dim], n.ndim
    if n.numel == 0:
        return L.empty(n.shape, n.dtype)
    ar = L.arith
    S = L.scalar(n.dtype)

    def body(out):
        coords = loop_coords(L, R)
        src = ar.subi(coords[dim], L.index_const(off))
        valid = ar.andi(ar.cmpi(ar.CmpIPredicate.sge, src, L.index_const(0)),
                        ar.cmpi(ar.CmpIPredicate.slt, src, L.index_const(size)))
        safe = ar.select(valid, src, coords[dim])
        return ar.select(valid, L.tensor.extract(ops[0], replace(coords, dim, safe)),
                         S.const(n.attrs["fill"]))

    return L.generic([], [L.empty(n.shape, n.dtype)], [L.identity_map(R)], ["parallel"] * R,
                     body)


def _shift_ref(x, dim, offset, fill):
    out = np.full(x.shape, fill, x.dtype)
    n = x.shape[dim]
    src = [slice(None)] * x.ndim
    dst = [slice(None)] * x.ndim
    if offset >= 0:
        src[dim], dst[dim] = slice(0, max(n - offset, 0)), slice(min(offset, n), n)
    else:
        src[dim], dst[dim] = slice(min(-offset, n), n), slice(0, max(n + offset, 0))
    out[tuple(dst)] = x[tuple(src)]
    return out


defop("shift_along", infer=lambda inputs, attrs: (inputs[0].dtype, inputs[0].shape),
      reference=_shift_ref, lower=_shift_lower,
      grad=lambda g, n: (shift_along(g, n.attrs["dim"], -n.attrs["offset"], 0),),
      samples=lambda rng: [([rng.normal(size=(3, 5)).astype(np.float32)],
                            {"dim": 1, "offset": 1, "fill": 1.0}),
                           ([rng.normal(size=(4, 2)).astype(np.float32)],
                            {"dim": 0, "offset": -2, "fill": 0.0}),
                           ([np.arange(6)], {"dim": 0, "offset": 7, "fill": -1})],
      doc="out[i] = x[i - offset] along dim, `fill` where that falls outside.")


def shift_along(x, dim, offset, fill):
    if x.dtype.category == dt.FLOAT:
        fill = float(fill)
    elif x.dtype.category == dt.BOOL:
        fill = bool(fill)
    else:
        fill = int(fill)
    return make("shift_along", (x,), dim=dim, offset=int(offset), fill=fill)


def exclusive_products(x, dim):
    """(prod of the elements before i, prod of those after i) along dim, without division."""
    before = make("cumprod", (shift_along(x, dim, 1, 1),), dim=dim, reverse=False)
    after = make("cumprod", (shift_along(x, dim, -1, 1),), dim=dim, reverse=True)
    return before, after


# ---- linear recurrence y_i = a_i * y_prev + b_i ----------------------------------------------

def _linrec_lower(L, n, ops):
    # Hillis-Steele over affine maps y -> A*y + B: composing "earlier then later" gives
    # (A_l*A_e, A_l*B_e + B_l). The first element's multiplier is zeroed, so B ends as y.
    dim, rev = n.attrs["dim"], n.attrs["reverse"]
    shape, R = n.shape, n.ndim
    size = shape[dim]
    if n.numel == 0 or size == 1:
        return ops[1]
    ar = L.arith
    S = L.scalar(n.dtype)
    first = L.index_const(size - 1 if rev else 0)

    def start(a, out):
        at_first = ar.cmpi(ar.CmpIPredicate.eq, L.loop_index(dim), first)
        return S.select(at_first, S.const(0), a)

    a0 = L.generic([ops[0]], [L.empty(shape, n.dtype)], [L.identity_map(R)] * 2,
                   ["parallel"] * R, start)

    A, B = a0, ops[1]
    for s in range((size - 1).bit_length()):
        def body(a_l, b_l, out_a, out_b, A=A, B=B, off=1 << s):
            coords = loop_coords(L, R)
            at, valid = partner(L, coords[dim], off, size, rev)
            at = replace(coords, dim, at)
            a_e, b_e = L.tensor.extract(A, at), L.tensor.extract(B, at)
            return (S.select(valid, S.mul(a_l, a_e), a_l),
                    S.select(valid, S.add(S.mul(a_l, b_e), b_l), b_l))

        A, B = L.generic([A, B], [L.empty(shape, n.dtype)] * 2, [L.identity_map(R)] * 4,
                         ["parallel"] * R, body)
    return B


def _linrec_ref(a, b, dim, reverse):
    am, y = np.moveaxis(a, dim, -1), np.moveaxis(b, dim, -1).copy()
    n = y.shape[-1]
    order = range(n - 2, -1, -1) if reverse else range(1, n)
    for i in order:
        prev = i + 1 if reverse else i - 1
        y[..., i] = am[..., i] * y[..., prev] + y[..., i]
    return np.moveaxis(y, -1, dim).copy()


def _grad_linrec(g, n):
    # y is linear in b; the adjoint is the same recurrence run the other way with the
    # multipliers shifted by one, and d/da_i = adjoint_i * y_prev.
    from .elementwise import mul
    a, dim, rev = n.inputs[0], n.attrs["dim"], n.attrs["reverse"]
    step = 1 if rev else -1
    z = linrec(shift_along(a, dim, step, 0), g, dim, not rev)
    return mul(z, shift_along(n, dim, -step, 0)), z


def _linrec_samples(rng):
    def pair(*shape):
        return [rng.uniform(-1.2, 1.2, size=shape).astype(np.float32),
                rng.normal(size=shape).astype(np.float32)]
    return [(pair(3, 11), {"dim": 1, "reverse": False}), (pair(3, 11), {"dim": 1, "reverse": True}),
            (pair(6, 2), {"dim": 0, "reverse": False}), (pair(1), {"dim": 0, "reverse": True}),
            (pair(2, 0), {"dim": 1, "reverse": False})]


def _linrec_rule(inputs, attrs):
    a, b = inputs
    if a.shape != b.shape or a.dtype is not b.dtype:
        raise TypeError("internal: linrec operands must share shape and dtype")
    return b.dtype, b.shape


defop("linrec", infer=_linrec_rule, reference=_linrec_ref, lower=_linrec_lower,
      grad=_grad_linrec, samples=_linrec_samples,
      doc="y_first = b_first, y_i = a_i * y_prev + b_i along dim (prev = i+1 if reverse).")


def linrec(a, b, dim, reverse):
    return make("linrec", (a, b), dim=dim, reverse=bool(reverse))


# ---- cummax / cummin: a scan over indices ---------------------------------------------------

def _cumarg_lower(L, n, ops):
    x = n.inputs[0]
    dim, largest = n.attrs["dim"], n.attrs["largest"]
    R, shape = x.ndim, x.shape
    I = L.scalar(dt.int64)
    S = L.scalar(x.dtype)
    iota = L.generic([], [L.empty(shape, dt.int64)], [L.identity_map(R)], ["parallel"] * R,
                     lambda out: L.index_cast(L.loop_index(dim), dt.int64))

    def combine(earlier, later):
        # The later index wins ties (PyTorch's >=); a NaN wins and stays.
        coords = loop_coords(L, R)
        ve = L.tensor.extract(ops[0], replace(coords, dim, L.index_cast(earlier)))
        vl = L.tensor.extract(ops[0], replace(coords, dim, L.index_cast(later)))
        take = S.cmp("ge" if largest else "le", vl, ve)
        if x.dtype.category == dt.FLOAT:
            take = I.or_(S.isnan(vl), I.and_(take, I.not_(S.isnan(ve))))
        return I.select(take, later, earlier)

    return scan_steps(L, iota, shape, dt.int64, dim, False, combine)


def _cumarg_ref(x, dim, largest):
    xm = np.moveaxis(x, dim, -1)
    out = np.zeros(xm.shape, np.int64)
    for pos in np.ndindex(xm.shape[:-1]):
        best = 0
        row = xm[pos]
        for i in range(row.shape[0]):
            v, b = row[i], row[best]
            isnan_v = bool(np.isnan(v)) if row.dtype.kind == "f" else False
            isnan_b = bool(np.isnan(b)) if row.dtype.kind == "f" else False
            if isnan_v or (not isnan_b and (v >= b if largest else v <= b)):
                best = i
            out[pos + (i,)] = best
    return np.moveaxis(out, -1, dim)


def _cumarg_samples(rng):
    x = np.array([[1, 3, 3, 2, 3, 0, 5], [4, 4, 1, 4, 7, 7, 2]], np.float32)
    y = np.array([1.0, np.nan, 3.0, np.nan, 0.5], np.float32)
    return [([x], {"dim": 1, "largest": True}), ([x], {"dim": 1, "largest": False}),
            ([y], {"dim": 0, "largest": True}), ([y], {"dim": 0, "largest": False}),
            ([rng.integers(-3, 3, size=(11, 2))], {"dim": 0, "largest": True})]


defop("cumargmax", infer=lambda inputs, attrs: (dt.int64, inputs[0].shape),
      reference=_cumarg_ref, lower=_cumarg_lower, differentiable=False,
      samples=_cumarg_samples,
      doc="Index of the running max (largest=True) or min along dim; latest index on ties.")


# ---- public functions ---------------------------------------------------------------------

def _scan_dtype(x, dtype):
    if dtype is not None:
        return cast(x, dt.as_dtype(dtype))
    if x.dtype.category != dt.FLOAT:
        return cast(x, dt.int64)  # PyTorch scans bool and integers in int64
    return x


def _scan(op, x, dim, dtype=None):
    from .movement import reshape
    d = normalize_dim(dim, x.ndim)
    x = _scan_dtype(x, dtype)
    if x.ndim == 0:
        return reshape(make(op, (reshape(x, (1,)),), dim=0, reverse=False), ())
    if x.dtype in (dt.float16, dt.bfloat16):
        return cast(make(op, (cast(x, dt.float32),), dim=d, reverse=False), x.dtype)
    return make(op, (x,), dim=d, reverse=False)


def cumsum(x, dim, dtype=None):
    return _scan("cumsum", x, dim, dtype)


def cumprod(x, dim, dtype=None):
    return _scan("cumprod", x, dim, dtype)


def logcumsumexp(x, dim):
    if x.dtype.category != dt.FLOAT:
        fail(NotImplementedError, f'"logcumsumexp_out_cpu" not implemented for '
                                  f"'{x.dtype.name.capitalize()}'")
    return _scan("logcumsumexp", x, dim)


def _cum_extreme(largest, result, x, dim):
    from .sort import take_along
    d = normalize_dim(dim, x.ndim)
    if x.ndim == 0:
        return result(x, make("full", (), shape=(), value=0, dtype=dt.int64, device=x.device))
    idx = make("cumargmax", (x,), dim=d, largest=largest)
    return result(take_along(x, idx, d), idx)


def cummax(x, dim):
    return _cum_extreme(True, CummaxResult, x, dim)


def cummin(x, dim):
    return _cum_extreme(False, CumminResult, x, dim)


EXPORTS = [("cumsum", cumsum, "fmi"), ("cumprod", cumprod, "fmi"),
           ("logcumsumexp", logcumsumexp, "fm"), ("cummax", cummax, "fm"),
           ("cummin", cummin, "fm")]
