"""Fuse chains of elementwise ops into kernels: `fused` nodes (one elementwise
linalg.generic each) and `fused_reduce` nodes (a reduction together with the elementwise
chain that produces its input: one generic with reduction iterators).

A node joins its consumer's kernel when it is elementwise, has the kernel's iteration shape
(the consumer's shape, or the reduced input's shape for a reduction), is not a graph output
and all its uses are by that one consumer (so nothing needed elsewhere disappears). A node
of a smaller shape that broadcasts into the kernel joins too when its op is CHEAP: it is
then recomputed per element, which costs less than a dispatch and a buffer. Operands that
stay outside are kernel inputs read through index maps: smaller shapes broadcast, and
`expand`, `permute` and unit-dim `reshape` nodes in front of a kernel are folded into the
maps (passes/maps.py) instead of being materialized. networkx is not needed here: the use
counts and one reverse topological sweep decide the groups.

Kernels are bounded (MAX_KERNEL_INPUTS external inputs, MAX_KERNEL_OPS instructions): a
dispatch may bind at most 32 buffers at run time, and very long scalar bodies compile
slowly. `limit_fanin` then keeps IREE's own fusion of our kernels within the same bound by
placing `barrier` nodes where the buffers one dispatch would read pile up.
"""
from __future__ import annotations

from collections import defaultdict

from ..ir.node import rebuild
from ..ir.ops.fused import REDUCE_KINDS
from .maps import broadcast, resolve
from .rewrite import rebuild_graph


MAX_KERNEL_INPUTS = 16
MAX_KERNEL_OPS = 64
MAX_DISPATCH_INPUTS = 24


# Ops cheap enough to recompute at every element of a kernel whose shape they broadcast
# into (a few integer/float instructions each): e.g. logsumexp's shift of the row maxima
# (where(max == inf, 0, max)) then runs inside the reduction instead of as its own dispatch.
CHEAP = frozenset({"add", "sub", "mul", "neg", "abs", "maximum", "minimum", "fmax", "fmin",
                   "clamp_max", "clamp_min", "where", "eq", "ne", "lt", "le", "gt", "ge",
                   "cast", "clone", "detach", "relu", "sign", "signbit", "bitwise_and",
                   "bitwise_or", "bitwise_xor", "bitwise_not"})


def _broadcasts_into(shape, kshape) -> bool:
    off = len(kshape) - len(shape)
    return off >= 0 and all(s == 1 or s == kshape[off + i] for i, s in enumerate(shape))


def _fusible(n) -> bool:
    return n.opdef.scalar is not None and not n.opdef.is_source and bool(n.inputs)


# Devices whose IREE backend compiles fused reductions. IREE 3.13's GPU backends fail on
# some ("failed to distribute" for sum(x * c), "failed to get neutral element" for
# sum(-x), cross-compiled for CUDA) that they compile when the elementwise producer is a
# separate op, so GPU graphs keep reductions unfused.
REDUCE_DEVICES = (None, "cpu")


def _reduction(n) -> bool:
    """A reduction primitive a `fused_reduce` can replace exactly: it combines in its own
    dtype (reduce.py casts before reducing where PyTorch accumulates wider), so the kernel
    computes the same values in the same dtype."""
    return (n.op in REDUCE_KINDS and len(n.inputs) == 1 and n.dtype is n.inputs[0].dtype
            and "dims" in n.attrs and n.device in REDUCE_DEVICES)


def fuse_elementwise(graph):
    input_ids = {id(n) for n in graph.inputs}
    stop = lambda n: id(n) in input_ids  # noqa: E731

    def key(x, kshape):  # an external input as the kernel reads it
        base, m = resolve(x, kshape, stop)
        return id(base), m

    consumers = defaultdict(set)
    for n in graph.nodes:
        if id(n) in input_ids:
            continue
        for x in n.inputs:
            consumers[id(x)].add(id(n))
    output_ids = {id(o) for o in graph.outputs}
    group_of: dict = {}  # node id -> root id
    group_ext: dict = {}  # root id -> external input keys
    group_size: dict = {}  # root id -> instructions
    group_shape: dict = {}  # root id -> the kernel's iteration shape
    for n in reversed(graph.nodes):
        if id(n) in input_ids:
            continue
        if _reduction(n):
            r = id(n)
            group_of[r], group_shape[r] = r, n.inputs[0].shape
            group_ext[r], group_size[r] = {key(n.inputs[0], n.inputs[0].shape)}, 0
            continue
        if not _fusible(n):
            continue
        root = id(n)
        users = consumers.get(id(n), ())
        if len(users) == 1 and id(n) not in output_ids:
            (u,) = users
            r = group_of.get(u)
            if r is not None and (group_shape[r] == n.shape or (
                    n.op in CHEAP and _broadcasts_into(n.shape, group_shape[r]))):
                k = group_shape[r]
                ext = (group_ext[r] - {(id(n), None)}) | {key(x, k) for x in n.inputs}
                if len(ext) <= MAX_KERNEL_INPUTS and group_size[r] < MAX_KERNEL_OPS:
                    root = r
                    group_ext[r] = ext
                    group_size[r] += 1
        if root == id(n):
            group_shape[root] = n.shape
            group_ext[root] = {key(x, n.shape) for x in n.inputs}
            group_size[root] = 1
        group_of[id(n)] = root
    members = defaultdict(list)
    for n in graph.nodes:
        if id(n) in group_of:
            members[group_of[id(n)]].append(n)
    mapping: dict = {id(n): n for n in graph.inputs}
    for n in graph.nodes:
        if id(n) in input_ids:
            continue
        root = group_of.get(id(n))
        if root is not None and root != id(n):
            continue  # built as part of its root's kernel
        group = members.get(root, [n]) if root is not None else [n]
        new = None
        if root is not None and (len(group) > 1 or _folds_movement(n, group_shape[root], stop)):
            new = _build_kernel(group, group_shape[root], mapping, stop)
        if new is None:
            ins = tuple(mapping[id(x)] for x in n.inputs)
            new = n if all(a is b for a, b in zip(ins, n.inputs)) else rebuild(n, ins)
        mapping[id(n)] = new
    return rebuild_graph(graph.inputs, [mapping[id(o)] for o in graph.outputs])


def _folds_movement(n, kshape, stop) -> bool:
    """Whether a lone op has an operand that a kernel would read through a movement node."""
    xs = n.inputs if not _reduction(n) else n.inputs[:1]
    return any(resolve(x, kshape, stop)[0] is not x for x in xs)


def _build_kernel(group, kshape, mapping, stop):
    root = group[-1]
    if not _reduction(root):
        return _kernel(group, kshape, mapping, stop)
    body = group[:-1]
    if body and _contraction_hazard(body, root, kshape, stop):
        # Keep the product materialized, as without this pass (see _contraction_hazard).
        x = _kernel(body, kshape, mapping, stop) if len(body) > 1 else rebuild(
            body[0], [mapping[id(i)] for i in body[0].inputs])
        return rebuild(root, (x,))
    return _kernel(group, kshape, mapping, stop)


def _kernel(group, kshape, mapping, stop):
    """One `fused` node for an elementwise group, or one `fused_reduce` node for a
    reduction (the group's last node) and its elementwise producers."""
    root = group[-1]
    reduce = _reduction(root)
    body = group[:-1] if reduce else group
    pos = {id(m): j for j, m in enumerate(body)}
    ext, ext_pos, maps, program = [], {}, [], []

    def ref(x):
        if id(x) in pos:
            return ("t", pos[id(x)])
        base, m = resolve(x, kshape, stop)
        k = (id(base), m)
        if k not in ext_pos:
            ext_pos[k] = len(ext)
            ext.append(mapping[id(base)])
            maps.append(m)
        return ("x", ext_pos[k])

    for m in body:
        refs = tuple(ref(x) for x in m.inputs)
        program.append((m.op, tuple(sorted(m.attrs.items())), m.inputs[0].dtype.name,
                        m.dtype.name, refs))
    if not body:  # a reduction of a folded movement node: the kernel's value is its input
        d = root.dtype.name
        program.append(("clone", (), d, d, (ref(root.inputs[0]),)))
    attrs = {"program": tuple(program), "shape": tuple(kshape), "dtype": root.dtype.name}
    if any(m is not None for m in maps):
        attrs["maps"] = tuple(maps)
    if reduce:
        attrs.update(kind=root.op, dims=tuple(root.attrs["dims"]),
                     keepdim=bool(root.attrs["keepdim"]))
        return rebuild(root, ext, op="fused_reduce", attrs=attrs)
    return rebuild(root, ext, op="fused", attrs=attrs)


def _contraction_hazard(body, root, kshape, stop) -> bool:
    """IREE 3.13's CPU vectorizer turns `sum(a * b)` into a vector.contract and then fails
    ("invalid accumulator/result vector shape") for some tile sizes when the reduction runs
    over two or more dims and one factor depends on only some of them (e.g. a[i, k] * b[i, j,
    k] summed over i and j, at small sizes). Such a product is left outside the kernel."""
    last = body[-1]
    if root.op != "sum" or last.op != "mul":
        return False
    reduced = {d for d in root.attrs["dims"] if kshape[d] != 1}
    if len(reduced) < 2:
        return False
    pos = {id(m): j for j, m in enumerate(body)}
    dims: list = []  # the loop dims each body value depends on

    def read(x):
        if id(x) in pos:
            return dims[pos[id(x)]]
        base, m = resolve(x, kshape, stop)
        return {e for e in (m if m is not None else broadcast(base.shape, kshape))
                if e is not None}

    for m in body:
        dims.append(set().union(*(read(x) for x in m.inputs)))
    return any(0 < len(read(x) & reduced) < len(reduced) for x in last.inputs)


def _elementwise(n) -> bool:
    return n.op in ("fused", "fused_reduce") or (n.opdef.scalar is not None
                                                  and not n.opdef.is_source)


def limit_fanin(graph):
    """Insert barriers so no chain of elementwise kernels reads more than
    MAX_DISPATCH_INPUTS distinct buffers (IREE fuses such chains into one dispatch).
    A fused reduction counts as elementwise: IREE fuses producers into it and its
    elementwise consumers after it."""
    input_ids = {id(n) for n in graph.inputs}
    reach: dict = {}  # node id -> frozenset of buffer ids a fused dispatch would read
    mapping: dict = {id(n): n for n in graph.inputs}
    changed = False
    for n in graph.nodes:
        if id(n) in input_ids:
            reach[id(n)] = frozenset((id(n),))
            continue
        ins = [mapping[id(x)] for x in n.inputs]
        if _elementwise(n):
            total = frozenset().union(*(reach[id(x)] for x in ins)) if ins else frozenset()
            if len(total) > MAX_DISPATCH_INPUTS:
                new_ins = []
                for x in ins:
                    if _elementwise(x) and len(reach[id(x)]) > 1:
                        b = rebuild(x, (x,), op="barrier", attrs={})
                        reach[id(b)] = frozenset((id(b),))
                        new_ins.append(b)
                    else:
                        new_ins.append(x)
                ins = new_ins
                changed = True
                total = frozenset().union(*(reach[id(x)] for x in ins))
        else:
            total = frozenset((id(n),))
        same = all(a is b for a, b in zip(ins, n.inputs))
        new = n if same else rebuild(n, ins)
        reach[id(new)] = total if _elementwise(n) else frozenset((id(new),))
        mapping[id(n)] = new
    if not changed:
        return graph
    return rebuild_graph(graph.inputs, [mapping[id(o)] for o in graph.outputs])
