"""Tensor printing in PyTorch's style: tensor([...], dtype=..., requires_grad=True)."""
from __future__ import annotations

import numpy as np

from ..ir import dtypes as dt


def _format_floats(a: np.ndarray) -> dict:
    finite = a[np.isfinite(a)]
    if finite.size and np.all(finite == np.round(finite)) and np.abs(finite).max() < 1e8:
        return {"float_kind": lambda v: (f"{v:.0f}." if np.isfinite(v) else str(v))}
    if finite.size:
        big, small = np.abs(finite).max(), np.abs(finite[finite != 0]).min() if np.any(finite) else 1
        if big >= 1e8 or small < 1e-4:
            return {"float_kind": lambda v: f"{v:.4e}"}
    return {"float_kind": lambda v: f"{v:.4f}"}


def tensor_repr(t) -> str:
    from .tensor import Tensor

    node = t.node
    a = t.detach()._host("print") if node.requires_grad else t._host("print")
    prefix = "tensor("
    if a.size == 0:
        body = "[]" if a.ndim <= 1 else f"[], size={tuple(a.shape)}"
    else:
        opts = _format_floats(a.astype(np.float64)) if node.dtype.category == dt.FLOAT else {}
        if node.dtype is dt.bool_:
            opts = {"bool": lambda v: "True" if v else "False"}
        body = np.array2string(a, separator=", ", prefix=prefix, formatter=opts,
                               threshold=1000, edgeitems=3, max_line_width=80)
    extras = []
    default_float = dt.get_default_dtype()
    if node.dtype not in (default_float, dt.int64, dt.bool_) or (
            node.dtype is not default_float and a.size == 0):
        extras.append(f"dtype=irgrad.{node.dtype.name}")
    if node.device not in (None, "cpu"):
        extras.append(f"device='{node.device}'")
    if node.requires_grad:
        gf = t.grad_fn
        if gf is not None:
            extras.append(f"grad_fn=<{gf.name()}>")
        else:
            extras.append("requires_grad=True")
    return prefix + body + "".join(", " + e for e in extras) + ")"
