"""The builder objects handed to op lowerings: `Scalar` (S) for elementwise bodies and
`Lowerer` (L) for structured ops.

Op files call methods of these objects and never import MLIR. `S` picks the arith/math op
that fits the element type (addf vs addi, signed vs unsigned compare); `L` wraps the tensor,
linalg and affine builders that structured lowerings need.
"""
from __future__ import annotations

import math

from ..ir import dtypes as dt
from . import scalar_math
from .mlir import arith_d, ir, linalg_d, math_d, scf_d, tensor_d, util_d

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
    unless told otherwise. Float math that llvm-cpu cannot link, or links inaccurately, comes
    from `scalar_math` (see its docstring); any other `math` dialect op is reachable by name.
    Integer division and remainder never trap: a zero divisor gives 0 (as NumPy does), and
    INT_MIN / -1 wraps to INT_MIN.
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
        # Signless MLIR integers: wrap Python ints into the type's signed range.
        v &= (1 << d.bits) - 1
        if v >= 1 << (d.bits - 1):
            v -= 1 << d.bits
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

    def _unsigned(self) -> bool:
        return self.dtype.category == dt.BOOL or not self.dtype.is_signed

    # arithmetic ------------------------------------------------------------------------
    def add(self, a, b):
        if self.is_float():
            return arith_d.addf(a, b)
        # bool + bool is logical or in PyTorch (i1 addition would wrap to 0).
        return arith_d.ori(a, b) if self.dtype.category == dt.BOOL else arith_d.addi(a, b)

    def sub(self, a, b):
        return arith_d.subf(a, b) if self.is_float() else arith_d.subi(a, b)

    def mul(self, a, b):
        return arith_d.mulf(a, b) if self.is_float() else arith_d.muli(a, b)

    def _safe_divisor(self, b):
        """(divisor that cannot trap, b == 0, b == -1 for signed types)."""
        zero = self.cmp("eq", b, self.const(0))
        if self._unsigned():
            return arith_d.select(zero, self.const(1), b), zero, None
        minus1 = self.cmp("eq", b, self.const(-1))
        return arith_d.select(arith_d.ori(zero, minus1), self.const(1), b), zero, minus1

    def div(self, a, b):
        """True division on floats; on integers, division truncating toward zero."""
        if self.is_float():
            return arith_d.divf(a, b)
        d, zero, minus1 = self._safe_divisor(b)
        if minus1 is None:
            q = arith_d.divui(a, d)
        else:
            q = arith_d.select(minus1, self.neg(a), arith_d.divsi(a, d))
        return arith_d.select(zero, self.const(0), q)

    def fmod(self, a, b):
        """C fmod: the remainder has the sign of the dividend."""
        if self.is_float():
            return scalar_math.fmod(a, b)
        d, zero, minus1 = self._safe_divisor(b)
        r = arith_d.remui(a, d) if minus1 is None else arith_d.remsi(a, d)
        return arith_d.select(zero, self.const(0), r)  # x % -1 is already 0 via d == 1

    def remainder(self, a, b):
        """Python's %: the remainder has the sign of the divisor."""
        r = self.fmod(a, b)
        if self._unsigned():
            return r
        zero = self.const(0)
        fix = arith_d.andi(self.cmp("ne", r, zero),
                           arith_d.xori(self.cmp("lt", r, zero), self.cmp("lt", b, zero)))
        return arith_d.select(fix, self.add(r, b), r)

    def floordiv(self, a, b):
        """Python's //, floats by CPython's algorithm (as PyTorch and NumPy)."""
        if not self.is_float():
            q = self.div(a, b)
            if self._unsigned():
                return q
            zero = self.const(0)
            r = self.fmod(a, b)
            fix = arith_d.andi(self.cmp("ne", r, zero),
                               arith_d.xori(self.cmp("lt", r, zero), self.cmp("lt", b, zero)))
            return arith_d.select(fix, self.sub(q, self.const(1)), q)
        F = scalar_math.F
        x, y = F(a), F(b)
        mod = F(self.fmod(a, b))
        div = (x - mod) / y
        fix = arith_d.andi(mod.ne(0.0), arith_d.xori(mod < 0.0, y < 0.0))
        div = scalar_math.sel(fix, div - 1.0, div)
        fl = div.floor()
        fl = scalar_math.sel(div - fl > 0.5, fl + 1.0, fl)
        zero_q = F(math_d.copysign(self.const(0.0), (x / y).v))
        out = scalar_math.sel(div.ne(0.0), fl, zero_q)
        return arith_d.select(y.eq(0.0), (x / y).v, out.v)

    def neg(self, a):
        return arith_d.negf(a) if self.is_float() else arith_d.subi(self.const(0), a)

    def abs(self, a):
        if self.is_float():
            return math_d.absf(a)
        if self._unsigned():
            return a
        return arith_d.select(self.cmp("lt", a, self.const(0)), self.neg(a), a)

    def sign(self, a):
        """-1, 0 or 1 (0 for NaN, as PyTorch's sign)."""
        zero, one = self.const(0), self.const(1)
        if self.dtype.category == dt.BOOL:
            return a
        pos = arith_d.select(self.cmp("gt", a, zero), one, zero)
        if self._unsigned():
            return pos
        return arith_d.select(self.cmp("lt", a, zero), self.const(-1), pos)

    def pow(self, a, b):
        if self.is_float():
            return scalar_math.powf(a, b)
        return self._ipow(a, b)

    def _ipow(self, a, b):
        """Integer power by squaring in a loop over the exponent's bits; a negative exponent
        gives 1 for base 1, +-1 for base -1 and 0 otherwise (PyTorch's CPU kernel)."""
        t = element_type(self.dtype)
        zero, one = self.const(0), self.const(1)
        neg_exp = (arith_d.constant(ir.IntegerType.get_signless(1), ir.IntegerAttr.get(
            ir.IntegerType.get_signless(1), 0)) if self._unsigned()
            else self.cmp("lt", b, zero))
        e0 = arith_d.select(neg_exp, zero, b)
        loop = scf_d.WhileOp([t, t, t], [one, a, e0])
        before = loop.before.blocks.append(t, t, t)
        with ir.InsertionPoint(before):
            acc, base, e = before.arguments
            scf_d.ConditionOp(self.cmp("ne", e, zero), [acc, base, e])
        after = loop.after.blocks.append(t, t, t)
        with ir.InsertionPoint(after):
            acc, base, e = after.arguments
            odd = self.cmp("ne", arith_d.andi(e, one), zero)
            acc = arith_d.select(odd, arith_d.muli(acc, base), acc)
            scf_d.YieldOp([acc, arith_d.muli(base, base), arith_d.shrui(e, one)])
        result = loop.results[0]
        if self._unsigned():
            return result
        odd_b = self.cmp("ne", arith_d.andi(b, one), zero)
        minus_one_pow = arith_d.select(odd_b, self.const(-1), one)
        neg_result = arith_d.select(self.cmp("eq", a, one), one, arith_d.select(
            self.cmp("eq", a, self.const(-1)), minus_one_pow, zero))
        return arith_d.select(neg_exp, neg_result, result)

    def max(self, a, b):
        if self.is_float():
            return arith_d.maximumf(a, b)
        return arith_d.maxui(a, b) if self._unsigned() else arith_d.maxsi(a, b)

    def min(self, a, b):
        if self.is_float():
            return arith_d.minimumf(a, b)
        return arith_d.minui(a, b) if self._unsigned() else arith_d.minsi(a, b)

    def fmax(self, a, b):
        """max that ignores a NaN operand (IEEE maxNum)."""
        return arith_d.maxnumf(a, b) if self.is_float() else self.max(a, b)

    def fmin(self, a, b):
        return arith_d.minnumf(a, b) if self.is_float() else self.min(a, b)

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

    def signbit(self, a):
        if self.is_float():
            return scalar_math.F(a).signbit()
        if self._unsigned():
            return self.const(False, dt.bool_)
        return self.cmp("lt", a, self.const(0))

    # bitwise ---------------------------------------------------------------------------
    def and_(self, a, b):
        return arith_d.andi(a, b)

    def or_(self, a, b):
        return arith_d.ori(a, b)

    def xor(self, a, b):
        return arith_d.xori(a, b)

    def not_(self, a):
        return arith_d.xori(a, self.const(1, dt.bool_))

    def invert(self, a):
        """Bitwise not of any integer type (logical not of bool)."""
        return arith_d.xori(a, self.const(-1 if self.dtype.category != dt.BOOL else 1))

    def shl(self, a, b):
        """a << b; shifts by a negative amount or by the bit width or more give 0."""
        oob = self._shift_out_of_range(b)
        r = arith_d.shli(a, arith_d.select(oob, self.const(0), b))
        return arith_d.select(oob, self.const(0), r)

    def shr(self, a, b):
        """a >> b, arithmetic for signed types; too-large shifts fill with the sign."""
        oob = self._shift_out_of_range(b)
        if self._unsigned():
            r = arith_d.shrui(a, arith_d.select(oob, self.const(0), b))
            return arith_d.select(oob, self.const(0), r)
        return arith_d.shrsi(a, arith_d.select(oob, self.const(self.dtype.bits - 1), b))

    def _shift_out_of_range(self, b):
        big = self.cmp("ge", b, self.const(self.dtype.bits))
        if self._unsigned():
            return big
        return arith_d.ori(big, self.cmp("lt", b, self.const(0)))

    # float math --------------------------------------------------------------------------
    def xlogy(self, a, b):
        zero = self.const(0.0)
        keep = arith_d.andi(self.cmp("eq", a, zero), arith_d.xori(
            self.isnan(b), self.const(True, dt.bool_)))
        return arith_d.select(keep, zero, arith_d.mulf(a, math_d.log(b)))

    def relu(self, x):
        """max(x, 0) keeping NaN and -0.0 (PyTorch returns x unless x < 0)."""
        zero = self.const(0)
        return arith_d.select(self.cmp("lt", x, zero), zero, x)

    def sigmoid(self, x):
        F = scalar_math.F
        return (1.0 / (1.0 + F(math_d.exp(arith_d.negf(x))))).v

    def __getattr__(self, name):
        """Float math by name: the accurate fallbacks of `scalar_math` first (log2, sin,
        erfc, ...), then any math or arith dialect op (exp, log, sqrt, floor, ...)."""
        fn = _MATH.get(name)
        if fn is None:
            fn = getattr(math_d, name, None)
        if fn is None:
            fn = getattr(arith_d, name, None)
        if fn is None:
            raise AttributeError(name)
        return fn


_MATH = {name: getattr(scalar_math, name) for name in (
    "expm1", "log1p", "sinh", "cosh", "tanh", "asinh", "acosh", "atanh", "log2", "log10",
    "cbrt", "sin", "cos", "tan", "atan", "atan2", "asin", "acos", "erf", "erfc", "erfinv",
    "exp2", "hypot")}


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

    def barrier(self, value):
        """A fusion barrier: IREE may not put the value's producer and its consumers in one
        dispatch. `iree_tensor_ext.compute_barrier` only steers dispatch formation and is
        removed after it; `util.optimization_barrier` (used before) also made IREE wait on
        the host for the value mid-graph, so every call of a graph with a gather (each
        cross_entropy step) ran synchronously."""
        return ir.Operation.create("iree_tensor_ext.compute_barrier.start",
                                   results=[value.type], operands=[value]).result

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
    def broadcast_operands(self, node, operands):
        """(generic inputs, index maps incl. the output's, slots) for an elementwise kernel:
        inlined scalar constants become ("const", dtype, value) slots, the rest broadcast."""
        ins, maps, slots = self.kernel_operands(node, operands, node.shape)
        maps.append(self.identity_map(len(node.shape)))
        return ins, maps, slots

    def kernel_operands(self, node, operands, shape, maps=None):
        """(generic inputs, their index maps, slots) for a fused kernel iterating over
        `shape`: input k is read through maps[k] (per input dim, the loop dim it follows or
        None for index 0; see ir/ops/fused.py), or broadcasts into `shape` where `maps` or
        its entry is None. Inlined scalar constants become slots as in broadcast_operands.
        The caller appends the output's map."""
        R = len(shape)
        ins, amaps, slots = [], [], []
        for k, (inp, val) in enumerate(zip(node.inputs, operands)):
            c = self.scalar_consts.get(id(inp))
            if c is not None:
                slots.append(("const", inp.dtype, c))
                continue
            slots.append(("arg", len(ins)))
            ins.append(val)
            m = maps[k] if maps else None
            if m is None:
                amaps.append(self.broadcast_map(inp.shape, shape))
            else:
                amaps.append(self.affine_map(R, [self.cst(0) if e is None else self.dim(e)
                                                 for e in m]))
        return ins, amaps, slots

    def slot_values(self, slots, args):
        """Inside the kernel body: the scalar value of each slot."""
        return [args[s[1]] if s[0] == "arg" else Scalar(s[1], s[1], {}).const(s[2])
                for s in slots]

    def elementwise(self, node, operands):
        """Wrap an op's scalar body in one linalg.generic with broadcasting index maps."""
        out_shape = node.shape
        R = len(out_shape)
        ins, maps, slots = self.broadcast_operands(node, operands)
        in_dtype = node.inputs[0].dtype if node.inputs else node.dtype
        S = Scalar(in_dtype, node.dtype, node.attrs)
        out = self.empty(out_shape, node.dtype)

        def body(*args):
            return node.opdef.scalar(S, *self.slot_values(slots, args))

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
