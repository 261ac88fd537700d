"""Public pooling functions with PyTorch's argument rules, output sizes and messages:
max_pool1d/2d (with return_indices), avg_pool1d/2d, adaptive_avg_pool1d/2d and
adaptive_max_pool1d/2d.

Max pooling records the `pool.py` primitives. Average pooling is a convolution with a ones
kernel divided by a divisor that the graph computes from `arange` (so count_include_pad and
ceil_mode windows match PyTorch exactly); adaptive average pooling contracts the input with
one averaging matrix per spatial dim.
"""
from __future__ import annotations

from ...errors import fail
from .. import dtypes as dt
from ..node import make
from .common import cast, const
from .conv_api import int_tuple
from .linalg import contract, tname


def _reshape(x, shape):
    from .movement import reshape
    return reshape(x, tuple(shape))


def _pool_params(name, r, kernel_size, stride, padding, dilation):
    many = "two ints" if r == 2 else f"{r} ints"

    def tup(v, what, verb="must either be"):
        t = int_tuple(v, r, what)
        if len(t) != r:
            if r == 1:
                fail(RuntimeError, f"{name}() {what} must be an int, list of ints or tuple of "
                                   f"ints of size 1 but got size {len(t)}")
            fail(RuntimeError, f"{name}: {what} {verb} a single int, or a tuple of {many}")
        return t

    K = tup(kernel_size, "kernel_size")
    if stride is None or (not isinstance(stride, int) and len(stride) == 0):
        s = K
    else:
        t = int_tuple(stride, r, "stride")
        if len(t) != r:
            fail(RuntimeError, f"{name}: stride must either be omitted, a single int, or a "
                               f"tuple of {many}")
        s = t
    p = tup(padding, "padding")
    d = tup(dilation, "dilation", "must be either")
    if any(k <= 0 for k in K):
        if r == 1:
            fail(RuntimeError, f"{name}() kernel_size must be greater than zero, but got {K[0]}")
        fail(RuntimeError, f"kernel size should be greater than zero, but got kH: {K[0]} "
                           f"kW: {K[1]}")
    if any(v == 0 for v in s):
        fail(RuntimeError, "stride should not be zero")
    if any(v <= 0 for v in d):
        fail(RuntimeError, f"dilation should be greater than zero, but got dilationH: {d[0]} "
                           f"dilationW: {d[-1]}")
    for k, pp, dd in zip(K, p, d):
        if pp > ((k - 1) * dd + 1) // 2:
            fail(RuntimeError, f"pad should be at most half of effective kernel size, but got "
                               f"pad={pp}, kernel_size={k} and dilation={dd}")
    return K, s, p, d


def _out_len(S, k, s, p, d, ceil_mode):
    """PyTorch's pooling_output_shape, and the hi padding that its last window needs."""
    num = S + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)
    out = num // s + 1
    if ceil_mode and (out - 1) * s >= S + p:
        out -= 1
    hi = (out - 1) * s + d * (k - 1) + 1 - S - p
    return out, hi


def _check_input(x, r, name):
    if x.ndim not in (r + 1, r + 2) or any(v == 0 for v in x.shape[x.ndim - r - 1:]):
        dims = f"{r + 1}D or {r + 2}D"
        fail(RuntimeError, f"{name + ': ' if r == 1 else ''}Expected {dims} (batch mode) tensor "
                           f"with optional 0 dim batch size for input, but got:{list(x.shape)}")


def _geometry(x, r, K, s, p, d, ceil_mode):
    S = x.shape[x.ndim - r:]
    outs, pads = [], []
    for i in range(r):
        o, hi = _out_len(S[i], K[i], s[i], p[i], d[i], ceil_mode)
        outs.append(o)
        pads.append((p[i], hi))
    if any(o < 1 for o in outs):
        c = x.shape[x.ndim - r - 1]
        fail(RuntimeError, f"Given input size: ({'x'.join(map(str, (c,) + tuple(S)))}). "
                           f"Calculated output size: ({'x'.join(map(str, (c,) + tuple(outs)))})."
                           f" Output size is too small")
    return outs, tuple(pads)


def _max_pool(x, r, name, kernel_size, stride, padding, dilation, ceil_mode, return_indices):
    _check_input(x, r, name)
    if x.dtype is dt.bool_:
        fail(NotImplementedError, f"\"{name}\" not implemented for 'Bool'")
    K, s, p, d = _pool_params(name, r, kernel_size, stride, padding, dilation)
    _, pads = _geometry(x, r, K, s, p, d, ceil_mode)
    attrs = dict(kernel=K, stride=s, dilation=d, padding=pads)
    y = make("max_pool", (x,), **attrs)
    if return_indices:
        return y, make("max_pool_indices", (x,), **attrs)
    return y


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, 1, "max_pool1d", kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return _max_pool(input, 2, "max_pool2d", kernel_size, stride, padding, dilation, ceil_mode,
                     return_indices)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool2d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return max_pool1d(input, kernel_size, stride, padding, dilation, ceil_mode, True)


def _divisor_1d(S, k, s, p, P, count_include_pad, device):
    """Per output position, PyTorch's window size (clipped to the padded or real input)."""
    from .elementwise import add, maximum, minimum, mul, sub
    from .source import arange
    start = sub(mul(arange(0, P, 1, dt.int64, device), s), p)
    end = minimum(add(start, k), S + p)
    if count_include_pad:
        return sub(end, start)
    return sub(minimum(end, S), maximum(start, 0))


def _avg_pool(x, r, name, kernel_size, stride, padding, ceil_mode, count_include_pad,
              divisor_override):
    _check_input(x, r, name)
    if x.dtype.category != dt.FLOAT and x.dtype is not dt.int64:
        fail(NotImplementedError, f"\"{name}\" not implemented for '{tname(x.dtype)}'")
    K, s, p, _ = _pool_params(name, r, kernel_size, stride, padding, 1)
    outs, pads = _geometry(x, r, K, s, p, (1,) * r, ceil_mode)
    if divisor_override is not None and divisor_override == 0:
        fail(RuntimeError, "divisor must be not zero")
    lead, S = x.shape[:x.ndim - r], x.shape[x.ndim - r:]
    nb = 1
    for v in lead:
        nb *= v
    from .source import full
    ones = full((1, 1) + tuple(K), 1, x.dtype, device=x.device or "cpu")
    sums = make("conv", (_reshape(x, (nb, 1) + tuple(S)), ones), stride=s,
                dilation=(1,) * r, padding=pads, groups=1)
    sums = _reshape(sums, tuple(lead) + tuple(outs))
    if divisor_override is not None:
        div = const(int(divisor_override), dt.int64)
    else:
        from .elementwise import mul
        div = None
        for i in range(r):
            di = _divisor_1d(S[i], K[i], s[i], p[i], outs[i], count_include_pad,
                             x.device or "cpu")
            di = _reshape(di, (outs[i],) + (1,) * (r - 1 - i))
            div = di if div is None else mul(div, di)
    # Integer average pooling truncates toward zero, like PyTorch's integer kernels.
    return make("div", (sums, cast(div, x.dtype)))


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return _avg_pool(input, 1, "avg_pool1d", kernel_size, stride, padding, ceil_mode,
                     count_include_pad, None)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return _avg_pool(input, 2, "avg_pool2d", kernel_size, stride, padding, ceil_mode,
                     count_include_pad, divisor_override)


def _adaptive_sizes(x, r, name, output_size):
    if x.ndim not in (r + 1, r + 2):
        fail(RuntimeError, f"{name}(): Expected {r + 1}D or {r + 2}D tensor, but got "
                           f"{list(x.shape)}")
    for i in range(x.ndim - r - 1, x.ndim):
        if x.shape[i] == 0:
            fail(RuntimeError, f"{name}(): Expected input to have non-zero size for non-batch "
                               f"dimensions, but input has sizes {list(x.shape)} with dimension "
                               f"{i} being empty")
    if isinstance(output_size, int) or output_size is None:
        output_size = (output_size,) * r
    output_size = tuple(output_size)
    if len(output_size) != r:
        fail(RuntimeError, f"{name}: output_size must be {r}")
    S = x.shape[x.ndim - r:]
    out = tuple(S[i] if o is None else int(o) for i, o in enumerate(output_size))
    if any(o < 0 for o in out):
        fail(RuntimeError, f"{name}: elements of output_size must be greater than or equal to 0"
                           f" but received {{{', '.join(map(str, out))}}}")
    return S, out


def _averaging_matrix(S, O, dtype, device):
    """A[i, h] = 1/len_i on PyTorch's adaptive window i = [floor(iS/O), ceil((i+1)S/O))."""
    from .elementwise import add, ge, lt, mul, sub, where
    from .source import arange
    i = _reshape(arange(0, O, 1, dt.int64, device), (O, 1))
    h = _reshape(arange(0, S, 1, dt.int64, device), (1, S))
    start = make("div", (mul(i, const(S, dt.int64)), const(O, dt.int64)))
    end = make("div", (add(mul(add(i, 1), const(S, dt.int64)), const(O - 1, dt.int64)),
                       const(O, dt.int64)))
    inside = where(ge(h, start), cast(lt(h, end), dtype), const(0, dtype))
    return make("div", (inside, cast(sub(end, start), dtype))) if O else inside


def _adaptive_avg(x, r, name, output_size):
    S, out = _adaptive_sizes(x, r, name, output_size)
    if x.dtype.category != dt.FLOAT:
        fail(NotImplementedError, f"\"{name}\" not implemented for '{tname(x.dtype)}'")
    lead = x.shape[:x.ndim - r]
    nb = 1
    for v in lead:
        nb *= v
    y = _reshape(x, (nb,) + tuple(S))
    letters = "hwd"[:r]
    cur = list(letters)
    for i in range(r):
        A = _averaging_matrix(S[i], out[i], x.dtype, x.device or "cpu")
        nxt = cur.copy()
        nxt[i] = "o"
        spec = f"b{''.join(cur)},o{cur[i]}->b{''.join(nxt)}"
        y = contract(y, A, spec)
        cur = [c if c != "o" else "OPQ"[i] for c in nxt]
    return _reshape(y, tuple(lead) + out)


def adaptive_avg_pool1d(input, output_size):
    return _adaptive_avg(input, 1, "adaptive_avg_pool1d", output_size)


def adaptive_avg_pool2d(input, output_size):
    return _adaptive_avg(input, 2, "adaptive_avg_pool2d", output_size)


def _adaptive_max(x, r, name, output_size, return_indices):
    S, out = _adaptive_sizes(x, r, name, output_size)
    if x.dtype.category != dt.FLOAT:
        fail(NotImplementedError, f"\"{name}\" not implemented for '{tname(x.dtype)}'")
    if any(o == 0 or s % o for s, o in zip(S, out)):
        fail(NotImplementedError, f"{name}: irgrad supports output sizes that divide the input "
                                  f"size (got input {list(S)}, output {list(out)})")
    K = tuple(s // o for s, o in zip(S, out))
    attrs = dict(kernel=K, stride=K, dilation=(1,) * r, padding=((0, 0),) * r)
    y = make("max_pool", (x,), **attrs)
    if return_indices:
        return y, make("max_pool_indices", (x,), **attrs)
    return y


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return _adaptive_max(input, 1, "adaptive_max_pool1d", output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return _adaptive_max(input, 2, "adaptive_max_pool2d", output_size, return_indices)
