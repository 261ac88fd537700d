"""The pass pipeline: named, pure Graph -> Graph passes run in order before lowering."""
from __future__ import annotations

PASSES: list = []


def optimize(graph):
    for p in PASSES:
        graph = p(graph)
    return graph
