"""Normalization functions of nn.functional: batch_norm, instance_norm, layer_norm,
group_norm, rms_norm, normalize (the math is the composite family's).

batch_norm writes the running statistics in place, lazily: the new running mean and variance
are graph nodes assigned to the buffers and marked to ride along with the next realization
(`frontend.realize.want`), so a training step computes them in its own graph instead of
chaining them from step to step.
"""
from __future__ import annotations

from ...frontend.modes import no_grad
from ...frontend.tensor import Tensor
from ._ops import table


def _want(t):
    from ...frontend import realize
    want = getattr(realize, "want", None)
    if want is not None and t._n.data is None:
        want(t._n)


def store_running_stat(buffer, value):
    """buffer <- value, in place, computed with the next realization."""
    with no_grad():
        buffer._assign(value.detach().node, "running statistics update")
    _want(buffer)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False,
               momentum=0.1, eps=1e-5):
    """PyTorch's F.batch_norm. `momentum` may also be a 0-d Tensor (the cumulative average
    factor 1/num_batches_tracked of BatchNorm(momentum=None), kept in the graph)."""
    factor = momentum if isinstance(momentum, Tensor) else None
    m = 1.0 if factor is not None else momentum
    out, new_mean, new_var = table("batch_norm")(input, running_mean, running_var, weight,
                                                 bias, training, m, eps)
    for buf, new in ((running_mean, new_mean), (running_var, new_var)):
        if buf is not None and new is not None:
            if factor is not None:  # momentum 1 gave the batch statistic itself
                new = buf * (1.0 - factor) + new * factor
            store_running_stat(buf, new.to(buf.dtype))
    return out


def instance_norm(input, running_mean=None, running_var=None, weight=None, bias=None,
                  use_input_stats=True, momentum=0.1, eps=1e-5):
    """Batch norm of the (1, N*C, ...) reshaped input, as PyTorch computes it."""
    b, c = input.shape[0], input.shape[1]

    def rep(t):
        return None if t is None else t.repeat(b)
    rm, rv = rep(running_mean), rep(running_var)
    x = input.reshape((1, b * c) + tuple(input.shape[2:]))
    out, new_mean, new_var = table("batch_norm")(x, rm, rv, rep(weight), rep(bias),
                                                 use_input_stats, momentum, eps)
    for buf, new in ((running_mean, new_mean), (running_var, new_var)):
        if buf is not None and new is not None:
            store_running_stat(buf, new.reshape((b, c)).mean(0))
    return out.reshape(tuple(input.shape))


def layer_norm(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    return table("layer_norm")(input, normalized_shape, weight, bias, eps)


def group_norm(input, num_groups, weight=None, bias=None, eps=1e-5):
    return table("group_norm")(input, num_groups, weight, bias, eps)


def rms_norm(input, normalized_shape, weight=None, eps=None):
    return table("rms_norm")(input, normalized_shape, weight, eps)


def normalize(input, p=2.0, dim=1, eps=1e-12, out=None):
    result = table("normalize")(input, p, dim, eps)
    if out is not None:
        return out._assign(result.node, "normalize")
    return result


__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm", "normalize"]
