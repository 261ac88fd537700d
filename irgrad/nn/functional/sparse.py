"""Embedding lookups, one_hot and dropout for nn.functional.

Index checks: an out-of-range index can only be seen once the indices are known. When the
index tensor already holds a value (the usual case: a batch loaded from the host), it is
checked at the call, with a message that names the index and the table size, which PyTorch's
"index out of range in self" does not.
"""
from __future__ import annotations

from ...errors import fail
from ...frontend.modes import no_grad
from ._ops import find, op


def known_values(t):
    """The host values of `t` when they can be read without waiting (else None): `t` holds a
    realized CPU buffer that is already complete. Never computes and never blocks, so a
    check never adds a synchronization point to a training step."""
    n = t._n if hasattr(t, "_n") else None
    if n is None or n.data is None or t._view is not None:
        return None
    if (n.device or "cpu") != "cpu":
        return None
    buf = n.data
    ready = getattr(buf, "ready", 0)
    if getattr(buf, "_host", None) is None and ready and \
            ready > getattr(buf.device, "completed", ready):
        return None
    try:
        return buf.to_numpy()
    except Exception:  # a value that cannot be read cheaply is simply not checked
        return None


def _check_indices(input, rows: int, what: str):
    if input.dtype.is_floating_point or input.dtype.name == "bool":
        fail(RuntimeError, f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got "
                           f"{_torch_type(input)} instead (while checking arguments for "
                           f"embedding)")
    vals = known_values(input)
    if vals is not None and vals.size:
        lo, hi = int(vals.min()), int(vals.max())
        bad = hi if hi >= rows else (lo if lo < -rows or lo < 0 else None)
        if bad is not None:
            fail(IndexError, f"index {bad} is out of range for {what} with {rows} rows "
                             f"(valid indices are 0 to {rows - 1})")


def _torch_type(t) -> str:
    from ..modules.helpers import typename
    return typename(t).replace("irgrad.", "torch.")


def embedding(input, weight, padding_idx=None, max_norm=None, norm_type=2.0,
              scale_grad_by_freq=False, sparse=False):
    rows = weight.shape[0]
    if padding_idx is not None:
        if padding_idx > 0:
            if padding_idx >= rows:
                fail(AssertionError, "Padding_idx must be within num_embeddings")
        elif padding_idx < 0:
            if padding_idx < -rows:
                fail(AssertionError, "Padding_idx must be within num_embeddings")
            padding_idx = rows + padding_idx
    _check_indices(input, rows, "Embedding")
    if max_norm is not None:
        weight = _renorm_rows(weight, input, max_norm, norm_type)
    if padding_idx is not None and weight.requires_grad:
        # The padding row gets no gradient: it is read through a detached copy.
        rows_idx = op("arange")(rows, device=weight.device).reshape((rows, 1))
        weight = op("where")(rows_idx == padding_idx, weight.detach(), weight)
    flat = input.reshape((-1,))
    out = op("index_select")(weight, 0, flat)
    return out.reshape(tuple(input.shape) + (weight.shape[1],))


def _renorm_rows(weight, input, max_norm, norm_type):
    """max_norm: rows that are looked up and longer than max_norm are rescaled in place."""
    where = op("where")
    with no_grad():
        flat = input.reshape((-1,)).long()
        used = (one_hot(flat, weight.shape[0]).sum(0) > 0).reshape((-1, 1))
        norms = weight.norm(norm_type, 1, True)
        scale = where(used, where(norms > max_norm, max_norm / (norms + 1e-7), 1.0), 1.0)
        weight._assign((weight * scale).node, "embedding_renorm_")
    return weight


def embedding_bag(*args, **kwargs):
    fail(NotImplementedError, "embedding_bag is not supported by irgrad")


def one_hot(tensor, num_classes: int = -1):
    if tensor.dtype.name != "int64":
        fail(RuntimeError, "one_hot is only applicable to index tensor of type LongTensor.")
    fn = find("one_hot")
    if fn is not None:
        return fn(tensor, num_classes)
    if num_classes == -1:
        vals = tensor.detach().numpy()
        num_classes = int(vals.max()) + 1 if vals.size else 0
    vals = known_values(tensor)
    if vals is not None and vals.size and (vals.min() < 0 or vals.max() >= num_classes):
        fail(RuntimeError, "Class values must be smaller than num_classes." if vals.max() >=
             num_classes else "Class values must be non-negative.")
    classes = op("arange")(num_classes, device=tensor.device)
    return (tensor.unsqueeze(-1) == classes).long()


# ---- dropout ---------------------------------------------------------------------------------

def _check_p(p):
    if p < 0.0 or p > 1.0:
        fail(ValueError, f"dropout probability has to be between 0 and 1, but got {p}")


def _keep_mask(shape, p, like):
    """A float mask of `shape` (1 with probability 1-p) from irgrad's random ops."""
    fn = find("bernoulli")
    if fn is not None and find("full") is not None:
        probs = op("full")(shape, 1.0 - p, dtype=like.dtype, device=like.device)
        return fn(probs)
    u = op("rand")(shape, dtype=like.dtype, device=like.device)
    return (u >= p).to(like.dtype)


def dropout(input, p: float = 0.5, training: bool = True, inplace: bool = False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    fn = find("dropout")
    if fn is not None:
        out = fn(input, p, training)
    elif p == 1.0:
        out = input * 0.0
    else:
        out = input * _keep_mask(tuple(input.shape), p, input) * (1.0 / (1.0 - p))
    if inplace:
        return input._assign(out.node, "dropout_")
    return out


def _channel_dropout(input, p, training, inplace, n: int, name: str):
    _check_p(p)
    if not training or p == 0.0:
        return input
    batched = input.dim() == n + 2
    if input.dim() not in (n + 1, n + 2):
        fail(RuntimeError, f"{name}: Expected {n + 1}D or {n + 2}D input, but received a "
                           f"{input.dim()}D input")
    lead = tuple(input.shape[:2]) if batched else tuple(input.shape[:1])
    shape = lead + (1,) * n
    if p == 1.0:
        out = input * 0.0
    else:
        out = input * _keep_mask(shape, p, input) * (1.0 / (1.0 - p))
    if inplace:
        return input._assign(out.node, f"{name}_")
    return out


def dropout1d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, inplace, 1, "dropout1d")


def dropout2d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, inplace, 2, "dropout2d")


def dropout3d(input, p=0.5, training=True, inplace=False):
    return _channel_dropout(input, p, training, inplace, 3, "dropout3d")


def alpha_dropout(input, p=0.5, training=False, inplace=False):
    _check_p(p)
    if not training or p == 0.0:
        return input
    alpha_p = -1.7580993408473766  # -SELU scale * alpha
    keep = _keep_mask(tuple(input.shape), p, input)
    a = ((1 - p) * (1 + p * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * p
    out = (input * keep + alpha_p * (1.0 - keep)) * a + b
    if inplace:
        return input._assign(out.node, "alpha_dropout_")
    return out


__all__ = ["embedding", "embedding_bag", "one_hot", "dropout", "dropout1d", "dropout2d",
           "dropout3d", "alpha_dropout"]
