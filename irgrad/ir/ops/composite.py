"""Composite ops written from primitives: softmax, log_softmax, layer_norm, gelu, ..."""
from __future__ import annotations

EXPORTS: list = []
