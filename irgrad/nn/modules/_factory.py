"""Creating a layer's parameters and buffers before its initializer fills them."""
from __future__ import annotations

from ...ir import dtypes as dt
from .parameter import Parameter


def empty_param(shape, device=None, dtype=None, requires_grad=True) -> Parameter:
    """A Parameter of `shape` whose (pending, never computed) value an initializer replaces."""
    import irgrad
    d = dt.as_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    return Parameter(irgrad.empty(tuple(shape), dtype=d, device=device), requires_grad)


def filled(shape, value, device=None, dtype=None):
    """A buffer tensor filled with `value` (computed lazily in the graph)."""
    import irgrad
    d = dt.as_dtype(dtype) if dtype is not None else dt.get_default_dtype()
    return irgrad.full(tuple(shape), value, dtype=d, device=device)
