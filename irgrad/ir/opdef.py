"""`OpDef`, the record of one primitive op, and the registry that holds them all.

An OpDef keeps every facet of a primitive side by side:

- `infer(inputs, attrs) -> (dtype, shape)`: the shape/dtype rule, run when the op is recorded;
  it raises PyTorch's exception class through `errors.fail` for bad input.
- `reference(*arrays, **attrs) -> ndarray`: the NumPy reference (test oracle, constant folding).
- `grad(g, node) -> tuple`: the gradient rule, one entry per input (None where no gradient
  flows), written with node-level irgrad ops so gradients are graphs.
- `scalar(S, *values)`: for elementwise ops, the scalar body that `lowering/` wraps in a
  `linalg.generic`; or `lower(L, node, operands)`: a builder for structured ops. `S` and `L`
  are handed in by `lowering/`, so op files never import MLIR.
- `samples(rng) -> [(arrays, attrs)]`: inputs on which tests compare lowering and reference.
"""
from __future__ import annotations

from typing import Callable, Optional

REGISTRY: dict[str, "OpDef"] = {}


class OpDef:
    __slots__ = ("name", "infer", "reference", "grad", "scalar", "lower", "samples",
                 "differentiable", "unique", "is_source", "second_order", "doc")

    def __init__(self, name: str, *, infer: Callable, reference: Callable,
                 grad: Optional[Callable] = None, scalar: Optional[Callable] = None,
                 lower: Optional[Callable] = None, samples: Optional[Callable] = None,
                 differentiable: bool = True, unique: bool = False, is_source: bool = False,
                 second_order: bool = True, doc: str = ""):
        if (scalar is None) == (lower is None):
            raise ValueError(f"op {name}: give exactly one of scalar= or lower=")
        self.name, self.infer, self.reference, self.grad = name, infer, reference, grad
        self.scalar, self.lower, self.samples = scalar, lower, samples
        self.differentiable, self.unique, self.is_source = differentiable, unique, is_source
        self.second_order, self.doc = second_order, doc

    @property
    def is_elementwise(self) -> bool:
        return self.scalar is not None

    def __repr__(self):
        return f"OpDef({self.name})"


def defop(name: str, **facets) -> OpDef:
    """Create and register one primitive op."""
    if name in REGISTRY:
        raise ValueError(f"op {name!r} is defined twice")
    op = OpDef(name, **facets)
    REGISTRY[name] = op
    return op
