"""The builder objects handed to op lowerings: `Scalar` (S) for elementwise bodies and
`Lowerer` (L) for structured ops.

Op files call methods of these objects and never import MLIR. `S` picks the arith/math op
that fits the element type (addf vs addi, signed vs unsigned compare); `L` wraps the tensor,
linalg and affine builders that structured lowerings need.
"""
from __future__ import annotations

import math

from ..ir import dtypes as dt
from .mlir import arith_d, ir, linalg_d, math_d, tensor_d

_FPRED = {"lt": "OLT", "le": "OLE", "gt": "OGT", "ge": "OGE", "eq": "OEQ", "ne": "UNE"}
_SPRED = {"lt": "slt", "le": "sle", "gt": "sgt", "ge": "sge", "eq": "eq", "ne": "ne"}
_UPRED = {"lt": "ult", "le": "ule", "gt": "ugt", "ge": "uge", "eq": "eq", "ne": "ne"}


def element_type(d: dt.DType):
    if d.category == dt.FLOAT:
        return {"f32": ir.F32Type, "f64": ir.F64Type, "f16": ir.F16Type,
                "bf16": ir.BF16Type}[d.mlir].get()
    return ir.IntegerType.get_signless(d.bits)


def tensor_type(shape, d: dt.DType):
    return ir.RankedTensorType.get(list(shape), element_type(d))


class Scalar:
    """Scalar arithmetic inside an elementwise body, typed by irgrad dtypes.

    `dtype` is the dtype of the op's inputs, `out` the dtype of its result, `attrs` the node's
    attributes. Values are MLIR scalar values; helpers take the dtype from `self.dtype`
    unless told otherwise.
    """

    def __init__(self, dtype: dt.DType, out: dt.DType, attrs: dict):
        self.dtype, self.out, self.attrs = dtype, out, attrs

    # constants and casts -------------------------------------------------------------
    def const(self, value, dtype: dt.DType | None = None):
        d = dtype or self.dtype
        t = element_type(d)
        if d.category == dt.FLOAT:
            return arith_d.constant(t, ir.FloatAttr.get(t, float(value)))
        if d.category == dt.BOOL:
            return arith_d.constant(t, ir.IntegerAttr.get(t, 1 if value else 0))
        v = int(value)
        if d is dt.uint8 and v > 127:
            v -= 256
        return arith_d.constant(t, ir.IntegerAttr.get(t, v))

    def cast(self, v, src: dt.DType, dst: dt.DType):
        if src is dst or (src.mlir == dst.mlir and src.category == dst.category
                          and src.is_signed == dst.is_signed):
            return v
        tdst = element_type(dst)
        if dst.category == dt.BOOL:
            return self.cmp("ne", v, self.const(0, src), src)
        if src.category == dt.FLOAT and dst.category == dt.FLOAT:
            if dst.bits > src.bits or (src.bits == dst.bits):
                if src.bits == dst.bits:  # f16 <-> bf16 through f32
                    v = arith_d.extf(ir.F32Type.get(), v)
                    return arith_d.truncf(tdst, v)
                return arith_d.extf(tdst, v)
            return arith_d.truncf(tdst, v)
        if src.category == dt.FLOAT:  # float -> int truncates toward zero, like C
            return arith_d.fptosi(tdst, v) if dst.is_signed else arith_d.fptoui(tdst, v)
        unsigned_src = src.category == dt.BOOL or not src.is_signed
        if dst.category == dt.FLOAT:
            return arith_d.uitofp(tdst, v) if unsigned_src else arith_d.sitofp(tdst, v)
        if dst.bits > src.bits:
            return arith_d.extui(tdst, v) if unsigned_src else arith_d.extsi(tdst, v)
        if dst.bits < src.bits:
            return arith_d.trunci(tdst, v)
        return v

    def is_float(self, dtype=None) -> bool:
        return (dtype or self.dtype).category == dt.FLOAT

    # arithmetic ------------------------------------------------------------------------
    def add(self, a, b):
        return arith_d.addf(a, b) if self.is_float() else arith_d.addi(a, b)

    def sub(self, a, b):
        return arith_d.subf(a, b) if self.is_float() else arith_d.subi(a, b)

    def mul(self, a, b):
        return arith_d.mulf(a, b) if self.is_float() else arith_d.muli(a, b)

    def div(self, a, b):
        if self.is_float():
            return arith_d.divf(a, b)
        return arith_d.divsi(a, b) if self.dtype.is_signed else arith_d.divui(a, b)

    def neg(self, a):
        return arith_d.negf(a) if self.is_float() else arith_d.subi(self.const(0), a)

    def max(self, a, b):
        if self.is_float():
            return arith_d.maximumf(a, b)
        if self.dtype.category == dt.BOOL or not self.dtype.is_signed:
            return arith_d.maxui(a, b)
        return arith_d.maxsi(a, b)

    def min(self, a, b):
        if self.is_float():
            return arith_d.minimumf(a, b)
        if self.dtype.category == dt.BOOL or not self.dtype.is_signed:
            return arith_d.minui(a, b)
        return arith_d.minsi(a, b)

    def cmp(self, pred: str, a, b, dtype=None):
        d = dtype or self.dtype
        if d.category == dt.FLOAT:
            return arith_d.cmpf(getattr(arith_d.CmpFPredicate, _FPRED[pred]), a, b)
        table = _UPRED if (d.category == dt.BOOL or not d.is_signed) else _SPRED
        return arith_d.cmpi(getattr(arith_d.CmpIPredicate, table[pred]), a, b)

    def select(self, c, a, b):
        return arith_d.select(c, a, b)

    def isnan(self, a):
        return arith_d.cmpf(arith_d.CmpFPredicate.UNO, a, a)

    def and_(self, a, b):
        return arith_d.andi(a, b)

    def or_(self, a, b):
        return arith_d.ori(a, b)

    def xor(self, a, b):
        return arith_d.xori(a, b)

    def not_(self, a):
        return arith_d.xori(a, self.const(1, dt.bool_))

    def __getattr__(self, name):
        """math dialect ops by name (exp, log, tanh, erf, sqrt, rsqrt, floor, ...)."""
        fn = getattr(math_d, name, None)
        if fn is None:
            fn = getattr(arith_d, name, None)
        if fn is None:
            raise AttributeError(name)
        return fn


class Lowerer:
    """Structured-op helpers for one function being emitted."""

    def __init__(self):
        self.ir, self.linalg, self.tensor, self.arith, self.math = ir, linalg_d, tensor_d, arith_d, math_d
        self.scalar_consts: dict = {}
        self.parallel = linalg_d.IteratorType.parallel
        self.reduction = linalg_d.IteratorType.reduction

    # types and simple values ---------------------------------------------------------
    def tensor_type(self, shape, dtype):
        return tensor_type(shape, dtype)

    def element_type(self, dtype):
        return element_type(dtype)

    def empty(self, shape, dtype):
        return tensor_d.EmptyOp(list(shape), element_type(dtype)).result

    def scalar(self, dtype, out=None, attrs=None) -> Scalar:
        return Scalar(dtype, out or dtype, attrs or {})

    def full(self, shape, dtype, value):
        v = self.scalar(dtype).const(value)
        return linalg_d.fill(v, outs=[self.empty(shape, dtype)])

    def index_const(self, v: int):
        return arith_d.constant(ir.IndexType.get(), v)

    def index_cast(self, v, dtype=None):
        """An integer scalar -> index, or (with dtype) an index -> that integer type."""
        if dtype is None:
            return arith_d.index_cast(ir.IndexType.get(), v)
        return arith_d.index_cast(element_type(dtype), v)

    # affine maps ----------------------------------------------------------------------
    def dim(self, i):
        return ir.AffineDimExpr.get(i)

    def cst(self, k):
        return ir.AffineConstantExpr.get(k)

    def affine_map(self, ndims, exprs):
        return ir.AffineMap.get(ndims, 0, list(exprs))

    def identity_map(self, ndims):
        return ir.AffineMap.get_identity(ndims)

    def broadcast_map(self, in_shape, out_shape):
        """Map from an output index space to an input that broadcasts into it."""
        r, R = len(in_shape), len(out_shape)
        exprs = []
        for i, s in enumerate(in_shape):
            j = R - r + i
            exprs.append(self.cst(0) if (s == 1 and out_shape[j] != 1) else self.dim(j))
        return ir.AffineMap.get(R, 0, exprs)

    def generic(self, ins, outs, maps, iterators, body):
        """linalg.generic; `body(*block_args)` returns the value(s) to yield."""
        its = [self.parallel if it == "parallel" else self.reduction if it == "reduction"
               else it for it in iterators]

        @linalg_d.generic(list(ins), list(outs), list(maps), its)
        def _body(*args):
            return body(*args)

        return _body

    def loop_index(self, i):
        """Inside a generic body: the current iteration index along dim i (index type)."""
        return linalg_d.IndexOp(ir.IntegerAttr.get(ir.IntegerType.get_signless(64), i)).result

    # elementwise ----------------------------------------------------------------------
    def elementwise(self, node, operands):
        """Wrap an op's scalar body in one linalg.generic with broadcasting index maps."""
        out_shape = node.shape
        R = len(out_shape)
        ins, maps, slots = [], [], []
        for inp, val in zip(node.inputs, operands):
            c = self.scalar_consts.get(id(inp))
            if c is not None:
                slots.append(("const", inp.dtype, c))
                continue
            slots.append(("arg", len(ins)))
            ins.append(val)
            maps.append(self.broadcast_map(inp.shape, out_shape))
        maps.append(self.identity_map(R))
        in_dtype = node.inputs[0].dtype if node.inputs else node.dtype
        S = Scalar(in_dtype, node.dtype, node.attrs)
        out = self.empty(out_shape, node.dtype)

        def body(*args):
            vals = [args[s[1]] if s[0] == "arg" else S.const(s[2], s[1]) for s in slots]
            return node.opdef.scalar(S, *vals)

        return self.generic(ins, [out], maps, ["parallel"] * R, body)

    # movement helpers -----------------------------------------------------------------
    def reshape(self, x, in_shape, out_shape, dtype):
        """Any static reshape: collapse to 1-D then expand (both are free views in IREE)."""
        if tuple(in_shape) == tuple(out_shape):
            return x
        n = math.prod(in_shape)
        if len(in_shape) != 1:
            reassoc = [list(range(len(in_shape)))] if in_shape else []
            x = tensor_d.collapse_shape(self.tensor_type([n] if in_shape else [], dtype) if in_shape
                                        else self.tensor_type([], dtype), x, reassoc)
            if not in_shape:  # 0-d -> [1]
                x = tensor_d.expand_shape(self.tensor_type([1], dtype), x, [], [], [1])
        if len(out_shape) == 1:
            return x
        if not out_shape:
            return tensor_d.collapse_shape(self.tensor_type([], dtype), x, [])
        reassoc = [list(range(len(out_shape)))]
        return tensor_d.expand_shape(self.tensor_type(out_shape, dtype), x, reassoc, [],
                                     list(out_shape))
