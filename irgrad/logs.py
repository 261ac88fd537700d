"""Logs and dumps: `IRGRAD_LOG=compile,cache,realize,...` and `IRGRAD_DUMP=DIR`.

Topics (comma-separated; `all` turns on every one):
- `realize`: why a graph ran (`numpy()`, `item()`, `print`, `irgrad.realize`, `eager`, ...),
  its size and the user's line that asked for it, then its run time;
- `cache`: memory-cache hits and misses, disk-cache hits and misses, damaged entries;
- `compile`: each IREE compile (digest, node count, vmfb size, seconds, target);
- `passes`: node counts and peak live memory before and after each optimization pass;
- `recompile`: for each compile after the first at a call site (the user's line of the graph's
  first output), what differs from the nearest graph compiled there before: graph inputs
  whose shape/dtype changed, changed ops and attributes, added/removed ops, with user lines.
Messages go to stderr as `[irgrad:topic] message`. IRGRAD_LOG is read once, at the first
message; `set_topics` changes the topics at run time.

`IRGRAD_DUMP=DIR` writes, per compiled graph, `<digest>.irgrad.txt` (the graph that was
lowered, one SSA line per node with the user's file:line) and `<digest>.mlir` (the module
handed to IREE, with locations), plus the graph after each optimization pass
(`<digest>.<pass>.irgrad.txt`). The module is `irgrad.logs`: `irgrad.log` is the logarithm,
as `torch.log` is.
"""
from __future__ import annotations

import os
import sys

_topics = None


def topics() -> frozenset:
    global _topics
    if _topics is None:
        raw = os.environ.get("IRGRAD_LOG", "")
        _topics = frozenset(t.strip() for t in raw.split(",") if t.strip())
    return _topics


def enabled(topic: str) -> bool:
    t = topics()
    return bool(t) and (topic in t or "all" in t)


def set_topics(spec: str | None) -> None:
    """Change the enabled topics at run time (None: re-read IRGRAD_LOG)."""
    global _topics
    _topics = None if spec is None else frozenset(
        t.strip() for t in spec.split(",") if t.strip())


def emit(topic: str, message: str) -> None:
    if enabled(topic):
        print(f"[irgrad:{topic}] {message}", file=sys.stderr, flush=True)


def dump_dir():
    return os.environ.get("IRGRAD_DUMP") or None


def dump(directory: str, name: str, graph, module) -> None:
    """Write a compiled graph's irgrad IR and MLIR (with locations) to `directory`."""
    from .ir.printer import format_graph

    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, f"{name}.irgrad.txt"), "w") as f:
        f.write(format_graph(graph) + "\n")
    with open(os.path.join(directory, f"{name}.mlir"), "w") as f:
        f.write(module.operation.get_asm(enable_debug_info=True))


def dump_text(directory: str, filename: str, text: str) -> None:
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, filename), "w") as f:
        f.write(text + "\n")
