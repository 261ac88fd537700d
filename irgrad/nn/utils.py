"""irgrad.nn.utils: gradient clipping and parameter/vector conversion.

Clipping stays in the graph: the total norm and the scale factor are lazy tensors, so
`clip_grad_norm_` between `backward()` and `optimizer.step()` adds no host round trip (unless
`error_if_nonfinite=True`, which must look at the value).
"""
from __future__ import annotations

import math

from ..errors import fail
from ..frontend.modes import no_grad
from ..frontend.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_", "parameters_to_vector", "vector_to_parameters"]


def _as_list(tensors):
    if isinstance(tensors, Tensor):
        return [tensors]
    return list(tensors)


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    """The norm of all `tensors` together, as if concatenated into one vector."""
    import irgrad
    tensors = [t for t in _as_list(tensors) if t is not None]
    norm_type = float(norm_type)
    if not tensors:
        return irgrad.tensor(0.0)
    with no_grad():
        if math.isinf(norm_type):
            parts = [t.abs().amax() if t.numel() else irgrad.tensor(0.0, dtype=t.dtype)
                     for t in tensors]
            total = parts[0]
            for p in parts[1:]:
                total = irgrad.maximum(total, p)
            if norm_type < 0:
                parts = [t.abs().amin() for t in tensors if t.numel()]
                total = parts[0]
                for p in parts[1:]:
                    total = irgrad.minimum(total, p)
        elif norm_type == 0:
            total = sum(((t != 0).sum().to(tensors[0].dtype) for t in tensors[1:]),
                        (tensors[0] != 0).sum().to(tensors[0].dtype))
        else:
            def power_sum(t):
                if norm_type == 2.0:
                    return (t * t).sum()
                if norm_type == 1.0:
                    return t.abs().sum()
                return (t.abs() ** norm_type).sum()
            acc = power_sum(tensors[0].float() if not tensors[0].is_floating_point()
                            else tensors[0])
            for t in tensors[1:]:
                acc = acc + power_sum(t).to(acc.dtype)
            total = acc.sqrt() if norm_type == 2.0 else acc if norm_type == 1.0 else \
                acc ** (1.0 / norm_type)
    if error_if_nonfinite:
        v = float(total.item())
        if math.isnan(v) or math.isinf(v):
            fail(RuntimeError, f"The total norm of order {norm_type} for gradients from "
                               f"`parameters` is non-finite, so it cannot be clipped. To disable "
                               f"this error and scale the gradients by the non-finite norm "
                               f"anyway, set `error_if_nonfinite=False`")
    return total


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    """Scale the gradients by min(1, max_norm / (total_norm + 1e-6)), in place."""
    import irgrad
    params = [p for p in _as_list(parameters) if p.grad is not None]
    if not params:
        return
    with no_grad():
        coef = irgrad.clamp(float(max_norm) / (total_norm + 1e-6), max=1.0)
        for p in params:
            g = p.grad
            g._assign((g * coef.to(g.dtype)).node, "clip_grad_norm_")


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    """Clip the gradients' global norm to max_norm; returns the norm before clipping."""
    params = _as_list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    total = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(params, max_norm, total, foreach)
    return total


def clip_grad_norm(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                   foreach=None):
    import warnings
    warnings.warn("`torch.nn.utils.clip_grad_norm` is now deprecated in favor of "
                  "`torch.nn.utils.clip_grad_norm_`.", FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


def clip_grad_value_(parameters, clip_value, foreach=None):
    """Clamp every gradient to [-clip_value, clip_value], in place."""
    import irgrad
    clip_value = float(clip_value)
    with no_grad():
        for p in _as_list(parameters):
            if p.grad is not None:
                g = p.grad
                g._assign(irgrad.clamp(g, -clip_value, clip_value).node, "clip_grad_value_")


def parameters_to_vector(parameters):
    import irgrad
    params = list(parameters)
    if not params:
        fail(RuntimeError, "torch.cat(): expected a non-empty list of Tensors")
    _check_same_device(params)
    return irgrad.cat([p.reshape((-1,)) for p in params])


def vector_to_parameters(vec, parameters):
    if not isinstance(vec, Tensor):
        fail(TypeError, f"expected torch.Tensor, but got: {type(vec).__name__}")
    params = list(parameters)
    _check_same_device(params)
    offset = 0
    with no_grad():
        for p in params:
            n = p.numel()
            p.data = vec[offset:offset + n].reshape(tuple(p.shape))
            offset += n


def _check_same_device(params):
    devices = {str(p.device) for p in params}
    if len(devices) > 1:
        fail(TypeError, "Found two parameters on different devices, this is currently not "
                        "supported.")
