"""Fuse chains of elementwise ops into single `fused` nodes (one linalg.generic each).

A node joins its consumer's kernel when it is elementwise, has the consumer's shape, is not
a graph output and all its uses are by that one consumer (so nothing is computed twice and
nothing needed elsewhere disappears). Smaller-shaped operands stay external inputs that
broadcast through index maps. networkx is not needed here: the use counts and one reverse
topological sweep decide the groups.

Kernels are bounded (MAX_KERNEL_INPUTS external inputs, MAX_KERNEL_OPS instructions): a
dispatch may bind at most 64 buffers at run time, and very long scalar bodies compile
slowly. `limit_fanin` then keeps IREE's own fusion of our kernels within the same bound by
placing `barrier` nodes where the buffers one dispatch would read pile up.
"""
from __future__ import annotations

from collections import defaultdict

from ..ir.node import rebuild
from .rewrite import rebuild_graph


MAX_KERNEL_INPUTS = 16
MAX_KERNEL_OPS = 64
MAX_DISPATCH_INPUTS = 24


def _fusible(n) -> bool:
    return n.opdef.scalar is not None and not n.opdef.is_source and bool(n.inputs)


def fuse_elementwise(graph):
    input_ids = {id(n) for n in graph.inputs}
    consumers = defaultdict(set)
    for n in graph.nodes:
        if id(n) in input_ids:
            continue
        for x in n.inputs:
            consumers[id(x)].add(id(n))
    output_ids = {id(o) for o in graph.outputs}
    by_id = {id(n): n for n in graph.nodes}
    group_of: dict = {}  # node id -> root id
    group_ext: dict = {}  # root id -> ids of the group's external inputs
    group_size: dict = {}
    for n in reversed(graph.nodes):
        if id(n) in input_ids or not _fusible(n):
            continue
        root = id(n)
        users = consumers.get(id(n), ())
        if len(users) == 1 and id(n) not in output_ids:
            (u,) = users
            if u in group_of and by_id[group_of[u]].shape == n.shape:
                r = group_of[u]
                ext = (group_ext[r] - {id(n)}) | {id(x) for x in n.inputs}
                if len(ext) <= MAX_KERNEL_INPUTS and group_size[r] < MAX_KERNEL_OPS:
                    root = r
                    group_ext[r] = ext
                    group_size[r] += 1
        if root == id(n):
            group_ext[root] = {id(x) for x in n.inputs}
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
        if len(group) < 2:
            ins = tuple(mapping[id(x)] for x in n.inputs)
            mapping[id(n)] = n if all(a is b for a, b in zip(ins, n.inputs)) else rebuild(n, ins)
            continue
        mapping[id(n)] = _build_fused(group, mapping)
    return rebuild_graph(graph.inputs, [mapping[id(o)] for o in graph.outputs])


def _build_fused(group, mapping):
    pos = {id(m): j for j, m in enumerate(group)}
    ext, ext_pos, program = [], {}, []
    for m in group:
        refs = []
        for x in m.inputs:
            if id(x) in pos:
                refs.append(("t", pos[id(x)]))
            else:
                if id(x) not in ext_pos:
                    ext_pos[id(x)] = len(ext)
                    ext.append(mapping[id(x)])
                refs.append(("x", ext_pos[id(x)]))
        in_dtype = m.inputs[0].dtype.name
        program.append((m.op, tuple(sorted(m.attrs.items())), in_dtype, m.dtype.name,
                        tuple(refs)))
    root = group[-1]
    return rebuild(root, ext, op="fused",
                   attrs={"program": tuple(program), "shape": root.shape,
                          "dtype": root.dtype.name})


def _elementwise(n) -> bool:
    return n.op == "fused" or (n.opdef.scalar is not None and not n.opdef.is_source)


def limit_fanin(graph):
    """Insert barriers so no chain of elementwise kernels reads more than
    MAX_DISPATCH_INPUTS distinct buffers (IREE fuses such chains into one dispatch)."""
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
