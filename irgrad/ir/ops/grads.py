"""Small graph builders that many gradient rules share (sum_to for broadcasting)."""
from __future__ import annotations


def sum_to(g, shape):
    """Sum `g` over the dims that broadcasting expanded, so its shape becomes `shape`."""
    shape = tuple(shape)
    if g.shape == shape:
        return g
    from .movement import reshape
    from .reduce import sum as reduce_sum

    lead = g.ndim - len(shape)
    dims = tuple(range(lead)) + tuple(
        i + lead for i, s in enumerate(shape) if s == 1 and g.shape[i + lead] != 1)
    if dims:
        g = reduce_sum(g, dims, keepdim=True)
    return reshape(g, shape)
