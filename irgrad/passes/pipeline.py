"""The pass pipeline: named, pure Graph -> Graph passes run in order before lowering.

`IRGRAD_PASSES=none` turns optimization off (for bisecting a miscompile); `IRGRAD_DUMP=DIR`
writes the graph after each pass.
"""
from __future__ import annotations

import os

from .. import logs as log
from .fold import fold
from .fuse import fuse_elementwise, limit_fanin
from .simplify import simplify

PASSES = [("simplify", simplify), ("fold", fold), ("fuse", fuse_elementwise)]
# Needed for correctness, not speed (see fuse.limit_fanin), so they run even when
# IRGRAD_PASSES=none turns optimization off.
REQUIRED = [("limit_fanin", limit_fanin)]


def optimize(graph, dump_name: str | None = None):
    passes = PASSES + REQUIRED
    if os.environ.get("IRGRAD_PASSES", "") == "none":
        passes = REQUIRED
    dump = log.dump_dir()
    for i, (name, p) in enumerate(passes, 1):
        before = len(graph.nodes)
        graph = p(graph)
        log.emit("passes", f"{name}: {before} -> {len(graph.nodes)} nodes")
        if dump and dump_name:
            log.dump_text(dump, f"{dump_name}.{i}-{name}.irgrad.txt", str(graph))
    return graph
