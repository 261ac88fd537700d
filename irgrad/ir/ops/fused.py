"""`fused`: a chain of elementwise ops run as ONE linalg.generic (made by passes/fuse.py).

attrs["program"] is a tuple of instructions, one per fused op in topological order:
(op name, attrs as sorted items, input dtype name, output dtype name, args), where each arg
is ("x", k) for the k-th external input or ("t", j) for the j-th instruction's result. The
last instruction is the result. Every instruction computes at the output's shape; external
inputs broadcast into it through the generic's index maps.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..opdef import REGISTRY, defop
from .common import np_dtype_of


def _infer(inputs, attrs):
    return dt.from_name(attrs["dtype"]), attrs["shape"]


def _reference(*arrays, program, shape, dtype):
    vals = []
    for op, items, _in_d, out_d, args in program:
        xs = [arrays[k] if kind == "x" else vals[k] for kind, k in args]
        vals.append(np.asarray(REGISTRY[op].reference(*xs, **dict(items))))
    return np.broadcast_to(vals[-1], shape).astype(np_dtype_of(dt.from_name(dtype)))


def _lower(L, node, operands):
    out_shape = node.shape
    R = len(out_shape)
    ins, maps, slots = L.broadcast_operands(node, operands)
    program = node.attrs["program"]

    def body(*args):
        ext = L.slot_values(slots, args)
        vals = []
        for op, items, in_d, out_d, refs in program:
            S = L.scalar(dt.from_name(in_d), dt.from_name(out_d), dict(items))
            xs = [ext[k] if kind == "x" else vals[k] for kind, k in refs]
            vals.append(REGISTRY[op].scalar(S, *xs))
        return vals[-1]

    return L.generic(ins, [L.empty(out_shape, node.dtype)], maps, ["parallel"] * R, body)


def _samples(rng):
    program = (("mul", (), "float32", "float32", (("x", 0), ("x", 1))),
               ("exp", (), "float32", "float32", (("x", 0),)),
               ("add", (), "float32", "float32", (("t", 0), ("t", 1))))
    return [([rng.normal(size=(3, 4)).astype(np.float32), rng.normal(size=(4,)).astype(
        np.float32)], {"program": program, "shape": (3, 4), "dtype": "float32"})]


defop("fused", infer=_infer, reference=_reference, lower=_lower, differentiable=False,
      samples=_samples, doc="Elementwise chain fused into one kernel (compile-time only).")


def _barrier_lower(L, node, operands):
    return L.barrier(operands[0])


defop("barrier", infer=lambda inputs, attrs: (inputs[0].dtype, inputs[0].shape),
      reference=lambda x: x, lower=_barrier_lower, differentiable=False,
      samples=lambda rng: [([rng.normal(size=(2, 3)).astype(np.float32)], {})],
      doc="Identity the compiler may not fuse across (inserted by passes/fuse.py to bound "
          "the number of buffers one dispatch reads).")
