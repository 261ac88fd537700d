"""Ops that exist for autograd's sake: detach (identity that stops gradients)."""
from __future__ import annotations

from ..node import leaf, make
from ..opdef import defop
from .common import unary_rule

defop("detach", infer=unary_rule, reference=lambda x: x.copy(), scalar=lambda S, x: x,
      differentiable=False, samples=lambda rng: [([rng.normal(size=(2, 3)).astype("float32")], {})],
      doc="Identity whose result never requires grad.")


def detach(x):
    if not x.requires_grad:
        return x
    if x.data is not None:  # share the realized buffer instead of copying it in a graph
        return leaf(x.dtype, x.shape, x.data, device=x.device)
    return make("detach", (x,))
