"""Activation functions of nn.functional, PyTorch's signatures.

The math lives in the op table (unary ops and the composite family's activations); this file
adds what a node function cannot do: `inplace=True`, which writes the result into the input
tensor and returns it.
"""
from __future__ import annotations

from ...errors import fail
from ._ops import op, table


def _inplace(input, result, inplace: bool):
    if inplace:
        return input._assign(result.node, "inplace activation")
    return result


def relu(input, inplace: bool = False):
    return _inplace(input, op("relu")(input), inplace)


def relu_(input):
    return relu(input, inplace=True)


def hardtanh(input, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False):
    return _inplace(input, table("hardtanh")(input, min_val, max_val), inplace)


def relu6(input, inplace: bool = False):
    return _inplace(input, table("relu6")(input), inplace)


def leaky_relu(input, negative_slope: float = 0.01, inplace: bool = False):
    return _inplace(input, table("leaky_relu")(input, negative_slope), inplace)


def elu(input, alpha: float = 1.0, inplace: bool = False):
    return _inplace(input, table("elu")(input, alpha), inplace)


def celu(input, alpha: float = 1.0, inplace: bool = False):
    return _inplace(input, table("celu")(input, alpha), inplace)


def selu(input, inplace: bool = False):
    return _inplace(input, table("selu")(input), inplace)


def gelu(input, approximate: str = "none"):
    return table("gelu")(input, approximate=approximate)


def sigmoid(input):
    return op("sigmoid")(input)


def tanh(input):
    return op("tanh")(input)


def silu(input, inplace: bool = False):
    return _inplace(input, table("silu")(input), inplace)


def mish(input, inplace: bool = False):
    return _inplace(input, table("mish")(input), inplace)


def softplus(input, beta: float = 1.0, threshold: float = 20.0):
    return table("softplus")(input, beta, threshold)


def softsign(input):
    return table("softsign")(input)


def hardsigmoid(input, inplace: bool = False):
    return _inplace(input, table("hardsigmoid")(input), inplace)


def hardswish(input, inplace: bool = False):
    return _inplace(input, table("hardswish")(input), inplace)


def logsigmoid(input):
    return table("logsigmoid")(input)


def tanhshrink(input):
    return table("tanhshrink")(input)


def hardshrink(input, lambd: float = 0.5):
    return table("hardshrink")(input, lambd)


def softshrink(input, lambd: float = 0.5):
    return table("softshrink")(input, lambd)


def threshold(input, threshold: float, value: float, inplace: bool = False):
    return _inplace(input, table("threshold")(input, threshold, value), inplace)


def prelu(input, weight):
    """max(0, x) + weight * min(0, x), with one weight per channel (dim 1) or one shared."""
    if weight.numel() != 1:
        c = input.shape[1] if input.dim() >= 2 else 1
        if input.dim() < 2 or c != weight.numel():
            fail(RuntimeError, f"Mismatch of parameter numbers and input channel size. Found "
                               f"parameter numbers = {weight.numel()} and channel size = {c}.")
        weight = weight.reshape((weight.numel(),) + (1,) * (input.dim() - 2))
    return op("where")(input > 0, input, input * weight)


def glu(input, dim: int = -1):
    return table("glu")(input, dim)


def softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    return table("softmax")(input, dim, _stacklevel + 1, dtype)


def log_softmax(input, dim=None, _stacklevel: int = 3, dtype=None):
    return table("log_softmax")(input, dim, _stacklevel + 1, dtype)


def softmin(input, dim=None, _stacklevel: int = 3, dtype=None):
    return table("softmin")(input, dim, _stacklevel + 1, dtype)


__all__ = ["relu", "relu_", "relu6", "hardtanh", "leaky_relu", "elu", "celu", "selu", "gelu",
           "sigmoid", "tanh", "silu", "softplus", "mish", "softsign", "hardsigmoid",
           "hardswish", "logsigmoid", "tanhshrink", "hardshrink", "softshrink", "threshold",
           "prelu", "glu", "softmax", "log_softmax", "softmin"]
