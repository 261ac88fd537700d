"""Matrix products: one `contract` primitive and the PyTorch functions built on it.

`contract(a, b, spec="bik,bkj->bij")` is a two-operand einsum without repeated labels: every
label of an operand also appears in the other operand or in the output. That family is closed
under differentiation (the gradient for `a` is `contract(g, b, "out,b->a")`), so matmul,
transposed matmuls, batched products, outer products and einsum all have gradients that are
again contractions, to any order. The lowering picks `linalg.matmul` / `linalg.batch_matmul`
(always with explicit indexing maps, IREE.md crash 2) when the spec is a plain or transposed
(batched) matrix product, `linalg.contract` for other contractions, and a `linalg.generic`
for products without a summed label.

Public functions (matmul, mm, bmm, mv, dot, outer, addmm, linear, ...) reshape and broadcast
batch dims first, then record one contraction, following PyTorch's rank rules and messages.
Einsum lives in `einsum.py`.
"""
from __future__ import annotations

import functools

import numpy as np

from ...errors import fail
from .. import dtypes as dt
from ..node import make
from ..opdef import defop
from ..shapes import broadcast_pair
from .common import const, promote

# PyTorch's two spellings of dtype names, as its messages use them.
SCALAR_NAME = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char",
               "uint8": "Byte", "bool": "Bool"}
CPP_NAME = {"float32": "float", "float64": "double", "float16": "c10::Half",
            "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int",
            "int16": "short int", "int8": "signed char", "uint8": "unsigned char",
            "bool": "bool"}


def tname(d) -> str:
    return SCALAR_NAME[d.name]


# ---- the contract primitive ------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def parse_spec(spec: str):
    """"ab,bc->ac" -> ("ab", "bc", "ac")."""
    ins, out = spec.split("->")
    a, b = ins.split(",")
    return a, b, out


def _contract_rule(inputs, attrs):
    a, b = inputs
    la, lb, lo = parse_spec(attrs["spec"])
    if a.dtype is not b.dtype or a.dtype is dt.bool_:
        raise TypeError(f"internal: contract needs one non-bool dtype, got {a.dtype.name} and "
                        f"{b.dtype.name}")
    if len(la) != a.ndim or len(lb) != b.ndim:
        raise TypeError(f"internal: contract spec {attrs['spec']} for shapes {a.shape}, {b.shape}")
    sizes = {}
    for labels, shape in ((la, a.shape), (lb, b.shape)):
        if len(set(labels)) != len(labels):
            raise TypeError(f"internal: repeated label in contract spec {attrs['spec']}")
        for c, s in zip(labels, shape):
            if sizes.setdefault(c, s) != s:
                raise TypeError(f"internal: label {c} has sizes {sizes[c]} and {s}")
    for c in la:
        if c not in lb and c not in lo:
            raise TypeError(f"internal: label {c} of the first operand is never used")
    for c in lb:
        if c not in la and c not in lo:
            raise TypeError(f"internal: label {c} of the second operand is never used")
    if len(set(lo)) != len(lo) or any(c not in sizes for c in lo):
        raise TypeError(f"internal: bad output labels in {attrs['spec']}")
    return a.dtype, tuple(sizes[c] for c in lo)


def _contract_ref(a, b, spec):
    out_dtype = a.dtype
    if a.dtype.kind == "f":
        a, b = a.astype(np.float64), b.astype(np.float64)
    return np.asarray(np.einsum(spec, a, b)).astype(out_dtype)


def _contract_grad(g, n):
    a, b = n.inputs
    la, lb, lo = parse_spec(n.attrs["spec"])
    return (contract(g, b, f"{lo},{lb}->{la}"), contract(a, g, f"{la},{lo}->{lb}"))


def _classify(la, lb, lo):
    """Label roles: batch (a, b, out), m (a, out), n (b, out), k (a, b: summed)."""
    batch = [c for c in lo if c in la and c in lb]
    m = [c for c in lo if c in la and c not in lb]
    n = [c for c in lo if c in lb and c not in la]
    k = [c for c in la if c in lb and c not in lo]
    return batch, m, n, k


def _convert(L, value, shape, src, dst):
    """Elementwise dtype conversion of a tensor value (one generic)."""
    R = len(shape)
    S = L.scalar(src, dst)
    return L.generic([value], [L.empty(shape, dst)], [L.identity_map(R)] * 2,
                     ["parallel"] * R, lambda x, o: S.cast(x, src, dst))


def _contract_lower(L, node, ops):
    a, b = node.inputs
    la, lb, lo = parse_spec(node.attrs["spec"])
    dtype = node.dtype
    acc = dt.float32 if dtype in (dt.float16, dt.bfloat16) else dtype
    x, y = ops
    if acc is not dtype:  # accumulate half-precision products in float32, like PyTorch's CPU
        x = _convert(L, x, a.shape, dtype, acc)
        y = _convert(L, y, b.shape, dtype, acc)
    batch, m, n, k = _classify(la, lb, lo)
    size = dict(zip(la, a.shape))
    size.update(zip(lb, b.shape))
    if any(size[c] == 0 for c in k) or 0 in node.shape:
        # an empty sum is zero; IREE's matmul tiling divides by zero on a K = 0 matmul
        return L.full(node.shape, dtype, 0)
    order = list(lo) + k  # iteration dims: output labels, then summed labels
    R = len(order)

    def amap(labels):
        return L.affine_map(R, [L.dim(order.index(c)) for c in labels])

    maps = [amap(la), amap(lb), amap(lo)]
    S = L.scalar(acc)
    if not k:
        out = L.generic([x, y], [L.empty(node.shape, acc)], maps, ["parallel"] * R,
                        lambda p, q, o: S.mul(p, q))
    else:
        init = L.full(node.shape, acc, 0)
        lead = "".join(batch)
        single = len(m) == len(n) == len(k) == 1
        if single and lo == lead + n[0] + m[0]:
            # C = B^T-shaped product (e.g. a weight gradient): swap the operands, which
            # multiply commutatively, so it is still a (batch) matmul
            x, y, maps = y, x, [maps[1], maps[0], maps[2]]
            la, lb, m, n = lb, la, n, m
        plain = single and lo == lead + m[0] + n[0]
        if plain and not batch:
            out = L.linalg.matmul(x, y, outs=[init], indexing_maps=maps)
        elif plain and len(batch) == 1 and la[0] == lb[0] == batch[0]:
            out = L.linalg.batch_matmul(x, y, outs=[init], indexing_maps=maps)
        else:
            out = L.linalg.contract(x, y, outs=[init], indexing_maps=maps)
    if acc is not dtype:
        out = _convert(L, out, node.shape, acc, dtype)
    return out


def _contract_samples(rng):
    f = lambda *s: rng.standard_normal(s).astype(np.float32)  # noqa: E731
    return [([f(3, 4), f(4, 5)], {"spec": "ik,kj->ij"}),
            ([f(4, 3), f(5, 4)], {"spec": "ki,jk->ij"}),
            ([f(2, 3, 4), f(2, 4, 5)], {"spec": "bik,bkj->bij"}),
            ([f(5, 3), f(5, 4)], {"spec": "ik,ij->jk"}),
            ([f(2, 5, 3), f(2, 5, 4)], {"spec": "bik,bij->bjk"}),
            ([f(2, 4, 3), f(2, 5, 4)], {"spec": "bki,bjk->bij"}),
            ([f(2, 3, 4), f(4, 2, 5)], {"spec": "bik,kbj->jbi"}),
            ([f(3, 4), f(4)], {"spec": "ik,k->i"}),
            ([f(5), f(5)], {"spec": "k,k->"}),
            ([f(3), f(4)], {"spec": "i,j->ij"}),
            ([f(2, 3), f()], {"spec": "ij,->ji"}),
            ([f(2, 3, 4), f(3, 4)], {"spec": "bij,ij->b"}),
            ([f(0, 3), f(3, 2)], {"spec": "ik,kj->ij"}),
            ([f(2, 0), f(0, 3)], {"spec": "ik,kj->ij"}),
            ([rng.integers(-4, 5, (3, 4)), rng.integers(-4, 5, (4, 2))], {"spec": "ik,kj->ij"}),
            ([rng.integers(-4, 5, (2, 3, 4)).astype(np.int32),
              rng.integers(-4, 5, (2, 4, 2)).astype(np.int32)], {"spec": "bik,bkj->bij"}),
            ([f(3, 8).astype(np.float16), f(8, 2).astype(np.float16)], {"spec": "ik,kj->ij"}),
            ([f(3, 4).astype(np.float64), f(4, 2).astype(np.float64)], {"spec": "ik,kj->ij"})]


defop("contract", infer=_contract_rule, reference=_contract_ref, lower=_contract_lower,
      grad=_contract_grad, samples=_contract_samples,
      doc="Two-operand einsum without repeated labels; attrs['spec'] like 'ik,kj->ij'.")


def contract(a, b, spec: str):
    """Record a contraction (operands must already share one dtype)."""
    return make("contract", (a, b), spec=spec)


# ---- helpers for the public functions ----------------------------------------------------------

def _reshape(x, shape):
    from .movement import reshape
    return reshape(x, tuple(shape))


def _expand(x, shape):
    from .movement import expand
    return expand(x, tuple(shape))


def _mm_shapes_fail(a_shape, b_shape):
    fail(RuntimeError, f"mat1 and mat2 shapes cannot be multiplied ({a_shape[0]}x{a_shape[1]} "
                       f"and {b_shape[0]}x{b_shape[1]})")


def _not_bool(x, kernel):
    if x.dtype is dt.bool_:
        fail(NotImplementedError, f"\"{kernel}\" not implemented for 'Bool'")


def _check_mm_dtypes(a, b):
    if a.dtype is not b.dtype:
        fail(RuntimeError, f"expected m1 and m2 to have the same dtype, but got: "
                           f"{CPP_NAME[a.dtype.name]} != {CPP_NAME[b.dtype.name]}")
    _not_bool(a, "addmm_impl_cpu_")


def _mm2(a, b):
    """(n, k) @ (k, m) after the shape and dtype checks."""
    if a.shape[1] != b.shape[0]:
        _mm_shapes_fail(a.shape, b.shape)
    _check_mm_dtypes(a, b)
    return contract(a, b, "ik,kj->ij")


def _need_dim(x, ndim, msg):
    if x.ndim != ndim:
        fail(RuntimeError, msg)


# ---- public matrix products -----------------------------------------------------------------

def dot(a, b):
    if a.ndim != 1 or b.ndim != 1:
        fail(RuntimeError, f"1D tensors expected, but got {a.ndim}D and {b.ndim}D tensors")
    if a.dtype is not b.dtype:
        fail(RuntimeError, f"dot : expected both vectors to have same dtype, but found "
                           f"{tname(a.dtype)} and {tname(b.dtype)}")
    if a.shape[0] != b.shape[0]:
        fail(RuntimeError, f"inconsistent tensor size, expected tensor [{a.shape[0]}] and src "
                           f"[{b.shape[0]}] to have the same number of elements, but got "
                           f"{a.shape[0]} and {b.shape[0]} elements respectively")
    _not_bool(a, "dot")
    return contract(a, b, "k,k->")


def mv(a, v):
    if a.ndim != 2 or v.ndim != 1:
        fail(RuntimeError, f"vector + matrix @ vector expected, got 1, {a.ndim}, {v.ndim}")
    if a.shape[1] != v.shape[0]:
        fail(RuntimeError, f"size mismatch, got input ({a.shape[0]}), mat "
                           f"({a.shape[0]}x{a.shape[1]}), vec ({v.shape[0]})")
    if a.dtype is not v.dtype:
        fail(RuntimeError, f"addmv input tensors must have the same dtype, but got "
                           f"{tname(v.dtype)}, {tname(a.dtype)}, and {tname(v.dtype)}")
    _not_bool(a, "addmv_impl_cpu")
    return contract(a, v, "ik,k->i")


def mm(a, b):
    _need_dim(a, 2, "self must be a matrix")
    _need_dim(b, 2, "mat2 must be a matrix")
    return _mm2(a, b)


def _bmm3(a, b):
    """(B, n, k) @ (B, k, m), both already 3-D with equal batch sizes."""
    if b.shape[:2] != (a.shape[0], a.shape[2]):
        fail(RuntimeError, f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    if a.dtype is not b.dtype:
        fail(RuntimeError, f"expected scalar type {tname(a.dtype)} but found {tname(b.dtype)}")
    _not_bool(a, "bmm")
    return contract(a, b, "bik,bkj->bij")


def bmm(a, b):
    _need_dim(a, 3, "batch1 must be a 3D tensor")
    _need_dim(b, 3, "batch2 must be a 3D tensor")
    if a.shape[0] != b.shape[0]:
        fail(RuntimeError, f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{a.shape[0]}, {a.shape[2]}] but got: [{b.shape[0]}, {b.shape[1]}].")
    return _bmm3(a, b)


def matmul(a, b):
    ra, rb = a.ndim, b.ndim
    if ra == 0 or rb == 0:
        fail(RuntimeError, f"both arguments to matmul need to be at least 1D, but they are "
                           f"{ra}D and {rb}D")
    if ra == 1 and rb == 1:
        return dot(a, b)
    if rb == 1:  # (..., n, k) @ (k,): fold the batch into rows of one matrix-vector product
        rows = _reshape(a, (-1, a.shape[-1])) if ra > 2 else a
        return _reshape(mv(rows, b), a.shape[:-1])
    if rb == 2:  # (..., k) @ (k, m): fold every leading dim of a into rows
        rows = _reshape(a, (-1, a.shape[-1])) if ra != 2 else a
        return _reshape(_mm2(rows, b), a.shape[:-1] + (b.shape[1],))
    a2 = _reshape(a, (1,) + a.shape) if ra == 1 else a
    batch = broadcast_pair(a2.shape[:-2], b.shape[:-2])
    nb = 1
    for s in batch:
        nb *= s
    a3 = _reshape(_expand(a2, batch + a2.shape[-2:]), (nb,) + a2.shape[-2:])
    b3 = _reshape(_expand(b, batch + b.shape[-2:]), (nb,) + b.shape[-2:])
    out = _bmm3(a3, b3)
    tail = (b.shape[-1],) if ra == 1 else (a.shape[-2], b.shape[-1])
    return _reshape(out, batch + tail)


def outer(a, b):
    for name, x in (("self", a), ("vec2", b)):
        if x.ndim != 1:
            fail(RuntimeError, f"outer: Expected 1-D argument {name}, but got {x.ndim}-D")
    _, (x, y) = promote(a, b)
    if x.dtype is dt.bool_:
        from .elementwise import mul
        return mul(_reshape(x, (x.shape[0], 1)), y)
    return contract(x, y, "i,j->ij")


def inner(a, b):
    if a.dtype is not b.dtype:
        fail(RuntimeError, "both inputs should have same dtype")
    if a.ndim == 0 or b.ndim == 0:
        from .elementwise import mul
        return mul(a, b)
    if a.shape[-1] != b.shape[-1]:
        fail(RuntimeError, f"inner() the last dimension must match on both input tensors but "
                           f"got shapes {list(a.shape)} and {list(b.shape)}")
    return tensordot(a, b, ([a.ndim - 1], [b.ndim - 1]))


def _scaled(x, s):
    from .elementwise import mul
    if x.dtype.category != dt.FLOAT:
        s = int(s)
    return x if s == 1 else mul(x, const(s, x.dtype))


def _add_scaled(inp, prod, beta, alpha):
    """beta * inp + alpha * prod; beta == 0 ignores inp (NaNs in it do not propagate)."""
    from .elementwise import add
    out = _scaled(prod, alpha)
    if beta == 0:
        _expand(inp, out.shape)  # still checks that inp broadcasts, like PyTorch
        return out
    if inp.dtype is not prod.dtype:
        fail(RuntimeError, f"self and mat2 must have the same dtype, but got "
                           f"{tname(inp.dtype)} and {tname(prod.dtype)}")
    _expand(inp, out.shape)
    return add(_scaled(inp, beta), out)


def addmm(input, mat1, mat2, *, beta=1, alpha=1):
    _need_dim(mat1, 2, "mat1 must be a matrix, got " f"{mat1.ndim}-D tensor")
    _need_dim(mat2, 2, "mat2 must be a matrix, got " f"{mat2.ndim}-D tensor")
    if mat1.dtype is not mat2.dtype:
        fail(RuntimeError, f"mat1 and mat2 must have the same dtype, but got "
                           f"{tname(mat1.dtype)} and {tname(mat2.dtype)}")
    if mat1.shape[1] != mat2.shape[0]:
        _mm_shapes_fail(mat1.shape, mat2.shape)
    _not_bool(mat1, "addmm_impl_cpu_")
    return _add_scaled(input, contract(mat1, mat2, "ik,kj->ij"), beta, alpha)


def addmv(input, mat, vec, *, beta=1, alpha=1):
    return _add_scaled(input, mv(mat, vec), beta, alpha)


def baddbmm(input, batch1, batch2, *, beta=1, alpha=1):
    return _add_scaled(input, bmm(batch1, batch2), beta, alpha)


def addbmm(input, batch1, batch2, *, beta=1, alpha=1):
    from .reduce import sum as reduce_sum
    prod = bmm(batch1, batch2)
    return _add_scaled(input, reduce_sum(prod, 0, dtype=prod.dtype), beta, alpha)


def linear(x, w, b=None):
    """F.linear: x @ w.T + b, with x's leading dims folded into the rows of one matmul."""
    if w.ndim > 2:
        fail(RuntimeError, f"t() expects a tensor with <= 2 dimensions, but self is {w.ndim}D")
    if w.ndim < 2 or x.ndim == 0:
        from .elementwise import add
        out = matmul(x, w)
        return out if b is None else add(out, b)
    rows = _reshape(x, (-1, x.shape[-1])) if x.ndim != 2 else x
    if b is not None and x.dtype is not w.dtype:
        fail(RuntimeError, f"mat1 and mat2 must have the same dtype, but got "
                           f"{tname(x.dtype)} and {tname(w.dtype)}")
    if rows.shape[1] != w.shape[1]:
        _mm_shapes_fail(rows.shape, (w.shape[1], w.shape[0]))
    _check_mm_dtypes(x, w)
    out = contract(rows, w, "ik,jk->ij")
    out = _reshape(out, x.shape[:-1] + (w.shape[0],))
    if b is None:
        return out
    if b.dtype is not out.dtype:
        fail(RuntimeError, f"self and mat2 must have the same dtype, but got "
                           f"{tname(b.dtype)} and {tname(w.dtype)}")
    from .elementwise import add
    return add(out, _expand(b, out.shape))


def tensordot(a, b, dims=2, out=None):
    if a.dtype is not b.dtype:
        fail(RuntimeError, "both inputs should have same dtype")
    if isinstance(dims, int):
        if dims < 0:
            fail(RuntimeError, f"tensordot expects dims >= 0, but got dims={dims}")
        if dims > min(a.ndim, b.ndim):
            fail(RuntimeError, f"tensordot expects dims < ndim_a or ndim_b, but got dims={dims}")
        da, db = list(range(a.ndim - dims, a.ndim)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else [int(getattr(d, "item", lambda: d)()) for d in da]
        db = [db] if isinstance(db, int) else [int(getattr(d, "item", lambda: d)()) for d in db]
        if len(da) != len(db):
            fail(RuntimeError, "both dimension lists should have same length")
    from ..shapes import normalize_dim
    da = [normalize_dim(d, a.ndim) for d in da]
    db = [normalize_dim(d, b.ndim) for d in db]
    for i, j in zip(da, db):
        if a.shape[i] != b.shape[j]:
            fail(RuntimeError, f"contracted dimensions need to match, but first has size "
                               f"{a.shape[i]} in dim {i} and second has size {b.shape[j]} in "
                               f"dim {j}")
    letters = iter("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")
    la = [next(letters) for _ in range(a.ndim)]
    lb = [next(letters) for _ in range(b.ndim)]
    for i, j in zip(da, db):
        lb[j] = la[i]
    lo = [c for i, c in enumerate(la) if i not in da] + [c for j, c in enumerate(lb)
                                                           if j not in db]
    from .einsum import einsum_labels
    return einsum_labels([a, b], ["".join(la), "".join(lb)], "".join(lo))


def kron(a, b):
    from .elementwise import mul
    nd = max(a.ndim, b.ndim)
    a = _reshape(a, (1,) * (nd - a.ndim) + a.shape)
    b = _reshape(b, (1,) * (nd - b.ndim) + b.shape)
    ea = _reshape(a, tuple(s for sa in a.shape for s in (sa, 1)))
    eb = _reshape(b, tuple(s for sb in b.shape for s in (1, sb)))
    return _reshape(mul(ea, eb), tuple(sa * sb for sa, sb in zip(a.shape, b.shape)))


def trace(x):
    if x.ndim != 2:
        fail(RuntimeError, f"trace: expected a matrix, but got tensor with dim {x.ndim}")
    _not_bool(x, "trace")
    from .einsum import diagonal_mask
    from .reduce import sum as reduce_sum
    d = x.dtype if x.dtype.category == dt.FLOAT else dt.int64
    return reduce_sum(diagonal_mask(x, 0, 1), dtype=d)


def vdot(a, b):
    return dot(a, b)


def _einsum(*args):
    from .einsum import einsum
    return einsum(*args)


EXPORTS = [
    ("matmul", matmul, "fm"), ("mm", mm, "fm"), ("bmm", bmm, "fm"), ("mv", mv, "fm"),
    ("dot", dot, "fm"), ("vdot", vdot, "fm"), ("inner", inner, "fm"), ("outer", outer, "fm"),
    ("ger", outer, "fm"), ("addmm", addmm, "fmi"), ("addmv", addmv, "fmi"),
    ("baddbmm", baddbmm, "fmi"), ("addbmm", addbmm, "fmi"), ("tensordot", tensordot, "f"),
    ("kron", kron, "fm"), ("trace", trace, "fm"), ("einsum", _einsum, "f"),
]
