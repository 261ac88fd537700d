"""Ops that exist for autograd's sake.

- `detach`: identity whose result never requires grad.
- `custom_function`: the output of a user `autograd.Function`. Its value is its first input
  (the forward's result, computed without recording gradients); its other inputs are the
  Function's tensor arguments, so the reverse walk reaches them. The engine does not use the
  rule below for it: it calls the user's `backward` (see autograd/function.py).
- `once_differentiable`: identity that marks a gradient which must not be differentiated
  again (an op with `second_order=False`, or a Function decorated `@once_differentiable`).
  The engine raises when a higher-order walk reaches it.
- `nonfinite_code`: anomaly mode's in-graph check. It reduces a gradient to one int64: the
  attribute `nan_code` if it holds a NaN, else `inf_code` if it holds an infinity, else
  `NO_ANOMALY`. The codes of all checks are combined with `minimum`, so one scalar tells which
  backward op produced the first non-finite value, without any per-op host sync.

Identity ops lower to their first operand (no kernel), so they cost nothing in a graph.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..node import leaf, make
from ..opdef import defop
from .common import unary_rule

NO_ANOMALY = 2 ** 62


defop("detach", infer=unary_rule, reference=lambda x: x.copy(), scalar=lambda S, x: x,
      differentiable=False, samples=lambda rng: [([rng.normal(size=(2, 3)).astype("float32")], {})],
      doc="Identity whose result never requires grad.")


def detach(x):
    if not x.requires_grad:
        return x
    if x.data is not None:  # share the realized buffer instead of copying it in a graph
        return leaf(x.dtype, x.shape, x.data, device=x.device)
    return make("detach", (x,))


def _first_rule(inputs, attrs):
    return inputs[0].dtype, inputs[0].shape


def _identity_samples(attrs):
    def samples(rng):
        return [([rng.normal(size=(2, 3)), rng.normal(size=(4,))], dict(attrs)),
                ([rng.normal(size=()).astype(np.float32)], dict(attrs))]
    return samples


defop("custom_function", infer=_first_rule,
      reference=lambda value, *args, **attrs: value.copy(),
      lower=lambda L, node, operands: operands[0],
      grad=lambda g, n: (g,) + (None,) * (len(n.inputs) - 1),
      unique=True, samples=_identity_samples({"name": "Sample", "index": 0}),
      doc="Output `index` of a user autograd.Function `name`: value = inputs[0]; inputs[1:] "
          "are the Function's tensor arguments.")

defop("once_differentiable", infer=_first_rule,
      reference=lambda value, *args, **attrs: value.copy(),
      lower=lambda L, node, operands: operands[0],
      grad=lambda g, n: (g,) + (None,) * (len(n.inputs) - 1),
      samples=_identity_samples({"what": "SampleBackward0"}),
      doc="A gradient of `what` that has no derivative itself; the engine raises if a "
          "higher-order gradient reaches it. Extra inputs only make it require grad.")


def once_differentiable(g, what: str, extra=()):
    """Mark gradient `g` (from the backward of `what`) as not differentiable again."""
    return make("once_differentiable", (g,) + tuple(extra), what=what)


def _nonfinite_ref(x, nan_code, inf_code):
    if np.isnan(x).any():
        return np.array(nan_code, dtype=np.int64)
    if np.isinf(x).any():
        return np.array(inf_code, dtype=np.int64)
    return np.array(NO_ANOMALY, dtype=np.int64)


def _nonfinite_lower(L, node, operands):
    x = node.inputs[0]
    R = x.ndim
    S, I = L.scalar(x.dtype), L.scalar(dt.int64)
    nan_code, inf_code = node.attrs["nan_code"], node.attrs["inf_code"]

    def body(v, acc):
        is_inf = S.cmp("eq", S.absf(v), S.const(float("inf")))
        code = I.select(S.isnan(v), I.const(nan_code),
                        I.select(is_inf, I.const(inf_code), I.const(NO_ANOMALY)))
        return I.min(acc, code)

    return L.generic([operands[0]], [L.full((), dt.int64, NO_ANOMALY)],
                     [L.identity_map(R), L.affine_map(R, [])], ["reduction"] * R, body)


def _nonfinite_samples(rng):
    a = rng.normal(size=(3, 4)).astype(np.float32)
    b = a.copy()
    b[1, 2] = np.inf
    c = b.copy()
    c[0, 0] = np.nan
    return [([a], {"nan_code": 4, "inf_code": 5}), ([b], {"nan_code": 4, "inf_code": 5}),
            ([c.astype(np.float64)], {"nan_code": 0, "inf_code": 1}),
            ([np.array(np.nan, dtype=np.float32)], {"nan_code": 2, "inf_code": 3}),
            ([np.zeros((0, 2), np.float32)], {"nan_code": 2, "inf_code": 3})]


defop("nonfinite_code",
      infer=lambda inputs, attrs: (dt.int64, ()),
      reference=_nonfinite_ref, lower=_nonfinite_lower, differentiable=False,
      samples=_nonfinite_samples,
      doc="int64 scalar: nan_code if x has a NaN, else inf_code if it has an inf, else "
          "NO_ANOMALY (anomaly mode's in-graph check of a backward op's output).")


def nonfinite_code(x, nan_code: int, inf_code: int):
    return make("nonfinite_code", (x,), nan_code=int(nan_code), inf_code=int(inf_code))
