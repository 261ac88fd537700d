"""`einsum` with PyTorch's equation grammar, reduced to `contract`, `sum` and diagonal masks.

The equation is parsed as PyTorch parses it (spaces, `...`, implicit output in ASCII order,
the same error messages). Then, per operand, repeated labels become diagonals (multiply by an
identity mask and sum), size-1 dims that broadcast against a larger size are squeezed away
(so the label simply does not occur in that operand), and labels that no later step needs
are summed early. Operands are then contracted left to right with the `contract` primitive,
the last contraction writing the requested output order directly; a lone operand is permuted
by a contraction with a 0-d one. Every step is an ordinary op, so gradients come for free.
"""
from __future__ import annotations

from ...errors import fail
from .. import dtypes as dt
from ..node import Node
from .common import const
from .linalg import contract, tname

_LETTERS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def diagonal_mask(x, d1, d2):
    """x with every element off the (d1, d2) diagonal set to zero (d1 < d2)."""
    from .elementwise import mul
    from .movement import reshape
    from .source import eye
    shape = [1] * x.ndim
    shape[d1], shape[d2] = x.shape[d1], x.shape[d2]
    mask = eye(x.shape[d1], x.shape[d2], x.dtype, device=x.device or "cpu")
    return mul(x, reshape(mask, tuple(shape)))


def _sum(x, dims, dtype):
    from .reduce import sum as reduce_sum
    return reduce_sum(x, tuple(dims), dtype=dtype) if dims else x


def _parse(equation: str, operands):
    """Per-operand label lists (with "..." kept as one item) and the output list or None."""
    arrow = equation.find("->")
    lhs = equation if arrow < 0 else equation[:arrow]
    n = len(operands)
    subs, cur, dots, seen_ellipsis = [[]], 0, 0, False
    for i, ch in enumerate(lhs):
        if ch == " ":
            continue
        if ch == ".":
            if seen_ellipsis:
                fail(RuntimeError, f"einsum(): found '.' for operand {cur} for which an ellipsis "
                                   f"was already found")
            dots += 1
            if dots == 3:
                subs[-1].append("...")
                dots, seen_ellipsis = 0, True
            continue
        if dots:
            fail(RuntimeError, f"einsum(): found '.' for operand {cur} that is not part of any "
                               f"ellipsis")
        if ch == ",":
            cur += 1
            if cur >= n:
                fail(RuntimeError, "einsum(): fewer operands were provided than specified in "
                                   "the equation")
            subs.append([])
            seen_ellipsis = False
            continue
        if ch not in _LETTERS:
            fail(RuntimeError, f"einsum(): invalid subscript given at index {i} in the equation "
                               f"string, subscripts must be in [a-zA-Z]")
        subs[-1].append(ch)
    if dots:
        fail(RuntimeError, f"einsum(): found '.' for operand {cur} that is not part of any "
                           f"ellipsis")
    if cur < n - 1:
        fail(RuntimeError, "einsum(): more operands were provided than specified in the "
                           "equation")
    if arrow < 0:
        return subs, None
    out, dots, seen_ellipsis = [], 0, False
    for i, ch in enumerate(equation[arrow + 2:], start=arrow + 2):
        if ch == " ":
            continue
        if ch == ".":
            if seen_ellipsis:
                fail(RuntimeError, "einsum(): found '.' for output but an ellipsis (...) was "
                                   "already found")
            dots += 1
            if dots == 3:
                out.append("...")
                dots, seen_ellipsis = 0, True
            continue
        if dots or ch not in _LETTERS:
            if dots:
                fail(RuntimeError, "einsum(): found '.' for output that is not part of any "
                                   "ellipsis (...)")
            fail(RuntimeError, f"einsum(): invalid subscript given at index {i} in the equation "
                               f"string, subscripts must be in [a-zA-Z]")
        if ch in out:
            fail(RuntimeError, f"einsum(): output subscript {ch} appears more than once in the "
                               f"output")
        out.append(ch)
    if dots:
        fail(RuntimeError, "einsum(): found '.' for output that is not part of any ellipsis "
                           "(...)")
    return subs, out


def _expand_ellipsis(subs, operands, out):
    """Replace "..." by per-dim labels (right-aligned across operands); check ranks."""
    ell_rank = 0
    for i, (s, x) in enumerate(zip(subs, operands)):
        named = len([c for c in s if c != "..."])
        if "..." in s:
            if named > x.ndim:
                fail(RuntimeError, f"einsum(): the number of subscripts in the equation ({named})"
                                   f" is more than the number of dimensions ({x.ndim}) for "
                                   f"operand {i}")
            ell_rank = max(ell_rank, x.ndim - named)
        elif named != x.ndim:
            fail(RuntimeError, f"einsum(): the number of subscripts in the equation ({named}) "
                               f"does not match the number of dimensions ({x.ndim}) for operand "
                               f"{i} and no ellipsis was given")
    # Greek letters stand for ellipsis dims: they never clash with [a-zA-Z].
    ell = [chr(0x3B1 + j) for j in range(ell_rank)]
    labels = []
    for s, x in zip(subs, operands):
        row = []
        for c in s:
            if c == "...":
                k = x.ndim - (len(s) - 1)
                row.extend(ell[ell_rank - k:])
            else:
                row.append(c)
        labels.append(row)
    if out is None:
        counts = {}
        for row in labels:
            for c in row:
                counts[c] = counts.get(c, 0) + 1
        out = ell + sorted(c for c, k in counts.items() if k == 1 and c in _LETTERS)
    else:
        flat = {c for row in labels for c in row}
        for c in out:
            if c != "..." and c not in flat:
                fail(RuntimeError, f"einsum(): output subscript {c} does not appear in the "
                                   f"equation for any input operand")
        res = []
        for c in out:
            res.extend(ell if c == "..." else [c])
        out = res
    return labels, out


def einsum_labels(operands, labels, out):
    """Einsum on parsed labels (one character per dim; no ellipsis left)."""
    from .movement import reshape
    labels = [list(row) for row in labels]
    ops = list(operands)
    single = len(ops) == 1
    d0 = ops[0].dtype
    for x in ops[1:]:
        if x.dtype is not d0:
            fail(RuntimeError, f"expected scalar type {tname(d0)} but found {tname(x.dtype)}")
    if not single and d0 is dt.bool_:
        fail(NotImplementedError, "\"bmm\" not implemented for 'Bool'")
    sum_dtype = None if single else d0
    # 1. repeated labels within one operand -> diagonals
    for i, (x, row) in enumerate(zip(ops, labels)):
        j = 0
        while j < len(row):
            c = row[j]
            k = row.index(c, j + 1) if c in row[j + 1:] else -1
            if k < 0:
                j += 1
                continue
            if x.shape[k] != x.shape[j]:
                fail(RuntimeError, f"einsum(): subscript {c} is repeated for operand {i} but the "
                                   f"sizes don't match, {x.shape[k]} != {x.shape[j]}")
            x = _sum(diagonal_mask(x, j, k), (k,), x.dtype if not single else None)
            row.pop(k)
        ops[i] = x
    # 2. sizes, with size-1 dims broadcasting; squeeze those dims away
    size = {}
    for i, (x, row) in enumerate(zip(ops, labels)):
        for c, s in zip(row, x.shape):
            prev = size.get(c)
            if prev is None or prev == 1:
                size[c] = s
            elif s != 1 and s != prev:
                if c in _LETTERS:
                    fail(RuntimeError, f"einsum(): subscript {c} has size {s} for operand {i} "
                                       f"which does not broadcast with previously seen size "
                                       f"{prev}")
                fail(RuntimeError, f"einsum(): dimension {ord(c) - 0x3B1} covered by ellipsis in"
                                   f" operand {i}has size {s} which does not broadcast with "
                                   f"previously seen ellipsis with size {prev} for the "
                                   f"respective dimension")
    for i, (x, row) in enumerate(zip(ops, labels)):
        keep = [j for j, c in enumerate(row) if not (x.shape[j] == 1 and size[c] != 1)]
        if len(keep) != len(row):
            ops[i] = reshape(x, tuple(x.shape[j] for j in keep))
            labels[i] = [row[j] for j in keep]
    # 3. contract left to right
    x, lx = ops[0], labels[0]
    for i in range(1, len(ops)):
        y, ly = ops[i], labels[i]
        keep = set(out)
        for row in labels[i + 1:]:
            keep.update(row)
        x, lx = _drop(x, lx, set(ly) | keep, sum_dtype)
        y, ly = _drop(y, ly, set(lx) | keep, sum_dtype)
        if i == len(ops) - 1:
            lo = list(out)
        else:
            lo = ([c for c in lx if c in ly and c in keep] + [c for c in lx if c not in ly
                                                              and c in keep]
                  + [c for c in ly if c not in lx and c in keep])
        x = contract(x, y, f"{''.join(lx)},{''.join(ly)}->{''.join(lo)}")
        lx = lo
    x, lx = _drop(x, lx, set(out), sum_dtype)
    if lx != list(out):
        x = contract(x, const(1, x.dtype), f"{''.join(lx)},->{''.join(out)}")
    return x


def _drop(x, lx, needed, dtype):
    dims = [j for j, c in enumerate(lx) if c not in needed]
    if not dims:
        return x, lx
    return _sum(x, dims, dtype), [c for c in lx if c in needed]


def _sublist_equation(args):
    """einsum(op0, [0, 1], op1, [1, 2], [0, 2]) -> ("AB,BC->AC", [op0, op1])."""
    def letters(sub):
        out = []
        for s in sub:
            if s is Ellipsis:
                out.append("...")
            elif isinstance(s, int) and 0 <= s < 52:
                out.append(chr(ord("A") + s) if s < 26 else chr(ord("a") + s - 26))
            else:
                fail(ValueError, f"einsum(): expected subscript to be within the range [0, 52), "
                                 f"but got {s}")
        return "".join(out)
    ops, subs = list(args[0::2]), list(args[1::2])
    out = None
    if len(ops) > len(subs):  # the trailing item is the output sublist
        out = ops.pop()
    eq = ",".join(letters(s) for s in subs)
    if out is not None:
        eq += "->" + letters(out)
    return eq, ops


def einsum(equation, *operands):
    if not isinstance(equation, str):
        equation, operands = _sublist_equation((equation,) + tuple(operands))
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if not operands:
        fail(RuntimeError, "einsum(): must provide at least one operand")
    for x in operands:
        if not isinstance(x, Node):
            fail(TypeError, f"einsum(): argument 'operands' must be tuple of Tensors, not "
                            f"{type(x).__name__}")
    subs, out = _parse(equation, operands)
    labels, out = _expand_ellipsis(subs, operands, out)
    return einsum_labels(operands, labels, out)
