"""Loss functions of nn.functional, with PyTorch's formulas, reductions and errors.

cross_entropy follows PyTorch's definition exactly (log_softmax, then nll with class weights
and ignore_index; label smoothing as in ATen's cross_entropy_loss_label_smoothing), so losses
match PyTorch to rounding. Targets that are already known are range-checked at the call
("Target 5 is out of bounds."); targets still pending are not read back just for a check.
"""
from __future__ import annotations

import warnings

from ...errors import fail
from ._ops import op, table
from .sparse import known_values


def legacy_reduction(size_average, reduce, reduction: str, emit_warning: bool = True) -> str:
    if size_average is None and reduce is None:
        return reduction
    if emit_warning:
        warnings.warn("size_average and reduce args will be deprecated, please use "
                      "reduction='{}' instead.".format(
                          _legacy(size_average, reduce)), stacklevel=3)
    return _legacy(size_average, reduce)


def _legacy(size_average, reduce) -> str:
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    if size_average and reduce:
        return "mean"
    return "sum" if reduce else "none"


def _reduce(loss, reduction: str):
    if reduction == "none":
        return loss
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    fail(ValueError, f"{reduction} is not a valid value for reduction")


def _check_reduction(reduction):
    if reduction not in ("none", "mean", "sum"):
        fail(ValueError, f"{reduction} is not a valid value for reduction")


def _weighted(loss, weight):
    return loss if weight is None else loss * weight


# ---- classification --------------------------------------------------------------------------

def _check_target(input, target, weight, class_dim):
    """PyTorch's checks, in its order: batch size, target rank, dtype, class weights."""
    if input.dim() == 0:
        fail(RuntimeError, "input tensor should be 1D or 2D")
    batched = input.dim() >= 2
    if batched:
        tb = target.shape[0] if target.dim() else 0
        if input.shape[0] != tb:
            fail(ValueError, f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({tb}).")
        if target.dim() != input.dim() - 1:
            if input.dim() == 2:
                fail(RuntimeError, "0D or 1D target tensor expected, multi-target not "
                                   "supported")
            fail(RuntimeError, f"Expected target size "
                               f"{[input.shape[0]] + list(input.shape[2:])}, got "
                               f"{list(target.shape)}")
        if tuple(input.shape[2:]) != tuple(target.shape[1:]):
            fail(RuntimeError, f"Expected target size "
                               f"{[input.shape[0]] + list(input.shape[2:])}, got "
                               f"{list(target.shape)}")
    elif target.dim() != 0 and not (target.dim() == 1 and target.shape[0] == 1):
        if target.dim() == 1:
            fail(ValueError, f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{target.shape[0]}")
        fail(RuntimeError, "0D or 1D target tensor expected, multi-target not supported")
    if target.dtype.name not in ("int64", "uint8"):
        fail(RuntimeError, f"expected target dtype to be Long or Byte, but got "
                           f"{_dtype_word(target.dtype)}")
    c = input.shape[class_dim]
    if weight is not None and (weight.dim() != 1 or weight.numel() != c):
        fail(RuntimeError, f"weight tensor should be defined either for all {c} classes or no "
                           f"classes but got weight tensor of shape: {list(weight.shape)}")
    return c


def _dtype_word(d) -> str:
    return {"float32": "Float", "float64": "Double", "float16": "Half", "int32": "Int",
            "int64": "Long", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool", "bfloat16": "BFloat16"}.get(d.name, d.name)


def _check_target_values(target, c, ignore_index) -> bool:
    """Range-check targets whose values are known; True when they are known and none is
    ignored (the loss then needs no masking)."""
    vals = known_values(target)
    if vals is None:
        return False
    kept = vals[vals != ignore_index]
    if kept.size:
        bad = kept[(kept < 0) | (kept >= c)]
        if bad.size:
            fail(IndexError, f"Target {int(bad[0])} is out of bounds.")
    return kept.size == vals.size


def _class_mask(target, keep, c, class_dim, dtype):
    """A one-hot mask over the class dim (zero where the target is ignored).

    Selecting with a mask (an elementwise product and a sum over classes) instead of a
    gather keeps the whole loss elementwise, so it fuses with log_softmax and its gradient
    needs no scatter."""
    classes = op("arange")(c, device=target.device).reshape((c,) + (1,) * (target.dim() -
                                                                           class_dim))
    hit = target.unsqueeze(class_dim) == classes
    return hit.to(dtype) * keep.unsqueeze(class_dim).to(dtype)


def _target_weights(mask, weight, class_dim):
    """weight[target] per position (0 where ignored), through the class mask."""
    shape = (weight.shape[0],) + (1,) * (mask.dim() - 1 - class_dim)
    return (mask * weight.reshape(shape)).sum(class_dim)


def nll_loss(input, target, weight=None, size_average=None, ignore_index=-100, reduce=None,
             reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    class_dim = 1 if input.dim() >= 2 else 0
    c = _check_target(input, target, weight, class_dim)
    all_kept = _check_target_values(target, c, ignore_index)
    loss, w = _nll(input, target, weight, ignore_index, class_dim, all_kept)
    return _reduce_weighted(loss, w, reduction)


def _nll(logp, target, weight, ignore_index, class_dim, all_kept):
    """Per-position -w[t] * logp[t] and the weights w (None: all ones, nothing ignored)."""
    target = target.long()
    if logp.dim() == 1 and target.dim() == 1:  # unbatched input with a (1,) target
        target = target.reshape(())
        all_kept = False
    if all_kept and target.dtype.name == "int64":
        # Known targets, none ignored: a plain gather (and weight lookup) of real indices.
        picked = op("gather")(logp, class_dim, target.unsqueeze(class_dim)).squeeze(class_dim)
        if weight is None:
            return -picked, None
        w = op("index_select")(weight, 0, target.reshape((-1,))).reshape(tuple(target.shape))
        return -picked * w, w
    keep = target != ignore_index
    mask = _class_mask(target, keep, logp.shape[class_dim], class_dim, logp.dtype)
    picked = (logp * mask).sum(class_dim)
    w = _target_weights(mask, weight, class_dim) if weight is not None else \
        keep.to(logp.dtype)
    return -picked * w, w


def _reduce_weighted(loss, w, reduction):
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.mean() if w is None else loss.sum() / w.sum()


def cross_entropy(input, target, weight=None, size_average=None, ignore_index=-100,
                  reduce=None, reduction="mean", label_smoothing=0.0):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _check_reduction(reduction)
    if not 0.0 <= label_smoothing <= 1.0:
        fail(RuntimeError, f"label_smoothing must be between 0.0 and 1.0. Got: "
                           f"{label_smoothing}")
    class_dim = 1 if input.dim() >= 2 else 0
    if input.dim() == 0:
        fail(RuntimeError, "input tensor should be 1D or 2D")
    logp = op("log_softmax")(input, class_dim)
    c = input.shape[class_dim]
    if tuple(target.shape) == tuple(input.shape) and target.dtype.is_floating_point:
        return _cross_entropy_probs(logp, target, weight, reduction, label_smoothing,
                                    class_dim, c)
    c = _check_target(input, target, weight, class_dim)
    all_kept = _check_target_values(target, c, ignore_index)
    loss, w = _nll(logp, target, weight, ignore_index, class_dim, all_kept)
    nll = _reduce_weighted(loss, w, reduction)
    if label_smoothing <= 0.0:
        return nll
    # ATen's cross_entropy_loss_label_smoothing: the smoothing term sums -logp over the
    # classes (class-weighted), is zero at ignored positions and shares nll's denominator.
    if weight is not None:
        wshape = (c,) + (1,) * (logp.dim() - 1 - class_dim)
        smooth = -(logp * weight.reshape(wshape)).sum(class_dim)
    else:
        smooth = -logp.sum(class_dim)
    if not all_kept:
        keep = target.long().reshape(tuple(smooth.shape)) != ignore_index
        smooth = op("where")(keep, smooth, 0.0)
    if reduction == "mean":
        if w is not None:
            smooth = smooth.sum() / w.sum()
        else:
            smooth = smooth.mean()
    elif reduction == "sum":
        smooth = smooth.sum()
    return nll * (1.0 - label_smoothing) + smooth * (label_smoothing / c)


def _cross_entropy_probs(logp, target, weight, reduction, label_smoothing, class_dim, c):
    if label_smoothing > 0.0:
        target = target * (1.0 - label_smoothing) + label_smoothing / c
    prod = logp * target
    if weight is not None:
        prod = prod * weight.reshape((c,) + (1,) * (logp.dim() - 1 - class_dim))
    loss = -prod.sum(class_dim)
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / (logp.numel() // c if c else 1)


# ---- regression ------------------------------------------------------------------------------

def _same_size(input, target, name):
    if tuple(target.shape) != tuple(input.shape):
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input "
                      f"size ({input.shape}). This will likely lead to incorrect results due "
                      f"to broadcasting. Please ensure they have the same size.", stacklevel=3)


def mse_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _same_size(input, target, "mse_loss")
    d = input - target
    return _reduce(_weighted(d * d, weight), reduction)


def l1_loss(input, target, size_average=None, reduce=None, reduction="mean", weight=None):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _same_size(input, target, "l1_loss")
    return _reduce(_weighted(op("abs")(input - target), weight), reduction)


def smooth_l1_loss(input, target, size_average=None, reduce=None, reduction="mean",
                   beta=1.0):
    reduction = legacy_reduction(size_average, reduce, reduction)
    _same_size(input, target, "smooth_l1_loss")
    if beta < 0:
        fail(RuntimeError, "smooth_l1_loss does not support negative values for beta.")
    d = op("abs")(input - target)
    if beta == 0.0:
        return _reduce(d, reduction)
    loss = op("where")(d < beta, d * d * (0.5 / beta), d - 0.5 * beta)
    return _reduce(loss, reduction)


def huber_loss(input, target, reduction="mean", delta=1.0, weight=None):
    _same_size(input, target, "huber_loss")
    if delta <= 0:
        fail(RuntimeError, "huber_loss does not support non-positive values for delta.")
    d = op("abs")(input - target)
    loss = op("where")(d < delta, d * d * 0.5, (d - 0.5 * delta) * delta)
    return _reduce(_weighted(loss, weight), reduction)


# ---- binary and distributions ----------------------------------------------------------------

def binary_cross_entropy(input, target, weight=None, size_average=None, reduce=None,
                         reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        fail(ValueError, f"Using a target size ({target.shape}) that is different to the input "
                         f"size ({input.shape}) is deprecated. Please ensure they have the same "
                         f"size.")
    vals = known_values(input)
    if vals is not None and vals.size and (vals.min() < 0 or vals.max() > 1):
        fail(RuntimeError, "all elements of input should be between 0 and 1")
    clamp, log = op("clamp"), op("log")
    # PyTorch clamps each log term at -100, so saturated inputs give finite losses.
    loss = -(target * clamp(log(input), min=-100.0) +
             (1.0 - target) * clamp(log(1.0 - input), min=-100.0))
    return _reduce(_weighted(loss, weight), reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, size_average=None,
                                     reduce=None, reduction="mean", pos_weight=None):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if tuple(target.shape) != tuple(input.shape):
        fail(ValueError, f"Target size ({target.shape}) must be the same as input size "
                         f"({input.shape})")
    # softplus(-x) = max(-x, 0) + log1p(exp(-|x|)), stable for both signs.
    sp_neg = op("clamp")(-input, min=0.0) + op("log1p")(op("exp")(-op("abs")(input)))
    if pos_weight is not None:
        log_weight = (pos_weight - 1.0) * target + 1.0
        loss = (1.0 - target) * input + log_weight * sp_neg
    else:
        loss = (1.0 - target) * input + sp_neg
    return _reduce(_weighted(loss, weight), reduction)


def kl_div(input, target, size_average=None, reduce=None, reduction="mean", log_target=False):
    if size_average is not None or reduce is not None:
        reduction = legacy_reduction(size_average, reduce, reduction)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns "
                      "with the KL div math definition.'mean' will be changed to behave the "
                      "same as 'batchmean' in the next major release.", stacklevel=2)
    if log_target:
        loss = op("exp")(target) * (target - input)
    else:
        # xlogy(t, t): 0 where t == 0; log only ever sees positive values.
        safe = op("where")(target > 0, target, 1.0)
        loss = target * op("log")(safe) - target * input
    if reduction == "batchmean":
        return loss.sum() / (input.shape[0] if input.dim() else 1)
    return _reduce(loss, reduction)


def poisson_nll_loss(input, target, log_input=True, full=False, size_average=None, eps=1e-8,
                     reduce=None, reduction="mean"):
    reduction = legacy_reduction(size_average, reduce, reduction)
    if log_input:
        loss = op("exp")(input) - target * input
    else:
        loss = input - target * op("log")(input + eps)
    if full:
        import math
        safe = op("where")(target > 1, target, 1.0)
        stirling = safe * op("log")(safe) - safe + 0.5 * op("log")(safe * (2 * math.pi))
        loss = loss + op("where")(target > 1, stirling, 0.0)
    return _reduce(loss, reduction)


def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    return table("cosine_similarity")(x1, x2, dim, eps)


__all__ = ["nll_loss", "cross_entropy", "mse_loss", "l1_loss", "smooth_l1_loss", "huber_loss",
           "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
           "poisson_nll_loss", "cosine_similarity"]
