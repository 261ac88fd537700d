"""Tensor printing with PyTorch's formatting rules: `tensor([...], dtype=..., grad_fn=...)`.

The rules follow torch's printer so that output reads the same after `s/torch/irgrad/`:
- floats print with 4 decimals; if every finite non-zero value is an integer they print as
  `1.`; scientific notation (`1.0000e+10`) is used when the largest magnitude is above 1e8,
  the smallest below 1e-4 (non-integer values only) or their ratio above 1000; one width is
  shared by all elements (right aligned); non-finite values print as `nan`/`inf`;
- other dtypes print `str(value)` right aligned to the widest;
- more than 1000 elements are summarized with 3 edge items per dim and `...`; the width is
  measured on the printed (edge) values only; lines wrap at 80 characters;
- suffixes: `dtype=` unless the dtype is the default float, int64 or bool (always for empty
  tensors whose dtype is not the default float), `size=` for empty tensors that are not 1-d,
  `device=` off the CPU, then `grad_fn=<...>` or `requires_grad=True`.
"""
from __future__ import annotations

import math

import numpy as np

from ..ir import dtypes as dt

PRECISION = 4
THRESHOLD = 1000
EDGEITEMS = 3
LINEWIDTH = 80


class _Formatter:
    """Chooses one number format and width for all printed elements of a tensor."""

    def __init__(self, values: np.ndarray, floating: bool):
        self.floating = floating
        self.int_mode = True
        self.sci_mode = False
        self.width = 1
        flat = values.reshape(-1)
        if not floating:
            for v in flat.tolist():
                self.width = max(self.width, len(str(v)))
            return
        flat = flat.astype(np.float64)
        vals = flat[np.isfinite(flat) & (flat != 0)]
        if vals.size == 0:
            return
        mags = np.abs(vals)
        lo, hi = float(mags.min()), float(mags.max())
        self.int_mode = bool(np.all(vals == np.ceil(vals)))
        spread = hi / lo > 1000.0 or hi > 1.0e8
        if self.int_mode:
            self.sci_mode = spread
            fmt = (lambda v: f"{v:.{PRECISION}e}") if spread else (lambda v: f"{v:.0f}.")
        else:
            self.sci_mode = spread or lo < 1.0e-4
            fmt = (lambda v: f"{v:.{PRECISION}e}") if self.sci_mode else (
                lambda v: f"{v:.{PRECISION}f}")
        self.width = max(len(fmt(v)) for v in vals.tolist())

    def format(self, v) -> str:
        if not self.floating:
            s = str(v)
        elif self.sci_mode:
            s = f"{v:{self.width}.{PRECISION}e}"
        elif self.int_mode:
            s = f"{v:.0f}"
            if not (math.isinf(v) or math.isnan(v)):
                s += "."
        else:
            s = f"{v:.{PRECISION}f}"
        return " " * (self.width - len(s)) + s


def _summarized(a: np.ndarray) -> np.ndarray:
    """The values that a summarized print shows (edge items of every dim)."""
    for axis in range(a.ndim):
        if a.shape[axis] > 2 * EDGEITEMS:
            idx = list(range(EDGEITEMS)) + list(range(a.shape[axis] - EDGEITEMS, a.shape[axis]))
            a = np.take(a, idx, axis=axis)
    return a


def _vector(a, indent, summarize, fmt) -> str:
    per_line = max(1, int(math.floor((LINEWIDTH - indent) / (fmt.width + 2))))
    values = a.tolist()
    if summarize and len(values) > 2 * EDGEITEMS:
        items = ([fmt.format(v) for v in values[:EDGEITEMS]] + [" ..."]
                 + [fmt.format(v) for v in values[-EDGEITEMS:]])
    else:
        items = [fmt.format(v) for v in values]
    lines = [", ".join(items[i:i + per_line]) for i in range(0, len(items), per_line)]
    return "[" + (",\n" + " " * (indent + 1)).join(lines) + "]"


def _body(a: np.ndarray, indent: int, summarize: bool, fmt: _Formatter) -> str:
    """Nested-bracket text of `a`, built bottom-up without recursion over dims."""
    if a.ndim == 0:
        return fmt.format(a.item())
    if a.ndim == 1:
        return _vector(a, indent, summarize, fmt)
    # One pending entry per sub-array: (array, indent); resolved in post-order.
    stack = [(a, indent, False)]
    done: list = []
    while stack:
        arr, ind, expanded = stack.pop()
        if arr.ndim == 1:
            done.append(_vector(arr, ind, summarize, fmt))
            continue
        n = arr.shape[0]
        rows = list(range(n))
        elide = summarize and n > 2 * EDGEITEMS
        if elide:
            rows = list(range(EDGEITEMS)) + list(range(n - EDGEITEMS, n))
        if not expanded:
            stack.append((arr, ind, True))
            for i in reversed(rows):
                stack.append((arr[i], ind + 1, False))
            continue
        parts = done[len(done) - len(rows):]
        del done[len(done) - len(rows):]
        if elide:
            parts = parts[:EDGEITEMS] + ["..."] + parts[EDGEITEMS:]
        sep = "," + "\n" * (arr.ndim - 1) + " " * (ind + 1)
        done.append("[" + sep.join(parts) + "]")
    return done[0]


def _add_suffixes(text: str, suffixes, indent: int) -> str:
    out = [text]
    last_len = len(text) - text.rfind("\n") + 1
    for s in suffixes:
        if last_len + len(s) + 2 > LINEWIDTH:
            out.append(",\n" + " " * indent + s)
            last_len = indent + len(s)
        else:
            out.append(", " + s)
            last_len += len(s) + 2
    out.append(")")
    return "".join(out)


def format_values(a: np.ndarray, dtype: dt.DType, indent: int = len("tensor(")) -> str:
    """The bracketed value text of a host array holding values of `dtype`."""
    if a.size == 0:
        return "[]"
    summarize = a.size > THRESHOLD
    floating = dtype.category == dt.FLOAT
    if floating and a.dtype != np.float64:
        a = a.astype(np.float32 if dtype.itemsize <= 4 else np.float64)
    fmt = _Formatter(_summarized(a) if summarize else a, floating)
    return _body(a, indent, summarize, fmt)


def tensor_repr(t) -> str:
    node = t.node
    a = t.detach()._host("print") if node.requires_grad else t._host("print")
    prefix = "tensor("
    indent = len(prefix)
    suffixes = []
    if node.device not in (None, "cpu"):
        suffixes.append(f"device='{node.device}'")
    default_float = dt.get_default_dtype()
    if a.size == 0:
        if a.ndim != 1:
            suffixes.append(f"size={tuple(a.shape)}")
        if node.dtype is not default_float:
            suffixes.append(f"dtype=irgrad.{node.dtype.name}")
    elif node.dtype not in (default_float, dt.int64, dt.bool_):
        suffixes.append(f"dtype=irgrad.{node.dtype.name}")
    body = format_values(a, node.dtype, indent)
    if node.requires_grad:
        gf = t.grad_fn
        suffixes.append(f"grad_fn=<{gf.name()}>" if gf is not None else "requires_grad=True")
    return _add_suffixes(prefix + body, suffixes, indent)
