"""The pass pipeline: named, pure Graph -> Graph passes run in order before lowering.

`IRGRAD_PASSES=none` turns optimization off (for bisecting a miscompile); `IRGRAD_DUMP=DIR`
writes the graph after each pass.
"""
from __future__ import annotations

import os

from .. import log
from .fold import fold
from .fuse import fuse_elementwise
from .simplify import simplify

PASSES = [("simplify", simplify), ("fold", fold), ("fuse", fuse_elementwise)]


def optimize(graph, dump_name: str | None = None):
    if os.environ.get("IRGRAD_PASSES", "") == "none":
        return graph
    dump = log.dump_dir()
    for name, p in PASSES:
        before = len(graph.nodes)
        graph = p(graph)
        log.emit("passes", f"{name}: {before} -> {len(graph.nodes)} nodes")
        if dump and dump_name:
            log.dump_text(dump, f"{dump_name}.{name}.irgrad.txt", str(graph))
    return graph
