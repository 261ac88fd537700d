"""Pooling functions of nn.functional: wrappers of the conv family's pooling ops (max, avg,
adaptive; 1-d and 2-d), with PyTorch's signatures."""
from __future__ import annotations

from ._ops import table


def max_pool1d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return table("max_pool1d")(input, kernel_size, stride, padding, dilation, ceil_mode,
                               return_indices)


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False,
               return_indices=False):
    return table("max_pool2d")(input, kernel_size, stride, padding, dilation, ceil_mode,
                               return_indices)


def max_pool1d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return table("max_pool1d_with_indices")(input, kernel_size, stride, padding, dilation,
                                            ceil_mode)


def max_pool2d_with_indices(input, kernel_size, stride=None, padding=0, dilation=1,
                            ceil_mode=False, return_indices=True):
    return table("max_pool2d_with_indices")(input, kernel_size, stride, padding, dilation,
                                            ceil_mode)


def avg_pool1d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True):
    return table("avg_pool1d")(input, kernel_size, stride, padding, ceil_mode,
                               count_include_pad)


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False,
               count_include_pad=True, divisor_override=None):
    return table("avg_pool2d")(input, kernel_size, stride, padding, ceil_mode,
                               count_include_pad, divisor_override)


def adaptive_avg_pool1d(input, output_size):
    return table("adaptive_avg_pool1d")(input, output_size)


def adaptive_avg_pool2d(input, output_size):
    return table("adaptive_avg_pool2d")(input, output_size)


def adaptive_max_pool1d(input, output_size, return_indices=False):
    return table("adaptive_max_pool1d")(input, output_size, return_indices)


def adaptive_max_pool2d(input, output_size, return_indices=False):
    return table("adaptive_max_pool2d")(input, output_size, return_indices)


__all__ = ["max_pool1d", "max_pool2d", "max_pool1d_with_indices", "max_pool2d_with_indices",
           "avg_pool1d", "avg_pool2d", "adaptive_avg_pool1d", "adaptive_avg_pool2d",
           "adaptive_max_pool1d", "adaptive_max_pool2d"]
