"""Resampling for nn.functional: interpolate (nearest, nearest-exact, linear, bilinear,
trilinear, area), upsample, pixel_shuffle and pixel_unshuffle.

Interpolation is separable, so each spatial dim is resampled by multiplying with a small
(out, in) matrix of weights computed on the host with PyTorch's source-index rules
(align_corners, scale_factor). That needs only matmul, gives exact gradients, and the matrices
are graph inputs cached per shape.
"""
from __future__ import annotations

import math

import numpy as np

from ...errors import fail
from ._ops import op
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d

_constants: dict = {}


def _constant(array: np.ndarray, like):
    """A small host-computed matrix as a tensor of `like`'s dtype and device (cached, and a
    graph input rather than a baked constant, so graph keys do not depend on it)."""
    key = (array.tobytes(), array.shape, like.dtype, str(like.device))
    t = _constants.get(key)
    if t is None:
        import irgrad
        t = irgrad.tensor(array, dtype=like.dtype, device=like.device)
        if len(_constants) > 256:
            _constants.clear()
        _constants[key] = t
    return t

_LINEAR = {"linear": 1, "bilinear": 2, "trilinear": 3, "bicubic": 2}


def _scale(in_size, out_size, align_corners, scale, linear):
    """PyTorch's area_pixel_compute_scale."""
    if align_corners and linear:
        return (in_size - 1) / (out_size - 1) if out_size > 1 else 0.0
    if scale is not None and scale > 0:
        return 1.0 / scale
    return in_size / out_size


def _nearest_matrix(in_size, out_size, scale, exact):
    m = np.zeros((out_size, in_size))
    s = _scale(in_size, out_size, False, scale, False)
    for i in range(out_size):
        # PyTorch computes the source index in float32.
        src = math.floor(np.float32((i + 0.5) * s) if exact else np.float32(i * np.float32(s)))
        m[i, min(src, in_size - 1)] = 1.0
    return m


def _linear_matrix(in_size, out_size, align_corners, scale):
    m = np.zeros((out_size, in_size))
    s = _scale(in_size, out_size, align_corners, scale, True)
    for i in range(out_size):
        if align_corners:
            src = s * i
        else:
            src = max(s * (i + 0.5) - 0.5, 0.0)
        i0 = min(int(math.floor(src)), in_size - 1)
        i1 = i0 + 1 if i0 < in_size - 1 else i0
        l1 = src - i0
        m[i, i0] += 1.0 - l1
        m[i, i1] += l1
    return m


def _resample(x, n, matrices):
    """Apply one (out, in) matrix per spatial dim (last dims of x)."""
    matmul = op("matmul")
    for i in reversed(range(n)):
        m = matrices[i]
        if m is None:
            continue
        axis = x.dim() - n + i
        moved = x.transpose(axis, -1) if axis != x.dim() - 1 else x
        moved = matmul(moved, _constant(m.T.copy(), x))
        x = moved.transpose(axis, -1) if axis != x.dim() - 1 else moved
    return x


def interpolate(input, size=None, scale_factor=None, mode="nearest", align_corners=None,
                recompute_scale_factor=None, antialias=False):
    n = input.dim() - 2
    if n < 1:
        fail(ValueError, f"Input Error: Only 3D, 4D and 5D input Tensors supported (got "
                         f"{input.dim()}D) for the modes: nearest | linear | bilinear | "
                         f"bicubic | trilinear | area | nearest-exact (got {mode})")
    if mode in ("nearest", "area", "nearest-exact") and align_corners is not None:
        fail(ValueError, "align_corners option can only be set with the interpolating modes: "
                         "linear | bilinear | bicubic | trilinear")
    if mode in _LINEAR and _LINEAR[mode] != n:
        fail(NotImplementedError, f"Got {input.dim()}D input, but {mode} mode needs "
                                  f"{_LINEAR[mode] + 2}D input")
    if antialias:
        fail(NotImplementedError, "interpolate(antialias=True) is not supported")
    if mode == "bicubic":
        fail(NotImplementedError, "interpolate(mode='bicubic') is not supported")
    align_corners = bool(align_corners)
    spatial = tuple(input.shape[2:])
    if size is not None and scale_factor is not None:
        fail(ValueError, "only one of size or scale_factor should be defined")
    if size is not None:
        out = list(size) if isinstance(size, (tuple, list)) else [size] * n
        if len(out) != n:
            fail(ValueError, f"Input and output must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(spatial)} and output size of {out}. Please provide input "
                             f"tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, "
                             f"o2, ...,oK) format.")
        out = [int(o) for o in out]
        scales = [None] * n
    elif scale_factor is not None:
        scales = list(scale_factor) if isinstance(scale_factor, (tuple, list)) else \
            [scale_factor] * n
        if len(scales) != n:
            fail(ValueError, f"Input and scale_factor must have the same number of spatial "
                             f"dimensions, but got input with spatial dimensions of "
                             f"{list(spatial)} and scale_factor of shape {scales}. Please "
                             f"provide input tensor in (N, C, d1, d2, ...,dK) format and "
                             f"scale_factor in (s1, s2, ...,sK) format.")
        out = [int(math.floor(float(s) * float(sz))) for s, sz in zip(scales, spatial)]
        if recompute_scale_factor:
            scales = [None] * n
    else:
        fail(ValueError, "either size or scale_factor should be defined")
    if mode == "area":
        return adaptive_avg_pool1d(input, out) if n == 1 else adaptive_avg_pool2d(input, out) \
            if n == 2 else _area3d(input, out)
    mats = []
    for i in range(n):
        if out[i] == spatial[i]:  # PyTorch copies a dim whose size does not change
            mats.append(None)
        elif mode in ("nearest", "nearest-exact"):
            mats.append(_nearest_matrix(spatial[i], out[i], scales[i], mode == "nearest-exact"))
        elif mode in _LINEAR:
            mats.append(_linear_matrix(spatial[i], out[i], align_corners, scales[i]))
        else:
            fail(NotImplementedError, f"Input Error: unsupported interpolation mode {mode!r}")
    return _resample(input, n, mats)


def _area3d(input, out):
    mats = []
    for i, (sz, o) in enumerate(zip(input.shape[2:], out)):
        m = np.zeros((o, sz))
        for r in range(o):
            a, b = (r * sz) // o, -((-(r + 1) * sz) // o)
            m[r, a:b] = 1.0 / (b - a)
        mats.append(m)
    return _resample(input, 3, mats)


def upsample(input, size=None, scale_factor=None, mode="nearest", align_corners=None):
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input, size=None, scale_factor=None):
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)


def pixel_shuffle(input, upscale_factor: int):
    r = int(upscale_factor)
    *lead, c, h, w = input.shape
    if c % (r * r):
        fail(RuntimeError, f"pixel_shuffle expects its input's 'channel' dimension to be "
                           f"divisible by the square of upscale_factor, but input.size(-3)={c} "
                           f"is not divisible by {r * r}")
    lead = tuple(lead)
    k = len(lead)
    x = input.reshape(lead + (c // (r * r), r, r, h, w))
    perm = tuple(range(k)) + (k, k + 3, k + 1, k + 4, k + 2)
    return x.permute(perm).reshape(lead + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input, downscale_factor: int):
    r = int(downscale_factor)
    *lead, c, h, w = input.shape
    if h % r or w % r:
        fail(RuntimeError, f"pixel_unshuffle expects height and width to be divisible by "
                           f"downscale_factor, but got height={h}, width={w} and "
                           f"downscale_factor={r}")
    lead = tuple(lead)
    k = len(lead)
    x = input.reshape(lead + (c, h // r, r, w // r, r))
    perm = tuple(range(k)) + (k, k + 2, k + 4, k + 1, k + 3)
    return x.permute(perm).reshape(lead + (c * r * r, h // r, w // r))


__all__ = ["interpolate", "upsample", "upsample_nearest", "upsample_bilinear",
           "pixel_shuffle", "pixel_unshuffle"]
