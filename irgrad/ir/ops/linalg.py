"""Matrix products: matmul (batched, broadcast), mm, bmm, einsum, outer products."""
from __future__ import annotations

EXPORTS: list = []
