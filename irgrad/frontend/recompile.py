"""Why did this graph recompile? The `IRGRAD_LOG=recompile` explainer.

A graph's *call site* is the user's line of its first output node. Per call site we keep
the structural keys (`Graph.key`) and per-node user lines of the last few graphs compiled
there: tuples and strings, never nodes or buffers, so nothing is kept alive. On a later
memory-cache miss at that site, the new graph is aligned with the nearest earlier one and one
line says what changed, causes first (graph inputs whose type changed; changed ops and
attributes; added/removed ops and outputs), then how many nodes changed type as a result:

    [irgrad:recompile] graph for train.py:42 recompiled (compile #3 for this site): input %2
    shape (64, 784) -> (32, 784) (recorded at train.py:40); 14 nodes change shape as a result

`realize.executable_for` calls `note_miss` only while the topic is on.
"""
from __future__ import annotations

import collections

from .. import logs as log

MAX_GRAPHS = 8        # graphs remembered per call site
MAX_SITES = 256       # call sites remembered (least recently compiled dropped first)
MAX_CHARS = 420       # the differences part of a message
MAX_EDITS = 400       # beyond this many inserted/removed nodes, align by position

_sites: "collections.OrderedDict[tuple, list]" = collections.OrderedDict()


def note_miss(graph, device_name: str) -> None:
    """Record a graph about to be compiled; explain it if its site compiled others before."""
    if not graph.outputs:
        return
    site = graph.outputs[0].site
    site_key = (getattr(site, "file", "?"), getattr(site, "line", 0))
    entry = _sites.get(site_key)
    if entry is None:
        entry = _sites[site_key] = [0, collections.deque(maxlen=MAX_GRAPHS)]
        if len(_sites) > MAX_SITES:
            _sites.popitem(last=False)
    else:
        _sites.move_to_end(site_key)
    entry[0] += 1
    record = (graph.key, tuple(str(n.site) if n.site is not None else "?" for n in graph.nodes),
              device_name, entry[0])
    if entry[1]:
        try:
            text = explain(entry[1], record)
        except Exception as e:  # a diagnostic must never break the program it explains
            text = f"(no explanation: {type(e).__name__}: {e})"
        log.emit("recompile", f"graph for {site} recompiled (compile #{entry[0]} for this "
                              f"site): {text}")
    entry[1].append(record)


def explain(previous, record) -> str:
    """The differences between `record` and the nearest of `previous`, as one short text."""
    old = min(reversed(previous), key=lambda o: _distance(o, record))  # ties: the newest
    items, cascade = _diff(old, record)
    if not items and not cascade:
        return (f"same structure as compile #{old[3]} for this site (the in-memory cache "
                f"was cleared, e.g. after fork)")
    items.sort(key=lambda it: it[0])
    parts, used = [], 0
    for k, (_, text) in enumerate(items):
        if parts and used + len(text) > MAX_CHARS:
            parts.append(f"and {len(items) - k} more difference{'s' * (len(items) - k > 1)}")
            break
        parts.append(text)
        used += len(text) + 2
    if cascade:
        kinds = {c[0] for c in cascade}
        what = f"{len(cascade)} node{'s change' if len(cascade) > 1 else ' changes'} " + (
            kinds.pop() if len(kinds) == 1 else "type")
        parts.append(f"{what} as a result" if items else f"{what}, first {cascade[0][1]}")
    return "; ".join(parts)


def _distance(old, new) -> int:
    """A cheap, order-free count of differences: entries (with their operands' ops) that
    only one of the two graphs has. Picks the graph to compare with in linear time."""
    def entries(key):
        return collections.Counter(x if len(x) == 2 else x[:4] + tuple(
            key[p][0] if len(key[p]) > 2 else "" for p in x[4]) for x in key[:-1])
    a, b = entries(old[0]), entries(new[0])
    return (sum((a - b).values()) + sum((b - a).values()) + (old[2] != new[2])
            + (len(old[0][-1]) != len(new[0][-1])))


def _diff(old, new):
    """([(priority, text)], cascade) describing how graph `new` differs from `old`."""
    okey, osites, odev, _ = old
    nkey, nsites, ndev, _ = new
    onodes, nnodes = okey[:-1], nkey[:-1]
    items, cascade = [], []
    if odev != ndev:
        items.append((0, f"device {odev} -> {ndev}"))
    onum, nnum = _input_numbers(onodes), _input_numbers(nnodes)
    pairs, removed, inserted = _align(onodes, nnodes)
    o2n = dict(pairs)
    n2o = {j: i for i, j in pairs}
    subs = set()  # (old, new) value substitutions already explained, e.g. batch 64 -> 32
    attr_changes = []
    for i, j in pairs:
        a, b = onodes[i], nnodes[j]
        if len(a) == 2 and len(b) == 2:  # graph inputs: (dtype, shape)
            if a != b:
                subs.update(_leaf_pairs(a[1], b[1]) + [(a[0], b[0])] * (a[0] != b[0]))
                items.append((0, f"input %{nnum[j]} {_type_change(a, b)} (recorded at "
                                 f"{nsites[j]})"))
            continue
        typed = (a[2], a[3]) != (b[2], b[3])
        if a[0] != b[0]:
            items.append((1, f"op at {nsites[j]} changed: {a[0]} -> {b[0]}"))
        elif a[1] != b[1]:
            attr_changes.append((j, typed, a, b))
        elif typed:
            cascade.append(("shape" if a[2] == b[2] else "dtype" if a[3] == b[3] else "type",
                            f"{b[0]} at {nsites[j]} {_type_change(a[2:4], b[2:4])}"))
        if (a[0] == b[0] and all(x in o2n for x in a[4]) and all(x in n2o for x in b[4])
                and tuple(o2n[x] for x in a[4]) != b[4]):
            items.append((3, f"operands of {b[0]} at {nsites[j]} changed"))
    for j, typed, a, b in attr_changes:  # in graph order: causes come before effects
        o, n = dict(a[1]), dict(b[1])
        leaves = [p for k in set(o) | set(n) for p in _leaf_pairs(o.get(k, _UNSET),
                                                                    n.get(k, _UNSET))]
        if typed and subs.issuperset(leaves):  # e.g. expand/reshape to the new batch size
            cascade.append(("shape" if a[3] != b[3] else "dtype", f"{b[0]} at {nsites[j]}"))
            continue
        text = f"attr of {b[0]} at {nsites[j]}: {_attr_change(a[1], b[1])}"
        if b[0] == "const" and o.get("value") != n.get("value"):
            if subs:  # likely derived from the new shapes (a mean's count): list it last
                items.append((4, text))
                continue
            text += " (a Python number that changes is compiled in: pass a tensor)"
        subs.update(leaves)
        items.append((1, text))
    items.extend(_structure(onodes, osites, onum, removed, nnodes, nsites, nnum, inserted))
    ok, nk = okey[-1], nkey[-1]
    if len(ok) != len(nk):
        extra = [nnodes[p][0] + f" at {nsites[p]}" for p in nk if len(nnodes[p]) > 2
                 and p not in {o2n.get(q) for q in ok}]
        more = f" (new: {', '.join(extra[:2])})" if extra else ""
        items.append((2, f"outputs {len(ok)} -> {len(nk)}{more}"))
    elif all(p in n2o for p in nk) and tuple(o2n.get(p) for p in ok) != nk:
        items.append((3, "a different set of outputs is computed"))
    return items, cascade


def _structure(onodes, osites, onum, removed, nnodes, nsites, nnum, inserted):
    """Items for unmatched nodes: per user line, ops that were replaced, added or removed."""
    items, by_site = [], collections.defaultdict(lambda: ([], []))
    for side, (where, nodes, sites, num) in enumerate(((removed, onodes, osites, onum),
                                                       (inserted, nnodes, nsites, nnum))):
        for p in where:
            x = nodes[p]
            if len(x) > 2:
                by_site[sites[p]][side].append(x[0])
            elif side:
                items.append((0, f"new input %{num[p]} {x[0]} {x[1]} (recorded at {sites[p]})"))
            else:
                items.append((0, f"input %{num[p]} {x[0]} {x[1]} removed (was recorded at "
                                 f"{sites[p]})"))
    for site, (gone_all, new_all) in by_site.items():
        gone, new = _minus(gone_all, new_all), _minus(new_all, gone_all)
        if not gone and not new:  # the same ops, in another order
            items.append((2, f"ops at {site} reordered: {_ops(new_all)}"))
        elif gone and new:
            items.append((1, f"ops at {site} changed: {_ops(gone)} -> {_ops(new)}"))
        else:
            ops, verb = (new, "added") if new else (gone, "removed")
            items.append((2, f"{len(ops)} op{'s' * (len(ops) > 1)} {verb} at {site}: "
                             f"{_ops(ops)}"))
    return items


def _minus(names, others):
    """`names` without one occurrence per name in `others` (a multiset difference)."""
    left, out = collections.Counter(others), []
    for x in names:
        if left[x]:
            left[x] -= 1
        else:
            out.append(x)
    return out


def _align(a, b):
    """Pairs (i, j) of corresponding nodes, removed old positions, inserted new positions.

    Nodes are matched on their op only (graph inputs on ""), so new shapes or attributes do
    not break the alignment; runs of equal length between matched nodes are paired in order.
    """
    sa = [x[0] if len(x) > 2 else "" for x in a]
    sb = [x[0] if len(x) > 2 else "" for x in b]
    matched = _lcs(sa, sb, MAX_EDITS)
    if matched is None:  # too different to align: compare position by position
        matched = []
    pairs, removed, inserted, i0, j0 = [], [], [], 0, 0
    for i, j in matched + [(len(sa), len(sb))]:
        if i - i0 == j - j0:  # replaced ops (or nothing) between two matched nodes
            for i1, j1 in zip(range(i0, i), range(j0, j)):
                if (sa[i1] == "") == (sb[j1] == ""):  # never pair an input with an op
                    pairs.append((i1, j1))
                else:
                    removed.append(i1)
                    inserted.append(j1)
        else:
            removed += range(i0, i)
            inserted += range(j0, j)
        if i < len(sa):
            pairs.append((i, j))
        i0, j0 = i + 1, j + 1
    return pairs, sorted(removed), sorted(inserted)


def _lcs(a, b, max_edits):
    """Matched index pairs of a shortest edit script from `a` to `b` (Myers' O(ND)
    algorithm: fast when the graphs differ in few places), or None beyond `max_edits`."""
    n, m = len(a), len(b)
    v, trace = {1: 0}, []
    for d in range(max_edits + 1):
        trace.append(dict(v))
        for k in range(-d, d + 1, 2):
            x = v[k + 1] if k == -d or (k != d and v[k - 1] < v[k + 1]) else v[k - 1] + 1
            y = x - k
            while x < n and y < m and a[x] == b[y]:
                x, y = x + 1, y + 1
            v[k] = x
            if x >= n and y >= m:
                return _backtrack(trace, n, m)
    return None


def _backtrack(trace, x, y):
    pairs = []
    for d in range(len(trace) - 1, -1, -1):
        v, k = trace[d], x - y
        if d == 0:
            prev_x = prev_y = 0
        else:
            prev_k = k + 1 if k == -d or (k != d and v[k - 1] < v[k + 1]) else k - 1
            prev_x = v[prev_k]
            prev_y = prev_x - prev_k
        while x > prev_x and y > prev_y:  # the diagonal run: matched nodes
            x, y = x - 1, y - 1
            pairs.append((x, y))
        x, y = prev_x, prev_y
    pairs.reverse()
    return pairs


def _input_numbers(nodes):
    """Position -> the input's number as the printer shows it (%0, %1, ... in order)."""
    return {p: k for k, p in enumerate(p for p, x in enumerate(nodes) if len(x) == 2)}


def _type_change(a, b) -> str:
    return ", ".join(([f"dtype {a[0]} -> {b[0]}"] if a[0] != b[0] else [])
                     + ([f"shape {a[1]} -> {b[1]}"] if a[1] != b[1] else []))


def _ops(names) -> str:
    text = ", ".join(names[:4])
    return text + (f", ... ({len(names)} ops)" if len(names) > 4 else "")


def _attr_change(old, new) -> str:
    o, n = dict(old), dict(new)
    parts = [f"{k}={_plain(o.get(k, _UNSET), 48)} -> {k}={_plain(n.get(k, _UNSET), 48)}"
             for k in sorted(set(o) | set(n), key=str) if o.get(k, o) != n.get(k, n)]
    return ", ".join(parts[:3]) + (", ..." if len(parts) > 3 else "")


_UNSET = "<unset>"


def _leaf_pairs(old, new):
    """The differing scalar parts of two attribute values, as (old, new) text pairs."""
    if (type(old) is tuple and type(new) is tuple and len(old) == len(new)
            and not (len(old) == 2 and old[0] == "f" and isinstance(old[1], str))):
        return [p for x, y in zip(old, new) for p in _leaf_pairs(x, y)]
    return [] if old == new else [(_plain(old), _plain(new))]


def _plain(v, limit: int = 0) -> str:
    """An attribute value from its canonical key form (floats are stored by bit pattern)."""
    if v is _UNSET:
        text = v
    elif type(v) is tuple and len(v) == 2 and v[0] == "f" and isinstance(v[1], str):
        text = repr(float.fromhex(v[1]))
    elif type(v) is tuple:
        text = f"({', '.join(_plain(x) for x in v)}{',' * (len(v) == 1)})"
    elif hasattr(v, "name") and hasattr(v, "mlir"):  # a DType
        text = v.name
    else:
        text = repr(v)
    return text if not limit or len(text) <= limit else text[:limit - 3] + "..."
