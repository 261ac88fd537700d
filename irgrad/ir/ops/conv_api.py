"""Public convolution functions with PyTorch's argument rules and messages: conv1d/2d/3d,
conv_transpose1d/2d/3d, unfold and fold (im2col / col2im as convolutions with one-hot
kernels). They record the primitives of `conv.py`.
"""
from __future__ import annotations

from ...errors import fail
from .. import dtypes as dt
from ..node import make
from .conv import out_size
from .linalg import CPP_NAME, tname


def _reshape(x, shape):
    from .movement import reshape
    return reshape(x, tuple(shape))


def int_tuple(v, n, what):
    """An int or a sequence of ints -> an n-tuple (a length-1 sequence broadcasts)."""
    if isinstance(v, bool):
        fail(TypeError, f"{what} must be an int or a tuple of ints, not bool")
    if isinstance(v, int):
        return (v,) * n
    try:
        t = tuple(int(a) for a in v)
    except TypeError:
        fail(TypeError, f"{what} must be an int or a tuple of ints, not {type(v).__name__}")
    return t * n if len(t) == 1 else t


def _conv_param(v, nd, r, name):
    t = int_tuple(v, nd, name)
    if len(t) != r:
        fail(RuntimeError, f"expected {name} to be a single integer value or a list of {r} "
                           f"values to match the convolution dimensions, but got "
                           f"{name}={list(t)}")
    return t


def _batched(x, nd, fname):
    if x.ndim not in (nd + 1, nd + 2):
        fail(RuntimeError, f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to "
                           f"{fname}, but got input of size: {list(x.shape)}")
    if x.ndim == nd + 1:
        return _reshape(x, (1,) + x.shape), True
    return x, False


def _common_checks(x, w, stride, dilation, groups, pads):
    if not isinstance(groups, int) or groups <= 0:
        fail(RuntimeError, "non-positive groups is not supported")
    if any(s <= 0 for s in stride):
        fail(RuntimeError, "non-positive stride is not supported")
    if any(p < 0 for p in pads):
        fail(RuntimeError, "negative padding is not supported")
    if any(d <= 0 for d in dilation):
        fail(RuntimeError, f"dilation should be greater than zero, but got {list(dilation)}")
    if w.ndim != x.ndim:
        fail(RuntimeError, f"Expected {w.ndim}-dimensional input for {w.ndim}-dimensional "
                           f"weight {list(w.shape)}, but got {x.ndim}-dimensional input of size"
                           f" {list(x.shape)} instead")
    if w.shape[0] % groups:
        fail(RuntimeError, f"Given groups={groups}, expected weight to be divisible by {groups} "
                           f"at dimension 0, but got weight of size [{list(w.shape)}] instead")


def _check_dtypes(x, w, bias, nd):
    if x.dtype is not w.dtype:
        fail(RuntimeError, f"expected scalar type {tname(x.dtype)} but found {tname(w.dtype)}")
    if x.dtype is dt.bool_:
        fail(NotImplementedError, f"\"slow_conv{nd}d_cpu\" not implemented for 'Bool'")
    if bias is not None and bias.dtype is not x.dtype:
        fail(RuntimeError, f"Input type ({CPP_NAME[x.dtype.name]}) and bias type "
                           f"({CPP_NAME[bias.dtype.name]}) should be the same")


def _add_bias(y, bias, w, n_out, transposed=False):
    if bias is None:
        return y
    if bias.ndim != 1 or bias.shape[0] != n_out:
        t = "transposed=1, " if transposed else ""
        fail(RuntimeError, f"Given {t}weight of size {list(w.shape)}, expected bias to be "
                           f"1-dimensional with {n_out} elements, but got bias of size "
                           f"{list(bias.shape)} instead")
    from .elementwise import add
    return add(y, _reshape(bias, (1, n_out) + (1,) * (y.ndim - 2)))


def _conv_nd(x, w, bias, stride, padding, dilation, groups, nd):
    fname = f"conv{nd}d"
    x, unbatched = _batched(x, nd, fname)
    r = w.ndim - 2
    stride = _conv_param(stride, nd, r, "stride")
    dilation = _conv_param(dilation, nd, r, "dilation")
    K = w.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            pads = [(0, 0)] * r
        elif padding == "same":
            if any(s != 1 for s in stride):
                fail(RuntimeError, "padding='same' is not supported for strided convolutions")
            total = [d * (k - 1) for d, k in zip(dilation, K)]
            pads = [(t // 2, t - t // 2) for t in total]
        else:
            fail(RuntimeError, f"Invalid padding string: '{padding}'")
    else:
        pads = [(p, p) for p in _conv_param(padding, nd, r, "padding")]
    _common_checks(x, w, stride, dilation, groups, [p for pr in pads for p in pr])
    if x.shape[1] != w.shape[1] * groups:
        fail(RuntimeError, f"Given groups={groups}, weight of size {list(w.shape)}, expected "
                           f"input{list(x.shape)} to have {w.shape[1] * groups} channels, but "
                           f"got {x.shape[1]} channels instead")
    S = x.shape[2:]
    padded = [s + lo + hi for s, (lo, hi) in zip(S, pads)]
    eff = [d * (k - 1) + 1 for d, k in zip(dilation, K)]
    if any(p < e for p, e in zip(padded, eff)):
        fail(RuntimeError, f"Calculated padded input size per channel: "
                           f"({' x '.join(map(str, padded))}). Kernel size: "
                           f"({' x '.join(map(str, eff))}). Kernel size can't be greater than "
                           f"actual input size")
    _check_dtypes(x, w, bias, nd)
    y = make("conv", (x, w), stride=stride, dilation=dilation, padding=tuple(pads),
             groups=groups)
    y = _add_bias(y, bias, w, w.shape[0])
    return _reshape(y, y.shape[1:]) if unbatched else y


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 1)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 2)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return _conv_nd(input, weight, bias, stride, padding, dilation, groups, 3)


def _conv_transpose_nd(x, w, bias, stride, padding, output_padding, groups, dilation, nd):
    x, unbatched = _batched(x, nd, f"conv_transpose{nd}d")
    r = w.ndim - 2
    if isinstance(padding, str):
        fail(TypeError, f"conv_transpose{nd}d(): argument 'padding' must be tuple of ints, not "
                        f"str")
    stride = _conv_param(stride, nd, r, "stride")
    dilation = _conv_param(dilation, nd, r, "dilation")
    pad = _conv_param(padding, nd, r, "padding")
    opad = _conv_param(output_padding, nd, r, "output_padding")
    _common_checks(x, w, stride, dilation, groups, pad)
    if x.shape[1] != w.shape[0]:
        fail(RuntimeError, f"Given transposed=1, weight of size {list(w.shape)}, expected "
                           f"input{list(x.shape)} to have {w.shape[0]} channels, but got "
                           f"{x.shape[1]} channels instead")
    if any(o >= s and o >= d for o, s, d in zip(opad, stride, dilation)):
        names = ["height", "width"] if r == 2 else ["depth", "height", "width"][-r:] \
            if r <= 3 else [str(i) for i in range(r)]
        parts = [f"output_padding_{n}: {o}" for n, o in zip(names, opad)]
        parts += [f"stride_{n}: {s}" for n, s in zip(names, stride)]
        parts += [f"dilation_{n}: {d}" for n, d in zip(names, dilation)]
        fail(RuntimeError, "output padding must be smaller than either stride or dilation, but "
                           "got " + " ".join(parts))
    K, S = w.shape[2:], x.shape[2:]
    O = [(s - 1) * st - 2 * p + d * (k - 1) + op + 1
         for s, st, p, d, k, op in zip(S, stride, pad, dilation, K, opad)]
    if any(o <= 0 for o in O):
        fail(RuntimeError, f"Given input size per channel: ({' x '.join(map(str, S))}). "
                           f"Calculated output size per channel: ({' x '.join(map(str, O))}). "
                           f"Output size is too small")
    _check_dtypes(x, w, bias, nd)
    pads = tuple((p, p - op) for p, op in zip(pad, opad))
    y = make("conv_input_grad", (x, w), size=tuple(O), stride=stride, dilation=dilation,
             padding=pads, groups=groups)
    y = _add_bias(y, bias, w, w.shape[1] * groups, transposed=True)
    return _reshape(y, y.shape[1:]) if unbatched else y


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 1)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 2)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0, groups=1,
                     dilation=1):
    return _conv_transpose_nd(input, weight, bias, stride, padding, output_padding, groups,
                              dilation, 3)


# ---- unfold / fold ---------------------------------------------------------------------------

def _one_hot_kernels(K, dtype, device):
    """(k, 1, *K) weight whose k-th filter picks window offset k (row-major)."""
    from .source import eye
    n = 1
    for k in K:
        n *= k
    return _reshape(eye(n, n, dtype, device=device or "cpu"), (n, 1) + tuple(K))


def _fold_params(kernel_size, dilation, padding, stride, fname):
    out = []
    for v, name in ((kernel_size, "kernel_size"), (dilation, "dilation"), (padding, "padding"),
                    (stride, "stride")):
        t = int_tuple(v, 2, name)
        if len(t) != 2:
            fail(RuntimeError, f"{fname}(): argument '{name}' must be an int or a tuple of two "
                               f"ints")
        out.append(t)
    return out


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    """F.unfold (im2col): (N, C, H, W) -> (N, C*kh*kw, L)."""
    K, d, p, s = _fold_params(kernel_size, dilation, padding, stride, "unfold")
    x, unbatched = input, False
    if x.ndim == 3:
        x, unbatched = _reshape(x, (1,) + x.shape), True
    if x.ndim != 4:
        fail(RuntimeError, f"Input Error: Only 3D or 4D input Tensors are supported (got "
                           f"{x.ndim}D)")
    N, C, H, W = x.shape
    y = make("conv", (_reshape(x, (N * C, 1, H, W)), _one_hot_kernels(K, x.dtype, x.device)),
             stride=s, dilation=d, padding=((p[0], p[0]), (p[1], p[1])), groups=1)
    y = _reshape(y, (N, C * K[0] * K[1], y.shape[2] * y.shape[3]))
    return _reshape(y, y.shape[1:]) if unbatched else y


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    """F.fold (col2im, summing overlaps): (N, C*kh*kw, L) -> (N, C, *output_size)."""
    K, d, p, s = _fold_params(kernel_size, dilation, padding, stride, "fold")
    size = int_tuple(output_size, 2, "output_size")
    x, unbatched = input, False
    if x.ndim == 2:
        x, unbatched = _reshape(x, (1,) + x.shape), True
    if x.ndim != 3:
        fail(RuntimeError, f"Input Error: Only unbatched (2D) or batched (3D) input Tensors are "
                           f"supported (got {x.ndim}D)")
    kk = K[0] * K[1]
    if x.shape[1] % kk:
        fail(RuntimeError, f"Expected size of input's dimension 1 to be divisible by the product "
                           f"of kernel_size, but got input.size(1)={x.shape[1]} and "
                           f"kernel_size=({K[0]}, {K[1]})")
    P = [out_size(size[i], K[i], s[i], d[i], p[i], p[i]) for i in range(2)]
    if P[0] * P[1] != x.shape[2]:
        fail(RuntimeError, f"Given output_size=({size[0]}, {size[1]}), kernel_size=({K[0]}, "
                           f"{K[1]}), dilation=({d[0]}, {d[1]}), padding=({p[0]}, {p[1]}), "
                           f"stride=({s[0]}, {s[1]}), expected size of input's dimension 2 to "
                           f"match the calculated number of sliding blocks {P[0]} * {P[1]} = "
                           f"{P[0] * P[1]}, but got input.size(2)={x.shape[2]}.")
    N, C = x.shape[0], x.shape[1] // kk
    cols = _reshape(x, (N * C, kk, P[0], P[1]))
    y = make("conv_input_grad", (cols, _one_hot_kernels(K, x.dtype, x.device)), size=size,
             stride=s, dilation=d, padding=((p[0], p[0]), (p[1], p[1])), groups=1)
    y = _reshape(y, (N, C) + size)
    return _reshape(y, y.shape[1:]) if unbatched else y
