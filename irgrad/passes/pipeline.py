"""The pass pipeline: named, pure Graph -> Graph passes run in order before lowering.

`IRGRAD_PASSES=none` turns optimization off (for bisecting a miscompile); `IRGRAD_DUMP=DIR`
writes the graph after each pass; `IRGRAD_LOG=passes` prints node counts and peak live
memory (analysis.py) before and after each pass.
"""
from __future__ import annotations

import os

from .. import logs as log
from .analysis import peak_live_bytes
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
    logging = log.enabled("passes")
    for i, (name, p) in enumerate(passes, 1):
        before = len(graph.nodes)
        peak_before = peak_live_bytes(graph) if logging else 0
        graph = p(graph)
        if logging:
            log.emit("passes", f"{name}: {before} -> {len(graph.nodes)} nodes, peak live "
                               f"{_mb(peak_before)} -> {_mb(peak_live_bytes(graph))}")
        if dump and dump_name:
            log.dump_text(dump, f"{dump_name}.{i}-{name}.irgrad.txt", str(graph))
    return graph


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 10_000 else f"{n} B"
