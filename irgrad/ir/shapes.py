"""Shape arithmetic shared by the op table: broadcasting, dim normalization, sizes.

Messages follow PyTorch's wording so users recognize them; all failures go through
`errors.fail`, which makes the user's line the innermost frame of the traceback.
"""
from __future__ import annotations

from ..errors import fail


def broadcast_shapes(*shapes) -> tuple:
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for idx, s in enumerate(shapes):
        offset = ndim - len(s)
        for i, d in enumerate(s):
            j = offset + i
            o = out[j]
            if d == o or d == 1:
                continue
            if o == 1:
                out[j] = d
                continue
            # Name the two sizes the way PyTorch does (tensor a is the first operand).
            a_dim = o
            fail(RuntimeError, f"The size of tensor a ({a_dim}) must match the size of tensor b"
                               f" ({d}) at non-singleton dimension {j}")
    return tuple(out)


def broadcast_pair(a: tuple, b: tuple) -> tuple:
    ndim = max(len(a), len(b))
    pa = (1,) * (ndim - len(a)) + tuple(a)
    pb = (1,) * (ndim - len(b)) + tuple(b)
    out = []
    for i, (x, y) in enumerate(zip(pa, pb)):
        if x == y or y == 1:
            out.append(x)
        elif x == 1:
            out.append(y)
        else:
            fail(RuntimeError, f"The size of tensor a ({x}) must match the size of tensor b ({y})"
                               f" at non-singleton dimension {i}")
    return tuple(out)


def normalize_dim(dim: int, ndim: int, wrap_scalar: bool = True) -> int:
    if not isinstance(dim, int) or isinstance(dim, bool):
        fail(TypeError, f"dim must be an int, got {type(dim).__name__}")
    n = ndim if ndim > 0 or not wrap_scalar else 1
    if dim < -n or dim >= n:
        fail(IndexError, f"Dimension out of range (expected to be in range of [{-n}, {n - 1}],"
                         f" but got {dim})")
    return dim + n if dim < 0 else dim


def normalize_dims(dims, ndim: int) -> tuple:
    """None -> all dims; int or sequence -> sorted tuple of distinct non-negative dims."""
    if dims is None:
        return tuple(range(ndim))
    if isinstance(dims, int):
        dims = (dims,)
    out = []
    for d in dims:
        d = normalize_dim(d, ndim)
        if d in out:
            fail(RuntimeError, f"dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out))


def numel(shape) -> int:
    n = 1
    for s in shape:
        n *= s
    return n


def shape_str(shape) -> str:
    return "[" + ", ".join(str(s) for s in shape) + "]"


def as_shape(args) -> tuple:
    """Accept f(2, 3), f((2, 3)), f([2, 3]) or f(Size) like PyTorch's size arguments."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        args = tuple(args[0])
    out = []
    for a in args:
        if hasattr(a, "__index__") and not isinstance(a, bool):
            out.append(int(a.__index__()))
        else:
            fail(TypeError, f"expected a sequence of integers as a size, but got "
                            f"{type(a).__name__}")
    for s in out:
        if s < 0:
            fail(RuntimeError, f"Trying to create tensor with negative dimension {s}: "
                               f"{list(out)}")
    return tuple(out)
