"""The cut-compile-run driver: turn pending nodes into device buffers.

`realize_nodes` cuts the graph that the requested nodes need (stopping at nodes that already
hold data), looks its structural key up in the in-memory cache, then in the on-disk graph
index (lowering/graph_index.py), compiles on a miss (through the disk cache), runs it, and
attaches the output buffers to the nodes. Eager mode calls the same function on every new
node, so eager and lazy share one path.
"""
from __future__ import annotations

import time
import weakref

from .. import errors
from .. import logs as log
from ..ir.graph import Graph
from ..ir.node import Node
from ..ir.state import eager_hook
from ..lowering import graph_index
from ..runtime import device as devices
from ..runtime.executable import Executable

_memory_cache: dict = {}
# Nodes worth computing in the next graph that runs (e.g. the loss that backward() started
# from): realizing them together with the optimizer step saves a second forward pass when
# the user reads them afterwards. Weak: a dropped tensor is never computed.
_wanted: "weakref.WeakValueDictionary[int, Node]" = weakref.WeakValueDictionary()


_parent_executables: list = []


def reset_after_fork() -> None:
    """In a forked child: executables were loaded on the parent's devices; start afresh."""
    _parent_executables.append(dict(_memory_cache))
    _memory_cache.clear()


def mark_step() -> None:
    """Called by optimizers once per step: the clock of the growing-graph warning."""
    from ..ir.state import steps
    steps[0] += 1


def want(node: Node) -> None:
    """Ask for `node` to ride along with the next realization (if still alive by then)."""
    if node.data is None:
        _wanted[id(node)] = node
counters = {"realizations": 0, "memory_hits": 0, "compiles": 0}
_dumped = [0]


def _graph_device(graph) -> str:
    for n in graph.nodes:
        if n.device is not None:
            return n.device
    return "cpu"


def executable_for(graph, device_name: str) -> Executable:
    key = (device_name, graph.key)
    exe = _memory_cache.get(key)
    if exe is not None:
        counters["memory_hits"] += 1
        log.emit("cache", f"memory hit ({len(graph.nodes)} nodes)")
        return exe
    log.emit("cache", f"memory miss ({len(graph.nodes)} nodes)")
    if log.enabled("recompile"):
        from .recompile import note_miss
        note_miss(graph, device_name)
    dump = log.dump_dir()
    # The graph index maps this structure straight to a module in the disk cache, so a new
    # process skips the passes, the MLIR and even importing them. Dumps and the passes log
    # report on the lowering itself, so they take the full path.
    use_index = not dump and not log.enabled("passes")
    ikey = graph_index.key_for(graph, device_name) if use_index else None
    vmfb = graph_index.lookup(ikey) if ikey is not None else None
    if vmfb is None:
        # Imported here, not at the top: they pull in the MLIR bindings and networkx.
        from ..lowering.compile import compile_graph
        from ..passes.pipeline import optimize
        name = None
        if dump:
            _dumped[0] += 1
            name = f"graph{_dumped[0]:04d}"
            log.dump_text(dump, f"{name}.0-recorded.irgrad.txt", str(graph))
        optimized = optimize(graph, dump_name=name)
        info: dict = {}
        vmfb, _ = compile_graph(optimized, device_name, dump_dir=dump, dump_name=name,
                                info=info)
        if ikey is not None and "digest" in info:
            graph_index.record(ikey, info["digest"], info.get("flags", ()))
    counters["compiles"] += 1
    dev = devices.get(device_name)
    exe = Executable(dev, vmfb, [(o.dtype, o.shape) for o in graph.outputs], len(graph.inputs))
    _memory_cache[key] = exe
    return exe


def realize_nodes(nodes, reason: str = "") -> None:
    pending, seen = [], set()
    for n in nodes:
        if n.data is None and id(n) not in seen:
            seen.add(id(n))
            pending.append(n)
    if not pending:
        return
    if _wanted:
        extra = [n for n in list(_wanted.values()) if n.data is None and id(n) not in seen
                 and n.device == pending[0].device]
        _wanted.clear()
        pending.extend(extra)
    graph = Graph.cut(pending)
    dev_name = _graph_device(graph)
    if log.enabled("realize"):
        log.emit("realize", f"{reason or 'realize'}: {len(pending)} outputs, "
                            f"{len(graph.nodes) - len(graph.inputs)} ops, "
                            f"{len(graph.inputs)} inputs at {errors.current_site()}")
    exe = executable_for(graph, dev_name)
    t0 = time.perf_counter() if log.enabled("realize") else 0.0
    try:
        outs = exe([n.data for n in graph.inputs], pending[0].site)
    except (RuntimeError, ValueError) as e:
        site = pending[0].site
        raise errors.RuntimeFailure(f"compiled graph failed while running (outputs recorded at "
                                    f"{site}): {e}", site) from None
    counters["realizations"] += 1
    for n, buf in zip(graph.outputs, outs):
        n.data = buf
    for n in graph.outputs:
        n.forget_history()
    if t0:
        log.emit("realize", f"ran in {1e3 * (time.perf_counter() - t0):.2f} ms")


def _eager_realize(node: Node) -> None:
    realize_nodes([node], "eager")


eager_hook[0] = _eager_realize
