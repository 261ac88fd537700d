"""irgrad dtypes and PyTorch's type-promotion rules.

A `DType` is an interned, immutable description of an element type: its PyTorch name, its
NumPy equivalent, its MLIR element-type spelling and its category (bool < int < float), which
is what promotion compares.
"""
from __future__ import annotations

import numpy as np

BOOL, INT, FLOAT = 0, 1, 2


class DType:
    __slots__ = ("name", "np", "mlir", "category", "itemsize", "is_signed", "bits", "short")

    def __init__(self, name, np_dtype, mlir, category, short, is_signed=True):
        self.name = name
        self.np = np.dtype(np_dtype) if np_dtype is not None else None
        self.mlir = mlir
        self.category = category
        self.itemsize = self.np.itemsize if self.np is not None else 2
        self.bits = 1 if category == BOOL else self.itemsize * 8
        self.is_signed = is_signed
        self.short = short

    @property
    def is_floating_point(self) -> bool:
        return self.category == FLOAT

    @property
    def is_complex(self) -> bool:
        return False

    def to_complex(self):
        raise RuntimeError("irgrad has no complex dtypes")

    def __repr__(self):
        return f"irgrad.{self.name}"

    def __reduce__(self):
        return (from_name, (self.name,))


float32 = DType("float32", np.float32, "f32", FLOAT, "f32")
float16 = DType("float16", np.float16, "f16", FLOAT, "f16")
float64 = DType("float64", np.float64, "f64", FLOAT, "f64")
# NumPy has no bfloat16: references compute it in float32 and round (see to_numpy_bf16).
bfloat16 = DType("bfloat16", None, "bf16", FLOAT, "bf16")
int8 = DType("int8", np.int8, "i8", INT, "i8")
int16 = DType("int16", np.int16, "i16", INT, "i16")
int32 = DType("int32", np.int32, "i32", INT, "i32")
int64 = DType("int64", np.int64, "i64", INT, "i64")
uint8 = DType("uint8", np.uint8, "i8", INT, "u8", is_signed=False)
bool_ = DType("bool", np.bool_, "i1", BOOL, "i1", is_signed=False)

half, double, float_ = float16, float64, float32
short, int_, long = int16, int32, int64

ALL = (float32, float16, bfloat16, float64, int8, int16, int32, int64, uint8, bool_)
_BY_NAME = {d.name: d for d in ALL}
_BY_NP = {d.np: d for d in ALL if d.np is not None}

# PyTorch's promotion lattice among same-category types (by rank within category).
_FLOAT_RANK = {float16: 1, bfloat16: 1, float32: 2, float64: 3}


def from_name(name: str) -> DType:
    return _BY_NAME[name]


def from_numpy(np_dtype) -> DType:
    np_dtype = np.dtype(np_dtype)
    try:
        return _BY_NP[np_dtype]
    except KeyError:
        if np_dtype == np.uint16 or np_dtype == np.uint32 or np_dtype == np.uint64:
            raise TypeError(f"can't convert np.ndarray of type numpy.{np_dtype}. The only "
                            "supported types are: float64, float32, float16, int64, int32, "
                            "int16, int8, uint8, and bool.")
        raise TypeError(f"irgrad has no dtype for numpy.{np_dtype}")


def as_dtype(obj) -> DType:
    """Accept an irgrad dtype, a NumPy dtype/type, a Python type or a torch-style name.

    Python's `float` means float64 and `int` int64, as in PyTorch (`dtype=float`).
    """
    if isinstance(obj, DType):
        return obj
    if obj is float:
        return float64
    if obj is int:
        return int64
    if obj is bool:
        return bool_
    if isinstance(obj, str):
        name = obj.replace("torch.", "").replace("irgrad.", "")
        aliases = {"float": "float32", "double": "float64", "half": "float16", "long": "int64",
                   "int": "int32", "short": "int16", "bool": "bool"}
        return from_name(aliases.get(name, name))
    return from_numpy(obj)


def _promote_two(a: DType, b: DType) -> DType:
    if a is b:
        return a
    if a.category != b.category:
        return a if a.category > b.category else b
    if a.category == FLOAT:
        ra, rb = _FLOAT_RANK[a], _FLOAT_RANK[b]
        if ra == rb:  # float16 with bfloat16
            return float32
        return a if ra > rb else b
    if a.category == INT:
        if a is uint8 or b is uint8:
            other = b if a is uint8 else a
            return int16 if other is int8 else other
        return a if a.bits > b.bits else b
    return a


def promote_types(a: DType, b: DType) -> DType:
    return _promote_two(as_dtype(a), as_dtype(b))


def scalar_dtype(value) -> DType:
    """The dtype a bare Python number gets when it stands alone (torch.tensor(value))."""
    if isinstance(value, bool) or isinstance(value, np.bool_):
        return bool_
    if isinstance(value, (int, np.integer)):
        return int64
    if isinstance(value, (float, np.floating)):
        return get_default_dtype()
    raise TypeError(f"expected a number, got {type(value).__name__}")


def result_type(operands) -> DType:
    """PyTorch's result_type over a mix of ("tensor", dtype, ndim) and Python scalars.

    Three tiers, each only able to raise the category of the result: tensors with dims, 0-d
    tensors, then Python scalars (which take the default dtype of their category).
    """
    dim_t = zero_t = None
    scalar_cat = -1
    for kind, dtype, ndim in operands:
        if kind == "scalar":
            scalar_cat = max(scalar_cat, dtype.category)
        elif ndim > 0:
            dim_t = dtype if dim_t is None else _promote_two(dim_t, dtype)
        else:
            zero_t = dtype if zero_t is None else _promote_two(zero_t, dtype)
    result = dim_t
    if zero_t is not None:
        if result is None or zero_t.category > result.category:
            result = zero_t
    if scalar_cat >= 0 and (result is None or scalar_cat > result.category):
        result = {BOOL: bool_, INT: int64, FLOAT: get_default_dtype()}[scalar_cat]
        if scalar_cat == FLOAT and dim_t is None and zero_t is None:
            result = get_default_dtype()
    return result


_default_float = [float32]


def get_default_dtype() -> DType:
    return _default_float[0]


def set_default_dtype(d) -> None:
    d = as_dtype(d)
    if d.category != FLOAT:
        raise TypeError("only floating-point types are supported as the default type")
    _default_float[0] = d


def finfo_eps(d: DType) -> float:
    return float(np.finfo(np.float32 if d is bfloat16 else d.np).eps) if d.np is not None or d is bfloat16 else 0.0


def numpy_dtype(d: DType):
    """The NumPy dtype used to hold values of `d` on the host (bfloat16 travels as float32)."""
    return np.dtype(np.float32) if d is bfloat16 else d.np
