"""`irgrad.linalg`: PyTorch's torch.linalg names that irgrad provides.

Each is the same op as the top-level function of the op table (one op, one place); this
module only gives them their torch.linalg spelling.
"""
from __future__ import annotations

from .frontend.exports import as_function
from .ir.ops import composite as _composite

vector_norm = as_function(_composite.vector_norm, "vector_norm")


def matrix_norm(A, ord="fro", dim=(-2, -1), keepdim=False, *, dtype=None):
    """Frobenius norm over two dims (the only `ord` irgrad computes)."""
    if ord != "fro":
        raise NotImplementedError(f"linalg.matrix_norm: ord={ord!r} is not supported "
                                  f"(only 'fro')")
    return vector_norm(A, 2, dim=dim, keepdim=keepdim, dtype=dtype)


def norm(A, ord=None, dim=None, keepdim=False, *, dtype=None):
    """torch.linalg.norm: a vector norm, or the Frobenius norm of matrices."""
    if ord in (None, "fro") and (dim is None or isinstance(dim, int) or len(dim) <= 2):
        return vector_norm(A, 2, dim=dim, keepdim=keepdim, dtype=dtype)
    return vector_norm(A, ord, dim=dim, keepdim=keepdim, dtype=dtype)


def __getattr__(name):
    # matmul, vecdot-like names resolve to the top-level op of the same name.
    if name in ("matmul", "outer", "cross", "vecdot", "multi_dot", "diagonal", "tensordot"):
        import irgrad
        if hasattr(irgrad, name):
            return getattr(irgrad, name)
    raise AttributeError(f"module 'irgrad.linalg' has no attribute {name!r}")
