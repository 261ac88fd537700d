"""The op table: importing this package registers every primitive, family by family.

`FAMILIES` lists the family modules; each may carry an `EXPORTS` table of public functions
that `irgrad/frontend/exports.py` attaches to `irgrad` and `Tensor`.
"""
from . import (source, elementwise, unary, logical, reduce, scan, sort, movement, index,  # noqa
               linalg, conv, random, composite, autograd_ops, fused)

FAMILIES = (source, elementwise, unary, logical, reduce, scan, sort, movement, index, linalg,
            conv, random, composite, autograd_ops, fused)
