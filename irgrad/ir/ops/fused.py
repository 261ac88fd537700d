"""Fused kernels made by passes/fuse.py: `fused` (an elementwise chain as ONE
linalg.generic), `fused_reduce` (an elementwise chain feeding a reduction, also ONE
linalg.generic, with reduction iterators) and `barrier`.

attrs["program"] is a tuple of instructions, one per fused op in topological order:
(op name, attrs as sorted items, input dtype name, output dtype name, args), where each arg
is ("x", k) for the k-th external input or ("t", j) for the j-th instruction's result. The
last instruction is the kernel's value. Instructions are evaluated at every point of the
kernel's iteration shape (attrs["shape"]: the output's for `fused`, the reduced input's for
`fused_reduce`); one whose operands are smaller is simply recomputed along the broadcast.

External inputs are read through index maps. Without attrs["maps"] (or where its entry is
None) input k broadcasts into the kernel shape like a NumPy operand. Otherwise maps[k] names,
for each dim of input k, the kernel dim it follows, or None for a size-1 dim read at index 0;
that is how a folded `expand`, `permute` or unit-dim `reshape` is read in place instead of
being materialized.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as dt
from ..opdef import REGISTRY, defop
from .common import np_dtype_of
from .reduce import highest, lowest, reduced_shape, round_result, sum_accumulator


# ---- shared by both kernels ------------------------------------------------------------------

def mapped_view(a, m, shape):
    """Input `a` as seen by a kernel over `shape` through map `m` (a broadcast view)."""
    a = np.asarray(a)
    if m is None:
        return a
    keep = [i for i, e in enumerate(m) if e is not None]
    a = a.reshape([a.shape[i] for i in keep])  # the dims read at index 0 have size 1
    a = a.transpose(sorted(range(len(keep)), key=lambda j: m[keep[j]]))
    full = [1] * len(shape)
    for i in keep:
        full[m[i]] = shape[m[i]]
    return np.broadcast_to(a.reshape(full), shape)


def _run_reference(arrays, program, shape, maps):
    maps = maps or (None,) * len(arrays)
    xs_all = [mapped_view(a, m, shape) for a, m in zip(arrays, maps)]
    vals = []
    for op, items, _in_d, out_d, args in program:
        xs = [xs_all[k] if kind == "x" else vals[k] for kind, k in args]
        vals.append(np.asarray(REGISTRY[op].reference(*xs, **dict(items))))
    out_dtype = np_dtype_of(dt.from_name(program[-1][3]))
    return np.broadcast_to(vals[-1], shape).astype(out_dtype)


def _body_program(L, program, ext):
    """Emit the program's scalar ops inside a generic body; returns the last value."""
    vals = []
    for op, items, in_d, out_d, refs in program:
        S = L.scalar(dt.from_name(in_d), dt.from_name(out_d), dict(items))
        xs = [ext[k] if kind == "x" else vals[k] for kind, k in refs]
        vals.append(REGISTRY[op].scalar(S, *xs))
    return vals[-1]


def _check_maps(inputs, attrs, shape):
    maps = attrs.get("maps")
    if maps is None:
        return
    if len(maps) != len(inputs):
        raise TypeError("internal: fused kernel maps must cover every input")
    for x, m in zip(inputs, maps):
        if m is None:
            continue
        if len(m) != x.ndim or any(
                (e is None and s != 1) or (e is not None and shape[e] != s)
                for e, s in zip(m, x.shape)):
            raise TypeError(f"internal: map {m} does not read {x.shape} within {shape}")


# ---- fused: an elementwise chain -------------------------------------------------------------

def _infer(inputs, attrs):
    _check_maps(inputs, attrs, attrs["shape"])
    return dt.from_name(attrs["dtype"]), attrs["shape"]


def _reference(*arrays, program, shape, dtype, maps=None):
    return _run_reference(arrays, program, shape, maps).astype(np_dtype_of(dt.from_name(dtype)))


def _lower(L, node, operands):
    out_shape = node.shape
    R = len(out_shape)
    ins, maps, slots = L.kernel_operands(node, operands, out_shape, node.attrs.get("maps"))
    maps.append(L.identity_map(R))
    program = node.attrs["program"]

    def body(*args):
        return _body_program(L, program, L.slot_values(slots, args))

    return L.generic(ins, [L.empty(out_shape, node.dtype)], maps, ["parallel"] * R, body)


def _f32(rng, shape):
    return rng.normal(size=shape).astype(np.float32)


def _samples(rng):
    f32 = "float32"
    program = (("mul", (), f32, f32, (("x", 0), ("x", 1))),
               ("exp", (), f32, f32, (("x", 0),)),
               ("add", (), f32, f32, (("t", 0), ("t", 1))))
    sub = (("sub", (), f32, f32, (("x", 0), ("x", 1))),)
    return [([_f32(rng, (3, 4)), _f32(rng, (4,))],
             {"program": program, "shape": (3, 4), "dtype": f32}),
            # x1 read transposed, x0 (a column as a vector) along dim 0: no NumPy broadcast
            # does either, the index maps do.
            ([_f32(rng, (3,)), _f32(rng, (4, 3))],
             {"program": sub, "shape": (3, 4), "dtype": f32, "maps": ((0,), (1, 0))}),
            ([_f32(rng, (1, 4, 1)), _f32(rng, (2, 3))],
             {"program": sub, "shape": (2, 3, 4), "dtype": f32,
              "maps": ((None, 2, None), (0, 1))})]


defop("fused", infer=_infer, reference=_reference, lower=_lower, differentiable=False,
      samples=_samples, doc="Elementwise chain fused into one kernel (compile-time only).")


# ---- fused_reduce: an elementwise chain feeding a reduction ------------------------------------

REDUCE_KINDS = {
    # kind: (identity for a dtype, combine(S, acc, value)); the same as the plain ops in reduce.py
    "sum": (lambda d: 0, lambda S, a, v: S.add(a, v)),
    "prod": (lambda d: 1, lambda S, a, v: S.mul(a, v)),
    "amax": (lowest, lambda S, a, v: S.max(a, v)),
    "amin": (highest, lambda S, a, v: S.min(a, v)),
}


def _reduce_infer(inputs, attrs):
    shape = attrs["shape"]
    _check_maps(inputs, attrs, shape)
    if attrs["kind"] not in REDUCE_KINDS or any(d >= len(shape) for d in attrs["dims"]):
        raise TypeError(f"internal: bad fused reduction {attrs['kind']} over {attrs['dims']}")
    return dt.from_name(attrs["dtype"]), reduced_shape(shape, attrs["dims"], attrs["keepdim"])


def _reduce_reference(*arrays, program, shape, dtype, kind, dims, keepdim, maps=None):
    v = _run_reference(arrays, program, shape, maps).astype(np_dtype_of(dt.from_name(dtype)))
    return REGISTRY[kind].reference(v, dims=dims, keepdim=keepdim)


def _read_dims(node, shape):
    """The kernel loop dims that some input's index map uses."""
    R, maps = len(shape), node.attrs.get("maps") or (None,) * len(node.inputs)
    used = set()
    for x, m in zip(node.inputs, maps):
        if m is not None:
            used.update(e for e in m if e is not None)
        else:  # as Lowerer.broadcast_map
            off = R - x.ndim
            used.update(off + i for i, s in enumerate(x.shape) if s != 1 or shape[off + i] == 1)
    return used


def _reduce_lower(L, node, operands):
    """One generic over the kernel shape: the reduced dims are reduction iterators, the
    output starts at the reduction's identity and the body combines the program's value."""
    shape, dims, keepdim = node.attrs["shape"], node.attrs["dims"], node.attrs["keepdim"]
    identity, combine = REDUCE_KINDS[node.attrs["kind"]]
    init = identity(node.dtype)
    # IREE 3.13 has crashed (SIGFPE) compiling empty reductions: build those directly.
    if node.numel == 0:
        return L.empty(node.shape, node.dtype)
    if 0 in shape:
        return L.full(node.shape, node.dtype, init)
    R = len(shape)
    ins, maps, slots = L.kernel_operands(node, operands, shape, node.attrs.get("maps"))
    n_in = len(ins)
    # linalg derives each loop's range from an operand that the loop indexes; a reduced dim
    # that every input broadcasts along (a folded expand) gets an unread placeholder.
    missing = [i for i in dims if i not in _read_dims(node, shape)]
    if missing:
        ins.append(L.empty([shape[i] for i in missing], dt.int8))
        maps.append(L.affine_map(R, [L.dim(i) for i in missing]))
    maps.append(L.affine_map(R, [L.cst(0) if i in dims else L.dim(i) for i in range(R)
                                 if i not in dims or keepdim]))
    its = ["reduction" if i in dims else "parallel" for i in range(R)]
    # The same accumulator as the plain reduction (reduce.sum_accumulator), so fusing never
    # changes a result's precision: a long float sum adds in float64 and rounds once.
    acc = node.dtype
    if node.attrs["kind"] == "sum":
        reduced = 1
        for i in dims:
            reduced *= shape[i]
        acc = sum_accumulator(node.dtype, reduced, node.device)
    S = L.scalar(acc)
    program = node.attrs["program"]

    def body(*args):
        v = _body_program(L, program, L.slot_values(slots, args[:n_in]))
        return combine(S, args[-1], S.cast(v, node.dtype, acc))

    r = L.generic(ins, [L.full(node.shape, acc, init)], maps, its, body)
    return round_result(L, r, node.shape, acc, node.dtype)


def _reduce_samples(rng):
    f32, f64, f16 = "float32", "float64", "float16"

    def one(op, d, *args, items=(), out=None):
        return (op, items, d, out or d, args)

    x0, x1, t0 = ("x", 0), ("x", 1), ("t", 0)
    mul = (one("mul", f32, x0, x1),)
    absx = (one("abs", f32, x0),)
    softmax_sum = (one("sub", f32, x0, x1), one("exp", f32, t0))
    negx = (one("neg", f32, x0),)
    sq64 = (one("mul", f64, x0, x0),)
    half = (one("mul", f16, x0, x0), one("cast", f16, t0, items=(("dtype", dt.float32),),
                                         out=f32))
    ints = (one("add", "int32", x0, x1),
            one("cast", "int32", t0, items=(("dtype", dt.int64),), out="int64"))
    anyx = (one("ne", f32, x0, x1, out="bool"),)

    def attrs(program, shape, dtype, kind, dims, keepdim=False, maps=None):
        a = {"program": program, "shape": shape, "dtype": dtype, "kind": kind, "dims": dims,
             "keepdim": keepdim}
        if maps is not None:
            a["maps"] = maps
        return a

    return [
        ([_f32(rng, (3, 4)), _f32(rng, (4,))], attrs(mul, (3, 4), f32, "sum", (1,))),
        ([_f32(rng, (2, 3, 4))], attrs(absx, (2, 3, 4), f32, "amax", (0, 2), True)),
        ([_f32(rng, (3, 5)), _f32(rng, (3, 1))], attrs(softmax_sum, (3, 5), f32, "sum", (1,),
                                                       True)),
        # x0 is read transposed: the kernel iterates (3, 4) over a (4, 3) input.
        ([_f32(rng, (4, 3))], attrs(negx, (3, 4), f32, "amin", (0,), False, ((1, 0),))),
        ([rng.normal(size=(2, 3))], attrs(sq64, (2, 3), f64, "sum", (0, 1))),
        ([rng.uniform(0.5, 1.5, (2, 3)).astype(np.float32), _f32(rng, (2, 1))],
         attrs(mul, (2, 3), f32, "prod", (1,))),
        ([rng.uniform(-2, 2, (3, 4)).astype(np.float16)], attrs(half, (3, 4), f32, "sum",
                                                                  (0,), True)),
        ([rng.integers(-9, 9, (3, 4)).astype(np.int32), rng.integers(-9, 9, (4,)).astype(
            np.int32)], attrs(ints, (3, 4), "int64", "sum", (0, 1))),
        ([_f32(rng, (2, 3)), np.float32(0.5)], attrs(anyx, (2, 3), "bool", "amax", (1,))),
        ([_f32(rng, (0, 3)), _f32(rng, (3,))], attrs(mul, (0, 3), f32, "sum", (0,))),
        ([_f32(rng, (0, 3))], attrs(negx, (0, 3), f32, "amax", (1,))),
        ([_f32(rng, ())], attrs(absx, (), f32, "sum", ())),
        # reduced dims that no input indexes: the sum over a broadcast (4 * x0), and a
        # size-1 dim read at index 0
        ([_f32(rng, (3,))], attrs(absx, (4, 3), f32, "sum", (0,))),
        ([_f32(rng, (3, 1))], attrs(negx, (3, 1), f32, "amax", (1,), True, ((0, None),))),
        # reductions long enough for the float64 accumulator (reduce.WIDE_SUM_MIN): over a
        # row, over a transposed read, over half values widened to f32, over a broadcast
        ([_f32(rng, (3, 2100)), _f32(rng, (2100,))], attrs(mul, (3, 2100), f32, "sum", (1,))),
        ([_f32(rng, (3, 2100))], attrs(negx, (2100, 3), f32, "sum", (0,), True, ((1, 0),))),
        ([rng.uniform(-2, 2, (50, 3, 45)).astype(np.float16)],
         attrs(half, (50, 3, 45), f32, "sum", (0, 2))),
        ([_f32(rng, (3,))], attrs(absx, (2100, 3), f32, "sum", (0,))),
    ]


defop("fused_reduce", infer=_reduce_infer, reference=_reduce_reference, lower=_reduce_lower,
      differentiable=False, samples=_reduce_samples,
      doc="A reduction (sum, prod, amax, amin) of an elementwise chain, fused into one kernel "
          "(compile-time only).")


# ---- barrier ---------------------------------------------------------------------------------

def _barrier_lower(L, node, operands):
    return L.barrier(operands[0])


defop("barrier", infer=lambda inputs, attrs: (inputs[0].dtype, inputs[0].shape),
      reference=lambda x: x, lower=_barrier_lower, differentiable=False,
      samples=lambda rng: [([rng.normal(size=(2, 3)).astype(np.float32)], {})],
      doc="Identity the compiler may not fuse across (inserted by passes/fuse.py to bound "
          "the number of buffers one dispatch reads).")
