"""Index maps for fused kernels: read an operand through `expand`, `permute` and unit-dim
`reshape` nodes instead of materializing them.

A map (see ir/ops/fused.py) gives, for each dim of the tensor a kernel reads, the kernel
loop dim it follows, or None for a size-1 dim read at index 0. `resolve` starts from an
operand broadcasting into the kernel's shape and walks up through movement nodes that only
rename, drop or add index positions, composing the map at each step. Every composed map
is a projection (no loop dim used twice, no arithmetic on indices), so it stays a plain
permutation-with-broadcast as IREE's tiling expects (negative or summed affine terms have
broken its fusion before).
"""
from __future__ import annotations


def broadcast(shape, kshape) -> tuple:
    """The map of an operand of `shape` that broadcasts NumPy-style into `kshape`."""
    off = len(kshape) - len(shape)
    return tuple(None if s == 1 else off + i for i, s in enumerate(shape))


def _unit_reshape(src_shape, shape):
    """For a reshape that only adds or removes size-1 dims: for each source dim, the
    result dim it becomes (None for a dropped size-1 dim); else None."""
    src = [i for i, s in enumerate(src_shape) if s != 1]
    out = [j for j, s in enumerate(shape) if s != 1]
    if [src_shape[i] for i in src] != [shape[j] for j in out]:
        return None
    where = [None] * len(src_shape)
    for i, j in zip(src, out):
        where[i] = j
    return where


def _step(x, m):
    """The map of x's input when x (read through map m) is a foldable movement node."""
    src = x.inputs[0]
    if x.op == "expand":
        off = x.ndim - src.ndim
        return tuple(None if s == 1 else m[off + i] for i, s in enumerate(src.shape))
    if x.op == "permute":
        perm = x.attrs["perm"]
        out = [None] * src.ndim
        for j, p in enumerate(perm):  # result dim j is source dim perm[j]
            out[p] = m[j]
        return tuple(out)
    if x.op == "reshape":
        where = _unit_reshape(src.shape, x.shape)
        if where is None:
            return None
        return tuple(None if j is None else m[j] for j in where)
    return None


def resolve(x, kshape, stop):
    """(node, map) to read instead of `x` in a kernel over `kshape`; the map is None when
    the node simply broadcasts. `stop(node)` marks nodes not to look through (graph inputs,
    whose own inputs are not part of the graph)."""
    m = broadcast(x.shape, kshape)
    while x.op in ("expand", "permute", "reshape") and x.inputs and not stop(x):
        new = _step(x, m)
        if new is None:
            break
        x, m = x.inputs[0], new
    plain = x.ndim <= len(kshape) and m == broadcast(x.shape, kshape)
    return x, (None if plain else m)
