"""Symbolic reverse-mode differentiation on the IR (`irgrad.autograd`).

Gradients are graphs: `backward()` and `grad()` add backward nodes built from each op's
gradient rule (engine.py), so forward, backward and the optimizer update compile as one
graph, and gradients of gradients work at any order. See docs/guide/autograd.md.
"""
from __future__ import annotations

from ..frontend.modes import (enable_grad, inference_mode, is_grad_enabled, no_grad,
                              set_grad_enabled)
from ..frontend.tensor import Tensor as Variable  # PyTorch's legacy alias
from . import functional
from .anomaly import detect_anomaly, is_anomaly_check_nan_enabled, is_anomaly_enabled, \
    set_detect_anomaly
from .function import Function, FunctionCtx, InplaceFunction, NestedIOFunction, \
    once_differentiable
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .graph_fn import GradFn


def backward(tensors, grad_tensors=None, retain_graph=None, create_graph=False,
             grad_variables=None, inputs=None):
    """Accumulate the gradients of `tensors` into the `.grad` of the graph's leaves (or of
    `inputs` only); PyTorch's `torch.autograd.backward`."""
    from ..frontend.autograd_api import backward as run
    return run(tensors, grad_tensors, retain_graph, create_graph, grad_variables, inputs)


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False,
         only_inputs=True, allow_unused=None, is_grads_batched=False, materialize_grads=False):
    """The gradients of `outputs` w.r.t. `inputs`, as lazy Tensors; with
    `create_graph=True` they are differentiable again. PyTorch's `torch.autograd.grad`."""
    from ..frontend.autograd_api import grad as run
    return run(outputs, inputs, grad_outputs, retain_graph, create_graph, only_inputs,
               allow_unused, is_grads_batched, materialize_grads)


__all__ = ["backward", "grad", "Function", "FunctionCtx", "once_differentiable",
           "detect_anomaly", "set_detect_anomaly", "is_anomaly_enabled", "functional",
           "no_grad", "enable_grad", "set_grad_enabled", "inference_mode", "Variable",
           "GradFn", "InplaceFunction", "NestedIOFunction", "is_grad_enabled",
           "is_anomaly_check_nan_enabled", "gradcheck", "gradgradcheck", "GradcheckError"]
