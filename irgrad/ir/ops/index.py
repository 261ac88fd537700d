"""Indexing primitives: gather, scatter, index_select, masked ops, take-style indexing, tril/triu."""
from __future__ import annotations

EXPORTS: list = []
