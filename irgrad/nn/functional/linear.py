"""Linear layers, convolutions and padding for nn.functional: wrappers of the op table
(linalg.linear, the conv family, movement's pad) plus `bilinear`, written with einsum."""
from __future__ import annotations

from ...errors import fail
from ._ops import node_function, op, table


def linear(input, weight, bias=None):
    return node_function("linalg", "linear")(input, weight, bias)


def bilinear(input1, input2, weight, bias=None):
    if input1.shape[:-1] != input2.shape[:-1]:
        fail(RuntimeError, f"bilinear(): input batch dimensions do not match: got "
                           f"{list(input1.shape[:-1])} and {list(input2.shape[:-1])}")
    if weight.dim() != 3 or weight.shape[1] != input1.shape[-1] or \
            weight.shape[2] != input2.shape[-1]:
        fail(RuntimeError, f"bilinear(): weight of shape {list(weight.shape)} does not fit "
                           f"inputs with {input1.shape[-1]} and {input2.shape[-1]} features")
    # y[..., o] = sum_ij x1[..., i] W[o, i, j] x2[..., j]
    out = op("einsum")("...i,oij,...j->...o", input1, weight, input2)
    return out if bias is None else out + bias


def conv1d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return table("conv1d")(input, weight, bias, stride, padding, dilation, groups)


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return table("conv2d")(input, weight, bias, stride, padding, dilation, groups)


def conv3d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    return table("conv3d")(input, weight, bias, stride, padding, dilation, groups)


def conv_transpose1d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    return table("conv_transpose1d")(input, weight, bias, stride, padding, output_padding,
                                     groups, dilation)


def conv_transpose2d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    return table("conv_transpose2d")(input, weight, bias, stride, padding, output_padding,
                                     groups, dilation)


def conv_transpose3d(input, weight, bias=None, stride=1, padding=0, output_padding=0,
                     groups=1, dilation=1):
    return table("conv_transpose3d")(input, weight, bias, stride, padding, output_padding,
                                     groups, dilation)


def unfold(input, kernel_size, dilation=1, padding=0, stride=1):
    return table("unfold")(input, kernel_size, dilation, padding, stride)


def fold(input, output_size, kernel_size, dilation=1, padding=0, stride=1):
    return table("fold")(input, output_size, kernel_size, dilation, padding, stride)


def pad(input, pad, mode: str = "constant", value=None):
    """PyTorch's F.pad: `pad` lists (left, right) pairs starting from the LAST dimension."""
    return node_function("movement_compose", "pad")(input, pad, mode, value)


__all__ = ["linear", "bilinear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
           "conv_transpose2d", "conv_transpose3d", "unfold", "fold", "pad"]
