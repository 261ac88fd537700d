"""irgrad.nn.init: PyTorch's weight initializers (same names, arguments, fans and gains).

Every initializer fills the tensor in place under `no_grad` with irgrad's random ops, so a
module's initialization is a lazy graph: all of a model's parameters are computed together,
in one compiled graph, when they are first needed.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from ..frontend.modes import no_grad

__all__ = ["calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_",
           "zeros_", "eye_", "dirac_", "xavier_uniform_", "xavier_normal_",
           "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_"]


def calculate_gain(nonlinearity, param=None):
    linear_fns = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                  "conv_transpose2d", "conv_transpose3d"]
    if nonlinearity in linear_fns or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif not isinstance(param, bool) and isinstance(param, (int, float)):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor):
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError("Fan in and fan out can not be computed for tensor with fewer than 2 "
                         "dimensions")
    num_input_fmaps = tensor.shape[1]
    num_output_fmaps = tensor.shape[0]
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def _calculate_correct_fan(tensor, mode):
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


def _fill(tensor, value_tensor):
    """Write a computed value into `tensor` in place (a Parameter stays a Parameter)."""
    with no_grad():
        v = value_tensor
        if v.dtype is not tensor.dtype:
            v = v.to(dtype=tensor.dtype)
        tensor._assign(v.node, "nn.init")
    return tensor


def _random(kind, tensor, a, b, generator):
    """A uniform(a, b) or normal(a, b) draw of tensor's shape from irgrad's RNG."""
    import irgrad
    shape, dtype, device = tuple(tensor.shape), tensor.dtype, tensor.device
    method = getattr(type(tensor), "uniform_" if kind == "uniform" else "normal_", None)
    if method is not None:
        with no_grad():
            if generator is not None:
                return method(tensor, a, b, generator=generator)
            return method(tensor, a, b)
    kw = {"dtype": dtype, "device": device}
    if generator is not None:
        kw["generator"] = generator
    if kind == "uniform":
        return _fill(tensor, irgrad.rand(shape, **kw) * (b - a) + a)
    return _fill(tensor, irgrad.randn(shape, **kw) * b + a)


def uniform_(tensor, a: float = 0.0, b: float = 1.0, generator=None):
    return _random("uniform", tensor, a, b, generator)


def normal_(tensor, mean: float = 0.0, std: float = 1.0, generator=None):
    return _random("normal", tensor, mean, std, generator)


def trunc_normal_(tensor, mean=0.0, std=1.0, a=-2.0, b=2.0, generator=None):
    """Normal(mean, std) truncated to [a, b], by the inverse CDF like PyTorch."""
    def norm_cdf(x):
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    if mean < a - 2 * std or mean > b + 2 * std:
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. The "
                      "distribution of values may be incorrect.", stacklevel=2)
    lo, hi = norm_cdf((a - mean) / std), norm_cdf((b - mean) / std)
    import irgrad
    with no_grad():
        uniform_(tensor, 2 * lo - 1, 2 * hi - 1, generator=generator)
        value = irgrad.erfinv(tensor) * (std * math.sqrt(2.0)) + mean
        return _fill(tensor, irgrad.clamp(value, a, b))


def constant_(tensor, val: float):
    import irgrad
    return _fill(tensor, irgrad.full(tuple(tensor.shape), val, dtype=tensor.dtype,
                                     device=tensor.device))


def ones_(tensor):
    return constant_(tensor, 1.0)


def zeros_(tensor):
    return constant_(tensor, 0.0)


def eye_(tensor):
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    import irgrad
    return _fill(tensor, irgrad.eye(tensor.shape[0], tensor.shape[1], dtype=tensor.dtype,
                                    device=tensor.device))


def dirac_(tensor, groups=1):
    dims = tensor.dim()
    if dims not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tuple(tensor.shape)
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_per_group = sizes[0] // groups
    min_dim = min(out_per_group, sizes[1])
    w = np.zeros(sizes, dtype=np.float64)
    for g in range(groups):
        for d in range(min_dim):
            idx = (g * out_per_group + d, d) + tuple(s // 2 for s in sizes[2:])
            w[idx] = 1.0
    import irgrad
    return _fill(tensor, irgrad.tensor(w, dtype=tensor.dtype, device=tensor.device))


def xavier_uniform_(tensor, gain: float = 1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    return uniform_(tensor, -a, a, generator)


def xavier_normal_(tensor, gain: float = 1.0, generator=None):
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    return normal_(tensor, 0.0, std, generator)


def kaiming_uniform_(tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator=None):
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    bound = math.sqrt(3.0) * gain / math.sqrt(fan)
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator=None):
    if 0 in tuple(tensor.shape):
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    fan = _calculate_correct_fan(tensor, mode)
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(fan), generator)


def orthogonal_(tensor, gain: float = 1, generator=None):
    """A (semi-)orthogonal matrix from the QR decomposition of a normal draw (on the host:
    initialization runs once, and the draw comes from irgrad's RNG)."""
    if tensor.dim() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    import irgrad
    rows = tensor.shape[0]
    cols = tensor.numel() // rows
    kw = {"generator": generator} if generator is not None else {}
    flat = irgrad.randn((rows, cols), dtype=irgrad.float64, **kw).numpy()
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q = q * np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _fill(tensor, irgrad.tensor(q.reshape(tuple(tensor.shape)) * gain,
                                       dtype=tensor.dtype, device=tensor.device))


def sparse_(tensor, sparsity, std=0.01, generator=None):
    if tensor.dim() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    import irgrad
    rows, cols = tensor.shape
    num_zeros = int(math.ceil(sparsity * rows))
    normal_(tensor, 0.0, std, generator)
    keep = np.ones((rows, cols), dtype=bool)
    kw = {"generator": generator} if generator is not None else {}
    for c in range(cols):
        perm = irgrad.randperm(rows, **kw).numpy()
        keep[perm[:num_zeros], c] = False
    mask = irgrad.tensor(keep, device=tensor.device)
    with no_grad():
        return _fill(tensor, irgrad.where(mask, tensor, 0.0))


# PyTorch's deprecated spellings without the trailing underscore.
def _deprecated(fn):
    def alias(*args, **kwargs):
        warnings.warn(f"nn.init.{fn.__name__[:-1]} is now deprecated in favor of "
                      f"nn.init.{fn.__name__}.", FutureWarning, stacklevel=2)
        return fn(*args, **kwargs)
    alias.__name__ = fn.__name__[:-1]
    return alias


uniform, normal, constant = _deprecated(uniform_), _deprecated(normal_), _deprecated(constant_)
xavier_uniform, xavier_normal = _deprecated(xavier_uniform_), _deprecated(xavier_normal_)
kaiming_uniform, kaiming_normal = _deprecated(kaiming_uniform_), _deprecated(kaiming_normal_)
orthogonal = _deprecated(orthogonal_)
