"""The op table: importing this package registers every primitive, family by family.

`FAMILIES` lists the family modules; each may carry an `EXPORTS` table of public functions
that `irgrad/frontend/exports.py` attaches to `irgrad` and `Tensor`.
"""
from . import source, elementwise, reduce, movement, autograd_ops  # noqa: F401

FAMILIES = (source, elementwise, reduce, movement, autograd_ops)
